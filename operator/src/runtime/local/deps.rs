//! `deps` on the local runtime: built with the pip of the local Spark's own Python (the venv
//! the drivers and executors run), for that interpreter's version and platform.

use std::path::Path;

use super::LocalRuntime;
use crate::runtime::pydeps::{self, DepsRequest, PreparedDeps, PythonTarget};
use crate::runtime::RuntimeError;

/// Prints `major.minor` and the platform of the interpreter that runs it.
const PROBE_PY: &str = "import sys, sysconfig; print('%d.%d' % sys.version_info[:2], sysconfig.get_platform())";

/// The interpreter's version and wheel platform tag (`linux-x86_64` → `linux_x86_64`).
pub(crate) async fn target_of(python: &Path) -> Result<PythonTarget, RuntimeError> {
    let out = tokio::process::Command::new(python)
        .args(["-c", PROBE_PY])
        .output()
        .await
        .map_err(|e| RuntimeError::DepsFailed(format!("cannot run {}: {e}", python.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    match (out.status.success(), words.next(), words.next()) {
        (true, Some(version), Some(platform)) => Ok(PythonTarget {
            python: version.to_string(),
            platform: platform.replace(['-', '.'], "_"),
            pip_python: python.to_path_buf(),
            pip_args: Vec::new(),
        }),
        _ => Err(RuntimeError::DepsFailed(format!(
            "{} did not say its version: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

pub(crate) async fn prepare(rt: &LocalRuntime, req: &DepsRequest) -> Result<PreparedDeps, RuntimeError> {
    let dist = rt.spark().await?;
    let target = rt.python_target.get_or_try_init(|| target_of(&dist.python)).await?;
    pydeps::ensure(&pydeps::cache_root(rt.state_dir()), target, &req.requirements).await
}
