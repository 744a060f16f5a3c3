//! End to end on the real Docker engine in Swarm mode: the operator binary, real manifests
//! with `provider.swarm`, checked the way a user would (status in the file, the CLI, the
//! master's own JSON API, `docker` itself). The engine must be reachable: these tests fail
//! with the reason when it is not. A swarm is initialised for the test when the engine is
//! in none, and left afterwards; the images are built when missing.

mod common;
mod swarm_common;

use std::time::{Duration, Instant};

use common::*;
use swarm_common::{docker, labelled, Engine, Sweeper};

const BOOT: Duration = Duration::from_secs(300);
// A bound on waiting, not a figure: the seed apps now upload their matplotlib deps with each
// attempt, and on the loaded machine the three ran past 300 s.
const JOB: Duration = Duration::from_secs(600);

fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}{nanos:08x}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn swarm_cluster_yaml(name: &str, workers: u32, web_ui_port: u16) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    swarm:\n      endpoint: unix:///var/run/docker.sock\n  master: {{webUiPort: {web_ui_port}}}\n  workers:\n    replicas: {workers}\n    cores: 1\n    memory: 1g\n"
    )
}

/// The project gets a copy of the repository's apps (with their prepared data).
fn copy_apps(p: &Project) {
    let src = repo_root().join("apps");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(p.root().join("apps"))
        .status();
    assert!(status.map(|s| s.success()).unwrap_or(false), "copying the apps");
    assert!(
        p.root().join("apps/data/boston.csv").exists(),
        "apps/data is not prepared: run `python3 apps/prepare_data.py --out apps/data`"
    );
}

/// A seed job manifest of the repository, pointed at `cluster`.
fn seed_job(app_file: &str, cluster: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("manifests").join(app_file)).expect("seed manifest");
    text.replace("clusterRef: demo", &format!("clusterRef: {cluster}"))
}

fn ready(p: &Project, file: &str, op: &Operator) {
    eventually(
        BOOT,
        &format!("{file} Ready"),
        || (p.phase(file) == "Ready").then_some(()),
        || format!("file:\n{}\noperator log:\n{}", p.read(file), op.log()),
    );
}

fn master_json(p: &Project, cluster_file: &str) -> serde_json::Value {
    let ui = p
        .field(cluster_file, "/status/webUiUrl")
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("webUiUrl in status");
    let url = format!("{}/json/", ui.trim_end_matches('/'));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
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

fn check_metrics(p: &Project, job_file: &str, app_dir: &str) {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("apps").join(app_dir).join("expected.json")).expect("expected.json"),
    )
    .expect("expected json");
    for (metric, range) in expected.as_object().expect("object") {
        let got = p.field(job_file, &format!("/status/results/{metric}")).and_then(|v| v.as_f64());
        let (lo, hi) = (range[0].as_f64().unwrap_or(f64::MIN), range[1].as_f64().unwrap_or(f64::MAX));
        assert!(
            got.is_some_and(|g| (lo..=hi).contains(&g)),
            "{job_file}: {metric} = {got:?}, expected within [{lo}, {hi}]"
        );
    }
}

const FAIL_APP: &str = r#"
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("fails").getOrCreate()
spark.sparkContext.parallelize(range(10)).count()
raise ValueError("boom: the input has no rows")
"#;

