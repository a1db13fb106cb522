//! A model cluster for the simulation: it carries out steps the way Docker, ZooKeeper and
//! Mesos would (coarsely), reports what an observer would see, and takes injected faults.
//!
//! It also keeps its own record of what must never happen — a second ZooKeeper ensemble,
//! a reused server id, a voter's data deleted, more masters than the log allows, a quorum
//! lost by an operator step — checked after every transition, independently of both the
//! planner and [`crate::invariants`].

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::Desired;
use crate::observed::*;
use crate::plan::{majority, Step};
use crate::record::{record_before, Recorded};
use crate::spec::Component;

/// Seconds a healthy container needs to serve after it starts.
pub const STARTUP_SECS: u64 = 2;

/// One container in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimContainer {
    /// Image reference.
    pub image: String,
    /// Config hash label.
    pub config_hash: String,
    /// State.
    pub state: ContainerState,
    /// Last start.
    pub started_at: u64,
    /// ZooKeeper id.
    pub zk_id: Option<u64>,
    /// Master quorum.
    pub master_quorum: Option<u32>,
    /// When it last finished (0: never).
    pub finished_at: u64,
    /// Restarting under its restart policy: runs again at this time.
    pub restart_at: Option<u64>,
}

/// A Mesos master's replicated-log replica, kept on its work volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogState {
    /// New or wiped: catches up only from a quorum of VOTING replicas, or initializes with
    /// a quorum of empty ones when no live replica votes.
    Empty,
    /// Holds the log and votes.
    Voting,
}

/// A ZooKeeper follower that lags after a reconfig: for a while, a read of the committed
/// config from it returns the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkLag {
    /// The config before the reconfig.
    pub previous: ZkConfig,
    /// Until when.
    pub until: u64,
    /// The lagging server's host.
    pub host: String,
}

/// One Docker host in the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimHost {
    /// The engine answers.
    pub reachable: bool,
    /// The cluster's containers.
    pub containers: BTreeMap<Component, SimContainer>,
    /// Data volumes.
    pub volumes: BTreeSet<String>,
    /// The `myid` written in the ZooKeeper data volume (its id label), if there is one.
    pub zk_volume_id: Option<u64>,
    /// The master's log replica on its work volume, if there is one.
    pub master_log: Option<LogState>,
    /// Containers of someone else (must never change).
    pub foreign: Vec<String>,
}

/// The model cluster.
#[derive(Debug, Clone, Default)]
pub struct SimCluster {
    /// Cluster name.
    pub name: String,
    /// Hosts.
    pub hosts: BTreeMap<String, SimHost>,
    /// Committed ZooKeeper config.
    pub zk: Option<ZkConfig>,
    /// ZooKeeper leader (sticky while it serves).
    pub zk_leader: Option<String>,
    /// Highest ZooKeeper id handed out (the model's truth, not what the operator recorded).
    pub zk_highest_id: u64,
    /// What the operator recorded in etcd (written by [`drive`] before each step).
    pub record: Recorded,
    /// Every id ever started, to catch reuse.
    pub zk_ids_used: BTreeSet<u64>,
    /// Mesos master leader (sticky while it runs).
    pub master_leader: Option<String>,
    /// When the current master leader took over: agents are listed by it only once they
    /// re-registered, [`AGENT_REREGISTER_SECS`] later.
    pub master_leader_since: u64,
    /// Marathon leader (sticky while it runs).
    pub marathon_leader: Option<String>,
    /// Maintenance state per host.
    pub maintenance: BTreeMap<String, Maintenance>,
    /// The start of the maintenance window listing each host (seconds).
    pub windows: BTreeMap<String, u64>,
    /// Hosts whose maintenance window a person opened (the model's truth: the operator must
    /// never take such a host down or end its window).
    pub people_windows: BTreeSet<String>,
    /// Images that start but never become healthy.
    pub broken_images: BTreeSet<String>,
    /// Current time.
    pub now: u64,
    /// Host addresses (for voters named by address).
    pub addresses: BTreeMap<String, String>,
    /// Config lines name voters by address (a second network card), not by host name.
    pub name_voters_by_address: bool,
    /// After a reconfig, a follower lags this long (0: never).
    pub zk_lag_secs: u64,
    /// The lag in progress.
    pub zk_lag: Option<ZkLag>,
    /// Safety violations seen (a test fails on any).
    pub violations: Vec<String>,
    /// Steps the executor's last look stopped before anything was stopped (a member the
    /// plan counted on no longer served).
    pub last_looks_failed: u64,
}

/// How long after a master failover the agents are not yet listed by the new leader.
pub const AGENT_REREGISTER_SECS: u64 = 2;

