//! What the operator keeps that is not status: events, generations, the job ledger, the
//! operator lock, per-attempt logs and outputs. Everything lives under one state directory
//! (default `.sparkswarm/` beside `manifests/`).

pub mod atomic;
pub mod events;
pub mod generations;
pub mod ledger;
pub mod lock;

use std::path::{Path, PathBuf};

use crate::api::Kind;

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The default place: `.sparkswarm/` beside the manifests directory.
    pub fn default_for(manifests: &Path) -> PathBuf {
        let abs = std::path::absolute(manifests).unwrap_or_else(|_| manifests.to_path_buf());
        abs.parent().unwrap_or(Path::new(".")).join(".sparkswarm")
    }

    /// Opens (without creating) a state directory; readers such as `get` use this.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    /// Opens a state directory, creating it: the operator uses this.
    pub fn create(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        Ok(StateDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn events_file(&self, kind: &str, name: &str) -> PathBuf {
        self.root.join("events").join(kind.to_ascii_lowercase()).join(format!("{name}.jsonl"))
    }

    pub fn generations_file(&self) -> PathBuf {
        self.root.join("generations.json")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("operator.lock")
    }

    pub fn job_dir(&self, name: &str) -> PathBuf {
        self.root.join("jobs").join(name)
    }

    pub fn attempt_dir(&self, job: &str, attempt: u32) -> PathBuf {
        self.job_dir(job).join("attempts").join(attempt.to_string())
    }

    pub fn object_key(kind: Kind, name: &str) -> String {
        format!("{}/{}", kind.as_str(), name)
    }
}
