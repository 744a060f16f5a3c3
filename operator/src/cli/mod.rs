//! The kubectl-like command line. `get`, `describe` and `validate` read the files and the
//! state directory directly, so they work without a running operator.

mod apply;
mod changes;
mod delete;
mod demo;
mod describe;
mod get;
mod jsonpath;
mod logs;
mod output;
mod rerun;
mod run;
mod schema;
mod selector;
mod table;
mod target;
mod trigger;
mod ui;
mod validate;
mod wait;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::state::StateDir;

#[derive(Debug, Parser)]
#[command(
    name = "sparkswarm",
    version,
    about = "Run Spark MLlib jobs from YAML manifests: an operator and a kubectl-like CLI"
)]
pub struct Cli {
    /// The watched directory of SparkCluster, SparkJob and SparkSchedule manifests.
    #[arg(long, global = true, env = "SPARKSWARM_MANIFESTS", default_value = "manifests")]
    pub manifests: PathBuf,
    /// Where the operator keeps events, logs, outputs and its ledger
    /// [default: .sparkswarm beside the manifests directory].
    #[arg(long, global = true, env = "SPARKSWARM_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator in the foreground.
    Run(run::RunArgs),
    /// Run the seed jobs out of the box: prepare data and Spark, run them, print results.
    Demo(demo::DemoArgs),
    /// Display one or many resources.
    Get(get::GetArgs),
    /// Show details of a resource, ending with its events.
    Describe(describe::DescribeArgs),
    /// Print the driver log of a job's latest attempt.
    Logs(logs::LogsArgs),
    /// Wait for a condition on a resource.
    Wait(wait::WaitArgs),
    /// Put manifests into the watched directory.
    Apply(apply::ApplyArgs),
    /// Delete a resource (removes its document from its file).
    Delete(delete::DeleteArgs),
    /// Run a job again with an unchanged spec.
    Rerun(rerun::RerunArgs),
    /// Start a run of a schedule now.
    Trigger(trigger::TriggerArgs),
    /// Serve Spark's UI of a job's attempt: its event log replayed by a History Server.
    Ui(ui::UiArgs),
    /// Check manifests against the schema, with file, line and field for each error.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schemas, or write them to a directory.
    Schema(schema::SchemaArgs),
}

/// Global options, resolved.
#[derive(Debug, Clone)]
pub struct Globals {
    pub manifests: PathBuf,
    pub state: StateDir,
}

/// An error a command reports as kubectl does: `error: ...` on stderr, exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub type CliResult = Result<ExitCode, CliError>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let state_root = cli.state_dir.clone().unwrap_or_else(|| StateDir::default_for(&cli.manifests));
    let globals = Globals { manifests: cli.manifests.clone(), state: StateDir::at(state_root) };
    if !matches!(cli.command, Command::Run(_) | Command::Demo(_)) {
        crate::telemetry::init(crate::telemetry::LogFormat::Text, "warn");
    }
    let result = match cli.command {
        Command::Run(args) => run::run(&globals, args),
        Command::Demo(args) => demo::run(&globals, args),
        Command::Get(args) => get::run(&globals, args),
        Command::Describe(args) => describe::run(&globals, args),
        Command::Logs(args) => logs::run(&globals, args),
        Command::Wait(args) => wait::run(&globals, args),
        Command::Apply(args) => apply::run(&globals, args),
        Command::Delete(args) => delete::run(&globals, args),
        Command::Rerun(args) => rerun::run(&globals, args),
        Command::Trigger(args) => trigger::run(&globals, args),
        Command::Ui(args) => ui::run(&globals, args),
        Command::Validate(args) => validate::run(&globals, args),
        Command::Schema(args) => schema::run(args),
    };
    match result {
        Ok(code) => code,
        Err(CliError(message)) => {
            eprintln!(
                "{}",
                if message.starts_with("error:") || message.starts_with("Error") {
                    message
                } else {
                    format!("error: {message}")
                }
            );
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded runtime for the commands that need async (run, demo, logs -f).
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(CliError::from)
}
