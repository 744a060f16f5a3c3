//! Spark clusters on a swarm: an attachable overlay network `sparkswarm-NAME`, a master
//! service (one replica, on a manager, web UI published in host mode there), a worker
//! service (`workers.replicas`, CPU and memory limits from the spec) and, with
//! `registry.enabled`, a registry service with a named volume.
//!
//! Every service uses a `dnsrr` endpoint: workers and drivers find the master by its
//! service name on the overlay without a virtual IP (which needs IPVS in the kernel).
//! Each service carries the hash of the spec it was created from; apply updates a service
//! whose hash differs (a replicas change scales, anything else rolls its tasks).
//!
//! Observation reads the services' tasks, the swarm's nodes and the master's JSON API.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum, EndpointSpec,
    EndpointSpecModeEnum, Limit, LocalNodeState, Mount, MountType, MountVolumeOptions, NetworkAttachmentConfig,
    NetworkCreateRequest, Service, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, SwarmInitRequest, Task,
    TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum, TaskState, VolumeCreateRequest,
};
use bollard::query_parameters::{
    ListConfigsOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListNodesOptions,
    ListServicesOptionsBuilder, ListTasksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, RemoveVolumeOptionsBuilder, UpdateServiceOptionsBuilder,
};
use bollard::Docker;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::connect::Endpoint;
use super::error::{is_conflict, is_not_found, SwarmError};
use super::{data_volume, image, labels, volumes, ClusterTarget, SwarmRuntime, REGISTRY_IMAGE};
use crate::api::cluster::NodeStatus;
use crate::api::condition::{Condition, ConditionStatus};
use crate::api::quantity::Memory;
use crate::runtime::jvm_options;
use crate::runtime::local::master_api;
use crate::runtime::volumes::VolumePlan;
use crate::runtime::{ClusterPlan, ObservedCluster};

pub const DEFAULT_MASTER_PORT: u16 = 7077;
pub const DEFAULT_WEB_UI_PORT: u16 = 8080;
/// Heap of the master and worker JVMs themselves (executors get the worker's memory).
const DAEMON_MEMORY_MIB: u64 = 512;
/// JVM overhead beyond the heaps, in the worker container's memory limit.
const CONTAINER_OVERHEAD_MIB: u64 = 384;
/// A failed worker task counts as "failing" this long: the status shows Degraded for at
/// least one observation before the replacement makes it Ready again.
const FAILED_WINDOW: Duration = Duration::from_secs(20);
/// How long delete waits for containers to go before removing networks and volumes.
const DELETE_TIMEOUT: Duration = Duration::from_secs(90);

/// What a swarm shows beyond the Spark cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmDetail {
    /// The engine is a swarm manager.
    pub manager: bool,
    /// `inactive`, `active`, ... as the engine reports it.
    pub swarm_state: String,
    pub nodes_total: u32,
    pub nodes_ready: u32,
    /// None: no registry wanted.
    pub registry: Option<RegistryState>,
}

/// The conditions only a swarm has, from what was observed.
pub fn conditions(detail: &SwarmDetail) -> Vec<Condition> {
    let mut out =
        vec![Condition::new("SwarmReady", ConditionStatus::True, "SwarmManager", "the engine is a swarm manager")];
    let nodes = format!("{}/{} nodes ready", detail.nodes_ready, detail.nodes_total);
    out.push(if detail.nodes_total > 0 && detail.nodes_ready == detail.nodes_total {
        Condition::new("NodesReady", ConditionStatus::True, "AllNodesReady", nodes)
    } else {
        Condition::new("NodesReady", ConditionStatus::False, "NodesNotReady", nodes)
    });
    match &detail.registry {
        Some(r) if r.running => {
            out.push(Condition::new("RegistryReady", ConditionStatus::True, "RegistryRunning", r.message.clone()))
        }
        Some(r) => {
            out.push(Condition::new("RegistryReady", ConditionStatus::False, "RegistryStarting", r.message.clone()))
        }
        None => {}
    }
    out
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistryState {
    pub running: bool,
    pub message: String,
}

/// The plan as applied, kept in a label of the worker service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PlanLabel {
    workers: u32,
    cores: u32,
    memory: String,
    master_port: Option<u16>,
    web_ui_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<VolumePlan>,
}

impl PlanLabel {
    fn of(plan: &ClusterPlan) -> Self {
        PlanLabel {
            workers: plan.workers,
            cores: plan.worker_cores,
            memory: plan.worker_memory.0.clone(),
            master_port: plan.master_port,
            web_ui_port: plan.web_ui_port,
            volumes: plan.volumes.clone(),
        }
    }

