//! The store in memory, with etcd's semantics that the loop relies on: every value carries
//! the revision it was written at, a write compares against the revision it read, a
//! fenced write is taken only while the leadership key still has the writer's term (the
//! [`MemLeases`] the replicas' elections run on), and a change of a spec, a deletion
//! request or the automation state wakes every subscriber. Several replicas share one.
//! Deletion keeps what etcd's store keeps: a plain delete, or a cascade without
//! `--purge-data`, leaves the record and the automation's denylist, and a cluster without
//! a spec is never listed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use mesos_operator_core::autoupdate::AutoUpdateState;
use mesos_operator_core::record::Recorded;
use mesos_operator_core::spec::{
    conflicts_with_others, validate, Component, MesosCluster, PortConflict, SecretScope,
};
use mesos_operator_core::status::ClusterStatus;
use tokio::sync::{mpsc, watch};

use super::cluster_store::{ClusterStore, Wake};
use super::{
    AutoUpdateAt, DeletionRequest, Event, KeptVolumes, RecordAt, Removal, StoreError, Stored,
    WriteOutcome, MAX_EVENTS,
};
use crate::election::memory::MemLeases;
use crate::election::{Deposed, WriteGuard};

#[derive(Debug, Clone, Default)]
struct Cluster {
    spec: Option<Stored>,
    record: RecordAt,
    autoupdate: AutoUpdateAt,
    status: Option<ClusterStatus>,
    events: Vec<Event>,
    deletion: Option<DeletionRequest>,
    kept_volumes: Option<KeptVolumes>,
    backup_request: Option<u64>,
    backups: BTreeMap<String, mesos_operator_core::backup::BackupRecord>,
}

impl Cluster {
    /// What `delete` (or a cascade that keeps the data) removes, as [`Store::delete`] does
    /// it in etcd: spec, status, events and request go; the record stays, the automation
    /// state is trimmed to what outlives the spec (a new revision only when that changed
    /// it). Returns whether anything was removed.
    ///
    /// [`Store::delete`]: super::Store::delete
    fn remove_keeping_data(&mut self, next_revision: impl FnOnce() -> i64) -> bool {
        let removed = self.spec.take().is_some()
            | self.status.take().is_some()
            | !std::mem::take(&mut self.events).is_empty()
            | self.deletion.take().is_some();
        let trimmed = self.autoupdate.state.kept_after_delete();
        if self.autoupdate.mod_revision != 0 && trimmed != self.autoupdate.state {
            self.autoupdate = AutoUpdateAt {
                state: trimmed,
                mod_revision: next_revision(),
            };
        }
        removed
    }
}

#[derive(Debug, Default)]
struct State {
    revision: i64,
    clusters: BTreeMap<String, Cluster>,
    secret_scopes: BTreeMap<String, SecretScope>,
    subscribers: Vec<mpsc::UnboundedSender<Wake>>,
    /// Store requests served, by kind (what the scale benchmark counts).
    requests: BTreeMap<&'static str, u64>,
}

impl State {
    fn next_revision(&mut self) -> i64 {
        self.revision += 1;
        self.revision
    }

    fn wake(&mut self, wake: Wake) {
        self.subscribers.retain(|s| s.send(wake.clone()).is_ok());
    }

    fn count(&mut self, kind: &'static str) {
        *self.requests.entry(kind).or_default() += 1;
    }
}

/// The store several replicas share.
#[derive(Debug, Clone)]
pub struct MemStore {
    state: Arc<Mutex<State>>,
    leases: MemLeases,
}

