//! The SparkJob reconciler: dereference → validate → decide (pure) → apply one step →
//! status. Steps repeat until the decision is to wait, so one reconcile can record an
//! attempt's end and submit the retry.

pub mod automation;
pub mod criteria;
pub mod decide;
pub mod depends;
pub mod end_watch;
pub mod inputs;
pub mod submission;

use std::time::Instant;

use crate::api::job::SparkJob;
use crate::api::{Kind, SparkJobStatus};
use crate::controller::store::Key;
use crate::controller::Action;
use crate::manifest::validate::Resource;
use crate::runtime::Runtimes;
use crate::runtime::{AttemptObservation, AttemptState};
use crate::state::ledger::{AttemptRecord, EndReason, JobLedger};
use crate::state::StateDir;

use self::decide::{ClusterView, JobView, Step};
use self::depends::Deps;
use super::context::Context;
use super::dereference::{dereference, Dereferenced, Found};
use super::invalid::mark_spec_invalid;
use super::update_status::write_status;
use super::ReconcileError;
use crate::api::expansion;
use crate::manifest::status_write::StatusWrite;

const KIND: &str = "SparkJob";

pub async fn reconcile(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let (file, index, generation, job): (_, _, _, SparkJob) = match dereference(ctx, Kind::SparkJob, name).await? {
        Dereferenced::Gone => return cleanup(ctx, name).await,
        Dereferenced::Done(action) => return Ok(action),
        Dereferenced::Valid { file, index, generation, resource: Resource::Job(j) } => (file, index, generation, *j),
        Dereferenced::Valid { .. } => return Ok(Action::AwaitChange),
    };
    let Some(doc) = Found::doc(&file, index) else { return Ok(Action::AwaitChange) };
    let graph = ctx.store.lock().job_graph_from(name);
    let errors = automation::errors(name, &file.path, doc, &job.spec, &graph);
    if !errors.is_empty() {
        mark_spec_invalid(ctx, &file.path, Kind::SparkJob, name, index, doc.status(), generation, &errors).await?;
        automation::publish_invalid(ctx, &file.path, index, &job, &errors);
        return Ok(Action::AwaitChange);
    }
    let upstreams = automation::upstreams(ctx, &job.spec);
    let deps = depends::evaluate(&job.spec.depends_on, &upstreams);
    // Expanded only once the upstream runs are known; until then the spec as written.
    let expanded = match &deps {
        Deps::Ready(_) if !job.spec.depends_on.is_empty() => Some(inputs::expand_spec(&job.spec, &upstreams)),
        _ => None,
    };
    let submit_spec = match &expanded {
        Some(Ok(s)) => s,
        _ => &job.spec,
    };
    // `$(jobs.NAME.outputsDir)` files are read from those upstream outputs, which may lie
    // outside the project (`--state-dir`); nothing else of the state dir is reachable.
    let roots = automation::roots_with_outputs(&ctx.roots, &upstreams);
    let resolved = match submission::resolve(&roots, &file.path, doc, submit_spec) {
        Ok(r) => r,
        Err(errors) => {
            mark_spec_invalid(ctx, &file.path, Kind::SparkJob, name, index, doc.status(), generation, &errors).await?;
            automation::publish_invalid(ctx, &file.path, index, &job, &errors);
            return Ok(Action::AwaitChange);
        }
    };

    let cluster = cluster_view(ctx, &job.spec.cluster_ref);
    let job_dir = ctx.state.job_dir(name);
    let mut ledger = JobLedger::load(&job_dir)?;
    let previous: Option<SparkJobStatus> = job.status.clone();

    let mut wait = None;
    let mut live: Option<AttemptObservation> = None;
    for _ in 0..8 {
        live = observe_open(ctx, name, &ledger).await?;
        let now = crate::api::now();
        let view = JobView {
            spec: &job.spec,
            generation,
            ledger: &ledger,
            live: live.as_ref(),
            cluster: &cluster,
            deps: &deps,
            now,
        };
        match decide::next_step(&view) {
            Step::Wait(after) => {
                wait = after;
                break;
            }
            Step::Submit { number } => {
                let ClusterView::Ready { master_url, runtime } = &cluster else { break };
                let seq = ledger.next_seq();
                let mut record = AttemptRecord {
                    number,
                    seq,
                    generation,
                    submission_id: uuid::Uuid::new_v4().to_string(),
                    submitted_at: now,
                    runtime: *runtime,
                    ended: None,
                    inputs: match &deps {
                        Deps::Ready(inputs) => inputs.clone(),
                        _ => Default::default(),
                    },
                    arguments: expansion::uses_expansions(&job.spec).then(|| submit_spec.arguments.clone()),
                    deps: None,
                };
                if let Some(Err(e)) = &expanded {
                    // Not retried: the same upstream run gives the same results. A newer one
                    // (new inputs) runs this job again.
                    record.ended = Some(decide::killed_end(EndReason::ExpansionFailed, e, None, now));
                    ledger.attempts.push(record);
                    ledger.save(&job_dir)?;
                    ctx.events.warning(KIND, name, EndReason::ExpansionFailed.as_str(), e.clone());
                    continue;
                }
                let environment = match prepare(ctx, name, *runtime, submit_spec, &resolved).await {
                    Ok((environment, lock)) => {
                        record.deps = lock;
                        environment
                    }
                    Err((reason, message)) => {
                        // DepsFailed is not retried (the same requirements fail alike);
                        // an unreadable secret is a submission failure like any other.
                        record.ended = Some(decide::killed_end(reason, &message, None, now));
                        ledger.attempts.push(record);
                        ledger.save(&job_dir)?;
                        ctx.events.warning(KIND, name, reason.as_str(), message);
                        continue;
                    }
                };
                let sub = submission::build(
                    name,
                    submit_spec,
                    &resolved,
                    master_url,
                    &record,
                    ctx.state.attempt_dir(name, seq),
                    environment,
                );
                // The record is durable before anything starts: a crash from here on can
                // find the attempt again and never starts it twice.
                ledger.attempts.push(record);
                ledger.save(&job_dir)?;
                let t = Instant::now();
                let submitted = ctx.runtimes.job(*runtime).submit(&sub).await;
                match submitted {
                    Ok(()) => {
                        crate::metrics::submitted(t.elapsed());
                        ctx.events.normal(
                            KIND,
                            name,
                            "Submitted",
                            format!("attempt {number} submitted to {master_url} (submission {})", sub.submission_id),
                        );
                    }
                    Err(e) => {
                        if let Some(last) = ledger.latest_mut() {
                            last.ended = Some(decide::killed_end(
                                EndReason::SubmitFailed,
                                &e.to_string(),
                                None,
                                crate::api::now(),
                            ));
                        }
                        ledger.save(&job_dir)?;
                        ctx.events.warning(KIND, name, "SubmitFailed", e.to_string());
                    }
                }
            }
            Step::RecordEnd(end) => {
                let (ok, reason, message) = (end.succeeded(), end.reason, end.message.clone());
                let number = ledger.latest().map(|a| a.number).unwrap_or(0);
                if let Some(open) = ledger.latest() {
                    ctx.end_watches.forget(&ctx.state.attempt_dir(name, open.seq));
                }
                if let Some(last) = ledger.latest_mut() {
                    last.ended = Some(*end);
                }
                ledger.save(&job_dir)?;
                if ok {
                    ctx.events.normal(KIND, name, "Completed", format!("attempt {number} succeeded"));
                } else {
                    ctx.events.warning(KIND, name, reason.as_str(), format!("attempt {number} failed: {message}"));
                }
            }
            Step::Kill { reason, message } => {
                if let Some(open) = ledger.latest() {
                    kill_attempt(ctx, name, open).await?;
                    ctx.end_watches.forget(&ctx.state.attempt_dir(name, open.seq));
                }
                let end = decide::killed_end(reason, &message, live.as_ref(), crate::api::now());
                if let Some(last) = ledger.latest_mut() {
                    last.ended = Some(end);
                }
                ledger.save(&job_dir)?;
                ctx.events.normal(KIND, name, reason.as_str(), message);
            }
            Step::Expire => {
                let _ = tokio::fs::remove_dir_all(job_dir.join("attempts")).await;
                ledger.expired = true;
                ledger.save(&job_dir)?;
                ctx.events.normal(
                    KIND,
                    name,
                    "TTLExpired",
                    "ttlSecondsAfterFinished passed: attempt logs and outputs removed",
                );
            }
        }
    }

    if let (Some(open), Some(AttemptState::Running)) = (ledger.latest(), live.as_ref().map(|l| &l.state)) {
        if open.ended.is_none() {
            ctx.end_watches.arm(
                ctx.runtimes.job_shared(open.runtime),
                ctx.state.attempt_dir(name, open.seq),
                ctx.hints.clone(),
                Key::Object(Kind::SparkJob, name.to_string()),
            );
        }
    }

    let now = crate::api::now();
    let view = JobView {
        spec: &job.spec,
        generation,
        ledger: &ledger,
        live: live.as_ref(),
        cluster: &cluster,
        deps: &deps,
        now,
    };
    let status = decide::status(&view, previous.as_ref());
    let phase = status.phase;
    let typed = SparkJob { status: Some(status.clone()), ..job.clone() };
    let ran = match (status.start_time, status.completion_time) {
        (Some(a), Some(b)) => (b - a).to_std().ok(),
        _ => None,
    };
    let value = serde_json::to_value(&status).map_err(|e| ReconcileError::InternalError(e.to_string()))?;
    let write = StatusWrite {
        path: file.path.clone(),
        object: Some((Kind::SparkJob, name.to_string())),
        index,
        status: value,
        read: Some(file),
    };
    let path = write.path.clone();
    write_status(ctx, write).await?;
    automation::publish(ctx, &path, index, typed, previous.as_ref());
    if previous.as_ref().map(|p| p.phase) != Some(phase) {
        tracing::info!(job = name, phase = phase.as_str(), "job phase");
    }
    ctx.set_job_phase(name, Some(phase), ran);
    Ok(match wait {
        Some(d) => Action::Requeue(d),
        None => Action::AwaitChange,
    })
}

