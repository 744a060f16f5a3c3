//! The reconcilers against a fake runtime: every step of a cluster and a job, the status
//! they write into the file and the error policy, without Spark, Docker or a clock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

use super::*;
use crate::api::job::Results;
use crate::controller::store::Store;
use crate::manifest::paths::Roots;
use crate::manifest::{document, StatusWriter};
use crate::runtime::{
    AttemptObservation, AttemptState, ClusterRequest, ClusterRuntime, Converged, JobRuntime, JobSubmission, Note,
    ObservedCluster, RuntimeFuture, RuntimeKind, Runtimes,
};
use crate::state::events::{self, Recorder};
use crate::state::generations::Generations;
use crate::state::ledger::JobLedger;
use crate::state::StateDir;

/// A runtime that does what it is told: clusters come up at once (or fail with the error
/// set in `cluster_error`), attempts are in the state set per attempt directory.
#[derive(Default)]
struct FakeRuntime {
    cluster_error: Mutex<Option<fn() -> RuntimeError>>,
    converged: Mutex<Vec<ClusterRequest>>,
    submitted: Mutex<Vec<JobSubmission>>,
    attempts: Mutex<HashMap<PathBuf, (AttemptState, Results)>>,
}

impl ClusterRuntime for FakeRuntime {
    fn job_runtime(&self) -> RuntimeKind {
        RuntimeKind::Swarm
    }

    fn converge<'a>(&'a self, req: &'a ClusterRequest, notes: &'a mut Vec<Note>) -> RuntimeFuture<'a, Converged> {
        Box::pin(async move {
            self.converged.lock().push(req.clone());
            notes.push(Note::normal("Provisioning", "fake cluster"));
            if let Some(make) = *self.cluster_error.lock() {
                return Err(make());
            }
            let seen = ObservedCluster {
                exists: true,
                master_running: true,
                master_url: Some("spark://fake:7077".into()),
                workers_running: req.plan.workers,
                workers_alive: req.plan.workers,
                applied: Some(req.plan.clone()),
                ..Default::default()
            };
            Ok(Converged { seen, ..Default::default() })
        })
    }

    fn delete<'a>(&'a self, _: &'a str) -> RuntimeFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn list(&self) -> RuntimeFuture<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn holds(&self, _: &str) -> bool {
        false
    }
}

impl JobRuntime for FakeRuntime {
    fn prepare_deps<'a>(
        &'a self,
        req: &'a crate::runtime::pydeps::DepsRequest,
    ) -> RuntimeFuture<'a, crate::runtime::pydeps::PreparedDeps> {
        Box::pin(async move {
            if req.requirements.iter().any(|r| r.contains("no-such")) {
                return Err(crate::runtime::RuntimeError::DepsFailed(
                    "ERROR: No matching distribution found for no-such".into(),
                ));
            }
            Ok(crate::runtime::pydeps::PreparedDeps {
                site: std::path::PathBuf::from("/cache/site"),
                lock: crate::api::job::DepsStatus {
                    hash: "sha256:00".into(),
                    python: "3.11".into(),
                    packages: req.requirements.clone(),
                },
            })
        })
    }

    fn submit<'a>(&'a self, sub: &'a JobSubmission) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            self.submitted.lock().push(sub.clone());
            self.attempts.lock().insert(sub.attempt_dir.clone(), (AttemptState::Running, Results::new()));
            Ok(())
        })
    }

    fn observe<'a>(&'a self, dir: &'a Path) -> RuntimeFuture<'a, Option<AttemptObservation>> {
        Box::pin(async move {
            Ok(self.attempts.lock().get(dir).map(|(state, results)| AttemptObservation {
                state: state.clone(),
                started: None,
                finished: None,
                spark_application_id: Some("app-fake-0001".into()),
                web_ui_url: None,
                error_line: None,
                outputs_dir: dir.join("outputs"),
                results: results.clone(),
                driver_log: dir.join("driver.log"),
                event_log: None,
                spark_metrics: None,
            }))
        })
    }

    fn kill<'a>(&'a self, dir: &'a Path) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            if let Some(a) = self.attempts.lock().get_mut(dir) {
                a.0 = AttemptState::Exited(143);
            }
            Ok(())
        })
    }
    fn ended<'a>(&'a self, _: &'a Path) -> RuntimeFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
}

struct World {
    _tmp: tempfile::TempDir,
    manifests: PathBuf,
    ctx: Arc<Context>,
    fake: Arc<FakeRuntime>,
}

