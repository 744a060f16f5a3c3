//! End to end on a real local Spark: the operator binary, real manifests, real Spark
//! standalone processes, checked the way a user would (status in the file, the CLI, the
//! master's own JSON API, /proc).

mod common;

use std::time::Duration;

use common::*;

const OK_APP: &str = r#"
import json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("sum").getOrCreate()
n = int(open("input/n.txt").read())
total = spark.sparkContext.parallelize(range(n), 2).sum()
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"total": total, "n": n}, f)
print("total", total)
spark.stop()
"#;

const FAIL_APP: &str = r#"
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("fails").getOrCreate()
spark.sparkContext.parallelize(range(10)).count()
raise ValueError("boom: the input has no rows")
"#;

/// Runs a Spark job, then holds until the release file exists: lets a test act while the
/// job is known to be running, without guessing how long it takes.
const HOLD_APP: &str = r#"
import json, os, sys, time
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("hold").getOrCreate()
spark.sparkContext.parallelize(range(100)).count()
release = sys.argv[1]
while not os.path.exists(release):
    time.sleep(0.2)
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"released": 1}, f)
spark.stop()
"#;

const BOOT: Duration = Duration::from_secs(240);
// A bound on waiting, not a figure: under a loaded CI runner one small job took 4 minutes.
const JOB: Duration = Duration::from_secs(300);

fn ready_cluster(p: &Project, name: &str, workers: u32, op: &Operator) {
    p.drop_manifest(&format!("{name}.yaml"), &Project::cluster_yaml(name, workers));
    eventually(
        BOOT,
        &format!("cluster {name} Ready"),
        || (p.phase(&format!("{name}.yaml")) == "Ready").then_some(()),
        || format!("file:\n{}\noperator log:\n{}", p.read(&format!("{name}.yaml")), op.log()),
    );
}

fn master_json(p: &Project, cluster_file: &str) -> serde_json::Value {
    let ui = p
        .field(cluster_file, "/status/webUiUrl")
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("webUiUrl in status");
    let url = format!("{}/json/", ui.trim_end_matches('/'));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        reqwest::get(&url).await.expect("master json").json::<serde_json::Value>().await.expect("json")
    })
}

fn alive_workers(v: &serde_json::Value) -> usize {
    v.get("workers")
        .and_then(|w| w.as_array())
        .map(|ws| ws.iter().filter(|w| w.get("state").and_then(|s| s.as_str()) == Some("ALIVE")).count())
        .unwrap_or(0)
}

