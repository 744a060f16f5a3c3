//! The reflector: the last-known view of every manifest file, indexed by object. Events
//! update it; reconciles use it to find where an object lives (and re-read the file), and a
//! job reads its cluster from it as a typed value.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use std::sync::Arc;

use serde::Deserialize as _;

use crate::api::cluster::SparkCluster;
use crate::api::job::{SparkJob, SparkJobStatus};
use crate::api::Kind;
use crate::manifest::document::{ManifestFile, ParseError};

/// What gets reconciled: an object by kind and name, or a document that has no usable
/// identity (no kind or no name) but still deserves a `Valid=False` status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Object(Kind, String),
    Document(PathBuf, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocSummary {
    pub index: usize,
    pub kind: Option<Kind>,
    pub name: Option<String>,
    pub hash: String,
    /// For jobs: the cluster they reference, so a cluster's change can wake its jobs.
    pub cluster_ref: Option<String>,
    /// For jobs: their `dependsOn`, so a job's change can wake its downstream jobs.
    pub depends_on: Vec<String>,
    /// Claims to be one of ours (apiVersion or kind), so it gets a status even if invalid.
    pub ours: bool,
    /// For a schedule's runs: the schedule.
    pub owner: Option<String>,
}

#[derive(Debug, Clone)]
struct FileView {
    docs: Vec<DocSummary>,
    /// The clusters of this file, by document index, with the status last written.
    clusters: Vec<(usize, Arc<SparkCluster>)>,
    /// The jobs of this file, likewise: what their downstream jobs read.
    jobs: Vec<(usize, Arc<SparkJob>)>,
    error: Option<ParseError>,
    stamp: Option<(SystemTime, u64)>,
}

#[derive(Debug, Default)]
pub struct Store {
    files: BTreeMap<PathBuf, FileView>,
    index: HashMap<(Kind, String), BTreeSet<(PathBuf, usize)>>,
    /// SparkJob documents by each name in their `dependsOn`: whom a job's change may wake,
    /// found without walking every job (a reconcile of each of 10,000 jobs must not).
    dependents: HashMap<String, BTreeSet<(PathBuf, usize)>>,
}

pub fn summarize(file: &ManifestFile) -> Vec<DocSummary> {
    file.docs
        .iter()
        .map(|d| {
            let kind = d.kind().and_then(Kind::from_kind_field);
            let api = d.value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("");
            DocSummary {
                index: d.index,
                kind,
                name: d.name().map(str::to_string),
                hash: d.generation_hash(),
                cluster_ref: d.value.pointer("/spec/clusterRef").and_then(|v| v.as_str()).map(str::to_string),
                depends_on: d
                    .value
                    .pointer("/spec/dependsOn")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
                ours: kind.is_some() || api.starts_with(crate::api::GROUP),
                owner: d
                    .value
                    .pointer("/metadata/ownerReferences")
                    .and_then(|v| v.as_array())
                    .and_then(|a| a.iter().find(|o| o.get("kind").and_then(|k| k.as_str()) == Some("SparkSchedule")))
                    .and_then(|o| o.get("name")?.as_str())
                    .map(str::to_string),
            }
        })
        .collect()
}

/// The documents that are SparkClusters and deserialize as one (an invalid one is not
/// typed: its jobs see it as not ready).
fn typed_clusters(file: &ManifestFile) -> Vec<(usize, Arc<SparkCluster>)> {
    file.docs
        .iter()
        .filter(|d| d.kind() == Some(Kind::SparkCluster.as_str()))
        .filter_map(|d| SparkCluster::deserialize(&d.value).ok().map(|c| (d.index, Arc::new(c))))
        .collect()
}

/// The documents that are SparkJobs and deserialize as one, with their status when it
/// fits (an upstream without a readable status counts as not finished).
fn typed_jobs(file: &ManifestFile) -> Vec<(usize, Arc<SparkJob>)> {
    file.docs
        .iter()
        .filter(|d| d.kind() == Some(Kind::SparkJob.as_str()))
        .filter_map(|d| {
            // From the document as it is, status and all, when that status fits (nearly
            // always): no copy of the value.
            if let Ok(job) = SparkJob::deserialize(&d.value) {
                return Some((d.index, Arc::new(job)));
            }
            let mut v = d.value.clone();
            let status = v.as_object_mut().and_then(|m| m.remove("status"));
            let mut job = serde_json::from_value::<SparkJob>(v).ok()?;
            job.status = status.and_then(|s| serde_json::from_value::<SparkJobStatus>(s).ok());
            Some((d.index, Arc::new(job)))
        })
        .collect()
}

/// The names a job document's `dependsOn` lists (none for other documents).
fn dependencies(d: &DocSummary) -> impl Iterator<Item = &String> {
    let job = d.kind == Some(Kind::SparkJob) && d.name.is_some();
    d.depends_on.iter().filter(move |_| job)
}

pub fn stamp_of(path: &Path) -> Option<(SystemTime, u64)> {
    let md = std::fs::metadata(path).ok()?;
    Some((md.modified().ok()?, md.len()))
}

/// A file's new view, made before the store's lock is taken: the summaries (a hash per
/// document) and the typed objects are the costly part, and every reconcile waits on that
/// lock.
pub struct Update {
    stamp: Option<(SystemTime, u64)>,
    content: Content,
}

enum Content {
    Gone,
    Broken(Box<ParseError>),
    Read { docs: Vec<DocSummary>, clusters: Vec<(usize, Arc<SparkCluster>)>, jobs: Vec<(usize, Arc<SparkJob>)> },
}

impl Update {
    pub fn of(path: &Path, parsed: Option<&Result<ManifestFile, ParseError>>) -> Update {
        let stamp = stamp_of(path);
        let content = match parsed {
            None => Content::Gone,
            Some(Err(error)) => Content::Broken(Box::new(error.clone())),
            Some(Ok(file)) => {
                Content::Read { docs: summarize(file), clusters: typed_clusters(file), jobs: typed_jobs(file) }
            }
        };
        Update { stamp, content }
    }
}

impl Store {
    /// Records a file's new content (`None`: the file is gone) and returns the keys whose
    /// documents changed. A file that no longer parses keeps its last good documents: the
    /// user may be in the middle of an edit, and their cluster must not vanish meanwhile.
    pub fn update(&mut self, path: &Path, parsed: Option<&Result<ManifestFile, ParseError>>) -> Vec<Key> {
        self.apply(path, Update::of(path, parsed))
    }

    /// [`Self::update`] with the new view already made ([`Update::of`], outside the lock).
    pub fn apply(&mut self, path: &Path, update: Update) -> Vec<Key> {
        let Update { stamp, content } = update;
        let (old, new) = match content {
            Content::Gone => (self.files.remove(path).map(|f| f.docs).unwrap_or_default(), Vec::new()),
            Content::Broken(error) => {
                let view = self.files.entry(path.to_path_buf()).or_insert(FileView {
                    docs: vec![],
                    clusters: vec![],
                    jobs: vec![],
                    error: None,
                    stamp,
                });
                view.error = Some(*error);
                view.stamp = stamp;
                return Vec::new();
            }
            Content::Read { docs, clusters, jobs } => {
                let view = FileView { docs: docs.clone(), clusters, jobs, error: None, stamp };
                (self.files.insert(path.to_path_buf(), view).map(|f| f.docs).unwrap_or_default(), docs)
            }
        };
        if old == new {
            // The echo of a status write, a touch: the indexes are built from the summaries.
            return Vec::new();
        }
        let mut changed = BTreeSet::new();
        for d in &old {
            if let (Some(k), Some(n)) = (d.kind, &d.name) {
                if let Some(set) = self.index.get_mut(&(k, n.clone())) {
                    set.remove(&(path.to_path_buf(), d.index));
                    if set.is_empty() {
                        self.index.remove(&(k, n.clone()));
                    }
                }
            }
            for dep in dependencies(d) {
                if let Some(set) = self.dependents.get_mut(dep) {
                    set.remove(&(path.to_path_buf(), d.index));
                    if set.is_empty() {
                        self.dependents.remove(dep);
                    }
                }
            }
        }
        for d in &new {
            if let (Some(k), Some(n)) = (d.kind, &d.name) {
                self.index.entry((k, n.clone())).or_default().insert((path.to_path_buf(), d.index));
            }
            for dep in dependencies(d) {
                self.dependents.entry(dep.clone()).or_default().insert((path.to_path_buf(), d.index));
            }
        }
        let key_of = |d: &DocSummary| match (d.kind, &d.name) {
            (Some(k), Some(n)) => Some(Key::Object(k, n.clone())),
            _ if d.ours => Some(Key::Document(path.to_path_buf(), d.index)),
            _ => None,
        };
        for d in new.iter() {
            let same = old.iter().any(|o| o == d);
            if !same {
                changed.extend(key_of(d));
            }
        }
        for o in old.iter() {
            if !new.iter().any(|d| d == o) {
                changed.extend(key_of(o));
            }
        }
        changed.into_iter().collect()
    }

    /// Records a new stamp for a file whose documents are known not to have changed.
    pub fn touch(&mut self, path: &Path) {
        if let Some(f) = self.files.get_mut(path) {
            f.stamp = stamp_of(path);
        }
    }

    /// Where an object is written, in path order: the first is the one that counts.
    pub fn locations(&self, kind: Kind, name: &str) -> Vec<(PathBuf, usize)> {
        self.index.get(&(kind, name.to_string())).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.keys().cloned().collect()
    }

    pub fn stamp(&self, path: &Path) -> Option<(SystemTime, u64)> {
        self.files.get(path).and_then(|f| f.stamp)
    }

    pub fn parse_error(&self, path: &Path) -> Option<&ParseError> {
        self.files.get(path).and_then(|f| f.error.as_ref())
    }

    /// A file that does not parse and never did (e.g. broken when the operator started):
    /// it may hold any object, so no object can be declared deleted while it exists.
    pub fn unknown_file(&self) -> Option<&ParseError> {
        self.files.values().find(|f| f.docs.is_empty() && f.error.is_some()).and_then(|f| f.error.as_ref())
    }

    pub fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self.index.keys().map(|(k, n)| Key::Object(*k, n.clone())).collect();
        for (path, f) in &self.files {
            for d in &f.docs {
                if (d.kind.is_none() || d.name.is_none()) && d.ours {
                    keys.push(Key::Document(path.clone(), d.index));
                }
            }
        }
        keys
    }

    pub fn names(&self, kind: Kind) -> Vec<String> {
        let mut v: Vec<String> = self.index.keys().filter(|(k, _)| *k == kind).map(|(_, n)| n.clone()).collect();
        v.sort();
        v
    }

    /// The SparkJobs a user wrote (a schedule's runs are not).
    pub fn user_job_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .files
            .values()
            .flat_map(|f| f.docs.iter())
            .filter(|d| d.kind == Some(Kind::SparkJob) && d.owner.is_none())
            .filter_map(|d| d.name.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The cluster as its winning document declares it, with the status last written.
    pub fn cluster(&self, name: &str) -> Option<Arc<SparkCluster>> {
        let (path, index) = self.locations(Kind::SparkCluster, name).into_iter().next()?;
        let file = self.files.get(&path)?;
        file.clusters.iter().find(|(i, _)| *i == index).map(|(_, c)| c.clone())
    }

    /// Records the status just written into a cluster's document (the echo of that write is
    /// not parsed again).
    pub fn set_cluster(&mut self, path: &Path, index: usize, cluster: Arc<SparkCluster>) {
        if let Some(file) = self.files.get_mut(path) {
            match file.clusters.iter_mut().find(|(i, _)| *i == index) {
                Some(slot) => slot.1 = cluster,
                None => file.clusters.push((index, cluster)),
            }
        }
    }

    /// The job as its winning document declares it, with the status last written.
    pub fn job(&self, name: &str) -> Option<Arc<SparkJob>> {
        let (path, index) = self.locations(Kind::SparkJob, name).into_iter().next()?;
        let file = self.files.get(&path)?;
        file.jobs.iter().find(|(i, _)| *i == index).map(|(_, j)| j.clone())
    }

    /// Records the status just written into a job's document.
    pub fn set_job(&mut self, path: &Path, index: usize, job: Arc<SparkJob>) {
        if let Some(file) = self.files.get_mut(path) {
            match file.jobs.iter_mut().find(|(i, _)| *i == index) {
                Some(slot) => slot.1 = job,
                None => file.jobs.push((index, job)),
            }
        }
    }

    /// The `dependsOn` of a job's winning document; None: no such job.
    fn deps_of(&self, name: &str) -> Option<Vec<String>> {
        let (path, index) = self.locations(Kind::SparkJob, name).into_iter().next()?;
        Some(
            self.files
                .get(&path)
                .and_then(|f| f.docs.iter().find(|d| d.index == index))
                .map(|d| d.depends_on.clone())
                .unwrap_or_default(),
        )
    }

    /// The part of the `dependsOn` graph reachable from `name`: every job it reaches (by its
    /// winning document) and its `dependsOn`. Names that are no job are not keys.
    pub fn job_graph_from(&self, name: &str) -> BTreeMap<String, Vec<String>> {
        let mut graph = BTreeMap::new();
        let mut queue = VecDeque::from([name.to_string()]);
        let mut seen = BTreeSet::new();
        while let Some(at) = queue.pop_front() {
            if !seen.insert(at.clone()) {
                continue;
            }
            let Some(deps) = self.deps_of(&at) else { continue };
            queue.extend(deps.iter().filter(|d| !seen.contains(*d)).cloned());
            graph.insert(at, deps);
        }
        graph
    }

    /// Jobs whose `dependsOn` (of their winning document) names this one.
    pub fn downstream_of(&self, job: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        for (path, index) in self.dependents.get(job).into_iter().flatten() {
            let doc = self.files.get(path).and_then(|f| f.docs.iter().find(|d| d.index == *index));
            let Some(name) = doc.and_then(|d| d.name.as_ref()) else { continue };
            let winner = self.index.get(&(Kind::SparkJob, name.clone())).and_then(|s| s.iter().next());
            if winner == Some(&(path.clone(), *index)) {
                out.insert(name.clone());
            }
        }
        out.into_iter().collect()
    }

    /// Jobs that reference this cluster (by their winning document).
    pub fn jobs_of(&self, cluster: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        for f in self.files.values() {
            for d in &f.docs {
                if d.kind == Some(Kind::SparkJob) && d.cluster_ref.as_deref() == Some(cluster) {
                    out.extend(d.name.clone());
                }
            }
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::parse;

    fn job(name: &str, deps: &[&str]) -> String {
        format!(
            "kind: SparkJob\nmetadata: {{name: {name}}}\nspec: {{clusterRef: c, dependsOn: [{}]}}\n",
            deps.join(", ")
        )
    }

    fn put(store: &mut Store, path: &str, docs: &[String]) {
        let p = Path::new(path);
        let file = parse(p, &docs.join("---\n")).expect("parse");
        store.update(p, Some(&Ok(file)));
    }

    #[test]
    fn graph_from_a_job_and_its_downstream_follow_the_winning_documents() {
        let mut s = Store::default();
        put(&mut s, "/m/a.yaml", &[job("a", &[]), job("b", &["a", "x"])]);
        put(&mut s, "/m/c.yaml", &[job("c", &["b"]), job("d", &["c", "a"])]);
        put(&mut s, "/m/e.yaml", &[job("e", &["e"])]);
        // A later duplicate of b: it loses, and its dependsOn counts for nothing.
        put(&mut s, "/m/z.yaml", &[job("b", &["e"])]);
        let g = s.job_graph_from("d");
        let want: BTreeMap<String, Vec<String>> =
            [("a", vec![]), ("b", vec!["a", "x"]), ("c", vec!["b"]), ("d", vec!["c", "a"])]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
                .collect();
        assert_eq!(g, want, "x is no job, so it is no key; e is not reachable");
        assert_eq!(s.job_graph_from("e").get("e"), Some(&vec!["e".to_string()]));
        assert!(s.job_graph_from("nope").is_empty());
        assert_eq!(s.downstream_of("a"), ["b", "d"]);
        assert_eq!(s.downstream_of("b"), ["c"]);
        assert!(s.downstream_of("e").iter().all(|n| n != "b"), "the losing b is nobody's downstream");
        assert_eq!(s.downstream_of("e"), ["e"]);

        // An edit that drops a dependency, then the file's removal.
        put(&mut s, "/m/c.yaml", &[job("c", &["b"]), job("d", &["c"])]);
        assert_eq!(s.downstream_of("a"), ["b"]);
        s.update(Path::new("/m/a.yaml"), None);
        assert_eq!(s.downstream_of("a"), Vec::<String>::new());
        // With the first b gone, the one in z.yaml wins.
        assert_eq!(s.downstream_of("e"), ["b", "e"]);
        assert_eq!(s.job_graph_from("c").get("b"), Some(&vec!["e".to_string()]));
    }
}
