//! What the operator keeps that is not status: events, generations, the job ledger, the
//! operator lock, per-attempt logs and outputs. Everything lives under one state directory
//! (default `.sparkswarm/` beside `manifests/`).

pub mod atomic;
pub mod events;
pub mod generations;
pub mod ledger;
pub mod lock;
pub mod schedules;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::api::meta::is_dns1123_label;
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
        let file = format!("{}.jsonl", component(name));
        self.root.join("events").join(component(&kind.to_ascii_lowercase())).join(file)
    }

    pub fn generations_file(&self) -> PathBuf {
        self.root.join("generations.json")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("operator.lock")
    }

    pub fn job_dir(&self, name: &str) -> PathBuf {
        self.root.join("jobs").join(component(name))
    }

    pub fn attempt_dir(&self, job: &str, attempt: u32) -> PathBuf {
        self.job_dir(job).join("attempts").join(attempt.to_string())
    }

    pub fn object_key(kind: Kind, name: &str) -> String {
        format!("{}/{}", kind.as_str(), name)
    }
}

/// The one path component a name becomes. Validation refuses a name that is not a DNS-1123
/// label, but its events are still recorded and `describe` or `logs` may still be asked for
/// it; such a name must never become a path (`../../x`, `/tmp/x`), so it is replaced by its
/// digest: the same component for the same name, inside the directory, and never a label
/// (`~` is not allowed in one), so it cannot collide with a valid name.
fn component(name: &str) -> String {
    if is_dns1123_label(name) {
        name.to_string()
    } else {
        format!("~{}", &hex::encode(Sha256::digest(name.as_bytes()))[..32])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_never_built_from_an_invalid_name() {
        let state = StateDir::at("/state");
        assert_eq!(state.events_file("SparkJob", "demo"), Path::new("/state/events/sparkjob/demo.jsonl"));
        assert_eq!(state.job_dir("demo"), Path::new("/state/jobs/demo"));
        assert_eq!(state.attempt_dir("demo", 2), Path::new("/state/jobs/demo/attempts/2"));
        for bad in ["../../x", "/tmp/x", "..", ".", "a/b", "", "x\0y", "Demo", "job.yaml#0", &"a".repeat(64)] {
            for path in [state.events_file("SparkJob", bad), state.job_dir(bad), state.attempt_dir(bad, 1)] {
                let rel = path.strip_prefix("/state").expect("inside the state dir");
                assert!(
                    rel.components().all(|c| matches!(c, std::path::Component::Normal(_))),
                    "{bad:?} -> {}",
                    path.display()
                );
            }
            let name = state.job_dir(bad).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            assert!(name.starts_with('~') && name.len() == 33, "{bad:?} -> {name}");
            assert_ne!(state.job_dir(bad), state.job_dir("other-bad/"), "distinct");
        }
        assert!(state.events_file("../k", "a").starts_with("/state/events/"));
    }
}
