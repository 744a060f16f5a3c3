//! The SparkSchedule reconciler: dereference → validate → decide (pure, `decide::plan`) →
//! apply (write the runs' files and the ledger, delete replaced and pruned runs) → status.
//!
//! Invariants: a run's file and the ledger's lastScheduleTime are durable before the run's
//! SparkJob is reconciled (started), and a run's name is its scheduled time, so kill -9 at
//! any point never starts one scheduled time twice. The timer is the controller's own
//! requeue at the next scheduled time: no polling.

pub mod decide;
#[cfg(test)]
mod decide_tests;
pub mod run;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::api::schedule::SparkScheduleSpec;
use crate::api::schedule_expr::ScheduleExpr;
use crate::api::{Kind, SparkSchedule, TRIGGER_ANNOTATION};
use crate::controller::store::Key;
use crate::controller::Action;
use crate::manifest::document::{self, Document};
use crate::manifest::paths::Roots;
use crate::manifest::status_write::StatusWrite;
use crate::manifest::validate::{FieldError, Resource};
use crate::state::atomic;
use crate::state::schedules::ScheduleLedger;
use crate::state::StateDir;

use self::decide::{RunView, ScheduleView};
use super::context::Context;
use super::dereference::{dereference, Dereferenced};
use super::update_status::write_status;
use super::ReconcileError;

const KIND: &str = "SparkSchedule";

pub async fn reconcile(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    let (file, index, generation, schedule): (_, _, _, SparkSchedule) =
        match dereference(ctx, Kind::SparkSchedule, name).await? {
            Dereferenced::Gone => return cleanup(ctx, name).await,
            Dereferenced::Done(action) => return Ok(action),
            Dereferenced::Valid { file, index, generation, resource: Resource::Schedule(s) } => {
                (file, index, generation, *s)
            }
            Dereferenced::Valid { .. } => return Ok(Action::AwaitChange),
        };
    let expr = ScheduleExpr::parse(&schedule.spec.schedule, &schedule.spec.time_zone)
        .map_err(|e| ReconcileError::InternalError(format!("a validated schedule does not parse: {e}")))?;
    let mut ledger = ScheduleLedger::load(&ctx.state, name)?;
    let now = Utc::now();
    let hash = spec_hash(&schedule.spec);
    if ledger.spec_hash != hash {
        // New, or edited: due times start now, with the spec as it is now.
        ledger.spec_hash = hash;
        ledger.since = Some(now.trunc_subsecs(0));
    }
    let trigger_value = schedule.metadata.annotations.get(TRIGGER_ANNOTATION).cloned();
    let trigger = match &trigger_value {
        Some(v) if ledger.last_trigger.as_ref() != Some(v) => match DateTime::parse_from_rfc3339(v) {
            Ok(t) => Some(t.with_timezone(&Utc).trunc_subsecs(0)),
            Err(e) => {
                ctx.events.warning(KIND, name, "InvalidTrigger", format!("{TRIGGER_ANNOTATION} {v:?}: {e}"));
                None
            }
        },
        _ => None,
    };
    let runs = run_views(ctx, name);
    let plan = decide::plan(&ScheduleView {
        name,
        spec: &schedule.spec,
        expr: &expr,
        ledger: &ledger,
        runs: &runs,
        trigger,
        now,
    });

    for r in &plan.replace {
        delete_run(ctx, name, r).await?;
        ctx.events.normal(KIND, name, "Replaced", format!("stopped and deleted {r}: concurrencyPolicy Replace"));
    }
    // The decision is durable before any run starts: first the runs' files, then the times.
    let dir = manifest_dir(&file.path);
    let mut written = Vec::new();
    for new in &plan.start {
        let job = run::build(&schedule, &dir, &new.name, new.time);
        let text = run::render(&job).map_err(ReconcileError::InternalError)?;
        let path = ctx.state.run_file(name, &new.name);
        atomic::write(&path, text.as_bytes())?;
        written.push((path, new.clone()));
    }
    ledger.last_schedule_time = plan.last_schedule_time;
    ledger.missed_runs += plan.missed;
    if trigger_value.is_some() {
        ledger.last_trigger = trigger_value;
    }
    ledger.save(&ctx.state, name)?;
    if let Some(why) = &plan.skipped {
        ctx.events.warning(KIND, name, "Missed", why.clone());
    }
    for (path, new) in &written {
        load_run(ctx, path);
        ctx.hint(Key::Object(Kind::SparkJob, new.name.clone()));
        let what = if new.manual { "triggered" } else { "scheduled" };
        ctx.events.normal(
            KIND,
            name,
            "Started",
            format!("started {} ({what} for {})", new.name, crate::api::time::format(&new.time)),
        );
    }
    for r in &plan.prune {
        delete_run(ctx, name, r).await?;
    }

    let runs = run_views(ctx, name);
    let newest_success =
        runs.iter().filter(|r| r.phase == crate::api::job::JobPhase::Succeeded).filter_map(|r| r.completion_time).max();
    if newest_success > ledger.last_successful_time {
        ledger.last_successful_time = newest_success;
        ledger.save(&ctx.state, name)?;
    }
    let status = decide::status(&schedule.spec, &ledger, &runs, plan.next, generation, schedule.status.as_ref());
    let value = serde_json::to_value(&status).map_err(|e| ReconcileError::InternalError(e.to_string()))?;
    write_status(
        ctx,
        StatusWrite {
            path: file.path.clone(),
            object: Some((Kind::SparkSchedule, name.to_string())),
            index,
            status: value,
            read: Some(file),
        },
    )
    .await?;
    Ok(match plan.next {
        Some(next) => Action::Requeue((next - Utc::now()).to_std().unwrap_or(Duration::ZERO)),
        None => Action::AwaitChange,
    })
}

