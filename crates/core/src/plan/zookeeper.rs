//! ZooKeeper: membership through 3.5+ dynamic reconfiguration, one change at a time, and
//! rolling replacement followers first, leader last.
//!
//! The committed config (voters and version) is the source of truth for membership; a
//! container whose id is not in it is either a joiner (its host should hold a voter and
//! holds none) or a leftover of a removed server. Every reconfig carries the config version
//! it was planned from, so a stale plan fails with `BadVersion` instead of applying.

use std::collections::{BTreeMap, BTreeSet};

use super::gate::{unreachable, wait_for, wait_since};
use super::{act, blocked, leader_last, majority, BlockKind, Decision, Step, View, ZkMember};
use crate::desired::Desired;
use crate::observed::{HostObservation, Observed, ObservedContainer, ZkConfig, ZkMode};
use crate::spec::Component;

/// Serving, synced on the committed config, in a voting mode.
pub(crate) fn voter_up(ctx: &View, cfg: &ZkConfig, host: &str, id: u64) -> bool {
    let Some(c) = ctx.observed.container(Component::Zookeeper, host) else {
        return false;
    };
    let Some(s) = ctx.observed.zookeeper.servers.get(host) else {
        return false;
    };
    c.running()
        && c.zk_id == Some(id)
        && s.server_id == Some(id)
        && s.serves()
        && s.config_version == Some(cfg.version)
}

/// A voter that does not serve: its host out of sight, or waited for since its start
/// (`why`: what waits for it, appended to the reason).
fn wait_for_voter(ctx: &View, id: u64, host: &str, why: &str) -> Decision {
    if !ctx.observed.reachable(host) {
        return unreachable(ctx, host, "ZooKeeper server");
    }
    wait_since(
        ctx,
        ctx.observed
            .container(Component::Zookeeper, host)
            .map(|c| c.started_at),
        format!("waiting for ZooKeeper server {id} on {host} to serve{why}"),
        "look at the server's container logs",
    )
}

/// A joiner serving as a synced non-voting member.
fn joiner_synced(ctx: &View, cfg: &ZkConfig, c: &ObservedContainer) -> bool {
    let Some(s) = ctx.observed.zookeeper.servers.get(&c.host) else {
        return false;
    };
    c.running()
        && c.zk_id.is_some()
        && s.server_id == c.zk_id
        && s.ok
        && matches!(s.mode, Some(ZkMode::Observer | ZkMode::Follower))
        && s.config_version == Some(cfg.version)
}

/// The container on `host` runs a configuration other than the desired one. On a host
/// ZooKeeper is leaving, the desired one is the container derived for it (what a
/// replacement there creates): otherwise every server there would count as outdated for
/// good, and a down one would be replaced again and again while it waits to leave (the
/// simulation's seed 11094).
fn stale(ctx: &View, host: &str) -> bool {
    ctx.observed
        .container(Component::Zookeeper, host)
        .is_some_and(|c| {
            ctx.desired
                .zookeeper_container_on(host)
                .is_none_or(|s| s.config_hash != c.config_hash)
        })
}

/// The lowest id never handed out: above the recorded highest id (the durable record; ids
/// on hosts out of sight are only in there), and above every id in sight as a second guard.
/// `None` while the record is unknown: then no server may be started.
fn fresh_id(ctx: &View) -> Option<u64> {
    let mut top = ctx.recorded.zk_highest_id?;
    if let Some(cfg) = &ctx.observed.zookeeper.committed {
        top = top.max(cfg.voters.keys().copied().max().unwrap_or(0));
    }
    for c in ctx.observed.containers_of(Component::Zookeeper) {
        top = top.max(c.zk_id.unwrap_or(0));
    }
    for id in ctx.observed.zookeeper.volume_ids.values() {
        top = top.max(*id);
    }
    Some(top + 1)
}

/// A `ZkStartServer` cut short (its volume, labelled with the new id, may exist, whether or
/// not this observation shows it) before its container was: carried out again, the same id
/// on the same volume (the executor's volume creation is idempotent by label), while the
/// ensemble it was given is still the committed one (or, bootstrapping, while there is none
/// and no other ZooKeeper data anywhere). Not a reuse: it is the same start, recorded first.
fn resume_start(ctx: &View, committed: Option<&ZkConfig>) -> Option<Decision> {
    let f = ctx.recorded.in_flight.as_ref()?;
    let Step::ZkStartServer { host, id, ensemble } = &f.step else {
        return None;
    };
    if !ctx.observed.reachable(host)
        || ctx.observed.container(Component::Zookeeper, host).is_some()
        || ctx
            .observed
            .zookeeper
            .volume_ids
            .get(host)
            .is_some_and(|v| v != id)
        || !ctx.desired.zookeeper.hosts.contains(host)
    {
        return None;
    }
    let listed: Vec<u64> = ensemble.iter().map(|m| m.id).collect();
    let same = match committed {
        Some(cfg) => {
            let mut want: Vec<u64> = cfg.voters.keys().copied().collect();
            want.push(*id);
            !cfg.voters.contains_key(id) && listed == want
        }
        None => {
            listed == [*id]
                && ctx.observed.containers_of(Component::Zookeeper).is_empty()
                && ctx
                    .observed
                    .hosts
                    .iter()
                    .all(|(h, _)| h == host || !has_volume(ctx, h))
        }
    };
    same.then(|| Decision::Act {
        step: f.step.clone(),
        reason: format!(
            "the start of ZooKeeper server {id} on {host} was cut short; carry it out again"
        ),
    })
}

