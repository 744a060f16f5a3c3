//! What a schedule keeps beside its status: its ledger (the scheduled times it handled,
//! missed runs, the trigger served) and its runs, SparkJob documents written under
//! `runs/SCHEDULE/` so that the user's `manifests/` holds only what the user wrote.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{atomic, component, StateDir};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleLedger {
    /// The digest of the spec the times below were counted with: an edit restarts the
    /// count at the edit, so that it takes effect at the next tick of the new schedule.
    #[serde(default)]
    pub spec_hash: String,
    /// Scheduled times after this one are due (set when the schedule or its spec is new).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// The latest scheduled time handled: run, or skipped and counted.
    #[serde(default)]
    pub last_schedule_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_successful_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub missed_runs: u64,
    /// The trigger annotation's value last served.
    #[serde(default)]
    pub last_trigger: Option<String>,
}

impl ScheduleLedger {
    pub fn load(state: &StateDir, schedule: &str) -> std::io::Result<ScheduleLedger> {
        Ok(atomic::read_json(&state.schedule_ledger(schedule))?.unwrap_or_default())
    }

    pub fn save(&self, state: &StateDir, schedule: &str) -> std::io::Result<()> {
        atomic::write_json(&state.schedule_ledger(schedule), self)
    }
}

impl StateDir {
    pub fn schedule_ledger(&self, schedule: &str) -> PathBuf {
        self.root.join("schedules").join(format!("{}.json", component(schedule)))
    }

    /// Where a schedule's runs are written.
    pub fn runs_dir(&self, schedule: &str) -> PathBuf {
        self.root.join("runs").join(component(schedule))
    }

    pub fn run_file(&self, schedule: &str, run: &str) -> PathBuf {
        self.runs_dir(schedule).join(format!("{}.yaml", component(run)))
    }

    /// Every run file of every schedule, in path order.
    pub fn all_run_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(dirs) = std::fs::read_dir(self.root.join("runs")) else { return out };
        for d in dirs.flatten() {
            out.extend(yaml_files(&d.path()));
        }
        out.sort();
        out
    }

    /// The run files of one schedule, in path order.
    pub fn run_files(&self, schedule: &str) -> Vec<PathBuf> {
        yaml_files(&self.runs_dir(schedule))
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml") && !is_temp(p))
        .collect();
    out.sort();
    out
}

fn is_temp(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_live_under_the_state_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::at(dir.path());
        let f = state.run_file("nightly", "nightly-20261201-030000");
        assert_eq!(f, dir.path().join("runs/nightly/nightly-20261201-030000.yaml"));
        atomic::write(&f, b"kind: SparkJob\n").expect("write");
        atomic::write(&state.run_file("other", "other-manual-20261201-030000"), b"x").expect("write");
        assert_eq!(state.run_files("nightly"), std::slice::from_ref(&f));
        assert_eq!(state.all_run_files().len(), 2);
        let mut l = ScheduleLedger::load(&state, "nightly").expect("load");
        assert_eq!(l, ScheduleLedger::default());
        l.missed_runs = 3;
        l.save(&state, "nightly").expect("save");
        assert_eq!(ScheduleLedger::load(&state, "nightly").expect("load").missed_runs, 3);
        assert!(state.run_file("../x", "y").starts_with(dir.path().join("runs")));
    }
}
