//! What a SparkJob should do next, and what its status says: pure functions of the spec,
//! the ledger, what the runtime sees and the cluster's state. No I/O here; the reconciler
//! applies one step, re-reads the world and asks again.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::api::cluster::{ClusterPhase, SparkCluster};
use crate::api::condition::{set_condition, Condition, ConditionStatus};
use crate::api::job::{JobPhase, RestartPolicyType, SparkJobSpec, SparkJobStatus};
use crate::runtime::{AttemptObservation, AttemptState, RuntimeKind};
use crate::state::ledger::{AttemptEnd, AttemptRecord, EndReason, JobLedger};

use super::criteria;
use super::depends::Deps;

/// The referenced cluster, as the job sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterView {
    Missing,
    NotReady {
        phase: String,
    },
    /// `runtime`: the job runtime that runs this cluster's jobs.
    Ready {
        master_url: String,
        runtime: RuntimeKind,
    },
}

impl ClusterView {
    /// The view of the cluster the store holds: Ready only with a master to submit to.
    pub fn of(cluster: Option<&SparkCluster>, job_runtime: RuntimeKind) -> ClusterView {
        let Some(c) = cluster else { return ClusterView::Missing };
        match &c.status {
            Some(s) if s.phase == ClusterPhase::Ready && s.master_url.is_some() => {
                ClusterView::Ready { master_url: s.master_url.clone().unwrap_or_default(), runtime: job_runtime }
            }
            Some(s) => ClusterView::NotReady { phase: s.phase.as_str().to_string() },
            None => ClusterView::NotReady { phase: ClusterPhase::Pending.as_str().to_string() },
        }
    }
}

pub struct JobView<'a> {
    pub spec: &'a SparkJobSpec,
    pub generation: u64,
    pub ledger: &'a JobLedger,
    /// The runtime's view of the latest attempt, when that attempt has no recorded end.
    pub live: Option<&'a AttemptObservation>,
    pub cluster: &'a ClusterView,
    /// What `dependsOn` allows (Ready with no inputs when the job has none).
    pub deps: &'a Deps,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nothing to do now; look again after this long (None: when something changes).
    Wait(Option<Duration>),
    /// Record and submit attempt `number` of the current generation.
    Submit { number: u32 },
    /// The latest attempt ended: record how.
    RecordEnd(Box<AttemptEnd>),
    /// Stop the running attempt; its end is recorded with this reason.
    Kill { reason: EndReason, message: String },
    /// `ttlSecondsAfterFinished` passed: remove the attempts' logs and outputs.
    Expire,
}

/// How long a driver may be missing after its record was written before the attempt
/// counts as lost (the operator died between the record and the start).
pub const LOST_AFTER: Duration = Duration::from_secs(30);
/// While a driver starts (no trace of it yet), and before the end watch can be armed.
const POLL_STARTING: Duration = Duration::from_secs(2);
/// A running attempt's end arrives as a hint from its runtime (`JobRuntime::ended`); this
/// poll is only the safety net behind it.
pub const POLL_RUNNING: Duration = Duration::from_secs(15);
const POLL_CLUSTER_NOT_READY: Duration = Duration::from_secs(30);

pub fn next_step(v: &JobView) -> Step {
    if let Some(open) = open_attempt(v.ledger) {
        return step_for_open_attempt(v, open);
    }
    if v.spec.suspend {
        return Step::Wait(None);
    }
    let attempts = v.ledger.current_run(v.generation);
    let Some(last) = attempts.last() else {
        return match v.deps {
            // Upstream jobs wake this one when they change.
            Deps::Waiting(_) | Deps::Failed { .. } => Step::Wait(None),
            Deps::Ready(_) => submit_when_ready(v, 1),
        };
    };
    let Some(end) = &last.ended else { return Step::Wait(Some(POLL_STARTING)) };
    if end.succeeded() || !retry_allowed(v.spec, attempts.len() as u32, end) {
        if let Deps::Ready(inputs) = v.deps {
            // An upstream succeeded again since this run consumed it: run again, as make.
            if !inputs.is_empty() && *inputs != last.inputs {
                return submit_when_ready(v, 1);
            }
        }
        return finished_step(v, end);
    }
    let due = end.at + chrono::Duration::seconds(v.spec.restart_policy.backoff_seconds as i64);
    if v.now < due {
        return Step::Wait(Some(to_std(due - v.now)));
    }
    submit_when_ready(v, attempts.len() as u32 + 1)
}

