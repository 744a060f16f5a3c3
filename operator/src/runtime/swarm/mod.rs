//! The swarm runtime: Spark clusters as Docker Swarm services, jobs as one-shot
//! `replicated-job` services, everything through the Docker API (bollard).
//!
//! What it creates carries `sparkswarm.io/cluster=NAME` and `sparkswarm.io/owner=<hash of
//! the state directory>`: the second keeps two projects on one engine from touching each
//! other's clusters. The state directory holds, per cluster, the engine to reach it at
//! (`swarm/clusters/<name>.json`), so that a cluster whose file was deleted can still be
//! deleted, and per job attempt a `swarm.json` naming its service (see `job`).
//!
//! Networking works without IPVS (which some kernels lack; the routing mesh and service
//! VIPs need it): services resolve each other with `dnsrr` endpoints, and the master's web
//! UI is published in `host` mode on the manager, where the master is placed.

pub mod cluster;
pub mod connect;
pub mod data_volume;
pub mod deps;
pub mod error;
pub mod image;
pub mod job;
pub mod labels;
pub mod nodes;
pub mod ssh;
pub mod stage;
pub mod volume_reaper;
pub mod volumes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::Docker;
use serde::{Deserialize, Serialize};

pub use error::SwarmError;

use super::local::fsutil;
use super::{
    converge, AttemptObservation, ClusterPlan, ClusterRequest, ClusterRuntime, Converged, JobRuntime, JobSubmission,
    Note, ObservedCluster, RuntimeError, RuntimeFuture, RuntimeKind,
};
use crate::api::cluster::{Provider, RegistrySpec, SwarmProvider, TlsSpec};

/// The image a cluster runs when its spec names none: what `images/spark` builds.
pub const DEFAULT_IMAGE: &str = "sparkswarm/spark:4.0.1";
pub const REGISTRY_IMAGE: &str = "sparkswarm/registry:2";
/// Bind mounts of the engine's host directories, named volumes on every node.
pub const VOLUMES: super::VolumeSupport = super::VolumeSupport { host_path: true, named: true };

/// What the runtime keeps of a cluster's provider settings (the file may be gone later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTarget {
    pub name: String,
    /// The endpoint as the spec gave it (`DOCKER_HOST` is applied when connecting).
    pub endpoint: String,
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    #[serde(default)]
    pub init: bool,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub registry: RegistrySpec,
    /// The login and known_hosts of an `ssh://` endpoint whose hosts the operator made
    /// (digitalocean); None: the user's own (`SshLogin::from_environment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<ssh::SshLogin>,
    /// The address every node reaches the registry at, when it is not `127.0.0.1` through
    /// the routing mesh (which needs IPVS): the manager's, with the registry published on
    /// the manager in host mode and the nodes' engines told to trust it (the digitalocean
    /// bootstrap does that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_host: Option<String>,
    /// The ID (`sha256:...`) of the Spark image when whoever made the nodes has loaded it
    /// into every node's engine (digitalocean does, over SSH): the services run it by ID,
    /// which no node tries to pull, and it is not pushed into the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_on_nodes: Option<String>,
    /// The cluster's volumes as last converged: what every driver mounts and announces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<super::volumes::VolumePlan>,
}

impl ClusterTarget {
    pub fn new(name: &str, provider: &SwarmProvider, image: Option<&str>, registry: &RegistrySpec) -> Self {
        ClusterTarget {
            name: name.to_string(),
            endpoint: provider.endpoint.clone(),
            tls: provider.tls.clone(),
            init: provider.init,
            image: image.map(str::to_string),
            registry: registry.clone(),
            ssh: None,
            registry_host: None,
            image_on_nodes: None,
            volumes: Vec::new(),
        }
    }

    /// `host:port` of the cluster's registry as the nodes pull from it.
    pub fn registry_address(&self) -> String {
        format!("{}:{}", self.registry_host.as_deref().unwrap_or("127.0.0.1"), self.registry.port)
    }

    /// The Spark image as the services name it: pushed into the registry, or as is.
    pub fn registry_image(&self) -> String {
        format!("{}/{}", self.registry_address(), self.image())
    }

    pub fn endpoint(&self) -> Result<connect::Endpoint, SwarmError> {
        connect::parse(&connect::effective(&self.endpoint), self.tls.as_ref())
    }

    /// The image the cluster's services run: the one loaded into every node (by ID), the
    /// registry's copy when there is a registry, or the image as named.
    pub fn service_image(&self) -> String {
        match &self.image_on_nodes {
            Some(id) => id.clone(),
            None if self.registry.enabled => self.registry_image(),
            None => self.image().to_string(),
        }
    }

