//! The `MesosCluster` document: the one thing a user writes.
//!
//! Every struct denies unknown fields, because a misspelt field silently ignored is a
//! setting the user believes is in force and is not (Mesos itself does exactly that with
//! unknown `MESOS_*` variables, and it bites people). Counts and ports are `u32` rather than
//! `u8`/`u16` so that an out-of-range value reaches validation, which names the range and
//! the fix, instead of failing in the deserializer with a bare type error.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only `apiVersion` this build understands.
pub const API_VERSION: &str = "mesos-operator.io/v1alpha1";
/// The only `kind` this build understands.
pub const KIND: &str = "MesosCluster";

/// One containerized Mesos cluster: ZooKeeper, masters, agents and Marathon on a fleet of
/// Docker hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MesosCluster {
    /// Always `mesos-operator.io/v1alpha1`.
    pub api_version: String,
    /// Always `MesosCluster`.
    pub kind: String,
    /// Name and store-managed bookkeeping.
    pub metadata: Metadata,
    /// The desired state.
    pub spec: ClusterSpec,
}

/// Identity of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// DNS label, 1-40 characters: `[a-z0-9]([a-z0-9-]*[a-z0-9])?`. Used in container names.
    pub name: String,
    /// Set by the store, +1 on every change of spec. A document read with `get` carries it;
    /// applying such a document checks that nobody changed the spec since (optimistic
    /// concurrency). Leave it out to apply unconditionally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

/// The desired state of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// Registry (`host[:port]`) prefixed to image references that carry no registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// The Docker hosts of the fleet. Names and addresses are unique.
    pub hosts: Vec<Host>,
    /// The ZooKeeper ensemble (3.5+, dynamic reconfiguration).
    pub zookeeper: ZookeeperSpec,
    /// The Mesos masters.
    pub masters: MastersSpec,
    /// The Mesos agents.
    pub agents: AgentsSpec,
    /// Marathon; leave out for a cluster without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marathon: Option<MarathonSpec>,
    /// DNS for Mesos (Mesos-DNS's naming: `leader.<domain>`, tasks' A and SRV records),
    /// following the masters through ZooKeeper; leave out for a cluster without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSpec>,
    /// The Marathon–HAProxy bridge: each Marathon app's service port routed to its tasks;
    /// needs `marathon`. Leave out for a cluster without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerSpec>,
    /// How changes are rolled out.
    #[serde(default)]
    pub rollout: RolloutSpec,
    /// How the operator reads the registry's tags for automated bumps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_access: Option<RegistryAccess>,
    /// Secret holding `principal:password` (one line), sent as HTTP Basic authentication
    /// with every call the operator makes to the masters and Marathon: needed once the
    /// masters run with `--authenticate_http_readwrite` (maintenance calls) or
    /// `--authenticate_http_readonly` (state), or Marathon with `--http_credentials`.
    /// One field for both: the operator is one client with one identity; give the same
    /// principal to Mesos' `--credentials` file and to Marathon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_credentials: Option<SecretRef>,
    /// Backups of ZooKeeper's data and the masters' registry, taken at one point; leave out
    /// for none (`mesos-operator backup NAME` then refuses, naming this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,
}

/// When backups are taken, how many are kept, and where they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupSpec {
    /// Take a backup before every ZooKeeper or masters version change, automated bumps
    /// included: the first member moves only once it is stored.
    #[serde(default, skip_serializing_if = "is_false")]
    pub before_upgrade: bool,
    /// With `beforeUpgrade`, a backup that fails blocks the version change, with its reason
    /// in status (default). `false`: the change goes on and the failure is only reported.
    #[serde(default = "default_true")]
    pub block_upgrade_on_failure: bool,
    /// Take one every this long, e.g. `24h` (at least `1m`); leave out for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How many backups to keep, 1 to 1000 (default 7): the oldest beyond are deleted.
    #[serde(default = "default_backup_keep")]
    pub keep: u32,
    /// Where backups are stored: exactly one of `directory` and `s3`.
    pub target: BackupTarget,
}

