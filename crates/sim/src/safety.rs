//! The model's own record of what must never happen, judged on the model's truth after every
//! operation the operator carries out (and, for the masters' ceiling, after every change of
//! any kind), independently of both the planner and `mesos_operator_core::invariants`.
//!
//! Judging each operation, not each step, is the point: a quorum lost between the removal
//! and the creation of a replacement is lost, whether or not the step ends well.

use std::collections::BTreeSet;

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{ContainerState, Maintenance};
use mesos_operator_core::plan::majority;
use mesos_operator_core::spec::Component;

use crate::model::SimCluster;

/// What the document promises, which some rules depend on. The driver sets it from the
/// stage each step is carried out against (`SimCluster::run_step`); a runtime adapter
/// sets it from the document ([`Rules::of`]), which judges the masters' floor a little
/// more loosely during a quorum change (the document's quorum, not the stage's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// `rollout.drainAgents`: an agent that serves is stopped only on a machine that is
    /// down for maintenance.
    pub drain_agents: bool,
    /// The masters' quorum being moved to: the floor of live masters while they change is
    /// the lower of it and the lowest quorum running. `None`: the running quorums alone.
    pub master_quorum: Option<u32>,
    /// `masters.acceptRegistryReset`: stopping a lone quorum-1 master to grow from it is the
    /// outage the document accepted.
    pub accept_registry_reset: bool,
    /// `marathon.allowDowngrade`: the document says an older Marathon reads the state a
    /// newer one migrated.
    pub allow_marathon_downgrade: bool,
    /// Instances of DNS and of the load balancer the document asks for: with two or more,
    /// one that serves always serves (a single one cannot be replaced without a gap).
    pub discovery_instances: [u32; 2],
}

impl Rules {
    /// The rules `d` sets.
    pub fn of(d: &Desired) -> Rules {
        Rules {
            drain_agents: d.drain_agents,
            master_quorum: Some(d.master_quorum),
            accept_registry_reset: d.accept_registry_reset,
            allow_marathon_downgrade: d.allow_marathon_downgrade,
            discovery_instances: DISCOVERY.map(|c| d.hosts_of(c).len() as u32),
        }
    }
}

/// What the rules compare against: the cluster right before an operation.
pub(crate) struct Before {
    zk_ready: BTreeSet<u64>,
    zk_quorum: bool,
    masters_live: Vec<(String, u32)>,
    /// Client containers (masters, agents, Marathon) that reach ZooKeeper through a voter
    /// their string names: (component, host, container name, last start).
    clients_named_a_voter: Vec<(Component, String, String, u64)>,
    /// DNS and load-balancer instances that serve, per component of [`DISCOVERY`].
    discovery_serving: [usize; 2],
}

/// The components that reach ZooKeeper through a connection string of their own.
const CLIENTS: [Component; 4] = [
    Component::Masters,
    Component::Agents,
    Component::Marathon,
    Component::Dns,
];

/// The discovery components, whose clients query any instance.
const DISCOVERY: [Component; 2] = [Component::Dns, Component::LoadBalancer];

impl SimCluster {
    /// The state the rules compare an operation's effect against.
    pub(crate) fn before_op(&self) -> Before {
        Before {
            zk_ready: self.zk_ready_ids(),
            zk_quorum: self.zk_has_quorum(),
            masters_live: self.masters_live(),
            clients_named_a_voter: self.clients_naming_a_voter(),
            discovery_serving: DISCOVERY.map(|c| self.discovery_serving(c)),
        }
    }

    /// Instances of a discovery component that serve now.
    fn discovery_serving(&self, comp: Component) -> usize {
        self.hosts
            .keys()
            .filter(|h| self.discovery_serves(comp, h))
            .count()
    }

    /// With two or more instances asked for, an operation never takes away the last one
    /// that serves (clients would find no DNS server, no load balancer).
    fn check_discovery_serving(&mut self, what: &str, before: [usize; 2]) {
        for (i, comp) in DISCOVERY.into_iter().enumerate() {
            if before[i] > 0
                && self.rules.discovery_instances[i] >= 2
                && self.discovery_serving(comp) == 0
            {
                self.violation(format!("{what} left no {comp} instance serving"));
            }
        }
    }

