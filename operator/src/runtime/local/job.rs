//! Local jobs: one `spark-submit` (client mode) per attempt, run under a tiny `/bin/sh`
//! wrapper that records its pid and the exit code in the attempt directory, so that the
//! outcome survives an operator crash and a restarted operator only has to read files.
//!
//! Layout of an attempt directory:
//! - `work/`: the driver's working directory, with the job's files at their destinations;
//! - `outputs/`: `$SPARKSWARM_OUTPUT_DIR`; `results.json` there becomes the results;
//! - `driver.log`: everything the wrapper, spark-submit, the JVM and Python print;
//! - `pid`: the wrapper's pid (= its process group); `started`: RFC 3339 start time;
//! - `exitcode`: written by the wrapper when the driver ended (its mtime = finish time);
//! - `cancelled`: written by kill; a wrapper that starts after it does not run the driver.
//!
//! How observe reads them (first match wins):
//! 1. `exitcode` → `Exited(code)`.
//! 2. `pid` names a live process carrying this attempt's marker → `Running`.
//! 3. `pid` but no such process, and still no `exitcode` → `Exited(-1)`: the wrapper was
//!    killed outright (SIGKILL, OOM killer, reboot) and could not record anything.
//! 4. no `pid`: the wrapper was not started yet or never will be. Within 30 s of the last
//!    change to the attempt (directory or `submission.json` mtime) this is `Running` (a
//!    submission in flight: the wrapper writes its pid within milliseconds); later `Lost`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::process::{self, Marker, Spawn};
use super::{cluster::spark_memory, driver_log, fsutil, LocalRuntime};
use crate::api::job::Results;
use crate::manifest::paths::confine_dst;
use crate::runtime::attempt::AttemptDir;
use crate::runtime::job_env;
use crate::runtime::volumes::{announce, Seen};
use crate::runtime::{AttemptObservation, AttemptState, JobSubmission, RuntimeError};

/// After this long without a pid, an attempt's driver is taken as never started.
const LOST_AFTER: Duration = Duration::from_secs(30);
/// The driver stops its SparkContext on SIGTERM (a second or two); then SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(10);
/// The wrapper's `$0`, visible in its /proc cmdline.
const WRAPPER_NAME: &str = "sparkswarm-driver";
/// An exit code of our own for a driver killed after the grace (128 + SIGKILL).
const KILLED_EXIT_CODE: i32 = 137;

/// Every user value (paths, arguments, confs) reaches spark-submit as a positional
/// parameter through "$@": none of it is ever parsed by the shell. The trap makes the
/// shell outlive a SIGTERM sent to the whole group long enough to record the driver's exit
/// code (a caught signal is reset to default in the exec'd child, so the driver still gets
/// it).
const WRAPPER_SCRIPT: &str = r#"dir=$1
shift
echo $$ > "$dir/pid.tmp" && mv -f "$dir/pid.tmp" "$dir/pid" || exit 125
trap : TERM INT HUP
if [ -e "$dir/cancelled" ]; then
  code=143
else
  "$@"
  code=$?
fi
rm -f "$dir/secrets.json"
echo "$code" > "$dir/exitcode.tmp" && mv -f "$dir/exitcode.tmp" "$dir/exitcode"
exit "$code"
"#;

/// The shared attempt layout plus what only the local runtime keeps there.
struct AttemptFiles(AttemptDir);

impl std::ops::Deref for AttemptFiles {
    type Target = AttemptDir;
    fn deref(&self) -> &AttemptDir {
        &self.0
    }
}

impl AttemptFiles {
    fn new(attempt_dir: &Path) -> Self {
        AttemptFiles(AttemptDir::new(attempt_dir))
    }
    fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    fn pid(&self) -> PathBuf {
        self.dir.join("pid")
    }
    fn marker(&self) -> Marker {
        let dir = self.dir.to_string_lossy().into_owned();
        Marker {
            args: vec![WRAPPER_NAME.into(), dir.clone()],
            env_key: "SPARKSWARM_ATTEMPT_DIR".into(),
            env_value: dir,
        }
    }
}

