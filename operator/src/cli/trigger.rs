//! `sparkswarm trigger sparkschedule NAME`: sets the trigger annotation to the time now;
//! the operator (running, or on its next start) sees a value it has not served and starts
//! a run named `NAME-manual-YYYYMMDD-HHMMSS` after that time. The request lives in the
//! schedule's own file, so it reaches the operator through the watch every edit takes,
//! survives a restart, and is served once (the ledger records the value served).

use std::process::ExitCode;

use crate::api::{Kind, TRIGGER_ANNOTATION};
use crate::manifest::annotate::set_annotation;
use crate::manifest::document;
use crate::manifest::write::{write_if_unchanged, WriteOutcome};

use super::target::{find, load_manifests, parse_ref, qualified};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    /// sparkschedule NAME or sparkschedule/NAME
    pub kind: String,
    pub name: Option<String>,
}

pub fn run(g: &Globals, args: TriggerArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.kind, args.name.as_deref())?;
    if kind != Kind::SparkSchedule {
        return Err(CliError(format!("error: only sparkschedules can be triggered, not {}", kind.plural())));
    }
    let catalog = load_manifests(&g.manifests)?;
    let entry = find(&catalog, kind, &name)?;
    let now = crate::api::now();
    let stamp = crate::api::time::format(&now);
    for _ in 0..5 {
        let file = document::read(&entry.path)?;
        let Some(doc) = file.docs.iter().find(|d| d.is(kind, &name)) else {
            return Err(super::target::not_found(kind, &name));
        };
        let text = set_annotation(&file.text, doc.index, TRIGGER_ANNOTATION, &stamp)?;
        match write_if_unchanged(&entry.path, &file.text, &text)? {
            WriteOutcome::Conflict => continue,
            _ => {
                let run = crate::reconcile::schedule::decide::run_name(&name, now, true);
                println!("{}/{name} triggered: sparkjob/{run}", qualified(kind));
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    Err(CliError(format!("error: {} kept changing; try again", entry.path.display())))
}
