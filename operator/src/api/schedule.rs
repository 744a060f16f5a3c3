//! SparkSchedule: a SparkJob template run on a cron schedule. Its runs are SparkJobs the
//! operator writes under the state directory, owned by the schedule.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::job::{JobPhase, Results, SparkJobSpec};
use super::kind::ApiVersion;
use super::meta::ObjectMeta;

/// A schedule's name is at most this long, so that its runs' names
/// (`NAME-manual-YYYYMMDD-HHMMSS`) stay DNS-1123 labels.
pub const MAX_SCHEDULE_NAME_LEN: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum SparkScheduleKind {
    #[default]
    SparkSchedule,
}

/// A SparkJob template run on a cron schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "SparkSchedule")]
pub struct SparkSchedule {
    pub api_version: ApiVersion,
    pub kind: SparkScheduleKind,
    pub metadata: ObjectMeta,
    pub spec: SparkScheduleSpec,
    /// Written by the operator; anything a user puts here is overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SparkScheduleStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SparkScheduleSpec {
    /// 5-field cron (`0 3 * * *`, ranges, steps and lists), `@hourly`, `@daily`, `@weekly`,
    /// or `@every DURATION` (`@every 90s`, at least 10 s).
    #[schemars(length(min = 1))]
    pub schedule: String,
    /// IANA time zone the cron fields are read in.
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
    /// A run missed while the operator was down is started if it is no older than this;
    /// older missed runs are skipped (counted in missedRuns). Unset: the latest is started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<u64>,
    /// A suspended schedule starts no runs; the running ones finish.
    #[serde(default)]
    pub suspend: bool,
    #[serde(default = "three")]
    pub successful_runs_history_limit: u32,
    #[serde(default = "one")]
    pub failed_runs_history_limit: u32,
    /// The spec of each run: a SparkJob spec, its paths relative to this manifest.
    pub template: SparkJobSpec,
}

fn utc() -> String {
    "UTC".into()
}

fn three() -> u32 {
    3
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum ConcurrencyPolicy {
    /// Runs may overlap.
    #[default]
    Allow,
    /// A scheduled time is skipped (counted in missedRuns) while a run is active.
    Forbid,
    /// The active runs are stopped and deleted, then the new one starts.
    Replace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum SchedulePhase {
    #[default]
    Active,
    Suspended,
}

impl SchedulePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulePhase::Active => "Active",
            SchedulePhase::Suspended => "Suspended",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SparkScheduleStatus {
    pub phase: SchedulePhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The latest scheduled time handled (run, or skipped and counted).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::time::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub last_schedule_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::time::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub next_schedule_time: Option<DateTime<Utc>>,
    /// When the latest successful run completed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::time::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub last_successful_time: Option<DateTime<Utc>>,
    /// The runs not finished yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<String>,
    /// Newest first, within the history limits (active runs included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_runs: Vec<RunSummary>,
    /// Scheduled times that were not run: missed while the operator was down, beyond
    /// startingDeadlineSeconds, or skipped by concurrencyPolicy Forbid.
    #[serde(default)]
    pub missed_runs: u64,
}

/// One run as the schedule's status lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub name: String,
    pub phase: JobPhase,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::time::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub completion_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub results: Results,
}
