//! What the operator itself wrote to etcd before acting: the second input of the planner,
//! beside what it observes.
//!
//! Some facts cannot be observed safely: the highest ZooKeeper server id ever handed out
//! (a server on an unreachable host, or a joiner on a host since dropped, is invisible, and
//! reusing its id lets two processes share one identity), a registry reset half done (the
//! container is gone, the log is not wiped yet), maintenance windows the operator opened
//! itself (people schedule their own). They are recorded, under the leadership fence,
//! *before* the step that creates them is carried out ([`record_before`]); a record that
//! cannot be read stops the reconcile, it never defaults (a default `0` reuses an id).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::backup::{BackupFailure, BackupReason, BackupState, PendingBackup};
use crate::observed::{HostObservation, Observed};
use crate::plan::Step;
use crate::spec::Component;

/// The step the operator is carrying out, recorded before it acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    /// The step.
    pub step: Step,
    /// When it started (seconds since the epoch).
    pub started_at: u64,
}

/// A maintenance window the operator opened for an agent host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnMaintenance {
    /// When the window was scheduled (the host started draining).
    pub scheduled_at: u64,
    /// When `machine/down` was sent, if it was.
    #[serde(default)]
    pub down_at: Option<u64>,
    /// When `machine/up` was sent, if it was. The window stays recorded as the operator's
    /// until the master no longer lists it ([`note_observed`]), so a lost `machine/up` is
    /// sent again rather than the window read as someone else's.
    #[serde(default)]
    pub up_sent_at: Option<u64>,
    /// The start of the window the operator posted (seconds since the epoch): the window is
    /// the operator's only while the master's schedule shows this start for the host. A
    /// person's window on the same host, opened later, has another start and is theirs.
    /// `None` in records written before windows were told apart (then the host decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<u64>,
}

impl OwnMaintenance {
    /// Whether the window the master shows for the host (its start, if the schedule lists
    /// one) is this one.
    pub fn is(&self, observed_start: Option<u64>) -> bool {
        match (self.window_start, observed_start) {
            (Some(mine), Some(seen)) => mine == seen,
            // The schedule shows no window for a host the status lists: cannot tell.
            (Some(_), None) => false,
            // A record from before starts were kept: the host decides.
            (None, _) => true,
        }
    }
}

/// Everything the operator recorded about one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// Highest ZooKeeper server id ever handed out. `None`: unknown, and then no ZooKeeper
    /// server may be started (a guess could reuse an id). A new cluster starts at `Some(0)`
    /// ([`Recorded::new_cluster`]).
    #[serde(default)]
    pub zk_highest_id: Option<u64>,
    /// The step in flight, if any.
    #[serde(default)]
    pub in_flight: Option<InFlight>,
    /// Master hosts whose replicated log must be wiped before their master starts again:
    /// a registry reset (growing from one master) recorded before the old container was
    /// removed, so that a crash in between does not start the master on its old log.
    /// Satisfied once the host's master is created, started or rolled without a reset (the
    /// planner does that only after the wipe), or removed with its volume.
    #[serde(default)]
    pub registry_reset: BTreeSet<String>,
    /// Maintenance windows the operator opened, by agent host. Windows people scheduled
    /// themselves are not in here and are never touched.
    #[serde(default)]
    pub maintenance: BTreeMap<String, OwnMaintenance>,
    /// Hosts that hold or may hold a master container or volume of this cluster: recorded
    /// before a master is created there, and whenever one is seen ([`note_observed`]);
    /// forgotten only once its removal with its volume ran to its end, or the host answers
    /// holding neither. A master on such a host that is out of sight (unreachable, or
    /// dropped from the document) may still run and counts for the ceiling until a person
    /// says the host is gone for good (`mesos-operator record forget-host`).
    #[serde(default)]
    pub master_hosts: BTreeSet<String>,
    /// Hosts that hold or may hold a Marathon container of this cluster, kept like
    /// `master_hosts`: a Marathon out of sight may still run an old version, and a version
    /// change must not start the new one beside it.
    #[serde(default)]
    pub marathon_hosts: BTreeSet<String>,
    /// The quorum each master host's master was last seen running with: a master out of
    /// sight may still run it, and counts for the ceiling with it (seed 29603: a master
    /// lost with quorum 3 during a growth to quorum 4 was counted at 4, and a sixth master
    /// was started beside it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub master_quorums: BTreeMap<String, u32>,
    /// Members seen healthy on the configuration they run, by component and host, and
    /// since when they are seen unhealthy on it: a member that served on its configuration
    /// and then stops serving is a failure to repair, not a rollout that failed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub healthy: BTreeMap<Component, BTreeMap<String, SeenHealthy>>,
    /// The image of the newest Marathon seen leading ([`note_observed`]): a Marathon that
    /// takes the lead migrates its state in ZooKeeper to its version, and an older one may
    /// not read it. The state outlives the containers, so a downgrade is judged against
    /// this, not only against the Marathons that run now (all of them may have been removed
    /// by hand before a rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marathon_led: Option<String>,
    /// A master was seen with its registry recovered since the masters' replicated log was
    /// created (or last wiped by a registry reset): the log holds the cluster's registry on
    /// voting replicas, and a replica created empty catches up only from a quorum of them;
    /// empty replicas never initialize a new log beside one (the simulation's seeds 2251
    /// and 9408: empty masters created while the log's voting replicas were kept on a
    /// volume without a container, and no leader for good).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub master_log_recovered: bool,
    /// The first ensemble of a ZooKeeper bootstrap of several servers
    /// ([`Step::ZkBootstrap`]), recorded before its first server is created and kept until
    /// every one of them runs and a majority serves it ([`note_observed`]): a bootstrap cut
    /// short is carried out again from this, whatever steps come between (a repair that
    /// starts a server created but not started replaces the step in flight, and one server
    /// of three alone never serves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zk_bootstrap: Option<Vec<crate::plan::ZkMember>>,
    /// Backups ([`crate::backup`]): the one being taken and its parts stored, the last
    /// one's start (for the schedule), the version change it cleared, the last failure.
    #[serde(default, skip_serializing_if = "is_default")]
    pub backup: BackupState,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A member that was seen healthy on one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenHealthy {
    /// The configuration it was healthy on (its container's config hash).
    pub config_hash: String,
    /// Since when it is seen unhealthy on that configuration (seconds), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_since: Option<u64>,
}

