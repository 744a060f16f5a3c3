//! Droplets as real hosts: with `Config::hosts`, every droplet the stand-in creates is a
//! container on the local Docker engine (`sparkswarm/test-droplet:1`: OpenSSH and its own
//! Docker engine), on an internal bridge network of its own stand-in, reachable from the test
//! process at its address on that network.
//!
//! Per droplet, a background task plays what DigitalOcean and cloud-init do before the
//! droplet is reachable: create the container, install the host keys from `user_data`'s
//! `ssh_keys` and root's authorized_keys (`ssh_authorized_keys` plus the registered keys the
//! request named), wait out `boot_delay`, start it, and only then report the droplet `active`
//! with the container's address as its public IPv4. `active` means the machine runs, as on
//! DigitalOcean: sshd accepts connections a fraction of a second later.
//!
//! Everything the stand-in creates on the engine carries the labels `io.sparkswarm.test=
//! do-standin`, `io.sparkswarm.test.owner-pid` (the test process) and
//! `io.sparkswarm.test.standin` (the stand-in). Dropping the `Standin` removes its containers
//! (with their volumes) and its network; a stand-in starting removes what test processes that
//! are no longer alive left behind.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const LABEL: &str = "io.sparkswarm.test";
const LABEL_VALUE: &str = "do-standin";
const OWNER_PID: &str = "io.sparkswarm.test.owner-pid";
const OWNER_START: &str = "io.sparkswarm.test.owner-start";
const STANDIN: &str = "io.sparkswarm.test.standin";

/// The container backend of the stand-in.
#[derive(Debug, Clone)]
pub struct HostsConfig {
    /// The droplet image (built by `tests/do_standin/droplet/build-offline.sh`).
    pub image: String,
    /// The Docker CLI.
    pub docker: String,
}

impl Default for HostsConfig {
    fn default() -> Self {
        HostsConfig { image: "sparkswarm/test-droplet:1".into(), docker: "docker".into() }
    }
}

/// The flags that let a droplet's own Docker engine run (overlay2, swarm) where
/// `--privileged` cannot be used: the host lacks CAP_SYS_RESOURCE.
const RUN_FLAGS: &[&str] = &[
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "systempaths=unconfined",
    "--cgroupns",
    "host",
    "-v",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
];

/// A droplet's public IPv4 network: its container's on the stand-in's network.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub ip: String,
    pub netmask: String,
    pub gateway: String,
}

#[derive(Debug, Default, Clone)]
struct HostState {
    container: String,
    /// The container's address on the network, once started.
    address: Option<Address>,
    error: Option<String>,
    /// Destroyed through the API (or the stand-in dropped): whatever the boot task created
    /// must go.
    gone: bool,
}

/// A file the boot task installs into a droplet before it starts.
#[derive(Debug, Clone)]
struct File {
    path: String,
    mode: u32,
    contents: Vec<u8>,
}

pub struct Hosts {
    config: HostsConfig,
    id: String,
    network: String,
    boot_delay: Duration,
    state: Mutex<BTreeMap<u64, HostState>>,
    /// Every failure, kept after its droplet is gone.
    errors: Mutex<Vec<String>>,
    closed: AtomicBool,
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("the DigitalOcean stand-in's container backend: {what}: {e}")
}

