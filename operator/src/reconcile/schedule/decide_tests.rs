//! The schedule's decisions as tables: fixed times, no clock, no I/O.

use chrono::{DateTime, Utc};

use super::decide::{parse_run_name, plan, prune_names, run_name, status, RunView, ScheduleView};
use crate::api::job::JobPhase;
use crate::api::schedule::{ConcurrencyPolicy, SparkScheduleSpec};
use crate::api::schedule_expr::ScheduleExpr;
use crate::state::schedules::ScheduleLedger;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
}

fn spec(schedule: &str, zone: &str) -> SparkScheduleSpec {
    serde_json::from_value(serde_json::json!({
        "schedule": schedule,
        "timeZone": zone,
        "template": {"clusterRef": "demo", "mainApplicationFile": "main.py"},
    }))
    .expect("spec")
}

fn run(name: &str, phase: JobPhase) -> RunView {
    let (time, manual) = parse_run_name("s", name).expect("a run name");
    RunView { name: name.into(), time, manual, phase, completion_time: None, results: Default::default() }
}

fn ledger(since: &str, last: Option<&str>) -> ScheduleLedger {
    ScheduleLedger { since: Some(t(since)), last_schedule_time: last.map(t), ..Default::default() }
}

struct Case<'a> {
    spec: SparkScheduleSpec,
    ledger: ScheduleLedger,
    runs: Vec<RunView>,
    trigger: Option<&'a str>,
    now: &'a str,
}

fn decide(c: &Case<'_>) -> super::decide::Plan {
    let expr = ScheduleExpr::parse(&c.spec.schedule, &c.spec.time_zone).expect("parses");
    plan(&ScheduleView {
        name: "s",
        spec: &c.spec,
        expr: &expr,
        ledger: &c.ledger,
        runs: &c.runs,
        trigger: c.trigger.map(t),
        now: t(c.now),
    })
}

fn started(p: &super::decide::Plan) -> Vec<String> {
    p.start.iter().map(|r| r.name.clone()).collect()
}

#[test]
fn names_carry_the_scheduled_time_in_utc() {
    assert_eq!(run_name("nightly", t("2026-12-01T03:00:00Z"), false), "nightly-20261201-030000");
    assert_eq!(run_name("nightly", t("2026-12-01T03:00:07Z"), true), "nightly-manual-20261201-030007");
    assert_eq!(parse_run_name("nightly", "nightly-20261201-030000"), Some((t("2026-12-01T03:00:00Z"), false)));
    assert_eq!(parse_run_name("nightly", "nightly-manual-20261201-030007"), Some((t("2026-12-01T03:00:07Z"), true)));
    assert_eq!(parse_run_name("nightly", "nightly-x"), None);
    assert_eq!(parse_run_name("night", "nightly-20261201-030000"), None);
    let longest = "x".repeat(crate::api::schedule::MAX_SCHEDULE_NAME_LEN);
    assert!(crate::api::meta::is_dns1123_label(&run_name(&longest, t("2026-12-01T03:00:00Z"), true)));
}

#[test]
fn a_due_time_starts_one_run_and_the_next_time_is_the_wake_up() {
    let table = [
        // (since, last, now, started, missed, next)
        ("2026-12-01T10:00:00Z", None, "2026-12-01T10:00:05Z", vec![], 0, "2026-12-01T10:00:10Z"),
        ("2026-12-01T10:00:00Z", None, "2026-12-01T10:00:10Z", vec!["s-20261201-100010"], 0, "2026-12-01T10:00:20Z"),
        (
            "2026-12-01T10:00:00Z",
            Some("2026-12-01T10:00:10Z"),
            "2026-12-01T10:00:10Z",
            vec![],
            0,
            "2026-12-01T10:00:20Z",
        ),
        // The operator was down for 35 s: one catch-up run (the latest), two missed.
        (
            "2026-12-01T10:00:00Z",
            Some("2026-12-01T10:00:10Z"),
            "2026-12-01T10:00:45Z",
            vec!["s-20261201-100040"],
            2,
            "2026-12-01T10:00:50Z",
        ),
    ];
    for (since, last, now, want, missed, next) in table {
        let p = decide(&Case {
            spec: spec("@every 10s", "UTC"),
            ledger: ledger(since, last),
            runs: vec![],
            trigger: None,
            now,
        });
        assert_eq!(
            (started(&p), p.missed, p.next),
            (want.iter().map(|s| s.to_string()).collect(), missed, Some(t(next))),
            "now {now}"
        );
    }
}