#[test]
fn a_swarm_cluster_runs_the_three_apps_scales_heals_and_leaves_nothing() {
    let _engine = Engine::require();
    let p = Project::new();
    let name = unique("swop");
    let _sweeper = Sweeper::cluster(&name);
    copy_apps(&p);
    p.write_app("fail/main.py", FAIL_APP);
    let op = p.start(&[]);
    let file = format!("{name}.yaml");
    let t = Instant::now();
    p.drop_manifest(&file, &swarm_cluster_yaml(&name, 2, free_port()));
    ready(&p, &file, &op);
    eprintln!("cluster Ready {:?} after the file was dropped", t.elapsed());
    assert_eq!(p.field(&file, "/status/workers/ready"), Some(serde_json::json!(2)));
    assert_eq!(alive_workers(&master_json(&p, &file)), 2, "the master itself sees two workers");
    assert_eq!(p.field(&file, "/status/sparkVersion"), Some(serde_json::json!("4.0.1")));
    let conditions = p.field(&file, "/status/conditions").map(|c| c.to_string()).unwrap_or_default();
    assert!(conditions.contains("SwarmReady") && conditions.contains("NodesReady"), "{conditions}");

    for job in ["linear-regression.yaml", "random-forest.yaml", "text-classification.yaml"] {
        p.drop_manifest(job, &seed_job(job, &name));
    }
    p.drop_manifest("fail.yaml", &Project::job_yaml("fail", &name, "fail/main.py", ""));
    let ctx = || {
        ["linear-regression.yaml", "random-forest.yaml", "text-classification.yaml", "fail.yaml"]
            .iter()
            .map(|f| format!("{f}:\n{}", p.read(f)))
            .collect::<Vec<_>>()
            .join("\n")
            + &op.log()
    };
    for (job, app) in [
        ("linear-regression.yaml", "linear_regression"),
        ("random-forest.yaml", "random_forest"),
        ("text-classification.yaml", "text_classification"),
    ] {
        eventually(JOB, &format!("{job} Succeeded"), || (p.phase(job) == "Succeeded").then_some(()), ctx);
        check_metrics(&p, job, app);
        let outputs = p
            .field(job, "/status/outputsDir")
            .and_then(|v| v.as_str().map(std::path::PathBuf::from))
            .expect("outputsDir");
        assert!(outputs.join("results.json").exists(), "outputs collected into {}", outputs.display());
        assert!(p
            .field(job, "/status/sparkApplicationId")
            .and_then(|v| v.as_str().map(|s| s.starts_with("app-")))
            .unwrap_or(false));
    }
    eventually(JOB, "fail Failed", || (p.phase("fail.yaml") == "Failed").then_some(()), ctx);
    let message =
        p.field("fail.yaml", "/status/message").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    assert!(message.contains("ValueError: boom: the input has no rows"), "message: {message:?}");
    let logs = p.cli(&["logs", "sparkjob", "fail", "--tail", "200"]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("ValueError: boom"), "logs show the driver's output");
    let services: Vec<String> =
        labelled("sparkswarm.io/cluster", &name).into_iter().filter(|l| l.starts_with("service")).collect();
    assert_eq!(services.len(), 2, "finished drivers' services are removed (master and workers remain): {services:?}");

    // Scale 2 -> 3 by editing the spec.
    let port = p
        .field(&file, "/status/webUiUrl")
        .and_then(|v| v.as_str().and_then(|u| u.rsplit(':').next()?.parse::<u16>().ok()))
        .expect("port");
    p.drop_manifest(&file, &swarm_cluster_yaml(&name, 3, port));
    eventually(
        BOOT,
        "3 workers",
        || {
            (p.field(&file, "/status/workers/ready") == Some(serde_json::json!(3)) && p.phase(&file) == "Ready")
                .then_some(())
        },
        || op.log(),
    );
    assert!(alive_workers(&master_json(&p, &file)) >= 3);

    // A worker container killed: Degraded, then Ready with the swarm's replacement.
    let filter = format!("label=sparkswarm.io/cluster={name}");
    let (_, out) = docker(&["ps", "-q", "--filter", &filter, "--filter", "label=sparkswarm.io/role=worker"]);
    let victim = out.lines().next().expect("a running worker container").to_string();
    let (ok, out) = docker(&["kill", &victim]);
    assert!(ok, "docker kill: {out}");
    eventually(BOOT, "Degraded", || (p.phase(&file) == "Degraded").then_some(()), || p.read(&file));
    eventually(BOOT, "Ready again", || (p.phase(&file) == "Ready").then_some(()), || p.read(&file));
    let (_, out) = docker(&["ps", "-q", "--filter", &filter, "--filter", "label=sparkswarm.io/role=worker"]);
    assert_eq!(out.lines().count(), 3, "the swarm replaced the killed worker");

    // Deleting the file removes every labelled service, container, network and volume.
    let t = Instant::now();
    std::fs::remove_file(p.manifest(&file)).expect("remove the cluster file");
    eventually(
        Duration::from_secs(120),
        "nothing labelled left",
        || labelled("sparkswarm.io/cluster", &name).is_empty().then_some(()),
        || format!("{:?}\n{}", labelled("sparkswarm.io/cluster", &name), op.log()),
    );
    eprintln!("cluster gone {:?} after the file was deleted", t.elapsed());
}

