//! The store seam: what the reconcile loop reads and writes about a cluster, as a trait with
//! two implementations, etcd ([`Store`]) and memory ([`super::memory::MemStore`]), in the
//! shape of raft-rs' `Storage`/`MemStorage`. With the memory one the real loop runs against
//! the model fleet under tokio's paused clock; the etcd one is what production runs.
//!
//! Every write of the leading operator carries its [`WriteGuard`]: the store refuses it once
//! the leadership moved on ([`StoreError::Deposed`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use mesos_operator_core::autoupdate::AutoUpdateState;
use mesos_operator_core::backup::BackupRecord;
use mesos_operator_core::record::Recorded;
use mesos_operator_core::spec::{Component, MesosCluster, PortConflict, SecretScope};
use mesos_operator_core::status::ClusterStatus;
use tokio::sync::watch;

use super::{
    AutoUpdateAt, DeletionRequest, Event, RecordAt, Removal, Store, StoreError, Stored,
    WriteOutcome,
};
use crate::election::WriteGuard;

/// Why a cluster should be looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// A key of the cluster changed (or it was listed).
    Cluster(String),
    /// Its spec was deleted.
    Deleted(String),
}

/// What the loop needs of the store.
#[async_trait]
pub trait ClusterStore: Send + Sync + 'static {
    /// The stored document, if any.
    async fn get(&self, name: &str) -> Result<Option<Stored>, StoreError>;
    /// The `delete --cascade` request for the cluster, if there is one (it says whether the
    /// data volumes go too).
    async fn deletion_request(&self, name: &str) -> Result<Option<DeletionRequest>, StoreError>;
    /// The ports `doc` binds that another stored cluster binds on the same machines.
    async fn port_conflicts(&self, doc: &MesosCluster) -> Result<Vec<PortConflict>, StoreError>;
    /// Every secret's scope, by secret name (a secret without one is usable anywhere).
    async fn secret_scopes(&self) -> Result<BTreeMap<String, SecretScope>, StoreError>;
    /// The operator's record; absent is empty (revision 0), unreadable an error.
    async fn record(&self, name: &str) -> Result<RecordAt, StoreError>;
    /// Writes the record if it is still at `at.mod_revision`, under the fence.
    async fn put_record(
        &self,
        guard: &WriteGuard,
        name: &str,
        at: &RecordAt,
        record: &Recorded,
    ) -> Result<RecordAt, StoreError>;
    /// The automation's state; absent is empty.
    async fn autoupdate(&self, name: &str) -> Result<AutoUpdateAt, StoreError>;
    /// Writes the automation state if it is still at `at.mod_revision`; fenced with `guard`.
    async fn put_autoupdate(
        &self,
        guard: Option<&WriteGuard>,
        name: &str,
        at: &AutoUpdateAt,
        state: &AutoUpdateState,
    ) -> Result<AutoUpdateAt, StoreError>;
    /// The automation's change of a spec: `component`'s image set to `image`, only if the
    /// spec is still at `generation` and `mod_revision` (a person's write in between wins),
    /// validated like any apply, fenced.
    async fn set_image_fenced(
        &self,
        guard: &WriteGuard,
        name: &str,
        generation: u64,
        mod_revision: i64,
        component: Component,
        image: &str,
    ) -> Result<WriteOutcome, StoreError>;
    /// Writes the status document, fenced.
    async fn put_status(
        &self,
        guard: &WriteGuard,
        name: &str,
        status: &ClusterStatus,
    ) -> Result<(), StoreError>;
    /// Appends an event, fenced.
    async fn push_event(
        &self,
        guard: &WriteGuard,
        name: &str,
        event: Event,
    ) -> Result<(), StoreError>;
    /// Removes the cluster's keys, fenced (the end of `delete --cascade`): all of them, or
    /// all but the record and the automation's denylist, recording the volumes kept.
    async fn delete_fenced(
        &self,
        name: &str,
        guard: &WriteGuard,
        removal: &Removal,
    ) -> Result<(), StoreError>;
    /// Every cluster once, then each change that should wake a reconcile, for as long as the
    /// stream is held; `ready` says whether the store answers.
    fn wakes(&self, ready: watch::Sender<bool>) -> BoxStream<'static, Wake>;
    /// The last `mesos-operator backup NAME` request (seconds since the epoch), if any.
    async fn backup_request(&self, name: &str) -> Result<Option<u64>, StoreError>;
    /// The cluster's backups, oldest first.
    async fn backups(&self, name: &str) -> Result<Vec<BackupRecord>, StoreError>;
    /// Records a backup stored whole, fenced.
    async fn put_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        record: &BackupRecord,
    ) -> Result<(), StoreError>;
    /// Forgets a backup (retention), fenced.
    async fn delete_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        id: &str,
    ) -> Result<(), StoreError>;
}

