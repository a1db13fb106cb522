//! Why an operation failed on the model: the answers the real executor gets from Docker,
//! ZooKeeper and the Mesos and Marathon APIs, kept as data so that the step protocol can
//! tell a failed last look (nothing done, nothing in flight) from a step failed half-way.

use mesos_operator_core::spec::Component;

/// An operation the model refused, as the fleet would have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpFailed {
    /// The Docker host does not answer, or is not a host of the fleet.
    #[error("host {host} does not answer")]
    HostUnreachable {
        /// Host name.
        host: String,
    },
    /// The registry has no such image: the pull fails before anything is stopped.
    #[error("pulling {image} on {host}: manifest unknown")]
    ImageMissing {
        /// Host name.
        host: String,
        /// Image reference.
        image: String,
    },
    /// A container of that name exists with another config hash (the executor's 409): it
    /// must be replaced, which is the planner's decision, not the executor's.
    #[error("container {name} on {host} exists with another configuration")]
    Conflict {
        /// Host name.
        host: String,
        /// Container name.
        name: String,
    },
    /// A start of a container that does not exist (Docker's 404).
    #[error("no container {name} on {host}")]
    NoSuchContainer {
        /// Host name.
        host: String,
        /// Container name.
        name: String,
    },
    /// Docker refuses to remove a volume a container still mounts (its 409).
    #[error("volume {volume} on {host} is in use by a container")]
    VolumeInUse {
        /// Host name.
        host: String,
        /// Volume name.
        volume: String,
    },
    /// No quorum of the ensemble answers: nothing can be reconfigured.
    #[error("ZooKeeper has no quorum")]
    ZkNoQuorum,
    /// The config moved on since the plan, and not by this change (ZooKeeper's BadVersion).
    #[error("reconfig expected config version {expected:#x}, the ensemble is at {found:#x}")]
    VersionMismatch {
        /// The version the plan was made from.
        expected: u64,
        /// The committed version.
        found: u64,
    },
    /// A joining server that does not serve cannot be made a voter (ZooKeeper refuses a
    /// config whose new quorum it cannot reach).
    #[error("server {id} does not serve: it cannot join")]
    JoinerNotServing {
        /// The joiner's id.
        id: u64,
    },
    /// No master among those asked leads with a recovered registry.
    #[error("no leading master among {masters:?} answers")]
    NoLeadingMaster {
        /// The masters asked.
        masters: Vec<String>,
    },
    /// The machine's window has another start than the operator recorded: it is someone
    /// else's, and the executor leaves it alone.
    #[error("the maintenance window of {host} starts at {seen}, not at {mine}: someone else's")]
    NotOurWindow {
        /// Host name.
        host: String,
        /// The start the master shows.
        seen: u64,
        /// The start the operator recorded.
        mine: u64,
    },
    /// Mesos takes down only a machine that is in a maintenance window.
    #[error("{host} is in no maintenance window: Mesos refuses machine/down")]
    NotScheduled {
        /// Host name.
        host: String,
    },
    /// The Marathon instance asked to abdicate does not answer.
    #[error("Marathon at {address} does not answer")]
    MarathonUnreachable {
        /// `ip:port` asked.
        address: String,
    },
    /// The call took effect, but its answer never came back: the executor sees an error.
    #[error("{kind}: no answer (the call may have taken effect)")]
    ReplyLost {
        /// The operation's kind.
        kind: &'static str,
    },
    /// The last look before a stop found fewer members serving than the plan counted on.
    #[error("not stopping the {} on {stopping}: only {serving} of the members the plan counted on serve, fewer than {at_least}", component.role())]
    NotServing {
        /// The component.
        component: Component,
        /// The host whose member was to be stopped.
        stopping: String,
        /// How many serve now.
        serving: u32,
        /// How many had to.
        at_least: u32,
    },
    /// The backup target refused the part (or the record found a part missing).
    #[error("backup {id}: {why}")]
    BackupTarget {
        /// The backup.
        id: String,
        /// What failed.
        why: String,
    },
    /// A part was to be copied from a container that runs: the copy would not be
    /// consistent.
    #[error(
        "backup: the {name} container on {host} runs; a part is copied only from a stopped one"
    )]
    BackupFromRunning {
        /// Host name.
        host: String,
        /// Container name.
        name: String,
    },
    /// The last look before an agent seen out of service is stopped without its drain
    /// found it serving again.
    #[error("not stopping the agent on {stopping}: it answers /health again")]
    ServesAgain {
        /// The host whose agent was to be stopped.
        stopping: String,
    },
}

impl OpFailed {
    /// A last look failed: nothing was stopped, and the step is not taken (the runtime puts
    /// the record back as it was, [`mesos_operator_core::protocol::Outcome::NotTaken`]).
    pub fn is_last_look(&self) -> bool {
        matches!(
            self,
            OpFailed::NotServing { .. } | OpFailed::ServesAgain { .. }
        )
    }
}