/// What an attempt needs before it is recorded: its secrets, read now, and its deps, built
/// (or found in the cache) for the cluster's Python by its runtime.
async fn prepare(
    ctx: &Context,
    name: &str,
    runtime: crate::runtime::RuntimeKind,
    spec: &crate::api::job::SparkJobSpec,
    resolved: &submission::ResolvedPaths,
) -> Result<(submission::JobEnvironment, Option<crate::api::job::DepsStatus>), (EndReason, String)> {
    let secrets = submission::read_secrets(spec, resolved).map_err(|e| (EndReason::SubmitFailed, e))?;
    let requirements = submission::read_requirements(spec, resolved).map_err(|e| (EndReason::DepsFailed, e))?;
    if requirements.is_empty() {
        return Ok((submission::JobEnvironment { secrets, deps: None }, None));
    }
    let req = crate::runtime::pydeps::DepsRequest { cluster: spec.cluster_ref.clone(), requirements };
    let t = Instant::now();
    match ctx.runtimes.job(runtime).prepare_deps(&req).await {
        Ok(built) => {
            ctx.events.normal(
                KIND,
                name,
                "DepsReady",
                format!(
                    "{} packages for Python {} ({}) in {:.1}s",
                    built.lock.packages.len(),
                    built.lock.python,
                    built.lock.hash,
                    t.elapsed().as_secs_f64()
                ),
            );
            Ok((submission::JobEnvironment { secrets, deps: Some(built.site) }, Some(built.lock)))
        }
        Err(e) => Err((EndReason::DepsFailed, e.to_string())),
    }
}