/// Where backups are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupTarget {
    /// An absolute directory on the machine the operator runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// An S3-compatible object store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Target>,
}

/// An S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Target {
    /// Bucket name (3-63 characters: lowercase letters, digits, dots and hyphens).
    pub bucket: String,
    /// The store's URL, e.g. `https://minio.example:9000`; leave out for AWS itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`, what most S3-compatible stores accept).
    #[serde(default = "default_s3_region")]
    pub region: String,
    /// Key prefix under which this cluster's backups go, e.g. `mesos/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Secret holding `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (one line).
    pub credentials: SecretRef,
    /// Plain `http://` to `endpoint`; must be asked for, and only to this machine (loopback).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_http: bool,
}

fn default_backup_keep() -> u32 {
    7
}
fn default_s3_region() -> String {
    "us-east-1".into()
}

/// How the operator talks to the registry when it looks for new tags (Docker hosts pull
/// with their own configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryAccess {
    /// Secret holding the CA certificate (PEM) the registry's certificate chains to. Without
    /// it, the public web roots are trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<SecretRef>,
    /// Secret holding `user:password`, sent as basic auth or traded for a bearer token,
    /// as the registry asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<SecretRef>,
    /// Plain `http://` to the registry; must be asked for explicitly. Refused with
    /// `credentials` unless the registry is on this machine (loopback).
    #[serde(default, skip_serializing_if = "is_false")]
    pub plain_http: bool,
    /// Hosts other than the registry's own that may receive `credentials` when the registry
    /// sends the operator there for a bearer token (Docker Hub's `auth.docker.io`, a
    /// separate token service); a challenge naming any other realm gets no credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_realms: Vec<String>,
}

/// Whether and how the operator moves a component to new tags by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoUpdateMode {
    /// No scanning.
    #[default]
    Off,
    /// Scan and report the newest allowed tag (status, events, metrics); a person bumps.
    Notify,
    /// Scan and roll the newest allowed tag: a canary, then the rest.
    Auto,
}

/// The largest move from the running version a bump may make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionStep {
    /// Same major and minor (`1.11.0` → `1.11.4`).
    Patch,
    /// Same major (`1.11.0` → `1.12.0`).
    #[default]
    Minor,
    /// Any newer version.
    Major,
}

/// A component's automated-bump policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoUpdatePolicy {
    /// `off`, `notify` or `auto`.
    #[serde(default)]
    pub mode: AutoUpdateMode,
    /// Versions allowed, e.g. `>=1.11.0, <2.0.0`, `^1.11`, `~1.11.0`, `1.x`; default all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// The largest step from the running version: `patch`, `minor` (default) or `major`.
    #[serde(default)]
    pub max_step: VersionStep,
    /// Consider release candidates (`1.12.0-rc1`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub release_candidates: bool,
    /// A regular expression with named groups `version` (required), `build` and `variant`
    /// for tags that are not plain versions; the variant is kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_pattern: Option<String>,
    /// Regular expressions of tags never chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// How long after the operator first saw a tag it may be chosen, e.g. `24h`.
    #[serde(default = "default_min_age")]
    pub min_age: String,
    /// Write the digest the registry served for the tag into the image reference, so the
    /// rollout runs exactly the image that was checked.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pin_digest: bool,
    /// How often the registry is asked for tags, e.g. `5m`.
    #[serde(default = "default_scan_interval")]
    pub scan_interval: String,
    /// Up to this much is added at random to each interval, so that many clusters do not
    /// ask the registry at the same instant.
    #[serde(default = "default_scan_jitter")]
    pub scan_jitter: String,
    /// Wait for `mesos-operator approve NAME COMPONENT TAG` before rolling a tag.
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_approval: bool,
    /// How long the canary must stay healthy, its checks holding, before the rest follow.
    #[serde(default = "default_canary_soak")]
    pub canary_soak: String,
    /// How long a canary check may fail before the canary fails: agents re-register for a
    /// few seconds after a master failover, which is no reason to roll back.
    #[serde(default = "default_check_grace")]
    pub check_grace: String,
}

