//! The runtimes: where clusters and jobs actually run. Each is I/O behind two small traits,
//! so that the reconcilers above them stay pure decisions plus calls through these traits.
//! [`registry::Runtimes`] is the one place that names them; everything else asks it for the
//! [`ClusterRuntime`] or [`JobRuntime`] of a [`RuntimeKind`].

pub mod attempt;
pub mod converge;
pub mod digitalocean;
pub mod event_log;
pub mod event_log_metrics;
pub mod job_env;
pub mod jvm_options;
pub mod local;
pub mod pydeps;
pub mod registry;
pub mod swarm;
pub mod volumes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::api::cluster::SparkClusterSpec;
use crate::api::condition::Condition;
use crate::api::quantity::Memory;

/// Defined with the API types, so that the state records can hold it without importing the
/// runtimes.
pub use crate::api::RuntimeKind;
pub use registry::Runtimes;

/// What a cluster should look like, built (purely) from a SparkCluster's spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    pub name: String,
    pub workers: u32,
    pub worker_cores: u32,
    pub worker_memory: Memory,
    pub master_port: Option<u16>,
    pub web_ui_port: Option<u16>,
    /// Mounted in the master, the workers and the drivers; a change re-applies the cluster.
    pub volumes: Vec<volumes::VolumePlan>,
}

impl ClusterPlan {
    /// From a spec whose paths were resolved (`reconcile::cluster::build`).
    pub fn of(name: &str, spec: &SparkClusterSpec) -> Self {
        ClusterPlan {
            name: name.to_string(),
            workers: spec.workers.replicas,
            worker_cores: spec.workers.cores,
            worker_memory: spec.workers.memory.clone(),
            master_port: spec.master.port,
            web_ui_port: spec.master.web_ui_port,
            volumes: volumes::VolumePlan::of(&spec.volumes),
        }
    }
}

/// What a runtime can do with a cluster's `volumes`. Validation asks it through the
/// registry, so that `validate` and the operator refuse the same entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeSupport {
    /// A directory of this machine (`hostPath`) reaches the cluster.
    pub host_path: bool,
    /// Docker named volumes (`volume`) can be created where the cluster runs.
    pub named: bool,
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

/// Everything a runtime needs to bring one cluster to its declared state.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRequest {
    /// The shape Spark runs with (what a change of restarts or scales).
    pub plan: ClusterPlan,
    /// The spec, every path in it resolved against the manifest and confined to the
    /// allowed roots.
    pub spec: SparkClusterSpec,
    /// The manifest's directory (what relative paths in records resolve against).
    pub base_dir: PathBuf,
    /// The spec changed since the status was last written: runtimes that compare what runs
    /// with a hash of its spec (images, registry) apply even when the plan is the same.
    pub new_generation: bool,
}

/// Something a runtime did or ran into during a pass, for the reconciler to record as an
/// event.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Note {
    pub fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        Note { warning: false, reason, message: message.into() }
    }
    pub fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        Note { warning: true, reason, message: message.into() }
    }
}

/// Where one pass of a cluster runtime left the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converged {
    pub seen: ObservedCluster,
    /// Conditions only this runtime knows (SwarmReady, NodesReady, RegistryReady).
    pub conditions: Vec<Condition>,
    /// Not yet able to run Spark (droplets booting or joining), and why.
    pub provisioning: Option<String>,
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
    /// `spec.env`'s plain values, expansions resolved: set for the driver here, for the
    /// executors through `spark.executorEnv.*` in `spark_conf`.
    pub env: Vec<(String, String)>,
    /// `spec.env`'s `valueFrom` values, read at submission: shipped as [`job_env`] says,
    /// never through `spark_conf` or a command line.
    pub secrets: Vec<(String, job_env::Secret)>,
    /// The built `deps` on this machine (`pydeps`' `site` dir), for driver and executors.
    pub deps: Option<PathBuf>,
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
    /// Spark's event log of the attempt, once there is one in the attempt's directory.
    pub event_log: Option<PathBuf>,
    /// Totals over the event log, once Spark closed it.
    pub spark_metrics: Option<Box<crate::api::job::SparkMetrics>>,
}

