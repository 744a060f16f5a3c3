//! Swarm jobs: one `replicated-job` service per attempt, running the driver (client mode)
//! on the cluster's overlay network; the executors run in the worker services.
//!
//! How the app and its `files` reach the driver and the executors, whatever their size:
//! the attempt's directory in the cluster's data volume (`data_volume`, mounted in the
//! workers and the driver at one path), filled through the container archive API (a
//! created, never started helper container mounts it; `PUT /containers/{id}/archive`
//! unpacks a tar streamed as it is built, in 1 MiB chunks). The driver's task is placed on
//! the node of the engine we talk to (where the files were unpacked), and so are the
//! executors in the workers there. This was chosen over building a per-submission image pushed to the
//! cluster's registry because it needs no registry (the registry is optional) and no image
//! build on every submission; Docker configs were out (1 MB each).
//!
//! When the task ends: the service logs become `driver.log`, the attempt's `outputs/` is
//! fetched through the archive API (`GET`) into the attempt's `outputs/`, the exit code is
//! written to `exitcode`, then service and containers are removed, and the attempt's
//! directory in the data volume.
//!
//! Layout of an attempt directory (as on the local runtime, plus `swarm.json`):
//! - `swarm.json`: cluster, submission id, service name and where its files are, written before
//!   anything is created, so that a restarted operator finds the service by its labels;
//! - `driver.log`, `outputs/`, `started`, `exitcode` (its mtime is the finish time),
//!   `cancelled` (written by kill: a submission that sees it does not start the driver).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions, NetworkAttachmentConfig, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicatedJob, Task, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, EventsOptionsBuilder,
    ListContainersOptionsBuilder, ListServicesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::cluster::tasks_of;
use super::error::{is_not_found, SwarmError};
use super::{data_volume, stage, volumes};
use super::{labels, SwarmRuntime};
use crate::api::job::Results;
use crate::manifest::paths::confine_dst;
use crate::runtime::attempt::AttemptDir;
use crate::runtime::job_env;
use crate::runtime::local::{driver_log, fsutil};
use crate::runtime::volumes::{announce, Seen};
use crate::runtime::{AttemptObservation, AttemptState, JobSubmission};

/// After this long without a service, a recorded submission is taken as never made.
const LOST_AFTER: Duration = Duration::from_secs(60);
/// Our exit code for a driver stopped by kill (128 + SIGTERM).
const KILLED_EXIT_CODE: i32 = 143;
/// A driver log bigger than this is cut to its end (the part that explains a failure).
const LOG_MAX_BYTES: usize = 64 * 1024 * 1024;

/// What `swarm.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub cluster: String,
    pub job: String,
    pub submission_id: String,
    pub service: String,
    /// The volume holding the attempt's files: its own (before the data volume), or the
    /// cluster's data volume.
    pub volume: String,
    /// The attempt's directory in the cluster's data volume; None: `volume` is the
    /// attempt's own, mounted at `/job`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// The node the driver runs on, where the files were unpacked first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    pub created: DateTime<Utc>,
}

impl JobRecord {
    /// Where the attempt's files are in the driver's container.
    fn root(&self) -> &str {
        self.data_dir.as_deref().unwrap_or(LEGACY_ROOT)
    }
}

/// Where an attempt's own volume was mounted, for attempts submitted before the data volume.
const LEGACY_ROOT: &str = "/job";

pub fn record_path(attempt_dir: &Path) -> PathBuf {
    attempt_dir.join("swarm.json")
}

/// The shared attempt layout plus what only the swarm runtime keeps there.
struct Files(AttemptDir);

impl std::ops::Deref for Files {
    type Target = AttemptDir;
    fn deref(&self) -> &AttemptDir {
        &self.0
    }
}

impl Files {
    fn new(dir: &Path) -> Self {
        Files(AttemptDir::new(dir))
    }
    fn record(&self) -> Option<JobRecord> {
        let text = fsutil::read_opt(&record_path(&self.dir)).ok().flatten()?;
        serde_json::from_str(&text).ok()
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SwarmError> {
    fsutil::write_atomic(path, bytes).map_err(|e| SwarmError::StateError(e.to_string()))
}

fn base_name(p: &Path) -> Result<String, SwarmError> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| SwarmError::InvalidSpec(format!("{} has no usable file name", p.display())))
}

/// What goes into the volume: (source here, path inside the volume).
fn layout(sub: &JobSubmission) -> Result<Vec<(PathBuf, PathBuf)>, SwarmError> {
    let mut entries =
        vec![(sub.main_application_file.clone(), Path::new("app/main").join(base_name(&sub.main_application_file)?))];
    let mut seen = std::collections::BTreeSet::new();
    for p in &sub.py_files {
        let name = base_name(p)?;
        // Python imports a py-file by its base name: two with one name cannot both work.
        if !seen.insert(name.clone()) {
            return Err(SwarmError::InvalidSpec(format!("two pyFiles are named {name:?}")));
        }
        entries.push((p.clone(), Path::new("app/py").join(name)));
    }
    for (src, dst) in &sub.files {
        entries.push((
            src.clone(),
            Path::new("work").join(confine_dst(dst).map_err(|e| SwarmError::InvalidSpec(e.to_string()))?),
        ));
    }
    if let Some(site) = &sub.deps {
        tree(site, Path::new(DEPS_DIR), &mut entries)?;
    }
    Ok(entries)
}

/// Where the attempt's `deps` are, in its directory of the volume.
const DEPS_DIR: &str = "deps";