impl Recorded {
    /// Since when the member of `c` on `host`, which was healthy on the configuration it
    /// runs now (`config_hash`), is seen unhealthy, if it is.
    pub fn unhealthy_since(&self, c: Component, host: &str, config_hash: &str) -> Option<u64> {
        self.healthy
            .get(&c)?
            .get(host)
            .filter(|s| s.config_hash == config_hash)?
            .unhealthy_since
    }
}

impl Recorded {
    /// The record of a cluster the operator has never acted on: no ZooKeeper id handed out.
    /// Only for a cluster created now; an existing cluster whose record is lost must not
    /// get this (its ids would be reused).
    pub fn new_cluster() -> Recorded {
        Recorded {
            zk_highest_id: Some(0),
            ..Default::default()
        }
    }

    /// When the recorded step on `host` started, if the step in flight acts there.
    pub fn in_flight_on(&self, host: &str) -> Option<u64> {
        self.in_flight
            .as_ref()
            .filter(|f| f.step.hosts().contains(&host))
            .map(|f| f.started_at)
    }
}

/// The record that must be durably written (fenced) before `step` is carried out.
///
/// - every step becomes the step in flight, started `now`;
/// - `ZkStartServer` raises the highest id to the new server's id (written before the
///   container that uses it exists, so the id is never handed out twice);
/// - a `ReplaceContainer` of a master with `reset_registry` records the pending reset; the
///   next creation or plain replacement of a master retires it (the planner moves on to
///   other masters only once the reset host runs its new master);
/// - `AgentDrain` records the window as the operator's own, `AgentDown` when it went down,
///   `AgentUp` when it was asked to end (kept: the request may be lost);
/// - creating, replacing or starting a master records its host among the master hosts; a
///   removal with its volume forgets it.
///
/// A batch ([`Step::CreateContainers`]) is recorded as one step in flight, with what each
/// of its parts records: every master host it creates on is a master host before any of
/// them is created.
pub fn record_before(step: &Step, recorded: &Recorded, now: u64) -> Recorded {
    let mut r = recorded.clone();
    for part in step.parts() {
        r = record_part_before(&part, &r, now);
    }
    if let Step::ZkBootstrap { ensemble } = step {
        r.zk_bootstrap = Some(ensemble.clone());
    }
    r.in_flight = Some(InFlight {
        step: step.clone(),
        started_at: now,
    });
    r
}

