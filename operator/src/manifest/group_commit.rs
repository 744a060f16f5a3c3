//! Group commit of status writes: the replacements that are ready at the same moment share
//! one sync of their file system and one sync of each directory, where one write alone
//! costs a sync of its temp file and one of its directory.
//!
//! A writer hands its prepared replacement (the temp file written, nothing synced) to the
//! committer, a thread of its own, and waits for its outcome, asynchronously
//! ([`GroupCommit::commit_async`]: a waiting writer holds no thread) or blocking. The
//! committer takes whatever is queued as one batch, so a lone write goes out at once and
//! writes that arrive during a batch make up the next. A batch:
//! 1. makes every temp file durable: `syncfs(2)` once per file system (`fsync` of the one
//!    temp file when the batch holds a single write);
//! 2. puts each replacement in place, one after the other, with the compare under a lease
//!    and the exchange of [`super::write`] (a user's save is never lost, and a file is only
//!    ever the old or the new content: the temp is durable before its rename);
//! 3. tells its writers once their renames are durable: when another batch is queued, its
//!    `syncfs` (step 1) does that for both; otherwise one sync of each directory that got a
//!    rename. No writer is told `Written` before then.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::sync::mpsc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::write::{sync_dir, Prepared, Replace, WriteError};

type Outcome = Result<Replace, WriteError>;
type Queued = (Box<Prepared>, oneshot::Sender<Outcome>);

#[derive(Debug, Default)]
pub struct GroupCommit {
    /// The committer's queue, started with the first write; it ends when this is dropped.
    queue: Mutex<Option<mpsc::Sender<Queued>>>,
    /// Batches run and writes they held, so far.
    counts: std::sync::Arc<Mutex<(u64, u64)>>,
}

impl GroupCommit {
    /// Puts `prepared` in place with the batch it joins; returns once it is durable (or
    /// known not to have been written).
    pub(crate) async fn commit_async(&self, prepared: Box<Prepared>) -> Outcome {
        match self.enqueue(prepared) {
            Ok(rx) => rx.await.unwrap_or_else(|_| Err(lost())),
            Err(prepared) => alone(prepared),
        }
    }

    /// [`Self::commit_async`] for a caller outside the async runtime.
    pub(crate) fn commit(&self, prepared: Box<Prepared>) -> Outcome {
        match self.enqueue(prepared) {
            Ok(rx) => rx.blocking_recv().unwrap_or_else(|_| Err(lost())),
            Err(prepared) => alone(prepared),
        }
    }

    /// Queues the write for the committer; hands it back when there is no committer (its
    /// thread could not be started, or is gone), to be written on its own.
    fn enqueue(&self, prepared: Box<Prepared>) -> Result<oneshot::Receiver<Outcome>, Box<Prepared>> {
        let (tx, rx) = oneshot::channel();
        let mut queue = self.queue.lock();
        if queue.is_none() {
            *queue = self.start();
        }
        let Some(sender) = queue.as_ref() else { return Err(prepared) };
        match sender.send((prepared, tx)) {
            Ok(()) => Ok(rx),
            Err(mpsc::SendError((prepared, _))) => {
                *queue = None;
                Err(prepared)
            }
        }
    }

