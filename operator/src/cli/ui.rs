//! `sparkswarm ui sparkjob NAME [--attempt N]`: Spark's UI for one attempt. A finished
//! attempt is replayed from its event log by a History Server on a free loopback port, in
//! the foreground until SIGINT or SIGTERM, like `kubectl port-forward`; it needs neither the
//! operator nor the job's cluster. A running attempt has a live UI: its URL is printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Kind;
use crate::runtime::attempt::AttemptDir;
use crate::runtime::local::history_server::HistoryServer;
use crate::runtime::local::spark_dist;
use crate::runtime::{AttemptState, Runtimes};
use crate::state::ledger::{AttemptRecord, JobLedger};

use super::target::{find, load, parse_ref};
use super::{CliError, CliResult, Globals};

/// A History Server on a loaded machine replays a small log within seconds; this is the
/// patience for a big one on a busy CI box.
const LISTED_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// sparkjob NAME or sparkjob/NAME
    pub kind: String,
    pub name: Option<String>,
    /// The attempt, as numbered in its directory (`attempts/N`, the number in
    /// status.eventLog and status.outputsDir) [default: the latest].
    #[arg(long)]
    pub attempt: Option<u32>,
}

/// Why there is no UI to show; the variant name is the reason.
#[derive(Debug, PartialEq, thiserror::Error, strum::IntoStaticStr)]
pub enum UiError {
    #[error("sparkjob {job:?} has not been submitted yet")]
    NotSubmitted { job: String },
    #[error("sparkjob {job:?} has no attempt {asked} (its attempts: {known})")]
    NoSuchAttempt { job: String, asked: u32, known: String },
    #[error("the attempts of sparkjob {job:?} were removed by ttlSecondsAfterFinished")]
    Expired { job: String },
    #[error("attempt {seq} of sparkjob {job:?} has no event log yet (nothing in {dir})")]
    NoEventLog { job: String, seq: u32, dir: String },
    #[error("attempt {seq} of sparkjob {job:?} is running but its driver has no web UI yet")]
    NoLiveUi { job: String, seq: u32 },
}

/// What to show for the chosen attempt.
#[derive(Debug, PartialEq)]
pub(crate) enum Show {
    /// The attempt runs: its driver's own UI.
    Live(String),
    /// The attempt ended: replay this log.
    Replay { log: PathBuf, app_id: Option<String> },
}

/// The attempt `--attempt` names, or the latest.
pub(crate) fn pick<'a>(ledger: &'a JobLedger, job: &str, asked: Option<u32>) -> Result<&'a AttemptRecord, UiError> {
    if ledger.expired {
        return Err(UiError::Expired { job: job.into() });
    }
    let Some(latest) = ledger.latest() else { return Err(UiError::NotSubmitted { job: job.into() }) };
    let Some(asked) = asked else { return Ok(latest) };
    ledger.attempts.iter().find(|a| a.seq == asked).ok_or_else(|| UiError::NoSuchAttempt {
        job: job.into(),
        asked,
        known: ledger.attempts.iter().map(|a| a.seq.to_string()).collect::<Vec<_>>().join(", "),
    })
}

/// `live` is the driver's UI when the runtime sees the attempt running (Some(None): running,
/// no UI yet); `event_log` what the attempt's directory holds.
pub(crate) fn decide(
    job: &str,
    rec: &AttemptRecord,
    live: Option<Option<String>>,
    event_log: Option<PathBuf>,
    dir: &Path,
) -> Result<Show, UiError> {
    if rec.ended.is_none() {
        match live {
            Some(Some(url)) => return Ok(Show::Live(url)),
            Some(None) => return Err(UiError::NoLiveUi { job: job.into(), seq: rec.seq }),
            None => {}
        }
    }
    let Some(log) = event_log else {
        return Err(UiError::NoEventLog { job: job.into(), seq: rec.seq, dir: dir.display().to_string() });
    };
    let app_id = rec.ended.as_ref().and_then(|e| e.spark_application_id.clone()).or_else(|| app_id_of(&log));
    Ok(Show::Replay { log, app_id })
}

/// Spark names the log after the application: `app-…` or `app-….inprogress`.
fn app_id_of(log: &Path) -> Option<String> {
    let name = log.file_name()?.to_str()?;
    let id = name.strip_suffix(".inprogress").unwrap_or(name);
    id.starts_with("app-").then(|| id.to_string())
}

pub fn run(g: &Globals, args: UiArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.kind, args.name.as_deref())?;
    if kind != Kind::SparkJob {
        return Err(CliError(format!("error: Spark's UI is kept for sparkjobs, not {}", kind.plural())));
    }
    let catalog = load(g)?;
    find(&catalog, kind, &name)?;
    let ledger = JobLedger::load(&g.state.job_dir(&name))?;
    let rec = pick(&ledger, &name, args.attempt)?;
    let dir = AttemptDir::new(&g.state.attempt_dir(&name, rec.seq));
    let rt = super::runtime()?;
    let live = if rec.ended.is_none() {
        // Not recorded as ended: ask the runtime that runs it (the operator may be down).
        let quiet: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|_: &str| {});
        let runtimes = Runtimes::new(g.state.root().to_path_buf(), quiet);
        match rt.block_on(runtimes.job(rec.runtime).observe(&dir.dir)) {
            Ok(Some(obs)) if obs.state == AttemptState::Running => Some(obs.web_ui_url),
            _ => None,
        }
    } else {
        None
    };
    match decide(&name, rec, live, dir.event_log(), &dir.event_log_dir())? {
        Show::Live(url) => {
            println!("sparkjob/{name} attempt {} is running; its Spark UI: {url}", rec.seq);
            Ok(ExitCode::SUCCESS)
        }
        Show::Replay { log, app_id } => rt.block_on(replay(g, &name, rec.seq, &log, app_id.as_deref())),
    }
}