/// A new ensemble's servers all at once, with fresh ids from `first_id` and one first
/// config naming them all (see [`Step::ZkBootstrap`]): only where the caller found no
/// ensemble anywhere (every host answers, no ZooKeeper container or data volume, the record
/// shows none existed), with every server the document places on a host that answers, and
/// no canary hold on ZooKeeper (a canary goes alone).
fn bootstrap_all(ctx: &View, desired: &[&str], first_id: u64) -> Option<Decision> {
    let held = ctx
        .desired
        .canary_hold
        .as_ref()
        .is_some_and(|h| h.component == Component::Zookeeper);
    if desired.len() < 2 || held || desired.iter().any(|h| !ctx.observed.reachable(h)) {
        return None;
    }
    let ensemble: Vec<ZkMember> = desired
        .iter()
        .zip(first_id..)
        .map(|(h, id)| member(ctx, id, h))
        .collect();
    act(
        Step::ZkBootstrap { ensemble },
        format!(
            "no ZooKeeper ensemble exists: start its {} servers at once on one first config (nothing to split, nothing serves yet)",
            desired.len()
        ),
    )
}

/// A bootstrap of several servers cut short (the operator died, a host failed a call), as
/// the record keeps it until it is done ([`crate::record::Recorded::zk_bootstrap`]): carry it out again as
/// recorded, same ids and ensemble (each server's creation is idempotent;
/// one whose container exists is left as it is), while nothing but it exists: every server
/// seen is a member on its own host with its own id, every data volume a member's, the
/// committed config (if a majority already serves) exactly the members, every member's host
/// answers and is a ZooKeeper host of the document, and some member has no container.
fn resume_bootstrap(ctx: &View, committed: Option<&ZkConfig>) -> Option<Decision> {
    let ensemble = ctx.recorded.zk_bootstrap.as_ref()?;
    let id_on = |h: &str| ensemble.iter().find(|m| m.host == h).map(|m| m.id);
    let ids: BTreeSet<u64> = ensemble.iter().map(|m| m.id).collect();
    let only_members = ctx
        .observed
        .containers_of(Component::Zookeeper)
        .iter()
        .all(|c| c.zk_id.is_some() && c.zk_id == id_on(&c.host))
        && ctx
            .observed
            .hosts
            .keys()
            .filter(|h| has_volume(ctx, h))
            .all(|h| {
                id_on(h).is_some()
                    && ctx
                        .observed
                        .zookeeper
                        .volume_ids
                        .get(h)
                        .is_none_or(|v| Some(*v) == id_on(h))
            });
    let config_ok =
        committed.is_none_or(|cfg| cfg.voters.keys().copied().collect::<BTreeSet<u64>>() == ids);
    let hosts_ok = ensemble
        .iter()
        .all(|m| ctx.observed.reachable(&m.host) && ctx.desired.zookeeper.hosts.contains(&m.host));
    let missing = ensemble.iter().any(|m| {
        ctx.observed
            .container(Component::Zookeeper, &m.host)
            .is_none()
    });
    (only_members && config_ok && hosts_ok && missing).then(|| Decision::Act {
        step: Step::ZkBootstrap {
            ensemble: ensemble.clone(),
        },
        reason:
            "the bootstrap of the ZooKeeper ensemble was cut short; carry it out again as recorded"
                .into(),
    })
}

fn id_unknown() -> Option<Decision> {
    blocked(
        BlockKind::Safety,
        "the highest ZooKeeper server id ever handed out is not recorded; starting a server could reuse the id of one out of sight",
        "restore the cluster's record (zkHighestId) from a backup or set it above every id this cluster ever used; the operator never guesses it",
    )
}

/// Whether this cluster's ZooKeeper data volume exists on `host`.
fn has_volume(ctx: &View, host: &str) -> bool {
    let name = crate::desired::volume_name(&ctx.desired.name, Component::Zookeeper, host);
    match ctx.observed.hosts.get(host) {
        Some(HostObservation::Reachable { volumes, .. }) => volumes.contains(&name),
        _ => false,
    }
}

/// The committed config with each voter placed by the container (or volume) that carries
/// its id label, not by the name in its config line: a voter whose line carries an address
/// (a re-addressed host, a second network card) is still the server on the host whose
/// container holds its id. `Err` when two containers claim one voter's id.
fn resolve(ctx: &View, cfg: &ZkConfig) -> Result<ZkConfig, Decision> {
    match place_voters(ctx.desired, ctx.observed, cfg) {
        Ok(voters) => Ok(ZkConfig {
            version: cfg.version,
            voters,
        }),
        Err((id, hs)) => Err(Decision::Blocked {
            kind: BlockKind::Safety,
            reason: format!(
                "ZooKeeper containers on {} all claim voter id {id}",
                hs.join(", ")
            ),
            action: "find out which one is the voter (its `conf` serverId, its data); remove the others by hand; the operator deletes no data of a voter's id".into(),
        }),
    }
}

