//! Dereference: find an object's document on disk (the truth, not the reflector's
//! memory), and write a status back to exactly that document.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use crate::api::Kind;
use crate::manifest::document::{self, Document, ManifestFile, ParseError};
use crate::manifest::splice::splice_status;
use crate::manifest::write::{write_if_unchanged, WriteOutcome};

use super::context::{lock, Context};
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
                let hit = file.docs.iter().find(|d| d.index == index && matches(d, kind, name)).map(|d| d.index)
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

/// One writer per file inside the operator: two documents of one file reconciled at once
/// must not race through the compare-and-rename window and drop each other's status.
fn file_lock(path: &Path) -> Arc<Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);
    let mut locks = lock(&LOCKS);
    locks.entry(path.to_path_buf()).or_default().clone()
}

/// Writes `status` into the document (`kind`, `name`), preferring the one at `index`.
/// Compare-and-swap: a concurrent edit by the user is re-read and the status re-spliced,
/// so their edit is never lost. Returns whether the file changed.
pub fn write_status(path: &Path, kind: Option<Kind>, name: Option<&str>, index: usize, status: &serde_json::Value) -> Result<bool, ReconcileError> {
    let guard = file_lock(path);
    let _held = lock(&guard);
    for _ in 0..5 {
        let file = document::read(path).map_err(ReconcileError::Unparseable)?;
        let pick = |d: &&Document| match (kind, name) {
            (Some(k), Some(n)) => matches(d, k, n),
            _ => d.kind().and_then(Kind::from_kind_field).is_none() || d.name().is_none(),
        };
        let doc = file.docs.iter().filter(|d| d.index == index).find(pick).or_else(|| file.docs.iter().find(pick));
        let Some(doc) = doc else { return Ok(false) };
        if doc.status() == Some(status) {
            return Ok(false);
        }
        let spliced = splice_status(&file.text, doc.index, Some(status))
            .map_err(|e| ReconcileError::StatusNotWritable { path: path.to_path_buf(), message: e.to_string() })?;
        match write_if_unchanged(path, &file.text, &spliced) {
            Ok(WriteOutcome::Written) => return Ok(true),
            Ok(WriteOutcome::Unchanged) => return Ok(false),
            Ok(WriteOutcome::Conflict) => continue,
            Err(e) => return Err(ReconcileError::StatusNotWritable { path: path.to_path_buf(), message: e.to_string() }),
        }
    }
    Err(ReconcileError::StatusNotWritable { path: path.to_path_buf(), message: "the file kept changing while the status was written".into() })
}

/// Runs a blocking status write off the async workers (it fsyncs).
pub async fn write_status_async(path: PathBuf, kind: Option<Kind>, name: Option<String>, index: usize, status: serde_json::Value) -> Result<bool, ReconcileError> {
    tokio::task::spawn_blocking(move || write_status(&path, kind, name.as_deref(), index, &status))
        .await
        .map_err(|e| ReconcileError::Internal(e.to_string()))?
}
