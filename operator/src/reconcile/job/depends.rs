//! `dependsOn` (pure): whether the upstream jobs let this one run, which of their runs it
//! would consume, and whether the graph is sound (every job exists, no cycle).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::job::{InputRun, JobName, JobPhase, Results, SparkJob};

/// An upstream job as the store holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Upstream {
    pub phase: JobPhase,
    pub attempts: u32,
    pub completion_time: Option<chrono::DateTime<chrono::Utc>>,
    pub message: Option<String>,
    pub results: Results,
    pub outputs_dir: Option<String>,
}

impl Upstream {
    pub fn of(job: &SparkJob) -> Upstream {
        let s = job.status.clone().unwrap_or_default();
        Upstream {
            phase: s.phase,
            attempts: s.attempts,
            completion_time: s.completion_time,
            message: s.message,
            results: s.results,
            outputs_dir: s.outputs_dir,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Deps {
    /// Every upstream Succeeded: the runs this job's next attempt consumes (empty without
    /// `dependsOn`).
    Ready(BTreeMap<String, InputRun>),
    /// These have not finished (or are not known yet).
    Waiting(Vec<String>),
    /// This one Failed.
    Failed { job: String, message: String },
}

pub fn evaluate(depends_on: &[JobName], upstreams: &BTreeMap<String, Upstream>) -> Deps {
    let mut inputs = BTreeMap::new();
    let mut waiting = Vec::new();
    for name in depends_on {
        let name = &name.0;
        match upstreams.get(name) {
            Some(u) if u.phase == JobPhase::Failed => {
                return Deps::Failed {
                    job: name.clone(),
                    message: u.message.clone().unwrap_or_else(|| "Failed".into()),
                }
            }
            Some(Upstream { phase: JobPhase::Succeeded, attempts, completion_time: Some(at), .. }) => {
                inputs.insert(name.clone(), InputRun { attempt: *attempts, completion_time: *at });
            }
            _ => waiting.push(name.clone()),
        }
    }
    if waiting.is_empty() {
        Deps::Ready(inputs)
    } else {
        Deps::Waiting(waiting)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
pub enum GraphError {
    /// The index into `dependsOn` and the name that no job has.
    DependencyNotFound(usize, String),
    /// The jobs on the cycle, starting and ending with this one.
    DependencyCycle(Vec<String>),
}

impl GraphError {
    pub fn reason(&self) -> &'static str {
        self.into()
    }

    pub fn message(&self) -> String {
        match self {
            GraphError::DependencyNotFound(_, name) => format!("SparkJob {name:?} not found in this directory"),
            GraphError::DependencyCycle(path) => format!("dependency cycle: {}", path.join(" -> ")),
        }
    }
}

/// Checks `name`'s edges in the graph of every job (name → its `dependsOn`): each named
/// job exists, and no path leads back to `name`.
pub fn check_graph(name: &str, graph: &BTreeMap<String, Vec<String>>) -> Vec<GraphError> {
    let mut errors = Vec::new();
    let own = graph.get(name).cloned().unwrap_or_default();
    for (i, d) in own.iter().enumerate() {
        if !graph.contains_key(d) {
            errors.push(GraphError::DependencyNotFound(i, d.clone()));
        }
    }
    if let Some(cycle) = cycle_through(name, graph) {
        errors.push(GraphError::DependencyCycle(cycle));
    }
    errors
}

/// A shortest path name → … → name, if any (breadth first, so the cycle named is short
/// and always the same one).
fn cycle_through(name: &str, graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue = std::collections::VecDeque::from([name]);
    while let Some(at) = queue.pop_front() {
        for next in graph.get(at).into_iter().flatten() {
            if next == name {
                let mut path = vec![name.to_string()];
                let mut back = at;
                let mut rev = vec![];
                while back != name {
                    rev.push(back.to_string());
                    back = parent.get(back).copied().unwrap_or(name);
                }
                path.extend(rev.into_iter().rev());
                path.push(name.to_string());
                return Some(path);
            }
            if seen.insert(next.as_str()) {
                parent.insert(next.as_str(), at);
                queue.push_back(next.as_str());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn names(v: &[&str]) -> Vec<JobName> {
        v.iter().map(|s| JobName(s.to_string())).collect()
    }

    fn up(phase: JobPhase, attempts: u32, secs: Option<i64>) -> Upstream {
        Upstream {
            phase,
            attempts,
            completion_time: secs.map(|s| chrono::Utc.timestamp_opt(s, 0).unwrap()),
            message: Some("boom".into()),
            ..Default::default()
        }
    }

    #[test]
    fn ready_when_every_upstream_succeeded_with_the_runs_consumed() {
        let ups = BTreeMap::from([
            ("a".to_string(), up(JobPhase::Succeeded, 2, Some(100))),
            ("b".to_string(), up(JobPhase::Succeeded, 1, Some(50))),
        ]);
        let Deps::Ready(inputs) = evaluate(&names(&["a", "b"]), &ups) else { panic!() };
        assert_eq!(inputs["a"].attempt, 2);
        assert_eq!(inputs["b"].completion_time.timestamp(), 50);
        assert_eq!(evaluate(&[], &ups), Deps::Ready(BTreeMap::new()));
    }

    #[test]
    fn a_failed_upstream_fails_and_an_unfinished_one_waits() {
        let ups = BTreeMap::from([
            ("a".to_string(), up(JobPhase::Running, 1, None)),
            ("b".to_string(), up(JobPhase::Failed, 1, Some(5))),
        ]);
        assert_eq!(evaluate(&names(&["a", "b"]), &ups), Deps::Failed { job: "b".into(), message: "boom".into() });
        assert_eq!(evaluate(&names(&["a", "c"]), &ups), Deps::Waiting(vec!["a".into(), "c".into()]));
    }

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges.iter().map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn cycles_are_named_and_missing_jobs_found() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a", "x"]), ("d", &["a"]), ("s", &["s"])]);
        assert_eq!(
            check_graph("a", &g),
            vec![GraphError::DependencyCycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])]
        );
        assert_eq!(
            check_graph("c", &g),
            vec![
                GraphError::DependencyNotFound(1, "x".into()),
                GraphError::DependencyCycle(vec!["c".into(), "a".into(), "b".into(), "c".into()])
            ]
        );
        // Downstream of a cycle, but not on it: its upstream is the invalid one.
        assert_eq!(check_graph("d", &g), vec![]);
        assert_eq!(check_graph("s", &g)[0].message(), "dependency cycle: s -> s");
        assert_eq!(check_graph("a", &g)[0].reason(), "DependencyCycle");
    }
}
