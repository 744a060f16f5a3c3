use std::path::PathBuf;

use chrono::TimeZone;

use super::*;
use crate::api::job::{RestartPolicy, SparkJobSpec, SparkMetrics};

fn spec() -> SparkJobSpec {
    serde_json::from_value(serde_json::json!({"clusterRef": "demo", "mainApplicationFile": "main.py"})).unwrap()
}

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
}

fn record(number: u32, generation: u64, at: i64, ended: Option<AttemptEnd>) -> AttemptRecord {
    AttemptRecord {
        number,
        seq: number,
        generation,
        submission_id: format!("sub-{number}"),
        submitted_at: t(at),
        runtime: Default::default(),
        ended,
        inputs: Default::default(),
        arguments: None,
        deps: None,
    }
}

fn end(code: Option<i32>, reason: EndReason, at: i64) -> AttemptEnd {
    AttemptEnd {
        at: t(at),
        exit_code: code,
        reason,
        message: if reason == EndReason::Error { "ValueError: boom".into() } else { String::new() },
        started: None,
        spark_application_id: Some("app-1".into()),
        web_ui_url: None,
        results: [("rmse".to_string(), serde_json::json!(4.2))].into_iter().collect(),
        outputs_dir: Some("/s/out".into()),
        event_log: Some("/s/eventlog/app-1".into()),
        spark_metrics: None,
    }
}

fn live(state: AttemptState) -> AttemptObservation {
    AttemptObservation {
        state,
        started: Some(t(1)),
        finished: Some(t(50)),
        spark_application_id: Some("app-7".into()),
        web_ui_url: Some("http://127.0.0.1:4040".into()),
        error_line: Some("ValueError: boom".into()),
        outputs_dir: PathBuf::from("/s/out"),
        results: [("r2".to_string(), serde_json::json!(0.7))].into_iter().collect(),
        driver_log: PathBuf::from("/s/driver.log"),
        event_log: Some(PathBuf::from("/s/eventlog/app-7.inprogress")),
        spark_metrics: Some(Box::new(SparkMetrics { jobs: 2, tasks: 4, ..Default::default() })),
    }
}

static NO_DEPS: Deps = Deps::Ready(std::collections::BTreeMap::new());

fn ready() -> ClusterView {
    ClusterView::Ready { master_url: "spark://127.0.0.1:7077".into(), runtime: RuntimeKind::Local }
}

fn view<'a>(
    spec: &'a SparkJobSpec,
    ledger: &'a JobLedger,
    live: Option<&'a AttemptObservation>,
    cluster: &'a ClusterView,
    now: i64,
) -> JobView<'a> {
    JobView { spec, generation: 1, ledger, live, cluster, deps: &NO_DEPS, now: t(now) }
}

#[test]
fn waits_for_a_missing_cluster_and_says_why() {
    let (s, l) = (spec(), JobLedger::default());
    let v = view(&s, &l, None, &ClusterView::Missing, 0);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Pending);
    assert!(st.message.unwrap().contains("\"demo\" not found"));
    assert_eq!(crate::api::condition::find(&st.conditions, "Submitted").unwrap().reason, "ClusterNotFound");
}

#[test]
fn submits_attempt_one_when_the_cluster_is_ready() {
    let (s, l, c) = (spec(), JobLedger::default(), ready());
    assert_eq!(next_step(&view(&s, &l, None, &c, 0)), Step::Submit { number: 1 });
}

#[test]
fn a_running_attempt_is_followed_not_resubmitted() {
    let s = spec();
    let l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let obs = live(AttemptState::Running);
    let c = ready();
    let v = view(&s, &l, Some(&obs), &c, 10);
    // Its end comes as a hint (end_watch.rs): the requeue is only the safety net.
    assert_eq!(next_step(&v), Step::Wait(Some(POLL_RUNNING)));
    let mut starting = obs.clone();
    starting.spark_application_id = None;
    // Until the application registers, Running is looked for often.
    assert_eq!(next_step(&view(&s, &l, Some(&starting), &c, 10)), Step::Wait(Some(POLL_STARTING)));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Running);
    assert_eq!(st.spark_application_id.as_deref(), Some("app-7"));
    assert_eq!(st.attempts, 1);
}

#[test]
fn an_exit_is_recorded_then_the_job_succeeds_with_results() {
    let s = spec();
    let mut l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let obs = live(AttemptState::Exited(0));
    let c = ready();
    let step = next_step(&view(&s, &l, Some(&obs), &c, 60));
    let Step::RecordEnd(e) = step else { panic!("{step:?}") };
    assert_eq!(e.reason, EndReason::Completed);
    l.attempts[0].ended = Some(*e);
    let v = view(&s, &l, None, &c, 61);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Succeeded);
    assert_eq!(st.results.get("r2"), Some(&serde_json::json!(0.7)));
    assert_eq!(st.exit_code, Some(0));
    assert!(st.completion_time.is_some());
    // The end record keeps where the event log was, for `ui` once the driver is gone.
    assert_eq!(st.event_log.as_deref(), Some("/s/eventlog/app-7.inprogress"));
    assert_eq!(st.spark_metrics.map(|m| (m.jobs, m.tasks)), Some((2, 4)));
}