fn open_attempt(ledger: &JobLedger) -> Option<&AttemptRecord> {
    ledger.latest().filter(|a| a.ended.is_none())
}

fn step_for_open_attempt(v: &JobView, open: &AttemptRecord) -> Step {
    let live = match v.live {
        Some(live) => live,
        None => {
            // No trace at all: the operator stopped after the record, before the start.
            if v.now - open.submitted_at < chrono::Duration::from_std(LOST_AFTER).unwrap_or_default() {
                return Step::Wait(Some(POLL_STARTING));
            }
            return Step::RecordEnd(Box::new(lost_end(v.now, None)));
        }
    };
    match &live.state {
        AttemptState::Lost => Step::RecordEnd(Box::new(lost_end(v.now, Some(live)))),
        AttemptState::Exited(code) => Step::RecordEnd(Box::new(exited_end(*code, live, v.spec, v.now))),
        AttemptState::Running => {
            if open.generation != v.generation {
                return Step::Kill {
                    reason: EndReason::SpecChanged,
                    message: "the spec changed: stopping this attempt to run the new spec".into(),
                };
            }
            if v.spec.suspend {
                return Step::Kill { reason: EndReason::Suspended, message: "the job was suspended".into() };
            }
            // Until the driver has registered its application the phase is Submitted: the
            // switch to Running is looked for often, the end is an event.
            let mut poll = if live.spark_application_id.is_none() { POLL_STARTING } else { POLL_RUNNING };
            if let Some(deadline) = v.spec.active_deadline_seconds {
                let start = first_submitted(v.ledger, v.generation).unwrap_or(open.submitted_at);
                let due = start + chrono::Duration::seconds(deadline as i64);
                if v.now >= due {
                    return Step::Kill {
                        reason: EndReason::DeadlineExceeded,
                        message: format!("the job ran longer than activeDeadlineSeconds ({deadline}s)"),
                    };
                }
                // Woken right at the deadline, not at the next safety poll after it.
                poll = poll.min(to_std(due - v.now));
            }
            Step::Wait(Some(poll))
        }
    }
}

fn submit_when_ready(v: &JobView, number: u32) -> Step {
    match v.cluster {
        ClusterView::Ready { .. } => Step::Submit { number },
        ClusterView::Missing => Step::Wait(None),
        ClusterView::NotReady { .. } => Step::Wait(Some(POLL_CLUSTER_NOT_READY)),
    }
}

fn finished_step(v: &JobView, end: &AttemptEnd) -> Step {
    let Some(ttl) = v.spec.ttl_seconds_after_finished else { return Step::Wait(None) };
    if v.ledger.expired {
        return Step::Wait(None);
    }
    let due = end.at + chrono::Duration::seconds(ttl as i64);
    if v.now >= due {
        Step::Expire
    } else {
        Step::Wait(Some(to_std(due - v.now)))
    }
}

/// Whether a failed attempt may be followed by another. A deadline or a stop on purpose
/// ends the job; only real failures are retried.
fn retry_allowed(spec: &SparkJobSpec, attempts: u32, end: &AttemptEnd) -> bool {
    spec.restart_policy.type_ == RestartPolicyType::OnFailure
        && attempts <= spec.restart_policy.max_retries
        && end.reason.retryable()
}

fn first_submitted(ledger: &JobLedger, generation: u64) -> Option<DateTime<Utc>> {
    ledger.for_generation(generation).next().map(|a| a.submitted_at)
}

fn lost_end(now: DateTime<Utc>, live: Option<&AttemptObservation>) -> AttemptEnd {
    AttemptEnd {
        at: now,
        exit_code: None,
        reason: EndReason::Lost,
        message: "the driver was never started or vanished without an exit code (was the operator stopped during submission?)".into(),
        started: live.and_then(|l| l.started),
        spark_application_id: live.and_then(|l| l.spark_application_id.clone()),
        web_ui_url: None,
        results: Default::default(),
        outputs_dir: live.map(|l| l.outputs_dir.display().to_string()),
        event_log: event_log(live),
        spark_metrics: live.and_then(|l| l.spark_metrics.clone()),
    }
}

