//! The operator process: takes the lock, loads the directory, watches it, runs the
//! controller, resyncs, and stops cleanly on SIGINT/SIGTERM. Clusters and running drivers
//! are separate process groups and keep running; the next start adopts them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::job::JobPhase;
use crate::api::Kind;
use crate::controller::backoff::Backoff;
use crate::controller::store::{stamp_of, Key, Store, Update};
use crate::controller::{self, Hint};
use crate::manifest::{document, paths::Roots, scan};
use crate::reconcile::{self, Context};
use crate::runtime::Runtimes;
use crate::state::events::Recorder;
use crate::state::generations::Generations;
use crate::state::lock::{LockError, OperatorLock};
use crate::state::StateDir;
use crate::watch::loader::Loader;
use crate::watch::{self, WatchEvent};

#[derive(Debug, Clone)]
pub struct Config {
    pub manifests: PathBuf,
    pub state_dir: PathBuf,
    pub metrics_addr: Option<SocketAddr>,
    pub allow_roots: Vec<PathBuf>,
    pub exit_when_done: bool,
    pub concurrency: usize,
    /// How often the directory is re-listed (by mtime and size) in case events were missed.
    pub resync: Duration,
}

impl Config {
    pub fn new(manifests: PathBuf, state_dir: PathBuf) -> Self {
        Config {
            manifests,
            state_dir,
            metrics_addr: None,
            allow_roots: vec![],
            exit_when_done: false,
            concurrency: DEFAULT_CONCURRENCY,
            resync: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("manifests directory {0}: {1}")]
    Manifests(PathBuf, std::io::Error),
    #[error("state directory {0}: {1}")]
    State(PathBuf, std::io::Error),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot watch {0}: {1}")]
    Watch(PathBuf, notify::Error),
    #[error("metrics address {0}: {1}")]
    Metrics(SocketAddr, std::io::Error),
}

/// How a `run` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stopped by a signal.
    Stopped,
    /// `--exit-when-done`: every job finished; `failed` of them Failed.
    Done { succeeded: usize, failed: usize },
}