/// The host of each voter of `cfg`: the one whose container carries its id label, else the
/// one whose data volume holds it, else the host its config line names (by name or by
/// address). The planner and the executor's last look place voters the same way.
/// `Err((id, hosts))` when several containers claim one id.
pub(crate) fn place_voters(
    d: &Desired,
    o: &Observed,
    cfg: &ZkConfig,
) -> Result<BTreeMap<u64, String>, (u64, Vec<String>)> {
    let mut by_label: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for c in o.containers_of(Component::Zookeeper) {
        if let Some(id) = c.zk_id {
            by_label.entry(id).or_default().push(c.host.as_str());
        }
    }
    let mut voters = BTreeMap::new();
    for (id, name) in &cfg.voters {
        let host = match by_label.get(id).map(Vec::as_slice) {
            Some([h]) => h.to_string(),
            Some(hs) if hs.len() > 1 => {
                return Err((*id, hs.iter().map(|h| h.to_string()).collect()));
            }
            _ => {
                let by_volume: Vec<&String> = o
                    .zookeeper
                    .volume_ids
                    .iter()
                    .filter(|(_, v)| *v == id)
                    .map(|(h, _)| h)
                    .collect();
                if let [h] = by_volume.as_slice() {
                    h.to_string()
                } else if d.addresses.contains_key(name) || o.hosts.contains_key(name) {
                    name.clone()
                } else {
                    d.addresses
                        .iter()
                        .find(|(_, a)| *a == name)
                        .map(|(h, _)| h.clone())
                        .unwrap_or_else(|| name.clone())
                }
            }
        };
        voters.insert(*id, host);
    }
    Ok(voters)
}

/// A block if the ZooKeeper volume on `host` may hold a voter's data: its id is in the
/// committed config, or unknown.
fn volume_of_voter(ctx: &View, voters: &BTreeMap<u64, String>, host: &str) -> Option<Decision> {
    if !has_volume(ctx, host) {
        return None;
    }
    match ctx.observed.zookeeper.volume_ids.get(host) {
        Some(v) if !voters.contains_key(v) => None,
        Some(v) => blocked(
            BlockKind::Safety,
            format!("the ZooKeeper volume on {host} holds server id {v}, a voter in the committed config"),
            "look at the committed config and the volume; the operator deletes no data of a voter",
        ),
        None => blocked(
            BlockKind::Safety,
            format!("which ZooKeeper server id the volume on {host} holds is unknown"),
            "check the volume's zookeeper-id label (its myid); the operator deletes no data it cannot identify",
        ),
    }
}

/// Removes the ZooKeeper container on `host`, which is no voter, with its data, unless the
/// volume may hold a voter's data (then a block, from [`volume_of_voter`]).
fn remove_non_voter(
    ctx: &View,
    voters: &BTreeMap<u64, String>,
    host: &str,
    reason: String,
) -> Option<Decision> {
    if let Some(b) = volume_of_voter(ctx, voters, host) {
        return Some(b);
    }
    act(
        Step::RemoveContainer {
            component: Component::Zookeeper,
            host: host.to_string(),
            remove_volume: true,
        },
        reason,
    )
}

fn member(ctx: &View, id: u64, host: &str) -> ZkMember {
    ZkMember {
        id,
        host: host.to_string(),
        address: ctx.desired.addresses.get(host).cloned().unwrap_or_default(),
    }
}

pub(super) fn plan(ctx: &View) -> Option<Decision> {
    let desired: Vec<&str> = ctx
        .desired
        .zookeeper
        .hosts
        .iter()
        .map(String::as_str)
        .collect();
    match &ctx.observed.zookeeper.committed {
        None => no_quorum(ctx, &desired),
        Some(read) => {
            // The committed config is read from one server, without a sync: a lagging one
            // hands back the config from before the last reconfig. Plan only from a config
            // no server has seen superseded.
            if let Some((h, v)) = ctx
                .observed
                .zookeeper
                .servers
                .iter()
                .filter_map(|(h, s)| s.config_version.map(|v| (h, v)))
                .find(|(_, v)| *v > read.version)
            {
                return Some(wait_since(
                    ctx,
                    None,
                    format!(
                        "the ZooKeeper config read has version {:#x} but the server on {h} reports {v:#x}; waiting for a read of the newest config",
                        read.version
                    ),
                    "look at the ZooKeeper servers' /zookeeper/config; one of them lags",
                ));
            }
            match resolve(ctx, read) {
                Ok(cfg) => with_config(ctx, &cfg, &desired),
                Err(d) => Some(d),
            }
        }
    }
}