#[test]
fn jobs_succeed_fail_retry_and_rerun_with_status_in_the_file() {
    require_java();
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    p.write_app("ok/main.py", OK_APP);
    p.write_app("ok/n.txt", "1000\n");
    p.write_app("fail/main.py", FAIL_APP);
    let op = p.start(&[]);
    ready_cluster(&p, "demo", 2, &op);
    assert_eq!(p.field("demo.yaml", "/status/workers/ready"), Some(serde_json::json!(2)));
    assert_eq!(alive_workers(&master_json(&p, "demo.yaml")), 2, "the master itself sees two workers");
    let version =
        p.field("demo.yaml", "/status/sparkVersion").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    assert!(version.starts_with("4."), "sparkVersion read from the cluster: {version:?}");

    p.drop_manifest(
        "ok.yaml",
        &format!(
            "# my job\n{}",
            Project::job_yaml(
                "ok",
                "demo",
                "ok/main.py",
                "  files:\n    - {src: ../apps/ok/n.txt, dst: input/n.txt}\n"
            )
        ),
    );
    p.drop_manifest("fail.yaml", &Project::job_yaml("fail", "demo", "fail/main.py", ""));
    p.drop_manifest(
        "retry.yaml",
        &Project::job_yaml(
            "retry",
            "demo",
            "fail/main.py",
            "  restartPolicy: {type: OnFailure, maxRetries: 2, backoffSeconds: 1}\n",
        ),
    );

    let ctx = || {
        format!(
            "ok:\n{}\nfail:\n{}\nretry:\n{}\nlog:\n{}",
            p.read("ok.yaml"),
            p.read("fail.yaml"),
            p.read("retry.yaml"),
            op.log()
        )
    };
    eventually(JOB, "ok Succeeded", || (p.phase("ok.yaml") == "Succeeded").then_some(()), ctx);
    assert_eq!(p.field("ok.yaml", "/status/results/total"), Some(serde_json::json!(1000 * 999 / 2)));
    assert!(p.read("ok.yaml").starts_with("# my job\n"), "the user's comment survives");
    let app_id = p
        .field("ok.yaml", "/status/sparkApplicationId")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    assert!(app_id.starts_with("app-"), "application id {app_id:?}");
    assert_eq!(p.field("ok.yaml", "/status/exitCode"), Some(serde_json::json!(0)));

    eventually(JOB, "fail Failed", || (p.phase("fail.yaml") == "Failed").then_some(()), ctx);
    let message =
        p.field("fail.yaml", "/status/message").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    assert!(message.contains("ValueError: boom: the input has no rows"), "message: {message:?}");
    assert_eq!(
        p.field("fail.yaml", "/status/attempts"),
        Some(serde_json::json!(1)),
        "restartPolicy Never: one attempt"
    );

    eventually(JOB * 3, "retry Failed after its retries", || (p.phase("retry.yaml") == "Failed").then_some(()), ctx);
    assert_eq!(p.field("retry.yaml", "/status/attempts"), Some(serde_json::json!(3)), "1 attempt + maxRetries 2");

    // The CLI reads the same truth.
    let get = p.cli(&["get", "sparkjobs"]);
    let table = String::from_utf8_lossy(&get.stdout);
    assert!(get.status.success());
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("ok ") && l.contains("Succeeded")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("fail ") && l.contains("Failed")), "{table}");
    let wait_ok = p.cli(&["wait", "sparkjob/ok", "--for=condition=Succeeded", "--timeout=5s"]);
    assert!(wait_ok.status.success(), "{}", String::from_utf8_lossy(&wait_ok.stderr));
    let wait_fail = p.cli(&["wait", "sj/fail", "--for=condition=Succeeded", "--timeout=60s"]);
    assert!(!wait_fail.status.success());
    assert!(String::from_utf8_lossy(&wait_fail.stderr).contains("ValueError"), "wait says why");
    let describe = p.cli(&["describe", "sparkjob", "ok"]);
    let text = String::from_utf8_lossy(&describe.stdout);
    assert!(text.contains("Events:") && text.contains("Submitted") && text.contains("Completed"), "{text}");
    let logs = p.cli(&["logs", "sparkjob", "fail", "--tail", "200"]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("ValueError: boom"), "logs show the driver's output");

    // rerun: same spec, a new attempt with a new submission, a new generation.
    let first_sub = p.field("ok.yaml", "/status/submissionId");
    let rerun = p.cli(&["rerun", "sparkjob", "ok"]);
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    eventually(
        JOB,
        "ok re-run",
        || {
            let sub = p.field("ok.yaml", "/status/submissionId");
            (sub != first_sub && p.phase("ok.yaml") == "Succeeded").then_some(())
        },
        ctx,
    );
    assert_eq!(p.field("ok.yaml", "/status/observedGeneration"), Some(serde_json::json!(2)));
    assert!(p.read("ok.yaml").starts_with("# my job\n"));

    ui_after_the_cluster_is_gone(&p, op, &app_id);
}

/// Spark's UI of a finished attempt, once its cluster is deleted and with no operator: `ui`
/// replays the attempt's event log in a History Server on a loopback port until SIGINT.
fn ui_after_the_cluster_is_gone(p: &Project, mut op: Operator, first_app_id: &str) {
    use std::io::BufRead;
    let t0 = std::time::Instant::now();
    std::fs::remove_file(p.manifest("demo.yaml")).unwrap();
    let marker = p.state().display().to_string();
    eventually(
        Duration::from_secs(60),
        "the cluster's processes gone",
        || processes_mentioning(&marker).is_empty().then_some(()),
        || format!("{:?}", processes_mentioning(&marker)),
    );
    op.terminate();

    let missing = p.cli(&["ui", "sparkjob", "nosuch"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("(NotFound)"), "{missing:?}");
    let no_attempt = p.cli(&["ui", "sparkjob", "ok", "--attempt", "99"]);
    assert_eq!(no_attempt.status.code(), Some(1));
    let err = String::from_utf8_lossy(&no_attempt.stderr);
    assert!(err.contains("has no attempt 99 (its attempts: 1, 2)"), "{err}");

    // The first attempt of `ok` (the rerun made a second one).
    let tmp = p.root().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut ui = std::process::Command::new(BIN)
        .args(["ui", "sparkjob", "ok", "--attempt", "1"])
        .current_dir(p.root())
        .env("SPARKSWARM_SPARK_CACHE", spark_cache())
        .env("SPARKSWARM_JVM_OPTIONS", jvm_options())
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start sparkswarm ui");
    let stdout = ui.stdout.take().expect("ui's stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    let url = loop {
        let line = rx.recv_timeout(JOB).unwrap_or_else(|e| panic!("no URL from `ui` ({e}): {printed:?}"));
        printed.push(line.clone());
        if let Some(at) = line.find("http://127.0.0.1:") {
            break line[at..].split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    let page_line = rx.recv_timeout(Duration::from_secs(5)).expect("the application's page");
    assert!(page_line.contains(&format!("{url}/history/{first_app_id}/")), "{page_line}");
    let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port in the URL");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let apps: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{url}/api/v1/applications")).await.expect("GET applications").json().await.expect("json")
    });
    let ids: Vec<&str> = apps.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, vec![first_app_id], "only that attempt's application: {apps}");
    let jobs: serde_json::Value = rt.block_on(async {
        let u = format!("{url}/api/v1/applications/{first_app_id}/jobs");
        reqwest::get(u).await.expect("GET jobs").json().await.expect("json")
    });
    assert!(jobs.as_array().is_some_and(|j| j.iter().any(|j| j["status"] == "SUCCEEDED")), "{jobs}");
    // 127.0.0.1 only: `0100007F` in /proc/net/tcp, or as the v4-mapped tcp6 address.
    let bound = listeners(port);
    assert!(!bound.is_empty() && bound.iter().all(|a| a.ends_with("0100007F")), "listens on {bound:?}");
    // Ctrl+C: the History Server stops, its port is free and its directory gone.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(ui.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let status = ui.wait().expect("wait for ui");
    assert!(status.success(), "ui ends cleanly on SIGINT: {status}");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "port {port} is free again");
    assert!(processes_mentioning("sparkswarm.history=").iter().all(|(_, c)| !c.contains(&tmp.display().to_string())));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the History Server's directory is removed");
    eprintln!("ui after the cluster is gone: {:?}", t0.elapsed());
}

