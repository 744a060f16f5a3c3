//! The digitalocean runtime's I/O: one [`DigitalOceanRuntime::converge`] pass per reconcile
//! moves a cluster's droplets one step towards the spec, and once they form a swarm hands
//! the cluster over to the swarm runtime (through an SSH tunnel to the manager's
//! docker.sock), which runs the registry, master, workers and jobs as on any swarm.
//!
//! A pass, in order (each step only when the one before is done, so that a pass is short
//! and a restart at any point simply runs the next pass):
//! 1. the login key (the spec's, or generated and registered under the cluster's name);
//! 2. droplets listed by the cluster's tag and planned (`provider::plan_droplets`): extra
//!    nodes drained, removed from the swarm and deleted; missing ones created, each with the
//!    host key stored here first;
//! 3. wait until every droplet is active with an address;
//! 4. every droplet at once (`bringup`), each over its own SSH session: Docker made to run,
//!    then both `swarm init` (the manager) or `swarm join` (the others, with the token the
//!    manager's init printed) and the Spark image loaded (`preload`: saved on this machine
//!    while the droplets booted, streamed into each engine's `docker load`);
//! 5. the cloud firewall on the tag;
//! 6. the hand-over: a swarm `ClusterTarget` to the manager over SSH, whose services run
//!    the image by the ID every node holds (no registry push, no pulls).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::bootstrap::{self, Node};
use super::bringup;
use super::client::{Client, ClientOptions};
use super::error::DoError;
use super::keys::KeyStore;
use super::preload;
use super::provider::{self, cluster_tag, node_index, DropletTemplate};
use super::token::Token;
use super::types::{CreateSshKey, Droplet, SshKeyRef};
use crate::api::cluster::{DigitalOceanProvider, NodeStatus, Provider, SecretRef, SparkClusterSpec};
use crate::api::condition::{Condition, ConditionStatus};
use crate::runtime::local::fsutil;
use crate::runtime::swarm::ssh::SshLogin;
use crate::runtime::swarm::{nodes, ClusterTarget, SwarmRuntime};
use crate::runtime::Note;
use crate::runtime::{
    ClusterRequest, ClusterRuntime, Converged, ObservedCluster, RuntimeError, RuntimeFuture, RuntimeKind,
};

/// Overrides the address the firewall lets SSH in from (default: the address the manager
/// sees this operator's SSH connection come from).
pub const OPERATOR_ADDRESS_ENV: &str = "SPARKSWARM_OPERATOR_ADDRESS";

/// What the runtime keeps of a cluster so that it can still destroy it once its file is
/// gone: where the token comes from (never the token itself) and what a relative token
/// file resolves against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub token_from: SecretRef,
    pub base_dir: PathBuf,
}

/// Where a pass left the droplets.
#[derive(Debug, Clone)]
enum Droplets {
    /// Droplets being created, booting or joining: not yet a swarm to run Spark on.
    Provisioning { nodes: Vec<NodeStatus>, message: String },
    /// Every droplet is a ready swarm node: the swarm runtime takes over with `target`.
    Swarm { target: Box<ClusterTarget>, nodes: Vec<NodeStatus> },
}

pub struct DigitalOceanRuntime {
    state_dir: PathBuf,
    /// What runs Spark on the droplets once they are a swarm.
    swarm: Arc<SwarmRuntime>,
    /// The login key each cluster registered, by cluster: (public key, DigitalOcean id).
    registered: parking_lot::Mutex<std::collections::HashMap<String, (String, u64)>>,
    /// The clusters whose firewall is known to exist (checked once per operator run).
    firewalled: parking_lot::Mutex<std::collections::HashSet<String>>,
    /// The Spark image saved on this machine, for loading into droplets.
    archives: preload::Archives,
    /// The image ID each droplet is known to hold, by (cluster, droplet id).
    loaded: parking_lot::Mutex<std::collections::HashMap<(String, u64), String>>,
}

impl std::fmt::Debug for DigitalOceanRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigitalOceanRuntime").field("state_dir", &self.state_dir).finish()
    }
}

fn node_status(d: &Droplet, cluster: &str, state: &str) -> NodeStatus {
    NodeStatus {
        name: d.name.clone(),
        address: d.public_ipv4().map(|a| a.to_string()).unwrap_or_default(),
        role: if node_index(cluster, &d.name) == Some(1) { "manager".into() } else { "worker".into() },
        state: state.to_string(),
    }
}

