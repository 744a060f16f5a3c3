//! The runner: turns hints into reconciles. Invariants: one reconcile per key at a time (a
//! hint for a running key is remembered and served right after), at most `concurrency`
//! reconciles at once, a failed reconcile is looked at again when `error_policy` says, and a
//! panicking reconcile is contained and retried with backoff.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::{Debug, Display};
use std::future::Future;
use std::hash::Hash;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::scheduler::Scheduler;

/// What a reconcile asks for next, as kube-runtime's `Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Look again after this long, even if nothing changes.
    Requeue(Duration),
    /// Nothing to do until something changes.
    AwaitChange,
}

/// A request to reconcile a key, now or later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint<K> {
    Now(K),
    After(K, Duration),
    /// Now, behind every other due key: a document known to be invalid only needs its
    /// `Valid=False`, and a directory full of them must not hold up a good file.
    Low(K),
}

enum Outcome<E> {
    Done(Result<Action, E>),
    Panicked(String),
}

/// Runs until `shutdown` is cancelled, then waits for the reconciles under way to finish
/// (they may be in the middle of a file write) and returns.
pub async fn run<K, R, Fut, E, P>(
    mut hints: mpsc::UnboundedReceiver<Hint<K>>,
    reconcile: R,
    error_policy: P,
    backoff: Backoff,
    concurrency: usize,
    shutdown: CancellationToken,
) where
    K: Clone + Eq + Hash + Debug + Send + 'static,
    R: Fn(K) -> Fut,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
    E: Display + Send + 'static,
    P: Fn(&E, u32) -> Action,
{
    let concurrency = concurrency.max(1);
    let mut scheduler: Scheduler<K> = Scheduler::default();
    let mut ready: VecDeque<K> = VecDeque::new();
    let mut ready_low: VecDeque<K> = VecDeque::new();
    let mut low: HashSet<K> = HashSet::new();
    // Low keys never take the last slot, so a good key finds one free at once.
    let low_slots = if concurrency > 1 { concurrency - 1 } else { 1 };
    let mut running_low: HashSet<K> = HashSet::new();
    let mut queued: HashSet<K> = HashSet::new();
    let mut running: HashSet<K> = HashSet::new();
    let mut rerun: HashSet<K> = HashSet::new();
    let mut failures: HashMap<K, u32> = HashMap::new();
    let mut tasks: JoinSet<(K, Outcome<E>)> = JoinSet::new();
    let mut hints_open = true;

    loop {
        while running.len() < concurrency {
            let key = match ready.pop_front() {
                Some(key) => key,
                None if running_low.len() < low_slots => match ready_low.pop_front() {
                    Some(key) => {
                        running_low.insert(key.clone());
                        key
                    }
                    None => break,
                },
                None => break,
            };
            queued.remove(&key);
            if running.contains(&key) {
                rerun.insert(key);
                continue;
            }
            running.insert(key.clone());
            let fut = AssertUnwindSafe(reconcile(key.clone())).catch_unwind();
            tasks.spawn(async move {
                let outcome = match fut.await {
                    Ok(result) => Outcome::Done(result),
                    Err(panic) => Outcome::Panicked(panic_message(&panic)),
                };
                (key, outcome)
            });
        }

        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let Ok((key, outcome)) = joined else { continue };
                running.remove(&key);
                running_low.remove(&key);
                let now = Instant::now();
                match outcome {
                    Outcome::Done(Ok(action)) => {
                        failures.remove(&key);
                        if let Action::Requeue(after) = action {
                            scheduler.schedule(key.clone(), now + after);
                        }
                    }
                    Outcome::Done(Err(error)) => {
                        let n = failures.entry(key.clone()).or_insert(0);
                        *n += 1;
                        match error_policy(&error, *n) {
                            Action::Requeue(delay) => {
                                tracing::warn!(key = ?key, failures = *n, retry_in = ?delay, "reconcile failed: {error}");
                                scheduler.schedule(key.clone(), now + delay);
                            }
                            Action::AwaitChange => {
                                tracing::warn!(key = ?key, "reconcile failed, waiting for a change: {error}");
                            }
                        }
                    }
                    Outcome::Panicked(message) => {
                        let n = failures.entry(key.clone()).or_insert(0);
                        *n += 1;
                        let delay = backoff.delay(*n);
                        tracing::error!(key = ?key, retry_in = ?delay, "reconcile panicked: {message}");
                        scheduler.schedule(key.clone(), now + delay);
                    }
                }
                if rerun.remove(&key) {
                    scheduler.schedule(key, now);
                }
            }
            hint = hints.recv(), if hints_open => match hint {
                Some(Hint::Now(key)) => {
                    low.remove(&key);
                    scheduler.schedule(key, Instant::now());
                }
                Some(Hint::After(key, after)) => scheduler.schedule(key, Instant::now() + after),
                Some(Hint::Low(key)) => {
                    if !scheduler.contains(&key) && !queued.contains(&key) {
                        low.insert(key.clone());
                    }
                    scheduler.schedule(key, Instant::now());
                }
                None => hints_open = false,
            },
            key = std::future::poll_fn(|cx| scheduler.poll_expired(cx)) => {
                let is_low = low.remove(&key);
                if running.contains(&key) {
                    rerun.insert(key);
                } else if queued.insert(key.clone()) {
                    if is_low {
                        ready_low.push_back(key);
                    } else {
                        ready.push_back(key);
                    }
                }
            }
        }
    }

    while tasks.join_next().await.is_some() {}
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// Many hints for one key while it reconciles: never two at once, and the last hint
    /// is not lost (a rerun follows).
    #[tokio::test]
    async fn one_reconcile_per_key_and_no_lost_hint() {
        let (tx, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let active = Arc::new(AtomicUsize::new(0));
        let max_active = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<usize>();
        let gate = Arc::new(tokio::sync::Notify::new());
        let runner = {
            let (active, max_active, calls, gate) = (active.clone(), max_active.clone(), calls.clone(), gate.clone());
            tokio::spawn(run(
                rx,
                move |_k: &'static str| {
                    let (active, max_active, calls, gate, done_tx) =
                        (active.clone(), max_active.clone(), calls.clone(), gate.clone(), done_tx.clone());
                    async move {
                        let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                        max_active.fetch_max(now, Ordering::SeqCst);
                        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                        if n == 1 {
                            gate.notified().await;
                        }
                        active.fetch_sub(1, Ordering::SeqCst);
                        let _ = done_tx.send(n);
                        Ok::<_, String>(Action::AwaitChange)
                    }
                },
                |_: &String, _| Action::AwaitChange,
                Backoff::default(),
                4,
                shutdown.clone(),
            ))
        };
        tx.send(Hint::Now("a")).unwrap();
        // Wait until the first reconcile is inside, then pile on hints.
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..10 {
            tx.send(Hint::Now("a")).unwrap();
        }
        // The test runtime is single-threaded: yielding lets the runner take every hint
        // while the first reconcile is still parked on the gate.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        assert_eq!(done_rx.recv().await, Some(1));
        assert_eq!(done_rx.recv().await, Some(2), "the hints during the run cause one rerun");
        shutdown.cancel();
        runner.await.unwrap();
        assert_eq!(max_active.load(Ordering::SeqCst), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "ten hints collapse into one rerun");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_back_off_then_success_resets() {
        let (tx, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let times = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let backoff = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(60) };
        let runner = {
            let times = times.clone();
            tokio::spawn(run(
                rx,
                move |_k: u8| {
                    let times = times.clone();
                    async move {
                        let mut t = times.lock().unwrap();
                        t.push(Instant::now() - start);
                        if t.len() < 3 {
                            Err("boom".to_string())
                        } else {
                            Ok(Action::AwaitChange)
                        }
                    }
                },
                move |_: &String, n| Action::Requeue(backoff.delay(n)),
                backoff,
                1,
                shutdown.clone(),
            ))
        };
        tx.send(Hint::Now(1)).unwrap();
        while times.lock().unwrap().len() < 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shutdown.cancel();
        runner.await.unwrap();
        let t = times.lock().unwrap().clone();
        assert!(t[1] - t[0] >= Duration::from_millis(500) && t[1] - t[0] <= Duration::from_millis(1100), "{t:?}");
        assert!(t[2] - t[1] >= Duration::from_millis(1000) && t[2] - t[1] <= Duration::from_millis(2100), "{t:?}");
    }

    #[tokio::test]
    async fn a_panic_is_contained_and_retried() {
        let (tx, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<()>();
        let runner = {
            let calls = calls.clone();
            tokio::spawn(run(
                rx,
                move |_k: u8| {
                    let (calls, done_tx) = (calls.clone(), done_tx.clone());
                    async move {
                        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                            panic!("bad input");
                        }
                        let _ = done_tx.send(());
                        Ok::<_, String>(Action::AwaitChange)
                    }
                },
                |_: &String, _| Action::AwaitChange,
                Backoff { base: Duration::from_millis(10), max: Duration::from_millis(20) },
                1,
                shutdown.clone(),
            ))
        };
        tx.send(Hint::Now(7)).unwrap();
        done_rx.recv().await;
        shutdown.cancel();
        runner.await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
