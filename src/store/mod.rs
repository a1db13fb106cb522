//! The desired state in etcd: cluster documents, their history, status and secrets.
//!
//! Layout (under the prefix, default `/mesos-operator/`):
//! `clusters/<name>/spec`, `clusters/<name>/status`, `clusters/<name>/history/<generation>`,
//! `secrets/<name>`. A `delete` (and a `delete --cascade` without `--purge-data`) keeps
//! `clusters/<name>/record` and `clusters/<name>/autoupdate`, which is no cluster until a
//! spec is stored again: everything that lists or wakes on clusters goes by spec keys.
//!
//! Every spec write is one transaction conditioned on the `mod_revision` the writer read, so
//! two writers never lose an update silently: the loser gets [`StoreError::Conflict`] and
//! nothing of its write lands. The previous spec is written to history in the same
//! transaction, so history and spec never disagree.

use std::future::Future;

use etcd_client::{
    Client, Compare, CompareOp, DeleteOptions, GetOptions, KeyValue, Txn, TxnOp, WatchOptions,
    WatchStream,
};
use mesos_operator_core::spec::{
    conflicts_with_others, validate, FieldError, MesosCluster, PortConflict,
};
use mesos_operator_core::status::ClusterStatus;

use crate::election::WriteGuard;
use crate::etcd::{self, ConnectError, EtcdOptions, REQUEST_TIMEOUT};
use crate::metrics::{EtcdOp, EtcdResult, Metrics};

mod autoupdate;
mod backups;
mod cluster_store;
mod json_key;
pub mod memory;
mod records;
mod secret_scopes;
mod spec_cache;
mod watch;
pub use autoupdate::AutoUpdateAt;
pub use cluster_store::{ClusterStore, Wake};
pub use records::{
    cluster_of_spec_key, DeletionRequest, Event, EventOutcome, KeptOnHost, KeptVolumes, RecordAt,
    Removal, MAX_EVENTS,
};

/// What can go wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Could not connect.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// etcd answered with an error.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// etcd did not answer in time.
    #[error("etcd did not answer within {}s", REQUEST_TIMEOUT.as_secs())]
    Timeout,
    /// Someone else changed the spec between our read and our write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No such cluster (or history entry, or secret).
    #[error("{0} not found")]
    NotFound(String),
    /// The document fails validation; nothing was written.
    #[error("invalid document:\n{}", format_errors(.0))]
    Invalid(Vec<FieldError>),
    /// The write was made under a leadership this replica no longer holds; etcd refused it.
    #[error(transparent)]
    Deposed(#[from] crate::election::Deposed),
    /// The document binds ports another stored cluster binds on the same machines (each
    /// error names the field, the other cluster and the fix); nothing was written.
    #[error("the document takes ports another stored cluster binds on the same machines; nothing was written:\n{}", format_errors(.0))]
    SharedPorts(Vec<FieldError>),
    /// A stored value does not parse.
    #[error("stored value at {key} is unreadable: {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
}

impl StoreError {
    /// Why etcd could not be reached, if that is what this error is (see
    /// [`etcd::unreachable_cause`]); `None` for an answer etcd gave.
    pub fn unreachable(&self) -> Option<String> {
        match self {
            StoreError::Connect(ConnectError::Connect { reason, .. }) => Some(reason.clone()),
            StoreError::Etcd(e) => etcd::unreachable_cause(e),
            StoreError::Timeout => Some(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
            _ => None,
        }
    }
}

/// One error per line, as the CLI prints them.
pub fn format_errors(errs: &[FieldError]) -> String {
    errs.iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A cluster document as stored, with the revision needed to update it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The document; `metadata.generation` is set.
    pub doc: MesosCluster,
    /// etcd mod_revision of the spec key, for compare-and-swap.
    pub mod_revision: i64,
}

impl Stored {
    /// The stored generation.
    pub fn generation(&self) -> u64 {
        self.doc.metadata.generation.unwrap_or(0)
    }
}

/// Every cluster [`Store::list`] found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The readable ones, by name.
    pub clusters: Vec<Stored>,
    /// The ones whose stored spec cannot be read: (name, why).
    pub unreadable: Vec<(String, String)>,
}

