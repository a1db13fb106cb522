//! Who may act: one replica at a time, elected through a lease-bound key in etcd.
//!
//! Every function that changes a cluster takes a [`Fence`], and only this module makes one,
//! so a path that acts without asking is a compile error, not a review finding.
//!
//! The election is Kubernetes' leader election on etcd's primitives:
//! - a replica grants itself a lease (`lease_ttl`) and creates the key `leader` bound to it
//!   only if the key does not exist (a transaction on its create revision). The key's create
//!   revision is the **term**: it grows with every new leader and names the leadership in
//!   every fenced write;
//! - the leader renews every `retry`; a renewal counts only once etcd acknowledged it and the
//!   key is still the term's. If no renewal succeeded for `renew_deadline` (well below the
//!   TTL, measured on the monotonic clock from when the renewal was *sent*), the leader stops
//!   acting on its own, before etcd expires the lease and another replica can win;
//! - standbys watch the key and try again at once when it goes, or every `retry`;
//! - a clean shutdown deletes the key and revokes the lease, so a standby takes over at once
//!   instead of after the TTL.
//!
//! The election runs over a [`LeaseBackend`]: [`etcd::EtcdLeases`] in production,
//! [`memory::MemLeases`] in tests, where several replicas, freezes and partitions run under
//! tokio's paused clock.

pub mod etcd;
mod fence;
pub mod memory;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tracing::{info, warn};

use fence::{Claim, Shared};
pub use fence::{Deposed, Fence, WriteGuard};

/// Timings of the election (defaults as Kubernetes': 15 s, 10 s, 2 s).
#[derive(Debug, Clone)]
pub struct ElectionConfig {
    /// This replica's name in the election (shown in etcd, status and logs).
    pub identity: String,
    /// TTL of the lease the leadership key is bound to.
    pub lease_ttl: Duration,
    /// A leader that could not renew for this long stops acting.
    pub renew_deadline: Duration,
    /// How often the leader renews and a standby tries again.
    pub retry: Duration,
}

impl ElectionConfig {
    /// Kubernetes' timings with the given identity.
    pub fn with_identity(identity: String) -> ElectionConfig {
        ElectionConfig {
            identity,
            lease_ttl: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
        }
    }

    /// The timings must leave a margin: renewals several times per deadline, and the
    /// deadline well inside the TTL (the margin covers clock-rate differences and the time a
    /// renewal travels).
    pub fn validate(&self) -> Result<(), String> {
        if self.identity.trim().is_empty() {
            return Err("--identity must not be empty".into());
        }
        if self.lease_ttl < Duration::from_secs(2) {
            return Err(format!(
                "--lease-ttl {:?} is below 2s, the shortest lease etcd keeps reliably; use at least 2s",
                self.lease_ttl
            ));
        }
        if self.renew_deadline >= self.lease_ttl {
            return Err(format!(
                "--renew-deadline {:?} must be below --lease-ttl {:?} (the leader must stop acting before its lease can expire); \
                 use about two thirds of the TTL",
                self.renew_deadline, self.lease_ttl
            ));
        }
        if self.retry.is_zero() || self.retry * 2 > self.renew_deadline {
            return Err(format!(
                "--election-retry {:?} must be above 0 and at most half of --renew-deadline {:?}, so that a lost renewal can be retried",
                self.retry, self.renew_deadline
            ));
        }
        Ok(())
    }
}

/// The value of the leadership key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderValue {
    /// The leading replica's identity.
    pub identity: String,
    /// When it won (RFC 3339).
    pub acquired_at: String,
}

/// The leader as etcd holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leader {
    /// Identity of the leading replica.
    pub identity: String,
    /// Its term (the key's create revision).
    pub term: i64,
    /// When it won (RFC 3339).
    pub acquired_at: String,
}

