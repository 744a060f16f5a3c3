use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cluster::{default_memory, one, SecretRef};
use super::condition::Condition;
use super::kind::ApiVersion;
use super::meta::ObjectMeta;
use super::quantity::Memory;

/// An app's metrics as it wrote them; the order is the app's, so its headline comes first.
pub type Results = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum SparkJobKind {
    #[default]
    SparkJob,
}

/// A PySpark application run to completion on a SparkCluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "SparkJob")]
pub struct SparkJob {
    pub api_version: ApiVersion,
    pub kind: SparkJobKind,
    pub metadata: ObjectMeta,
    pub spec: SparkJobSpec,
    /// Written by the operator; anything a user puts here is overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SparkJobStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SparkJobSpec {
    /// The name of the SparkCluster to run on.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))]
    pub cluster_ref: String,
    /// The Python file to run, relative to this manifest.
    #[schemars(length(min = 1))]
    pub main_application_file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// Files shipped with the job into the driver's working directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSpec>,
    /// Python files or archives put on the PYTHONPATH of driver and executors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub py_files: Vec<String>,
    /// Python packages for the driver and the executors (pip requirement syntax), built
    /// once per content hash for the cluster's Python and shipped with the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deps: Option<DepsSpec>,
    /// Environment of the driver and the executors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// SparkJobs of the same directory that must have Succeeded before this one runs; a
    /// newer successful run of one of them runs this job again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<JobName>,
    /// Quality gates on `results`, checked when the driver exits 0: an unmet one makes the
    /// job Failed (reason CriteriaNotMet), without a retry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub success_criteria: Vec<Criterion>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spark_conf: BTreeMap<String, ConfValue>,
    #[serde(default)]
    pub driver: DriverSpec,
    #[serde(default)]
    pub executor: ExecutorSpec,
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// Seconds from the first attempt's start after which the job is stopped and Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub active_deadline_seconds: Option<u64>,
    /// Seconds after the job finished when its attempt directories (logs, outputs) are
    /// removed. The manifest and its status are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<u64>,
    /// A suspended job does not run; suspending a running job stops it.
    #[serde(default)]
    pub suspend: bool,
}

/// The name of another SparkJob.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct JobName(
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))] pub String,
);

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One variable of the driver's and the executors' environment: a plain `value`, or a
/// secret read at submission from `valueFrom` (a file or a variable of the operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["value"]}, {"required": ["valueFrom"]}]))]
pub struct EnvVar {
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"), length(min = 1))]
    pub name: String,
    /// May hold `$(jobs.NAME.results.KEY)` or `$(jobs.NAME.outputsDir)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A secret: its value never appears in a status, an event, a log or Spark's conf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<SecretRef>,
}

/// `deps`: what pip installs for the job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepsSpec {
    /// Requirement lines as pip reads them (`pandas>=2.2`, `tabulate==0.9.0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// A requirements file, relative to this manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements_file: Option<String>,
}

/// What `deps` installed: the lock, so that a run can be repeated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepsStatus {
    /// `sha256:` of the requirements, the Python version and the platform.
    pub hash: String,
    /// The Python the packages were built for (`3.11`).
    pub python: String,
    /// Every installed distribution as `name==version`, sorted.
    pub packages: Vec<String>,
}

