//! Reading changed files off the event loop. A file that is slow to refuse (an alias bomb, a
//! thousand documents) must not hold up the files changed after it: each one is read on the
//! blocking pool, at most one read per path at a time, and a change during a read is read
//! again once that read is in.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

/// Reads under way at most; the rest wait their turn in order. Enough that a few slow files
/// leave room for the others, few enough that ten thousand files listed at start-up are
/// not ten thousand blocking threads (and their stacks and malloc arenas).
const MAX_READS: usize = 32;

pub struct Loader<T> {
    load: Arc<dyn Fn(&Path) -> T + Send + Sync>,
    tx: mpsc::UnboundedSender<(PathBuf, T)>,
    rx: mpsc::UnboundedReceiver<(PathBuf, T)>,
    loading: HashSet<PathBuf>,
    again: HashSet<PathBuf>,
    /// Requested while [`MAX_READS`] were under way, in request order.
    waiting: VecDeque<PathBuf>,
    queued: HashSet<PathBuf>,
}

impl<T: Send + 'static> Loader<T> {
    pub fn new(load: impl Fn(&Path) -> T + Send + Sync + 'static) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Loader {
            load: Arc::new(load),
            tx,
            rx,
            loading: HashSet::new(),
            again: HashSet::new(),
            waiting: VecDeque::new(),
            queued: HashSet::new(),
        }
    }

    /// Starts reading `path`, or remembers to read it again if a read is under way.
    pub fn request(&mut self, path: PathBuf) {
        if self.loading.contains(&path) {
            self.again.insert(path);
            return;
        }
        if self.queued.contains(&path) {
            // Its read has not started: it will see this change too.
            return;
        }
        if self.loading.len() >= MAX_READS {
            self.queued.insert(path.clone());
            self.waiting.push_back(path);
            return;
        }
        self.start(path);
    }

    fn start(&mut self, path: PathBuf) {
        self.loading.insert(path.clone());
        let (load, tx) = (self.load.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let loaded = load(&path);
            let _ = tx.send((path, loaded));
        });
    }

    /// Whether a read of `path` is under way or waiting (its result will come through
    /// [`Self::next`]).
    pub fn is_loading(&self, path: &Path) -> bool {
        self.loading.contains(path) || self.queued.contains(path)
    }

    /// The next finished read, in the order they finish.
    pub async fn next(&mut self) -> Option<(PathBuf, T)> {
        let (path, loaded) = self.rx.recv().await?;
        self.loading.remove(&path);
        if self.again.remove(&path) {
            self.request(path.clone());
        }
        while self.loading.len() < MAX_READS {
            let Some(next) = self.waiting.pop_front() else { break };
            self.queued.remove(&next);
            self.start(next);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_beyond_the_bound_wait_and_all_come_in_once() {
        let at_once = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (now, top) = (at_once.clone(), most.clone());
        let mut loader = Loader::new(move |path: &Path| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            top.fetch_max(n, Ordering::SeqCst);
            std::thread::yield_now();
            now.fetch_sub(1, Ordering::SeqCst);
            path.to_path_buf()
        });
        let files = 4 * MAX_READS;
        for i in 0..files {
            loader.request(PathBuf::from(format!("/m/{i}.yaml")));
            if i >= MAX_READS {
                // Asked twice while waiting (not yet read): still read once.
                loader.request(PathBuf::from(format!("/m/{i}.yaml")));
            }
        }
        assert!(
            loader.is_loading(Path::new("/m/0.yaml"))
                && loader.is_loading(Path::new(&format!("/m/{}.yaml", files - 1)))
        );
        let mut seen = HashSet::new();
        while seen.len() < files {
            let (path, _) = loader.next().await.expect("a read");
            assert!(seen.insert(path.clone()), "{} read twice", path.display());
        }
        assert!(most.load(Ordering::SeqCst) <= MAX_READS);
        assert!(!loader.is_loading(Path::new("/m/0.yaml")));
    }
}