/// Every file under `dir`, to go under `to` (symlinks followed, as the tar does).
fn tree(dir: &Path, to: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), SwarmError> {
    let read = std::fs::read_dir(dir).map_err(SwarmError::io(format!("reading {}", dir.display())))?;
    let mut children: Vec<_> = read.flatten().collect();
    children.sort_by_key(|e| e.file_name());
    for e in children {
        let path = e.path();
        let dst = to.join(e.file_name());
        if path.is_dir() {
            tree(&path, &dst, out)?;
        } else {
            out.push((path, dst));
        }
    }
    Ok(())
}

/// What the attempt's Python finds in the volume (`job_env`): the deps and, with secrets,
/// `sitecustomize.py` and the 0600 secret file, which exist only in the upload and the
/// volume, never on this machine's disk.
struct PythonEnv {
    vars: job_env::PythonVars,
    inline: Vec<Inline>,
}

/// A file of the upload made from bytes: (path in the attempt's dir, content, mode).
type Inline = (PathBuf, Vec<u8>, u32);

impl PythonEnv {
    fn of(sub: &JobSubmission, root: &str) -> Self {
        let deps = format!("{root}/{DEPS_DIR}");
        let mut inline = Vec::new();
        if !sub.secrets.is_empty() {
            inline.push((
                Path::new(job_env::PYENV_DIR).join("sitecustomize.py"),
                job_env::SITECUSTOMIZE_PY.as_bytes().to_vec(),
                0o644,
            ));
            inline.push((PathBuf::from(job_env::SECRETS_FILE), job_env::secrets_json(&sub.secrets), 0o600));
        }
        let vars = job_env::PythonVars::of(&sub.secrets, root, sub.deps.as_ref().map(|_| deps.as_str()));
        PythonEnv { vars, inline }
    }
}

fn mib(m: &crate::api::quantity::Memory) -> Result<u64, SwarmError> {
    match m.mebibytes() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(SwarmError::InvalidSpec(format!("invalid memory size {:?}", m.0))),
    }
}

/// spark-submit's arguments inside the driver's container (after the entrypoint's `driver`).
/// `extra_conf` (the volumes') comes after the user's confs: a job cannot re-point them.
pub(crate) fn submit_args(sub: &JobSubmission, extra_conf: &[(String, String)]) -> Result<Vec<String>, SwarmError> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |k: &str, v: String| {
        a.push(k.into());
        a.push(v);
    };
    push("--master", sub.master_url.clone());
    push("--deploy-mode", "client".into());
    push("--name", sub.job.clone());
    push("--driver-cores", sub.driver_cores.to_string());
    push("--driver-memory", format!("{}m", mib(&sub.driver_memory)?));
    push("--executor-cores", sub.executor_cores.to_string());
    push("--executor-memory", format!("{}m", mib(&sub.executor_memory)?));
    push("--total-executor-cores", sub.executor_instances.saturating_mul(sub.executor_cores).max(1).to_string());
    for (k, v) in &sub.spark_conf {
        if k.is_empty() || k.contains('=') || k.contains(char::is_whitespace) {
            return Err(SwarmError::InvalidSpec(format!("invalid sparkConf key {k:?}")));
        }
        push("--conf", format!("{k}={v}"));
    }
    for (k, v) in extra_conf {
        push("--conf", format!("{k}={v}"));
    }
    let root = data_volume::attempt_root(&sub.submission_id)?;
    for (k, v) in crate::runtime::event_log::spark_conf(&format!("{root}/{}", crate::runtime::event_log::DIR)) {
        push("--conf", format!("{k}={v}"));
    }
    // Last, so that it cannot be overridden: it ties the application to this submission.
    push("--conf", format!("spark.sparkswarm.submissionId={}", sub.submission_id));
    let entries = layout(sub)?;
    let py: Vec<String> = entries
        .iter()
        .filter(|(_, dst)| dst.starts_with("app/py"))
        .map(|(_, dst)| format!("{root}/{}", dst.display()))
        .collect();
    if !py.is_empty() {
        if py.iter().any(|p| p.contains(',')) {
            return Err(SwarmError::InvalidSpec("a pyFiles name contains a comma".into()));
        }
        push("--py-files", py.join(","));
    }
    let main = entries.first().map(|(_, d)| format!("{root}/{}", d.display())).unwrap_or_default();
    a.push(main);
    a.extend(sub.arguments.iter().cloned());
    Ok(a)
}

fn job_labels(
    rt: &SwarmRuntime,
    sub_cluster: &str,
    job: &str,
    submission: &str,
    role: &str,
) -> HashMap<String, String> {
    let mut l = labels::base(sub_cluster, rt.owner(), role);
    l.insert(labels::JOB.into(), job.into());
    l.insert(labels::SUBMISSION.into(), submission.into());
    l
}

/// The mount that holds the attempt's files.
fn files_mount(rt: &SwarmRuntime, record: &JobRecord, l: &HashMap<String, String>) -> Mount {
    match record.data_dir {
        Some(_) => data_volume::mount(&record.cluster, rt.owner()),
        None => Mount {
            target: Some(LEGACY_ROOT.into()),
            source: Some(record.volume.clone()),
            typ: Some(MountType::VOLUME),
            volume_options: Some(MountVolumeOptions { labels: Some(l.clone()), ..Default::default() }),
            ..Default::default()
        },
    }
}

