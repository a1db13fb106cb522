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
    /// Looks at a waiting plan since the last step: how far apart the next comes.
    pub(super) waits: u32,
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
        return Ok(Next::After(standby_poll(ctx, name, &snap.planned.decision)));
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
    report::preflight_events(ctx, &snap, &status, state).await;
    report::write(ctx, name, status, state).await?;

    let next = act(ctx, &snap, &mut state.waits).await?;
    Ok(match (next, automated.scan_at) {
        (Next::After(d), Some(at)) => {
            let until_scan =
                Duration::from_secs(at.saturating_sub(snap.now)).max(Duration::from_millis(500));
            Next::After(d.min(until_scan))
        }
        (n, _) => n,
    })
}

/// Carries out the decision (at most one step) and says when to look again; `waits`
/// counts the looks at a waiting plan since the last step.
async fn act(ctx: &Context, snap: &Snapshot, waits: &mut u32) -> Result<Next, ReconcileError> {
    if !matches!(snap.planned.decision, Decision::Wait { .. }) {
        *waits = 0;
    }
    if matches!(
        snap.planned.decision,
        Decision::Act { .. } | Decision::Wait { .. }
    ) && !snap.desired.paused
    {
        ctx.fleet.pull_ahead(
            &snap.doc,
            images_to_come(&snap.desired, &snap.observed),
            &ctx.fence,
        );
    }
    match &snap.planned.decision {
        Decision::Act { step, reason } => {
            let span = info_span!(
                "step",
                cluster = %snap.name,
                kind = step.kind().as_str(),
                host = %step.hosts_text()
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
                gate_poll(&ctx.opts, *waits)
            };
            *waits = waits.saturating_add(1);
            let d = until
                .map(|u| {
                    Duration::from_secs(u.saturating_sub(snap.now)).max(Duration::from_millis(200))
                })
                .map_or(poll, |d| d.min(poll));
            Ok(Next::After(d))
        }
        Decision::Blocked { .. } => Ok(Next::After(ctx.opts.poll * 5)),
        Decision::Converged => Ok(Next::After(resync(ctx, &snap.name))),
    }
}

/// How long after the `waits`-th look at a waiting plan to look again: from
/// [`RunOptions::gate_first_poll`](super::RunOptions::gate_first_poll), half as far again each
/// time, up to [`RunOptions::poll`](super::RunOptions::poll).
pub(super) fn gate_poll(opts: &super::RunOptions, waits: u32) -> Duration {
    let mut d = opts.gate_first_poll.min(opts.poll);
    for _ in 0..waits.min(32) {
        d = (d * 3 / 2).min(opts.poll);
    }
    d
}

/// The images a rollout under way will run where they do not run yet: (host, image) of
/// every desired container whose host runs another image of its component, or none.
fn images_to_come(
    desired: &mesos_operator_core::desired::Desired,
    observed: &mesos_operator_core::observed::Observed,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = desired
        .containers
        .iter()
        .filter(|((c, host), spec)| {
            observed
                .container(*c, host)
                .is_none_or(|running| running.image != spec.image)
        })
        .map(|((_, host), spec)| (host.clone(), spec.image.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// How long a converged cluster is left alone: longer while every change to its containers
/// is reported as it happens.
fn resync(ctx: &Context, name: &str) -> Duration {
    if ctx.fleet.watched(name) {
        ctx.opts.resync_watched.max(ctx.opts.resync)
    } else {
        ctx.opts.resync
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
fn standby_poll(ctx: &Context, name: &str, decision: &Decision) -> Duration {
    match decision {
        Decision::Converged => resync(ctx, name),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_gate_is_looked_at_soon_after_the_step_then_less_and_less_often() {
        let opts = super::super::RunOptions::default();
        let looks: Vec<Duration> = (0..12).map(|n| gate_poll(&opts, n)).collect();
        assert_eq!(
            looks[0],
            Duration::from_millis(100),
            "the first look comes at once"
        );
        assert!(
            looks.windows(2).all(|w| w[0] <= w[1]),
            "never closer together: {looks:?}"
        );
        assert_eq!(
            *looks.last().unwrap_or(&Duration::ZERO),
            opts.poll,
            "capped at --poll-ms"
        );
        // A component that turns healthy 4.3 s after its start (ZooKeeper here) is seen so
        // well under a second late, where a fixed 2 s poll could be up to 2 s late.
        let mut t = Duration::ZERO;
        let mut n = 0;
        while t < Duration::from_millis(4300) {
            t += gate_poll(&opts, n);
            n += 1;
        }
        assert!(
            t - Duration::from_millis(4300) < Duration::from_secs(1),
            "{t:?}"
        );
        // --poll-ms below the first look wins.
        let short = super::super::RunOptions {
            poll: Duration::from_millis(50),
            ..Default::default()
        };
        assert_eq!(gate_poll(&short, 0), Duration::from_millis(50));
    }

    #[test]
    fn the_images_pulled_ahead_are_those_a_rollout_will_run_where_they_do_not_run_yet() {
        use mesos_operator_core::desired::Desired;
        use mesos_operator_core::observed::{
            ContainerState, HostObservation, Observed, ObservedContainer,
        };
        let Ok(doc) = mesos_operator_core::spec::parse_document(
            "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: a}\nspec:\n  hosts:\n    - {name: h1, address: 10.0.0.1, docker: {endpoint: 'unix:///var/run/docker.sock'}}\n    - {name: h2, address: 10.0.0.2, docker: {endpoint: 'unix:///var/run/docker.sock'}}\n  zookeeper: {image: 'zookeeper:3.8.4', servers: 1}\n  masters: {image: 'mesos-master:1.12.0', count: 1}\n  agents: {image: 'mesos-agent:1.12.0'}\n",
        ) else {
            panic!("the test's document parses");
        };
        let desired = Desired::from_document(&doc);
        // Every container runs what the document asks, except h2's agent (an older
        // version) and h1's agent (not created yet).
        let mut observed = Observed::default();
        for ((c, host), spec) in &desired.containers {
            if *c == Component::Agents && host == "h1" {
                continue;
            }
            let image = if *c == Component::Agents {
                spec.image.replace("1.12.0", "1.11.0")
            } else {
                spec.image.clone()
            };
            let entry = observed
                .hosts
                .entry(host.clone())
                .or_insert(HostObservation::Reachable {
                    containers: Default::default(),
                    volumes: vec![],
                });
            if let HostObservation::Reachable { containers, .. } = entry {
                containers.insert(
                    *c,
                    ObservedContainer {
                        name: spec.name.clone(),
                        component: *c,
                        host: host.clone(),
                        image,
                        config_hash: String::new(),
                        state: ContainerState::Running,
                        started_at: 0,
                        zk_id: None,
                        master_quorum: None,
                        detail: Default::default(),
                    },
                );
            }
        }
        let agent = desired
            .containers
            .iter()
            .find(|((c, _), _)| *c == Component::Agents)
            .map(|(_, s)| s.image.clone())
            .unwrap_or_default();
        assert!(agent.ends_with("mesos-agent:1.12.0"), "{agent}");
        assert_eq!(
            images_to_come(&desired, &observed),
            vec![("h1".to_string(), agent.clone()), ("h2".to_string(), agent)]
        );
    }
}
