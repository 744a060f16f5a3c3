//! Events, as `kubectl describe` shows them: type, reason, message, how often, since when.
//! One JSON line per event in the state directory; a repeat of the previous event of an
//! object appends the same event with a higher count, and readers keep the latest line.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub type_: EventType,
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub first_timestamp: DateTime<Utc>,
    pub last_timestamp: DateTime<Utc>,
}

impl Event {
    fn same_as(&self, other: &Event) -> bool {
        self.type_ == other.type_ && self.reason == other.reason && self.message == other.message
    }
}

/// Records events for objects. Cheap to share; appends are serialised per process.
#[derive(Debug)]
pub struct Recorder {
    state: StateDir,
    last: Mutex<HashMap<(String, String), Event>>,
}

impl Recorder {
    pub fn new(state: StateDir) -> Self {
        Recorder { state, last: Mutex::new(HashMap::new()) }
    }

    pub fn normal(&self, kind: &str, name: &str, reason: &str, message: impl Into<String>) {
        self.record(kind, name, EventType::Normal, reason, message.into());
    }

    pub fn warning(&self, kind: &str, name: &str, reason: &str, message: impl Into<String>) {
        self.record(kind, name, EventType::Warning, reason, message.into());
    }

    pub fn record(&self, kind: &str, name: &str, type_: EventType, reason: &str, message: String) {
        let now = Utc::now();
        let mut event =
            Event { type_, reason: reason.to_string(), message, count: 1, first_timestamp: now, last_timestamp: now };
        let path = self.state.events_file(kind, name);
        let mut last = self.last.lock();
        let key = (kind.to_string(), name.to_string());
        let previous = last.get(&key).cloned().or_else(|| read(&path).pop());
        if let Some(prev) = previous.filter(|p| p.same_as(&event)) {
            event.count = prev.count.saturating_add(1);
            event.first_timestamp = prev.first_timestamp;
        }
        tracing::event!(
            tracing::Level::INFO,
            object = %format!("{kind}/{name}"),
            event_type = type_.as_str(),
            reason,
            count = event.count,
            "{}",
            event.message
        );
        if let Err(e) = append(&path, &event) {
            tracing::warn!(path = %path.display(), error = %e, "cannot record event");
        }
        last.insert(key, event);
    }

    /// Forgets an object's events (it was deleted).
    pub fn forget(&self, kind: &str, name: &str) {
        self.last.lock().remove(&(kind.to_string(), name.to_string()));
        let _ = std::fs::remove_file(self.state.events_file(kind, name));
    }
}

fn append(path: &Path, event: &Event) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&line)
}

/// An object's events, oldest first, repeats folded into their latest count.
pub fn read(path: &Path) -> Vec<Event> {
    let Ok(text) = std::fs::read_to_string(path) else { return vec![] };
    let mut out: Vec<Event> = Vec::new();
    for line in text.lines() {
        let Ok(ev) = serde_json::from_str::<Event>(line) else { continue };
        match out.last_mut() {
            Some(prev) if prev.same_as(&ev) && prev.first_timestamp == ev.first_timestamp => *prev = ev,
            _ => out.push(ev),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_counted_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path());
        let rec = Recorder::new(state.clone());
        rec.warning("SparkJob", "a", "ClusterNotFound", "cluster demo not found");
        rec.warning("SparkJob", "a", "ClusterNotFound", "cluster demo not found");
        // A new recorder (an operator restart) continues the count from the file.
        let rec2 = Recorder::new(state.clone());
        rec2.warning("SparkJob", "a", "ClusterNotFound", "cluster demo not found");
        rec2.normal("SparkJob", "a", "Submitted", "attempt 1");
        let evs = read(&state.events_file("SparkJob", "a"));
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].count, 3);
        assert_eq!(evs[0].reason, "ClusterNotFound");
        assert_eq!(evs[1].reason, "Submitted");
        assert_eq!(evs[1].count, 1);
    }
}