/// Writes the tar of the attempt's files, under `top` (the attempt's directory name), into
/// `w`: the upload itself ([`Chunks`]), so that a big input is read once and never written
/// to a temporary file or held in memory.
fn write_tar<W: std::io::Write>(
    w: W,
    top: &Path,
    entries: &[(PathBuf, PathBuf)],
    inline: &[Inline],
) -> Result<W, SwarmError> {
    let mut b = tar::Builder::new(w);
    b.follow_symlinks(true);
    let dir = |b: &mut tar::Builder<_>, name: &Path| -> Result<(), SwarmError> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(0);
        b.append_data(&mut h, top.join(name), std::io::empty())
            .map_err(SwarmError::io(format!("adding {}/ to the upload", name.display())))
    };
    // The driver runs as whoever the image says; world-writable dirs keep any user working.
    let mut made = std::collections::BTreeSet::new();
    for d in ["", "work", "outputs", crate::runtime::event_log::DIR, "app", "app/main", "app/py"] {
        dir(&mut b, Path::new(d))?;
        made.insert(PathBuf::from(d));
    }
    for (src, dst) in entries {
        // Every parent of a nested destination (work/data/mllib/...), outermost first.
        let mut ancestors: Vec<&Path> = dst.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).collect();
        ancestors.reverse();
        for a in ancestors {
            if made.insert(a.to_path_buf()) {
                dir(&mut b, a)?;
            }
        }
        let f = std::fs::File::open(src).map_err(SwarmError::io(format!("opening {}", src.display())))?;
        let mut h = tar::Header::new_gnu();
        let meta = f.metadata().map_err(SwarmError::io(format!("reading {}", src.display())))?;
        h.set_metadata(&meta);
        // Read in chunk-sized pieces: tar copies through an 8 KiB buffer, which would
        // otherwise be one read(2) per 8 KiB of a big input.
        let reader = std::io::BufReader::with_capacity(UPLOAD_CHUNK, f);
        b.append_data(&mut h, top.join(dst), reader)
            .map_err(SwarmError::io(format!("adding {} to the upload", src.display())))?;
    }
    for (dst, bytes, mode) in inline {
        let mut ancestors: Vec<&Path> = dst.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).collect();
        ancestors.reverse();
        for a in ancestors {
            if made.insert(a.to_path_buf()) {
                dir(&mut b, a)?;
            }
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(bytes.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, top.join(dst), bytes.as_slice())
            .map_err(SwarmError::io(format!("adding {} to the upload", dst.display())))?;
    }
    b.into_inner().map_err(SwarmError::io("finishing the upload tar"))
}

/// How much of the tar travels per message to the upload: big enough that the per-chunk
/// cost (a channel hop, an HTTP body frame) vanishes next to the copy, small enough to
/// bound memory at [`UPLOAD_CHUNKS_IN_FLIGHT`] chunks.
const UPLOAD_CHUNK: usize = 1 << 20;
const UPLOAD_CHUNKS_IN_FLIGHT: usize = 4;

type Chunk = Result<tokio_util::bytes::Bytes, std::io::Error>;

/// A blocking writer whose bytes become the chunks of an async body.
struct Chunks {
    tx: tokio::sync::mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(UPLOAD_CHUNK));
        self.tx
            .blocking_send(Ok(full.into()))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped reading"))
    }
}