impl MemStore {
    /// An empty store whose fenced writes are judged by `leases`.
    pub fn new(leases: MemLeases) -> MemStore {
        MemStore {
            state: Arc::default(),
            leases,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// The write is taken only while the leadership key has the guard's term.
    fn fenced(&self, guard: &WriteGuard) -> Result<(), StoreError> {
        if self.leases.write(guard, "store") {
            Ok(())
        } else {
            Err(StoreError::Deposed(Deposed(format!(
                "term {} no longer holds the leadership key",
                guard.term
            ))))
        }
    }

    /// A person's `apply`: validated against the stored spec, then stored at the next
    /// generation (nothing is written for an unchanged spec).
    pub fn apply(&self, doc: &MesosCluster) -> Result<WriteOutcome, StoreError> {
        let mut s = self.lock();
        s.count("apply");
        let name = doc.metadata.name.clone();
        let current = s.clusters.get(&name).and_then(|c| c.spec.clone());
        validate(doc, current.as_ref().map(|c| &c.doc)).map_err(StoreError::Invalid)?;
        Ok(Self::write_spec(&mut s, doc.clone(), current.as_ref()))
    }

    fn write_spec(s: &mut State, mut doc: MesosCluster, current: Option<&Stored>) -> WriteOutcome {
        let name = doc.metadata.name.clone();
        let outcome = match current {
            None => WriteOutcome::Created { generation: 1 },
            Some(cur) if cur.doc.spec == doc.spec => {
                return WriteOutcome::Unchanged {
                    generation: cur.generation(),
                }
            }
            Some(cur) => WriteOutcome::Updated {
                generation: cur.generation() + 1,
            },
        };
        doc.metadata.generation = Some(outcome.generation());
        let mod_revision = s.next_revision();
        s.clusters.entry(name.clone()).or_default().spec = Some(Stored { doc, mod_revision });
        s.wake(Wake::Cluster(name));
        outcome
    }

    /// Stores a secret's scope (`None`: usable anywhere), as `secret scope` does.
    pub fn set_secret_scope(&self, name: &str, scope: Option<SecretScope>) {
        let mut s = self.lock();
        s.next_revision();
        match scope {
            Some(sc) => s.secret_scopes.insert(name.to_string(), sc),
            None => s.secret_scopes.remove(name),
        };
    }

    /// `mesos-operator backup NAME` at `requested_at`.
    pub fn request_backup(&self, name: &str, requested_at: u64) {
        let mut s = self.lock();
        s.next_revision();
        s.clusters
            .entry(name.to_string())
            .or_default()
            .backup_request = Some(requested_at);
        s.wake(Wake::Cluster(name.to_string()));
    }

    /// The backups recorded, oldest first.
    pub fn backup_records(&self, name: &str) -> Vec<mesos_operator_core::backup::BackupRecord> {
        let s = self.lock();
        s.clusters
            .get(name)
            .map(|c| c.backups.values().cloned().collect())
            .unwrap_or_default()
    }

    /// `delete --cascade` (with `purge_data`, `--purge-data`): asks the operator to
    /// remove the cluster's containers (and data volumes).
    pub fn request_deletion(&self, name: &str, purge_data: bool) {
        let mut s = self.lock();
        s.next_revision();
        s.clusters.entry(name.to_string()).or_default().deletion = Some(DeletionRequest {
            requested_at: String::new(),
            purge_data,
        });
        s.wake(Wake::Cluster(name.to_string()));
    }

    /// A person's plain `delete`: the keys [`Store::delete`] removes; containers,
    /// record and the automation's denylist stay. Returns false if there was nothing to
    /// remove.
    ///
    /// [`Store::delete`]: super::Store::delete
    pub fn delete(&self, name: &str) -> bool {
        let mut s = self.lock();
        s.count("delete");
        let State {
            revision, clusters, ..
        } = &mut *s;
        let Some(c) = clusters.get_mut(name) else {
            return false;
        };
        let had_spec = c.spec.is_some();
        let removed = c.remove_keeping_data(|| {
            *revision += 1;
            *revision
        });
        s.next_revision();
        if had_spec {
            s.wake(Wake::Deleted(name.to_string()));
        }
        removed
    }

    /// Whether the cluster has a spec (a kept record alone is no cluster).
    pub fn has_spec(&self, name: &str) -> bool {
        self.lock()
            .clusters
            .get(name)
            .is_some_and(|c| c.spec.is_some())
    }

    /// The automation state as stored.
    pub fn stored_autoupdate(&self, name: &str) -> AutoUpdateState {
        self.lock()
            .clusters
            .get(name)
            .map(|c| c.autoupdate.state.clone())
            .unwrap_or_default()
    }

    /// What the last `delete --cascade` without `--purge-data` kept, as recorded.
    pub fn kept_volumes(&self, name: &str) -> Option<KeptVolumes> {
        self.lock()
            .clusters
            .get(name)
            .and_then(|c| c.kept_volumes.clone())
    }

    /// The status the operator last wrote.
    pub fn status(&self, name: &str) -> Option<ClusterStatus> {
        self.lock()
            .clusters
            .get(name)
            .and_then(|c| c.status.clone())
    }

    /// The operator's events, oldest first.
    pub fn events(&self, name: &str) -> Vec<Event> {
        self.lock()
            .clusters
            .get(name)
            .map(|c| c.events.clone())
            .unwrap_or_default()
    }

    /// The operator's record as stored.
    pub fn stored_record(&self, name: &str) -> Recorded {
        self.lock()
            .clusters
            .get(name)
            .map(|c| c.record.record.clone())
            .unwrap_or_default()
    }

    /// Whether any key of the cluster is left.
    pub fn holds(&self, name: &str) -> bool {
        self.lock().clusters.contains_key(name)
    }

    /// Requests served so far, by kind.
    pub fn requests(&self) -> BTreeMap<&'static str, u64> {
        self.lock().requests.clone()
    }
}

#[async_trait]
impl ClusterStore for MemStore {
    async fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        let mut s = self.lock();
        s.count("get");
        Ok(s.clusters.get(name).and_then(|c| c.spec.clone()))
    }

