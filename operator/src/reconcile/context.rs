//! What every reconcile shares: where things are, the reflector, the recorders, the
//! runtimes, and the channel to hint other objects.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::api::job::JobPhase;
use crate::controller::store::{Key, Store};
use crate::controller::Hint;
use crate::manifest::paths::Roots;
use crate::runtime::local::LocalRuntime;
use crate::runtime::swarm::SwarmRuntime;
use crate::state::events::Recorder;
use crate::state::generations::Generations;
use crate::state::StateDir;

pub struct Context {
    pub manifests: PathBuf,
    pub state: StateDir,
    pub roots: Roots,
    pub store: Mutex<Store>,
    pub generations: Mutex<Generations>,
    pub events: Recorder,
    pub local: LocalRuntime,
    pub swarm: SwarmRuntime,
    pub hints: mpsc::UnboundedSender<Hint<Key>>,
    /// The phase each job's status shows, for metrics and `run --exit-when-done`.
    pub job_phases: Mutex<HashMap<String, JobPhase>>,
}

/// A poisoned lock only means another reconcile panicked mid-update of in-memory
/// bookkeeping; the data is still the best we have, and the panic was already reported.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Context {
    pub fn hint(&self, key: Key) {
        let _ = self.hints.send(Hint::Now(key));
    }

    pub fn set_job_phase(&self, name: &str, phase: Option<JobPhase>) {
        let counts = {
            let mut phases = lock(&self.job_phases);
            match phase {
                Some(p) => phases.insert(name.to_string(), p),
                None => phases.remove(name),
            };
            let mut counts: HashMap<&'static str, i64> = HashMap::new();
            for p in [JobPhase::Pending, JobPhase::Submitted, JobPhase::Running, JobPhase::Succeeded, JobPhase::Failed, JobPhase::Suspended] {
                counts.insert(p.as_str(), 0);
            }
            for p in phases.values() {
                *counts.entry(p.as_str()).or_default() += 1;
            }
            counts.into_iter().collect::<Vec<_>>()
        };
        crate::metrics::set_jobs_by_phase(&counts);
    }
}