/// Generations of history kept per cluster unless `--history-limit` says otherwise.
pub const DEFAULT_HISTORY_LIMIT: u64 = 50;

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The cluster did not exist; stored at generation 1.
    Created {
        /// The new generation.
        generation: u64,
    },
    /// The spec changed; stored at a new generation.
    Updated {
        /// The new generation.
        generation: u64,
    },
    /// The spec is the one already stored; nothing was written.
    Unchanged {
        /// The current generation.
        generation: u64,
    },
}

impl WriteOutcome {
    /// The generation stored after the write.
    pub fn generation(&self) -> u64 {
        match self {
            WriteOutcome::Created { generation }
            | WriteOutcome::Updated { generation }
            | WriteOutcome::Unchanged { generation } => *generation,
        }
    }
}

/// A secret's metadata; the value is never part of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SecretInfo {
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: usize,
    /// etcd mod_revision.
    pub revision: i64,
}

/// One stored secret value, clear or an envelope; its `Debug` shows no value.
pub struct SecretEntry {
    /// Name.
    pub name: String,
    /// The full etcd key.
    pub key: String,
    /// The stored bytes.
    pub value: Vec<u8>,
    /// etcd mod_revision, for a compare-and-set.
    pub mod_revision: i64,
}

impl std::fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<stored secret {} @{}>", self.name, self.mod_revision)
    }
}

/// How many times a read-modify-write (bump, pause) retries after losing a race.
const MAX_RETRIES: usize = 5;

/// The store: an etcd client and the key prefix.
#[derive(Clone)]
pub struct Store {
    client: Client,
    prefix: String,
    history_limit: u64,
    /// Cross-cluster port answers, kept while the loop's watch says no spec changed.
    specs: std::sync::Arc<spec_cache::SpecCache>,
    /// Where each request's duration and result is counted, when the process serves
    /// metrics (`run`); the other commands make a handful of requests and count none.
    metrics: Option<Metrics>,
}

fn parse_stored(kv: &KeyValue) -> Result<Stored, StoreError> {
    let key = String::from_utf8_lossy(kv.key()).into_owned();
    let doc: MesosCluster =
        serde_json::from_slice(kv.value()).map_err(|e| StoreError::Corrupt {
            key,
            reason: e.to_string(),
        })?;
    Ok(Stored {
        doc,
        mod_revision: kv.mod_revision(),
    })
}

fn json_bytes<T: serde::Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn to_json(doc: &MesosCluster) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(doc).map_err(|e| StoreError::Corrupt {
        key: doc.metadata.name.clone(),
        reason: format!("cannot serialize: {e}"),
    })
}

impl Store {
    /// Connects to etcd.
    pub async fn connect(opts: &EtcdOptions) -> Result<Store, StoreError> {
        let client = etcd::connect(opts).await?;
        Ok(Store::new(client, &opts.prefix))
    }

    /// Wraps an existing client.
    pub fn new(client: Client, prefix: &str) -> Store {
        let mut prefix = prefix.to_string();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Store {
            client,
            prefix,
            history_limit: DEFAULT_HISTORY_LIMIT,
            specs: Default::default(),
            metrics: None,
        }
    }

