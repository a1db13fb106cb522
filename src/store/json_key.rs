//! One JSON value under one key, read strictly and written with a compare-and-swap on the
//! revision it was read at: the shape of the operator's record and of the automation's
//! state, each of which must never default silently or lose a concurrent write.

use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Store, StoreError};
use crate::election::WriteGuard;
use crate::metrics::EtcdOp;

impl Store {
    /// The value under `key` and its `mod_revision`; absent is the default at revision 0,
    /// a value that does not parse is [`StoreError::Corrupt`].
    pub(super) async fn read_json_at<T: DeserializeOwned + Default>(
        &self,
        key: String,
    ) -> Result<(T, i64), StoreError> {
        let mut c = self.client.clone();
        let r = self.timed(EtcdOp::Get, c.get(key.clone(), None)).await?;
        match r.kvs().first() {
            None => Ok((T::default(), 0)),
            Some(kv) => {
                let v = serde_json::from_slice(kv.value()).map_err(|e| StoreError::Corrupt {
                    key,
                    reason: e.to_string(),
                })?;
                Ok((v, kv.mod_revision()))
            }
        }
    }

    /// Writes `value` under `key` if the key is still at `mod_revision` (0: absent):
    /// fenced when `guard` is given. `Ok(Some(revision))` when written, `Ok(None)` when
    /// someone else wrote first.
    pub(super) async fn put_json_at<T: Serialize>(
        &self,
        guard: Option<&WriteGuard>,
        key: String,
        mod_revision: i64,
        value: &T,
    ) -> Result<Option<i64>, StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let compare = Compare::mod_revision(key.clone(), CompareOp::Equal, mod_revision);
        let put = TxnOp::put(key, bytes, None);
        match guard {
            Some(g) => self.fenced_txn(g, vec![compare], vec![put]).await,
            None => {
                let mut c = self.client.clone();
                let r = self
                    .timed(
                        EtcdOp::Txn,
                        c.txn(Txn::new().when([compare]).and_then([put])),
                    )
                    .await?;
                Ok(r.succeeded()
                    .then(|| r.header().map(|h| h.revision()).unwrap_or(0)))
            }
        }
    }
}
