//! The SparkJob reconciler: dereference → decide (pure) → apply one step → status.

pub mod decide;
