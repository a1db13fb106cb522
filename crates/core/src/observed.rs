//! The observed model: what the observe layer saw on the hosts and in the components, as
//! plain data. The planner reads only this; it never asks a host anything itself.
//!
//! Times are seconds since the Unix epoch, supplied by the caller.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::Component;

/// A container's state as Docker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Restarting under its restart policy.
    Restarting,
    /// Paused.
    Paused,
    /// Exited (or dead).
    Exited,
}

/// One of this cluster's containers on a host (found by the cluster label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedContainer {
    /// Container name.
    pub name: String,
    /// Role label.
    pub component: Component,
    /// Host label.
    pub host: String,
    /// Image reference it runs.
    pub image: String,
    /// Config-hash label.
    pub config_hash: String,
    /// State.
    pub state: ContainerState,
    /// When it last started (0: never).
    pub started_at: u64,
    /// ZooKeeper server id label.
    pub zk_id: Option<u64>,
    /// `MESOS_QUORUM` label of a master.
    pub master_quorum: Option<u32>,
    /// Docker's detail, for people and status: image id, restarts, last exit.
    #[serde(default)]
    pub detail: ContainerDetail,
}

/// What Docker says of a container beyond what the planner decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDetail {
    /// Image id (`sha256:...`).
    pub image_id: String,
    /// Restarts by its restart policy.
    pub restart_count: i64,
    /// When it last finished (0: never).
    pub finished_at: u64,
    /// Exit code of the last run.
    pub exit_code: i64,
}

impl ObservedContainer {
    /// Running (a paused or restarting container is not serving).
    pub fn running(&self) -> bool {
        self.state == ContainerState::Running
    }

    /// Running, or able to run again without anyone starting it: a `Restarting` container
    /// comes back under its restart policy, a `Paused` one when unpaused. An `Exited` or
    /// `Created` one runs only if started.
    pub fn may_run(&self) -> bool {
        matches!(
            self.state,
            ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
        )
    }
}

/// A Docker host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostObservation {
    /// The engine answered; these are the cluster's containers on it.
    Reachable {
        /// Containers with this cluster's label, by component.
        containers: BTreeMap<Component, ObservedContainer>,
        /// Data volumes of this cluster on the host, by name.
        volumes: Vec<String>,
    },
    /// The engine did not answer in time or refused us; nothing is known of it.
    Unreachable {
        /// Why, for people.
        reason: String,
    },
}

/// ZooKeeper server mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkMode {
    /// Leads the ensemble.
    Leader,
    /// Voting follower.
    Follower,
    /// Non-voting member (a joiner before `reconfig -add`, or an observer).
    Observer,
    /// Answers but is not serving (looking for a leader).
    Looking,
}

/// One ZooKeeper server as it answered (or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkServerObservation {
    /// Answered `ruok` with `imok`.
    pub ok: bool,
    /// Its mode, when known.
    pub mode: Option<ZkMode>,
    /// The `/zookeeper/config` version it reports.
    pub config_version: Option<u64>,
    /// The server id it reports itself (`conf`: `serverId`); it must equal the container's
    /// id label, or the process is not the server the label says (a volume holding another
    /// `myid`).
    #[serde(default)]
    pub server_id: Option<u64>,
}

impl ZkServerObservation {
    /// Answers `imok` and leads or follows: it serves the ensemble's clients.
    pub fn serves(&self) -> bool {
        self.ok && matches!(self.mode, Some(ZkMode::Leader | ZkMode::Follower))
    }
}

/// The ensemble's committed membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkConfig {
    /// Config version (ZooKeeper's compare-and-swap token for `reconfig`).
    pub version: u64,
    /// Voting members: server id → host name.
    pub voters: BTreeMap<u64, String>,
}

