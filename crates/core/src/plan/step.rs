//! Steps: the one action the planner hands to the caller, and the gate that must pass after
//! it before anything else is planned.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::spec::Component;

/// What kind of step: the name records, status, events and metric labels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StepKind {
    /// [`Step::StartContainer`].
    StartContainer,
    /// [`Step::CreateContainer`].
    CreateContainer,
    /// [`Step::CreateContainers`].
    CreateContainers,
    /// [`Step::ReplaceContainer`].
    ReplaceContainer,
    /// [`Step::RemoveContainer`].
    RemoveContainer,
    /// [`Step::ZkStartServer`].
    ZkStartServer,
    /// [`Step::ZkRecreateServer`].
    ZkRecreateServer,
    /// [`Step::ZkBootstrap`].
    ZkBootstrap,
    /// [`Step::ZkAdd`].
    ZkAdd,
    /// [`Step::ZkRemove`].
    ZkRemove,
    /// [`Step::AgentDrain`].
    AgentDrain,
    /// [`Step::AgentDown`].
    AgentDown,
    /// [`Step::AgentUp`].
    AgentUp,
    /// [`Step::MarathonAbdicate`].
    MarathonAbdicate,
    /// [`Step::BackupZookeeper`].
    BackupZookeeper,
    /// [`Step::BackupMaster`].
    BackupMaster,
}

impl StepKind {
    /// Every kind, in declaration order: what the metrics write a zero for before the first
    /// step of each kind, so that a rate over them starts from a known 0.
    pub const ALL: [StepKind; 14] = [
        StepKind::StartContainer,
        StepKind::CreateContainer,
        StepKind::ReplaceContainer,
        StepKind::RemoveContainer,
        StepKind::ZkStartServer,
        StepKind::ZkRecreateServer,
        StepKind::ZkAdd,
        StepKind::ZkRemove,
        StepKind::AgentDrain,
        StepKind::AgentDown,
        StepKind::AgentUp,
        StepKind::MarathonAbdicate,
        StepKind::BackupZookeeper,
        StepKind::BackupMaster,
    ];

    /// The name, e.g. `ReplaceContainer`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::StartContainer => "StartContainer",
            StepKind::CreateContainer => "CreateContainer",
            StepKind::CreateContainers => "CreateContainers",
            StepKind::ReplaceContainer => "ReplaceContainer",
            StepKind::RemoveContainer => "RemoveContainer",
            StepKind::ZkStartServer => "ZkStartServer",
            StepKind::ZkRecreateServer => "ZkRecreateServer",
            StepKind::ZkBootstrap => "ZkBootstrap",
            StepKind::ZkAdd => "ZkAdd",
            StepKind::ZkRemove => "ZkRemove",
            StepKind::AgentDrain => "AgentDrain",
            StepKind::AgentDown => "AgentDown",
            StepKind::AgentUp => "AgentUp",
            StepKind::MarathonAbdicate => "MarathonAbdicate",
            StepKind::BackupZookeeper => "BackupZookeeper",
            StepKind::BackupMaster => "BackupMaster",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for StepKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A ZooKeeper server as it appears in a dynamic config line
/// `server.<id>=<address>:<peer>:<election>:participant;<client>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkMember {
    /// Server id.
    pub id: u64,
    /// Host name.
    pub host: String,
    /// Host address.
    pub address: String,
}

