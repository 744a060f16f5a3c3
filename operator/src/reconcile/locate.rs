//! Dereference: find an object's document on disk (the truth, not the reflector's
//! memory), and write a status back to exactly that document.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use crate::api::Kind;
use crate::manifest::document::{self, Document, ManifestFile, ParseError};
use crate::manifest::splice::splice_status;
use crate::manifest::write::{write_if_unchanged, WriteOutcome};

use crate::controller::Action;
use crate::manifest::validate::{validate, Resource};
use crate::state::StateDir;

use super::context::{lock, Context};
use super::invalid::{describe_errors, mark_invalid};
use super::ReconcileError;

pub enum Found {
    /// No file holds the object any more.
    Gone,
    /// The winning file does not parse right now: touch nothing.
    Unparseable(ParseError),
    Present {
        file: ManifestFile,
        index: usize,
        /// Later documents with the same kind and name (they lose; DuplicateName).
        losers: Vec<(PathBuf, usize)>,
    },
}

impl Found {
    pub fn doc(file: &ManifestFile, index: usize) -> Option<&Document> {
        file.docs.iter().find(|d| d.index == index)
    }
}

fn matches(doc: &Document, kind: Kind, name: &str) -> bool {
    doc.kind() == Some(kind.as_str()) && doc.name() == Some(name)
}

pub fn locate(ctx: &Context, kind: Kind, name: &str) -> Found {
    let locations = lock(&ctx.store).locations(kind, name);
    let mut winner: Option<(ManifestFile, usize)> = None;
    let mut losers = Vec::new();
    for (path, index) in locations {
        if winner.is_some() {
            losers.push((path, index));
            continue;
        }
        match document::read(&path) {
            Ok(file) => {
                let hit = file
                    .docs
                    .iter()
                    .find(|d| d.index == index && matches(d, kind, name))
                    .map(|d| d.index)
                    .or_else(|| file.docs.iter().find(|d| matches(d, kind, name)).map(|d| d.index));
                if let Some(i) = hit {
                    winner = Some((file, i));
                }
            }
            Err(e) if !path.exists() => {
                tracing::debug!(path = %path.display(), error = %e, "file vanished since the last event");
            }
            Err(e) => return Found::Unparseable(e),
        }
    }
    match winner {
        Some((file, index)) => Found::Present { file, index, losers },
        None => match lock(&ctx.store).unknown_file() {
            // Deleting is destructive: not while a file we cannot read might still hold it.
            Some(e) => Found::Unparseable(e.clone()),
            None => Found::Gone,
        },
    }
}

/// Where a reconcile starts from: the object's document, validated, with its generation.
pub enum Dereferenced {
    /// No file holds the object: undo what it created.
    Gone,
    /// Nothing to act on now (the file does not parse, or the document is invalid and
    /// already says so in its status); return this action.
    Done(Action),
    Valid {
        file: ManifestFile,
        index: usize,
        generation: u64,
        resource: Resource,
    },
}

/// Dereference and validate, the first half of every reconcile: find the document, bump
/// its generation if its spec changed, mark later duplicates, and write `Valid=False` into
/// an invalid document.
pub async fn dereference(ctx: &Context, kind: Kind, name: &str) -> Result<Dereferenced, ReconcileError> {
    let (file, index, losers) = match locate(ctx, kind, name) {
        Found::Gone => return Ok(Dereferenced::Gone),
        Found::Unparseable(e) => {
            ctx.events.warning(kind.as_str(), name, e.reason(), e.to_string());
            // Look again later: the fix may come in another file than this object's.
            return Ok(Dereferenced::Done(Action::Requeue(super::UNPARSEABLE_RETRY)));
        }
        Found::Present { file, index, losers } => (file, index, losers),
    };
    let Some(doc) = Found::doc(&file, index) else { return Ok(Dereferenced::Done(Action::AwaitChange)) };
    let key = StateDir::object_key(kind, name);
    let generation = lock(&ctx.generations).observe(&key, &doc.generation_hash()).generation;
    for (path, i) in &losers {
        let msg = format!(
            "{kind} {name:?} is already defined in {} (line {}); this one is ignored",
            file.path.display(),
            doc.start_line
        );
        mark_invalid(ctx, path, Some(kind), Some(name), *i, None, "DuplicateName", &msg, None).await?;
    }
    match validate(&file.path, doc) {
        Ok(resource) if resource.kind() == kind => Ok(Dereferenced::Valid { file, index, generation, resource }),
        Ok(_) => Ok(Dereferenced::Done(Action::AwaitChange)),
        Err(errors) => {
            let (reason, message) = describe_errors(&errors);
            mark_invalid(
                ctx,
                &file.path,
                Some(kind),
                Some(name),
                index,
                doc.status(),
                &reason,
                &message,
                Some(generation),
            )
            .await?;
            if kind == Kind::SparkJob {
                // An invalid job can never run: for `run --exit-when-done` it has failed.
                ctx.set_job_phase(name, Some(crate::api::job::JobPhase::Failed));
            }
            Ok(Dereferenced::Done(Action::AwaitChange))
        }
    }
}

