//! The desired model: what should run where, derived from a valid document.
//!
//! Each container gets its full configuration (image, environment, volumes, mounts) and a
//! hash of it, so that "matches spec" is one comparison of hashes, not of image tags alone:
//! a ZooKeeper membership change alters the masters' `MESOS_ZK`, hence their hash, hence
//! they are rolled. Things that identify a member rather than configure it (a ZooKeeper
//! server id, the ensemble it first joins) are not hashed: they must not trigger a
//! replacement.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::spec::validate::KILL_ORPHANS_ENV;
use crate::spec::{duration, image::ImageRef, Component, MesosCluster, PortConflict};

/// Label keys the operator puts on its containers and volumes.
pub mod labels {
    /// Cluster name; the operator touches only objects carrying its cluster's value.
    pub const CLUSTER: &str = "io.mesos-operator.cluster";
    /// `zookeeper`, `master`, `agent` or `marathon`.
    pub const ROLE: &str = "io.mesos-operator.role";
    /// Host name from the document.
    pub const HOST: &str = "io.mesos-operator.host";
    /// Hash of the container's configuration.
    pub const CONFIG_HASH: &str = "io.mesos-operator.config-hash";
    /// ZooKeeper server id.
    pub const ZK_ID: &str = "io.mesos-operator.zookeeper-id";
    /// The `MESOS_QUORUM` a master was started with.
    pub const MASTER_QUORUM: &str = "io.mesos-operator.master-quorum";
}

/// A named volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// Docker volume name; survives container replacement.
    pub volume: String,
    /// Path in the container.
    pub path: String,
}

/// A host path bind-mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindMount {
    /// Path on the Docker host.
    pub host_path: String,
    /// Path in the container.
    pub path: String,
    /// Read-only.
    pub read_only: bool,
}

/// One container the document asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    /// `<cluster>-<role>-<host>`.
    pub name: String,
    /// Which component.
    pub component: Component,
    /// Host name.
    pub host: String,
    /// Full image reference, registry applied.
    pub image: String,
    /// Environment (never secrets: `docker inspect` shows it).
    pub env: BTreeMap<String, String>,
    /// Named volumes.
    pub volumes: Vec<VolumeMount>,
    /// Host bind mounts.
    pub binds: Vec<BindMount>,
    /// Host networking, as the seed runs every component.
    pub host_network: bool,
    /// Secrets put into the container as files before it starts (by name, never content).
    pub secret_files: Vec<SecretFileMount>,
    /// A ZooKeeper server's super-user digest, by the fingerprint of the secret it is
    /// derived from (never the secret nor the digest): hashed, so that a rotated
    /// `superDigest` secret replaces the servers one at a time and each one starts with
    /// the new digest, instead of the ensemble keeping the old one while the operator logs
    /// in with the new one (every reconfig NoAuth). `None`: no super user, or its secret
    /// cannot be read now.
    pub zk_super_digest: Option<String>,
    /// Hash of everything above but name and host.
    pub config_hash: String,
}

/// A secret, by name, put at a path in a container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretFileMount {
    /// Secret name.
    pub secret: String,
    /// Absolute path in the container.
    pub path: String,
    /// A fingerprint of the secret's content (never the content), when it could be read:
    /// part of the configuration hash, so that a rotated secret rolls the containers that
    /// use it, one at a time under the usual rules, instead of never reaching them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

fn secret_mounts(
    files: &[crate::spec::SecretFile],
    fingerprints: &BTreeMap<String, String>,
) -> Vec<SecretFileMount> {
    let mut v: Vec<SecretFileMount> = files
        .iter()
        .map(|f| SecretFileMount {
            secret: f.secret.clone(),
            path: f.path.clone(),
            fingerprint: fingerprints.get(&f.secret).cloned(),
        })
        .collect();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

/// ZooKeeper settings the planner and the joiner's configuration need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZookeeperPlan {
    /// Hosts that should hold a voter, in placement order.
    pub hosts: Vec<String>,
    /// Client port.
    pub client_port: u32,
    /// Peer port.
    pub peer_port: u32,
    /// Election port.
    pub election_port: u32,
}

