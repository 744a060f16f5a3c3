//! The local runtime: Spark standalone as processes on this machine.