#[test]
fn catch_up_honours_the_starting_deadline() {
    let mut s = spec("0 3 * * *", "Europe/Berlin");
    s.starting_deadline_seconds = Some(600);
    // Down from before 03:00 Berlin (02:00Z) until 02:05Z: within 600 s, one catch-up run.
    let l = ledger("2026-11-30T12:00:00Z", Some("2026-11-30T02:00:00Z"));
    let p =
        decide(&Case { spec: s.clone(), ledger: l.clone(), runs: vec![], trigger: None, now: "2026-12-01T02:05:00Z" });
    assert_eq!((started(&p), p.missed), (vec!["s-20261201-020000".to_string()], 0));
    assert_eq!(p.last_schedule_time, Some(t("2026-12-01T02:00:00Z")));
    // Until 02:20Z: too late, counted, not run; the next is tomorrow's.
    let p =
        decide(&Case { spec: s.clone(), ledger: l.clone(), runs: vec![], trigger: None, now: "2026-12-01T02:20:00Z" });
    assert_eq!((started(&p), p.missed), (vec![], 1));
    assert_eq!((p.last_schedule_time, p.next), (Some(t("2026-12-01T02:00:00Z")), Some(t("2026-12-02T02:00:00Z"))));
    assert!(p.skipped.as_deref().is_some_and(|m| m.contains("startingDeadlineSeconds")), "{p:?}");
    // Three days down: two missed before the latest, which is late too.
    let p = decide(&Case { spec: s, ledger: l, runs: vec![], trigger: None, now: "2026-12-03T02:20:00Z" });
    assert_eq!((started(&p), p.missed), (vec![], 3));
}

#[test]
fn a_run_already_written_is_never_started_again() {
    // Killed after the run's file was written, before the ledger was saved.
    let p = decide(&Case {
        spec: spec("@every 10s", "UTC"),
        ledger: ledger("2026-12-01T10:00:00Z", None),
        runs: vec![run("s-20261201-100010", JobPhase::Running)],
        trigger: None,
        now: "2026-12-01T10:00:12Z",
    });
    assert_eq!((started(&p), p.missed, p.last_schedule_time), (vec![], 0, Some(t("2026-12-01T10:00:10Z"))));
}

#[test]
fn concurrency_policies() {
    let active = vec![run("s-20261201-100010", JobPhase::Running), run("s-20261201-100000", JobPhase::Succeeded)];
    let case = |policy| {
        let mut s = spec("@every 10s", "UTC");
        s.concurrency_policy = policy;
        decide(&Case {
            spec: s,
            ledger: ledger("2026-12-01T09:00:00Z", Some("2026-12-01T10:00:10Z")),
            runs: active.clone(),
            trigger: None,
            now: "2026-12-01T10:00:20Z",
        })
    };
    let allow = case(ConcurrencyPolicy::Allow);
    assert_eq!((started(&allow), allow.replace.clone(), allow.missed), (vec!["s-20261201-100020".into()], vec![], 0));
    let forbid = case(ConcurrencyPolicy::Forbid);
    assert_eq!((started(&forbid), forbid.missed), (vec![], 1));
    assert_eq!(forbid.last_schedule_time, Some(t("2026-12-01T10:00:20Z")), "the skipped time is handled");
    assert!(forbid.skipped.as_deref().is_some_and(|m| m.contains("s-20261201-100010")));
    let replace = case(ConcurrencyPolicy::Replace);
    assert_eq!(
        (started(&replace), replace.replace.clone(), replace.missed),
        (vec!["s-20261201-100020".into()], vec!["s-20261201-100010".into()], 0)
    );
    // Forbid with nothing active runs.
    let mut s = spec("@every 10s", "UTC");
    s.concurrency_policy = ConcurrencyPolicy::Forbid;
    let p = decide(&Case {
        spec: s,
        ledger: ledger("2026-12-01T09:00:00Z", Some("2026-12-01T10:00:10Z")),
        runs: vec![run("s-20261201-100010", JobPhase::Failed)],
        trigger: None,
        now: "2026-12-01T10:00:20Z",
    });
    assert_eq!(started(&p), ["s-20261201-100020"]);
}

