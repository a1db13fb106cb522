//! Carrying out one step with the core's protocol: operations and record planned
//! ([`protocol::begin`]), every secret read, the record written under the fence, the
//! operations carried out in order, the record written again from how they ended
//! ([`protocol::finish`]), and the step's event and metric.

use std::collections::BTreeMap;

use mesos_operator_core::ops::Op;
use mesos_operator_core::plan::{stage, Step};
use mesos_operator_core::protocol::{self, Outcome};
use mesos_operator_core::record::Recorded;
use mesos_operator_core::spec::MesosCluster;
use tracing::{info, warn};

use super::error::ReconcileError;
use super::Context;
use crate::act::ActError;
use crate::clock::rfc3339;
use crate::fleet::StepSecrets;
use crate::gather::Snapshot;
use crate::store::{Event, EventOutcome, RecordAt};

/// Takes `step`, planned in `snap`.
pub(super) async fn take(
    ctx: &Context,
    snap: &Snapshot,
    step: &Step,
) -> Result<(), ReconcileError> {
    let name = snap.name.as_str();
    let doc = &snap.doc;
    // Containers of a quorum change are built from its current stage, staged from the
    // very observation the plan was made from.
    let staged = stage(&snap.desired, &snap.observed, &snap.recorded);
    let started = ctx.clock.now();
    let digest = doc.spec.zookeeper.super_digest.as_ref();
    let begun = protocol::begin(
        &staged,
        &snap.observed,
        step,
        &snap.recorded,
        digest.is_some(),
        started,
    )?;
    // Every secret before the record: a missing one stops the step before it starts,
    // leaving no step in flight and no ZooKeeper id used up.
    let secrets = read_secrets(ctx, doc, &begun.ops).await?;
    // Record, then act: the step in flight and any ZooKeeper id it hands out are durable
    // before the first operation touches the fleet.
    let read = RecordAt {
        record: snap.recorded.clone(),
        mod_revision: snap.record.mod_revision,
    };
    let in_flight = put_record(ctx, name, &read, &begun.record).await?;
    let clock = tokio::time::Instant::now();
    let result = if step.hosts().len() > 1 {
        side_by_side(ctx, doc, &begun.ops, &secrets).await
    } else {
        in_order(ctx, doc, &begun.ops, &secrets).await
    };
    let secs = clock.elapsed().as_secs_f64();
    let outcome = match &result {
        Ok(()) => Outcome::Done,
        // The last look stopped the step before anything was done.
        Err(ReconcileError::Act {
            source: ActError::NotServing { .. } | ActError::ServesAgain { .. },
            ..
        }) => Outcome::NotTaken,
        // The in-flight record stays: it tells people (and the next plan) a step is half done.
        Err(_) => Outcome::Failed,
    };
    let label = if result.is_ok() {
        EventOutcome::Ok
    } else {
        EventOutcome::Error
    };
    ctx.metrics
        .step_finished(name, step.kind().as_str(), label.as_str(), secs);
    push_event(ctx, snap, step, started, label, &result, secs).await;
    match (&result, outcome) {
        (Ok(()), _) => info!(seconds = secs, "step done"),
        (Err(e), Outcome::NotTaken) => {
            warn!(error = %e, seconds = secs, "step not taken: the last look failed")
        }
        (Err(e), _) => warn!(error = %e, seconds = secs, "step failed"),
    }
    if outcome != Outcome::Failed {
        let after = protocol::finish(step, &snap.recorded, &in_flight.record, outcome);
        put_record(ctx, name, &in_flight, &after).await?;
    } else if let Err(e) = &result {
        // A backup part that failed is kept in the record with why: status shows it, and
        // a version change waiting for the backup is blocked with it.
        let refused = matches!(
            e,
            ReconcileError::Act {
                source: ActError::Backup(_),
                ..
            }
        );
        let after = protocol::finish_failed(
            step,
            &in_flight.record,
            &e.to_string(),
            refused,
            snap.generation,
            ctx.clock.now(),
        );
        if after != in_flight.record {
            put_record(ctx, name, &in_flight, &after).await?;
        }
    }
    result
}

/// Carries `ops` out in order, stopping at the first failure.
async fn in_order(
    ctx: &Context,
    doc: &MesosCluster,
    ops: &[Op],
    secrets: &StepSecrets,
) -> Result<(), ReconcileError> {
    for op in ops {
        execute(ctx, doc, op, secrets)
            .await
            .map_err(|source| ReconcileError::Act {
                kind: op.kind(),
                source,
            })?;
    }
    Ok(())
}

/// A batch's operations: each host's in order, the hosts side by side (a batch's parts
/// touch one host each and are independent: the planner and the invariants allowed each
/// alone and all together). Every operation still asks the fence right before it acts, so
/// a deposed replica stops every host's remaining operations. All hosts run to their end
/// or first failure; the first failure, in host order, is the step's.
async fn side_by_side(
    ctx: &Context,
    doc: &MesosCluster,
    ops: &[Op],
    secrets: &StepSecrets,
) -> Result<(), ReconcileError> {
    let mut by_host: BTreeMap<&str, Vec<Op>> = BTreeMap::new();
    for op in ops {
        by_host
            .entry(op.docker_host().unwrap_or_default())
            .or_default()
            .push(op.clone());
    }
    let runs = by_host
        .values()
        .map(|host_ops| in_order(ctx, doc, host_ops, secrets));
    futures_util::future::join_all(runs)
        .await
        .into_iter()
        .collect()
}

