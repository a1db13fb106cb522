//! The automation's state of a cluster (`clusters/<name>/autoupdate`): written by the
//! leader under the fence, and by the command line (approvals, resumes, denylist removals),
//! each with a compare-and-swap on the revision it read, so neither loses the other's write.

use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use mesos_operator_core::autoupdate::AutoUpdateState;

use super::{timed, Store, StoreError, MAX_RETRIES};
use crate::election::WriteGuard;

/// The state as read, with the revision a write compares against (0: absent).
#[derive(Debug, Clone, Default)]
pub struct AutoUpdateAt {
    /// The state.
    pub state: AutoUpdateState,
    /// `mod_revision` when read.
    pub mod_revision: i64,
}

impl Store {
    /// Key of a cluster's automation state.
    pub fn autoupdate_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/autoupdate"))
    }

    /// The automation state; absent is empty, unreadable is an error (a default would
    /// forget the denylist and retry a tag that failed).
    pub async fn autoupdate(&self, name: &str) -> Result<AutoUpdateAt, StoreError> {
        let mut c = self.client.clone();
        let key = self.autoupdate_key(name);
        let r = timed(c.get(key.clone(), None)).await?;
        match r.kvs().first() {
            None => Ok(AutoUpdateAt::default()),
            Some(kv) => Ok(AutoUpdateAt {
                state: serde_json::from_slice(kv.value()).map_err(|e| StoreError::Corrupt {
                    key,
                    reason: e.to_string(),
                })?,
                mod_revision: kv.mod_revision(),
            }),
        }
    }

    /// Writes the state if it is still at `at.mod_revision`: fenced when `guard` is given
    /// (the leader), a plain compare-and-swap otherwise (the command line).
    pub async fn put_autoupdate(
        &self,
        guard: Option<&WriteGuard>,
        name: &str,
        at: &AutoUpdateAt,
        state: &AutoUpdateState,
    ) -> Result<AutoUpdateAt, StoreError> {
        let key = self.autoupdate_key(name);
        let value = serde_json::to_vec(state).map_err(|e| StoreError::Corrupt {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let compare = Compare::mod_revision(key.clone(), CompareOp::Equal, at.mod_revision);
        let put = TxnOp::put(key.clone(), value, None);
        let revision = match guard {
            Some(g) => self.fenced_txn(g, vec![compare], vec![put]).await?,
            None => {
                let mut c = self.client.clone();
                let r = timed(c.txn(Txn::new().when([compare]).and_then([put]))).await?;
                r.succeeded()
                    .then(|| r.header().map(|h| h.revision()).unwrap_or(0))
            }
        };
        match revision {
            Some(rev) => Ok(AutoUpdateAt {
                state: state.clone(),
                mod_revision: rev,
            }),
            None => Err(StoreError::Conflict(format!(
                "the automation state of {name} was changed by someone else"
            ))),
        }
    }

    /// Read-modify-write of the state from the command line, retried on a conflict with
    /// the operator's writes. `change` returns what it did, or an error that leaves the
    /// state alone.
    pub async fn update_autoupdate<F, T>(&self, name: &str, change: F) -> Result<T, StoreError>
    where
        F: Fn(&mut AutoUpdateState) -> Result<T, StoreError>,
    {
        let mut last = String::new();
        for _ in 0..MAX_RETRIES {
            let at = self.autoupdate(name).await?;
            let mut state = at.state.clone();
            let out = change(&mut state)?;
            if state == at.state {
                return Ok(out);
            }
            match self.put_autoupdate(None, name, &at, &state).await {
                Ok(_) => return Ok(out),
                Err(StoreError::Conflict(m)) => last = m,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(last))
    }
}