impl SimCluster {
    /// An empty fleet of reachable hosts, each with a foreign container.
    pub fn new(name: &str, hosts: &[String], now: u64) -> SimCluster {
        SimCluster {
            name: name.to_string(),
            hosts: hosts
                .iter()
                .map(|h| {
                    (
                        h.clone(),
                        SimHost {
                            reachable: true,
                            foreign: vec![format!("someone-else-{h}")],
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            now,
            record: Recorded::new_cluster(),
            ..Default::default()
        }
    }

    /// A fleet already running exactly `d`, healthy: a fixture for benchmarks and tests of
    /// large clusters, which would take long to bring up step by step.
    pub fn converged(d: &Desired, now: u64) -> SimCluster {
        let hosts: Vec<String> = d.addresses.keys().cloned().collect();
        let mut sim = SimCluster::new(&d.name, &hosts, now);
        sim.addresses = d.addresses.clone();
        let mut voters = BTreeMap::new();
        for ((comp, host), spec) in &d.containers {
            let mut c = SimContainer {
                image: spec.image.clone(),
                config_hash: spec.config_hash.clone(),
                state: ContainerState::Running,
                started_at: now.saturating_sub(3600),
                zk_id: None,
                master_quorum: (*comp == Component::Masters).then_some(d.master_quorum),
                finished_at: 0,
                restart_at: None,
            };
            let mut volume_id = None;
            if *comp == Component::Zookeeper {
                let id = voters.len() as u64 + 1;
                c.zk_id = Some(id);
                volume_id = Some(id);
                voters.insert(id, host.clone());
                sim.zk_ids_used.insert(id);
            }
            if let Some(h) = sim.hosts.get_mut(host) {
                if volume_id.is_some() {
                    h.zk_volume_id = volume_id;
                }
                if *comp == Component::Masters {
                    h.master_log = Some(LogState::Voting);
                }
                h.volumes
                    .insert(crate::desired::volume_name(&d.name, *comp, host));
                h.containers.insert(*comp, c);
            }
        }
        sim.zk_highest_id = voters.len() as u64;
        sim.record.zk_highest_id = Some(sim.zk_highest_id);
        sim.zk = Some(ZkConfig {
            version: 0x1_0000_0000,
            voters,
        });
        sim.settle();
        // Converged for an hour: the leader took over long ago and every agent is listed.
        sim.master_leader_since = now.saturating_sub(3600);
        sim
    }

    fn ready(&self, c: &SimContainer) -> bool {
        c.state == ContainerState::Running
            && self.now >= c.started_at + STARTUP_SECS
            && !self.broken_images.contains(&c.image)
    }

    fn container(&self, comp: Component, host: &str) -> Option<&SimContainer> {
        let h = self.hosts.get(host)?;
        if !h.reachable {
            return None;
        }
        h.containers.get(&comp)
    }

    fn live(&self, comp: Component, host: &str) -> bool {
        self.container(comp, host).is_some_and(|c| self.ready(c))
    }

    /// ZooKeeper voters serving: ready containers carrying the voter's id.
    fn zk_serving(&self) -> BTreeSet<u64> {
        let Some(cfg) = &self.zk else {
            return BTreeSet::new();
        };
        cfg.voters
            .iter()
            .filter(|(id, h)| {
                self.container(Component::Zookeeper, h)
                    .is_some_and(|c| self.ready(c) && c.zk_id == Some(**id))
                    && self.hosts.get(*h).and_then(|x| x.zk_volume_id) == Some(**id)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Ids of every ZooKeeper container serving (voters and synced joiners).
    fn zk_ready_ids(&self) -> BTreeSet<u64> {
        self.hosts
            .keys()
            .filter_map(|h| self.container(Component::Zookeeper, h))
            .filter(|c| self.ready(c))
            .filter_map(|c| c.zk_id)
            .collect()
    }

    fn zk_has_quorum(&self) -> bool {
        self.zk
            .as_ref()
            .is_some_and(|cfg| self.zk_serving().len() >= majority(cfg.voters.len()))
    }

    /// Masters running (or unknown on unreachable hosts) with their quorum.
    fn masters_running(&self) -> Vec<(String, u32)> {
        self.hosts
            .iter()
            .filter_map(|(h, host)| {
                let c = host.containers.get(&Component::Masters)?;
                matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
                )
                .then(|| (h.clone(), c.master_quorum.unwrap_or(1)))
            })
            .collect()
    }

    fn masters_live(&self) -> Vec<(String, u32)> {
        self.masters_running()
            .into_iter()
            .filter(|(h, _)| self.live(Component::Masters, h))
            .collect()
    }

    /// Whether the master leader has its registry recovered.
    fn master_quorum_ok(&self) -> bool {
        let Some(l) = &self.master_leader else {
            return false;
        };
        let live = self.masters_live();
        let q = live
            .iter()
            .find(|(h, _)| h == l)
            .map(|(_, q)| *q)
            .unwrap_or(u32::MAX);
        let voting = live
            .iter()
            .filter(|(h, _)| self.log(h) == Some(LogState::Voting))
            .count() as u32;
        voting >= q && self.log(l) == Some(LogState::Voting) && self.zk_has_quorum()
    }

    fn log(&self, host: &str) -> Option<LogState> {
        self.hosts.get(host).and_then(|h| h.master_log)
    }

    /// Empty replicas catch up from a quorum of live voting ones (their own quorum), or,
    /// when no replica votes anywhere, a quorum of live empty ones initializes the log.
    fn catch_up_logs(&mut self) {
        let live = self.masters_live();
        let voting = live
            .iter()
            .filter(|(h, _)| self.log(h) == Some(LogState::Voting))
            .count() as u32;
        // Only replicas that answer take part (a volume without a master answers nothing).
        let any_voting = voting > 0;
        let empty: Vec<(String, u32)> = live
            .iter()
            .filter(|(h, _)| self.log(h) == Some(LogState::Empty))
            .cloned()
            .collect();
        let mut promote: Vec<String> = empty
            .iter()
            .filter(|(_, q)| voting >= *q)
            .map(|(h, _)| h.clone())
            .collect();
        if !any_voting {
            let n = empty.len() as u32;
            if empty.iter().all(|(_, q)| n >= *q) && n > 0 {
                promote = empty.iter().map(|(h, _)| h.clone()).collect();
            }
        }
        for h in promote {
            if let Some(x) = self.hosts.get_mut(&h) {
                x.master_log = Some(LogState::Voting);
            }
        }
    }

    /// Moves time forward and lets leaders settle.
    pub fn tick(&mut self, secs: u64) {
        self.now += secs;
        let now = self.now;
        for h in self.hosts.values_mut() {
            for c in h.containers.values_mut() {
                if c.state == ContainerState::Restarting && c.restart_at.is_some_and(|t| t <= now) {
                    // Back by itself under its restart policy.
                    c.state = ContainerState::Running;
                    c.started_at = c.restart_at.unwrap_or(now);
                    c.restart_at = None;
                }
            }
        }
        self.settle();
    }

    fn settle(&mut self) {
        self.catch_up_logs();
        if self.zk_lag.as_ref().is_some_and(|l| l.until <= self.now) {
            self.zk_lag = None;
        }
        // ZooKeeper leader: sticky while serving, else the lowest serving voter.
        let serving = self.zk_serving();
        if self.zk_has_quorum() {
            let cfg = self.zk.clone().unwrap_or(ZkConfig {
                version: 0,
                voters: BTreeMap::new(),
            });
            let leader_ok = self.zk_leader.as_ref().is_some_and(|l| {
                cfg.voters
                    .iter()
                    .any(|(id, h)| h == l && serving.contains(id))
            });
            if !leader_ok {
                self.zk_leader = serving
                    .iter()
                    .next()
                    .and_then(|id| cfg.voters.get(id).cloned());
            }
        } else {
            self.zk_leader = None;
        }
        // Master leader: sticky while live, else the first live master; needs ZooKeeper.
        let live: Vec<String> = self.masters_live().into_iter().map(|(h, _)| h).collect();
        if !self.zk_has_quorum() {
            self.master_leader = None;
        } else if !self
            .master_leader
            .as_ref()
            .is_some_and(|l| live.contains(l))
        {
            self.master_leader = live.first().cloned();
            self.master_leader_since = self.now;
        }
        // Marathon leader likewise.
        let mlive: Vec<String> = self
            .hosts
            .keys()
            .filter(|h| self.live(Component::Marathon, h))
            .cloned()
            .collect();
        if !self.zk_has_quorum() {
            self.marathon_leader = None;
        } else if !self
            .marathon_leader
            .as_ref()
            .is_some_and(|l| mlive.contains(l))
        {
            self.marathon_leader = mlive.first().cloned();
        }
        self.check_ceiling();
    }

    fn check_ceiling(&mut self) {
        let running = self.masters_running();
        if let Some(q) = running.iter().map(|(_, q)| *q).min() {
            if running.len() as u32 >= 2 * q {
                self.violations.push(format!(
                    "t={}: {} masters running with quorum {q}: the replicated log can split",
                    self.now,
                    running.len()
                ));
            }
        }
    }

    /// What an observer would see now.
    pub fn observe(&self) -> Observed {
        let mut o = Observed::default();
        for (h, host) in &self.hosts {
            if !host.reachable {
                o.hosts.insert(
                    h.clone(),
                    HostObservation::Unreachable {
                        reason: "no answer".into(),
                    },
                );
                continue;
            }
            let containers = host
                .containers
                .iter()
                .map(|(comp, c)| {
                    (
                        *comp,
                        ObservedContainer {
                            name: crate::desired::container_name(&self.name, *comp, h),
                            component: *comp,
                            host: h.clone(),
                            image: c.image.clone(),
                            config_hash: c.config_hash.clone(),
                            state: c.state,
                            started_at: c.started_at,
                            zk_id: c.zk_id,
                            master_quorum: c.master_quorum,
                            // An exited container reads as crashed (exit 1), also when the
                            // operator stopped it half-way through a step: the crash-loop
                            // guard is the cautious reading.
                            detail: ContainerDetail {
                                finished_at: c.finished_at,
                                exit_code: i64::from(c.state == ContainerState::Exited),
                                ..Default::default()
                            },
                        },
                    )
                })
                .collect();
            o.hosts.insert(
                h.clone(),
                HostObservation::Reachable {
                    containers,
                    volumes: host.volumes.iter().cloned().collect(),
                },
            );
            if let Some(id) = host.zk_volume_id {
                o.zookeeper.volume_ids.insert(h.clone(), id);
            }
        }
        // ZooKeeper.
        let quorum = self.zk_has_quorum();
        let lag = self.zk_lag.as_ref().filter(|l| l.until > self.now);
        if quorum {
            // Read from whichever server the session picked: a lagging one hands back the
            // config from before the last reconfig.
            o.zookeeper.committed = match lag {
                Some(l) => Some(l.previous.clone()),
                None => self.zk.clone(),
            };
            if self.name_voters_by_address {
                if let Some(cfg) = o.zookeeper.committed.as_mut() {
                    for (id, name) in cfg.voters.iter_mut() {
                        if id % 2 == 1 {
                            if let Some(a) = self.addresses.get(name.as_str()) {
                                *name = a.clone();
                            }
                        }
                    }
                }
            }
            o.zookeeper.leader = self.zk_leader.clone();
        }
        for h in self.hosts.keys() {
            let Some(c) = self.container(Component::Zookeeper, h) else {
                continue;
            };
            let ready = self.ready(c);
            let is_voter = self
                .zk
                .as_ref()
                .is_some_and(|cfg| c.zk_id.is_some_and(|id| cfg.voters.get(&id) == Some(h)));
            let mode = match (ready, quorum, is_voter) {
                (false, _, _) => None,
                (true, false, _) => Some(ZkMode::Looking),
                (true, true, true) if self.zk_leader.as_deref() == Some(h.as_str()) => {
                    Some(ZkMode::Leader)
                }
                (true, true, true) => Some(ZkMode::Follower),
                (true, true, false) => Some(ZkMode::Observer),
            };
            // A server answers a moment before it has synced with the leader.
            let answers = c.state == ContainerState::Running && self.now > c.started_at;
            let lagging = lag.is_some_and(|l| &l.host == h);
            o.zookeeper.servers.insert(
                h.clone(),
                ZkServerObservation {
                    ok: answers && !self.broken_images.contains(&c.image),
                    mode,
                    config_version: match (ready && quorum, lag) {
                        (false, _) => None,
                        (true, Some(l)) if lagging => Some(l.previous.version),
                        (true, _) => self.zk.as_ref().map(|c| c.version),
                    },
                    // The process is whatever `myid` its volume holds, whatever the label says.
                    server_id: if ready {
                        self.hosts.get(h).and_then(|x| x.zk_volume_id)
                    } else {
                        None
                    },
                },
            );
        }
        // Masters.
        let qok = self.master_quorum_ok();
        for h in self.hosts.keys() {
            if let Some(c) = self.container(Component::Masters, h) {
                let live = self.ready(c);
                let leads = self.master_leader.as_deref() == Some(h.as_str());
                o.masters.members.insert(
                    h.clone(),
                    MasterObservation {
                        healthy: live,
                        elected: live && leads,
                        recovered: live && self.log(h) == Some(LogState::Voting) && (!leads || qok),
                        version: None,
                    },
                );
            }
        }
        o.masters.leader = self.master_leader.clone();
        // Agents.
        for h in self.hosts.keys() {
            if let Some(c) = self.container(Component::Agents, h) {
                let live = self.ready(c);
                let down = self.maintenance.get(h) == Some(&Maintenance::Down);
                o.agents.members.insert(
                    h.clone(),
                    AgentObservation {
                        healthy: live,
                        registered: live
                            && qok
                            && !down
                            && self.now >= self.master_leader_since + AGENT_REREGISTER_SECS,
                        version: None,
                    },
                );
            }
        }
        if qok {
            o.agents.maintenance = self.maintenance.clone();
            o.agents.windows = self.windows.clone();
            o.agents.maintenance_read = true;
        }
        // Marathon.
        for h in self.hosts.keys() {
            if let Some(c) = self.container(Component::Marathon, h) {
                o.marathon.members.insert(
                    h.clone(),
                    MarathonObservation {
                        healthy: self.ready(c),
                        version: None,
                    },
                );
            }
        }
        o.marathon.leader = self.marathon_leader.clone();
        o.marathon.registered = self.marathon_leader.is_some() && qok;
        o
    }

    fn spec_container(d: &Desired, comp: Component, host: &str) -> Option<SimContainer> {
        let s = d.container(comp, host)?;
        Some(SimContainer {
            image: s.image.clone(),
            config_hash: s.config_hash.clone(),
            state: ContainerState::Running,
            started_at: 0,
            zk_id: None,
            master_quorum: (comp == Component::Masters).then_some(d.master_quorum),
            finished_at: 0,
            restart_at: None,
        })
    }

    /// The executor's last look ([`crate::ops::Op::RequireServing`]) for `step`, planned from
    /// `o` on the stage `d`, answered by the cluster as it is now: the same operations the
    /// runtime runs, the members asked by address as the runtime asks them.
    pub fn last_look_passes(&self, d: &Desired, o: &Observed, step: &Step) -> bool {
        // Operations that cannot be built fail the step at run time before anything is done.
        let Ok(ops) = crate::ops::ops(d, o, step, false, &self.record, self.now) else {
            return false;
        };
        let now = self.observe();
        let host_at = |m: &str| {
            let ip = m.rsplit_once(':').map_or(m, |(a, _)| a);
            d.addresses
                .iter()
                .find(|(_, a)| a.as_str() == ip)
                .map(|(h, _)| h.clone())
        };
        ops.iter().all(|op| match op {
            crate::ops::Op::RequireServing {
                component,
                members,
                at_least,
                ..
            } => {
                let serving = members
                    .iter()
                    .filter_map(|m| host_at(m))
                    .filter(|h| match component {
                        Component::Masters => {
                            now.masters.members.get(h).is_some_and(|m| m.serves())
                        }
                        Component::Zookeeper => {
                            now.zookeeper.servers.get(h).is_some_and(|s| s.serves())
                        }
                        _ => true,
                    })
                    .count() as u32;
                serving >= *at_least
            }
            crate::ops::Op::RequireAgentOutOfService { stopping, .. } => {
                !now.agents.members.get(stopping).is_some_and(|a| a.healthy)
            }
            _ => true,
        })
    }

    /// Carries out a step. With `crash_midway`, the operator dies after the step's first
    /// action (see [`SimCluster::apply_cut`]). Returns false when the step failed (as a
    /// stale reconfig would with BadVersion).
    pub fn apply(&mut self, d: &Desired, step: &Step, crash_midway: bool) -> bool {
        self.apply_cut(d, step, u8::from(crash_midway))
    }

    /// Carries out a step, the operator dying after `cut` of its actions (0: none, it runs
    /// to the end). The actions, in order:
    /// - create: the volume; the container (created, not started); its start;
    /// - replace: stop; remove; (reset: wipe the log); create and start;
    /// - remove: stop; remove the container; the volume;
    /// - ZooKeeper start: the volume (labelled with the id); the container; its start;
    /// - reconfig: sent and committed, the reply lost; (cut 2: the request lost);
    /// - maintenance and abdication calls: (cut 1: the request lost).
    pub fn apply_cut(&mut self, d: &Desired, step: &Step, cut: u8) -> bool {
        // The executor builds containers from the current stage of a quorum change, staged
        // from the observation the plan was made from (here: the model's own).
        let staged = crate::plan::stage(d, &self.observe(), &self.record).into_owned();
        self.apply_staged(&staged, step, cut)
    }

    /// [`SimCluster::apply_cut`] with `d` already staged from the observation the step was
    /// planned from, as the executor must do: staging again from another observation can
    /// give another quorum (found by the simulation: a master restarted with quorum 2 beside
    /// four with quorum 3).
    pub fn apply_staged(&mut self, d: &Desired, step: &Step, cut: u8) -> bool {
        let before_serving = self.zk_ready_ids();
        let before_quorum = self.zk_has_quorum();
        let before_masters_live = self.masters_live();
        let now = self.now;
        // With drainAgents, an agent that serves (its tasks run) is stopped only on a machine
        // that is down for maintenance (safety.md, agents).
        if let Step::ReplaceContainer {
            component: Component::Agents,
            host,
            ..
        }
        | Step::RemoveContainer {
            component: Component::Agents,
            host,
            ..
        } = step
        {
            let serving = self
                .container(Component::Agents, host)
                .is_some_and(|c| self.ready(c));
            let down = self.maintenance.get(host) == Some(&Maintenance::Down);
            if d.drain_agents
                && serving
                && !down
                && self.hosts.get(host).is_some_and(|h| h.reachable)
            {
                self.violations.push(format!(
                    "t={now}: {step} stopped a serving agent without machine/down (drainAgents)"
                ));
            }
        }
        let ok = self.apply_inner(d, step, cut, now);
        self.settle();
        self.check_step_effects(
            d,
            step,
            &before_serving,
            before_quorum,
            &before_masters_live,
        );
        ok
    }

    fn apply_inner(&mut self, d: &Desired, step: &Step, cut: u8, now: u64) -> bool {
        let host = step.host().to_string();
        // Ensemble and master API calls do not go through the member's own host.
        if let Some(ok) = self.apply_api(step, &host, cut) {
            return ok;
        }
        let name = self.name.clone();
        let Some(h) = self.hosts.get_mut(&host) else {
            return false;
        };
        if !h.reachable {
            return false;
        }
        // `cut` actions happen, then the operator dies.
        let done = |n: u8| cut != 0 && cut <= n;
        match step {
            Step::StartContainer { component, .. } => {
                if cut != 0 {
                    return true; // the request lost
                }
                if let Some(c) = h.containers.get_mut(component) {
                    c.state = ContainerState::Running;
                    c.started_at = now;
                }
            }
            Step::CreateContainer { component, .. } => {
                let Some(mut c) = Self::spec_container(d, *component, &host) else {
                    return false;
                };
                let volume = crate::desired::volume_name(&name, *component, &host);
                if *component == Component::Masters && !h.volumes.contains(&volume) {
                    h.master_log = Some(LogState::Empty);
                }
                if *component != Component::Marathon {
                    h.volumes.insert(volume);
                }
                if done(1) {
                    return true;
                }
                c.started_at = now;
                if done(2) {
                    c.state = ContainerState::Created;
                }
                h.containers.insert(*component, c);
            }
            Step::ReplaceContainer {
                component,
                reset_registry,
                ..
            } => {
                if let Some(c) = h.containers.get_mut(component) {
                    if c.state != ContainerState::Exited {
                        c.finished_at = now;
                    }
                    c.state = ContainerState::Exited;
                    c.restart_at = None;
                }
                if done(1) {
                    return true;
                }
                let old = h.containers.remove(component);
                if done(2) {
                    return true;
                }
                if *reset_registry && *component == Component::Masters {
                    h.master_log = Some(LogState::Empty);
                }
                if *reset_registry && done(3) {
                    return true;
                }
                let Some(mut c) = Self::spec_container(d, *component, &host) else {
                    return false;
                };
                c.started_at = now;
                c.zk_id = old.and_then(|o| o.zk_id);
                if *component == Component::Masters && h.master_log.is_none() {
                    h.master_log = Some(LogState::Empty);
                }
                h.containers.insert(*component, c);
            }
            Step::RemoveContainer {
                component,
                remove_volume,
                ..
            } => {
                if let Some(c) = h.containers.get_mut(component) {
                    if c.state != ContainerState::Exited {
                        c.finished_at = now;
                    }
                    c.state = ContainerState::Exited;
                    c.restart_at = None;
                }
                if done(1) {
                    return true;
                }
                let old = h.containers.remove(component);
                if *remove_volume && !done(2) {
                    h.volumes
                        .remove(&crate::desired::volume_name(&name, *component, &host));
                    if *component == Component::Masters {
                        h.master_log = None;
                    }
                    if *component == Component::Zookeeper {
                        let held = h.zk_volume_id.take();
                        let label = old.and_then(|o| o.zk_id);
                        if let Some(cfg) = &self.zk {
                            for id in [held, label].into_iter().flatten() {
                                if cfg.voters.contains_key(&id) {
                                    self.violations
                                        .push(format!("t={now}: data of voter {id} deleted"));
                                }
                            }
                        }
                    }
                }
            }
            Step::ZkStartServer { id, ensemble, .. } => {
                let Some(mut c) = Self::spec_container(d, Component::Zookeeper, &host) else {
                    return false;
                };
                c.started_at = now;
                c.zk_id = Some(*id);
                let volume = crate::desired::volume_name(&self.name, Component::Zookeeper, &host);
                if h.volumes.contains(&volume) && h.zk_volume_id != Some(*id) {
                    self.violations.push(format!(
                        "t={now}: server {id} started on a volume holding id {:?}",
                        h.zk_volume_id
                    ));
                }
                // The same start carried out again: its volume already holds its id.
                let already_here = h.volumes.contains(&volume) && h.zk_volume_id == Some(*id);
                h.volumes.insert(volume);
                h.zk_volume_id = Some(*id);
                // The same start carried out again (idempotent: an existing container of it
                // is left as it is, as a create answering 409 would).
                let resumed = already_here
                    && !self.hosts.iter().any(|(n, x)| {
                        *n != host && x.containers.values().any(|c| c.zk_id == Some(*id))
                    });
                let Some(h) = self.hosts.get_mut(&host) else {
                    return false;
                };
                let exists = h
                    .containers
                    .get(&Component::Zookeeper)
                    .is_some_and(|c| c.zk_id == Some(*id));
                if !done(1) && !exists {
                    if done(2) {
                        c.state = ContainerState::Created;
                    }
                    h.containers.insert(Component::Zookeeper, c);
                }
                if !self.zk_ids_used.insert(*id) && !resumed {
                    self.violations
                        .push(format!("t={now}: ZooKeeper id {id} reused"));
                }
                self.zk_highest_id = self.zk_highest_id.max(*id);
                match &self.zk {
                    None if ensemble.len() == 1 => {
                        self.zk = Some(ZkConfig {
                            version: 0x1_0000_0000,
                            voters: BTreeMap::from([(*id, host.clone())]),
                        });
                    }
                    None => self
                        .violations
                        .push(format!("t={now}: joiner started with no ensemble")),
                    Some(cfg) => {
                        let listed: BTreeSet<u64> = ensemble.iter().map(|m| m.id).collect();
                        let mut want: BTreeSet<u64> = cfg.voters.keys().copied().collect();
                        want.insert(*id);
                        if listed != want {
                            self.violations.push(format!("t={now}: server {id} started with ensemble {listed:?}, committed {want:?}: split ensemble"));
                        }
                    }
                }
            }
            Step::ZkRecreateServer { id, .. } => {
                let Some(mut c) = Self::spec_container(d, Component::Zookeeper, &host) else {
                    return false;
                };
                let volume = crate::desired::volume_name(&self.name, Component::Zookeeper, &host);
                if !h.volumes.contains(&volume) || h.zk_volume_id != Some(*id) {
                    self.violations.push(format!(
                        "t={now}: server {id} re-created on {host} without its data (volume holds {:?})",
                        h.zk_volume_id
                    ));
                }
                c.started_at = now;
                c.zk_id = Some(*id);
                if done(1) {
                    c.state = ContainerState::Created;
                }
                h.containers.insert(Component::Zookeeper, c);
            }
            Step::ZkAdd { .. }
            | Step::ZkRemove { .. }
            | Step::AgentDrain { .. }
            | Step::AgentDown { .. }
            | Step::AgentUp { .. } => {}
            Step::MarathonAbdicate { .. } => {
                if cut != 0 {
                    return true; // the request lost
                }
                if let Some(c) = h.containers.get_mut(&Component::Marathon) {
                    c.started_at = now; // exits and is restarted by its restart policy
                }
                self.marathon_leader = None;
            }
        }
        true
    }

    /// Steps carried out through the ZooKeeper ensemble or the Mesos master's API.
    fn apply_api(&mut self, step: &Step, host: &str, cut: u8) -> Option<bool> {
        let host = host.to_string();
        let lost = match step {
            // cut 1: committed, the reply lost; cut 2: the request lost.
            Step::ZkAdd { .. } | Step::ZkRemove { .. } => cut >= 2,
            Step::AgentDrain { .. } | Step::AgentDown { .. } | Step::AgentUp { .. } => cut >= 1,
            _ => return None,
        };
        if lost {
            return Some(false);
        }
        let before = self.zk.clone();
        let ok = self.apply_api_inner(step, &host);
        if let (Some(ok), Some(previous), true) = (ok, before, self.zk_lag_secs > 0) {
            if ok && matches!(step, Step::ZkAdd { .. } | Step::ZkRemove { .. }) {
                // A follower other than the leader lags behind the new config for a while.
                let lagging = self
                    .zk
                    .iter()
                    .flat_map(|c| c.voters.values())
                    .find(|h| Some(*h) != self.zk_leader.as_ref())
                    .cloned();
                if let Some(h) = lagging {
                    self.zk_lag = Some(ZkLag {
                        previous,
                        until: self.now + self.zk_lag_secs,
                        host: h,
                    });
                }
            }
        }
        ok
    }

    fn apply_api_inner(&mut self, step: &Step, host: &str) -> Option<bool> {
        let host = host.to_string();
        Some(match step {
            Step::ZkAdd {
                member,
                expected_version,
            } => {
                let serving = self
                    .container(Component::Zookeeper, &host)
                    .is_some_and(|c| self.ready(c) && c.zk_id == Some(member.id));
                let Some(cfg) = self.zk.as_mut() else {
                    return Some(false);
                };
                if cfg.version != *expected_version || !serving {
                    return Some(false);
                }
                cfg.voters.insert(member.id, host.clone());
                cfg.version += 1;
                true
            }
            Step::ZkRemove {
                id,
                expected_version,
                ..
            } => {
                let Some(cfg) = self.zk.as_mut() else {
                    return Some(false);
                };
                if cfg.version != *expected_version {
                    return Some(false);
                }
                cfg.voters.remove(id);
                cfg.version += 1;
                true
            }
            Step::AgentDrain { .. } => {
                // Already in a window (the operator's, or a person's): the executor adds none.
                if !self.maintenance.contains_key(&host) {
                    let start = self
                        .record
                        .maintenance
                        .get(&host)
                        .and_then(|m| m.window_start)
                        .unwrap_or(self.now);
                    self.maintenance.insert(host.clone(), Maintenance::Draining);
                    self.windows.insert(host, start);
                }
                true
            }
            Step::AgentDown { .. } => {
                if self.people_windows.contains(&host) {
                    self.violations.push(format!(
                        "t={}: the operator took {host} down in a maintenance window a person opened",
                        self.now
                    ));
                }
                self.maintenance.insert(host, Maintenance::Down);
                true
            }
            Step::AgentUp { .. } => {
                if self.people_windows.contains(&host) {
                    self.violations.push(format!(
                        "t={}: the operator ended the maintenance window a person opened on {host}",
                        self.now
                    ));
                }
                self.maintenance.remove(&host);
                self.windows.remove(&host);
                true
            }
            _ => return None,
        })
    }

    /// Safety of one operator step, judged on the model.
    fn check_step_effects(
        &mut self,
        d: &Desired,
        step: &Step,
        before_serving: &BTreeSet<u64>,
        before_quorum: bool,
        before_live: &[(String, u32)],
    ) {
        let now = self.now;
        if before_quorum && !self.zk_has_quorum_ignoring_startup(before_serving) {
            self.violations
                .push(format!("t={now}: {step} cost ZooKeeper its quorum"));
        }
        // Masters: a live master stopped by us must leave the floor of live masters.
        let stopped_live = match step {
            Step::ReplaceContainer {
                component: Component::Masters,
                host,
                reset_registry: false,
            }
            | Step::RemoveContainer {
                component: Component::Masters,
                host,
                ..
            } => before_live.iter().any(|(h, _)| h == host),
            _ => false,
        };
        // Live masters that could not form a quorum for any of them lose nothing.
        let could_serve = before_live
            .iter()
            .any(|(_, q)| before_live.len() as u32 >= *q);
        if stopped_live && could_serve {
            let left = before_live.iter().filter(|(h, _)| h != step.host()).count() as u32;
            let min_q = before_live.iter().map(|(_, q)| *q).min().unwrap_or(1);
            let floor = min_q.min(d.master_quorum);
            if left < floor {
                self.violations.push(format!(
                    "t={now}: {step} left {left} live masters, quorum {floor}"
                ));
            }
        }
    }

    /// Quorum right after a step: voters that served before and still run count as up
    /// (a container we just started is not counted; one we did not touch still serves).
    fn zk_has_quorum_ignoring_startup(&self, before_serving: &BTreeSet<u64>) -> bool {
        let Some(cfg) = &self.zk else { return false };
        let still = cfg
            .voters
            .iter()
            .filter(|(id, h)| {
                before_serving.contains(id)
                    && self.container(Component::Zookeeper, h).is_some_and(|c| {
                        c.state == ContainerState::Running && c.zk_id == Some(**id)
                    })
            })
            .count();
        still >= majority(cfg.voters.len())
    }

    /// Fault: a container dies behind the operator's back; its restart policy brings it
    /// back a few seconds later.
    pub fn crash(&mut self, comp: Component, host: &str) {
        let now = self.now;
        if let Some(c) = self
            .hosts
            .get_mut(host)
            .and_then(|h| h.containers.get_mut(&comp))
        {
            if c.state == ContainerState::Running {
                c.state = ContainerState::Restarting;
                c.finished_at = now;
                c.restart_at = Some(now + 3);
            }
        }
        self.settle();
    }

    /// Fault: a host stops answering (network, engine, power). What runs there keeps its
    /// state and comes back with the host ([`SimCluster::return_host`]); while away it
    /// serves nobody.
    pub fn lose_host(&mut self, host: &str) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.reachable = false;
        }
        self.settle();
    }

    /// A person opens a maintenance window on `host` (DRAINING), as `POST
    /// /master/maintenance/schedule` would; no-op if the host is in one already.
    pub fn person_opens_window(&mut self, host: &str) {
        if self.maintenance.contains_key(host) {
            return;
        }
        self.maintenance
            .insert(host.to_string(), Maintenance::Draining);
        self.windows.insert(host.to_string(), self.now);
        self.people_windows.insert(host.to_string());
        self.settle();
    }

    /// A person takes their machine down, or ends their window (`machine/up`).
    pub fn person_moves_window(&mut self, host: &str) {
        if !self.people_windows.contains(host) {
            return;
        }
        if self.maintenance.get(host) == Some(&Maintenance::Draining) {
            self.maintenance.insert(host.to_string(), Maintenance::Down);
        } else {
            self.maintenance.remove(host);
            self.windows.remove(host);
            self.people_windows.remove(host);
        }
        self.settle();
    }

    /// Every person's window ends (`machine/up`), as people finish their maintenance.
    pub fn people_end_windows(&mut self) {
        for h in self.people_windows.clone() {
            self.maintenance.remove(&h);
            self.windows.remove(&h);
        }
        self.people_windows.clear();
        self.settle();
    }

    /// The host answers again, with whatever it was running.
    pub fn return_host(&mut self, host: &str) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.reachable = true;
        }
        self.settle();
    }

    /// Whether the model runs exactly what `d` asks for, healthy.
    pub fn matches(&self, d: &Desired) -> Result<(), String> {
        for ((comp, host), s) in &d.containers {
            let Some(c) = self.container(*comp, host) else {
                return Err(format!("{comp} missing on {host}"));
            };
            if c.config_hash != s.config_hash || !self.ready(c) {
                return Err(format!("{comp} on {host} not converged"));
            }
        }
        for (h, host) in &self.hosts {
            if !host.reachable && !d.addresses.contains_key(h) {
                continue; // lost for good and dropped from the spec: out of our reach
            }
            for comp in host.containers.keys() {
                if d.container(*comp, h).is_none() {
                    return Err(format!("extra {comp} on {h}"));
                }
            }
            if host.foreign != vec![format!("someone-else-{h}")] {
                return Err(format!("foreign container on {h} touched"));
            }
        }
        let voters: BTreeSet<&str> = self
            .zk
            .iter()
            .flat_map(|c| c.voters.values().map(String::as_str))
            .collect();
        let want: BTreeSet<&str> = d.zookeeper.hosts.iter().map(String::as_str).collect();
        if voters != want {
            return Err(format!("ZooKeeper voters {voters:?}, want {want:?}"));
        }
        Ok(())
    }
}

/// A small deterministic random source (xorshift64*), so that a failing seed replays
/// exactly, with no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p` percent.
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// Faults injected while driving.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Percent chance per iteration that a random container crashes (it comes back by
    /// itself under its restart policy).
    pub crash_percent: u64,
    /// Percent chance per step that the operator dies part-way through it, at a random
    /// point between two of its calls.
    pub midway_percent: u64,
    /// Percent chance per iteration that a host becomes unreachable (and, if one is away,
    /// that it returns with whatever it was running).
    pub host_loss_percent: u64,
    /// Percent chance per observation that one host is seen as it was at the previous
    /// observation (an observation spans time).
    pub stale_host_percent: u64,
    /// Percent chance per observation that one host's probes time out (read as unknown).
    pub probe_timeout_percent: u64,
    /// After each reconfig, a follower serves the previous config this long.
    pub zk_lag_secs: u64,
    /// Config lines name odd-numbered voters by address.
    pub voters_by_address: bool,
    /// Percent chance per iteration that a person acts on maintenance: opens a window on
    /// an agent host, takes it down, or ends it.
    pub people_percent: u64,
    /// Percent chance per step that a host is lost *during* it: after the record write,
    /// between two of its operations, or after the last one (the operator, cut short there
    /// or not, finds the host gone at its next look). Mostly the step's own host.
    pub host_midstep_percent: u64,
}

impl Faults {
    /// Everything the model can do wrong, at the rates the random walks use.
    pub fn unkind() -> Faults {
        Faults {
            crash_percent: 3,
            midway_percent: 10,
            host_loss_percent: 1,
            stale_host_percent: 5,
            probe_timeout_percent: 5,
            zk_lag_secs: 4,
            voters_by_address: true,
            people_percent: 1,
            host_midstep_percent: 3,
        }
    }
}

/// An observation that spans time and has holes: with the faults' chances, one host is
/// seen as it was right after the last step (observed early, the others later), and one
/// host's probes time out.
fn unkind_observation(
    mut o: Observed,
    previous: Option<&Observed>,
    rng: &mut Rng,
    faults: Faults,
) -> (Observed, Option<String>) {
    let hosts: Vec<String> = o.hosts.keys().cloned().collect();
    if hosts.is_empty() {
        return (o, None);
    }
    let mut stale = None;
    if let Some(p) = previous {
        if rng.percent(faults.stale_host_percent) {
            let h = &hosts[rng.below(hosts.len() as u64) as usize];
            stale = Some(h.clone());
            if let Some(x) = p.hosts.get(h) {
                o.hosts.insert(h.clone(), x.clone());
            }
            match p.zookeeper.servers.get(h) {
                Some(x) => o.zookeeper.servers.insert(h.clone(), x.clone()),
                None => o.zookeeper.servers.remove(h),
            };
            match p.zookeeper.volume_ids.get(h) {
                Some(x) => o.zookeeper.volume_ids.insert(h.clone(), *x),
                None => o.zookeeper.volume_ids.remove(h),
            };
            match p.masters.members.get(h) {
                Some(x) => o.masters.members.insert(h.clone(), x.clone()),
                None => o.masters.members.remove(h),
            };
            match p.agents.members.get(h) {
                Some(x) => o.agents.members.insert(h.clone(), x.clone()),
                None => o.agents.members.remove(h),
            };
            match p.marathon.members.get(h) {
                Some(x) => o.marathon.members.insert(h.clone(), x.clone()),
                None => o.marathon.members.remove(h),
            };
        }
    }
    if rng.percent(faults.probe_timeout_percent) {
        let h = &hosts[rng.below(hosts.len() as u64) as usize];
        if rng.percent(50) {
            o.hosts.insert(
                h.clone(),
                HostObservation::Unreachable {
                    reason: "timed out".into(),
                },
            );
            o.zookeeper.volume_ids.remove(h);
        }
        o.zookeeper.servers.remove(h);
        o.masters.members.remove(h);
        o.agents.members.remove(h);
        o.marathon.members.remove(h);
    }
    // The leader answers, but not its maintenance status or schedule (the review of the
    // window-start fix: an empty read must not look like no maintenance).
    if rng.percent(faults.probe_timeout_percent) {
        o.agents.maintenance.clear();
        o.agents.windows.clear();
        o.agents.maintenance_read = false;
    }
    (o, stale)
}

/// How a drive ended.
#[derive(Debug, Clone)]
pub struct DriveOutcome {
    /// Steps carried out.
    pub steps: usize,
    /// Transitions (steps, faults and ticks) checked.
    pub transitions: usize,
    /// The last decision.
    pub last: crate::plan::Decision,
    /// The last few decisions with the time, for a failing seed's report.
    pub trace: Vec<String>,
}

/// Plans and applies until converged (or `max_iterations`), with faults; every
/// transition's step is checked with [`crate::invariants::check_step`] and the model's own
/// safety record. Errors name the first violation.
pub fn drive(
    sim: &mut SimCluster,
    d: &Desired,
    rng: &mut Rng,
    faults: Faults,
    max_iterations: usize,
) -> Result<DriveOutcome, String> {
    use crate::plan::{plan, Decision};
    let mut steps = 0;
    let mut transitions = 0;
    let mut last = Decision::Converged;
    let mut trace: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    if sim.addresses.is_empty() {
        sim.addresses = d.addresses.clone();
    }
    sim.zk_lag_secs = faults.zk_lag_secs;
    sim.name_voters_by_address = faults.voters_by_address;
    let mut previous: Option<(Observed, u64)> = None;
    // SIM_DEBUG=1: every step with what was seen of the masters (for a failing seed).
    let debug = cfg!(debug_assertions) && std::env::var("SIM_DEBUG").is_ok();
    let mut last_quiet: Option<String> = None;
    for _ in 0..max_iterations {
        let hosts: Vec<String> = sim.hosts.keys().cloned().collect();
        if faults.crash_percent > 0 && rng.percent(faults.crash_percent) {
            let h = &hosts[rng.below(hosts.len() as u64) as usize];
            let comp = Component::ALL[rng.below(4) as usize];
            sim.crash(comp, h);
            transitions += 1;
        }
        if faults.host_loss_percent > 0 && rng.percent(faults.host_loss_percent) {
            let away: Vec<String> = sim
                .hosts
                .iter()
                .filter(|(_, h)| !h.reachable)
                .map(|(n, _)| n.clone())
                .collect();
            if let Some(h) = away.first() {
                sim.return_host(h);
            } else {
                let h = &hosts[rng.below(hosts.len() as u64) as usize];
                sim.lose_host(h);
            }
            transitions += 1;
        }
        if faults.people_percent > 0 && rng.percent(faults.people_percent) {
            let theirs: Vec<String> = sim.people_windows.iter().cloned().collect();
            if !theirs.is_empty() && rng.percent(60) {
                let h = &theirs[rng.below(theirs.len() as u64) as usize];
                sim.person_moves_window(h);
            } else {
                let h = &hosts[rng.below(hosts.len() as u64) as usize];
                sim.person_opens_window(h);
            }
            transitions += 1;
        }
        let truth = sim.observe();
        // An observation round lasts seconds: a host seen early in it is at most 3 s old,
        // and never older than the last step.
        let early = previous
            .as_ref()
            .filter(|(_, at)| sim.now.saturating_sub(*at) <= 3)
            .map(|(o, _)| o);
        let (o, _stale) = unkind_observation(truth, early, rng, faults);
        // The runtime brings its record up to date with what it sees before planning.
        sim.record = crate::record::note_observed(&sim.record, &d.name, &o, sim.now);
        let decision = plan(d, &o, &sim.record, sim.now);
        transitions += 1;
        if debug && decision.step().is_none() {
            let line = format!("{decision:?}");
            if last_quiet.as_deref() != Some(line.as_str()) {
                let staged = crate::plan::stage(d, &o, &sim.record);
                eprintln!(
                    "t={} {line} | stage {} of {} on {:?}",
                    sim.now,
                    staged.master_count,
                    d.master_count,
                    staged.hosts_of(Component::Masters)
                );
                last_quiet = Some(line);
            }
        }
        if trace.len() == 12 {
            trace.pop_front();
        }
        trace.push_back(format!("t={} {decision:?}", sim.now));
        match &decision {
            Decision::Act { step, .. } => {
                // The step is carried out against the current stage of a quorum change.
                let staged = crate::plan::stage(d, &o, &sim.record);
                if let Err(v) = crate::invariants::check_step(&staged, &o, &sim.record, step) {
                    return Err(format!("t={}: planner returned {step}: {v}", sim.now));
                }
                if debug {
                    let seen: Vec<String> = o
                        .hosts
                        .iter()
                        .map(|(h, x)| match x {
                            HostObservation::Reachable { containers, .. } => format!(
                                "{h}:{:?}",
                                containers
                                    .get(&Component::Masters)
                                    .map(|c| (c.state, c.master_quorum))
                            ),
                            HostObservation::Unreachable { .. } => format!("{h}:away"),
                        })
                        .collect();
                    let reason = match &decision {
                        Decision::Act { reason, .. } => reason.as_str(),
                        _ => "",
                    };
                    eprintln!(
                        "t={} {step} ({reason}) | seen {} | master_hosts {:?} | stage {} of {} on {:?} | maintenance seen {:?} own {:?}",
                        sim.now,
                        seen.join(" "),
                        sim.record.master_hosts,
                        staged.master_count,
                        d.master_count,
                        staged.hosts_of(Component::Masters),
                        o.agents.maintenance,
                        sim.record.maintenance.keys().collect::<Vec<_>>()
                    );
                }
                let before = sim.record.clone();
                sim.record = record_before(step, &sim.record, sim.now);
                // Removals are where a host lost half-way hides most (a master counted
                // nowhere): they draw the fault more often.
                let chance = match step {
                    crate::plan::Step::RemoveContainer { .. } => faults.host_midstep_percent * 4,
                    _ => faults.host_midstep_percent,
                };
                let host_lost = faults.host_midstep_percent > 0
                    && rng.percent(chance)
                    && sim.hosts.values().all(|h| h.reachable);
                // Where a lost host goes: right after the record write (4: before any
                // operation, the last look included; on the step's own host every
                // operation then fails, and the step stays in flight), between operations (1..3), or after the last (0).
                let lost_at = host_lost.then(|| rng.below(5) as u8);
                let lost_host = if rng.percent(70) {
                    step.host().to_string()
                } else {
                    hosts[rng.below(hosts.len() as u64) as usize].clone()
                };
                if lost_at == Some(4) {
                    sim.lose_host(&lost_host);
                    transitions += 1;
                }
                if lost_at == Some(4) && lost_host == step.host() {
                    previous = Some((sim.observe(), sim.now));
                    sim.tick(1 + rng.below(3));
                    continue;
                }
                // The executor's last look before a stop: the members the plan counted on
                // are asked again, now. A host lost since the (seconds old) observation
                // fails it, and the step is not carried out; nothing was done, so the
                // record is put back as it was (as the runtime does).
                if !sim.last_look_passes(&staged, &o, step) {
                    sim.last_looks_failed += 1;
                    sim.record = before;
                    if debug {
                        eprintln!(
                            "t={} {step}: the last look failed; nothing stopped",
                            sim.now
                        );
                    }
                    previous = Some((sim.observe(), sim.now));
                    sim.tick(1 + rng.below(3));
                    continue;
                }
                let cut = match lost_at {
                    Some(4) => Some(0),
                    Some(p) => Some(p),
                    None if faults.midway_percent > 0 && rng.percent(faults.midway_percent) => {
                        Some(1 + rng.below(3) as u8)
                    }
                    None => Some(0),
                };
                if let Some(cut) = cut {
                    sim.apply_staged(&staged, step, cut);
                    if cut == 0 {
                        sim.record = crate::record::record_after(step, &sim.record);
                    }
                }
                if lost_at.is_some_and(|p| p < 4) {
                    sim.lose_host(&lost_host);
                    transitions += 1;
                }
                // The next observation begins right after the step: a host seen early in it
                // is seen as it was then (never as it was before the step: the loop observes
                // only once the step returned).
                previous = Some((sim.observe(), sim.now));
                steps += 1;
                sim.tick(1 + rng.below(3));
            }
            Decision::Converged => {
                if faults.crash_percent == 0 {
                    last = decision;
                    break;
                }
                sim.tick(5);
            }
            Decision::Wait { .. } => {
                previous = Some((sim.observe(), sim.now));
                sim.tick(1 + rng.below(5))
            }
            Decision::Blocked { reason, action, .. } => {
                if reason.is_empty() || action.is_empty() {
                    return Err(format!(
                        "t={}: blocked without saying why or what to do",
                        sim.now
                    ));
                }
                sim.tick(10 + rng.below(20));
            }
        }
        if let Some(v) = sim.violations.first() {
            return Err(format!(
                "{v}\nlast decisions:\n{}",
                Vec::from(trace).join("\n")
            ));
        }
        last = decision;
    }
    Ok(DriveOutcome {
        steps,
        transitions,
        last,
        trace: trace.into(),
    })
}
