//! `deps` on swarm (and digitalocean, whose jobs this runtime runs): built on this machine
//! with its own pip, for the image's interpreter, from platform wheels only: Python 3.11
//! (Debian bookworm's, in `images/spark`), CPython, x86_64, glibc 2.36. No image build, no
//! container: the tree is uploaded with the attempt's files (`job`), so a job with cached
//! deps needs no network but the engine's.

use crate::runtime::pydeps::{self, DepsRequest, PreparedDeps, PythonTarget};
use crate::runtime::RuntimeError;

/// The Python of `images/spark` (both Dockerfiles: Debian bookworm's python3).
pub const IMAGE_PYTHON: &str = "3.11";
/// The manylinux tags bookworm's glibc (2.36) runs, newest first, as pip wants them.
const PLATFORMS: [&str; 6] = [
    "manylinux_2_36_x86_64",
    "manylinux_2_34_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
];

/// What the image runs, built by this machine's `python3 -m pip` (or `$SPARKSWARM_PYTHON`).
pub fn image_target() -> PythonTarget {
    let python = std::env::var_os("SPARKSWARM_PYTHON").filter(|v| !v.is_empty()).unwrap_or_else(|| "python3".into());
    let mut pip_args = vec![
        "--only-binary=:all:".to_string(),
        "--implementation".into(),
        "cp".into(),
        "--python-version".into(),
        IMAGE_PYTHON.into(),
    ];
    for p in PLATFORMS {
        pip_args.push("--platform".into());
        pip_args.push(p.into());
    }
    PythonTarget {
        python: IMAGE_PYTHON.into(),
        platform: "manylinux_2_36_x86_64".into(),
        pip_python: python.into(),
        pip_args,
    }
}

pub async fn prepare(state_dir: &std::path::Path, req: &DepsRequest) -> Result<PreparedDeps, RuntimeError> {
    pydeps::ensure(&pydeps::cache_root(state_dir), &image_target(), &req.requirements).await
}
