//! The digitalocean branch of the SparkCluster reconciler: droplets first (the runtime's
//! `converge` moves them one step per pass and says where they are), then, once they are a
//! swarm, exactly the swarm branch on the manager's engine through SSH. The status adds
//! every droplet as a node; what a pass did becomes events.

use std::path::Path;
use std::time::Duration;

use crate::api::cluster::{
    ClusterPhase, DigitalOceanProvider, SecretRef, SparkCluster, SparkClusterStatus, SshKeySpec,
};
use crate::api::condition::ConditionStatus;
use crate::controller::Action;
use crate::manifest::paths::resolve_file;
use crate::runtime::digitalocean::cluster::Converged;
use crate::runtime::digitalocean::DoError;

use super::super::context::Context;
use super::super::ReconcileError;
use super::swarm::{cond, reconcile_target};

const KIND: &str = "SparkCluster";
/// How often a cluster whose droplets are booting or joining is looked at.
const PROVISIONING_POLL: Duration = Duration::from_secs(1);
/// How soon a failed pass is tried again (the API and SSH errors are mostly passing ones).
const RETRY: Duration = Duration::from_secs(5);

pub async fn reconcile(
    ctx: &Context,
    name: &str,
    cluster: &SparkCluster,
    provider: &DigitalOceanProvider,
    manifest: &Path,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> Result<(SparkClusterStatus, Action), ReconcileError> {
    let mut notes = Vec::new();
    let pass = match confine(ctx, manifest, provider) {
        Ok(confined) => {
            ctx.digitalocean
                .converge(&ctx.swarm, name, &cluster.spec, &confined, manifest_dir(manifest), &mut notes)
                .await
        }
        Err(e) => Err(e),
    };
    for n in notes {
        if n.warning {
            ctx.events.warning(KIND, name, n.reason, n.message);
        } else {
            ctx.events.normal(KIND, name, n.reason, n.message);
        }
    }
    match pass {
        Ok(Converged::Swarm { target, nodes }) => {
            let (mut status, action) = reconcile_target(ctx, name, cluster, &target, generation, previous).await?;
            status.nodes = nodes;
            Ok((status, action))
        }
        Ok(Converged::Provisioning { nodes, message }) => {
            let mut status = base(generation, previous);
            cond(&mut status, generation, "NodesReady", ConditionStatus::False, "NodesProvisioning", message.clone());
            // A cluster that runs keeps its phase while droplets are added (Spark on the
            // nodes it has is unaffected); one that never ran is still provisioning.
            if !was_ready(previous) {
                status.phase = ClusterPhase::Provisioning;
                cond(&mut status, generation, "Ready", ConditionStatus::False, "NodesProvisioning", message);
            }
            status.nodes = nodes;
            Ok((status, Action::Requeue(PROVISIONING_POLL)))
        }
        Err(e) => {
            ctx.events.warning(KIND, name, e.reason(), e.to_string());
            let mut status = base(generation, previous);
            status.phase = if needs_user(&e) {
                ClusterPhase::Failed
            } else if was_ready(previous) {
                ClusterPhase::Degraded
            } else {
                ClusterPhase::Provisioning
            };
            cond(&mut status, generation, "Ready", ConditionStatus::False, e.reason(), e.to_string());
            Ok((status, Action::Requeue(RETRY)))
        }
    }
}

fn manifest_dir(manifest: &Path) -> &Path {
    manifest.parent().unwrap_or(Path::new("."))
}

/// The spec's files (a token file, the login key) resolved against the manifest and kept
/// inside the allowed roots, as every path of a spec (`run --allow-root ~/.ssh` admits a
/// key there).
fn confine(ctx: &Context, manifest: &Path, provider: &DigitalOceanProvider) -> Result<DigitalOceanProvider, DoError> {
    let mut confined = provider.clone();
    if let SecretRef::File(f) = &provider.token_from {
        let path = resolve_file(manifest, &f.to_string_lossy(), &ctx.roots)
            .map_err(|e| DoError::TokenMissing(format!("spec.provider.digitalocean.tokenFrom.file: {e}")))?;
        confined.token_from = SecretRef::File(path);
    }
    if let Some(key) = &provider.ssh_key {
        let path = resolve_file(manifest, &key.private_key_file.to_string_lossy(), &ctx.roots)
            .map_err(|e| DoError::LoginKey(format!("spec.provider.digitalocean.sshKey.privateKeyFile: {e}")))?;
        confined.ssh_key = Some(SshKeySpec { private_key_file: path });
    }
    Ok(confined)
}

fn base(generation: u64, previous: Option<&SparkClusterStatus>) -> SparkClusterStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = Some(generation);
    cond(&mut status, generation, "Valid", ConditionStatus::True, "Valid", String::new());
    status
}

fn was_ready(previous: Option<&SparkClusterStatus>) -> bool {
    previous.is_some_and(|p| matches!(p.phase, ClusterPhase::Ready | ClusterPhase::Degraded))
}

/// Errors that another pass will not fix: the user has to change something.
fn needs_user(e: &DoError) -> bool {
    matches!(
        e,
        DoError::TokenMissing(_)
            | DoError::TokenInvalid(_)
            | DoError::Unauthorized(_)
            | DoError::InvalidApiUrl(_)
            | DoError::LoginKey(_)
    )
}

/// Destroys the droplets, firewall and registered key of a cluster whose file is gone.
pub async fn delete(ctx: &Context, name: &str) -> Result<(), ReconcileError> {
    match ctx.digitalocean.destroy(&ctx.swarm, name).await {
        Ok(done) => {
            tracing::info!(
                cluster = name,
                droplets = done.droplets,
                firewalls = done.firewalls,
                ssh_keys = done.ssh_keys,
                "destroyed the cluster's droplets"
            );
            Ok(())
        }
        Err(e) => {
            ctx.events.warning(KIND, name, e.reason(), format!("destroying the cluster: {e}"));
            Err(ReconcileError::Internal(format!("destroying the digitalocean cluster {name}: {e}")))
        }
    }
}