/// Where the attempt's Python finds its deps and secrets (`job_env`): paths on this
/// machine, which the executors (local processes) see as they are.
struct PythonEnv {
    vars: job_env::PythonVars,
    /// With secrets: the `pyenv` dir and the secret file, written before the driver starts.
    secrets: Option<(PathBuf, PathBuf)>,
}

impl PythonEnv {
    fn of(f: &AttemptFiles, sub: &JobSubmission) -> Self {
        let attempt = f.dir.to_string_lossy();
        let deps = sub.deps.as_deref().map(Path::to_string_lossy);
        PythonEnv {
            vars: job_env::PythonVars::of(&sub.secrets, &attempt, deps.as_deref()),
            secrets: (!sub.secrets.is_empty())
                .then(|| (f.dir.join(job_env::PYENV_DIR), f.dir.join(job_env::SECRETS_FILE))),
        }
    }

    /// `sitecustomize.py` and the 0600 secret file, before the driver starts.
    fn write(&self, sub: &JobSubmission) -> Result<(), RuntimeError> {
        let Some((pyenv, secrets)) = &self.secrets else { return Ok(()) };
        std::fs::create_dir_all(pyenv).map_err(RuntimeError::io(format!("creating {}", pyenv.display())))?;
        fsutil::write_atomic(&pyenv.join("sitecustomize.py"), job_env::SITECUSTOMIZE_PY.as_bytes())?;
        write_private(secrets, &job_env::secrets_json(&sub.secrets))
    }
}

/// A file only its owner can read, created so from the start (never briefly wider).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(RuntimeError::io(format!("creating {}", path.display())))?;
    file.write_all(bytes).map_err(RuntimeError::io(format!("writing {}", path.display())))
}

/// spark-submit's arguments for one attempt (without the program itself).
/// `extra_conf` (the volumes') comes after the user's confs: a job cannot re-point them.
fn submit_args(sub: &JobSubmission, extra_conf: &[(String, String)]) -> Result<Vec<OsString>, RuntimeError> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |k: &str, v: String| {
        a.push(k.into());
        a.push(v.into());
    };
    push("--master", sub.master_url.clone());
    push("--deploy-mode", "client".into());
    push("--name", sub.job.clone());
    push("--driver-cores", sub.driver_cores.to_string());
    push("--driver-memory", spark_memory(&sub.driver_memory)?);
    push("--executor-cores", sub.executor_cores.to_string());
    push("--executor-memory", spark_memory(&sub.executor_memory)?);
    push("--total-executor-cores", sub.executor_instances.saturating_mul(sub.executor_cores).max(1).to_string());
    // Before the user's confs, so that a job may override it.
    push("--conf", "spark.driver.host=127.0.0.1".into());
    for (k, v) in &sub.spark_conf {
        if k.is_empty() || k.contains('=') || k.contains(char::is_whitespace) {
            return Err(RuntimeError::ProcessError(format!("invalid sparkConf key {k:?}")));
        }
        push("--conf", format!("{k}={v}"));
    }
    for (k, v) in extra_conf {
        push("--conf", format!("{k}={v}"));
    }
    for (k, v) in
        super::super::event_log::spark_conf(&AttemptDir::new(&sub.attempt_dir).event_log_dir().to_string_lossy())
    {
        push("--conf", format!("{k}={v}"));
    }
    // Last, so that it cannot be overridden: it ties the application to this submission.
    push("--conf", format!("spark.sparkswarm.submissionId={}", sub.submission_id));
    if !sub.py_files.is_empty() {
        let mut joined = OsString::new();
        for (i, p) in sub.py_files.iter().enumerate() {
            if p.to_string_lossy().contains(',') {
                return Err(RuntimeError::ProcessError(format!("pyFiles path {} contains a comma", p.display())));
            }
            if i > 0 {
                joined.push(",");
            }
            joined.push(p.as_os_str());
        }
        a.push("--py-files".into());
        a.push(joined);
    }
    a.push(sub.main_application_file.as_os_str().to_owned());
    a.extend(sub.arguments.iter().map(OsString::from));
    Ok(a)
}