    /// Counts every request this store makes (and its clones make) in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Store {
        self.metrics = Some(metrics);
        self
    }

    /// One request under [`REQUEST_TIMEOUT`], counted by `op`, its result and how long it
    /// took.
    async fn timed<T, F>(&self, op: EtcdOp, f: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, etcd_client::Error>>,
    {
        let started = tokio::time::Instant::now();
        let (r, result) = match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
            Ok(Ok(v)) => (Ok(v), EtcdResult::Ok),
            Ok(Err(e)) => (Err(StoreError::from(e)), EtcdResult::Error),
            Err(_) => (Err(StoreError::Timeout), EtcdResult::Timeout),
        };
        if let Some(m) = &self.metrics {
            m.etcd_request(op, result, started.elapsed().as_secs_f64());
        }
        r
    }

    /// Keeps at most `limit` earlier generations per cluster (at least 1).
    pub fn with_history_limit(mut self, limit: u64) -> Store {
        self.history_limit = limit.max(1);
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The underlying client (for leader election and watches).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Key of a cluster's spec.
    pub fn spec_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/spec"))
    }

    /// Key of a cluster's status.
    pub fn status_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/status"))
    }

    fn history_key(&self, name: &str, generation: u64) -> String {
        self.key(&format!("clusters/{name}/history/{generation}"))
    }

    /// Written in the same transaction as every spec write (its value: the cluster
    /// written), so that a write checked against the other clusters' documents fails when
    /// any spec was written in between.
    fn spec_writes_key(&self) -> String {
        self.key("spec-writes")
    }

    /// Every other stored cluster whose spec can be read (by the key it is stored under):
    /// what a document is compared with across clusters. An unreadable one is left out: the
    /// operator does not act on it.
    pub async fn others(&self, name: &str) -> Result<Vec<Stored>, StoreError> {
        let (names, _) = self.cluster_names().await?;
        let mut out = Vec::new();
        for n in names.into_iter().filter(|n| n != name) {
            match self.get(&n).await {
                Ok(Some(s)) => out.push(s),
                Ok(None) | Err(StoreError::Corrupt { .. }) | Err(StoreError::Etcd(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The ports `doc` binds that another stored cluster binds on the same machines.
    pub async fn port_conflicts(
        &self,
        doc: &MesosCluster,
    ) -> Result<Vec<PortConflict>, StoreError> {
        let name = &doc.metadata.name;
        if let Some(kept) = self.specs.get(name, &doc.spec) {
            return Ok(kept);
        }
        // Taken before the specs are read: a change seen meanwhile voids the answer.
        let epoch = self.specs.epoch();
        let others = self.others(name).await?;
        let conflicts = conflicts_with_others(doc, others.iter().map(|s| &s.doc));
        if let Some(e) = epoch {
            self.specs.put(name, e, &doc.spec, &conflicts);
        }
        Ok(conflicts)
    }

    /// The full etcd key of a secret, `<prefix>secrets/<name>`: what an encrypted value
    /// is bound to (its associated data), so a value copied elsewhere does not decrypt.
    pub fn secret_key(&self, name: &str) -> String {
        self.key(&format!("secrets/{name}"))
    }

    /// The current etcd revision (tests use it to show nothing was written).
    pub async fn revision(&self) -> Result<i64, StoreError> {
        let mut c = self.client.clone();
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(self.key(""), Some(GetOptions::new().with_count_only())),
            )
            .await?;
        Ok(r.header().map(|h| h.revision()).unwrap_or(0))
    }

    /// The stored document, if any.
    pub async fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        let mut c = self.client.clone();
        let r = self
            .timed(EtcdOp::Get, c.get(self.spec_key(name), None))
            .await?;
        r.kvs().first().map(parse_stored).transpose()
    }

    /// Every stored cluster, by name, and apart from them the ones whose stored spec cannot
    /// be read (name, why), so that one broken or huge spec does not hide the others. Keys
    /// are listed first and each spec is read on its own: no single answer grows with the
    /// number of clusters past etcd's and gRPC's message limits.
    pub async fn list(&self) -> Result<Listing, StoreError> {
        let (names, _) = self.cluster_names().await?;
        let mut listing = Listing::default();
        for name in names {
            match self.get(&name).await {
                Ok(Some(s)) => listing.clusters.push(s),
                Ok(None) => {}
                Err(StoreError::Corrupt { reason, .. }) => listing.unreadable.push((name, reason)),
                Err(StoreError::Etcd(e)) => listing
                    .unreadable
                    .push((name, format!("etcd refused to return it ({e})"))),
                Err(e) => return Err(e),
            }
        }
        Ok(listing)
    }

    /// Validates `doc` against what is stored and writes it if its spec differs.
    ///
    /// When `doc.metadata.generation` is set (a document read with `get`), the write only
    /// happens if the stored generation is still that one.
    pub async fn apply(&self, doc: &MesosCluster) -> Result<WriteOutcome, StoreError> {
        let current = self.get(&doc.metadata.name).await?;
        if let (Some(expected), Some(cur)) = (doc.metadata.generation, &current) {
            if expected != cur.generation() {
                return Err(StoreError::Conflict(format!(
                    "the document was read at generation {expected}, but {} is at generation {} now; \
                     get it again, or remove metadata.generation to overwrite",
                    doc.metadata.name,
                    cur.generation()
                )));
            }
        }
        self.write(doc.clone(), current.as_ref()).await
    }

    /// Compare-and-swap write of `doc` over `current` (None: must not exist yet).
    async fn write(
        &self,
        doc: MesosCluster,
        current: Option<&Stored>,
    ) -> Result<WriteOutcome, StoreError> {
        self.write_as(doc, current, None).await
    }

    /// [`Store::write`], fenced by the leadership when `guard` is given (the operator's own
    /// spec writes: automated bumps and rollbacks).
    async fn write_as(
        &self,
        mut doc: MesosCluster,
        current: Option<&Stored>,
        guard: Option<&WriteGuard>,
    ) -> Result<WriteOutcome, StoreError> {
        validate(&doc, current.map(|c| &c.doc)).map_err(StoreError::Invalid)?;
        let name = doc.metadata.name.clone();
        let key = self.spec_key(&name);
        // Read before the other clusters: a spec written after this is seen by the
        // transaction's compare.
        let spec_writes = self.spec_writes_key();
        let mut c = self.client.clone();
        let writes_at = self
            .timed(EtcdOp::Get, c.get(spec_writes.as_str(), None))
            .await?
            .kvs()
            .first()
            .map_or(0, |kv| kv.mod_revision());
        let (mut compares, mut ops, outcome) = match current {
            None => {
                doc.metadata.generation = Some(1);
                (
                    vec![Compare::create_revision(key.clone(), CompareOp::Equal, 0)],
                    vec![TxnOp::put(key, to_json(&doc)?, None)],
                    WriteOutcome::Created { generation: 1 },
                )
            }
            Some(cur) => {
                if cur.doc.spec == doc.spec {
                    return Ok(WriteOutcome::Unchanged {
                        generation: cur.generation(),
                    });
                }
                // A spec written into etcd by another tool may carry a generation that is
                // missing or below the history's: the current spec then goes into history
                // after the newest entry, so no entry is ever overwritten (the transaction
                // also requires its key to be free).
                let kept = self.history_generations(&name).await?;
                let newest_kept = kept.last().copied().unwrap_or(0);
                let previous = cur.generation().max(newest_kept + 1);
                let generation = previous + 1;
                doc.metadata.generation = Some(generation);
                let mut before = cur.doc.clone();
                before.metadata.generation = Some(previous);
                let history_key = self.history_key(&name, previous);
                let mut ops = vec![
                    TxnOp::put(history_key.as_str(), to_json(&before)?, None),
                    TxnOp::put(key.as_str(), to_json(&doc)?, None),
                ];
                // Keep the newest `history_limit` generations (this write adds one).
                let keep_from = (previous + 1).saturating_sub(self.history_limit);
                for g in kept.iter().filter(|g| **g < keep_from) {
                    ops.push(TxnOp::delete(self.history_key(&name, *g), None));
                }
                let compares = vec![
                    Compare::mod_revision(key.clone(), CompareOp::Equal, cur.mod_revision),
                    Compare::create_revision(history_key, CompareOp::Equal, 0),
                ];
                (compares, ops, WriteOutcome::Updated { generation })
            }
        };
        // Across clusters: no port this document binds may be bound by another stored
        // cluster on the same machine. The write goes through only if no spec was written
        // through the store since the others were read: one compare, whatever the number of
        // clusters (etcd caps a transaction's compares, 128 by default). A spec written
        // straight into etcd is not covered; the loop blocks such collisions.
        let others = self.others(&name).await?;
        let conflicts = conflicts_with_others(&doc, others.iter().map(|s| &s.doc));
        if !conflicts.is_empty() {
            return Err(StoreError::SharedPorts(
                conflicts.iter().map(PortConflict::to_field_error).collect(),
            ));
        }
        compares.push(Compare::mod_revision(
            spec_writes.as_str(),
            CompareOp::Equal,
            writes_at,
        ));
        ops.push(TxnOp::put(spec_writes.as_str(), name.as_str(), None));
        let succeeded = match guard {
            Some(g) => self.fenced_txn(g, compares, ops).await?.is_some(),
            None => {
                let mut c = self.client.clone();
                self.timed(EtcdOp::Txn, c.txn(Txn::new().when(compares).and_then(ops)))
                    .await?
                    .succeeded()
            }
        };
        if succeeded {
            Ok(outcome)
        } else {
            Err(StoreError::Conflict(format!(
                "{name} (or another cluster's spec it was checked against) was changed by someone else since it was read; nothing was written, try again"
            )))
        }
    }

    /// The operator's own change of a spec: applied to the spec only if it is still at
    /// `generation` and `mod_revision` (a compare-and-swap on what the change was planned from: a person's
    /// write in between wins), validated like any apply, fenced by the leadership.
    pub async fn update_fenced<F>(
        &self,
        guard: &WriteGuard,
        name: &str,
        generation: u64,
        mod_revision: i64,
        change: F,
    ) -> Result<WriteOutcome, StoreError>
    where
        F: FnOnce(&mut MesosCluster),
    {
        let cur = self
            .get(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("cluster {name}")))?;
        // The key's revision as well as the generation: a tool that writes the spec straight
        // into etcd may leave the generation as it was.
        if cur.generation() != generation || cur.mod_revision != mod_revision {
            return Err(StoreError::Conflict(format!(
                "{name} changed since generation {generation} was read (now generation {})",
                cur.generation()
            )));
        }
        let mut doc = cur.doc.clone();
        change(&mut doc);
        self.write_as(doc, Some(&cur), Some(guard)).await
    }

    /// Read-modify-write of a stored spec (bump, pause, resume), retried when another
    /// writer got in between: the change is re-applied to the fresh document each time.
    pub async fn update<F>(&self, name: &str, change: F) -> Result<WriteOutcome, StoreError>
    where
        F: Fn(&mut MesosCluster),
    {
        let mut last = None;
        for _ in 0..MAX_RETRIES {
            let cur = self
                .get(name)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("cluster {name}")))?;
            let mut doc = cur.doc.clone();
            change(&mut doc);
            match self.write(doc, Some(&cur)).await {
                Err(StoreError::Conflict(m)) => last = Some(m),
                other => return other,
            }
        }
        Err(StoreError::Conflict(last.unwrap_or_default()))
    }

    /// Earlier specs, oldest first (the current one is not included). Each entry is read on
    /// its own; an unreadable one is left out rather than hiding the rest.
    pub async fn history(&self, name: &str) -> Result<Vec<MesosCluster>, StoreError> {
        let mut out = Vec::new();
        for g in self.history_generations(name).await? {
            let mut c = self.client.clone();
            let r = self
                .timed(EtcdOp::Get, c.get(self.history_key(name, g), None))
                .await?;
            if let Some(Ok(s)) = r.kvs().first().map(parse_stored) {
                out.push(s.doc);
            }
        }
        Ok(out)
    }

    /// The generations kept in a cluster's history, oldest first (keys only).
    async fn history_generations(&self, name: &str) -> Result<Vec<u64>, StoreError> {
        let mut c = self.client.clone();
        let prefix = self.key(&format!("clusters/{name}/history/"));
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(
                    prefix.as_str(),
                    Some(GetOptions::new().with_prefix().with_keys_only()),
                ),
            )
            .await?;
        let mut gens: Vec<u64> = r
            .kvs()
            .iter()
            .filter_map(|kv| {
                std::str::from_utf8(kv.key())
                    .ok()?
                    .strip_prefix(prefix.as_str())?
                    .parse()
                    .ok()
            })
            .collect();
        gens.sort_unstable();
        Ok(gens)
    }

    /// Stores the spec of generation `to` (default: the one before the current) again, as a
    /// new generation. Validated against the current spec like any apply.
    pub async fn rollback(
        &self,
        name: &str,
        to: Option<u64>,
    ) -> Result<(u64, WriteOutcome), StoreError> {
        let cur = self
            .get(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("cluster {name}")))?;
        let history = self.history(name).await?;
        let target_gen = match to {
            Some(g) => g,
            None => history
                .last()
                .and_then(|d| d.metadata.generation)
                .ok_or_else(|| StoreError::NotFound(format!("an earlier generation of {name}")))?,
        };
        let target = if target_gen == cur.generation() {
            cur.doc.clone()
        } else {
            history
                .into_iter()
                .find(|d| d.metadata.generation == Some(target_gen))
                .ok_or_else(|| StoreError::NotFound(format!("generation {target_gen} of {name}")))?
        };
        let mut doc = cur.doc.clone();
        doc.spec = target.spec;
        Ok((target_gen, self.write(doc, Some(&cur)).await?))
    }

    /// `delete NAME`: removes a cluster's spec, status, history, events and any pending
    /// deletion request; its containers and volumes are left alone, and so are the
    /// operator's record (highest ZooKeeper id, master hosts) and the automation's state
    /// (its denylist), so that re-applying the cluster over what still runs is safe
    /// ([`mesos_operator_core::autoupdate::AutoUpdateState::kept_after_delete`]). Returns
    /// false if there was nothing to remove.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        self.remove_keeping_data(name, None, None).await
    }

    /// The end of `delete --cascade`, by the leading operator under its fence, once the
    /// containers are gone: every key with [`Removal::Everything`], the keys
    /// [`Store::delete`] removes with [`Removal::KeepData`] (which also records what was
    /// kept).
    pub async fn delete_fenced(
        &self,
        name: &str,
        guard: &WriteGuard,
        removal: &Removal,
    ) -> Result<(), StoreError> {
        match removal {
            Removal::Everything => {
                let op = TxnOp::delete(
                    self.key(&format!("clusters/{name}/")),
                    Some(DeleteOptions::new().with_prefix()),
                );
                self.fenced_txn(guard, Vec::new(), vec![op]).await?;
            }
            Removal::KeepData(kept) => {
                self.remove_keeping_data(name, Some(guard), Some(kept))
                    .await?;
            }
        }
        Ok(())
    }

    /// Removes the keys that describe the cluster as desired and as seen (spec, status,
    /// history, events, deletion request) and trims the automation state to what outlives
    /// the spec, in one transaction (a compare-and-swap on the state's revision, retried);
    /// fenced with `guard`; writes `kept` under `kept-volumes` when given. The record is
    /// never touched. Returns whether any key was removed.
    async fn remove_keeping_data(
        &self,
        name: &str,
        guard: Option<&WriteGuard>,
        kept: Option<&KeptVolumes>,
    ) -> Result<bool, StoreError> {
        let mut last = String::new();
        for _ in 0..MAX_RETRIES {
            let mut compares = Vec::new();
            let mut ops = vec![
                TxnOp::delete(self.spec_key(name), None),
                TxnOp::delete(self.status_key(name), None),
                TxnOp::delete(self.events_key(name), None),
                TxnOp::delete(self.deletion_key(name), None),
                TxnOp::delete(
                    self.key(&format!("clusters/{name}/history/")),
                    Some(DeleteOptions::new().with_prefix()),
                ),
            ];
            let removes = ops.len();
            let key = self.autoupdate_key(name);
            match self.autoupdate(name).await {
                Ok(at) if at.mod_revision != 0 => {
                    let trimmed = at.state.kept_after_delete();
                    if trimmed != at.state {
                        compares.push(Compare::mod_revision(
                            key.clone(),
                            CompareOp::Equal,
                            at.mod_revision,
                        ));
                        ops.push(TxnOp::put(key.clone(), json_bytes(&key, &trimmed)?, None));
                    }
                }
                Ok(_) => {}
                // An unreadable state is left as it is for a person to look at: rewriting
                // it would lose the denylist it may hold.
                Err(StoreError::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
            if let Some(k) = kept {
                let kkey = self.kept_volumes_key(name);
                ops.push(TxnOp::put(kkey.clone(), json_bytes(&kkey, k)?, None));
            }
            match guard {
                Some(g) => {
                    if self.fenced_txn(g, compares, ops).await?.is_some() {
                        return Ok(true);
                    }
                }
                None => {
                    let mut c = self.client.clone();
                    let r = self
                        .timed(EtcdOp::Txn, c.txn(Txn::new().when(compares).and_then(ops)))
                        .await?;
                    if r.succeeded() {
                        let removed =
                            r.op_responses()
                                .into_iter()
                                .take(removes)
                                .any(|op| match op {
                                    etcd_client::TxnOpResponse::Delete(d) => d.deleted() > 0,
                                    _ => false,
                                });
                        return Ok(removed);
                    }
                }
            }
            last = format!("the automation state of {name} kept changing while it was deleted");
        }
        Err(StoreError::Conflict(last))
    }

    /// The leadership key of the operator's election.
    pub fn leader_key(&self) -> String {
        self.key("leader")
    }

    /// A transaction of the leading operator: `compares` and the leadership still being
    /// `guard`'s term. `Ok(Some(revision))`: written at that revision; `Ok(None)`: one of
    /// `compares` failed; [`StoreError::Deposed`]: the leadership is gone. Nothing is written
    /// unless it returns `Some`.
    pub(crate) async fn fenced_txn(
        &self,
        guard: &WriteGuard,
        mut compares: Vec<Compare>,
        ops: Vec<TxnOp>,
    ) -> Result<Option<i64>, StoreError> {
        compares.push(Compare::create_revision(
            guard.leader_key.as_str(),
            CompareOp::Equal,
            guard.term,
        ));
        let txn = Txn::new()
            .when(compares)
            .and_then(ops)
            .or_else([TxnOp::get(guard.leader_key.as_str(), None)]);
        let mut c = self.client.clone();
        let r = self.timed(EtcdOp::Txn, c.txn(txn)).await?;
        if r.succeeded() {
            return Ok(Some(r.header().map(|h| h.revision()).unwrap_or(0)));
        }
        let still_ours = r.op_responses().into_iter().any(|op| match op {
            etcd_client::TxnOpResponse::Get(g) => g
                .kvs()
                .first()
                .is_some_and(|kv| kv.create_revision() == guard.term),
            _ => false,
        });
        if still_ours {
            Ok(None)
        } else {
            Err(StoreError::Deposed(crate::election::Deposed(format!(
                "etcd refused a write of term {}: the leadership has passed on",
                guard.term
            ))))
        }
    }

    /// The status the operator wrote, if any.
    pub async fn status(&self, name: &str) -> Result<Option<ClusterStatus>, StoreError> {
        let mut c = self.client.clone();
        let key = self.status_key(name);
        let r = self.timed(EtcdOp::Get, c.get(key.clone(), None)).await?;
        match r.kvs().first() {
            None => Ok(None),
            Some(kv) => {
                serde_json::from_slice(kv.value())
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        key,
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// The status and the store's revision it was read at, so that a watch from the next
    /// revision misses no update.
    pub async fn status_at(&self, name: &str) -> Result<(Option<ClusterStatus>, i64), StoreError> {
        let mut c = self.client.clone();
        let key = self.status_key(name);
        let r = self.timed(EtcdOp::Get, c.get(key.clone(), None)).await?;
        let revision = r.header().map(|h| h.revision()).unwrap_or(0);
        let status = match r.kvs().first() {
            None => None,
            Some(kv) => {
                Some(
                    serde_json::from_slice(kv.value()).map_err(|e| StoreError::Corrupt {
                        key,
                        reason: e.to_string(),
                    })?,
                )
            }
        };
        Ok((status, revision))
    }

    /// Watches the status key from `after_revision + 1`; events arrive as etcd sends them.
    pub async fn watch_status(
        &self,
        name: &str,
        after_revision: i64,
    ) -> Result<WatchStream, StoreError> {
        let mut c = self.client.clone();
        let opts = WatchOptions::new().with_start_revision(after_revision + 1);
        self.timed(EtcdOp::Watch, c.watch(self.status_key(name), Some(opts)))
            .await
    }

    /// Stores secret material.
    pub async fn secret_set(&self, name: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let mut c = self.client.clone();
        self.timed(EtcdOp::Put, c.put(self.secret_key(name), value, None))
            .await?;
        Ok(())
    }

    /// Reads secret material.
    pub async fn secret_get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.client.clone();
        let r = self
            .timed(EtcdOp::Get, c.get(self.secret_key(name), None))
            .await?;
        Ok(r.kvs().first().map(|kv| kv.value().to_vec()))
    }

    /// Names, sizes and revisions of secrets; never their values.
    pub async fn secret_list(&self) -> Result<Vec<SecretInfo>, StoreError> {
        let mut c = self.client.clone();
        let prefix = self.key("secrets/");
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
            )
            .await?;
        Ok(r.kvs()
            .iter()
            .map(|kv| SecretInfo {
                name: String::from_utf8_lossy(&kv.key()[prefix.len()..]).into_owned(),
                size: kv.value().len(),
                revision: kv.mod_revision(),
            })
            .collect())
    }

    /// Every stored secret value as etcd holds it (clear or envelope), with its
    /// mod_revision for [`Store::secret_put_if`]; for `secret list` and `secret reencrypt`.
    pub async fn secret_entries(&self) -> Result<Vec<SecretEntry>, StoreError> {
        let mut c = self.client.clone();
        let prefix = self.key("secrets/");
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
            )
            .await?;
        Ok(r.kvs()
            .iter()
            .map(|kv| SecretEntry {
                name: String::from_utf8_lossy(&kv.key()[prefix.len()..]).into_owned(),
                key: String::from_utf8_lossy(kv.key()).into_owned(),
                value: kv.value().to_vec(),
                mod_revision: kv.mod_revision(),
            })
            .collect())
    }

    /// Replaces a secret's stored value only if its mod_revision is still `mod_revision`
    /// (one etcd transaction), so a concurrent `secret set` is never overwritten. Returns
    /// false, writing nothing, if it changed or was deleted meanwhile.
    pub async fn secret_put_if(
        &self,
        name: &str,
        value: Vec<u8>,
        mod_revision: i64,
    ) -> Result<bool, StoreError> {
        let mut c = self.client.clone();
        let key = self.secret_key(name);
        let txn = Txn::new()
            .when([Compare::mod_revision(
                key.clone(),
                CompareOp::Equal,
                mod_revision,
            )])
            .and_then([TxnOp::put(key, value, None)]);
        Ok(self.timed(EtcdOp::Txn, c.txn(txn)).await?.succeeded())
    }

    /// Deletes a secret. Returns false if there was none.
    pub async fn secret_delete(&self, name: &str) -> Result<bool, StoreError> {
        let mut c = self.client.clone();
        let r = self
            .timed(EtcdOp::Delete, c.delete(self.secret_key(name), None))
            .await?;
        Ok(r.deleted() > 0)
    }
}
