//! The kubectl-like CLI as a user types it: verbs, output shapes, exit codes. No Spark:
//! jobs here point at clusters that do not exist.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn text(o: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn schema_out_writes_exactly_what_schemas_holds() {
    let p = Project::new();
    let out = p.cli(&["schema", "--out", "generated"]);
    assert!(out.status.success());
    for f in ["sparkcluster.json", "sparkjob.json", "sparkschedule.json"] {
        let generated = std::fs::read(p.root().join("generated").join(f)).unwrap();
        let committed = std::fs::read(repo_root().join("schemas").join(f)).unwrap();
        assert!(generated == committed, "schemas/{f} is stale: run `cargo run -- schema --out schemas`");
    }
    let one = p.cli(&["schema", "sj"]);
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).expect("schema is JSON");
    assert_eq!(v["title"], "SparkJob");
}

#[test]
fn get_describe_and_errors_read_like_kubectl() {
    let p = Project::new();
    let (out, err) = text(&p.cli(&["get", "sparkjobs"]));
    assert_eq!(out, "");
    assert_eq!(err.trim(), "No resources found.");
    let missing = p.cli(&["get", "sparkjob", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(text(&missing).1.trim(), "Error from server (NotFound): sparkjobs.sparkswarm.io \"nope\" not found");
    let bad_kind = p.cli(&["get", "pods"]);
    assert_eq!(bad_kind.status.code(), Some(1));
    assert!(text(&bad_kind).1.contains("the server doesn't have a resource type \"pods\""));

    p.drop_manifest(
        "two.yaml",
        &format!("{}---\n{}", Project::job_yaml("a", "nowhere", "app.py", ""), Project::cluster_yaml("c", 2)),
    );
    let (names, _) = text(&p.cli(&["get", "sj", "-o", "name"]));
    assert_eq!(names, "sparkjob.sparkswarm.io/a\n");
    let json = p.cli(&["get", "sparkjob", "a", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["spec"]["clusterRef"], "nowhere");
    let yaml = p.cli(&["get", "sc", "-o", "yaml"]);
    let v: serde_json::Value = serde_yaml::from_slice(&yaml.stdout).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"][0]["metadata"]["name"], "c");
    let (table, _) = text(&p.cli(&["get", "sc"]));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "PROVIDER", "PHASE", "WORKERS", "AGE"]);
    assert!(table.lines().nth(1).unwrap().starts_with("c "), "{table}");
    let (describe, _) = text(&p.cli(&["describe", "sc/c"]));
    for needle in ["Name:         c", "Kind:         SparkCluster", "Spec:", "Conditions:", "Events:"] {
        assert!(describe.contains(needle), "{needle} in\n{describe}");
    }
}

#[test]
fn apply_delete_rerun_validate_and_wait() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    let src = p.root().join("my-job.yaml");
    std::fs::write(&src, format!("# mine\n{}", Project::job_yaml("mine", "nowhere", "app.py", ""))).unwrap();
    let (out, _) = text(&p.cli(&["apply", "-f", "my-job.yaml"]));
    assert_eq!(out, "sparkjob.sparkswarm.io/mine created\n");
    assert_eq!(std::fs::read(p.manifest("my-job.yaml")).unwrap(), std::fs::read(&src).unwrap());
    assert_eq!(text(&p.cli(&["apply", "-f", "my-job.yaml"])).0, "sparkjob.sparkswarm.io/mine unchanged\n");
    std::fs::write(&src, std::fs::read_to_string(&src).unwrap().replace("nowhere", "elsewhere")).unwrap();
    assert_eq!(text(&p.cli(&["apply", "-f", "my-job.yaml"])).0, "sparkjob.sparkswarm.io/mine configured\n");

    // Invalid input is refused whole, with file, line and field.
    std::fs::write(
        p.root().join("broken.yaml"),
        Project::job_yaml("broken", "x", "app.py", "  arguments: {not: a list}\n"),
    )
    .unwrap();
    let refused = p.cli(&["apply", "-f", "broken.yaml"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).1.contains("broken.yaml:10: spec.arguments"), "{}", text(&refused).1);
    assert!(!p.manifest("broken.yaml").exists());

    let valid = p.cli(&["validate", "manifests/my-job.yaml"]);
    assert!(valid.status.success());
    assert_eq!(text(&valid).0, "manifests/my-job.yaml: sparkjob/mine valid\n");

    // rerun sets an annotation and leaves every other byte alone.
    let before = p.read("my-job.yaml");
    assert!(p.cli(&["rerun", "sparkjob", "mine"]).status.success());
    let after = p.read("my-job.yaml");
    assert!(after.contains("    sparkswarm.io/rerun: \""), "{after}");
    let without: String = after
        .lines()
        .filter(|l| !l.contains("annotations:") && !l.contains("sparkswarm.io/rerun"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without, before);

    let waited = p.cli(&["wait", "sparkjob/mine", "--for=condition=Succeeded", "--timeout=1s"]);
    assert_eq!(waited.status.code(), Some(1));
    assert_eq!(text(&waited).1.trim(), "error: timed out waiting for the condition on sparkjobs/mine");

    // delete from a multi-document file removes only that document.
    p.drop_manifest(
        "pair.yaml",
        &format!("{}---\n{}", Project::job_yaml("one", "x", "app.py", ""), Project::job_yaml("two", "x", "app.py", "")),
    );
    assert_eq!(text(&p.cli(&["delete", "sj", "one"])).0, "sparkjob.sparkswarm.io \"one\" deleted\n");
    assert_eq!(p.read("pair.yaml"), format!("---\n{}", Project::job_yaml("two", "x", "app.py", "")));
    assert!(p.cli(&["delete", "sparkjob/mine"]).status.success());
    assert!(!p.manifest("my-job.yaml").exists());
    assert_eq!(p.cli(&["delete", "sparkjob", "mine"]).status.code(), Some(1));
}

#[test]
fn get_watch_prints_changes_and_json_logs_parse() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    p.drop_manifest("w.yaml", &Project::job_yaml("w", "nowhere", "app.py", ""));
    let mut watch = Command::new(BIN)
        .args(["get", "sj", "-w"])
        .current_dir(p.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let header = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(header.starts_with("NAME"));
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.starts_with("w ") && first.contains("Pending"), "{first}");
    let mut op = p.start(&["--log-format", "json"]);
    // The operator writes a status: the watch prints the row again with what changed.
    let again = rx.recv_timeout(Duration::from_secs(20)).expect("a changed row");
    assert!(again.starts_with("w "), "{again}");
    let _ = watch.kill();
    let _ = watch.wait();
    eventually(Duration::from_secs(10), "a JSON log line", || op.log().lines().next().map(str::to_string), || op.log());
    op.terminate();
    for line in op.log().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some() && v.get("timestamp").is_some(), "{line}");
    }
}

