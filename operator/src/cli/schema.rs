//! `sparkswarm schema [KIND] [--out DIR]`: the JSON Schemas that `schemas/` holds.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::Kind;
use crate::manifest::validate::schema_for;

use super::target::parse_kind;
use super::CliResult;

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// sparkcluster or sparkjob [default: both]
    pub kind: Option<String>,
    /// Write `<kind>.json` files into this directory instead of printing.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn file_name(kind: Kind) -> String {
    format!("{}.json", kind.singular())
}

pub fn render(kind: Kind) -> String {
    serde_json::to_string_pretty(&schema_for(kind)).unwrap_or_default() + "\n"
}

pub fn run(args: SchemaArgs) -> CliResult {
    let kinds = match &args.kind {
        Some(k) => vec![parse_kind(k)?],
        None => Kind::ALL.to_vec(),
    };
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            for k in kinds {
                let path = dir.join(file_name(k));
                std::fs::write(&path, render(k))?;
                eprintln!("wrote {}", path.display());
            }
        }
        None => {
            for k in kinds {
                print!("{}", render(k));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