impl std::io::Write for Chunks {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(UPLOAD_CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == UPLOAD_CHUNK {
            self.send()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The attempt's tar as a body, built on a blocking thread while it is sent; the handle
/// says whether the tar was complete.
fn tar_stream(
    top: PathBuf,
    entries: Vec<(PathBuf, PathBuf)>,
    inline: Vec<Inline>,
) -> (impl futures::Stream<Item = Chunk> + Send + 'static, tokio::task::JoinHandle<Result<(), SwarmError>>) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(UPLOAD_CHUNKS_IN_FLIGHT);
    let built = tokio::task::spawn_blocking(move || {
        let mut w = write_tar(Chunks { tx, buf: Vec::with_capacity(UPLOAD_CHUNK) }, &top, &entries, &inline)?;
        std::io::Write::flush(&mut w).map_err(SwarmError::io("sending the end of the upload"))
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    (stream, built)
}

async fn remove_container(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    if let Err(e) = docker.remove_container(id, Some(opts)).await {
        if !is_not_found(&e) {
            tracing::warn!(container = id, error = %e, "could not remove a helper container");
        }
    }
}

/// A created (never started) container with the attempt's files mounted, for the archive API.
async fn helper(
    docker: &Docker,
    image: &str,
    mount: &Mount,
    l: &HashMap<String, String>,
    name: &str,
) -> Result<String, SwarmError> {
    let mut hl = l.clone();
    hl.insert(labels::ROLE.into(), "files".into());
    let body = || ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["/bin/true".into()]),
        cmd: Some(vec![]),
        labels: Some(hl.clone()),
        network_disabled: Some(true),
        host_config: Some(HostConfig { mounts: Some(vec![mount.clone()]), ..Default::default() }),
        ..Default::default()
    };
    let opts = || CreateContainerOptionsBuilder::default().name(name).build();
    match docker.create_container(Some(opts()), body()).await {
        Ok(r) => Ok(r.id),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
            // Left over from an interrupted run: start again from a fresh one.
            remove_container(docker, name).await;
            docker
                .create_container(Some(opts()), body())
                .await
                .map(|r| r.id)
                .map_err(SwarmError::api("creating the files helper container"))
        }
        Err(e) => Err(SwarmError::DockerApiError { what: "creating the files helper container".into(), source: e }),
    }
}

pub(crate) async fn submit(rt: &SwarmRuntime, sub: &JobSubmission) -> Result<(), SwarmError> {
    let f = Files::new(&sub.attempt_dir);
    if f.record().is_some() || f.exitcode().exists() {
        // Submitting an attempt twice must never run it twice.
        tracing::info!(attempt = %f.dir.display(), "attempt already submitted; not starting it again");
        return Ok(());
    }
    if f.cancelled().exists() {
        return write(&f.exitcode(), format!("{KILLED_EXIT_CODE}\n").as_bytes());
    }
    let entries = layout(sub)?;
    let target = rt.target(&sub.cluster).ok_or_else(|| SwarmError::UnknownCluster(sub.cluster.clone()))?;
    let announced = announce(&target.volumes, Seen::Mounted);
    let python = PythonEnv::of(sub, &data_volume::attempt_root(&sub.submission_id)?);
    let mut extra_conf = announced.conf.clone();
    extra_conf.extend(python.vars.executor_conf());
    let args = submit_args(sub, &extra_conf)?;
    let docker = rt.client(&target).await?;
    let info = docker.info().await.map_err(SwarmError::api("reading the engine's info"))?;
    let node_id = info
        .swarm
        .and_then(|s| s.node_id)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| SwarmError::NotSwarmManager { endpoint: target.endpoint.clone(), state: "no node id".into() })?;
    let image = target.service_image();

    for d in [f.dir.clone(), f.outputs()] {
        std::fs::create_dir_all(&d).map_err(SwarmError::io(format!("creating {}", d.display())))?;
    }
    let record = JobRecord {
        cluster: sub.cluster.clone(),
        job: sub.job.clone(),
        submission_id: sub.submission_id.clone(),
        service: labels::driver_service(&sub.cluster, &sub.submission_id),
        volume: data_volume::name(&sub.cluster),
        data_dir: Some(data_volume::attempt_root(&sub.submission_id)?),
        node_id: Some(node_id.clone()),
        created: Utc::now(),
    };
    let json = serde_json::to_vec_pretty(&record)
        .map_err(|e| SwarmError::InvalidSpec(format!("serialising the job record: {e}")))?;
    // Before anything exists on the engine: a crash from here on leaves a record that
    // names what to look for.
    write(&record_path(&f.dir), &json)?;

    let l = job_labels(rt, &sub.cluster, &sub.job, &sub.submission_id, "driver");
    let root = record.root().to_string();
    let mount = files_mount(rt, &record, &l);

    let helper_name = format!("{}-upload", record.service);
    let id = helper(&docker, &image, &mount, &l, &helper_name).await?;
    let (stream, built) = tar_stream(PathBuf::from(&sub.submission_id), entries.clone(), python.inline);
    let opts = UploadToContainerOptionsBuilder::default().path(data_volume::DATA_ROOT).build();
    let upload = docker
        .upload_to_container(&id, Some(opts), bollard::body_try_stream(stream))
        .await
        .map_err(SwarmError::api("uploading the job's files"));
    let built = built.await.map_err(|e| SwarmError::InvalidSpec(format!("building the upload: {e}")));
    // Off the path to the driver's start (the attempt's cleanup removes it too, by label).
    let d = docker.clone();
    tokio::spawn(async move { remove_container(&d, &id).await });
    match (built?, upload) {
        (Ok(()), up) => up?,
        // The tar stopped because the upload did: the upload's error is the cause.
        (Err(SwarmError::IoError { source, .. }), Err(up)) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            return Err(up)
        }
        // The tar's own failure (an unreadable file) explains a cut-off upload better.
        (Err(b), _) => return Err(b),
    }
    // The workers on the other nodes need the files too, at the same path.
    let others = stage::other_nodes(&docker, &node_id).await?;
    if !others.is_empty() {
        let t = std::time::Instant::now();
        stage::stage(&docker, &stage_params(rt, &record, &image, &node_id, &l), others.len()).await?;
        tracing::info!(submission = %sub.submission_id, nodes = others.len(), took = ?t.elapsed(), "files staged on the other nodes");
    }

    if f.cancelled().exists() {
        remove_files(rt, &docker, &record, &image).await;
        return write(&f.exitcode(), format!("{KILLED_EXIT_CODE}\n").as_bytes());
    }
    let mut full_args = vec!["driver".to_string()];
    full_args.extend(args);
    let spec = ServiceSpec {
        name: Some(record.service.clone()),
        labels: Some(l.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image),
                labels: Some(l.clone()),
                args: Some(full_args),
                dir: Some(format!("{root}/work")),
                // The user's first: the operator's own variables come after them and win.
                env: Some(
                    sub.env
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .chain([
                            format!("SPARKSWARM_OUTPUT_DIR={root}/outputs"),
                            format!("SPARKSWARM_SUBMISSION_ID={}", sub.submission_id),
                        ])
                        .chain(announced.env.iter().map(|(k, v)| format!("{k}={v}")))
                        .chain(python.vars.vars.iter().map(|(k, v)| format!("{k}={v}")))
                        .chain(crate::runtime::jvm_options::container_env())
                        .collect(),
                ),
                mounts: Some(
                    std::iter::once(mount).chain(volumes::mounts(&sub.cluster, rt.owner(), &target.volumes)).collect(),
                ),
                ..Default::default()
            }),
            // Restarts are the operator's business (restartPolicy), never the swarm's.
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            // The files were unpacked on this node.
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec![format!("node.id=={node_id}")]),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(labels::network(&sub.cluster)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob { max_concurrent: Some(1), total_completions: Some(1) }),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .create_service(spec, None)
        .await
        .map_err(SwarmError::api(format!("creating the driver service {}", record.service)))?;
    if let Err(e) = fsutil::write_atomic(&f.started(), Utc::now().to_rfc3339().as_bytes()) {
        tracing::warn!(attempt = %f.dir.display(), error = %e, "could not record the start time");
    }
    tracing::info!(job = %sub.job, submission = %sub.submission_id, service = %record.service, "driver service created");
    Ok(())
}

fn latest(tasks: &[Task]) -> Option<&Task> {
    tasks.iter().max_by_key(|t| (t.created_at, t.version.as_ref().and_then(|v| v.index)))
}

