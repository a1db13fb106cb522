//! Mesos masters: the replicated log's quorum floor and ceiling, count changes by the
//! documented procedure, and rolling replacement non-leaders first, leader last.
//!
//! Two numbers bound every step. The floor: a master is stopped only if the healthy masters
//! left number at least the quorum in force. During a quorum change Mesos' own procedure
//! (grow: restart the existing masters with the new quorum, then add; shrink: remove the
//! extra masters for good, then restart the rest with the lower quorum) needs the lower of
//! the two quorums as that floor, so the floor is `min(lowest quorum running, desired
//! quorum)`. The ceiling: never more masters running than `2*q - 1` for the lowest quorum
//! `q` among them, or two disjoint quorums could write the log. Masters on unreachable
//! hosts count as running for the ceiling: we cannot see them, so we assume the worst; so do
//! masters `Restarting` or `Paused`, which come back by themselves.

use std::borrow::Cow;

use super::gate::{unreachable, wait_for, wait_since};
use super::{act, blocked, leader_last, BlockKind, Decision, Step, View};
use crate::desired::Desired;
use crate::observed::{Observed, ObservedContainer};
use crate::spec::Component;

/// The desired model for the current stage of a quorum change.
///
/// The quorum moves one step at a time: 3 -> 7 masters goes through 5 (quorum 3), each stage
/// converged before the next. In Mesos a new master's log replica starts EMPTY and can only
/// catch up from a quorum of VOTING replicas; restarting three masters with quorum 4 and
/// then adding four empty replicas leaves a log that never recovers. Shrinking likewise:
/// 7 -> 3 goes through 5.
///
/// The stage is derived from the quorum labels of the masters that exist: growing, the next
/// quorum above the lowest once that stage is complete (or already begun); shrinking, the next
/// below the highest. Hosts of a stage: the final hosts that hold a master, then the other
/// final hosts in placement order, then (shrinking) masters that are going away, by name.
///
/// The executor must build master containers from this model, not from `desired`: call it
/// with the same observation the plan was made from ([`crate::plan::plan`] calls it itself;
/// it is idempotent for one observation).
pub fn stage<'a>(
    desired: &'a Desired,
    observed: &Observed,
    recorded: &crate::record::Recorded,
) -> Cow<'a, Desired> {
    let target = desired.master_quorum;
    let has = |h: &str| observed.container(Component::Masters, h).is_some();
    // A master whose container is gone but whose volume is kept (a replacement cut short):
    // its replica may be one the log's quorum needs.
    let kept = |h: &str| {
        let v = crate::desired::volume_name(&desired.name, Component::Masters, h);
        !has(h)
            && matches!(observed.hosts.get(h), Some(crate::observed::HostObservation::Reachable { volumes, .. }) if volumes.contains(&v))
    };
    let mut labelled: Vec<(&str, u32)> = observed
        .containers_of(Component::Masters)
        .into_iter()
        .filter_map(|c| c.master_quorum.map(|q| (c.host.as_str(), q)))
        .collect();
    if labelled.is_empty() {
        // No master container at all, but replicas kept on their volumes (people removed
        // the containers, or replacements were cut short): the log was written under the
        // quorum they last ran with, which the record holds. The stage starts from them,
        // or a document asking for more masters would have them all created with the new
        // quorum beside too few voting replicas, and the log could never recover (a lone
        // quorum-1 master's container removed, then 1 -> 5 masters: four empty replicas
        // and one voting replica under quorum 3).
        labelled = observed
            .hosts
            .keys()
            .filter(|h| kept(h))
            // A log a registry reset in progress wipes holds nothing the stage must keep
            // (seed 27519: the reset goes on).
            .filter(|h| !recorded.registry_reset.contains(*h))
            .filter_map(|h| recorded.master_quorums.get(h).map(|q| (h.as_str(), *q)))
            .collect();
    }
    let (Some(lo), Some(hi)) = (
        labelled.iter().map(|(_, q)| *q).min(),
        labelled.iter().map(|(_, q)| *q).max(),
    ) else {
        return Cow::Borrowed(desired);
    };
    let n = labelled.len() as u32;
    let healthy = |h: &str| {
        observed
            .container(Component::Masters, h)
            .is_some_and(|c| c.running())
            && observed.masters.members.get(h).is_some_and(|m| m.serves())
    };
    // A lone quorum-1 master stopped by a registry reset that was cut short after the stop
    // (the reset is recorded before the step): it serves nobody and is wiped and replaced
    // anyway, so it does not hold the growth at quorum 1. Held there, the next plan rolled
    // it as a plain quorum-1 master and the reset was lost (seed 27519). A master stopped
    // otherwise (a person, a crash) still holds the stage.
    let stopped_for_reset = |h: &str| {
        recorded.registry_reset.contains(h)
            && observed
                .container(Component::Masters, h)
                .is_some_and(|c| !c.may_run())
    };
    let complete = |q: u32| {
        n == 2 * q - 1
            && labelled
                .iter()
                .all(|(h, lq)| *lq == q && (healthy(h) || (q == 1 && stopped_for_reset(h))))
    };
    let s = if lo < target {
        if hi > lo || n > 2 * lo - 1 || complete(lo) {
            lo + 1
        } else {
            lo
        }
    } else if hi > target {
        if lo < hi || n < 2 * hi - 1 || complete(hi) {
            hi - 1
        } else {
            hi
        }
    } else {
        target
    };
    // The last stage of a quorum change is still a stage while a master runs another
    // quorum: the quorum moves in place, and only then do masters move hosts. So is one
    // whose masters are fewer than their quorum while a kept replica could make it up: the
    // masters that exist are kept, and the kept one created again, before any moves (seed
    // 14668: a replacement cut short, then the document moved the masters; two masters of
    // quorum 3 could neither recover nor give a new one a log, nor be removed).
    let short = n < lo && desired.addresses.keys().any(|h| kept(h));
    let in_progress = labelled.iter().any(|(_, q)| *q != target) || short;
    if s == 0 || (s == target && !in_progress) {
        return Cow::Borrowed(desired);
    }
    let count = if s == target {
        desired.master_count
    } else {
        2 * s - 1
    };
    let finals: Vec<&String> = desired
        .master_placement
        .iter()
        .take(desired.master_count as usize)
        .collect();
    let mut hosts: Vec<String> = Vec::new();
    for h in finals.iter().filter(|h| has(h)) {
        hosts.push(h.to_string());
    }
    // Then the masters that exist on hosts of the document, before new ones: removing them
    // first, while the new hosts are empty, would leave fewer masters than the quorum they
    // run with (seed 1136: two masters with quorum 3, and no recovered replica for a new
    // one to catch up from).
    for (h, _) in &labelled {
        if desired.addresses.contains_key(*h) && !hosts.iter().any(|x| x == h) {
            hosts.push(h.to_string());
        }
    }
    // And a master whose container is gone but whose volume is kept (seed 9439: a leader
    // with quorum 3 beside one other master, the third replica on a volume without a
    // container).
    for h in desired.addresses.keys() {
        if kept(h) && !hosts.iter().any(|x| x == h) {
            hosts.push(h.clone());
        }
    }
    for h in finals.iter().filter(|h| !has(h)) {
        hosts.push(h.to_string());
    }
    for (h, _) in &labelled {
        if !hosts.iter().any(|x| x == h) {
            hosts.push(h.to_string());
        }
    }
    for h in &desired.master_placement {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    hosts.truncate(count as usize);
    Cow::Owned(desired.with_masters(&hosts, count))
}

