//! What `wait` and `get -w` block on between two looks at the files: a change event in the
//! manifests directory (the operator's status write is a rename into it), with a slow poll
//! behind it for what inotify cannot see (a full event queue, a network file system). A
//! watcher that cannot be had degrades to polling, never to an error.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

/// The poll behind the events (and the only signal when there is no watcher).
const SAFETY_POLL: Duration = Duration::from_secs(2);
const POLL_WITHOUT_WATCHER: Duration = Duration::from_millis(200);

pub struct Changes {
    /// Kept alive for the events; None: polling only.
    watcher: Option<notify::RecommendedWatcher>,
    rx: mpsc::Receiver<()>,
}

impl Changes {
    pub fn watch(dir: &Path) -> Changes {
        Changes::watch_all(&[dir])
    }

    /// Changes in any of `dirs` (the manifests, and the directory of a schedule's run).
    pub fn watch_all(dirs: &[&Path]) -> Changes {
        let (tx, rx) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Access events (a reader opening a file) are not changes.
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = tx.send(());
            }
        })
        .and_then(|mut w| {
            for dir in dirs {
                w.watch(dir, RecursiveMode::NonRecursive)?;
            }
            Ok(w)
        });
        match watcher {
            Ok(w) => Changes { watcher: Some(w), rx },
            Err(e) => {
                tracing::debug!(error = %e, "no file events; polling");
                Changes { watcher: None, rx }
            }
        }
    }

    /// Returns after the next change (and whatever else arrived with it), or after at most
    /// `limit` or the safety poll, whichever comes first.
    pub fn next(&self, limit: Duration) -> bool {
        let wait = if self.watcher.is_some() { SAFETY_POLL } else { POLL_WITHOUT_WATCHER };
        let changed = self.rx.recv_timeout(wait.min(limit)).is_ok();
        while self.rx.try_recv().is_ok() {}
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_into_the_directory_is_a_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let changes = Changes::watch(dir.path());
        assert!(changes.watcher.is_some(), "inotify is available here");
        assert!(!changes.next(Duration::from_millis(50)), "nothing changed yet");
        std::fs::write(dir.path().join(".tmp"), b"status: {}\n").expect("write");
        std::fs::rename(dir.path().join(".tmp"), dir.path().join("job.yaml")).expect("rename");
        assert!(changes.next(Duration::from_secs(10)), "the status write was seen");
    }
}