    fn plan(&self, name: &str) -> ClusterPlan {
        ClusterPlan {
            name: name.to_string(),
            workers: self.workers,
            worker_cores: self.cores,
            worker_memory: Memory::new(&self.memory),
            master_port: self.master_port,
            web_ui_port: self.web_ui_port,
            volumes: self.volumes.clone(),
        }
    }
}

/// The longest cluster name on a swarm: names become service names, which Docker limits to
/// 63 characters with our prefixes and suffixes.
pub const MAX_SWARM_NAME: usize = 30;

pub(crate) fn check_name(name: &str) -> Result<(), SwarmError> {
    crate::api::meta::check_name(name).map_err(SwarmError::InvalidSpec)?;
    if name.len() > MAX_SWARM_NAME {
        return Err(SwarmError::InvalidSpec(format!(
            "swarm cluster name {name:?} is longer than {MAX_SWARM_NAME} characters (Docker service names are limited to 63)"
        )));
    }
    Ok(())
}

pub fn master_url(name: &str, plan_port: Option<u16>) -> String {
    format!("spark://{}:{}", labels::master_service(name), plan_port.unwrap_or(DEFAULT_MASTER_PORT))
}

fn mib(m: &Memory) -> Result<u64, SwarmError> {
    match m.mebibytes() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(SwarmError::InvalidSpec(format!("invalid memory size {:?}", m.0))),
    }
}

/// JSON with object keys sorted, so that equal specs hash equally whatever HashMap order.
fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, String> = m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let inner: Vec<String> = sorted.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Stamps the spec's hash into its labels (computed without that label).
fn stamped(mut spec: ServiceSpec) -> ServiceSpec {
    let value = serde_json::to_value(&spec).unwrap_or_default();
    let hash = hex::encode(&sha2::Sha256::digest(canonical(&value).as_bytes())[..8]);
    spec.labels.get_or_insert_with(HashMap::new).insert(labels::SPEC_HASH.into(), hash);
    spec
}

fn restart_any() -> TaskSpecRestartPolicy {
    TaskSpecRestartPolicy {
        condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
        delay: Some(2_000_000_000),
        max_attempts: Some(0),
        window: None,
    }
}

fn network_attachment(name: &str) -> Vec<NetworkAttachmentConfig> {
    vec![NetworkAttachmentConfig { target: Some(labels::network(name)), ..Default::default() }]
}

fn dnsrr(ports: Vec<EndpointPortConfig>) -> EndpointSpec {
    EndpointSpec { mode: Some(EndpointSpecModeEnum::DNSRR), ports: Some(ports) }
}

/// A port published on the node of the task (`host` mode needs no routing mesh), or
/// through the routing mesh (`ingress`) when the task may run on any node.
fn published(port: u16, mode: EndpointPortConfigPublishModeEnum) -> EndpointPortConfig {
    EndpointPortConfig {
        name: None,
        protocol: Some(EndpointPortConfigProtocolEnum::TCP),
        target_port: Some(i64::from(port)),
        published_port: Some(i64::from(port)),
        publish_mode: Some(mode),
    }
}

/// `jvm_env`: the operator's JVM options for the container (`jvm_options::container_env`).
pub(crate) fn master_spec(plan: &ClusterPlan, owner: &str, image: &str, jvm_env: &[String]) -> ServiceSpec {
    let name = &plan.name;
    let port = plan.master_port.unwrap_or(DEFAULT_MASTER_PORT);
    let web = plan.web_ui_port.unwrap_or(DEFAULT_WEB_UI_PORT);
    let l = labels::base(name, owner, "master");
    stamped(ServiceSpec {
        name: Some(labels::master_service(name)),
        labels: Some(l.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_string()),
                labels: Some(l),
                args: Some(vec!["master".into()]),
                env: Some(
                    [
                        format!("SPARK_MASTER_PORT={port}"),
                        format!("SPARK_MASTER_WEBUI_PORT={web}"),
                        format!("SPARK_DAEMON_MEMORY={DAEMON_MEMORY_MIB}m"),
                    ]
                    .into_iter()
                    .chain(jvm_env.iter().cloned())
                    .collect(),
                ),
                mounts: Some(volumes::mounts(name, owner, &plan.volumes)),
                ..Default::default()
            }),
            restart_policy: Some(restart_any()),
            // The UI is published on the manager's own address: the one we know.
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec!["node.role==manager".into()]),
                ..Default::default()
            }),
            networks: Some(network_attachment(name)),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        endpoint_spec: Some(dnsrr(vec![published(web, EndpointPortConfigPublishModeEnum::HOST)])),
        ..Default::default()
    })
}

