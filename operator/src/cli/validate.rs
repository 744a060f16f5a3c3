//! `sparkswarm validate FILE...`: every error with its file, line and field; exit 1 if any.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::manifest::catalog::Catalog;
use crate::manifest::document;
use crate::manifest::paths::Roots;
use crate::manifest::scan;
use crate::manifest::validate::Resource;

use super::{CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Manifest files or directories [default: the manifests directory].
    pub files: Vec<PathBuf>,
    /// Another directory that paths in specs may point into.
    #[arg(long = "allow-root")]
    pub allow_roots: Vec<PathBuf>,
}

pub fn run(g: &Globals, args: ValidateArgs) -> CliResult {
    let inputs = if args.files.is_empty() { vec![g.manifests.clone()] } else { args.files.clone() };
    let mut paths = Vec::new();
    for i in &inputs {
        if i.is_dir() {
            paths.extend(scan::list_files(i)?);
        } else {
            paths.push(i.clone());
        }
    }
    let mut bad = 0usize;
    let mut files = Vec::new();
    for path in &paths {
        match document::read(path) {
            Ok(f) => files.push(f),
            Err(e) => {
                println!("{e}");
                bad += 1;
            }
        }
    }
    // Duplicates are judged across everything given, in path order, as the operator does.
    let catalog = Catalog::from_files(files.iter().cloned());
    for e in &catalog.entries {
        let label = match (&e.kind, &e.name) {
            (Some(k), Some(n)) => format!("{}/{n}", k.singular()),
            _ => format!("document {}", e.doc_index),
        };
        match &e.result {
            Ok(resource) => {
                let path_errors = check_paths(g, &args, e, resource, &files);
                if path_errors.is_empty() {
                    println!("{}: {label} valid", e.path.display());
                } else {
                    bad += 1;
                    for pe in path_errors {
                        println!("{pe}");
                    }
                }
            }
            Err(errors) => {
                bad += 1;
                for err in errors {
                    println!("{err}");
                }
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A job's paths must resolve inside the allowed roots, as the operator will require.
fn check_paths(
    g: &Globals,
    args: &ValidateArgs,
    e: &crate::manifest::catalog::Entry,
    resource: &Resource,
    files: &[document::ManifestFile],
) -> Vec<String> {
    let Ok(roots) = Roots::for_manifests(&g.manifests, &args.allow_roots)
        .or_else(|_| Roots::for_manifests(e.path.parent().unwrap_or(std::path::Path::new(".")), &args.allow_roots))
    else {
        return vec![];
    };
    let Some(doc) =
        files.iter().find(|f| f.path == e.path).and_then(|f| f.docs.iter().find(|d| d.index == e.doc_index))
    else {
        return vec![];
    };
    let errors = match resource {
        Resource::Job(job) => {
            let mut errors =
                crate::reconcile::job::submission::resolve(&roots, &e.path, doc, &job.spec).err().unwrap_or_default();
            // The graph needs the whole directory (the operator checks it); expansions do not.
            errors.extend(crate::api::expansion::check(&job.spec).into_iter().map(|(pointer, message)| {
                crate::manifest::validate::FieldError {
                    path: e.path.clone(),
                    line: doc.line_of(&pointer),
                    field: pointer.trim_start_matches('/').replace('/', "."),
                    message,
                    reason: "InvalidExpansion".into(),
                }
            }));
            Some(errors)
        }
        Resource::Cluster(c) => Some(crate::manifest::spec_paths::check_cluster_paths(&roots, &e.path, doc, &c.spec)),
        Resource::Schedule(sc) => Some(crate::reconcile::schedule::template_errors(&roots, &e.path, doc, &sc.spec)),
    };
    errors.unwrap_or_default().iter().map(|x| x.to_string()).collect()
}