#[async_trait]
impl ClusterStore for Store {
    async fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        Store::get(self, name).await
    }
    async fn backup_request(&self, name: &str) -> Result<Option<u64>, StoreError> {
        Store::backup_request(self, name).await
    }
    async fn backups(&self, name: &str) -> Result<Vec<BackupRecord>, StoreError> {
        Store::backups(self, name).await
    }
    async fn put_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        record: &BackupRecord,
    ) -> Result<(), StoreError> {
        Store::put_backup(self, guard, name, record).await
    }
    async fn delete_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        Store::delete_backup(self, guard, name, id).await
    }
    async fn deletion_request(&self, name: &str) -> Result<Option<DeletionRequest>, StoreError> {
        Store::deletion_request(self, name).await
    }
    async fn port_conflicts(&self, doc: &MesosCluster) -> Result<Vec<PortConflict>, StoreError> {
        Store::port_conflicts(self, doc).await
    }
    async fn secret_scopes(&self) -> Result<BTreeMap<String, SecretScope>, StoreError> {
        Store::secret_scopes(self).await
    }
    async fn record(&self, name: &str) -> Result<RecordAt, StoreError> {
        Store::record(self, name).await
    }
    async fn put_record(
        &self,
        guard: &WriteGuard,
        name: &str,
        at: &RecordAt,
        record: &Recorded,
    ) -> Result<RecordAt, StoreError> {
        Store::put_record(self, guard, name, at, record).await
    }
    async fn autoupdate(&self, name: &str) -> Result<AutoUpdateAt, StoreError> {
        Store::autoupdate(self, name).await
    }
    async fn put_autoupdate(
        &self,
        guard: Option<&WriteGuard>,
        name: &str,
        at: &AutoUpdateAt,
        state: &AutoUpdateState,
    ) -> Result<AutoUpdateAt, StoreError> {
        Store::put_autoupdate(self, guard, name, at, state).await
    }
    async fn set_image_fenced(
        &self,
        guard: &WriteGuard,
        name: &str,
        generation: u64,
        mod_revision: i64,
        component: Component,
        image: &str,
    ) -> Result<WriteOutcome, StoreError> {
        self.update_fenced(guard, name, generation, mod_revision, |d| {
            if let Some(slot) = d.image_mut(component) {
                *slot = image.to_string();
            }
        })
        .await
    }
    async fn put_status(
        &self,
        guard: &WriteGuard,
        name: &str,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        Store::put_status(self, guard, name, status).await
    }
    async fn push_event(
        &self,
        guard: &WriteGuard,
        name: &str,
        event: Event,
    ) -> Result<(), StoreError> {
        Store::push_event(self, guard, name, event).await
    }
    async fn delete_fenced(
        &self,
        name: &str,
        guard: &WriteGuard,
        removal: &Removal,
    ) -> Result<(), StoreError> {
        Store::delete_fenced(self, name, guard, removal).await
    }
    fn wakes(&self, ready: watch::Sender<bool>) -> BoxStream<'static, Wake> {
        super::watch::wakes(self.clone(), ready)
    }
}
