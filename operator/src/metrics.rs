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

type Labels = Vec<(String, String)>;

struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_duration: Family<Labels, Histogram, fn() -> Histogram>,
    jobs_by_phase: Family<Labels, Gauge>,
    submit_latency: Histogram,
    watch_events: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("sparkswarm");
    let reconciles = Family::<Labels, Counter>::default();
    registry.register("reconciles", "Reconciles by kind and result", reconciles.clone());
    let reconcile_duration =
        Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
    registry.register("reconcile_duration_seconds", "Time spent in one reconcile", reconcile_duration.clone());
    let jobs_by_phase = Family::<Labels, Gauge>::default();
    registry.register("jobs", "SparkJobs by phase", jobs_by_phase.clone());
    let submit_latency = latency_histogram();
    registry.register(
        "job_submit_latency_seconds",
        "From deciding to submit an attempt to its driver running",
        submit_latency.clone(),
    );
    let watch_events = Counter::default();
    registry.register("watch_events", "File-system events on the manifests directory", watch_events.clone());
    Metrics { registry, reconciles, reconcile_duration, jobs_by_phase, submit_latency, watch_events }
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
    METRICS.submit_latency.observe(took.as_secs_f64());
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
