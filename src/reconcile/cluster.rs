//! One reconcile of one cluster: read the spec and the operator's record, observe, plan,
//! write status, and carry out at most one step. Level-based: it is never told why it runs,
//! so it is the same whether woken by a spec change, the end of a step or the resync.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::Observed;
use mesos_operator_core::ops::{self, Op};
use mesos_operator_core::plan::{canary_to_record, plan_detailed, Decision, Step};
use mesos_operator_core::record::{note_observed, record_after, record_before, Recorded};
use mesos_operator_core::spec::{validate, FieldError, MesosCluster};
use mesos_operator_core::status::{
    self, ClusterStatus, OperatorLeader, Phase, StatusInputs, StepRecord,
};
use tracing::{info, info_span, warn, Instrument};

use super::Context;
use crate::act::{ActError, Executor};
use crate::observe::{self, Fleet};
use crate::secrets::Secret;
use crate::store::{Event, RecordAt, StoreError};

/// What one reconcile can fail on; each is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// etcd failed (spec, record or status).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The step could not be turned into operations.
    #[error("cannot carry out the step: {0}")]
    Ops(#[from] ops::OpsError),
    /// An operation of the step failed.
    #[error("{kind} failed: {source}")]
    Act {
        /// The operation.
        kind: &'static str,
        /// Why.
        source: ActError,
    },
    /// Secret material the cluster needs is missing.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The work cannot be finished yet (a host does not answer); retried.
    #[error("{0}")]
    Incomplete(String),
}

impl ReconcileError {
    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Store(StoreError::Deposed(_)) => "deposed",
            ReconcileError::Store(_) => "store",
            ReconcileError::Ops(_) => "ops",
            ReconcileError::Act { source, .. } => source.metric_label(),
            ReconcileError::Secret(_) => "secret",
            ReconcileError::Incomplete(_) => "incomplete",
        }
    }
}