/// One action. Each is one container created, started, replaced or removed, one ZooKeeper
/// reconfiguration, or one Mesos/Marathon API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Step {
    /// Start a stopped container as it is (repair).
    StartContainer {
        /// Component.
        component: Component,
        /// Host.
        host: String,
    },
    /// Create and start a missing container with the desired configuration.
    CreateContainer {
        /// Component.
        component: Component,
        /// Host.
        host: String,
    },
    /// Create and start the missing containers of `component` on several hosts at once,
    /// each as [`Step::CreateContainer`] would: creations that disturb nobody (the masters
    /// of a cluster that has none, missing agents while the masters serve, the Marathon
    /// instances of a cluster that has none). One step in flight; its hosts' operations run
    /// side by side, each host's in order. The planner returns one only when every part is
    /// allowed alone and all of them together ([`crate::invariants`] judges both).
    CreateContainers {
        /// Component.
        component: Component,
        /// Hosts, by name, at least two, each once.
        hosts: Vec<String>,
    },
    /// Stop and remove a container and create it again with the desired configuration on
    /// the same data volume. With `reset_registry` the master's replicated log is wiped
    /// first (only when the document accepts it).
    ReplaceContainer {
        /// Component.
        component: Component,
        /// Host.
        host: String,
        /// Wipe `<work_dir>/replicated_log` before starting.
        reset_registry: bool,
    },
    /// Stop and remove a container; with `remove_volume`, its data volume too.
    RemoveContainer {
        /// Component.
        component: Component,
        /// Host.
        host: String,
        /// Remove the data volume too (a master that must never come back, a ZooKeeper
        /// server already out of the config).
        remove_volume: bool,
    },
    /// Start a ZooKeeper server whose dynamic config is `ensemble` (the committed voters
    /// plus itself). With one member it bootstraps a new ensemble of one. Its data volume
    /// is created fresh.
    ZkStartServer {
        /// Host.
        host: String,
        /// Fresh server id, never used before in this cluster.
        id: u64,
        /// Initial dynamic config: the committed members, then this server.
        ensemble: Vec<ZkMember>,
    },
    /// Start the first servers of a new ensemble at once, every one with the same first
    /// dynamic config naming exactly them (ZooKeeper's own static start): no ensemble exists
    /// anywhere, so none can be split, and the config is in force from their first start;
    /// it serves once a majority of them runs. Each part is a [`Step::ZkStartServer`] with
    /// the whole ensemble; one step in flight, its hosts side by side. A batch cut short is
    /// carried out again as it was recorded (same ids, same ensemble): a server whose
    /// container exists is left as it is.
    ZkBootstrap {
        /// The first ensemble: fresh ids, one server per host.
        ensemble: Vec<ZkMember>,
    },
    /// Create again the container of voter `id` on `host`, on its existing data volume,
    /// which holds that id: finishing a replacement cut short between removing the old
    /// container and creating the new one. Not a new server: the id is the voter's own.
    ZkRecreateServer {
        /// Host.
        host: String,
        /// The voter's server id (its volume's `myid`).
        id: u64,
    },
    /// `reconfig -add` of a synced joiner, conditional on the config version.
    ZkAdd {
        /// The joining member.
        member: ZkMember,
        /// Config version the plan was made from.
        expected_version: u64,
    },
    /// `reconfig -remove`, conditional on the config version.
    ZkRemove {
        /// Server id.
        id: u64,
        /// Host.
        host: String,
        /// Config version the plan was made from.
        expected_version: u64,
    },
    /// Add a host to the Mesos maintenance schedule (it becomes DRAINING).
    AgentDrain {
        /// Host.
        host: String,
    },
    /// `machine/down`: the agent is shut down and may not re-register.
    AgentDown {
        /// Host.
        host: String,
    },
    /// `machine/up`: the host leaves maintenance.
    AgentUp {
        /// Host.
        host: String,
    },
    /// `DELETE /v2/leader` on the Marathon leader so a standby takes over before the leader's
    /// container is replaced.
    MarathonAbdicate {
        /// Host of the leader.
        host: String,
    },
    /// The first part of backup `id` ([`crate::backup`]): the ZooKeeper follower on `host`
    /// is stopped (the last look first: every other voter serves), its data directory
    /// copied to the backup target with its last zxid, and started again.
    BackupZookeeper {
        /// Host of the follower.
        host: String,
        /// The backup.
        id: String,
        /// Why it is taken (recorded with it when it starts).
        reason: crate::backup::BackupReason,
    },
    /// The second and last part of backup `id`: the master on `host` (not the leader) is
    /// stopped briefly (every other master serves), its replicated log copied to the
    /// target, started again; then the backup is recorded in etcd and retention applied.
    BackupMaster {
        /// Host of the master.
        host: String,
        /// The backup.
        id: String,
    },
}

