//! A job's `deps`: pip-installed once per content hash into `<state dir>/deps/<hash>/site`,
//! for the Python a runtime's cluster runs, and reused by every later job with the same
//! requirements (no network then). The runtimes ship `site` with the job and put it on the
//! driver's and the executors' `PYTHONPATH`.
//!
//! Layout of one entry: `site/` (pip's `--target`), `report.json` (pip's install report),
//! `lock.json` (the [`DepsStatus`]), `done` (written last: an entry without it is an
//! interrupted build and is redone). `<hash>.lock` next to it is held (flock) while the
//! entry is checked or built, so that concurrent jobs with the same deps build it once.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::RuntimeError;
use crate::api::job::DepsStatus;

/// Bumped when the layout or the pip invocation changes what an entry holds.
const FORMAT: &str = "sparkswarm-deps-1";

/// The Python a runtime builds for, and the pip that builds for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonTarget {
    /// `major.minor`, as the status shows it.
    pub python: String,
    /// The wheel platform tag (`linux_x86_64` for a local interpreter, `manylinux…` for an
    /// image's).
    pub platform: String,
    /// The interpreter whose `-m pip` runs the build.
    pub pip_python: PathBuf,
    /// Extra `pip install` options (`--platform`, `--python-version`, `--only-binary`).
    pub pip_args: Vec<String>,
}

/// What a job asks for: its requirement lines, `requirements` and the file's merged.
#[derive(Debug, Clone, PartialEq)]
pub struct DepsRequest {
    pub cluster: String,
    pub requirements: Vec<String>,
}

/// A built entry: `site` goes on the PYTHONPATH, `lock` into the status.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedDeps {
    pub site: PathBuf,
    pub lock: DepsStatus,
}

/// The lines pip reads, in a canonical form: surrounding blanks and comments dropped,
/// duplicates removed, sorted (their order does not change what pip installs).
pub fn normalize(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .flat_map(|l| l.lines())
        .map(|l| match l.find(" #") {
            Some(i) => &l[..i],
            None => l,
        })
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `sha256:` over the normalized requirements, the Python version and the platform.
pub fn hash(requirements: &[String], target: &PythonTarget) -> String {
    let mut h = Sha256::new();
    for part in [FORMAT, &target.python, &target.platform] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    for l in normalize(requirements) {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Where entries are kept.
pub fn cache_root(state_dir: &Path) -> PathBuf {
    state_dir.join("deps")
}

/// The built entry for `requirements`, building it first when there is none. Lines of the
/// build go to the operator's log (`tracing`), tagged with the hash.
pub async fn ensure(
    cache: &Path,
    target: &PythonTarget,
    requirements: &[String],
) -> Result<PreparedDeps, RuntimeError> {
    let hash = hash(requirements, target);
    let short = hash.trim_start_matches("sha256:")[..16].to_string();
    let entry = cache.join(&short);
    std::fs::create_dir_all(cache).map_err(RuntimeError::io(format!("creating {}", cache.display())))?;
    let lock_path = cache.join(format!("{short}.lock"));
    // Held until the end of this function: a concurrent build of the same deps waits here.
    let _lock = lock(lock_path).await?;
    if let Some(lock) = read_done(&entry) {
        tracing::info!(deps = %short, "deps from the cache");
        return Ok(PreparedDeps { site: entry.join("site"), lock });
    }
    crate::runtime::local::fsutil::remove_dir_all_opt(&entry)?;
    std::fs::create_dir_all(&entry).map_err(RuntimeError::io(format!("creating {}", entry.display())))?;
    let reqs = normalize(requirements);
    let req_file = entry.join("requirements.txt");
    std::fs::write(&req_file, reqs.join("\n") + "\n")
        .map_err(RuntimeError::io(format!("writing {}", req_file.display())))?;
    tracing::info!(deps = %short, python = %target.python, platform = %target.platform, "building deps: {}", reqs.join(" "));
    let t = std::time::Instant::now();
    let report = entry.join("report.json");
    let mut args: Vec<OsString> = vec![
        "-m".into(),
        "pip".into(),
        "install".into(),
        "--disable-pip-version-check".into(),
        "--no-input".into(),
        "--root-user-action=ignore".into(),
        "--progress-bar".into(),
        "off".into(),
        "--target".into(),
        entry.join("site").into(),
        "--report".into(),
        report.clone().into(),
    ];
    args.extend(target.pip_args.iter().map(OsString::from));
    args.push("-r".into());
    args.push(req_file.into());
    run_pip(&target.pip_python, &args, &short).await?;
    let text = std::fs::read_to_string(&report).map_err(RuntimeError::io(format!("reading {}", report.display())))?;
    let packages = packages_of_report(&text).map_err(RuntimeError::DepsFailed)?;
    let lock = DepsStatus { hash, python: target.python.clone(), packages };
    let json = serde_json::to_vec_pretty(&lock).map_err(|e| RuntimeError::DepsFailed(e.to_string()))?;
    crate::runtime::local::fsutil::write_atomic(&entry.join("lock.json"), &json)?;
    crate::runtime::local::fsutil::write_atomic(&entry.join("done"), b"")?;
    tracing::info!(deps = %short, packages = lock.packages.len(), took = ?t.elapsed(), "deps built");
    Ok(PreparedDeps { site: entry.join("site"), lock })
}

fn read_done(entry: &Path) -> Option<DepsStatus> {
    if !entry.join("done").is_file() || !entry.join("site").is_dir() {
        return None;
    }
    let text = std::fs::read_to_string(entry.join("lock.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// An exclusive flock on `path`, taken on a blocking thread (it waits for another build).
async fn lock(path: PathBuf) -> Result<nix::fcntl::Flock<std::fs::File>, RuntimeError> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(RuntimeError::io(format!("opening {}", path.display())))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| RuntimeError::IoError {
            what: format!("locking {}", path.display()),
            source: std::io::Error::from(e),
        })
    })
    .await
    .map_err(|e| RuntimeError::ProcessError(format!("waiting for the deps lock: {e}")))?
}

/// Every installed distribution of pip's `--report`, as `name==version`, sorted.
pub fn packages_of_report(text: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("pip's install report: {e}"))?;
    let mut out: Vec<String> = v
        .get("install")
        .and_then(|i| i.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let m = i.get("metadata")?;
                    Some(format!("{}=={}", m.get("name")?.as_str()?, m.get("version")?.as_str()?))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|p| p.to_ascii_lowercase());
    Ok(out)
}

/// pip's own line for why it failed: its first `ERROR:` line, else the last line it wrote.
pub fn error_line(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("ERROR:"))
        .or_else(|| lines.iter().map(|l| l.trim()).rfind(|l| !l.is_empty()))
        .unwrap_or("pip failed without a message")
        .to_string()
}