/// The task's outcome: None while it runs (or waits to), else the exit code.
fn outcome(t: &Task) -> Option<i32> {
    let status = t.status.as_ref()?;
    let code = status.container_status.as_ref().and_then(|c| c.exit_code).map(|c| c as i32);
    match status.state? {
        TaskState::COMPLETE => Some(code.unwrap_or(0)),
        TaskState::FAILED => Some(code.filter(|c| *c != 0).unwrap_or(1)),
        TaskState::REJECTED => Some(-1),
        TaskState::SHUTDOWN | TaskState::REMOVE | TaskState::ORPHANED => {
            Some(code.filter(|c| *c != 0).unwrap_or(KILLED_EXIT_CODE))
        }
        _ => None,
    }
}

async fn fetch_logs(docker: &Docker, service: &str, to: &Path) -> Result<(), SwarmError> {
    let opts =
        LogsOptionsBuilder::default().stdout(true).stderr(true).follow(false).timestamps(false).tail("all").build();
    let mut stream = docker.service_logs(service, Some(opts));
    let mut buf: Vec<u8> = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(out) => {
                buf.extend_from_slice(&out.into_bytes());
                if buf.len() > LOG_MAX_BYTES * 2 {
                    buf.drain(..buf.len() - LOG_MAX_BYTES);
                }
            }
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => {
                return Err(SwarmError::DockerApiError { what: format!("reading the logs of {service}"), source: e })
            }
        }
    }
    let cut = buf.len() > LOG_MAX_BYTES;
    if cut {
        buf.drain(..buf.len() - LOG_MAX_BYTES);
    }
    // Logs only grow: never replace a longer log with a shorter read (a log read while
    // the service is being removed may come back empty).
    let have = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    if (buf.len() as u64) <= have && !cut {
        return Ok(());
    }
    if cut || have == 0 {
        return write(to, &buf);
    }
    // Appended in place (same inode), so that `logs -f` and `tail -f` see it grow.
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(to)
        .map_err(SwarmError::io(format!("opening {}", to.display())))?;
    file.write_all(&buf[have as usize..]).map_err(SwarmError::io(format!("appending to {}", to.display())))
}

/// Copies one directory of the driver's (`outputs/`, `eventlog/`) into the attempt's.
async fn collect_dir(
    rt: &SwarmRuntime,
    docker: &Docker,
    image: &str,
    record: &JobRecord,
    l: &HashMap<String, String>,
    sub: &str,
    to: &Path,
) -> Result<(), SwarmError> {
    let name = format!("{}-collect-{sub}", record.service);
    let id = helper(docker, image, &files_mount(rt, record, l), l, &name).await?;
    let opts = DownloadFromContainerOptionsBuilder::default().path(&format!("{}/{sub}/.", record.root())).build();
    let tmp = to.with_extension("tar.partial");
    let result = async {
        let mut file =
            tokio::fs::File::create(&tmp).await.map_err(SwarmError::io(format!("creating {}", tmp.display())))?;
        let mut stream = docker.download_from_container(&id, Some(opts));
        while let Some(chunk) = stream.try_next().await.map_err(SwarmError::api("downloading the outputs"))? {
            file.write_all(&chunk).await.map_err(SwarmError::io(format!("writing {}", tmp.display())))?;
        }
        file.flush().await.map_err(SwarmError::io(format!("writing {}", tmp.display())))?;
        Ok::<(), SwarmError>(())
    }
    .await;
    remove_container(docker, &id).await;
    result?;
    let (tmp2, to2) = (tmp.clone(), to.to_path_buf());
    let unpacked = tokio::task::spawn_blocking(move || -> Result<(), SwarmError> {
        std::fs::create_dir_all(&to2).map_err(SwarmError::io(format!("creating {}", to2.display())))?;
        let file = std::fs::File::open(&tmp2).map_err(SwarmError::io(format!("opening {}", tmp2.display())))?;
        let mut archive = tar::Archive::new(file);
        // The archive's top entry is the `.` of outputs; `unpack_in` refuses entries that
        // would leave the directory (absolute paths, `..`).
        for entry in archive.entries().map_err(SwarmError::io("reading the outputs archive"))? {
            let mut entry = entry.map_err(SwarmError::io("reading the outputs archive"))?;
            entry.unpack_in(&to2).map_err(SwarmError::io(format!("unpacking into {}", to2.display())))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| SwarmError::InvalidSpec(format!("unpacking the outputs: {e}")))?;
    let _ = tokio::fs::remove_file(&tmp).await;
    unpacked
}

async fn remove_volume(docker: &Docker, volume: &str) -> bool {
    let opts = RemoveVolumeOptionsBuilder::default().force(false).build();
    match docker.remove_volume(volume, Some(opts)).await {
        Ok(()) => true,
        Err(e) if is_not_found(&e) => true,
        Err(_) => false,
    }
}

/// Removes the attempt's service, containers and files.
async fn cleanup(rt: &SwarmRuntime, docker: &Docker, record: &JobRecord, image: &str) {
    if let Err(e) = docker.delete_service(&record.service).await {
        if !is_not_found(&e) {
            tracing::warn!(service = %record.service, error = %e, "could not remove a finished driver service");
        }
    }
    let f = labels::filter(&[(labels::SUBMISSION, &record.submission_id), (labels::OWNER, rt.owner())]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let opts = ListContainersOptionsBuilder::default().all(true).filters(&f).build();
        let containers = docker.list_containers(Some(opts)).await.unwrap_or_default();
        for c in &containers {
            if let Some(id) = &c.id {
                remove_container(docker, id).await;
            }
        }
        // A legacy attempt's own volume goes once no container uses it (a leftover goes
        // with the cluster); a directory in the data volume can go at once.
        if record.data_dir.is_some()
            || remove_volume(docker, &record.volume).await
            || tokio::time::Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    remove_files(rt, docker, record, image).await;
}

/// Removes the attempt's directory from the cluster's data volume (or its own volume).
async fn remove_files(rt: &SwarmRuntime, docker: &Docker, record: &JobRecord, image: &str) {
    if record.data_dir.is_none() {
        remove_volume(docker, &record.volume).await;
        return;
    }
    let l = job_labels(rt, &record.cluster, &record.job, &record.submission_id, "files");
    if let Err(e) =
        data_volume::remove_attempt_dir(docker, image, &record.cluster, rt.owner(), &record.submission_id, &l).await
    {
        tracing::warn!(submission = %record.submission_id, error = %e, "could not remove the attempt's files");
    }
    let Some(node_id) = &record.node_id else { return };
    let others = match stage::other_nodes(docker, node_id).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(submission = %record.submission_id, error = %e, "could not list the nodes to clean up");
            return;
        }
    };
    if !others.is_empty() {
        if let Err(e) = stage::clean(docker, &stage_params(rt, record, image, node_id, &l), others.len()).await {
            tracing::warn!(submission = %record.submission_id, error = %e, "could not remove the attempt's files on the other nodes");
        }
    }
}

fn stage_params<'a>(
    rt: &'a SwarmRuntime,
    record: &'a JobRecord,
    image: &'a str,
    node_id: &'a str,
    l: &'a HashMap<String, String>,
) -> stage::StageParams<'a> {
    stage::StageParams {
        cluster: &record.cluster,
        owner: rt.owner(),
        submission_id: &record.submission_id,
        image,
        node_id,
        labels: l,
    }
}