impl Step {
    /// The step's kind, as records, status, events and metric labels name it.
    pub fn kind(&self) -> StepKind {
        match self {
            Step::StartContainer { .. } => StepKind::StartContainer,
            Step::CreateContainer { .. } => StepKind::CreateContainer,
            Step::CreateContainers { .. } => StepKind::CreateContainers,
            Step::ReplaceContainer { .. } => StepKind::ReplaceContainer,
            Step::RemoveContainer { .. } => StepKind::RemoveContainer,
            Step::ZkStartServer { .. } => StepKind::ZkStartServer,
            Step::ZkRecreateServer { .. } => StepKind::ZkRecreateServer,
            Step::ZkBootstrap { .. } => StepKind::ZkBootstrap,
            Step::ZkAdd { .. } => StepKind::ZkAdd,
            Step::ZkRemove { .. } => StepKind::ZkRemove,
            Step::AgentDrain { .. } => StepKind::AgentDrain,
            Step::AgentDown { .. } => StepKind::AgentDown,
            Step::AgentUp { .. } => StepKind::AgentUp,
            Step::MarathonAbdicate { .. } => StepKind::MarathonAbdicate,
            Step::BackupZookeeper { .. } => StepKind::BackupZookeeper,
            Step::BackupMaster { .. } => StepKind::BackupMaster,
        }
    }

    /// The host the step acts on; for [`Step::CreateContainers`], its first host
    /// ([`Step::hosts`] names them all).
    pub fn host(&self) -> &str {
        match self {
            Step::CreateContainers { hosts, .. } => hosts.first().map_or("", String::as_str),
            Step::ZkBootstrap { ensemble } => ensemble.first().map_or("", |m| m.host.as_str()),
            Step::StartContainer { host, .. }
            | Step::CreateContainer { host, .. }
            | Step::ReplaceContainer { host, .. }
            | Step::RemoveContainer { host, .. }
            | Step::ZkStartServer { host, .. }
            | Step::ZkRecreateServer { host, .. }
            | Step::ZkRemove { host, .. }
            | Step::AgentDrain { host }
            | Step::AgentDown { host }
            | Step::AgentUp { host }
            | Step::MarathonAbdicate { host }
            | Step::BackupZookeeper { host, .. }
            | Step::BackupMaster { host, .. } => host,
            Step::ZkAdd { member, .. } => &member.host,
        }
    }

    /// Every host the step acts on.
    pub fn hosts(&self) -> Vec<&str> {
        match self {
            Step::CreateContainers { hosts, .. } => hosts.iter().map(String::as_str).collect(),
            Step::ZkBootstrap { ensemble } => ensemble.iter().map(|m| m.host.as_str()).collect(),
            _ => vec![self.host()],
        }
    }

    /// The hosts, as status, events and logs show them: `h1` or `h1,h2,h3`.
    pub fn hosts_text(&self) -> String {
        self.hosts().join(",")
    }

    /// The step as the single steps it is made of: a batch's parts, each as it would be
    /// taken alone; any other step is its own only part.
    pub fn parts(&self) -> Vec<Step> {
        match self {
            Step::CreateContainers { component, hosts } => hosts
                .iter()
                .map(|h| Step::CreateContainer {
                    component: *component,
                    host: h.clone(),
                })
                .collect(),
            Step::ZkBootstrap { ensemble } => ensemble
                .iter()
                .map(|m| Step::ZkStartServer {
                    host: m.host.clone(),
                    id: m.id,
                    ensemble: ensemble.clone(),
                })
                .collect(),
            _ => vec![self.clone()],
        }
    }

    /// The component the step acts on.
    pub fn component(&self) -> Component {
        match self {
            Step::StartContainer { component, .. }
            | Step::CreateContainer { component, .. }
            | Step::CreateContainers { component, .. }
            | Step::ReplaceContainer { component, .. }
            | Step::RemoveContainer { component, .. } => *component,
            Step::ZkStartServer { .. }
            | Step::ZkBootstrap { .. }
            | Step::ZkRecreateServer { .. }
            | Step::ZkAdd { .. }
            | Step::ZkRemove { .. }
            | Step::BackupZookeeper { .. } => Component::Zookeeper,
            Step::BackupMaster { .. } => Component::Masters,
            Step::AgentDrain { .. } | Step::AgentDown { .. } | Step::AgentUp { .. } => {
                Component::Agents
            }
            Step::MarathonAbdicate { .. } => Component::Marathon,
        }
    }

    /// Whether the step takes a running member out of service.
    pub fn is_disruptive(&self) -> bool {
        matches!(
            self,
            Step::ReplaceContainer { .. }
                | Step::RemoveContainer { .. }
                | Step::ZkRemove { .. }
                | Step::AgentDown { .. }
                | Step::MarathonAbdicate { .. }
        )
    }

