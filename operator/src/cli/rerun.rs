//! `sparkswarm rerun sparkjob NAME`: sets the rerun annotation; a changed annotation is a
//! new generation, and a new generation runs again.

use std::process::ExitCode;

use crate::api::{Kind, RERUN_ANNOTATION};
use crate::manifest::annotate::set_annotation;
use crate::manifest::document;
use crate::manifest::write::{write_if_unchanged, WriteOutcome};

use super::target::{find, load_manifests, parse_ref, qualified};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct RerunArgs {
    /// sparkjob NAME or sparkjob/NAME
    pub kind: String,
    pub name: Option<String>,
}

pub fn run(g: &Globals, args: RerunArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.kind, args.name.as_deref())?;
    if kind != Kind::SparkJob {
        return Err(CliError(format!("error: only sparkjobs can be rerun, not {}", kind.plural())));
    }
    let catalog = load_manifests(&g.manifests)?;
    let entry = find(&catalog, kind, &name)?;
    let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for _ in 0..5 {
        let file = document::read(&entry.path)?;
        let Some(doc) = file.docs.iter().find(|d| d.is(kind, &name)) else {
            return Err(super::target::not_found(kind, &name));
        };
        let text = set_annotation(&file.text, doc.index, RERUN_ANNOTATION, &stamp)?;
        match write_if_unchanged(&entry.path, &file.text, &text)? {
            WriteOutcome::Conflict => continue,
            _ => {
                println!("{}/{name} rerun requested", qualified(kind));
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    Err(CliError(format!("error: {} kept changing; try again", entry.path.display())))
}
