//! The safety rules of `shared/design/safety.md`, written a second time as checks of one
//! proposed step against the state it was planned from.
//!
//! This module shares no definition with the planner: what "running", "a voter", "up",
//! "the quorum floor" and "a fresh id" mean is written here again from safety.md, so that a
//! wrong definition in the planner is not silently agreed with.
//! So it does not use `Desired::is_current` or the observations' `serves()`, which the
//! planner, repair and status share: it writes "current" and "serving" again below. (It uses only the plain
//! data types, [`Step`] and [`Desired`].)
//!
//! `desired` is the model the step will be carried out against: for masters during a quorum
//! change that is the planner's current stage ([`crate::plan::stage`]); the rules below
//! judge the quorum the step gives a master against the masters that exist, whatever model
//! asked for it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::desired::{volume_name, Desired};
use crate::observed::{ContainerState, HostObservation, Observed, ObservedContainer, ZkMode};
use crate::plan::Step;
use crate::record::Recorded;
use crate::spec::Component;

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Short name of the rule, e.g. `zookeeper-quorum`.
    pub rule: &'static str,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

fn violation(rule: &'static str, detail: String) -> Result<(), Violation> {
    Err(Violation { rule, detail })
}

/// A strict majority of `n`.
fn more_than_half(n: usize) -> usize {
    (n + 2) / 2
}

/// Serving now: the container's state is running. (A restarting one does not serve.)
fn serves(c: &ObservedContainer) -> bool {
    c.state == ContainerState::Running
}

/// Can run without anyone starting it: running, restarting under its policy, paused.
fn can_run(c: &ObservedContainer) -> bool {
    !matches!(c.state, ContainerState::Exited | ContainerState::Created)
}

fn containers(o: &Observed, c: Component) -> Vec<&ObservedContainer> {
    o.hosts
        .values()
        .filter_map(|h| match h {
            HostObservation::Reachable { containers, .. } => containers.get(&c),
            HostObservation::Unreachable { .. } => None,
        })
        .collect()
}

fn container<'a>(o: &'a Observed, c: Component, host: &str) -> Option<&'a ObservedContainer> {
    match o.hosts.get(host) {
        Some(HostObservation::Reachable { containers, .. }) => containers.get(&c),
        _ => None,
    }
}

fn seen(o: &Observed, host: &str) -> bool {
    matches!(o.hosts.get(host), Some(HostObservation::Reachable { .. }))
}

fn has_zk_volume(d: &Desired, o: &Observed, host: &str) -> bool {
    let name = volume_name(&d.name, Component::Zookeeper, host);
    matches!(o.hosts.get(host), Some(HostObservation::Reachable { volumes, .. }) if volumes.contains(&name))
}

/// The committed voters, each placed on the host whose container carries its id label
/// (a config line may name a voter by an address); `None` for a voter no container claims.
fn voter_hosts(o: &Observed) -> BTreeMap<u64, Option<String>> {
    let Some(cfg) = &o.zookeeper.committed else {
        return BTreeMap::new();
    };
    cfg.voters
        .keys()
        .map(|id| {
            let hs: Vec<&str> = containers(o, Component::Zookeeper)
                .into_iter()
                .filter(|c| c.zk_id == Some(*id))
                .map(|c| c.host.as_str())
                .collect();
            (*id, (hs.len() == 1).then(|| hs[0].to_string()))
        })
        .collect()
}

/// Voters serving on the committed config: their labelled container runs, the process
/// reports that same id, answers, votes, and has the committed version.
fn zk_up(o: &Observed) -> BTreeSet<u64> {
    let Some(cfg) = &o.zookeeper.committed else {
        return BTreeSet::new();
    };
    voter_hosts(o)
        .into_iter()
        .filter_map(|(id, h)| {
            let h = h?;
            let c = container(o, Component::Zookeeper, &h)?;
            let s = o.zookeeper.servers.get(&h)?;
            (serves(c)
                && s.ok
                && s.server_id == Some(id)
                && matches!(s.mode, Some(ZkMode::Leader | ZkMode::Follower))
                && s.config_version == Some(cfg.version))
            .then_some(id)
        })
        .collect()
}

fn master_quorum_label(d: &Desired, c: &ObservedContainer) -> u32 {
    c.master_quorum.unwrap_or(d.master_quorum)
}

/// (host, quorum) of every master that may be running: can run, or on a host out of sight
/// where one is desired or once was (assume the worst).
fn masters_may_run(d: &Desired, o: &Observed, r: &Recorded) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = containers(o, Component::Masters)
        .into_iter()
        .filter(|c| can_run(c))
        .map(|c| (c.host.clone(), master_quorum_label(d, c)))
        .collect();
    // Out of sight: the quorum it was last seen with, if lower than the model's.
    let last_seen = |h: &str| r.master_quorums.get(h).copied().unwrap_or(u32::MAX);
    for (c, h) in d.containers.keys() {
        if *c == Component::Masters && !seen(o, h) {
            v.push((h.clone(), d.master_quorum.min(last_seen(h))));
        }
    }
    let lowest = v.iter().map(|(_, q)| *q).min().unwrap_or(d.master_quorum);
    for h in &r.master_hosts {
        if !seen(o, h) && !v.iter().any(|(x, _)| x == h) {
            v.push((h.clone(), lowest.min(d.master_quorum).min(last_seen(h))));
        }
    }
    v
}

/// Serves and its log replica has recovered: only such a master counts toward the quorum.
fn master_healthy(o: &Observed, h: &str) -> bool {
    container(o, Component::Masters, h).is_some_and(serves)
        && o.masters
            .members
            .get(h)
            .is_some_and(|m| m.healthy && m.recovered)
}

