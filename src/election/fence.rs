//! The proof that this replica may act, checked again right before every action.
//!
//! Two checks, because either alone has a hole:
//! - **locally, on a monotonic clock**: the last lease renewal that etcd acknowledged was
//!   *sent* less than the renew deadline ago. etcd expires the lease no earlier than TTL
//!   after it *received* that renewal, so while the check passes no other replica can hold
//!   the leadership key. A process frozen (SIGSTOP, a long GC-like stall, a VM pause) wakes
//!   with an old renewal and fails the check before its next Docker or ZooKeeper call,
//!   without having to hear from etcd first;
//! - **in etcd**: every write the leader makes is a transaction conditioned on the leadership
//!   key still having the create revision of this replica's term ([`WriteGuard`]), so a write
//!   prepared before a freeze and sent after it is refused by etcd itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The replica may not act (not the leader, leadership lost, or shutting down).
#[derive(Debug, Clone, thiserror::Error)]
#[error("this replica is not allowed to act ({0})")]
pub struct Deposed(pub String);

/// This replica's leadership, as the election last confirmed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The term: the create revision of the leadership key this replica wrote.
    pub term: i64,
    /// When the last renewal that etcd acknowledged was sent.
    pub renewed_at: Instant,
}

/// What the election and the fences share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub claim: Mutex<Option<Claim>>,
    pub renew_deadline: Duration,
    pub leader_key: String,
    pub identity: String,
    /// `Some(term)` while leading, for metrics and status.
    pub leading: watch::Sender<Option<i64>>,
}

impl Shared {
    pub(crate) fn new(leader_key: String, identity: String, renew_deadline: Duration) -> Shared {
        Shared {
            claim: Mutex::new(None),
            renew_deadline,
            leader_key,
            identity,
            leading: watch::channel(None).0,
        }
    }

    pub(crate) fn set(&self, claim: Option<Claim>) {
        let term = claim.map(|c| c.term);
        match self.claim.lock() {
            Ok(mut c) => *c = claim,
            Err(poisoned) => *poisoned.into_inner() = claim,
        }
        self.leading.send_if_modified(|t| {
            let changed = *t != term;
            *t = term;
            changed
        });
    }

    fn get(&self) -> Option<Claim> {
        match self.claim.lock() {
            Ok(c) => *c,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// Proof that this replica may act; only the election makes one.
#[derive(Debug, Clone)]
pub struct Fence {
    shared: Arc<Shared>,
}

/// An etcd write made under a fence: the leadership key must still be this term's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteGuard {
    /// The leadership key.
    pub leader_key: String,
    /// Its create revision in this replica's term.
    pub term: i64,
}

impl Fence {
    pub(crate) fn new(shared: Arc<Shared>) -> Fence {
        Fence { shared }
    }

    /// Checks that this replica may still act; call right before each action. Returns the
    /// term it acts in.
    pub fn ensure(&self) -> Result<i64, Deposed> {
        let Some(claim) = self.shared.get() else {
            return Err(Deposed("not the leader".into()));
        };
        let age = Instant::now().saturating_duration_since(claim.renewed_at);
        if age >= self.shared.renew_deadline {
            return Err(Deposed(format!(
                "the leadership lease was last renewed {:.1}s ago, past the renew deadline of {:.1}s",
                age.as_secs_f64(),
                self.shared.renew_deadline.as_secs_f64()
            )));
        }
        Ok(claim.term)
    }

    /// [`Fence::ensure`], and the condition every etcd write of this term carries.
    pub fn guard(&self) -> Result<WriteGuard, Deposed> {
        let term = self.ensure()?;
        Ok(WriteGuard {
            leader_key: self.shared.leader_key.clone(),
            term,
        })
    }

    /// Whether this replica leads right now.
    pub fn is_leader(&self) -> bool {
        self.ensure().is_ok()
    }

    /// This replica's name in the election.
    pub fn identity(&self) -> &str {
        &self.shared.identity
    }

    /// The term while leading; changes when leadership is won or lost.
    pub fn leading(&self) -> watch::Receiver<Option<i64>> {
        self.shared.leading.subscribe()
    }

    /// A fence that is valid until the returned [`Revoke`] is used, renewed forever: for
    /// tests of code that acts, and for nothing else.
    #[cfg(test)]
    pub fn for_tests(term: i64) -> (Fence, Revoke) {
        let shared = Arc::new(Shared::new(
            "leader".into(),
            "test".into(),
            Duration::from_secs(u64::MAX / 4),
        ));
        shared.set(Some(Claim {
            term,
            renewed_at: Instant::now(),
        }));
        (
            Fence {
                shared: shared.clone(),
            },
            Revoke { shared },
        )
    }
}

/// Takes a fence's leadership away (tests).
#[cfg(test)]
#[derive(Debug)]
pub struct Revoke {
    shared: Arc<Shared>,
}

#[cfg(test)]
impl Revoke {
    /// From now on, `ensure` fails.
    pub fn revoke(&self) {
        self.shared.set(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_fence_fails_once_its_last_renewal_is_older_than_the_renew_deadline() {
        let shared = Arc::new(Shared::new(
            "k".into(),
            "me".into(),
            Duration::from_secs(10),
        ));
        let fence = Fence::new(shared.clone());
        assert!(fence.ensure().is_err(), "no claim yet");
        shared.set(Some(Claim {
            term: 7,
            renewed_at: Instant::now(),
        }));
        assert_eq!(fence.ensure().ok(), Some(7));
        assert_eq!(
            fence.guard().ok(),
            Some(WriteGuard {
                leader_key: "k".into(),
                term: 7
            })
        );
        tokio::time::advance(Duration::from_millis(9_999)).await;
        assert!(fence.ensure().is_ok());
        // Nothing renewed it (a frozen process): it fails on its own, without etcd.
        tokio::time::advance(Duration::from_millis(1)).await;
        let err = fence.ensure().unwrap_err();
        assert!(err.0.contains("renew deadline"), "{err}");
        assert!(fence.guard().is_err());
    }

    #[tokio::test]
    async fn a_revoked_fence_refuses_every_action_in_every_copy() {
        let (f, r) = Fence::for_tests(1);
        let copy = f.clone();
        assert!(f.ensure().is_ok());
        r.revoke();
        assert!(f.ensure().is_err());
        assert!(copy.ensure().is_err());
    }
}