async fn replay(g: &Globals, job: &str, seq: u32, log: &Path, app_id: Option<&str>) -> CliResult {
    // Subscribed before anything starts, so that an early signal is not lost.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let progress = |line: &str| eprintln!("{line}");
    let dist = spark_dist::ensure(g.state.root(), &progress).await?;
    let mut hs = HistoryServer::start(&dist, log).await?;
    let page = tokio::select! {
        page = hs.wait_listed(app_id, LISTED_TIMEOUT) => page,
        _ = int.recv() => { hs.stop().await?; return Ok(ExitCode::SUCCESS) }
        _ = term.recv() => { hs.stop().await?; return Ok(ExitCode::SUCCESS) }
    };
    let page = match page {
        Ok(p) => p,
        Err(e) => {
            let _ = hs.stop().await;
            return Err(CliError(format!("error: {e}")));
        }
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Spark History Server for sparkjob/{job} attempt {seq} at {}", hs.url())?;
        writeln!(out, "Application {}: {}{page}", app_id.unwrap_or("page"), hs.url())?;
        writeln!(out, "Press Ctrl+C to stop it")?;
        out.flush()?;
    }
    let ended_itself = tokio::select! {
        _ = int.recv() => None,
        _ = term.recv() => None,
        status = hs.exited() => Some(status),
    };
    let excerpt = hs.log_excerpt();
    hs.stop().await?;
    match ended_itself {
        None => Ok(ExitCode::SUCCESS),
        Some(status) => Err(CliError(format!(
            "error: the History Server exited ({}):\n{excerpt}",
            status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ledger::{AttemptEnd, EndReason};

    fn record(seq: u32, ended: bool) -> AttemptRecord {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        AttemptRecord {
            number: 1,
            seq,
            generation: u64::from(seq),
            submission_id: format!("sub-{seq}"),
            submitted_at: at,
            runtime: Default::default(),
            deps: None,
            ended: ended.then(|| AttemptEnd {
                at,
                exit_code: Some(0),
                reason: EndReason::Completed,
                message: String::new(),
                started: None,
                spark_application_id: Some(format!("app-{seq}")),
                web_ui_url: Some("http://127.0.0.1:4040".into()),
                results: Default::default(),
                outputs_dir: None,
                event_log: None,
                spark_metrics: None,
            }),
            inputs: Default::default(),
            arguments: None,
        }
    }

    fn ledger(records: Vec<AttemptRecord>) -> JobLedger {
        JobLedger { attempts: records, expired: false }
    }

    #[test]
    fn the_latest_attempt_or_the_one_asked_for() {
        let l = ledger(vec![record(1, true), record(2, true)]);
        assert_eq!(pick(&l, "j", None).map(|a| a.seq), Ok(2));
        assert_eq!(pick(&l, "j", Some(1)).map(|a| a.seq), Ok(1));
        let err = pick(&l, "j", Some(7)).unwrap_err();
        assert_eq!(err, UiError::NoSuchAttempt { job: "j".into(), asked: 7, known: "1, 2".into() });
        assert_eq!(err.to_string(), "sparkjob \"j\" has no attempt 7 (its attempts: 1, 2)");
        assert_eq!(pick(&ledger(vec![]), "j", None).unwrap_err(), UiError::NotSubmitted { job: "j".into() });
        let expired = JobLedger { expired: true, ..l };
        assert_eq!(<&str>::from(pick(&expired, "j", Some(1)).unwrap_err()), "Expired");
    }

    #[test]
    fn a_finished_attempt_is_replayed_a_running_one_shown_live() {
        let dir = Path::new("/s/jobs/j/attempts/2/eventlog");
        let log = dir.join("app-2");
        let done = record(2, true);
        assert_eq!(
            decide("j", &done, None, Some(log.clone()), dir),
            Ok(Show::Replay { log: log.clone(), app_id: Some("app-2".into()) })
        );
        assert_eq!(
            decide("j", &done, None, None, dir),
            Err(UiError::NoEventLog { job: "j".into(), seq: 2, dir: dir.display().to_string() })
        );
        let open = record(2, false);
        let url = "http://127.0.0.1:4041".to_string();
        assert_eq!(decide("j", &open, Some(Some(url.clone())), Some(log.clone()), dir), Ok(Show::Live(url)));
        assert_eq!(decide("j", &open, Some(None), None, dir), Err(UiError::NoLiveUi { job: "j".into(), seq: 2 }));
        // Not recorded as ended and not running (the driver died with the operator down):
        // its log, still `.inprogress`, is what there is.
        let torn = dir.join("app-20261201-0003.inprogress");
        assert_eq!(
            decide("j", &open, None, Some(torn.clone()), dir),
            Ok(Show::Replay { log: torn, app_id: Some("app-20261201-0003".into()) })
        );
    }
}
