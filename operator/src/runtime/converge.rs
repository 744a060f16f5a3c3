//! The pass every runtime that runs Spark services makes: observe, apply when the world
//! differs from the plan, observe again. Pure decisions live here too, so that each runtime
//! only supplies its observe and apply.

use std::future::Future;

use super::{ClusterPlan, Converged, Note, ObservedCluster, RuntimeError};

/// Whether the runtime must act: something is missing, dead, extra or started from an
/// older plan.
pub fn needs_apply(plan: &ClusterPlan, seen: &ObservedCluster) -> bool {
    !seen.master_running
        || seen.workers_running != plan.workers
        || seen.workers_failed > 0
        || seen.applied.as_ref() != Some(plan)
}

/// One pass. `must_apply` forces the apply from what the runtime saw besides the plan (a
/// new generation, an engine that is no manager yet). `where_` names where the cluster runs,
/// for the events.
pub async fn pass<D, M, O, OF, A, AF>(
    plan: &ClusterPlan,
    must_apply: M,
    where_: &str,
    notes: &mut Vec<Note>,
    observe: O,
    apply: A,
) -> Result<(Converged, D), RuntimeError>
where
    M: FnOnce(&D) -> bool,
    O: Fn() -> OF,
    OF: Future<Output = Result<(ObservedCluster, D), RuntimeError>>,
    A: FnOnce() -> AF,
    AF: Future<Output = Result<(), RuntimeError>>,
{
    let (mut seen, mut detail) = observe().await?;
    if must_apply(&detail) || needs_apply(plan, &seen) {
        let failed = seen.workers_failed;
        if failed > 0 {
            notes.push(Note::warning("WorkerFailed", format!("{failed} worker(s) died; restarting")));
        }
        let first = !seen.exists;
        apply().await?;
        if first {
            notes.push(Note::normal(
                "Provisioning",
                format!("starting a master and {} worker(s) {where_}", plan.workers),
            ));
        } else if failed == 0 && seen.applied.as_ref() != Some(plan) {
            notes.push(Note::normal(
                "Updated",
                format!("applied {} worker(s) x {} core(s), {}", plan.workers, plan.worker_cores, plan.worker_memory),
            ));
        }
        let (after, d) = observe().await?;
        // Keep the failure visible for this status write: the phase goes Degraded before
        // it comes back to Ready.
        seen = ObservedCluster { workers_failed: failed.max(after.workers_failed), ..after };
        detail = d;
    }
    Ok((Converged { seen, ..Default::default() }, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::SparkClusterSpec;

    fn seen(master: bool, running: u32, failed: u32, plan: &ClusterPlan) -> ObservedCluster {
        ObservedCluster {
            exists: true,
            master_running: master,
            workers_running: running,
            workers_alive: running,
            workers_failed: failed,
            applied: Some(plan.clone()),
            ..Default::default()
        }
    }

    fn plan() -> ClusterPlan {
        ClusterPlan::of("demo", &SparkClusterSpec::default())
    }

    #[test]
    fn apply_is_needed_only_when_the_world_differs() {
        let p = plan();
        assert!(!needs_apply(&p, &seen(true, 2, 0, &p)));
        assert!(needs_apply(&p, &seen(false, 2, 0, &p)));
        assert!(needs_apply(&p, &seen(true, 1, 0, &p)));
        assert!(needs_apply(&p, &seen(true, 2, 1, &p)));
        let mut bigger = p.clone();
        bigger.workers = 3;
        assert!(needs_apply(&bigger, &seen(true, 2, 0, &p)), "a replicas change scales");
    }
}
