//! `sparkswarm apply -f FILE|DIR`: puts manifests into the watched directory. Invalid input
//! is refused whole; an existing file keeps the status the operator wrote into it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::api::Kind;
use crate::manifest::catalog::Catalog;
use crate::manifest::document::{self, ManifestFile};
use crate::manifest::scan;
use crate::manifest::splice::splice_status;
use crate::manifest::validate::validate;
use crate::manifest::write::{write_if_unchanged, WriteOutcome};

use super::target::{load_manifests, qualified};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A manifest file, or a directory of them.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(g: &Globals, args: ApplyArgs) -> CliResult {
    let catalog = load_manifests(&g.manifests)?;
    let mut inputs = Vec::new();
    for f in &args.files {
        if f.is_dir() {
            inputs.extend(scan::list_files(f)?);
        } else {
            inputs.push(f.clone());
        }
    }
    // Validate everything first: apply writes all or nothing.
    let mut parsed = Vec::new();
    let mut invalid = false;
    for input in &inputs {
        let file = document::read(input)?;
        for doc in &file.docs {
            if let Err(errors) = validate(input, doc) {
                invalid = true;
                for e in errors {
                    eprintln!("error: {e}");
                }
            }
        }
        parsed.push(file);
    }
    if invalid {
        return Err(CliError("error: nothing applied: fix the errors above".into()));
    }
    let manifests = g.manifests.canonicalize()?;
    for file in parsed {
        apply_file(&catalog, &manifests, &file)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn apply_file(catalog: &Catalog, manifests: &Path, input: &ManifestFile) -> Result<(), CliError> {
    let name =
        input.path.file_name().ok_or_else(|| CliError(format!("error: {} has no file name", input.path.display())))?;
    let target = manifests.join(name);
    let same_file = input.path.canonicalize().ok().as_deref() == Some(target.as_path());
    let existing = if target.exists() { Some(document::read(&target)?) } else { None };

    let mut text = input.text.clone();
    let mut lines = Vec::new();
    for doc in &input.docs {
        let (Some(kind), Some(obj)) = (doc.kind().and_then(Kind::from_kind_field), doc.name()) else { continue };
        if let Some(e) = catalog.get(kind, obj) {
            if e.path.canonicalize().ok().as_deref() != Some(target.as_path()) {
                return Err(CliError(format!(
                    "error: {}/{obj} is already defined in {}; edit that file or delete it first",
                    qualified(kind),
                    e.path.display()
                )));
            }
        }
        let before =
            existing.as_ref().and_then(|f| f.docs.iter().find(|d| d.kind() == doc.kind() && d.name() == doc.name()));
        // Carry the operator's status over, so a re-apply does not reset what it observed.
        if let Some(status) = before.and_then(|b| b.status()) {
            if doc.status().is_none() && !same_file {
                let current = document::parse(&input.path, &text)?;
                if let Some(d) = current.docs.iter().find(|d| d.index == doc.index) {
                    text = splice_status(&text, d.index, Some(status))?;
                }
            }
        }
        let verb = match before {
            None => "created",
            Some(b) if b.generation_hash() == doc.generation_hash() => "unchanged",
            Some(_) => "configured",
        };
        lines.push(format!("{}/{obj} {verb}", qualified(kind)));
    }
    match &existing {
        Some(old) if !same_file => match write_if_unchanged(&target, &old.text, &text)? {
            WriteOutcome::Conflict => {
                return Err(CliError(format!("error: {} changed while applying; try again", target.display())))
            }
            WriteOutcome::Written | WriteOutcome::Unchanged => {}
        },
        Some(_) => {}
        None => crate::state::atomic::write(&target, text.as_bytes())?,
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