/// What one single step records before it is carried out, beside the step in flight.
fn record_part_before(step: &Step, recorded: &Recorded, now: u64) -> Recorded {
    let mut r = recorded.clone();
    // A member the step acts on proves itself healthy again afterwards (not timed by the
    // container's start, which is the Docker host's clock).
    if let Some(seen) = r.healthy.get_mut(&step.component()) {
        seen.remove(step.host());
        if seen.is_empty() {
            r.healthy.remove(&step.component());
        }
    }
    match step {
        Step::ZkStartServer { id, .. } => {
            r.zk_highest_id = Some(r.zk_highest_id.unwrap_or(0).max(*id));
        }
        Step::ReplaceContainer {
            component: Component::Masters,
            host,
            reset_registry: true,
        } => {
            r.registry_reset.insert(host.clone());
            // The wipe starts a new log: the masters initialize it together.
            r.master_log_recovered = false;
        }
        Step::AgentDrain { host } => {
            // A window of the operator's that is still open (scheduled again because the
            // master lost it) keeps its start: the window is the same one.
            let open = r
                .maintenance
                .get(host)
                .filter(|m| m.up_sent_at.is_none())
                .cloned();
            r.maintenance.insert(
                host.clone(),
                open.unwrap_or(OwnMaintenance {
                    scheduled_at: now,
                    down_at: None,
                    up_sent_at: None,
                    // The executor posts the window with this start ([`crate::ops::ops`]).
                    window_start: Some(now),
                }),
            );
        }
        Step::AgentDown { host } => {
            let e = r.maintenance.entry(host.clone()).or_insert(OwnMaintenance {
                scheduled_at: now,
                down_at: None,
                up_sent_at: None,
                window_start: None,
            });
            e.down_at.get_or_insert(now);
        }
        Step::AgentUp { host } => {
            if let Some(e) = r.maintenance.get_mut(host) {
                e.up_sent_at = Some(now);
            }
        }
        // A backup starts with its ZooKeeper part: it is pending from then on, carried on
        // after a crash with the same id. A request is taken on once.
        Step::BackupZookeeper { id, reason, .. }
            if r.backup.pending.as_ref().is_none_or(|p| &p.id != id) =>
        {
            r.backup.pending = Some(PendingBackup {
                id: id.clone(),
                reason: reason.clone(),
                started_at: now,
                zookeeper_from: None,
                masters_from: None,
            });
            r.backup.last_started_at = Some(now);
            if let BackupReason::Requested { at } = reason {
                r.backup.request_done = Some(*at);
            }
        }
        Step::CreateContainer { component, host }
        | Step::ReplaceContainer {
            component, host, ..
        }
        | Step::StartContainer { component, host } => {
            let hosts = match component {
                Component::Masters => Some(&mut r.master_hosts),
                Component::Marathon => Some(&mut r.marathon_hosts),
                _ => None,
            };
            if let Some(hosts) = hosts {
                hosts.insert(host.clone());
            }
        }
        _ => {}
    }
    match step {
        // A master created, started or rolled on the reset host itself without a reset:
        // the planner does that only once the wipe is done (a pending reset is finished
        // with a reset step while the host's old master is gone or stopped). Steps on
        // other hosts leave it alone: new masters may be created beside a reset that was
        // cut short (seed 27519 lost the reset that way and started the old log again).
        Step::CreateContainer {
            component: Component::Masters,
            host,
        }
        | Step::StartContainer {
            component: Component::Masters,
            host,
        }
        | Step::ReplaceContainer {
            component: Component::Masters,
            host,
            reset_registry: false,
        }
        // The volume goes, and the log with it.
        | Step::RemoveContainer {
            component: Component::Masters,
            host,
            remove_volume: true,
        } => {
            r.registry_reset.remove(host);
        }
        _ => {}
    }
    r
}

/// The record once `step` has been carried out to its end: nothing in flight, and a
/// registry reset that ran to its end retired (its host's log is wiped and its new master
/// created; an entry left behind would wipe that master's log again if its container ever
/// went missing).
pub fn record_after(step: &Step, recorded: &Recorded) -> Recorded {
    let mut r = recorded.clone();
    r.in_flight = None;
    for part in step.parts() {
        record_part_after(&part, &mut r);
    }
    r
}

