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
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions,
    ListVolumesOptions, RemoveContainerOptions, RemoveVolumeOptions, StartContainerOptions,
    StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use mesos_operator_core::desired::{labels, ContainerSpec};
use mesos_operator_core::observed::{ContainerDetail, ContainerState, ObservedContainer};
use mesos_operator_core::spec::{Component, Host};

use crate::secrets::{PrivateDir, SecretError, SecretSource};

/// Deadline of one Docker API call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline of an image pull.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(300);

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
        /// What Docker said.
        reason: String,
    },
}

/// A connected Docker host.
pub struct HostClient {
    /// Host name from the document.
    pub name: String,
    docker: Docker,
    /// TLS files live as long as the client.
    _tls: Option<PrivateDir>,
}

/// Connects to a host's engine (no request is made yet).
pub async fn connect(host: &Host, secrets: &SecretSource) -> Result<HostClient, DockerError> {
    let ep = &host.docker.endpoint;
    let cfg = |reason: String| DockerError::Config {
        host: host.name.clone(),
        reason,
    };
    let timeout = CALL_TIMEOUT.as_secs();
    let (docker, tls) = if let Some(path) = ep.strip_prefix("unix://") {
        let d = Docker::connect_with_unix(path, timeout, bollard::API_DEFAULT_VERSION)
            .map_err(|e| cfg(e.to_string()))?;
        (d, None)
    } else if ep.starts_with("tcp://") {
        match &host.docker.tls {
            Some(t) => {
                let dir = PrivateDir::new()?;
                let ca = dir.write("ca.pem", &secrets.get(&t.ca).await?)?;
                let cert = dir.write("cert.pem", &secrets.get(&t.cert).await?)?;
                let key = dir.write("key.pem", &secrets.get(&t.key).await?)?;
                let d = Docker::connect_with_ssl(
                    ep,
                    &key,
                    &cert,
                    &ca,
                    timeout,
                    bollard::API_DEFAULT_VERSION,
                )
                .map_err(|e| cfg(e.to_string()))?;
                (d, Some(dir))
            }
            None if host.docker.insecure => {
                let d = Docker::connect_with_http(ep, timeout, bollard::API_DEFAULT_VERSION)
                    .map_err(|e| cfg(e.to_string()))?;
                (d, None)
            }
            None => return Err(cfg("tcp:// without tls needs insecure: true".into())),
        }
    } else {
        return Err(cfg(format!("unsupported endpoint {ep}")));
    };
    Ok(HostClient {
        name: host.name.clone(),
        docker,
        _tls: tls,
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
    async fn call<T, F>(&self, timeout: Duration, f: F) -> Result<T, DockerError>
    where
        F: std::future::Future<Output = Result<T, bollard::errors::Error>>,
    {
        match tokio::time::timeout(timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(&self.name, e)),
            Err(_) => Err(DockerError::Unreachable {
                host: self.name.clone(),
                reason: format!("no answer within {}s", timeout.as_secs()),
            }),
        }
    }

    /// Checks that the engine answers.
    pub async fn ping(&self) -> Result<(), DockerError> {
        self.call(CALL_TIMEOUT, self.docker.ping())
            .await
            .map(|_| ())
    }

    /// This cluster's containers (by component) and data volumes on the host.
    pub async fn observe(
        &self,
        cluster: &str,
    ) -> Result<(BTreeMap<Component, ObservedContainer>, Vec<String>), DockerError> {
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
        for summary in list {
            let Some(id) = summary.id else { continue };
            let labels_map = summary.labels.unwrap_or_default();
            let Some(component) = labels_map.get(labels::ROLE).and_then(|r| component_of(r)) else {
                continue;
            };
            let inspect = self
                .call(
                    CALL_TIMEOUT,
                    self.docker
                        .inspect_container(&id, None::<InspectContainerOptions>),
                )
                .await?;
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
                    started_at: st.started_at.as_deref().map(parse_time).unwrap_or(0),
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
        let vols = self
            .call(
                CALL_TIMEOUT,
                self.docker.list_volumes(Some(ListVolumesOptions {
                    filters: Some(filter),
                })),
            )
            .await?;
        let volumes = vols
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        Ok((out, volumes))
    }

    /// Pulls an image; a missing tag or an unreachable registry is a clear error.
    pub async fn pull(&self, image: &str) -> Result<(), DockerError> {
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
        match tokio::time::timeout(PULL_TIMEOUT, drain).await {
            Ok(r) => r.map_err(|e| match e {
                DockerError::Api { host, reason } => DockerError::Api {
                    host,
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
        }
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
        let created = self
            .call(CALL_TIMEOUT, self.docker.create_container(Some(opts), body))
            .await?;
        self.start(&created.id).await
    }

    /// Starts a container.
    pub async fn start(&self, name: &str) -> Result<(), DockerError> {
        self.call(
            CALL_TIMEOUT,
            self.docker
                .start_container(name, None::<StartContainerOptions>),
        )
        .await
    }

    /// Stops and removes a container; with `volume`, removes that named volume too.
    pub async fn remove(&self, name: &str, volume: Option<&str>) -> Result<(), DockerError> {
        let stop = StopContainerOptions {
            t: Some(10),
            ..Default::default()
        };
        match self
            .call(
                Duration::from_secs(20),
                self.docker.stop_container(name, Some(stop)),
            )
            .await
        {
            Ok(()) | Err(DockerError::Api { .. }) => {}
            Err(e) => return Err(e),
        }
        let rm = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        self.call(CALL_TIMEOUT, self.docker.remove_container(name, Some(rm)))
            .await?;
        if let Some(v) = volume {
            self.call(
                CALL_TIMEOUT,
                self.docker.remove_volume(v, None::<RemoveVolumeOptions>),
            )
            .await?;
        }
        Ok(())
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
            reason: format!("{status_code}: {message}"),
        },
        E::DockerStreamError { error } => DockerError::Api {
            host: host.into(),
            reason: error,
        },
        other => DockerError::Unreachable {
            host: host.into(),
            reason: other.to_string(),
        },
    }
}