fn observation(f: &Files, state: AttemptState) -> AttemptObservation {
    let ended = matches!(state, AttemptState::Exited(_) | AttemptState::Lost);
    let failed = !matches!(state, AttemptState::Exited(0) | AttemptState::Running);
    let exit_code = match state {
        AttemptState::Exited(c) => Some(c),
        _ => None,
    };
    let log = driver_log::inspect(&f.driver_log(), failed, exit_code);
    let started = fsutil::read_opt(&f.started())
        .ok()
        .flatten()
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|d| d.with_timezone(&Utc));
    let finished = if ended { fsutil::mtime(&f.exitcode()) } else { None };
    let results = match state {
        AttemptState::Exited(_) => f.read_results(),
        _ => Results::new(),
    };
    let error_line = if failed {
        log.error_line.or_else(|| match state {
            AttemptState::Lost => {
                Some("the driver service was never created (the operator stopped mid-submission)".into())
            }
            AttemptState::Exited(c) => Some(format!("the driver exited with code {c}")),
            _ => None,
        })
    } else {
        None
    };
    AttemptObservation {
        state,
        started,
        finished,
        spark_application_id: log.app_id,
        web_ui_url: log.web_ui_url,
        error_line,
        outputs_dir: f.outputs(),
        event_log: f.event_log(),
        spark_metrics: f.read_spark_metrics(),
        results,
        driver_log: f.driver_log(),
    }
}

pub(crate) async fn observe(rt: &SwarmRuntime, attempt_dir: &Path) -> Result<Option<AttemptObservation>, SwarmError> {
    let f = Files::new(attempt_dir);
    if !f.dir.is_dir() {
        return Ok(None);
    }
    if let Some(code) = f.read_exitcode() {
        return Ok(Some(observation(&f, AttemptState::Exited(code))));
    }
    let Some(record) = f.record() else {
        // The reconciler persisted the attempt, the submission has not written its record.
        let age = fsutil::mtime(&f.dir).map(|m| Utc::now().signed_duration_since(m).to_std().unwrap_or_default());
        let state = if age.is_some_and(|a| a < LOST_AFTER) { AttemptState::Running } else { AttemptState::Lost };
        return Ok(Some(observation(&f, state)));
    };
    let Some(target) = rt.target(&record.cluster) else {
        // The cluster (and with it every job service) was deleted.
        write(&f.exitcode(), b"-1\n")?;
        append_line(
            &f.driver_log(),
            &format!("sparkswarm: Error: the cluster {} was deleted while the job ran", record.cluster),
        );
        return Ok(Some(observation(&f, AttemptState::Exited(-1))));
    };
    let docker = rt.client(&target).await?;
    // Found by its labels (owner and submission id), as after an operator restart.
    let f_labels = labels::filter(&[(labels::SUBMISSION, &record.submission_id), (labels::OWNER, rt.owner())]);
    let opts = ListServicesOptionsBuilder::default().filters(&f_labels).build();
    let service = docker
        .list_services(Some(opts))
        .await
        .map_err(SwarmError::api("listing the driver services"))?
        .into_iter()
        .find_map(|s| s.spec.and_then(|spec| spec.name));
    let tasks = match &service {
        Some(name) => tasks_of(&docker, name).await?,
        None => Vec::new(),
    };
    let Some(task) = latest(&tasks) else {
        let exists = service.is_some();
        let young = Utc::now().signed_duration_since(record.created).to_std().map_or(true, |a| a < LOST_AFTER);
        let state = if exists || young { AttemptState::Running } else { AttemptState::Lost };
        return Ok(Some(observation(&f, state)));
    };
    if let Err(e) = fetch_logs(&docker, &record.service, &f.driver_log()).await {
        tracing::debug!(service = %record.service, error = %e, "could not read the driver's logs yet");
    }
    let Some(code) = outcome(task) else {
        return Ok(Some(observation(&f, AttemptState::Running)));
    };
    // Ended: collect everything, then record the end (the exit code file comes last, so a
    // crash in between collects again).
    if code != 0 {
        if let Some(err) = task.status.as_ref().and_then(|s| s.err.clone()).filter(|e| !e.is_empty()) {
            append_line(&f.driver_log(), &format!("sparkswarm: Error: the driver task failed: {err}"));
        }
    }
    let l = job_labels(rt, &record.cluster, &record.job, &record.submission_id, "driver");
    let image = target.service_image();
    for (sub, to) in [("outputs", f.outputs()), (crate::runtime::event_log::DIR, f.event_log_dir())] {
        if let Err(e) = collect_dir(rt, &docker, &image, &record, &l, sub, &to).await {
            tracing::warn!(service = %record.service, error = %e, "could not collect {sub}");
        }
    }
    write(&f.exitcode(), format!("{code}\n").as_bytes())?;
    cleanup(rt, &docker, &record, &target.service_image()).await;
    Ok(Some(observation(&f, AttemptState::Exited(code))))
}