/// What an attempt to take the leadership found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    /// The key is ours: the term is its create revision.
    Won {
        /// The new term.
        term: i64,
    },
    /// Someone holds it.
    Held {
        /// Who, if the value could be read.
        leader: Option<Leader>,
        /// The store's revision when read; a change after it is worth a new attempt.
        revision: i64,
    },
}

/// Failure of one election call; the election retries.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ElectionError(pub String);

/// The primitives the election needs. Each call may fail or hang; the election bounds every
/// call with its own deadline.
pub trait LeaseBackend: Send + Sync + 'static {
    /// Grants a lease of `ttl`; returns its id.
    fn grant(&self, ttl: Duration) -> impl Future<Output = Result<i64, ElectionError>> + Send;
    /// Renews the lease. With `term`, the renewal counts only if the key still has that
    /// create revision and this lease. `Ok(false)`: the lease or the key is gone.
    fn renew(
        &self,
        lease: i64,
        term: Option<i64>,
    ) -> impl Future<Output = Result<bool, ElectionError>> + Send;
    /// Creates the leadership key bound to `lease` if it does not exist.
    fn acquire(
        &self,
        lease: i64,
        value: &LeaderValue,
    ) -> impl Future<Output = Result<Acquire, ElectionError>> + Send;
    /// Deletes the key if it is still `term`'s, and revokes the lease.
    fn release(
        &self,
        term: Option<i64>,
        lease: i64,
    ) -> impl Future<Output = Result<(), ElectionError>> + Send;
    /// Returns when the key changed after `revision`, or after `max`.
    fn wait_change(&self, revision: i64, max: Duration) -> impl Future<Output = ()> + Send;
}

/// The running election: stop it with [`Election::resign`].
pub struct Election {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    fence: Fence,
}

impl Election {
    /// Starts campaigning in the background; the fence is valid while this replica leads.
    pub fn start<B: LeaseBackend>(
        backend: B,
        config: ElectionConfig,
        leader_key: String,
    ) -> Election {
        let shared = Arc::new(Shared::new(
            leader_key,
            config.identity.clone(),
            config.renew_deadline,
        ));
        let fence = Fence::new(shared.clone());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(campaign(Arc::new(backend), config, shared, stop_rx));
        Election {
            stop,
            task: Some(task),
            fence,
        }
    }