#[test]
fn every_shipped_manifest_validates() {
    let repo = repo_root();
    let mut dirs = vec![repo.join("manifests")];
    let mut i = 0;
    while i < dirs.len() {
        for e in std::fs::read_dir(&dirs[i]).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        i += 1;
    }
    // The digitalocean example logs in with ~/.ssh/id_ed25519, which the operator reads only
    // with `--allow-root ~/.ssh`; validate checks the same, so give it a home with that key.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(home.path().join(".ssh/id_ed25519"), "key\n").unwrap();
    // Each directory is a manifests directory of its own (names repeat across them).
    let mut valid = 0;
    for dir in &dirs {
        let out = Command::new(BIN)
            .arg("validate")
            .arg(dir)
            .arg("--allow-root")
            .arg(home.path().join(".ssh"))
            .env("HOME", home.path())
            .current_dir(&repo)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{}: {stdout}{stderr}", dir.display());
        valid += stdout.lines().filter(|l| l.ends_with(" valid")).count();
    }
    assert!(valid >= 8, "{valid} valid documents");
}

/// Three jobs with labels and a written status, as fixed input for kubectl's formats.
fn labelled_jobs(p: &Project) {
    let job = |name: &str, labels: &str, phase: &str, attempts: u32, start: &str| {
        format!(
            "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\n  labels: {labels}\nspec:\n  clusterRef: c\n  mainApplicationFile: ../apps/app.py\nstatus:\n  phase: {phase}\n  attempts: {attempts}\n  startTime: \"{start}\"\n  sparkMetrics: {{jobs: 2, stages: 3, tasks: 6, failedTasks: 0, executorRunTimeMillis: 900, inputBytes: 0, shuffleReadBytes: 2048, shuffleWriteBytes: 2048, peakExecutionMemoryBytes: 0, longestStage: {{id: 2, name: 'count at app.py:9', durationMillis: 300}}}}\n"
        )
    };
    p.drop_manifest(
        "jobs.yaml",
        &[
            job("rf", "{team: ml, env: prod}", "Succeeded", 1, "2026-12-01T10:00:00Z"),
            job("lr", "{team: ml, env: dev}", "Failed", 3, "2026-12-01T09:00:00Z"),
            job("etl", "{team: data}", "Running", 2, "2026-12-01T11:00:00Z"),
        ]
        .join("---\n"),
    );
}

fn out(p: &Project, args: &[&str]) -> String {
    let o = p.cli(args);
    assert!(o.status.success(), "{args:?}: {}", text(&o).1);
    text(&o).0
}

