//! `sparkswarm logs sparkjob NAME [-f] [--tail N]`: the driver log of the latest attempt.

use std::io::{Read, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Kind;
use crate::runtime::attempt::AttemptDir;
use crate::runtime::{AttemptState, Runtimes};
use crate::state::ledger::JobLedger;

use super::target::{find, load, parse_ref};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// sparkjob NAME or sparkjob/NAME
    pub kind: String,
    pub name: Option<String>,
    /// Keep printing as the driver writes, until the attempt ends.
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long)]
    pub tail: Option<usize>,
}

pub fn run(g: &Globals, args: LogsArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.kind, args.name.as_deref())?;
    if kind != Kind::SparkJob {
        return Err(CliError(format!("error: logs are kept for sparkjobs, not {}", kind.plural())));
    }
    let catalog = load(g)?;
    find(&catalog, kind, &name)?;
    let ledger = JobLedger::load(&g.state.job_dir(&name))?;
    let Some(attempt) = ledger.latest() else {
        return Err(CliError(format!("error: sparkjob {name:?} has not been submitted yet")));
    };
    let dir = g.state.attempt_dir(&name, attempt.seq);
    let path = AttemptDir::new(&dir).driver_log();
    let mut file = std::fs::File::open(&path).map_err(|e| CliError(format!("error: {}: {e}", path.display())))?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let shown = match args.tail {
        Some(n) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n") + if lines.is_empty() { "" } else { "\n" }
        }
        None => text.clone(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(shown.as_bytes())?;
    out.flush()?;
    if !args.follow || attempt.ended.is_some() {
        return Ok(ExitCode::SUCCESS);
    }
    let rt = super::runtime()?;
    let quiet: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|_: &str| {});
    let runtimes = Runtimes::new(g.state.root().to_path_buf(), quiet);
    let runtime = runtimes.job(attempt.runtime);
    let seq = attempt.seq;
    let job_dir = g.state.job_dir(&name);
    let mut pos = text.len() as u64;
    loop {
        // Ended once the operator recorded it, or once the runtime that runs it says so.
        let recorded = JobLedger::load(&job_dir)
            .ok()
            .and_then(|l| l.attempts.into_iter().find(|a| a.seq == seq))
            .is_some_and(|a| a.ended.is_some());
        let observed = rt.block_on(runtime.observe(&dir));
        let ended = recorded || !matches!(observed, Ok(Some(obs)) if obs.state == AttemptState::Running);
        file.seek(SeekFrom::Start(pos))?;
        let mut more = Vec::new();
        file.read_to_end(&mut more)?;
        pos += more.len() as u64;
        out.write_all(&more)?;
        out.flush()?;
        if ended {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