/// The local addresses (as /proc/net/tcp{,6} write them) that listen on `port`.
fn listeners(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let Some((addr, p)) = cols.get(1).and_then(|a| a.split_once(':')) else { continue };
            if cols.get(3) == Some(&"0A") && u16::from_str_radix(p, 16) == Ok(port) {
                out.push(addr.to_string());
            }
        }
    }
    out
}

#[test]
fn kill_9_mid_job_then_restart_submits_once_and_finishes() {
    require_java();
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    p.write_app("hold/main.py", HOLD_APP);
    let release = p.root().join("release");
    let mut op = p.start(&[]);
    ready_cluster(&p, "c1", 1, &op);
    p.drop_manifest(
        "hold.yaml",
        &Project::job_yaml(
            "hold",
            "c1",
            "hold/main.py",
            &format!("  arguments: [{:?}]\n", release.display().to_string()),
        ),
    );
    eventually(
        JOB,
        "hold Running",
        || (p.phase("hold.yaml") == "Running").then_some(()),
        || format!("{}\n{}", p.read("hold.yaml"), op.log()),
    );
    let sub = p.field("hold.yaml", "/status/submissionId").expect("submission id");
    op.kill9();

    let op2 = p.start(&[]);
    std::fs::write(&release, "go").unwrap();
    eventually(
        JOB,
        "hold Succeeded after the restart",
        || (p.phase("hold.yaml") == "Succeeded").then_some(()),
        || format!("{}\n{}", p.read("hold.yaml"), op2.log()),
    );
    assert_eq!(p.field("hold.yaml", "/status/submissionId"), Some(sub), "the same submission, adopted");
    assert_eq!(p.field("hold.yaml", "/status/attempts"), Some(serde_json::json!(1)));
    let master = master_json(&p, "c1.yaml");
    let apps: Vec<String> = ["activeapps", "completedapps"]
        .iter()
        .flat_map(|k| master.get(*k).and_then(|a| a.as_array()).cloned().unwrap_or_default())
        .filter_map(|a| a.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect();
    assert_eq!(apps.iter().filter(|n| n.as_str() == "hold").count(), 1, "the master saw one application: {apps:?}");

    // A spec change of a finished job runs the new spec: a new generation, a new submission.
    let sub1 = p.field("hold.yaml", "/status/submissionId");
    p.drop_manifest(
        "hold.yaml",
        &Project::job_yaml(
            "hold",
            "c1",
            "hold/main.py",
            &format!(
                "  arguments: [{:?}]\n  sparkConf: {{spark.ui.showConsoleProgress: \"false\"}}\n",
                release.display().to_string()
            ),
        ),
    );
    eventually(
        JOB,
        "the new spec Succeeded",
        || {
            (p.field("hold.yaml", "/status/observedGeneration") == Some(serde_json::json!(2))
                && p.phase("hold.yaml") == "Succeeded")
                .then_some(())
        },
        || format!("{}\n{}", p.read("hold.yaml"), op2.log()),
    );
    assert_ne!(p.field("hold.yaml", "/status/submissionId"), sub1);
    assert_eq!(p.field("hold.yaml", "/status/attempts"), Some(serde_json::json!(1)), "attempts count per generation");

    // deletionPolicy Retain: deleting the file leaves the cluster running.
    let marker = p.state().display().to_string();
    p.drop_manifest("c1.yaml", &Project::cluster_yaml("c1", 1).replace("spec:\n", "spec:\n  deletionPolicy: Retain\n"));
    eventually(
        BOOT,
        "c1 Retain observed",
        || (p.field("c1.yaml", "/status/observedGeneration") == Some(serde_json::json!(2))).then_some(()),
        || op2.log(),
    );
    let before: Vec<i32> = processes_mentioning(&marker).into_iter().map(|(pid, _)| pid).collect();
    assert!(before.len() >= 2, "a master and a worker run");
    std::fs::remove_file(p.manifest("c1.yaml")).unwrap();
    eventually(
        Duration::from_secs(30),
        "the operator to act on the deletion",
        || op2.log().contains("deletionPolicy Retain").then_some(()),
        || op2.log(),
    );
    for pid in before {
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} of the retained cluster still runs"
        );
    }
}