const GATE: &str = "answer /health, with a leader elected and its registry recovered";

/// Running and answering `/health`: started. (An empty replica recovers only once enough
/// replicas run, so the start gate does not wait for it.)
fn member_up(ctx: &View, host: &str) -> bool {
    running_and(ctx, host, |m| m.healthy)
}

/// Running, healthy, and its log replica recovered (`registrar/log/recovered` on that
/// master): a master whose replica is still empty does not count toward the log's quorum.
fn member_ok(ctx: &View, host: &str) -> bool {
    running_and(ctx, host, crate::observed::MasterObservation::serves)
}

/// The master container on `host` runs and what the master says of itself passes `says`.
fn running_and(
    ctx: &View,
    host: &str,
    says: impl Fn(&crate::observed::MasterObservation) -> bool,
) -> bool {
    ctx.observed
        .container(Component::Masters, host)
        .is_some_and(|c| c.running())
        && ctx.observed.masters.members.get(host).is_some_and(says)
}

/// The container on `host` runs a configuration other than the desired one (or none is
/// desired there). Such a member is not waited for: replacing or removing it is the remedy.
fn stale(ctx: &View, host: &str) -> bool {
    ctx.observed
        .container(Component::Masters, host)
        .is_some_and(|c| !ctx.desired.is_current(c))
}

