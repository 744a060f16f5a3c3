//! What ties a job to the others in its directory: the `dependsOn` graph and expansions
//! checked (Valid=False naming the field), the upstream jobs read from the store, and the
//! downstream jobs woken when this one's status changes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::api::expansion;
use crate::api::job::{JobPhase, SparkJob, SparkJobSpec, SparkJobStatus};
use crate::api::Kind;
use crate::controller::store::Key;
use crate::manifest::document::Document;
use crate::manifest::paths::Roots;
use crate::manifest::validate::FieldError;
use crate::reconcile::context::Context;
use crate::reconcile::invalid::describe_errors;

use super::depends::{self, GraphError, Upstream};

/// Graph errors (a missing job, a cycle through this one) and expansion errors.
pub fn errors(
    name: &str,
    path: &Path,
    doc: &Document,
    spec: &SparkJobSpec,
    graph: &BTreeMap<String, Vec<String>>,
) -> Vec<FieldError> {
    let field = |pointer: String, reason: &str, message: String| FieldError {
        path: path.to_path_buf(),
        line: doc.line_of(&pointer),
        field: pointer.trim_start_matches('/').replace('/', "."),
        message,
        reason: reason.to_string(),
    };
    let mut out: Vec<FieldError> = depends::check_graph(name, graph)
        .into_iter()
        .map(|e| {
            let pointer = match &e {
                GraphError::DependencyNotFound(i, _) => format!("/spec/dependsOn/{i}"),
                GraphError::DependencyCycle(_) => "/spec/dependsOn".to_string(),
            };
            field(pointer, e.reason(), e.message())
        })
        .collect();
    out.extend(expansion::check(spec).into_iter().map(|(p, m)| field(p, "InvalidExpansion", m)));
    out
}

/// The upstream jobs of `dependsOn` the store knows, by name.
pub fn upstreams(ctx: &Context, spec: &SparkJobSpec) -> BTreeMap<String, Upstream> {
    let store = ctx.store.lock();
    spec.depends_on.iter().filter_map(|d| store.job(&d.0).map(|j| (d.0.clone(), Upstream::of(&j)))).collect()
}

/// The allowed roots plus the upstream jobs' outputs directories.
pub fn roots_with_outputs(roots: &Roots, upstreams: &BTreeMap<String, Upstream>) -> Roots {
    let mut all = roots.0.clone();
    for u in upstreams.values() {
        if let Some(dir) = u.outputs_dir.as_deref().and_then(|d| std::fs::canonicalize(d).ok()) {
            if !all.contains(&dir) {
                all.push(dir);
            }
        }
    }
    Roots(all)
}

/// Records the status just written in the store and, when what a downstream job reads of
/// it changed, wakes those jobs. "Changed" is judged against the status this reconcile
/// started from (`previous`) as well as the store's: the echo of the write may have reached
/// the store first (the manager re-reads its own writes), and must not hide the change.
pub fn publish(ctx: &Context, path: &Path, index: usize, job: SparkJob, previous: Option<&SparkJobStatus>) {
    let name = job.metadata.name.clone();
    let owner = job.metadata.schedule_owner().map(str::to_string);
    let changed = {
        let mut store = ctx.store.lock();
        let before = store.job(&name).map(|j| Upstream::of(&j));
        let after = Upstream::of(&job);
        let started_from = Upstream::of(&SparkJob { status: previous.cloned(), ..job.clone() });
        store.set_job(path, index, Arc::new(job));
        before != Some(after.clone()) || started_from != after
    };
    if changed {
        wake_downstream(ctx, &name);
        // A schedule lists its runs' phases and results and prunes finished ones.
        if let Some(owner) = owner {
            ctx.hint(Key::Object(Kind::SparkSchedule, owner));
        }
    }
}

/// An invalid job can never succeed: its downstream jobs see it as Failed.
pub fn publish_invalid(ctx: &Context, path: &Path, index: usize, job: &SparkJob, errors: &[FieldError]) {
    let mut status = job.status.clone().unwrap_or_default();
    status.phase = JobPhase::Failed;
    status.message = Some(format!("Valid=False: {}", describe_errors(errors).1));
    publish(ctx, path, index, SparkJob { status: Some(status), ..job.clone() }, job.status.as_ref());
}

pub fn wake_downstream(ctx: &Context, name: &str) {
    let downstream = ctx.store.lock().downstream_of(name);
    for d in downstream {
        ctx.hint(Key::Object(Kind::SparkJob, d));
    }
}
