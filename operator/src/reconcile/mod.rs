//! Per-kind reconcilers. Each reconcile reads the truth (file, ledger, runtime), decides
//! with pure functions, applies through a runtime trait and writes the status.

pub mod cluster;
pub mod job;