fn exited_end(code: i32, live: &AttemptObservation, spec: &SparkJobSpec, now: DateTime<Utc>) -> AttemptEnd {
    let (reason, message) = if code == 0 {
        match criteria::check(&spec.success_criteria, &live.results) {
            Ok(()) => (EndReason::Completed, String::new()),
            Err(unmet) => (EndReason::CriteriaNotMet, unmet),
        }
    } else {
        (EndReason::Error, live.error_line.clone().unwrap_or_else(|| format!("spark-submit exited with code {code}")))
    };
    AttemptEnd {
        // To the second, as every status timestamp (the runtime may know it to the ns).
        at: live.finished.unwrap_or(now).trunc_subsecs(0),
        exit_code: Some(code),
        reason,
        message,
        started: live.started,
        spark_application_id: live.spark_application_id.clone(),
        web_ui_url: live.web_ui_url.clone(),
        results: live.results.clone(),
        outputs_dir: Some(live.outputs_dir.display().to_string()),
        event_log: event_log(Some(live)),
        spark_metrics: live.spark_metrics.clone(),
    }
}

/// The end to record for an attempt stopped on purpose.
pub fn killed_end(
    reason: EndReason,
    message: &str,
    live: Option<&AttemptObservation>,
    now: DateTime<Utc>,
) -> AttemptEnd {
    AttemptEnd {
        at: now,
        exit_code: None,
        reason,
        message: message.to_string(),
        started: live.and_then(|l| l.started),
        spark_application_id: live.and_then(|l| l.spark_application_id.clone()),
        web_ui_url: live.and_then(|l| l.web_ui_url.clone()),
        results: Default::default(),
        outputs_dir: live.map(|l| l.outputs_dir.display().to_string()),
        event_log: event_log(live),
        spark_metrics: live.and_then(|l| l.spark_metrics.clone()),
    }
}

fn event_log(live: Option<&AttemptObservation>) -> Option<String> {
    live.and_then(|l| l.event_log.as_ref()).map(|p| p.display().to_string())
}

fn to_std(d: chrono::Duration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO).max(Duration::from_millis(100))
}