async fn observe_open(
    ctx: &Context,
    name: &str,
    ledger: &JobLedger,
) -> Result<Option<AttemptObservation>, ReconcileError> {
    match ledger.latest() {
        Some(open) if open.ended.is_none() => {
            // The runtime that started the attempt observes it, whatever the cluster is now.
            let dir = ctx.state.attempt_dir(name, open.seq);
            Ok(ctx.runtimes.job(open.runtime).observe(&dir).await?)
        }
        _ => Ok(None),
    }
}

async fn kill_attempt(ctx: &Context, name: &str, attempt: &AttemptRecord) -> Result<(), ReconcileError> {
    let dir = ctx.state.attempt_dir(name, attempt.seq);
    Ok(ctx.runtimes.job(attempt.runtime).kill(&dir).await?)
}

/// The cluster as the store holds it (the cluster reconciler keeps its status current).
fn cluster_view(ctx: &Context, cluster: &str) -> ClusterView {
    let typed = ctx.store.lock().cluster(cluster);
    let job_runtime = typed
        .as_deref()
        .map(|c| ctx.runtimes.cluster(Runtimes::kind_of(&c.spec.provider)).job_runtime())
        .unwrap_or_default();
    ClusterView::of(typed.as_deref(), job_runtime)
}

/// The file is gone: stop a running attempt and forget the job.
async fn cleanup(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let job_dir = ctx.state.job_dir(name);
    let ledger = JobLedger::load(&job_dir)?;
    if let Some(open) = ledger.latest().filter(|a| a.ended.is_none()) {
        kill_attempt(ctx, name, open).await?;
        tracing::info!(job = name, "stopped the running attempt of a deleted job");
    }
    ctx.end_watches.forget_under(&job_dir);
    if job_dir.exists() {
        tokio::fs::remove_dir_all(&job_dir).await.map_err(ReconcileError::StateError)?;
    }
    ctx.generations.lock().remove(&StateDir::object_key(Kind::SparkJob, name));
    ctx.events.forget(KIND, name);
    automation::wake_downstream(ctx, name);
    ctx.set_job_phase(name, None, None);
    Ok(Action::AwaitChange)
}

/// Jobs waiting on a cluster are woken when it changes phase.
pub fn wake_jobs_of(ctx: &Context, cluster: &str) {
    let jobs = ctx.store.lock().jobs_of(cluster);
    for job in jobs {
        ctx.hint(Key::Object(Kind::SparkJob, job));
    }
}