/// No server reports a committed config: bootstrap a new ensemble only when there is
/// certainly none (every host answers, no ZooKeeper container or data volume anywhere);
/// otherwise wait for the servers, which the repair pass has started.
fn no_quorum(ctx: &View, desired: &[&str]) -> Option<Decision> {
    let first = desired.first()?;
    if let Some(h) = ctx.observed.hosts.iter().find_map(|(h, o)| match o {
        HostObservation::Unreachable { .. } => Some(h),
        _ => None,
    }) {
        return Some(unreachable(ctx, h, "ZooKeeper data"));
    }
    let containers = ctx.observed.containers_of(Component::Zookeeper);
    let volumes_left = ctx.observed.hosts.values().any(|o| match o {
        HostObservation::Reachable { volumes, .. } => {
            volumes.iter().any(|v| v.contains("-zookeeper-"))
        }
        _ => false,
    });
    if let Some(d) = resume_start(ctx, None) {
        return Some(d);
    }
    if let Some(d) = resume_bootstrap(ctx, None) {
        return Some(d);
    }
    if let Some(d) = recreate_lost(ctx, desired) {
        return Some(d);
    }
    if let Some(d) = replace_silent_outdated(ctx) {
        return Some(d);
    }
    if containers.is_empty() && !volumes_left {
        // The record says an ensemble existed (ids were handed out, masters ran on it)
        // and none of it is in sight: it may run on hosts the document no longer names.
        let existed = ctx.recorded.zk_highest_id.is_some_and(|id| id > 0)
            || !ctx.recorded.master_hosts.is_empty();
        if existed && !ctx.desired.accept_new_ensemble {
            return blocked(
                BlockKind::Safety,
                format!(
                    "the record shows a ZooKeeper ensemble existed (server ids up to {}), and none of its servers or data is on the document's hosts; \
                     it may still run on hosts the document no longer names, holding Marathon's apps and the Mesos election",
                    ctx.recorded.zk_highest_id.unwrap_or(0)
                ),
                "keep the old ZooKeeper hosts in spec.hosts while the new ones join (the servers move one at a time), \
                 or, to start a new, empty ensemble, set spec.zookeeper.acceptNewEnsemble: true",
            );
        }
        let Some(id) = fresh_id(ctx) else {
            return id_unknown();
        };
        if let Some(d) = bootstrap_all(ctx, desired, id) {
            return Some(d);
        }
        return act(
            Step::ZkStartServer {
                host: first.to_string(),
                id,
                ensemble: vec![member(ctx, id, first)],
            },
            "no ZooKeeper ensemble exists: bootstrap the first server",
        );
    }
    let newest = containers
        .iter()
        .filter(|c| c.running())
        .max_by_key(|c| c.started_at);
    Some(match newest {
        Some(c) => wait_for(ctx, c, "ZooKeeper", "a quorum of servers serves a committed config"),
        None => Decision::Blocked {
            kind: BlockKind::Degraded,
            reason: "no ZooKeeper server answers and none is running, but ZooKeeper data exists".into(),
            action: "look at the ZooKeeper containers' logs; the operator will not bootstrap over existing data".into(),
        },
    })
}

/// No quorum, and a server runs an outdated configuration and serves nobody (it has not
/// answered `imok` for `healthTimeout`): a version that never turns healthy, on which
/// a server was started again after the quorum was lost (a person removed another voter's
/// container while the document asked for that version), then the document went back.
/// Waited for, it never serves, and the quorum may be missing exactly it. Replaced on its
/// own volume it keeps its id and data, and costs nothing: it serves nobody now. Only a
/// server whose volume holds the id its container carries, seen by its own probe, never
/// while a step on its host is in flight.
fn replace_silent_outdated(ctx: &View) -> Option<Decision> {
    let in_flight: Vec<&str> = ctx
        .recorded
        .in_flight
        .as_ref()
        .map(|f| f.step.hosts())
        .unwrap_or_default();
    ctx.observed
        .containers_of(Component::Zookeeper)
        .into_iter()
        .find(|c| {
            let h = c.host.as_str();
            // Not even `imok` for longer than `healthTimeout`: broken, not merely looking
            // for a quorum (a healthy server of the version going away is never replaced
            // by one that cannot serve).
            let silent = ctx.observed.zookeeper.servers.get(h).is_some_and(|s| {
                !s.ok
                    && !matches!(
                        s.mode,
                        Some(ZkMode::Leader | ZkMode::Follower | ZkMode::Observer)
                    )
            });
            c.running()
                && ctx.now >= c.started_at + ctx.timeout()
                && stale(ctx, h)
                && silent
                && c.zk_id.is_some()
                && ctx.observed.zookeeper.volume_ids.get(h) == c.zk_id.as_ref()
                && ctx.desired.zookeeper_container_on(h).is_some()
                && !in_flight.contains(&h)
        })
        .map(|c| Decision::Act {
            step: Step::ReplaceContainer {
                component: Component::Zookeeper,
                host: c.host.clone(),
                reset_registry: false,
            },
            reason: format!(
                "no ZooKeeper quorum, and server {} on {} serves nobody on an outdated configuration; replace it on its data",
                c.zk_id.unwrap_or_default(),
                c.host
            ),
        })
}

