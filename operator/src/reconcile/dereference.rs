//! Dereference: find an object's document on disk (the truth, not the reflector's
//! memory), validate it and count its generation.

use std::path::PathBuf;

use crate::api::Kind;
use crate::manifest::document::{self, Document, ManifestFile, ParseError};

use crate::controller::Action;
use crate::manifest::catalog::duplicate;
use crate::manifest::validate::{validate, Resource};
use crate::state::StateDir;

use super::context::Context;
use super::invalid::{describe_errors, mark_invalid, mark_spec_invalid};
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

pub fn locate(ctx: &Context, kind: Kind, name: &str) -> Found {
    let locations = ctx.store.lock().locations(kind, name);
    let mut winner: Option<(ManifestFile, usize)> = None;
    let mut losers = Vec::new();
    for (path, index) in locations {
        if winner.is_some() {
            losers.push((path, index));
            continue;
        }
        let read = document::read_bytes(&path).and_then(|bytes| match ctx.status.loaded.take(&path, &bytes) {
            Some(file) => Ok(file),
            None => document::parse_bytes(&path, bytes),
        });
        match read {
            Ok(file) => {
                let hit = file
                    .docs
                    .iter()
                    .find(|d| d.index == index && d.is(kind, name))
                    .map(|d| d.index)
                    .or_else(|| file.docs.iter().find(|d| d.is(kind, name)).map(|d| d.index));
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
        None => match ctx.store.lock().unknown_file() {
            // Deleting is destructive: not while a file we cannot read might still hold it.
            Some(e) => Found::Unparseable(e.clone()),
            None => Found::Gone,
        },
    }
}

/// Where a reconcile starts from: the object's document, validated, with its generation.
// One value per reconcile, moved once: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
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
    let generation = ctx.generations.lock().observe(&key, &doc.generation_hash()).generation;
    for (path, i) in &losers {
        let Ok(loser_file) = document::read(path) else { continue };
        let Some(loser) = loser_file.docs.iter().find(|d| d.index == *i) else { continue };
        let winner_line = doc.line_of("/metadata/name");
        let (reason, msg) = describe_errors(&[duplicate(path, loser, kind, name, &file.path, winner_line)]);
        mark_invalid(ctx, path, Some(kind), Some(name), *i, None, &reason, &msg, None).await?;
    }
    // A cluster's files (token, login key, TLS) are checked as `validate` checks them.
    let validated = validate(&file.path, doc).and_then(|resource| match &resource {
        Resource::Cluster(c) => {
            let errors = crate::manifest::spec_paths::check_cluster_paths(&ctx.roots, &file.path, doc, &c.spec);
            if errors.is_empty() {
                Ok(resource)
            } else {
                Err(errors)
            }
        }
        Resource::Job(_) => Ok(resource),
        Resource::Schedule(s) => {
            let errors = super::schedule::template_errors(&ctx.roots, &file.path, doc, &s.spec);
            if errors.is_empty() {
                Ok(resource)
            } else {
                Err(errors)
            }
        }
    });
    match validated {
        Ok(resource) if resource.kind() == kind => Ok(Dereferenced::Valid { file, index, generation, resource }),
        Ok(_) => Ok(Dereferenced::Done(Action::AwaitChange)),
        Err(errors) => {
            mark_spec_invalid(ctx, &file.path, kind, name, index, doc.status(), generation, &errors).await?;
            Ok(Dereferenced::Done(Action::AwaitChange))
        }
    }
}
