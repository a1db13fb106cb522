//! The first half of every reconcile, and all of `mesos-operator plan`: read the spec and
//! the operator's record, observe, note what was seen, plan. One function for both, so what
//! `plan` shows is what the loop would do (an automated rollout's canary hold included).
//! It writes nothing.

use std::collections::{BTreeMap, BTreeSet};

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{HostObservation, Observed};
use mesos_operator_core::plan::preflight::placements;
use mesos_operator_core::plan::{plan_detailed, Planned};
use mesos_operator_core::record::{note_observed, Recorded};
use mesos_operator_core::spec::{scope_errors, validate, FieldError, MesosCluster};

use crate::clock::Clock;
use crate::fleet::Fleet;
use crate::secrets::{SecretError, SecretSource};
use crate::store::{AutoUpdateAt, ClusterStore, DeletionRequest, RecordAt, StoreError};

/// Everything one reconcile decides from, read at one time.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The cluster's name (the key it is stored under).
    pub name: String,
    /// The stored document, valid.
    pub doc: MesosCluster,
    /// Its generation.
    pub generation: u64,
    /// The spec key's revision (the automation's spec write compares against it).
    pub spec_revision: i64,
    /// What should run where, with the cross-cluster port conflicts and the canary hold.
    pub desired: Desired,
    /// What is there.
    pub observed: Observed,
    /// The record as stored, with the revision a write compares against.
    pub record: RecordAt,
    /// What the planner was given: the record (new for an untouched new cluster) with what
    /// was seen noted.
    pub recorded: Recorded,
    /// `recorded` noted something the stored record lacks: the leader writes it.
    pub noted: bool,
    /// The automation's state.
    pub autoupdate: AutoUpdateAt,
    /// The plan.
    pub planned: Planned,
    /// When the snapshot was taken (seconds since the epoch).
    pub now: u64,
    /// How long the observation took (`mesos_operator_observe_duration_seconds`).
    pub observe_took: std::time::Duration,
}

/// What a look at one cluster found.
#[derive(Debug)]
pub enum Gathered {
    /// No spec: the cluster is gone.
    Gone,
    /// `delete --cascade` asked for it to go.
    Deleting {
        /// The stored document (its hosts are where the containers are removed).
        doc: Box<MesosCluster>,
        /// The request: whether the data volumes go too.
        request: DeletionRequest,
    },
    /// The stored spec fails validation (or does not parse): nothing is done.
    Invalid {
        /// The stored generation (0: unreadable).
        generation: u64,
        /// What is wrong, field by field.
        errors: Vec<FieldError>,
    },
    /// A valid cluster, looked at and planned.
    Ready(Box<Snapshot>),
}

