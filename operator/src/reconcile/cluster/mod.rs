//! The SparkCluster reconciler: dereference → validate → build the request (pure but for
//! path resolution) → converge through the cluster's runtime → status (pure) → write.
//! Whatever the runtime, a failure becomes the same status shape and goes to the one
//! error policy (`reconcile::error_policy`).

pub mod build;
pub mod decide;

use std::sync::Arc;

use crate::api::cluster::{ClusterPhase, DeletionPolicy, SparkCluster};
use crate::api::Kind;
use crate::controller::Action;
use crate::manifest::status_write::StatusWrite;
use crate::manifest::validate::Resource;
use crate::runtime::{Note, Runtimes};
use crate::state::StateDir;

use super::context::Context;
use super::dereference::{dereference, Dereferenced, Found};
use super::invalid::describe_errors;
use super::job::wake_jobs_of;
use super::update_status::write_status;
use super::ReconcileError;

const KIND: &str = "SparkCluster";

pub async fn reconcile(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let (file, index, generation, cluster): (_, _, _, SparkCluster) =
        match dereference(ctx, Kind::SparkCluster, name).await? {
            Dereferenced::Gone => return cleanup(ctx, name).await,
            Dereferenced::Done(action) => return Ok(action),
            Dereferenced::Valid { file, index, generation, resource: Resource::Cluster(c) } => {
                (file, index, generation, *c)
            }
            Dereferenced::Valid { .. } => return Ok(Action::AwaitChange),
        };
    let Some(doc) = Found::doc(&file, index) else { return Ok(Action::AwaitChange) };
    let previous = cluster.status.clone();
    let new_generation = previous.as_ref().and_then(|p| p.observed_generation) != Some(generation);
    let req = match build::request(&ctx.roots, &file.path, doc, name, &cluster, new_generation) {
        Ok(r) => r,
        Err(errors) => {
            let (reason, message) = describe_errors(&errors);
            let status = decide::unusable(&reason, &message, generation, previous.as_ref());
            ctx.events.warning(KIND, name, &reason, format!("{}: {message}", file.path.display()));
            let value = serde_json::to_value(&status).map_err(|e| ReconcileError::InternalError(e.to_string()))?;
            let object = Some((Kind::SparkCluster, name.to_string()));
            write_status(ctx, StatusWrite { path: file.path.clone(), object, index, status: value, read: Some(file) })
                .await?;
            return Ok(Action::AwaitChange);
        }
    };
    let kind = Runtimes::kind_of(&cluster.spec.provider);
    let key = StateDir::object_key(Kind::SparkCluster, name);
    ctx.generations.lock().set_owner(&key, kind, cluster.spec.deletion_policy == DeletionPolicy::Retain);

    let mut notes = Vec::new();
    let pass = ctx.runtimes.cluster(kind).converge(&req, &mut notes).await;
    record(ctx, name, notes);
    let (status, outcome) = match pass {
        Ok(converged) => {
            let status = decide::status(&req.plan, &converged, generation, previous.as_ref());
            let action = Action::Requeue(decide::requeue(status.phase));
            (status, Ok(action))
        }
        Err(e) => (decide::failed(&e, generation, previous.as_ref()), Err(ReconcileError::Runtime(e))),
    };

    let phase = status.phase;
    let value = serde_json::to_value(&status).map_err(|e| ReconcileError::InternalError(e.to_string()))?;
    let path = file.path.clone();
    let write = StatusWrite {
        path: path.clone(),
        object: Some((Kind::SparkCluster, name.to_string())),
        index,
        status: value,
        read: Some(file),
    };
    write_status(ctx, write).await?;
    let typed = SparkCluster { status: Some(status.clone()), ..cluster };
    ctx.store.lock().set_cluster(&path, index, Arc::new(typed));
    if previous.as_ref().map(|p| p.phase) != Some(phase) {
        match phase {
            ClusterPhase::Ready => ctx.events.normal(
                KIND,
                name,
                "Ready",
                format!("{} worker(s) registered", status.workers.map(|w| w.ready).unwrap_or(0)),
            ),
            ClusterPhase::Degraded => ctx.events.warning(KIND, name, "Degraded", "not every worker is registered"),
            _ => {}
        }
        wake_jobs_of(ctx, name);
    }
    outcome
}

fn record(ctx: &Context, name: &str, notes: Vec<Note>) {
    for n in notes {
        if n.warning {
            ctx.events.warning(KIND, name, n.reason, n.message);
        } else {
            ctx.events.normal(KIND, name, n.reason, n.message);
        }
    }
}

/// The file is gone: stop what the cluster runs, unless it was declared `Retain`.
async fn cleanup(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let key = StateDir::object_key(Kind::SparkCluster, name);
    let record = ctx.generations.lock().get(&key).cloned();
    if record.as_ref().is_some_and(|r| r.retain) {
        // The record stays, so that a restart does not mistake the cluster for an orphan.
        tracing::info!(cluster = name, "deleted with deletionPolicy Retain: leaving it running");
    } else {
        // The runtime that holds it: recorded with the generation, or (for an orphan found
        // at start-up) the one that keeps a record of it.
        let kind = record.and_then(|r| r.runtime).or_else(|| ctx.runtimes.holder_of(name)).unwrap_or_default();
        ctx.runtimes.cluster(kind).delete(name).await?;
        tracing::info!(cluster = name, runtime = %kind, "deleted: stopped what the cluster ran");
        ctx.generations.lock().remove(&key);
    }
    ctx.events.forget(KIND, name);
    wake_jobs_of(ctx, name);
    Ok(Action::AwaitChange)
}