/// The ZooKeeper super user's digest and the HTTP credentials, when the document names
/// them, and the secrets the step's new containers take as files.
async fn read_secrets(
    ctx: &Context,
    doc: &MesosCluster,
    ops: &[Op],
) -> Result<StepSecrets, ReconcileError> {
    let zk_super = match doc.spec.zookeeper.super_digest.as_ref() {
        Some(r) => {
            let s = ctx.secrets.get(&r.secret).await?;
            // A credential that cannot be used fails here, before the record is written,
            // not at the step's ZooKeeper operation.
            crate::act::zk_auth::credential(&s).map_err(|source| ReconcileError::Act {
                kind: "zookeeper-auth",
                source,
            })?;
            Some(s)
        }
        None => None,
    };
    // Read for every step, like the digest: a step's last look and maintenance calls ask
    // the masters, and a secret that cannot be used fails here, before the record.
    let http = match doc.spec.http_credentials.as_ref() {
        Some(r) => {
            let s = ctx.secrets.get(&r.secret).await?;
            Some(
                crate::http_auth::HttpAuth::from_secret(&s).map_err(|e| ReconcileError::Act {
                    kind: "http-credentials",
                    source: e.into(),
                })?,
            )
        }
        None => None,
    };
    let backup_op = ops
        .iter()
        .any(|op| matches!(op, Op::ArchivePart { .. } | Op::RecordBackup { .. }));
    let backup = match doc
        .spec
        .backup
        .as_ref()
        .and_then(|b| b.target.s3.as_ref())
        .filter(|_| backup_op)
    {
        Some(s3) => Some(ctx.secrets.get(&s3.credentials.secret).await?),
        None => None,
    };
    let mut files = BTreeMap::new();
    for op in ops {
        if let Op::Create { spec, .. } = op {
            for f in &spec.secret_files {
                if !files.contains_key(&f.secret) {
                    files.insert(f.secret.clone(), ctx.secrets.get(&f.secret).await?);
                }
            }
        }
    }
    Ok(StepSecrets {
        zk_super,
        files,
        http,
        backup,
    })
}

/// One operation on the fleet (its Docker requests are counted by the fleet's clients).
pub(super) async fn execute(
    ctx: &Context,
    doc: &MesosCluster,
    op: &Op,
    secrets: &StepSecrets,
) -> Result<(), ActError> {
    if let Op::RecordBackup { .. } = op {
        // The backup's record goes to etcd, under the fence, and to no machine.
        crate::failpoint::before_action(op.kind());
        let result = record_backup(ctx, doc, op, secrets).await;
        crate::failpoint::after_action(op.kind());
        return result;
    }
    ctx.fleet.execute(doc, op, &ctx.fence, secrets).await
}

async fn record_backup(
    ctx: &Context,
    doc: &MesosCluster,
    op: &Op,
    secrets: &StepSecrets,
) -> Result<(), ActError> {
    let target = doc
        .spec
        .backup
        .as_ref()
        .ok_or(crate::backup::BackupError::NoTarget)?;
    let store = crate::backup::BackupStore::open(&target.target, secrets.backup.as_ref())?;
    let guard = ctx.fence.guard()?;
    let record = crate::backup::record::record_backup(
        ctx.store.as_ref(),
        &guard,
        &doc.metadata.name,
        &store,
        op,
        ctx.clock.now(),
    )
    .await?;
    info!(
        backup = %record.id,
        bytes = record.size(),
        location = %record.location,
        "backup stored"
    );
    Ok(())
}

/// The step's event; a failure to write it is logged, not fatal (the record is what counts).
async fn push_event(
    ctx: &Context,
    snap: &Snapshot,
    step: &Step,
    started: u64,
    outcome: EventOutcome,
    result: &Result<(), ReconcileError>,
    secs: f64,
) {
    let event = Event {
        at: rfc3339(started),
        kind: step.kind().as_str().to_string(),
        component: step.component().as_str().to_string(),
        host: step.hosts_text(),
        step: step.to_string(),
        outcome,
        error: result.as_ref().err().map(ToString::to_string),
        duration_seconds: (secs * 1000.0).round() / 1000.0,
        generation: snap.generation,
    };
    push(ctx, &snap.name, event).await;
}

/// Writes an event under the fence; a failure to write it is logged, not fatal.
pub(super) async fn push(ctx: &Context, name: &str, event: Event) {
    let kind = event.kind.clone();
    let pushed = match ctx.fence.guard() {
        Ok(guard) => ctx.store.push_event(&guard, name, event).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = pushed {
        warn!(error = %e, %kind, "could not record an event");
    }
}

/// The operator's record is written under the fence; each write is an action (a failpoint
/// can kill or freeze the process around it).
pub(super) async fn put_record(
    ctx: &Context,
    name: &str,
    at: &RecordAt,
    record: &Recorded,
) -> Result<RecordAt, ReconcileError> {
    crate::failpoint::before_action("record");
    let result = match ctx.fence.guard() {
        Ok(guard) => ctx
            .store
            .put_record(&guard, name, at, record)
            .await
            .map_err(ReconcileError::from),
        Err(e) => Err(ReconcileError::Act {
            kind: "record",
            source: e.into(),
        }),
    };
    crate::failpoint::after_action("record");
    result
}
