//! Generations: a file has no server to count spec changes, so the operator counts them.
//! A changed hash of spec + annotations bumps the generation; status writes, comments and
//! formatting do not. The record also remembers what deleting an object must undo.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{atomic, StateDir};
use crate::api::RuntimeKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub hash: String,
    pub generation: u64,
    pub created: DateTime<Utc>,
    /// For clusters: `Retain` means deleting the file leaves the cluster running.
    #[serde(default)]
    pub retain: bool,
    /// For clusters: the runtime that holds what this object created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeKind>,
}

#[derive(Debug)]
pub struct Generations {
    path: std::path::PathBuf,
    records: BTreeMap<String, Record>,
    dirty: bool,
}

impl Generations {
    pub fn load(state: &StateDir) -> std::io::Result<Generations> {
        let path = state.generations_file();
        let records = atomic::read_json(&path)?.unwrap_or_default();
        Ok(Generations { path, records, dirty: false })
    }

    /// Returns the generation for this content, bumping it when the hash changed.
    pub fn observe(&mut self, key: &str, hash: &str) -> &Record {
        let now = Utc::now();
        let rec = self.records.entry(key.to_string()).or_insert_with(|| {
            self.dirty = true;
            Record { hash: hash.to_string(), generation: 1, created: now, retain: false, runtime: None }
        });
        if rec.hash != hash {
            rec.hash = hash.to_string();
            rec.generation += 1;
            self.dirty = true;
        }
        rec
    }

    pub fn get(&self, key: &str) -> Option<&Record> {
        self.records.get(key)
    }

    pub fn set_owner(&mut self, key: &str, runtime: RuntimeKind, retain: bool) {
        if let Some(rec) = self.records.get_mut(key) {
            if rec.runtime != Some(runtime) || rec.retain != retain {
                rec.runtime = Some(runtime);
                rec.retain = retain;
                self.dirty = true;
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Record> {
        let rec = self.records.remove(key);
        self.dirty |= rec.is_some();
        rec
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.records.keys()
    }

    /// The records to persist, if anything changed since they last were: a copy, so that
    /// the caller writes them without holding whatever guards this (every reconcile
    /// observes its generation through it, and the write syncs the disk). Taken once per
    /// batch, not per object, so that loading 10,000 files writes the file once.
    pub fn take_changes(&mut self) -> Option<Changes> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        Some(Changes { path: self.path.clone(), records: self.records.clone() })
    }

    /// The changes taken could not be written: the next flush writes them.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }
}

/// A copy of the records, to be written.
pub struct Changes {
    path: std::path::PathBuf,
    records: BTreeMap<String, Record>,
}

impl Changes {
    pub fn write(&self) -> std::io::Result<()> {
        atomic::write_json(&self.path, &self.records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_hash_bumps_and_it_survives_reload() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path());
        let mut g = Generations::load(&state).unwrap();
        assert_eq!(g.observe("SparkJob/a", "h1").generation, 1);
        assert_eq!(g.observe("SparkJob/a", "h1").generation, 1);
        assert_eq!(g.observe("SparkJob/a", "h2").generation, 2);
        g.take_changes().expect("new records to write").write().unwrap();
        assert!(g.take_changes().is_none(), "nothing new since");
        let mut again = Generations::load(&state).unwrap();
        assert_eq!(again.observe("SparkJob/a", "h2").generation, 2);
        assert_eq!(again.observe("SparkJob/a", "h3").generation, 3);
    }
}
