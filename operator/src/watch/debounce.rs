//! Which changed paths are due as hints: a path is handed on once it has been quiet for the
//! debounce window, so that an editor's save (write temp, rename, chmod) is one hint, and at
//! the latest a few windows after its first event, so that a file written without pause
//! still gets looked at.
//!
//! Only paths that passed the watcher's filter get here, so the operator's own temp files and
//! reads cost nothing. (`notify-debouncer-full` kept every event of every path, temp files
//! included, and scanned all of them on each removal: 7 % of the operator's CPU while 10,000
//! statuses were written.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The paths seen and not yet handed on, with their first and last event.
#[derive(Debug)]
pub struct Pending {
    quiet: Duration,
    longest: Duration,
    paths: HashMap<PathBuf, (Instant, Instant)>,
}

impl Pending {
    /// `quiet`: how long a path must see no event; `longest`: how long it may wait in all.
    pub fn new(quiet: Duration, longest: Duration) -> Self {
        Pending { quiet, longest, paths: HashMap::new() }
    }

    /// A change of `path` seen at `at`.
    pub fn note(&mut self, path: PathBuf, at: Instant) {
        self.paths.entry(path).and_modify(|(_, last)| *last = (*last).max(at)).or_insert((at, at));
    }

    fn due_at(&self, (first, last): (Instant, Instant)) -> Instant {
        (last + self.quiet).min(first + self.longest)
    }

    /// When the next path falls due; `None` when nothing waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.paths.values().map(|times| self.due_at(*times)).min()
    }

    /// When to look again, paths having last been handed on at `last`: when the next one
    /// falls due, but no sooner than `gather` after `last`, so that a burst of changes goes
    /// on in a few hand-ons rather than one per path. `None`: nothing waits.
    pub fn wake_at(&self, last: Option<Instant>, gather: Duration) -> Option<Instant> {
        let due = self.next_due()?;
        Some(last.map_or(due, |last| due.max(last + gather)))
    }

    /// Takes the paths due at `now`, in the order of their first event: files are looked at
    /// in the order they were changed.
    pub fn take_due(&mut self, now: Instant) -> Vec<PathBuf> {
        let mut due: Vec<(Instant, PathBuf)> = self
            .paths
            .iter()
            .filter(|(_, times)| self.due_at(**times) <= now)
            .map(|(p, (first, _))| (*first, p.clone()))
            .collect();
        due.sort();
        for (_, p) in &due {
            self.paths.remove(p);
        }
        due.into_iter().map(|(_, p)| p).collect()
    }

    /// Everything still waiting (the watch is ending), in the order of the first events.
    pub fn take_all(&mut self) -> Vec<PathBuf> {
        let mut all: Vec<(Instant, PathBuf)> = self.paths.drain().map(|(p, (first, _))| (first, p)).collect();
        all.sort();
        all.into_iter().map(|(_, p)| p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_burst_on_one_path_is_one_hint_once_it_is_quiet() {
        let t = Instant::now();
        let mut p = Pending::new(10 * MS, 100 * MS);
        let a = PathBuf::from("/m/a.yaml");
        p.note(a.clone(), t);
        p.note(a.clone(), t + 4 * MS);
        p.note(a.clone(), t + 8 * MS);
        assert_eq!(p.next_due(), Some(t + 18 * MS));
        assert!(p.take_due(t + 17 * MS).is_empty());
        assert_eq!(p.take_due(t + 18 * MS), vec![a]);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn a_path_written_without_pause_is_handed_on_at_the_longest_wait() {
        let t = Instant::now();
        let mut p = Pending::new(10 * MS, 30 * MS);
        let a = PathBuf::from("/m/a.yaml");
        for i in 0..10 {
            p.note(a.clone(), t + i * 5 * MS);
        }
        assert_eq!(p.next_due(), Some(t + 30 * MS));
        assert_eq!(p.take_due(t + 30 * MS), vec![a]);
    }

    #[test]
    fn paths_due_together_come_in_the_order_they_changed() {
        let t = Instant::now();
        let mut p = Pending::new(10 * MS, 100 * MS);
        let names: Vec<PathBuf> = (0..50).map(|i| PathBuf::from(format!("/m/{:02}.yaml", 49 - i))).collect();
        for (i, n) in names.iter().enumerate() {
            p.note(n.clone(), t + Duration::from_micros(i as u64));
        }
        assert_eq!(p.take_due(t + 20 * MS), names);
    }

    #[test]
    fn paths_fall_due_each_on_its_own_time() {
        let t = Instant::now();
        let mut p = Pending::new(10 * MS, 100 * MS);
        let (a, b) = (PathBuf::from("/m/a.yaml"), PathBuf::from("/m/b.yaml"));
        p.note(a.clone(), t);
        p.note(b.clone(), t + 6 * MS);
        assert_eq!(p.take_due(t + 10 * MS), vec![a]);
        assert_eq!(p.next_due(), Some(t + 16 * MS));
        assert_eq!(p.take_all(), vec![b]);
    }

    #[test]
    fn a_burst_is_gathered_but_a_lone_change_is_not_held() {
        let t = Instant::now();
        let mut p = Pending::new(10 * MS, 100 * MS);
        assert_eq!(p.wake_at(None, 2 * MS), None, "nothing waits");
        p.note(PathBuf::from("/m/a.yaml"), t);
        assert_eq!(p.wake_at(None, 2 * MS), Some(t + 10 * MS), "the first hand-on is not held");
        assert_eq!(p.wake_at(Some(t + 9 * MS), 2 * MS), Some(t + 11 * MS), "held to 2 ms after the last");
        assert_eq!(p.wake_at(Some(t), 2 * MS), Some(t + 10 * MS), "long after the last: when due");
        // A later event only ever makes it later.
        p.note(PathBuf::from("/m/b.yaml"), t + 5 * MS);
        assert_eq!(p.wake_at(None, 2 * MS), Some(t + 10 * MS));
    }
}