impl Default for AutoUpdatePolicy {
    fn default() -> Self {
        AutoUpdatePolicy {
            mode: AutoUpdateMode::Off,
            versions: None,
            max_step: VersionStep::Minor,
            release_candidates: false,
            tag_pattern: None,
            exclude: Vec::new(),
            min_age: default_min_age(),
            pin_digest: false,
            scan_interval: default_scan_interval(),
            scan_jitter: default_scan_jitter(),
            require_approval: false,
            canary_soak: default_canary_soak(),
            check_grace: default_check_grace(),
        }
    }
}

fn default_min_age() -> String {
    "0s".into()
}
fn default_scan_interval() -> String {
    "5m".into()
}
fn default_scan_jitter() -> String {
    "30s".into()
}
fn default_canary_soak() -> String {
    "120s".into()
}
fn default_check_grace() -> String {
    "30s".into()
}

/// One Docker host of the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Host {
    /// Unique host name, a DNS label; used in container names.
    pub name: String,
    /// IP address components bind to and advertise (`MESOS_IP`, ZooKeeper peer address).
    pub address: String,
    /// How to reach the host's Docker Engine.
    pub docker: DockerEndpoint,
    /// Preflight checks whose failure does not hold a placement on this host (reported
    /// still): names as `mesos-operator preflight` prints them, e.g. `OpenFiles`. The
    /// informed override, as kubeadm's `--ignore-preflight-errors`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_preflight: Vec<String>,
}

/// How to reach one Docker Engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DockerEndpoint {
    /// `unix:///var/run/docker.sock` or `tcp://HOST:PORT`.
    pub endpoint: String,
    /// Mutual TLS for `tcp://`: names of secrets, never the key material itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRefs>,
    /// Plain `tcp://` without TLS; must be asked for explicitly.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
}

/// Secret references for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsRefs {
    /// Secret holding the CA certificate (PEM) that signed the host's server certificate.
    pub ca: String,
    /// Secret holding the client certificate (PEM).
    pub cert: String,
    /// Secret holding the client private key (PEM).
    pub key: String,
}

/// A secret put into a container as a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretFile {
    /// Name of the secret (`mesos-operator secret set NAME --from-file FILE`).
    pub secret: String,
    /// Absolute path of the file in the container, e.g. `/etc/mesos/credential`.
    pub path: String,
}

/// A reference to secret material stored under `secrets/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// Name of the secret.
    pub secret: String,
}

/// The ZooKeeper ensemble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZookeeperSpec {
    /// Image reference; any tag (releases, release candidates, rebuilt images).
    pub image: String,
    /// Voting members, 1..7.
    pub servers: u32,
    /// Eligible hosts in order of preference; default: every host, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// Client port.
    #[serde(default = "default_zk_client_port")]
    pub client_port: u32,
    /// Quorum (peer) port.
    #[serde(default = "default_zk_peer_port")]
    pub peer_port: u32,
    /// Leader election port.
    #[serde(default = "default_zk_election_port")]
    pub election_port: u32,
    /// AdminServer port. Not ZooKeeper's 8080 default, which Marathon uses.
    #[serde(default = "default_zk_admin_port")]
    pub admin_port: u32,
    /// Automated version bumps of this component (off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdatePolicy>,
    /// Digest super user for `reconfig` (`user:password` in the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub super_digest: Option<SecretRef>,
    /// Required to start a new, empty ensemble where the cluster's record shows one existed
    /// and none of its servers is in sight (every ZooKeeper host moved at once): the old
    /// ensemble holds Marathon's apps and the Mesos election, and the new one starts empty.
    #[serde(default, skip_serializing_if = "is_false")]
    pub accept_new_ensemble: bool,
}