/// Whether a component is converged and healthy, by the plain reading of the rules.
pub fn component_converged(d: &Desired, o: &Observed, c: Component) -> bool {
    let want: BTreeSet<&str> = d
        .containers
        .keys()
        .filter(|(k, _)| *k == c)
        .map(|(_, h)| h.as_str())
        .collect();
    let have: BTreeSet<&str> = containers(o, c).iter().map(|x| x.host.as_str()).collect();
    if want != have || want.iter().any(|h| !seen(o, h)) {
        return false;
    }
    let all_current = want.iter().all(|h| {
        container(o, c, h).is_some_and(|x| {
            serves(x)
                && Some(&x.config_hash)
                    == d.containers
                        .get(&(c, h.to_string()))
                        .map(|s| &s.config_hash)
        })
    });
    if !all_current {
        return false;
    }
    match c {
        Component::Zookeeper => o.zookeeper.committed.as_ref().is_some_and(|cfg| {
            let placed: BTreeSet<String> = voter_hosts(o).into_values().flatten().collect();
            let want: BTreeSet<String> = want.iter().map(|h| h.to_string()).collect();
            placed == want
                && zk_up(o).len() == cfg.voters.len()
                && o.zookeeper.servers.iter().all(|(h, s)| {
                    container(o, Component::Zookeeper, h).is_none()
                        || s.config_version.is_none_or(|v| v == cfg.version)
                })
        }),
        Component::Masters => {
            want.iter().all(|h| master_healthy(o, h))
                && o.masters.leader.as_ref().is_some_and(|l| {
                    o.masters
                        .members
                        .get(l)
                        .is_some_and(|m| m.elected && m.recovered)
                })
        }
        Component::Agents => {
            o.agents.maintenance.is_empty()
                && want.iter().all(|h| {
                    o.agents
                        .members
                        .get(*h)
                        .is_some_and(|a| a.healthy && a.registered)
                })
        }
        Component::Marathon => {
            want.is_empty()
                || (want
                    .iter()
                    .all(|h| o.marathon.members.get(*h).is_some_and(|m| m.healthy))
                    && o.marathon.leader.is_some()
                    && o.marathon.registered)
        }
        Component::Dns | Component::LoadBalancer => {
            want.iter().all(|h| o.member_health(c, h) == Some(true))
        }
    }
}

/// Checks one step against the state (and record) it was planned from. A batch
/// ([`Step::CreateContainers`]) is judged part by part, each as if alone and each beside
/// all the others done ([`check_batch`]).
pub fn check_step(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    match step {
        Step::CreateContainers { .. } => check_batch(d, o, r, step),
        Step::ZkBootstrap { .. } => check_zk_bootstrap(d, o, r, step),
        Step::BackupZookeeper { .. } | Step::BackupMaster { .. } => check_backup(d, o, step),
        _ => check_single(d, o, r, step),
    }
}

/// No step while the rollout is paused, or while another cluster binds this one's ports.
fn check_not_held(d: &Desired, step: &Step) -> Result<(), Violation> {
    if d.paused {
        return violation("paused", format!("{step} while spec.rollout.paused"));
    }
    if let Some(c) = d.port_conflicts.first() {
        return violation(
            "shared-ports",
            format!(
                "{step} while cluster {} binds port {} on the same machine",
                c.other, c.port
            ),
        );
    }
    Ok(())
}

/// A backup part stops one member and starts it again: only a running follower (never the
/// ZooKeeper leader, never the leading master), and only while the others keep a quorum
/// without it: a majority of the committed voters, the masters' floor.
fn check_backup(d: &Desired, o: &Observed, step: &Step) -> Result<(), Violation> {
    check_not_held(d, step)?;
    let host = step.host();
    let c = step.component();
    if !container(o, c, host).is_some_and(serves) {
        return violation(
            "backup-member",
            format!("{step}: no running {} container there", c.role()),
        );
    }
    match step {
        Step::BackupZookeeper { .. } => {
            let Some(cfg) = &o.zookeeper.committed else {
                return violation("zookeeper-quorum", format!("{step} while no quorum serves"));
            };
            let id = container(o, c, host).and_then(|x| x.zk_id);
            if id.is_none_or(|i| !cfg.voters.contains_key(&i)) {
                return violation("backup-member", format!("{step}: not a voter"));
            }
            if o.zookeeper.servers.get(host).and_then(|s| s.mode) != Some(ZkMode::Follower) {
                return violation("backup-member", format!("{step}: not a follower"));
            }
            let up = zk_up(o);
            let left = up.len() - usize::from(id.is_some_and(|i| up.contains(&i)));
            if left < more_than_half(cfg.voters.len()) {
                return violation(
                    "zookeeper-quorum",
                    format!("{step}: {left} voters left up of {}", cfg.voters.len()),
                );
            }
        }
        _ => {
            if o.masters.leader.as_deref() == Some(host) {
                return violation("backup-member", format!("{step}: the leading master"));
            }
            let left = containers(o, Component::Masters)
                .iter()
                .filter(|x| x.host != host && master_healthy(o, &x.host))
                .count() as u32;
            // The strictest quorum a running master holds (a quorum change half done).
            let floor = containers(o, Component::Masters)
                .iter()
                .map(|x| master_quorum_label(d, x))
                .chain([d.master_quorum])
                .max()
                .unwrap_or(d.master_quorum);
            if left < floor {
                return violation(
                    "masters-quorum",
                    format!("{step}: {left} healthy left, quorum {floor}"),
                );
            }
        }
    }
    Ok(())
}