pub(crate) async fn submit(rt: &LocalRuntime, sub: &JobSubmission) -> Result<(), RuntimeError> {
    let f = AttemptFiles::new(&sub.attempt_dir);
    if f.pid().exists() || f.exitcode().exists() {
        // Submitting an attempt twice must never run it twice.
        tracing::info!(attempt = %f.dir.display(), "attempt already submitted; not starting it again");
        return Ok(());
    }
    if f.cancelled().exists() {
        tracing::info!(attempt = %f.dir.display(), "attempt was killed before it started");
        return fsutil::write_atomic(&f.exitcode(), b"143\n");
    }
    let announced = announce(&super::cluster::applied_volumes(rt, &sub.cluster), Seen::InPlace);
    let python = PythonEnv::of(&f, sub);
    let mut extra_conf = announced.conf.clone();
    extra_conf.extend(python.vars.executor_conf());
    let args = submit_args(sub, &extra_conf)?;
    let destinations: Vec<PathBuf> = sub
        .files
        .iter()
        .map(|(_, dst)| confine_dst(dst).map_err(|e| RuntimeError::InvalidSpec(e.to_string())))
        .collect::<Result<_, _>>()?;
    let dist = rt.spark().await?.clone();

    for d in [f.dir.clone(), f.work(), f.outputs(), f.event_log_dir()] {
        std::fs::create_dir_all(&d).map_err(RuntimeError::io(format!("creating {}", d.display())))?;
    }
    python.write(sub)?;
    for ((src, _), dst) in sub.files.iter().zip(&destinations) {
        let to = f.work().join(dst);
        if let Some(parent) = to.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(RuntimeError::io(format!("creating {}", parent.display())))?;
        }
        tokio::fs::copy(src, &to).await.map_err(RuntimeError::io(format!(
            "copying {} to {}",
            src.display(),
            to.display()
        )))?;
    }

    let m = f.marker();
    let submit_program = dist.spark_submit();
    let mut sh_args: Vec<&OsStr> = vec![
        OsStr::new("-c"),
        OsStr::new(WRAPPER_SCRIPT),
        OsStr::new(WRAPPER_NAME),
        f.dir.as_os_str(),
        submit_program.as_os_str(),
    ];
    sh_args.extend(args.iter().map(OsString::as_os_str));
    // The user's first: the operator's own variables are set after them and win.
    let mut envs = sub.env.clone();
    envs.extend([
        ("SPARKSWARM_OUTPUT_DIR".into(), f.outputs().to_string_lossy().into_owned()),
        ("SPARK_LOCAL_IP".into(), "127.0.0.1".into()),
        ("SPARK_HOME".into(), dist.home.to_string_lossy().into_owned()),
        ("PYSPARK_PYTHON".into(), dist.python.to_string_lossy().into_owned()),
        ("PYSPARK_DRIVER_PYTHON".into(), dist.python.to_string_lossy().into_owned()),
        (m.env_key.clone(), m.env_value.clone()),
    ]);
    envs.extend(announced.env);
    envs.extend(python.vars.vars.iter().cloned());
    let pid = process::spawn_detached(Spawn {
        program: Path::new("/bin/sh"),
        args: sh_args,
        envs,
        cwd: &f.work(),
        log: &f.driver_log(),
    })?;
    rt.drivers.lock().insert(f.dir.clone(), pid);
    // The driver runs now: failing the submission here would invite a second one. Without
    // this file, observe falls back to the pidfile's mtime.
    if let Err(e) = fsutil::write_atomic(&f.started(), Utc::now().to_rfc3339().as_bytes()) {
        tracing::warn!(attempt = %f.dir.display(), error = %e, "could not record the start time");
    }
    tracing::info!(job = %sub.job, submission = %sub.submission_id, pid, "driver started");
    Ok(())
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Resolves when the attempt's wrapper exits (it writes the exit code just before). The pid
/// is the one this operator started, or, for a driver adopted after a restart, the
/// pidfile's when it is still ours.
pub(crate) async fn ended(rt: &LocalRuntime, attempt_dir: &Path) -> Result<bool, RuntimeError> {
    let f = AttemptFiles::new(attempt_dir);
    if f.exitcode().exists() {
        return Ok(true);
    }
    let started = rt.drivers.lock().get(&f.dir).copied();
    let pid = started.or_else(|| process::read_pidfile(&f.pid()).filter(|p| process::is_ours(*p, &f.marker())));
    let Some(pid) = pid else { return Ok(false) };
    let seen = process::exited(pid).await;
    rt.drivers.lock().remove(&f.dir);
    // Without a pidfd the process may be gone already: then the files say whether it ended
    // (an exit code, or a pidfile whose process is no longer ours).
    Ok(seen || f.exitcode().exists() || f.pid().exists())
}

