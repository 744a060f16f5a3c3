//! The schedule's decisions, pure: given the spec, what the ledger handled, the runs there
//! are and the time now, which runs to start or delete, what was missed, and when to look
//! again. No clock and no I/O, so every case is a table row in `decide_tests.rs`.

use chrono::{DateTime, Utc};

use crate::api::condition::{set_condition, Condition, ConditionStatus};
use crate::api::job::{JobPhase, Results};
use crate::api::schedule::{ConcurrencyPolicy, RunSummary, SchedulePhase, SparkScheduleSpec, SparkScheduleStatus};
use crate::api::schedule_expr::ScheduleExpr;
use crate::state::schedules::ScheduleLedger;

/// At most this many missed times are counted after a long downtime (an `@every 10s`
/// schedule down for a month): the count says "many", the work stays bounded.
pub const MISSED_COUNT_CAP: u64 = 100_000;

/// One run of the schedule as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub name: String,
    /// The time in its name: the scheduled time, or the trigger's for a manual run.
    pub time: DateTime<Utc>,
    pub manual: bool,
    pub phase: JobPhase,
    pub completion_time: Option<DateTime<Utc>>,
    pub results: Results,
}

impl RunView {
    pub fn is_active(&self) -> bool {
        !self.phase.is_finished()
    }
}

pub struct ScheduleView<'a> {
    pub name: &'a str,
    pub spec: &'a SparkScheduleSpec,
    pub expr: &'a ScheduleExpr,
    pub ledger: &'a ScheduleLedger,
    pub runs: &'a [RunView],
    /// A trigger not served yet: the time it was requested.
    pub trigger: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub name: String,
    pub time: DateTime<Utc>,
    pub manual: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Written durably (with the ledger) before anything else happens.
    pub start: Vec<NewRun>,
    /// Active runs Replace stops, deleted before the new one is written.
    pub replace: Vec<String>,
    /// Finished runs beyond the history limits, oldest first.
    pub prune: Vec<String>,
    /// Scheduled times newly skipped.
    pub missed: u64,
    pub last_schedule_time: Option<DateTime<Utc>>,
    /// The next scheduled time after now; `None` when suspended or there is none.
    pub next: Option<DateTime<Utc>>,
    /// Why a due time did not start a run, for an event.
    pub skipped: Option<String>,
}

pub fn run_name(schedule: &str, time: DateTime<Utc>, manual: bool) -> String {
    let stamp = time.format("%Y%m%d-%H%M%S");
    if manual {
        format!("{schedule}-manual-{stamp}")
    } else {
        format!("{schedule}-{stamp}")
    }
}

/// The time a run's name carries, and whether it is a manual one; `None` for a name that
/// is not a run of `schedule`.
pub fn parse_run_name(schedule: &str, run: &str) -> Option<(DateTime<Utc>, bool)> {
    let rest = run.strip_prefix(schedule)?.strip_prefix('-')?;
    let (stamp, manual) = match rest.strip_prefix("manual-") {
        Some(s) => (s, true),
        None => (rest, false),
    };
    let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S").ok()?;
    Some((t.and_utc(), manual))
}