/// Holds the driver until a file appears in its working directory (created with `docker
/// exec` by the test): the test acts while the job is known to run.
const HOLD_APP: &str = r#"
import json, os, time
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("hold").getOrCreate()
spark.sparkContext.parallelize(range(100)).count()
while not os.path.exists("release"):
    time.sleep(0.2)
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"released": 1}, f)
spark.stop()
"#;

#[test]
fn kill_9_mid_job_then_restart_submits_once() {
    // On an engine in no swarm (a fresh CI machine), this test also checks the
    // NotSwarmManager condition and `init: true`; the guard leaves the swarm afterwards.
    let engine = Engine::require_for_operator_init();
    let p = Project::new();
    let name = unique("swk");
    let _sweeper = Sweeper::cluster(&name);
    p.write_app("hold/main.py", HOLD_APP);
    let mut op = p.start(&[]);
    let file = format!("{name}.yaml");
    let port = free_port();
    if engine.was_inactive() {
        p.drop_manifest(&file, &swarm_cluster_yaml(&name, 1, port));
        eventually(
            BOOT,
            "Ready=False NotSwarmManager",
            || {
                p.field(&file, "/status/conditions")
                    .map(|c| c.to_string())
                    .filter(|c| c.contains("NotSwarmManager") && c.contains("SwarmReady"))
                    .map(|_| ())
            },
            || p.read(&file),
        );
        assert_eq!(p.phase(&file), "Failed");
    }
    p.drop_manifest(
        &file,
        &swarm_cluster_yaml(&name, 1, port).replace("      endpoint:", "      init: true\n      endpoint:"),
    );
    ready(&p, &file, &op);
    p.drop_manifest("hold.yaml", &Project::job_yaml("hold", &name, "hold/main.py", ""));
    eventually(
        JOB,
        "hold Running",
        || (p.phase("hold.yaml") == "Running").then_some(()),
        || format!("{}\n{}", p.read("hold.yaml"), op.log()),
    );
    let sub = p.field("hold.yaml", "/status/submissionId").expect("submission id");
    op.kill9();

    let op2 = p.start(&[]);
    // The driver's container, found the way the operator finds it: by its labels.
    let filter = format!("label=sparkswarm.io/cluster={name}");
    let driver = eventually(
        JOB,
        "the driver container",
        || {
            let (_, out) = docker(&["ps", "-q", "--filter", &filter, "--filter", "label=sparkswarm.io/job=hold"]);
            out.lines().next().map(str::to_string)
        },
        || op2.log(),
    );
    // `docker exec` starts in the driver's working directory, wherever the runtime puts it.
    let (ok, out) = docker(&["exec", &driver, "touch", "release"]);
    assert!(ok, "docker exec: {out}");
    eventually(
        JOB,
        "hold Succeeded after the restart",
        || (p.phase("hold.yaml") == "Succeeded").then_some(()),
        || format!("{}\n{}", p.read("hold.yaml"), op2.log()),
    );
    assert_eq!(p.field("hold.yaml", "/status/submissionId"), Some(sub), "the same submission, adopted");
    assert_eq!(p.field("hold.yaml", "/status/attempts"), Some(serde_json::json!(1)));
    assert_eq!(p.field("hold.yaml", "/status/results/released"), Some(serde_json::json!(1)));
    let master = master_json(&p, &file);
    let apps: Vec<String> = ["activeapps", "completedapps"]
        .iter()
        .flat_map(|k| master.get(*k).and_then(|a| a.as_array()).cloned().unwrap_or_default())
        .filter_map(|a| a.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect();
    assert_eq!(apps.iter().filter(|n| n.as_str() == "hold").count(), 1, "the master saw one application: {apps:?}");

    std::fs::remove_file(p.manifest(&file)).expect("remove the cluster file");
    eventually(
        Duration::from_secs(120),
        "nothing labelled left",
        || labelled("sparkswarm.io/cluster", &name).is_empty().then_some(()),
        || op2.log(),
    );
}
