//! Where Spark comes from: `SPARK_HOME`, or a pinned `pyspark` installed into a venv on first
//! use (the pip package ships a complete Spark: `bin/spark-submit`, `jars/`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::fsutil;
use crate::runtime::RuntimeError;

/// The pyspark installed when no `SPARK_HOME` is given. Pinned so that every machine runs
/// the same Spark and a status's `sparkVersion` means something.
pub const PYSPARK_VERSION: &str = "4.0.1";

/// Overrides where the venv lives (default `<state_dir>/spark`), so that tests and CI share
/// one install instead of building the 430 MB pyspark sdist per state directory.
pub const SPARK_CACHE_ENV: &str = "SPARKSWARM_SPARK_CACHE";
/// Extra pip `--find-links` (CI pre-downloads the wheels there).
pub const PIP_FIND_LINKS_ENV: &str = "SPARKSWARM_PIP_FIND_LINKS";

/// Written last into a finished venv: a venv without it (or with another version) is an
/// interrupted or outdated install and is redone.
const MARKER_FILE: &str = ".sparkswarm-pyspark-version";

/// A usable Spark distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkDist {
    /// SPARK_HOME: holds `bin/spark-submit`, `bin/spark-class` and `jars/`.
    pub home: PathBuf,
    pub version: String,
    /// The Python that runs drivers and executors (PYSPARK_PYTHON).
    pub python: PathBuf,
}

impl SparkDist {
    pub fn spark_submit(&self) -> PathBuf {
        self.home.join("bin").join("spark-submit")
    }

    pub fn spark_class(&self) -> PathBuf {
        self.home.join("bin").join("spark-class")
    }
}

/// Where the venv is kept for this state directory: `$SPARKSWARM_SPARK_CACHE` when set,
/// else `<state_dir>/spark`.
pub fn cache_dir(state_dir: &Path) -> PathBuf {
    match std::env::var_os(SPARK_CACHE_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => state_dir.join("spark"),
    }
}

/// Finds Spark, installing the pinned pyspark under [`cache_dir`] when there is no
/// `SPARK_HOME`. `progress` receives human-readable lines while installing.
pub async fn ensure(state_dir: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<SparkDist, RuntimeError> {
    ensure_in(&cache_dir(state_dir), progress).await
}

/// [`ensure`] with an explicit cache directory (the venv is `<cache>/venv`).
pub async fn ensure_in(cache: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<SparkDist, RuntimeError> {
    find_java()?;
    if let Some(home) = std::env::var_os("SPARK_HOME").filter(|v| !v.is_empty()).map(PathBuf::from) {
        if home.join("bin").join("spark-submit").is_file() {
            let python = std::env::var_os("PYSPARK_PYTHON")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("python3"));
            let version = detect_version(&home)?;
            return Ok(SparkDist { home, version, python });
        }
        let msg =
            format!("SPARK_HOME={} has no bin/spark-submit; using pyspark {PYSPARK_VERSION} instead", home.display());
        tracing::warn!("{msg}");
        progress(&msg);
    }
    venv_dist(cache, progress).await
}

/// The Java that Spark's launcher scripts will use: `$JAVA_HOME/bin/java`, else `java` on
/// PATH. Checked up front because without it every daemon dies with a cryptic log.
pub fn find_java() -> Result<PathBuf, RuntimeError> {
    if let Some(jh) = std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()) {
        let java = PathBuf::from(jh).join("bin").join("java");
        if java.is_file() {
            return Ok(java);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let java = dir.join("java");
            if java.is_file() {
                return Ok(java);
            }
        }
    }
    Err(RuntimeError::SparkUnavailable(
        "no Java runtime found: install a JDK 17 or newer (java on PATH) or set JAVA_HOME".into(),
    ))
}