/// The parts of a master's container that do not depend on its host or quorum.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterTemplate {
    /// Cluster name.
    pub cluster: String,
    /// Full image reference.
    pub image: String,
    /// Environment without `MESOS_QUORUM`, `MESOS_IP` and `MESOS_HOSTNAME`.
    pub env: BTreeMap<String, String>,
    /// Secret files.
    pub secret_files: Vec<SecretFileMount>,
}

impl MasterTemplate {
    /// The master container on `host` (at `address`) with `quorum`.
    pub fn container(&self, host: &str, address: &str, quorum: u32) -> ContainerSpec {
        let mut env = self.env.clone();
        env.extend([
            ("MESOS_QUORUM".to_string(), quorum.to_string()),
            ("MESOS_IP".to_string(), address.to_string()),
            ("MESOS_HOSTNAME".to_string(), address.to_string()),
        ]);
        let mut c = ContainerSpec {
            name: container_name(&self.cluster, Component::Masters, host),
            component: Component::Masters,
            host: host.to_string(),
            image: self.image.clone(),
            env,
            volumes: vec![VolumeMount {
                volume: volume_name(&self.cluster, Component::Masters, host),
                path: "/var/lib/mesos".into(),
            }],
            binds: vec![],
            host_network: true,
            secret_files: self.secret_files.clone(),
            zk_super_digest: None,
            config_hash: String::new(),
        };
        c.config_hash = config_hash(&c);
        c
    }
}

/// What every ZooKeeper server's container shares, to derive one for any host of the
/// document: a server that must come back on a host the document no longer places
/// ZooKeeper on (its data is the ensemble until the move is done).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZookeeperTemplate {
    /// Cluster name.
    pub cluster: String,
    /// Full image reference.
    pub image: String,
    /// Client, peer, election and admin ports.
    pub ports: [u32; 4],
    /// The fingerprint of the `superDigest` secret ([`ContainerSpec::zk_super_digest`]).
    pub super_digest: Option<String>,
}

impl ZookeeperTemplate {
    /// The ZooKeeper container on `host` (at `address`).
    pub fn container(&self, host: &str, address: &str) -> ContainerSpec {
        let [client, peer, election, admin] = self.ports;
        let env = BTreeMap::from([
            ("ZK_CLIENT_PORT".to_string(), client.to_string()),
            ("ZK_PEER_PORT".to_string(), peer.to_string()),
            ("ZK_ELECTION_PORT".to_string(), election.to_string()),
            ("ZK_ADMIN_PORT".to_string(), admin.to_string()),
            ("ZK_ADDRESS".to_string(), address.to_string()),
        ]);
        let mut c = ContainerSpec {
            name: container_name(&self.cluster, Component::Zookeeper, host),
            component: Component::Zookeeper,
            host: host.to_string(),
            image: self.image.clone(),
            env,
            volumes: vec![VolumeMount {
                volume: volume_name(&self.cluster, Component::Zookeeper, host),
                path: "/var/lib/zookeeper".into(),
            }],
            binds: vec![],
            host_network: true,
            secret_files: vec![],
            zk_super_digest: self.super_digest.clone(),
            config_hash: String::new(),
        };
        c.config_hash = config_hash(&c);
        c
    }
}

