//! Statuses for documents that cannot be acted on: invalid fields, duplicates, documents
//! without a kind or name. The previous phase is kept (a running cluster whose file is
//! being fixed keeps running); `Valid=False` says what is wrong and where.

use std::path::Path;

use serde_json::{json, Value};

use crate::api::condition::{set_condition, Condition, ConditionStatus};
use crate::api::Kind;
use crate::controller::Action;
use crate::manifest::document;
use crate::manifest::validate::{validate, FieldError};

use super::context::Context;
use super::update_status::write_status;
use super::ReconcileError;
use crate::manifest::status_write::StatusWrite;

/// Builds the status JSON of an invalid document from its previous status.
pub fn invalid_status(previous: Option<&Value>, reason: &str, message: &str, generation: Option<u64>) -> Value {
    let mut status = match previous {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => json!({}),
    };
    let mut conditions: Vec<Condition> =
        status.get("conditions").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
    let mut c = Condition::new("Valid", ConditionStatus::False, reason, message);
    c.observed_generation = generation;
    set_condition(&mut conditions, c);
    if let Value::Object(m) = &mut status {
        if !m.contains_key("phase") {
            m.insert("phase".into(), json!("Failed"));
        }
        if let Some(g) = generation {
            m.insert("observedGeneration".into(), json!(g));
        }
        m.insert("message".into(), json!(message));
        m.insert("conditions".into(), serde_json::to_value(&conditions).unwrap_or(Value::Null));
    }
    status
}

/// One line per error, as `validate` prints them, for the condition's message.
pub fn describe_errors(errors: &[FieldError]) -> (String, String) {
    // An inline secret is the one problem that must be named first, whatever else is wrong.
    let reason = errors
        .iter()
        .find(|e| e.reason == "InlineSecret")
        .or(errors.first())
        .map(|e| e.reason.clone())
        .unwrap_or_else(|| "Invalid".into());
    let message = errors
        .iter()
        .map(|e| format!("line {}: {}: {}", e.line, if e.field.is_empty() { "<root>" } else { &e.field }, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    (reason, message)
}

/// Writes `Valid=False` into an object's document and records the event.
// Where (path, kind, name, index) and what (previous, reason, message, generation): a
// struct for either would only be built to be taken apart here.
#[allow(clippy::too_many_arguments)]
pub async fn mark_invalid(
    ctx: &Context,
    path: &Path,
    kind: Option<Kind>,
    name: Option<&str>,
    index: usize,
    previous: Option<&Value>,
    reason: &str,
    message: &str,
    generation: Option<u64>,
) -> Result<(), ReconcileError> {
    let status = invalid_status(previous, reason, message, generation);
    let object = kind.zip(name.map(str::to_string));
    let write = StatusWrite { path: path.to_path_buf(), object, index, status, read: None };
    let written = write_status(ctx, write).await?;
    if written {
        let (k, n) = match (kind, name) {
            (Some(k), Some(n)) => (k.as_str().to_string(), n.to_string()),
            _ => ("File".to_string(), format!("{}#{}", file_name(path), index)),
        };
        ctx.events.warning(&k, &n, reason, format!("{}: {message}", path.display()));
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A document without a usable identity: all we can do is say why in its status.
pub async fn reconcile_document(ctx: &Context, path: &Path, index: usize) -> Result<Action, ReconcileError> {
    let file = match document::read(path) {
        Ok(f) => f,
        Err(_) if !path.exists() => return Ok(Action::AwaitChange),
        Err(e) => return Err(ReconcileError::InvalidYaml(e)),
    };
    let Some(doc) = file.docs.iter().find(|d| d.index == index) else { return Ok(Action::AwaitChange) };
    if doc.kind().and_then(Kind::from_kind_field).is_some()
        && doc.name().is_some_and(crate::api::meta::is_dns1123_label)
    {
        // It has an identity now; its object key takes over.
        return Ok(Action::AwaitChange);
    }
    let errors = match validate(path, doc) {
        Err(errors) => errors,
        Ok(_) => return Ok(Action::AwaitChange),
    };
    let (reason, message) = describe_errors(&errors);
    mark_invalid(ctx, path, None, None, index, doc.status(), &reason, &message, None).await?;
    Ok(Action::AwaitChange)
}

/// A spec that cannot be used as written: `Valid=False` with every error's line and field.
/// An invalid job can never run: for `run --exit-when-done` it has failed.
#[allow(clippy::too_many_arguments)] // as mark_invalid
pub async fn mark_spec_invalid(
    ctx: &Context,
    path: &Path,
    kind: Kind,
    name: &str,
    index: usize,
    previous: Option<&Value>,
    generation: u64,
    errors: &[FieldError],
) -> Result<(), ReconcileError> {
    let (reason, message) = describe_errors(errors);
    mark_invalid(ctx, path, Some(kind), Some(name), index, previous, &reason, &message, Some(generation)).await?;
    if kind == Kind::SparkJob {
        ctx.set_job_phase(name, Some(crate::api::job::JobPhase::Failed), None);
    }
    Ok(())
}

/// An object whose name is not a DNS-1123 label: its documents get `Valid=False` as
/// documents without a usable identity, so that the name never reaches a path or a runtime.
pub async fn reconcile_misnamed(ctx: &Context, kind: Kind, name: &str) -> Result<Action, ReconcileError> {
    let locations = ctx.store.lock().locations(kind, name);
    for (path, index) in locations {
        reconcile_document(ctx, &path, index).await?;
    }
    Ok(Action::AwaitChange)
}
