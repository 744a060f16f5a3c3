//! The `deps`/`env` scenario both runtimes run (tests/job_env_local.rs, job_env_swarm.rs):
//! a driver importing a pure-Python package, a UDF importing a C extension on the
//! executors, plain env and two secrets seen on both sides, the lock in the status, a
//! cached second job with the package index unreachable, a requirement pip cannot
//! resolve, and the secrets' values searched for everywhere the operator writes.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use super::{eventually, Operator, Project};

/// Driver: tabulate (pure Python). Executors: msgpack's C extension, and the environment.
/// Secrets are compared through their hashes: the app never prints or writes a value.
pub const APP: &str = r#"
import hashlib, json, os, sys
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
import tabulate

def sha(v):
    return hashlib.sha256(v.encode()).hexdigest() if v is not None else "unset"

spark = SparkSession.builder.appName("job-env").getOrCreate()

@udf("string")
def on_executor(x):
    import msgpack, msgpack._cmsgpack  # the C extension, not the fallback
    packed = msgpack.unpackb(msgpack.packb([x, os.environ.get("MODE")]))
    return json.dumps({
        "c_ext": msgpack._cmsgpack.__file__.endswith(".so"),
        "mode": packed[1],
        "db": sha(os.environ.get("DB_PASSWORD")),
        "token": sha(os.environ.get("API_TOKEN")),
        "pid": os.getpid(),
    })

rows = spark.range(2).select(on_executor("id").alias("r")).collect()
seen = [json.loads(r.r) for r in rows]
driver_pid = os.getpid()
results = {
    "tabulate": tabulate.__version__,
    "table_lines": len(tabulate.tabulate([[1, 2]], headers=["a", "b"]).splitlines()),
    "executor_c_ext": int(all(s["c_ext"] for s in seen)),
    "executor_mode": seen[0]["mode"],
    "executor_db_sha": seen[0]["db"],
    "executor_token_sha": seen[0]["token"],
    "executor_other_process": int(all(s["pid"] != driver_pid for s in seen)),
    "driver_mode": os.environ.get("MODE"),
    "driver_db_sha": sha(os.environ.get("DB_PASSWORD")),
    "driver_token_sha": sha(os.environ.get("API_TOKEN")),
}
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump(results, f)
spark.stop()
"#;

pub const TOKEN_VAR: &str = "SPARKSWARM_TEST_API_TOKEN";
pub const BAD_REQUIREMENT: &str = "sparkswarm-no-such-package-3f9a==1.0";

/// Two secret values no other text contains.
pub struct Secrets {
    pub db: String,
    pub token: String,
}

impl Secrets {
    pub fn new() -> Secrets {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Secrets { db: format!("db-pw-{n:x}-Qz7"), token: format!("tok-{:x}-Wv3", n.wrapping_mul(31)) }
    }
}

pub fn sha(v: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(v.as_bytes()))
}

/// The job's spec lines: deps from the list and a requirements file, plain env, secrets
/// from a file and from the operator's environment.
pub fn spec(requirements: &[&str]) -> String {
    let reqs = requirements.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ");
    format!(
        "  deps:\n    requirements: [{reqs}]\n    requirementsFile: ../apps/job_env/requirements.txt\n  env:\n    - {{name: MODE, value: fast}}\n    - {{name: DB_PASSWORD, valueFrom: {{file: ../secrets/db-password}}}}\n    - {{name: API_TOKEN, valueFrom: {{env: {TOKEN_VAR}}}}}\n"
    )
}

/// The app, its requirements file (msgpack) and the secret file.
pub fn write_files(p: &Project, secrets: &Secrets) {
    p.write_app("job_env/main.py", APP);
    p.write_app("job_env/requirements.txt", "# the executors' C extension\nmsgpack==1.1.0\n");
    let dir = p.root().join("secrets");
    std::fs::create_dir_all(&dir).expect("secrets dir");
    std::fs::write(dir.join("db-password"), format!("{}\n", secrets.db)).expect("secret file");
}