/// The Mesos masters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MastersSpec {
    /// Image reference.
    pub image: String,
    /// Number of masters: odd, 1..7. `MESOS_QUORUM` is derived as `count/2 + 1`.
    pub count: u32,
    /// Eligible hosts in order of preference; default: every host, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// Required to grow from 1 master: Mesos must wipe its replicated log (the registry).
    #[serde(default, skip_serializing_if = "is_false")]
    pub accept_registry_reset: bool,
    /// HTTP port.
    #[serde(default = "default_master_port")]
    pub port: u32,
    /// Secrets put into the container as files (mode 0400) before it starts, so that
    /// credentials reach the process without `docker inspect` showing them; point the
    /// component at the path, e.g. `MESOS_CREDENTIAL: file:///etc/mesos/credential`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_files: Vec<SecretFile>,
    /// Automated version bumps of this component (off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdatePolicy>,
    /// Extra `MESOS_*` flags; those the operator manages are rejected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The Mesos agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentsSpec {
    /// Image reference.
    pub image: String,
    /// `all`, or a list of host names.
    #[serde(default)]
    pub hosts: AgentHosts,
    /// HTTP port.
    #[serde(default = "default_agent_port")]
    pub port: u32,
    /// `--containerizers`.
    #[serde(default = "default_containerizers")]
    pub containerizers: Vec<String>,
    /// `--isolation`.
    #[serde(default = "default_isolation")]
    pub isolation: Vec<String>,
    /// `--executor_registration_timeout`, a duration such as `5mins`.
    #[serde(default = "default_executor_registration_timeout")]
    pub executor_registration_timeout: String,
    /// Secrets put into the container as files (mode 0400) before it starts, so that
    /// credentials reach the process without `docker inspect` showing them; point the
    /// component at the path, e.g. `MESOS_CREDENTIAL: file:///etc/mesos/credential`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_files: Vec<SecretFile>,
    /// Automated version bumps of this component (off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdatePolicy>,
    /// Extra `MESOS_*` flags; those the operator manages are rejected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// Which hosts run an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AgentHosts {
    /// The keyword `all`.
    Keyword(AllHosts),
    /// Named hosts.
    List(Vec<String>),
}

impl Default for AgentHosts {
    fn default() -> Self {
        AgentHosts::Keyword(AllHosts::All)
    }
}

/// The keyword `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AllHosts {
    /// Every host of the fleet.
    All,
}

/// Marathon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarathonSpec {
    /// Image reference.
    pub image: String,
    /// Number of instances (one leads, the rest stand by).
    #[serde(default = "default_one")]
    pub instances: u32,
    /// Eligible hosts in order of preference; default: every host, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// HTTP port.
    #[serde(default = "default_marathon_port")]
    pub port: u32,
    /// Allow moving to an older Marathon version (its ZooKeeper state was migrated forward).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_downgrade: bool,
    /// Secrets put into the container as files (mode 0400) before it starts, so that
    /// credentials reach the process without `docker inspect` showing them; point the
    /// component at the path, e.g. `MESOS_CREDENTIAL: file:///etc/mesos/credential`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_files: Vec<SecretFile>,
    /// Automated version bumps of this component (off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdatePolicy>,
    /// Extra `MARATHON_*` flags; those the operator manages are rejected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// DNS for Mesos: one server per host it is placed on, each reading the leading master