/// Everything the planner needs from the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Cluster name.
    pub name: String,
    /// Spec generation.
    pub generation: u64,
    /// Observe and report only.
    pub paused: bool,
    /// Health gate timeout.
    pub health_timeout: Duration,
    /// Agents replaced at once.
    pub max_unavailable_agents: u32,
    /// Mesos maintenance around agent replacement.
    pub drain_agents: bool,
    /// How long a host drains before `machine/down`.
    pub drain_period: Duration,
    /// Wiping the masters' replicated log is allowed.
    pub accept_registry_reset: bool,
    /// Starting a new, empty ZooKeeper ensemble where one existed is allowed.
    pub accept_new_ensemble: bool,
    /// Moving Marathon to an older version is allowed.
    pub allow_marathon_downgrade: bool,
    /// Host name → address.
    pub addresses: BTreeMap<String, String>,
    /// ZooKeeper placement and ports.
    pub zookeeper: ZookeeperPlan,
    /// Master count and quorum.
    pub master_count: u32,
    /// `count/2 + 1`.
    pub master_quorum: u32,
    /// Hosts eligible for a master, in placement order (the first `master_count` hold one).
    pub master_placement: Vec<String>,
    /// What every master shares, to derive a master's container for any host and quorum
    /// (the planner's intermediate stages of a quorum change).
    pub master_template: MasterTemplate,
    /// What every ZooKeeper server shares, to derive its container on any host.
    pub zookeeper_template: ZookeeperTemplate,
    /// Every container, keyed by (component, host).
    pub containers: BTreeMap<(Component, String), ContainerSpec>,
    /// HTTP ports of the Mesos and Marathon components (for API calls the steps make).
    pub ports: Ports,
    /// The DNS component's domain, when the document has one.
    pub dns_domain: Option<String>,
    /// An automated rollout's canary: once one member of this component runs its desired
    /// configuration and is healthy, the rest wait (set by the loop from the automation's
    /// state, never from the document).
    pub canary_hold: Option<CanaryHold>,
    /// Ports this cluster and another stored cluster both bind on machines they share
    /// (set by the loop from the other stored documents, never from this one alone): while
    /// there are any, the planner takes no step.
    pub port_conflicts: Vec<PortConflict>,
    /// `spec.backup`, if the document asks for backups.
    pub backup: Option<crate::backup::BackupPolicy>,
    /// The last `mesos-operator backup NAME` request (seconds since the epoch), set by the
    /// loop from the request it reads, never from the document.
    pub backup_requested_at: Option<u64>,
}

/// The canary phase of an automated rollout, as its state records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryHold {
    /// The component rolled.
    pub component: Component,
    /// The canary's host, recorded before its first step: from then on only that host's
    /// member moves, whatever one observation shows (a canary whose Docker call timed out
    /// once is still the canary). `None` until the first step is planned.
    pub host: Option<String>,
}

impl CanaryHold {
    /// A hold whose canary is not chosen yet.
    pub fn new(component: Component) -> CanaryHold {
        CanaryHold {
            component,
            host: None,
        }
    }
}

/// HTTP ports of the components with an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Mesos masters.
    pub master: u32,
    /// Mesos agents.
    pub agent: u32,
    /// Marathon.
    pub marathon: u32,
    /// The DNS servers' HTTP API (their health: `/v1/version`).
    pub dns_http: u32,
    /// The DNS servers' DNS port.
    pub dns: u32,
    /// The load balancer's own HTTP port (its health).
    pub load_balancer: u32,
}

impl Desired {
    /// Derives the desired model from a *valid* document.
    pub fn from_document(doc: &MesosCluster) -> Desired {
        Desired::from_document_with(doc, &BTreeMap::new())
    }