pub fn wait_finished(p: &Project, file: &str, op: &Operator, timeout: Duration) -> String {
    eventually(
        timeout,
        &format!("{file} finished"),
        || {
            let phase = p.phase(file);
            (phase == "Succeeded" || phase == "Failed").then_some(phase)
        },
        || format!("file:\n{}\noperator log:\n{}", p.read(file), op.log()),
    )
}

fn result(p: &Project, file: &str, key: &str) -> serde_json::Value {
    p.field(file, &format!("/status/results/{key}")).unwrap_or(serde_json::Value::Null)
}

/// What a user checks of a succeeded job: imports on both sides, env and secrets seen on
/// both sides, the lock in the status. Returns the lock's hash.
pub fn check_succeeded(p: &Project, file: &str, secrets: &Secrets) -> String {
    let text = p.read(file);
    assert_eq!(p.phase(file), "Succeeded", "{text}");
    assert_eq!(result(p, file, "tabulate"), "0.9.0", "{text}");
    assert_eq!(result(p, file, "table_lines"), 3, "{text}");
    assert_eq!(result(p, file, "executor_c_ext"), 1, "{text}");
    assert_eq!(result(p, file, "executor_other_process"), 1, "{text}");
    for side in ["driver", "executor"] {
        assert_eq!(result(p, file, &format!("{side}_mode")), "fast", "{side}: {text}");
        assert_eq!(result(p, file, &format!("{side}_db_sha")), sha(&secrets.db).as_str(), "{side}: {text}");
        assert_eq!(result(p, file, &format!("{side}_token_sha")), sha(&secrets.token).as_str(), "{side}: {text}");
    }
    let deps = p.field(file, "/status/deps").expect("status.deps");
    let hash = deps["hash"].as_str().unwrap_or_default().to_string();
    assert!(hash.starts_with("sha256:") && hash.len() == 71, "{deps}");
    assert_eq!(deps["python"], "3.11", "{deps}");
    let packages: Vec<&str> =
        deps["packages"].as_array().expect("packages").iter().filter_map(|v| v.as_str()).collect();
    assert!(packages.contains(&"tabulate==0.9.0") && packages.contains(&"msgpack==1.1.0"), "{deps}");
    hash
}

/// A requirement pip cannot resolve: Failed, reason DepsFailed, pip's own line, one attempt.
pub fn check_deps_failed(p: &Project, file: &str) {
    let text = p.read(file);
    assert_eq!(p.phase(file), "Failed", "{text}");
    let message = p.field(file, "/status/message").and_then(|m| m.as_str().map(str::to_string)).unwrap_or_default();
    assert!(message.starts_with("ERROR: ") && message.contains(BAD_REQUIREMENT), "{message}\n{text}");
    let conditions = p.field(file, "/status/conditions").unwrap_or_default().to_string();
    assert!(conditions.contains("DepsFailed"), "{conditions}");
    assert_eq!(p.field(file, "/status/attempts"), Some(serde_json::json!(1)), "{text}");
}

/// Every file under `root` (state dir, manifests, apps, the operator's logs) and every CLI
/// output given: no secret value anywhere. Returns how many files were searched.
pub fn assert_no_secret(root: &Path, outputs: &[String], secrets: &Secrets) -> usize {
    let mut files = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = e.path();
            let Ok(md) = std::fs::symlink_metadata(&path) else { continue };
            if md.is_dir() {
                stack.push(path);
            } else if md.is_file() {
                if path.starts_with(root.join("secrets")) {
                    continue;
                }
                files += 1;
                let bytes = std::fs::read(&path).unwrap_or_default();
                for v in [&secrets.db, &secrets.token] {
                    let found = bytes.windows(v.len()).any(|w| w == v.as_bytes());
                    assert!(!found, "a secret's value is in {}", path.display());
                }
            }
        }
    }
    for (i, out) in outputs.iter().enumerate() {
        for v in [&secrets.db, &secrets.token] {
            assert!(!out.contains(v.as_str()), "a secret's value is in CLI output {i}:\n{out}");
        }
    }
    files
}