/// The record the planner gets. A cluster with no record yet and nothing of it on any host
/// (every host answered) is new: no ZooKeeper id was ever handed out. A missing record
/// beside existing containers or volumes stays unknown (`zk_highest_id: None`), and the
/// planner then starts no ZooKeeper server: a guess could hand an id out twice.
pub fn effective_record(at: &RecordAt, observed: &Observed) -> Recorded {
    use mesos_operator_core::observed::HostObservation;
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

/// What the loop keeps per cluster between reconciles.
#[derive(Default)]
pub struct ClusterState {
    /// Host clients, kept while the document's hosts stay the same.
    fleet: Option<(String, Arc<Fleet>)>,
    /// The status last written, to write only when something changed.
    last_status: Option<ClusterStatus>,
    /// The registry scan running for this cluster, if one is.
    scan: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for ClusterState {
    /// A cluster forgotten (deleted) takes its running scan with it, so the scan cannot
    /// write the automation state back after the cluster's keys are gone.
    fn drop(&mut self) {
        if let Some(h) = self.scan.take() {
            h.abort();
        }
    }
}

/// When to look again, by what the reconcile found.
pub fn seconds_since_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the epoch as RFC 3339, as status and events write times.
pub fn rfc3339(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// What to do next with a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Look again after this long.
    After(Duration),
    /// The cluster is gone; forget it.
    Forget,
}

/// Reconciles `name` once.
pub async fn reconcile(
    ctx: &Context,
    name: &str,
    state: &mut ClusterState,
) -> Result<Next, ReconcileError> {
    let stored = match ctx.store.get(name).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(Next::Forget),
        Err(StoreError::Corrupt { reason, .. }) => {
            let err = FieldError {
                path: "(document)".into(),
                problem: format!("the stored spec does not parse: {reason}"),
                fix: "store a valid document with `mesos-operator apply -f FILE`".into(),
            };
            if ctx.fence.is_leader() {
                write_invalid(ctx, name, 0, vec![err], state).await?;
            }
            return Ok(Next::After(ctx.opts.resync));
        }
        Err(e) => return Err(e.into()),
    };
    let generation = stored.generation();
    let spec_revision = stored.mod_revision;
    let doc = stored.doc;
    if ctx.store.deletion_requested(name).await? {
        if !ctx.fence.is_leader() {
            return Ok(Next::After(ctx.opts.poll));
        }
        return super::teardown::teardown(ctx, name, &doc, state).await;
    }
    // A spec written straight into etcd by automation is held to the same rules as `apply`.
    let mut errors = validate(&doc, None).err().unwrap_or_default();
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
    if !errors.is_empty() {
        if ctx.fence.is_leader() {
            write_invalid(ctx, name, generation, errors, state).await?;
        }
        return Ok(Next::After(ctx.opts.resync));
    }

    // Across clusters (a spec written straight into etcd is not checked by `apply`): while
    // another stored cluster binds one of this cluster's ports on the same machine, the
    // planner blocks and the status names the other cluster and the field.
    let conflicts = ctx.store.port_conflicts(&doc).await?;
    let conflict_errors: Vec<FieldError> = conflicts.iter().map(|c| c.to_field_error()).collect();

    let record = ctx.store.record(name).await?;
    let autoupdate = ctx.store.autoupdate(name).await?;
    let fleet = fleet_for(ctx, &doc, state).await;
    let mut desired = Desired::from_document(&doc);
    desired.port_conflicts = conflicts;
    // An automated rollout's canary holds the rest of its component.
    // A canary stays held while its component has a policy, whatever its mode (switched to
    // notify or off mid-canary, it waits for a person); a removed policy releases it.
    desired.canary_hold = autoupdate
        .state
        .canary_hold(|c| doc.auto_update(c).is_some());
    let observed = observe::observe(&doc, &fleet).await;
    let now = seconds_since_epoch();
    let effective = effective_record(&record, &observed);
    // What is seen is noted before planning (hosts holding a master or Marathon, ended
    // maintenance windows, members healthy on their configuration), and the note is made
    // durable when it changed: a master host learnt now still counts once its host drops
    // out of sight, and a member's failure is timed from when it was first seen.
    let recorded = note_observed(&effective, name, &observed, now);
    let record = if recorded != effective && ctx.fence.is_leader() {
        fenced_put_record(ctx, name, &record, &recorded).await?
    } else {
        record
    };
    let planned = plan_detailed(&desired, &observed, &recorded, now);
    let decision = planned.decision.clone();
    update_metrics(ctx, name, &desired, &observed, &decision);

    // A standby observes and keeps its metrics current, and acts on nothing.
    if !ctx.fence.is_leader() {
        state.last_status = None;
        return Ok(Next::After(standby_poll(ctx, &decision)));
    }

    let mut reports = Default::default();
    // The next registry scan is due then: look again no later, converged or not.
    let mut scan_at: Option<u64> = None;
    if crate::autoupdate::drive::concerns(&doc, &autoupdate) {
        start_scan(ctx, name, &doc, &autoupdate, state, now);
        // While a scan runs, its write of the state wakes the cluster; only an idle scanner
        // sets when to look again.
        if state.scan.as_ref().is_none_or(|h| h.is_finished()) {
            scan_at = crate::autoupdate::scanner::next_due(&doc, &autoupdate.state);
        }
        let driven = crate::autoupdate::drive::drive(
            ctx,
            name,
            &doc,
            generation,
            spec_revision,
            &desired,
            &observed,
            &planned,
            autoupdate,
            now,
            rfc3339,
        )
        .await?;
        if driven.wrote_spec {
            // Plan again from the spec just written, before anything is carried out.
            return Ok(Next::After(ctx.opts.after_step));
        }
        reports = driven.reports;
    }

    // An automated rollout's canary: its host is recorded before its first step, so that the
    // hold keeps to it whatever a later look shows. Plan again from the state just written.
    if let Some((component, host)) = canary_to_record(&desired, &decision) {
        record_canary_host(ctx, name, component, &host).await?;
        return Ok(Next::After(ctx.opts.after_step));
    }

    let step_record = |step: &Step, at: u64| StepRecord {
        kind: step.kind().to_string(),
        host: Some(step.host().to_string()),
        started_at: rfc3339(at),
    };
    let status = status::derive(StatusInputs {
        desired: &desired,
        observed: &observed,
        decision: &decision,
        step: decision.step().map(|s| step_record(s, now)),
        now: rfc3339(now),
    });
    let mut status = status;
    status.errors = conflict_errors;
    for (c, r) in reports {
        if let Some(cs) = status.components.get_mut(c.as_str()) {
            cs.auto_update = Some(r);
        }
    }
    write_status(ctx, name, status, state).await?;

    let next = act_on(
        ctx, name, decision, &doc, &desired, &observed, recorded, record, generation, &fleet, now,
    )
    .await?;
    Ok(match (next, scan_at) {
        (Next::After(d), Some(at)) => {
            let until_scan =
                Duration::from_secs(at.saturating_sub(now)).max(Duration::from_millis(500));
            Next::After(d.min(until_scan))
        }
        (n, _) => n,
    })
}

/// Carries out the decision (at most one step) and says when to look again.
#[allow(clippy::too_many_arguments)]
async fn act_on(
    ctx: &Context,
    name: &str,
    decision: Decision,
    doc: &MesosCluster,
    desired: &Desired,
    observed: &Observed,
    recorded: Recorded,
    record: RecordAt,
    generation: u64,
    fleet: &Fleet,
    now: u64,
) -> Result<Next, ReconcileError> {
    match decision {
        Decision::Act { step, reason } => {
            let span = info_span!(
                "step",
                cluster = name,
                kind = step.kind(),
                host = step.host()
            );
            async {
                info!(%step, %reason, "taking a step");
                tracing::debug!(
                    agents = ?observed.agents,
                    masters_leader = ?observed.masters.leader,
                    "what the step was planned from (agents)"
                );
                // Containers of a quorum change are built from its current stage, staged
                // from the very observation the plan was made from.
                let staged = mesos_operator_core::plan::stage(desired, observed, &recorded);
                let record = RecordAt {
                    record: recorded,
                    mod_revision: record.mod_revision,
                };
                run_step(
                    ctx, name, doc, &staged, observed, record, &step, generation, fleet,
                )
                .await
            }
            .instrument(span)
            .await?;
            // The next plan is the step's health gate: look again right away.
            Ok(Next::After(ctx.opts.after_step))
        }
        Decision::Wait { until, .. } => {
            let poll = if desired.paused {
                ctx.opts.resync
            } else {
                ctx.opts.poll
            };
            let d = until
                .map(|u| Duration::from_secs(u.saturating_sub(now)).max(Duration::from_millis(200)))
                .map_or(poll, |d| d.min(poll));
            Ok(Next::After(d))
        }
        Decision::Blocked { .. } => Ok(Next::After(ctx.opts.poll * 5)),
        Decision::Converged => Ok(Next::After(ctx.opts.resync)),
    }
}

/// Starts a registry scan of the cluster when one is due and none is running.
fn start_scan(
    ctx: &Context,
    name: &str,
    doc: &MesosCluster,
    at: &crate::store::AutoUpdateAt,
    state: &mut ClusterState,
    now: u64,
) {
    if state.scan.as_ref().is_some_and(|h| !h.is_finished()) {
        return;
    }
    if crate::autoupdate::scanner::due(doc, &at.state, now).is_empty() {
        return;
    }
    let sctx = crate::autoupdate::scanner::ScanCtx {
        store: ctx.store.clone(),
        secrets: ctx.secrets.clone(),
        metrics: ctx.metrics.clone(),
        fence: ctx.fence.clone(),
    };
    let span = info_span!("scan", cluster = name);
    state.scan = Some(tokio::spawn(
        crate::autoupdate::scanner::scan(sctx, name.to_string(), doc.clone(), now).instrument(span),
    ));
}

/// Fingerprint of what the host clients depend on.
fn hosts_fingerprint(doc: &MesosCluster) -> String {
    serde_json::to_string(&doc.spec.hosts).unwrap_or_default()
}

pub(super) async fn fleet_for(
    ctx: &Context,
    doc: &MesosCluster,
    state: &mut ClusterState,
) -> Arc<Fleet> {
    let fp = hosts_fingerprint(doc);
    if let Some((have, f)) = &state.fleet {
        // Hosts whose client could not be set up (a missing secret) are retried each time.
        if *have == fp && f.hosts.values().all(Result::is_ok) {
            return f.clone();
        }
    }
    let f = Arc::new(observe::connect(doc, &ctx.secrets).await);
    state.fleet = Some((fp, f.clone()));
    f
}

#[allow(clippy::too_many_arguments)]
async fn run_step(
    ctx: &Context,
    name: &str,
    doc: &MesosCluster,
    desired: &Desired,
    observed: &Observed,
    record: RecordAt,
    step: &Step,
    generation: u64,
    fleet: &Fleet,
) -> Result<(), ReconcileError> {
    let digest_ref = doc.spec.zookeeper.super_digest.as_ref();
    let started = seconds_since_epoch();
    let before = record_before(step, &record.record, started);
    let ops = ops::ops(
        desired,
        observed,
        step,
        digest_ref.is_some(),
        &before,
        started,
    )?;
    let zk_super: Option<Secret> = match digest_ref {
        Some(r) => Some(ctx.secrets.get(&r.secret).await?),
        None => None,
    };
    // Record, then act: the step in flight and any ZooKeeper id it hands out are durable
    // before the first operation touches the fleet.
    let recorded = fenced_put_record(ctx, name, &record, &before).await?;
    // Secrets the step's new containers take as files: read before anything is done, so
    // a missing one stops the step before it starts.
    let mut secret_files = std::collections::BTreeMap::new();
    for op in &ops {
        if let Op::Create { spec, .. } = op {
            for f in &spec.secret_files {
                if !secret_files.contains_key(&f.secret) {
                    secret_files.insert(f.secret.clone(), ctx.secrets.get(&f.secret).await?);
                }
            }
        }
    }
    let ex = Executor {
        cluster: name,
        fleet,
        zk_super: zk_super.as_ref(),
        http: &ctx.http,
        secret_files: &secret_files,
    };
    let clock = Instant::now();
    let mut result = Ok(());
    for op in &ops {
        let op_result = execute_counted(ctx, &ex, op).await;
        if let Err(source) = op_result {
            result = Err(ReconcileError::Act {
                kind: op.kind(),
                source,
            });
            break;
        }
    }
    let secs = clock.elapsed().as_secs_f64();
    let outcome = if result.is_ok() { "ok" } else { "error" };
    ctx.metrics.step_finished(name, step.kind(), outcome, secs);
    let event = Event {
        at: rfc3339(started),
        kind: step.kind().to_string(),
        component: step.component().as_str().to_string(),
        host: step.host().to_string(),
        step: step.to_string(),
        outcome: outcome.to_string(),
        error: result.as_ref().err().map(ToString::to_string),
        duration_seconds: (secs * 1000.0).round() / 1000.0,
        generation,
    };
    let pushed = match ctx.fence.guard() {
        Ok(guard) => ctx.store.push_event(&guard, name, event).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = pushed {
        warn!(error = %e, "could not record the step's event");
    }
    match &result {
        Ok(()) => {
            info!(seconds = secs, "step done");
            let after = record_after(step, &recorded.record);
            fenced_put_record(ctx, name, &recorded, &after).await?;
        }
        // The last look stopped the step before anything was done: the record goes back to
        // what it was (nothing is in flight).
        Err(ReconcileError::Act {
            source: e @ (ActError::NotServing { .. } | ActError::ServesAgain { .. }),
            ..
        }) => {
            warn!(error = %e, seconds = secs, "step not taken: the last look failed");
            fenced_put_record(ctx, name, &recorded, &record.record).await?;
        }
        // The in-flight record stays: it tells people (and the next plan) a step is half done.
        Err(e) => warn!(error = %e, seconds = secs, "step failed"),
    }
    result
}

/// Writes the canary's host into the rollout's state under the fence, if the rollout is
/// still in its canary phase (read again: the automation may have written the state in
/// this very reconcile). The planner asks for a new host only while none is recorded, or
/// the recorded one is seen never to have started.
async fn record_canary_host(
    ctx: &Context,
    name: &str,
    component: mesos_operator_core::spec::Component,
    host: &str,
) -> Result<(), ReconcileError> {
    use mesos_operator_core::autoupdate::state::RolloutPhase;
    let at = ctx.store.autoupdate(name).await?;
    let mut state = at.state.clone();
    let Some(rollout) = state
        .components
        .get_mut(&component)
        .and_then(|u| u.rollout.as_mut())
        .filter(|r| r.phase == RolloutPhase::Canary && r.canary_host.as_deref() != Some(host))
    else {
        return Ok(());
    };
    rollout.canary_host = Some(host.to_string());
    let guard = ctx.fence.guard().map_err(StoreError::from)?;
    ctx.store
        .put_autoupdate(Some(&guard), name, &at, &state)
        .await?;
    info!(cluster = name, %component, host, "canary chosen");
    Ok(())
}

/// The operator's record is written under the fence; each write is an action (a failpoint
/// can kill or freeze the process around it).
async fn fenced_put_record(
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

/// How soon a standby looks again: as often as the leader would, so that its metrics and
/// its view of the cluster are current when it takes over.
fn standby_poll(ctx: &Context, decision: &Decision) -> Duration {
    match decision {
        Decision::Converged => ctx.opts.resync,
        _ => ctx.opts.poll,
    }
}

async fn execute_counted(ctx: &Context, ex: &Executor<'_>, op: &Op) -> Result<(), ActError> {
    let r = ex.execute(op, &ctx.fence).await;
    if let Some(host) = op.docker_host() {
        let label = match &r {
            Ok(()) => "ok",
            Err(e) => e.metric_label(),
        };
        ctx.metrics.docker_request(host, label);
    }
    r
}

async fn write_invalid(
    ctx: &Context,
    name: &str,
    generation: u64,
    errors: Vec<FieldError>,
    state: &mut ClusterState,
) -> Result<(), ReconcileError> {
    warn!(
        cluster = name,
        problems = errors.len(),
        "the stored spec is invalid; nothing is done"
    );
    let status = ClusterStatus {
        observed_generation: generation,
        phase: Phase::Invalid,
        message: format!(
            "the stored spec fails validation ({} problem{}); nothing is done until it is fixed",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
        step: None,
        components: Default::default(),
        errors,
        zookeeper_highest_id: None,
        operator: None,
        updated_at: rfc3339(seconds_since_epoch()),
    };
    ctx.metrics
        .set_cluster(name, false, Phase::Invalid.as_str());
    write_status(ctx, name, status, state).await
}

async fn write_status(
    ctx: &Context,
    name: &str,
    status: ClusterStatus,
    state: &mut ClusterState,
) -> Result<(), ReconcileError> {
    let guard = ctx.fence.guard().map_err(|e| ReconcileError::Act {
        kind: "status",
        source: e.into(),
    })?;
    let mut status = status;
    status.operator = Some(OperatorLeader {
        identity: ctx.fence.identity().to_string(),
        term: guard.term,
    });
    if state
        .last_status
        .as_ref()
        .is_some_and(|s| status.same_as(s))
    {
        return Ok(());
    }
    ctx.store.put_status(&guard, name, &status).await?;
    if state.last_status.as_ref().map(|s| s.phase) != Some(status.phase) {
        info!(cluster = name, phase = status.phase.as_str(), message = %status.message, "phase");
    }
    state.last_status = Some(status);
    Ok(())
}

fn update_metrics(ctx: &Context, name: &str, d: &Desired, o: &Observed, decision: &Decision) {
    use mesos_operator_core::spec::Component;
    for c in Component::ALL {
        ctx.metrics.set_component(
            name,
            c.as_str(),
            i64::from(status::ready_count(d, o, c)),
            d.hosts_of(c).len() as i64,
        );
    }
    ctx.metrics.set_zk_voters(
        name,
        o.zookeeper
            .committed
            .as_ref()
            .map_or(0, |c| c.voters.len() as i64),
    );
    let phase = match decision {
        Decision::Converged => Phase::Converged,
        Decision::Wait { .. } if d.paused => Phase::Paused,
        Decision::Wait { .. } | Decision::Act { .. } => Phase::Progressing,
        Decision::Blocked { kind, .. }
            if *kind == mesos_operator_core::plan::BlockKind::Degraded =>
        {
            Phase::Degraded
        }
        Decision::Blocked { .. } => Phase::Blocked,
    };
    ctx.metrics
        .set_cluster(name, phase == Phase::Converged, phase.as_str());
}