/// pip's lines worth showing in the operator's log (the rest is chatter).
fn is_progress_line(line: &str) -> bool {
    ["Collecting", "Downloading", "Installing", "Successfully", "Using cached", "Looking in", "Building"]
        .iter()
        .any(|p| line.starts_with(p))
}

async fn run_pip(python: &Path, args: &[OsString], short: &str) -> Result<(), RuntimeError> {
    let mut child = tokio::process::Command::new(python)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RuntimeError::DepsFailed(format!("cannot run {} -m pip: {e}", python.display())))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(RuntimeError::ProcessError("pip: no output pipes".into()));
    };
    let short_err = short.to_string();
    let errors = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut kept = VecDeque::new();
        while let Ok(Some(l)) = lines.next_line().await {
            if l.trim_start().starts_with("ERROR:") {
                tracing::warn!(deps = %short_err, "pip: {}", l.trim());
            }
            if kept.len() == 50 {
                kept.pop_front();
            }
            kept.push_back(l);
        }
        kept
    });
    let mut out = BufReader::new(stdout).lines();
    while let Ok(Some(l)) = out.next_line().await {
        let t = l.trim();
        if is_progress_line(t) {
            tracing::info!(deps = %short, "pip: {t}");
        }
    }
    let kept: Vec<String> = errors.await.unwrap_or_default().into();
    let status = child.wait().await.map_err(RuntimeError::io("waiting for pip"))?;
    if status.success() {
        Ok(())
    } else {
        Err(RuntimeError::DepsFailed(error_line(&kept)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(python: &str, platform: &str) -> PythonTarget {
        PythonTarget {
            python: python.into(),
            platform: platform.into(),
            pip_python: "python3".into(),
            pip_args: vec![],
        }
    }

    #[test]
    fn the_hash_is_of_the_content_not_its_layout() {
        let t = target("3.11", "linux_x86_64");
        let a = hash(&["pandas>=2.2".into(), "tabulate==0.9.0".into()], &t);
        let b = hash(&["# pinned\ntabulate==0.9.0\n\n".into(), "  pandas>=2.2 # any".into()], &t);
        assert_eq!(a, b);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        assert_ne!(a, hash(&["pandas>=2.3".into(), "tabulate==0.9.0".into()], &t));
        assert_ne!(a, hash(&["pandas>=2.2".into(), "tabulate==0.9.0".into()], &target("3.12", "linux_x86_64")));
        assert_ne!(a, hash(&["pandas>=2.2".into(), "tabulate==0.9.0".into()], &target("3.11", "manylinux2014_x86_64")));
    }

    #[test]
    fn the_lock_is_read_from_pips_report() {
        let report = r#"{"version": "1", "install": [
            {"metadata": {"name": "tabulate", "version": "0.9.0"}},
            {"metadata": {"name": "Msgpack", "version": "1.1.0"}}]}"#;
        assert_eq!(packages_of_report(report).unwrap(), vec!["Msgpack==1.1.0", "tabulate==0.9.0"]);
        assert!(packages_of_report("{").is_err());
    }

    #[test]
    fn pips_own_error_line_is_the_message() {
        let lines: Vec<String> = [
            "Looking in indexes: https://pypi.org/simple",
            "ERROR: Could not find a version that satisfies the requirement nope==9 (from versions: none)",
            "ERROR: No matching distribution found for nope==9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(
            error_line(&lines).starts_with("ERROR: Could not find a version that satisfies the requirement nope==9")
        );
        assert_eq!(error_line(&["boom".into(), "".into()]), "boom");
    }

    #[tokio::test]
    async fn concurrent_builds_of_one_entry_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = lock(path.clone()).await.unwrap();
        let other = || std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        assert!(nix::fcntl::Flock::lock(other(), nix::fcntl::FlockArg::LockExclusiveNonblock).is_err());
        drop(first);
        assert!(nix::fcntl::Flock::lock(other(), nix::fcntl::FlockArg::LockExclusiveNonblock).is_ok());
    }
}
