//! The SparkCluster reconciler: dereference → validate → plan (pure) → apply → status.

pub mod decide;
mod digitalocean;
mod swarm;

use crate::api::cluster::{ClusterPhase, DeletionPolicy, Provider, SparkCluster};
use crate::api::Kind;
use crate::controller::Action;
use crate::manifest::validate::Resource;
use crate::runtime::ClusterRuntime;
use crate::state::StateDir;

use super::context::Context;
use super::job::wake_jobs_of;
use super::locate::{dereference, write_status, Dereferenced};
use super::ReconcileError;
use crate::manifest::status_write::StatusWrite;

const KIND: &str = "SparkCluster";

pub async fn reconcile(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let (file, index, generation, cluster): (_, _, _, SparkCluster) = match dereference(ctx, Kind::SparkCluster, name)
        .await?
    {
        Dereferenced::Gone => return cleanup(ctx, name).await,
        Dereferenced::Done(action) => return Ok(action),
        Dereferenced::Valid { file, index, generation, resource: Resource::Cluster(c) } => (file, index, generation, c),
        Dereferenced::Valid { .. } => return Ok(Action::AwaitChange),
    };
    let key = StateDir::object_key(Kind::SparkCluster, name);
    let retain = cluster.spec.deletion_policy == DeletionPolicy::Retain;
    ctx.generations.lock().set_owner(&key, cluster.spec.provider.name(), retain);
    let previous = cluster.status.clone();

    let (status, action) = match &cluster.spec.provider {
        Provider::Local(_) => {
            let plan = decide::plan(name, &cluster.spec);
            let mut seen = ctx.local.observe(name).await?;
            if decide::needs_apply(&plan, &seen) {
                if seen.workers_failed > 0 {
                    ctx.events.warning(
                        KIND,
                        name,
                        "WorkerFailed",
                        format!("{} worker(s) died; restarting", seen.workers_failed),
                    );
                }
                let first = !seen.exists;
                let failed = seen.workers_failed;
                ctx.local.apply(&plan).await?;
                if first {
                    ctx.events.normal(
                        KIND,
                        name,
                        "Provisioning",
                        format!("starting a master and {} worker(s)", plan.workers),
                    );
                } else if failed == 0 {
                    ctx.events.normal(
                        KIND,
                        name,
                        "Updated",
                        format!(
                            "applied {} worker(s) x {} core(s), {}",
                            plan.workers, plan.worker_cores, plan.worker_memory
                        ),
                    );
                }
                let after = ctx.local.observe(name).await?;
                // Keep the failure visible for this status write: the phase goes Degraded
                // before it comes back to Ready.
                seen = crate::runtime::ObservedCluster { workers_failed: failed, ..after };
            }
            let status = decide::status(&plan, &seen, generation, previous.as_ref());
            let action = Action::Requeue(decide::requeue(status.phase));
            (status, action)
        }
        Provider::Swarm(sw) => {
            swarm::reconcile(ctx, name, &cluster, sw, &file.path, generation, previous.as_ref()).await?
        }
        Provider::Digitalocean(d) => {
            digitalocean::reconcile(ctx, name, &cluster, d, &file.path, generation, previous.as_ref()).await?
        }
    };

    let phase = status.phase;
    let value = serde_json::to_value(&status).map_err(|e| ReconcileError::Internal(e.to_string()))?;
    let write = StatusWrite {
        path: file.path.clone(),
        object: Some((Kind::SparkCluster, name.to_string())),
        index,
        status: value,
        read: Some(file),
    };
    write_status(ctx, write).await?;
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
    Ok(action)
}

/// The file is gone: stop what the cluster runs, unless it was declared `Retain`.
async fn cleanup(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let key = StateDir::object_key(Kind::SparkCluster, name);
    let record = ctx.generations.lock().get(&key).cloned();
    let retain = record.as_ref().is_some_and(|r| r.retain);
    if retain {
        // The record stays, so that a restart does not mistake the cluster for an orphan.
        tracing::info!(cluster = name, "deleted with deletionPolicy Retain: leaving it running");
    } else {
        // The runtime that holds it: recorded with the generation, or (for an orphan found
        // at start-up) the one that has a record of it.
        let provider = match &record {
            Some(r) => r.provider.clone(),
            None if ctx.digitalocean.record(name).is_some() => "digitalocean".into(),
            None if ctx.swarm.target(name).is_some() => "swarm".into(),
            None => "local".into(),
        };
        match provider.as_str() {
            "digitalocean" => digitalocean::delete(ctx, name).await?,
            "swarm" => swarm::delete(ctx, name).await?,
            _ => ctx.local.delete(name).await?,
        }
        tracing::info!(cluster = name, "deleted: stopped its master and workers");
        ctx.generations.lock().remove(&key);
    }
    ctx.events.forget(KIND, name);
    wake_jobs_of(ctx, name);
    Ok(Action::AwaitChange)
}