/// A bound on one numeric result: `min` and/or `max`, both inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["min"]}, {"required": ["max"]}]))]
pub struct Criterion {
    /// A key of `status.results`.
    #[schemars(length(min = 1))]
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A file shipped with the job: a path (placed by its basename) or an explicit `src`/`dst`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FileSpec {
    Path(String),
    Mapped(MappedFile),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappedFile {
    /// Relative to this manifest.
    pub src: String,
    /// Relative to the driver's working directory.
    pub dst: String,
}

impl FileSpec {
    pub fn src(&self) -> &str {
        match self {
            FileSpec::Path(p) => p,
            FileSpec::Mapped(m) => &m.src,
        }
    }

    /// Where the file lands, relative to the driver's working directory.
    pub fn dst(&self) -> String {
        match self {
            FileSpec::Path(p) => std::path::Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.clone()),
            FileSpec::Mapped(m) => m.dst.clone(),
        }
    }
}

/// Spark configuration values are strings; numbers and booleans are accepted and kept as
/// written, so `spark.sql.shuffle.partitions: 10` works as well as `"10"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ConfValue {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for ConfValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfValue::String(s) => f.write_str(s),
            ConfValue::Integer(i) => write!(f, "{i}"),
            ConfValue::Float(x) => write!(f, "{x}"),
            ConfValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriverSpec {
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    pub cores: u32,
    #[serde(default = "default_memory")]
    pub memory: Memory,
}

impl Default for DriverSpec {
    fn default() -> Self {
        DriverSpec { cores: 1, memory: default_memory() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutorSpec {
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 256))]
    pub instances: u32,
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    pub cores: u32,
    #[serde(default = "default_memory")]
    pub memory: Memory,
}

impl Default for ExecutorSpec {
    fn default() -> Self {
        ExecutorSpec { instances: 1, cores: 1, memory: default_memory() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum RestartPolicyType {
    #[default]
    Never,
    OnFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartPolicy {
    #[serde(rename = "type", default)]
    pub type_: RestartPolicyType,
    /// Retries after the first attempt (OnFailure only).
    #[serde(default)]
    #[schemars(range(max = 100))]
    pub max_retries: u32,
    /// Seconds to wait before a retry.
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u64,
}

fn default_backoff() -> u64 {
    10
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy { type_: RestartPolicyType::Never, max_retries: 0, backoff_seconds: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum JobPhase {
    #[default]
    Pending,
    Submitted,
    Running,
    Succeeded,
    Failed,
    Suspended,
}

impl JobPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            JobPhase::Pending => "Pending",
            JobPhase::Submitted => "Submitted",
            JobPhase::Running => "Running",
            JobPhase::Succeeded => "Succeeded",
            JobPhase::Failed => "Failed",
            JobPhase::Suspended => "Suspended",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobPhase::Succeeded | JobPhase::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SparkJobStatus {
    pub phase: JobPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_application_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_ui_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::time::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::time::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub completion_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The last error line on failure (e.g. the Python exception); never empty when Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where what the app wrote to $SPARKSWARM_OUTPUT_DIR was collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_dir: Option<String>,
    /// Spark's event log of the latest attempt (`sparkswarm ui sparkjob NAME` replays it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_log: Option<String>,
    /// Totals from Spark's event log of the latest attempt, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_metrics: Option<Box<SparkMetrics>>,
    /// Lifted from $SPARKSWARM_OUTPUT_DIR/results.json, in the app's own key order.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub results: Results,
    /// The upstream runs (of `dependsOn`) the latest attempt consumed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputRun>,
    /// The arguments the latest attempt was submitted with, once expansions were resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_arguments: Option<Vec<String>>,
    /// What `deps` installed for the latest attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deps: Option<DepsStatus>,
}

/// One upstream run: its attempt number and when it completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputRun {
    pub attempt: u32,
    pub completion_time: DateTime<Utc>,
}

/// What a user looks at first in Spark's UI, summed over the attempt's event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkMetrics {
    pub jobs: u64,
    /// Completed stage attempts.
    pub stages: u64,
    pub tasks: u64,
    pub failed_tasks: u64,
    /// Summed over every task.
    pub executor_run_time_millis: u64,
    pub input_bytes: u64,
    /// Local and remote.
    pub shuffle_read_bytes: u64,
    pub shuffle_write_bytes: u64,
    /// The highest any one task reached.
    pub peak_execution_memory_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_stage: Option<StageTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageTime {
    pub id: u64,
    pub name: String,
    pub duration_millis: u64,
}
