//! The model cluster's state, and how it moves by itself: containers come up (healthy
//! [`STARTUP_SECS`] after they start), crashed ones come back under their restart policy,
//! empty log replicas catch up, leaders are elected. Masters, agents and Marathon reach
//! ZooKeeper only through the servers their own connection string names, across no
//! partition: the masters' election and replicated log are made of the masters in the log's
//! group. What the operator does to it is in [`crate::execute`]; what an observer sees of it
//! in [`crate::observe`].

use std::collections::{BTreeMap, BTreeSet};

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{ContainerState, Maintenance, ZkConfig};
use mesos_operator_core::plan::majority;
use mesos_operator_core::record::Recorded;
use mesos_operator_core::spec::Component;

use crate::safety::Rules;

/// Seconds a healthy container needs to serve after it starts.
pub const STARTUP_SECS: u64 = 2;

/// How long after a master failover the agents are not yet listed by the new leader.
pub const AGENT_REREGISTER_SECS: u64 = 2;

/// syncLimit × tickTime: how long a ZooKeeper server cut off from its peers goes on
/// answering `srvr` with the mode it had (leader or follower) before it gives up and looks.
pub const ZK_SYNC_SECS: u64 = 4;

/// A ZooKeeper session's timeout: a master cut off from ZooKeeper keeps its ephemeral node
/// in the replicated log's group (and counts there, as the log itself counts it) this long.
pub const ZK_SESSION_SECS: u64 = 10;

/// `agent_ping_timeout` × `max_agent_ping_timeouts` (15 s × 5): how long the leading master
/// lists an agent cut off from it before it marks it unreachable.
pub const AGENT_PING_SECS: u64 = 75;

/// One container in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimContainer {
    /// Its name: operations find a container by name, as Docker does.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Config hash label.
    pub config_hash: String,
    /// State.
    pub state: ContainerState,
    /// Last start.
    pub started_at: u64,
    /// ZooKeeper id label.
    pub zk_id: Option<u64>,
    /// Master quorum label.
    pub master_quorum: Option<u32>,
    /// The ids `ZK_ENSEMBLE` names, with their addresses: a ZooKeeper server reads it only
    /// on its first start on an empty data volume.
    pub zk_first_ensemble: Vec<(u64, String)>,
    /// When it last finished (0: never).
    pub finished_at: u64,
    /// Restarting under its restart policy: runs again at this time.
    pub restart_at: Option<u64>,
    /// The ZooKeeper servers its connection string names (`ip:port`, as the operator wrote
    /// them into `MESOS_ZK`, `MESOS_MASTER` or `MARATHON_ZK`): a master, agent or Marathon
    /// reaches ZooKeeper only through these, read once at start. Empty for ZooKeeper
    /// itself, and for a container whose string could not be read (then it reaches any).
    pub zk_string: Vec<String>,
    /// A Marathon's version, read from its image's tag.
    pub marathon_version: Option<Vec<u64>>,
    /// An agent started with Mesos' `--docker_kill_orphans` (its default, true): when it
    /// starts it recovers, and kills every `mesos-*` Docker container on its engine it has
    /// no record of, another cluster's tasks included.
    pub kills_orphans: bool,
}

/// The version an image's tag names (`marathon:1.10.17` → `[1, 10, 17]`), if it names one.
pub fn image_version(image: &str) -> Option<Vec<u64>> {
    let (_, tag) = image.rsplit_once(':')?;
    let core = tag.trim_start_matches('v').split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse().ok()).collect()
}

/// The ZooKeeper servers (`ip:port`) the connection string of a client container of `comp`
/// names, read from its environment as the component reads it at start.
pub fn zk_string_of(comp: Component, env: &BTreeMap<String, String>) -> Vec<String> {
    let key = match comp {
        Component::Masters => "MESOS_ZK",
        Component::Agents => "MESOS_MASTER",
        Component::Marathon => "MARATHON_ZK",
        Component::Dns => "MESOS_DNS_ZK",
        Component::Zookeeper | Component::LoadBalancer => return Vec::new(),
    };
    // `zk://host:port,host:port/path`
    env.get(key)
        .and_then(|v| v.strip_prefix("zk://"))
        .map(|v| v.split('/').next().unwrap_or(v))
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default()
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
    /// The id label of the ZooKeeper data volume, which is also the `myid` the server on it
    /// runs as (written from the same id on its first start).
    pub zk_volume_id: Option<u64>,
    /// A ZooKeeper server has started on the data volume: it holds its config, and the
    /// ensemble a new container is given is no longer read.
    pub zk_initialized: bool,
    /// The master's log replica on its work volume, if there is one.
    pub master_log: Option<LogState>,
    /// Containers of someone else (must never change).
    pub foreign: Vec<String>,
    /// The operator cannot reach the host (its Docker engine, its members' probes), while
    /// the host is fine: its members go on serving each other and the clients.
    pub operator_cut: bool,
    /// Cut off from the other hosts (not from the operator) since this time: its members
    /// reach only each other, yet answer the operator's probes as before.
    pub peers_cut_at: Option<u64>,
    /// The mode the ZooKeeper server here reported when the cut began, which it keeps
    /// reporting for [`ZK_SYNC_SECS`].
    pub zk_mode_at_cut: Option<mesos_operator_core::observed::ZkMode>,
}

