//! File-system events as hints. Nothing here decides anything: an event only says "look at
//! this file again"; overflow or a watcher error says "look at everything again".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

pub mod debounce;
pub mod loader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The file was created, changed, renamed or removed.
    Changed(PathBuf),
    /// Events may have been lost: re-read the whole directory.
    Relist,
}

/// Keeps the watch alive; dropping it stops watching (and the debounce thread with it).
pub struct ManifestWatcher {
    _watcher: RecommendedWatcher,
}

/// Debounce window: an editor's save (write temp, rename, chmod) arrives as one hint, yet
/// well inside the 50 ms budget from a file's close to its status being written.
const DEBOUNCE: Duration = Duration::from_millis(10);
/// A file written to without a pause of `DEBOUNCE` is looked at after this all the same.
const LONGEST_WAIT: Duration = Duration::from_millis(100);
/// The shortest time between two hand-ons: a burst of writes wakes the debounce thread and
/// the manager a few hundred times a second, not twice per write.
const GATHER: Duration = Duration::from_millis(2);

pub fn start(dir: &Path, tx: mpsc::UnboundedSender<WatchEvent>) -> notify::Result<ManifestWatcher> {
    let watched = dir.to_path_buf();
    let (paths_tx, paths_rx) = std::sync::mpsc::channel::<(PathBuf, Instant)>();
    let relist = tx.clone();
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| match result {
        Ok(event) if event.need_rescan() => {
            let _ = relist.send(WatchEvent::Relist);
        }
        Ok(event) if is_change(&event.kind) => {
            let seen = Instant::now();
            for path in event.paths {
                if is_manifest_path(&watched, &path) {
                    let _ = paths_tx.send((path, seen));
                }
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "watcher error; relisting");
            let _ = relist.send(WatchEvent::Relist);
        }
    })?;
    std::thread::Builder::new()
        .name("watch-debounce".into())
        .spawn(move || debounce_paths(&paths_rx, &tx))
        .map_err(notify::Error::io)?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(ManifestWatcher { _watcher: watcher })
}

/// Hands on each changed path once it is due; ends when the watcher is dropped.
///
/// While paths wait, the thread sleeps until the first is due rather than waking for every
/// event (a status write alone makes two): an event only ever makes a due time later, and it
/// carries the time it was seen. Paths due within `GATHER` of each other go on together.
fn debounce_paths(rx: &std::sync::mpsc::Receiver<(PathBuf, Instant)>, tx: &mpsc::UnboundedSender<WatchEvent>) {
    use std::sync::mpsc::TryRecvError;
    let mut pending = debounce::Pending::new(DEBOUNCE, LONGEST_WAIT);
    let mut handed_on: Option<Instant> = None;
    loop {
        match pending.wake_at(handed_on, GATHER) {
            None => match rx.recv() {
                Ok((path, seen)) => pending.note(path, seen),
                Err(_) => return,
            },
            Some(wake) => std::thread::sleep(wake.saturating_duration_since(Instant::now())),
        }
        loop {
            match rx.try_recv() {
                Ok((path, seen)) => pending.note(path, seen),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    send_all(tx, pending.take_all());
                    return;
                }
            }
        }
        let now = Instant::now();
        let due = pending.take_due(now);
        if !due.is_empty() {
            handed_on = Some(now);
        }
        if !send_all(tx, due) {
            return;
        }
    }
}

/// False once nobody listens.
fn send_all(tx: &mpsc::UnboundedSender<WatchEvent>, paths: Vec<PathBuf>) -> bool {
    for path in paths {
        crate::metrics::watch_event();
        if tx.send(WatchEvent::Changed(path)).is_err() {
            return false;
        }
    }
    true
}

/// Whether an event can mean new content. Opening or reading a file is not a change, and
/// must not count as one: every reconcile reads its file, and would wake itself forever.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Only the directory's own top-level manifests: not `examples/`, not editors' swap and
/// backup files, not our own temp files.
fn is_manifest_path(dir: &Path, path: &Path) -> bool {
    path.parent() == Some(dir)
        && path.file_name().and_then(|n| n.to_str()).is_some_and(crate::manifest::scan::is_manifest_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_change(&EventKind::Modify(notify::event::ModifyKind::Any)));
        assert!(is_change(&EventKind::Remove(notify::event::RemoveKind::File)));
    }

    #[test]
    fn filters_to_top_level_manifests() {
        let dir = Path::new("/m");
        assert!(is_manifest_path(dir, Path::new("/m/job.yaml")));
        assert!(is_manifest_path(dir, Path::new("/m/job.yml")));
        assert!(!is_manifest_path(dir, Path::new("/m/examples/job.yaml")));
        assert!(!is_manifest_path(dir, Path::new("/m/.job.yaml.swp")));
        assert!(!is_manifest_path(dir, Path::new("/m/job.yaml~")));
        assert!(!is_manifest_path(dir, Path::new("/m/.x.sparkswarm-tmp")));
    }
}