    /// The fence of this replica.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Stops acting at once, then gives the leadership up (deletes the key, revokes the
    /// lease) so that a standby takes over without waiting for the TTL.
    pub async fn resign(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            // Bounded: a hung etcd must not hold the shutdown; the lease then expires.
            if timeout(CALL_TIMEOUT * 2, task).await.is_err() {
                warn!("could not resign within the deadline; the lease will expire by itself");
            }
        }
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Bound on one election call (a renewal gets less when the deadline is closer).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn call<T>(
    max: Duration,
    f: impl Future<Output = Result<T, ElectionError>>,
) -> Result<T, ElectionError> {
    match timeout(max, f).await {
        Ok(r) => r,
        Err(_) => Err(ElectionError(format!(
            "no answer within {:.1}s",
            max.as_secs_f64()
        ))),
    }
}

/// A lease this replica holds, with when its last acknowledged renewal (or grant) was sent.
#[derive(Debug, Clone, Copy)]
struct HeldLease {
    id: i64,
    renewed_at: Instant,
}

async fn campaign<B: LeaseBackend>(
    backend: Arc<B>,
    config: ElectionConfig,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut lease: Option<HeldLease> = None;
    loop {
        if *stop.borrow() {
            if let Some(l) = lease {
                let _ = call(CALL_TIMEOUT, backend.release(None, l.id)).await;
            }
            return;
        }
        // A standby keeps a lease of its own alive, so that winning needs one call.
        let held = match lease {
            Some(l) if l.renewed_at.elapsed() < config.renew_deadline => l,
            _ => {
                let sent = Instant::now();
                match call(CALL_TIMEOUT, backend.grant(config.lease_ttl)).await {
                    Ok(id) => HeldLease {
                        id,
                        renewed_at: sent,
                    },
                    Err(e) => {
                        warn!(error = %e, "election: cannot grant a lease; retrying");
                        lease = None;
                        wait_or_stop(&mut stop, config.retry).await;
                        continue;
                    }
                }
            }
        };
        lease = Some(held);
        let value = LeaderValue {
            identity: config.identity.clone(),
            acquired_at: now_rfc3339(),
        };
        match call(CALL_TIMEOUT, backend.acquire(held.id, &value)).await {
            Ok(Acquire::Won { term }) => {
                info!(term, identity = %config.identity, "elected leader");
                let claim = Claim {
                    term,
                    renewed_at: held.renewed_at,
                };
                shared.set(Some(claim));
                let end = lead(&*backend, &config, &shared, claim, held.id, &mut stop).await;
                shared.set(None);
                // Best effort: a key left behind expires with its lease.
                let _ = call(CALL_TIMEOUT, backend.release(Some(term), held.id)).await;
                lease = None;
                match end {
                    LeadEnd::Stopped => {
                        info!(term, "resigned the leadership");
                        return;
                    }
                    LeadEnd::Lost(why) => {
                        warn!(term, reason = %why, "lost the leadership; no longer acting");
                        wait_or_stop(&mut stop, config.retry).await;
                    }
                }
            }
            Ok(Acquire::Held { revision, .. }) => {
                tokio::select! {
                    () = backend.wait_change(revision, config.retry) => {}
                    _ = stop.changed() => {}
                }
                if held.renewed_at.elapsed() >= config.retry {
                    let sent = Instant::now();
                    match call(CALL_TIMEOUT, backend.renew(held.id, None)).await {
                        Ok(true) => {
                            lease = Some(HeldLease {
                                id: held.id,
                                renewed_at: sent,
                            })
                        }
                        Ok(false) | Err(_) => lease = None,
                    }
                }
            }
            Err(e) => {
                warn!(error = %e, "election: cannot reach the leadership key; retrying");
                // The lease may be gone (etcd restarted, a long partition); take a new one.
                lease = None;
                wait_or_stop(&mut stop, config.retry).await;
            }
        }
    }
}

enum LeadEnd {
    Stopped,
    Lost(String),
}

async fn lead<B: LeaseBackend>(
    backend: &B,
    config: &ElectionConfig,
    shared: &Shared,
    mut claim: Claim,
    lease: i64,
    stop: &mut watch::Receiver<bool>,
) -> LeadEnd {
    let mut failures = 0u32;
    let mut last_attempt = Instant::now();
    loop {
        // Regular renewals from the last acknowledged one (at once after winning on an old
        // lease); after a failure, a quicker retry while the deadline allows.
        let next = if failures == 0 {
            claim.renewed_at + config.retry
        } else {
            last_attempt + config.retry / 4
        };
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            _ = stop.changed() => return LeadEnd::Stopped,
        }
        if *stop.borrow() {
            return LeadEnd::Stopped;
        }
        let sent = Instant::now();
        last_attempt = sent;
        let left = config
            .renew_deadline
            .saturating_sub(sent.saturating_duration_since(claim.renewed_at));
        if left.is_zero() {
            return LeadEnd::Lost(format!(
                "no renewal acknowledged for {:.1}s (renew deadline)",
                config.renew_deadline.as_secs_f64()
            ));
        }
        match call(
            left.min(CALL_TIMEOUT),
            backend.renew(lease, Some(claim.term)),
        )
        .await
        {
            Ok(true) => {
                failures = 0;
                claim.renewed_at = sent;
                shared.set(Some(claim));
            }
            Ok(false) => return LeadEnd::Lost("the lease or the leadership key is gone".into()),
            Err(e) => {
                failures += 1;
                warn!(error = %e, failures, "election: renewal failed; retrying until the renew deadline");
            }
        }
    }
}

async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        () = sleep(d) => {}
        _ = stop.changed() => {}
    }
}