fn quorum_of(ctx: &View, c: &ObservedContainer) -> u32 {
    c.master_quorum.unwrap_or(ctx.desired.master_quorum)
}

/// (host, quorum) of every master that is or may be running: running, restarting under
/// its restart policy, paused, or on a host we cannot see.
fn possibly_running<'a>(d: &'a Desired, o: &'a Observed) -> Vec<(&'a str, u32)> {
    let mut v: Vec<(&str, u32)> = o
        .containers_of(Component::Masters)
        .into_iter()
        .filter(|c| c.may_run())
        .map(|c| (c.host.as_str(), c.master_quorum.unwrap_or(d.master_quorum)))
        .collect();
    for h in d.hosts_of(Component::Masters) {
        if !o.reachable(h) {
            v.push((h, d.master_quorum));
        }
    }
    v
}

/// (host, quorum) of the masters that may run, and those that may run unseen on hosts that
/// once held one and are out of sight now (unreachable, or no longer in the document): such
/// a master comes back with its host. Its quorum is unknown; taken as the lowest in force.
/// For the ceiling only: a master nobody can see never counts toward the floor.
fn possibly_running_for_ceiling<'a>(ctx: &'a View) -> Vec<(&'a str, u32)> {
    let mut v = possibly_running(ctx.desired, ctx.observed);
    // A master out of sight may run the quorum it was last seen with, not the stage's.
    for (h, q) in v.iter_mut() {
        if !ctx.observed.reachable(h) {
            if let Some(seen) = ctx.recorded.master_quorums.get(*h) {
                *q = (*q).min(*seen);
            }
        }
    }
    let lowest = v
        .iter()
        .map(|(_, q)| *q)
        .min()
        .unwrap_or(ctx.desired.master_quorum)
        .min(ctx.desired.master_quorum);
    for h in &ctx.recorded.master_hosts {
        if !ctx.observed.reachable(h) && ctx.desired.container(Component::Masters, h).is_none() {
            let q = ctx
                .recorded
                .master_quorums
                .get(h)
                .map_or(lowest, |q| (*q).min(lowest));
            v.push((h.as_str(), q));
        }
    }
    v
}

/// What a person can do about a ceiling that holds a master back: `first`, and for each
/// recorded master host out of sight, bring it back or say it is gone for good.
fn gone_for_good_action(ctx: &View, first: &str) -> String {
    let unseen: Vec<&str> = ctx
        .recorded
        .master_hosts
        .iter()
        .filter(|h| !ctx.observed.reachable(h))
        .map(String::as_str)
        .collect();
    if unseen.is_empty() {
        return first.to_string();
    }
    format!(
        "{first}; the master host(s) {} are out of sight and may still run a master: bring them back, or, for a host gone for good, take it out of spec.hosts and run `mesos-operator record forget-host {} HOST`",
        unseen.join(", "),
        ctx.desired.name
    )
}

/// Whether `n` masters whose lowest quorum is `q` stay within the ceiling `2q - 1`.
pub(crate) fn within_ceiling(n: usize, q: u32) -> bool {
    (n as u32) < 2 * q
}

/// The ceiling check for a step that leaves `host` running with quorum `q_new`.
fn ceiling_ok_with(ctx: &View, host: &str, q_new: u32) -> bool {
    let mut qs: Vec<u32> = possibly_running_for_ceiling(ctx)
        .into_iter()
        .filter(|(h, _)| *h != host)
        .map(|(_, q)| q)
        .collect();
    qs.push(q_new);
    let min_q = qs.iter().copied().min().unwrap_or(q_new);
    within_ceiling(qs.len(), min_q)
}

/// Repair may start a stopped master only within the ceiling.
pub(crate) fn may_start(ctx: &View, c: &ObservedContainer) -> bool {
    (ctx.desired.container(Component::Masters, &c.host).is_some() || needed_to_leave(ctx, c))
        && ceiling_ok_with(ctx, &c.host, quorum_of(ctx, c))
}