    /// The image the user asked for, or ours.
    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or(DEFAULT_IMAGE)
    }
}

pub struct SwarmRuntime {
    state_dir: PathBuf,
    progress: Arc<dyn Fn(&str) + Send + Sync>,
    owner: String,
    /// Where `images/*/build-offline.sh` live (None: not found, images must exist).
    images_dir: Option<PathBuf>,
    clients: tokio::sync::Mutex<HashMap<String, Docker>>,
    /// SSH tunnels of ssh:// endpoints, by endpoint (dropped = closed).
    tunnels: tokio::sync::Mutex<HashMap<String, ssh::Tunnel>>,
    /// One image build at a time (both clusters of a test would otherwise build twice).
    build_lock: tokio::sync::Mutex<()>,
    cluster_locks: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for SwarmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmRuntime")
            .field("state_dir", &self.state_dir)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl SwarmRuntime {
    pub fn new(state_dir: PathBuf, progress: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        let state_dir = std::path::absolute(&state_dir).unwrap_or(state_dir);
        let owner = labels::owner_of(&state_dir);
        let images_dir = image::find_images_dir(&state_dir);
        SwarmRuntime {
            state_dir,
            progress,
            owner,
            images_dir,
            clients: tokio::sync::Mutex::new(HashMap::new()),
            tunnels: tokio::sync::Mutex::new(HashMap::new()),
            build_lock: tokio::sync::Mutex::new(()),
            cluster_locks: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The label value that marks what this operator (this state directory) created.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn targets_dir(&self) -> PathBuf {
        self.state_dir.join("swarm").join("clusters")
    }

    fn target_file(&self, name: &str) -> PathBuf {
        self.targets_dir().join(format!("{name}.json"))
    }

    pub fn target(&self, name: &str) -> Option<ClusterTarget> {
        let text = fsutil::read_opt(&self.target_file(name)).ok().flatten()?;
        serde_json::from_str(&text).ok()
    }

    /// Records where the cluster lives, before anything is created there.
    pub fn configure(&self, target: &ClusterTarget) -> Result<(), RuntimeError> {
        cluster::check_name(&target.name)?;
        if self.target(&target.name).as_ref() == Some(target) {
            return Ok(());
        }
        let dir = self.targets_dir();
        std::fs::create_dir_all(&dir).map_err(RuntimeError::io(format!("creating {}", dir.display())))?;
        let json = serde_json::to_vec_pretty(target)
            .map_err(|e| RuntimeError::ProcessError(format!("serialising the cluster target: {e}")))?;
        fsutil::write_atomic(&self.target_file(&target.name), &json)
    }

    fn forget(&self, name: &str) -> Result<(), RuntimeError> {
        fsutil::remove_file_opt(&self.target_file(name))
    }

    /// Forgets a cluster whose engine is going away with its hosts (digitalocean droplets
    /// being destroyed): its record, client and tunnel, without asking the engine anything.
    pub async fn abandon(&self, name: &str) -> Result<(), RuntimeError> {
        if let Some(target) = self.target(name) {
            if let Ok(ep) = target.endpoint() {
                let key = ep.to_string();
                self.clients.lock().await.remove(&key);
                self.tunnels.lock().await.remove(&key);
            }
        }
        self.forget(name)
    }

    /// A connected client for the endpoint, reused across reconciles.
    pub async fn client(&self, target: &ClusterTarget) -> Result<Docker, SwarmError> {
        let ep = target.endpoint()?;
        let key = ep.to_string();
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&key) {
            // A cheap liveness check: a restarted engine needs no new client, a stopped
            // one must be reported as unreachable rather than as an API error.
            if c.ping().await.is_ok() {
                return Ok(c.clone());
            }
            clients.remove(&key);
        }
        let c = match &ep {
            connect::Endpoint::Ssh { user, host, port } => {
                // A dead client means a dead tunnel too: open both again.
                let mut tunnels = self.tunnels.lock().await;
                tunnels.remove(&key);
                let tunnel = ssh::open(
                    user.as_deref(),
                    host,
                    *port,
                    target.ssh.as_ref(),
                    &self.state_dir.join("swarm").join("ssh"),
                )
                .await?;
                let c = connect::connect_unix(&tunnel.socket, &ep).await?;
                tunnels.insert(key.clone(), tunnel);
                c
            }
            _ => connect::connect(&ep).await?,
        };
        clients.insert(key, c.clone());
        Ok(c)
    }

    fn cluster_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.cluster_locks.lock();
        locks.entry(name.to_string()).or_default().clone()
    }

    fn progress(&self, line: &str) {
        (self.progress)(line);
    }

    /// What runs of a cluster, with what only a swarm knows (nodes, registry).
    pub async fn observe_detail(&self, name: &str) -> Result<(ObservedCluster, cluster::SwarmDetail), RuntimeError> {
        Ok(cluster::observe(self, name).await?)
    }
}

impl From<SwarmError> for RuntimeError {
    fn from(e: SwarmError) -> Self {
        RuntimeError::Swarm(Box::new(e))
    }
}

impl SwarmRuntime {
    /// What runs of a cluster (read only).
    pub async fn observe_cluster(&self, name: &str) -> Result<ObservedCluster, RuntimeError> {
        Ok(cluster::observe(self, name).await?.0)
    }

