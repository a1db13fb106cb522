//! Carrying out operations ([`Op`]) on the fleet: Docker hosts, the ZooKeeper ensemble and
//! the Mesos/Marathon APIs. One file per kind of target.
//!
//! Every operation is idempotent (see [`mesos_operator_core::ops`]) and asks the [`Fence`]
//! right before it touches anything, so a replica that lost the right to act stops between
//! two operations instead of finishing a step it no longer owns.

mod backup;
mod docker;
mod last_look;
mod mesos;
pub(crate) mod zk_auth;
mod zookeeper;

use std::time::Duration;

use mesos_operator_core::ops::Op;

use crate::docker::DockerError;
use crate::election::{Deposed, Fence};
use crate::http_auth::{HttpAuth, HttpAuthError};
use crate::observe::HostClients;
use crate::secrets::{Secret, SecretError};

/// Deadline of one HTTP call to a Mesos master or Marathon.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong carrying out an operation.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The replica may not act any more.
    #[error(transparent)]
    Deposed(#[from] Deposed),
    /// A Docker host refused or did not answer.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// The host has no usable client.
    #[error("host {host}: {reason}")]
    NoClient {
        /// Host.
        host: String,
        /// Why.
        reason: String,
    },
    /// Secret material could not be had.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The backup target refused, or a backup's contents do not match their manifest.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// etcd refused or did not answer a write of the step (a backup's record).
    #[error("etcd: {0}")]
    Store(String),
    /// The `httpCredentials` secret cannot be sent as Basic credentials (names the secret,
    /// never its bytes).
    #[error(transparent)]
    HttpCredentials(#[from] HttpAuthError),
    /// ZooKeeper refused the reconfiguration or did not answer.
    #[error("ZooKeeper: {0}")]
    Zookeeper(String),
    /// A Mesos master or Marathon refused or did not answer.
    #[error("{0}")]
    Http(String),
    /// The last look before a stop found fewer members serving than the plan counted on;
    /// nothing was stopped.
    #[error(
        "not stopping the {role} on {stopping}: only {serving} of the other {members} it leaves serve now, fewer than the {at_least} the plan counted on (not serving: {}); planning again from a fresh look",
        .down.join(", ")
    )]
    NotServing {
        /// The component's role (`master`, `zookeeper`).
        role: &'static str,
        /// The host whose member was to be stopped.
        stopping: String,
        /// How many of the others serve now.
        serving: u32,
        /// How many others were asked.
        members: usize,
        /// How many had to serve.
        at_least: u32,
        /// The ones that did not (`ip:port`).
        down: Vec<String>,
    },
    /// An operation reached a module that does not carry it out: a bug in the dispatch,
    /// failed loudly rather than counted as done.
    #[error("the {module} executor was handed a {op} operation, which it does not carry out")]
    Misrouted {
        /// The operation's kind.
        op: &'static str,
        /// The module it reached.
        module: &'static str,
    },
    /// The last look before an agent seen out of service is stopped without its drain found
    /// it serving again, or could not tell; nothing was stopped.
    #[error(
        "not stopping the agent on {stopping} ({agent}): {sign}, and it may run tasks; it is drained first (drainAgents); planning again from a fresh look"
    )]
    ServesAgain {
        /// The host whose agent was to be stopped.
        stopping: String,
        /// The agent's `ip:port`.
        agent: String,
        /// What the look saw.
        sign: &'static str,
    },
}

impl ActError {
    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ActError::Deposed(_) => "deposed",
            ActError::Docker(e) => e.metric_label(),
            ActError::NoClient { .. } => "unreachable",
            ActError::Secret(_) | ActError::HttpCredentials(_) => "secret",
            ActError::Zookeeper(_) => "zookeeper",
            ActError::Http(_) => "http",
            ActError::NotServing { .. } | ActError::ServesAgain { .. } => "not-serving",
            ActError::Misrouted { .. } => "misrouted",
            ActError::Backup(e) => e.metric_label(),
            ActError::Store(_) => "etcd",
        }
    }
}

/// Carries out operations for one cluster.
pub struct Executor<'a> {
    /// The cluster's name (its label on every object).
    pub cluster: &'a str,
    /// Clients of the cluster's hosts.
    pub fleet: &'a HostClients,
    /// The ZooKeeper super user's `user:password`, when the document names one.
    pub zk_super: Option<&'a Secret>,
    /// HTTP client for the Mesos and Marathon APIs.
    pub http: &'a reqwest::Client,
    /// The cluster's `httpCredentials`, sent with every call to its masters and Marathon.
    pub http_auth: Option<&'a HttpAuth>,
    /// The secrets the step's containers take as files, by name.
    pub secret_files: &'a std::collections::BTreeMap<String, Secret>,
    /// The backup target, opened for a step that stores a backup part.
    pub backup: Option<&'a crate::backup::BackupStore>,
}

impl Executor<'_> {
    /// Carries out one operation, after checking the fence.
    pub async fn execute(&self, op: &Op, fence: &Fence) -> Result<(), ActError> {
        crate::failpoint::before_action(op.kind());
        let result = self.execute_fenced(op, fence).await;
        crate::failpoint::after_action(op.kind());
        result
    }

    async fn execute_fenced(&self, op: &Op, fence: &Fence) -> Result<(), ActError> {
        fence.ensure()?;
        match op {
            Op::Pull { .. }
            | Op::Create { .. }
            | Op::Start { .. }
            | Op::Remove { .. }
            | Op::RemoveVolume { .. }
            | Op::Stop { .. } => docker::execute(self, op).await,
            Op::ArchivePart { .. } => backup::archive(self, op).await,
            // Written to etcd by the step's runner, which holds the store.
            Op::RecordBackup { .. } => Err(ActError::Misrouted {
                op: op.kind(),
                module: "fleet",
            }),
            Op::ZkReconfig {
                connect,
                joining,
                leaving,
                expected_version,
            } => {
                zookeeper::reconfig(
                    connect,
                    joining.as_deref(),
                    *leaving,
                    *expected_version,
                    self.zk_super,
                    fence,
                )
                .await
            }
            Op::MaintenanceSchedule { .. }
            | Op::MachineDown { .. }
            | Op::MachineUp { .. }
            | Op::MarathonAbdicate { .. } => {
                let api = mesos::Api {
                    client: self.http,
                    auth: self.http_auth,
                };
                mesos::execute(api, op).await
            }
            Op::RequireServing { .. } => {
                last_look::require(op, self.zk_super, self.http_auth).await
            }
            Op::RequireAgentOutOfService { .. } => {
                let api = mesos::Api {
                    client: self.http,
                    auth: self.http_auth,
                };
                last_look::require_out_of_service(api, op).await
            }
        }
    }
}

/// The HTTP client the executor uses: every request bounded; no redirect followed (a 307
/// names whatever a process on a master's port says: the masters are asked in turn
/// instead); no proxy from the environment.
pub fn http_client() -> Result<reqwest::Client, ActError> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| ActError::Http(format!("cannot build the HTTP client: {e}")))
}
