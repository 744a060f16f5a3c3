//! Harness for the end-to-end tests: a throwaway project directory (manifests/, apps,
//! state), the real `sparkswarm` binary as the operator, and polling with deadlines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sparkswarm");

/// Where the operator's pinned pyspark venv is shared between tests, so Spark is
/// installed once per machine rather than once per test.
pub fn spark_cache() -> PathBuf {
    std::env::var_os("SPARKSWARM_SPARK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/spark-cache"))
}

/// The tests' Spark JVMs compile with C1 only (the operator's `SPARKSWARM_JVM_OPTIONS`):
/// on a 2-core machine a short job otherwise spends about half its CPU in the C2 compiler,
/// and the tests run dozens of them. A value in the environment wins (empty: the defaults).
pub fn jvm_options() -> String {
    std::env::var("SPARKSWARM_JVM_OPTIONS").unwrap_or_else(|_| "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC".into())
}

/// For the runtimes a test drives in its own process (nextest runs each test in a process
/// of its own, so nothing else reads the environment meanwhile).
pub fn use_test_jvm_options() {
    std::env::set_var("SPARKSWARM_JVM_OPTIONS", jvm_options());
}

/// Where pip put pyspark, with Spark's examples and their data. Installed first when no
/// test has done so yet: a swarm or digitalocean test may be the first to want it.
pub fn pyspark_dir() -> PathBuf {
    let dir = spark_cache().join("venv/lib/python3.11/site-packages/pyspark");
    if !dir.join("examples/src/main/python/ml").is_dir() {
        // On a thread of its own: the caller may be inside a runtime already.
        let cache = spark_cache();
        let installed = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(sparkswarm::runtime::local::spark_dist::ensure_in(&cache, &|l: &str| {
                eprintln!("[spark install] {l}")
            }))
            .map(|_| ())
            .map_err(|e| e.to_string())
        })
        .join();
        match installed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("installing pyspark under {}: {e}", spark_cache().display()),
            Err(_) => panic!("installing pyspark under {} panicked", spark_cache().display()),
        }
    }
    assert!(
        dir.join("examples/src/main/python/ml").is_dir(),
        "no pyspark with examples under {} (run scripts/setup.sh, or set SPARKSWARM_SPARK_CACHE)",
        dir.display()
    );
    dir
}

/// Copies files of the pyspark distribution (`from`, relative to it) into the project (`to`),
/// byte for byte: Spark's own examples and data, unmodified.
pub fn copy_from_pyspark(p: &Project, files: &[(&str, &str)]) {
    let py = pyspark_dir();
    for (from, to) in files {
        let to = p.root().join(to);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(py.join(from), &to).expect("copy from pyspark");
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("repo root")
}

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new().prefix("sparkswarm-e2e-").tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("manifests")).expect("manifests dir");
        std::fs::create_dir_all(dir.path().join("apps")).expect("apps dir");
        Project { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn manifests(&self) -> PathBuf {
        self.root().join("manifests")
    }

    pub fn state(&self) -> PathBuf {
        self.root().join(".sparkswarm")
    }

    pub fn manifest(&self, name: &str) -> PathBuf {
        self.manifests().join(name)
    }

    /// Writes a manifest the way an editor does: to a temp file, then renamed into place.
    pub fn drop_manifest(&self, name: &str, text: &str) -> PathBuf {
        let tmp = self.manifests().join(format!(".{name}.swp"));
        std::fs::write(&tmp, text).expect("write manifest");
        let path = self.manifest(name);
        std::fs::rename(&tmp, &path).expect("rename manifest");
        path
    }

    pub fn write_app(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root().join("apps").join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("app dir");
        std::fs::write(&path, text).expect("write app");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.manifest(name)).unwrap_or_default()
    }

    /// The first document's value at a JSON pointer, e.g. `/status/phase`.
    pub fn field(&self, name: &str, pointer: &str) -> Option<serde_json::Value> {
        let text = self.read(name);
        let doc = serde_yaml::Deserializer::from_str(&text).next()?;
        let value: serde_json::Value = serde::Deserialize::deserialize(doc).ok()?;
        value.pointer(pointer).cloned()
    }

    pub fn phase(&self, name: &str) -> String {
        self.field(name, "/status/phase").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// Every status in the manifests, read by PyYAML and checked against `schemas/` by
    /// Python's jsonschema (Draft 2020-12): what a Python user scripting against the status
    /// sees. Returns how many statuses were checked.
    pub fn assert_statuses_match_schemas(&self) -> usize {
        let script = repo_root().join("tests/common/status_schema.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(repo_root().join("schemas"))
            .arg(self.manifests())
            .output()
            .expect("python3 (with PyYAML and jsonschema) is needed to check statuses against schemas/");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "statuses do not match schemas/ as PyYAML reads them:\n{text}");
        text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .current_dir(self.root())
            .env("SPARKSWARM_SPARK_CACHE", spark_cache())
            .env_remove("SPARKSWARM_MANIFESTS")
            .output()
            .expect("run sparkswarm")
    }

    pub fn start(&self, extra: &[&str]) -> Operator {
        Operator::start(self, extra)
    }

    pub fn cluster_yaml(name: &str, workers: u32) -> String {
        format!(
            "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    local: {{}}\n  workers:\n    replicas: {workers}\n    cores: 1\n    memory: 1g\n"
        )
    }

    pub fn job_yaml(name: &str, cluster: &str, app: &str, extra_spec: &str) -> String {
        format!(
            "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: {cluster}\n  mainApplicationFile: ../apps/{app}\n  driver: {{cores: 1, memory: 512m}}\n  executor: {{instances: 1, cores: 1, memory: 512m}}\n{extra_spec}"
        )
    }
}

pub struct Operator {
    pub child: Child,
    pub log: PathBuf,
}

impl Operator {
    pub fn start(p: &Project, extra: &[&str]) -> Operator {
        Operator::start_with_env(p, extra, &[])
    }

    /// With extra environment variables (a token, an API URL), as a user would export them.
    pub fn start_with_env(p: &Project, extra: &[&str], env: &[(&str, &str)]) -> Operator {
        let log = p.root().join(format!(
            "operator-{}.log",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ));
        let file = std::fs::File::create(&log).expect("operator log");
        let mut cmd = Command::new(BIN);
        cmd.arg("run")
            .args(extra)
            .current_dir(p.root())
            .env("SPARKSWARM_SPARK_CACHE", spark_cache())
            .env("RUST_LOG", "sparkswarm=debug,info")
            .env("SPARKSWARM_JVM_OPTIONS", jvm_options())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file);
        let child = cmd.spawn().expect("start the operator");
        Operator { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        self.child.wait().expect("wait operator")
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if self.is_running() {
            self.terminate();
        }
    }
}

/// Polls `check` until it returns Some, or fails the test with `what` and `context()`.
pub fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}\n{}", context());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Processes whose command line mentions `needle` (e.g. the state directory a cluster's
/// JVMs were started with).
pub fn processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else { return out };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(needle) && pid != std::process::id() as i32 {
            out.push((pid, cmd));
        }
    }
    out
}

/// Kills every process still carrying this project's state directory: a test that fails
/// half-way must not leave JVMs behind for the next one.
pub struct Reaper(pub String);

impl Drop for Reaper {
    fn drop(&mut self) {
        for (pid, _) in processes_mentioning(&self.0) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// Fails with a clear message when Java is missing: these tests need a real Spark.
pub fn require_java() {
    let ok = Command::new("java").arg("-version").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(ok, "Java 17+ is required for the Spark end-to-end tests (apt-get install openjdk-17-jre-headless)");
}

pub mod job_env;