pub fn plan(v: &ScheduleView<'_>) -> Plan {
    let mut plan = Plan::default();
    let newest_scheduled = v.runs.iter().filter(|r| !r.manual).map(|r| r.time).max();
    // A run written before a crash that kept the ledger from being saved counts as handled.
    let last = v.ledger.last_schedule_time.max(newest_scheduled);
    plan.last_schedule_time = last;
    let from = last.max(v.ledger.since).unwrap_or(v.now);
    let mut replaced: Vec<String> = Vec::new();

    if !v.spec.suspend {
        let (count, latest) = v.expr.between(from, v.now, MISSED_COUNT_CAP);
        if let Some(latest) = latest {
            plan.missed += count.saturating_sub(1);
            plan.last_schedule_time = Some(latest);
            let name = run_name(v.name, latest, false);
            let late = v
                .spec
                .starting_deadline_seconds
                .is_some_and(|d| (v.now - latest).num_seconds() > i64::try_from(d).unwrap_or(i64::MAX));
            let active: Vec<&RunView> = v.runs.iter().filter(|r| r.is_active()).collect();
            if v.runs.iter().any(|r| r.name == name) {
                // Started already (the ledger was not saved after it): nothing more.
            } else if late {
                plan.missed += 1;
                plan.skipped = Some(format!(
                    "{} was missed by more than startingDeadlineSeconds ({}s)",
                    crate::api::time::format(&latest),
                    v.spec.starting_deadline_seconds.unwrap_or_default()
                ));
            } else {
                match v.spec.concurrency_policy {
                    ConcurrencyPolicy::Forbid if !active.is_empty() => {
                        plan.missed += 1;
                        plan.skipped = Some(format!(
                            "{} skipped: concurrencyPolicy Forbid and {} is still active",
                            crate::api::time::format(&latest),
                            active.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
                        ));
                    }
                    ConcurrencyPolicy::Replace => {
                        replaced = active.iter().map(|r| r.name.clone()).collect();
                        plan.start.push(NewRun { name, time: latest, manual: false });
                    }
                    _ => plan.start.push(NewRun { name, time: latest, manual: false }),
                }
            }
        }
        let after = plan.last_schedule_time.map_or(v.now, |l| l.max(v.now));
        plan.next = v.expr.next_after(after);
    }

    // A trigger runs now, whatever the policy and suspend say: the user asked for it.
    if let Some(t) = v.trigger {
        let name = run_name(v.name, t, true);
        if !v.runs.iter().any(|r| r.name == name) {
            plan.start.push(NewRun { name, time: t, manual: true });
        }
    }

    plan.prune = prune_names(v.spec, v.runs, &replaced);
    plan.replace = replaced;
    plan
}

/// Finished runs beyond the history limits, newest kept, per outcome.
pub fn prune_names(spec: &SparkScheduleSpec, runs: &[RunView], replaced: &[String]) -> Vec<String> {
    let mut finished: Vec<&RunView> =
        runs.iter().filter(|r| r.phase.is_finished() && !replaced.contains(&r.name)).collect();
    finished.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.name.cmp(&a.name)));
    let mut kept_ok = 0;
    let mut kept_failed = 0;
    let mut out = Vec::new();
    for r in finished {
        let (kept, limit) = match r.phase {
            JobPhase::Succeeded => (&mut kept_ok, spec.successful_runs_history_limit),
            _ => (&mut kept_failed, spec.failed_runs_history_limit),
        };
        if *kept < limit {
            *kept += 1;
        } else {
            out.push(r.name.clone());
        }
    }
    out.reverse();
    out
}

/// The status once the plan is applied: `runs` are the runs there are now.
pub fn status(
    spec: &SparkScheduleSpec,
    ledger: &ScheduleLedger,
    runs: &[RunView],
    next: Option<DateTime<Utc>>,
    generation: u64,
    previous: Option<&SparkScheduleStatus>,
) -> SparkScheduleStatus {
    let mut sorted: Vec<&RunView> = runs.iter().collect();
    sorted.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.name.cmp(&a.name)));
    let phase = if spec.suspend { SchedulePhase::Suspended } else { SchedulePhase::Active };
    let mut conditions = previous.map(|p| p.conditions.clone()).unwrap_or_default();
    let mut valid = Condition::new("Valid", ConditionStatus::True, "Valid", "");
    valid.observed_generation = Some(generation);
    set_condition(&mut conditions, valid);
    let scheduled = match (spec.suspend, next) {
        (true, _) => Condition::new("Scheduled", ConditionStatus::False, "Suspended", "spec.suspend is true"),
        (false, Some(n)) => Condition::new(
            "Scheduled",
            ConditionStatus::True,
            "Scheduled",
            format!("next run at {}", crate::api::time::format(&n)),
        ),
        (false, None) => Condition::new(
            "Scheduled",
            ConditionStatus::False,
            "NoNextTime",
            format!("{:?} has no future time", spec.schedule),
        ),
    };
    set_condition(&mut conditions, scheduled);
    SparkScheduleStatus {
        phase,
        observed_generation: Some(generation),
        conditions,
        last_schedule_time: ledger.last_schedule_time,
        next_schedule_time: next,
        last_successful_time: ledger.last_successful_time,
        active: sorted.iter().filter(|r| r.is_active()).map(|r| r.name.clone()).collect(),
        last_runs: sorted
            .iter()
            .map(|r| RunSummary {
                name: r.name.clone(),
                phase: r.phase,
                completion_time: r.completion_time,
                results: r.results.clone(),
            })
            .collect(),
        missed_runs: ledger.missed_runs,
    }
}