/// A stopped master on a host the document moves masters away from, while fewer masters
/// than its quorum may run: its replica may be exactly the one the log misses. Started, it
/// takes nothing away (the ceiling is still checked), and it leaves by the removal's rules
/// once the others serve. Left stopped, the lone master of quorum 2 beside it never serves,
/// and that removal waited for good for a floor only the stopped one could give (the
/// simulation's seed 21962: a person stopped it during the move).
pub(crate) fn needed_to_leave(ctx: &View, c: &ObservedContainer) -> bool {
    ctx.desired.container(Component::Masters, &c.host).is_none()
        && c.state != crate::observed::ContainerState::Running
        && (possibly_running(ctx.desired, ctx.observed).len() as u32) < quorum_of(ctx, c)
}

/// The quorum floor in force in the staged model `d`: the lower of the lowest running
/// quorum and the desired one. Public for the executor's last look before a master is
/// stopped ([`crate::ops`]).
pub fn floor(d: &Desired, o: &Observed) -> u32 {
    possibly_running(d, o)
        .iter()
        .map(|(_, q)| *q)
        .min()
        .unwrap_or(d.master_quorum)
        .min(d.master_quorum)
}

/// The master on `host` is the only one that exists or may run, one is desired, and its
/// quorum is above 1: alone it cannot serve, so restarting it with quorum 1 costs nothing.
/// The last move of a shrink to one master (3 -> 1 leaves one master with quorum 2 for the
/// length of one step; safety.md names this window).
fn alone_without_quorum(ctx: &View, host: &str) -> bool {
    ctx.desired.master_count == 1
        && ctx.observed.containers_of(Component::Masters).len() == 1
        && possibly_running(ctx.desired, ctx.observed)
            .iter()
            .all(|(h, _)| *h == host)
        && ctx
            .observed
            .container(Component::Masters, host)
            .and_then(|c| c.master_quorum)
            .is_some_and(|q| q > 1)
}

/// Healthy masters other than `host`.
fn healthy_left(ctx: &View, host: &str) -> usize {
    ctx.observed
        .containers_of(Component::Masters)
        .into_iter()
        .filter(|c| c.host != host && member_ok(ctx, &c.host))
        .count()
}

fn below_floor(ctx: &View, host: &str, what: &str) -> Option<Decision> {
    let left = healthy_left(ctx, host);
    let floor = floor(ctx.desired, ctx.observed);
    if (left as u32) < floor {
        // A master just started on the desired configuration answers `/health` before its
        // replica has caught up and joined the log's group: the floor is short only until
        // it has. That is its health gate (a wait, until its healthTimeout), not a block a
        // person must act on; nothing moves either way.
        // Only when those catching up would bring the floor back: otherwise a person is
        // told at once what to bring back.
        let catching_up: Vec<&ObservedContainer> = ctx
            .observed
            .containers_of(Component::Masters)
            .into_iter()
            .filter(|c| {
                c.host != host
                    && c.running()
                    && !stale(ctx, &c.host)
                    && !member_ok(ctx, &c.host)
                    && ctx.now < c.started_at + ctx.timeout()
            })
            .collect();
        if let Some(c) = catching_up.first() {
            if (left + catching_up.len()) as u32 >= floor {
                return Some(wait_for(ctx, c, "the Mesos master", GATE));
            }
        }
        return blocked(
            BlockKind::Safety,
            format!(
                "{what} the master on {host} would leave {left} healthy master(s), below the quorum of {floor}"
            ),
            if ctx.desired.master_count == 1 {
                "a single master cannot be replaced without an outage; run 3 masters (spec.masters.count: 3, acceptRegistryReset: true)".to_string()
            } else {
                "bring the other masters back to health first".to_string()
            },
        );
    }
    None
}

