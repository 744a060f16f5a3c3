//! What a SparkCluster needs and what its status says: pure functions of the spec and of
//! what the runtime observed.

use std::time::Duration;

use crate::api::cluster::{ClusterPhase, SparkClusterSpec, SparkClusterStatus, WorkerCounts};
use crate::api::condition::{set_condition, Condition, ConditionStatus};
use crate::runtime::{ClusterPlan, ObservedCluster};

pub fn plan(name: &str, spec: &SparkClusterSpec) -> ClusterPlan {
    ClusterPlan {
        name: name.to_string(),
        workers: spec.workers.replicas,
        worker_cores: spec.workers.cores,
        worker_memory: spec.workers.memory.clone(),
        master_port: spec.master.port,
        web_ui_port: spec.master.web_ui_port,
    }
}

/// Whether the runtime must act: something is missing, dead, extra or started from an
/// older plan.
pub fn needs_apply(plan: &ClusterPlan, seen: &ObservedCluster) -> bool {
    !seen.master_running
        || seen.workers_running != plan.workers
        || seen.workers_failed > 0
        || seen.applied.as_ref() != Some(plan)
}

/// How soon to look again: often while converging, calmly once Ready.
pub fn requeue(phase: ClusterPhase) -> Duration {
    match phase {
        ClusterPhase::Ready => Duration::from_secs(5),
        _ => Duration::from_secs(1),
    }
}

pub fn status(
    plan: &ClusterPlan,
    seen: &ObservedCluster,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> SparkClusterStatus {
    let mut conditions = previous.map(|p| p.conditions.clone()).unwrap_or_default();
    let mut cond = |type_: &str, status: ConditionStatus, reason: &str, message: String| {
        let mut c = Condition::new(type_, status, reason, message);
        c.observed_generation = Some(generation);
        set_condition(&mut conditions, c);
    };
    cond("Valid", ConditionStatus::True, "Valid", String::new());

    let desired = plan.workers;
    let alive = seen.workers_alive;
    let was_ready = previous.is_some_and(|p| matches!(p.phase, ClusterPhase::Ready | ClusterPhase::Degraded));
    let phase = if !seen.master_running {
        if was_ready {
            ClusterPhase::Degraded
        } else {
            ClusterPhase::Provisioning
        }
    } else if alive == desired && seen.workers_failed == 0 {
        ClusterPhase::Ready
    } else if was_ready {
        ClusterPhase::Degraded
    } else {
        ClusterPhase::Provisioning
    };

    if seen.master_running {
        cond("MasterReady", ConditionStatus::True, "MasterRunning", seen.master_url.clone().unwrap_or_default());
    } else {
        cond("MasterReady", ConditionStatus::False, "MasterStarting", "the master is not running yet".into());
    }
    let workers_msg = format!("{alive}/{desired} workers registered with the master");
    match phase {
        ClusterPhase::Ready => cond("Ready", ConditionStatus::True, "AllWorkersReady", workers_msg),
        ClusterPhase::Degraded => {
            let reason = if seen.workers_failed > 0 { "WorkerFailed" } else { "WorkersMissing" };
            cond("Ready", ConditionStatus::False, reason, workers_msg)
        }
        _ => cond("Ready", ConditionStatus::False, "Provisioning", workers_msg),
    }

    SparkClusterStatus {
        phase,
        observed_generation: Some(generation),
        conditions,
        master_url: seen.master_url.clone(),
        web_ui_url: seen.web_ui_url.clone(),
        spark_version: seen.spark_version.clone(),
        workers: Some(WorkerCounts { desired, ready: alive.min(desired) }),
        nodes: seen.nodes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(master: bool, running: u32, alive: u32, failed: u32, plan: &ClusterPlan) -> ObservedCluster {
        ObservedCluster {
            exists: true,
            master_running: master,
            master_url: Some("spark://127.0.0.1:7077".into()),
            web_ui_url: Some("http://127.0.0.1:8080".into()),
            workers_running: running,
            workers_alive: alive,
            workers_failed: failed,
            spark_version: Some("4.0.1".into()),
            applied: Some(plan.clone()),
            nodes: vec![],
        }
    }

    #[test]
    fn provisioning_then_ready_then_degraded_then_ready() {
        let p = plan("demo", &SparkClusterSpec::default());
        assert_eq!(p.workers, 2);
        let s1 = status(&p, &seen(true, 2, 1, 0, &p), 1, None);
        assert_eq!(s1.phase, ClusterPhase::Provisioning);
        let s2 = status(&p, &seen(true, 2, 2, 0, &p), 1, Some(&s1));
        assert_eq!(s2.phase, ClusterPhase::Ready);
        assert_eq!(s2.workers, Some(WorkerCounts { desired: 2, ready: 2 }));
        let s3 = status(&p, &seen(true, 1, 1, 1, &p), 1, Some(&s2));
        assert_eq!(s3.phase, ClusterPhase::Degraded);
        let ready = crate::api::condition::find(&s3.conditions, "Ready").unwrap();
        assert_eq!(ready.reason, "WorkerFailed");
        let s4 = status(&p, &seen(true, 2, 2, 0, &p), 1, Some(&s3));
        assert_eq!(s4.phase, ClusterPhase::Ready);
    }

    #[test]
    fn apply_is_needed_only_when_the_world_differs() {
        let p = plan("demo", &SparkClusterSpec::default());
        assert!(!needs_apply(&p, &seen(true, 2, 2, 0, &p)));
        assert!(needs_apply(&p, &seen(false, 2, 0, 0, &p)));
        assert!(needs_apply(&p, &seen(true, 1, 1, 0, &p)));
        let mut bigger = p.clone();
        bigger.workers = 3;
        assert!(needs_apply(&bigger, &seen(true, 2, 2, 0, &p)), "a replicas change scales");
    }
}
