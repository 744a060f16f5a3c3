//! The operator without Spark: bad input of every kind, the status contract on disk, the
//! lock, signals, metrics. Jobs here reference clusters that do not exist, so nothing
//! starts a JVM.

mod common;

use std::time::Duration;

use common::*;

enum Expect {
    /// Not valid YAML (or not text): the file is never written; `validate` names the line.
    Unparseable(&'static str),
    /// Parseable but invalid: `Valid=False` in status with this reason; `validate` names
    /// the field.
    Invalid { reason: &'static str, field: &'static str },
    /// Not a resource at all (a scalar or a list): left alone, reported by `validate`.
    NotOurs(&'static str),
}

const JOB_HEAD: &str = "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: NAME\nspec:\n";
const SECRET: &str = "dop_v1_0123456789abcdefSECRET";

fn job(name: &str, spec: &str) -> Vec<u8> {
    format!("# a user's comment\n{}{spec}", JOB_HEAD.replace("NAME", name)).into_bytes()
}

fn corpus() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let ok_spec = "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n";
    let mut huge = job("huge", ok_spec);
    huge.extend(std::iter::repeat_n(b'#', 2 * 1024 * 1024));
    vec![
        ("unclosed-flow.yaml", b"apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata: {name: x\n".to_vec(), Expect::Unparseable("invalid YAML")),
        ("tabs.yaml", b"apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n\tname: x\n".to_vec(), Expect::Unparseable("tabs.yaml:4:")),
        ("bad-indent.yaml", b"kind: SparkJob\n  metadata: x\n name: y\n".to_vec(), Expect::Unparseable(".yaml:")),
        ("huge.yaml", huge, Expect::Unparseable("larger than")),
        ("binary.yaml", b"kind: SparkJob\x00\x01\x02\xff".to_vec(), Expect::Unparseable("binary")),
        ("latin1.yaml", b"kind: SparkJob\nmetadata:\n  name: caf\xe9\n".to_vec(), Expect::Unparseable("UTF-8")),
        ("dup-key.yaml", job("dupkey", "  clusterRef: a\n  clusterRef: b\n  mainApplicationFile: ../apps/app.py\n"), Expect::Unparseable("duplicate")),
        ("scalar.yaml", b"just a sentence\n".to_vec(), Expect::NotOurs("mapping")),
        ("list.yaml", b"- a\n- b\n".to_vec(), Expect::NotOurs("mapping")),
        ("wrong-type.yaml", job("wrong-type", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n  executor:\n    instances: two\n"), Expect::Invalid { reason: "InvalidField", field: "spec.executor.instances" }),
        ("negative.yaml", job("negative", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n  executor:\n    instances: -1\n"), Expect::Invalid { reason: "InvalidField", field: "spec.executor.instances" }),
        ("unknown-field.yaml", job("unknown-field", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n  exector: {cores: 1}\n"), Expect::Invalid { reason: "UnknownField", field: "spec" }),
        ("no-cluster-ref.yaml", job("no-cluster-ref", "  mainApplicationFile: ../apps/app.py\n"), Expect::Invalid { reason: "MissingField", field: "spec" }),
        ("bad-name.yaml", job("Bad_Name", ok_spec), Expect::Invalid { reason: "InvalidField", field: "metadata.name" }),
        ("bad-memory.yaml", job("bad-memory", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n  driver: {memory: lots}\n"), Expect::Invalid { reason: "InvalidField", field: "spec.driver.memory" }),
        ("bad-enum.yaml", job("bad-enum", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n  restartPolicy: {type: Sometimes}\n"), Expect::Invalid { reason: "InvalidField", field: "spec.restartPolicy.type" }),
        ("unknown-kind.yaml", b"apiVersion: sparkswarm.io/v1alpha1\nkind: SparkThing\nmetadata:\n  name: thing\n".to_vec(), Expect::Invalid { reason: "UnknownKind", field: "kind" }),
        ("bad-api.yaml", b"apiVersion: sparkswarm.io/v2\nkind: SparkJob\nmetadata:\n  name: bad-api\nspec:\n  clusterRef: a\n  mainApplicationFile: ../apps/app.py\n".to_vec(), Expect::Invalid { reason: "InvalidApiVersion", field: "apiVersion" }),
        ("no-metadata.yaml", b"apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nspec:\n  clusterRef: a\n  mainApplicationFile: ../apps/app.py\n".to_vec(), Expect::Invalid { reason: "MissingField", field: "" }),
        ("escape-dotdot.yaml", job("escape-dotdot", "  clusterRef: nowhere\n  mainApplicationFile: ../../../../../../etc/passwd\n"), Expect::Invalid { reason: "PathNotAllowed", field: "spec.mainApplicationFile" }),
        ("escape-absolute.yaml", job("escape-absolute", "  clusterRef: nowhere\n  mainApplicationFile: /etc/hostname\n"), Expect::Invalid { reason: "PathNotAllowed", field: "spec.mainApplicationFile" }),
        ("escape-symlink.yaml", job("escape-symlink", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/link.py\n"), Expect::Invalid { reason: "PathNotAllowed", field: "spec.mainApplicationFile" }),
        ("escape-dst.yaml", job("escape-dst", "  clusterRef: nowhere\n  mainApplicationFile: ../apps/app.py\n  files:\n    - {src: ../apps/app.py, dst: ../../outside.py}\n"), Expect::Invalid { reason: "PathNotAllowed", field: "spec.files.0.dst" }),
        ("inline-token.yaml", format!("apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: leaky\nspec:\n  provider:\n    digitalocean:\n      token: {SECRET}\n      region: nyc3\n").into_bytes(), Expect::Invalid { reason: "InlineSecret", field: "spec.provider.digitalocean" }),
        ("dup-a.yaml", job("twin", ok_spec), Expect::Invalid { reason: "__pending__", field: "" }),
        ("dup-b.yaml", job("twin", ok_spec), Expect::Invalid { reason: "DuplicateName", field: "" }),
        ("alias-bomb.yaml", b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n".to_vec(), Expect::Unparseable("aliases expand the file")),
    ]
}

fn status_stripped(text: &str, original: &[u8]) -> bool {
    // The operator only ever appends a status block to a document that had none.
    text.as_bytes().starts_with(original)
}

#[test]
fn every_kind_of_bad_manifest_gets_a_clear_error_and_no_user_byte_changes() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    std::os::unix::fs::symlink("/etc/hostname", p.root().join("apps/link.py")).unwrap();
    let cases = corpus();
    assert!(cases.len() >= 20, "the corpus has {} kinds", cases.len());
    for (name, bytes, _) in &cases {
        std::fs::write(p.manifest(name), bytes).unwrap();
    }
    let mut op = p.start(&[]);

    for (name, bytes, expect) in &cases {
        let path = p.manifest(name);
        match expect {
            Expect::Invalid { reason, field } => {
                let want = if *reason == "__pending__" { None } else { Some(*reason) };
                let got = eventually(
                    Duration::from_secs(20),
                    &format!("{name}: a status"),
                    || {
                        let text = std::fs::read_to_string(&path).ok()?;
                        let v: serde_json::Value = serde_yaml::from_str(&text).ok()?;
                        v.get("status").cloned()
                    },
                    || format!("{}\n{}", String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()), op.log()),
                );
                let after = std::fs::read_to_string(&path).unwrap();
                assert!(status_stripped(&after, bytes), "{name}: user bytes changed:\n{after}");
                let conds = got.get("conditions").and_then(|c| c.as_array()).cloned().unwrap_or_default();
                let valid = conds.iter().find(|c| c["type"] == "Valid");
                if let Some(reason) = want {
                    let valid = valid.unwrap_or_else(|| panic!("{name}: no Valid condition in {got}"));
                    assert_eq!(valid["status"], "False", "{name}");
                    assert_eq!(valid["reason"], reason, "{name}: {valid}");
                    let message = valid["message"].as_str().unwrap_or_default();
                    assert!(message.contains("line "), "{name}: the message names a line: {message}");
                    assert!(message.contains(field), "{name}: the message names {field}: {message}");
                }
                let out = p.cli(&["validate", &format!("manifests/{name}")]);
                let text = String::from_utf8_lossy(&out.stdout);
                if want.is_some() && *reason != "DuplicateName" {
                    assert!(!out.status.success(), "{name}: validate fails");
                    assert!(
                        text.contains(&format!("{name}:")) && text.contains(field),
                        "{name}: validate names file and field: {text}"
                    );
                }
            }
            Expect::Unparseable(needle) => {
                let out = p.cli(&["validate", &format!("manifests/{name}")]);
                let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{name}: validate fails");
                assert!(text.contains(name) && text.to_lowercase().contains(&needle.to_lowercase()), "{name}: {text}");
            }
            Expect::NotOurs(needle) => {
                let out = p.cli(&["validate", &format!("manifests/{name}")]);
                let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success() && text.contains(needle), "{name}: {text}");
            }
        }
    }
    // Give the operator every chance to misbehave on the unparseable and foreign files,
    // then check they are byte-identical and it is still running.
    let get = p.cli(&["get", "sj"]);
    assert!(get.status.success());
    for (name, bytes, expect) in &cases {
        if matches!(expect, Expect::Unparseable(_) | Expect::NotOurs(_)) {
            assert_eq!(&std::fs::read(p.manifest(name)).unwrap(), bytes, "{name} was written to");
        }
    }
    assert!(op.is_running(), "the operator survived the corpus:\n{}", op.log());

    // The inline token appears nowhere the operator writes.
    let mut everything = op.log();
    everything.push_str(&std::fs::read_to_string(p.manifest("inline-token.yaml")).unwrap().replacen(
        &format!("token: {SECRET}"),
        "",
        1,
    ));
    for e in walk(&p.state()) {
        everything.push_str(&String::from_utf8_lossy(&std::fs::read(e).unwrap_or_default()));
    }
    everything.push_str(&String::from_utf8_lossy(&p.cli(&["validate", "manifests/inline-token.yaml"]).stdout));
    everything.push_str(&String::from_utf8_lossy(&p.cli(&["describe", "sc", "leaky"]).stdout));
    assert!(!everything.contains(SECRET), "the token leaked");
    op.terminate();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p))
            } else {
                out.push(p)
            }
        }
    }
    out
}

const COMMENTED: &str = "# Top comment\r\napiVersion: sparkswarm.io/v1alpha1   # trailing\r\nkind: SparkJob\r\nmetadata:\r\n  name: 'keep-me'\r\n  annotations: {note: \"quoted\"}\r\n\r\nspec:\r\n  # which cluster\r\n  clusterRef: \"nowhere\"\r\n  mainApplicationFile: ../apps/app.py\r\nstatus:\r\n  phase: Bogus\r\n  junk: [1, 2]\r\n# a comment after the status block\r\n---\r\n# second document\r\napiVersion: sparkswarm.io/v1alpha1\r\nkind: SparkJob\r\nmetadata: {name: second}\r\nspec: {clusterRef: nowhere, mainApplicationFile: ../apps/app.py}";

#[test]
fn status_is_written_into_the_file_and_nothing_else_moves() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    let op = p.start(&[]);
    let path = p.drop_manifest("commented.yaml", COMMENTED);
    eventually(
        Duration::from_secs(20),
        "both statuses Pending",
        || {
            let text = std::fs::read_to_string(&path).ok()?;
            let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .collect();
            (docs.len() == 2 && docs.iter().all(|d| d.pointer("/status/phase") == Some(&serde_json::json!("Pending"))))
                .then_some(())
        },
        || format!("{}\n{}", std::fs::read_to_string(&path).unwrap_or_default(), op.log()),
    );
    let after = std::fs::read_to_string(&path).unwrap();
    // Everything but the two status blocks is byte-identical: cut them out and compare.
    let cut = |s: &str| -> String {
        let mut out = String::new();
        let mut in_status = false;
        for line in s.split_inclusive('\n') {
            if line.starts_with("status:") {
                in_status = true;
                continue;
            }
            if in_status && (line.starts_with(' ')) {
                continue;
            }
            in_status = false;
            out.push_str(line);
        }
        out
    };
    let before_cut = cut(COMMENTED);
    let after_cut = cut(&after);
    assert_eq!(
        after_cut.trim_end_matches(['\r', '\n']),
        before_cut.trim_end_matches(['\r', '\n']),
        "bytes outside status changed:\n{after}"
    );
    assert!(after.contains("# a comment after the status block\r\n"));
    assert!(after.contains("\r\nstatus:\r\n  phase: Pending\r\n"), "the status uses the file's CRLF:\n{after}");
    assert!(!after.contains("Bogus"), "the user's status was replaced");
    // Timestamps as kubectl writes them: quoted, RFC 3339 UTC, to the second.
    let stamp = after.lines().find_map(|l| l.trim().strip_prefix("lastTransitionTime: ")).unwrap_or_default();
    let unquoted = stamp.trim_matches('"');
    assert!(stamp.starts_with('"') && unquoted.len() == 20 && unquoted.ends_with('Z'), "{after}");
    assert!(chrono::DateTime::parse_from_rfc3339(unquoted).is_ok(), "{stamp}");
    assert_eq!(p.assert_statuses_match_schemas(), 2);
    assert!(!after.ends_with('\n') || COMMENTED.ends_with('\n'), "no trailing newline added");
    let msg = p.field("commented.yaml", "/status/message").unwrap_or_default();
    assert!(msg.as_str().unwrap_or_default().contains("\"nowhere\" not found"), "{msg}");

    // The operator's own write does not start another reconcile: the file stays put.
    let stable = std::fs::read_to_string(&path).unwrap();
    let gen = p.field("commented.yaml", "/status/observedGeneration");
    assert_eq!(gen, Some(serde_json::json!(1)));
    // A comment-only edit is not a spec change: the generation stays.
    std::fs::write(&path, stable.replacen("# Top comment", "# Top comment, edited", 1)).unwrap();
    // An annotation change is: generation 2.
    let edited = std::fs::read_to_string(&path).unwrap().replacen("note: \"quoted\"", "note: \"changed\"", 1);
    std::fs::write(&path, edited).unwrap();
    eventually(
        Duration::from_secs(20),
        "generation 2",
        || (p.field("commented.yaml", "/status/observedGeneration") == Some(serde_json::json!(2))).then_some(()),
        || op.log(),
    );
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("# Top comment, edited\r\n"));
}

#[test]
fn a_second_operator_refuses_and_sigterm_stops_cleanly() {
    let p = Project::new();
    let mut first = p.start(&["--metrics-addr", "127.0.0.1:0"]);
    eventually(
        Duration::from_secs(20),
        "operator started",
        || first.log().contains("operator started").then_some(()),
        || first.log(),
    );
    let second = p.cli(&["run"]);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another sparkswarm operator") && err.contains(&first.child.id().to_string()), "{err}");
    let status = first.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}\n{}", first.log());
    // The lock goes with the process: a new operator starts.
    let mut again = p.start(&[]);
    eventually(
        Duration::from_secs(20),
        "restarted",
        || again.log().contains("operator started").then_some(()),
        || again.log(),
    );
    assert!(again.terminate().success());
}

#[test]
fn metrics_and_healthz_are_served() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    p.drop_manifest("j.yaml", &Project::job_yaml("j", "nowhere", "app.py", ""));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let op = p.start(&["--metrics-addr", &addr]);
    eventually(Duration::from_secs(20), "job Pending", || (p.phase("j.yaml") == "Pending").then_some(()), || op.log());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (health, metrics) = rt.block_on(async {
        let h = reqwest::get(format!("http://{addr}/healthz")).await.unwrap().text().await.unwrap();
        let m = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
        (h, m)
    });
    assert_eq!(health.trim(), "ok");
    for needle in [
        "sparkswarm_reconciles_total{kind=\"SparkJob\",result=\"ok\"}",
        "sparkswarm_reconcile_duration_seconds_bucket",
        "sparkswarm_jobs{phase=\"Pending\"} 1",
        "sparkswarm_watch_events_total",
        "spark_app_submit_latency_seconds",
        // kubeflow spark-operator's names, for its users' dashboards.
        "spark_app_count 1",
        "spark_app_submit_count 0",
        "spark_app_running_count 0",
        "spark_app_success_count 0",
        "spark_app_failure_count 0",
        "spark_app_success_execution_time_seconds_bucket",
        "spark_app_failure_execution_time_seconds_count 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
}

#[test]
fn exit_when_done_reports_failure_with_its_exit_code() {
    let p = Project::new();
    // A job that is invalid (its app escapes the project) can never run: it counts as Failed.
    p.drop_manifest("bad.yaml", &Project::job_yaml("bad", "nowhere", "../../../../etc/passwd", ""));
    let mut op = p.start(&["--exit-when-done"]);
    let log = op.log.clone();
    let status = eventually(
        Duration::from_secs(30),
        "the operator exits",
        || op.child.try_wait().ok().flatten(),
        || std::fs::read_to_string(&log).unwrap_or_default(),
    );
    assert_eq!(status.code(), Some(1), "{}", op.log());
}

#[test]
fn a_file_broken_while_the_operator_was_down_does_not_delete_its_objects() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    let v1 = Project::job_yaml("j", "nowhere", "app.py", "");
    let v2 = Project::job_yaml("j", "nowhere", "app.py", "  arguments: [\"--fast\"]\n");
    let mut op = p.start(&[]);
    p.drop_manifest("j.yaml", &v1);
    eventually(
        Duration::from_secs(20),
        "generation 1",
        || (p.field("j.yaml", "/status/observedGeneration") == Some(serde_json::json!(1))).then_some(()),
        || op.log(),
    );
    p.drop_manifest("j.yaml", &v2);
    eventually(
        Duration::from_secs(20),
        "generation 2",
        || (p.field("j.yaml", "/status/observedGeneration") == Some(serde_json::json!(2))).then_some(()),
        || op.log(),
    );
    op.terminate();

    // Broken while nobody watched: on restart the operator cannot know what the file holds.
    p.drop_manifest("j.yaml", "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nspec: [unclosed\n");
    let op = p.start(&[]);
    let events = p.state().join("events/sparkjob/j.jsonl");
    eventually(
        Duration::from_secs(20),
        "an InvalidYaml event for j",
        || std::fs::read_to_string(&events).ok().filter(|t| t.contains("InvalidYaml")).map(|_| ()),
        || op.log(),
    );
    p.drop_manifest("j.yaml", &v2);
    eventually(
        Duration::from_secs(20),
        "j Pending again",
        || (p.phase("j.yaml") == "Pending").then_some(()),
        || op.log(),
    );
    assert_eq!(
        p.field("j.yaml", "/status/observedGeneration"),
        Some(serde_json::json!(2)),
        "the job was not forgotten and recreated"
    );
}

/// Files a cluster's provider names (client certificates, a token file, a login key) obey
/// the same rule as a job's: relative to the manifest, inside the allowed roots. A path
/// outside fails the cluster with the field named, before any engine or API is contacted.
#[test]
fn provider_files_outside_the_allowed_roots_fail_the_cluster_with_the_field() {
    let p = Project::new();
    let op = p.start(&[]);
    p.drop_manifest(
        "tls.yaml",
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: tls\nspec:\n  provider:\n    swarm:\n      endpoint: tcp://127.0.0.1:2376\n      tls: {caFile: /etc/ssl/certs/ca-certificates.crt, certFile: cert.pem, keyFile: key.pem}\n",
    );
    p.drop_manifest(
        "do.yaml",
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: do\nspec:\n  provider:\n    digitalocean:\n      tokenFrom: {file: ../../do-token}\n",
    );
    for (file, field) in
        [("tls.yaml", "spec.provider.swarm.tls.caFile"), ("do.yaml", "spec.provider.digitalocean.tokenFrom.file")]
    {
        eventually(
            Duration::from_secs(20),
            &format!("{file} Failed"),
            || (p.phase(file) == "Failed").then_some(()),
            || format!("{}\n{}", p.read(file), op.log()),
        );
        // Checked before anything is provisioned, as `validate` checks it: Valid=False.
        let valid = p
            .field(file, "/status/conditions")
            .and_then(|c| c.as_array().and_then(|a| a.iter().find(|c| c["type"] == "Valid").cloned()))
            .expect("a Valid condition");
        assert_eq!(
            (valid["status"].as_str(), valid["reason"].as_str()),
            (Some("False"), Some("PathNotAllowed")),
            "{file}"
        );
        let message = valid["message"].as_str().unwrap_or("");
        assert!(message.contains(field) && message.contains("outside the allowed roots"), "{file}: {valid}");
        let out = p.cli(&["validate", &format!("manifests/{file}")]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success() && text.contains(field), "validate names {field}: {text}");
    }
}

/// A cluster's volumes are checked as `validate` checks them, before anything starts: a
/// Docker named volume on the local runtime and a hostPath outside the allowed roots are
/// `Valid=False` with the field and its line.
#[test]
fn cluster_volumes_that_cannot_work_are_invalid_with_field_and_line() {
    let p = Project::new();
    let op = p.start(&[]);
    let cluster = |name: &str, volume: &str| {
        format!("apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    local: {{}}\n  volumes:\n    - name: data\n      mountPath: /data\n{volume}")
    };
    p.drop_manifest(
        "named.yaml",
        &cluster("named", "      volume: {driver: local, driverOpts: {type: nfs, o: \"addr=10.0.0.5\"}}\n"),
    );
    p.drop_manifest("escape.yaml", &cluster("escape", "      hostPath: ../../..\n"));
    for (file, reason, want) in [
        (
            "named.yaml",
            "VolumeNotSupported",
            "line 11: spec.volumes.0.volume: Docker named volumes need the swarm or digitalocean provider",
        ),
        ("escape.yaml", "PathNotAllowed", "line 11: spec.volumes.0.hostPath: "),
    ] {
        eventually(
            Duration::from_secs(20),
            &format!("{file} Failed"),
            || (p.phase(file) == "Failed").then_some(()),
            || format!("{}\n{}", p.read(file), op.log()),
        );
        let valid = p
            .field(file, "/status/conditions")
            .and_then(|c| c.as_array().and_then(|a| a.iter().find(|c| c["type"] == "Valid").cloned()))
            .expect("a Valid condition");
        assert_eq!((valid["status"].as_str(), valid["reason"].as_str()), (Some("False"), Some(reason)), "{file}");
        let message = valid["message"].as_str().unwrap_or("");
        assert!(message.contains(want), "{file}: {valid}");
        let out = p.cli(&["validate", &format!("manifests/{file}")]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success() && text.contains(want.trim_start_matches("line 11: ")), "validate: {text}");
    }
    let escape = p.field("escape.yaml", "/status/conditions").map(|c| c.to_string()).unwrap_or_default();
    assert!(escape.contains("outside the allowed roots"), "{escape}");
}

/// Files already there at start-up are read on every core before any reconcile starts: each
/// gets its own status, and none is reconciled against a store that misses another's file.
#[test]
fn every_file_there_at_start_up_gets_its_status() {
    let p = Project::new();
    p.write_app("app.py", "print('hi')\n");
    let n = 300;
    for i in 0..n {
        let name = format!("job-{i:03}");
        // Every job depends on the one before it, which lives in another file.
        let after = if i == 0 { String::new() } else { format!("  dependsOn: [job-{:03}]\n", i - 1) };
        p.drop_manifest(&format!("{name}.yaml"), &Project::job_yaml(&name, "missing", "app.py", &after));
    }
    let op = p.start(&[]);
    for i in 0..n {
        let file = format!("job-{i:03}.yaml");
        eventually(
            Duration::from_secs(60),
            &format!("{file}: a status"),
            || (!p.phase(&file).is_empty()).then_some(()),
            || format!("{}\n{}", p.read(&file), op.log()),
        );
        let text = p.read(&file);
        assert!(
            !text.contains("DependencyNotFound"),
            "{file} was reconciled before its upstream's file was read:\n{text}"
        );
    }
}
