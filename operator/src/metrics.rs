//! Prometheus metrics and the `/metrics` + `/healthz` endpoint.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::api::job::JobPhase;

type Labels = Vec<(String, String)>;

struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_duration: Family<Labels, Histogram, fn() -> Histogram>,
    jobs_by_phase: Family<Labels, Gauge>,
    watch_events: Counter,
    status_writes: Gauge,
    status_write_batches: Gauge,
    apps: SparkApps,
}

/// The names kubeflow's spark-operator exports, where the meaning is the same, so that its
/// users' dashboards and alerts work unchanged. Its counts are Prometheus counters exposed
/// without `_total`; OpenMetrics would append that suffix to a counter, so the counts here are
/// gauges that only ever go up (`rate()` and `increase()` work on them all the same).
struct SparkApps {
    count: Gauge,
    submit_count: Gauge,
    success_count: Gauge,
    failure_count: Gauge,
    running_count: Gauge,
    success_execution_time: Histogram,
    failure_execution_time: Histogram,
    submit_latency: Histogram,
}

fn execution_histogram() -> Histogram {
    // 1 s .. ~9 h
    Histogram::new(exponential_buckets(1.0, 2.0, 16))
}

impl SparkApps {
    fn register(registry: &mut Registry) -> Self {
        let apps = SparkApps {
            count: Gauge::default(),
            submit_count: Gauge::default(),
            success_count: Gauge::default(),
            failure_count: Gauge::default(),
            running_count: Gauge::default(),
            success_execution_time: execution_histogram(),
            failure_execution_time: execution_histogram(),
            submit_latency: latency_histogram(),
        };
        let r = registry;
        r.register("spark_app_count", "SparkJobs the operator has seen since it started", apps.count.clone());
        r.register(
            "spark_app_submit_count",
            "Attempts submitted (each retry and rerun counts)",
            apps.submit_count.clone(),
        );
        r.register("spark_app_success_count", "SparkJobs that became Succeeded", apps.success_count.clone());
        r.register("spark_app_failure_count", "SparkJobs that became Failed", apps.failure_count.clone());
        r.register("spark_app_running_count", "SparkJobs Running now", apps.running_count.clone());
        r.register(
            "spark_app_success_execution_time_seconds",
            "From a succeeded job's start to its completion",
            apps.success_execution_time.clone(),
        );
        r.register(
            "spark_app_failure_execution_time_seconds",
            "From a failed job's start to its completion",
            apps.failure_execution_time.clone(),
        );
        r.register(
            "spark_app_submit_latency_seconds",
            "From deciding to submit an attempt to its driver running",
            apps.submit_latency.clone(),
        );
        apps
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let apps = SparkApps::register(&mut registry);
    let own = registry.sub_registry_with_prefix("sparkswarm");
    let reconciles = Family::<Labels, Counter>::default();
    own.register("reconciles", "Reconciles by kind and result", reconciles.clone());
    let reconcile_duration =
        Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
    own.register("reconcile_duration_seconds", "Time spent in one reconcile", reconcile_duration.clone());
    let jobs_by_phase = Family::<Labels, Gauge>::default();
    own.register("jobs", "SparkJobs by phase", jobs_by_phase.clone());
    let watch_events = Counter::default();
    own.register("watch_events", "File-system events on the manifests directory", watch_events.clone());
    let status_writes = Gauge::default();
    own.register("status_writes", "Status writes put in place through group commits", status_writes.clone());
    let status_write_batches = Gauge::default();
    own.register(
        "status_write_batches",
        "Group commits of status writes (each one sync of the file system, which also makes the batch before it durable)",
        status_write_batches.clone(),
    );
    Metrics {
        registry,
        reconciles,
        reconcile_duration,
        jobs_by_phase,
        watch_events,
        status_writes,
        status_write_batches,
        apps,
    }
});

pub fn reconciled(kind: &str, result: &str, took: Duration) {
    let m = &*METRICS;
    m.reconciles.get_or_create(&vec![("kind".into(), kind.into()), ("result".into(), result.into())]).inc();
    m.reconcile_duration.get_or_create(&vec![("kind".into(), kind.into())]).observe(took.as_secs_f64());
}

/// Moves the jobs-by-phase gauge by `delta` for one phase.
pub fn add_jobs_in_phase(phase: &str, delta: i64) {
    METRICS.jobs_by_phase.get_or_create(&vec![("phase".into(), phase.into())]).inc_by(delta);
}

pub fn submitted(took: Duration) {
    let apps = &METRICS.apps;
    apps.submit_count.inc();
    apps.submit_latency.observe(took.as_secs_f64());
}

/// A job's phase moved from `old` to `new` (None: not known / gone); `ran` is how long a
/// job that just finished ran, from its start to its completion.
pub fn job_phase_changed(old: Option<JobPhase>, new: Option<JobPhase>, ran: Option<Duration>) {
    let apps = &METRICS.apps;
    if old.is_none() && new.is_some() {
        apps.count.inc();
    }
    if old == Some(JobPhase::Running) {
        apps.running_count.dec();
    }
    if new == Some(JobPhase::Running) {
        apps.running_count.inc();
    }
    // A job already finished when the operator first sees it finished before it started.
    let finished_now = old.is_some_and(|o| !o.is_finished());
    match new {
        Some(JobPhase::Succeeded) if finished_now => {
            apps.success_count.inc();
            if let Some(d) = ran {
                apps.success_execution_time.observe(d.as_secs_f64());
            }
        }
        Some(JobPhase::Failed) if finished_now => {
            apps.failure_count.inc();
            if let Some(d) = ran {
                apps.failure_execution_time.observe(d.as_secs_f64());
            }
        }
        _ => {}
    }
}

/// The status writer's group commits so far: batches run and the writes they held.
pub fn status_batches(batches: u64, writes: u64) {
    let m = &*METRICS;
    m.status_write_batches.set(i64::try_from(batches).unwrap_or(i64::MAX));
    m.status_writes.set(i64::try_from(writes).unwrap_or(i64::MAX));
}

pub fn watch_event() {
    METRICS.watch_events.inc();
}

pub fn render() -> String {
    let mut out = String::new();
    // Encoding into a String cannot fail.
    let _ = encode(&mut out, &METRICS.registry);
    out
}

/// Serves `/metrics` and `/healthz` until the token is cancelled.
pub async fn serve(addr: SocketAddr, shutdown: tokio_util::sync::CancellationToken) -> std::io::Result<SocketAddr> {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    render(),
                )
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}
