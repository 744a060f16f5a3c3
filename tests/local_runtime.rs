//! The local runtime against a real Spark: no mocks. Needs Java 17+ and either SPARK_HOME
//! or the ability to install pyspark into the shared cache (`SPARKSWARM_SPARK_CACHE`, by
//! default `<repo>/target/spark-cache`; `SPARKSWARM_PIP_FIND_LINKS` for offline wheels).
//! Missing Java or Spark fails the tests with the reason: they are never skipped.
//!
//! The machine this runs on may have 2 cores: one cluster serves every step of the big test,
//! JVMs are kept at 512m, and everything waited for is polled with a deadline.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkswarm::api::quantity::Memory;
use sparkswarm::runtime::local::{spark_dist, LocalRuntime, SparkDist, PYSPARK_VERSION};
use sparkswarm::runtime::{
    AttemptObservation, AttemptState, ClusterPlan, ClusterRuntime, JobRuntime, JobSubmission, ObservedCluster,
};

/// Generous: other builds may be using both cores at the same time.
const CLUSTER_UP: Duration = Duration::from_secs(180);
const JOB_DONE: Duration = Duration::from_secs(240);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn spark_cache() -> PathBuf {
    match std::env::var_os(spark_dist::SPARK_CACHE_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo_root().join("target").join("spark-cache"),
    }
}

fn progress() -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(|line: &str| eprintln!("[spark install] {line}"))
}

fn require_java() {
    if let Err(e) = spark_dist::find_java() {
        panic!("these tests need Java 17+ to run Spark: {e}");
    }
}

async fn require_spark(rt: &LocalRuntime) -> SparkDist {
    match rt.spark().await {
        Ok(d) => d.clone(),
        Err(e) => panic!(
            "Spark is not available (set SPARK_HOME, or let pyspark {PYSPARK_VERSION} install into {}): {e}",
            spark_cache().display()
        ),
    }
}

/// Every live process whose environment or command line mentions `needle` (our markers
/// all hold the state directory's path).
fn processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')) {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmd.contains(needle) || String::from_utf8_lossy(&environ).contains(needle) {
            found.push((pid, cmd));
        }
    }
    found
}

