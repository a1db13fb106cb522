//! The election over etcd: a lease, one key bound to it, a transaction to create it only if
//! absent, a watch for standbys. Works with etcd 3.4 (Debian's), which the Election API
//! would too; a plain key keeps the term (its create revision) and the value in one place
//! that `etcdctl get` shows.

use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, LeaseKeepAliveStream, LeaseKeeper, PutOptions, Txn, TxnOp,
    TxnOpResponse, WatchOptions,
};
use tokio::sync::Mutex;

use super::{Acquire, ElectionError, Leader, LeaderValue, LeaseBackend};

/// The leadership key in etcd.
pub struct EtcdLeases {
    client: Client,
    key: String,
    /// The keep-alive stream of the lease being renewed, opened once and reopened after an
    /// error or a renewal that did not finish.
    keeper: Mutex<Option<(i64, LeaseKeeper, LeaseKeepAliveStream)>>,
}

impl EtcdLeases {
    /// The election on `key` (`<prefix>leader`).
    pub fn new(client: Client, key: String) -> EtcdLeases {
        EtcdLeases {
            client,
            key,
            keeper: Mutex::new(None),
        }
    }
}

fn err(what: &str, e: etcd_client::Error) -> ElectionError {
    ElectionError(format!("etcd {what}: {e}"))
}

fn leader_of(kv: &etcd_client::KeyValue) -> Option<Leader> {
    let v: LeaderValue = serde_json::from_slice(kv.value()).ok()?;
    Some(Leader {
        identity: v.identity,
        term: kv.create_revision(),
        acquired_at: v.acquired_at,
    })
}

/// Who leads now, as etcd holds it (`None`: nobody).
pub async fn current_leader(client: &Client, key: &str) -> Result<Option<Leader>, ElectionError> {
    let mut c = client.clone();
    let r = tokio::time::timeout(crate::etcd::REQUEST_TIMEOUT, c.get(key, None))
        .await
        .map_err(|_| ElectionError("etcd get: no answer".into()))?
        .map_err(|e| err("get", e))?;
    Ok(r.kvs().first().and_then(leader_of))
}

impl LeaseBackend for EtcdLeases {
    async fn grant(&self, ttl: Duration) -> Result<i64, ElectionError> {
        let mut c = self.client.clone();
        let secs = ttl.as_secs().max(1) as i64;
        let r = c
            .lease_grant(secs, None)
            .await
            .map_err(|e| err("lease grant", e))?;
        Ok(r.id())
    }

    async fn renew(&self, lease: i64, term: Option<i64>) -> Result<bool, ElectionError> {
        let mut guard = self.keeper.lock().await;
        // The stream is taken out for the renewal and put back only once its answer is read:
        // a renewal cut short (the caller's deadline) drops the stream with its request, so
        // a late answer is never read as the next renewal's.
        let (keeper, stream, alive) = match guard.take() {
            Some((id, mut keeper, mut stream)) if id == lease => {
                let answer = match keeper.keep_alive().await {
                    Ok(()) => stream.message().await,
                    Err(e) => Err(e),
                };
                match answer {
                    Ok(Some(r)) => (keeper, stream, r.ttl() > 0),
                    Ok(None) => return Err(ElectionError("the keep-alive stream ended".into())),
                    Err(e) => return Err(err("lease keep-alive", e)),
                }
            }
            // Opening the stream is a renewal: etcd-client sends the first request and
            // reads its answer, and says "lease not found" for a lease that is gone.
            _ => match self.client.clone().lease_keep_alive(lease).await {
                Ok((keeper, stream)) => (keeper, stream, true),
                Err(etcd_client::Error::LeaseKeepAliveError(m)) if m == "lease not found" => {
                    return Ok(false)
                }
                Err(e) => return Err(err("lease keep-alive", e)),
            },
        };
        *guard = Some((lease, keeper, stream));
        drop(guard);
        if !alive {
            return Ok(false);
        }
        let Some(term) = term else { return Ok(true) };
        let mut c = self.client.clone();
        let r = c
            .get(self.key.as_str(), None)
            .await
            .map_err(|e| err("get", e))?;
        Ok(r.kvs()
            .first()
            .is_some_and(|kv| kv.create_revision() == term && kv.lease() == lease))
    }

    async fn acquire(&self, lease: i64, value: &LeaderValue) -> Result<Acquire, ElectionError> {
        let body = serde_json::to_vec(value).map_err(|e| ElectionError(e.to_string()))?;
        let txn = Txn::new()
            .when([Compare::create_revision(
                self.key.as_str(),
                CompareOp::Equal,
                0,
            )])
            .and_then([TxnOp::put(
                self.key.as_str(),
                body,
                Some(PutOptions::new().with_lease(lease)),
            )])
            .or_else([TxnOp::get(self.key.as_str(), None)]);
        let mut c = self.client.clone();
        let r = c.txn(txn).await.map_err(|e| err("txn", e))?;
        let revision = r.header().map(|h| h.revision()).unwrap_or(0);
        if r.succeeded() {
            return Ok(Acquire::Won { term: revision });
        }
        let leader = r.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(g) => g.kvs().first().and_then(leader_of),
            _ => None,
        });
        Ok(Acquire::Held { leader, revision })
    }

    async fn release(&self, term: Option<i64>, lease: i64) -> Result<(), ElectionError> {
        let mut c = self.client.clone();
        if let Some(term) = term {
            let txn = Txn::new()
                .when([Compare::create_revision(
                    self.key.as_str(),
                    CompareOp::Equal,
                    term,
                )])
                .and_then([TxnOp::delete(self.key.as_str(), None)]);
            c.txn(txn).await.map_err(|e| err("txn", e))?;
        }
        *self.keeper.lock().await = None;
        c.lease_revoke(lease)
            .await
            .map_err(|e| err("lease revoke", e))?;
        Ok(())
    }

    async fn wait_change(&self, revision: i64, max: Duration) {
        let mut c = self.client.clone();
        let key = self.key.clone();
        let _ = tokio::time::timeout(max, async move {
            let opts = WatchOptions::new().with_start_revision(revision + 1);
            let Ok(mut stream) = c.watch(key, Some(opts)).await else {
                // Cannot watch: the caller's retry period stands in.
                std::future::pending::<()>().await;
                return;
            };
            while let Ok(Some(r)) = stream.message().await {
                if !r.events().is_empty() || r.canceled() {
                    return;
                }
            }
            std::future::pending::<()>().await;
        })
        .await;
    }
}