#[test]
fn suspend_starts_nothing_but_a_trigger_runs() {
    let mut s = spec("@every 10s", "UTC");
    s.suspend = true;
    let p = decide(&Case {
        spec: s.clone(),
        ledger: ledger("2026-12-01T10:00:00Z", None),
        runs: vec![],
        trigger: None,
        now: "2026-12-01T10:00:30Z",
    });
    assert_eq!((started(&p), p.missed, p.next), (vec![], 0, None));
    let p = decide(&Case {
        spec: s,
        ledger: ledger("2026-12-01T10:00:00Z", None),
        runs: vec![],
        trigger: Some("2026-12-01T10:00:31Z"),
        now: "2026-12-01T10:00:32Z",
    });
    assert_eq!(started(&p), ["s-manual-20261201-100031"]);
    assert!(p.start[0].manual);
    // A trigger whose run exists (served before a crash) is not run again.
    let p = decide(&Case {
        spec: spec("@every 10s", "UTC"),
        ledger: ledger("2026-12-01T10:00:00Z", Some("2026-12-01T10:00:30Z")),
        runs: vec![run("s-manual-20261201-100031", JobPhase::Running)],
        trigger: Some("2026-12-01T10:00:31Z"),
        now: "2026-12-01T10:00:32Z",
    });
    assert_eq!(started(&p), Vec::<String>::new());
}

#[test]
fn history_limits_keep_the_newest_of_each_outcome() {
    let mut s = spec("@every 10s", "UTC");
    s.successful_runs_history_limit = 2;
    s.failed_runs_history_limit = 1;
    let runs = vec![
        run("s-20261201-100000", JobPhase::Succeeded),
        run("s-20261201-100010", JobPhase::Failed),
        run("s-20261201-100020", JobPhase::Succeeded),
        run("s-manual-20261201-100025", JobPhase::Succeeded),
        run("s-20261201-100030", JobPhase::Failed),
        run("s-20261201-100040", JobPhase::Running),
    ];
    assert_eq!(prune_names(&s, &runs, &[]), ["s-20261201-100000", "s-20261201-100010"]);
    s.successful_runs_history_limit = 0;
    s.failed_runs_history_limit = 0;
    assert_eq!(prune_names(&s, &runs, &[]).len(), 5, "active runs are never pruned");
}

#[test]
fn status_lists_runs_newest_first() {
    let s = spec("@every 10s", "UTC");
    let mut done = run("s-20261201-100000", JobPhase::Succeeded);
    done.completion_time = Some(t("2026-12-01T10:00:08Z"));
    done.results.insert("rmse".into(), serde_json::json!(4.9));
    let runs = vec![done, run("s-20261201-100010", JobPhase::Running)];
    let l = ScheduleLedger {
        last_schedule_time: Some(t("2026-12-01T10:00:10Z")),
        last_successful_time: Some(t("2026-12-01T10:00:08Z")),
        missed_runs: 2,
        ..Default::default()
    };
    let st = status(&s, &l, &runs, Some(t("2026-12-01T10:00:20Z")), 3, None);
    assert_eq!(st.active, ["s-20261201-100010"]);
    let names: Vec<&str> = st.last_runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["s-20261201-100010", "s-20261201-100000"]);
    assert_eq!(st.last_runs[1].results.get("rmse"), Some(&serde_json::json!(4.9)));
    assert_eq!((st.missed_runs, st.observed_generation), (2, Some(3)));
    let v = serde_json::to_value(&st).expect("serializes");
    assert_eq!(v["lastScheduleTime"], "2026-12-01T10:00:10Z");
    assert_eq!(v["nextScheduleTime"], "2026-12-01T10:00:20Z");
    assert_eq!(v["phase"], "Active");
    let scheduled = st.conditions.iter().find(|c| c.type_ == "Scheduled").expect("Scheduled");
    assert!(scheduled.is_true() && scheduled.message.contains("2026-12-01T10:00:20Z"));
}
