//! Group commit of status writes: the replacements that are ready at the same moment share
//! one sync of their file system and one sync of each directory, where one write alone
//! costs a sync of its temp file and one of its directory.
//!
//! A writer hands in its prepared replacement (the temp file written, nothing synced) and
//! waits. If no batch is under way it leads one at once with whatever is queued, its own
//! replacement included, so a lone write goes out without waiting for company; writers that
//! arrive meanwhile queue up and the first of them leads the next batch. A batch:
//! 1. makes every temp file durable: `syncfs(2)` once per file system (`fsync` of the one
//!    temp file when the batch holds a single write);
//! 2. puts each replacement in place, one after the other, with the compare under a lease
//!    and the exchange of [`super::write`] (a user's save is never lost, and a file is only
//!    ever the old or the new content: the temp is durable before its rename);
//! 3. syncs each directory that got a rename, once, before any writer is told `Written`.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use parking_lot::{Condvar, Mutex};

use super::write::{sync_dir, Prepared, Replace, WriteError};

type Outcome = Result<Replace, WriteError>;

#[derive(Debug, Default)]
pub struct GroupCommit {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    queued: Vec<(u64, Box<Prepared>)>,
    done: HashMap<u64, Outcome>,
    /// A batch is under way: its leader syncs and renames without holding the lock.
    leading: bool,
    /// Batches run and writes they held, so far.
    batches: u64,
    writes: u64,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("queued", &self.queued.len()).field("leading", &self.leading).finish()
    }
}

impl GroupCommit {
    /// Puts `prepared` in place with the batch it joins; returns once it is durable (or
    /// known not to have been written).
    pub(crate) fn commit(&self, prepared: Box<Prepared>) -> Outcome {
        let mut state = self.state.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queued.push((ticket, prepared));
        loop {
            if let Some(outcome) = state.done.remove(&ticket) {
                return outcome;
            }
            if !state.leading {
                break;
            }
            self.changed.wait(&mut state);
        }
        // Not done and nobody leading: this write is still queued, and leads the next batch.
        state.leading = true;
        let batch = std::mem::take(&mut state.queued);
        state.batches += 1;
        state.writes += batch.len() as u64;
        drop(state);
        let outcomes = run_batch(batch);
        let mut state = self.state.lock();
        state.done.extend(outcomes);
        state.leading = false;
        let mine = state.done.remove(&ticket);
        // The others of this batch take their outcome; one of those queued meanwhile leads.
        self.changed.notify_all();
        drop(state);
        mine.unwrap_or_else(|| {
            Err(WriteError::Io {
                path: std::path::PathBuf::new(),
                source: std::io::Error::other("group commit lost a write"),
            })
        })
    }

    /// How many batches ran so far, and how many writes they held.
    pub fn batches(&self) -> (u64, u64) {
        let state = self.state.lock();
        (state.batches, state.writes)
    }
}

fn run_batch(batch: Vec<(u64, Box<Prepared>)>) -> Vec<(u64, Outcome)> {
    let synced = sync_temps(&batch);
    let mut outcomes = Vec::with_capacity(batch.len());
    // Directories to sync, by (device, inode): each once, after all the renames into it.
    let mut dirs: HashMap<(u64, u64), std::fs::File> = HashMap::new();
    for (i, (ticket, prepared)) in batch.into_iter().enumerate() {
        let outcome = match &synced[i] {
            Err(e) => Err(WriteError::Io {
                path: prepared.target().to_path_buf(),
                source: std::io::Error::new(e.kind(), e.to_string()),
            }),
            Ok(()) => prepared.commit().map(|(replaced, dir)| {
                if let Some(dir) = dir {
                    if let Ok(md) = dir.metadata() {
                        dirs.entry((md.dev(), md.ino())).or_insert(dir);
                    } else {
                        sync_dir(&dir);
                    }
                }
                replaced
            }),
        };
        outcomes.push((ticket, outcome));
    }
    for dir in dirs.values() {
        sync_dir(dir);
    }
    outcomes
}

/// Makes every temp file of the batch durable; one result per write, in order.
fn sync_temps(batch: &[(u64, Box<Prepared>)]) -> Vec<std::io::Result<()>> {
    if let [(_, only)] = batch {
        return vec![only.temp_file().sync_all()];
    }
    // One syncfs per file system the temp files are on.
    let mut by_device: HashMap<u64, std::io::Result<()>> = HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    for (_, p) in batch {
        let device = p.temp_file().metadata().map(|m| m.dev());
        let result = match device {
            Err(e) => Err(e),
            Ok(dev) => match by_device.entry(dev).or_insert_with(|| syncfs(p.temp_file())) {
                Ok(()) => Ok(()),
                // syncfs refused (or failed): this file's own fsync says whether it is in.
                Err(_) => p.temp_file().sync_all(),
            },
        };
        results.push(result);
    }
    results
}

fn syncfs(file: &std::fs::File) -> std::io::Result<()> {
    nix::unistd::syncfs(file).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::write::{prepare, tests::temp_names, Prepare};
    use std::fs;
    use std::sync::{Arc, Barrier};

    fn ready(p: &std::path::Path, old: &str, new: &str) -> Box<Prepared> {
        match prepare(p, old, new).expect("prepare") {
            Prepare::Ready(r) => r,
            Prepare::Done(r) => panic!("nothing to write: {r:?}"),
        }
    }

    #[test]
    fn a_lone_write_goes_out_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, "a: 1\n").expect("write");
        let g = GroupCommit::default();
        assert_eq!(g.commit(ready(&p, "a: 1\n", "a: 2\n")).expect("ok"), Replace::Written);
        assert_eq!(fs::read_to_string(&p).expect("read"), "a: 2\n");
        assert_eq!(g.batches(), (1, 1));
        assert!(temp_names(dir.path()).is_empty());
    }

    /// Writers arriving together share batches; each gets its own outcome, a changed file is
    /// not replaced, and nothing is left behind.
    #[test]
    fn concurrent_writes_share_batches_and_keep_their_outcomes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = Arc::new(GroupCommit::default());
        let n = 32;
        let start = Arc::new(Barrier::new(n));
        let writers: Vec<_> = (0..n)
            .map(|i| {
                let (g, start) = (g.clone(), start.clone());
                let p = dir.path().join(format!("m{i}.yaml"));
                fs::write(&p, format!("a: {i}\n")).expect("write");
                std::thread::spawn(move || {
                    let prepared = ready(&p, &format!("a: {i}\n"), &format!("a: {i}\nb: {i}\n"));
                    if i % 4 == 0 {
                        // A user's save after the operator read the file.
                        fs::write(&p, format!("a: {i}\n# edit\n")).expect("edit");
                    }
                    start.wait();
                    (i, p, g.commit(prepared).expect("commit"))
                })
            })
            .collect();
        for w in writers {
            let (i, p, outcome) = w.join().expect("writer");
            let text = fs::read_to_string(&p).expect("read");
            if i % 4 == 0 {
                assert_eq!(outcome, Replace::Changed, "{i}");
                assert_eq!(text, format!("a: {i}\n# edit\n"));
            } else {
                assert_eq!(outcome, Replace::Written, "{i}");
                assert_eq!(text, format!("a: {i}\nb: {i}\n"));
            }
        }
        let (batches, writes) = g.batches();
        assert_eq!(writes, n as u64);
        assert!(batches < writes, "some writes shared a batch: {batches} batches");
        assert!(temp_names(dir.path()).is_empty());
    }
}