pub(crate) async fn observe(attempt_dir: &Path) -> Result<Option<AttemptObservation>, RuntimeError> {
    let f = AttemptFiles::new(attempt_dir);
    if !f.dir.is_dir() {
        return Ok(None);
    }
    let (state, finished) = match f.read_exitcode() {
        Some(code) => (AttemptState::Exited(code), fsutil::mtime(&f.exitcode())),
        None => match process::read_pidfile(&f.pid()) {
            Some(pid) if process::is_ours(pid, &f.marker()) => (AttemptState::Running, None),
            // The wrapper may have recorded the code between the two reads.
            Some(_) => match f.read_exitcode() {
                Some(code) => (AttemptState::Exited(code), fsutil::mtime(&f.exitcode())),
                None => (AttemptState::Exited(-1), fsutil::mtime(&f.driver_log())),
            },
            None => {
                let last_change = later(fsutil::mtime(&f.dir), fsutil::mtime(&f.dir.join("submission.json")));
                let fresh = last_change.is_some_and(|t| {
                    Utc::now().signed_duration_since(t).to_std().unwrap_or(Duration::ZERO) < LOST_AFTER
                });
                (if fresh { AttemptState::Running } else { AttemptState::Lost }, None)
            }
        },
    };
    if !matches!(state, AttemptState::Running) {
        // The wrapper removes it when the driver ends; not when it was killed outright.
        fsutil::remove_file_opt(&f.dir.join(job_env::SECRETS_FILE))?;
    }
    let started = fsutil::read_opt(&f.started())
        .ok()
        .flatten()
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| fsutil::mtime(&f.pid()));
    let exit_code = match state {
        AttemptState::Exited(c) => Some(c),
        _ => None,
    };
    let failed = exit_code.is_some_and(|c| c != 0);
    let log = driver_log::inspect(&f.driver_log(), failed, exit_code);
    let error_line = match (&state, log.error_line) {
        (_, Some(l)) => Some(l),
        (AttemptState::Exited(-1), None) => {
            Some("the driver stopped without recording an exit code (killed, or the machine restarted)".into())
        }
        _ => None,
    };
    let results = match state {
        AttemptState::Exited(_) => f.read_results(),
        _ => Results::new(),
    };
    Ok(Some(AttemptObservation {
        state,
        started,
        finished,
        spark_application_id: log.app_id,
        web_ui_url: log.web_ui_url,
        error_line,
        outputs_dir: f.outputs(),
        event_log: f.event_log(),
        spark_metrics: f.read_spark_metrics(),
        results,
        driver_log: f.driver_log(),
    }))
}

