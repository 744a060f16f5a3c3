//! The local runtime: Spark standalone as processes on this machine.
//!
//! Everything it starts is detached (own process group, survives the operator) and is
//! found again from files under the state directory plus markers in /proc, so a restarted
//! operator adopts what runs instead of starting it twice. See `cluster` and `job` for the
//! file layouts.

mod cluster;
mod deps;
pub(crate) mod driver_log;
mod failure_cause;
pub(crate) mod fsutil;
pub mod history_server;
mod job;
pub(crate) mod master_api;
mod ports;
mod process;
pub mod spark_dist;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use spark_dist::{SparkDist, PYSPARK_VERSION};

use super::{
    converge, AttemptObservation, ClusterPlan, ClusterRequest, ClusterRuntime, Converged, JobRuntime, JobSubmission,
    Note, ObservedCluster, RuntimeError, RuntimeFuture, RuntimeKind,
};

/// A `hostPath` is used in place; there is no Docker to create a named volume with.
pub const VOLUMES: super::VolumeSupport = super::VolumeSupport { host_path: true, named: false };

pub struct LocalRuntime {
    state_dir: PathBuf,
    progress: Arc<dyn Fn(&str) + Send + Sync>,
    /// Where the pyspark venv lives when there is no SPARK_HOME; None: [`spark_dist::cache_dir`].
    spark_cache: Option<PathBuf>,
    dist: tokio::sync::OnceCell<SparkDist>,
    /// The local Spark's Python, probed once: what `deps` are built for.
    python_target: tokio::sync::OnceCell<crate::runtime::pydeps::PythonTarget>,
    /// One apply/delete per cluster at a time within this process (the controller already
    /// serialises per object; this covers callers that do not, like the CLI or tests).
    cluster_locks: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The wrapper pid of each driver this process started, by attempt dir, until its end
    /// was seen: the pidfile may not be written yet when the end watch is armed.
    drivers: parking_lot::Mutex<HashMap<PathBuf, i32>>,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("state_dir", &self.state_dir)
            .field("spark_cache", &self.spark_cache)
            .field("dist", &self.dist.get())
            .finish_non_exhaustive()
    }
}

impl LocalRuntime {
    /// `progress` receives human-readable lines while Spark is being installed.
    pub fn new(state_dir: PathBuf, progress: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        // Absolute, because the path is part of the markers that identify our processes
        // and a later operator may run from another working directory.
        let state_dir = std::path::absolute(&state_dir).unwrap_or(state_dir);
        LocalRuntime {
            state_dir,
            progress,
            spark_cache: None,
            dist: tokio::sync::OnceCell::new(),
            python_target: tokio::sync::OnceCell::new(),
            cluster_locks: parking_lot::Mutex::new(HashMap::new()),
            drivers: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    /// Keeps the pyspark venv in `dir` instead of under the state directory (shared by
    /// tests and CI; `SPARKSWARM_SPARK_CACHE` does the same without code).
    pub fn with_spark_cache(mut self, dir: PathBuf) -> Self {
        self.spark_cache = Some(dir);
        self
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// `<state_dir>/clusters/<name>`: the cluster's record, pidfiles and logs.
    pub fn cluster_dir(&self, name: &str) -> PathBuf {
        self.state_dir.join("clusters").join(name)
    }

    /// The Spark in use, found or installed on first call.
    pub async fn spark(&self) -> Result<&SparkDist, RuntimeError> {
        self.dist
            .get_or_try_init(|| async {
                let progress: &(dyn Fn(&str) + Sync) = &*self.progress;
                match &self.spark_cache {
                    Some(cache) => spark_dist::ensure_in(cache, progress).await,
                    None => spark_dist::ensure(&self.state_dir, progress).await,
                }
            })
            .await
    }

    /// Pids of every live process of the cluster (daemons, and executors they started),
    /// recognised by their markers whatever the pidfiles say.
    pub fn cluster_pids(&self, name: &str) -> Vec<i32> {
        process::find_marked(&cluster::marker(&self.state_dir, name))
    }

    /// What runs of a cluster (read only).
    pub async fn observe_cluster(&self, name: &str) -> Result<ObservedCluster, RuntimeError> {
        cluster::observe(self, name).await
    }

    /// Starts what is missing or dead, stops extras, restarts what runs from another plan.
    pub async fn apply(&self, plan: &ClusterPlan) -> Result<(), RuntimeError> {
        cluster::apply(self, plan).await
    }

    fn cluster_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.cluster_locks.lock();
        locks.entry(name.to_string()).or_default().clone()
    }
}

impl ClusterRuntime for LocalRuntime {
    fn job_runtime(&self) -> RuntimeKind {
        RuntimeKind::Local
    }

    fn converge<'a>(&'a self, req: &'a ClusterRequest, notes: &'a mut Vec<Note>) -> RuntimeFuture<'a, Converged> {
        Box::pin(async move {
            let observe = || async { Ok((self.observe_cluster(&req.plan.name).await?, ())) };
            let apply = || self.apply(&req.plan);
            let (converged, ()) = converge::pass(&req.plan, |_| false, "here", notes, observe, apply).await?;
            Ok(converged)
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> RuntimeFuture<'a, ()> {
        Box::pin(cluster::delete(self, name))
    }

    fn list(&self) -> RuntimeFuture<'_, Vec<String>> {
        Box::pin(cluster::list(self))
    }

    fn holds(&self, name: &str) -> bool {
        crate::api::meta::check_name(name).is_ok() && self.cluster_dir(name).exists()
    }
}

impl JobRuntime for LocalRuntime {
    fn prepare_deps<'a>(
        &'a self,
        req: &'a crate::runtime::pydeps::DepsRequest,
    ) -> RuntimeFuture<'a, crate::runtime::pydeps::PreparedDeps> {
        Box::pin(deps::prepare(self, req))
    }

    fn submit<'a>(&'a self, sub: &'a JobSubmission) -> RuntimeFuture<'a, ()> {
        Box::pin(job::submit(self, sub))
    }

    fn observe<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, Option<AttemptObservation>> {
        Box::pin(job::observe(attempt_dir))
    }

    fn kill<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, ()> {
        Box::pin(job::kill(attempt_dir))
    }

    fn ended<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, bool> {
        Box::pin(job::ended(self, attempt_dir))
    }
}