/// No quorum, and a server that served here has lost its container but not its data
/// (someone ran `docker rm -f`, or a replacement was cut short after its removal): the
/// quorum may be missing exactly that server, and nobody can start a container that no
/// longer exists. Recreated on its volume with the id the volume holds, it comes back as
/// itself: the server reads its config and `myid` from its data, as a stopped one does
/// when started (which the repair pass does in this case too). Only on a volume whose id
/// was handed out, never while a start or a removal on that host is in flight (a cut-short
/// start is [`resume_start`]'s, with its own checks). A volume that never held a config (its
/// server's first start never happened) is given the servers known by their volumes'
/// labels: with peers listed, it cannot serve without a majority of them.
fn recreate_lost(ctx: &View, desired: &[&str]) -> Option<Decision> {
    let highest = ctx.recorded.zk_highest_id?;
    // A start or a removal in flight on the host is finished by its own rules; a
    // replacement cut short after its container was removed is finished by this.
    let in_flight: Vec<&str> = ctx
        .recorded
        .in_flight
        .as_ref()
        .filter(|f| {
            matches!(
                f.step,
                Step::ZkStartServer { .. }
                    | Step::ZkBootstrap { .. }
                    | Step::RemoveContainer { .. }
                    | Step::ZkRemove { .. }
            )
        })
        .map(|f| f.step.hosts())
        .unwrap_or_default();
    // The hosts ZooKeeper is placed on first, then the document's other hosts (a server
    // whose host the document moves ZooKeeper away from holds the ensemble's data until
    // the move is done: seed 1921, a lone server's container removed before its move).
    let others = ctx
        .desired
        .addresses
        .keys()
        .map(String::as_str)
        .filter(|h| !desired.contains(h));
    let candidates: Vec<&str> = desired.iter().copied().chain(others).collect();
    candidates.into_iter().find_map(|h| {
        let id = *ctx.observed.zookeeper.volume_ids.get(h)?;
        let lost = ctx.observed.reachable(h)
            && ctx.observed.container(Component::Zookeeper, h).is_none()
            && has_volume(ctx, h)
            && id <= highest
            && !in_flight.contains(&h);
        lost.then(|| Decision::Act {
            step: Step::ZkRecreateServer {
                host: h.to_string(),
                id,
            },
            reason: format!(
                "no ZooKeeper quorum, and server {id} on {h} lost its container but not its data; recreate it on its data"
            ),
        })
    })
}

