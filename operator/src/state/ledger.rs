//! The job ledger: every attempt is recorded here before it is submitted, and its end is
//! recorded once seen. It is what makes a restart (even after kill -9) never submit twice,
//! and what keeps a finished job finished after its logs and outputs are gone.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::atomic;
use crate::api::job::{DepsStatus, InputRun};
use crate::api::RuntimeKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct JobLedger {
    pub attempts: Vec<AttemptRecord>,
    /// Set once the attempt directories were removed by `ttlSecondsAfterFinished`.
    #[serde(default)]
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    /// 1-based, counted per generation.
    pub number: u32,
    /// Unique across the job's life; also the attempt's directory name.
    pub seq: u32,
    pub generation: u64,
    pub submission_id: String,
    pub submitted_at: DateTime<Utc>,
    /// The job runtime the attempt was submitted to: the one that observes and stops it,
    /// whatever its cluster's file says now.
    #[serde(default)]
    pub runtime: RuntimeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<AttemptEnd>,
    /// The upstream runs (`dependsOn`) this attempt consumed: a newer one starts a new run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputRun>,
    /// The arguments as submitted, when expansions were resolved into them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
    /// What `deps` installed for this attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deps: Option<DepsStatus>,
}

/// How an attempt ended; the variant name is the condition and event reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display)]
pub enum EndReason {
    /// The driver exited 0.
    Completed,
    /// The driver exited non-zero.
    Error,
    /// A record without a driver: the operator stopped between the record and the start.
    Lost,
    /// The runtime refused the submission.
    SubmitFailed,
    /// Stopped on purpose: the spec changed, the job was suspended, or it ran too long.
    SpecChanged,
    Suspended,
    DeadlineExceeded,
    /// The driver exited 0 but a `successCriteria` gate was not met.
    CriteriaNotMet,
    /// An expansion could not be resolved against the upstream run (e.g. no such result).
    ExpansionFailed,
    /// pip could not install `deps` (the message is its own error line); not retried: the
    /// same requirements fail the same way until the spec changes.
    DepsFailed,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Real failures may be retried; a stop on purpose or a deadline ends the job.
    pub fn retryable(self) -> bool {
        matches!(self, EndReason::Error | EndReason::Lost | EndReason::SubmitFailed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptEnd {
    pub at: DateTime<Utc>,
    pub exit_code: Option<i32>,
    pub reason: EndReason,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_application_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_ui_url: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub results: crate::api::job::Results,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_log: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_metrics: Option<Box<crate::api::job::SparkMetrics>>,
}

impl AttemptEnd {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && self.reason == EndReason::Completed
    }
}

impl JobLedger {
    pub fn load(job_dir: &Path) -> std::io::Result<JobLedger> {
        Ok(atomic::read_json(&job_dir.join("ledger.json"))?.unwrap_or_default())
    }

    pub fn save(&self, job_dir: &Path) -> std::io::Result<()> {
        atomic::write_json(&job_dir.join("ledger.json"), self)
    }

    pub fn latest(&self) -> Option<&AttemptRecord> {
        self.attempts.last()
    }

    pub fn latest_mut(&mut self) -> Option<&mut AttemptRecord> {
        self.attempts.last_mut()
    }

    /// Attempts made for this generation, oldest first.
    pub fn for_generation(&self, generation: u64) -> impl Iterator<Item = &AttemptRecord> {
        self.attempts.iter().filter(move |a| a.generation == generation)
    }

    /// The current run: the attempts of this generation that consumed the same upstream
    /// runs as the latest one, oldest first. Retries belong to a run; new inputs start one.
    pub fn current_run(&self, generation: u64) -> Vec<&AttemptRecord> {
        let all: Vec<&AttemptRecord> = self.for_generation(generation).collect();
        let Some(last) = all.last() else { return all };
        let start = all.iter().rposition(|a| a.inputs != last.inputs).map(|i| i + 1).unwrap_or(0);
        all[start..].to_vec()
    }

    pub fn next_seq(&self) -> u32 {
        self.attempts.last().map(|a| a.seq + 1).unwrap_or(1)
    }
}