#[test]
fn a_failure_carries_the_exception_and_is_not_retried_under_never() {
    let s = spec();
    let l = JobLedger { attempts: vec![record(1, 1, 0, Some(end(Some(1), EndReason::Error, 30)))], expired: false };
    let c = ready();
    let v = view(&s, &l, None, &c, 40);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Failed);
    assert_eq!(st.message.as_deref(), Some("ValueError: boom"));
}

#[test]
fn on_failure_retries_max_retries_times_after_the_backoff() {
    let mut s = spec();
    s.restart_policy = RestartPolicy { type_: RestartPolicyType::OnFailure, max_retries: 2, backoff_seconds: 10 };
    let c = ready();
    let mut l = JobLedger { attempts: vec![record(1, 1, 0, Some(end(Some(1), EndReason::Error, 30)))], expired: false };
    assert_eq!(next_step(&view(&s, &l, None, &c, 35)), Step::Wait(Some(Duration::from_secs(5))));
    assert_eq!(status(&view(&s, &l, None, &c, 35), None).phase, JobPhase::Pending);
    assert_eq!(next_step(&view(&s, &l, None, &c, 40)), Step::Submit { number: 2 });
    l.attempts.push(record(2, 1, 40, Some(end(Some(1), EndReason::Error, 50))));
    assert_eq!(next_step(&view(&s, &l, None, &c, 60)), Step::Submit { number: 3 });
    l.attempts.push(record(3, 1, 60, Some(end(Some(1), EndReason::Error, 70))));
    let v = view(&s, &l, None, &c, 100);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Failed);
    assert_eq!(st.attempts, 3);
}

#[test]
fn a_spec_change_stops_the_running_attempt_and_starts_over() {
    let s = spec();
    let mut l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let obs = live(AttemptState::Running);
    let c = ready();
    let mut v = view(&s, &l, Some(&obs), &c, 5);
    v.generation = 2;
    assert!(matches!(next_step(&v), Step::Kill { reason: EndReason::SpecChanged, .. }));
    l.attempts[0].ended = Some(killed_end(EndReason::SpecChanged, "", Some(&obs), t(6)));
    let mut v = view(&s, &l, None, &c, 7);
    v.generation = 2;
    assert_eq!(next_step(&v), Step::Submit { number: 1 });
}

#[test]
fn the_deadline_stops_the_job_for_good() {
    let mut s = spec();
    s.active_deadline_seconds = Some(60);
    s.restart_policy = RestartPolicy { type_: RestartPolicyType::OnFailure, max_retries: 5, backoff_seconds: 0 };
    let mut l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let obs = live(AttemptState::Running);
    let c = ready();
    // Woken at the deadline itself, not at the next safety poll after it.
    assert_eq!(next_step(&view(&s, &l, Some(&obs), &c, 59)), Step::Wait(Some(Duration::from_secs(1))));
    assert!(matches!(
        next_step(&view(&s, &l, Some(&obs), &c, 60)),
        Step::Kill { reason: EndReason::DeadlineExceeded, .. }
    ));
    l.attempts[0].ended = Some(killed_end(EndReason::DeadlineExceeded, "too long", Some(&obs), t(60)));
    let v = view(&s, &l, None, &c, 61);
    assert_eq!(next_step(&v), Step::Wait(None));
    assert_eq!(status(&v, None).phase, JobPhase::Failed);
}

#[test]
fn suspend_stops_and_holds() {
    let mut s = spec();
    s.suspend = true;
    let l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let obs = live(AttemptState::Running);
    let c = ready();
    assert!(matches!(next_step(&view(&s, &l, Some(&obs), &c, 5)), Step::Kill { reason: EndReason::Suspended, .. }));
    let empty = JobLedger::default();
    let v = view(&s, &empty, None, &c, 5);
    assert_eq!(next_step(&v), Step::Wait(None));
    assert_eq!(status(&v, None).phase, JobPhase::Suspended);
}

#[test]
fn ttl_expires_once() {
    let mut s = spec();
    s.ttl_seconds_after_finished = Some(100);
    let c = ready();
    let mut l =
        JobLedger { attempts: vec![record(1, 1, 0, Some(end(Some(0), EndReason::Completed, 10)))], expired: false };
    assert_eq!(next_step(&view(&s, &l, None, &c, 50)), Step::Wait(Some(Duration::from_secs(60))));
    assert_eq!(next_step(&view(&s, &l, None, &c, 110)), Step::Expire);
    l.expired = true;
    let v = view(&s, &l, None, &c, 120);
    assert_eq!(next_step(&v), Step::Wait(None));
    assert_eq!(status(&v, None).phase, JobPhase::Succeeded, "the status outlives the outputs");
}

#[test]
fn a_record_without_a_driver_is_lost_only_after_the_grace() {
    let s = spec();
    let l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let c = ready();
    assert!(matches!(next_step(&view(&s, &l, None, &c, 5)), Step::Wait(Some(_))));
    let Step::RecordEnd(e) = next_step(&view(&s, &l, None, &c, 31)) else { panic!() };
    assert_eq!(e.reason, EndReason::Lost);
}

