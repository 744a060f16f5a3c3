//! The swarm branch of the SparkCluster reconciler: the same plan and status rules as the
//! local runtime, plus the conditions only a swarm has (SwarmReady, NodesReady,
//! RegistryReady), and engine problems (unreachable, not a manager, image missing) shown
//! as conditions rather than only as events.

use std::path::Path;
use std::time::Duration;

use crate::api::cluster::{ClusterPhase, SparkCluster, SparkClusterStatus, SwarmProvider, TlsSpec};
use crate::api::condition::{set_condition, Condition, ConditionStatus};
use crate::controller::Action;
use crate::manifest::paths::resolve_file;
use crate::runtime::swarm::cluster::SwarmDetail;
use crate::runtime::swarm::{ClusterTarget, SwarmError};
use crate::runtime::{ClusterRuntime, ObservedCluster, RuntimeError};

use super::super::context::Context;
use super::super::ReconcileError;
use super::decide;

const KIND: &str = "SparkCluster";
/// How soon an engine problem is looked at again.
const ENGINE_RETRY: Duration = Duration::from_secs(10);

pub async fn reconcile(
    ctx: &Context,
    name: &str,
    cluster: &SparkCluster,
    provider: &SwarmProvider,
    manifest: &Path,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> Result<(SparkClusterStatus, Action), ReconcileError> {
    let mut target = ClusterTarget::new(name, provider, cluster.spec.image.as_deref(), &cluster.spec.registry);
    if let Some(tls) = &provider.tls {
        match confine_tls(ctx, manifest, tls) {
            Ok(resolved) => target.tls = Some(resolved),
            Err(e) => {
                ctx.events.warning(KIND, name, e.reason(), e.to_string());
                return Ok((engine_problem(&e, generation, previous), Action::AwaitChange));
            }
        }
    }
    reconcile_target(ctx, name, cluster, &target, generation, previous).await
}

/// The client certificate files, resolved against the manifest and kept inside the allowed
/// roots like every path of a spec.
fn confine_tls(ctx: &Context, manifest: &Path, tls: &TlsSpec) -> Result<TlsSpec, SwarmError> {
    let one = |field: &str, p: &Path| {
        resolve_file(manifest, &p.to_string_lossy(), &ctx.roots)
            .map_err(|e| SwarmError::InvalidSpec(format!("spec.provider.swarm.tls.{field}: {e}")))
    };
    Ok(TlsSpec {
        ca_file: one("caFile", &tls.ca_file)?,
        cert_file: one("certFile", &tls.cert_file)?,
        key_file: one("keyFile", &tls.key_file)?,
    })
}

/// The cluster on the engine `target` reaches: also what the digitalocean branch hands
/// over to once its droplets are a swarm.
pub async fn reconcile_target(
    ctx: &Context,
    name: &str,
    cluster: &SparkCluster,
    target: &ClusterTarget,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> Result<(SparkClusterStatus, Action), ReconcileError> {
    ctx.swarm.configure(target)?;
    let plan = decide::plan(name, &cluster.spec);
    let converged = async {
        let (mut seen, mut detail) = ctx.swarm.observe_detail(name).await?;
        // A new generation may change what the plan does not hold (image, registry): the
        // runtime compares each service with its spec hash and updates only what differs.
        let new_generation = previous.and_then(|p| p.observed_generation) != Some(generation);
        if !detail.manager || new_generation || decide::needs_apply(&plan, &seen) {
            if seen.workers_failed > 0 {
                ctx.events.warning(
                    KIND,
                    name,
                    "WorkerFailed",
                    format!("{} worker task(s) failed; the swarm replaces them", seen.workers_failed),
                );
            }
            let first = !seen.exists;
            let failed = seen.workers_failed;
            ctx.swarm.apply(&plan).await?;
            if first {
                ctx.events.normal(
                    KIND,
                    name,
                    "Provisioning",
                    format!("created the master and {} worker(s) on the swarm", plan.workers),
                );
            }
            let (after, d) = ctx.swarm.observe_detail(name).await?;
            // Keep the failure visible for this status write (Degraded before Ready).
            seen = ObservedCluster { workers_failed: failed.max(after.workers_failed), ..after };
            detail = d;
        }
        Ok::<_, RuntimeError>((seen, detail))
    }
    .await;

    match converged {
        Ok((seen, detail)) => {
            let mut status = decide::status(&plan, &seen, generation, previous);
            swarm_conditions(&mut status, &detail, generation);
            let action = Action::Requeue(decide::requeue(status.phase));
            Ok((status, action))
        }
        Err(RuntimeError::Swarm(e)) => {
            ctx.events.warning(KIND, name, e.reason(), e.to_string());
            Ok((engine_problem(&e, generation, previous), Action::Requeue(ENGINE_RETRY)))
        }
        Err(other) => Err(other.into()),
    }
}

pub(super) fn cond(
    status: &mut SparkClusterStatus,
    generation: u64,
    type_: &str,
    s: ConditionStatus,
    reason: &str,
    message: String,
) {
    let mut c = Condition::new(type_, s, reason, message);
    c.observed_generation = Some(generation);
    set_condition(&mut status.conditions, c);
}

fn swarm_conditions(status: &mut SparkClusterStatus, detail: &SwarmDetail, generation: u64) {
    cond(
        status,
        generation,
        "SwarmReady",
        ConditionStatus::True,
        "SwarmManager",
        "the engine is a swarm manager".into(),
    );
    let nodes = format!("{}/{} nodes ready", detail.nodes_ready, detail.nodes_total);
    if detail.nodes_total > 0 && detail.nodes_ready == detail.nodes_total {
        cond(status, generation, "NodesReady", ConditionStatus::True, "AllNodesReady", nodes);
    } else {
        cond(status, generation, "NodesReady", ConditionStatus::False, "NodesNotReady", nodes);
    }
    match &detail.registry {
        Some(r) if r.running => {
            cond(status, generation, "RegistryReady", ConditionStatus::True, "RegistryRunning", r.message.clone())
        }
        Some(r) => {
            cond(status, generation, "RegistryReady", ConditionStatus::False, "RegistryStarting", r.message.clone())
        }
        None => status.conditions.retain(|c| c.type_ != "RegistryReady"),
    }
}

/// The status while the engine cannot be used: the reason names the problem.
fn engine_problem(e: &SwarmError, generation: u64, previous: Option<&SparkClusterStatus>) -> SparkClusterStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = Some(generation);
    // Configuration problems need the user; the others may pass (an engine restarting).
    let needs_user = matches!(
        e,
        SwarmError::NotSwarmManager { .. }
            | SwarmError::InvalidEndpoint { .. }
            | SwarmError::SshHostKeyNotTrusted(_)
            | SwarmError::ImageMissing(_)
            | SwarmError::ImageBuildFailed(_)
            | SwarmError::InvalidSpec(_)
            | SwarmError::SwarmInitFailed(_)
    );
    status.phase = match (needs_user, status.phase) {
        (true, _) => ClusterPhase::Failed,
        (false, ClusterPhase::Ready | ClusterPhase::Degraded) => ClusterPhase::Degraded,
        (false, _) => ClusterPhase::Provisioning,
    };
    cond(&mut status, generation, "Valid", ConditionStatus::True, "Valid", String::new());
    let swarm_related = matches!(
        e,
        SwarmError::NotSwarmManager { .. }
            | SwarmError::EngineUnreachable { .. }
            | SwarmError::InvalidEndpoint { .. }
            | SwarmError::SshFailed(_)
            | SwarmError::SshHostKeyNotTrusted(_)
            | SwarmError::SwarmInitFailed(_)
    );
    if swarm_related {
        cond(&mut status, generation, "SwarmReady", ConditionStatus::False, e.reason(), e.to_string());
    }
    cond(&mut status, generation, "Ready", ConditionStatus::False, e.reason(), e.to_string());
    status
}

/// Deletes what the swarm runtime holds of a cluster whose file is gone.
pub async fn delete(ctx: &Context, name: &str) -> Result<(), ReconcileError> {
    Ok(ctx.swarm.delete(name).await?)
}