    async fn deletion_request(&self, name: &str) -> Result<Option<DeletionRequest>, StoreError> {
        let mut s = self.lock();
        s.count("deletion");
        Ok(s.clusters.get(name).and_then(|c| c.deletion.clone()))
    }

    async fn backup_request(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let mut s = self.lock();
        s.count("backup-request");
        Ok(s.clusters.get(name).and_then(|c| c.backup_request))
    }

    async fn backups(
        &self,
        name: &str,
    ) -> Result<Vec<mesos_operator_core::backup::BackupRecord>, StoreError> {
        let mut s = self.lock();
        s.count("backups");
        Ok(s.clusters
            .get(name)
            .map(|c| c.backups.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn put_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        record: &mesos_operator_core::backup::BackupRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.count("put-backup");
        self.fenced(guard)?;
        s.next_revision();
        s.clusters
            .entry(name.to_string())
            .or_default()
            .backups
            .insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn delete_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.count("delete-backup");
        self.fenced(guard)?;
        s.next_revision();
        if let Some(c) = s.clusters.get_mut(name) {
            c.backups.remove(id);
        }
        Ok(())
    }

    async fn port_conflicts(&self, doc: &MesosCluster) -> Result<Vec<PortConflict>, StoreError> {
        let mut s = self.lock();
        s.count("others");
        let others: Vec<MesosCluster> = s
            .clusters
            .iter()
            .filter(|(n, _)| **n != doc.metadata.name)
            .filter_map(|(_, c)| c.spec.as_ref().map(|st| st.doc.clone()))
            .collect();
        Ok(conflicts_with_others(doc, others.iter()))
    }

    async fn secret_scopes(&self) -> Result<BTreeMap<String, SecretScope>, StoreError> {
        let mut s = self.lock();
        s.count("secret-scopes");
        Ok(s.secret_scopes.clone())
    }

    async fn record(&self, name: &str) -> Result<RecordAt, StoreError> {
        let mut s = self.lock();
        s.count("record");
        Ok(s.clusters
            .get(name)
            .map(|c| c.record.clone())
            .unwrap_or_default())
    }

    async fn put_record(
        &self,
        guard: &WriteGuard,
        name: &str,
        at: &RecordAt,
        record: &Recorded,
    ) -> Result<RecordAt, StoreError> {
        let mut s = self.lock();
        s.count("put-record");
        let have = s.clusters.get(name).map_or(0, |c| c.record.mod_revision);
        if have != at.mod_revision {
            return Err(StoreError::Conflict(format!(
                "the operator record of {name} was changed by someone else"
            )));
        }
        self.fenced(guard)?;
        let mod_revision = s.next_revision();
        let written = RecordAt {
            record: record.clone(),
            mod_revision,
        };
        s.clusters.entry(name.to_string()).or_default().record = written.clone();
        Ok(written)
    }

    async fn autoupdate(&self, name: &str) -> Result<AutoUpdateAt, StoreError> {
        let mut s = self.lock();
        s.count("autoupdate");
        Ok(s.clusters
            .get(name)
            .map(|c| c.autoupdate.clone())
            .unwrap_or_default())
    }

    async fn put_autoupdate(
        &self,
        guard: Option<&WriteGuard>,
        name: &str,
        at: &AutoUpdateAt,
        state: &AutoUpdateState,
    ) -> Result<AutoUpdateAt, StoreError> {
        let mut s = self.lock();
        s.count("put-autoupdate");
        let have = s
            .clusters
            .get(name)
            .map_or(0, |c| c.autoupdate.mod_revision);
        if have != at.mod_revision {
            return Err(StoreError::Conflict(format!(
                "the automation state of {name} was changed by someone else"
            )));
        }
        if let Some(g) = guard {
            self.fenced(g)?;
        }
        let mod_revision = s.next_revision();
        let written = AutoUpdateAt {
            state: state.clone(),
            mod_revision,
        };
        s.clusters.entry(name.to_string()).or_default().autoupdate = written.clone();
        s.wake(Wake::Cluster(name.to_string()));
        Ok(written)
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
        let mut s = self.lock();
        s.count("put-spec");
        let cur = s
            .clusters
            .get(name)
            .and_then(|c| c.spec.clone())
            .ok_or_else(|| StoreError::NotFound(format!("cluster {name}")))?;
        if cur.generation() != generation || cur.mod_revision != mod_revision {
            return Err(StoreError::Conflict(format!(
                "{name} changed since generation {generation} was read (now generation {})",
                cur.generation()
            )));
        }
        let mut doc = cur.doc.clone();
        if let Some(slot) = doc.image_mut(component) {
            *slot = image.to_string();
        }
        validate(&doc, Some(&cur.doc)).map_err(StoreError::Invalid)?;
        self.fenced(guard)?;
        Ok(Self::write_spec(&mut s, doc, Some(&cur)))
    }

    async fn put_status(
        &self,
        guard: &WriteGuard,
        name: &str,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.count("put-status");
        self.fenced(guard)?;
        s.next_revision();
        s.clusters.entry(name.to_string()).or_default().status = Some(status.clone());
        Ok(())
    }

    async fn push_event(
        &self,
        guard: &WriteGuard,
        name: &str,
        event: Event,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.count("put-event");
        self.fenced(guard)?;
        s.next_revision();
        let events = &mut s.clusters.entry(name.to_string()).or_default().events;
        events.push(event);
        let drop = events.len().saturating_sub(MAX_EVENTS);
        events.drain(..drop);
        Ok(())
    }

    async fn delete_fenced(
        &self,
        name: &str,
        guard: &WriteGuard,
        removal: &Removal,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.count("delete");
        self.fenced(guard)?;
        s.next_revision();
        let had_spec = s.clusters.get(name).is_some_and(|c| c.spec.is_some());
        match removal {
            Removal::Everything => {
                s.clusters.remove(name);
            }
            Removal::KeepData(kept) => {
                let State {
                    revision, clusters, ..
                } = &mut *s;
                if let Some(c) = clusters.get_mut(name) {
                    c.remove_keeping_data(|| {
                        *revision += 1;
                        *revision
                    });
                    c.kept_volumes = Some(kept.clone());
                }
            }
        }
        if had_spec {
            s.wake(Wake::Deleted(name.to_string()));
        }
        Ok(())
    }

    fn wakes(&self, ready: watch::Sender<bool>) -> BoxStream<'static, Wake> {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut s = self.lock();
            let names: Vec<String> = s
                .clusters
                .iter()
                .filter(|(_, c)| c.spec.is_some())
                .map(|(n, _)| n.clone())
                .collect();
            for n in names {
                let _ = tx.send(Wake::Cluster(n));
            }
            s.subscribers.push(tx);
        }
        let _ = ready.send(true);
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|w| (w, rx))
        }))
    }
}
