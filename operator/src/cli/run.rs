//! `sparkswarm run`: the operator in the foreground.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::manager::{self, Config, Outcome};
use crate::telemetry::{self, LogFormat};

use super::{CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Return once every SparkJob is Succeeded or Failed (non-zero if any failed).
    #[arg(long)]
    pub exit_when_done: bool,
    /// Serve /metrics and /healthz here, e.g. 127.0.0.1:9464.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Another directory that paths in specs may point into (repeatable).
    #[arg(long = "allow-root")]
    pub allow_roots: Vec<PathBuf>,
    /// Reconciles at once.
    #[arg(long, default_value_t = crate::manager::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
}

pub fn run(g: &Globals, args: RunArgs) -> CliResult {
    telemetry::init(args.log_format, "info");
    let mut cfg = Config::new(g.manifests.clone(), g.state.root().to_path_buf());
    cfg.metrics_addr = args.metrics_addr;
    cfg.allow_roots = args.allow_roots;
    cfg.exit_when_done = args.exit_when_done;
    cfg.concurrency = args.concurrency;
    let progress: Arc<dyn Fn(&str) + Send + Sync> =
        Arc::new(|line: &str| tracing::info!(target: "sparkswarm::spark", "{line}"));
    let outcome = super::runtime()?.block_on(manager::run(cfg, progress))?;
    Ok(exit_code(&outcome))
}

pub fn exit_code(outcome: &Outcome) -> ExitCode {
    match outcome {
        Outcome::Stopped => ExitCode::SUCCESS,
        Outcome::Done { failed, .. } if *failed > 0 => ExitCode::FAILURE,
        Outcome::Done { .. } => ExitCode::SUCCESS,
    }
}