/// The status the job shows for this view. `previous` keeps condition transition times.
pub fn status(v: &JobView, previous: Option<&SparkJobStatus>) -> SparkJobStatus {
    let mut conditions = previous.map(|p| p.conditions.clone()).unwrap_or_default();
    let gen = Some(v.generation);
    let mut cond = |type_: &str, status: ConditionStatus, reason: &str, message: &str| {
        let mut c = Condition::new(type_, status, reason, message);
        c.observed_generation = gen;
        set_condition(&mut conditions, c);
    };
    cond("Valid", ConditionStatus::True, "Valid", "");

    let attempts = v.ledger.current_run(v.generation);
    let last = attempts.last().copied();
    let mut st = SparkJobStatus {
        observed_generation: gen,
        attempts: attempts.len() as u32,
        submission_id: last.map(|a| a.submission_id.clone()),
        start_time: attempts.first().map(|a| a.submitted_at),
        inputs: last.map(|a| a.inputs.clone()).unwrap_or_default(),
        submitted_arguments: last.and_then(|a| a.arguments.clone()),
        deps: last.and_then(|a| a.deps.clone()),
        ..Default::default()
    };
    if !v.spec.depends_on.is_empty() {
        match v.deps {
            Deps::Ready(_) => cond("DependenciesReady", ConditionStatus::True, "DependenciesSucceeded", ""),
            Deps::Waiting(names) => cond(
                "DependenciesReady",
                ConditionStatus::False,
                "WaitingForDependencies",
                &format!("waiting for {}", names.join(", ")),
            ),
            Deps::Failed { job, .. } => {
                cond("DependenciesReady", ConditionStatus::False, "DependencyFailed", &format!("{job} Failed"))
            }
        }
    }

    match last {
        None => {
            if v.spec.suspend {
                st.phase = JobPhase::Suspended;
                cond("Submitted", ConditionStatus::False, "Suspended", "the job is suspended");
            } else if let Deps::Waiting(names) = v.deps {
                st.phase = JobPhase::Pending;
                let message = format!("waiting for {} to succeed", names.join(", "));
                st.message = Some(message.clone());
                cond("Submitted", ConditionStatus::False, "WaitingForDependencies", &message);
            } else if let Deps::Failed { job, message } = v.deps {
                st.phase = JobPhase::Failed;
                let message = format!("upstream job {job} Failed: {message}");
                st.message = Some(message.clone());
                cond("Submitted", ConditionStatus::False, "DependencyFailed", "not submitted");
                cond("Succeeded", ConditionStatus::False, "DependencyFailed", &message);
            } else {
                st.phase = JobPhase::Pending;
                let (reason, message) = pending_reason(v.cluster, &v.spec.cluster_ref);
                st.message = Some(message.clone());
                cond("Submitted", ConditionStatus::False, reason, &message);
            }
            cond("Running", ConditionStatus::False, "NotStarted", "");
            if st.phase != JobPhase::Failed {
                cond("Succeeded", ConditionStatus::Unknown, "NotFinished", "");
            }
        }
        Some(a) => match (&a.ended, v.live) {
            (None, live) => {
                let app = live.and_then(|l| l.spark_application_id.clone());
                st.phase = if app.is_some() { JobPhase::Running } else { JobPhase::Submitted };
                st.spark_application_id = app;
                st.web_ui_url = live.and_then(|l| l.web_ui_url.clone());
                st.outputs_dir = live.map(|l| l.outputs_dir.display().to_string());
                st.event_log = event_log(live);
                cond("Submitted", ConditionStatus::True, "Submitted", &format!("attempt {} submitted", a.number));
                if st.phase == JobPhase::Running {
                    cond("Running", ConditionStatus::True, "Running", "the driver is running");
                } else {
                    cond("Running", ConditionStatus::False, "Starting", "waiting for the application to register");
                }
                cond("Succeeded", ConditionStatus::Unknown, "NotFinished", "");
            }
            (Some(end), _) => {
                st.spark_application_id = end.spark_application_id.clone();
                st.web_ui_url = end.web_ui_url.clone();
                st.exit_code = end.exit_code;
                st.outputs_dir = end.outputs_dir.clone();
                st.event_log = end.event_log.clone();
                st.spark_metrics = end.spark_metrics.clone();
                st.results = end.results.clone();
                cond("Submitted", ConditionStatus::True, "Submitted", &format!("attempt {} submitted", a.number));
                cond("Running", ConditionStatus::False, end.reason.as_str(), "");
                let retrying = !end.succeeded() && retry_allowed(v.spec, attempts.len() as u32, end) && !v.spec.suspend;
                if end.succeeded() {
                    st.phase = JobPhase::Succeeded;
                    st.completion_time = Some(end.at);
                    cond("Succeeded", ConditionStatus::True, "Completed", "");
                } else if v.spec.suspend && end.reason == EndReason::Suspended {
                    st.phase = JobPhase::Suspended;
                    st.message = Some(end.message.clone());
                    cond("Succeeded", ConditionStatus::Unknown, "Suspended", "");
                } else if retrying {
                    st.phase = JobPhase::Pending;
                    let msg = format!(
                        "attempt {} failed: {}; retrying ({} of {})",
                        a.number,
                        non_empty(&end.message, end.reason.as_str()),
                        attempts.len(),
                        v.spec.restart_policy.max_retries
                    );
                    st.message = Some(msg.clone());
                    cond("Succeeded", ConditionStatus::Unknown, "RetryBackoff", &msg);
                } else {
                    st.phase = JobPhase::Failed;
                    st.completion_time = Some(end.at);
                    let msg = non_empty(&end.message, end.reason.as_str()).to_string();
                    st.message = Some(msg.clone());
                    cond("Succeeded", ConditionStatus::False, end.reason.as_str(), &msg);
                }
            }
        },
    }
    st.conditions = conditions;
    st
}

fn pending_reason(cluster: &ClusterView, name: &str) -> (&'static str, String) {
    match cluster {
        ClusterView::Missing => ("ClusterNotFound", format!("SparkCluster {name:?} not found")),
        ClusterView::NotReady { phase } => {
            ("ClusterNotReady", format!("SparkCluster {name:?} is {phase}, waiting for Ready"))
        }
        ClusterView::Ready { .. } => ("Submitting", "submitting".into()),
    }
}

fn non_empty<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.trim().is_empty() {
        fallback
    } else {
        s
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
