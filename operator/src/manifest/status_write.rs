//! The one status writer: puts a status into one document of one file, compare-and-swap,
//! and remembers what it wrote so that the watcher can recognise the echo of its own write.
//!
//! One writer per file inside the operator: two documents of one file reconciled at once
//! must not race through the compare-and-rename window and drop each other's status. The
//! user's edits are protected by the compare-and-swap in [`write_if_unchanged`]: a file that
//! changed since it was read is read again and the status spliced anew.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use super::document::{self, Document, ManifestFile, ParseErrorKind};
use super::group_commit::GroupCommit;
use super::handoff::Handoff;
use super::splice::{splice_status, splice_status_in};
use super::write::{prepare, Prepare, Prepared, Replace, WriteError, WriteOutcome};
use crate::api::Kind;

/// How many times a status write re-reads and redoes after the file changed under it.
const MAX_ATTEMPTS: usize = 5;

/// How many parsed writes wait for their echo at most (a few hundred bytes of text and a
/// parsed tree each).
const MAX_ECHOES: usize = 512;
/// How many loaded files wait for their reconcile's read at most: at start-up the loads run
/// ahead of the reconciles, and each parsed file is a few KiB.
const MAX_LOADED: usize = 2048;

/// How long a status write waits, in all, for a file that somebody has open for writing
/// (an editor saving in chunks, `cat > file`): its close comes as a watch event anyway, and
/// the status is written then.
const BUSY_PATIENCE: Duration = Duration::from_millis(1500);

/// A status to write into one document of one file.
pub struct StatusWrite {
    pub path: PathBuf,
    /// The object whose document gets the status; None: a document without a usable
    /// identity (no kind, no name, or a name that is not a DNS-1123 label), found by
    /// `index` alone.
    pub object: Option<(Kind, String)>,
    /// Preferred document (several may share a kind and name: the duplicates).
    pub index: usize,
    pub status: Value,
    /// The file as the caller just read it: the first compare-and-swap round starts from
    /// it instead of reading and parsing the file once more.
    pub read: Option<ManifestFile>,
}

impl StatusWrite {
    pub fn object(path: &Path, kind: Kind, name: &str, index: usize, status: Value) -> Self {
        StatusWrite { path: path.to_path_buf(), object: Some((kind, name.to_string())), index, status, read: None }
    }

    fn picks(&self, d: &Document) -> bool {
        match &self.object {
            Some((k, n)) => d.is(*k, n),
            None => {
                d.kind().and_then(Kind::from_kind_field).is_none()
                    || !d.name().is_some_and(crate::api::meta::is_dns1123_label)
            }
        }
    }
}

#[derive(Debug)]
pub struct StatusWriter {
    /// One writer per file at a time, across its compare-and-swap rounds (held across the
    /// wait for a group commit, hence async).
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// The content hash of the last status write per file. The watcher's event for that
    /// write carries nothing new (a status never changes what is reconciled), so the
    /// reflector can recognise it and skip parsing the file again.
    own: Mutex<HashMap<PathBuf, u64>>,
    /// The last write per file as parsed by the safety check, until the watcher's event for
    /// it takes it: the echo is not parsed a second time.
    echoes: Handoff,
    /// The loader's parse of a file, until the reconcile it starts reads the file again.
    pub loaded: Handoff,
    /// Writes ready at the same moment share their syncs.
    commits: GroupCommit,
    /// Rounds being prepared at once. The preparation is CPU (the splice, the safety check)
    /// and short file I/O: a few threads keep the cores busy, where one blocking thread per
    /// waiting reconcile (up to 64) only adds wake-ups and switches between them.
    preparing: tokio::sync::Semaphore,
}

/// Two rounds per core prepared at once: one can wait on the disk while the other computes.
fn max_preparing() -> usize {
    2 * std::thread::available_parallelism().map_or(2, usize::from).clamp(1, 8)
}

/// One status write's compare-and-swap rounds so far.
struct Rounds {
    w: StatusWrite,
    known: Option<ManifestFile>,
    attempt: usize,
    patience: Instant,
    pause: Duration,
}