/// A new ensemble's first servers at once: judged as one, since ZooKeeper forms the
/// ensemble only from the config they share (no part is a step of its own: a server started
/// alone with peers and no ensemble is a split). The rule generalizes "a new ensemble's
/// first server lists only itself": its first servers list exactly themselves. Nothing of
/// ZooKeeper may exist but the batch itself (on every host, all of them in sight), the ids
/// are fresh (above the recorded highest and anything in sight), one server per host of the
/// document; carried out again as recorded (`Recorded::zk_bootstrap`), the servers and volumes
/// of its members may exist, each with its own id, and a committed config must be exactly
/// its members.
fn check_zk_bootstrap(
    d: &Desired,
    o: &Observed,
    r: &Recorded,
    step: &Step,
) -> Result<(), Violation> {
    let Step::ZkBootstrap { ensemble } = step else {
        return Ok(());
    };
    check_not_held(d, step)?;
    let ids: BTreeSet<u64> = ensemble.iter().map(|m| m.id).collect();
    let hosts: BTreeSet<&str> = ensemble.iter().map(|m| m.host.as_str()).collect();
    if ensemble.len() < 2 || ids.len() != ensemble.len() || hosts.len() != ensemble.len() {
        return violation(
            "batch-shape",
            format!("{step}: a bootstrap names at least two servers, each id and host once"),
        );
    }
    if let Some(h) = hosts.iter().find(|h| !d.addresses.contains_key(**h)) {
        return violation(
            "unknown-host",
            format!("{step}: {h} is not in the document"),
        );
    }
    let id_on = |h: &str| ensemble.iter().find(|m| m.host == h).map(|m| m.id);
    let again = r.zk_bootstrap.as_ref() == Some(ensemble);
    // Carried out again once a majority of it serves, the ensemble is this one: a host out
    // of sight cannot hold another that its servers would join.
    let serving_it = again
        && o.zookeeper
            .committed
            .as_ref()
            .is_some_and(|c| c.voters.keys().copied().collect::<BTreeSet<u64>>() == ids);
    if let Some(h) = o.hosts.keys().find(|h| !seen(o, h)).filter(|_| !serving_it) {
        return violation(
            "zookeeper-split",
            format!("{step} while {h} is out of sight and may hold an ensemble"),
        );
    }
    if let Some(h) = hosts.iter().find(|h| !seen(o, h)) {
        return violation("unreachable", format!("{step} on an unreachable host {h}"));
    }
    for c in containers(o, Component::Zookeeper) {
        if !again || c.zk_id.is_none() || c.zk_id != id_on(&c.host) {
            return violation(
                "zookeeper-split",
                format!("{step} beside the ZooKeeper server on {}", c.host),
            );
        }
    }
    for h in o.hosts.keys().filter(|h| has_zk_volume(d, o, h)) {
        let held = o.zookeeper.volume_ids.get(h).copied();
        if !again || id_on(h).is_none() || held.is_some_and(|v| Some(v) != id_on(h)) {
            return violation(
                "zookeeper-split",
                format!("{step} beside the ZooKeeper data on {h} (holding {held:?})"),
            );
        }
    }
    match &o.zookeeper.committed {
        Some(cfg) if !again || cfg.voters.keys().copied().collect::<BTreeSet<u64>>() != ids => {
            return violation(
                "zookeeper-split",
                format!("{step} while a config is committed"),
            );
        }
        _ => {}
    }
    if again {
        return Ok(());
    }
    let Some(recorded) = r.zk_highest_id else {
        return violation(
            "zookeeper-id-unknown",
            format!("{step} while the highest id handed out is not recorded"),
        );
    };
    if let Some(id) = ids.iter().find(|id| **id <= recorded) {
        return violation(
            "zookeeper-id-reuse",
            format!("{step}: id {id} is not fresh (recorded {recorded})"),
        );
    }
    Ok(())
}

/// A batch's parts run side by side, so any of them may be done when another one acts:
/// each part must be allowed against the state it was planned from (alone) and against
/// that state with every other part done (together: the most any of them can see, as
/// creations only add). Only creations of masters, agents or Marathon may be batched, on
/// hosts named once each; a batch of one is a single step.
fn check_batch(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    let hosts = step.hosts();
    let distinct: BTreeSet<&str> = hosts.iter().copied().collect();
    if hosts.len() < 2 || distinct.len() != hosts.len() {
        return violation(
            "batch-shape",
            format!("{step}: a batch names at least two hosts, each once"),
        );
    }
    if step.component() == Component::Zookeeper {
        return violation(
            "batch-shape",
            format!(
                "{step}: ZooKeeper servers start one at a time (each joins the committed ensemble)"
            ),
        );
    }
    let parts = step.parts();
    for part in &parts {
        check_single(d, o, r, part).map_err(|v| Violation {
            rule: v.rule,
            detail: format!("{step}, alone: {}", v.detail),
        })?;
    }
    for (i, part) in parts.iter().enumerate() {
        let mut together = o.clone();
        for (j, other) in parts.iter().enumerate() {
            if i != j {
                done(d, &mut together, other);
            }
        }
        check_single(d, &together, r, part).map_err(|v| Violation {
            rule: v.rule,
            detail: format!("{step}, together: {}", v.detail),
        })?;
    }
    Ok(())
}