/// The template is checked as a job's spec is (paths inside the roots, expansions), its
/// errors naming `spec.template.…`.
pub fn template_errors(roots: &Roots, manifest: &Path, doc: &Document, spec: &SparkScheduleSpec) -> Vec<FieldError> {
    let mut errors = super::job::submission::resolve_at(roots, manifest, doc, &spec.template, "/spec/template")
        .err()
        .unwrap_or_default();
    errors.extend(crate::api::expansion::check(&spec.template).into_iter().map(|(pointer, message)| {
        let pointer = match pointer.strip_prefix("/spec") {
            Some(rest) => format!("/spec/template{rest}"),
            None => pointer,
        };
        FieldError {
            path: manifest.to_path_buf(),
            line: doc.line_of(&pointer),
            field: pointer.trim_start_matches('/').replace('/', "."),
            message,
            reason: "InvalidExpansion".into(),
        }
    }));
    errors
}

fn spec_hash(spec: &SparkScheduleSpec) -> String {
    let text = serde_json::to_string(spec).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn manifest_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// The schedule's runs as the store holds them (their files are loaded at start and as
/// they are written; their status as the job reconciler last wrote it).
fn run_views(ctx: &Context, schedule: &str) -> Vec<RunView> {
    let mut out = Vec::new();
    for path in ctx.state.run_files(schedule) {
        let Some(run) = path.file_stem().and_then(|s| s.to_str()).map(str::to_string) else { continue };
        let Some((time, manual)) = decide::parse_run_name(schedule, &run) else { continue };
        let job = ctx.store.lock().job(&run);
        let status = job.as_ref().and_then(|j| j.status.clone()).unwrap_or_default();
        out.push(RunView {
            name: run,
            time,
            manual,
            phase: status.phase,
            completion_time: status.completion_time,
            results: status.results,
        });
    }
    out
}

/// Puts a run's file into the store, as the watcher does for a manifest.
fn load_run(ctx: &Context, path: &Path) {
    let parsed = document::read(path);
    if let Err(e) = &parsed {
        tracing::warn!(path = %path.display(), "{e}");
    }
    ctx.store.lock().update(path, Some(&parsed));
}

/// Deletes a run: its file goes, and the job reconciler, finding it gone, stops it and
/// removes its state.
async fn delete_run(ctx: &Context, schedule: &str, run: &str) -> Result<(), ReconcileError> {
    let path = ctx.state.run_file(schedule, run);
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ReconcileError::StateError(e)),
    }
    ctx.store.lock().update(&path, None);
    ctx.hint(Key::Object(Kind::SparkJob, run.to_string()));
    Ok(())
}

/// The schedule is gone: so are its runs (the running ones are stopped) and its ledger.
async fn cleanup(ctx: &Context, name: &str) -> Result<Action, ReconcileError> {
    for path in ctx.state.run_files(name) {
        if let Some(run) = path.file_stem().and_then(|s| s.to_str()) {
            delete_run(ctx, name, run).await?;
        }
    }
    let _ = tokio::fs::remove_dir(ctx.state.runs_dir(name)).await;
    match tokio::fs::remove_file(ctx.state.schedule_ledger(name)).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ReconcileError::StateError(e)),
    }
    ctx.generations.lock().remove(&StateDir::object_key(Kind::SparkSchedule, name));
    ctx.events.forget(KIND, name);
    Ok(Action::AwaitChange)
}