/// The masters of a cluster that has none, all at once: no master container anywhere, no
/// master volume on any host (no replica that holds a log), no master host out of sight in
/// the record, no registry reset pending, every master the document places missing and
/// within the ceiling together. Their replicas are all empty and initialize the log
/// together, as they do when created one by one; nothing serves yet, so nothing is
/// disturbed. Anything short of that (a batch cut short leaves some masters created) goes
/// one master at a time.
fn all_at_once(ctx: &View, missing: &[&str]) -> Option<Decision> {
    let d = ctx.desired;
    let any_volume = ctx.observed.hosts.iter().any(|(h, o)| {
        let v = crate::desired::volume_name(&d.name, Component::Masters, h);
        matches!(o, crate::observed::HostObservation::Reachable { volumes, .. } if volumes.contains(&v))
    });
    let fresh = missing.len() as u32 == d.master_count
        && missing.len() > 1
        && ctx.observed.containers_of(Component::Masters).is_empty()
        && ctx.recorded.master_hosts.is_empty()
        && ctx.recorded.registry_reset.is_empty()
        && !any_volume
        && within_ceiling(missing.len(), d.master_quorum)
        && missing.iter().all(|h| ctx.observed.reachable(h));
    if !fresh {
        return None;
    }
    super::create_all(
        Component::Masters,
        missing.iter().map(|h| h.to_string()).collect(),
        format!(
            "no master exists yet: create all {} at once (empty replicas initialize the log together; nothing serves yet)",
            missing.len()
        ),
    )
}