pub async fn run(cfg: Config, progress: Arc<dyn Fn(&str) + Send + Sync>) -> Result<Outcome, ManagerError> {
    // Before anything else: a SIGTERM or SIGINT from now on stops the operator cleanly
    // instead of killing it with the default action.
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let manifests = cfg.manifests.canonicalize().map_err(|e| ManagerError::Manifests(cfg.manifests.clone(), e))?;
    if !manifests.is_dir() {
        return Err(ManagerError::Manifests(manifests, std::io::Error::other("not a directory")));
    }
    let state = StateDir::create(&cfg.state_dir).map_err(|e| ManagerError::State(cfg.state_dir.clone(), e))?;
    let _lock = OperatorLock::acquire(&manifests, &state.lock_file())?;
    let roots = Roots::for_manifests(&manifests, &cfg.allow_roots)
        .map_err(|e| ManagerError::Manifests(manifests.clone(), e))?;
    let generations = Generations::load(&state).map_err(|e| ManagerError::State(state.root().to_path_buf(), e))?;

    let shutdown = CancellationToken::new();
    if let Some(addr) = cfg.metrics_addr {
        let bound = crate::metrics::serve(addr, shutdown.clone()).await.map_err(|e| ManagerError::Metrics(addr, e))?;
        tracing::info!(%bound, "serving /metrics and /healthz");
    }

    let (hint_tx, hint_rx) = mpsc::unbounded_channel::<Hint<Key>>();
    let ctx = Arc::new(Context {
        manifests: manifests.clone(),
        state: state.clone(),
        roots,
        store: Mutex::new(Store::default()),
        generations: Mutex::new(generations),
        events: Recorder::new(state.clone()),
        status: Default::default(),
        runtimes: Runtimes::new(state.root().to_path_buf(), progress),
        hints: hint_tx.clone(),
        job_phases: Mutex::new(Default::default()),
        end_watches: Default::default(),
    });

    // Watch before listing, so nothing that changes during the first list is missed.
    let (watch_tx, mut watch_rx) = mpsc::unbounded_channel();
    let _watcher = watch::start(&manifests, watch_tx).map_err(|e| ManagerError::Watch(manifests.clone(), e))?;
    relist(&ctx, false, |_| false);
    hint_orphans(&ctx).await;
    tracing::info!(manifests = %manifests.display(), state = %state.root().display(), "operator started");

    let controller = {
        let ctx = ctx.clone();
        tokio::spawn(controller::run(
            hint_rx,
            move |key| reconcile::reconcile(ctx.clone(), key),
            reconcile::error_policy,
            Backoff::default(),
            cfg.concurrency,
            shutdown.clone(),
        ))
    };

    let mut resync = tokio::time::interval(cfg.resync);
    resync.tick().await;
    let mut flush = tokio::time::interval(Duration::from_secs(1));
    let mut done_check = tokio::time::interval(Duration::from_millis(250));
    // File events are read off the loop, so that a file slow to refuse holds up no other.
    let mut loader = {
        let status = ctx.status.clone();
        Loader::new(move |path: &Path| load(&status, path))
    };
    let outcome = loop {
        tokio::select! {
            _ = async { match sigint.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => break Outcome::Stopped,
            _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => break Outcome::Stopped,
            Some(event) = watch_rx.recv() => match event {
                WatchEvent::Changed(path) => loader.request(path),
                WatchEvent::Relist => relist(&ctx, false, |p| loader.is_loading(p)),
            },
            Some((path, loaded)) = loader.next() => apply(&ctx, &path, loaded),
            _ = resync.tick() => relist(&ctx, true, |p| loader.is_loading(p)),
            _ = flush.tick() => {
                flush_generations(&ctx);
                let (batches, writes) = ctx.status.batches();
                crate::metrics::status_batches(batches, writes);
            }
            _ = done_check.tick(), if cfg.exit_when_done => {
                if let Some(done) = all_jobs_done(&ctx) {
                    break done;
                }
            }
        }
    };
    tracing::info!("stopping: clusters and running drivers keep running and are adopted on the next start");
    shutdown.cancel();
    let _ = controller.await;
    flush_generations(&ctx);
    Ok(outcome)
}

/// What reading a changed file found.
enum Loaded {
    /// The echo of our own status write, parsed all the same.
    OwnWrite(document::ManifestFile),
    /// `None`: the file is gone.
    Read(Option<Result<document::ManifestFile, document::ParseError>>),
}

fn load(status: &crate::manifest::StatusWriter, path: &Path) -> Loaded {
    let bytes = match document::read_bytes(path) {
        Ok(bytes) => bytes,
        Err(_) if !path.exists() => return Loaded::Read(None),
        Err(e) => return Loaded::Read(Some(Err(e))),
    };
    if let Some(file) = status.take_echo(path, &bytes) {
        // Parsed when it was written; it stands for itself like any read.
        return Loaded::OwnWrite(file);
    }
    if status.is_own_write(path, &bytes) {
        // Our write may have landed on a user's edit (the writer re-reads and splices into
        // the new text when the file changed under it): the bytes are ours, the spec is
        // theirs. Only a reflector that finds no document changed may skip the reconcile.
        return match document::parse_bytes(path, bytes) {
            Ok(file) => Loaded::OwnWrite(file),
            Err(e) => Loaded::Read(Some(Err(e))),
        };
    }
    Loaded::Read(Some(document::parse_bytes(path, bytes)))
}

/// Re-reads one file into the reflector and hints the objects that changed.
fn refresh(ctx: &Context, path: &Path) {
    apply(ctx, path, load(&ctx.status, path));
}

fn apply(ctx: &Context, path: &Path, loaded: Loaded) {
    let (parsed, own) = match loaded {
        // The documents' hashes tell whether anything but a status changed: `update` hints
        // only the objects whose spec or identity did.
        Loaded::OwnWrite(file) => (Some(Ok(file)), true),
        Loaded::Read(parsed) => (parsed, false),
    };
    if let Some(Err(e)) = &parsed {
        tracing::warn!(path = %path.display(), "{e}");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        ctx.events.warning("File", &name, e.reason(), e.to_string());
    }
    let (keys, gone): (Vec<Key>, Vec<bool>) = {
        let update = Update::of(path, parsed.as_ref());
        let mut store = ctx.store.lock();
        let keys = store.apply(path, update);
        let gone = keys
            .iter()
            .map(|key| matches!(key, Key::Object(kind, name) if store.locations(*kind, name).is_empty()))
            .collect();
        (keys, gone)
    };
    if keys.is_empty() {
        // The echo of a status write, a touch: nothing to validate or hint.
        return;
    }
    let invalid = invalid_objects(path, parsed.as_ref());
    match parsed {
        // The reconciles hinted below read the file again; the same bytes need no new parse.
        // Not the echo of a write: its positions may be those of the text before the status
        // (`ManifestFile::with_values`), and a reconcile names fields by line.
        Some(Ok(file)) if !own => ctx.status.loaded.offer(path, file),
        _ => {}
    }
    for (key, gone) in keys.into_iter().zip(gone) {
        if gone {
            // An editor that truncates and rewrites in place makes an object vanish for an
            // instant; deleting is destructive, so look again once the write has settled.
            let _ = ctx.hints.send(Hint::After(key, DELETE_GRACE));
        } else if matches!(&key, Key::Document(..)) || invalid.contains(&key) {
            let _ = ctx.hints.send(Hint::Low(key));
        } else {
            ctx.hint(key);
        }
    }
}

/// The objects of a file that fail validation: they only need their `Valid=False`, which
/// can wait behind good objects (the reconcile validates again; this only picks the lane).
fn invalid_objects(path: &Path, parsed: Option<&Result<document::ManifestFile, document::ParseError>>) -> Vec<Key> {
    let Some(Ok(file)) = parsed else { return Vec::new() };
    file.docs
        .iter()
        .filter(|d| crate::manifest::validate(path, d).is_err())
        .filter_map(|d| Some(Key::Object(d.kind().and_then(Kind::from_kind_field)?, d.name()?.to_string())))
        .collect()
}

/// Reconciles at once. Most of a reconcile's time is spent waiting (a status write for its
/// group commit, a runtime's API), and a status write waiting for its batch holds its slot:
/// the slots bound the batches. 3,000 job files got their statuses in 4.3 s with 64 slots,
/// 8.2 s with 16 (BENCHMARKS.md, issue 15).
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How long an object must stay gone from its file before its deletion is acted on.
const DELETE_GRACE: Duration = Duration::from_secs(2);

/// Re-lists the directory: files gone from disk are removed, new or (with `by_stamp`)
/// changed ones re-read. Without `by_stamp` every file is re-read. A file being read by the
/// loader is left to it: its result, or the read after it, is at least as new.
fn relist(ctx: &Context, by_stamp: bool, being_read: impl Fn(&Path) -> bool) {
    let listed = match scan::list_files(&ctx.manifests) {
        // A schedule's runs are SparkJobs too, written by the operator under the state dir.
        Ok(mut files) => {
            files.extend(ctx.state.all_run_files());
            files
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the manifests directory");
            return;
        }
    };
    for name in scan::non_utf8_names(&ctx.manifests) {
        ctx.events.warning(
            "File",
            &name,
            "NonUtf8Name",
            format!("{name}: the file name is not UTF-8; the file is not read"),
        );
    }
    let known = ctx.store.lock().paths();
    let on_disk: std::collections::HashSet<&PathBuf> = listed.iter().collect();
    for path in &known {
        if !on_disk.contains(path) && !being_read(path) {
            refresh(ctx, path);
        }
    }
    let stale: Vec<&PathBuf> = listed
        .iter()
        .filter(|path| {
            let unchanged = by_stamp && ctx.store.lock().stamp(path).is_some_and(|s| Some(s) == stamp_of(path));
            !unchanged && !being_read(path)
        })
        .collect();
    refresh_all(ctx, &stale);
}

/// Re-reads many files on as many threads as there are cores (up to 4): on one thread, the
/// start-up read and parse of 10,000 files left the other core idle for most of a second.
/// Each file goes into the reflector as it is read; the order does not matter, the path
/// order of duplicates is the store's own.
fn refresh_all(ctx: &Context, paths: &[&PathBuf]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if threads < 2 || paths.len() < 64 {
        paths.iter().for_each(|path| refresh(ctx, path));
        return;
    }
    let share = |t: usize| paths.iter().skip(t).step_by(threads).for_each(|path| refresh(ctx, path));
    std::thread::scope(|scope| {
        for t in 0..threads {
            if let Err(e) = std::thread::Builder::new().name("relist".into()).spawn_scoped(scope, move || share(t)) {
                tracing::debug!(error = %e, "cannot start a relist thread; reading its share here");
                share(t);
            }
        }
    });
}

/// What the operator created for objects whose files are gone (deleted while it was
/// down) is cleaned up by reconciling those objects.
async fn hint_orphans(ctx: &Context) {
    let known: Vec<String> = ctx.generations.lock().keys().cloned().collect();
    for key in known {
        if let Some((kind, name)) = key.split_once('/') {
            if let Some(kind) = Kind::from_kind_field(kind) {
                ctx.hint(Key::Object(kind, name.to_string()));
            }
        }
    }
    for (kind, rt) in ctx.runtimes.all_clusters() {
        match rt.list().await {
            Ok(clusters) => {
                for name in clusters {
                    ctx.hint(Key::Object(Kind::SparkCluster, name));
                }
            }
            Err(e) => tracing::warn!(runtime = %kind, error = %e, "cannot list the runtime's clusters"),
        }
    }
    if let Ok(entries) = std::fs::read_dir(ctx.state.root().join("jobs")) {
        for e in entries.flatten() {
            if let Some(name) = e.file_name().to_str() {
                ctx.hint(Key::Object(Kind::SparkJob, name.to_string()));
            }
        }
    }
}

fn flush_generations(ctx: &Context) {
    // Copied under the lock, written outside it: reconciles wait on that lock.
    let Some(changes) = ctx.generations.lock().take_changes() else { return };
    if let Err(e) = changes.write() {
        ctx.generations.lock().mark_dirty();
        tracing::warn!(error = %e, "cannot persist generations");
    }
}

/// Schedules never end, and their runs do not hold up the exit: it counts the jobs the
/// user wrote.
fn all_jobs_done(ctx: &Context) -> Option<Outcome> {
    let names = ctx.store.lock().user_job_names();
    if names.is_empty() {
        return None;
    }
    let phases = ctx.job_phases.lock();
    let mut succeeded = 0;
    let mut failed = 0;
    for n in &names {
        match phases.get(n) {
            Some(JobPhase::Succeeded) => succeeded += 1,
            Some(JobPhase::Failed) => failed += 1,
            _ => return None,
        }
    }
    Some(Outcome::Done { succeeded, failed })
}