/// One writer per file inside the operator: two documents of one file reconciled at once
/// must not race through the compare-and-rename window and drop each other's status.
fn file_lock(path: &Path) -> Arc<Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);
    let mut locks = lock(&LOCKS);
    locks.entry(path.to_path_buf()).or_default().clone()
}

/// A status to write into one document of one file.
pub struct StatusWrite {
    pub path: PathBuf,
    pub kind: Option<Kind>,
    pub name: Option<String>,
    /// Preferred document (several may share a kind and name: the duplicates).
    pub index: usize,
    pub status: serde_json::Value,
    /// The file as the reconcile just read it: the first compare-and-swap round starts from
    /// it instead of reading and parsing the file once more.
    pub read: Option<ManifestFile>,
}

/// Writes the status into its document, preferring the one at `index`. Compare-and-swap: a
/// concurrent edit by the user is re-read and the status re-spliced, so their edit is never
/// lost. Returns whether the file changed.
pub fn write_status(w: StatusWrite) -> Result<bool, ReconcileError> {
    let path = w.path.as_path();
    let guard = file_lock(path);
    let _held = lock(&guard);
    let mut known = w.read;
    for _ in 0..5 {
        let file = match known.take() {
            Some(f) => f,
            None => document::read(path).map_err(ReconcileError::Unparseable)?,
        };
        let pick = |d: &&Document| match (w.kind, w.name.as_deref()) {
            (Some(k), Some(n)) => matches(d, k, n),
            _ => d.kind().and_then(Kind::from_kind_field).is_none() || d.name().is_none(),
        };
        let doc = file.docs.iter().filter(|d| d.index == w.index).find(pick).or_else(|| file.docs.iter().find(pick));
        let Some(doc) = doc else { return Ok(false) };
        if doc.status() == Some(&w.status) {
            return Ok(false);
        }
        let spliced = splice_status(&file.text, doc.index, Some(&w.status))
            .map_err(|e| ReconcileError::StatusNotWritable { path: path.to_path_buf(), message: e.to_string() })?;
        match write_if_unchanged(path, &file.text, &spliced) {
            Ok(WriteOutcome::Written) => {
                remember_own_write(path, spliced.as_bytes());
                return Ok(true);
            }
            Ok(WriteOutcome::Unchanged) => return Ok(false),
            Ok(WriteOutcome::Conflict) => continue,
            Err(e) => {
                return Err(ReconcileError::StatusNotWritable { path: path.to_path_buf(), message: e.to_string() })
            }
        }
    }
    Err(ReconcileError::StatusNotWritable {
        path: path.to_path_buf(),
        message: "the file kept changing while the status was written".into(),
    })
}

/// Runs a blocking status write off the async workers (it fsyncs).
pub async fn write_status_async(w: StatusWrite) -> Result<bool, ReconcileError> {
    tokio::task::spawn_blocking(move || write_status(w)).await.map_err(|e| ReconcileError::Internal(e.to_string()))?
}

/// The content hash of the last status write per file. The watcher's event for that write
/// carries nothing new (a status never changes what is reconciled), so the reflector can
/// recognise it and skip parsing the file again.
static OWN_WRITES: LazyLock<Mutex<HashMap<PathBuf, u64>>> = LazyLock::new(Default::default);

fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn remember_own_write(path: &Path, bytes: &[u8]) {
    lock(&OWN_WRITES).insert(path.to_path_buf(), content_hash(bytes));
}

/// Whether `bytes` are exactly what the operator itself last wrote to `path`.
pub fn is_own_write(path: &Path, bytes: &[u8]) -> bool {
    lock(&OWN_WRITES).get(path).is_some_and(|h| *h == content_hash(bytes))
}