impl Hosts {
    /// Checks the engine and the image, removes what dead test processes left behind, and
    /// creates this stand-in's network. Blocking; panics with what to do when Docker or the
    /// image is missing.
    pub fn start(config: HostsConfig, boot_delay: Duration) -> Hosts {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let id = format!("{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::SeqCst) + 1);
        let docker = |args: &[&str]| docker_sync(&config.docker, args);
        if let Err(e) = docker(&["version", "--format", "{{.Server.Version}}"]) {
            fail("Docker is required (a reachable engine and its CLI)", e);
        }
        if docker(&["image", "inspect", "--format", "{{.Id}}", &config.image]).is_err() {
            fail(
                &format!("the image {} is missing", config.image),
                "build it with tests/do_standin/droplet/build-offline.sh",
            );
        }
        remove_leftovers(&config.docker);
        let network = format!("sparkswarm-do-{id}");
        let pid = std::process::id().to_string();
        let start = process_start(std::process::id()).unwrap_or_default();
        let labels = [
            format!("{LABEL}={LABEL_VALUE}"),
            format!("{OWNER_PID}={pid}"),
            format!("{OWNER_START}={start}"),
            format!("{STANDIN}={id}"),
        ];
        let mut args = vec!["network", "create", "--internal"];
        for l in &labels {
            args.extend(["--label", l.as_str()]);
        }
        args.push(&network);
        if let Err(e) = docker(&args) {
            fail(&format!("creating the network {network}"), e);
        }
        Hosts {
            config,
            id,
            network,
            boot_delay,
            state: Mutex::default(),
            errors: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }

    pub fn network(&self) -> &str {
        &self.network
    }

    fn container_name(&self, droplet: u64) -> String {
        format!("sparkswarm-do-{}-{droplet}", self.id)
    }

    /// The droplet's public IPv4 once its container runs.
    pub fn address(&self, droplet: u64) -> Option<Address> {
        self.state.lock().unwrap().get(&droplet).and_then(|s| s.address.clone())
    }

    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }

    fn record_error(&self, droplet: u64, message: String) {
        if let Some(s) = self.state.lock().unwrap().get_mut(&droplet) {
            s.error = Some(message.clone());
        }
        self.errors.lock().unwrap().push(message);
    }

    fn abandoned(&self, droplet: u64) -> bool {
        self.closed.load(Ordering::SeqCst) || self.state.lock().unwrap().get(&droplet).is_none_or(|s| s.gone)
    }

    /// Called by `droplets_create` (under the world's lock, in the runtime): resolves what
    /// cloud-init would install and spawns the boot task.
    pub fn boot(
        self: &Arc<Self>,
        droplet: u64,
        hostname: &str,
        user_data: Option<&str>,
        registered_keys: Vec<String>,
        unresolved: Vec<String>,
        created: Instant,
    ) {
        let container = self.container_name(droplet);
        self.state.lock().unwrap().insert(droplet, HostState { container: container.clone(), ..HostState::default() });
        for r in unresolved {
            self.record_error(
                droplet,
                format!("droplet {droplet} ({hostname}): ssh_keys entry {r} matches no registered key"),
            );
        }
        let files = cloud_init(user_data, &registered_keys);
        let hosts = self.clone();
        let hostname = hostname.to_string();
        let ready_at = created + self.boot_delay;
        tokio::spawn(async move {
            let result = match files {
                Ok(files) => hosts.boot_task(droplet, &container, &hostname, files, ready_at).await,
                Err(e) => Err(format!("user_data: {e}")),
            };
            // A droplet destroyed while it booted may fail on its way (its container removed
            // under it): that is no failure of the backend.
            if let Err(e) = result.or_else(|e| if hosts.abandoned(droplet) { Ok(()) } else { Err(e) }) {
                hosts.record_error(droplet, format!("droplet {droplet} ({hostname}), container {container}: {e}"));
            }
        });
    }

    async fn boot_task(
        &self,
        droplet: u64,
        container: &str,
        hostname: &str,
        files: Vec<File>,
        ready_at: Instant,
    ) -> Result<(), String> {
        if self.abandoned(droplet) {
            return Ok(());
        }
        let pid = std::process::id().to_string();
        let start = process_start(std::process::id()).unwrap_or_default();
        let labels = [
            format!("{LABEL}={LABEL_VALUE}"),
            format!("{OWNER_PID}={pid}"),
            format!("{OWNER_START}={start}"),
            format!("{STANDIN}={}", self.id),
        ];
        let mut args: Vec<&str> =
            vec!["create", "--name", container, "--hostname", hostname, "--network", &self.network];
        for l in &labels {
            args.extend(["--label", l.as_str()]);
        }
        args.extend(RUN_FLAGS);
        args.push(&self.config.image);
        self.docker(&args, None).await?;
        // From here on the container exists: whoever abandons the droplet after this check
        // finds it on the engine, and whoever abandoned it before is seen here.
        if self.abandoned(droplet) {
            return self.remove(container).await;
        }
        self.docker(&["cp", "-", &format!("{container}:/")], Some(tar_of(&files)?)).await?;
        tokio::time::sleep_until(tokio::time::Instant::from_std(ready_at)).await;
        if self.abandoned(droplet) {
            return self.remove(container).await;
        }
        self.docker(&["start", container], None).await?;
        // Docker's embedded DNS does not answer on an internal network: every lookup (each
        // image pull of the droplet's engine) would wait for its timeouts. With no resolver,
        // lookups fail at once, as they would with no route out.
        self.docker(&["exec", container, "sh", "-c", "echo 'nameserver 127.0.0.1' > /etc/resolv.conf"], None).await?;
        let networks =
            self.docker(&["inspect", "--format", "{{json .NetworkSettings.Networks}}", container], None).await?;
        let networks: Value =
            serde_json::from_str(networks.trim()).map_err(|e| format!("docker inspect: {e}: {networks}"))?;
        let on = &networks[&self.network];
        let ip = on["IPAddress"]
            .as_str()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("no address on {}: {networks}", self.network))?;
        let prefix = on["IPPrefixLen"].as_u64().filter(|p| *p <= 32).unwrap_or(16) as u32;
        let netmask = std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - prefix).unwrap_or(0)).to_string();
        let address =
            Address { ip: ip.to_string(), netmask, gateway: on["Gateway"].as_str().unwrap_or("").to_string() };
        let announced = {
            let mut state = self.state.lock().unwrap();
            match state.get_mut(&droplet) {
                Some(s) if !s.gone && !self.closed.load(Ordering::SeqCst) => {
                    s.address = Some(address);
                    true
                }
                _ => false,
            }
        };
        if announced {
            Ok(())
        } else {
            self.remove(container).await
        }
    }

    /// Called by the destroy operations, after the droplets left the world: their containers
    /// go in the background.
    pub fn destroy(self: &Arc<Self>, droplets: &[u64]) {
        let mut containers = Vec::new();
        {
            let mut state = self.state.lock().unwrap();
            for id in droplets {
                if let Some(s) = state.get_mut(id) {
                    s.gone = true;
                    s.address = None;
                    containers.push(s.container.clone());
                }
            }
        }
        if containers.is_empty() {
            return;
        }
        let hosts = self.clone();
        tokio::spawn(async move {
            for c in containers {
                if let Err(e) = hosts.remove(&c).await {
                    hosts.errors.lock().unwrap().push(format!("removing {c}: {e}"));
                }
            }
        });
    }

    async fn remove(&self, container: &str) -> Result<(), String> {
        match self.docker(&["rm", "-f", "-v", container], None).await {
            Ok(_) => Ok(()),
            Err(e) if e.contains("No such container") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn docker(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Result<String, String> {
        let mut cmd = tokio::process::Command::new(&self.config.docker);
        cmd.args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let shown = || format!("docker {}", args.join(" "));
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", shown()))?;
        if let Some(input) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(&input).await.map_err(|e| format!("{}: writing stdin: {e}", shown()))?;
            drop(pipe);
        }
        let out = child.wait_with_output().await.map_err(|e| format!("{}: {e}", shown()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("{}: {}: {}", shown(), out.status, String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    /// The names of this stand-in's containers on the engine, running or not.
    pub fn containers(&self) -> Vec<String> {
        let filter = format!("label={STANDIN}={}", self.id);
        match docker_sync(&self.config.docker, &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]) {
            Ok(out) => out.lines().map(str::to_string).filter(|l| !l.is_empty()).collect(),
            Err(e) => panic!("listing the stand-in's containers: {e}"),
        }
    }

    /// Removes this stand-in's containers (with their volumes) and its network. Boot tasks
    /// still running see `closed` and remove what they create.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let filter = format!("label={STANDIN}={}", self.id);
        let docker = |args: &[&str]| docker_sync(&self.config.docker, args);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ids: Vec<String> =
                docker(&["ps", "-aq", "--filter", &filter]).unwrap_or_default().lines().map(str::to_string).collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids.iter().map(String::as_str));
                let _ = docker(&args);
            }
            // The network goes once no container is attached; a boot task may be between
            // `docker create` and seeing `closed`.
            match docker(&["network", "rm", &self.network]) {
                Ok(_) => return,
                Err(e) if e.contains("No such network") || e.contains("not found") => return,
                Err(e) if Instant::now() >= deadline => {
                    eprintln!("the DigitalOcean stand-in could not remove its network {}: {e}", self.network);
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

/// Runs the Docker CLI, blocking.
fn docker_sync(docker: &str, args: &[&str]) -> Result<String, String> {
    let shown = || format!("{docker} {}", args.join(" "));
    let out = std::process::Command::new(docker)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", shown()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{}: {}: {}", shown(), out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The start time of a process (in clock ticks since boot, field 22 of /proc/PID/stat): with
/// the pid, what tells a live owner from a later process that reuses its pid.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

fn owner_alive(pid: &str, start: &str) -> bool {
    let Ok(pid) = pid.parse::<u32>() else { return false };
    match process_start(pid) {
        None => false,
        Some(s) => start.is_empty() || s == start,
    }
}

/// Removes the containers and networks of stand-ins whose test process is gone.
fn remove_leftovers(docker: &str) {
    let filter = format!("label={LABEL}={LABEL_VALUE}");
    let format = format!("{{{{.ID}}}}\t{{{{.Label \"{OWNER_PID}\"}}}}\t{{{{.Label \"{OWNER_START}\"}}}}");
    let dead = |out: String| -> Vec<String> {
        out.lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (id, pid, start) = (f.next()?, f.next().unwrap_or(""), f.next().unwrap_or(""));
                (!id.is_empty() && !owner_alive(pid, start)).then(|| id.to_string())
            })
            .collect()
    };
    let containers =
        dead(docker_sync(docker, &["ps", "-a", "--filter", &filter, "--format", &format]).unwrap_or_default());
    if !containers.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(containers.iter().map(String::as_str));
        let _ = docker_sync(docker, &args);
    }
    for network in
        dead(docker_sync(docker, &["network", "ls", "--filter", &filter, "--format", &format]).unwrap_or_default())
    {
        let _ = docker_sync(docker, &["network", "rm", &network]);
    }
}

/// What cloud-init does with the parts of a `#cloud-config` that matter here:
/// - `ssh_keys`: `<type>_private` / `<type>_public` (rsa, ecdsa, ed25519) become
///   `/etc/ssh/ssh_host_<type>_key` (0600) and `.pub`; with none given, an ed25519 key is
///   generated, unless `ssh_genkeytypes` is an empty list;
/// - `ssh_authorized_keys`, with the registered keys the request named, become root's
///   `authorized_keys`.
fn cloud_init(user_data: Option<&str>, registered_keys: &[String]) -> Result<Vec<File>, String> {
    let config: Value = match user_data {
        Some(text) if text.starts_with("#cloud-config") => {
            let v: Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
            if v.is_null() {
                Value::Object(Default::default())
            } else {
                v
            }
        }
        _ => Value::Object(Default::default()),
    };
    let mut files = Vec::new();
    let mut host_keys = 0;
    if let Some(keys) = config.get("ssh_keys") {
        let keys = keys.as_object().ok_or("ssh_keys is not a mapping")?;
        for kind in ["rsa", "ecdsa", "ed25519"] {
            let private = keys.get(&format!("{kind}_private")).and_then(Value::as_str);
            let public = keys.get(&format!("{kind}_public")).and_then(Value::as_str);
            if let Some(private) = private {
                let mut contents = private.to_string();
                if !contents.ends_with('\n') {
                    contents.push('\n');
                }
                files.push(File {
                    path: format!("etc/ssh/ssh_host_{kind}_key"),
                    mode: 0o600,
                    contents: contents.into_bytes(),
                });
                host_keys += 1;
            }
            if let Some(public) = public {
                files.push(File {
                    path: format!("etc/ssh/ssh_host_{kind}_key.pub"),
                    mode: 0o644,
                    contents: format!("{}\n", public.trim()).into_bytes(),
                });
            }
        }
    }
    let generate = config.get("ssh_genkeytypes").and_then(Value::as_array).is_none_or(|t| !t.is_empty());
    if host_keys == 0 && generate {
        let key = sparkswarm::runtime::digitalocean::provider::HostKey::generate().map_err(|e| e.to_string())?;
        files.push(File {
            path: "etc/ssh/ssh_host_ed25519_key".into(),
            mode: 0o600,
            contents: key.private_openssh().as_bytes().to_vec(),
        });
        files.push(File {
            path: "etc/ssh/ssh_host_ed25519_key.pub".into(),
            mode: 0o644,
            contents: format!("{}\n", key.public_openssh).into_bytes(),
        });
    }
    let mut authorized: Vec<String> = Vec::new();
    if let Some(list) = config.get("ssh_authorized_keys") {
        let list = list.as_array().ok_or("ssh_authorized_keys is not a list")?;
        for k in list {
            authorized.push(k.as_str().ok_or("an ssh_authorized_keys entry is not a string")?.trim().to_string());
        }
    }
    authorized.extend(registered_keys.iter().map(|k| k.trim().to_string()));
    if !authorized.is_empty() {
        let mut contents = authorized.join("\n");
        contents.push('\n');
        files.push(File { path: "root/.ssh/".into(), mode: 0o700, contents: Vec::new() });
        files.push(File { path: "root/.ssh/authorized_keys".into(), mode: 0o600, contents: contents.into_bytes() });
    }
    Ok(files)
}

/// The files as a tar archive for `docker cp -`, owned by root. Only the entries themselves:
/// a directory entry for an existing directory (`/`, `/root`, `/etc`) would reset its mode.
fn tar_of(files: &[File]) -> Result<Vec<u8>, String> {
    let mut builder = tar::Builder::new(Vec::new());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(if f.path.ends_with('/') { tar::EntryType::Directory } else { tar::EntryType::Regular });
        header.set_mode(f.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(now);
        header.set_size(f.contents.len() as u64);
        builder.append_data(&mut header, &f.path, f.contents.as_slice()).map_err(|e| format!("tar {}: {e}", f.path))?;
    }
    builder.into_inner().map_err(|e| format!("tar: {e}"))
}
