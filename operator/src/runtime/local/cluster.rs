//! Local Spark standalone clusters: a master and its workers as detached processes, found
//! again through pidfiles and process markers.
//!
//! Layout of `<state_dir>/clusters/<name>/`:
//! - `cluster.json`: the applied plan and the ports chosen for it ([`ClusterRecord`]);
//! - `master.pid`, `master.log`; `worker-<i>.pid`, `worker-<i>.log`, `worker-<i>/` (work dir);
//!   the previous log of a restarted daemon is kept as `*.log.1`.
//!
//! A pidfile without a live, marked process means the daemon died: observe counts such
//! workers in `workers_failed` and the next apply restarts them. Only stop/delete remove
//! pidfiles.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::process::{self, Marker, Spawn};
use super::spark_dist::SparkDist;
use super::{fsutil, master_api, ports, LocalRuntime};
use crate::api::cluster::NodeStatus;
use crate::api::quantity::Memory;
use crate::runtime::volumes::VolumePlan;
use crate::runtime::{ClusterPlan, ObservedCluster, RuntimeError};

/// Spark daemons shut down within a second or two on SIGTERM; this is the patience before
/// SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// A master JVM listens after ~2 s on an idle machine; a loaded 2-core CI box is slower.
const MASTER_START_TIMEOUT: Duration = Duration::from_secs(90);
/// Heap of each master/worker JVM: they only coordinate, executors get their own heap.
const DAEMON_MEMORY: &str = "512m";

/// What `cluster.json` holds: the plan as applied plus what was chosen for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterRecord {
    pub name: String,
    pub workers: u32,
    pub worker_cores: u32,
    pub worker_memory: String,
    /// The ports as the plan asked for them (None: free ports were chosen).
    pub master_port: Option<u16>,
    pub web_ui_port: Option<u16>,
    /// The ports the master was started with.
    pub bound_master_port: u16,
    pub bound_web_ui_port: u16,
    pub spark_home: PathBuf,
    pub spark_version: String,
    /// Worker restarts after a crash, over the cluster's life (for diagnosis).
    #[serde(default)]
    pub worker_restarts: u32,
    /// Used in place: nothing to mount, only what jobs are told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumePlan>,
}

impl ClusterRecord {
    fn plan(&self) -> ClusterPlan {
        ClusterPlan {
            name: self.name.clone(),
            workers: self.workers,
            worker_cores: self.worker_cores,
            worker_memory: Memory::new(&self.worker_memory),
            master_port: self.master_port,
            web_ui_port: self.web_ui_port,
            volumes: self.volumes.clone(),
        }
    }

    fn master_url(&self) -> String {
        format!("spark://127.0.0.1:{}", self.bound_master_port)
    }
}

/// The volumes a running local cluster was applied with (what its jobs are told).
pub(crate) fn applied_volumes(rt: &LocalRuntime, name: &str) -> Vec<VolumePlan> {
    ClusterDir::new(rt.cluster_dir(name)).read_record().map(|r| r.volumes).unwrap_or_default()
}

/// The files of one cluster.
pub(crate) struct ClusterDir {
    root: PathBuf,
}

impl ClusterDir {
    pub(crate) fn new(root: PathBuf) -> Self {
        ClusterDir { root }
    }
    fn record(&self) -> PathBuf {
        self.root.join("cluster.json")
    }
    fn master_pid(&self) -> PathBuf {
        self.root.join("master.pid")
    }
    fn master_log(&self) -> PathBuf {
        self.root.join("master.log")
    }
    fn worker_pid(&self, i: u32) -> PathBuf {
        self.root.join(format!("worker-{i}.pid"))
    }
    fn worker_log(&self, i: u32) -> PathBuf {
        self.root.join(format!("worker-{i}.log"))
    }
    fn worker_work(&self, i: u32) -> PathBuf {
        self.root.join(format!("worker-{i}"))
    }

