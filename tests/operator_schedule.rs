//! SparkSchedule end to end on a real local Spark: `@every 10s` runs across a kill -9 and a
//! restart of the operator (no scheduled time run twice, the missed ones counted, one
//! catch-up), the history limit, a manual trigger, get/describe/logs/wait on a run, then
//! Allow (runs overlap), Replace (the active run stopped and deleted) and deleting a
//! schedule (its runs go). One cluster with one worker serves everything.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use common::*;

/// A small Spark job: a count, one result.
const TINY_APP: &str = r#"
import json, os
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("tiny").getOrCreate()
n = spark.sparkContext.parallelize(range(100), 2).count()
print("counted", n)
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"n": n}, f)
spark.stop()
"#;

/// Keeps a run active without taking the worker's core: no SparkSession.
const SLOW_APP: &str = "import time\nprint('sleeping', flush=True)\ntime.sleep(40)\n";

const BOOT: Duration = Duration::from_secs(240);
const RUN: Duration = Duration::from_secs(180);

fn schedule_yaml(name: &str, policy: &str, app: &str, extra: &str) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkSchedule\nmetadata:\n  name: {name}\nspec:\n  schedule: '@every 10s'\n  concurrencyPolicy: {policy}\n{extra}  template:\n    clusterRef: demo\n    mainApplicationFile: ../apps/{app}\n    driver: {{cores: 1, memory: 512m}}\n    executor: {{instances: 1, cores: 1, memory: 512m}}\n"
    )
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn runs_dir(p: &Project, schedule: &str) -> PathBuf {
    p.state().join("runs").join(schedule)
}

/// The run names of a schedule, as files under the state dir.
fn runs(p: &Project, schedule: &str) -> BTreeSet<String> {
    std::fs::read_dir(runs_dir(p, schedule))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".yaml")).map(str::to_string))
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn run_field(p: &Project, schedule: &str, run: &str, pointer: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(runs_dir(p, schedule).join(format!("{run}.yaml"))).ok()?;
    let v: serde_json::Value = serde_yaml::from_str(&text).ok()?;
    v.pointer(pointer).cloned()
}