/// Kills whatever a failed test left running, so that a failure does not leave JVMs behind.
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for (pid, _) in processes_mentioning(&self.0) {
            if pid != std::process::id() as i32 {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

async fn wait_cluster(
    rt: &LocalRuntime,
    name: &str,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&ObservedCluster) -> bool,
) -> ObservedCluster {
    let deadline = Instant::now() + timeout;
    loop {
        let obs = rt.observe_cluster(name).await.unwrap_or_else(|e| panic!("observe {name}: {e}"));
        if ok(&obs) {
            return obs;
        }
        if Instant::now() > deadline {
            let logs = ["master.log", "worker-0.log", "worker-1.log"]
                .iter()
                .map(|f| format!("--- {f}\n{}", tail(&rt.cluster_dir(name).join(f), 3000)))
                .collect::<Vec<_>>()
                .join("\n");
            panic!("cluster {name}: {what} not reached within {timeout:?}; last observation: {obs:#?}\n{logs}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn tail(path: &Path, n: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let start = s.len().saturating_sub(n);
    let start = (start..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
    s[start..].to_string()
}

async fn wait_job(rt: &LocalRuntime, dir: &Path, ok: impl Fn(&AttemptObservation) -> bool) -> AttemptObservation {
    let deadline = Instant::now() + JOB_DONE;
    loop {
        let obs = JobRuntime::observe(rt, dir).await.unwrap_or_else(|e| panic!("observe {}: {e}", dir.display()));
        if let Some(obs) = obs {
            if ok(&obs) {
                return obs;
            }
            if Instant::now() > deadline {
                panic!(
                    "job at {} did not get there within {JOB_DONE:?}: {obs:#?}\n{}",
                    dir.display(),
                    tail(&obs.driver_log, 4000)
                );
            }
        } else if Instant::now() > deadline {
            panic!("no trace of the job at {}", dir.display());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn pgid_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(2)?.parse().ok()
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {}", path.display()))
}

const APP: &str = r#"
import json, os, sys, time
from pyspark.sql import SparkSession
import helper

mode = sys.argv[1]
spark = SparkSession.builder.getOrCreate()
with open("data/input.txt") as f:
    numbers = [int(x) for x in f.read().split()]
total = spark.sparkContext.parallelize(numbers, 2).map(helper.double).sum()
# A shuffle, so that the event log has shuffle reads and writes to sum up.
groups = spark.sparkContext.parallelize(numbers, 2).map(lambda x: (x % 3, x)).reduceByKey(lambda a, b: a + b, 2).count()
if mode == "fail":
    raise ValueError("boom")
if mode == "sleep":
    time.sleep(600)
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"total": total, "groups": groups, "arg": sys.argv[2], "conf": spark.conf.get("spark.sparkswarm.submissionId")}, f)
spark.stop()
"#;

fn submission(app: &Path, master_url: &str, attempt_dir: PathBuf, id: &str, mode: &str) -> JobSubmission {
    JobSubmission {
        job: format!("job-{mode}"),
        cluster: "it".into(),
        submission_id: id.into(),
        attempt: 1,
        master_url: master_url.into(),
        main_application_file: app.join("main.py"),
        // Would run a command if anything evaluated it in a shell.
        arguments: vec![mode.into(), "it's $(touch pwned) `x`".into()],
        files: vec![(app.join("numbers.txt"), "data/input.txt".into())],
        py_files: vec![app.join("helper.py")],
        spark_conf: BTreeMap::from([
            ("spark.sql.shuffle.partitions".to_string(), "2".to_string()),
            // A secret handed to executors through a conf: Spark's event log must not keep it.
            ("spark.executorEnv.API_TOKEN".to_string(), "s3cr3t-in-conf".to_string()),
        ]),
        env: vec![],
        secrets: vec![],
        deps: None,
        driver_cores: 1,
        driver_memory: Memory::new("512m"),
        executor_instances: 1,
        executor_cores: 1,
        executor_memory: Memory::new("512m"),
        attempt_dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_is_found_or_installed() {
    require_java();
    let cache = spark_cache();
    let (a, b) = tokio::join!(
        spark_dist::ensure_in(&cache, &|l: &str| eprintln!("[spark install a] {l}")),
        spark_dist::ensure_in(&cache, &|l: &str| eprintln!("[spark install b] {l}")),
    );
    let a = a.unwrap_or_else(|e| panic!("Spark is not available: {e}"));
    let b = b.unwrap_or_else(|e| panic!("Spark is not available: {e}"));
    assert_eq!(a, b, "concurrent callers see the same install");
    assert!(a.spark_submit().is_file(), "{} has no bin/spark-submit", a.home.display());
    assert!(a.spark_class().is_file());
    assert!(!a.version.is_empty());
    if std::env::var_os("SPARK_HOME").is_none() {
        assert_eq!(a.version, PYSPARK_VERSION);
        assert!(a.python.is_file(), "venv python {} missing", a.python.display());
        assert!(!cache.join("venv.partial").exists(), "a finished install leaves no partial venv");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_jobs_on_real_spark() {
    require_java();
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let _cleanup = KillOnDrop(state.to_string_lossy().into_owned());
    common::use_test_jvm_options();
    let rt = LocalRuntime::new(state.clone(), progress()).with_spark_cache(spark_cache());
    let dist = require_spark(&rt).await;
    let name = "it";

    // A 2-worker cluster comes up and the master reports both workers ALIVE.
    let plan = ClusterPlan {
        name: name.into(),
        workers: 2,
        worker_cores: 1,
        worker_memory: Memory::new("1g"),
        master_port: None,
        web_ui_port: None,
        volumes: vec![],
    };
    let t0 = Instant::now();
    rt.apply(&plan).await.unwrap_or_else(|e| panic!("apply: {e}"));
    let up = wait_cluster(&rt, name, "2 ALIVE workers", CLUSTER_UP, |o| o.master_running && o.workers_alive == 2).await;
    eprintln!("cluster up (2 workers ALIVE) in {:?}", t0.elapsed());
    let master_url = up.master_url.clone().expect("master url");
    assert!(master_url.starts_with("spark://127.0.0.1:"), "{master_url}");
    assert!(up.web_ui_url.as_deref().is_some_and(|u| u.starts_with("http://127.0.0.1:")));
    assert_eq!(up.spark_version.as_deref(), Some(dist.version.as_str()));
    assert_eq!(up.applied.as_ref(), Some(&plan));
    assert_eq!((up.workers_running, up.workers_failed), (2, 0));
    assert_eq!(up.nodes.len(), 3, "{:?}", up.nodes);
    assert!(up.nodes.iter().filter(|n| n.role == "worker").all(|n| n.state == "ALIVE"), "{:?}", up.nodes);
    assert_eq!(rt.list().await.expect("list"), vec![name.to_string()]);

    // Each daemon leads its own process group, apart from ours: a Ctrl-C to the operator
    // does not reach it.
    let dir = rt.cluster_dir(name);
    let master_pid = read_pid(&dir.join("master.pid"));
    let worker_pids = [read_pid(&dir.join("worker-0.pid")), read_pid(&dir.join("worker-1.pid"))];
    for pid in std::iter::once(master_pid).chain(worker_pids) {
        assert_eq!(pgid_of(pid), Some(pid), "pid {pid} leads its group");
        assert_ne!(pgid_of(pid), pgid_of(std::process::id() as i32));
    }

    // A restarted operator (a new runtime on the same state dir) adopts, starts nothing.
    let rt2 = LocalRuntime::new(state.clone(), progress()).with_spark_cache(spark_cache());
    let adopted = rt2.observe_cluster(name).await.expect("observe");
    assert_eq!(adopted.master_url.as_deref(), Some(master_url.as_str()));
    assert!(adopted.master_running && adopted.workers_running == 2);
    rt2.apply(&plan).await.expect("re-apply");
    assert_eq!(read_pid(&dir.join("master.pid")), master_pid, "apply is idempotent");
    assert_eq!([read_pid(&dir.join("worker-0.pid")), read_pid(&dir.join("worker-1.pid"))], worker_pids);

    // The app: a data file at a nested destination, a py-file, arguments that must reach it verbatim.
    let app = tmp.path().join("app");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::write(app.join("main.py"), APP).expect("write app");
    std::fs::write(app.join("helper.py"), "def double(x):\n    return 2 * x\n").expect("write helper");
    std::fs::write(app.join("numbers.txt"), (1..=100).map(|i| i.to_string()).collect::<Vec<_>>().join(" "))
        .expect("write data");
    let jobs = state.join("jobs");

    // A job that succeeds: exit 0, app id, UI, results.
    let ok_dir = jobs.join("ok").join("1");
    let t1 = Instant::now();
    rt.submit(&submission(&app, &master_url, ok_dir.clone(), "sub-ok", "ok")).await.expect("submit");
    let ok = wait_job(&rt, &ok_dir, |o| o.state != AttemptState::Running).await;
    eprintln!("trivial job done in {:?}", t1.elapsed());
    assert_eq!(ok.state, AttemptState::Exited(0), "{}", tail(&ok.driver_log, 4000));
    let app_id = ok.spark_application_id.clone().unwrap_or_default();
    assert!(app_id.starts_with("app-"), "application id {app_id:?}");
    assert!(ok.web_ui_url.as_deref().is_some_and(|u| u.starts_with("http://127.0.0.1:")), "{:?}", ok.web_ui_url);
    assert_eq!(ok.error_line, None);
    assert_eq!(ok.results.get("total"), Some(&serde_json::json!(10100)));
    assert_eq!(ok.results.get("arg"), Some(&serde_json::json!("it's $(touch pwned) `x`")));
    assert_eq!(ok.results.get("conf"), Some(&serde_json::json!("sub-ok")));
    assert!(!ok_dir.join("work").join("pwned").exists(), "an argument was evaluated by a shell");
    assert!(ok.started.is_some() && ok.finished.is_some() && ok.started <= ok.finished);
    assert_eq!(ok.outputs_dir, ok_dir.join("outputs"));
    // Spark's event log, closed (no `.inprogress`) and named after the application.
    let log = ok.event_log.clone().expect("an event log");
    assert_eq!(log, ok_dir.join("eventlog").join(&app_id), "{log:?}");
    let events = std::fs::read_to_string(&log).expect("read the event log");
    assert!(events.lines().any(|l| l.contains("SparkListenerApplicationStart") && l.contains(&app_id)));
    assert!(events.contains("\"spark.eventLog.enabled\":\"true\""), "the log records its confs");
    assert!(!events.contains("s3cr3t-in-conf"), "a secret conf reached the event log");
    // The figures a user looks at first, from that log: the app's sum and its shuffle.
    let m = ok.spark_metrics.clone().expect("sparkMetrics of a finished attempt");
    assert!(m.jobs >= 2 && m.stages >= 3 && m.tasks >= 6 && m.failed_tasks == 0, "{m:?}");
    assert!(m.shuffle_read_bytes > 0 && m.shuffle_write_bytes > 0 && m.executor_run_time_millis > 0, "{m:?}");
    assert!(m.longest_stage.as_ref().is_some_and(|s| !s.name.is_empty()), "{m:?}");
    // Submitting the same attempt again never runs it twice.
    rt.submit(&submission(&app, &master_url, ok_dir.clone(), "sub-ok", "ok")).await.expect("resubmit");
    let again = JobRuntime::observe(&rt, &ok_dir).await.expect("observe").expect("attempt");
    assert_eq!(again.state, AttemptState::Exited(0));

    // A job that fails: non-zero exit, the Python exception as the error line.
    let fail_dir = jobs.join("fail").join("1");
    rt.submit(&submission(&app, &master_url, fail_dir.clone(), "sub-fail", "fail")).await.expect("submit");
    let failed = wait_job(&rt, &fail_dir, |o| o.state != AttemptState::Running).await;
    assert!(matches!(failed.state, AttemptState::Exited(c) if c != 0), "{:?}", failed.state);
    assert_eq!(failed.error_line.as_deref(), Some("ValueError: boom"), "{}", tail(&failed.driver_log, 4000));
    assert!(failed.spark_application_id.is_some());

    // A running job is killed: it ends, and nothing of it stays behind.
    let sleep_dir = jobs.join("sleep").join("1");
    rt.submit(&submission(&app, &master_url, sleep_dir.clone(), "sub-sleep", "sleep")).await.expect("submit");
    let running =
        wait_job(&rt, &sleep_dir, |o| o.state != AttemptState::Running || o.spark_application_id.is_some()).await;
    assert_eq!(running.state, AttemptState::Running, "{}", tail(&running.driver_log, 4000));
    let t2 = Instant::now();
    rt.kill(&sleep_dir).await.expect("kill");
    eprintln!("running job killed in {:?}", t2.elapsed());
    let killed = JobRuntime::observe(&rt, &sleep_dir).await.expect("observe").expect("attempt");
    assert!(matches!(killed.state, AttemptState::Exited(c) if c != 0), "{:?}", killed.state);
    assert!(processes_mentioning(&sleep_dir.to_string_lossy()).is_empty(), "the killed driver left processes");
    rt.kill(&sleep_dir).await.expect("kill is idempotent");

    // A worker killed outright is seen dead, and apply restarts it.
    let victim = read_pid(&dir.join("worker-0.pid"));
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(victim), nix::sys::signal::Signal::SIGKILL)
        .expect("kill worker");
    let seen = wait_cluster(&rt, name, "the dead worker", CLUSTER_UP, |o| o.workers_failed == 1).await;
    assert_eq!(seen.workers_running, 1);
    assert!(seen.workers_alive <= 1, "a dead worker is not counted alive: {seen:#?}");
    let t3 = Instant::now();
    rt.apply(&plan).await.expect("apply after a worker died");
    wait_cluster(&rt, name, "2 ALIVE workers again", CLUSTER_UP, |o| {
        o.workers_alive == 2 && o.workers_failed == 0 && o.workers_running == 2
    })
    .await;
    eprintln!("dead worker replaced in {:?}", t3.elapsed());
    assert_ne!(read_pid(&dir.join("worker-0.pid")), victim);
    assert_eq!(read_pid(&dir.join("master.pid")), master_pid, "the master was left alone");

    // A dead master is restarted on the same port, with fresh workers.
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(master_pid), nix::sys::signal::Signal::SIGKILL)
        .expect("kill master");
    wait_cluster(&rt, name, "the dead master", CLUSTER_UP, |o| !o.master_running).await;
    let t5 = Instant::now();
    rt.apply(&plan).await.expect("apply after the master died");
    let back = wait_cluster(&rt, name, "2 ALIVE workers on a new master", CLUSTER_UP, |o| {
        o.master_running && o.workers_alive == 2
    })
    .await;
    eprintln!("dead master replaced in {:?}", t5.elapsed());
    assert_eq!(back.master_url.as_deref(), Some(master_url.as_str()), "the master URL is stable");
    assert_ne!(read_pid(&dir.join("master.pid")), master_pid);

    // Scaling down stops the extra worker.
    let smaller = ClusterPlan { workers: 1, ..plan.clone() };
    rt.apply(&smaller).await.expect("scale down");
    let scaled =
        wait_cluster(&rt, name, "1 worker", CLUSTER_UP, |o| o.workers_running == 1 && o.workers_alive == 1).await;
    assert_eq!(scaled.applied.as_ref(), Some(&smaller));
    assert!(!dir.join("worker-1.pid").exists());

    // Delete leaves no process with the marker and no directory.
    let t4 = Instant::now();
    rt.delete(name).await.expect("delete");
    eprintln!("cluster deleted in {:?}", t4.elapsed());
    let marker = format!("-Dsparkswarm.cluster={name}");
    let left: Vec<_> = processes_mentioning(&state.to_string_lossy())
        .into_iter()
        .chain(processes_mentioning(&marker).into_iter().filter(|(_, cmd)| cmd.contains(&*state.to_string_lossy())))
        .collect();
    assert!(left.is_empty(), "processes left after delete: {left:?}");
    assert!(rt.cluster_pids(name).is_empty());
    assert!(!dir.exists());
    assert!(rt.list().await.expect("list").is_empty());
    assert!(!rt.observe_cluster(name).await.expect("observe").exists);
    rt.delete(name).await.expect("delete is idempotent");
}

/// Set in the child process that plays the operator in `daemons_outlive_the_operator`.
const CHILD_OPERATOR_ENV: &str = "SPARKSWARM_TEST_CHILD_OPERATOR_STATE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemons_outlive_the_operator() {
    require_java();
    let plan = ClusterPlan {
        name: "survivor".into(),
        workers: 1,
        worker_cores: 1,
        worker_memory: Memory::new("512m"),
        master_port: None,
        web_ui_port: None,
        volumes: vec![],
    };
    if let Some(state) = std::env::var_os(CHILD_OPERATOR_ENV) {
        // The child: an "operator" that starts a cluster, says so, and idles until killed.
        let state = PathBuf::from(state);
        common::use_test_jvm_options();
        let rt = LocalRuntime::new(state.clone(), progress()).with_spark_cache(spark_cache());
        rt.apply(&plan).await.unwrap_or_else(|e| panic!("child apply: {e}"));
        std::fs::write(state.join("applied"), "").expect("mark applied");
        std::future::pending::<()>().await;
    }

    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    let _cleanup = KillOnDrop(state.to_string_lossy().into_owned());
    common::use_test_jvm_options();
    let rt = LocalRuntime::new(state.clone(), progress()).with_spark_cache(spark_cache());
    require_spark(&rt).await;

    // The operator runs in its own group, like a foreground job in a terminal.
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args(["daemons_outlive_the_operator", "--exact", "--nocapture"])
        .env(CHILD_OPERATOR_ENV, &state)
        .process_group(0)
        .spawn()
        .expect("spawn the child operator");
    let child_pid = child.id() as i32;
    let deadline = Instant::now() + CLUSTER_UP;
    while !state.join("applied").exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the child operator exited before applying: {status}");
        }
        assert!(Instant::now() < deadline, "the child operator did not apply within {CLUSTER_UP:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ctrl-C reaches the operator's group, then kill -9 for good measure.
    let group = nix::unistd::Pid::from_raw(child_pid);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    let status = child.wait().expect("reap the child operator");
    assert!(!status.success());

    // Everything it started still runs, and a new operator adopts it.
    let obs = wait_cluster(&rt, &plan.name, "1 ALIVE worker after the operator died", CLUSTER_UP, |o| {
        o.master_running && o.workers_running == 1 && o.workers_alive == 1
    })
    .await;
    assert_eq!(obs.applied.as_ref(), Some(&plan));
    let master_pid = read_pid(&rt.cluster_dir(&plan.name).join("master.pid"));
    rt.apply(&plan).await.expect("adopting apply");
    assert_eq!(read_pid(&rt.cluster_dir(&plan.name).join("master.pid")), master_pid, "adopted, not restarted");

    rt.delete(&plan.name).await.expect("delete");
    let left = processes_mentioning(&state.to_string_lossy());
    assert!(left.is_empty(), "processes left after delete: {left:?}");
}
