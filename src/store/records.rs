//! What the leading operator writes about a cluster: its own record (highest ZooKeeper id,
//! step in flight), the status document, and a bounded list of recent events.
//!
//! The record is read strictly: a value that does not parse is an error that stops the
//! reconcile (a default would hand a ZooKeeper id out twice). It is written with a
//! compare-and-swap on the revision it was read at, so two writers cannot interleave.

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, GetOptions, TxnOp};
use mesos_operator_core::record::Recorded;
use mesos_operator_core::status::ClusterStatus;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::election::WriteGuard;
use crate::metrics::EtcdOp;

/// How many events a cluster keeps (oldest dropped first).
pub const MAX_EVENTS: usize = 100;

/// The record as read, with the revision a write must compare against (0: absent).
#[derive(Debug, Clone, Default)]
pub struct RecordAt {
    /// The record.
    pub record: Recorded,
    /// `mod_revision` of the key when read; 0 when it did not exist.
    pub mod_revision: i64,
}

/// How a step (or an automation decision) ended, as events say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventOutcome {
    /// Carried out.
    Ok,
    /// Failed; the event's `error` says why.
    Error,
    /// Not taken: a host preflight check failed where it would place a member; the
    /// event's `step` names the check and what was seen, its `error` the fix.
    Held,
}

impl EventOutcome {
    /// As written in events and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Ok => "ok",
            EventOutcome::Error => "error",
            EventOutcome::Held => "held",
        }
    }
}

/// A `delete --cascade` request, as stored under `clusters/<name>/deletion`:
/// `{"requestedAt": "<RFC 3339>", "purgeData": false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionRequest {
    /// When the command line asked (RFC 3339).
    pub requested_at: String,
    /// `--purge-data`: the data volumes go too. Anything that does not say so keeps them.
    #[serde(default)]
    pub purge_data: bool,
}

impl DeletionRequest {
    /// Reads a stored request. Requests made before the choice existed hold a bare RFC 3339
    /// timestamp; they are read as keeping the data, although the command line that wrote
    /// them promised to remove it: data kept can still be removed (by hand, or with a new
    /// `delete --cascade --purge-data`), data removed by surprise cannot come back. The same
    /// goes for any value that does not parse: only an explicit `"purgeData": true` purges.
    pub fn parse(value: &[u8]) -> DeletionRequest {
        serde_json::from_slice(value).unwrap_or_else(|_| DeletionRequest {
            requested_at: String::from_utf8_lossy(value).into_owned(),
            purge_data: false,
        })
    }
}

/// What a `delete --cascade` without `--purge-data` left on the hosts, as the operator
/// saw it just before removing the containers (`clusters/<name>/kept-volumes`): the
/// command line names it, with how to remove it, and people can look it up later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptVolumes {
    /// When the containers were removed (seconds since the epoch).
    pub kept_at: u64,
    /// By host name.
    pub hosts: BTreeMap<String, KeptOnHost>,
}

/// The volumes kept on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptOnHost {
    /// The host's Docker endpoint, as the document named it.
    pub docker: String,
    /// The cluster's data volumes there.
    pub volumes: Vec<String>,
}

/// How much of a cluster's keys go when it is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// `delete --cascade --purge-data`: every key under `clusters/<name>/`; nothing is
    /// left to protect.
    Everything,
    /// `delete --cascade` without `--purge-data`: the spec, status, history, events and
    /// request go; the record (highest ZooKeeper id, master hosts) and the automation's
    /// denylist stay so that re-applying the cluster on its kept data is safe, and what was
    /// kept is written under `kept-volumes`.
    KeepData(KeptVolumes),
}

/// One step the operator took, as `events NAME` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When the step started (RFC 3339).
    pub at: String,
    /// Step kind, e.g. `ReplaceContainer`.
    pub kind: String,
    /// Component (`zookeeper`, `masters`, `agents`, `marathon`).
    pub component: String,
    /// Host the step acted on.
    pub host: String,
    /// The step, in words.
    pub step: String,
    /// How it ended.
    pub outcome: EventOutcome,
    /// The error, when the outcome is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the step's operations took.
    pub duration_seconds: f64,
    /// Spec generation the step was planned from.
    pub generation: u64,
}

