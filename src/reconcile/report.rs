//! What a reconcile says about a cluster: the status document (written by the leader,
//! only when it changed) and the metrics (kept by every replica), both from one
//! [`ClusterStatus`], so that the phase in etcd and the phase in Prometheus cannot differ.

use mesos_operator_core::spec::{Component, FieldError};
use mesos_operator_core::status::{
    self, ClusterStatus, OperatorLeader, Phase, StatusInputs, StepRecord,
};
use tracing::{info, warn};

use super::cluster::{invalid_message, ClusterState};
use super::error::ReconcileError;
use super::Context;
use crate::clock::rfc3339;
use crate::gather::Snapshot;

/// The status of a planned cluster.
pub(super) fn derive(ctx: &Context, snap: &Snapshot) -> ClusterStatus {
    let decision = &snap.planned.decision;
    let mut status = status::derive(StatusInputs {
        desired: &snap.desired,
        observed: &snap.observed,
        decision,
        step: decision.step().map(|s| StepRecord {
            kind: s.kind(),
            host: Some(s.hosts_text()),
            started_at: rfc3339(snap.now),
        }),
        now: rfc3339(ctx.clock.now()),
    });
    status.errors = snap
        .desired
        .port_conflicts
        .iter()
        .map(|c| c.to_field_error())
        .collect();
    status
}

/// The cluster's gauges, from its status.
pub(super) fn metrics(ctx: &Context, snap: &Snapshot, status: &ClusterStatus) {
    let name = &snap.name;
    ctx.metrics.observed(name, snap.observe_took.as_secs_f64());
    for c in Component::ALL {
        let (ready, desired) = status
            .components
            .get(&c)
            .map_or((0, 0), |s| (i64::from(s.ready), i64::from(s.desired)));
        ctx.metrics.set_component(name, c.as_str(), ready, desired);
    }
    ctx.metrics.set_zk_voters(
        name,
        snap.observed
            .zookeeper
            .committed
            .as_ref()
            .map_or(0, |c| c.voters.len() as i64),
    );
    ctx.metrics.set_cluster(
        name,
        status.phase == Phase::Converged,
        status.phase.as_str(),
    );
}

/// The status of a cluster whose stored spec fails validation; nothing else is done.
pub(super) async fn invalid(
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
    let (phase, message) = invalid_message(&errors);
    let status = ClusterStatus {
        observed_generation: generation,
        phase,
        message,
        step: None,
        components: Default::default(),
        errors,
        zookeeper_highest_id: None,
        operator: None,
        updated_at: rfc3339(ctx.clock.now()),
    };
    ctx.metrics.set_cluster(name, false, phase.as_str());
    write(ctx, name, status, state).await
}

/// The status of a cluster whose reconcile panicked: the last status this replica wrote
/// (or an empty one), Degraded, with what the panic said and when it is tried again. A
/// panic is a bug in the operator, not a state of the cluster, and it repeats until fixed:
/// without this, the status would go on saying whatever it said before, for good.
pub(super) async fn panicked(
    ctx: &Context,
    name: &str,
    before: Option<ClusterStatus>,
    text: &str,
    retry: std::time::Duration,
    state: &mut ClusterState,
) -> Result<(), ReconcileError> {
    if !ctx.fence.is_leader() {
        return Ok(());
    }
    let mut status = before.unwrap_or_else(|| ClusterStatus {
        observed_generation: 0,
        phase: Phase::Degraded,
        message: String::new(),
        step: None,
        components: Default::default(),
        errors: Vec::new(),
        zookeeper_highest_id: None,
        operator: None,
        updated_at: String::new(),
    });
    status.phase = Phase::Degraded;
    status.message = format!(
        "the operator's reconcile of this cluster panicked (a bug in mesos-operator; report it with the operator's log): {text}; tried again in {}s",
        retry.as_secs().max(1)
    );
    status.updated_at = rfc3339(ctx.clock.now());
    ctx.metrics.set_cluster(name, false, status.phase.as_str());
    write(ctx, name, status, state).await
}

/// Writes the status under the fence, if it changed since the last write.
pub(super) async fn write(
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
