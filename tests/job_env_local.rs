//! `deps`, `env` and secrets on the local runtime, end to end (the scenario is in
//! tests/common/job_env.rs): real pip, real PyPI for the first build, the index unreachable
//! for the second job.

mod common;

use std::time::Duration;

use common::job_env::{self, Secrets};
use common::*;

const BOOT: Duration = Duration::from_secs(240);
/// The first job builds its deps (two small wheels from PyPI).
const JOB: Duration = Duration::from_secs(300);

#[test]
fn deps_env_and_secrets_on_local() {
    require_java();
    let p = Project::new();
    // The cluster's daemons outlive the operator by design: nothing of this test's may.
    let _reaper = Reaper(p.state().display().to_string());
    let secrets = Secrets::new();
    job_env::write_files(&p, &secrets);
    let spec = job_env::spec(&["tabulate==0.9.0"]);
    let mut op = Operator::start_with_env(&p, &[], &[(job_env::TOKEN_VAR, &secrets.token)]);
    p.drop_manifest("c.yaml", &Project::cluster_yaml("c", 1));
    p.drop_manifest("deps.yaml", &Project::job_yaml("deps", "c", "job_env/main.py", &spec));
    let bad = job_env::spec(&[job_env::BAD_REQUIREMENT]);
    p.drop_manifest("bad.yaml", &Project::job_yaml("bad", "c", "job_env/main.py", &bad));
    eventually(
        BOOT,
        "cluster c Ready",
        || (p.phase("c.yaml") == "Ready").then_some(()),
        || format!("{}\n{}", p.read("c.yaml"), op.log()),
    );
    job_env::wait_finished(&p, "deps.yaml", &op, JOB);
    let hash = job_env::check_succeeded(&p, "deps.yaml", &secrets);
    job_env::wait_finished(&p, "bad.yaml", &op, JOB);
    job_env::check_deps_failed(&p, "bad.yaml");
    assert!(op.log().contains("pip: Collecting tabulate==0.9.0"), "the build's progress is in the operator's log");

    // The same deps again, with the package index unreachable: from the cache.
    assert!(op.terminate().success());
    let mut op = Operator::start_with_env(
        &p,
        &[],
        &[(job_env::TOKEN_VAR, &secrets.token), ("PIP_INDEX_URL", "http://127.0.0.1:9/"), ("PIP_RETRIES", "0")],
    );
    p.drop_manifest("again.yaml", &Project::job_yaml("again", "c", "job_env/main.py", &spec));
    job_env::wait_finished(&p, "again.yaml", &op, JOB);
    assert_eq!(job_env::check_succeeded(&p, "again.yaml", &secrets), hash);

    let outputs: Vec<String> = [
        vec!["get", "sparkjob", "-o", "yaml"],
        vec!["get", "sparkjob", "-o", "json"],
        vec!["describe", "sparkjob", "deps"],
        vec!["describe", "sparkjob", "again"],
        vec!["validate"],
    ]
    .iter()
    .map(|args| {
        let o = p.cli(args);
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    })
    .collect();
    assert!(outputs[2].contains("DepsReady"), "describe shows the deps event:\n{}", outputs[2]);
    assert!(op.terminate().success());
    let searched = job_env::assert_no_secret(p.root(), &outputs, &secrets);
    assert!(searched > 20, "only {searched} files searched");
    let event_logs = walk_names(&p.state(), "eventlog");
    assert!(event_logs > 0, "Spark's event logs were searched too");
}

/// How many paths under `root` have `needle` in their name.
fn walk_names(root: &std::path::Path, needle: &str) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.to_string_lossy().contains(needle) {
                n += 1;
            }
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    n
}