/// What a round's blocking part ends with.
enum Step {
    Done(WriteOutcome),
    Commit(Box<Prepared>),
}

/// What to do after a round's replace.
enum Next {
    Done(WriteOutcome),
    Again,
    Wait(Duration),
}

impl Rounds {
    fn new(mut w: StatusWrite) -> Self {
        let known = w.read.take();
        let patience = Instant::now() + BUSY_PATIENCE;
        Rounds { w, known, attempt: 0, patience, pause: Duration::from_millis(5) }
    }

    fn not_found(&self) -> WriteError {
        let w = &self.w;
        WriteError::NotFound {
            path: w.path.clone(),
            kind: w.object.as_ref().map(|(k, _)| k.as_str().to_string()).unwrap_or_default(),
            name: w.object.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
        }
    }

    /// The blocking part of a round: read, splice, check, and the temp file written.
    fn prepare(&mut self, writer: &StatusWriter, before_write: &mut dyn FnMut(usize)) -> Result<Step, WriteError> {
        loop {
            if self.attempt >= MAX_ATTEMPTS {
                return Ok(Step::Done(WriteOutcome::Conflict));
            }
            let path = self.w.path.clone();
            let file = match self.known.take() {
                Some(f) => f,
                None => match document::read(&path) {
                    Ok(f) => f,
                    Err(_) if !path.exists() => return Err(self.not_found()),
                    Err(e) if e.kind == ParseErrorKind::Unreadable => {
                        return Err(WriteError::Io { path, source: std::io::Error::other(e.message) })
                    }
                    Err(e) => return Err(WriteError::Unparseable(e)),
                },
            };
            let w = &self.w;
            let doc = file
                .docs
                .iter()
                .filter(|d| d.index == w.index)
                .find(|d| w.picks(d))
                .or_else(|| file.docs.iter().find(|d| w.picks(d)));
            let Some(doc) = doc else { return Err(self.not_found()) };
            if doc.status() == Some(&w.status) {
                return Ok(Step::Done(WriteOutcome::Unchanged));
            }
            let spliced = match file.trees() {
                Some(trees) => splice_status_in(&file.text, trees, doc.index, Some(&w.status)),
                None => splice_status(&file.text, doc.index, Some(&w.status)),
            }
            .map_err(|source| WriteError::Splice { path: path.clone(), source })?;
            let after = check_only_status_changed(&path, &file, doc.index, &spliced, &w.status)?;
            before_write(self.attempt);
            match prepare(&path, &file.text, &spliced)? {
                Prepare::Ready(p) => {
                    // Before the rename: its watch event may be read before the commit
                    // answers. The echo of a write that lost its compare never comes, and
                    // what was offered for it is not taken: its bytes are not the file's.
                    writer.own.lock().insert(path.clone(), content_hash(spliced.as_bytes()));
                    writer.echoes.offer(&path, after);
                    return Ok(Step::Commit(p));
                }
                Prepare::Done(r) => match self.settle(r) {
                    Next::Done(outcome) => return Ok(Step::Done(outcome)),
                    Next::Again => continue,
                    // Not from prepare: nothing is open for writing before the lease is asked.
                    Next::Wait(_) => return Ok(Step::Done(WriteOutcome::Conflict)),
                },
            }
        }
    }

    /// What a replace's outcome means for the write.
    fn settle(&mut self, replaced: Replace) -> Next {
        match replaced {
            Replace::Written => Next::Done(WriteOutcome::Written),
            Replace::Unchanged => Next::Done(WriteOutcome::Unchanged),
            Replace::Changed => {
                self.attempt += 1;
                Next::Again
            }
            Replace::Busy if Instant::now() + self.pause > self.patience => Next::Done(WriteOutcome::Conflict),
            Replace::Busy => {
                // Not an attempt: nothing was compared yet. What the writer is saving is
                // read when it is done.
                let pause = self.pause;
                self.pause = (pause * 2).min(Duration::from_millis(200));
                Next::Wait(pause)
            }
        }
    }
}

