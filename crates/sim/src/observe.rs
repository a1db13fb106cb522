//! What an observer sees of the model: the same [`Observed`] the runtime's observe layer
//! builds from Docker, ZooKeeper's four-letter words and the Mesos and Marathon APIs, read
//! the way those read real containers (labels, the volume's id label, probes).

use mesos_operator_core::observed::{
    AgentObservation, ContainerDetail, ContainerState, HostObservation, Maintenance,
    MarathonObservation, MasterObservation, Observed, ObservedContainer, ServiceMember, ZkMode,
    ZkServerObservation,
};
use mesos_operator_core::spec::Component;

use crate::model::{
    LogState, SimCluster, SimContainer, AGENT_PING_SECS, AGENT_REREGISTER_SECS, ZK_SYNC_SECS,
};

impl SimCluster {
    /// What an observer would see now.
    pub fn observe(&self) -> Observed {
        let mut o = Observed::default();
        for (h, host) in &self.hosts {
            if !host.reachable || host.operator_cut {
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
                            name: c.name.clone(),
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
            // Told by the leader's own `srvr`, which a host the operator cannot reach does
            // not answer.
            o.zookeeper.leader = self
                .zk_leader
                .clone()
                .filter(|l| self.container_seen(Component::Zookeeper, l).is_some());
        }
        for h in self.hosts.keys() {
            if let Some(server) = self.zk_server_seen(h, quorum) {
                o.zookeeper.servers.insert(h.clone(), server);
            }
        }
        // Masters.
        let qok = self.master_quorum_ok();
        for h in self.hosts.keys() {
            if let Some(master) = self.master_seen(h, qok) {
                o.masters.members.insert(h.clone(), master);
            }
        }
        // The election's node and the leader's `/master/state` must agree: a leader the
        // operator cannot reach is not confirmed.
        o.masters.leader = self
            .master_leader
            .clone()
            .filter(|l| self.container_seen(Component::Masters, l).is_some());
        // Agents.
        for h in self.hosts.keys() {
            if let Some(c) = self.container_seen(Component::Agents, h) {
                let live = self.ready(c);
                o.agents.members.insert(
                    h.clone(),
                    AgentObservation {
                        healthy: live,
                        registered: live && self.agent_listed(h),
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
            if let Some(c) = self.container_seen(Component::Marathon, h) {
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
        // DNS and the load balancer: each instance's own probe.
        for comp in [Component::Dns, Component::LoadBalancer] {
            for h in self.hosts.keys() {
                if self.container_seen(comp, h).is_some() {
                    let healthy = self.discovery_serves(comp, h);
                    if let Some(s) = o.service_mut(comp) {
                        s.members.insert(h.clone(), ServiceMember { healthy });
                    }
                }
            }
        }
        o
    }

    /// What ZooKeeper's four-letter words say of the server on `host` (`quorum`: a majority
    /// of the voters serves), if it has a container on a host that answers.
    pub(crate) fn zk_server_seen(&self, h: &str, quorum: bool) -> Option<ZkServerObservation> {
        let c = self.container_seen(Component::Zookeeper, h)?;
        let lag = self.zk_lag.as_ref().filter(|l| l.until > self.now);
        let ready = self.ready(c);
        let is_voter = self.zk.as_ref().is_some_and(|cfg| {
            c.zk_id
                .is_some_and(|id| cfg.voters.get(&id).map(String::as_str) == Some(h))
        });
        let host = self.hosts.get(h);
        let cut_at = host.and_then(|x| x.peers_cut_at);
        // On the quorum's side of a partition (a voter serving, a joiner beside them).
        let with_quorum = quorum
            && match cut_at {
                None => true,
                Some(_) => c.zk_id.is_some_and(|id| self.zk_serving().contains(&id)),
            };
        let mode = match (ready, with_quorum, is_voter) {
            (false, _, _) => None,
            // Cut off from its peers, a server answers with the mode it had for syncLimit ×
            // tickTime, then looks.
            (true, false, _) => match (cut_at, host.and_then(|x| x.zk_mode_at_cut)) {
                (Some(t), Some(m)) if self.now < t + ZK_SYNC_SECS => Some(m),
                _ => Some(ZkMode::Looking),
            },
            (true, true, true) if self.zk_leader.as_deref() == Some(h) => Some(ZkMode::Leader),
            (true, true, true) => Some(ZkMode::Follower),
            (true, true, false) => Some(ZkMode::Observer),
        };
        let quorum = mode.is_some_and(|m| m != ZkMode::Looking);
        // A server answers a moment before it has synced with the leader.
        let answers = c.state == ContainerState::Running && self.now > c.started_at;
        let lagging = lag.is_some_and(|l| l.host == h);
        Some(ZkServerObservation {
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
        })
    }

    /// What the Mesos master on `host` says of itself (`qok`: the leader has its registry
    /// recovered), if it has a container on a host that answers.
    pub(crate) fn master_seen(&self, h: &str, qok: bool) -> Option<MasterObservation> {
        let c = self.container_seen(Component::Masters, h)?;
        let live = self.ready(c);
        let leads = self.master_leader.as_deref() == Some(h);
        // The group is read through the operator's own ZooKeeper session: a master out of
        // it (its string reaches no serving server, or its session expired behind a
        // partition) is seen there, whatever it says of itself.
        let in_group = self.zk_has_quorum().then(|| self.in_log_group(h));
        Some(MasterObservation {
            healthy: live,
            elected: live && leads,
            recovered: live && self.log(h) == Some(LogState::Voting) && (!leads || qok),
            version: None,
            in_log_group: in_group,
        })
    }

    /// What the master on `host` says of itself, as the executor's last look asks it (it
    /// does not read the log's group): a master cut off from its peers still says it serves.
    pub(crate) fn master_says(&self, h: &str, qok: bool) -> Option<MasterObservation> {
        let mut m = self.master_seen(h, qok)?;
        m.in_log_group = None;
        let c = self.container_seen(Component::Masters, h)?;
        let cut = self.hosts.get(h).and_then(|x| x.peers_cut_at);
        if self.ready(c) && cut.is_some() {
            // Its own metrics are as they were before the cut.
            m.recovered = self.log(h) == Some(LogState::Voting);
        }
        Some(m)
    }

    /// The agent on `host` finds the leading master through its own ZooKeeper string, and
    /// can talk to it (no partition between them).
    pub(crate) fn agent_reaches_leader(&self, h: &str) -> bool {
        let Some(leader) = self.master_leader.as_deref() else {
            return false;
        };
        if self.reaches_zk(Component::Agents, h) && self.same_side(h, leader) {
            return true;
        }
        // Cut off from the leader a moment ago (its own host or the leader's): the leader
        // lists it until it has missed its pings for `agent_ping_timeout` ×
        // `max_agent_ping_timeouts`.
        (self.cut_less_than(h, AGENT_PING_SECS) || self.cut_less_than(leader, AGENT_PING_SECS))
            && self.named_server_serves_elsewhere(Component::Agents, h)
    }

    /// The leading master lists the agent on `host` active: it runs and is ready, the
    /// masters have a quorum, it reaches the leader (or was cut off from it less than the
    /// ping timeout ago), its machine is not down, and it re-registered since the leader
    /// was elected. Whether the operator reaches the agent's host plays no part.
    pub(crate) fn agent_listed(&self, h: &str) -> bool {
        self.container(Component::Agents, h)
            .is_some_and(|c| self.ready(c))
            && self.master_quorum_ok()
            && self.agent_reaches_leader(h)
            && self.maintenance.get(h) != Some(&Maintenance::Down)
            && self.now >= self.master_leader_since + AGENT_REREGISTER_SECS
    }

    /// The leading master's listing of the agent on `host`, as an operator asking the
    /// masters reads it: `None` when it reaches no leader that answers.
    pub(crate) fn leader_listing(&self, h: &str) -> Option<bool> {
        let leader = self.master_leader.as_deref()?;
        self.container_seen(Component::Masters, leader)
            .filter(|c| self.ready(c))?;
        Some(self.agent_listed(h))
    }

    /// For `SIM_DEBUG`: whether the live agent on `host` finds the leading master, and the
    /// ZooKeeper servers its string names.
    pub(crate) fn agent_reach_detail(&self, h: &str) -> (Option<bool>, Vec<String>) {
        match self
            .container(Component::Agents, h)
            .filter(|c| self.ready(c))
        {
            Some(c) => (Some(self.agent_reaches_leader(h)), c.zk_string.clone()),
            None => (None, Vec::new()),
        }
    }

    /// The agent on `host` is in service: it runs, and the leading master can have it
    /// registered (its tasks are the cluster's). One that finds no master serves nobody.
    pub(crate) fn agent_in_service(&self, h: &str) -> bool {
        self.live(Component::Agents, h) && self.agent_reaches_leader(h)
    }

    /// The container of `comp` on `host`, if the host is up and the operator reaches it.
    pub(crate) fn container_seen(&self, comp: Component, host: &str) -> Option<&SimContainer> {
        self.hosts
            .get(host)
            .filter(|h| !h.operator_cut)
            .and(self.container(comp, host))
    }
}