pub(crate) fn worker_spec(
    plan: &ClusterPlan,
    owner: &str,
    image: &str,
    jvm_env: &[String],
) -> Result<ServiceSpec, SwarmError> {
    let name = &plan.name;
    let memory = mib(&plan.worker_memory)?;
    let mut l = labels::base(name, owner, "worker");
    l.insert(labels::PLAN.into(), serde_json::to_string(&PlanLabel::of(plan)).unwrap_or_default());
    let container_labels = labels::base(name, owner, "worker");
    let limit_mib = memory + DAEMON_MEMORY_MIB + CONTAINER_OVERHEAD_MIB;
    Ok(stamped(ServiceSpec {
        name: Some(labels::worker_service(name)),
        labels: Some(l),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_string()),
                labels: Some(container_labels),
                args: Some(vec!["worker".into(), master_url(name, plan.master_port)]),
                // The executors the worker starts inherit its environment.
                env: Some(
                    [
                        format!("SPARK_WORKER_CORES={}", plan.worker_cores),
                        format!("SPARK_WORKER_MEMORY={memory}m"),
                        format!("SPARK_DAEMON_MEMORY={DAEMON_MEMORY_MIB}m"),
                    ]
                    .into_iter()
                    .chain(jvm_env.iter().cloned())
                    .collect(),
                ),
                // The executors read the jobs' files from here, at the driver's path.
                mounts: Some(
                    std::iter::once(data_volume::mount(name, owner))
                        .chain(volumes::mounts(name, owner, &plan.volumes))
                        .collect(),
                ),
                ..Default::default()
            }),
            // Limits only: reservations would leave replicas pending on a small machine
            // whose cores are already "reserved", while Spark itself never uses more than
            // the cores it was given.
            resources: Some(TaskSpecResources {
                limits: Some(Limit {
                    nano_cpus: Some(i64::from(plan.worker_cores) * 1_000_000_000),
                    memory_bytes: Some((limit_mib * 1024 * 1024) as i64),
                    pids: None,
                }),
                ..Default::default()
            }),
            restart_policy: Some(restart_any()),
            networks: Some(network_attachment(name)),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(i64::from(plan.workers)) }),
            ..Default::default()
        }),
        endpoint_spec: Some(dnsrr(vec![])),
        ..Default::default()
    }))
}

