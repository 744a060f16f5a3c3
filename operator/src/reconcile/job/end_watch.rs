//! The end of a running attempt as a hint. While an attempt runs, one task per attempt awaits
//! its runtime's [`JobRuntime::ended`] and then hints the job, so that the end is recorded
//! when it happens; the reconciler's requeue of a running attempt is only the safety net.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::controller::store::Key;
use crate::controller::Hint;
use crate::runtime::JobRuntime;

/// A watch that reported an end while the runtime still showed the attempt running (its
/// view lagging a moment) is armed again, a few times at most, then the poll takes over:
/// a runtime that always answers at once cannot spin the reconciler.
const MAX_ARMS: u8 = 3;

#[derive(Clone, Default)]
pub struct EndWatches(Arc<Mutex<HashMap<PathBuf, Watch>>>);

#[derive(Debug, Default)]
struct Watch {
    active: bool,
    arms: u8,
}

impl EndWatches {
    /// Starts the watch of the attempt in `dir` unless one is running or it was armed
    /// [`MAX_ARMS`] times.
    pub fn arm(&self, runtime: Arc<dyn JobRuntime>, dir: PathBuf, hints: mpsc::UnboundedSender<Hint<Key>>, key: Key) {
        {
            let mut watches = self.0.lock();
            let w = watches.entry(dir.clone()).or_default();
            if w.active || w.arms >= MAX_ARMS {
                return;
            }
            w.active = true;
            w.arms += 1;
        }
        let watches = self.clone();
        tokio::spawn(async move {
            let seen = match runtime.ended(&dir).await {
                Ok(seen) => seen,
                Err(e) => {
                    tracing::debug!(attempt = %dir.display(), error = %e, "cannot watch the attempt's end; polling");
                    false
                }
            };
            if let Some(w) = watches.0.lock().get_mut(&dir) {
                w.active = false;
            }
            if seen {
                let _ = hints.send(Hint::Now(key));
            }
        });
    }

    /// The attempt's end is recorded: nothing more to watch.
    pub fn forget(&self, dir: &Path) {
        self.0.lock().remove(dir);
    }

    /// The job is gone: forget every attempt under its directory.
    pub fn forget_under(&self, job_dir: &Path) {
        self.0.lock().retain(|dir, _| !dir.starts_with(job_dir));
    }

    #[cfg(test)]
    fn arms(&self, dir: &Path) -> Option<(bool, u8)> {
        self.0.lock().get(dir).map(|w| (w.active, w.arms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kind::Kind;
    use crate::runtime::{AttemptObservation, RuntimeFuture};

    /// Ends every attempt at once, as a runtime whose view lags would.
    struct AlwaysEnded;

    impl JobRuntime for AlwaysEnded {
        fn prepare_deps<'a>(
            &'a self,
            _: &'a crate::runtime::pydeps::DepsRequest,
        ) -> RuntimeFuture<'a, crate::runtime::pydeps::PreparedDeps> {
            Box::pin(async { Err(crate::runtime::RuntimeError::DepsFailed("no deps here".into())) })
        }
        fn submit<'a>(&'a self, _: &'a crate::runtime::JobSubmission) -> RuntimeFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
        fn observe<'a>(&'a self, _: &'a Path) -> RuntimeFuture<'a, Option<AttemptObservation>> {
            Box::pin(async { Ok(None) })
        }
        fn kill<'a>(&'a self, _: &'a Path) -> RuntimeFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
        fn ended<'a>(&'a self, _: &'a Path) -> RuntimeFuture<'a, bool> {
            Box::pin(async { Ok(true) })
        }
    }

    #[tokio::test]
    async fn an_end_is_a_hint_and_rearming_is_bounded() {
        let watches = EndWatches::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let dir = PathBuf::from("/state/jobs/a/attempts/1");
        let key = Key::Object(Kind::SparkJob, "a".into());
        for round in 1..=MAX_ARMS + 2 {
            watches.arm(Arc::new(AlwaysEnded), dir.clone(), tx.clone(), key.clone());
            if round <= MAX_ARMS {
                assert!(matches!(rx.recv().await, Some(Hint::Now(k)) if k == key), "round {round} hints the job");
                // The task marks itself done right before it hints.
                assert_eq!(watches.arms(&dir), Some((false, round)));
            }
        }
        assert!(rx.try_recv().is_err(), "no more than {MAX_ARMS} watches of one attempt");
        watches.forget_under(Path::new("/state/jobs/a"));
        assert_eq!(watches.arms(&dir), None);
    }
}