/// How long the swarm may take to mark the driver's task finished after its container died.
const TASK_SETTLE: Duration = Duration::from_secs(10);
const TASK_SETTLE_STEP: Duration = Duration::from_millis(50);

/// Resolves when the driver's container dies, from the engine's event stream (the driver
/// runs on the node the operator talks to). Events are asked for since the submission, so a
/// death before the stream opened is replayed, not missed. The task's terminal state follows
/// the container's death by a moment; `observe` reads the task, so that moment is awaited
/// here rather than left to a poll.
pub(crate) async fn ended(rt: &SwarmRuntime, attempt_dir: &Path) -> Result<bool, SwarmError> {
    let f = Files::new(attempt_dir);
    if f.exitcode().exists() {
        return Ok(true);
    }
    let Some(record) = f.record() else { return Ok(false) };
    // A deleted cluster ends its jobs: observe records that at once.
    let Some(target) = rt.target(&record.cluster) else { return Ok(true) };
    let docker = rt.client(&target).await?;
    let mut filters = labels::filter(&[
        (labels::SUBMISSION, &record.submission_id),
        (labels::OWNER, rt.owner()),
        (labels::ROLE, "driver"),
    ]);
    filters.insert("type".into(), vec!["container".into()]);
    filters.insert("event".into(), vec!["die".into()]);
    let since = (record.created.timestamp() - 1).to_string();
    let opts = EventsOptionsBuilder::default().since(&since).filters(&filters).build();
    let mut events = docker.events(Some(opts));
    match events.next().await {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(SwarmError::api("watching the driver's events")(e)),
        None => return Ok(false),
    }
    let deadline = tokio::time::Instant::now() + TASK_SETTLE;
    while tokio::time::Instant::now() < deadline {
        let tasks = tasks_of(&docker, &record.service).await?;
        if latest(&tasks).and_then(outcome).is_some() || tasks.is_empty() {
            break;
        }
        tokio::time::sleep(TASK_SETTLE_STEP).await;
    }
    Ok(true)
}

fn append_line(path: &Path, line: &str) {
    use std::io::Write;
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{line}");
    }
}

