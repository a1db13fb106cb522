//! Who may act. Every function that changes a cluster takes a [`Fence`], and only this
//! module makes one, so a path that acts without asking is a compile error, not a review
//! finding.
//!
//! Today the operator runs as a single replica and the fence is that replica's claim. Several
//! replicas (an etcd lease per leader, writes conditioned on the leadership key, a renew
//! deadline on a monotonic clock) plug in here without changing a caller: they already ask
//! [`Fence::ensure`] before every Docker or ZooKeeper action.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The replica no longer may act.
#[derive(Debug, Clone, thiserror::Error)]
#[error("this replica is no longer allowed to act ({0})")]
pub struct Deposed(pub String);

/// Proof that this replica may act, checked again right before every action.
#[derive(Debug, Clone)]
pub struct Fence {
    /// Cleared when the replica must stop acting (shutdown, or a lost claim).
    valid: Arc<AtomicBool>,
}

impl Fence {
    /// The fence of an operator that runs as the only replica: valid until revoked.
    pub(crate) fn single_replica() -> (Fence, Revoke) {
        let valid = Arc::new(AtomicBool::new(true));
        (
            Fence {
                valid: valid.clone(),
            },
            Revoke { valid },
        )
    }

    /// Checks that this replica may still act; call right before each action.
    pub fn ensure(&self) -> Result<(), Deposed> {
        if self.valid.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Deposed("the operator is shutting down".into()))
        }
    }
}

/// Revokes the fence it was made with.
#[derive(Debug)]
pub struct Revoke {
    valid: Arc<AtomicBool>,
}

impl Revoke {
    /// From now on, `ensure` fails.
    pub fn revoke(&self) {
        self.valid.store(false, Ordering::SeqCst);
    }
}

/// Claims the right to act as the single replica.
pub fn single_replica() -> (Fence, Revoke) {
    Fence::single_replica()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_fence_refuses_every_action() {
        let (f, r) = single_replica();
        let copy = f.clone();
        assert!(f.ensure().is_ok());
        r.revoke();
        assert!(f.ensure().is_err());
        assert!(copy.ensure().is_err());
    }
}
