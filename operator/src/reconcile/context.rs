//! What every reconcile shares: where things are, the reflector, the recorders, the
//! runtimes, and the channel to hint other objects.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use tokio::sync::mpsc;

use crate::api::job::JobPhase;
use crate::controller::store::{Key, Store};
use crate::controller::Hint;
use crate::manifest::paths::Roots;
use crate::manifest::status_write::StatusWriter;
use crate::reconcile::job::end_watch::EndWatches;
use crate::runtime::Runtimes;
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
    /// The one writer of statuses into the user's files.
    pub status: Arc<StatusWriter>,
    pub runtimes: Runtimes,
    pub hints: mpsc::UnboundedSender<Hint<Key>>,
    /// The phase each job's status shows, for metrics and `run --exit-when-done`.
    pub job_phases: Mutex<HashMap<String, JobPhase>>,
    /// The running attempts whose end is awaited as an event.
    pub end_watches: EndWatches,
}

impl Context {
    pub fn hint(&self, key: Key) {
        let _ = self.hints.send(Hint::Now(key));
    }

    /// Records a job's phase and updates the jobs-by-phase gauge incrementally, under the
    /// same lock, so concurrent reconciles can neither publish a stale count nor pay for a
    /// full recount each.
    /// `ran`: for a finished job, how long it ran (start to completion).
    pub fn set_job_phase(&self, name: &str, phase: Option<JobPhase>, ran: Option<std::time::Duration>) {
        let mut phases = self.job_phases.lock();
        let old = match phase {
            Some(p) => phases.insert(name.to_string(), p),
            None => phases.remove(name),
        };
        if old == phase {
            return;
        }
        crate::metrics::job_phase_changed(old, phase, ran);
        if let Some(o) = old {
            crate::metrics::add_jobs_in_phase(o.as_str(), -1);
        }
        if let Some(p) = phase {
            crate::metrics::add_jobs_in_phase(p.as_str(), 1);
        }
    }
}
