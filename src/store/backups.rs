//! Backups in etcd: one key per backup stored whole (`clusters/<name>/backups/<id>`, a
//! [`BackupRecord`], written by the leader under the fence once both parts are verified in
//! the target) and a person's request for one (`clusters/<name>/backup-request`,
//! `{"requestedAt": <seconds>}`, written by `mesos-operator backup NAME`). The keys outlive
//! `delete NAME` (a restore needs them); `--purge-data` removes them with the rest.

use etcd_client::{GetOptions, TxnOp};
use mesos_operator_core::backup::BackupRecord;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::election::WriteGuard;
use crate::metrics::EtcdOp;

/// `mesos-operator backup NAME`: a backup asked for at this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRequest {
    /// Seconds since the epoch.
    pub requested_at: u64,
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    }
}

impl Store {
    /// Prefix of a cluster's backups.
    pub fn backups_prefix(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/backups/"))
    }

    /// Key of a cluster's backup request.
    pub fn backup_request_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/backup-request"))
    }

    /// Asks the operator for a backup now (`requested_at`); a later request replaces it.
    pub async fn request_backup(&self, name: &str, requested_at: u64) -> Result<(), StoreError> {
        let key = self.backup_request_key(name);
        let value =
            serde_json::to_vec(&BackupRequest { requested_at }).map_err(|e| corrupt(&key, e))?;
        let mut c = self.client.clone();
        self.timed(EtcdOp::Put, c.put(key, value, None)).await?;
        Ok(())
    }

    /// The last backup request, if any.
    pub async fn backup_request(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let key = self.backup_request_key(name);
        let mut c = self.client.clone();
        let r = self.timed(EtcdOp::Get, c.get(key.clone(), None)).await?;
        match r.kvs().first() {
            None => Ok(None),
            Some(kv) => serde_json::from_slice::<BackupRequest>(kv.value())
                .map(|b| Some(b.requested_at))
                .map_err(|e| corrupt(&key, e)),
        }
    }

    /// The cluster's backups, oldest first (ids sort by time).
    pub async fn backups(&self, name: &str) -> Result<Vec<BackupRecord>, StoreError> {
        let prefix = self.backups_prefix(name);
        let mut c = self.client.clone();
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
            )
            .await?;
        let mut out = Vec::new();
        for kv in r.kvs() {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            out.push(serde_json::from_slice(kv.value()).map_err(|e| corrupt(&key, e))?);
        }
        out.sort_by(|a: &BackupRecord, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Records a backup stored whole, under the fence.
    pub async fn put_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        record: &BackupRecord,
    ) -> Result<(), StoreError> {
        let key = format!("{}{}", self.backups_prefix(name), record.id);
        let value = serde_json::to_vec(record).map_err(|e| corrupt(&key, e))?;
        self.fenced_txn(guard, Vec::new(), vec![TxnOp::put(key, value, None)])
            .await?;
        Ok(())
    }

    /// Forgets a backup (retention, once its objects are deleted), under the fence.
    pub async fn delete_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let key = format!("{}{id}", self.backups_prefix(name));
        self.fenced_txn(guard, Vec::new(), vec![TxnOp::delete(key, None)])
            .await?;
        Ok(())
    }
}
