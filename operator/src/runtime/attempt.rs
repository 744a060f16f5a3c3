//! The layout of an attempt's directory in the state dir: the same for every runtime, and
//! what the CLI reads (`logs`) and the status points at (`outputsDir`).

use std::path::{Path, PathBuf};

use crate::api::job::Results;

/// `results.json` above this is ignored (it is lifted into the status).
const RESULTS_MAX_BYTES: u64 = 1024 * 1024;
/// Reading a bigger event log on each observation would stall the reconciler.
const EVENT_LOG_MAX_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptDir {
    /// Absolute, so that markers and records compare it verbatim however it was given.
    pub dir: PathBuf,
}

impl AttemptDir {
    pub fn new(dir: &Path) -> Self {
        AttemptDir { dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()) }
    }

    /// What the app wrote to `$SPARKSWARM_OUTPUT_DIR`, collected.
    pub fn outputs(&self) -> PathBuf {
        self.dir.join("outputs")
    }

    /// Where Spark's event log of the attempt is (written there or collected there).
    pub fn event_log_dir(&self) -> PathBuf {
        self.dir.join(super::event_log::DIR)
    }

    /// The event log file: `<app id>` once the application ended, `<app id>.inprogress`
    /// while it runs (and after a driver that died without closing it).
    pub fn event_log(&self) -> Option<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.event_log_dir())
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "crc"))
            .collect();
        files.sort_by_key(|p| p.extension().is_some_and(|x| x == "inprogress"));
        files.into_iter().next()
    }

    /// Totals over the event log, once Spark closed it (renamed it from `.inprogress`).
    pub fn read_spark_metrics(&self) -> Option<Box<crate::api::job::SparkMetrics>> {
        let log = self.event_log().filter(|p| p.extension().is_none_or(|x| x != "inprogress"))?;
        if std::fs::metadata(&log).ok()?.len() > EVENT_LOG_MAX_BYTES {
            tracing::warn!(path = %log.display(), "the event log is too big to sum up; status.sparkMetrics left out");
            return None;
        }
        let text = std::fs::read_to_string(&log).ok()?;
        Some(Box::new(super::event_log_metrics::parse(&text)))
    }

    /// The driver's stdout and stderr.
    pub fn driver_log(&self) -> PathBuf {
        self.dir.join("driver.log")
    }

    /// The driver's exit code, written once it ended.
    pub fn exitcode(&self) -> PathBuf {
        self.dir.join("exitcode")
    }

    /// When the driver started.
    pub fn started(&self) -> PathBuf {
        self.dir.join("started")
    }

    /// Written by `kill` before anything else, so that a start racing it does not run.
    pub fn cancelled(&self) -> PathBuf {
        self.dir.join("cancelled")
    }

    /// The driver's exit code: None while it runs; a garbled file (the launchers rename a
    /// complete one into place) counts as a failure.
    pub fn read_exitcode(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.exitcode()).ok()?;
        Some(text.trim().parse().unwrap_or(-1))
    }

    /// The flat JSON object the app wrote to `$SPARKSWARM_OUTPUT_DIR/results.json`, once
    /// collected; anything else is ignored with a warning.
    pub fn read_results(&self) -> Results {
        let path = self.outputs().join("results.json");
        let Ok(meta) = std::fs::metadata(&path) else { return Results::new() };
        if meta.len() > RESULTS_MAX_BYTES {
            tracing::warn!(path = %path.display(), bytes = meta.len(), "results.json is too big; ignored");
            return Results::new();
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "results.json is unreadable; ignored");
                return Results::new();
            }
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => {
                tracing::warn!(path = %path.display(), "results.json is not a JSON object; ignored");
                Results::new()
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "results.json is not valid JSON; ignored");
                Results::new()
            }
        }
    }
}