/// through the ZooKeeper election (the operator writes the voters into its `zk`, and rolls
/// it after a change of voters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsSpec {
    /// Image reference (the project's `mesos-dns` image).
    pub image: String,
    /// Number of servers; two or more keep one serving while another is replaced.
    #[serde(default = "default_one")]
    pub instances: u32,
    /// Eligible hosts in order of preference; default: every host, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// DNS port (UDP and TCP).
    #[serde(default = "default_dns_port")]
    pub port: u32,
    /// HTTP API (`/v1/...`) and metrics port.
    #[serde(default = "default_dns_http_port")]
    pub http_port: u32,
    /// The domain served: `leader.<domain>`, `<task>.<framework>.<domain>`.
    #[serde(default = "default_dns_domain")]
    pub domain: String,
    /// Upstream DNS servers (IP addresses, `ip:port` allowed) for names outside the domain;
    /// none: such names are refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<String>,
    /// How often the records are rebuilt from the leading master, in seconds (a change of
    /// leader is followed at once, through a ZooKeeper watch).
    #[serde(default = "default_sixty")]
    pub refresh_seconds: u32,
    /// TTL of the records, in seconds.
    #[serde(default = "default_sixty")]
    pub ttl: u32,
    /// Automated version bumps of this component (off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdatePolicy>,
}

/// The Marathon–HAProxy bridge: HAProxy configured from Marathon's apps and tasks, kept
/// current through Marathon's event stream (the operator writes every Marathon instance
/// into its configuration, and rolls it after a change of instances).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// Image reference (the project's load-balancer image).
    pub image: String,
    /// Number of instances; two or more keep one serving while another is replaced.
    #[serde(default = "default_one")]
    pub instances: u32,
    /// Eligible hosts in order of preference; default: every host, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// The bridge's own HTTP port (health, configuration, metrics), marathon-lb's 9090.
    #[serde(default = "default_lb_port")]
    pub port: u32,
    /// The service ports HAProxy may bind for apps: `first-last` (marathon-lb's
    /// 10000-10100).
    #[serde(default = "default_lb_service_ports")]
    pub service_ports: String,
    /// Automated version bumps of this component (off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdatePolicy>,
}

/// How changes are rolled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    /// Observe and report, take no step.
    #[serde(default)]
    pub paused: bool,
    /// Agents replaced at once; ZooKeeper, masters and Marathon always go one at a time.
    #[serde(default = "default_one")]
    pub max_unavailable_agents: u32,
    /// A step that is not healthy after this long blocks the rollout, e.g. `300s`.
    #[serde(default = "default_health_timeout")]
    pub health_timeout: String,
    /// Mesos maintenance (schedule, down, up) around an agent's replacement.
    #[serde(default = "default_true")]
    pub drain_agents: bool,
    /// With `drainAgents`, how long a host drains (frameworks move their tasks away)
    /// before `machine/down`, e.g. `60s`.
    #[serde(default = "default_drain_period")]
    pub drain_period: String,
}