/// ZooKeeper as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkObservation {
    /// Committed config as the serving members report it; None if none answers.
    pub committed: Option<ZkConfig>,
    /// Per host.
    pub servers: BTreeMap<String, ZkServerObservation>,
    /// Host of the current leader.
    pub leader: Option<String>,
    /// The highest config version any server reports through `conf`. Newer than
    /// `committed`'s: a reconfig is committing, or `committed` was read from behind; wait.
    #[serde(default)]
    pub newest_config_version: Option<u64>,
    /// Per host, the server id the server reports itself (`serverId=` in `conf`), to be
    /// checked against its container's id label.
    #[serde(default)]
    pub server_ids: BTreeMap<String, u64>,
    /// The committed config's voters' addresses as the config writes them, by server id
    /// (`committed.voters` names a voter by host only when its address is a host's).
    #[serde(default)]
    pub voter_addresses: BTreeMap<u64, String>,
    /// The server id held by each host's ZooKeeper data volume (its id label, which is the
    /// `myid` written in it), by host. A host with a volume but no entry: unknown.
    #[serde(default)]
    pub volume_ids: BTreeMap<String, u64>,
}

/// One Mesos master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterObservation {
    /// `/health` answered 200.
    pub healthy: bool,
    /// `master/elected` is 1.
    pub elected: bool,
    /// `registrar/log/recovered` is 1 on this master: its log replica has caught up (a new
    /// master's replica starts empty).
    pub recovered: bool,
    /// Version it reports.
    pub version: Option<String>,
    /// Its log replica is in the replicated log's group in ZooKeeper (`<zk>/log_replicas`:
    /// an ephemeral node per replica, naming `log-replica(N)@ip:port`). `Some(false)`: a
    /// master cut off from the others for longer than its ZooKeeper session, which still
    /// answers `/health` and its own metrics as before; `None`: the group was not read.
    #[serde(default)]
    pub in_log_group: Option<bool>,
}

impl MasterObservation {
    /// Healthy, its log replica recovered, and not known to be out of the log's group: only
    /// such a master counts toward the log's quorum. What a master says of itself is not
    /// enough: one cut off from its peers says the same as before until it is told.
    pub fn serves(&self) -> bool {
        self.healthy && self.recovered && self.in_log_group != Some(false)
    }
}

/// The masters as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MastersObservation {
    /// Per host.
    pub members: BTreeMap<String, MasterObservation>,
    /// Leader host per the lowest `json.info_` node in ZooKeeper, when it and the leader's
    /// `/master/state` agree.
    pub leader: Option<String>,
}

/// One agent, as the leading master lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentObservation {
    /// `/health` answered 200 and `/state` is not 503.
    pub healthy: bool,
    /// Listed active by the leading master.
    pub registered: bool,
    /// Version the leading master lists for it.
    pub version: Option<String>,
}

/// Mesos maintenance state of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Maintenance {
    /// In the schedule, still up.
    Draining,
    /// Down: its agent is shut down and may not re-register.
    Down,
}

/// The agents as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentsObservation {
    /// Per host.
    pub members: BTreeMap<String, AgentObservation>,
    /// Hosts in the maintenance schedule or down.
    pub maintenance: BTreeMap<String, Maintenance>,
    /// The start (seconds since the epoch) of the maintenance window that lists each host,
    /// from the leader's schedule: a window is told apart by itself, not by its host (the
    /// operator's own window and one a person opened later on the same host differ here).
    #[serde(default)]
    pub windows: BTreeMap<String, u64>,
    /// Both the leader's maintenance status and its schedule were read: only then is a host
    /// missing from them known to be out of maintenance.
    #[serde(default)]
    pub maintenance_read: bool,
    /// Why the leader's maintenance could not be read when the leader refused the operator
    /// (401: credentials missing or wrong), in words naming `spec.httpCredentials` and its
    /// secret, for the wait's message: "did not answer" would send a person to the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_refused: Option<String>,
}

/// One Marathon instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarathonObservation {
    /// `/ping` answered.
    pub healthy: bool,
    /// Version from `/v2/info`.
    pub version: Option<String>,
}