    fn start(&self) -> Option<mpsc::Sender<Queued>> {
        let (tx, rx) = mpsc::channel::<Queued>();
        let counts = self.counts.clone();
        let committer = move || {
            // The batch renamed last, not yet durable: the next batch's `syncfs` makes it so,
            // or, when no batch follows at once, a sync of its directories.
            let mut unsynced: Option<Renamed> = None;
            loop {
                let first = match unsynced.take() {
                    None => rx.recv(),
                    Some(renamed) => match rx.try_recv() {
                        Ok(first) => {
                            unsynced = Some(renamed);
                            Ok(first)
                        }
                        Err(_) => {
                            renamed.sync_and_answer();
                            rx.recv()
                        }
                    },
                };
                let Ok(first) = first else { break };
                let batch: Vec<Queued> = std::iter::once(first).chain(rx.try_iter()).collect();
                {
                    let mut c = counts.lock();
                    c.0 += 1;
                    c.1 += batch.len() as u64;
                }
                let (prepared, replies): (Vec<Prepared>, Vec<_>) = batch.into_iter().map(|(p, r)| (*p, r)).unzip();
                let (synced, covered) = sync_temps(&prepared);
                if let Some(previous) = unsynced.take() {
                    previous.answer_if_covered(&covered);
                }
                unsynced = Some(rename_all(prepared, synced, replies));
            }
            if let Some(renamed) = unsynced {
                renamed.sync_and_answer();
            }
        };
        match std::thread::Builder::new().name("status-commit".into()).spawn(committer) {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the status committer; status writes sync one by one");
                None
            }
        }
    }

    /// How many batches ran so far, and how many writes they held.
    pub fn batches(&self) -> (u64, u64) {
        *self.counts.lock()
    }
}

fn lost() -> WriteError {
    WriteError::Io { path: std::path::PathBuf::new(), source: std::io::Error::other("group commit lost a write") }
}

/// A write that is its own batch, on the caller's thread.
fn alone(prepared: Box<Prepared>) -> Outcome {
    let (synced, _) = sync_temps(std::slice::from_ref(&*prepared));
    let mut renamed = rename_all(vec![*prepared], synced, vec![]);
    renamed.sync_dirs();
    renamed.outcomes.pop().unwrap_or_else(|| Err(lost()))
}

/// A batch put in place, its writers not told yet: the renames are durable once the file
/// system or their directories are synced.
struct Renamed {
    outcomes: Vec<Outcome>,
    replies: Vec<oneshot::Sender<Outcome>>,
    /// Directories that got a rename, by (device, inode): each synced once.
    dirs: HashMap<(u64, u64), std::fs::File>,
}

impl Renamed {
    fn sync_dirs(&mut self) {
        for dir in self.dirs.values() {
            sync_dir(dir);
        }
        self.dirs.clear();
    }

    /// `covered`: the devices a `syncfs` ran on since the renames; their directories need
    /// no sync of their own.
    fn answer_if_covered(mut self, covered: &HashSet<u64>) {
        self.dirs.retain(|(dev, _), _| !covered.contains(dev));
        self.sync_and_answer();
    }

    fn sync_and_answer(mut self) {
        self.sync_dirs();
        for (outcome, reply) in self.outcomes.into_iter().zip(self.replies) {
            // A writer that stopped waiting (its reconcile was dropped) needs no answer.
            let _ = reply.send(outcome);
        }
    }
}

/// Puts each (synced) replacement in place, one after the other.
fn rename_all(
    batch: Vec<Prepared>,
    synced: Vec<std::io::Result<()>>,
    replies: Vec<oneshot::Sender<Outcome>>,
) -> Renamed {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut dirs: HashMap<(u64, u64), std::fs::File> = HashMap::new();
    for (prepared, synced) in batch.into_iter().zip(synced) {
        let outcome = match synced {
            Err(e) => Err(WriteError::Io { path: prepared.target().to_path_buf(), source: e }),
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
        outcomes.push(outcome);
    }
    Renamed { outcomes, replies, dirs }
}

/// Makes every temp file of the batch durable; one result per write, in order, and the
/// devices that got a `syncfs` (which made every rename before it durable too).
fn sync_temps(batch: &[Prepared]) -> (Vec<std::io::Result<()>>, HashSet<u64>) {
    if let [only] = batch {
        return (vec![only.temp_file().sync_all()], HashSet::new());
    }
    // One syncfs per file system the temp files are on.
    let mut by_device: HashMap<u64, std::io::Result<()>> = HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    for p in batch {
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
    let covered = by_device.into_iter().filter(|(_, r)| r.is_ok()).map(|(dev, _)| dev).collect();
    (results, covered)
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