impl Default for RolloutSpec {
    fn default() -> Self {
        RolloutSpec {
            paused: false,
            max_unavailable_agents: 1,
            health_timeout: default_health_timeout(),
            drain_agents: true,
            drain_period: default_drain_period(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn default_true() -> bool {
    true
}
fn default_one() -> u32 {
    1
}
fn default_zk_client_port() -> u32 {
    2181
}
fn default_zk_peer_port() -> u32 {
    2888
}
fn default_zk_election_port() -> u32 {
    3888
}
fn default_zk_admin_port() -> u32 {
    8081
}
fn default_master_port() -> u32 {
    5050
}
fn default_agent_port() -> u32 {
    5051
}
fn default_marathon_port() -> u32 {
    8080
}
fn default_dns_port() -> u32 {
    53
}
fn default_dns_http_port() -> u32 {
    8123
}
fn default_dns_domain() -> String {
    "mesos".into()
}
fn default_sixty() -> u32 {
    60
}
fn default_lb_port() -> u32 {
    9090
}
fn default_lb_service_ports() -> String {
    "10000-10100".into()
}
fn default_containerizers() -> Vec<String> {
    vec!["docker".into(), "mesos".into()]
}
fn default_isolation() -> Vec<String> {
    vec!["cgroups/cpu".into(), "cgroups/mem".into()]
}
fn default_executor_registration_timeout() -> String {
    "5mins".into()
}
fn default_drain_period() -> String {
    "60s".into()
}
fn default_health_timeout() -> String {
    "300s".into()
}

/// The four components, in the order a rollout visits them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// ZooKeeper servers.
    Zookeeper,
    /// Mesos masters.
    Masters,
    /// Mesos agents.
    Agents,
    /// Marathon instances.
    Marathon,
    /// DNS servers (Mesos-DNS's naming).
    Dns,
    /// Marathon–HAProxy bridges.
    #[serde(rename = "loadBalancer")]
    LoadBalancer,
}

impl Component {
    /// All components in rollout order: the discovery components come after Marathon (they
    /// read it and the masters, and follow their changes).
    pub const ALL: [Component; 6] = [
        Component::Zookeeper,
        Component::Masters,
        Component::Agents,
        Component::Marathon,
        Component::Dns,
        Component::LoadBalancer,
    ];

    /// The components a cluster has without asking for them (the discovery components
    /// exist only where the document has them).
    pub const CORE: [Component; 4] = [
        Component::Zookeeper,
        Component::Masters,
        Component::Agents,
        Component::Marathon,
    ];

    /// A stateless service that clients reach on every instance (DNS, the load balancer):
    /// no leader, no quorum, one instance at a time with another serving.
    pub fn is_discovery(self) -> bool {
        matches!(self, Component::Dns | Component::LoadBalancer)
    }

    /// The name used on the command line and in status (`zookeeper`, `masters`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Zookeeper => "zookeeper",
            Component::Masters => "masters",
            Component::Agents => "agents",
            Component::Marathon => "marathon",
            Component::Dns => "dns",
            Component::LoadBalancer => "loadBalancer",
        }
    }

    /// The container role label (`zookeeper`, `master`, `agent`, `marathon`).
    pub fn role(self) -> &'static str {
        match self {
            Component::Zookeeper => "zookeeper",
            Component::Masters => "master",
            Component::Agents => "agent",
            Component::Marathon => "marathon",
            Component::Dns => "dns",
            Component::LoadBalancer => "lb",
        }
    }

