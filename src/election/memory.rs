//! etcd's leases and the leadership key in memory, on tokio's clock, so that several
//! replicas' elections, freezes past the lease and cut-off replicas run under a paused clock
//! in milliseconds. It keeps etcd's semantics that the election relies on: a lease expires
//! `ttl` after its last renewal reached the store, the key goes with its lease, a key is
//! created only if absent and its create revision grows, and a fenced write is accepted
//! only while the key has the writer's term.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Acquire, ElectionError, Leader, LeaderValue, LeaseBackend, WriteGuard};

#[derive(Debug, Clone)]
struct Key {
    value: LeaderValue,
    create_revision: i64,
    lease: i64,
}

#[derive(Debug, Default)]
struct State {
    revision: i64,
    next_lease: i64,
    /// Lease id → (expiry, ttl).
    leases: BTreeMap<i64, (Instant, Duration)>,
    key: Option<Key>,
    writes: Vec<FencedWrite>,
}

impl State {
    /// Expires leases whose time has come, and the key with its lease.
    fn expire(&mut self, now: Instant) -> bool {
        self.leases.retain(|_, (expiry, _)| *expiry > now);
        let gone = self
            .key
            .as_ref()
            .is_some_and(|k| !self.leases.contains_key(&k.lease));
        if gone {
            self.key = None;
            self.revision += 1;
        }
        gone
    }
}

/// One write a replica made under a fence, and whether the store took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencedWrite {
    /// When it reached the store.
    pub at: Instant,
    /// Who sent it.
    pub writer: String,
    /// The term it was made in.
    pub term: i64,
    /// Accepted: the key had that term when the write arrived.
    pub accepted: bool,
}

/// The store several replicas share.
#[derive(Debug, Clone, Default)]
pub struct MemLeases {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl MemLeases {
    /// An empty store.
    pub fn new() -> MemLeases {
        MemLeases::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    fn expire(&self) -> MutexGuard<'_, State> {
        let mut s = self.lock();
        if s.expire(Instant::now()) {
            self.changed.notify_waiters();
        }
        s
    }

    /// A replica's connection to the store.
    pub fn client(&self) -> MemClient {
        MemClient {
            store: self.clone(),
            cut: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Who holds the key now.
    pub fn leader(&self) -> Option<Leader> {
        self.expire().key.as_ref().map(|k| Leader {
            identity: k.value.identity.clone(),
            term: k.create_revision,
            acquired_at: k.value.acquired_at.clone(),
        })
    }

    /// A write conditioned on the writer's leadership, as every etcd write of the leader is.
    pub fn write(&self, guard: &WriteGuard, writer: &str) -> bool {
        let mut s = self.expire();
        let accepted = s
            .key
            .as_ref()
            .is_some_and(|k| k.create_revision == guard.term);
        if accepted {
            s.revision += 1;
        }
        s.writes.push(FencedWrite {
            at: Instant::now(),
            writer: writer.to_string(),
            term: guard.term,
            accepted,
        });
        accepted
    }

    /// Every fenced write so far, in arrival order.
    pub fn writes(&self) -> Vec<FencedWrite> {
        self.lock().writes.clone()
    }
}

/// One replica's connection; [`MemClient::cut`] makes its calls hang as to an unreachable
/// etcd.
#[derive(Debug, Clone)]
pub struct MemClient {
    store: MemLeases,
    cut: Arc<AtomicBool>,
}

impl MemClient {
    /// Cuts the replica off the store (or reconnects it).
    pub fn cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
    }

    /// The store, as a cut-off replica sees it: never answering.
    async fn reach(&self) {
        if self.cut.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

impl LeaseBackend for MemClient {
    async fn grant(&self, ttl: Duration) -> Result<i64, ElectionError> {
        self.reach().await;
        let mut s = self.store.expire();
        s.next_lease += 1;
        let id = s.next_lease;
        s.leases.insert(id, (Instant::now() + ttl, ttl));
        Ok(id)
    }

    async fn renew(&self, lease: i64, term: Option<i64>) -> Result<bool, ElectionError> {
        self.reach().await;
        let mut s = self.store.expire();
        let Some((expiry, ttl)) = s.leases.get_mut(&lease) else {
            return Ok(false);
        };
        *expiry = Instant::now() + *ttl;
        Ok(match term {
            None => true,
            Some(t) => s
                .key
                .as_ref()
                .is_some_and(|k| k.create_revision == t && k.lease == lease),
        })
    }

    async fn acquire(&self, lease: i64, value: &LeaderValue) -> Result<Acquire, ElectionError> {
        self.reach().await;
        let mut s = self.store.expire();
        if let Some(k) = &s.key {
            return Ok(Acquire::Held {
                leader: Some(Leader {
                    identity: k.value.identity.clone(),
                    term: k.create_revision,
                    acquired_at: k.value.acquired_at.clone(),
                }),
                revision: s.revision,
            });
        }
        if !s.leases.contains_key(&lease) {
            return Err(ElectionError("requested lease not found".into()));
        }
        s.revision += 1;
        let term = s.revision;
        s.key = Some(Key {
            value: value.clone(),
            create_revision: term,
            lease,
        });
        Ok(Acquire::Won { term })
    }

    async fn release(&self, term: Option<i64>, lease: i64) -> Result<(), ElectionError> {
        self.reach().await;
        let mut s = self.store.expire();
        let ours = term.is_some() && s.key.as_ref().map(|k| k.create_revision) == term;
        if ours {
            s.key = None;
            s.revision += 1;
        }
        s.leases.remove(&lease);
        let expired = s.expire(Instant::now());
        if ours || expired {
            self.store.changed.notify_waiters();
        }
        Ok(())
    }

    async fn wait_change(&self, revision: i64, max: Duration) {
        let _ = tokio::time::timeout(max, async {
            self.reach().await;
            let changed = self.store.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.store.expire().revision > revision {
                return;
            }
            changed.await;
        })
        .await;
    }
}