/// What one single step that ran to its end retires from the record.
fn record_part_after(step: &Step, r: &mut Recorded) {
    // The master and its volume are gone for good: the host holds no master any more.
    if let Step::RemoveContainer {
        component: Component::Masters,
        host,
        remove_volume: true,
    } = step
    {
        r.master_hosts.remove(host);
        r.master_quorums.remove(host);
    }
    if let Step::RemoveContainer {
        component: Component::Marathon,
        host,
        ..
    } = step
    {
        r.marathon_hosts.remove(host);
    }
    if let Step::ReplaceContainer {
        component: Component::Masters,
        host,
        reset_registry: true,
    } = step
    {
        r.registry_reset.remove(host);
    }
    match step {
        Step::BackupZookeeper { host, id, .. } => {
            if let Some(p) = r.backup.pending.as_mut().filter(|p| &p.id == id) {
                p.zookeeper_from = Some(host.clone());
            }
        }
        // The last part stored and the backup recorded: it is done.
        Step::BackupMaster { id, .. } => {
            if let Some(p) = r.backup.pending.take() {
                if &p.id != id {
                    r.backup.pending = Some(p);
                    return;
                }
                if let BackupReason::BeforeUpgrade {
                    zookeeper, masters, ..
                } = &p.reason
                {
                    r.backup.covers = Some((zookeeper.clone(), masters.clone()));
                }
                r.backup.last_id = Some(p.id);
                r.backup.failure = None;
            }
        }
        _ => {}
    }
}

/// The record after a backup step failed with `error`: the failure is kept (status and the
/// planner show it; a backup before a version change blocks it, unless the policy says not
/// to wait). A requested or scheduled backup is given up (the schedule tries again a period
/// later, a person asks again); one before a version change stays pending, tried again once
/// the spec changes (a fixed target) or a person asks for a backup.
pub fn backup_failed(recorded: &Recorded, error: &str, generation: u64, now: u64) -> Recorded {
    let mut r = recorded.clone();
    let Some(p) = r.backup.pending.clone() else {
        return r;
    };
    r.backup.failure = Some(BackupFailure {
        id: p.id.clone(),
        reason: p.reason.clone(),
        error: error.to_string(),
        at: now,
        generation,
    });
    if !matches!(p.reason, BackupReason::BeforeUpgrade { .. }) {
        r.backup.pending = None;
    }
    r
}

/// The record brought up to date with what is seen, before planning. An own maintenance
/// window that was ended (`machine/up` sent) is retired once the master's maintenance is
/// read and no longer shows it (the host out of maintenance, or in a window with another
/// start: a person's), so a person's later window on that host is never taken for the
/// operator's. And every host where a
/// master container or a master volume of the cluster is observed is a master host (and
/// every host with a Marathon container a Marathon host) (a
/// record written before `masterHosts` existed, or restored from a backup, has none, and
/// a master returning with its host would then count nowhere); a host that answered and
/// holds neither is not (a removal cut short after it acted, or a creation cut short
/// before it did). Hosts out of sight, in the document or not, are left as recorded. A
/// registry reset is retired once its host's master is seen on a quorum above 1.
///
/// The runtime writes the result under the fence when it differs; the model does the same.
pub fn note_observed(
    recorded: &Recorded,
    cluster: &str,
    observed: &Observed,
    now: u64,
) -> Recorded {
    let mut r = recorded.clone();
    note_health(&mut r, observed, now);
    let agents = &observed.agents;
    if agents.maintenance_read {
        r.maintenance.retain(|host, own| {
            own.up_sent_at.is_none()
                || (agents.maintenance.contains_key(host)
                    && own.is(agents.windows.get(host).copied()))
        });
    }
    for (host, seen) in &observed.hosts {
        let HostObservation::Reachable {
            containers,
            volumes,
        } = seen
        else {
            continue;
        };
        let volume = crate::desired::volume_name(cluster, Component::Masters, host);
        if containers.contains_key(&Component::Masters) || volumes.contains(&volume) {
            r.master_hosts.insert(host.clone());
        } else {
            r.master_hosts.remove(host);
            r.master_quorums.remove(host);
        }
        if let Some(q) = containers
            .get(&Component::Masters)
            .and_then(|c| c.master_quorum)
        {
            r.master_quorums.insert(host.clone(), q);
            // A reset is recorded only for a quorum-1 master, and only its own creation (on
            // the wiped log) puts a master of a higher quorum on its host: the reset is done,
            // even if the record written after it was lost. Left recorded, it would wipe
            // that master's log, a voting replica by then, if its container went missing.
            if q > 1 {
                r.registry_reset.remove(host);
            }
        }
        if containers.contains_key(&Component::Marathon) {
            r.marathon_hosts.insert(host.clone());
        } else {
            r.marathon_hosts.remove(host);
        }
    }
    note_marathon_led(&mut r, observed);
    if observed.masters.members.values().any(|m| m.recovered) {
        r.master_log_recovered = true;
    }
    note_bootstrap_done(&mut r, observed);
    r
}