#[test]
fn clusters_scale_heal_and_leave_nothing_behind_when_deleted() {
    require_java();
    let p = Project::new();
    let marker = p.state().display().to_string();
    let _reaper = Reaper(marker.clone());
    let op = p.start(&[]);
    ready_cluster(&p, "scale", 2, &op);

    // Scale 2 -> 3 by editing the spec.
    p.drop_manifest("scale.yaml", &Project::cluster_yaml("scale", 3));
    eventually(
        BOOT,
        "3 workers",
        || {
            (p.field("scale.yaml", "/status/workers/ready") == Some(serde_json::json!(3))
                && p.phase("scale.yaml") == "Ready")
                .then_some(())
        },
        || op.log(),
    );
    assert_eq!(alive_workers(&master_json(&p, "scale.yaml")), 3);

    // A worker dies: Degraded, then Ready again with a replacement.
    let workers: Vec<i32> = processes_mentioning(&marker)
        .into_iter()
        .filter(|(_, c)| c.contains("deploy.worker.Worker"))
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(workers.len(), 3, "three worker JVMs");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(workers[0]), nix::sys::signal::Signal::SIGKILL).unwrap();
    eventually(BOOT, "Degraded", || (p.phase("scale.yaml") == "Degraded").then_some(()), || p.read("scale.yaml"));
    eventually(BOOT, "Ready again", || (p.phase("scale.yaml") == "Ready").then_some(()), || p.read("scale.yaml"));

    // Deleting the file stops every process of the cluster.
    std::fs::remove_file(p.manifest("scale.yaml")).unwrap();
    eventually(
        Duration::from_secs(60),
        "no Spark process left",
        || processes_mentioning(&marker).is_empty().then_some(()),
        || format!("{:?}", processes_mentioning(&marker)),
    );
}

#[test]
fn deadline_suspend_and_ttl() {
    require_java();
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    p.write_app("hold/main.py", HOLD_APP);
    p.write_app("ok/main.py", OK_APP);
    p.write_app("ok/n.txt", "10\n");
    let op = p.start(&[]);
    ready_cluster(&p, "c2", 2, &op);
    let never = p.root().join("never");
    p.drop_manifest(
        "late.yaml",
        &Project::job_yaml(
            "late",
            "c2",
            "hold/main.py",
            &format!("  arguments: [{:?}]\n  activeDeadlineSeconds: 20\n", never.display().to_string()),
        ),
    );
    p.drop_manifest(
        "held.yaml",
        &Project::job_yaml(
            "held",
            "c2",
            "ok/main.py",
            "  suspend: true\n  files:\n    - {src: ../apps/ok/n.txt, dst: input/n.txt}\n",
        ),
    );
    let ctx = || format!("{}\n{}\n{}", p.read("late.yaml"), p.read("held.yaml"), op.log());
    eventually(JOB, "late Failed by its deadline", || (p.phase("late.yaml") == "Failed").then_some(()), ctx);
    let cond = p.field("late.yaml", "/status/message").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    assert!(cond.contains("activeDeadlineSeconds"), "{cond}");
    assert_eq!(p.phase("held.yaml"), "Suspended");
    assert_eq!(p.field("held.yaml", "/status/attempts"), Some(serde_json::json!(0)));

    // Unsuspend, with a TTL: it runs, succeeds, and its attempt directories go away.
    p.drop_manifest(
        "held.yaml",
        &Project::job_yaml(
            "held",
            "c2",
            "ok/main.py",
            "  ttlSecondsAfterFinished: 2\n  files:\n    - {src: ../apps/ok/n.txt, dst: input/n.txt}\n",
        ),
    );
    eventually(JOB, "held Succeeded", || (p.phase("held.yaml") == "Succeeded").then_some(()), ctx);
    let attempts = p.state().join("jobs/held/attempts");
    eventually(Duration::from_secs(30), "attempts removed after the TTL", || (!attempts.exists()).then_some(()), ctx);
    assert_eq!(p.phase("held.yaml"), "Succeeded", "the status outlives the outputs");
    assert_eq!(p.field("held.yaml", "/status/results/total"), Some(serde_json::json!(45)));
}