/// The Spark version of a distribution: `RELEASE` (binary tarballs), the spark-core jar's
/// name (any layout with `jars/`), or pyspark's `version.py` (pip installs).
pub fn detect_version(home: &Path) -> Result<String, RuntimeError> {
    if let Some(release) = fsutil::read_head(&home.join("RELEASE"), 4096) {
        // "Spark 3.5.1 built for Hadoop 3.3.4"
        let mut words = release.split_whitespace();
        if words.next() == Some("Spark") {
            if let Some(v) = words.next() {
                return Ok(v.to_string());
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(home.join("jars")) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(v) = spark_core_jar_version(&name) {
                return Ok(v);
            }
        }
    }
    for p in [home.join("version.py"), home.join("python").join("pyspark").join("version.py")] {
        if let Some(text) = fsutil::read_head(&p, 4096) {
            if let Some(v) = version_py(&text) {
                return Ok(v);
            }
        }
    }
    Err(RuntimeError::SparkUnavailable(format!("cannot tell the Spark version of {}", home.display())))
}

/// `spark-core_2.13-4.0.1.jar` → `4.0.1`.
fn spark_core_jar_version(name: &str) -> Option<String> {
    let rest = name.strip_prefix("spark-core_")?.strip_suffix(".jar")?;
    let (_scala, version) = rest.split_once('-')?;
    version.starts_with(|c: char| c.is_ascii_digit()).then(|| version.to_string())
}

/// `__version__: str = '4.0.1'` (or `__version__ = "3.5.1"`) → the version.
fn version_py(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.trim_start().starts_with("__version__"))?;
    let value = line.split_once('=')?.1.trim();
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    (!v.is_empty()).then(|| v.to_string())
}

/// Serialises installs within this process; the file lock below does it across processes
/// (test binaries, a CLI next to the operator).
static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn venv_dist(cache: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<SparkDist, RuntimeError> {
    let venv = cache.join("venv");
    if let Some(d) = installed(&venv) {
        return Ok(d);
    }
    let _in_process = INSTALL.lock().await;
    std::fs::create_dir_all(cache).map_err(RuntimeError::io(format!("creating {}", cache.display())))?;
    let lock_path = cache.join("install.lock");
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(RuntimeError::io(format!("opening {}", lock_path.display())))?;
    // flock blocks: keep it off the async workers.
    let _lock = tokio::task::spawn_blocking(move || {
        nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, errno)| errno)
    })
    .await
    .map_err(|e| RuntimeError::ProcessError(format!("waiting for the install lock: {e}")))?
    .map_err(|errno| RuntimeError::IoError {
        what: format!("locking {}", lock_path.display()),
        source: errno.into(),
    })?;
    // Someone else may have finished while we waited for the lock.
    if let Some(d) = installed(&venv) {
        return Ok(d);
    }
    install(cache, &venv, progress).await?;
    installed(&venv).ok_or_else(|| {
        RuntimeError::SparkUnavailable(format!("pyspark was installed into {} but is not usable there", venv.display()))
    })
}

/// A complete venv: the marker says our version, and pyspark's Spark is inside.
fn installed(venv: &Path) -> Option<SparkDist> {
    let marker = fsutil::read_head(&venv.join(MARKER_FILE), 256)?;
    if marker.trim() != PYSPARK_VERSION {
        return None;
    }
    let home = find_pyspark(venv)?;
    let version = detect_version(&home).ok()?;
    Some(SparkDist { home, version, python: venv.join("bin").join("python") })
}

/// `<venv>/lib/pythonX.Y/site-packages/pyspark`, holding `bin/spark-submit`.
fn find_pyspark(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    std::fs::read_dir(&lib).ok()?.flatten().find_map(|e| {
        let home = e.path().join("site-packages").join("pyspark");
        home.join("bin").join("spark-submit").is_file().then_some(home)
    })
}

async fn install(cache: &Path, venv: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<(), RuntimeError> {
    // Installed under another name and renamed at the end, so that a venv at the final path
    // is always complete; leftovers of an interrupted install are thrown away first.
    let partial = cache.join("venv.partial");
    fsutil::remove_dir_all_opt(&partial)?;
    fsutil::remove_dir_all_opt(venv)?;
    progress(&format!("installing pyspark {PYSPARK_VERSION} into {} (first use only)", venv.display()));
    let python = std::env::var_os("SPARKSWARM_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    run_streaming(
        &python,
        &["-m".as_ref(), "venv".as_ref(), partial.as_os_str()],
        progress,
        "creating the Python venv (is python3 with the venv module installed?)",
    )
    .await?;
    // `python -m pip` rather than `bin/pip`: the venv is renamed afterwards and the pip
    // script's shebang would still name the old path.
    let venv_python = partial.join("bin").join("python");
    let spec = format!("pyspark=={PYSPARK_VERSION}");
    let mut args: Vec<std::ffi::OsString> = vec![
        "-m".into(),
        "pip".into(),
        "install".into(),
        "--disable-pip-version-check".into(),
        "--progress-bar".into(),
        "off".into(),
    ];
    if let Some(links) = std::env::var_os(PIP_FIND_LINKS_ENV).filter(|v| !v.is_empty()) {
        args.push("--find-links".into());
        args.push(links);
    }
    args.push(spec.into());
    args.push("numpy".into());
    let arg_refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    run_streaming(&venv_python, &arg_refs, progress, "installing pyspark with pip").await?;
    fsutil::write_atomic(&partial.join(MARKER_FILE), PYSPARK_VERSION.as_bytes())?;
    std::fs::rename(&partial, venv).map_err(RuntimeError::io(format!(
        "renaming {} to {}",
        partial.display(),
        venv.display()
    )))?;
    progress(&format!("pyspark {PYSPARK_VERSION} is installed"));
    Ok(())
}

/// pip's lines worth showing (the rest is build chatter and progress bars).
fn is_progress_line(line: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "Collecting",
        "Downloading",
        "Installing",
        "Building",
        "Successfully",
        "Processing",
        "Using cached",
        "Looking in",
        "Requirement already satisfied",
    ];
    PREFIXES.iter().any(|p| line.starts_with(p))
}