pub(crate) fn registry_spec(name: &str, owner: &str, port: u16, single_node: bool) -> ServiceSpec {
    let l = labels::base(name, owner, "registry");
    // On one node, host mode works on every kernel; on several, only the routing mesh
    // lets each node pull from 127.0.0.1:PORT. (`single_node` is also what a cluster whose
    // nodes pull from the manager's address asks for: host mode on the manager.)
    let mode =
        if single_node { EndpointPortConfigPublishModeEnum::HOST } else { EndpointPortConfigPublishModeEnum::INGRESS };
    let endpoint = if single_node {
        dnsrr(vec![published(port, mode)])
    } else {
        // The routing mesh needs a virtual IP.
        EndpointSpec {
            mode: Some(EndpointSpecModeEnum::VIP),
            ports: Some(vec![EndpointPortConfig { target_port: Some(5000), ..published(port, mode) }]),
        }
    };
    let target_port = if single_node { port } else { 5000 };
    stamped(ServiceSpec {
        name: Some(labels::registry_service(name)),
        labels: Some(l.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(REGISTRY_IMAGE.to_string()),
                labels: Some(l.clone()),
                env: Some(vec![format!("REGISTRY_HTTP_ADDR=:{target_port}")]),
                mounts: Some(vec![Mount {
                    target: Some("/var/lib/registry".into()),
                    source: Some(labels::registry_volume(name)),
                    typ: Some(MountType::VOLUME),
                    volume_options: Some(MountVolumeOptions { labels: Some(l), ..Default::default() }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            restart_policy: Some(restart_any()),
            // Its volume lives on one node: keep the registry there.
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec!["node.role==manager".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        endpoint_spec: Some(endpoint),
        ..Default::default()
    })
}

/// The engine's swarm state; with `init`, makes it a (single-node) swarm manager.
pub(crate) async fn ensure_swarm(docker: &Docker, target: &ClusterTarget, ep: &Endpoint) -> Result<String, SwarmError> {
    let info = docker.info().await.map_err(SwarmError::api("reading the engine's info"))?;
    let swarm = info.swarm.unwrap_or_default();
    let state = swarm.local_node_state.unwrap_or(LocalNodeState::EMPTY);
    if state == LocalNodeState::ACTIVE && swarm.control_available == Some(true) {
        return Ok(swarm.node_id.unwrap_or_default());
    }
    if state == LocalNodeState::INACTIVE && target.init {
        let req = SwarmInitRequest {
            listen_addr: Some("0.0.0.0:2377".into()),
            advertise_addr: Some(ep.advertise_addr()),
            ..Default::default()
        };
        let node = docker.init_swarm(req).await.map_err(|e| SwarmError::SwarmInitFailed(e.to_string()))?;
        tracing::info!(endpoint = %ep, node = %node, "initialised a swarm");
        return Ok(node);
    }
    Err(SwarmError::NotSwarmManager { endpoint: ep.to_string(), state: state.to_string() })
}

async fn services_of(docker: &Docker, name: &str, owner: &str) -> Result<Vec<Service>, SwarmError> {
    let f = labels::filter(&[(labels::CLUSTER, name), (labels::OWNER, owner)]);
    let opts = ListServicesOptionsBuilder::default().filters(&f).build();
    docker.list_services(Some(opts)).await.map_err(SwarmError::api(format!("listing the services of {name}")))
}

pub(crate) async fn tasks_of(docker: &Docker, service: &str) -> Result<Vec<Task>, SwarmError> {
    let f = HashMap::from([("service".to_string(), vec![service.to_string()])]);
    let opts = ListTasksOptionsBuilder::default().filters(&f).build();
    match docker.list_tasks(Some(opts)).await {
        Ok(t) => Ok(t),
        Err(e) if is_not_found(&e) => Ok(vec![]),
        Err(e) => Err(SwarmError::DockerApiError { what: format!("listing the tasks of {service}"), source: e }),
    }
}

fn role_of(s: &Service) -> Option<&str> {
    s.spec.as_ref()?.labels.as_ref()?.get(labels::ROLE).map(String::as_str)
}

fn is_running(t: &Task) -> bool {
    t.desired_state == Some(TaskState::RUNNING) && t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING)
}

fn failed_recently(t: &Task) -> bool {
    let Some(status) = &t.status else { return false };
    let failed = matches!(status.state, Some(TaskState::FAILED) | Some(TaskState::REJECTED));
    let recent = status
        .timestamp
        .is_some_and(|ts| Utc::now().signed_duration_since(ts).to_std().map_or(true, |d| d < FAILED_WINDOW));
    failed && recent
}

fn task_problem(tasks: &[Task]) -> Option<String> {
    tasks
        .iter()
        .filter(|t| t.desired_state == Some(TaskState::RUNNING))
        .filter_map(|t| t.status.as_ref())
        .find_map(|s| s.err.clone().filter(|e| !e.is_empty()))
}

pub(crate) async fn observe(rt: &SwarmRuntime, name: &str) -> Result<(ObservedCluster, SwarmDetail), SwarmError> {
    check_name(name)?;
    let Some(target) = rt.target(name) else { return Ok((ObservedCluster::default(), SwarmDetail::default())) };
    let ep = target.endpoint()?;
    let docker = rt.client(&target).await?;
    let mut detail = SwarmDetail::default();
    let info = docker.info().await.map_err(SwarmError::api("reading the engine's info"))?;
    let swarm = info.swarm.unwrap_or_default();
    let state = swarm.local_node_state.unwrap_or(LocalNodeState::EMPTY);
    detail.swarm_state = state.to_string();
    detail.manager = state == LocalNodeState::ACTIVE && swarm.control_available == Some(true);
    if !detail.manager {
        return Ok((ObservedCluster::default(), detail));
    }
    let nodes =
        docker.list_nodes(None::<ListNodesOptions>).await.map_err(SwarmError::api("listing the swarm's nodes"))?;
    let mut obs = ObservedCluster::default();
    for n in &nodes {
        let ready = n.status.as_ref().and_then(|s| s.state) == Some(bollard::models::NodeState::READY);
        detail.nodes_total += 1;
        detail.nodes_ready += u32::from(ready);
        obs.nodes.push(NodeStatus {
            name: n
                .description
                .as_ref()
                .and_then(|d| d.hostname.clone())
                .unwrap_or_else(|| n.id.clone().unwrap_or_default()),
            address: n.status.as_ref().and_then(|s| s.addr.clone()).unwrap_or_default(),
            role: n.spec.as_ref().and_then(|s| s.role).map(|r| r.to_string()).unwrap_or_default(),
            state: n.status.as_ref().and_then(|s| s.state).map(|s| s.to_string()).unwrap_or_default(),
        });
    }

    let services = services_of(&docker, name, rt.owner()).await?;
    let network_exists = network_id(&docker, name, rt.owner()).await?.is_some();
    obs.exists = !services.is_empty() || network_exists;
    let find = |role: &str| services.iter().find(|s| role_of(s) == Some(role));

    if target.registry.enabled {
        let state = match find("registry") {
            None => RegistryState { running: false, message: "no registry service".into() },
            Some(_) => {
                let tasks = tasks_of(&docker, &labels::registry_service(name)).await?;
                let running = tasks.iter().any(is_running);
                let message = if running {
                    target.registry_address()
                } else {
                    task_problem(&tasks).unwrap_or_else(|| "the registry task is not running yet".into())
                };
                RegistryState { running, message }
            }
        };
        detail.registry = Some(state);
    }

    let Some(worker_svc) = find("worker") else {
        obs.master_running = match find("master") {
            Some(_) => tasks_of(&docker, &labels::master_service(name)).await?.iter().any(is_running),
            None => false,
        };
        return Ok((obs, detail));
    };
    let applied = worker_svc
        .spec
        .as_ref()
        .and_then(|s| s.labels.as_ref())
        .and_then(|l| l.get(labels::PLAN))
        .and_then(|p| serde_json::from_str::<PlanLabel>(p).ok());
    obs.applied = applied.as_ref().map(|p| p.plan(name));
    let plan_ports = applied.as_ref().map(|p| (p.master_port, p.web_ui_port)).unwrap_or((None, None));
    obs.master_url = Some(master_url(name, plan_ports.0));
    let ui = format!("http://{}:{}", ep.published_host(), plan_ports.1.unwrap_or(DEFAULT_WEB_UI_PORT));
    obs.web_ui_url = Some(ui.clone());

    if find("master").is_some() {
        obs.master_running = tasks_of(&docker, &labels::master_service(name)).await?.iter().any(is_running);
    }
    let worker_tasks = tasks_of(&docker, &labels::worker_service(name)).await?;
    obs.workers_running = worker_tasks.iter().filter(|t| is_running(t)).count() as u32;
    obs.workers_failed = worker_tasks.iter().filter(|t| failed_recently(t)).count() as u32;

    if obs.master_running {
        match master_api::fetch_state_from(&ui).await {
            Ok(state) => {
                let alive = state.workers.iter().filter(|w| w.state == "ALIVE").count() as u32;
                // A killed worker stays ALIVE in the master until spark.worker.timeout while
                // its replacement registers: never count more than the running tasks.
                obs.workers_alive = alive.min(obs.workers_running);
                if let Ok(Some(v)) = master_api::fetch_version_from(&ui).await {
                    obs.spark_version = Some(v);
                }
            }
            Err(e) => tracing::debug!(cluster = name, error = %e, "master API not answering yet"),
        }
    }
    Ok((obs, detail))
}

async fn network_id(docker: &Docker, name: &str, owner: &str) -> Result<Option<String>, SwarmError> {
    let f = labels::filter(&[(labels::CLUSTER, name), (labels::OWNER, owner)]);
    let opts = ListNetworksOptionsBuilder::default().filters(&f).build();
    let nets = docker.list_networks(Some(opts)).await.map_err(SwarmError::api("listing networks"))?;
    Ok(nets.into_iter().find(|n| n.name.as_deref() == Some(labels::network(name).as_str())).and_then(|n| n.id))
}

async fn ensure_network(docker: &Docker, name: &str, owner: &str) -> Result<(), SwarmError> {
    if network_id(docker, name, owner).await?.is_some() {
        return Ok(());
    }
    let req = NetworkCreateRequest {
        name: labels::network(name),
        driver: Some("overlay".into()),
        attachable: Some(true),
        labels: Some(labels::base(name, owner, "network")),
        ..Default::default()
    };
    match docker.create_network(req).await {
        Ok(_) => Ok(()),
        Err(e) if is_conflict(&e) => Err(SwarmError::InvalidSpec(format!(
            "a network named {} exists but was not created by this operator",
            labels::network(name)
        ))),
        Err(e) => Err(SwarmError::DockerApiError {
            what: format!("creating the network {}", labels::network(name)),
            source: e,
        }),
    }
}

/// Creates the service, or updates it when its spec hash differs.
async fn ensure_service(docker: &Docker, spec: ServiceSpec) -> Result<bool, SwarmError> {
    let name = spec.name.clone().unwrap_or_default();
    let want = spec.labels.as_ref().and_then(|l| l.get(labels::SPEC_HASH)).cloned();
    match docker.inspect_service(&name, None).await {
        Ok(existing) => {
            let have =
                existing.spec.as_ref().and_then(|s| s.labels.as_ref()).and_then(|l| l.get(labels::SPEC_HASH)).cloned();
            if have == want {
                return Ok(false);
            }
            let version = existing.version.and_then(|v| v.index).unwrap_or(0);
            let opts = UpdateServiceOptionsBuilder::default().version(version as i32).build();
            docker
                .update_service(&name, spec, opts, None)
                .await
                .map_err(SwarmError::api(format!("updating the service {name}")))?;
            tracing::info!(service = %name, "service updated");
            Ok(true)
        }
        Err(e) if is_not_found(&e) => {
            docker.create_service(spec, None).await.map_err(SwarmError::api(format!("creating the service {name}")))?;
            tracing::info!(service = %name, "service created");
            Ok(true)
        }
        Err(e) => Err(SwarmError::DockerApiError { what: format!("inspecting the service {name}"), source: e }),
    }
}

/// The registry's volume and service (its image copied to the engine when missing).
async fn ensure_registry_service(
    rt: &SwarmRuntime,
    docker: &Docker,
    target: &ClusterTarget,
    local: bool,
) -> Result<(), SwarmError> {
    let name = &target.name;
    let port = target.registry.port;
    image::ensure(rt, docker, REGISTRY_IMAGE, local).await?;
    let vol = labels::registry_volume(name);
    let req = VolumeCreateRequest {
        name: Some(vol.clone()),
        labels: Some(labels::base(name, rt.owner(), "registry")),
        ..Default::default()
    };
    docker.create_volume(req).await.map_err(SwarmError::api(format!("creating the volume {vol}")))?;
    let info = docker.info().await.map_err(SwarmError::api("reading the engine's info"))?;
    let host_mode = target.registry_host.is_some() || info.swarm.and_then(|s| s.nodes).unwrap_or(1) <= 1;
    ensure_service(docker, registry_spec(name, rt.owner(), port, host_mode)).await?;
    Ok(())
}

/// The registry, with the Spark image pushed into it; returns the reference the services use.
async fn ensure_registry(
    rt: &SwarmRuntime,
    docker: &Docker,
    target: &ClusterTarget,
    local: bool,
) -> Result<String, SwarmError> {
    let name = &target.name;
    ensure_registry_service(rt, docker, target, local).await?;
    let pushed = target.registry_image();
    // Asked of the registry itself (through the engine): a local tag says nothing about
    // a registry whose volume is new.
    if docker.inspect_registry_image(&pushed, None).await.is_ok() {
        return Ok(pushed);
    }
    rt.progress(&format!("pushing {} into the cluster's registry as {pushed}", target.image()));
    // The registry task needs a moment to start listening; pushing is the probe.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        match image::push_to_registry(docker, target.image(), &target.registry_address()).await {
            Ok(r) => return Ok(r),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(cluster = %name, error = %e, "registry not ready for the push yet");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

pub(crate) async fn apply(rt: &SwarmRuntime, plan: &ClusterPlan) -> Result<(), SwarmError> {
    check_name(&plan.name)?;
    mib(&plan.worker_memory)?;
    let target = rt.target(&plan.name).ok_or_else(|| SwarmError::UnknownCluster(plan.name.clone()))?;
    let ep = target.endpoint()?;
    let docker = rt.client(&target).await?;
    ensure_swarm(&docker, &target, &ep).await?;
    let image = match &target.image_on_nodes {
        // Every node has it: nothing to copy, push or pull.
        Some(id) => {
            if target.registry.enabled {
                ensure_registry_service(rt, &docker, &target, ep.is_local()).await?;
            }
            id.clone()
        }
        None => {
            image::ensure(rt, &docker, target.image(), ep.is_local()).await?;
            if target.registry.enabled {
                ensure_registry(rt, &docker, &target, ep.is_local()).await?
            } else {
                target.image().to_string()
            }
        }
    };
    ensure_network(&docker, &plan.name, rt.owner()).await?;
    let jvm_env = jvm_options::container_env();
    ensure_service(&docker, master_spec(plan, rt.owner(), &image, &jvm_env)).await?;
    ensure_service(&docker, worker_spec(plan, rt.owner(), &image, &jvm_env)?).await?;
    Ok(())
}

/// Removes every service, container, network, volume and config labelled for the cluster
/// (and owned by this operator); nothing else.
pub(crate) async fn delete(rt: &SwarmRuntime, name: &str) -> Result<(), SwarmError> {
    check_name(name)?;
    let Some(target) = rt.target(name) else { return Ok(()) };
    let docker = rt.client(&target).await?;
    let owner = rt.owner().to_string();
    let f = labels::filter(&[(labels::CLUSTER, name), (labels::OWNER, &owner)]);
    for s in services_of(&docker, name, &owner).await? {
        let Some(id) = s.id else { continue };
        match docker.delete_service(&id).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(SwarmError::DockerApiError { what: format!("removing the service {id}"), source: e }),
        }
    }
    // Containers outlive their service briefly (and a finished job's may stay): remove
    // them, then what they used.
    let deadline = tokio::time::Instant::now() + DELETE_TIMEOUT;
    loop {
        let opts = ListContainersOptionsBuilder::default().all(true).filters(&f).build();
        let containers = docker.list_containers(Some(opts)).await.map_err(SwarmError::api("listing containers"))?;
        // Counted as found, not as failed: the loop ends only on a listing that shows
        // nothing (removals of swarm objects complete asynchronously).
        let left = containers.len();
        for c in containers {
            let Some(id) = c.id else { continue };
            let opts = RemoveContainerOptionsBuilder::default().force(true).v(false).build();
            if let Err(e) = docker.remove_container(&id, Some(opts)).await {
                // 404: gone meanwhile; 409: removal already in progress. Looked at again.
                tracing::debug!(container = %id, error = %e, "container not removed yet");
            }
        }
        let nets_left = match network_id(&docker, name, &owner).await? {
            Some(id) => {
                if let Err(e) = docker.remove_network(&id).await {
                    tracing::debug!(network = %id, error = %e, "network not removed yet");
                }
                1
            }
            None => 0,
        };
        let vopts = ListVolumesOptionsBuilder::default().filters(&f).build();
        let vols = docker
            .list_volumes(Some(vopts))
            .await
            .map_err(SwarmError::api("listing volumes"))?
            .volumes
            .unwrap_or_default();
        let vols_left = vols.len();
        for v in vols {
            let opts = RemoveVolumeOptionsBuilder::default().force(false).build();
            if let Err(e) = docker.remove_volume(&v.name, Some(opts)).await {
                tracing::debug!(volume = %v.name, error = %e, "volume not removed yet");
            }
        }
        if left == 0 && nets_left == 0 && vols_left == 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(SwarmError::InvalidSpec(format!(
                "cluster {name}: {left} container(s), {nets_left} network(s), {vols_left} volume(s) still in use after {DELETE_TIMEOUT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The copies Docker made of the cluster's volumes on the other nodes. A node whose
    // engine refuses is reported, not retried for ever: the cluster itself is gone.
    let image = target.service_image();
    if let Err(e) = super::volume_reaper::reap_other_nodes(&docker, name, &owner, &image).await {
        tracing::warn!(cluster = name, error = %e, "the cluster's volumes on other nodes may be left");
    }
    if target.registry.enabled {
        // Our tag of the pushed image (the image itself stays under its own name).
        let tag = target.registry_image();
        let opts = RemoveImageOptionsBuilder::default().noprune(true).build();
        if let Err(e) = docker.remove_image(&tag, Some(opts), None).await {
            if !is_not_found(&e) {
                tracing::warn!(image = %tag, error = %e, "could not remove the registry tag");
            }
        }
    }
    let copts = ListConfigsOptionsBuilder::default().filters(&f).build();
    for c in docker.list_configs(Some(copts)).await.map_err(SwarmError::api("listing configs"))? {
        if let Some(id) = c.id {
            if let Err(e) = docker.delete_config(&id).await {
                if !is_not_found(&e) {
                    return Err(SwarmError::DockerApiError { what: format!("removing the config {id}"), source: e });
                }
            }
        }
    }
    tracing::info!(cluster = name, "swarm cluster deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::swarm::data_volume::DATA_ROOT;

    fn plan() -> ClusterPlan {
        ClusterPlan {
            name: "demo".into(),
            workers: 2,
            worker_cores: 1,
            worker_memory: Memory::new("1g"),
            master_port: None,
            web_ui_port: Some(18080),
            volumes: vec![],
        }
    }

    #[test]
    fn specs_hash_stably_and_change_with_the_plan() {
        let a = worker_spec(&plan(), "o", "img", &[]).expect("spec");
        let b = worker_spec(&plan(), "o", "img", &[]).expect("spec");
        let hash = |s: &ServiceSpec| s.labels.as_ref().and_then(|l| l.get(labels::SPEC_HASH)).cloned();
        assert_eq!(hash(&a), hash(&b));
        let mut p = plan();
        p.workers = 3;
        assert_ne!(hash(&a), hash(&worker_spec(&p, "o", "img", &[]).expect("spec")));
        let env = a
            .task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.env.clone())
            .unwrap_or_default();
        assert!(env.contains(&"SPARK_WORKER_MEMORY=1024m".to_string()));
        let args = a
            .task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.args.clone())
            .unwrap_or_default();
        assert_eq!(args, vec!["worker".to_string(), "spark://sparkswarm-demo-master:7077".to_string()]);
    }

    #[test]
    fn the_applied_plan_round_trips_through_the_label() {
        let s = worker_spec(&plan(), "o", "img", &[]).expect("spec");
        let label = s.labels.as_ref().and_then(|l| l.get(labels::PLAN)).expect("plan label");
        let back: PlanLabel = serde_json::from_str(label).expect("parse");
        assert_eq!(back.plan("demo"), plan());
    }

    #[test]
    fn volumes_are_mounted_in_master_and_workers_and_change_the_plan() {
        let mut p = plan();
        p.volumes = vec![
            VolumePlan {
                name: "data".into(),
                mount_path: "/data".into(),
                source: crate::runtime::volumes::VolumeSource::Host("/proj/data".into()),
            },
            crate::runtime::swarm::volumes::tests::nfs(),
        ];
        let mounts = |s: &ServiceSpec| -> Vec<(Option<String>, Option<String>)> {
            s.task_template
                .as_ref()
                .and_then(|t| t.container_spec.as_ref())
                .and_then(|c| c.mounts.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|m| (m.target, m.volume_options.and_then(|o| o.driver_config).and_then(|d| d.name)))
                .collect()
        };
        let want = |v: &[(&str, Option<&str>)]| -> Vec<(Option<String>, Option<String>)> {
            v.iter().map(|(t, d)| (Some(t.to_string()), d.map(str::to_string))).collect()
        };
        let worker = worker_spec(&p, "o", "img", &[]).expect("spec");
        assert_eq!(mounts(&worker), want(&[(DATA_ROOT, None), ("/data", None), ("/lake", Some("local"))]));
        assert_eq!(mounts(&master_spec(&p, "o", "img", &[])), want(&[("/data", None), ("/lake", Some("local"))]));
        let hash = |s: &ServiceSpec| s.labels.as_ref().and_then(|l| l.get(labels::SPEC_HASH)).cloned();
        assert_ne!(hash(&worker), hash(&worker_spec(&plan(), "o", "img", &[]).expect("spec")));
        let label = worker.labels.as_ref().and_then(|l| l.get(labels::PLAN)).expect("plan label");
        let back: PlanLabel = serde_json::from_str(label).expect("parse");
        assert_eq!(back.plan("demo"), p);
    }

    #[test]
    fn the_jvm_options_reach_the_master_and_the_workers_and_change_their_spec() {
        let env = |s: &ServiceSpec| {
            s.task_template
                .as_ref()
                .and_then(|t| t.container_spec.as_ref())
                .and_then(|c| c.env.clone())
                .unwrap_or_default()
        };
        let jvm = vec!["JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1".to_string()];
        let master = master_spec(&plan(), "o", "img", &jvm);
        let worker = worker_spec(&plan(), "o", "img", &jvm).expect("spec");
        assert!(env(&master).contains(&jvm[0]) && env(&worker).contains(&jvm[0]));
        assert!(!env(&worker_spec(&plan(), "o", "img", &[]).expect("spec")).iter().any(|e| e.starts_with("JAVA_TOOL")));
        let hash = |s: &ServiceSpec| s.labels.as_ref().and_then(|l| l.get(labels::SPEC_HASH)).cloned();
        assert_ne!(hash(&worker), hash(&worker_spec(&plan(), "o", "img", &[]).expect("spec")));
    }

    #[test]
    fn master_publishes_its_ui_on_the_manager() {
        let s = master_spec(&plan(), "o", "img", &[]);
        let ports = s.endpoint_spec.as_ref().and_then(|e| e.ports.clone()).unwrap_or_default();
        assert_eq!(ports[0].published_port, Some(18080));
        assert_eq!(ports[0].publish_mode, Some(EndpointPortConfigPublishModeEnum::HOST));
        assert_eq!(s.endpoint_spec.as_ref().and_then(|e| e.mode), Some(EndpointSpecModeEnum::DNSRR));
    }

    #[test]
    fn names_are_limited() {
        assert!(check_name("demo").is_ok());
        assert!(check_name(&"a".repeat(31)).is_err());
        assert!(check_name("Demo").is_err());
        assert!(check_name("x-").is_err());
    }
}