    pub(crate) fn read_record(&self) -> Option<ClusterRecord> {
        let text = fsutil::read_opt(&self.record()).ok().flatten()?;
        match serde_json::from_str(&text) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(path = %self.record().display(), error = %e, "ignoring an unreadable cluster record");
                None
            }
        }
    }

    fn write_record(&self, r: &ClusterRecord) -> Result<(), RuntimeError> {
        let json = serde_json::to_vec_pretty(r)
            .map_err(|e| RuntimeError::ProcessError(format!("serialising the cluster record: {e}")))?;
        fsutil::write_atomic(&self.record(), &json)
    }

    /// Indexes of every worker that has a pidfile.
    fn worker_indexes(&self) -> BTreeSet<u32> {
        let Ok(rd) = std::fs::read_dir(&self.root) else { return BTreeSet::new() };
        rd.flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                name.strip_prefix("worker-")?.strip_suffix(".pid")?.parse().ok()
            })
            .collect()
    }
}

/// `-D` values are split by Spark's launcher on whitespace and quotes, so the state path is
/// percent-encoded into a form that survives it unchanged (and is compared verbatim).
fn opts_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How this cluster's daemons (and the executors they start) are recognised.
pub(crate) fn marker(state_dir: &Path, name: &str) -> Marker {
    let state = state_dir.to_string_lossy();
    Marker {
        args: vec![format!("-Dsparkswarm.cluster={name}"), format!("-Dsparkswarm.state={}", opts_safe(&state))],
        env_key: "SPARKSWARM_CLUSTER".into(),
        env_value: format!("{name}@{state}"),
    }
}

/// Cluster names become directory names and JVM options: only DNS-1123 labels pass (the
/// API validates the same; this guards the file system).
pub(crate) fn check_name(name: &str) -> Result<(), RuntimeError> {
    crate::api::meta::check_name(name).map_err(RuntimeError::InvalidSpec)
}

fn live_pid(pidfile: &Path, marker: &Marker) -> Option<i32> {
    process::read_pidfile(pidfile).filter(|p| process::is_ours(*p, marker))
}

/// Keeps one previous log: the crash that caused a restart stays readable.
fn rotate_log(log: &Path) {
    if log.exists() {
        let mut old = log.as_os_str().to_owned();
        old.push(".1");
        if let Err(e) = std::fs::rename(log, &old) {
            tracing::warn!(log = %log.display(), error = %e, "could not rotate a daemon log");
        }
    }
}

fn daemon_env(rt: &LocalRuntime, dist: &SparkDist, name: &str) -> Vec<(String, String)> {
    let m = marker(rt.state_dir(), name);
    let mut java_opts = m.args.join(" ");
    // Spark moves to the next port when one is taken; the ports are recorded and handed to
    // workers, so a busy port must fail the start instead.
    java_opts.push_str(" -Dspark.port.maxRetries=0");
    vec![
        ("SPARK_HOME".into(), dist.home.to_string_lossy().into_owned()),
        ("SPARK_LOCAL_IP".into(), "127.0.0.1".into()),
        ("SPARK_DAEMON_MEMORY".into(), DAEMON_MEMORY.into()),
        ("SPARK_DAEMON_JAVA_OPTS".into(), java_opts),
        ("PYSPARK_PYTHON".into(), dist.python.to_string_lossy().into_owned()),
        (m.env_key, m.env_value),
    ]
}

