//! Pipelines end to end on a real local Spark: `dependsOn` with results flowing downstream
//! through `$(jobs.…)` expansions, a failed upstream blocking its downstream, a re-run
//! upstream re-running its downstream (like make), graph errors, and quality gates. One
//! cluster with one worker serves every job; the apps are tiny.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Writes `rows` (a count done by Spark) and a data file into its outputs.
const PREPARE_APP: &str = r#"
import json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("prepare").getOrCreate()
rows = spark.sparkContext.parallelize(range(int(sys.argv[1])), 2).count()
out = os.environ["SPARKSWARM_OUTPUT_DIR"]
with open(os.path.join(out, "data.txt"), "w") as f:
    f.write("\n".join(str(i) for i in range(rows)) + "\n")
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump({"rows": rows, "name": "prepared"}, f)
spark.stop()
"#;

/// Reads what prepare wrote (its outputsDir and its result, via an argument and env).
const TRAIN_APP: &str = r#"
import json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("train").getOrCreate()
rows_arg, data = int(sys.argv[1]), sys.argv[2]
lines = spark.sparkContext.textFile("file://" + data).count()
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"lines": lines, "rowsArg": rows_arg, "rowsEnv": int(os.environ["ROWS"]), "score": 0.9}, f)
spark.stop()
"#;

/// Third level: its argument is train's result.
const SCORE_APP: &str = r#"
import json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("score").getOrCreate()
n = spark.sparkContext.parallelize([float(sys.argv[1])]).count()
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"lines": float(sys.argv[1]), "r2": 0.52}, f)
spark.stop()
"#;

const FAIL_APP: &str = r#"
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("fails").getOrCreate()
spark.sparkContext.parallelize(range(10)).count()
raise ValueError("boom: the upstream has no rows")
"#;

const BOOT: Duration = Duration::from_secs(240);
// A bound on waiting, not a figure: under a loaded CI runner one small job took 4 minutes.
const JOB: Duration = Duration::from_secs(300);

fn condition(p: &Project, file: &str, type_: &str) -> Option<(String, String, String)> {
    let conds = p.field(file, "/status/conditions")?;
    let c = conds.as_array()?.iter().find(|c| c["type"] == type_)?;
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Some((s("status"), s("reason"), s("message")))
}