pub(super) fn plan(ctx: &View) -> Option<Decision> {
    let desired = ctx.desired.hosts_of(Component::Masters);
    // Membership is checked per container: a set keeps planning linear in hosts.
    let wanted: std::collections::BTreeSet<&str> = desired.iter().copied().collect();
    let leader = ctx.observed.masters.leader.as_deref();
    let running: Vec<&ObservedContainer> = ctx
        .observed
        .containers_of(Component::Masters)
        .into_iter()
        .filter(|c| c.running())
        .collect();

    // 1. Gates: a master starting up, then a leader with a recovered registry whenever
    //    enough masters run to form one.
    for c in &running {
        if !member_up(ctx, &c.host) && !stale(ctx, &c.host) {
            return Some(wait_for(ctx, c, "the Mesos master", GATE));
        }
    }
    for h in &desired {
        if !ctx.observed.reachable(h) {
            return Some(unreachable(ctx, h, "Mesos master"));
        }
    }

    // A registry reset recorded before its old container was removed: finish it (wipe the
    // log, create the master) before anything else, or the master would start on its old
    // log beside empty replicas that can never catch up from it.
    for h in &ctx.recorded.registry_reset {
        // Gone (cut after the removal or the wipe), or still there, stopped, on quorum 1
        // (cut after the stop): either way its log must be wiped before it runs again.
        let unfinished = ctx
            .observed
            .container(Component::Masters, h)
            .is_none_or(|c| !c.may_run() && quorum_of(ctx, c) == 1);
        if wanted.contains(h.as_str())
            && unfinished
            && ctx.desired.master_quorum > 1
            && ctx.desired.accept_registry_reset
        {
            return act(
                Step::ReplaceContainer {
                    component: Component::Masters,
                    host: h.clone(),
                    reset_registry: true,
                },
                format!("finish the registry reset of the master on {h}, recorded before its old container was removed"),
            );
        }
    }

    // 2. Missing masters that fit within the ceiling, before anything else: adding one never
    //    lowers a quorum, it is how a leader whose quorum went missing (a master lost with
    //    its host, an operator killed half-way through a replacement) recovers, and replacing
    //    one first would dip below the floor. A creation that does not fit waits for the
    //    replacements below (growing 3 -> 5 restarts the three with the new quorum first).
    let missing: Vec<&str> = desired
        .iter()
        .copied()
        .filter(|h| ctx.observed.container(Component::Masters, h).is_none())
        .collect();
    // A new master's replica starts empty and catches up only from `quorum` replicas that
    // have recovered; while none has and the log never did (a new cluster, a registry
    // reset), empty ones initialize the log together, so adding one helps. A log that did
    // recover and has lost its quorum is held by voting replicas on the volumes kept: an
    // empty one beside them initializes nothing and catches up from nothing; the kept ones
    // come back first (a volume on a wanted host is brought back below). Only with no
    // master volume left in sight and no master host out of sight is the log gone, and new
    // replicas start a new one.
    let recovered = ctx
        .observed
        .containers_of(Component::Masters)
        .into_iter()
        .filter(|c| member_ok(ctx, &c.host))
        .count() as u32;
    let has_volume = |h: &str| {
        let v = crate::desired::volume_name(&ctx.desired.name, Component::Masters, h);
        matches!(ctx.observed.hosts.get(h), Some(crate::observed::HostObservation::Reachable { volumes, .. }) if volumes.contains(&v))
    };
    let log_kept = ctx.observed.hosts.keys().any(|h| has_volume(h))
        || ctx
            .recorded
            .master_hosts
            .iter()
            .any(|h| !ctx.observed.reachable(h));
    let replica_can_catch_up = recovered >= ctx.desired.master_quorum
        || (!ctx.observed.masters.members.values().any(|m| m.recovered)
            && (!ctx.recorded.master_log_recovered || !log_kept));
    // A host that kept its master's volume (a replacement cut short) brings its replica back.
    if let Some(d) = all_at_once(ctx, &missing) {
        return Some(d);
    }
    if let Some(h) = missing
        .iter()
        .filter(|h| replica_can_catch_up || has_volume(h))
        .find(|h| ceiling_ok_with(ctx, h, ctx.desired.master_quorum))
    {
        return act(
            Step::CreateContainer {
                component: Component::Masters,
                host: h.to_string(),
            },
            format!("a master is wanted on {h}"),
        );
    }

    let quorum_ok = leader.is_some_and(|l| {
        ctx.observed
            .masters
            .members
            .get(l)
            .is_some_and(|m| m.elected && m.recovered)
            && member_ok(ctx, l)
    });
    let min_running_q = running
        .iter()
        .map(|c| quorum_of(ctx, c))
        .min()
        .unwrap_or(ctx.desired.master_quorum);
    let newest = running.iter().map(|c| c.started_at).max();
    if !running.is_empty() && running.len() as u32 >= min_running_q && !quorum_ok {
        // A stopped master on an outdated configuration serves nobody: replacing it stops
        // nothing and may be what the log needs (its replica votes; the ones beside it may be
        // empty). Only within the ceiling, never a registry reset. So does one that runs a
        // version that never answered healthy for `healthTimeout` (the document went back
        // from it after it was started on a log it never served; the simulation's seed 97:
        // a growth from one master onto such a version, every replica empty).
        for h in &desired {
            let Some(c) = ctx.observed.container(Component::Masters, h) else {
                continue;
            };
            let broken = c.running()
                && ctx.now >= c.started_at + ctx.timeout()
                && ctx
                    .observed
                    .masters
                    .members
                    .get(*h)
                    .is_some_and(|m| !m.healthy);
            // A quorum-1 master is replaced here only with quorum 1 (the stage of a growth
            // that must first see it healthy): with a higher one it would be a registry
            // reset, which has its own step. Seed 425 (issue 24's walks): a lone master's
            // container removed, created again on the kept volume with a version that never
            // turns healthy while the document grew to five masters; the stage stays at one
            // master until it serves, and it never did.
            let reset = quorum_of(ctx, c) == 1 && ctx.desired.master_quorum > 1;
            if (c.may_run() && !broken) || !stale(ctx, h) || reset {
                continue;
            }
            if ceiling_ok_with(ctx, h, ctx.desired.master_quorum) {
                return act(
                    Step::ReplaceContainer {
                        component: Component::Masters,
                        host: h.to_string(),
                        reset_registry: false,
                    },
                    format!(
                        "no master leads; the {} master on {h} runs an outdated configuration",
                        if broken { "never healthy" } else { "stopped" }
                    ),
                );
            }
        }
        return Some(wait_since(
            ctx,
            newest,
            "waiting for a Mesos master leader with a recovered registry".into(),
            "look at the masters' logs and /master/state; check that ZooKeeper is reachable from them",
        ));
    }

    // 3. Masters no longer wanted go first, for good (their log must never come back).
    let extras: Vec<&str> = ctx
        .observed
        .containers_of(Component::Masters)
        .into_iter()
        .map(|c| c.host.as_str())
        .filter(|h| !wanted.contains(h))
        .collect();
    if let Some(h) = leader_last(extras, leader).first() {
        // Its volume goes too, and with it a replica that may vote: running or not
        // (restarting, or stopped by a removal cut short), it is removed only while the
        // healthy masters left hold the floor (seed 1563 of the model that loses hosts
        // mid-step: a restarting master removed beside one recovered replica, and the new,
        // empty ones could never catch up).
        if let Some(b) = below_floor(ctx, h, "removing") {
            return Some(b);
        }
        return act(
            Step::RemoveContainer {
                component: Component::Masters,
                host: h.to_string(),
                remove_volume: true,
            },
            format!("the master on {h} is no longer wanted; its replicated log must never return"),
        );
    }

    // 4. Replacements: outdated configuration (image, quorum, ZooKeeper string).
    let stale: Vec<&str> = desired
        .iter()
        .copied()
        .filter(|h| {
            ctx.observed
                .container(Component::Masters, h)
                .is_some_and(|c| {
                    Some(c.config_hash.as_str())
                        != ctx
                            .desired
                            .container(Component::Masters, h)
                            .map(|s| s.config_hash.as_str())
                })
        })
        .collect();
    // Running members first (leader last among them), then stopped ones: a stopped member
    // serves nobody, so restarting the leader before it costs no extra election, and a
    // stopped member that would break the ceiling must wait for the running ones.
    let mut ordered = leader_last(stale, leader);
    ordered.sort_by_key(|h| {
        !ctx.observed
            .container(Component::Masters, h)
            .is_some_and(|c| c.may_run())
    });
    let mut first_block: Option<Decision> = None;
    for h in ordered {
        let Some(c) = ctx.observed.container(Component::Masters, h) else {
            continue;
        };
        let reset = quorum_of(ctx, c) == 1 && ctx.desired.master_quorum > 1;
        if reset && !ctx.desired.accept_registry_reset {
            return blocked(
                BlockKind::Safety,
                "growing from 1 master requires wiping the replicated log, which loses the registry (agents, maintenance, quota)",
                "set spec.masters.acceptRegistryReset: true if that is acceptable, or keep spec.masters.count: 1",
            );
        }
        if c.running() && !reset && !alone_without_quorum(ctx, h) {
            if let Some(b) = below_floor(ctx, h, "replacing") {
                first_block.get_or_insert(b);
                continue;
            }
        }
        if !ceiling_ok_with(ctx, h, ctx.desired.master_quorum) {
            first_block.get_or_insert(Decision::Blocked {
                kind: BlockKind::Safety,
                reason: format!("restarting the master on {h} with quorum {} would leave more masters running than the log allows", ctx.desired.master_quorum),
                action: gone_for_good_action(ctx, "remove the masters that are no longer wanted first"),
            });
            continue;
        }
        return act(
            Step::ReplaceContainer {
                component: Component::Masters,
                host: h.to_string(),
                reset_registry: reset,
            },
            format!("the master on {h} runs an outdated configuration"),
        );
    }
    if let Some(b) = first_block {
        return Some(b);
    }

    if let (Some(h), false) = (
        missing.iter().find(|h| !has_volume(h)),
        replica_can_catch_up,
    ) {
        return Some(wait_since(
            ctx,
            None,
            format!("a master is wanted on {h}, but only {recovered} masters have a recovered log replica; a new, empty one needs {} to catch up from", ctx.desired.master_quorum),
            "look at the masters' registrar/log/recovered metrics; bring the masters with a recovered log back",
        ));
    }
    if let Some(h) = missing.first() {
        return blocked(
            BlockKind::Safety,
            format!(
                "starting a master on {h} would run more than 2*quorum-1 masters for the lowest quorum in force ({min_running_q})"
            ),
            gone_for_good_action(ctx, "the running masters must first be restarted with the new quorum"),
        );
    }

    // 5. Everything in place: healthy and led, or wait.
    if let Some(h) = desired.iter().find(|h| !member_ok(ctx, h)) {
        return Some(match ctx.observed.container(Component::Masters, h) {
            Some(c) => wait_for(ctx, c, "the Mesos master", GATE),
            None => unreachable(ctx, h, "Mesos master"),
        });
    }
    if !quorum_ok {
        return Some(wait_since(
            ctx,
            newest,
            "waiting for a Mesos master leader with a recovered registry".into(),
            "look at the masters' logs and /master/state",
        ));
    }
    None
}