#[test]
fn same_view_gives_byte_identical_status() {
    let s = spec();
    let l = JobLedger { attempts: vec![record(1, 1, 0, Some(end(Some(0), EndReason::Completed, 10)))], expired: false };
    let c = ready();
    let first = status(&view(&s, &l, None, &c, 20), None);
    let second = status(&view(&s, &l, None, &c, 99), Some(&first));
    assert_eq!(serde_yaml::to_string(&first).unwrap(), serde_yaml::to_string(&second).unwrap());
}

fn with_deps<'a>(v: JobView<'a>, deps: &'a Deps) -> JobView<'a> {
    JobView { deps, ..v }
}

fn input(secs: i64) -> std::collections::BTreeMap<String, crate::api::job::InputRun> {
    [("prepare".to_string(), crate::api::job::InputRun { attempt: 1, completion_time: t(secs) })].into()
}

fn dependent_spec() -> SparkJobSpec {
    let mut s = spec();
    s.depends_on = vec![crate::api::job::JobName("prepare".into())];
    s
}

#[test]
fn a_job_waits_for_its_upstream_and_says_so() {
    let (s, l, c) = (dependent_spec(), JobLedger::default(), ready());
    let deps = Deps::Waiting(vec!["prepare".into()]);
    let v = with_deps(view(&s, &l, None, &c, 0), &deps);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Pending);
    let cond = crate::api::condition::find(&st.conditions, "DependenciesReady").unwrap();
    assert_eq!((cond.status, cond.reason.as_str()), (ConditionStatus::False, "WaitingForDependencies"));
    assert_eq!(st.message.as_deref(), Some("waiting for prepare to succeed"));
}

#[test]
fn a_failed_upstream_fails_the_job_without_submitting_it() {
    let (s, l, c) = (dependent_spec(), JobLedger::default(), ready());
    let deps = Deps::Failed { job: "prepare".into(), message: "ValueError: boom".into() };
    let v = with_deps(view(&s, &l, None, &c, 0), &deps);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Failed);
    assert_eq!(st.attempts, 0);
    assert_eq!(crate::api::condition::find(&st.conditions, "Succeeded").unwrap().reason, "DependencyFailed");
    assert_eq!(st.message.as_deref(), Some("upstream job prepare Failed: ValueError: boom"));
    // The upstream succeeds later: the job runs.
    let ready_deps = Deps::Ready(input(5));
    assert_eq!(next_step(&with_deps(view(&s, &l, None, &c, 9), &ready_deps)), Step::Submit { number: 1 });
}

#[test]
fn a_newer_upstream_run_starts_a_new_run_like_make() {
    let (s, c) = (dependent_spec(), ready());
    let mut first = record(1, 1, 0, Some(end(Some(0), EndReason::Completed, 30)));
    first.inputs = input(-10);
    let l = JobLedger { attempts: vec![first], expired: false };
    let same = Deps::Ready(input(-10));
    assert_eq!(next_step(&with_deps(view(&s, &l, None, &c, 40), &same)), Step::Wait(None));
    let newer = Deps::Ready(input(35));
    assert_eq!(next_step(&with_deps(view(&s, &l, None, &c, 40), &newer)), Step::Submit { number: 1 });
    // An upstream re-running (not finished) leaves the finished run as it is.
    let running = Deps::Waiting(vec!["prepare".into()]);
    let v = with_deps(view(&s, &l, None, &c, 40), &running);
    assert_eq!(next_step(&v), Step::Wait(None));
    assert_eq!(status(&v, None).phase, JobPhase::Succeeded);
    assert_eq!(status(&v, None).inputs, input(-10));
}

#[test]
fn unmet_criteria_fail_an_exit_zero_and_are_not_retried() {
    let mut s = spec();
    s.success_criteria = vec![crate::api::job::Criterion { result: "r2".into(), min: Some(0.75), max: None }];
    s.restart_policy = RestartPolicy { type_: RestartPolicyType::OnFailure, max_retries: 3, backoff_seconds: 1 };
    let mut l = JobLedger { attempts: vec![record(1, 1, 0, None)], expired: false };
    let obs = live(AttemptState::Exited(0));
    let c = ready();
    let Step::RecordEnd(e) = next_step(&view(&s, &l, Some(&obs), &c, 60)) else { panic!() };
    assert_eq!(e.reason, EndReason::CriteriaNotMet);
    assert_eq!(e.message, "r2 = 0.7, want >= 0.75");
    l.attempts[0].ended = Some(*e);
    let v = view(&s, &l, None, &c, 100);
    assert_eq!(next_step(&v), Step::Wait(None));
    let st = status(&v, None);
    assert_eq!(st.phase, JobPhase::Failed);
    assert_eq!(crate::api::condition::find(&st.conditions, "Succeeded").unwrap().reason, "CriteriaNotMet");
    assert_eq!(st.message.as_deref(), Some("r2 = 0.7, want >= 0.75"));
}
