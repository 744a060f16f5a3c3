//! sparkswarm: a file-driven operator for Spark MLlib jobs.
//!
//! The layout follows the flow of a reconcile: `manifest` reads and writes the user's files,
//! `watch` turns file-system events into hints, `controller` schedules reconciles,
//! `reconcile` holds the per-kind decisions, `runtime` does the I/O on local processes,
//! Docker Swarm or DigitalOcean, `state` keeps what is not status, and `cli` is the
//! kubectl-like front.

pub mod api;
pub mod cli;
pub mod controller;
pub mod manager;
pub mod manifest;
pub mod metrics;
pub mod reconcile;
pub mod runtime;
pub mod state;
pub mod telemetry;
pub mod watch;