/// Whether a container of `comp` with `env` is an agent that kills orphans when it starts
/// (Mesos' default unless `MESOS_DOCKER_KILL_ORPHANS=false`).
pub fn kills_orphans(comp: Component, env: &BTreeMap<String, String>) -> bool {
    comp == Component::Agents
        && env
            .get(mesos_operator_core::spec::validate::KILL_ORPHANS_ENV)
            .is_none_or(|v| v != "false")
}

/// What runs on every host beside the cluster and must never change: another program's
/// container, and a task of another cluster's agent on the same engine (Mesos names task
/// containers `mesos-*`, and an agent started with `--docker_kill_orphans` kills those it
/// has no record of).
pub fn foreign_on(host: &str) -> Vec<String> {
    vec![
        format!("someone-else-{host}"),
        format!("mesos-someone-elses-task-{host}"),
    ]
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
    /// Highest ZooKeeper id a server ever started with (the model's truth, not what the
    /// operator recorded).
    pub zk_highest_id: u64,
    /// Ids reconfigured out of the ensemble: a removed server serves no client any more,
    /// whatever its container does.
    pub zk_left: BTreeSet<u64>,
    /// What the operator recorded in etcd (written by [`crate::drive`] and
    /// [`SimCluster::run_step`] as the runtime writes it).
    pub record: Recorded,
    /// Every id a server ever started with, to catch reuse.
    pub zk_ids_used: BTreeSet<u64>,
    /// Mesos master leader (sticky while it runs).
    pub master_leader: Option<String>,
    /// When the current master leader took over: agents are listed by it only once they
    /// re-registered, [`AGENT_REREGISTER_SECS`] later.
    pub master_leader_since: u64,
    /// Marathon leader (sticky while it runs).
    pub marathon_leader: Option<String>,
    /// The version Marathon's state in ZooKeeper was last migrated to: a Marathon that
    /// takes the lead migrates it to its own version; an older one refuses to start over it.
    pub marathon_state: Option<Vec<u64>>,
    /// Maintenance state per host.
    pub maintenance: BTreeMap<String, Maintenance>,
    /// The start of the maintenance window listing each host (seconds).
    pub windows: BTreeMap<String, u64>,
    /// Hosts whose maintenance window a person opened (the model's truth: the operator must
    /// never take such a host down or end its window).
    pub people_windows: BTreeSet<String>,
    /// Images that start but never become healthy.
    pub broken_images: BTreeSet<String>,
    /// Images no registry has: a pull fails.
    pub missing_images: BTreeSet<String>,
    /// Current time.
    pub now: u64,
    /// Host addresses (for voters named by address, and for the operations that name a
    /// member by address).
    pub addresses: BTreeMap<String, String>,
    /// Config lines name voters by address (a second network card), not by host name.
    pub name_voters_by_address: bool,
    /// After a reconfig, a follower lags this long (0: never).
    pub zk_lag_secs: u64,
    /// The lag in progress.
    pub zk_lag: Option<ZkLag>,
    /// What the document promises, which the operator's operations are judged by.
    pub rules: Rules,
    /// The step whose operations are being carried out, named in violations.
    pub acting_for: Option<String>,
    /// Safety violations seen (a test fails on any).
    pub violations: Vec<String>,
    /// Steps the executor's last look stopped before anything was stopped (a member the
    /// plan counted on no longer served).
    pub last_looks_failed: u64,
    /// The backup target refuses writes (a full disk, a bucket without permission).
    pub backup_target_broken: bool,
    /// Backup parts stored in the target, by backup id.
    pub backup_parts: BTreeMap<String, BTreeSet<mesos_operator_core::backup::BackupPart>>,
    /// Backups recorded whole (`clusters/<name>/backups/<id>`), in the order recorded.
    pub backups_recorded: Vec<String>,
}

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
                            foreign: foreign_on(h),
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
        sim.rules = Rules::of(d);
        let mut voters = BTreeMap::new();
        for ((comp, host), spec) in &d.containers {
            let mut c = SimContainer {
                name: spec.name.clone(),
                image: spec.image.clone(),
                config_hash: spec.config_hash.clone(),
                state: ContainerState::Running,
                started_at: now.saturating_sub(3600),
                zk_id: None,
                master_quorum: (*comp == Component::Masters).then_some(d.master_quorum),
                zk_first_ensemble: Vec::new(),
                finished_at: 0,
                restart_at: None,
                zk_string: zk_string_of(*comp, &spec.env),
                marathon_version: (*comp == Component::Marathon)
                    .then(|| image_version(&spec.image))
                    .flatten(),
                kills_orphans: kills_orphans(*comp, &spec.env),
            };
            let Some(h) = sim.hosts.get_mut(host) else {
                continue;
            };
            if *comp == Component::Zookeeper {
                let id = voters.len() as u64 + 1;
                c.zk_id = Some(id);
                voters.insert(id, host.clone());
                sim.zk_ids_used.insert(id);
                h.zk_volume_id = Some(id);
                h.zk_initialized = true;
            }
            if *comp == Component::Masters {
                h.master_log = Some(LogState::Voting);
            }
            h.volumes
                .extend(spec.volumes.iter().map(|v| v.volume.clone()));
            h.containers.insert(*comp, c);
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

    /// A discovery instance serves once it runs: a DNS server keeps answering with its last
    /// records while ZooKeeper or the masters have no leader (stale, which its own metrics
    /// say), so a ZooKeeper server or master replaced under it costs it nothing; that its
    /// string names a voter is rule 12's concern, which counts it among the clients.
    pub(crate) fn discovery_serves(&self, comp: Component, host: &str) -> bool {
        self.container(comp, host).is_some_and(|c| self.ready(c))
    }

    /// Running, started long enough ago, on an image that works.
    pub(crate) fn ready(&self, c: &SimContainer) -> bool {
        c.state == ContainerState::Running
            && self.now >= c.started_at + STARTUP_SECS
            && !self.broken_images.contains(&c.image)
            && !self.refuses_marathon_state(c)
    }

    /// A Marathon older than the version its state was migrated to refuses to start (unless
    /// the document says the older version reads it: `allowDowngrade`).
    pub(crate) fn refuses_marathon_state(&self, c: &SimContainer) -> bool {
        match (&c.marathon_version, &self.marathon_state) {
            (Some(v), Some(state)) => v < state && !self.rules.allow_marathon_downgrade,
            _ => false,
        }
    }

    /// The container of `comp` on `host`, if the host answers.
    pub(crate) fn container(&self, comp: Component, host: &str) -> Option<&SimContainer> {
        let h = self.hosts.get(host)?;
        if !h.reachable {
            return None;
        }
        h.containers.get(&comp)
    }

    /// The member of `comp` on `host` serves.
    pub(crate) fn live(&self, comp: Component, host: &str) -> bool {
        self.container(comp, host).is_some_and(|c| self.ready(c))
    }

    /// The host a member address (`ip` or `ip:port`) belongs to.
    pub(crate) fn host_at(&self, address: &str) -> Option<String> {
        let ip = address.rsplit_once(':').map_or(address, |(a, _)| a);
        self.addresses
            .iter()
            .find(|(_, a)| a.as_str() == ip)
            .map(|(h, _)| h.clone())
            .or_else(|| self.hosts.contains_key(ip).then(|| ip.to_string()))
    }

    /// The two hosts' members can talk to each other: the same host, or neither cut off
    /// from its peers.
    pub(crate) fn same_side(&self, a: &str, b: &str) -> bool {
        a == b || (!self.peers_cut(a) && !self.peers_cut(b))
    }

    /// The host is cut off from the other hosts.
    pub(crate) fn peers_cut(&self, host: &str) -> bool {
        self.hosts
            .get(host)
            .is_some_and(|h| h.peers_cut_at.is_some())
    }

    /// The voters whose containers serve: ready containers carrying the voter's id, on its
    /// volume, whether or not they can reach each other.
    fn zk_voters_ready(&self) -> Vec<(u64, String)> {
        let Some(cfg) = &self.zk else {
            return Vec::new();
        };
        cfg.voters
            .iter()
            .filter(|(id, h)| {
                self.container(Component::Zookeeper, h)
                    .is_some_and(|c| self.ready(c) && c.zk_id == Some(**id))
                    && self.hosts.get(*h).and_then(|x| x.zk_volume_id) == Some(**id)
            })
            .map(|(id, h)| (*id, h.clone()))
            .collect()
    }

    /// A host on the side of a partition where a majority of the voters can talk to each
    /// other, if there is one (a host cut off from its peers is a side of its own).
    fn zk_quorum_side(&self) -> Option<String> {
        let n = self.zk.as_ref()?.voters.len();
        let ready = self.zk_voters_ready();
        ready
            .iter()
            .find(|(_, h)| {
                ready.iter().filter(|(_, o)| self.same_side(h, o)).count() >= majority(n)
            })
            .map(|(_, h)| h.clone())
    }

    /// ZooKeeper voters serving: ready, on its volume, and on the side of a partition that
    /// holds a majority of the voters (a voter cut off from the others commits nothing).
    pub(crate) fn zk_serving(&self) -> BTreeSet<u64> {
        let Some(side) = self.zk_quorum_side() else {
            return BTreeSet::new();
        };
        self.zk_voters_ready()
            .into_iter()
            .filter(|(_, h)| self.same_side(h, &side))
            .map(|(id, _)| id)
            .collect()
    }

    /// The voters that serve now: a test's view of the truth, which no observation shows.
    pub fn serving_voters(&self) -> BTreeSet<u64> {
        self.zk_serving()
    }

    /// Ids of every ZooKeeper container serving (voters and synced joiners) on the side of
    /// the quorum.
    pub(crate) fn zk_ready_ids(&self) -> BTreeSet<u64> {
        let side = self.zk_quorum_side();
        self.hosts
            .keys()
            .filter(|h| side.as_ref().is_none_or(|s| self.same_side(h, s)))
            .filter_map(|h| self.container(Component::Zookeeper, h))
            .filter(|c| self.ready(c))
            .filter_map(|c| c.zk_id)
            .collect()
    }

    /// The ZooKeeper server on `host` serves clients: a serving voter, or a synced joiner
    /// on the quorum's side (never a server reconfigured out).
    pub(crate) fn zk_serves_clients(&self, host: &str) -> bool {
        let Some(c) = self.container(Component::Zookeeper, host) else {
            return false;
        };
        let Some(id) = c.zk_id else { return false };
        if self.zk_left.contains(&id) {
            return false;
        }
        let voter = self
            .zk
            .as_ref()
            .is_some_and(|cfg| cfg.voters.contains_key(&id));
        if voter {
            return self.zk_serving().contains(&id)
                && self
                    .zk
                    .as_ref()
                    .and_then(|cfg| cfg.voters.get(&id))
                    .map(String::as_str)
                    == Some(host);
        }
        self.ready(c)
            && self
                .zk_quorum_side()
                .is_some_and(|side| self.same_side(host, &side))
    }

    /// The client container of `comp` on `host` reaches a serving ZooKeeper server through
    /// its own connection string (one it can talk to). A container whose string could not
    /// be read reaches whatever serves on its side.
    pub(crate) fn reaches_zk(&self, comp: Component, host: &str) -> bool {
        let Some(c) = self.container(comp, host) else {
            return false;
        };
        if c.zk_string.is_empty() {
            return self
                .zk_quorum_side()
                .is_some_and(|side| self.same_side(host, &side));
        }
        c.zk_string.iter().any(|s| {
            self.host_at(s)
                .is_some_and(|zh| self.same_side(host, &zh) && self.zk_serves_clients(&zh))
        })
    }

    /// The hosts of the committed voters the client container of `comp` on `host` names in
    /// its connection string (every voter, when its string could not be read).
    pub(crate) fn voters_named(&self, comp: Component, host: &str) -> BTreeSet<String> {
        let voters: BTreeSet<String> = self
            .zk
            .iter()
            .flat_map(|cfg| cfg.voters.values().cloned())
            .collect();
        let Some(c) = self.hosts.get(host).and_then(|h| h.containers.get(&comp)) else {
            return BTreeSet::new();
        };
        if c.zk_string.is_empty() {
            return voters;
        }
        c.zk_string
            .iter()
            .filter_map(|s| self.host_at(s))
            .filter(|h| voters.contains(h))
            .collect()
    }

    /// A majority of the committed voters serves.
    pub(crate) fn zk_has_quorum(&self) -> bool {
        self.zk
            .as_ref()
            .is_some_and(|cfg| self.zk_serving().len() >= majority(cfg.voters.len()))
    }

    /// Masters running (or unknown on unreachable hosts) with their quorum.
    pub(crate) fn masters_running(&self) -> Vec<(String, u32)> {
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

    /// Masters that serve, with their quorum: live, and in the replicated log's group,
    /// which the log and the election are made of (its ZooKeeper string reaches a serving
    /// server). One cut off from ZooKeeper stays in the group until its session expires
    /// ([`ZK_SESSION_SECS`]), as the log counts it.
    pub(crate) fn masters_live(&self) -> Vec<(String, u32)> {
        self.masters_running()
            .into_iter()
            .filter(|(h, _)| self.in_log_group(h))
            .collect()
    }

    /// The master on `host` is live and in the replicated log's group.
    pub(crate) fn in_log_group(&self, host: &str) -> bool {
        if !self.live(Component::Masters, host) {
            return false;
        }
        if self.reaches_zk(Component::Masters, host) {
            return true;
        }
        // Cut off from its peers a moment ago: its session, and its node in the group,
        // live on until the session expires, if it reached ZooKeeper before the cut.
        self.cut_less_than(host, ZK_SESSION_SECS)
            && self.named_server_serves_elsewhere(Component::Masters, host)
    }

    /// The host was cut off from its peers less than `secs` ago.
    pub(crate) fn cut_less_than(&self, host: &str, secs: u64) -> bool {
        self.hosts
            .get(host)
            .and_then(|h| h.peers_cut_at)
            .is_some_and(|t| self.now < t + secs)
    }

    /// The client container of `comp` on `host` names a ZooKeeper server on another host
    /// that serves: what it reached before a partition cut it off.
    pub(crate) fn named_server_serves_elsewhere(&self, comp: Component, host: &str) -> bool {
        self.zk_has_quorum()
            && self.container(comp, host).is_some_and(|c| {
                c.zk_string.is_empty()
                    || c.zk_string.iter().any(|s| {
                        self.host_at(s)
                            .is_some_and(|zh| zh != host && self.zk_serves_clients(&zh))
                    })
            })
    }

    /// Whether the master leader has its registry recovered.
    pub(crate) fn master_quorum_ok(&self) -> bool {
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

    /// The log replica on `host`'s master volume.
    pub(crate) fn log(&self, host: &str) -> Option<LogState> {
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
        let mut killed = Vec::new();
        for (name, h) in self.hosts.iter_mut() {
            let mut recovers_killing = false;
            for c in h.containers.values_mut() {
                if c.state == ContainerState::Restarting && c.restart_at.is_some_and(|t| t <= now) {
                    // Back by itself under its restart policy.
                    c.state = ContainerState::Running;
                    c.started_at = c.restart_at.unwrap_or(now);
                    c.restart_at = None;
                    recovers_killing |= c.kills_orphans;
                }
            }
            if recovers_killing {
                h.foreign.retain(|n| !n.starts_with("mesos-"));
                killed.push(name.clone());
            }
        }
        for host in killed {
            self.violation(format!(
                "the agent on {host} restarted with docker_kill_orphans and killed the tasks of another cluster on its engine"
            ));
        }
        self.settle();
    }

    /// Logs catch up, lags end, leaders are elected; then the ceiling is checked.
    pub(crate) fn settle(&mut self) {
        self.catch_up_logs();
        if self.zk_lag.as_ref().is_some_and(|l| l.until <= self.now) {
            self.zk_lag = None;
        }
        // ZooKeeper leader: sticky while serving, else the lowest serving voter.
        let serving = self.zk_serving();
        let quorum = self.zk_has_quorum();
        match (&self.zk, quorum) {
            (Some(cfg), true) => {
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
            }
            _ => self.zk_leader = None,
        }
        // Master leader: sticky while live, else the first live master; needs ZooKeeper.
        let live: Vec<String> = self.masters_live().into_iter().map(|(h, _)| h).collect();
        if !quorum {
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
            .filter(|h| {
                self.live(Component::Marathon, h) && self.reaches_zk(Component::Marathon, h)
            })
            .cloned()
            .collect();
        if !quorum {
            self.marathon_leader = None;
        } else if !self
            .marathon_leader
            .as_ref()
            .is_some_and(|l| mlive.contains(l))
        {
            self.marathon_leader = mlive.first().cloned();
        }
        // The leader migrates the state to its own version.
        let leading = self
            .marathon_leader
            .as_ref()
            .and_then(|l| self.container(Component::Marathon, l))
            .and_then(|c| c.marathon_version.clone());
        if let Some(v) = leading {
            if self.marathon_state.as_ref().is_none_or(|s| *s < v) {
                self.marathon_state = Some(v);
            }
        }
        self.check_ceiling();
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
            if host.foreign != foreign_on(h) {
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