    /// [`Desired::from_document`], with the fingerprints of the secrets the document puts
    /// into containers as files or hands ZooKeeper as its super-user digest (by secret
    /// name; a secret missing here counts as unknown and leaves the hash as it was before
    /// fingerprints existed).
    pub fn from_document_with(
        doc: &MesosCluster,
        secret_fingerprints: &BTreeMap<String, String>,
    ) -> Desired {
        let s = &doc.spec;
        let name = doc.metadata.name.clone();
        let registry = s.registry.as_deref();
        let full_image = |img: &str| match ImageRef::parse(img) {
            Ok(r) => r.with_default_registry(registry).to_string(),
            Err(_) => img.to_string(),
        };
        let zk_hosts: Vec<&crate::spec::Host> = doc.zookeeper_hosts();
        let zk_connect = zk_hosts
            .iter()
            .map(|h| format!("{}:{}", h.address, s.zookeeper.client_port))
            .collect::<Vec<_>>()
            .join(",");
        let zk_url = |path: &str| format!("zk://{zk_connect}/{path}");
        let quorum = doc.master_quorum();
        let mut containers = BTreeMap::new();
        let z = &s.zookeeper;
        let zookeeper_template = ZookeeperTemplate {
            cluster: name.clone(),
            image: full_image(&z.image),
            ports: [z.client_port, z.peer_port, z.election_port, z.admin_port],
            super_digest: z
                .super_digest
                .as_ref()
                .and_then(|r| secret_fingerprints.get(&r.secret).cloned()),
        };
        for h in &zk_hosts {
            let c = zookeeper_template.container(&h.name, &h.address);
            containers.insert((Component::Zookeeper, h.name.clone()), c);
        }
        let mut add = |component: Component,
                       host: &crate::spec::Host,
                       image: &str,
                       env: BTreeMap<String, String>,
                       volumes: Vec<VolumeMount>,
                       binds: Vec<BindMount>,
                       secret_files: Vec<SecretFileMount>| {
            let mut c = ContainerSpec {
                name: container_name(&name, component, &host.name),
                component,
                host: host.name.clone(),
                image: full_image(image),
                env,
                volumes,
                binds,
                host_network: true,
                secret_files,
                zk_super_digest: None,
                config_hash: String::new(),
            };
            c.config_hash = config_hash(&c);
            containers.insert((component, host.name.clone()), c);
        };

        let m = &s.masters;
        let mut master_env = m.env.clone();
        master_env.extend([
            ("MESOS_ZK".to_string(), zk_url("mesos")),
            ("MESOS_PORT".to_string(), m.port.to_string()),
            ("MESOS_WORK_DIR".to_string(), "/var/lib/mesos".to_string()),
            ("MESOS_LOG_DIR".to_string(), "/var/log/mesos".to_string()),
            ("MESOS_CLUSTER".to_string(), name.clone()),
        ]);
        let master_template = MasterTemplate {
            cluster: name.clone(),
            image: full_image(&m.image),
            env: master_env,
            secret_files: secret_mounts(&m.secret_files, secret_fingerprints),
        };
        let masters: Vec<ContainerSpec> = doc
            .master_hosts()
            .iter()
            .map(|h| master_template.container(&h.name, &h.address, quorum))
            .collect();

        let a = &s.agents;
        let ert = duration::parse(&a.executor_registration_timeout)
            .map(duration::to_mesos)
            .unwrap_or_else(|_| a.executor_registration_timeout.clone());
        for h in doc.agent_hosts() {
            let mut env = a.env.clone();
            env.extend([
                ("MESOS_MASTER".to_string(), zk_url("mesos")),
                ("MESOS_IP".to_string(), h.address.clone()),
                ("MESOS_HOSTNAME".to_string(), h.address.clone()),
                ("MESOS_PORT".to_string(), a.port.to_string()),
                ("MESOS_WORK_DIR".to_string(), "/var/lib/mesos".to_string()),
                ("MESOS_LOG_DIR".to_string(), "/var/log/mesos".to_string()),
                (
                    "MESOS_CONTAINERIZERS".to_string(),
                    a.containerizers.join(","),
                ),
                ("MESOS_ISOLATION".to_string(), a.isolation.join(",")),
                (
                    "MESOS_EXECUTOR_REGISTRATION_TIMEOUT".to_string(),
                    ert.clone(),
                ),
                ("MESOS_DOCKER_MESOS_IMAGE".to_string(), full_image(&a.image)),
                ("MESOS_RECOVER".to_string(), "reconnect".to_string()),
                // An agent with `--docker_kill_orphans` (Mesos' default) removes, whenever
                // it starts, every `mesos-*` container it has no record of: on a Docker
                // engine another cluster's agent shares, that one's tasks. Any engine may
                // be shared (another document placed there later, a cluster forgotten with
                // `delete` whose tasks still run), and the flag is read only at start, so
                // every agent the operator runs has it off, as Mesos' flag documentation
                // advises for several agents in one OS.
                (KILL_ORPHANS_ENV.to_string(), "false".to_string()),
            ]);
            let vols = vec![VolumeMount {
                volume: volume_name(&name, Component::Agents, &h.name),
                path: "/var/lib/mesos".into(),
            }];
            let binds = vec![
                BindMount {
                    host_path: "/var/run/docker.sock".into(),
                    path: "/var/run/docker.sock".into(),
                    read_only: false,
                },
                BindMount {
                    host_path: "/sys".into(),
                    path: "/sys".into(),
                    read_only: true,
                },
            ];
            add(
                Component::Agents,
                h,
                &a.image,
                env,
                vols,
                binds,
                secret_mounts(&a.secret_files, secret_fingerprints),
            );
        }

        if let Some(mar) = &s.marathon {
            for h in doc.marathon_hosts() {
                let mut env = mar.env.clone();
                env.extend([
                    ("MARATHON_MASTER".to_string(), zk_url("mesos")),
                    ("MARATHON_ZK".to_string(), zk_url("marathon")),
                    ("MARATHON_HTTP_PORT".to_string(), mar.port.to_string()),
                    ("MARATHON_HOSTNAME".to_string(), h.address.clone()),
                ]);
                add(
                    Component::Marathon,
                    h,
                    &mar.image,
                    env,
                    vec![],
                    vec![],
                    secret_mounts(&mar.secret_files, secret_fingerprints),
                );
            }
        }

        if let Some(dns) = &s.dns {
            for h in doc.dns_hosts() {
                let mut env = BTreeMap::from([
                    ("MESOS_DNS_ZK".to_string(), zk_url("mesos")),
                    (
                        "MESOS_DNS_DOMAIN".to_string(),
                        dns.domain.trim_end_matches('.').to_string(),
                    ),
                    ("MESOS_DNS_LISTENER".to_string(), h.address.clone()),
                    ("MESOS_DNS_PORT".to_string(), dns.port.to_string()),
                    ("MESOS_DNS_HTTP_PORT".to_string(), dns.http_port.to_string()),
                    (
                        "MESOS_DNS_REFRESH_SECONDS".to_string(),
                        dns.refresh_seconds.to_string(),
                    ),
                    ("MESOS_DNS_TTL".to_string(), dns.ttl.to_string()),
                ]);
                if !dns.resolvers.is_empty() {
                    env.insert("MESOS_DNS_RESOLVERS".into(), dns.resolvers.join(","));
                }
                add(Component::Dns, h, &dns.image, env, vec![], vec![], vec![]);
            }
        }
        if let (Some(lb), Some(mar)) = (&s.load_balancer, &s.marathon) {
            // Every Marathon instance, so that the bridge follows the leader among them;
            // a change of instances changes this, hence the hash, hence a roll.
            let marathons = doc
                .marathon_hosts()
                .iter()
                .map(|m| format!("http://{}:{}", m.address, mar.port))
                .collect::<Vec<_>>()
                .join(",");
            for h in doc.load_balancer_hosts() {
                let env = BTreeMap::from([
                    ("LB_MARATHON_URLS".to_string(), marathons.clone()),
                    ("LB_ADDRESS".to_string(), h.address.clone()),
                    ("LB_PORT".to_string(), lb.port.to_string()),
                    ("LB_SERVICE_PORTS".to_string(), lb.service_ports.clone()),
                ]);
                add(
                    Component::LoadBalancer,
                    h,
                    &lb.image,
                    env,
                    vec![],
                    vec![],
                    vec![],
                );
            }
        }

        for c in masters {
            containers.insert((Component::Masters, c.host.clone()), c);
        }
        Desired {
            name,
            generation: doc.metadata.generation.unwrap_or(0),
            paused: s.rollout.paused,
            health_timeout: duration::parse(&s.rollout.health_timeout)
                .unwrap_or(Duration::from_secs(300)),
            max_unavailable_agents: s.rollout.max_unavailable_agents.max(1),
            drain_agents: s.rollout.drain_agents,
            drain_period: duration::parse(&s.rollout.drain_period)
                .unwrap_or(Duration::from_secs(60)),
            accept_registry_reset: m.accept_registry_reset,
            accept_new_ensemble: s.zookeeper.accept_new_ensemble,
            allow_marathon_downgrade: s.marathon.as_ref().is_some_and(|m| m.allow_downgrade),
            addresses: s
                .hosts
                .iter()
                .map(|h| (h.name.clone(), h.address.clone()))
                .collect(),
            zookeeper: ZookeeperPlan {
                hosts: zk_hosts.iter().map(|h| h.name.clone()).collect(),
                client_port: z.client_port,
                peer_port: z.peer_port,
                election_port: z.election_port,
            },
            master_count: m.count,
            master_quorum: quorum,
            master_placement: doc
                .pick(m.hosts.as_ref(), u32::MAX)
                .iter()
                .map(|h| h.name.clone())
                .collect(),
            master_template,
            zookeeper_template,
            containers,
            ports: Ports {
                master: m.port,
                agent: a.port,
                marathon: s.marathon.as_ref().map(|m| m.port).unwrap_or(8080),
                dns_http: s.dns.as_ref().map(|d| d.http_port).unwrap_or(8123),
                dns: s.dns.as_ref().map(|d| d.port).unwrap_or(53),
                load_balancer: s.load_balancer.as_ref().map(|l| l.port).unwrap_or(9090),
            },
            dns_domain: s
                .dns
                .as_ref()
                .map(|d| d.domain.trim_end_matches('.').to_string()),
            canary_hold: None,
            port_conflicts: Vec::new(),
            backup: s
                .backup
                .as_ref()
                .map(crate::backup::BackupPolicy::from_spec),
            backup_requested_at: None,
        }
    }