/// Marathon as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarathonsObservation {
    /// Per host.
    pub members: BTreeMap<String, MarathonObservation>,
    /// Leader host from `/v2/leader`.
    pub leader: Option<String>,
    /// Framework `marathon` registered and active with the leading master.
    pub registered: bool,
}

/// One instance of a discovery component (DNS, the load balancer) as its probe answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceMember {
    /// Serves: the DNS server answers `leader.<domain>` with a leader, the load balancer its
    /// health check.
    pub healthy: bool,
}

/// A discovery component as observed: each instance's health, by host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceObservation {
    /// Per host.
    pub members: BTreeMap<String, ServiceMember>,
}

/// Everything observed about one cluster at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// Every host of the document (and hosts where the cluster label was found).
    pub hosts: BTreeMap<String, HostObservation>,
    /// ZooKeeper.
    pub zookeeper: ZkObservation,
    /// Masters.
    pub masters: MastersObservation,
    /// Agents.
    pub agents: AgentsObservation,
    /// Marathon.
    pub marathon: MarathonsObservation,
    /// DNS servers.
    #[serde(default)]
    pub dns: ServiceObservation,
    /// Load balancers.
    #[serde(default)]
    pub load_balancer: ServiceObservation,
    /// Host preflight results, by host: looked at only when a step is about to place a
    /// member on a host (and kept for a while), so a host missing here was not looked at
    /// and holds nothing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub preflight: crate::preflight::Results,
}

impl Observed {
    /// The container of `c` on `host`, if the host answered and has one.
    pub fn container(&self, c: Component, host: &str) -> Option<&ObservedContainer> {
        match self.hosts.get(host) {
            Some(HostObservation::Reachable { containers, .. }) => containers.get(&c),
            _ => None,
        }
    }

    /// Whether the host's engine answered.
    pub fn reachable(&self, host: &str) -> bool {
        matches!(
            self.hosts.get(host),
            Some(HostObservation::Reachable { .. })
        )
    }

    /// What the probes say of the member of `c` on `host`, whatever its container: `Some(true)`
    /// healthy (an agent: also listed active by the leader), `Some(false)` seen unhealthy,
    /// `None` not known (its probes did not answer; for agents, no leader to list it, or its
    /// machine down for maintenance).
    pub fn member_health(&self, c: Component, host: &str) -> Option<bool> {
        match c {
            Component::Zookeeper => self.zookeeper.servers.get(host).map(|s| s.serves()),
            Component::Masters => self.masters.members.get(host).map(|m| m.healthy),
            Component::Agents => {
                let a = self.agents.members.get(host)?;
                // Down for maintenance: out of service on purpose, neither healthy nor ill.
                if self.agents.maintenance.get(host) == Some(&Maintenance::Down) {
                    return None;
                }
                if a.healthy && a.registered {
                    Some(true)
                } else if !a.healthy || self.masters.leader.is_some() {
                    Some(false)
                } else {
                    None
                }
            }
            Component::Marathon => self.marathon.members.get(host).map(|m| m.healthy),
            Component::Dns | Component::LoadBalancer => self
                .service(c)
                .and_then(|s| s.members.get(host))
                .map(|m| m.healthy),
        }
    }

    /// The observation of a discovery component.
    pub fn service(&self, c: Component) -> Option<&ServiceObservation> {
        match c {
            Component::Dns => Some(&self.dns),
            Component::LoadBalancer => Some(&self.load_balancer),
            _ => None,
        }
    }

    /// The observation of a discovery component, to fill it.
    pub fn service_mut(&mut self, c: Component) -> Option<&mut ServiceObservation> {
        match c {
            Component::Dns => Some(&mut self.dns),
            Component::LoadBalancer => Some(&mut self.load_balancer),
            _ => None,
        }
    }

    /// Every container of `c`, by host.
    pub fn containers_of(&self, c: Component) -> Vec<&ObservedContainer> {
        self.hosts
            .values()
            .filter_map(|h| match h {
                HostObservation::Reachable { containers, .. } => containers.get(&c),
                HostObservation::Unreachable { .. } => None,
            })
            .collect()
    }
}
