//! Docker hosts: one bollard client per host, over a unix socket, TCP with mutual TLS, or
//! (only when the document says `insecure: true`) plain TCP.
//!
//! Every call has a deadline: a frozen host accepts TCP connections and then answers nothing,
//! so without one a single paused host would stall the observation of the whole fleet. A
//! host that does not answer is reported as unreachable; it is never an error that stops
//! the others. Only containers and volumes carrying this cluster's label are listed or
//! changed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, HostConfig, Mount, MountType, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, InspectContainerOptions,
    ListContainersOptions, ListVolumesOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use mesos_operator_core::desired::{labels, ContainerSpec};
use mesos_operator_core::observed::{ContainerDetail, ContainerState, ObservedContainer};
use mesos_operator_core::spec::{Component, Host};

use crate::metrics::Metrics;
use crate::secrets::{SecretError, SecretSource};

/// Deadline of one Docker API call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline of an image pull.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(300);
/// Grace period a container gets to stop before it is killed (as `docker stop`).
pub const STOP_GRACE_SECS: i32 = 10;
/// The client's own timeout. Every call is bounded by its own deadline above; the client's
/// must be longer than the longest of them, or it cuts pulls and stops off after a few
/// seconds and they read as "unreachable".
const CLIENT_TIMEOUT_SECS: u64 = 600;

/// What can go wrong with a host.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The TLS material could not be had.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The endpoint is not one we can use.
    #[error("host {host}: {reason}")]
    Config {
        /// Host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The engine did not answer (timeout, refused, TLS handshake failed).
    #[error("host {host} unreachable: {reason}")]
    Unreachable {
        /// Host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The engine answered with an error.
    #[error("host {host}: {reason}")]
    Api {
        /// Host.
        host: String,
        /// HTTP status of the answer (0 for an error inside a stream).
        status: u16,
        /// What Docker said.
        reason: String,
    },
}

impl DockerError {
    /// The HTTP status, when the engine answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            DockerError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            DockerError::Secret(_) | DockerError::Config { .. } => "config",
            DockerError::Unreachable { .. } => "unreachable",
            DockerError::Api { .. } => "api_error",
        }
    }
}

/// What one host holds of a cluster.
#[derive(Debug, Clone, Default)]
pub struct HostSeen {
    /// Containers by component.
    pub containers: BTreeMap<Component, ObservedContainer>,
    /// Named data volumes.
    pub volumes: Vec<String>,
    /// The server id label of the host's ZooKeeper data volume, if it has one.
    pub zk_volume_id: Option<u64>,
}

/// One of Docker's events about a container of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// What happened (`create`, `start`, `die`, `destroy`, ...).
    pub action: String,
    /// The container's name.
    pub name: String,
}

/// How long an image this operator pulled on a host counts as pulled: a step's pull within
/// this time of an earlier one (a pull ahead of the step, or the previous step's) asks the
/// engine whether it still has the image instead of asking the registry again.
pub const PULL_FRESH: Duration = Duration::from_secs(600);

/// A connected Docker host.
pub struct HostClient {
    /// Host name from the document.
    pub name: String,
    docker: Docker,
    /// Images pulled here by this operator, and when.
    pulled: std::sync::Mutex<HashMap<String, tokio::time::Instant>>,
    /// Where every request to the engine is counted (`mesos_operator_docker_requests_total`),
    /// when the caller serves metrics.
    metrics: Option<Metrics>,
}

/// Connects to a host's engine (no request is made yet).
pub async fn connect(host: &Host, secrets: &SecretSource) -> Result<HostClient, DockerError> {
    let ep = &host.docker.endpoint;
    let cfg = |reason: String| DockerError::Config {
        host: host.name.clone(),
        reason,
    };
    let timeout = CLIENT_TIMEOUT_SECS;
    let docker = if let Some(path) = ep.strip_prefix("unix://") {
        Docker::connect_with_unix(path, timeout, bollard::API_DEFAULT_VERSION)
            .map_err(|e| cfg(e.to_string()))?
    } else if ep.starts_with("tcp://") {
        match &host.docker.tls {
            Some(t) => {
                let config = crate::tls::client_config(
                    &secrets.get(&t.ca).await?,
                    &secrets.get(&t.cert).await?,
                    &secrets.get(&t.key).await?,
                )
                .map_err(|e| cfg(e.to_string()))?;
                crate::tls::docker_client(ep, config, timeout).map_err(|e| cfg(e.to_string()))?
            }
            None if host.docker.insecure => {
                Docker::connect_with_http(ep, timeout, bollard::API_DEFAULT_VERSION)
                    .map_err(|e| cfg(e.to_string()))?
            }
            None => return Err(cfg("tcp:// without tls needs insecure: true".into())),
        }
    } else {
        return Err(cfg(format!("unsupported endpoint {ep}")));
    };
    Ok(HostClient {
        name: host.name.clone(),
        docker,
        pulled: std::sync::Mutex::new(HashMap::new()),
        metrics: None,
    })
}