/// A bootstrap of several servers is done once every one of its servers has its container
/// and a majority serves its first ensemble as the committed config: from then on, a lost
/// member is an ordinary voter to recreate or replace.
fn note_bootstrap_done(r: &mut Recorded, observed: &Observed) {
    let Some(ensemble) = &r.zk_bootstrap else {
        return;
    };
    let ids: BTreeSet<u64> = ensemble.iter().map(|m| m.id).collect();
    let serving = observed
        .zookeeper
        .committed
        .as_ref()
        .is_some_and(|c| c.voters.keys().copied().collect::<BTreeSet<u64>>() == ids);
    let all_there = ensemble
        .iter()
        .all(|m| observed.container(Component::Zookeeper, &m.host).is_some());
    if serving && all_there {
        r.zk_bootstrap = None;
    }
}

/// The leader's image, when it is newer than the one recorded (a version with no readable
/// tag is not recorded: nothing can be compared with it).
fn note_marathon_led(r: &mut Recorded, observed: &Observed) {
    use crate::plan::tag_version;
    let Some(leader) = observed.marathon.leader.as_deref() else {
        return;
    };
    let Some(c) = observed
        .container(Component::Marathon, leader)
        .filter(|c| c.running())
    else {
        return;
    };
    let Some(v) = tag_version(&c.image) else {
        return;
    };
    if r.marathon_led
        .as_deref()
        .and_then(tag_version)
        .is_none_or(|led| led < v)
    {
        r.marathon_led = Some(c.image.clone());
    }
}

/// Members seen healthy are noted with their configuration; one of them seen unhealthy on
/// that same configuration is noted with the time it was first seen so, as long as every
/// look sees it so. Another container (replaced, removed, restarted since) forgets it.
fn note_health(r: &mut Recorded, observed: &Observed, now: u64) {
    for c in Component::ALL {
        let seen = r.healthy.entry(c).or_default();
        for (host, o) in &observed.hosts {
            // A failure is timed only while it is seen without a break: a look that cannot
            // tell (the host or its probes silent) starts it again, so that a view seconds
            // old or a leader that just changed never adds up to a restart.
            let HostObservation::Reachable { containers, .. } = o else {
                if let Some(s) = seen.get_mut(host) {
                    s.unhealthy_since = None;
                }
                continue;
            };
            let Some(container) = containers.get(&c) else {
                seen.remove(host);
                continue;
            };
            let known = seen
                .get(host)
                .filter(|s| s.config_hash == container.config_hash)
                .cloned();
            match (observed.member_health(c, host), known) {
                (Some(true), _) if container.running() => {
                    seen.insert(
                        host.clone(),
                        SeenHealthy {
                            config_hash: container.config_hash.clone(),
                            unhealthy_since: None,
                        },
                    );
                }
                // Restarted since it was first seen failing: it proves itself again.
                (Some(false), Some(s))
                    if s.unhealthy_since.is_some_and(|t| container.started_at > t) =>
                {
                    seen.remove(host);
                }
                (Some(false), Some(mut s)) if container.running() => {
                    s.unhealthy_since.get_or_insert(now);
                    seen.insert(host.clone(), s);
                }
                (_, None) => {
                    seen.remove(host);
                }
                (None, Some(mut s)) => {
                    s.unhealthy_since = None;
                    seen.insert(host.clone(), s);
                }
                _ => {}
            }
        }
        if seen.is_empty() {
            r.healthy.remove(&c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reset is retired when its own step ends, and by nothing done on another host.
    #[test]
    fn a_registry_reset_is_retired_by_its_end_or_its_own_host_only() {
        let reset = Step::ReplaceContainer {
            component: Component::Masters,
            host: "h1".into(),
            reset_registry: true,
        };
        let r = record_before(&reset, &Recorded::new_cluster(), 1);
        assert!(r.registry_reset.contains("h1"));
        let other = Step::CreateContainer {
            component: Component::Masters,
            host: "h2".into(),
        };
        let r2 = record_before(&other, &r, 2);
        assert!(
            r2.registry_reset.contains("h1"),
            "a master created elsewhere retired it"
        );
        assert!(record_after(&other, &r2).registry_reset.contains("h1"));
        let done = record_after(&reset, &r);
        assert!(done.registry_reset.is_empty() && done.in_flight.is_none());
    }

    #[test]
    fn serde_is_camel_case_and_tolerates_missing_fields() {
        let r: Recorded = serde_json::from_str("{}").unwrap();
        assert_eq!(r, Recorded::default());
        assert_eq!(r.zk_highest_id, None);
        let r = record_before(
            &Step::ZkStartServer {
                host: "h1".into(),
                id: 4,
                ensemble: vec![],
            },
            &Recorded::new_cluster(),
            10,
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"zkHighestId\":4"), "{json}");
        assert!(json.contains("\"inFlight\""), "{json}");
        let back: Recorded = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
