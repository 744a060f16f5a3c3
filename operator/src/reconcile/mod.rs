//! Per-kind reconcilers. Each reconcile reads the truth (file, ledger, runtime), decides
//! with pure functions, applies through a runtime trait and writes the status.

pub mod cluster;
pub mod context;
pub mod dereference;
pub mod invalid;
pub mod job;
pub mod schedule;
pub mod update_status;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::Kind;
use crate::controller::backoff::Backoff;
use crate::controller::store::Key;
use crate::controller::Action;
use crate::manifest::document::ParseError;
use crate::runtime::RuntimeError;

pub use context::Context;

/// How often an object whose file does not parse is looked at again.
pub const UNPARSEABLE_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

/// Why a reconcile failed; the variant name is the event reason, except for runtime
/// errors, whose own variant names are.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
pub enum ReconcileError {
    #[error("{0}")]
    InvalidYaml(ParseError),
    #[error("cannot write the status: {0}")]
    StatusNotWritable(crate::manifest::write::WriteError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("state directory: {0}")]
    StateError(#[from] std::io::Error),
    #[error("internal error: {0}")]
    InternalError(String),
}

impl ReconcileError {
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Runtime(e) => e.reason(),
            other => other.into(),
        }
    }
}

/// How soon an object whose runtime failed in a way only the user can fix is looked at
/// again. A change of its file wakes it at once; this catches fixes made outside the file
/// (`docker swarm init`, an image built by hand).
pub const NEEDS_USER_RECHECK: Duration = Duration::from_secs(60);

/// What the controller does after a failed reconcile, decided from the error alone:
/// what needs the user waits for a change, what may pass backs off.
pub fn error_policy(error: &ReconcileError, failures: u32) -> Action {
    let backoff = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(10) };
    match error {
        ReconcileError::Runtime(e) if e.needs_user() => Action::Requeue(NEEDS_USER_RECHECK),
        ReconcileError::InvalidYaml(_) => Action::Requeue(UNPARSEABLE_RETRY),
        _ => Action::Requeue(backoff.delay(failures)),
    }
}

/// The one entry point the controller runtime calls.
pub async fn reconcile(ctx: Arc<Context>, key: Key) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let (kind_label, result) = match &key {
        // Nothing is built from a name that is not a DNS-1123 label: no state paths, no
        // runtime calls; its documents are only told what is wrong.
        Key::Object(kind, name) if !crate::api::meta::is_dns1123_label(name) => {
            ("Document", invalid::reconcile_misnamed(&ctx, *kind, name).await)
        }
        Key::Object(Kind::SparkCluster, name) => ("SparkCluster", cluster::reconcile(&ctx, name).await),
        Key::Object(Kind::SparkJob, name) => ("SparkJob", job::reconcile(&ctx, name).await),
        Key::Object(Kind::SparkSchedule, name) => ("SparkSchedule", schedule::reconcile(&ctx, name).await),
        Key::Document(path, index) => ("Document", invalid::reconcile_document(&ctx, path, *index).await),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(_) => "error",
    };
    crate::metrics::reconciled(kind_label, outcome, started.elapsed());
    if let (Err(e), Key::Object(kind, name)) = (&result, &key) {
        ctx.events.warning(kind.as_str(), name, e.reason(), e.to_string());
    }
    result
}

#[cfg(test)]
mod tests;