    /// Client containers that can run and reach ZooKeeper through a committed voter their
    /// connection string names.
    fn clients_naming_a_voter(&self) -> Vec<(Component, String, String, u64)> {
        let mut v = Vec::new();
        for (h, host) in &self.hosts {
            for comp in CLIENTS {
                let Some(c) = host.containers.get(&comp) else {
                    continue;
                };
                let runs = matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
                );
                // It reaches ZooKeeper through a voter now: one already cut off (its string
                // names only servers that are gone) loses nothing more.
                if runs && !self.voters_named(comp, h).is_empty() && self.reaches_zk(comp, h) {
                    v.push((comp, h.clone(), c.name.clone(), c.started_at));
                }
            }
        }
        v
    }

    /// Records a violation, naming the time and the step being carried out.
    pub(crate) fn violation(&mut self, what: String) {
        let during = self
            .acting_for
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        self.violations
            .push(format!("t={}: {what}{during}", self.now));
    }

    /// Rules of a stop, right before the member of `comp` on `host` is stopped.
    pub(crate) fn check_stop(&mut self, comp: Component, host: &str) {
        // With drainAgents, an agent that serves (its tasks run) is stopped only on a
        // machine that is down for maintenance (safety.md, agents).
        if comp == Component::Agents && self.rules.drain_agents && self.agent_in_service(host) {
            let down = self.maintenance.get(host) == Some(&Maintenance::Down);
            if !down {
                self.violation(format!(
                    "stopped the serving agent on {host} without machine/down (drainAgents)"
                ));
            }
        }
    }

    /// Rules of an operation's effect: ZooKeeper kept its quorum, a live master stopped
    /// left the floor of live masters.
    pub(crate) fn check_after(
        &mut self,
        what: &str,
        stopped: Option<(Component, &str)>,
        before: &Before,
    ) {
        if before.zk_quorum && !self.zk_quorum_ignoring_startup(&before.zk_ready) {
            self.violation(format!("{what} cost ZooKeeper its quorum"));
        }
        if let Some((Component::Masters, host)) = stopped {
            self.check_master_floor(what, host, &before.masters_live);
        }
        self.check_clients_keep_a_voter(what, &before.clients_named_a_voter);
        self.check_marathon_versions(what);
        self.check_discovery_serving(what, before.discovery_serving);
    }

    /// Old and new Marathon never side by side as leader candidates: every Marathon that can
    /// run (out of sight too) runs one version.
    fn check_marathon_versions(&mut self, what: &str) {
        let versions: BTreeSet<Vec<u64>> = self
            .hosts
            .values()
            .filter_map(|h| h.containers.get(&Component::Marathon))
            .filter(|c| {
                matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
                )
            })
            .filter_map(|c| c.marathon_version.clone())
            .collect();
        if versions.len() > 1 {
            self.violation(format!(
                "{what} left Marathon versions {versions:?} able to run side by side"
            ));
        }
    }

    /// Safety rule 12: no operation leaves a master, agent or Marathon that still runs (the
    /// same container, not one the operation replaced) with a ZooKeeper string naming no
    /// voter, when it reached ZooKeeper through one before: it is cut off for good, and nothing
    /// but a restart onto a new string brings it back (a master out of the log's group, an
    /// agent that finds no master, a Marathon that cannot elect).
    fn check_clients_keep_a_voter(
        &mut self,
        what: &str,
        before: &[(Component, String, String, u64)],
    ) {
        let mut cut_off = Vec::new();
        for (comp, h, name, started) in before {
            let same = self
                .hosts
                .get(h)
                .and_then(|x| x.containers.get(comp))
                .is_some_and(|c| {
                    &c.name == name
                        && c.started_at == *started
                        && matches!(
                            c.state,
                            ContainerState::Running
                                | ContainerState::Restarting
                                | ContainerState::Paused
                        )
                });
            if same && self.voters_named(*comp, h).is_empty() {
                cut_off.push(format!("the {comp} on {h}"));
            }
        }
        if !cut_off.is_empty() {
            self.violation(format!(
                "{what} left {} with a ZooKeeper string naming no voter",
                cut_off.join(", ")
            ));
        }
    }

    fn check_master_floor(&mut self, what: &str, host: &str, before_live: &[(String, u32)]) {
        let Some((_, stopped_quorum)) = before_live.iter().find(|(h, _)| h == host) else {
            return; // it did not serve: stopping it costs nothing
        };
        // Live masters that could not form a quorum for any of them lose nothing.
        let could_serve = before_live
            .iter()
            .any(|(_, q)| before_live.len() as u32 >= *q);
        if !could_serve {
            return;
        }
        // The registry reset of a lone quorum-1 master, growing from it: the outage the
        // document accepted.
        let reset = before_live.len() == 1
            && *stopped_quorum == 1
            && self.rules.accept_registry_reset
            && self.rules.master_quorum.is_some_and(|q| q > 1);
        if reset {
            return;
        }
        let left = before_live.iter().filter(|(h, _)| h != host).count() as u32;
        let lowest = before_live.iter().map(|(_, q)| *q).min().unwrap_or(1);
        let floor = self.rules.master_quorum.map_or(lowest, |q| lowest.min(q));
        if left < floor {
            self.violation(format!("{what} left {left} live masters, quorum {floor}"));
        }
    }

    /// Quorum right after an operation: voters that served before and still run count as
    /// up (a container just started does not serve yet; one untouched still serves).
    fn zk_quorum_ignoring_startup(&self, before_ready: &BTreeSet<u64>) -> bool {
        let Some(cfg) = &self.zk else { return false };
        let still = cfg
            .voters
            .iter()
            .filter(|(id, h)| {
                before_ready.contains(id)
                    && self.container(Component::Zookeeper, h).is_some_and(|c| {
                        c.state == ContainerState::Running && c.zk_id == Some(**id)
                    })
            })
            .count();
        still >= majority(cfg.voters.len())
    }

    /// More masters able to run than the log allows for the lowest quorum among them
    /// (out-of-sight, restarting and paused ones included) could split the log.
    pub(crate) fn check_ceiling(&mut self) {
        let running = self.masters_running();
        if let Some(q) = running.iter().map(|(_, q)| *q).min() {
            if running.len() as u32 >= 2 * q {
                self.violation(format!(
                    "{} masters running with quorum {q}: the replicated log can split",
                    running.len()
                ));
            }
        }
    }
}