/// The address droplets reach each other at: the private one where there is a VPC.
fn inner_address(d: &Droplet) -> Option<String> {
    d.private_ipv4().or_else(|| d.public_ipv4()).map(|a| a.to_string())
}

impl DigitalOceanRuntime {
    pub fn new(state_dir: PathBuf, swarm: Arc<SwarmRuntime>) -> Self {
        let state_dir = std::path::absolute(&state_dir).unwrap_or(state_dir);
        let archives = preload::Archives::new(state_dir.join("digitalocean").join("images"));
        DigitalOceanRuntime {
            state_dir,
            swarm,
            registered: Default::default(),
            firewalled: Default::default(),
            archives,
            loaded: Default::default(),
        }
    }

    fn record_file(&self, name: &str) -> PathBuf {
        self.state_dir.join("digitalocean").join(format!("{name}.json"))
    }

    pub fn record(&self, name: &str) -> Option<Record> {
        let text = fsutil::read_opt(&self.record_file(name)).ok().flatten()?;
        serde_json::from_str(&text).ok()
    }

    fn save_record(&self, name: &str, record: &Record) -> Result<(), DoError> {
        if self.record(name).as_ref() == Some(record) {
            return Ok(());
        }
        let path = self.record_file(name);
        let fail = |e: String| DoError::KeyStore(format!("writing {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let json = serde_json::to_vec_pretty(record).map_err(|e| fail(e.to_string()))?;
        fsutil::write_atomic(&path, &json).map_err(|e| fail(e.to_string()))
    }

    fn client(record: &Record) -> Result<Client, DoError> {
        let token = Token::resolve(&record.token_from, &record.base_dir)?;
        Client::new(token, ClientOptions::default())
    }

    /// The login key: the spec's private key file, or one generated for the cluster and
    /// registered with DigitalOcean under the cluster's name. Returns the key file, the
    /// public keys to put in `user_data` and the registered keys to name at creation.
    async fn login(
        &self,
        client: &Client,
        keys: &KeyStore,
        name: &str,
        spec: &DigitalOceanProvider,
        base: &Path,
    ) -> Result<(PathBuf, Vec<String>, Vec<SshKeyRef>), DoError> {
        if let Some(k) = &spec.ssh_key {
            // Resolved and confined by the reconciler; relative only when called otherwise.
            let path = if k.private_key_file.is_absolute() {
                k.private_key_file.clone()
            } else {
                base.join(&k.private_key_file)
            };
            let key = russh::keys::load_secret_key(&path, None)
                .map_err(|e| DoError::LoginKeyInvalid(format!("sshKey.privateKeyFile {}: {e}", path.display())))?;
            let public = key
                .public_key()
                .to_openssh()
                .map_err(|e| DoError::LoginKeyInvalid(format!("sshKey.privateKeyFile {}: {e}", path.display())))?;
            return Ok((path, vec![public], Vec::new()));
        }
        let (key, path) = keys.login_key()?;
        // Registered once per operator run (a pass every few seconds need not list keys).
        let cached = self.registered.lock().get(name).filter(|(k, _)| *k == key.public_openssh).map(|(_, id)| *id);
        let id = match cached {
            Some(id) => id,
            None => {
                let key_name = provider::ssh_key_name(name);
                let registered = client.list_ssh_keys().await?;
                let id = match registered
                    .iter()
                    .find(|k| k.name == key_name && k.public_key.trim() == key.public_openssh)
                {
                    Some(k) => k.id,
                    None => {
                        client
                            .create_ssh_key(&CreateSshKey { name: key_name, public_key: key.public_openssh.clone() })
                            .await?
                            .id
                    }
                };
                self.registered.lock().insert(name.to_string(), (key.public_openssh.clone(), id));
                id
            }
        };
        Ok((path, Vec::new(), vec![SshKeyRef::Id(id)]))
    }

    /// One pass over the droplets; see the module's documentation.
    async fn converge_droplets(
        &self,
        swarm: &SwarmRuntime,
        name: &str,
        spec: &SparkClusterSpec,
        provider: &DigitalOceanProvider,
        base_dir: &Path,
        notes: &mut Vec<Note>,
    ) -> Result<Droplets, DoError> {
        let record = Record { token_from: provider.token_from.clone(), base_dir: base_dir.to_path_buf() };
        self.save_record(name, &record)?;
        let client = Self::client(&record)?;
        let keys = KeyStore::new(&self.state_dir, name);
        let (key_file, login_public, registered) = self.login(&client, &keys, name, provider, base_dir).await?;
        let tag = cluster_tag(name);

        // Saved while the droplets are created and boot: loading starts as soon as each
        // droplet's Docker runs.
        let image = spec.image.as_deref().unwrap_or(crate::runtime::swarm::DEFAULT_IMAGE);
        self.archives.prepare(self.swarm.clone(), image);
        let observed = client.list_droplets_by_tag(&tag).await?;
        let mut plan = provider::plan_droplets(name, provider.nodes, &observed);
        // Only a key known to be absent replaces a droplet: an unreadable key file is an
        // error later (known_hosts), never a reason to delete a node.
        let stored = |n: &str| !matches!(keys.known_host_key(n), Ok(None));
        for n in provider::replace_unverifiable(name, &mut plan, stored) {
            notes.push(Note {
                warning: true,
                reason: "HostKeyUnknown",
                message: format!("no host key is stored here for {n}: replacing the droplet rather than trusting it"),
            });
        }

        if !plan.delete.is_empty() {
            self.remove(swarm, &client, name, &observed, &plan, &key_file, &keys, notes).await?;
        }
        if !plan.create.is_empty() {
            let template = DropletTemplate {
                region: provider.region.clone(),
                size: provider.size.clone(),
                image: provider.image.clone(),
                ssh_keys: registered,
                login_public_keys: login_public,
            };
            // Each host key is on disk before its droplet is requested: a restart in between
            // creates the droplet with the same key, or finds it by tag with that key.
            let requests = plan
                .create
                .iter()
                .map(|n| keys.host_key(n).map(|k| provider::creation_request(name, n, &template, &k)))
                .collect::<Result<Vec<_>, _>>()?;
            let results = join_all(requests.iter().map(|r| client.create_droplets(r))).await;
            let created = results.iter().filter(|r| r.is_ok()).count();
            notes.push(Note {
                warning: false,
                reason: "CreatingDroplets",
                message: format!("requested {created} droplet(s) tagged {tag}: {}", plan.create.join(", ")),
            });
            if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
                return Err(e);
            }
            let nodes = plan.create.iter().map(|n| NodeStatus {
                name: n.clone(),
                address: String::new(),
                role: String::new(),
                state: "creating".into(),
            });
            let mut all: Vec<NodeStatus> = observed
                .iter()
                .filter(|d| plan.keep.values().any(|k| *k == d.id))
                .map(|d| node_status(d, name, &d.status))
                .collect();
            all.extend(nodes);
            all.sort_by_key(|n| node_index(name, &n.name));
            return Ok(Droplets::Provisioning {
                message: format!("creating {} droplet(s)", plan.create.len()),
                nodes: all,
            });
        }

        let kept: Vec<&Droplet> = plan.keep.values().filter_map(|id| observed.iter().find(|d| d.id == *id)).collect();
        let booted = kept.iter().filter(|d| d.is_active() && d.public_ipv4().is_some()).count();
        if booted < kept.len() {
            let nodes = kept.iter().map(|d| node_status(d, name, &d.status)).collect();
            return Ok(Droplets::Provisioning { nodes, message: format!("{booted}/{} droplets active", kept.len()) });
        }

        let entries: Vec<(String, u16, String)> = kept
            .iter()
            .filter_map(|d| d.public_ipv4().map(|a| (a.to_string(), bootstrap::SSH_PORT, d.name.clone())))
            .collect();
        let login = SshLogin { key: Some(key_file), known_hosts: keys.write_known_hosts(&entries)? };
        let Some(manager) = kept.iter().find(|d| node_index(name, &d.name) == Some(1)) else {
            return Err(DoError::NodesInvalid(format!(
                "no droplet {} among the cluster's",
                provider::droplet_name(name, 1)
            )));
        };
        let (manager_public, manager_inner) = match (manager.public_ipv4(), inner_address(manager)) {
            (Some(p), Some(i)) => (p.to_string(), i),
            _ => return Err(DoError::NodesInvalid(format!("{} has no address", manager.name))),
        };
        let mut target = ClusterTarget::new(name, &Default::default(), spec.image.as_deref(), &spec.registry);
        target.endpoint = format!("ssh://{}@{manager_public}:{}", bootstrap::SSH_USER, bootstrap::SSH_PORT);
        target.ssh = Some(login.clone());
        target.registry_host = Some(manager_inner.clone());
        let registry = target.registry_address();

        // The manager's engine answering as a swarm manager means its init is done.
        let members = match nodes::members(swarm, &target).await {
            Ok(m) if m.iter().any(|n| n.manager && n.hostname == manager.name) => Some(m),
            _ => None,
        };
        // Every droplet gets the Spark image over its own SSH session (no registry on the
        // way); the archive was started while the droplets booted.
        let archive = self.archives.get(swarm, target.image()).await?;
        let seen: Vec<bringup::Seen> = kept
            .iter()
            .map(|d| bringup::Seen {
                name: d.name.clone(),
                address: d.public_ipv4().map(|a| a.to_string()).unwrap_or_default(),
                manager: d.id == manager.id,
                joined: members.as_ref().is_some_and(|m| m.iter().any(|n| n.hostname == d.name)),
                loaded: self.loaded.lock().get(&(name.to_string(), d.id)) == Some(&archive.id),
            })
            .collect();
        let work = bringup::plan(&seen);
        if !work.is_empty() {
            let token = match &members {
                Some(_) if work.iter().any(|w| w.swarm == bringup::SwarmStep::Join) => {
                    Some(nodes::worker_join_token(swarm, &target).await.map_err(DoError::swarm)?)
                }
                _ => None,
            };
            let cx = bringup::Context {
                login: &login,
                registry: &registry,
                manager_inner: &manager_inner,
                token,
                archive: Some(&archive),
            };
            let results = bringup::run(&work, &cx).await;
            let mut first_error = None;
            for r in results {
                match r {
                    Ok(done) => {
                        match done.swarm {
                            bringup::SwarmStep::Init => notes.push(Note {
                                warning: false,
                                reason: "SwarmInitialised",
                                message: format!("{} is the swarm manager at {manager_inner}", done.name),
                            }),
                            bringup::SwarmStep::Join => notes.push(Note {
                                warning: false,
                                reason: "NodeJoined",
                                message: format!("{} joined the swarm", done.name),
                            }),
                            bringup::SwarmStep::Nothing => {}
                        }
                        if let Some(loaded) = &done.loaded {
                            if let Some(d) = kept.iter().find(|d| d.name == done.name) {
                                self.loaded.lock().insert((name.to_string(), d.id), archive.id.clone());
                            }
                            if let preload::Loaded::Sent { bytes, compressed, took } = loaded {
                                notes.push(Note {
                                    warning: false,
                                    reason: "ImageLoaded",
                                    message: format!(
                                        "{}: {} loaded over SSH ({} MB{} in {:.1} s)",
                                        done.name,
                                        archive.image,
                                        bytes / 1_000_000,
                                        if *compressed { " compressed" } else { "" },
                                        took.as_secs_f64()
                                    ),
                                });
                            }
                        }
                    }
                    Err(e) => {
                        notes.push(Note { warning: true, reason: e.reason(), message: e.to_string() });
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }

        // Once per operator run (and after a restart that may have come between `swarm
        // init` and the firewall): the firewall on the tag.
        if !self.firewalled.lock().contains(name) {
            self.ensure_firewall(&client, name, spec, &target, (&manager.name, &manager_public, &login), notes).await?;
            self.firewalled.lock().insert(name.to_string());
        }

        // Asked again only when something was done in this pass.
        let members = match members {
            Some(m) if work.is_empty() => m,
            _ => nodes::members(swarm, &target).await.map_err(DoError::swarm)?,
        };
        target.image_on_nodes = Some(archive.id.clone());
        let mut ready = 0;
        let statuses = kept
            .iter()
            .map(|d| match members.iter().find(|m| m.hostname == d.name) {
                Some(m) if m.ready => {
                    ready += 1;
                    node_status(d, name, "ready")
                }
                Some(_) => node_status(d, name, "down"),
                None => node_status(d, name, "joining"),
            })
            .collect::<Vec<_>>();
        if ready < kept.len() {
            return Ok(Droplets::Provisioning {
                nodes: statuses,
                message: format!("{ready}/{} swarm nodes ready", kept.len()),
            });
        }
        Ok(Droplets::Swarm { target: Box::new(target), nodes: statuses })
    }

    /// The cluster's cloud firewall, created once: SSH from this operator's address (as
    /// the manager sees the SSH connection come from, or `SPARKSWARM_OPERATOR_ADDRESS`),
    /// the swarm's, Spark's and the registry's ports among the cluster's droplets.
    async fn ensure_firewall(
        &self,
        client: &Client,
        name: &str,
        spec: &SparkClusterSpec,
        target: &ClusterTarget,
        manager: (&str, &str, &SshLogin),
        notes: &mut Vec<Note>,
    ) -> Result<(), DoError> {
        let tag = cluster_tag(name);
        if client.list_firewalls().await?.iter().any(|f| f.name == tag) {
            return Ok(());
        }
        let text = match std::env::var(OPERATOR_ADDRESS_ENV).ok().filter(|s| !s.trim().is_empty()) {
            Some(given) => given,
            None => {
                let node = Node::connect(manager.0, manager.1, manager.2).await?;
                node.run("reading the operator's address", bootstrap::CLIENT_ADDRESS, None).await?.stdout
            }
        };
        let text = text.trim();
        let address: std::net::IpAddr = text.parse().map_err(|_| {
            DoError::NodesInvalid(format!(
                "cannot tell this operator's address for the firewall (got {text:?}); set {OPERATOR_ADDRESS_ENV}"
            ))
        })?;
        let ports = provider::ClusterPorts {
            master: spec.master.port.unwrap_or(7077),
            web_ui: spec.master.web_ui_port.unwrap_or(8080),
            registry: target.registry.port,
        };
        client.create_firewall(&provider::firewall_request(name, address, ports, &[])).await?;
        notes.push(Note { warning: false, reason: "FirewallCreated", message: format!("firewall {tag}: SSH from {address} only; the swarm's, Spark's and the registry's ports among the cluster's droplets") });
        Ok(())
    }

    /// Removes the droplets the plan deletes; a swarm member is drained (its tasks move to
    /// the other nodes), leaves the swarm and is removed from the manager's list first.
    #[allow(clippy::too_many_arguments)]
    async fn remove(
        &self,
        swarm: &SwarmRuntime,
        client: &Client,
        name: &str,
        observed: &[Droplet],
        plan: &provider::DropletPlan,
        key_file: &Path,
        keys: &KeyStore,
        notes: &mut Vec<Note>,
    ) -> Result<(), DoError> {
        let manager = observed.iter().find(|d| plan.keep.get(&1) == Some(&d.id));
        let mut entries: Vec<(String, u16, String)> = Vec::new();
        for d in observed {
            if let (Some(a), Ok(Some(_))) = (d.public_ipv4(), keys.known_host_key(&d.name)) {
                entries.push((a.to_string(), bootstrap::SSH_PORT, d.name.clone()));
            }
        }
        let login = SshLogin { key: Some(key_file.to_path_buf()), known_hosts: keys.write_known_hosts(&entries)? };
        let manager_node = match manager.and_then(|m| m.public_ipv4().map(|a| (m, a))) {
            Some((m, a)) if keys.known_host_key(&m.name)?.is_some() => {
                Node::connect(&m.name, &a.to_string(), &login).await.ok()
            }
            _ => None,
        };
        for id in &plan.delete {
            let Some(d) = observed.iter().find(|d| d.id == *id) else { continue };
            let member = swarm.target(name).is_some() && manager_node.is_some() && d.is_active();
            if member {
                if let Some(m) = &manager_node {
                    // Drain first, so the swarm moves the node's tasks before it goes.
                    let drain = format!(
                        "docker node update --availability drain {n} >/dev/null 2>&1 || exit 0\nfor _ in $(seq 1 300); do [ -z \"$(docker node ps {n} -q --filter desired-state=running)\" ] && break; sleep 0.1; done",
                        n = d.name
                    );
                    m.run("draining the node", &drain, None).await?;
                }
                if let (Some(a), Ok(Some(_))) = (d.public_ipv4(), keys.known_host_key(&d.name)) {
                    if let Ok(node) = Node::connect(&d.name, &a.to_string(), &login).await {
                        let _ = node.run("leaving the swarm", bootstrap::LEAVE, None).await;
                    }
                }
                if let Some(m) = &manager_node {
                    m.run(
                        "removing the node from the swarm",
                        &format!("docker node rm --force {} >/dev/null 2>&1 || true", d.name),
                        None,
                    )
                    .await?;
                }
            }
            client.delete_droplet(d.id).await?;
            // A duplicate shares its name (and key) with the droplet that stays.
            if !plan.keep.values().any(|k| observed.iter().any(|o| o.id == *k && o.name == d.name)) {
                keys.forget_host_key(&d.name)?;
            }
            notes.push(Note {
                warning: false,
                reason: "DropletDeleted",
                message: format!(
                    "{} (id {}) deleted{}",
                    d.name,
                    d.id,
                    if member { " after leaving the swarm" } else { "" }
                ),
            });
        }
        Ok(())
    }

    /// Destroys everything of a cluster: droplets by tag, its firewall, the login key it
    /// registered, then what this machine kept (keys, the swarm runtime's record).
    async fn destroy(&self, name: &str) -> Result<provider::Destroyed, DoError> {
        let swarm = &self.swarm;
        let Some(record) = self.record(name) else {
            swarm.abandon(name).await.map_err(|e| DoError::KeyStore(e.to_string()))?;
            return Ok(provider::Destroyed::default());
        };
        let client = Self::client(&record)?;
        let done = provider::destroy(&client, name).await?;
        self.registered.lock().remove(name);
        self.firewalled.lock().remove(name);
        self.loaded.lock().retain(|(cluster, _), _| cluster != name);
        swarm.abandon(name).await.map_err(|e| DoError::KeyStore(e.to_string()))?;
        let keys = KeyStore::new(&self.state_dir, name);
        match std::fs::remove_dir_all(keys.dir()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(DoError::KeyStore(format!("removing {}: {e}", keys.dir().display()))),
        }
        fsutil::remove_file_opt(&self.record_file(name)).map_err(|e| DoError::KeyStore(e.to_string()))?;
        Ok(done)
    }
}

impl ClusterRuntime for DigitalOceanRuntime {
    fn job_runtime(&self) -> RuntimeKind {
        RuntimeKind::Swarm
    }

    fn converge<'a>(&'a self, req: &'a ClusterRequest, notes: &'a mut Vec<Note>) -> RuntimeFuture<'a, Converged> {
        Box::pin(async move {
            let name = &req.plan.name;
            let Provider::Digitalocean(provider) = &req.spec.provider else {
                return Err(RuntimeError::InvalidSpec("not a digitalocean cluster".into()));
            };
            let droplets = self
                .converge_droplets(&self.swarm, name, &req.spec, provider, &req.base_dir, notes)
                .await
                .map_err(|e| RuntimeError::DigitalOcean(Box::new(e)))?;
            match droplets {
                Droplets::Swarm { target, nodes } => {
                    let mut converged = self.swarm.converge_target(&target, req, notes).await?;
                    converged.seen.nodes = nodes;
                    Ok(converged)
                }
                Droplets::Provisioning { nodes, message } => Ok(Converged {
                    seen: ObservedCluster { exists: true, nodes, ..Default::default() },
                    conditions: vec![Condition::new(
                        "NodesReady",
                        ConditionStatus::False,
                        "NodesProvisioning",
                        message.clone(),
                    )],
                    provisioning: Some(message),
                }),
            }
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            let done = self.destroy(name).await.map_err(|e| RuntimeError::DigitalOcean(Box::new(e)))?;
            tracing::info!(
                cluster = name,
                droplets = done.droplets,
                firewalls = done.firewalls,
                ssh_keys = done.ssh_keys,
                "destroyed the cluster's droplets"
            );
            Ok(())
        })
    }

    fn list(&self) -> RuntimeFuture<'_, Vec<String>> {
        Box::pin(async move {
            let dir = self.state_dir.join("digitalocean");
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(RuntimeError::io(format!("listing {}", dir.display()))(e)),
            };
            let mut names: Vec<String> = rd
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
                .filter(|n| crate::api::meta::check_name(n).is_ok())
                .collect();
            names.sort();
            Ok(names)
        })
    }

    fn holds(&self, name: &str) -> bool {
        crate::api::meta::check_name(name).is_ok() && self.record(name).is_some()
    }
}