    /// The desired container of a component on a host.
    pub fn container(&self, c: Component, host: &str) -> Option<&ContainerSpec> {
        self.containers.get(&(c, host.to_string()))
    }

    /// The ZooKeeper container for `host`: the placed one, or, on a host of the document
    /// ZooKeeper is leaving, the same container derived for it (`None` for a host the
    /// document does not name).
    pub fn zookeeper_container_on(&self, host: &str) -> Option<ContainerSpec> {
        if let Some(c) = self.container(Component::Zookeeper, host) {
            return Some(c.clone());
        }
        let address = self.addresses.get(host)?;
        Some(self.zookeeper_template.container(host, address))
    }

    /// The one definition of "this container is current": one of its component is wanted
    /// on its host, with the configuration it runs. A container no document wants there is
    /// not current. (`invariants` keeps its own, on purpose.)
    pub fn is_current(&self, oc: &crate::observed::ObservedContainer) -> bool {
        self.container(oc.component, &oc.host)
            .is_some_and(|s| s.config_hash == oc.config_hash)
    }

    /// Hosts that should run a component, sorted by name.
    pub fn hosts_of(&self, c: Component) -> Vec<&str> {
        self.containers
            .keys()
            .filter(|(k, _)| *k == c)
            .map(|(_, h)| h.as_str())
            .collect()
    }

