//! What a reconcile says about a cluster: the status document (written by the leader,
//! only when it changed) and the metrics (kept by every replica), both from one
//! [`ClusterStatus`], so that the phase in etcd and the phase in Prometheus cannot differ.

use std::collections::{BTreeMap, BTreeSet};

use mesos_operator_core::observed::{HostObservation, Observed};
use mesos_operator_core::preflight::Outcome;
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
use crate::metrics::{ObservedHealth, DOCKER_ENGINE};
use crate::store::{Event, EventOutcome};

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
    let mut health = health(&snap.observed);
    health.desired_images = status
        .components
        .iter()
        .filter_map(|(c, s)| Some((c.as_str().to_owned(), s.image.clone()?)))
        .collect();
    ctx.metrics.set_observed(name, &health);
    for r in snap.observed.preflight.values().flatten() {
        let value = match r.outcome {
            Outcome::Pass => 0,
            Outcome::Fail if !r.ignored => 2,
            _ => 1,
        };
        ctx.metrics
            .set_preflight(name, &r.host, r.check.as_str(), value);
    }
}

/// An event for each preflight failure that newly holds a placement (one not held in the
/// status last written): `events NAME` then shows when and why a member was not placed,
/// with the fix, beside the steps taken.
pub(super) async fn preflight_events(
    ctx: &Context,
    snap: &Snapshot,
    status: &ClusterStatus,
    state: &ClusterState,
) {
    let holding = |s: &ClusterStatus| -> Vec<(String, String)> {
        s.preflight
            .iter()
            .filter(|r| r.outcome == Outcome::Fail && !r.ignored)
            .map(|r| (r.host.clone(), r.check.as_str().to_string()))
            .collect()
    };
    let before = state.last_status.as_ref().map(holding).unwrap_or_default();
    for r in status
        .preflight
        .iter()
        .filter(|r| r.outcome == Outcome::Fail && !r.ignored)
        .filter(|r| !before.contains(&(r.host.clone(), r.check.as_str().to_string())))
    {
        let event = Event {
            at: rfc3339(snap.now),
            kind: "Preflight".into(),
            component: if r.components.is_empty() {
                "all".into()
            } else {
                r.components
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            },
            host: r.host.clone(),
            step: format!("{}: {}", r.check, r.detail),
            outcome: EventOutcome::Held,
            error: Some(r.fix.clone()),
            duration_seconds: 0.0,
            generation: snap.generation,
        };
        super::step::push(ctx, &snap.name, event).await;
        warn!(cluster = %snap.name, host = %r.host, check = %r.check, detail = %r.detail, fix = %r.fix, "preflight check failed; the placement waits");
    }
}

/// The hosts whose member did not answer well.
fn failing<T>(members: &BTreeMap<String, T>, ok: impl Fn(&T) -> bool) -> Vec<&String> {
    members
        .iter()
        .filter(|(_, m)| !ok(m))
        .map(|(h, _)| h)
        .collect()
}

/// What an on-call person asks of an observation, as plain counts and flags: which hosts
/// answered, which members did not, whether ZooKeeper and the masters have a leader, how
/// many agents are registered, and which images run. A member counts as an observation
/// error only when its container runs: one not started yet, or stopped by a step, is the
/// plan's business, not a failure to see.
fn health(o: &Observed) -> ObservedHealth {
    let mut errors = Vec::new();
    let mut images: BTreeMap<Component, BTreeSet<String>> = BTreeMap::new();
    for (host, h) in &o.hosts {
        match h {
            HostObservation::Unreachable { .. } => {
                errors.push((host.clone(), DOCKER_ENGINE.to_owned()));
            }
            HostObservation::Reachable { containers, .. } => {
                for (c, container) in containers.iter().filter(|(_, c)| c.running()) {
                    images
                        .entry(*c)
                        .or_default()
                        .insert(container.image.clone());
                }
            }
        }
    }
    let running = |c: Component, host: &str| o.container(c, host).is_some_and(|x| x.running());
    let failed = [
        (
            Component::Zookeeper,
            failing(&o.zookeeper.servers, |s| s.ok),
        ),
        (
            Component::Masters,
            failing(&o.masters.members, |m| m.healthy),
        ),
        (Component::Agents, failing(&o.agents.members, |a| a.healthy)),
        (
            Component::Marathon,
            failing(&o.marathon.members, |m| m.healthy),
        ),
        (Component::Dns, failing(&o.dns.members, |m| m.healthy)),
        (
            Component::LoadBalancer,
            failing(&o.load_balancer.members, |m| m.healthy),
        ),
    ];
    for (c, hosts) in failed {
        for h in hosts.into_iter().filter(|h| running(c, h)) {
            errors.push((h.clone(), c.as_str().to_owned()));
        }
    }
    let zk = &o.zookeeper;
    let serving = |host: &String| zk.servers.get(host).is_some_and(|s| s.serves());
    let masters_leader = o.masters.leader.as_ref();
    ObservedHealth {
        hosts: o
            .hosts
            .iter()
            .map(|(h, seen)| (h.clone(), matches!(seen, HostObservation::Reachable { .. })))
            .collect(),
        errors,
        zk_leader: zk.leader.is_some(),
        zk_voters_serving: zk.committed.as_ref().map_or(0, |c| {
            c.voters.values().filter(|h| serving(h)).count() as i64
        }),
        masters_leader: masters_leader.is_some(),
        masters_recovered: masters_leader
            .and_then(|l| o.masters.members.get(l))
            .is_some_and(|m| m.recovered),
        agents_registered: o.agents.members.values().filter(|a| a.registered).count() as i64,
        images: images
            .into_iter()
            .map(|(c, i)| (c.as_str().to_owned(), i.into_iter().collect()))
            .collect(),
        desired_images: Vec::new(),
    }
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
        preflight: Vec::new(),
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
        preflight: Vec::new(),
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
