//! File-system events as hints. Nothing here decides anything: an event only says "look at
//! this file again"; overflow or a watcher error says "look at everything again".

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use tokio::sync::mpsc;

pub mod loader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The file was created, changed, renamed or removed.
    Changed(PathBuf),
    /// Events may have been lost: re-read the whole directory.
    Relist,
}

/// Keeps the watch alive; dropping it stops watching.
pub struct ManifestWatcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Debounce window: an editor's save (write temp, rename, chmod) arrives as one hint, yet
/// well inside the 50 ms budget from a file's close to its status being written.
const DEBOUNCE: Duration = Duration::from_millis(10);

pub fn start(dir: &Path, tx: mpsc::UnboundedSender<WatchEvent>) -> notify::Result<ManifestWatcher> {
    let watched = dir.to_path_buf();
    let mut debouncer =
        new_debouncer(DEBOUNCE, Some(Duration::from_millis(5)), move |result: DebounceEventResult| match result {
            Ok(events) => {
                for event in events {
                    if !is_change(&event.kind) {
                        continue;
                    }
                    if event.need_rescan() {
                        let _ = tx.send(WatchEvent::Relist);
                        continue;
                    }
                    for path in &event.paths {
                        if is_manifest_path(&watched, path) {
                            crate::metrics::watch_event();
                            let _ = tx.send(WatchEvent::Changed(path.clone()));
                        }
                    }
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "watcher error; relisting");
                }
                let _ = tx.send(WatchEvent::Relist);
            }
        })?;
    debouncer.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(ManifestWatcher { _debouncer: debouncer })
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