/// Reads, observes and plans `name`.
pub async fn gather(
    store: &dyn ClusterStore,
    fleet: &dyn Fleet,
    clock: &dyn Clock,
    secrets: &SecretSource,
    name: &str,
) -> Result<Gathered, StoreError> {
    let stored = match store.get(name).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(Gathered::Gone),
        Err(StoreError::Corrupt { reason, .. }) => {
            return Ok(Gathered::Invalid {
                generation: 0,
                errors: vec![FieldError {
                    path: "(document)".into(),
                    problem: format!("the stored spec does not parse: {reason}"),
                    fix: "store a valid document with `mesos-operator apply -f FILE`".into(),
                }],
            })
        }
        Err(e) => return Err(e),
    };
    let generation = stored.generation();
    let spec_revision = stored.mod_revision;
    let doc = stored.doc;
    if let Some(request) = store.deletion_request(name).await? {
        return Ok(Gathered::Deleting {
            doc: Box::new(doc),
            request,
        });
    }
    // A spec written straight into etcd by automation is held to the same rules as `apply`.
    let mut errors = invalid(&doc, name);
    // A secret sent outside the scope its owner gave it (a spec written around `apply`, or
    // a scope narrowed since): nothing is done with the document until one of them changes.
    if errors.is_empty() {
        errors = scope_errors(&doc, &store.secret_scopes().await?);
    }
    if !errors.is_empty() {
        return Ok(Gathered::Invalid { generation, errors });
    }
    // Across clusters (a spec written straight into etcd is not checked by `apply`): while
    // another stored cluster binds one of this cluster's ports on the same machine, the
    // planner blocks and the status names the other cluster and the field.
    // The rest at once: the observation (the longest) beside the reads it does not need.
    let looking = std::time::Instant::now();
    let (conflicts, record, autoupdate, fingerprints, backup_request, (observed, observe_took)) = tokio::join!(
        store.port_conflicts(&doc),
        store.record(name),
        store.autoupdate(name),
        secret_fingerprints(&doc, secrets),
        // Read only for a cluster that has backups: no request more per reconcile otherwise.
        async {
            match doc.spec.backup {
                Some(_) => store.backup_request(name).await,
                None => Ok(None),
            }
        },
        async {
            let o = fleet.observe(&doc).await;
            (o, looking.elapsed())
        }
    );
    let (conflicts, record, autoupdate, fingerprints, backup_request) = (
        conflicts?,
        record?,
        autoupdate?,
        fingerprints?,
        backup_request?,
    );
    let mut observed = observed;
    tracing::debug!(ms = observe_took.as_secs_f64() * 1e3, "observed");
    let mut desired = Desired::from_document_with(&doc, &fingerprints);
    desired.port_conflicts = conflicts;
    desired.backup_requested_at = backup_request;
    // An automated rollout's canary holds the rest of its component. It stays held while
    // its component has a policy, whatever its mode (switched to notify or off mid-canary,
    // it waits for a person); a removed policy releases it.
    desired.canary_hold = autoupdate
        .state
        .canary_hold(|c| doc.auto_update(c).is_some());
    let now = clock.now();
    let effective = effective_record(&record, &observed);
    // What is seen is noted before planning (hosts holding a master or Marathon, ended
    // maintenance windows, members healthy on their configuration): a master host learnt
    // now still counts once its host drops out of sight, and a member's failure is timed
    // from when it was first seen.
    let recorded = note_observed(&effective, name, &observed, now);
    let noted = recorded != effective;
    let mut planned = plan_detailed(&desired, &observed, &recorded, now);
    // About to place a member: the hosts' preflight first (kept for a while by the fleet),
    // and the plan again with it; a failure there holds that placement.
    if planned
        .decision
        .step()
        .is_some_and(|s| !placements(s).is_empty())
    {
        observed.preflight = fleet.preflight(&doc, &observed).await;
        planned = plan_detailed(&desired, &observed, &recorded, now);
    }
    Ok(Gathered::Ready(Box::new(Snapshot {
        name: name.to_string(),
        doc,
        generation,
        spec_revision,
        desired,
        observed,
        record,
        recorded,
        noted,
        autoupdate,
        planned,
        now,
        observe_took,
    })))
}

/// The fingerprints of the secrets the document puts into containers as files, and of the
/// ZooKeeper super-user secret (its digest is put into every server), so that a rotated one
/// rolls them. One that cannot be read now is left out: its containers then
/// look outdated, and the step that would replace one fails on that secret before it acts
/// (its secrets are read before its record is written). etcd failing is an error of the
/// reconcile, never a reason to roll.
async fn secret_fingerprints(
    doc: &MesosCluster,
    secrets: &SecretSource,
) -> Result<BTreeMap<String, String>, StoreError> {
    let s = &doc.spec;
    let names: BTreeSet<&str> = s
        .masters
        .secret_files
        .iter()
        .chain(&s.agents.secret_files)
        .chain(s.marathon.iter().flat_map(|m| &m.secret_files))
        .map(|f| f.secret.as_str())
        .chain(s.zookeeper.super_digest.iter().map(|r| r.secret.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for name in names {
        match secrets.get(name).await {
            Ok(secret) => {
                out.insert(name.to_string(), secret.fingerprint());
            }
            Err(SecretError::Store { source, .. }) => return Err(source),
            Err(_) => {}
        }
    }
    Ok(out)
}

/// The document's problems, the key it is stored under included.
fn invalid(doc: &MesosCluster, name: &str) -> Vec<FieldError> {
    let mut errors = validate(doc, None).err().unwrap_or_default();
    if doc.metadata.name != name {
        errors.push(FieldError {
            path: "metadata.name".into(),
            problem: format!(
                "'{}' differs from the key it is stored under ({name})",
                doc.metadata.name
            ),
            fix: format!(
                "store the document under clusters/{}/spec, or set metadata.name: {name}",
                doc.metadata.name
            ),
        });
    }
    errors
}

/// The record the planner gets. A cluster with no record yet and nothing of it on any host
/// (every host answered) is new: no ZooKeeper id was ever handed out. A missing record
/// beside existing containers or volumes stays unknown (`zk_highest_id: None`), and the
/// planner then starts no ZooKeeper server: a guess could hand an id out twice.
pub fn effective_record(at: &RecordAt, observed: &Observed) -> Recorded {
    if at.mod_revision != 0 {
        return at.record.clone();
    }
    let untouched = observed.hosts.values().all(|h| match h {
        HostObservation::Reachable {
            containers,
            volumes,
        } => containers.is_empty() && volumes.is_empty(),
        HostObservation::Unreachable { .. } => false,
    });
    if untouched {
        Recorded::new_cluster()
    } else {
        at.record.clone()
    }
}
