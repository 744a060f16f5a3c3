//! The runtimes: where clusters and jobs actually run. Each is I/O behind two small traits,
//! so that the reconcilers above them stay pure decisions plus calls through these traits.

pub mod attempt;
pub mod digitalocean;
pub mod local;
pub mod swarm;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::api::quantity::Memory;

/// What a cluster should look like, built (purely) from a SparkCluster's spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    pub name: String,
    pub workers: u32,
    pub worker_cores: u32,
    pub worker_memory: Memory,
    pub master_port: Option<u16>,
    pub web_ui_port: Option<u16>,
}

/// What a runtime sees of a cluster right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedCluster {
    /// Whether anything of this cluster exists at all (processes, services, records).
    pub exists: bool,
    pub master_running: bool,
    /// `spark://host:port`, once the master was started.
    pub master_url: Option<String>,
    pub web_ui_url: Option<String>,
    /// Workers whose process/task runs, whether or not the master has seen them yet.
    pub workers_running: u32,
    /// Workers the master reports ALIVE (from its JSON API).
    pub workers_alive: u32,
    /// Workers found dead since the last observation (restarted by the next apply).
    pub workers_failed: u32,
    pub spark_version: Option<String>,
    /// The plan the running cluster was started with, to detect spec changes.
    pub applied: Option<ClusterPlan>,
    pub nodes: Vec<crate::api::cluster::NodeStatus>,
}

/// One attempt of a job, fully resolved: paths are absolute and confined, values are strings.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSubmission {
    pub job: String,
    pub cluster: String,
    pub submission_id: String,
    pub attempt: u32,
    pub master_url: String,
    pub main_application_file: PathBuf,
    pub arguments: Vec<String>,
    /// (source on this machine, destination relative to the driver's working directory)
    pub files: Vec<(PathBuf, String)>,
    pub py_files: Vec<PathBuf>,
    pub spark_conf: BTreeMap<String, String>,
    pub driver_cores: u32,
    pub driver_memory: Memory,
    pub executor_instances: u32,
    pub executor_cores: u32,
    pub executor_memory: Memory,
    /// Where this attempt keeps its working dir, driver log and outputs.
    pub attempt_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttemptState {
    /// Submitted, the driver process/task runs.
    Running,
    /// The driver ended with this exit code.
    Exited(i32),
    /// A record exists but no driver was ever found (the operator died mid-submission).
    Lost,
}

/// What a runtime sees of one attempt of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptObservation {
    pub state: AttemptState,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub spark_application_id: Option<String>,
    pub web_ui_url: Option<String>,
    /// The last error line of the driver (the Python exception), when there is one.
    pub error_line: Option<String>,
    /// Where the app's `$SPARKSWARM_OUTPUT_DIR` was collected.
    pub outputs_dir: PathBuf,
    /// The flat map in `results.json`, once the attempt ended.
    pub results: crate::api::job::Results,
    pub driver_log: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("Spark is not available: {0}")]
    SparkUnavailable(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Process(String),
    #[error("{0}")]
    Unreachable(String),
    /// From the swarm runtime; its own variant names the reason.
    #[error("{0}")]
    Swarm(Box<swarm::SwarmError>),
}

impl RuntimeError {
    /// The CamelCase reason used for events and conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            RuntimeError::SparkUnavailable(_) => "SparkUnavailable",
            RuntimeError::Io { .. } => "IoError",
            RuntimeError::Process(_) => "ProcessError",
            RuntimeError::Unreachable(_) => "Unreachable",
            RuntimeError::Swarm(e) => e.reason(),
        }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let what = what.into();
        move |source| RuntimeError::Io { what, source }
    }
}

/// A place where Spark clusters run.
pub trait ClusterRuntime: Send + Sync {
    /// Reads the world: never changes anything.
    fn observe(&self, name: &str) -> impl std::future::Future<Output = Result<ObservedCluster, RuntimeError>> + Send;
    /// Moves the cluster toward the plan: starts what is missing or dead, stops extras,
    /// restarts everything when the plan changed in a way that needs it. Idempotent.
    fn apply(&self, plan: &ClusterPlan) -> impl std::future::Future<Output = Result<(), RuntimeError>> + Send;
    /// Stops and removes everything of the cluster. Idempotent.
    fn delete(&self, name: &str) -> impl std::future::Future<Output = Result<(), RuntimeError>> + Send;
    /// Names of every cluster this runtime has anything of (to clean up after deleted files).
    fn list(&self) -> impl std::future::Future<Output = Result<Vec<String>, RuntimeError>> + Send;
}

/// A place where Spark jobs run.
pub trait JobRuntime: Send + Sync {
    /// Starts the attempt's driver. The caller has already persisted its record.
    fn submit(&self, sub: &JobSubmission) -> impl std::future::Future<Output = Result<(), RuntimeError>> + Send;
    /// What became of an attempt; None when there is no trace of it at all.
    fn observe(
        &self,
        attempt_dir: &std::path::Path,
    ) -> impl std::future::Future<Output = Result<Option<AttemptObservation>, RuntimeError>> + Send;
    /// Stops the attempt's driver (and with it its executors). Idempotent.
    fn kill(&self, attempt_dir: &std::path::Path)
        -> impl std::future::Future<Output = Result<(), RuntimeError>> + Send;
}