fn parse_time(s: &str) -> u64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp().max(0) as u64)
        .unwrap_or(0)
}

fn component_of(role: &str) -> Option<Component> {
    Component::ALL.into_iter().find(|c| c.role() == role)
}

impl HostClient {
    /// The engine's API, for callers with calls of their own (preflight, doctor); each call
    /// goes through [`HostClient::call`] for its deadline.
    pub(crate) fn api(&self) -> &Docker {
        &self.docker
    }

    /// The same client, counting each of its requests in `metrics` by host and result.
    pub fn counted(mut self, metrics: Metrics) -> HostClient {
        self.metrics = Some(metrics);
        self
    }

    /// Counts one finished request.
    fn count<T>(&self, r: &Result<T, DockerError>) {
        if let Some(m) = &self.metrics {
            let result = match r {
                Ok(_) => "ok",
                Err(e) => e.metric_label(),
            };
            m.docker_request(&self.name, result);
        }
    }

    /// Every request but the long-lived ones (event streams, pulls) goes through here: a
    /// deadline, the error classified, and the request counted.
    pub(crate) async fn call<T, F>(&self, timeout: Duration, f: F) -> Result<T, DockerError>
    where
        F: std::future::Future<Output = Result<T, bollard::errors::Error>>,
    {
        let r = match tokio::time::timeout(timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(&self.name, e)),
            Err(_) => Err(DockerError::Unreachable {
                host: self.name.clone(),
                reason: format!("no answer within {}s", timeout.as_secs()),
            }),
        };
        self.count(&r);
        r
    }

    /// Checks that the engine answers.
    pub async fn ping(&self) -> Result<(), DockerError> {
        self.call(CALL_TIMEOUT, self.docker.ping())
            .await
            .map(|_| ())
    }

    /// The engine's events about this cluster's containers, as they happen (Docker's
    /// `/events`, filtered by the cluster's label). Long-lived: no deadline covers the
    /// stream itself (it is silent while nothing happens); the caller checks the engine
    /// answers first ([`HostClient::ping`]) and re-opens the stream when it ends.
    pub fn events(
        &self,
        cluster: &str,
    ) -> impl futures_util::Stream<Item = Result<ContainerEvent, DockerError>> + Send + 'static
    {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "label".to_string(),
                vec![format!("{}={cluster}", labels::CLUSTER)],
            ),
        ]);
        let host = self.name.clone();
        self.docker
            .events(Some(EventsOptions {
                filters: Some(filters),
                ..Default::default()
            }))
            .map(move |item| match item {
                Ok(e) => Ok(ContainerEvent {
                    action: e.action.unwrap_or_default(),
                    name: e
                        .actor
                        .and_then(|a| a.attributes)
                        .and_then(|mut a| a.remove("name"))
                        .unwrap_or_default(),
                }),
                Err(e) => Err(classify(&host, e)),
            })
    }

    /// This cluster's containers (by component) and data volumes on the host.
    pub async fn observe(&self, cluster: &str) -> Result<HostSeen, DockerError> {
        let filter = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={cluster}", labels::CLUSTER)],
        )]);
        let list = self
            .call(
                CALL_TIMEOUT,
                self.docker.list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(filter.clone()),
                    ..Default::default()
                })),
            )
            .await?;
        let mut out = BTreeMap::new();
        let mut names: BTreeMap<Component, Vec<String>> = BTreeMap::new();
        for summary in list {
            let Some(id) = summary.id else { continue };
            let labels_map = summary.labels.unwrap_or_default();
            let Some(component) = labels_map.get(labels::ROLE).and_then(|r| component_of(r)) else {
                continue;
            };
            let inspect = match self
                .call(
                    CALL_TIMEOUT,
                    self.docker
                        .inspect_container(&id, None::<InspectContainerOptions>),
                )
                .await
            {
                Ok(i) => i,
                // Removed between the list and the inspect: it is gone, not an error.
                Err(e) if e.status() == Some(404) => continue,
                Err(e) => return Err(e),
            };
            let st = inspect.state.unwrap_or_default();
            use bollard::models::ContainerStateStatusEnum as S;
            let state = match st.status {
                Some(S::RUNNING) => ContainerState::Running,
                Some(S::RESTARTING) => ContainerState::Restarting,
                Some(S::PAUSED) => ContainerState::Paused,
                Some(S::CREATED) => ContainerState::Created,
                _ => ContainerState::Exited,
            };
            let name = inspect
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            names.entry(component).or_default().push(name.clone());
            out.insert(
                component,
                ObservedContainer {
                    name,
                    component,
                    host: labels_map
                        .get(labels::HOST)
                        .cloned()
                        .unwrap_or_else(|| self.name.clone()),
                    image: summary.image.unwrap_or_default(),
                    config_hash: labels_map
                        .get(labels::CONFIG_HASH)
                        .cloned()
                        .unwrap_or_default(),
                    state,
                    // A container its restart policy restarted counts from its creation:
                    // health gates measure time since the step, and a crash loop that
                    // reset the clock on every restart would never reach healthTimeout.
                    started_at: if inspect.restart_count.unwrap_or(0) > 0 {
                        inspect.created.as_deref().map(parse_time).unwrap_or(0)
                    } else {
                        st.started_at.as_deref().map(parse_time).unwrap_or(0)
                    },
                    zk_id: labels_map.get(labels::ZK_ID).and_then(|v| v.parse().ok()),
                    master_quorum: labels_map
                        .get(labels::MASTER_QUORUM)
                        .and_then(|v| v.parse().ok()),
                    detail: ContainerDetail {
                        image_id: inspect.image.unwrap_or_default(),
                        restart_count: inspect.restart_count.unwrap_or(0),
                        finished_at: st.finished_at.as_deref().map(parse_time).unwrap_or(0),
                        exit_code: st.exit_code.unwrap_or(0),
                    },
                },
            );
        }
        // Two containers of one role for this cluster on one host (a hand-run copy with the
        // labels, a leftover under another name): which one runs is not for the operator to
        // guess, since an unseen master can break the replicated log's quorum. The host is
        // not acted on until a person removes one.
        if let Some((c, both)) = names.iter().find(|(_, v)| v.len() > 1) {
            return Err(DockerError::Config {
                host: self.name.clone(),
                reason: format!(
                    "{} {} containers of cluster {cluster} on this host ({}); remove all but {cluster}-{}-{} (docker rm -f)",
                    both.len(),
                    c.role(),
                    both.join(", "),
                    c.role(),
                    self.name
                ),
            });
        }
        let vols = self
            .call(
                CALL_TIMEOUT,
                self.docker.list_volumes(Some(ListVolumesOptions {
                    filters: Some(filter),
                })),
            )
            .await?;
        let vols = vols.volumes.unwrap_or_default();
        let zk_volume_id = vols
            .iter()
            .filter(|v| {
                v.labels.get(labels::ROLE).map(String::as_str) == Some(Component::Zookeeper.role())
            })
            .find_map(|v| v.labels.get(labels::ZK_ID).and_then(|id| id.parse().ok()));
        Ok(HostSeen {
            containers: out,
            volumes: vols.into_iter().map(|v| v.name).collect(),
            zk_volume_id,
        })
    }

    /// Pulls an image unless this operator pulled it here within [`PULL_FRESH`] and the
    /// engine still has it; a missing tag or an unreachable registry is a clear error.
    pub async fn pull(&self, image: &str) -> Result<(), DockerError> {
        if self.pulled_recently(image) {
            match self
                .call(CALL_TIMEOUT, self.docker.inspect_image(image))
                .await
            {
                Ok(_) => return Ok(()),
                // Removed since (or the engine cannot say): pulled again below.
                Err(_) => self.forget_pull(image),
            }
        }
        self.pull_from_registry(image).await?;
        self.pulled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(image.to_string(), tokio::time::Instant::now());
        Ok(())
    }

    /// Whether this operator pulled `image` here within [`PULL_FRESH`].
    pub fn pulled_recently(&self, image: &str) -> bool {
        self.pulled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(image)
            .is_some_and(|at| at.elapsed() < PULL_FRESH)
    }

    fn forget_pull(&self, image: &str) {
        self.pulled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(image);
    }

    async fn pull_from_registry(&self, image: &str) -> Result<(), DockerError> {
        let opts = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.create_image(Some(opts), None, None);
        let host = self.name.clone();
        let drain = async {
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    return Err(classify(&host, e));
                }
            }
            Ok(())
        };
        let r = match tokio::time::timeout(PULL_TIMEOUT, drain).await {
            Ok(r) => r.map_err(|e| match e {
                DockerError::Api {
                    host,
                    status,
                    reason,
                } => DockerError::Api {
                    host,
                    status,
                    reason: format!("pulling {image}: {reason}"),
                },
                other => other,
            }),
            Err(_) => Err(DockerError::Unreachable {
                host: self.name.clone(),
                reason: format!(
                    "pull of {image} did not finish in {}s",
                    PULL_TIMEOUT.as_secs()
                ),
            }),
        };
        self.count(&r);
        r
    }

    /// Creates the container of `spec` (with `extra` labels and environment, e.g. a
    /// ZooKeeper id) and its named volumes, all labelled as this cluster's, and starts it.
    pub async fn create_and_start(
        &self,
        cluster: &str,
        spec: &ContainerSpec,
        extra_env: &BTreeMap<String, String>,
        extra_labels: &BTreeMap<String, String>,
    ) -> Result<(), DockerError> {
        self.create(cluster, spec, extra_env, extra_labels).await?;
        self.start(&spec.name).await
    }

    /// Creates the container of `spec` and its named volumes (existing volumes are kept:
    /// creating a volume that exists is a no-op in Docker), without starting it.
    async fn create(
        &self,
        cluster: &str,
        spec: &ContainerSpec,
        extra_env: &BTreeMap<String, String>,
        extra_labels: &BTreeMap<String, String>,
    ) -> Result<(), DockerError> {
        let mut lbl: HashMap<String, String> = HashMap::from([
            (labels::CLUSTER.to_string(), cluster.to_string()),
            (labels::ROLE.to_string(), spec.component.role().to_string()),
            (labels::HOST.to_string(), spec.host.clone()),
            (labels::CONFIG_HASH.to_string(), spec.config_hash.clone()),
        ]);
        lbl.extend(extra_labels.clone());
        for v in &spec.volumes {
            let req = VolumeCreateRequest {
                name: Some(v.volume.clone()),
                labels: Some(lbl.clone()),
                ..Default::default()
            };
            self.call(CALL_TIMEOUT, self.docker.create_volume(req))
                .await?;
        }
        let mut mounts: Vec<Mount> = spec
            .volumes
            .iter()
            .map(|v| Mount {
                target: Some(v.path.clone()),
                source: Some(v.volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            })
            .collect();
        mounts.extend(spec.binds.iter().map(|b| Mount {
            target: Some(b.path.clone()),
            source: Some(b.host_path.clone()),
            typ: Some(MountType::BIND),
            read_only: Some(b.read_only),
            ..Default::default()
        }));
        let env: Vec<String> = spec
            .env
            .iter()
            .chain(extra_env.iter())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(env),
            labels: Some(lbl),
            host_config: Some(HostConfig {
                network_mode: Some(if spec.host_network {
                    "host".into()
                } else {
                    "bridge".into()
                }),
                mounts: Some(mounts),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        self.call(CALL_TIMEOUT, self.docker.create_container(Some(opts), body))
            .await?;
        Ok(())
    }

    /// Starts a container; one already running counts as started.
    pub async fn start(&self, name: &str) -> Result<(), DockerError> {
        match self
            .call(
                CALL_TIMEOUT,
                self.docker
                    .start_container(name, None::<StartContainerOptions>),
            )
            .await
        {
            Err(e) if e.status() == Some(304) => Ok(()),
            other => other,
        }
    }

    /// Stops a container (with [`STOP_GRACE_SECS`]), keeping it; stopped or gone already is
    /// done.
    pub async fn stop(&self, name: &str) -> Result<(), DockerError> {
        let stop = StopContainerOptions {
            t: Some(STOP_GRACE_SECS),
            ..Default::default()
        };
        let deadline = Duration::from_secs(STOP_GRACE_SECS as u64) + CALL_TIMEOUT * 2;
        match self
            .call(deadline, self.docker.stop_container(name, Some(stop)))
            .await
        {
            Err(e) if matches!(e.status(), Some(304 | 404)) => Ok(()),
            other => other,
        }
    }

    /// Whether container `name` runs (or restarts); gone is not running.
    pub async fn is_running(&self, name: &str) -> Result<bool, DockerError> {
        match self
            .call(
                CALL_TIMEOUT,
                self.docker
                    .inspect_container(name, None::<InspectContainerOptions>),
            )
            .await
        {
            Ok(c) => Ok(c
                .state
                .is_some_and(|s| s.running == Some(true) || s.restarting == Some(true))),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A tar of `path` in container `name` (running or not), read whole within `timeout`.
    pub async fn download(
        &self,
        name: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, DockerError> {
        let opts = bollard::query_parameters::DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let read = async {
            let mut stream = self.docker.download_from_container(name, Some(opts));
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(&chunk?);
            }
            Ok(out)
        };
        self.call(timeout, read).await
    }

    /// Stops and removes a container; with `volume`, removes that named volume too. A
    /// container or volume that is gone already counts as removed.
    pub async fn remove(&self, name: &str, volume: Option<&str>) -> Result<(), DockerError> {
        self.remove_container(name).await?;
        if let Some(v) = volume {
            self.remove_volume(v).await?;
        }
        Ok(())
    }

    /// Stops (with [`STOP_GRACE_SECS`]) and removes a container; gone already is done.
    pub async fn remove_container(&self, name: &str) -> Result<(), DockerError> {
        let stop = StopContainerOptions {
            t: Some(STOP_GRACE_SECS),
            ..Default::default()
        };
        // The engine answers a stop only after the grace period: the deadline covers it.
        let stop_deadline = Duration::from_secs(STOP_GRACE_SECS as u64) + CALL_TIMEOUT * 2;
        match self
            .call(stop_deadline, self.docker.stop_container(name, Some(stop)))
            .await
        {
            Ok(()) => {}
            // 304: not running; 404: gone.
            Err(e) if matches!(e.status(), Some(304 | 404)) => {}
            Err(e) => return Err(e),
        }
        let rm = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        match self
            .call(CALL_TIMEOUT, self.docker.remove_container(name, Some(rm)))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            // 409: removal already in progress.
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes a named volume; gone already is done.
    pub async fn remove_volume(&self, volume: &str) -> Result<(), DockerError> {
        match self
            .call(
                CALL_TIMEOUT,
                self.docker
                    .remove_volume(volume, None::<RemoveVolumeOptions>),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates (if missing) and starts the container of `spec`, idempotently: a container
    /// of that name that carries the expected config hash counts as created (and is
    /// started if it is not running); one with another hash is an error, never replaced
    /// here (replacing is the planner's decision). `files` are put into the container
    /// before its first start (secret material that must not be in its environment).
    pub async fn ensure_running(
        &self,
        cluster: &str,
        spec: &ContainerSpec,
        extra_env: &BTreeMap<String, String>,
        extra_labels: &BTreeMap<String, String>,
        files: &[(String, Vec<u8>)],
    ) -> Result<(), DockerError> {
        match self
            .call(
                CALL_TIMEOUT,
                self.docker
                    .inspect_container(&spec.name, None::<InspectContainerOptions>),
            )
            .await
        {
            Ok(existing) => {
                let labels = existing
                    .config
                    .as_ref()
                    .and_then(|c| c.labels.as_ref())
                    .cloned()
                    .unwrap_or_default();
                if labels.get(labels::CONFIG_HASH) != Some(&spec.config_hash) {
                    return Err(DockerError::Api {
                        host: self.name.clone(),
                        status: 409,
                        reason: format!(
                            "container {} exists with another configuration; it must be replaced first",
                            spec.name
                        ),
                    });
                }
                let running = existing
                    .state
                    .as_ref()
                    .and_then(|s| s.running)
                    .unwrap_or(false);
                if !running {
                    // Created by a step cut short before its files went in: put them (again;
                    // it overwrites) before the start.
                    for (path, content) in files {
                        self.put_file(&spec.name, path, content).await?;
                    }
                    self.start(&spec.name).await?;
                }
                Ok(())
            }
            Err(e) if e.status() == Some(404) => {
                self.create(cluster, spec, extra_env, extra_labels).await?;
                for (path, content) in files {
                    self.put_file(&spec.name, path, content).await?;
                }
                self.start(&spec.name).await
            }
            Err(e) => Err(e),
        }
    }

    /// Puts one file (mode 0400, in a 0700 directory) into a container's file system
    /// through the archive API, so its content is in neither the environment nor a command
    /// line.
    async fn put_file(
        &self,
        container: &str,
        path: &str,
        content: &[u8],
    ) -> Result<(), DockerError> {
        let bad = |e: std::io::Error| DockerError::Config {
            host: self.name.clone(),
            reason: format!("cannot pack {path}: {e}"),
        };
        let rel = path.trim_start_matches('/');
        let mut tar = tar::Builder::new(Vec::new());
        if let Some((dir, _)) = rel.rsplit_once('/') {
            let mut dh = tar::Header::new_gnu();
            dh.set_entry_type(tar::EntryType::Directory);
            dh.set_size(0);
            dh.set_mode(0o700);
            dh.set_cksum();
            tar.append_data(&mut dh, format!("{dir}/"), std::io::empty())
                .map_err(bad)?;
        }
        let mut fh = tar::Header::new_gnu();
        fh.set_size(content.len() as u64);
        fh.set_mode(0o400);
        fh.set_cksum();
        tar.append_data(&mut fh, rel, content).map_err(bad)?;
        let archive = tar.into_inner().map_err(bad)?;
        let opts = bollard::query_parameters::UploadToContainerOptions {
            path: "/".to_string(),
            ..Default::default()
        };
        self.call(
            CALL_TIMEOUT,
            self.docker.upload_to_container(
                container,
                Some(opts),
                bollard::body_full(archive.into()),
            ),
        )
        .await
    }
}

fn classify(host: &str, e: bollard::errors::Error) -> DockerError {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError {
            status_code,
            message,
        } => DockerError::Api {
            host: host.into(),
            status: status_code,
            reason: format!("{status_code}: {message}"),
        },
        E::DockerStreamError { error } => DockerError::Api {
            host: host.into(),
            status: 0,
            reason: error,
        },
        other => DockerError::Unreachable {
            host: host.into(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Uri;
    use axum::response::IntoResponse;

    /// A Docker engine that lists `listed` (id, name, role) and answers inspect for the
    /// ids in `inspectable` only (the others were removed in between).
    async fn engine(
        listed: Vec<(&'static str, &'static str, &'static str)>,
        inspectable: Vec<&'static str>,
    ) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let listed = listed.clone();
            let inspectable = inspectable.clone();
            async move {
                let path = uri.path().to_string();
                let json = |v: serde_json::Value| {
                    ([("content-type", "application/json")], v.to_string()).into_response()
                };
                if path.ends_with("/containers/json") {
                    return json(serde_json::Value::Array(
                        listed
                            .iter()
                            .map(|(id, name, role)| {
                                serde_json::json!({
                                    "Id": id, "Names": [format!("/{name}")], "Image": "m:1",
                                    "Labels": {
                                        "io.mesos-operator.cluster": "c1",
                                        "io.mesos-operator.role": role,
                                        "io.mesos-operator.host": "h1",
                                    }
                                })
                            })
                            .collect(),
                    ));
                }
                if path.ends_with("/volumes") {
                    return json(serde_json::json!({"Volumes": [], "Warnings": []}));
                }
                for (id, name, _) in &listed {
                    if path.ends_with(&format!("/containers/{id}/json")) {
                        if !inspectable.contains(id) {
                            return (
                                axum::http::StatusCode::NOT_FOUND,
                                [("content-type", "application/json")],
                                format!(r#"{{"message":"No such container: {id}"}}"#),
                            )
                                .into_response();
                        }
                        return json(serde_json::json!({
                            "Id": id, "Name": format!("/{name}"), "RestartCount": 0,
                            "State": {"Status": "running", "Running": true, "StartedAt": "2026-12-01T00:00:00Z"},
                            "Image": "sha256:abc",
                        }));
                    }
                }
                (axum::http::StatusCode::NOT_FOUND, "").into_response()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    async fn client(addr: &str) -> HostClient {
        let host = mesos_operator_core::spec::Host {
            name: "h1".into(),
            address: "127.0.0.1".into(),
            docker: mesos_operator_core::spec::DockerEndpoint {
                endpoint: format!("tcp://{addr}"),
                tls: None,
                insecure: true,
            },
            ignore_preflight: vec![],
        };
        connect(&host, &SecretSource::Dir("/nonexistent".into()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_container_removed_between_list_and_inspect_is_gone_not_an_unreachable_host() {
        let addr = engine(
            vec![
                ("aaa", "c1-master-h1", "master"),
                ("bbb", "c1-agent-h1", "agent"),
            ],
            vec!["aaa"],
        )
        .await;
        let seen = client(&addr).await.observe("c1").await.expect("observed");
        assert!(seen.containers.contains_key(&Component::Masters));
        assert!(!seen.containers.contains_key(&Component::Agents));
    }

    #[tokio::test]
    async fn two_containers_of_one_role_are_both_named_and_never_merged() {
        let addr = engine(
            vec![
                ("aaa", "c1-master-h1", "master"),
                ("ccc", "someone-elses-master", "master"),
            ],
            vec!["aaa", "ccc"],
        )
        .await;
        let err = client(&addr)
            .await
            .observe("c1")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 master containers")
                && err.contains("c1-master-h1")
                && err.contains("someone-elses-master"),
            "{err}"
        );
    }

    /// An engine that counts registry pulls (`/images/create`) and answers an image
    /// inspect with 200 while `has_image` is set.
    async fn pulling_engine(
        pulls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        has_image: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> String {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (pulls, has_image) = (pulls.clone(), has_image.clone());
            async move {
                let path = uri.path().to_string();
                if path.ends_with("/images/create") {
                    pulls.fetch_add(1, Ordering::SeqCst);
                    has_image.store(true, Ordering::SeqCst);
                    return (
                        [("content-type", "application/json")],
                        "{\"status\":\"ok\"}\n",
                    )
                        .into_response();
                }
                if path.contains("/images/") && path.ends_with("/json") {
                    if has_image.load(Ordering::SeqCst) {
                        return (
                            [("content-type", "application/json")],
                            "{\"Id\":\"sha256:1\"}",
                        )
                            .into_response();
                    }
                    return (
                        axum::http::StatusCode::NOT_FOUND,
                        [("content-type", "application/json")],
                        "{\"message\":\"No such image\"}",
                    )
                        .into_response();
                }
                (axum::http::StatusCode::NOT_FOUND, "").into_response()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn an_image_pulled_ahead_is_not_pulled_again_unless_the_engine_lost_it() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let pulls = std::sync::Arc::new(AtomicUsize::new(0));
        let has_image = std::sync::Arc::new(AtomicBool::new(false));
        let c = client(&pulling_engine(pulls.clone(), has_image.clone()).await).await;
        c.pull("reg:5000/m:1").await.expect("pulled");
        assert_eq!(pulls.load(Ordering::SeqCst), 1);
        assert!(c.pulled_recently("reg:5000/m:1"));
        // The step's own pull right after a pull ahead: the engine has it, no registry call.
        c.pull("reg:5000/m:1").await.expect("pulled");
        assert_eq!(pulls.load(Ordering::SeqCst), 1, "not pulled twice");
        // Someone removed the image from the engine: pulled again.
        has_image.store(false, Ordering::SeqCst);
        c.pull("reg:5000/m:1").await.expect("pulled");
        assert_eq!(
            pulls.load(Ordering::SeqCst),
            2,
            "pulled again once the engine lost it"
        );
        // Another tag is its own pull.
        c.pull("reg:5000/m:2").await.expect("pulled");
        assert_eq!(pulls.load(Ordering::SeqCst), 3);
    }
}
