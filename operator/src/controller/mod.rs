//! The controller runtime, in the shape of kube-runtime: hints (file events, resyncs,
//! dependent objects) go into a deduplicated scheduler; a runner takes due keys and
//! reconciles them with bounded concurrency, never two reconciles of one key at once; the
//! result says when to look again; errors back off exponentially with jitter.

pub mod backoff;
pub mod runner;
pub mod scheduler;
pub mod store;

pub use runner::{run, Action, Hint};