fn with_config(ctx: &View, cfg: &ZkConfig, desired: &[&str]) -> Option<Decision> {
    if let Some(d) = resume_bootstrap(ctx, Some(cfg)) {
        return Some(d);
    }
    let voters: &BTreeMap<u64, String> = &cfg.voters;
    let up: Vec<u64> = voters
        .iter()
        .filter(|(id, h)| voter_up(ctx, cfg, h, **id))
        .map(|(id, _)| *id)
        .collect();
    let all_up = up.len() == voters.len();
    let leader = ctx.observed.zookeeper.leader.as_deref();

    // 1. A voter whose container runs the desired configuration but is not serving yet:
    //    the gate of the last step. (One on an outdated configuration is not waited for:
    //    replacing it is the remedy, e.g. after a rollback from a broken image.)
    for (id, h) in voters {
        if let Some(c) = ctx.observed.container(Component::Zookeeper, h) {
            if c.running() && c.zk_id == Some(*id) && !up.contains(id) && !stale(ctx, h) {
                return Some(wait_for(
                    ctx,
                    c,
                    &format!("ZooKeeper server {id}"),
                    "rejoin as leader or follower on the committed config",
                ));
            }
        }
    }

    // 2. Containers not in the config: joiners, or leftovers of removed servers.
    for c in ctx.observed.containers_of(Component::Zookeeper) {
        let Some(id) = c.zk_id else { continue };
        if voters.get(&id) == Some(&c.host) {
            continue;
        }
        if voters.contains_key(&id) {
            // Resolution placed the voter elsewhere by its volume while this container
            // claims its id: never guess, never delete.
            return blocked(
                BlockKind::Safety,
                format!(
                    "the ZooKeeper container on {} claims id {id}, which the data on {} holds",
                    c.host, voters[&id]
                ),
                "find out which one is the voter; remove the other by hand",
            );
        }
        let host_has_voter = voters.values().any(|h| *h == c.host);
        let wanted = desired.contains(&c.host.as_str());
        if !wanted {
            // Not a voter and not wanted here: it has been reconfigured out (or never got
            // in); its data may go, unless the volume holds a voter's id.
            return remove_non_voter(
                ctx,
                voters,
                &c.host,
                format!(
                    "ZooKeeper server {id} on {} is not in the committed config",
                    c.host
                ),
            );
        }
        if host_has_voter {
            // The host's old voter lost its container; it must leave the config before
            // this one can join.
            continue;
        }
        if !joiner_synced(ctx, cfg, c) {
            if stale(ctx, &c.host) {
                // A joiner on a configuration that is going away (the document went back
                // from a version that never turned healthy): never a voter, it holds no
                // voter's data. Waited for, it would block for good; it goes, with its
                // volume, and a server is started again on the current configuration
                // under a new id (the simulation's mistakes walk, seed 1085). Stopped (a
                // person stopped it), it goes all the same: the repair pass starts no
                // container on an outdated configuration, and waiting for it to serve
                // would be for ever (the survey's seed 21931).
                return remove_non_voter(
                    ctx,
                    voters,
                    &c.host,
                    format!(
                        "joining ZooKeeper server {id} on {} runs an outdated configuration and never joined",
                        c.host
                    ),
                );
            }
            if !c.running() {
                continue; // the repair pass starts it
            }
            return Some(wait_for(
                ctx,
                c,
                &format!("joining ZooKeeper server {id}"),
                "serve as a synced non-voting member",
            ));
        }
        if up.len() < majority(voters.len()) || up.len() + 1 < majority(voters.len() + 1) {
            return blocked(
                BlockKind::Degraded,
                format!("only {} of {} ZooKeeper voters are up; adding server {id} would not keep a majority", up.len(), voters.len()),
                "bring the down servers back first",
            );
        }
        return act(
            Step::ZkAdd {
                member: member(ctx, id, &c.host),
                expected_version: cfg.version,
            },
            format!(
                "ZooKeeper server {id} on {} is synced; make it a voter",
                c.host
            ),
        );
    }

    // 3. Dead voters that cannot come back where they are: not wanted any more, or their
    //    host answers but their container (and id) is gone. Removed one at a time, and only
    //    while every voter that stays is up. One not wanted any more that may still run
    //    leaves, like a live one (step 5), only once every client runs the document's
    //    string: seen down it may serve all the same (a probe that timed out, its host out
    //    of sight), and a client's string may name nothing else.
    let clients_off = clients_off_the_document(ctx);
    let mut leaving_waits: Vec<u64> = Vec::new();
    for (id, h) in voters {
        if up.contains(id) {
            continue;
        }
        let wanted = desired.contains(&h.as_str());
        let container_gone =
            ctx.observed.reachable(h) && ctx.observed.container(Component::Zookeeper, h).is_none();
        if wanted && container_gone && has_volume(ctx, h) {
            // Its container is gone, its data is not: a replacement cut short. Finish it
            // with the same id on the same volume; never reconfigure it out for that.
            return match ctx.observed.zookeeper.volume_ids.get(h) {
                Some(v) if v == id => act(
                    Step::ZkRecreateServer {
                        host: h.clone(),
                        id: *id,
                    },
                    format!("ZooKeeper server {id} on {h} lost its container but not its data; finish its replacement"),
                ),
                Some(v) => blocked(
                    BlockKind::Safety,
                    format!("voter {id} belongs on {h}, whose ZooKeeper volume holds server id {v}"),
                    "look at the volume and the committed config; the operator starts no server on a volume holding another id",
                ),
                None => blocked(
                    BlockKind::Safety,
                    format!("voter {id} on {h} has no container, and which server id its data volume holds is unknown"),
                    "check the volume's zookeeper-id label (its myid); the operator starts no server on data it cannot identify",
                ),
            };
        }
        let gone_here = ctx.observed.reachable(h)
            && ctx
                .observed
                .container(Component::Zookeeper, h)
                .is_none_or(|c| c.zk_id != Some(*id));
        if wanted && !gone_here {
            // Down where it should be: its host is unreachable, or its container is stopped
            // (the repair pass starts it).
            if !ctx.observed.reachable(h) {
                return Some(unreachable(ctx, h, "ZooKeeper server"));
            }
            continue;
        }
        // Its container gone from a host that answers, it serves nobody and never will
        // again: a client whose string names only it is cut off already, and removing it
        // cuts off no one more (waiting for the clients would wait for ever: the simulation's
        // seed 200, a person's `docker rm -f`).
        if !wanted && !gone_here && !clients_off.is_empty() {
            leaving_waits.push(*id);
            continue;
        }
        let remaining = voters.len() - 1;
        let remaining_up = up.len();
        if remaining == 0 {
            break;
        }
        if remaining_up < remaining || remaining_up < majority(voters.len()) {
            // Another down voter whose container is gone but whose data is on its host (a
            // person's `docker rm -f`, on a host the document dropped too) comes back on its
            // data first, so that the ensemble is whole for one removal at a time: two such
            // voters would otherwise each wait for the other for good (the simulation's
            // seed 5638).
            let back = voters.iter().find(|(other, oh)| {
                *other != id
                    && !up.contains(other)
                    && ctx.observed.reachable(oh)
                    && ctx.observed.container(Component::Zookeeper, oh).is_none()
                    && has_volume(ctx, oh)
                    && ctx.observed.zookeeper.volume_ids.get(*oh) == Some(*other)
                    && ctx.desired.zookeeper_container_on(oh).is_some()
            });
            if let Some((other, oh)) = back {
                return act(
                    Step::ZkRecreateServer {
                        host: oh.clone(),
                        id: *other,
                    },
                    format!("ZooKeeper server {other} on {oh} lost its container but not its data; bring it back so that server {id} on {h} can leave with every other voter up"),
                );
            }
            return blocked(
                BlockKind::Degraded,
                format!(
                    "ZooKeeper server {id} on {h} is down and should be removed, but only {remaining_up} of the {remaining} other voters are up"
                ),
                "bring the other servers back first; the operator never shrinks an ensemble that is not fully up",
            );
        }
        return act(
            Step::ZkRemove {
                id: *id,
                host: h.clone(),
                expected_version: cfg.version,
            },
            format!("ZooKeeper server {id} on {h} is down and not coming back there"),
        );
    }

    // A down voter on an outdated configuration is replaced where it stands: it serves
    // nobody now, so replacing it costs no quorum as long as the others hold one.
    for (id, h) in voters {
        if up.contains(id) || !stale(ctx, h) || !ctx.observed.reachable(h) {
            continue;
        }
        if up.len() < majority(voters.len()) {
            break;
        }
        return act(
            Step::ReplaceContainer {
                component: Component::Zookeeper,
                host: h.clone(),
                reset_registry: false,
            },
            format!("ZooKeeper server {id} on {h} is down on an outdated configuration"),
        );
    }

    if !all_up {
        // A stopped voter the repair pass is restarting, or one on an unreachable host (one
        // leaving, whose removal waits for the clients, is not waited for).
        if let Some((id, h)) = voters
            .iter()
            .find(|(id, _)| !up.contains(id) && !leaving_waits.contains(id))
        {
            return Some(wait_for_voter(ctx, *id, h, ""));
        }
    }

    // 4. Growth: a wanted host without a voter gets a joiner, one at a time: never while
    //    another joiner exists, in whatever state (paused, restarting, waiting for its
    //    host's old voter to leave).
    if let Some(j) = ctx
        .observed
        .containers_of(Component::Zookeeper)
        .into_iter()
        .find(|c| c.zk_id.is_none_or(|id| voters.get(&id) != Some(&c.host)))
    {
        return Some(wait_for(
            ctx,
            j,
            "the joining ZooKeeper server",
            "serve as a synced non-voting member",
        ));
    }
    for h in desired {
        if voters.values().any(|v| v == h) {
            continue;
        }
        if !ctx.observed.reachable(h) {
            return Some(unreachable(ctx, h, "ZooKeeper server"));
        }
        if ctx.observed.container(Component::Zookeeper, h).is_some() {
            continue; // a joiner already handled above
        }
        if let Some(d) = resume_start(ctx, Some(cfg)) {
            return Some(d);
        }
        if has_volume(ctx, h) {
            // A volume left by an earlier server: a new one never starts on it (the volume's
            // myid would win over the label). Delete it if it is certainly not a voter's.
            if let Some(b) = volume_of_voter(ctx, voters, h) {
                return Some(b);
            }
            return act(
                Step::RemoveContainer {
                    component: Component::Zookeeper,
                    host: h.to_string(),
                    remove_volume: true,
                },
                format!("the ZooKeeper volume on {h} was left by a server no longer in the config; delete it before a new server starts there"),
            );
        }
        let Some(id) = fresh_id(ctx) else {
            return id_unknown();
        };
        let mut ensemble: Vec<ZkMember> =
            voters.iter().map(|(i, vh)| member(ctx, *i, vh)).collect();
        ensemble.push(member(ctx, id, h));
        return act(
            Step::ZkStartServer {
                host: h.to_string(),
                id,
                ensemble,
            },
            format!("ZooKeeper should have a voter on {h}"),
        );
    }

    // 5. Shrink: live voters on hosts no longer wanted, followers first, leader last; only
    //    once every client (master, agent, Marathon) runs on the document's string, which
    //    names voters that stay. A client reads its string only at start: one still on an
    //    older string may name nothing but the voters leaving, and cut off for good it
    //    cannot be rolled afterwards (masters out of the log's group elect no leader).
    //    Every document host holds a serving voter by now (growth comes first), so the
    //    clients roll first: ZooKeeper counts as converged for them meanwhile.
    let unwanted: Vec<&str> = voters
        .values()
        .map(String::as_str)
        .filter(|h| !desired.contains(h))
        .collect();
    let mut clients_first = !leaving_waits.is_empty();
    if let Some(h) = leader_last(unwanted, leader).first() {
        let id = voters.iter().find(|(_, v)| v == h).map(|(i, _)| *i)?;
        // The servers that stay are brought to their configuration before one leaves,
        // while the ensemble can spare one: the reconfig is authorised by the digest the
        // server it goes through started with, so a rotated `superDigest` secret that meets
        // a shrink would have every voter refuse the operator's credential (NoAuth) and the
        // shrink, planned first, would block the roll that fixes it. It costs no step: the
        // leaving servers are not rolled either way.
        let stale_wanted: Vec<&str> = voters
            .values()
            .map(String::as_str)
            .filter(|v| desired.contains(v) && stale(ctx, v))
            .collect();
        if let Some(w) = leader_last(stale_wanted, leader).first() {
            // One server down for its replacement still leaves a majority of the voters
            // serving: counted, not assumed (a leaving voter may be down already).
            let serving_others = voters
                .iter()
                .filter(|(i, v)| v.as_str() != *w && voter_up(ctx, cfg, v, **i))
                .count();
            if serving_others >= majority(voters.len()) {
                return act(
                    Step::ReplaceContainer {
                        component: Component::Zookeeper,
                        host: w.to_string(),
                        reset_registry: false,
                    },
                    format!("the ZooKeeper server on {w} runs an outdated configuration; it is replaced before server {id} on {h} leaves"),
                );
            }
        }
        if voters.len() < 2 {
            return blocked(
                BlockKind::Safety,
                format!("the only ZooKeeper voter is on {h}, which should not hold one"),
                "list a ZooKeeper host in spec.zookeeper.hosts so that a new server joins first",
            );
        }
        if clients_off.is_empty() {
            return act(
                Step::ZkRemove {
                    id,
                    host: h.to_string(),
                    expected_version: cfg.version,
                },
                format!("ZooKeeper should not have a voter on {h}"),
            );
        }
        clients_first = true;
    }

    // 6. Configuration (image) changes: one server at a time, followers first (while the
    //    clients go first, only the voters that stay), and only while every voter is up (a
    //    leaving one down, its removal waiting for the clients, holds them: the simulation's
    //    seed 375 replaced a second voter of four while it was down).
    let stale: Vec<&str> = voters
        .values()
        .map(String::as_str)
        .filter(|h| all_up && stale(ctx, h) && (!clients_first || desired.contains(h)))
        .collect();
    if let Some(h) = leader_last(stale, leader).first() {
        if voters.len() - 1 < majority(voters.len()) {
            return blocked(
                BlockKind::Safety,
                format!(
                    "the ZooKeeper server on {h} needs replacing, but an ensemble of {} cannot lose a server without losing its quorum",
                    voters.len()
                ),
                "grow spec.zookeeper.servers to 3 first, or accept the outage by replacing the container by hand",
            );
        }
        return act(
            Step::ReplaceContainer {
                component: Component::Zookeeper,
                host: h.to_string(),
                reset_registry: false,
            },
            format!("the ZooKeeper server on {h} runs an outdated configuration"),
        );
    }
    if clients_first {
        // The voters leaving wait for the clients ([`clients_first`] says so if nothing
        // else moves), once every voter the document keeps is up on its configuration and
        // a majority of all of them is up.
        let document_settled = up.len() >= majority(voters.len())
            && voters
                .iter()
                .filter(|(_, h)| desired.contains(&h.as_str()))
                .all(|(id, h)| up.contains(id) && !self::stale(ctx, h));
        if document_settled {
            return None;
        }
        // One the document keeps is still to change, and a leaving voter is down (image
        // changes wait for every voter): wait for it (the simulation's seed 200).
        if let Some((id, h)) = voters.iter().find(|(id, _)| !up.contains(id)) {
            return Some(wait_for_voter(
                ctx,
                *id,
                h,
                " before the servers the document keeps change",
            ));
        }
    }
    // Done only if nothing differs; anything left is odd enough for a person.
    let members: Vec<&str> = voters.values().map(String::as_str).collect();
    let containers = ctx.observed.containers_of(Component::Zookeeper);
    if members.len() != desired.len()
        || desired.iter().any(|h| !members.contains(h))
        || containers.len() != desired.len()
    {
        return blocked(
            BlockKind::Degraded,
            format!("ZooKeeper voters {members:?} and containers do not match the wanted hosts {desired:?}, and no safe step applies"),
            "look at the ZooKeeper containers and /zookeeper/config; remove stray containers by hand if they are not this cluster's",
        );
    }
    None
}