impl Default for StatusWriter {
    fn default() -> Self {
        StatusWriter {
            locks: Mutex::default(),
            own: Mutex::default(),
            echoes: Handoff::new(MAX_ECHOES),
            loaded: Handoff::new(MAX_LOADED),
            commits: GroupCommit::default(),
            preparing: tokio::sync::Semaphore::new(max_preparing()),
        }
    }
}

impl StatusWriter {
    fn lock_for(&self, path: &Path) -> Arc<tokio::sync::Mutex<()>> {
        self.locks.lock().entry(path.to_path_buf()).or_default().clone()
    }

    /// Writes the status into its document, preferring the one at `index`. Returns whether
    /// the file changed; `Conflict` only after the file kept changing under every attempt.
    /// Blocking: for callers outside the async runtime.
    pub fn write(&self, w: StatusWrite) -> Result<WriteOutcome, WriteError> {
        self.write_with(w, |_| {})
    }

    /// [`Self::write`] for the reconcilers: the reading and the temp file on a blocking
    /// thread, the wait for the group commit without one.
    pub async fn write_async(self: &Arc<Self>, w: StatusWrite) -> Result<WriteOutcome, WriteError> {
        let lock = self.lock_for(&w.path);
        let _held = lock.lock().await;
        let path = w.path.clone();
        let mut rounds = Rounds::new(w);
        loop {
            let me = self.clone();
            let lost = |e: &dyn std::fmt::Display| WriteError::Io {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            };
            let turn = self.preparing.acquire().await.map_err(|e| lost(&e))?;
            let (back, step) = tokio::task::spawn_blocking(move || {
                let step = rounds.prepare(&me, &mut |_| {});
                (rounds, step)
            })
            .await
            .map_err(|e| lost(&e))?;
            drop(turn);
            rounds = back;
            let replaced = match step? {
                Step::Done(outcome) => return Ok(outcome),
                Step::Commit(p) => self.commits.commit_async(p).await?,
            };
            match rounds.settle(replaced) {
                Next::Done(outcome) => return Ok(outcome),
                Next::Again => {}
                Next::Wait(pause) => tokio::time::sleep(pause).await,
            }
        }
    }

    /// `before_write(attempt)` runs between the read and the write: tests use it to play a
    /// user saving the file at the worst moment.
    fn write_with(&self, w: StatusWrite, mut before_write: impl FnMut(usize)) -> Result<WriteOutcome, WriteError> {
        let lock = self.lock_for(&w.path);
        let _held = lock.blocking_lock();
        let mut rounds = Rounds::new(w);
        loop {
            let replaced = match rounds.prepare(self, &mut before_write)? {
                Step::Done(outcome) => return Ok(outcome),
                Step::Commit(p) => self.commits.commit(p)?,
            };
            match rounds.settle(replaced) {
                Next::Done(outcome) => return Ok(outcome),
                Next::Again => {}
                Next::Wait(pause) => std::thread::sleep(pause),
            }
        }
    }

    /// How many group commits ran so far, and how many writes they held.
    pub fn batches(&self) -> (u64, u64) {
        self.commits.batches()
    }

    /// Whether `bytes` are exactly what this writer last wrote to `path`.
    pub fn is_own_write(&self, path: &Path, bytes: &[u8]) -> bool {
        self.own.lock().get(path).is_some_and(|h| *h == content_hash(bytes))
    }

    /// The last write to `path` as parsed when it was made, if `bytes` are exactly that
    /// write; given out once.
    pub fn take_echo(&self, path: &Path, bytes: &[u8]) -> Option<ManifestFile> {
        self.echoes.take(path, bytes)
    }
}

fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// A safety net that should never trip: the spliced text must differ from what was read
/// only in the status of the one document. Returns the spliced text parsed.
fn check_only_status_changed(
    path: &Path,
    before: &ManifestFile,
    index: usize,
    new: &str,
    status: &Value,
) -> Result<ManifestFile, WriteError> {
    // libyaml's values of the edited text are what must match; the second tree of a full
    // parse (positions, limits) adds nothing to that for text whose only new part is ours.
    // Any doubt (a document more or fewer, a difference) is settled by the full parse.
    if !before.has_big_integers() {
        if let Some(values) = document::stream_values(new) {
            if values.len() == before.docs.len()
                && values
                    .iter()
                    .zip(&before.docs)
                    .all(|(a, b)| only_status_differs(a, &b.value, b.index == index, status))
            {
                return Ok(before.with_values(new, values));
            }
        }
    }
    let unsafe_ = |message: String| WriteError::Unsafe { path: path.to_path_buf(), message };
    let after = document::parse(path, new).map_err(|e| unsafe_(format!("the edited text does not parse: {e}")))?;
    if after.docs.len() != before.docs.len() {
        return Err(unsafe_("the edit changes the number of documents".into()));
    }
    for (a, b) in after.docs.iter().zip(&before.docs) {
        if !only_status_differs(&a.value, &b.value, a.index == index, status) {
            return Err(unsafe_(format!("the edit would change document {} beyond its status", a.index)));
        }
    }
    Ok(after)
}

