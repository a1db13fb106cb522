//! What one reconcile can fail on; each is retried with backoff.

use mesos_operator_core::ops;

use crate::act::ActError;
use crate::store::StoreError;

/// What one reconcile can fail on.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The store failed (spec, record or status).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The step could not be turned into operations.
    #[error("cannot carry out the step: {0}")]
    Ops(#[from] ops::OpsError),
    /// An operation of the step failed.
    #[error("{kind} failed: {source}")]
    Act {
        /// The operation.
        kind: &'static str,
        /// Why.
        source: ActError,
    },
    /// Secret material the cluster needs is missing.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The automated bumps failed.
    #[error(transparent)]
    Automation(#[from] crate::autoupdate::drive::AutomationError),
    /// The work cannot be finished yet (a host does not answer); retried.
    #[error("{0}")]
    Incomplete(String),
    /// The reconcile panicked (a bug, not a state of the world): its task's message.
    #[error("the reconcile panicked: {0}")]
    Panicked(String),
}

impl ReconcileError {
    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Store(StoreError::Deposed(_)) => "deposed",
            ReconcileError::Store(_) => "store",
            ReconcileError::Ops(_) => "ops",
            ReconcileError::Act { source, .. } => source.metric_label(),
            ReconcileError::Secret(_) => "secret",
            ReconcileError::Automation(e) => e.metric_label(),
            ReconcileError::Incomplete(_) => "incomplete",
            ReconcileError::Panicked(_) => "panic",
        }
    }
}