fn push_bounded(tail: &mut std::collections::VecDeque<String>, line: String) {
    if tail.len() == 20 {
        tail.pop_front();
    }
    tail.push_back(line);
}

/// Runs a command to completion, passing its interesting output lines to `progress`; on
/// failure the error holds the last lines of its output.
async fn run_streaming(
    program: &Path,
    args: &[&std::ffi::OsStr],
    progress: &(dyn Fn(&str) + Sync),
    what: &str,
) -> Result<(), RuntimeError> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RuntimeError::SparkUnavailable(format!("{what}: cannot run {}: {e}", program.display())))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(RuntimeError::ProcessError(format!("{what}: no output pipes")));
    };
    // pip reports progress on stdout and problems on stderr: stderr is only kept for the error.
    let stderr_tail = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut tail = std::collections::VecDeque::new();
        while let Ok(Some(l)) = lines.next_line().await {
            push_bounded(&mut tail, l);
        }
        tail
    });
    let mut out = BufReader::new(stdout).lines();
    let mut last = std::collections::VecDeque::new();
    while let Ok(Some(l)) = out.next_line().await {
        let t = l.trim();
        if is_progress_line(t) {
            progress(t);
        }
        push_bounded(&mut last, l);
    }
    last.extend(stderr_tail.await.unwrap_or_default());
    let status = child.wait().await.map_err(RuntimeError::io(format!("{what}: waiting for {}", program.display())))?;
    if status.success() {
        Ok(())
    } else {
        let tail: Vec<String> = last.into_iter().collect();
        Err(RuntimeError::SparkUnavailable(format!("{what} failed ({status}): {}", tail.join("\n"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(spark_core_jar_version("spark-core_2.13-4.0.1.jar").as_deref(), Some("4.0.1"));
        assert_eq!(spark_core_jar_version("spark-core_2.12-3.5.1.jar").as_deref(), Some("3.5.1"));
        assert_eq!(spark_core_jar_version("spark-catalyst_2.13-4.0.1.jar"), None);
        assert_eq!(version_py("__version__: str = '4.0.1'\n").as_deref(), Some("4.0.1"));
        assert_eq!(version_py("x = 1\n__version__ = \"3.5.1\"\n").as_deref(), Some("3.5.1"));
    }

    #[test]
    fn release_file_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("RELEASE"), "Spark 3.5.1 built for Hadoop 3.3.4\n").expect("write");
        assert_eq!(detect_version(dir.path()).ok().as_deref(), Some("3.5.1"));
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(detect_version(empty.path()).is_err());
    }

    #[test]
    fn an_unmarked_venv_is_not_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("lib/python3.11/site-packages/pyspark");
        std::fs::create_dir_all(home.join("bin")).expect("mkdir");
        std::fs::create_dir_all(home.join("jars")).expect("mkdir");
        std::fs::write(home.join("bin/spark-submit"), "").expect("write");
        std::fs::write(home.join("jars/spark-core_2.13-4.0.1.jar"), "").expect("write");
        assert_eq!(installed(dir.path()), None);
        std::fs::write(dir.path().join(MARKER_FILE), "3.0.0").expect("write");
        assert_eq!(installed(dir.path()), None);
        std::fs::write(dir.path().join(MARKER_FILE), PYSPARK_VERSION).expect("write");
        let d = installed(dir.path()).expect("installed");
        assert_eq!(d.home, home);
        assert_eq!(d.version, "4.0.1");
    }
}