/// `o` as it is once the creation `part` is done: its container runs the document's
/// configuration (a master with the quorum the document gives it), not yet healthy.
fn done(d: &Desired, o: &mut Observed, part: &Step) {
    let Step::CreateContainer { component, host } = part else {
        return;
    };
    let Some(spec) = d.containers.get(&(*component, host.clone())) else {
        return;
    };
    let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut(host) else {
        return;
    };
    let master_quorum = (*component == Component::Masters).then(|| {
        spec.env
            .get("MESOS_QUORUM")
            .and_then(|q| q.parse().ok())
            .unwrap_or(d.master_quorum)
    });
    containers.insert(
        *component,
        ObservedContainer {
            name: spec.name.clone(),
            component: *component,
            host: host.clone(),
            image: spec.image.clone(),
            config_hash: spec.config_hash.clone(),
            state: ContainerState::Running,
            started_at: 0,
            zk_id: None,
            master_quorum,
            detail: Default::default(),
        },
    );
}

/// Checks one single step.
fn check_single(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    if d.paused {
        return violation("paused", format!("{step} while spec.rollout.paused"));
    }
    // 13. One engine, many clusters: no step while another cluster claims this one's ports.
    if let Some(c) = d.port_conflicts.first() {
        return violation(
            "shared-ports",
            format!(
                "{step} while cluster {} binds port {} ({}) on the same machine",
                c.other, c.port, c.path
            ),
        );
    }
    let c = step.component();
    let host = step.host();
    let existing = container(o, c, host);

    // 6. Nothing unknown is touched. (A voter's removal from the config touches no host:
    // one whose host is gone for good, out of the document and out of sight, must leave.)
    let touches_no_host = matches!(step, Step::ZkRemove { .. });
    if !touches_no_host && !d.addresses.contains_key(host) && !o.hosts.contains_key(host) {
        return violation(
            "unknown-host",
            format!("{step} on a host neither in the document nor observed"),
        );
    }
    match step {
        Step::RemoveContainer {
            remove_volume: true,
            ..
        } if existing.is_none() => {}
        Step::StartContainer { .. } | Step::RemoveContainer { .. } if existing.is_none() => {
            return violation(
                "unknown-container",
                format!("{step}: no container of this cluster there"),
            );
        }
        Step::CreateContainer { .. }
        | Step::ZkStartServer { .. }
        | Step::ZkRecreateServer { .. }
            if existing.is_some() =>
        {
            return violation(
                "overwrite",
                format!("{step}: a container already exists there"),
            );
        }
        _ => {}
    }
    let touches_host = matches!(
        step,
        Step::StartContainer { .. }
            | Step::CreateContainer { .. }
            | Step::ReplaceContainer { .. }
            | Step::RemoveContainer { .. }
            | Step::ZkStartServer { .. }
            | Step::ZkRecreateServer { .. }
    );
    if touches_host && !seen(o, host) {
        return violation("unreachable", format!("{step} on an unreachable host"));
    }

    // 4. Order: ordered work on a component only when every earlier one has converged.
    if !matches!(step, Step::StartContainer { .. }) {
        for earlier in Component::ALL.iter().take_while(|e| **e != c) {
            let settled = component_converged(d, o, *earlier)
                || (*earlier == Component::Zookeeper && zookeeper_serves_the_document(d, o));
            if !settled {
                return violation("order", format!("{step} while {earlier} is not converged"));
            }
        }
    }

    match c {
        Component::Zookeeper => check_zookeeper(d, o, r, step),
        Component::Masters => check_masters(d, o, r, step),
        Component::Agents => {
            if let Step::AgentDown { .. } | Step::AgentUp { .. } = step {
                // Ours: recorded by the operator, and the window the master shows for the
                // host (if it shows one) starts when the recorded one does.
                let recorded = r.maintenance.get(host);
                let shown = o.agents.windows.get(host);
                let ours = match (recorded, shown) {
                    (None, _) => false,
                    (Some(m), Some(start)) => m.window_start.is_none_or(|s| s == *start),
                    (Some(m), None) => m.window_start.is_none(),
                };
                if !ours {
                    return violation(
                        "agents-foreign-maintenance",
                        format!("{step}: a maintenance window the operator did not open"),
                    );
                }
            }
            check_agents(d, o, step)
        }
        Component::Marathon => {
            check_marathon(d, o, r, step)?;
            check_leader_last(d, o, step)
        }
        Component::Dns | Component::LoadBalancer => check_discovery(d, o, step),
    }
}

/// The discovery components (DNS, the load balancer): clients query any instance, so an
/// instance that serves is replaced or removed only while another serves too, unless the
/// document asks for a single instance (which cannot be replaced without a gap).
fn check_discovery(d: &Desired, o: &Observed, step: &Step) -> Result<(), Violation> {
    let c = step.component();
    let host = step.host();
    if !matches!(
        step,
        Step::ReplaceContainer { .. } | Step::RemoveContainer { .. }
    ) {
        return Ok(());
    }
    let serving =
        |h: &str| container(o, c, h).is_some_and(serves) && o.member_health(c, h) == Some(true);
    if !serving(host) {
        return Ok(());
    }
    let others = o
        .containers_of(c)
        .into_iter()
        .any(|x| x.host != host && serving(&x.host));
    let alone = d.hosts_of(c).len() <= 1 && matches!(step, Step::ReplaceContainer { .. });
    if others || alone {
        return Ok(());
    }
    violation(
        "discovery-serving",
        format!("{step} takes away the only {c} instance that serves"),
    )
}