    /// The backup this step takes a part of, if it is one.
    pub fn backup_id(&self) -> Option<&str> {
        match self {
            Step::BackupZookeeper { id, .. } | Step::BackupMaster { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The health gate that must pass after this step before the next is planned.
    pub fn gate(&self) -> &'static str {
        match self.component() {
            Component::Zookeeper => match self {
                Step::ZkStartServer { .. } => {
                    "the server answers imok and serves as a synced (non-voting) member"
                }
                Step::ZkBootstrap { .. } => {
                    "a majority of the first servers serves the first config, then every one of them"
                }
                Step::ZkAdd { .. } | Step::ZkRemove { .. } => {
                    "every member reports the new config version"
                }
                _ => "the server rejoins as leader or follower on the committed config",
            },
            Component::Masters => {
                "the master answers /health, a leader is elected and its registrar/log/recovered is 1"
            }
            Component::Agents => {
                "the agent answers /health and the leading master lists it active with the desired version"
            }
            Component::Marathon => {
                "Marathon answers /ping, /v2/leader names a leader and the framework is active"
            }
            Component::Dns => "the DNS server answers its HTTP API and names a leading master",
            Component::LoadBalancer => {
                "the load balancer answers its health check with HAProxy running"
            }
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::StartContainer { component, host } => {
                write!(
                    f,
                    "start the stopped {} container on {host}",
                    component.role()
                )
            }
            Step::CreateContainer { component, host } => {
                write!(f, "create the {} container on {host}", component.role())
            }
            Step::CreateContainers { component, hosts } => write!(
                f,
                "create the {} containers on {} at once",
                component.role(),
                hosts.join(", ")
            ),
            Step::ReplaceContainer {
                component,
                host,
                reset_registry,
            } => {
                write!(f, "replace the {} container on {host}", component.role())?;
                if *reset_registry {
                    write!(f, ", wiping its replicated log")?;
                }
                Ok(())
            }
            Step::RemoveContainer {
                component,
                host,
                remove_volume,
            } => {
                write!(f, "remove the {} container on {host}", component.role())?;
                if *remove_volume {
                    write!(f, " and its data volume")?;
                }
                Ok(())
            }
            Step::ZkStartServer { host, id, ensemble } => {
                if ensemble.len() == 1 {
                    write!(
                        f,
                        "bootstrap ZooKeeper server {id} on {host} as an ensemble of one"
                    )
                } else {
                    write!(
                        f,
                        "start ZooKeeper server {id} on {host} joining the {} committed members",
                        ensemble.len() - 1
                    )
                }
            }
            Step::ZkBootstrap { ensemble } => write!(
                f,
                "bootstrap ZooKeeper servers {} on {} at once, with one first config naming them all",
                ensemble
                    .iter()
                    .map(|m| m.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                ensemble
                    .iter()
                    .map(|m| m.host.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Step::ZkRecreateServer { host, id } => write!(
                f,
                "re-create the container of ZooKeeper server {id} on {host} on its data volume (finishing its replacement)"
            ),
            Step::ZkAdd {
                member,
                expected_version,
            } => write!(
                f,
                "reconfig: add server {} on {} as a voter (config version {expected_version:#x})",
                member.id, member.host
            ),
            Step::ZkRemove {
                id,
                host,
                expected_version,
            } => write!(
                f,
                "reconfig: remove server {id} on {host} (config version {expected_version:#x})"
            ),
            Step::AgentDrain { host } => {
                write!(f, "schedule maintenance for the agent host {host}")
            }
            Step::AgentDown { host } => write!(f, "put the agent host {host} down for maintenance"),
            Step::AgentUp { host } => write!(f, "bring the agent host {host} up from maintenance"),
            Step::MarathonAbdicate { host } => {
                write!(f, "ask the Marathon leader on {host} to abdicate")
            }
            Step::BackupZookeeper { host, id, .. } => write!(
                f,
                "backup {id}: stop the ZooKeeper follower on {host}, copy its data, start it again"
            ),
            Step::BackupMaster { host, id } => write!(
                f,
                "backup {id}: stop the master on {host}, copy its replicated log, start it again, record the backup"
            ),
        }
    }
}