    /// Parses a command-line component name; accepts the singular forms too.
    pub fn parse(s: &str) -> Option<Component> {
        match s {
            "zookeeper" | "zk" => Some(Component::Zookeeper),
            "masters" | "master" => Some(Component::Masters),
            "agents" | "agent" => Some(Component::Agents),
            "marathon" => Some(Component::Marathon),
            "dns" => Some(Component::Dns),
            "loadBalancer" | "loadbalancer" | "load-balancer" | "lb" => {
                Some(Component::LoadBalancer)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl MesosCluster {
    /// The hosts, sorted by name: the default placement order.
    fn hosts_by_name(&self) -> Vec<&Host> {
        let mut v: Vec<&Host> = self.spec.hosts.iter().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The first `n` eligible hosts: those of `list` in its order, or every host by name.
    pub fn pick<'a>(&'a self, list: Option<&Vec<String>>, n: u32) -> Vec<&'a Host> {
        let eligible: Vec<&Host> = match list {
            Some(names) => names
                .iter()
                .filter_map(|n| self.host(n))
                .collect::<Vec<_>>(),
            None => self.hosts_by_name(),
        };
        eligible.into_iter().take(n as usize).collect()
    }

    /// The host with this name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.spec.hosts.iter().find(|h| h.name == name)
    }

    /// Hosts that run a ZooKeeper server.
    pub fn zookeeper_hosts(&self) -> Vec<&Host> {
        self.pick(
            self.spec.zookeeper.hosts.as_ref(),
            self.spec.zookeeper.servers,
        )
    }

    /// Hosts that run a Mesos master.
    pub fn master_hosts(&self) -> Vec<&Host> {
        self.pick(self.spec.masters.hosts.as_ref(), self.spec.masters.count)
    }

    /// Hosts that run a Mesos agent.
    pub fn agent_hosts(&self) -> Vec<&Host> {
        match &self.spec.agents.hosts {
            AgentHosts::Keyword(AllHosts::All) => self.hosts_by_name(),
            AgentHosts::List(names) => names.iter().filter_map(|n| self.host(n)).collect(),
        }
    }

    /// Hosts that run Marathon.
    pub fn marathon_hosts(&self) -> Vec<&Host> {
        match &self.spec.marathon {
            Some(m) => self.pick(m.hosts.as_ref(), m.instances),
            None => Vec::new(),
        }
    }

    /// Hosts that run a DNS server.
    pub fn dns_hosts(&self) -> Vec<&Host> {
        match &self.spec.dns {
            Some(d) => self.pick(d.hosts.as_ref(), d.instances),
            None => Vec::new(),
        }
    }

    /// Hosts that run a load balancer.
    pub fn load_balancer_hosts(&self) -> Vec<&Host> {
        match &self.spec.load_balancer {
            Some(l) => self.pick(l.hosts.as_ref(), l.instances),
            None => Vec::new(),
        }
    }

    /// The hosts of a component.
    pub fn component_hosts(&self, c: Component) -> Vec<&Host> {
        match c {
            Component::Zookeeper => self.zookeeper_hosts(),
            Component::Masters => self.master_hosts(),
            Component::Agents => self.agent_hosts(),
            Component::Marathon => self.marathon_hosts(),
            Component::Dns => self.dns_hosts(),
            Component::LoadBalancer => self.load_balancer_hosts(),
        }
    }

    /// The image reference of a component as written in the document.
    pub fn image(&self, c: Component) -> Option<&str> {
        match c {
            Component::Zookeeper => Some(&self.spec.zookeeper.image),
            Component::Masters => Some(&self.spec.masters.image),
            Component::Agents => Some(&self.spec.agents.image),
            Component::Marathon => self.spec.marathon.as_ref().map(|m| m.image.as_str()),
            Component::Dns => self.spec.dns.as_ref().map(|d| d.image.as_str()),
            Component::LoadBalancer => self.spec.load_balancer.as_ref().map(|l| l.image.as_str()),
        }
    }

    /// A component's automated-bump policy, when it has one.
    pub fn auto_update(&self, c: Component) -> Option<&AutoUpdatePolicy> {
        match c {
            Component::Zookeeper => self.spec.zookeeper.auto_update.as_ref(),
            Component::Masters => self.spec.masters.auto_update.as_ref(),
            Component::Agents => self.spec.agents.auto_update.as_ref(),
            Component::Marathon => self
                .spec
                .marathon
                .as_ref()
                .and_then(|m| m.auto_update.as_ref()),
            Component::Dns => self.spec.dns.as_ref().and_then(|d| d.auto_update.as_ref()),
            Component::LoadBalancer => self
                .spec
                .load_balancer
                .as_ref()
                .and_then(|l| l.auto_update.as_ref()),
        }
    }

    /// The image slot of a component, to change it.
    pub fn image_mut(&mut self, c: Component) -> Option<&mut String> {
        match c {
            Component::Zookeeper => Some(&mut self.spec.zookeeper.image),
            Component::Masters => Some(&mut self.spec.masters.image),
            Component::Agents => Some(&mut self.spec.agents.image),
            Component::Marathon => self.spec.marathon.as_mut().map(|m| &mut m.image),
            Component::Dns => self.spec.dns.as_mut().map(|d| &mut d.image),
            Component::LoadBalancer => self.spec.load_balancer.as_mut().map(|l| &mut l.image),
        }
    }

    /// The Mesos replicated-log quorum derived from the master count.
    pub fn master_quorum(&self) -> u32 {
        self.spec.masters.count / 2 + 1
    }
}