#[test]
fn get_speaks_kubectl_jsonpath_custom_columns_selectors_and_sort_by() {
    let p = Project::new();
    labelled_jobs(&p);
    assert_eq!(out(&p, &["get", "sj", "-o", "jsonpath={.items[*].metadata.name}"]), "rf lr etl");
    assert_eq!(out(&p, &["get", "sj", "rf", "-o", "jsonpath={.status.phase}"]), "Succeeded");
    assert_eq!(
        out(
            &p,
            &["get", "sj", "-o", r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.attempts}{"\n"}{end}"#]
        ),
        "rf\t1\nlr\t3\netl\t2\n"
    );
    assert_eq!(out(&p, &["get", "sj", "-o", r#"jsonpath={.items[?(@.status.phase=="Failed")].metadata.name}"#]), "lr");
    assert_eq!(out(&p, &["get", "sj", "-o", "jsonpath={.items[?@.status.attempts > 1].metadata.name}"]), "lr etl");
    assert_eq!(
        out(
            &p,
            &[
                "get",
                "sj",
                "-o",
                "custom-columns=NAME:.metadata.name,TEAM:.metadata.labels.team,ENV:.metadata.labels.env"
            ]
        ),
        "NAME   TEAM   ENV\nrf     ml     prod\nlr     ml     dev\netl    data   <none>\n"
    );
    assert_eq!(out(&p, &["get", "sj", "--no-headers", "-o", "custom-columns=N:metadata.name"]), "rf\nlr\netl\n");

    let names = |args: &[&str]| {
        let mut a = vec!["get", "sj", "-o", "name"];
        a.extend_from_slice(args);
        out(&p, &a).lines().map(|l| l.trim_start_matches("sparkjob.sparkswarm.io/").to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names(&["-l", "team=ml"]), ["rf", "lr"]);
    assert_eq!(names(&["-l", "team==ml,env!=prod"]), ["lr"]);
    assert_eq!(names(&["-l", "env!=prod"]), ["lr", "etl"]);
    assert_eq!(names(&["--selector", "env in (prod,dev)"]), ["rf", "lr"]);
    assert_eq!(names(&["-l", "team notin (ml)"]), ["etl"]);
    assert_eq!(names(&["-l", "env"]), ["rf", "lr"]);
    assert_eq!(names(&["-l", "!env"]), ["etl"]);
    assert_eq!(names(&["--sort-by", ".status.startTime"]), ["lr", "rf", "etl"]);
    assert_eq!(names(&["--sort-by", "{.status.attempts}"]), ["rf", "etl", "lr"]);
    assert_eq!(names(&["--sort-by", ".metadata.name", "-l", "team=ml"]), ["lr", "rf"]);
    // `describe` shows the figures from the event log with the rest of the status.
    let (described, _) = text(&p.cli(&["describe", "sj", "rf"]));
    assert!(described.contains("sparkMetrics:") && described.contains("shuffleReadBytes: 2048"), "{described}");
    assert_eq!(
        out(&p, &["get", "sj", "rf", "-o", "jsonpath={.status.sparkMetrics.longestStage.name}"]),
        "count at app.py:9"
    );
    let (table, _) = text(&p.cli(&["get", "sj", "-l", "team=data"]));
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.lines().nth(1).is_some_and(|l| l.starts_with("etl ")), "{table}");

    // Several objects are kubectl's List; timestamps stay strings for YAML 1.1 readers.
    let yaml = out(&p, &["get", "sj", "-o", "yaml", "-l", "team=ml"]);
    assert!(yaml.starts_with("apiVersion: v1\nitems:\n") || yaml.contains("kind: List"), "{yaml}");
    assert!(yaml.contains("startTime: \"2026-12-01T10:00:00Z\""), "{yaml}");
    let v: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));

    // Errors read like kubectl's and exit 1 (2 for what clap refuses, as kubectl's flags do).
    let bad = p.cli(&["get", "sj", "-o", "jsonpath={.items["]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).1.starts_with("error: error parsing jsonpath {.items[, "), "{}", text(&bad).1);
    let bad = p.cli(&["get", "sj", "-o", "custom-columns=NAME"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).1.contains("unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>"));
    let bad = p.cli(&["get", "sj", "-l", "env in (prod"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).1.starts_with("error: unable to parse requirement"), "{}", text(&bad).1);
    let bad = p.cli(&["get", "sj", "rf", "-l", "env"]);
    assert_eq!(text(&bad).1.trim(), "error: name cannot be provided when a selector is specified");
    let bad = p.cli(&["get", "sj", "-o", "xml"]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(text(&bad).1.contains("unable to match a printer suitable for the output format \"xml\""));
}