/// The clients of ZooKeeper (masters, agents, Marathon) that may run a connection string
/// other than the document's, named for a person: a container of theirs on another
/// configuration (the string is part of it), or a host that may hold one and does not
/// answer (its container may run an older string).
fn clients_off_the_document(ctx: &View) -> Vec<String> {
    let mut v = Vec::new();
    for c in [Component::Masters, Component::Agents, Component::Marathon] {
        for oc in ctx.observed.containers_of(c) {
            if !ctx.desired.is_current(oc) {
                v.push(format!("the {c} on {}", oc.host));
            }
        }
    }
    let may_hold_a_client = ctx
        .desired
        .containers
        .keys()
        .filter(|(c, _)| *c != Component::Zookeeper)
        .map(|(_, h)| h)
        .chain(ctx.recorded.master_hosts.iter())
        .chain(ctx.recorded.marathon_hosts.iter());
    let mut away: Vec<&String> = may_hold_a_client
        .filter(|h| !ctx.observed.reachable(h))
        .collect();
    away.sort();
    away.dedup();
    v.extend(
        away.into_iter()
            .map(|h| format!("whatever runs on {h} (out of sight)")),
    );
    v
}

/// Voters on hosts the document no longer names wait for the clients to run on the
/// document's string ([`with_config`], step 5), and nothing else is left to do: say what
/// they wait for. `None` when no removal waits.
pub(super) fn clients_first(ctx: &View) -> Option<Decision> {
    let cfg = resolve(ctx, ctx.observed.zookeeper.committed.as_ref()?).ok()?;
    let leaving: Vec<&str> = cfg
        .voters
        .values()
        .map(String::as_str)
        .filter(|h| !ctx.desired.zookeeper.hosts.iter().any(|d| d == h))
        .collect();
    if leaving.is_empty() {
        return None;
    }
    let waiting = clients_off_the_document(ctx);
    if waiting.is_empty() {
        return None;
    }
    Some(Decision::Blocked {
        kind: BlockKind::Degraded,
        reason: format!(
            "the ZooKeeper voters on {} leave only once every master, agent and Marathon runs on the document's ZooKeeper string, and these may not: {}",
            leaving.join(", "),
            waiting.join(", ")
        ),
        action: "bring the hosts out of sight back, or let the components' rollouts finish; a client whose string names only leaving servers would be cut off for good".into(),
    })
}