impl World {
    fn new(files: &[(&str, &str)]) -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        let manifests = tmp.path().join("manifests");
        std::fs::create_dir_all(&manifests).expect("mkdir");
        std::fs::write(tmp.path().join("app.py"), "print('hi')\n").expect("app");
        for (name, text) in files {
            std::fs::write(manifests.join(name), text).expect("write");
        }
        let state = StateDir::create(tmp.path().join(".sparkswarm")).expect("state");
        let fake = Arc::new(FakeRuntime::default());
        let (hints, _rx) = mpsc::unbounded_channel();
        let mut store = Store::default();
        for (name, _) in files {
            let path = manifests.join(name);
            store.update(&path, Some(&document::read(&path)));
        }
        let ctx = Arc::new(Context {
            manifests: manifests.clone(),
            roots: Roots::for_manifests(&manifests, &[]).expect("roots"),
            store: Mutex::new(store),
            generations: Mutex::new(Generations::load(&state).expect("generations")),
            events: Recorder::new(state.clone()),
            status: Arc::new(StatusWriter::default()),
            runtimes: Runtimes::single(fake.clone()),
            hints,
            job_phases: Mutex::new(HashMap::new()),
            end_watches: Default::default(),
            state,
        });
        World { _tmp: tmp, manifests, ctx, fake }
    }

    async fn reconcile(&self, kind: Kind, name: &str) -> Result<Action, ReconcileError> {
        reconcile(self.ctx.clone(), Key::Object(kind, name.to_string())).await
    }

    fn status(&self, file: &str) -> Value {
        let f = document::read(&self.manifests.join(file)).expect("parses");
        f.docs[0].status().cloned().unwrap_or(Value::Null)
    }

    fn condition(&self, file: &str, type_: &str) -> Value {
        let status = self.status(file);
        let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
        conditions.into_iter().find(|c| c["type"] == type_).unwrap_or(Value::Null)
    }
}

const CLUSTER: &str = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: demo\nspec:\n  workers: {replicas: 3}\n";
const JOB: &str = "# my job\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: train\nspec:\n  clusterRef: demo\n  mainApplicationFile: ../app.py\n";

#[tokio::test]
async fn a_cluster_comes_up_and_its_job_runs_on_the_runtime_the_cluster_names() {
    let w = World::new(&[("cluster.yaml", CLUSTER), ("job.yaml", JOB)]);

    // Before its cluster is Ready, the job waits and is never submitted.
    w.reconcile(Kind::SparkJob, "train").await.expect("job");
    assert_eq!(w.status("job.yaml")["phase"], "Pending");
    assert_eq!(w.condition("job.yaml", "Submitted")["reason"], "ClusterNotReady");
    assert!(w.fake.submitted.lock().is_empty());

    let action = w.reconcile(Kind::SparkCluster, "demo").await.expect("cluster");
    assert!(matches!(action, Action::Requeue(_)));
    assert_eq!(w.status("cluster.yaml")["phase"], "Ready");
    assert_eq!(w.status("cluster.yaml")["masterUrl"], "spark://fake:7077");
    assert_eq!(w.status("cluster.yaml")["workers"], serde_json::json!({"desired": 3, "ready": 3}));
    assert_eq!(w.fake.converged.lock()[0].plan.workers, 3);
    let events = events::read(&w.ctx.state.events_file("SparkCluster", "demo"));
    assert!(events.iter().any(|e| e.reason == "Provisioning"), "the runtime's notes become events: {events:?}");

    // The job reads the cluster from the store (typed, with the status just written).
    w.reconcile(Kind::SparkJob, "train").await.expect("job");
    assert_eq!(w.status("job.yaml")["phase"], "Running");
    let sub = w.fake.submitted.lock()[0].clone();
    assert_eq!(sub.master_url, "spark://fake:7077");
    let ledger = JobLedger::load(&w.ctx.state.job_dir("train")).expect("ledger");
    assert_eq!(ledger.attempts[0].runtime, RuntimeKind::Swarm, "the attempt records the cluster's job runtime");

    let mut results = Results::new();
    results.insert("r2".into(), serde_json::json!(0.74));
    w.fake.attempts.lock().insert(sub.attempt_dir.clone(), (AttemptState::Exited(0), results));
    w.reconcile(Kind::SparkJob, "train").await.expect("job");
    let status = w.status("job.yaml");
    assert_eq!(status["phase"], "Succeeded");
    assert_eq!(status["results"]["r2"], 0.74);
    assert_eq!(w.fake.submitted.lock().len(), 1, "submitted once");
    let text = std::fs::read_to_string(w.manifests.join("job.yaml")).expect("read");
    assert!(text.starts_with(JOB), "every byte outside status is kept:\n{text}");
}

