//! Reading changed files off the event loop. A file that is slow to refuse (an alias bomb, a
//! thousand documents) must not hold up the files changed after it: each one is read on the
//! blocking pool, at most one read per path at a time, and a change during a read is read
//! again once that read is in.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

pub struct Loader<T> {
    load: Arc<dyn Fn(&Path) -> T + Send + Sync>,
    tx: mpsc::UnboundedSender<(PathBuf, T)>,
    rx: mpsc::UnboundedReceiver<(PathBuf, T)>,
    loading: HashSet<PathBuf>,
    again: HashSet<PathBuf>,
}

impl<T: Send + 'static> Loader<T> {
    pub fn new(load: impl Fn(&Path) -> T + Send + Sync + 'static) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Loader { load: Arc::new(load), tx, rx, loading: HashSet::new(), again: HashSet::new() }
    }

    /// Starts reading `path`, or remembers to read it again if a read is under way.
    pub fn request(&mut self, path: PathBuf) {
        if self.loading.contains(&path) {
            self.again.insert(path);
            return;
        }
        self.loading.insert(path.clone());
        let (load, tx) = (self.load.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let loaded = load(&path);
            let _ = tx.send((path, loaded));
        });
    }

    /// Whether a read of `path` is under way (its result will come through [`Self::next`]).
    pub fn is_loading(&self, path: &Path) -> bool {
        self.loading.contains(path)
    }

    /// The next finished read, in the order they finish.
    pub async fn next(&mut self) -> Option<(PathBuf, T)> {
        let (path, loaded) = self.rx.recv().await?;
        self.loading.remove(&path);
        if self.again.remove(&path) {
            self.request(path.clone());
        }
        Some((path, loaded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_file_does_not_hold_up_the_next_and_a_change_during_a_read_is_read_again() {
        // The bomb's first read stays stuck until the good file is in.
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let stuck = std::sync::Mutex::new(Some(stuck));
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = reads.clone();
        let mut loader = Loader::new(move |path: &Path| {
            counted.fetch_add(1, Ordering::SeqCst);
            if path.ends_with("bomb.yaml") {
                let first = stuck.lock().map(|mut s| s.take()).ok().flatten();
                if let Some(rx) = first {
                    let _ = rx.recv();
                }
            }
            path.display().to_string()
        });
        loader.request(PathBuf::from("/m/bomb.yaml"));
        loader.request(PathBuf::from("/m/bomb.yaml"));
        loader.request(PathBuf::from("/m/good.yaml"));
        assert!(loader.is_loading(Path::new("/m/bomb.yaml")));
        assert_eq!(loader.next().await.map(|r| r.1).as_deref(), Some("/m/good.yaml"));
        release.send(()).expect("release");
        assert_eq!(loader.next().await.map(|r| r.1).as_deref(), Some("/m/bomb.yaml"));
        assert_eq!(loader.next().await.map(|r| r.1).as_deref(), Some("/m/bomb.yaml"));
        assert_eq!(reads.load(Ordering::SeqCst), 3);
        assert!(!loader.is_loading(Path::new("/m/bomb.yaml")));
    }
}
