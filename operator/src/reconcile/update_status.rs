//! Update status: the last step of every reconcile, through the operator's one status
//! writer (`manifest::status_write`).

use crate::manifest::status_write::StatusWrite;
use crate::manifest::write::{WriteError, WriteOutcome};

use super::context::Context;
use super::ReconcileError;

/// Writes a status through the operator's one status writer. A document that moved away
/// meanwhile is no error: the reconcile it moved to writes its status.
pub async fn write_status(ctx: &Context, w: StatusWrite) -> Result<bool, ReconcileError> {
    match ctx.status.write_async(w).await {
        Ok(outcome) => Ok(outcome == WriteOutcome::Written),
        Err(WriteError::NotFound { .. }) => Ok(false),
        Err(WriteError::Unparseable(e)) => Err(ReconcileError::InvalidYaml(e)),
        Err(e) => Err(ReconcileError::StatusNotWritable(e)),
    }
}