pub(crate) async fn kill(rt: &SwarmRuntime, attempt_dir: &Path) -> Result<(), SwarmError> {
    let f = Files::new(attempt_dir);
    if !f.dir.is_dir() {
        return Ok(());
    }
    // Written first: a submission still in flight sees it before it creates the service.
    if !f.cancelled().exists() {
        write(&f.cancelled(), Utc::now().to_rfc3339().as_bytes())?;
    }
    let Some(record) = f.record() else { return Ok(()) };
    if f.read_exitcode().is_some() {
        return Ok(());
    }
    let Some(target) = rt.target(&record.cluster) else {
        return write(&f.exitcode(), format!("{KILLED_EXIT_CODE}\n").as_bytes());
    };
    let docker = rt.client(&target).await?;
    if let Err(e) = fetch_logs(&docker, &record.service, &f.driver_log()).await {
        tracing::debug!(service = %record.service, error = %e, "could not read the driver's logs");
    }
    cleanup(rt, &docker, &record, &target.service_image()).await;
    write(&f.exitcode(), format!("{KILLED_EXIT_CODE}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::quantity::Memory;
    use std::collections::BTreeMap;

    fn sub() -> JobSubmission {
        JobSubmission {
            job: "pi".into(),
            cluster: "demo".into(),
            submission_id: "sub-1".into(),
            attempt: 1,
            master_url: "spark://sparkswarm-demo-master:7077".into(),
            main_application_file: PathBuf::from("/apps/x/main.py"),
            arguments: vec!["$(rm -rf /)".into(), "a b".into()],
            files: vec![
                (PathBuf::from("/d/boston.csv"), "boston.csv".into()),
                (PathBuf::from("/d/s.txt"), "data/s.txt".into()),
            ],
            py_files: vec![PathBuf::from("/apps/a.py")],
            spark_conf: BTreeMap::from([("spark.x".to_string(), "1 2".to_string())]),
            env: vec![],
            secrets: vec![],
            deps: None,
            driver_cores: 1,
            driver_memory: Memory::new("512m"),
            executor_instances: 2,
            executor_cores: 1,
            executor_memory: Memory::new("1g"),
            attempt_dir: PathBuf::from("/tmp/a"),
        }
    }

    #[test]
    fn argv_points_into_the_volume() {
        let args = submit_args(&sub(), &[]).expect("args").join("|");
        assert!(args.starts_with("--master|spark://sparkswarm-demo-master:7077|--deploy-mode|client"), "{args}");
        assert!(args.contains("--executor-memory|1024m"));
        assert!(
            args.ends_with(
                "--py-files|/sparkswarm/jobs/sub-1/app/py/a.py|/sparkswarm/jobs/sub-1/app/main/main.py|$(rm -rf /)|a b"
            ),
            "{args}"
        );
        let mut dup = sub();
        dup.py_files.push(PathBuf::from("/other/a.py"));
        assert!(submit_args(&dup, &[]).is_err());
        let mut bad = sub();
        bad.files.push((PathBuf::from("/x"), "../escape".into()));
        assert!(layout(&bad).is_err());
    }

    #[test]
    fn secrets_travel_only_in_the_upload_as_a_private_file_and_deps_go_on_the_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let site = tmp.path().join("site");
        std::fs::create_dir_all(site.join("tabulate")).expect("mkdir");
        std::fs::write(site.join("tabulate/__init__.py"), "x = 1\n").expect("write");
        let mut s = sub();
        s.main_application_file = tmp.path().join("main.py");
        std::fs::write(&s.main_application_file, "print(1)\n").expect("write");
        s.files.clear();
        s.py_files.clear();
        s.deps = Some(site);
        s.secrets = vec![("DB_PASSWORD".into(), job_env::Secret::new("hunter2-secret"))];
        let python = PythonEnv::of(&s, "/sparkswarm/jobs/sub-1");
        let conf = python.vars.executor_conf();
        let args = submit_args(&s, &conf).expect("args").join(" ");
        let vars = format!("{:?}", python.vars.vars);
        for shown in [&args, &vars] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert!(args.contains("spark.executorEnv.PYTHONPATH=/sparkswarm/jobs/sub-1/pyenv:/sparkswarm/jobs/sub-1/deps"));
        assert!(args.contains("spark.executorEnv.SPARKSWARM_SECRETS_FILE=/sparkswarm/jobs/sub-1/secrets.json"));
        assert!(args.contains("spark.redaction.regex=") && args.contains("|DB_PASSWORD"), "{args}");
        let entries = layout(&s).expect("layout");
        assert!(entries.iter().any(|(_, d)| d == Path::new("deps/tabulate/__init__.py")), "{entries:?}");
        let tar = write_tar(Vec::new(), Path::new("sub-1"), &entries, &python.inline).expect("tar");
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut secret_mode = None;
        for e in archive.entries().expect("entries").flatten() {
            let path = e.path().map(|p| p.display().to_string()).unwrap_or_default();
            if path == "sub-1/secrets.json" {
                secret_mode = e.header().mode().ok();
            }
        }
        assert_eq!(secret_mode, Some(0o600));
    }

    #[tokio::test]
    async fn the_streamed_upload_is_the_whole_tar_in_bounded_chunks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let src = tmp.path().join("big.bin");
        let data: Vec<u8> = (0..3 * UPLOAD_CHUNK + 12345).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).expect("write");
        let (stream, built) = tar_stream(PathBuf::from("sub-1"), vec![(src, PathBuf::from("work/big.bin"))], vec![]);
        let chunks: Vec<tokio_util::bytes::Bytes> = stream.map(|c| c.expect("chunk")).collect().await;
        built.await.expect("join").expect("tar");
        assert!(chunks.iter().all(|c| c.len() <= UPLOAD_CHUNK), "a chunk over {UPLOAD_CHUNK} bytes");
        let whole: Vec<u8> = chunks.concat();
        let mut archive = tar::Archive::new(whole.as_slice());
        let mut found = None;
        for e in archive.entries().expect("entries") {
            let mut e = e.expect("entry");
            if e.path().map(|p| p.display().to_string()).unwrap_or_default() == "sub-1/work/big.bin" {
                let mut got = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut got).expect("read");
                found = Some(got);
            }
        }
        assert!(found == Some(data), "the file came through whole");
    }

    #[test]
    fn the_upload_holds_the_layout() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let src = tmp.path().join("in.csv");
        std::fs::write(&src, "a,b\n1,2\n").expect("write");
        let tar =
            write_tar(Vec::new(), Path::new("sub-1"), &[(src.clone(), PathBuf::from("work/data/deep/in.csv"))], &[])
                .expect("tar");
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .filter_map(|e| e.ok())
            .map(|e| e.path().map(|p| p.display().to_string()).unwrap_or_default())
            .collect();
        assert!(names.iter().any(|n| n.trim_end_matches('/') == "sub-1"), "{names:?}");
        assert!(names.iter().any(|n| n.trim_end_matches('/') == "sub-1/outputs"), "{names:?}");
        assert!(names.iter().any(|n| n.trim_end_matches('/') == "sub-1/work/data/deep"), "{names:?}");
        assert!(names.contains(&"sub-1/work/data/deep/in.csv".to_string()), "{names:?}");
    }

    #[test]
    fn task_outcomes() {
        use bollard::models::{ContainerStatus, TaskStatus};
        let t = |state, code| Task {
            status: Some(TaskStatus {
                state: Some(state),
                container_status: Some(ContainerStatus { exit_code: code, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(outcome(&t(TaskState::RUNNING, None)), None);
        assert_eq!(outcome(&t(TaskState::PENDING, None)), None);
        assert_eq!(outcome(&t(TaskState::COMPLETE, Some(0))), Some(0));
        assert_eq!(outcome(&t(TaskState::FAILED, Some(3))), Some(3));
        assert_eq!(outcome(&t(TaskState::FAILED, None)), Some(1));
        assert_eq!(outcome(&t(TaskState::REJECTED, None)), Some(-1));
        assert_eq!(outcome(&t(TaskState::SHUTDOWN, None)), Some(143));
    }
}