/// Whether a document reads `after` where it read `before`: the same, or, for the one
/// that got the status, the same but for a status that is exactly `status`.
fn only_status_differs(after: &Value, before: &Value, edited: bool, status: &Value) -> bool {
    if !edited {
        return after == before;
    }
    let (Some(a), Some(b)) = (after.as_object(), before.as_object()) else { return false };
    let others = |m: &serde_json::Map<String, Value>| m.len() - usize::from(m.contains_key("status"));
    a.get("status") == Some(status)
        && others(a) == others(b)
        && b.iter().all(|(k, v)| k == "status" || a.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::write::tests::temp_names;
    use serde_json::json;
    use std::fs;

    const JOB: &str = "# job\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: a\nspec:\n  clusterRef: demo\n---\nkind: SparkJob\nmetadata: {name: b}\n";

    fn job(p: &Path, name: &str, status: &Value) -> StatusWrite {
        StatusWrite::object(p, Kind::SparkJob, name, 0, status.clone())
    }

    /// Texts whose documents the safety check must read exactly as the full parse does.
    const SHAPES: &[&str] = &[
        JOB,
        "kind: SparkJob\nmetadata: {name: a}\nspec: &s {clusterRef: demo, args: ['1', 2, 3.5, null, true]}\n",
        "other: 1\n---\nkind: SparkJob\nmetadata:\n  name: a\nbase: &b {x: 1}\nspec:\n  <<: *b\n  y: \"two\\n\"\n",
        "kind: SparkJob\nmetadata:\n  name: a\nstatus:\n  phase: Old\nspec:\n  script: |\n    line\n\n...\n",
        "---\n# only a comment\n---\nkind: SparkJob\nmetadata: {name: a}\n",
        "kind: SparkJob\r\nmetadata:\r\n  name: a\r\n",
    ];

    /// The check's own reading of an edit (libyaml's stream, no second tree) gives the
    /// echo what a full parse of the written text gives.
    #[test]
    fn the_check_reads_the_edit_as_the_full_parse_does() {
        let path = Path::new("m.yaml");
        let status = json!({"phase": "Pending", "conditions": [{"type": "Valid", "status": "True"}], "attempts": 0});
        for text in SHAPES {
            let before = document::parse(path, text).expect("parses");
            let index = before.docs.iter().find(|d| d.name() == Some("a")).map(|d| d.index).expect("a");
            let new = splice_status(text, index, Some(&status)).expect("splices");
            let checked = check_only_status_changed(path, &before, index, &new, &status).expect("only the status");
            let full = document::parse(path, &new).expect("the written text parses");
            assert_eq!(checked.text, new);
            assert!(checked.trees().is_none(), "settled by the stream reading, not the full parse: {text:?}");
            let values = |f: &ManifestFile| f.docs.iter().map(|d| (d.index, d.value.clone())).collect::<Vec<_>>();
            assert_eq!(values(&checked), values(&full), "{text:?}");
        }
    }

    /// The splice into the tree kept from the parse is the splice into the text.
    #[test]
    fn the_kept_tree_splices_as_the_text_does() {
        let status = json!({"phase": "Pending", "attempts": 0});
        for text in SHAPES {
            let file = document::parse(Path::new("m.yaml"), text).expect("parses");
            let trees = file.trees().expect("the parse keeps its tree");
            for d in &file.docs {
                let kept = splice_status_in(text, trees, d.index, Some(&status)).map_err(|e| e.to_string());
                let read = splice_status(text, d.index, Some(&status)).map_err(|e| e.to_string());
                assert_eq!(kept, read, "{text:?}, document {}", d.index);
            }
            assert!(file.without_trees().trees().is_none());
        }
    }

    /// An edit that changes anything but the one status is refused, however it reads.
    #[test]
    fn an_edit_beyond_the_status_is_refused() {
        let path = Path::new("m.yaml");
        let before = document::parse(path, JOB).expect("parses");
        let status = json!({"phase": "Pending"});
        let good = splice_status(JOB, 0, Some(&status)).expect("splices");
        check_only_status_changed(path, &before, 0, &good, &status).expect("the status alone passes");
        let edits = [
            // The spec of the document that gets the status.
            good.replace("clusterRef: demo", "clusterRef: other"),
            // Another document.
            good.replace("metadata: {name: b}", "metadata: {name: c}"),
            // A document more.
            format!("{good}---\nkind: SparkJob\n"),
            // A status other than the one asked for.
            good.replace("phase: Pending", "phase: Running"),
            // A key the document did not have.
            good.replace("spec:\n", "extra: 1\nspec:\n"),
        ];
        for edit in edits {
            assert_ne!(edit, good);
            match check_only_status_changed(path, &before, 0, &edit, &status) {
                Err(WriteError::Unsafe { .. }) => {}
                other => panic!("{edit:?} was not refused: {:?}", other.map(|f| f.text)),
            }
        }
        let unchanged_status = check_only_status_changed(path, &before, 1, &good, &json!({"phase": "Pending"}));
        assert!(unchanged_status.is_err(), "the status landed in the other document");
    }

    /// More writes than may be prepared at once: each waits its turn, none is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_beyond_the_preparing_bound_all_land() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = Arc::new(StatusWriter::default());
        let s = json!({"phase": "Pending"});
        let n = 4 * max_preparing() + 3;
        let writes = (0..n).map(|i| {
            let p = dir.path().join(format!("m{i}.yaml"));
            fs::write(&p, JOB).expect("write");
            let (w, s) = (w.clone(), s.clone());
            tokio::spawn(async move { w.write_async(job(&p, "a", &s)).await })
        });
        for outcome in futures::future::join_all(writes.collect::<Vec<_>>()).await {
            assert_eq!(outcome.expect("joined").expect("written"), WriteOutcome::Written);
        }
        for i in 0..n {
            let text = fs::read_to_string(dir.path().join(format!("m{i}.yaml"))).expect("read");
            assert!(text.contains("status:\n  phase: Pending\n"), "m{i}.yaml: {text}");
        }
        assert_eq!(w.preparing.available_permits(), max_preparing(), "every turn was given back");
    }

    /// Echoes nobody read (their event was coalesced or lost) must not keep the next
    /// write's parse from its echo: the bound drops the oldest.
    #[test]
    fn the_newest_echo_is_kept_past_the_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = StatusWriter::default();
        let s = json!({"phase": "Pending"});
        let mut last = None;
        for i in 0..MAX_ECHOES + 10 {
            let p = dir.path().join(format!("m{i}.yaml"));
            fs::write(&p, JOB).expect("write");
            assert_eq!(w.write(job(&p, "a", &s)).expect("ok"), WriteOutcome::Written);
            last = Some(p);
        }
        let p = last.expect("a file");
        let text = fs::read_to_string(&p).expect("read");
        assert!(w.take_echo(&p, text.as_bytes()).is_some(), "the last write's parse is there for its echo");
        let first = dir.path().join("m0.yaml");
        let text = fs::read_to_string(&first).expect("read");
        assert!(w.take_echo(&first, text.as_bytes()).is_none(), "the oldest went");
    }

    #[test]
    fn finds_the_document_and_splices() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, JOB).expect("write");
        let w = StatusWriter::default();
        let s = json!({"phase": "Running"});
        assert_eq!(w.write(job(&p, "b", &s)).expect("ok"), WriteOutcome::Written);
        let text = fs::read_to_string(&p).expect("read");
        assert_eq!(text, format!("{JOB}status:\n  phase: Running\n"));
        assert!(w.is_own_write(&p, text.as_bytes()));
        let echo = w.take_echo(&p, text.as_bytes()).expect("the write, parsed");
        assert_eq!((echo.text.as_str(), echo.docs[1].status()), (text.as_str(), Some(&s)));
        assert!(w.take_echo(&p, text.as_bytes()).is_none(), "given out once");
        assert_eq!(w.write(job(&p, "b", &s)).expect("ok"), WriteOutcome::Unchanged);
        assert!(matches!(w.write(job(&p, "c", &s)), Err(WriteError::NotFound { .. })));
        let cluster = StatusWrite::object(&p, Kind::SparkCluster, "a", 0, s.clone());
        assert!(matches!(w.write(cluster), Err(WriteError::NotFound { .. })));
        assert!(matches!(w.write(job(&dir.path().join("x.yaml"), "a", &s)), Err(WriteError::NotFound { .. })));
    }

    #[test]
    fn never_writes_an_unparseable_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        let broken = "kind: SparkJob\nmetadata:\n  name: a\nspec: [\n";
        fs::write(&p, broken).expect("write");
        let w = StatusWriter::default();
        assert!(matches!(w.write(job(&p, "a", &json!({"phase": "X"}))), Err(WriteError::Unparseable(_))));
        assert_eq!(fs::read_to_string(&p).expect("read"), broken);
    }

    #[test]
    fn flow_and_indented_documents_get_their_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        for text in ["{kind: SparkJob, metadata: {name: a}}\n", "---\n  kind: SparkJob\n  metadata:\n    name: a\n"] {
            let p = dir.path().join("m.yaml");
            fs::write(&p, text).expect("write");
            StatusWriter::default().write(job(&p, "a", &json!({"phase": "X"}))).expect("status written");
            let file = crate::manifest::read(&p).expect("parse");
            assert_eq!(file.docs[0].status(), Some(&json!({"phase": "X"})), "{}", file.text);
            assert_eq!(crate::manifest::splice_status(&file.text, 0, None).as_deref(), Ok(text));
        }
    }

    #[test]
    fn a_user_edit_between_read_and_write_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, JOB).expect("write");
        let w = StatusWriter::default();
        let mut attempts = Vec::new();
        let outcome = w
            .write_with(job(&p, "a", &json!({"phase": "Running"})), |attempt| {
                attempts.push(attempt);
                if attempt < 2 {
                    let cur = fs::read_to_string(&p).expect("read");
                    fs::write(&p, cur.replace("# job\n", &format!("# job\n# user edit {attempt}\n"))).expect("write");
                }
            })
            .expect("ok");
        assert_eq!(outcome, WriteOutcome::Written);
        assert_eq!(attempts, [0, 1, 2]);
        let text = fs::read_to_string(&p).expect("read");
        assert!(text.starts_with("# job\n# user edit 1\n# user edit 0\n"), "{text}");
        assert!(text.contains("  clusterRef: demo\nstatus:\n  phase: Running\n---\n"), "{text}");

        let gave_up = w
            .write_with(job(&p, "a", &json!({"phase": "Failed"})), |attempt| {
                let cur = fs::read_to_string(&p).expect("read");
                fs::write(&p, format!("{cur}# again {attempt}\n")).expect("write");
            })
            .expect("ok");
        assert_eq!(gave_up, WriteOutcome::Conflict);
        assert!(!fs::read_to_string(&p).expect("read").contains("Failed"));
        assert!(temp_names(dir.path()).is_empty());
    }
}
