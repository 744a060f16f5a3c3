//! The resource API (`sparkswarm.io/v1alpha1`): what a user writes in `spec`, what the
//! operator writes in `status`. These types are the source of the JSON Schemas in `schemas/`.

pub mod cluster;
pub mod condition;
pub mod expansion;
pub mod job;
pub mod kind;
pub mod meta;
pub mod quantity;
pub mod redact;
pub mod runtime_kind;
pub mod schedule;
pub mod schedule_expr;
pub mod time;

pub use cluster::{SparkCluster, SparkClusterSpec, SparkClusterStatus};
pub use condition::{Condition, ConditionStatus};
pub use job::{SparkJob, SparkJobSpec, SparkJobStatus};
pub use kind::{ApiVersion, Kind};
pub use meta::ObjectMeta;
pub use runtime_kind::RuntimeKind;
pub use schedule::{SparkSchedule, SparkScheduleSpec, SparkScheduleStatus};

/// The `apiVersion` every resource carries.
pub const API_VERSION: &str = "sparkswarm.io/v1alpha1";
/// The API group, used in CLI messages (`sparkjob.sparkswarm.io/NAME`).
pub const GROUP: &str = "sparkswarm.io";
/// The annotation `sparkswarm rerun` sets: a new value re-runs an unchanged job.
pub const RERUN_ANNOTATION: &str = "sparkswarm.io/rerun";
/// The annotation `sparkswarm trigger` sets on a schedule: a new value (an RFC 3339 time)
/// starts a manual run named after that time.
pub const TRIGGER_ANNOTATION: &str = "sparkswarm.io/trigger";
/// On a schedule's run: the time it was scheduled for (RFC 3339, UTC).
pub const SCHEDULED_TIME_ANNOTATION: &str = "sparkswarm.io/scheduled-time";
/// On a schedule's run: the schedule's name.
pub const SCHEDULE_LABEL: &str = "sparkswarm.io/schedule";

/// Now, to the second: status timestamps read like Kubernetes' and do not churn the file.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(0)
}
