//! One reconcile of one cluster, top to bottom: gather (spec, record, observation, plan),
//! note what was seen, report (status and metrics), automate (the automated bumps), act
//! (at most one step). Level-based: it is never told why it runs, so it is the same whether
//! woken by a spec change, the end of a step or the resync.

use std::time::Duration;

use mesos_operator_core::plan::{canary_to_record, Decision};
use mesos_operator_core::spec::{Component, FieldError};
use mesos_operator_core::status::Phase;
use tracing::{info, info_span, Instrument};

use super::error::ReconcileError;
use super::{report, step, Context};
use crate::gather::{gather, Gathered, Snapshot};
use crate::store::StoreError;

/// What the loop keeps per cluster between reconciles.
#[derive(Default)]
pub struct ClusterState {
    /// The status last written, to write only when something changed.
    pub(super) last_status: Option<mesos_operator_core::status::ClusterStatus>,
    /// The registry scan running for this cluster, if one is.
    pub(super) scan: Option<tokio::task::JoinHandle<()>>,
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
    let leader = ctx.fence.is_leader();
    let mut snap = match gather(&*ctx.store, &*ctx.fleet, &*ctx.clock, &ctx.secrets, name).await? {
        Gathered::Gone => return Ok(Next::Forget),
        Gathered::Deleting { doc, request } if leader => {
            return super::teardown::teardown(ctx, name, &doc, &request).await
        }
        Gathered::Deleting { .. } => return Ok(Next::After(ctx.opts.poll)),
        Gathered::Invalid { generation, errors } => {
            if leader {
                report::invalid(ctx, name, generation, errors, state).await?;
            }
            return Ok(Next::After(ctx.opts.resync));
        }
        Gathered::Ready(s) => *s,
    };
    // What was noted is made durable, fenced.
    if snap.noted && leader {
        snap.record = step::put_record(ctx, name, &snap.record, &snap.recorded).await?;
    }
    let mut status = report::derive(ctx, &snap);
    report::metrics(ctx, &snap, &status);

    // A standby observes and keeps its metrics current, and acts on nothing.
    if !leader {
        state.last_status = None;
        return Ok(Next::After(standby_poll(ctx, &snap.planned.decision)));
    }

    // The automated bumps: a spec written is planned again before anything is carried out.
    let automated = super::automate::automate(ctx, &snap, state).await?;
    if automated.wrote_spec {
        return Ok(Next::After(ctx.opts.after_step));
    }
    // An automated rollout's canary: its host is recorded before its first step, so that
    // the hold keeps to it whatever a later look shows. Plan again from the state written.
    if let Some((component, host)) = canary_to_record(&snap.desired, &snap.planned.decision) {
        record_canary_host(ctx, name, component, &host).await?;
        return Ok(Next::After(ctx.opts.after_step));
    }
    for (c, r) in automated.reports {
        if let Some(cs) = status.components.get_mut(&c) {
            cs.auto_update = Some(r);
        }
    }
    report::write(ctx, name, status, state).await?;

    let next = act(ctx, &snap).await?;
    Ok(match (next, automated.scan_at) {
        (Next::After(d), Some(at)) => {
            let until_scan =
                Duration::from_secs(at.saturating_sub(snap.now)).max(Duration::from_millis(500));
            Next::After(d.min(until_scan))
        }
        (n, _) => n,
    })
}

/// Carries out the decision (at most one step) and says when to look again.
async fn act(ctx: &Context, snap: &Snapshot) -> Result<Next, ReconcileError> {
    match &snap.planned.decision {
        Decision::Act { step, reason } => {
            let span = info_span!(
                "step",
                cluster = %snap.name,
                kind = step.kind().as_str(),
                host = step.host()
            );
            async {
                info!(%step, %reason, "taking a step");
                step::take(ctx, snap, step).await
            }
            .instrument(span)
            .await?;
            // The next plan is the step's health gate: look again right away.
            Ok(Next::After(ctx.opts.after_step))
        }
        Decision::Wait { until, .. } => {
            let poll = if snap.desired.paused {
                ctx.opts.resync
            } else {
                ctx.opts.poll
            };
            let d = until
                .map(|u| {
                    Duration::from_secs(u.saturating_sub(snap.now)).max(Duration::from_millis(200))
                })
                .map_or(poll, |d| d.min(poll));
            Ok(Next::After(d))
        }
        Decision::Blocked { .. } => Ok(Next::After(ctx.opts.poll * 5)),
        Decision::Converged => Ok(Next::After(ctx.opts.resync)),
    }
}

/// Writes the canary's host into the rollout's state under the fence, if the rollout is
/// still in its canary phase (read again: the automation may have written the state in
/// this very reconcile). The planner asks for a new host only while none is recorded, or
/// the recorded one is seen never to have started.
async fn record_canary_host(
    ctx: &Context,
    name: &str,
    component: Component,
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

/// How soon a standby looks again: as often as the leader would, so that its metrics and
/// its view of the cluster are current when it takes over.
fn standby_poll(ctx: &Context, decision: &Decision) -> Duration {
    match decision {
        Decision::Converged => ctx.opts.resync,
        _ => ctx.opts.poll,
    }
}

/// The phase a stored spec that fails validation puts the cluster in.
pub(super) fn invalid_message(errors: &[FieldError]) -> (Phase, String) {
    (
        Phase::Invalid,
        format!(
            "the stored spec fails validation ({} problem{}); nothing is done until it is fixed",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
    )
}