fn ctx(p: &Project, op: &Operator, files: &[&str]) -> String {
    let mut s = String::new();
    for f in files {
        s.push_str(&format!("--- {f}\n{}\n", p.read(f)));
    }
    s + "operator log:\n" + &op.log()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_pipeline_passes_results_downstream_blocks_on_failures_reruns_and_gates() {
    require_java();
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    p.write_app("prepare.py", PREPARE_APP);
    p.write_app("train.py", TRAIN_APP);
    p.write_app("score.py", SCORE_APP);
    p.write_app("fail.py", FAIL_APP);
    let op = p.start(&[]);
    // Jobs first: the cluster is not there yet, so the downstream is seen waiting.
    p.drop_manifest("prepare.yaml", &Project::job_yaml("prepare", "demo", "prepare.py", "  arguments: [\"500\"]\n"));
    p.drop_manifest(
        "train.yaml",
        &Project::job_yaml(
            "train",
            "demo",
            "train.py",
            concat!(
                "  dependsOn: [prepare]\n",
                "  arguments: [\"$(jobs.prepare.results.rows)\", \"$(jobs.prepare.outputsDir)/data.txt\"]\n",
                "  env: [{name: ROWS, value: \"$(jobs.prepare.results.rows)\"}]\n",
                "  successCriteria: [{result: score, min: 0.5}]\n",
            ),
        ),
    );
    p.drop_manifest(
        "score.yaml",
        &Project::job_yaml(
            "score",
            "demo",
            "score.py",
            concat!(
                "  dependsOn: [train]\n",
                "  arguments: [\"$(jobs.train.results.lines)\"]\n",
                "  successCriteria: [{result: lines, min: 1}, {result: r2, min: 0.7}]\n",
            ),
        ),
    );
    p.drop_manifest("bad.yaml", &Project::job_yaml("bad", "demo", "fail.py", ""));
    p.drop_manifest("blocked.yaml", &Project::job_yaml("blocked", "demo", "prepare.py", "  dependsOn: [bad]\n"));
    p.drop_manifest(
        "graph.yaml",
        &[
            Project::job_yaml("c1", "demo", "prepare.py", "  dependsOn: [c2]\n"),
            Project::job_yaml("c2", "demo", "prepare.py", "  dependsOn: [c1]\n"),
            Project::job_yaml("orphan", "demo", "prepare.py", "  dependsOn: [prepare, nope]\n"),
            Project::job_yaml(
                "typo",
                "demo",
                "prepare.py",
                "  dependsOn: [prepare]\n  arguments: [\"$(jobs.prepare.result.rows)\"]\n",
            ),
        ]
        .join("---\n"),
    );

    let waiting = eventually(
        JOB,
        "train waiting for prepare",
        || condition(&p, "train.yaml", "DependenciesReady").filter(|c| c.1 == "WaitingForDependencies"),
        || ctx(&p, &op, &["train.yaml"]),
    );
    assert_eq!(waiting.0, "False");
    assert!(waiting.2.contains("prepare"), "{waiting:?}");
    assert_eq!(p.phase("train.yaml"), "Pending");

    // Graph and expansion errors are Valid=False with the field and line, without Spark.
    let valid_of = |docs: &[serde_json::Value], i: usize| -> Option<(String, String)> {
        let c = docs.get(i)?["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == "Valid")?.clone();
        (c["status"] == "False").then(|| {
            (c["reason"].as_str().unwrap_or_default().into(), c["message"].as_str().unwrap_or_default().into())
        })
    };
    let read_docs = || -> Vec<serde_json::Value> {
        serde_yaml::Deserializer::from_str(&p.read("graph.yaml"))
            .filter_map(|d| serde::Deserialize::deserialize(d).ok())
            .collect()
    };
    eventually(
        JOB,
        "graph errors written",
        || {
            let docs = read_docs();
            [0, 1, 2, 3].iter().all(|i| valid_of(&docs, *i).is_some()).then_some(())
        },
        || ctx(&p, &op, &["graph.yaml"]),
    );
    let graph = p.read("graph.yaml");
    let docs = read_docs();
    let valid = |i: usize| valid_of(&docs, i).unwrap_or_default();
    assert_eq!(valid(0).0, "DependencyCycle", "{graph}");
    assert!(valid(0).1.contains("spec.dependsOn: dependency cycle: c1 -> c2 -> c1"), "{graph}");
    assert_eq!(valid(2).0, "DependencyNotFound", "{graph}");
    assert!(valid(2).1.contains("spec.dependsOn.1: SparkJob \"nope\" not found"), "{graph}");
    assert_eq!(valid(3).0, "InvalidExpansion", "{graph}");
    assert!(valid(3).1.contains("spec.arguments.0") && valid(3).1.contains("jobs.prepare.result.rows"), "{graph}");

    p.drop_manifest("demo.yaml", &Project::cluster_yaml("demo", 1));
    eventually(
        BOOT,
        "cluster Ready",
        || (p.phase("demo.yaml") == "Ready").then_some(()),
        || ctx(&p, &op, &["demo.yaml"]),
    );

    // Three levels: prepare -> train -> score, results flowing down.
    eventually(
        JOB * 2,
        "score finished",
        || matches!(p.phase("score.yaml").as_str(), "Succeeded" | "Failed").then_some(()),
        || ctx(&p, &op, &["prepare.yaml", "train.yaml", "score.yaml"]),
    );
    assert_eq!(p.phase("prepare.yaml"), "Succeeded", "{}", ctx(&p, &op, &["prepare.yaml"]));
    assert_eq!(p.phase("train.yaml"), "Succeeded", "{}", ctx(&p, &op, &["train.yaml"]));
    let results = p.field("train.yaml", "/status/results").expect("train results");
    assert_eq!(results["rowsArg"], json!(500), "the argument carried prepare's result: {results}");
    assert_eq!(results["rowsEnv"], json!(500), "the env value carried prepare's result: {results}");
    assert_eq!(results["lines"], json!(500), "train read prepare's outputsDir: {results}");
    let prepare_done = p.field("prepare.yaml", "/status/completionTime").expect("prepare completionTime");
    assert_eq!(p.field("train.yaml", "/status/inputs/prepare/completionTime"), Some(prepare_done.clone()));
    let submitted = p.field("train.yaml", "/status/submittedArguments").expect("submittedArguments");
    let outputs = p.field("prepare.yaml", "/status/outputsDir").and_then(|v| v.as_str().map(str::to_string));
    assert_eq!(submitted, json!(["500", format!("{}/data.txt", outputs.unwrap_or_default())]));

    // The gate: score ran, exited 0, but r2 is below the bound; not retried.
    assert_eq!(p.phase("score.yaml"), "Failed", "{}", ctx(&p, &op, &["score.yaml"]));
    let gate = condition(&p, "score.yaml", "Succeeded").expect("Succeeded condition");
    assert_eq!(gate.1, "CriteriaNotMet", "{gate:?}");
    assert_eq!(p.field("score.yaml", "/status/message"), Some(json!("r2 = 0.52, want >= 0.7")));
    assert_eq!(p.field("score.yaml", "/status/exitCode"), Some(json!(0)));
    assert_eq!(p.field("score.yaml", "/status/attempts"), Some(json!(1)));
    assert_eq!(p.field("score.yaml", "/status/results/lines"), Some(json!(500.0)));

    let wide = text(&p.cli(&["get", "sparkjobs", "-o", "wide"]));
    let line = |name: &str| wide.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_default().to_string();
    assert!(wide.lines().next().unwrap_or_default().contains("GATES"), "{wide}");
    assert!(line("train").contains(" 1/1 "), "{wide}");
    assert!(line("score").contains(" 1/2 "), "{wide}");

    let describe = text(&p.cli(&["describe", "sparkjob", "train"]));
    assert!(describe.contains("Upstream:     prepare (Succeeded)"), "{describe}");
    assert!(describe.contains("Downstream:   score (Failed)"), "{describe}");
    assert!(describe.contains("submittedArguments:"), "{describe}");

    // A failed upstream: the downstream is Failed without ever being submitted.
    eventually(JOB, "bad Failed", || (p.phase("bad.yaml") == "Failed").then_some(()), || ctx(&p, &op, &["bad.yaml"]));
    eventually(
        JOB,
        "blocked DependencyFailed",
        || condition(&p, "blocked.yaml", "Succeeded").filter(|c| c.1 == "DependencyFailed"),
        || ctx(&p, &op, &["blocked.yaml"]),
    );
    assert_eq!(p.phase("blocked.yaml"), "Failed");
    assert_eq!(p.field("blocked.yaml", "/status/attempts"), Some(json!(0)));
    assert_eq!(p.field("blocked.yaml", "/status/submissionId"), None);
    let msg = p.field("blocked.yaml", "/status/message").and_then(|v| v.as_str().map(str::to_string));
    assert!(msg.as_deref().unwrap_or_default().contains("bad Failed: ValueError: boom"), "{msg:?}");

    drop(op);

    // Every job is terminal (the blocked and invalid ones too): --exit-when-done returns,
    // non-zero since some failed.
    let mut again = p.start(&["--exit-when-done"]);
    let status =
        eventually(JOB, "run --exit-when-done to return", || again.child.try_wait().ok().flatten(), String::new);
    assert!(!status.success(), "failed jobs make --exit-when-done non-zero\n{}", again.log());

    // A new operator adopts the cluster; the upstream succeeds again and its downstream
    // runs again on the new run, like make.
    let op = p.start(&[]);
    let rerun = p.cli(&["rerun", "sparkjob", "prepare"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    let new_input = eventually(
        JOB * 2,
        "train re-run on prepare's new run",
        || {
            let t = p.field("train.yaml", "/status/inputs/prepare/completionTime")?;
            (t != prepare_done && p.phase("train.yaml") == "Succeeded").then_some(t)
        },
        || ctx(&p, &op, &["prepare.yaml", "train.yaml"]),
    );
    assert_eq!(p.field("prepare.yaml", "/status/completionTime"), Some(new_input));
}
