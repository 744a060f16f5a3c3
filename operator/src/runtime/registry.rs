//! The registry: the one place that knows which runtimes exist. A cluster's provider maps
//! to a [`RuntimeKind`] here, and each kind to the [`ClusterRuntime`] and [`JobRuntime`]
//! that serve it. Adding a runtime means a folder under `runtime/` and a line in each match
//! below; nothing above this module changes.

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::cluster::Provider;

use super::digitalocean::cluster::DigitalOceanRuntime;
use super::local::LocalRuntime;
use super::swarm::SwarmRuntime;
use super::{ClusterRuntime, JobRuntime, RuntimeKind, VolumeSupport};

/// A runtime that serves clusters and jobs alike.
pub trait Runtime: ClusterRuntime + JobRuntime {}
impl<T: ClusterRuntime + JobRuntime> Runtime for T {}

pub struct Runtimes {
    /// By [`RuntimeKind`] as index.
    clusters: [Arc<dyn ClusterRuntime>; 3],
    jobs: [Arc<dyn JobRuntime>; 3],
}

impl std::fmt::Debug for Runtimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtimes")
    }
}

/// Progress lines while something slow happens (Spark or an image installed).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

const KINDS: [RuntimeKind; 3] = [RuntimeKind::Local, RuntimeKind::Swarm, RuntimeKind::Digitalocean];

fn slot(kind: RuntimeKind) -> usize {
    match kind {
        RuntimeKind::Local => 0,
        RuntimeKind::Swarm => 1,
        RuntimeKind::Digitalocean => 2,
    }
}

impl Runtimes {
    /// The real runtimes, keeping their records under `state_dir`.
    pub fn new(state_dir: PathBuf, progress: Progress) -> Self {
        Self::with_local(LocalRuntime::new(state_dir.clone(), progress.clone()), state_dir, progress)
    }

    /// The real runtimes, with a local runtime configured by the caller (tests share one
    /// Spark installation).
    pub fn with_local(local: LocalRuntime, state_dir: PathBuf, progress: Progress) -> Self {
        let local = Arc::new(local);
        let swarm = Arc::new(SwarmRuntime::new(state_dir.clone(), progress));
        // A digitalocean cluster is a swarm once its droplets joined: the swarm runtime runs
        // its Spark services and its jobs.
        let digitalocean = Arc::new(DigitalOceanRuntime::new(state_dir, swarm.clone()));
        Runtimes { clusters: [local.clone(), swarm.clone(), digitalocean], jobs: [local, swarm.clone(), swarm] }
    }

    /// One runtime standing in for every kind: for the reconcilers' own tests.
    pub fn single<R: Runtime + 'static>(rt: Arc<R>) -> Self {
        Runtimes { clusters: [rt.clone(), rt.clone(), rt.clone()], jobs: [rt.clone(), rt.clone(), rt] }
    }

    /// The kind of runtime a cluster with this provider lives on.
    pub fn kind_of(provider: &Provider) -> RuntimeKind {
        match provider {
            Provider::Local(_) => RuntimeKind::Local,
            Provider::Swarm(_) => RuntimeKind::Swarm,
            Provider::Digitalocean(_) => RuntimeKind::Digitalocean,
        }
    }

    /// What the runtime of `kind` does with a cluster's `volumes` (pure: for validation).
    pub fn volume_support(kind: RuntimeKind) -> VolumeSupport {
        match kind {
            RuntimeKind::Local => super::local::VOLUMES,
            RuntimeKind::Swarm => super::swarm::VOLUMES,
            RuntimeKind::Digitalocean => super::digitalocean::VOLUMES,
        }
    }

    pub fn cluster(&self, kind: RuntimeKind) -> &dyn ClusterRuntime {
        self.clusters[slot(kind)].as_ref()
    }

    pub fn job(&self, kind: RuntimeKind) -> &dyn JobRuntime {
        self.jobs[slot(kind)].as_ref()
    }

    /// The same as [`Runtimes::job`], for a task that outlives the reconcile (an attempt's
    /// end watch).
    pub fn job_shared(&self, kind: RuntimeKind) -> Arc<dyn JobRuntime> {
        self.jobs[slot(kind)].clone()
    }

    /// Every cluster runtime, for the orphan sweep at start-up.
    pub fn all_clusters(&self) -> impl Iterator<Item = (RuntimeKind, &dyn ClusterRuntime)> {
        KINDS.iter().map(|k| (*k, self.cluster(*k)))
    }

    /// The runtime that keeps a record of a cluster whose file is gone (None: only the local
    /// runtime could have it, by its process markers).
    pub fn holder_of(&self, name: &str) -> Option<RuntimeKind> {
        // The most specific first: a digitalocean cluster also has a swarm record.
        KINDS.iter().rev().find(|k| self.cluster(**k).holds(name)).copied()
    }
}
