//! The SparkCluster reconciler: dereference → decide (pure) → apply → status.

pub mod decide;
