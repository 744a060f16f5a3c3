//! `deps`, `env` and secrets on swarm, end to end (the scenario is in
//! tests/common/job_env.rs): deps built on this machine for the image's Python 3.11 from
//! manylinux wheels, shipped with the job; the secrets' values also searched for in the
//! cluster's containers (executor work dirs) and service logs.

mod common;
mod swarm_common;

use std::time::Duration;

use common::job_env::{self, Secrets};
use common::*;
use swarm_common::{docker, Engine, Sweeper};

const BOOT: Duration = Duration::from_secs(300);
const JOB: Duration = Duration::from_secs(300);

fn swarm_cluster_yaml(name: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    swarm:\n      endpoint: unix:///var/run/docker.sock\n  master: {{webUiPort: {port}}}\n  workers:\n    replicas: 1\n    cores: 1\n    memory: 1g\n"
    )
}

#[test]
fn deps_env_and_secrets_on_swarm() {
    let _engine = Engine::require();
    let p = Project::new();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = format!("swenv{nanos:08x}");
    let _sweeper = Sweeper::cluster(&name);
    let secrets = Secrets::new();
    job_env::write_files(&p, &secrets);
    let spec = job_env::spec(&["tabulate==0.9.0"]);
    let mut op = Operator::start_with_env(&p, &[], &[(job_env::TOKEN_VAR, &secrets.token)]);
    let file = format!("{name}.yaml");
    p.drop_manifest(&file, &swarm_cluster_yaml(&name));
    p.drop_manifest("deps.yaml", &Project::job_yaml("deps", &name, "job_env/main.py", &spec));
    let bad = job_env::spec(&[job_env::BAD_REQUIREMENT]);
    p.drop_manifest("bad.yaml", &Project::job_yaml("bad", &name, "job_env/main.py", &bad));
    eventually(
        BOOT,
        "cluster Ready",
        || (p.phase(&file) == "Ready").then_some(()),
        || format!("{}\n{}", p.read(&file), op.log()),
    );
    job_env::wait_finished(&p, "deps.yaml", &op, JOB);
    let hash = job_env::check_succeeded(&p, "deps.yaml", &secrets);
    job_env::wait_finished(&p, "bad.yaml", &op, JOB);
    job_env::check_deps_failed(&p, "bad.yaml");

    assert!(op.terminate().success());
    let mut op = Operator::start_with_env(
        &p,
        &[],
        &[(job_env::TOKEN_VAR, &secrets.token), ("PIP_INDEX_URL", "http://127.0.0.1:9/"), ("PIP_RETRIES", "0")],
    );
    p.drop_manifest("again.yaml", &Project::job_yaml("again", &name, "job_env/main.py", &spec));
    job_env::wait_finished(&p, "again.yaml", &op, JOB);
    assert_eq!(job_env::check_succeeded(&p, "again.yaml", &secrets), hash);

    let mut outputs: Vec<String> = [
        vec!["get", "sparkjob", "-o", "yaml"],
        vec!["get", "sparkjob", "-o", "json"],
        vec!["describe", "sparkjob", "deps"],
        vec!["validate"],
    ]
    .iter()
    .map(|args| {
        let o = p.cli(args);
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    })
    .collect();
    // What the cluster itself keeps: its services' logs, and every file of the master's and
    // the workers' containers where Spark writes (executor logs in the work dirs, the data
    // volume with what is left of the attempts).
    let filter = format!("label=sparkswarm.io/cluster={name}");
    for service in docker(&["service", "ls", "-q", "--filter", &filter]).1.split_whitespace() {
        outputs.push(docker(&["service", "logs", "--raw", service]).1);
    }
    let containers = docker(&["ps", "-q", "--filter", &filter]).1;
    let mut searched_containers = 0;
    for id in containers.split_whitespace() {
        for secret in [&secrets.db, &secrets.token] {
            let (_, out) = docker(&["exec", id, "grep", "-rlF", "--", secret, "/opt", "/sparkswarm", "/tmp"]);
            assert!(
                !out.lines().any(|l| l.starts_with('/') && !l.contains("No such file")),
                "a secret's value is in container {id}: {out}"
            );
        }
        searched_containers += 1;
    }
    assert!(searched_containers >= 2, "the master's and the worker's containers were searched");
    assert!(op.terminate().success());
    let searched = job_env::assert_no_secret(p.root(), &outputs, &secrets);
    assert!(searched > 20, "only {searched} files searched");
    p.cli(&["delete", "-f", &format!("manifests/{file}")]);
}