fn log_excerpt(log: &Path) -> String {
    let tail = fsutil::read_tail(log, 4096).unwrap_or_default();
    let lines: Vec<&str> = tail.lines().rev().take(8).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

async fn start_master(
    rt: &LocalRuntime,
    dist: &SparkDist,
    dir: &ClusterDir,
    name: &str,
    port: u16,
    web_ui_port: u16,
) -> Result<i32, RuntimeError> {
    rotate_log(&dir.master_log());
    let (p, w) = (port.to_string(), web_ui_port.to_string());
    let class = dist.spark_class();
    let pid = process::spawn_detached(Spawn {
        program: &class,
        args: ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", &p, "--webui-port", &w]
            .iter()
            .map(OsStr::new)
            .collect(),
        envs: daemon_env(rt, dist, name),
        cwd: &dir.root,
        log: &dir.master_log(),
    })?;
    record_pid(&dir.master_pid(), pid)?;
    tracing::info!(cluster = name, pid, port, web_ui_port, "started the Spark master");
    Ok(pid)
}

async fn start_worker(
    rt: &LocalRuntime,
    dist: &SparkDist,
    dir: &ClusterDir,
    record: &ClusterRecord,
    i: u32,
) -> Result<i32, RuntimeError> {
    let work = dir.worker_work(i);
    std::fs::create_dir_all(&work).map_err(RuntimeError::io(format!("creating {}", work.display())))?;
    rotate_log(&dir.worker_log(i));
    let cores = record.worker_cores.to_string();
    let memory = spark_memory(&Memory::new(&record.worker_memory))?;
    let url = record.master_url();
    let class = dist.spark_class();
    let fixed = [
        "org.apache.spark.deploy.worker.Worker",
        "--host",
        "127.0.0.1",
        "--cores",
        &cores,
        "--memory",
        &memory,
        "--webui-port",
        "0",
        "--work-dir",
    ];
    let mut args: Vec<&OsStr> = fixed.iter().map(OsStr::new).collect();
    args.push(work.as_os_str());
    args.push(OsStr::new(&url));
    let pid = process::spawn_detached(Spawn {
        program: &class,
        args,
        envs: daemon_env(rt, dist, &record.name),
        cwd: &work,
        log: &dir.worker_log(i),
    })?;
    record_pid(&dir.worker_pid(i), pid)?;
    tracing::info!(cluster = %record.name, worker = i, pid, "started a Spark worker");
    Ok(pid)
}

/// Writes a daemon's pidfile; a daemon whose pid cannot be recorded would be unmanaged
/// (and hold its ports), so it is killed right away.
fn record_pid(pidfile: &Path, pid: i32) -> Result<(), RuntimeError> {
    fsutil::write_atomic(pidfile, pid.to_string().as_bytes()).inspect_err(|_| process::kill_group_now(pid))
}

/// Spark reads a unitless worker `--memory` as bytes, the API as MiB: always pass MiB.
pub(crate) fn spark_memory(m: &Memory) -> Result<String, RuntimeError> {
    match m.mebibytes() {
        Some(n) if n > 0 => Ok(format!("{n}m")),
        _ => Err(RuntimeError::ProcessError(format!("invalid memory size {:?}", m.0))),
    }
}

async fn stop_pidfile(pidfile: &Path, marker: &Marker) -> Result<(), RuntimeError> {
    if let Some(pid) = process::read_pidfile(pidfile) {
        process::stop_group(pid, marker, STOP_GRACE).await?;
    }
    fsutil::remove_file_opt(pidfile)
}

async fn stop_workers(
    dir: &ClusterDir,
    marker: &Marker,
    indexes: impl IntoIterator<Item = u32>,
) -> Result<(), RuntimeError> {
    let stops = indexes.into_iter().map(|i| async move { stop_pidfile(&dir.worker_pid(i), marker).await });
    futures::future::join_all(stops).await.into_iter().collect()
}

/// Gives the previous master's ports a moment to be released (sockets of a killed process
/// linger briefly), so that the restarted master keeps its URL. Bounded: when they stay
/// busy, fresh ports are chosen instead.
async fn wait_free(ports_: &[u16]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !ports_.iter().all(|p| ports::is_free(*p)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ports for a (re)started master: the plan's, else the previous ones while they are
/// free (stable URLs across restarts), else fresh ones.
fn choose_ports(plan: &ClusterPlan, old: Option<&ClusterRecord>) -> Result<(u16, u16), RuntimeError> {
    let fresh = ports::free_ports(2)?;
    let pick = |wanted: Option<u16>, previous: Option<u16>, fresh: u16| {
        wanted.or(previous.filter(|p| ports::is_free(*p))).unwrap_or(fresh)
    };
    let master = pick(plan.master_port, old.map(|o| o.bound_master_port), fresh[0]);
    let mut web = pick(plan.web_ui_port, old.map(|o| o.bound_web_ui_port), fresh[1]);
    if web == master {
        if plan.web_ui_port.is_some() {
            return Err(RuntimeError::ProcessError(format!("the master port and web UI port are both {master}")));
        }
        web = if fresh[1] != master { fresh[1] } else { fresh[0] };
    }
    Ok((master, web))
}

pub(crate) async fn apply(rt: &LocalRuntime, plan: &ClusterPlan) -> Result<(), RuntimeError> {
    check_name(&plan.name)?;
    // Refused before anything is stopped or started.
    spark_memory(&plan.worker_memory)?;
    let dist = rt.spark().await?.clone();
    let lock = rt.cluster_lock(&plan.name);
    let _guard = lock.lock().await;
    let dir = ClusterDir::new(rt.cluster_dir(&plan.name));
    std::fs::create_dir_all(&dir.root).map_err(RuntimeError::io(format!("creating {}", dir.root.display())))?;
    let m = marker(rt.state_dir(), &plan.name);
    let old = dir.read_record();

    let mut master_alive = live_pid(&dir.master_pid(), &m).is_some();
    let master_changed = match &old {
        // Without a record the ports of a running master are unknown: start over.
        None => true,
        Some(o) => {
            plan.master_port.is_some_and(|p| p != o.bound_master_port)
                || plan.web_ui_port.is_some_and(|p| p != o.bound_web_ui_port)
                || o.spark_home != dist.home
        }
    };
    if master_alive && master_changed {
        tracing::info!(cluster = %plan.name, "master settings changed: restarting the whole cluster");
        stop_workers(&dir, &m, dir.worker_indexes()).await?;
        stop_pidfile(&dir.master_pid(), &m).await?;
        master_alive = false;
    }

    let mut record = match (master_alive, old.clone()) {
        (true, Some(o)) => o,
        _ => {
            // Workers of a dead master would reconnect on their own, but only after a
            // randomised 5-90 s backoff (or give up and exit); a fresh start is ready in
            // seconds and predictable. Without a master no job runs anyway. Stopped first:
            // their connections to the dead master's port keep that port busy.
            stop_workers(&dir, &m, dir.worker_indexes()).await?;
            // Leftovers of the old master's group, should its leader have died alone.
            stop_pidfile(&dir.master_pid(), &m).await?;
            if let Some(o) = &old {
                wait_free(&[o.bound_master_port, o.bound_web_ui_port]).await;
            }
            let (port, web) = choose_ports(plan, old.as_ref())?;
            let record = ClusterRecord {
                name: plan.name.clone(),
                workers: plan.workers,
                worker_cores: plan.worker_cores,
                worker_memory: plan.worker_memory.0.clone(),
                master_port: plan.master_port,
                web_ui_port: plan.web_ui_port,
                bound_master_port: port,
                bound_web_ui_port: web,
                spark_home: dist.home.clone(),
                spark_version: dist.version.clone(),
                worker_restarts: old.as_ref().map_or(0, |o| o.worker_restarts),
                volumes: plan.volumes.clone(),
            };
            let pid = start_master(rt, &dist, &dir, &plan.name, port, web).await?;
            // Recorded before the wait, so that a crash meanwhile still finds the ports.
            dir.write_record(&record)?;
            let still_alive = || process::is_alive(pid);
            // Workers started before the master listens back off for 5-15 s before retrying.
            if let Err(e) = ports::wait_listening(port, MASTER_START_TIMEOUT, still_alive).await {
                return Err(RuntimeError::ProcessError(format!(
                    "the Spark master did not come up ({e}); {}:\n{}",
                    dir.master_log().display(),
                    log_excerpt(&dir.master_log())
                )));
            }
            record
        }
    };

    let workers_changed = record.worker_cores != plan.worker_cores || record.worker_memory != plan.worker_memory.0;
    if workers_changed {
        tracing::info!(cluster = %plan.name, "worker size changed: restarting the workers");
        stop_workers(&dir, &m, dir.worker_indexes()).await?;
    }
    let extras: Vec<u32> = dir.worker_indexes().into_iter().filter(|i| *i >= plan.workers).collect();
    stop_workers(&dir, &m, extras.iter().copied()).await?;
    for i in extras {
        fsutil::remove_dir_all_opt(&dir.worker_work(i))?;
        fsutil::remove_file_opt(&dir.worker_log(i))?;
        fsutil::remove_file_opt(&dir.root.join(format!("worker-{i}.log.1")))?;
    }

    record.workers = plan.workers;
    record.worker_cores = plan.worker_cores;
    record.worker_memory = plan.worker_memory.0.clone();
    record.master_port = plan.master_port;
    record.web_ui_port = plan.web_ui_port;
    record.volumes = plan.volumes.clone();
    for i in 0..plan.workers {
        let pidfile = dir.worker_pid(i);
        if live_pid(&pidfile, &m).is_some() {
            continue;
        }
        if pidfile.exists() {
            tracing::warn!(cluster = %plan.name, worker = i, "worker died: restarting it");
            record.worker_restarts = record.worker_restarts.saturating_add(1);
            // Executors it left behind in its group would hold cores and memory.
            stop_pidfile(&pidfile, &m).await?;
        }
        start_worker(rt, &dist, &dir, &record, i).await?;
    }
    dir.write_record(&record)?;
    tracing::debug!(cluster = %plan.name, "cluster applied");
    Ok(())
}

/// The `host:port` a worker announced in its log (`Starting Spark worker 127.0.0.1:34161
/// with 1 cores, 1024.0 MiB RAM`), to match it with the master's view.
fn worker_address(log: &Path) -> Option<String> {
    let head = fsutil::read_head(log, 64 * 1024)?;
    let line = head.lines().find(|l| l.contains("Starting Spark worker "))?;
    let addr = line.split("Starting Spark worker ").nth(1)?.split_whitespace().next()?;
    Some(addr.to_string())
}

pub(crate) async fn observe(rt: &LocalRuntime, name: &str) -> Result<ObservedCluster, RuntimeError> {
    check_name(name)?;
    let dir = ClusterDir::new(rt.cluster_dir(name));
    let m = marker(rt.state_dir(), name);
    if !dir.root.is_dir() {
        // Processes without a directory are still something of this cluster (to delete).
        let exists = !process::find_marked(&m).is_empty();
        return Ok(ObservedCluster { exists, ..ObservedCluster::default() });
    }
    let record = dir.read_record();
    let master_running = live_pid(&dir.master_pid(), &m).is_some();
    let mut obs = ObservedCluster {
        exists: true,
        master_running,
        master_url: record.as_ref().map(ClusterRecord::master_url),
        web_ui_url: record.as_ref().map(|r| format!("http://127.0.0.1:{}", r.bound_web_ui_port)),
        spark_version: record.as_ref().map(|r| r.spark_version.clone()),
        applied: record.as_ref().map(ClusterRecord::plan),
        ..ObservedCluster::default()
    };

    let state = match (&record, master_running) {
        (Some(r), true) => match master_api::fetch_state(r.bound_web_ui_port).await {
            Ok(s) if s.url == r.master_url() => Some(s),
            Ok(s) => {
                // Someone else's master on our UI port (ours failed to bind it): not ours to count.
                tracing::warn!(cluster = name, url = %s.url, "the web UI port answers for another master");
                None
            }
            Err(e) => {
                // Normal while the master starts; the workers count as not alive yet.
                tracing::debug!(cluster = name, error = %e, "master API not answering");
                None
            }
        },
        _ => None,
    };
    if let (Some(r), Some(_)) = (&record, &state) {
        match master_api::fetch_version(r.bound_web_ui_port).await {
            Ok(Some(v)) => obs.spark_version = Some(v),
            Ok(None) => {}
            Err(e) => tracing::debug!(cluster = name, error = %e, "master UI not answering"),
        }
    }

    let master_state = match (&state, master_running) {
        (Some(s), _) => s.status.clone().unwrap_or_else(|| "ALIVE".into()),
        (None, true) => "Starting".into(),
        (None, false) => "Dead".into(),
    };
    obs.nodes.push(NodeStatus {
        name: "master".into(),
        address: record.as_ref().map_or_else(|| "127.0.0.1".into(), |r| format!("127.0.0.1:{}", r.bound_master_port)),
        role: "master".into(),
        state: master_state,
    });
    let desired = record.as_ref().map(|r| r.workers);
    for i in dir.worker_indexes() {
        let running = live_pid(&dir.worker_pid(i), &m).is_some();
        if running {
            obs.workers_running += 1;
        } else if desired.is_none_or(|d| i < d) {
            obs.workers_failed += 1;
        }
        let address = worker_address(&dir.worker_log(i));
        let reported = match (&state, &address) {
            (Some(s), Some(a)) if running => s.worker_state(a).map(str::to_string),
            _ => None,
        };
        // Matched by address rather than the master's `aliveworkers`: a worker killed
        // outright stays ALIVE there until spark.worker.timeout (60 s), and its restarted
        // successor registers under a new port.
        if reported.as_deref() == Some("ALIVE") {
            obs.workers_alive += 1;
        }
        obs.nodes.push(NodeStatus {
            name: format!("worker-{i}"),
            address: address.unwrap_or_else(|| "127.0.0.1".into()),
            role: "worker".into(),
            state: reported.unwrap_or_else(|| if running { "Starting".into() } else { "Dead".into() }),
        });
    }
    Ok(obs)
}

pub(crate) async fn delete(rt: &LocalRuntime, name: &str) -> Result<(), RuntimeError> {
    check_name(name)?;
    let lock = rt.cluster_lock(name);
    let _guard = lock.lock().await;
    let dir = ClusterDir::new(rt.cluster_dir(name));
    let m = marker(rt.state_dir(), name);
    // Workers and master stop in parallel: each may take the whole grace.
    let master_pid = dir.master_pid();
    let workers = stop_workers(&dir, &m, dir.worker_indexes());
    let master = stop_pidfile(&master_pid, &m);
    let (w, ma) = tokio::join!(workers, master);
    w?;
    ma?;
    // Whatever lost its pidfile or left its group.
    process::kill_marked(&m).await?;
    fsutil::remove_dir_all_opt(&dir.root)?;
    tracing::info!(cluster = name, "cluster deleted");
    Ok(())
}

pub(crate) async fn list(rt: &LocalRuntime) -> Result<Vec<String>, RuntimeError> {
    let root = rt.state_dir().join("clusters");
    let rd = match std::fs::read_dir(&root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RuntimeError::IoError { what: format!("listing {}", root.display()), source: e }),
    };
    let mut names: Vec<String> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| check_name(n).is_ok())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_survive_the_launcher() {
        let m = marker(Path::new("/tmp/a b/\"st'ate\""), "demo");
        assert_eq!(m.args[0], "-Dsparkswarm.cluster=demo");
        assert_eq!(m.args[1], "-Dsparkswarm.state=/tmp/a%20b/%22st%27ate%22");
        assert!(m.args.iter().all(|a| !a.contains(char::is_whitespace)));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("demo-1").is_ok());
        assert!(check_name("../x").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("A").is_err());
    }

    #[test]
    fn memory_is_passed_in_mebibytes() {
        assert_eq!(spark_memory(&Memory::new("1g")).ok().as_deref(), Some("1024m"));
        assert_eq!(spark_memory(&Memory::new("2048")).ok().as_deref(), Some("2048m"));
        assert!(spark_memory(&Memory::new("1k")).is_err());
    }

    #[test]
    fn planned_ports_win_and_never_collide() {
        let plan = ClusterPlan {
            name: "x".into(),
            workers: 1,
            worker_cores: 1,
            worker_memory: Memory::new("1g"),
            master_port: Some(7077),
            web_ui_port: None,
            volumes: vec![],
        };
        let (m, w) = choose_ports(&plan, None).expect("ports");
        assert_eq!(m, 7077);
        assert_ne!(w, 7077);
        let clash = ClusterPlan { web_ui_port: Some(7077), ..plan };
        assert!(choose_ports(&clash, None).is_err());
    }
}