/// Why a runtime failed; the variant name is the event and condition reason, except for the
/// wrapped runtime errors, whose own variant names are.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
pub enum RuntimeError {
    #[error("Spark is not available: {0}")]
    SparkUnavailable(String),
    #[error("{what}: {source}")]
    IoError {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    ProcessError(String),
    #[error("{0}")]
    Unreachable(String),
    /// The spec asks for something this runtime cannot do.
    #[error("{0}")]
    InvalidSpec(String),
    /// pip could not install `deps`: its own error line.
    #[error("{0}")]
    DepsFailed(String),
    #[error(transparent)]
    Swarm(Box<swarm::SwarmError>),
    #[error(transparent)]
    DigitalOcean(Box<digitalocean::DoError>),
}

impl RuntimeError {
    /// The CamelCase reason used for events and conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            RuntimeError::Swarm(e) => e.as_ref().into(),
            RuntimeError::DigitalOcean(e) => e.as_ref().into(),
            other => other.into(),
        }
    }

    /// Whether only a change by the user can fix it (another pass would fail the same way).
    pub fn needs_user(&self) -> bool {
        match self {
            RuntimeError::InvalidSpec(_) | RuntimeError::DepsFailed(_) => true,
            RuntimeError::Swarm(e) => e.needs_user(),
            RuntimeError::DigitalOcean(e) => e.needs_user(),
            _ => false,
        }
    }

    /// The condition besides `Ready` that this failure makes False (e.g. `SwarmReady`).
    pub fn condition_type(&self) -> Option<&'static str> {
        match self {
            RuntimeError::Swarm(e) => e.condition_type(),
            _ => None,
        }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let what = what.into();
        move |source| RuntimeError::IoError { what, source }
    }
}

/// What the runtimes' futures resolve to: boxed, so that the traits can be used as objects
/// (the registry hands out `&dyn ClusterRuntime`).
pub type RuntimeFuture<'a, T> = BoxFuture<'a, Result<T, RuntimeError>>;

/// A place where Spark clusters run.
pub trait ClusterRuntime: Send + Sync {
    /// The job runtime that runs the jobs of this runtime's clusters.
    fn job_runtime(&self) -> RuntimeKind;
    /// One pass towards the request: observe, apply what differs (start what is missing or
    /// dead, stop extras, restart what runs from an older plan), observe again. Idempotent.
    /// What the pass did goes into `notes`, also when it fails half-way.
    fn converge<'a>(&'a self, req: &'a ClusterRequest, notes: &'a mut Vec<Note>) -> RuntimeFuture<'a, Converged>;
    /// Stops and removes everything of the cluster. Idempotent.
    fn delete<'a>(&'a self, name: &'a str) -> RuntimeFuture<'a, ()>;
    /// Names of every cluster this runtime has anything of (to clean up after deleted files).
    fn list(&self) -> RuntimeFuture<'_, Vec<String>>;
    /// Whether this runtime keeps a record of the cluster (to find an orphan's runtime).
    fn holds(&self, name: &str) -> bool;
}

/// A place where Spark jobs run.
pub trait JobRuntime: Send + Sync {
    /// Installs a job's `deps` for the Python this runtime's cluster runs, or finds them in
    /// the cache (`pydeps`): what `submit` then ships in `JobSubmission::deps`.
    fn prepare_deps<'a>(&'a self, req: &'a pydeps::DepsRequest) -> RuntimeFuture<'a, pydeps::PreparedDeps>;
    /// Starts the attempt's driver. The caller has already persisted its record.
    fn submit<'a>(&'a self, sub: &'a JobSubmission) -> RuntimeFuture<'a, ()>;
    /// What became of an attempt; None when there is no trace of it at all.
    fn observe<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, Option<AttemptObservation>>;
    /// Stops the attempt's driver (and with it its executors). Idempotent.
    fn kill<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, ()>;
    /// Resolves as soon as the attempt's driver has ended (`true`), so that its end is an
    /// event rather than something a timer finds; `false` at once when this runtime cannot
    /// watch this attempt (the reconciler's slow poll covers it then). Recording the end
    /// stays with `observe`.
    fn ended<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, bool>;
}
