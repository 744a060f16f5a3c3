//! A deduplicated delay queue: each key is scheduled at most once, at the earliest time
//! anyone asked for, so a burst of events for one object becomes one reconcile.

use std::collections::HashMap;
use std::hash::Hash;
use std::task::{Context, Poll};

use tokio::time::Instant;
use tokio_util::time::{delay_queue, DelayQueue};

pub struct Scheduler<K> {
    queue: DelayQueue<K>,
    entries: HashMap<K, (delay_queue::Key, Instant)>,
}

impl<K: Clone + Eq + Hash> Default for Scheduler<K> {
    fn default() -> Self {
        Scheduler { queue: DelayQueue::new(), entries: HashMap::new() }
    }
}

impl<K: Clone + Eq + Hash> Scheduler<K> {
    /// Schedules `key` at `at`, or earlier if it is already scheduled earlier.
    pub fn schedule(&mut self, key: K, at: Instant) {
        match self.entries.get_mut(&key) {
            Some((qkey, when)) => {
                if at < *when {
                    self.queue.reset_at(qkey, at);
                    *when = at;
                }
            }
            None => {
                let qkey = self.queue.insert_at(key.clone(), at);
                self.entries.insert(key, (qkey, at));
            }
        }
    }

    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next due key; Pending while none is due (and when the queue is empty).
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<K> {
        match self.queue.poll_expired(cx) {
            Poll::Ready(Some(expired)) => {
                let key = expired.into_inner();
                self.entries.remove(&key);
                Poll::Ready(key)
            }
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn keeps_one_entry_per_key_at_the_earliest_time() {
        let mut s = Scheduler::default();
        let now = Instant::now();
        s.schedule("a", now + Duration::from_secs(10));
        s.schedule("a", now + Duration::from_secs(1));
        s.schedule("a", now + Duration::from_secs(5));
        s.schedule("b", now + Duration::from_secs(2));
        assert_eq!(s.len(), 2);
        let first = std::future::poll_fn(|cx| s.poll_expired(cx)).await;
        assert_eq!(first, "a");
        assert_eq!(Instant::now() - now, Duration::from_secs(1));
        let second = std::future::poll_fn(|cx| s.poll_expired(cx)).await;
        assert_eq!(second, "b");
        assert!(s.is_empty());
    }
}
