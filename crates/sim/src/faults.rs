//! The faults the model takes: what happens to the fleet behind the operator's back
//! (crashes, hosts lost and back, partitions, people's maintenance and containers), how an observation of it can be
//! wrong (a host seen seconds early, probes timing out), and the chances of each in a drive.

use mesos_operator_core::observed::{
    ContainerState, HostObservation, Maintenance, Observed, ZkMode,
};
use mesos_operator_core::spec::Component;

use crate::model::SimCluster;
use crate::rng::Rng;

impl SimCluster {
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

    /// A person runs `docker stop` on one of the cluster's containers: it exits and, stopped
    /// by hand, stays down (Docker's restart policy does not bring back a container a person
    /// stopped) until someone starts it.
    pub fn person_stops(&mut self, comp: Component, host: &str) {
        let now = self.now;
        if let Some(c) = self
            .hosts
            .get_mut(host)
            .filter(|h| h.reachable)
            .and_then(|h| h.containers.get_mut(&comp))
        {
            if matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting
            ) {
                c.state = ContainerState::Exited;
                c.finished_at = now;
                c.restart_at = None;
            }
        }
        self.settle();
    }

    /// A person runs `docker rm -f` on one of the cluster's containers: it is gone, its
    /// named volumes stay (`rm` without `-v` never removes a named volume).
    pub fn person_removes(&mut self, comp: Component, host: &str) {
        if let Some(h) = self.hosts.get_mut(host).filter(|h| h.reachable) {
            h.containers.remove(&comp);
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

    /// Fault: `host` is cut off from the other hosts, not from the operator: its members
    /// reach only each other, yet answer the operator's probes as before (a ZooKeeper
    /// server with its old mode for syncLimit × tickTime, a master saying it serves).
    pub fn cut_from_peers(&mut self, host: &str) {
        let quorum = self.zk_has_quorum();
        let mode = self
            .zk_server_seen(host, quorum)
            .and_then(|s| s.mode)
            .filter(|m| matches!(m, ZkMode::Leader | ZkMode::Follower));
        let now = self.now;
        if let Some(h) = self.hosts.get_mut(host) {
            if h.peers_cut_at.is_none() {
                h.peers_cut_at = Some(now);
                h.zk_mode_at_cut = mode;
            }
        }
        self.settle();
    }

    /// Fault: the operator cannot reach `host` (its Docker engine, its members' probes)
    /// while the host is fine: its members go on serving each other.
    pub fn cut_from_operator(&mut self, host: &str) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.operator_cut = true;
        }
        self.settle();
    }

    /// Every partition heals.
    pub fn heal_partitions(&mut self) {
        for h in self.hosts.values_mut() {
            h.operator_cut = false;
            h.peers_cut_at = None;
            h.zk_mode_at_cut = None;
        }
        self.settle();
    }

    /// Whether any partition is in force.
    pub fn partitioned(&self) -> bool {
        self.hosts
            .values()
            .any(|h| h.operator_cut || h.peers_cut_at.is_some())
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
}

/// Faults injected while driving.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Percent chance per iteration that a random container crashes (it comes back by
    /// itself under its restart policy).
    pub crash_percent: u64,
    /// Percent chance per step that the operator dies part-way through it: after a random
    /// number of its operations (what the runtime's failpoint `kill-after-action` does on
    /// the fleet, the last record write included), inside a `Create` or `Remove` between
    /// its Docker calls, or with a reconfig's or Mesos call's reply lost.
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
    /// Percent chance per iteration that a person stops (`docker stop`) or removes
    /// (`docker rm -f`, volumes kept) one of the cluster's containers: unlike a crash,
    /// nothing brings it back but the operator.
    pub container_people_percent: u64,
    /// Percent chance per step that a host is lost *during* it: after the record write,
    /// between two of its operations, or after the last one (the operator, cut short there
    /// or not, finds the host gone at its next look). Mostly the step's own host.
    pub host_midstep_percent: u64,
    /// Percent chance per iteration of a partition (ten times that, while one is in force,
    /// that it heals): a host cut off from the others while it still answers the operator,
    /// or the operator cut off from a host that is fine.
    pub partition_percent: u64,
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
            container_people_percent: 1,
            host_midstep_percent: 3,
            partition_percent: 1,
        }
    }
}

/// An observation that spans time and has holes: one host is seen as it was in `early`
/// (the look right after the last step, when the driver drew
/// [`Faults::stale_host_percent`] then: observed early, the others later), and, with the
/// faults' chances, one host's probes time out.
pub(crate) fn unkind_observation(
    mut o: Observed,
    early: Option<&Observed>,
    rng: &mut Rng,
    faults: Faults,
) -> (Observed, Option<String>) {
    let hosts: Vec<String> = o.hosts.keys().cloned().collect();
    if hosts.is_empty() {
        return (o, None);
    }
    let mut stale = None;
    if let Some(p) = early {
        {
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
