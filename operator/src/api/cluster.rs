use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::kind::ApiVersion;
use super::meta::ObjectMeta;
use super::quantity::Memory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum SparkClusterKind {
    #[default]
    SparkCluster,
}

/// A Spark standalone cluster: a master and its workers on one of three runtimes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "SparkCluster")]
pub struct SparkCluster {
    pub api_version: ApiVersion,
    pub kind: SparkClusterKind,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: SparkClusterSpec,
    /// Written by the operator; anything a user puts here is overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SparkClusterStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SparkClusterSpec {
    /// Where the cluster runs; exactly one provider, `local` when omitted.
    #[serde(default)]
    pub provider: Provider,
    /// The Spark image (swarm and digitalocean); built from `images/spark` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default)]
    pub master: MasterSpec,
    #[serde(default)]
    pub workers: WorkersSpec,
    #[serde(default)]
    pub registry: RegistrySpec,
    /// Shared storage mounted at the same path in the master, the workers and every driver,
    /// announced to drivers and executors as `SPARKSWARM_VOLUME_<NAME>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeSpec>,
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// One shared volume: a directory of the host (`hostPath`) or a Docker named volume
/// (`volume`), exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSpec {
    /// A DNS-1123 label, unique in the cluster; `SPARKSWARM_VOLUME_<NAME>` upper-cases it
    /// and turns `-` into `_`.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))]
    pub name: String,
    /// Where it is mounted in the master, the workers and the drivers (absolute).
    #[schemars(regex(pattern = r"^/"))]
    pub mount_path: String,
    /// A directory relative to the manifest (or absolute), inside the allowed roots; on the
    /// local runtime it is used in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<PathBuf>,
    /// A Docker named volume created on each node (swarm, digitalocean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<NamedVolumeSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamedVolumeSpec {
    /// The Docker volume driver (`local` when omitted).
    #[serde(default = "default_volume_driver")]
    pub driver: String,
    /// Passed to the driver as they are (`type`, `o`, `device` of the local driver's NFS).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
}

fn default_volume_driver() -> String {
    "local".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Provider {
    /// Spark standalone master and workers as processes on this machine.
    Local(LocalProvider),
    /// An existing Docker engine or Swarm.
    Swarm(SwarmProvider),
    /// Droplets created for this cluster, then a swarm on them.
    Digitalocean(DigitalOceanProvider),
}

impl Default for Provider {
    fn default() -> Self {
        Provider::Local(LocalProvider::default())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LocalProvider {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SwarmProvider {
    /// `unix:///var/run/docker.sock` (default; honours DOCKER_HOST), `ssh://user@host[:port]`
    /// or `tcp://host:2376`.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Run `swarm init` when the engine is not a manager yet.
    #[serde(default)]
    pub init: bool,
    /// Client certificates for a `tcp://` endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
}

fn default_endpoint() -> String {
    "unix:///var/run/docker.sock".to_string()
}

impl Default for SwarmProvider {
    fn default() -> Self {
        SwarmProvider { endpoint: default_endpoint(), init: false, tls: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsSpec {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DigitalOceanProvider {
    /// Where the API token is read from. An inline token is rejected.
    pub token_from: SecretRef,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_size")]
    pub size: String,
    #[serde(default = "default_do_image")]
    pub image: String,
    /// Number of droplets; the first is the swarm manager.
    #[serde(default = "default_nodes")]
    #[schemars(range(min = 1, max = 50))]
    pub nodes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<SshKeySpec>,
}

fn default_region() -> String {
    "nyc3".into()
}
fn default_size() -> String {
    "s-2vcpu-4gb".into()
}
fn default_do_image() -> String {
    "debian-12-x64".into()
}
fn default_nodes() -> u32 {
    3
}

/// A secret by reference: the value itself never appears in a manifest or a status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SecretRef {
    /// The name of an environment variable of the operator.
    Env(String),
    /// A file holding the secret, relative to the manifest.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SshKeySpec {
    pub private_key_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MasterSpec {
    /// The master's RPC port: 7077 on swarm; a free port on local when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// The master's web UI port: 8080 on swarm; a free port on local when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub web_ui_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkersSpec {
    #[serde(default = "default_replicas")]
    #[schemars(range(max = 64))]
    pub replicas: u32,
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 256))]
    pub cores: u32,
    #[serde(default = "default_memory")]
    pub memory: Memory,
}

fn default_replicas() -> u32 {
    2
}
pub(crate) fn one() -> u32 {
    1
}
pub(crate) fn default_memory() -> Memory {
    Memory::new("1g")
}

impl Default for WorkersSpec {
    fn default() -> Self {
        WorkersSpec { replicas: default_replicas(), cores: 1, memory: default_memory() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrySpec {
    /// Run a private image registry on the swarm (ignored by the local provider).
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "default_registry_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
}

fn default_registry_port() -> u16 {
    5000
}

impl Default for RegistrySpec {
    fn default() -> Self {
        RegistrySpec { enabled: false, port: default_registry_port() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum DeletionPolicy {
    /// Deleting the resource stops and removes what it created.
    #[default]
    Delete,
    /// Deleting the resource leaves what it created running.
    Retain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum ClusterPhase {
    #[default]
    Pending,
    Provisioning,
    Ready,
    Degraded,
    Failed,
    Terminating,
}

impl ClusterPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterPhase::Pending => "Pending",
            ClusterPhase::Provisioning => "Provisioning",
            ClusterPhase::Ready => "Ready",
            ClusterPhase::Degraded => "Degraded",
            ClusterPhase::Failed => "Failed",
            ClusterPhase::Terminating => "Terminating",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SparkClusterStatus {
    pub phase: ClusterPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_ui_url: Option<String>,
    /// The Spark version that actually runs, as the master reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkerCounts>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct WorkerCounts {
    pub desired: u32,
    pub ready: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeStatus {
    pub name: String,
    pub address: String,
    pub role: String,
    pub state: String,
}