fn check_zookeeper(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    let host = step.host();
    // Never delete data that may be a voter's.
    if let Step::RemoveContainer {
        remove_volume: true,
        ..
    } = step
    {
        let voters: BTreeSet<u64> = o
            .zookeeper
            .committed
            .iter()
            .flat_map(|c| c.voters.keys().copied())
            .collect();
        let label = container(o, Component::Zookeeper, host).and_then(|c| c.zk_id);
        let held = o.zookeeper.volume_ids.get(host).copied();
        if label.or(held).is_some_and(|i| voters.contains(&i))
            || held.is_some_and(|i| voters.contains(&i))
        {
            return violation(
                "zookeeper-data",
                format!("{step}: the data of a voter's id"),
            );
        }
        if has_zk_volume(d, o, host) && held.is_none() {
            return violation(
                "zookeeper-data",
                format!("{step}: a volume whose server id is unknown"),
            );
        }
        if o.zookeeper.committed.is_none() && (label.is_some() || held.is_some()) {
            return violation(
                "zookeeper-data",
                format!("{step}: ZooKeeper data deleted while no config is known"),
            );
        }
    }
    let Some(cfg) = &o.zookeeper.committed else {
        return match step {
            Step::ZkStartServer { ensemble, id, .. } => {
                let nothing_else = containers(o, Component::Zookeeper).is_empty()
                    && o.hosts.keys().all(|h| h == host || !has_zk_volume(d, o, h))
                    && o.hosts
                        .values()
                        .all(|h| matches!(h, HostObservation::Reachable { .. }));
                if ensemble.len() == 1 && ensemble[0].id == *id && nothing_else {
                    check_fresh_id(d, o, r, step)
                } else {
                    violation(
                        "zookeeper-split",
                        format!("{step} with no committed config known"),
                    )
                }
            }
            Step::StartContainer { .. } => Ok(()),
            // A server that lost its container, brought back on its own volume under the
            // id the volume holds: a start of the same server, not a new one. It adds no
            // voter and removes none.
            Step::ZkRecreateServer { id, .. } => {
                let own_volume = o.zookeeper.volume_ids.get(host) == Some(id);
                let handed_out = r.zk_highest_id.is_some_and(|top| *id <= top);
                if own_volume && handed_out && container(o, Component::Zookeeper, host).is_none() {
                    Ok(())
                } else {
                    violation(
                        "zookeeper-split",
                        format!("{step} with no committed config known, not on its own volume"),
                    )
                }
            }
            // With no quorum, a server that serves nobody (its own `srvr` says so) on its
            // own volume may be replaced where it stands: no quorum can lose it.
            Step::ReplaceContainer { .. } => {
                let c = container(o, Component::Zookeeper, host);
                let silent = o.zookeeper.servers.get(host).is_some_and(|s| {
                    !matches!(
                        s.mode,
                        Some(ZkMode::Leader | ZkMode::Follower | ZkMode::Observer)
                    )
                });
                let own_volume = c.and_then(|c| c.zk_id).is_some_and(|id| {
                    o.zookeeper.volume_ids.get(host) == Some(&id) && has_zk_volume(d, o, host)
                });
                if silent && own_volume {
                    Ok(())
                } else {
                    violation(
                        "zookeeper-quorum",
                        format!("{step} while no quorum serves, of a server not known to be silent on its own data"),
                    )
                }
            }
            _ => violation("zookeeper-quorum", format!("{step} while no quorum serves")),
        };
    };
    if !matches!(step, Step::StartContainer { .. }) {
        if let Some((h, v)) = o
            .zookeeper
            .servers
            .iter()
            .filter_map(|(h, s)| s.config_version.map(|v| (h, v)))
            .find(|(_, v)| *v > cfg.version)
        {
            return violation(
                "zookeeper-stale-read",
                format!(
                    "{step} planned from config {:#x} while {h} reports {v:#x}",
                    cfg.version
                ),
            );
        }
    }
    let up = zk_up(o);
    let n = cfg.voters.len();
    let placed = voter_hosts(o);
    let voter_here: Option<u64> = placed
        .iter()
        .find(|(_, h)| h.as_deref() == Some(host))
        .map(|(id, _)| *id);
    match step {
        Step::ZkStartServer { id, ensemble, .. } => {
            let listed: BTreeSet<u64> = ensemble.iter().map(|m| m.id).collect();
            let mut want: BTreeSet<u64> = cfg.voters.keys().copied().collect();
            want.insert(*id);
            if listed != want {
                return violation(
                    "zookeeper-split",
                    format!("{step}: its ensemble is not the committed voters plus itself"),
                );
            }
            check_fresh_id(d, o, r, step)?;
            let joiners = containers(o, Component::Zookeeper)
                .iter()
                .filter(|c| c.zk_id.is_none_or(|i| !cfg.voters.contains_key(&i)))
                .count();
            if joiners > 0 {
                return violation("one-joiner", format!("{step} while another joiner exists"));
            }
            Ok(())
        }
        Step::ZkRecreateServer { id, .. } => {
            if !cfg.voters.contains_key(id) {
                return violation("zookeeper-recreate", format!("{step}: not a voter"));
            }
            if o.zookeeper.volume_ids.get(host) != Some(id) || !has_zk_volume(d, o, host) {
                return violation(
                    "zookeeper-recreate",
                    format!("{step}: the volume there does not hold id {id}"),
                );
            }
            if containers(o, Component::Zookeeper)
                .iter()
                .any(|c| c.zk_id == Some(*id))
            {
                return violation(
                    "zookeeper-recreate",
                    format!("{step}: a container with id {id} exists"),
                );
            }
            Ok(())
        }
        Step::ZkAdd {
            member,
            expected_version,
        } => {
            check_version(step, *expected_version, cfg.version)?;
            if up.len() < more_than_half(n) || up.len() + 1 < more_than_half(n + 1) {
                return violation(
                    "zookeeper-quorum",
                    format!("{step}: {} up of {n}", up.len()),
                );
            }
            if cfg.voters.contains_key(&member.id) {
                return violation("zookeeper-add", format!("{step}: already a voter"));
            }
            Ok(())
        }
        Step::ZkRemove {
            id,
            expected_version,
            ..
        } => {
            check_version(step, *expected_version, cfg.version)?;
            let after = up.iter().filter(|u| *u != id).count();
            if after < more_than_half(n - 1) || up.len() < more_than_half(n) {
                return violation(
                    "zookeeper-quorum",
                    format!("{step}: {} up of {n}", up.len()),
                );
            }
            if cfg.voters.keys().any(|v| v != id && !up.contains(v)) {
                return violation(
                    "zookeeper-shrink",
                    format!("{step} while another voter is down"),
                );
            }
            if up.contains(id) {
                check_clients_keep_a_voter(d, o, r, *id)?;
            }
            Ok(())
        }
        Step::ReplaceContainer { .. } | Step::RemoveContainer { .. } => {
            if let Some(v) = voter_here {
                if let Step::RemoveContainer {
                    remove_volume: true,
                    ..
                } = step
                {
                    return violation("zookeeper-data", format!("{step}: data of voter {v}"));
                }
                let left = up.iter().filter(|u| **u != v).count();
                if left < more_than_half(n) {
                    return violation(
                        "zookeeper-quorum",
                        format!("{step}: {left} voters left up of {n}"),
                    );
                }
                check_leader_last(d, o, step)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Safety rule 12, every member can reach its quorum: a serving voter leaves the config only while
/// every master, agent and Marathon provably runs a connection string naming a voter that
/// stays. The string is part of a client's configuration, so a client whose configuration
/// hash is the document's for its host runs the document's string; any other (or one on a
/// host out of sight, which may run anything) may name only the voter leaving, and, once
/// it leaves, reaches no ZooKeeper server until it is restarted, which nothing can do for
/// masters that have lost their leader.
fn check_clients_keep_a_voter(
    d: &Desired,
    o: &Observed,
    r: &Recorded,
    leaving: u64,
) -> Result<(), Violation> {
    for c in [
        Component::Masters,
        Component::Agents,
        Component::Marathon,
        Component::Dns,
    ] {
        for x in containers(o, c) {
            let documents = d
                .containers
                .get(&(c, x.host.clone()))
                .map(|s| &s.config_hash);
            if documents != Some(&x.config_hash) {
                return violation(
                    "zookeeper-clients",
                    format!(
                        "removing voter {leaving} while the {c} on {} runs another configuration, whose ZooKeeper string may name no voter that stays",
                        x.host
                    ),
                );
            }
        }
    }
    let unseen = d
        .containers
        .keys()
        .filter(|(c, _)| *c != Component::Zookeeper)
        .map(|(_, h)| h)
        .chain(&r.master_hosts)
        .chain(&r.marathon_hosts)
        .find(|h| !seen(o, h));
    if let Some(h) = unseen {
        return violation(
            "zookeeper-clients",
            format!("removing voter {leaving} while {h}, which may run a client on an older ZooKeeper string, is out of sight"),
        );
    }
    // The document's string must name a voter that stays and is up.
    let staying: BTreeSet<String> = voter_hosts(o)
        .into_iter()
        .filter(|(id, _)| *id != leaving && zk_up(o).contains(id))
        .filter_map(|(_, h)| h)
        .collect();
    if !d.zookeeper.hosts.iter().any(|h| staying.contains(h)) {
        return violation(
            "zookeeper-clients",
            format!("removing voter {leaving} leaves no voter up on the document's ZooKeeper hosts, which the clients' string names"),
        );
    }
    Ok(())
}

/// ZooKeeper serves the document's hosts: every one of them holds a voter that is up on
/// the committed config, its container on the document's configuration, a majority of all
/// voters is up, and no server is joining. Only voters on hosts the document dropped are left, and they
/// leave once the clients run the document's string (rule 12): the clients roll meanwhile.
fn zookeeper_serves_the_document(d: &Desired, o: &Observed) -> bool {
    let Some(cfg) = &o.zookeeper.committed else {
        return false;
    };
    let placed = voter_hosts(o);
    let up = zk_up(o);
    // Voters on the document's hosts all up, and a majority of all (a leaving one may be
    // down: it waits for the clients all the same).
    let document_voter_down = placed.iter().any(|(id, h)| {
        let named = h.as_ref().or(cfg.voters.get(id));
        named.is_none_or(|h| d.zookeeper.hosts.contains(h)) && !up.contains(id)
    });
    if up.len() < more_than_half(cfg.voters.len()) || document_voter_down {
        return false;
    }
    let voter_on = |h: &str| placed.values().any(|p| p.as_deref() == Some(h));
    let joining = containers(o, Component::Zookeeper)
        .iter()
        .any(|c| !voter_on(&c.host));
    let document_served = d.zookeeper.hosts.iter().all(|h| {
        voter_on(h)
            && container(o, Component::Zookeeper, h).is_some_and(|c| {
                serves(c)
                    && d.containers
                        .get(&(Component::Zookeeper, h.clone()))
                        .is_some_and(|s| s.config_hash == c.config_hash)
            })
    });
    document_served && !joining
}

/// Ids are never reused: above the recorded highest id (which must be known) and above
/// every id in sight. The one exception is the same start carried out again after it was
/// cut short (the step in flight, its volume holding its id, no container with it).
fn check_fresh_id(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    let Step::ZkStartServer { id, host, .. } = step else {
        return Ok(());
    };
    let Some(recorded) = r.zk_highest_id else {
        return violation(
            "zookeeper-id-unknown",
            format!("{step} while the highest id handed out is not recorded"),
        );
    };
    let resumed = r.in_flight.as_ref().is_some_and(|f| &f.step == step)
        && o.zookeeper.volume_ids.get(host).is_none_or(|v| v == id)
        && containers(o, Component::Zookeeper)
            .iter()
            .all(|c| c.zk_id != Some(*id))
        && o.zookeeper
            .committed
            .as_ref()
            .is_none_or(|c| !c.voters.contains_key(id));
    if resumed {
        return Ok(());
    }
    if has_zk_volume(d, o, host) {
        return violation(
            "zookeeper-volume",
            format!(
                "{step}: the host already has a ZooKeeper volume (holding {:?})",
                o.zookeeper.volume_ids.get(host)
            ),
        );
    }
    let seen_ids = containers(o, Component::Zookeeper)
        .iter()
        .filter_map(|c| c.zk_id)
        .chain(o.zookeeper.volume_ids.values().copied())
        .chain(
            o.zookeeper
                .committed
                .iter()
                .flat_map(|c| c.voters.keys().copied()),
        )
        .max()
        .unwrap_or(0);
    if *id <= recorded || *id <= seen_ids {
        return violation(
            "zookeeper-id-reuse",
            format!("{step}: id {id} is not fresh (recorded {recorded}, in sight {seen_ids})"),
        );
    }
    Ok(())
}

/// A reconfig must carry the committed version it was planned from (ZooKeeper's CAS).
fn check_version(step: &Step, expected: u64, committed: u64) -> Result<(), Violation> {
    if expected != committed {
        return violation(
            "zookeeper-cas",
            format!("{step}: planned from a stale version"),
        );
    }
    Ok(())
}

fn check_masters(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    let host = step.host();
    let may_run = masters_may_run(d, o, r);
    // The floor counts only masters someone can see.
    let lowest = masters_may_run(d, o, &Recorded::default())
        .iter()
        .map(|(_, q)| *q)
        .min();
    if let Step::ReplaceContainer {
        reset_registry: true,
        ..
    } = step
    {
        if !d.accept_registry_reset {
            return violation(
                "registry-reset",
                format!("{step} without acceptRegistryReset"),
            );
        }
    }
    let stops = matches!(
        step,
        Step::ReplaceContainer {
            reset_registry: false,
            ..
        } | Step::RemoveContainer { .. }
    );
    let here = container(o, Component::Masters, host);
    // A master whose own `/health` fails serves nobody: stopping it costs no quorum.
    let says_unhealthy = o.masters.members.get(host).is_some_and(|m| !m.healthy);
    if stops && here.is_some_and(serves) && !says_unhealthy {
        // The documented exception: a master alone, with a quorum it cannot meet alone,
        // serves nothing; restarting it loses no quorum.
        let alone = containers(o, Component::Masters).len() == 1
            && may_run.len() == 1
            && here.is_some_and(|c| master_quorum_label(d, c) > 1);
        let left = containers(o, Component::Masters)
            .iter()
            .filter(|c| c.host != host && master_healthy(o, &c.host))
            .count() as u32;
        let floor = lowest.unwrap_or(d.master_quorum).min(d.master_quorum);
        if !alone && left < floor {
            return violation(
                "masters-quorum",
                format!("{step}: {left} healthy left, quorum {floor}"),
            );
        }
    }
    // What the step leaves running on `host`, and with which quorum.
    let new_q = match step {
        Step::StartContainer { .. } => here.map(|c| master_quorum_label(d, c)),
        Step::CreateContainer { .. } | Step::ReplaceContainer { .. } => d
            .containers
            .get(&(Component::Masters, host.to_string()))
            .and_then(|s| s.env.get("MESOS_QUORUM"))
            .and_then(|q| q.parse().ok())
            .or(Some(d.master_quorum)),
        _ => None,
    };
    if let Some(q) = new_q {
        let mut after: Vec<u32> = may_run
            .iter()
            .filter(|(h, _)| h != host)
            .map(|(_, q)| *q)
            .collect();
        after.push(q);
        let min = after.iter().copied().min().unwrap_or(q);
        if after.len() as u32 >= 2 * min {
            return violation(
                "masters-ceiling",
                format!(
                    "{step}: {} masters may run, lowest quorum {min}",
                    after.len()
                ),
            );
        }
        if !matches!(step, Step::StartContainer { .. }) {
            // The quorum moves one step at a time.
            for c in containers(o, Component::Masters) {
                let other = master_quorum_label(d, c);
                if c.host != host && other.abs_diff(q) > 1 {
                    return violation(
                        "masters-quorum-jump",
                        format!("{step}: quorum {q} beside a master with quorum {other}"),
                    );
                }
            }
        }
    }
    if stops {
        check_leader_last(d, o, step)?;
    }
    Ok(())
}

/// Agents: at most `maxUnavailableAgents` out of service at once, counting the ones already
/// down, crashed, out of sight or in maintenance, and agents not wanted any more.
fn check_agents(d: &Desired, o: &Observed, step: &Step) -> Result<(), Violation> {
    let host = step.host();
    // Only a step that takes an agent in service out of it uses the budget.
    let takes_one = match step {
        Step::ReplaceContainer { .. } | Step::RemoveContainer { .. } | Step::AgentDown { .. } => {
            container(o, Component::Agents, host).is_some_and(serves)
                && o.agents
                    .members
                    .get(host)
                    .is_some_and(|a| a.healthy && a.registered)
                && !matches!(
                    o.agents.maintenance.get(host),
                    Some(crate::observed::Maintenance::Down)
                )
        }
        _ => false,
    };
    if !takes_one {
        return Ok(());
    }
    let mut hosts: BTreeSet<&str> = d
        .containers
        .keys()
        .filter(|(c, _)| *c == Component::Agents)
        .map(|(_, h)| h.as_str())
        .collect();
    for c in containers(o, Component::Agents) {
        hosts.insert(c.host.as_str());
    }
    let out = hosts
        .iter()
        .filter(|h| **h != host)
        .filter(|h| {
            let fine = container(o, Component::Agents, h).is_some_and(serves)
                && o.agents
                    .members
                    .get(**h)
                    .is_some_and(|a| a.healthy && a.registered)
                && !matches!(
                    o.agents.maintenance.get(**h),
                    Some(crate::observed::Maintenance::Down)
                );
            !fine
        })
        .count() as u32;
    if out + 1 > d.max_unavailable_agents {
        return violation(
            "agents-budget",
            format!(
                "{step}: {out} agents already out of service, maxUnavailableAgents {}",
                d.max_unavailable_agents
            ),
        );
    }
    Ok(())
}

/// Marathon: never an old and a new version both leader candidates, also when one of them
/// cannot be seen: a host that runs Marathon by the document or by the record and does not
/// answer may run any version, so only a version that a seen Marathon already runs may be
/// started while it is away.
fn check_marathon(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    let host = step.host();
    let image = match step {
        Step::CreateContainer { .. } | Step::ReplaceContainer { .. } => d
            .containers
            .get(&(Component::Marathon, host.to_string()))
            .map(|s| s.image.clone()),
        Step::StartContainer { .. } => {
            container(o, Component::Marathon, host).map(|c| c.image.clone())
        }
        _ => None,
    };
    let Some(image) = image else { return Ok(()) };
    // The tag, without a pinned digest (Docker shows a container's image by its tag).
    let version = |img: &str| {
        crate::spec::image::ImageRef::parse(img)
            .ok()
            .and_then(|r| r.tag)
    };
    // Never a downgrade over migrated state: the newest Marathon that led migrated it.
    if !d.allow_marathon_downgrade {
        let numbers = |img: &str| -> Option<Vec<u64>> {
            let tag = version(img)?;
            let core = tag
                .trim_start_matches('v')
                .split(['-', '+'])
                .next()?
                .to_string();
            core.split('.').map(|p| p.parse::<u64>().ok()).collect()
        };
        if let (Some(led), Some(new)) = (r.marathon_led.as_deref(), numbers(&image)) {
            if numbers(led).is_some_and(|l| new < l) {
                return violation(
                    "marathon-downgrade",
                    format!("{step}: {image} over the state {led} migrated"),
                );
            }
        }
    }
    for c in containers(o, Component::Marathon) {
        if c.host != host && can_run(c) && version(&c.image) != version(&image) {
            return violation(
                "marathon-versions",
                format!("{step}: {} beside {} on {}", image, c.image, c.host),
            );
        }
    }
    let unseen: Vec<&String> = d
        .containers
        .keys()
        .filter(|(c, _)| *c == Component::Marathon)
        .map(|(_, h)| h)
        .chain(r.marathon_hosts.iter())
        .filter(|h| h.as_str() != host && !seen(o, h))
        .collect();
    let seen_running_it = containers(o, Component::Marathon)
        .into_iter()
        .any(|c| c.host != host && can_run(c) && version(&c.image) == version(&image));
    if let Some(h) = unseen.first() {
        if !seen_running_it {
            return violation(
                "marathon-versions-unseen",
                format!("{step}: {image} while the Marathon host {h} is out of sight and may run another version"),
            );
        }
    }
    Ok(())
}

/// 5. A serving leader is replaced only when no other member of its component still needs
///    the same change.
fn check_leader_last(d: &Desired, o: &Observed, step: &Step) -> Result<(), Violation> {
    let Step::ReplaceContainer {
        component, host, ..
    } = step
    else {
        return Ok(());
    };
    let leader = match component {
        Component::Zookeeper => o.zookeeper.leader.as_deref(),
        Component::Masters => o.masters.leader.as_deref(),
        Component::Marathon => o.marathon.leader.as_deref(),
        Component::Agents | Component::Dns | Component::LoadBalancer => None,
    };
    if leader != Some(host.as_str()) {
        return Ok(());
    }
    // The rule saves elections; a reported leader that is not serving causes none.
    let serving = match component {
        Component::Zookeeper => {
            let up = zk_up(o);
            voter_hosts(o)
                .iter()
                .any(|(id, h)| h.as_deref() == Some(host.as_str()) && up.contains(id))
        }
        Component::Masters => master_healthy(o, host),
        Component::Marathon => {
            container(o, Component::Marathon, host).is_some_and(serves)
                && o.marathon.members.get(host).is_some_and(|m| m.healthy)
        }
        Component::Agents | Component::Dns | Component::LoadBalancer => false,
    };
    if !serving {
        return Ok(());
    }
    for ((c, other), spec) in &d.containers {
        if c != component || other == host {
            continue;
        }
        // A stopped member that needs the change too costs no election: it may come after.
        if container(o, *c, other).is_some_and(|x| serves(x) && x.config_hash != spec.config_hash) {
            return violation(
                "leader-last",
                format!("{step} while {other} is also outdated"),
            );
        }
    }
    Ok(())
}