impl Store {
    /// Key of a cluster's operator record.
    pub fn record_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/record"))
    }

    /// Key of a cluster's deletion request (`delete --cascade`).
    pub fn deletion_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/deletion"))
    }

    /// Key of what the last `delete --cascade` without `--purge-data` left on the hosts.
    pub fn kept_volumes_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/kept-volumes"))
    }

    /// Asks the operator to remove the cluster's containers (and with `purge_data` their
    /// data volumes), then its keys. Returns the revision the request was written at: what
    /// the operator reports afterwards ([`Store::kept_volumes`]) is newer.
    pub async fn request_deletion(&self, name: &str, purge_data: bool) -> Result<i64, StoreError> {
        let mut c = self.client.clone();
        let request = DeletionRequest {
            requested_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            purge_data,
        };
        let key = self.deletion_key(name);
        let value = serde_json::to_vec(&request).map_err(|e| StoreError::Corrupt {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let r = self.timed(EtcdOp::Put, c.put(key, value, None)).await?;
        Ok(r.header().map(|h| h.revision()).unwrap_or(0))
    }

    /// The `delete --cascade` request for the cluster, if there is one.
    pub async fn deletion_request(
        &self,
        name: &str,
    ) -> Result<Option<DeletionRequest>, StoreError> {
        let mut c = self.client.clone();
        let r = self
            .timed(EtcdOp::Get, c.get(self.deletion_key(name), None))
            .await?;
        Ok(r.kvs().first().map(|kv| DeletionRequest::parse(kv.value())))
    }

    /// What the operator kept the last time it carried out `delete --cascade` without
    /// `--purge-data`, and the revision it wrote that at.
    pub async fn kept_volumes(&self, name: &str) -> Result<Option<(KeptVolumes, i64)>, StoreError> {
        let (kept, revision): (Option<KeptVolumes>, i64) =
            self.read_json_at(self.kept_volumes_key(name)).await?;
        Ok(kept.map(|k| (k, revision)))
    }

    /// Key of a cluster's recent events.
    pub fn events_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/events"))
    }

    /// The operator's record of a cluster; absent is an empty record (nothing was ever
    /// handed out), unreadable is an error.
    pub async fn record(&self, name: &str) -> Result<RecordAt, StoreError> {
        let (record, mod_revision) = self.read_json_at(self.record_key(name)).await?;
        Ok(RecordAt {
            record,
            mod_revision,
        })
    }

    /// Writes the record if it is still at `at.mod_revision`, under the fence; returns the
    /// new revision.
    pub async fn put_record(
        &self,
        guard: &WriteGuard,
        name: &str,
        at: &RecordAt,
        record: &Recorded,
    ) -> Result<RecordAt, StoreError> {
        let key = self.record_key(name);
        let Some(revision) = self
            .put_json_at(Some(guard), key, at.mod_revision, record)
            .await?
        else {
            return Err(StoreError::Conflict(format!(
                "the operator record of {name} was changed by someone else"
            )));
        };
        Ok(RecordAt {
            record: record.clone(),
            mod_revision: revision,
        })
    }

    /// Read-modify-write of the record from the command line (a person's decision the
    /// operator cannot make, such as forgetting a host gone for good), as a compare-and-swap
    /// retried on a conflict with the operator's own writes. `change` returns what it did,
    /// or an error that leaves the record alone.
    pub async fn update_record<F, T>(&self, name: &str, change: F) -> Result<T, StoreError>
    where
        F: Fn(&mut Recorded) -> Result<T, StoreError>,
    {
        let mut last = String::new();
        for _ in 0..super::MAX_RETRIES {
            let at = self.record(name).await?;
            let mut record = at.record.clone();
            let out = change(&mut record)?;
            if record == at.record {
                return Ok(out);
            }
            let key = self.record_key(name);
            match self
                .put_json_at(None, key, at.mod_revision, &record)
                .await?
            {
                Some(_) => return Ok(out),
                None => last = format!("the operator record of {name} kept changing"),
            }
        }
        Err(StoreError::Conflict(last))
    }

    /// Writes the status document, under the fence.
    pub async fn put_status(
        &self,
        guard: &WriteGuard,
        name: &str,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let key = self.status_key(name);
        let value = serde_json::to_vec(status).map_err(|e| StoreError::Corrupt {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        self.fenced_txn(guard, Vec::new(), vec![TxnOp::put(key, value, None)])
            .await?;
        Ok(())
    }

    /// Recent events, oldest first.
    pub async fn events(&self, name: &str) -> Result<Vec<Event>, StoreError> {
        Ok(self.events_at(name).await?.0)
    }

    async fn events_at(&self, name: &str) -> Result<(Vec<Event>, i64), StoreError> {
        let mut c = self.client.clone();
        let key = self.events_key(name);
        let r = self.timed(EtcdOp::Get, c.get(key.clone(), None)).await?;
        match r.kvs().first() {
            None => Ok((Vec::new(), 0)),
            Some(kv) => Ok((
                serde_json::from_slice(kv.value()).map_err(|e| StoreError::Corrupt {
                    key,
                    reason: e.to_string(),
                })?,
                kv.mod_revision(),
            )),
        }
    }

    /// Appends an event, keeping the newest [`MAX_EVENTS`].
    pub async fn push_event(
        &self,
        guard: &WriteGuard,
        name: &str,
        event: Event,
    ) -> Result<(), StoreError> {
        let key = self.events_key(name);
        for _ in 0..super::MAX_RETRIES {
            let (mut events, rev) = match self.events_at(name).await {
                Ok(v) => v,
                // An unreadable list is replaced rather than blocking the operator forever.
                Err(StoreError::Corrupt { .. }) => (Vec::new(), -1),
                Err(e) => return Err(e),
            };
            events.push(event.clone());
            let drop = events.len().saturating_sub(MAX_EVENTS);
            events.drain(..drop);
            let value = serde_json::to_vec(&events).map_err(|e| StoreError::Corrupt {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            let compares = if rev < 0 {
                Vec::new()
            } else {
                vec![Compare::mod_revision(key.clone(), CompareOp::Equal, rev)]
            };
            let put = TxnOp::put(key.clone(), value, None);
            if self.fenced_txn(guard, compares, vec![put]).await?.is_some() {
                return Ok(());
            }
        }
        Err(StoreError::Conflict(format!(
            "the events of {name} kept changing"
        )))
    }

    /// Names of the clusters that have a spec, and the revision they were read at (a watch
    /// from `revision + 1` misses nothing).
    pub async fn cluster_names(&self) -> Result<(Vec<String>, i64), StoreError> {
        let mut c = self.client.clone();
        let prefix = self.key("clusters/");
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(
                    prefix.clone(),
                    Some(GetOptions::new().with_prefix().with_keys_only()),
                ),
            )
            .await?;
        let names = r
            .kvs()
            .iter()
            .filter_map(|kv| cluster_of_spec_key(&prefix, kv.key()))
            .collect();
        Ok((names, r.header().map(|h| h.revision()).unwrap_or(0)))
    }

    /// The prefix under which every cluster key lives (for watches).
    pub fn clusters_prefix(&self) -> String {
        self.key("clusters/")
    }
}

/// `<prefix>clusters/<name>/spec` → `name`.
pub fn cluster_of_spec_key(clusters_prefix: &str, key: &[u8]) -> Option<String> {
    let key = std::str::from_utf8(key).ok()?;
    let rest = key.strip_prefix(clusters_prefix)?;
    let name = rest.strip_suffix("/spec")?;
    (!name.contains('/')).then(|| name.to_string())
}