#[tokio::test]
async fn a_runtime_failure_is_a_condition_and_the_policy_decides_from_its_kind() {
    let w = World::new(&[("cluster.yaml", CLUSTER)]);
    *w.fake.cluster_error.lock() = Some(|| RuntimeError::InvalidSpec("the engine cannot do that".into()));
    let err = w.reconcile(Kind::SparkCluster, "demo").await.expect_err("fails");
    assert_eq!(err.reason(), "InvalidSpec");
    assert_eq!(error_policy(&err, 1), Action::Requeue(NEEDS_USER_RECHECK));
    assert_eq!(w.status("cluster.yaml")["phase"], "Failed");
    let ready = w.condition("cluster.yaml", "Ready");
    assert_eq!((ready["status"].as_str(), ready["reason"].as_str()), (Some("False"), Some("InvalidSpec")));
    assert!(ready["message"].as_str().is_some_and(|m| m.contains("cannot do that")), "{ready}");

    *w.fake.cluster_error.lock() = Some(|| RuntimeError::Unreachable("the engine restarts".into()));
    let err = w.reconcile(Kind::SparkCluster, "demo").await.expect_err("fails");
    assert_eq!(err.reason(), "Unreachable");
    assert!(matches!(error_policy(&err, 1), Action::Requeue(d) if d <= std::time::Duration::from_secs(1)));
    assert!(matches!(error_policy(&err, 10), Action::Requeue(d) if d <= std::time::Duration::from_secs(10)));
    assert_eq!(w.status("cluster.yaml")["phase"], "Provisioning", "a passing failure of a new cluster");

    *w.fake.cluster_error.lock() = None;
    w.reconcile(Kind::SparkCluster, "demo").await.expect("recovers");
    assert_eq!(w.status("cluster.yaml")["phase"], "Ready");
}

#[tokio::test]
async fn a_spec_change_stops_the_running_attempt_and_runs_the_new_spec() {
    let w = World::new(&[("cluster.yaml", CLUSTER), ("job.yaml", JOB)]);
    w.reconcile(Kind::SparkCluster, "demo").await.expect("cluster");
    w.reconcile(Kind::SparkJob, "train").await.expect("job");
    let first = w.fake.submitted.lock()[0].attempt_dir.clone();

    let path = w.manifests.join("job.yaml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("../app.py\n", "../app.py\n  arguments: [\"--fast\"]\n")).expect("edit");
    w.ctx.store.lock().update(&path, Some(&document::read(&path)));
    w.reconcile(Kind::SparkJob, "train").await.expect("job");

    let subs = w.fake.submitted.lock().clone();
    assert_eq!(subs.len(), 2, "the new spec was submitted");
    assert_eq!(subs[1].arguments, ["--fast"]);
    assert_eq!(w.fake.attempts.lock()[&first].0, AttemptState::Exited(143), "the old attempt was stopped");
    assert_eq!(w.status("job.yaml")["observedGeneration"], 2);
}

#[tokio::test]
async fn deps_and_secrets_reach_the_submission_and_never_the_status() {
    let job = |name: &str, req: &str| {
        format!("apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: demo\n  mainApplicationFile: ../app.py\n  deps: {{requirements: [\"{req}\"]}}\n  env:\n    - {{name: MODE, value: fast}}\n    - {{name: DB_PASSWORD, valueFrom: {{file: ../db-password}}}}\n")
    };
    let w = World::new(&[
        ("cluster.yaml", CLUSTER),
        ("ok.yaml", &job("ok", "tabulate==0.9.0")),
        ("bad.yaml", &job("bad", "no-such==1")),
    ]);
    w.reconcile(Kind::SparkCluster, "demo").await.expect("cluster");

    // The secret file is missing: Valid=False names the field; nothing is submitted.
    w.reconcile(Kind::SparkJob, "ok").await.expect("job");
    let valid = w.condition("ok.yaml", "Valid");
    assert_eq!(valid["status"], "False", "{valid}");
    assert!(valid["message"].as_str().is_some_and(|m| m.contains("spec.env.1.valueFrom.file")), "{valid}");
    assert!(w.fake.submitted.lock().is_empty());

    std::fs::write(w.manifests.join("../db-password"), "hunter2-secret-value\n").expect("secret");
    w.reconcile(Kind::SparkJob, "ok").await.expect("job");
    let sub = w.fake.submitted.lock()[0].clone();
    assert_eq!(sub.deps.as_deref(), Some(Path::new("/cache/site")));
    assert_eq!(sub.env, vec![("MODE".to_string(), "fast".to_string())]);
    assert_eq!(sub.secrets.len(), 1);
    assert_eq!((sub.secrets[0].0.as_str(), sub.secrets[0].1.expose()), ("DB_PASSWORD", "hunter2-secret-value"));
    assert!(!sub.spark_conf.values().any(|v| v.contains("hunter2")), "secrets stay out of Spark's conf");
    let status = w.status("ok.yaml");
    assert_eq!(status["deps"]["packages"], serde_json::json!(["tabulate==0.9.0"]));
    assert_eq!(status["deps"]["python"], "3.11");

    // An unresolvable requirement: Failed, DepsFailed, pip's line; not tried again.
    w.reconcile(Kind::SparkJob, "bad").await.expect("job");
    let status = w.status("bad.yaml");
    assert_eq!(status["phase"], "Failed");
    assert_eq!(status["message"], "ERROR: No matching distribution found for no-such");
    w.reconcile(Kind::SparkJob, "bad").await.expect("job");
    assert_eq!(w.status("bad.yaml")["attempts"], 1);
    assert_eq!(w.fake.submitted.lock().len(), 1, "the bad job never reached the runtime");

    let mut seen = String::new();
    for dir in [w.manifests.clone(), w.ctx.state.root().to_path_buf()] {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    seen.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
    }
    assert!(!seen.is_empty() && !seen.contains("hunter2"), "no secret in the manifests or the state dir");
}