fn run_phase(p: &Project, schedule: &str, run: &str) -> String {
    run_field(p, schedule, run, "/status/phase").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// How many attempts the operator recorded for a run: a scheduled time run twice would
/// show as a second attempt (or a second run of the same name).
fn attempts(p: &Project, run: &str) -> usize {
    let text = std::fs::read_to_string(p.state().join("jobs").join(run).join("ledger.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["attempts"].as_array().map_or(0, Vec::len)
}

fn status_of(p: &Project, file: &str, key: &str) -> serde_json::Value {
    p.field(file, &format!("/status/{key}")).unwrap_or_default()
}

fn ctx(p: &Project, op: &Operator, files: &[&str]) -> String {
    let mut s = String::new();
    for f in files {
        s.push_str(&format!("--- {f}\n{}\n", p.read(f)));
    }
    s + "operator log:\n" + &op.log()
}

#[test]
fn schedules_run_on_time_across_kill9_with_policies_history_and_trigger() {
    require_java();
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    p.write_app("tiny.py", TINY_APP);
    p.write_app("slow.py", SLOW_APP);
    p.drop_manifest("demo.yaml", &Project::cluster_yaml("demo", 1));
    p.drop_manifest(
        "tick.yaml",
        &schedule_yaml(
            "tick",
            "Forbid",
            "tiny.py",
            "  startingDeadlineSeconds: 120\n  successfulRunsHistoryLimit: 1\n  failedRunsHistoryLimit: 1\n",
        ),
    );
    let mut op = p.start(&[]);
    eventually(
        BOOT,
        "cluster Ready",
        || (p.phase("demo.yaml") == "Ready").then_some(()),
        || ctx(&p, &op, &["demo.yaml"]),
    );
    let first = eventually(
        RUN,
        "a run of tick Succeeded",
        || runs(&p, "tick").into_iter().find(|r| run_phase(&p, "tick", r) == "Succeeded"),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    assert!(first.starts_with("tick-2026") || first.starts_with("tick-20"), "{first}");
    assert_eq!(run_field(&p, "tick", &first, "/status/results/n"), Some(serde_json::json!(100)));

    // Every verb sees the run.
    let sj = text(&p.cli(&["get", "sj"]));
    let row = sj.lines().find(|l| l.starts_with(&first)).unwrap_or_default();
    assert!(row.contains("Succeeded") && row.ends_with("sparkschedule/tick"), "{sj}");
    let ss = text(&p.cli(&["get", "ss"]));
    assert!(ss.starts_with("NAME") && ss.contains("LAST-SCHEDULE") && ss.contains("NEXT"), "{ss}");
    let tick_row = ss.lines().find(|l| l.starts_with("tick ")).unwrap_or_default().to_string();
    assert!(tick_row.contains("@every 10s") && tick_row.contains("false"), "{ss}");
    let describe = text(&p.cli(&["describe", "sparkjob", &first]));
    assert!(describe.contains("Controlled By: SparkSchedule/tick"), "{describe}");
    let logs = p.cli(&["logs", "sparkjob", &first]);
    assert!(logs.status.success() && text(&logs).contains("counted 100"), "{}", text(&logs));
    let wait = p.cli(&["wait", &format!("sparkjob/{first}"), "--for=condition=Succeeded", "--timeout=30s"]);
    assert!(wait.status.success(), "{}", text(&wait));
    let describe = text(&p.cli(&["describe", "ss", "tick"]));
    assert!(describe.contains("lastRuns") && describe.contains("Started"), "{describe}");

    // kill -9, stay down past two ticks, come back: one catch-up run, the rest counted.
    let missed_before = status_of(&p, "tick.yaml", "missedRuns").as_u64().unwrap_or(0);
    eventually(
        RUN,
        "tick idle",
        || status_of(&p, "tick.yaml", "active").is_null().then_some(()),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    let before: BTreeSet<String> = runs(&p, "tick");
    op.kill9();
    let down_at = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(25));
    let up_at = chrono::Utc::now();
    let mut op = p.start(&[]);
    let catch_up = eventually(
        RUN,
        "the catch-up run",
        || runs(&p, "tick").difference(&before).next().cloned(),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    let time = |run: &str| {
        chrono::NaiveDateTime::parse_from_str(run.trim_start_matches("tick-"), "%Y%m%d-%H%M%S")
            .ok()
            .map(|t| t.and_utc())
    };
    let caught = time(&catch_up).expect("a scheduled run's name");
    // The latest time missed (or one just after the restart, had the operator been slow to
    // come up), never one from before the kill.
    assert!(
        caught > down_at && caught <= up_at + chrono::Duration::seconds(10),
        "the catch-up is the latest time missed: {catch_up} (down {down_at}, up {up_at})"
    );
    let missed = eventually(
        RUN,
        "missed runs counted",
        || status_of(&p, "tick.yaml", "missedRuns").as_u64().filter(|m| *m > missed_before),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    assert!(missed > missed_before, "{missed}");
    eventually(
        RUN,
        "the catch-up run Succeeded",
        || (run_phase(&p, "tick", &catch_up) == "Succeeded").then_some(()),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    // History limit 1: the older successful runs are deleted, with their state.
    eventually(
        RUN,
        "older runs pruned",
        || (!runs(&p, "tick").contains(&first) && !p.state().join("jobs").join(&first).exists()).then_some(()),
        || ctx(&p, &op, &["tick.yaml"]),
    );

    // A trigger starts a manual run now, once.
    let trig = p.cli(&["trigger", "sparkschedule", "tick"]);
    assert!(trig.status.success(), "{}", text(&trig));
    let manual = eventually(
        RUN,
        "the manual run",
        || runs(&p, "tick").into_iter().find(|r| r.starts_with("tick-manual-")),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    assert!(text(&trig).contains(&manual), "{}", text(&trig));
    eventually(
        RUN,
        "the manual run ended",
        || matches!(run_phase(&p, "tick", &manual).as_str(), "Succeeded" | "Failed").then_some(()),
        || ctx(&p, &op, &["tick.yaml"]),
    );
    let wait = p.cli(&["wait", &format!("sparkjob/{manual}"), "--for=condition=Succeeded", "--timeout=30s"]);
    assert!(wait.status.success(), "{}", text(&wait));

    // Allow: runs overlap. Replace: the active run is stopped and deleted for the next.
    p.drop_manifest("tick.yaml", &schedule_yaml("tick", "Forbid", "tiny.py", "  suspend: true\n"));
    p.drop_manifest("allow.yaml", &schedule_yaml("allow", "Allow", "slow.py", ""));
    p.drop_manifest("replace.yaml", &schedule_yaml("replace", "Replace", "slow.py", ""));
    let overlapping = eventually(
        RUN,
        "two allow runs active at once",
        || {
            let active = status_of(&p, "allow.yaml", "active");
            (active.as_array().map_or(0, Vec::len) >= 2).then_some(active)
        },
        || ctx(&p, &op, &["allow.yaml"]),
    );
    let replaced = eventually(
        RUN,
        "a replace run replaced",
        || {
            let names = runs(&p, "replace");
            let events = text(&p.cli(&["describe", "ss", "replace"]));
            events.contains("Replaced").then_some((names, events))
        },
        || ctx(&p, &op, &["replace.yaml"]),
    );
    assert!(replaced.0.len() <= 2, "{replaced:?}");
    assert_eq!(status_of(&p, "replace.yaml", "active").as_array().map_or(0, Vec::len), 1, "{}", p.read("replace.yaml"));
    eventually(
        RUN,
        "tick Suspended",
        || (p.phase("tick.yaml") == "Suspended").then_some(()),
        || ctx(&p, &op, &["tick.yaml"]),
    );

    // Deleting a schedule deletes its runs, stopping the active ones.
    let active_runs: Vec<String> =
        overlapping.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    std::fs::remove_file(p.manifest("allow.yaml")).expect("delete allow");
    std::fs::remove_file(p.manifest("replace.yaml")).expect("delete replace");
    eventually(
        RUN,
        "the runs of deleted schedules gone",
        || {
            let gone = runs(&p, "allow").is_empty() && runs(&p, "replace").is_empty();
            let stopped = active_runs.iter().all(|r| {
                processes_mentioning(&format!("jobs/{r}/")).is_empty() && !p.state().join("jobs").join(r).exists()
            });
            (gone && stopped).then_some(())
        },
        || ctx(&p, &op, &["allow.yaml"]),
    );

    // No scheduled time ever ran twice: each run has exactly one attempt.
    for r in runs(&p, "tick") {
        assert_eq!(attempts(&p, &r), 1, "{r}");
    }
    let n = p.assert_statuses_match_schemas();
    assert!(n >= 2, "{n}");
    op.terminate();
}