    /// Creates or updates the cluster's services to the plan.
    pub async fn apply(&self, plan: &ClusterPlan) -> Result<(), RuntimeError> {
        let lock = self.cluster_lock(&plan.name);
        let _guard = lock.lock().await;
        Ok(cluster::apply(self, plan).await?)
    }

    /// One pass on the engine `target` reaches: also what a digitalocean cluster is handed
    /// over to once its droplets are a swarm.
    pub async fn converge_target(
        &self,
        target: &ClusterTarget,
        req: &ClusterRequest,
        notes: &mut Vec<Note>,
    ) -> Result<Converged, RuntimeError> {
        let target = &ClusterTarget { volumes: req.plan.volumes.clone(), ..target.clone() };
        self.configure(target)?;
        let plan = &req.plan;
        let lock = self.cluster_lock(&plan.name);
        let _guard = lock.lock().await;
        let observe = || async { Ok(cluster::observe(self, &plan.name).await?) };
        // Not a manager yet (`init`), or a new generation that may change what the plan does
        // not hold (image, registry): apply, and the runtime updates only the services whose
        // spec hash differs.
        let must_apply = |d: &cluster::SwarmDetail| req.new_generation || !d.manager;
        let apply = || async { Ok(cluster::apply(self, plan).await?) };
        let (mut converged, detail) = converge::pass(plan, must_apply, "on the swarm", notes, observe, apply).await?;
        converged.conditions = cluster::conditions(&detail);
        Ok(converged)
    }
}

impl ClusterRuntime for SwarmRuntime {
    fn job_runtime(&self) -> RuntimeKind {
        RuntimeKind::Swarm
    }

    fn converge<'a>(&'a self, req: &'a ClusterRequest, notes: &'a mut Vec<Note>) -> RuntimeFuture<'a, Converged> {
        Box::pin(async move {
            let Provider::Swarm(provider) = &req.spec.provider else {
                return Err(SwarmError::InvalidSpec("not a swarm cluster".into()).into());
            };
            let target = ClusterTarget::new(&req.plan.name, provider, req.spec.image.as_deref(), &req.spec.registry);
            self.converge_target(&target, req, notes).await
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            let lock = self.cluster_lock(name);
            let _guard = lock.lock().await;
            cluster::delete(self, name).await?;
            self.forget(name)
        })
    }

    fn list(&self) -> RuntimeFuture<'_, Vec<String>> {
        Box::pin(async move {
            let rd = match std::fs::read_dir(self.targets_dir()) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(RuntimeError::io(format!("listing {}", self.targets_dir().display()))(e)),
            };
            let mut names: Vec<String> = rd
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
                .filter(|n| cluster::check_name(n).is_ok())
                .collect();
            names.sort();
            Ok(names)
        })
    }

    fn holds(&self, name: &str) -> bool {
        cluster::check_name(name).is_ok() && self.target(name).is_some()
    }
}

impl JobRuntime for SwarmRuntime {
    fn prepare_deps<'a>(
        &'a self,
        req: &'a crate::runtime::pydeps::DepsRequest,
    ) -> RuntimeFuture<'a, crate::runtime::pydeps::PreparedDeps> {
        Box::pin(deps::prepare(&self.state_dir, req))
    }

    fn submit<'a>(&'a self, sub: &'a JobSubmission) -> RuntimeFuture<'a, ()> {
        Box::pin(async move { Ok(job::submit(self, sub).await?) })
    }

    fn observe<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, Option<AttemptObservation>> {
        Box::pin(async move { Ok(job::observe(self, attempt_dir).await?) })
    }

    fn kill<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, ()> {
        Box::pin(async move { Ok(job::kill(self, attempt_dir).await?) })
    }
    fn ended<'a>(&'a self, attempt_dir: &'a Path) -> RuntimeFuture<'a, bool> {
        Box::pin(async move { Ok(job::ended(self, attempt_dir).await?) })
    }
}