pub(crate) async fn kill(attempt_dir: &Path) -> Result<(), RuntimeError> {
    let f = AttemptFiles::new(attempt_dir);
    if !f.dir.is_dir() {
        return Ok(());
    }
    // Written before the pid is read, while the wrapper writes its pid before it checks this
    // file: one of the two sides always sees the other, so a driver cannot slip through.
    if !f.cancelled().exists() {
        fsutil::write_atomic(&f.cancelled(), Utc::now().to_rfc3339().as_bytes())?;
    }
    let Some(pid) = process::read_pidfile(&f.pid()) else {
        return fsutil::remove_file_opt(&f.dir.join(job_env::SECRETS_FILE));
    };
    process::stop_group(pid, &f.marker(), KILL_GRACE).await?;
    fsutil::remove_file_opt(&f.dir.join(job_env::SECRETS_FILE))?;
    if f.read_exitcode().is_none() {
        // SIGKILL took the wrapper too: record the kill so the attempt reads as ended by it.
        fsutil::write_atomic(&f.exitcode(), format!("{KILLED_EXIT_CODE}\n").as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::quantity::Memory;
    use std::collections::BTreeMap;

    fn sub(dir: &Path) -> JobSubmission {
        JobSubmission {
            job: "pi".into(),
            cluster: "demo".into(),
            submission_id: "sub-1".into(),
            attempt: 1,
            master_url: "spark://127.0.0.1:7077".into(),
            main_application_file: PathBuf::from("/apps/main.py"),
            arguments: vec!["$(rm -rf /)".into(), "a b".into()],
            files: vec![],
            py_files: vec![PathBuf::from("/apps/a.py"), PathBuf::from("/apps/b.zip")],
            spark_conf: BTreeMap::from([("spark.x".to_string(), "1 2".to_string())]),
            env: vec![],
            secrets: vec![],
            deps: None,
            driver_cores: 1,
            driver_memory: Memory::new("512m"),
            executor_instances: 2,
            executor_cores: 1,
            executor_memory: Memory::new("1g"),
            attempt_dir: dir.to_path_buf(),
        }
    }

    #[test]
    fn argv_is_positional_and_complete() {
        let s = sub(Path::new("/tmp/a"));
        let args: Vec<String> =
            submit_args(&s, &[]).expect("args").iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let joined = args.join("|");
        assert!(joined.contains("--total-executor-cores|2"));
        assert!(joined.contains("--executor-memory|1024m"));
        assert!(joined.contains("--conf|spark.x=1 2"));
        assert!(joined.ends_with("--py-files|/apps/a.py,/apps/b.zip|/apps/main.py|$(rm -rf /)|a b"));
        let mut bad = s.clone();
        bad.spark_conf.insert("a=b".into(), "c".into());
        assert!(submit_args(&bad, &[]).is_err());
    }

    #[tokio::test]
    async fn attempts_read_from_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("attempt");
        assert_eq!(observe(&dir).await.expect("observe"), None);
        std::fs::create_dir_all(dir.join("outputs")).expect("mkdir");
        // Fresh and no pid yet: the submission is in flight.
        let o = observe(&dir).await.expect("observe").expect("some");
        assert_eq!(o.state, AttemptState::Running);
        // A live pid that is not ours (this test process carries no marker), no exit code.
        std::fs::write(dir.join("pid"), std::process::id().to_string()).expect("write");
        let o = observe(&dir).await.expect("observe").expect("some");
        assert_eq!(o.state, AttemptState::Exited(-1));
        assert!(o.error_line.is_some());
        std::fs::write(dir.join("exitcode"), "0\n").expect("write");
        std::fs::write(dir.join("outputs/results.json"), r#"{"rmse": 4.9, "n": 3}"#).expect("write");
        let o = observe(&dir).await.expect("observe").expect("some");
        assert_eq!(o.state, AttemptState::Exited(0));
        assert_eq!(o.results.get("n"), Some(&serde_json::json!(3)));
        assert!(o.finished.is_some());
        std::fs::write(dir.join("outputs/results.json"), "[1]").expect("write");
        let o = observe(&dir).await.expect("observe").expect("some");
        assert!(o.results.is_empty());
        assert!(kill(&dir).await.is_ok());
        assert!(kill(&tmp.path().join("none")).await.is_ok());
    }

    #[tokio::test]
    async fn the_wrapper_records_pid_and_exit_code_and_never_evaluates_arguments() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let f = AttemptFiles::new(tmp.path());
        let canary = tmp.path().join("canary");
        let evil = format!("$(touch {})", canary.display());
        let pid = process::spawn_detached(Spawn {
            program: Path::new("/bin/sh"),
            args: vec![
                OsStr::new("-c"),
                OsStr::new(WRAPPER_SCRIPT),
                OsStr::new(WRAPPER_NAME),
                f.dir.as_os_str(),
                OsStr::new("/bin/sh"),
                OsStr::new("-c"),
                OsStr::new("echo \"$1\"; exit 3"),
                OsStr::new("inner"),
                OsStr::new(&evil),
            ],
            envs: vec![],
            cwd: tmp.path(),
            log: &f.driver_log(),
        })
        .expect("spawn");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while f.read_exitcode().is_none() {
            assert!(tokio::time::Instant::now() < deadline, "no exit code");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(f.read_exitcode(), Some(3));
        assert_eq!(process::read_pidfile(&f.pid()), Some(pid));
        assert!(!canary.exists());
        let log = std::fs::read_to_string(f.driver_log()).expect("log");
        assert!(log.contains(&evil));
    }
}