    /// The same cluster with `count` masters (quorum `count/2 + 1`) on `hosts`: an
    /// intermediate stage of a quorum change.
    pub fn with_masters(&self, hosts: &[String], count: u32) -> Desired {
        let mut d = self.clone();
        d.master_count = count;
        d.master_quorum = count / 2 + 1;
        d.containers.retain(|(c, _), _| *c != Component::Masters);
        for h in hosts {
            let address = self.addresses.get(h).cloned().unwrap_or_default();
            let c = self.master_template.container(h, &address, d.master_quorum);
            d.containers.insert((Component::Masters, h.clone()), c);
        }
        d
    }

    /// The desired image of a component, if any member is desired.
    pub fn image_of(&self, c: Component) -> Option<&str> {
        self.containers
            .iter()
            .find(|((k, _), _)| *k == c)
            .map(|(_, s)| s.image.as_str())
    }
}

/// `<cluster>-<role>-<host>`.
pub fn container_name(cluster: &str, c: Component, host: &str) -> String {
    format!("{cluster}-{}-{host}", c.role())
}

/// The named data volume of a member; kept across replacements.
pub fn volume_name(cluster: &str, c: Component, host: &str) -> String {
    format!("{cluster}-{}-{host}-data", c.role())
}

/// FNV-1a over the canonical JSON of the hashed fields: stable across builds and Rust
/// versions (std's hasher promises neither), so a new operator binary does not see every
/// container as changed.
fn config_hash(c: &ContainerSpec) -> String {
    #[derive(Serialize)]
    struct Hashed<'a> {
        image: &'a str,
        env: &'a BTreeMap<String, String>,
        volumes: &'a [VolumeMount],
        binds: &'a [BindMount],
        host_network: bool,
        // Left out when empty, so that containers without secret files keep the hash
        // they had before the field existed (a new operator must not replace them all).
        #[serde(skip_serializing_if = "<[SecretFileMount]>::is_empty")]
        secret_files: &'a [SecretFileMount],
        // Likewise left out when unknown: a server without a super user keeps its hash.
        #[serde(skip_serializing_if = "Option::is_none")]
        zk_super_digest: Option<&'a str>,
    }
    let canonical = serde_json::to_string(&Hashed {
        image: &c.image,
        env: &c.env,
        volumes: &c.volumes,
        binds: &c.binds,
        host_network: c.host_network,
        secret_files: &c.secret_files,
        zk_super_digest: c.zk_super_digest.as_deref(),
    })
    .unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_document;

    fn seed() -> MesosCluster {
        parse_document(include_str!("../../../manifests/examples/cluster7.yaml")).unwrap()
    }

    #[test]
    fn seed_places_every_component_and_derives_quorum() {
        let d = Desired::from_document(&seed());
        assert_eq!(
            d.hosts_of(Component::Zookeeper),
            ["host1", "host2", "host3"]
        );
        assert_eq!(d.hosts_of(Component::Masters).len(), 3);
        assert_eq!(d.hosts_of(Component::Agents).len(), 3);
        assert_eq!(d.hosts_of(Component::Marathon), ["host1"]);
        let m = d.container(Component::Masters, "host2").unwrap();
        assert_eq!(m.name, "cluster7-master-host2");
        assert_eq!(m.env["MESOS_QUORUM"], "2");
        assert_eq!(
            m.env["MESOS_ZK"],
            "zk://10.20.30.2:2181,10.20.30.3:2181,10.20.30.4:2181/mesos"
        );
        assert_eq!(m.image, "registry.local:5000/mesos-master:1.11.0");
        let a = d.container(Component::Agents, "host1").unwrap();
        assert_eq!(a.env["MESOS_EXECUTOR_REGISTRATION_TIMEOUT"], "300secs");
        assert_eq!(a.env["MESOS_DOCKER_MESOS_IMAGE"], a.image);
    }

    #[test]
    fn every_agent_runs_with_docker_kill_orphans_off() {
        // Mesos' default would let an agent that starts remove another cluster's tasks on
        // the same Docker engine.
        let d = Desired::from_document(&seed());
        for h in d.hosts_of(Component::Agents) {
            let a = d.container(Component::Agents, h).unwrap();
            assert_eq!(a.env["MESOS_DOCKER_KILL_ORPHANS"], "false", "agent on {h}");
        }
        // A document that says false too is the same container.
        let mut doc = seed();
        doc.spec
            .agents
            .env
            .insert("MESOS_DOCKER_KILL_ORPHANS".into(), "false".into());
        assert_eq!(Desired::from_document(&doc).containers, d.containers);
    }

    #[test]
    fn zookeeper_membership_changes_the_masters_hash_not_the_zookeeper_hash() {
        let before = Desired::from_document(&seed());
        let mut doc = seed();
        doc.spec.zookeeper.servers = 1;
        let after = Desired::from_document(&doc);
        let key = (Component::Masters, "host1".to_string());
        assert_ne!(
            before.containers[&key].config_hash,
            after.containers[&key].config_hash
        );
        let zk = (Component::Zookeeper, "host1".to_string());
        assert_eq!(
            before.containers[&zk].config_hash,
            after.containers[&zk].config_hash
        );
    }

    #[test]
    fn hash_is_stable_across_builds() {
        // A changed hash function would replace every container of every cluster on upgrade.
        let d = Desired::from_document(&seed());
        let zk = &d.containers[&(Component::Zookeeper, "host1".to_string())];
        assert_eq!(zk.config_hash, "ea8bb46fc183b728");
    }

    #[test]
    fn a_rotated_super_digest_secret_rolls_every_zookeeper_server_and_nothing_else() {
        // Before the fix the ZooKeeper servers' hash ignored the digest's secret: `secret
        // set` on it rolled nothing, and the servers kept the old digest for good.
        let doc = seed();
        let name = doc.spec.zookeeper.super_digest.clone().unwrap().secret;
        let with = |fp: &str| {
            Desired::from_document_with(&doc, &BTreeMap::from([(name.clone(), fp.to_string())]))
        };
        let (unknown, old, new) = (
            Desired::from_document(&doc),
            with("00000000000000aa"),
            with("00000000000000bb"),
        );
        for ((c, h), spec) in &new.containers {
            let key = (*c, h.clone());
            assert_eq!(
                spec.config_hash != old.containers[&key].config_hash,
                *c == Component::Zookeeper,
                "{c} on {h}"
            );
            // An unreadable secret leaves the hash as it was before fingerprints existed.
            assert_eq!(
                unknown.containers[&key].config_hash,
                Desired::from_document(&doc).containers[&key].config_hash
            );
        }
        assert_eq!(
            with("00000000000000aa").containers,
            old.containers,
            "the same secret, the same hashes"
        );
        // The template (servers on hosts the document no longer names) agrees.
        let zk = &new.containers[&(Component::Zookeeper, "host1".to_string())];
        let addr = &new.addresses["host1"];
        assert_eq!(new.zookeeper_template.container("host1", addr), *zk);
        // A fingerprint only: no secret material in the desired model.
        assert_eq!(zk.zk_super_digest.as_deref(), Some("00000000000000bb"));
    }

    #[test]
    fn a_secret_file_changes_the_hash_of_its_component_only() {
        let before = Desired::from_document(&seed());
        let mut doc = seed();
        doc.spec.masters.secret_files = vec![crate::spec::SecretFile {
            secret: "master-credential".into(),
            path: "/etc/mesos/credential".into(),
        }];
        let after = Desired::from_document(&doc);
        for ((c, h), spec) in &after.containers {
            let old = &before.containers[&(*c, h.clone())];
            assert_eq!(
                spec.config_hash != old.config_hash,
                *c == Component::Masters,
                "{c} on {h}"
            );
        }
        let m = &after.containers[&(Component::Masters, "host1".to_string())];
        assert_eq!(m.secret_files[0].path, "/etc/mesos/credential");
        // Names and paths only: no secret material is in the desired model.
        assert!(!format!("{m:?}").contains("BEGIN"));
    }
}
