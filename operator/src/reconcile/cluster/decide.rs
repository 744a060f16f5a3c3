//! What a SparkCluster's status says: pure functions of the plan, of what the runtime saw
//! (or how it failed) and of the previous status.

use std::time::Duration;

use crate::api::cluster::{ClusterPhase, SparkClusterStatus, WorkerCounts};
use crate::api::condition::{set_condition, Condition, ConditionStatus};
use crate::runtime::{ClusterPlan, Converged, RuntimeError};

/// How soon to look again: often while converging, calmly once Ready.
pub fn requeue(phase: ClusterPhase) -> Duration {
    match phase {
        ClusterPhase::Ready => Duration::from_secs(5),
        _ => Duration::from_secs(1),
    }
}

/// The conditions every runtime reports; the others are the runtime's own.
const COMMON: [&str; 3] = ["Valid", "MasterReady", "Ready"];

fn was_ready(previous: Option<&SparkClusterStatus>) -> bool {
    previous.is_some_and(|p| matches!(p.phase, ClusterPhase::Ready | ClusterPhase::Degraded))
}

fn set(conditions: &mut Vec<Condition>, generation: u64, mut c: Condition) {
    c.observed_generation = Some(generation);
    set_condition(conditions, c);
}

/// The status after a pass of the runtime.
pub fn status(
    plan: &ClusterPlan,
    converged: &Converged,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> SparkClusterStatus {
    let seen = &converged.seen;
    if let Some(message) = &converged.provisioning {
        return provisioning(converged, message, generation, previous);
    }
    let mut conditions = previous.map(|p| p.conditions.clone()).unwrap_or_default();
    // A runtime condition no longer reported (a registry switched off) goes away.
    conditions
        .retain(|c| COMMON.contains(&c.type_.as_str()) || converged.conditions.iter().any(|n| n.type_ == c.type_));
    let mut cond = |type_: &str, status: ConditionStatus, reason: &str, message: String| {
        set(&mut conditions, generation, Condition::new(type_, status, reason, message));
    };
    cond("Valid", ConditionStatus::True, "Valid", String::new());

    let desired = plan.workers;
    let alive = seen.workers_alive;
    let was_ready = was_ready(previous);
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
    for c in &converged.conditions {
        set(&mut conditions, generation, c.clone());
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

/// Not yet able to run Spark (droplets booting): a cluster that ran keeps its phase and what
/// it showed (Spark on the nodes it has is unaffected); one that never ran is Provisioning.
fn provisioning(
    converged: &Converged,
    message: &str,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> SparkClusterStatus {
    let mut status = base(generation, previous);
    for c in &converged.conditions {
        set(&mut status.conditions, generation, c.clone());
    }
    if !was_ready(previous) {
        status.phase = ClusterPhase::Provisioning;
        set(
            &mut status.conditions,
            generation,
            Condition::new("Ready", ConditionStatus::False, "NodesProvisioning", message),
        );
    }
    status.nodes = converged.seen.nodes.clone();
    status
}

/// The status while the runtime fails: the reason names the problem. One that needs the
/// user is Failed; a passing one leaves a running cluster Degraded.
pub fn failed(e: &RuntimeError, generation: u64, previous: Option<&SparkClusterStatus>) -> SparkClusterStatus {
    let mut status = base(generation, previous);
    status.phase = match (e.needs_user(), status.phase) {
        (true, _) => ClusterPhase::Failed,
        (false, ClusterPhase::Ready | ClusterPhase::Degraded) => ClusterPhase::Degraded,
        (false, _) => ClusterPhase::Provisioning,
    };
    if let Some(type_) = e.condition_type() {
        set(
            &mut status.conditions,
            generation,
            Condition::new(type_, ConditionStatus::False, e.reason(), e.to_string()),
        );
    }
    set(&mut status.conditions, generation, Condition::new("Ready", ConditionStatus::False, e.reason(), e.to_string()));
    status
}

/// The status of a cluster whose spec cannot be used as written (a path outside the allowed
/// roots): Failed, with the problem in `Valid` and `Ready` alike, until the file changes.
pub fn unusable(
    reason: &str,
    message: &str,
    generation: u64,
    previous: Option<&SparkClusterStatus>,
) -> SparkClusterStatus {
    let mut status = base(generation, previous);
    status.phase = ClusterPhase::Failed;
    set(&mut status.conditions, generation, Condition::new("Valid", ConditionStatus::False, reason, message));
    set(&mut status.conditions, generation, Condition::new("Ready", ConditionStatus::False, reason, message));
    status
}

fn base(generation: u64, previous: Option<&SparkClusterStatus>) -> SparkClusterStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = Some(generation);
    set(&mut status.conditions, generation, Condition::new("Valid", ConditionStatus::True, "Valid", ""));
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::api::cluster::SparkClusterSpec;
    use crate::runtime::ObservedCluster;

    fn seen(master: bool, running: u32, alive: u32, failed: u32, plan: &ClusterPlan) -> Converged {
        let seen = ObservedCluster {
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
        };
        Converged { seen, ..Default::default() }
    }

    #[test]
    fn provisioning_then_ready_then_degraded_then_ready() {
        let p = ClusterPlan::of("demo", &SparkClusterSpec::default());
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
    fn runtime_conditions_are_set_and_dropped_when_no_longer_reported() {
        let p = ClusterPlan::of("demo", &SparkClusterSpec::default());
        let mut c = seen(true, 2, 2, 0, &p);
        c.conditions = vec![Condition::new("RegistryReady", ConditionStatus::True, "RegistryRunning", "up")];
        let s1 = status(&p, &c, 1, None);
        assert!(crate::api::condition::find(&s1.conditions, "RegistryReady").is_some());
        c.conditions.clear();
        let s2 = status(&p, &c, 2, Some(&s1));
        assert!(crate::api::condition::find(&s2.conditions, "RegistryReady").is_none());
    }

    #[test]
    fn a_failure_that_needs_the_user_fails_a_passing_one_degrades() {
        let p = ClusterPlan::of("demo", &SparkClusterSpec::default());
        let ready = status(&p, &seen(true, 2, 2, 0, &p), 1, None);
        let bad = RuntimeError::InvalidSpec("no".into());
        let s = failed(&bad, 1, Some(&ready));
        assert_eq!(s.phase, ClusterPhase::Failed);
        assert_eq!(crate::api::condition::find(&s.conditions, "Ready").map(|c| c.reason.as_str()), Some("InvalidSpec"));
        let passing = RuntimeError::Unreachable("down".into());
        assert_eq!(failed(&passing, 1, Some(&ready)).phase, ClusterPhase::Degraded);
        assert_eq!(failed(&passing, 1, None).phase, ClusterPhase::Provisioning);
        assert_eq!(s.master_url, ready.master_url, "what the cluster showed is kept");
    }

    #[test]
    fn provisioning_keeps_a_running_cluster_s_phase() {
        let p = ClusterPlan::of("demo", &SparkClusterSpec::default());
        let ready = status(&p, &seen(true, 2, 2, 0, &p), 1, None);
        let booting = Converged { provisioning: Some("1/2 droplets active".into()), ..Default::default() };
        assert_eq!(status(&p, &booting, 2, Some(&ready)).phase, ClusterPhase::Ready);
        assert_eq!(status(&p, &booting, 1, None).phase, ClusterPhase::Provisioning);
    }
}
