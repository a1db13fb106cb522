//! The operator's Prometheus metrics, on the official `prometheus-client` crate.
//!
//! Why this shape:
//! - **Bounded labels only.** Every label value comes from a small closed set: cluster names
//!   (as many as documents in etcd), component names ([`Component`]), phase names ([`Phase`]),
//!   step kinds (`Step::kind()`), Docker hosts (the fleet) and result words the caller picks
//!   from a fixed list (`ok`, `error`, `requeue`, ...). Never put an error message, a container
//!   id, a generation or a timestamp into a label: each distinct value is a new time series,
//!   kept in memory here until [`Metrics::forget_cluster`] and in Prometheus for its retention.
//! - **Deleted clusters go away.** `prometheus-client` families cannot be iterated or filtered,
//!   so [`Metrics`] remembers which label sets it created for each cluster and removes exactly
//!   those in [`Metrics::forget_cluster`]; otherwise a deleted cluster would report its last
//!   state (e.g. "not converged") forever.
//! - **Two text formats.** [`Metrics::encode`] writes OpenMetrics 1.0 (what Prometheus asks
//!   for); [`Metrics::encode_text`] writes the Prometheus text format 0.0.4, which
//!   `promtool check metrics` reads. promtool (2.42) parses its input as 0.0.4 text: an
//!   OpenMetrics counter family is named without `_total` while its samples carry it, so
//!   promtool sees the samples as an untyped family without help text and fails. The admin
//!   server picks the format from the request's `Accept` header.
//! - **Plain methods.** Callers pass `&str`s and numbers; label structs, families and locks
//!   stay in here, so the reconcile loop never handles `prometheus-client` types.
//!
//! [`Component`]: mesos_operator_core::spec::Component
//! [`Phase`]: mesos_operator_core::status::Phase

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use mesos_operator_core::plan::StepKind;
use mesos_operator_core::spec::Component;
use mesos_operator_core::status::Phase;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Upper bounds (seconds) of `mesos_operator_reconcile_duration_seconds`: one pass over a
/// cluster, from a no-op (milliseconds) to one bounded by slow probes (a minute).
pub const RECONCILE_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds (seconds) of `mesos_operator_step_duration_seconds`: one step, from a quick
/// container restart to a health gate that waits up to ten minutes.
pub const STEP_BUCKETS: [f64; 13] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Upper bounds (seconds) of `mesos_operator_etcd_request_duration_seconds`: one request,
/// from a local read (a millisecond) to the request deadline (`etcd::REQUEST_TIMEOUT`).
pub const ETCD_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The `result` values of `mesos_operator_reconcile_total` a pass can end with (`ok`, or
/// `ReconcileError::metric_label`): each cluster starts with a 0 for every one, so that a
/// ratio over them has a denominator and a numerator from its first pass.
pub const RECONCILE_RESULTS: [&str; 14] = [
    "ok",
    "deposed",
    "store",
    "ops",
    "config",
    "unreachable",
    "api_error",
    "secret",
    "zookeeper",
    "http",
    "not-serving",
    "misrouted",
    "incomplete",
    "panic",
];

/// The `result` values of `mesos_operator_steps_total` (`EventOutcome::as_str`).
pub const STEP_RESULTS: [&str; 2] = ["ok", "error"];

/// The `result` values of `mesos_operator_docker_requests_total` (`ok`, or
/// `DockerError::metric_label`).
pub const DOCKER_RESULTS: [&str; 4] = ["ok", "config", "unreachable", "api_error"];

/// The `result` values of `mesos_operator_autoupdate_scans_total` (`ok`, or the scan
/// error's metric label).
pub const SCAN_RESULTS: [&str; 7] = [
    "ok",
    "transport",
    "status",
    "auth",
    "malformed",
    "secret",
    "config",
];

/// The `result` values of `mesos_operator_autoupdate_canaries_total`.
pub const CANARY_RESULTS: [&str; 3] = ["started", "passed", "failed"];

/// What the `component` label of `mesos_operator_observe_errors_total` names besides the
/// four components: the Docker engine of the host itself.
pub const DOCKER_ENGINE: &str = "docker";

/// An etcd request, by what it asks (the `op` label of the etcd metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtcdOp {
    /// A read of a key or a prefix.
    Get,
    /// A plain write.
    Put,
    /// A transaction (every compare-and-swap).
    Txn,
    /// A delete.
    Delete,
    /// Opening a watch.
    Watch,
}

impl EtcdOp {
    /// Every op, for the zeros written at start.
    pub const ALL: [EtcdOp; 5] = [
        EtcdOp::Get,
        EtcdOp::Put,
        EtcdOp::Txn,
        EtcdOp::Delete,
        EtcdOp::Watch,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            EtcdOp::Get => "get",
            EtcdOp::Put => "put",
            EtcdOp::Txn => "txn",
            EtcdOp::Delete => "delete",
            EtcdOp::Watch => "watch",
        }
    }
}

/// How an etcd request ended (the `result` label of `mesos_operator_etcd_requests_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtcdResult {
    /// Answered.
    Ok,
    /// Answered with an error, or the connection failed.
    Error,
    /// No answer within the request deadline.
    Timeout,
}

impl EtcdResult {
    /// Every result, for the zeros written at start.
    pub const ALL: [EtcdResult; 3] = [EtcdResult::Ok, EtcdResult::Error, EtcdResult::Timeout];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            EtcdResult::Ok => "ok",
            EtcdResult::Error => "error",
            EtcdResult::Timeout => "timeout",
        }
    }
}

/// What one observation of a cluster found, for its gauges: plain counts and flags, so that
/// the metrics need not know the observation's model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedHealth {
    /// Per host of the document: whether its Docker engine answered.
    pub hosts: Vec<(String, bool)>,
    /// (host, component) pairs whose observation failed this time: the host's engine
    /// ([`DOCKER_ENGINE`]) did not answer, or a running member did not answer its probe or
    /// answered unhealthy.
    pub errors: Vec<(String, String)>,
    /// ZooKeeper has a leader.
    pub zk_leader: bool,
    /// Voters of the committed configuration that serve (leader or follower).
    pub zk_voters_serving: i64,
    /// The masters have a leader both ZooKeeper and the leader agree on.
    pub masters_leader: bool,
    /// That leader's registry (replicated log) is recovered.
    pub masters_recovered: bool,
    /// Agents the leading master lists as registered and active.
    pub agents_registered: i64,
    /// Per component, the distinct images its containers run (running containers only).
    pub images: Vec<(String, Vec<String>)>,
    /// Per component, the image the spec asks for.
    pub desired_images: Vec<(String, String)>,
}

/// Content type of [`Format::OpenMetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Content type of [`Format::PrometheusText`].
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The phases a cluster can be in, as the core names them; [`Metrics::set_cluster`] writes a
/// 0 for each one the cluster is not in, so a query never has to tell "absent" from "0".
const KNOWN_PHASES: [Phase; 6] = [
    Phase::Converged,
    Phase::Progressing,
    Phase::Paused,
    Phase::Blocked,
    Phase::Degraded,
    Phase::Invalid,
];

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (ends with `# EOF`).
    OpenMetrics,
    /// Prometheus text format 0.0.4 (what `promtool check metrics` reads).
    PrometheusText,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::PrometheusText => PROMETHEUS_TEXT_CONTENT_TYPE,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterResultLabels {
    cluster: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    cluster: String,
    kind: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    cluster: String,
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentResultLabels {
    cluster: String,
    component: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    cluster: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabels {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterHostLabels {
    cluster: String,
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PreflightLabels {
    cluster: String,
    host: String,
    check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostResultLabels {
    host: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterHostComponentLabels {
    cluster: String,
    host: String,
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ImageLabels {
    cluster: String,
    component: String,
    image: String,
    version: String,
    state: String,
}

/// Whose image a `mesos_operator_component_info` series names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ImageState {
    /// The spec's.
    Desired,
    /// A running container's.
    Running,
}

impl ImageState {
    fn as_str(self) -> &'static str {
        match self {
            ImageState::Desired => "desired",
            ImageState::Running => "running",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpResultLabels {
    op: String,
    result: String,
}

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

fn reconcile_histogram() -> Histogram {
    Histogram::new(RECONCILE_BUCKETS)
}

fn step_histogram() -> Histogram {
    Histogram::new(STEP_BUCKETS)
}

/// Creates the series (at 0) unless it exists.
fn zero<S, M, C>(family: &Family<S, M, C>, labels: &S)
where
    S: Clone + std::hash::Hash + Eq,
    C: prometheus_client::metrics::family::MetricConstructor<M>,
{
    drop(family.get_or_create(labels));
}

fn etcd_histogram() -> Histogram {
    Histogram::new(ETCD_BUCKETS)
}

fn image_labels(
    cluster: &str,
    (component, image, state): &(String, String, ImageState),
) -> ImageLabels {
    ImageLabels {
        cluster: cluster.to_owned(),
        component: component.clone(),
        image: image.clone(),
        version: mesos_operator_core::autoupdate::decide::tag_of(image),
        state: state.as_str().to_owned(),
    }
}

/// The label values created for one cluster, so that [`Metrics::forget_cluster`] can remove
/// exactly those series.
#[derive(Debug, Default)]
struct Seen {
    results: BTreeSet<String>,
    steps: BTreeSet<(String, String)>,
    components: BTreeSet<String>,
    phases: BTreeSet<String>,
    /// (component, result) of the automation's counters.
    autoupdate: BTreeSet<(String, String)>,
    /// Components with automation gauges.
    autoupdate_components: BTreeSet<String>,
    /// Hosts with an event stream gauge.
    event_hosts: BTreeSet<String>,
    /// Hosts with observation gauges and counters.
    hosts: BTreeSet<String>,
    /// The image info series, as (component, image, state).
    images: BTreeSet<(String, String, ImageState)>,
    /// (host, check) with a preflight gauge.
    preflight: BTreeSet<(String, String)>,
}

#[derive(Debug)]
struct Inner {
    /// The loop's liveness, which `/readyz` reads with the metrics it serves.
    liveness: crate::liveness::Liveness,
    registry: Registry,
    reconcile_total: Family<ClusterResultLabels, Counter>,
    reconcile_duration: HistogramFamily<ClusterLabels>,
    observe_duration: HistogramFamily<ClusterLabels>,
    steps_total: Family<StepLabels, Counter>,
    step_duration: HistogramFamily<KindLabels>,
    cluster_converged: Family<ClusterLabels, Gauge>,
    cluster_phase: Family<PhaseLabels, Gauge>,
    preflight_check: Family<PreflightLabels, Gauge>,
    component_ready: Family<ComponentLabels, Gauge>,
    component_desired: Family<ComponentLabels, Gauge>,
    zookeeper_voters: Family<ClusterLabels, Gauge>,
    leader: Gauge,
    leader_term: Gauge,
    docker_requests_total: Family<HostResultLabels, Counter>,
    docker_event_stream_up: Family<ClusterHostLabels, Gauge>,
    docker_event_stream_restarts_total: Family<HostLabels, Counter>,
    docker_events_total: Family<HostLabels, Counter>,
    autoupdate_scans_total: Family<ComponentResultLabels, Counter>,
    autoupdate_canaries_total: Family<ComponentResultLabels, Counter>,
    autoupdate_rollbacks_total: Family<ComponentLabels, Counter>,
    autoupdate_candidate: Family<ComponentLabels, Gauge>,
    autoupdate_denied: Family<ComponentLabels, Gauge>,
    autoupdate_pinned: Family<ComponentLabels, Gauge>,
    ready: Gauge,
    leader_changes_total: Counter,
    last_success: Family<ClusterLabels, Gauge>,
    component_info: Family<ImageLabels, Gauge>,
    observe_errors_total: Family<ClusterHostComponentLabels, Counter>,
    docker_host_up: Family<ClusterHostLabels, Gauge>,
    zookeeper_leader: Family<ClusterLabels, Gauge>,
    zookeeper_voters_serving: Family<ClusterLabels, Gauge>,
    masters_leader: Family<ClusterLabels, Gauge>,
    masters_registry_recovered: Family<ClusterLabels, Gauge>,
    agents_registered: Family<ClusterLabels, Gauge>,
    etcd_requests_total: Family<OpResultLabels, Counter>,
    etcd_request_duration: HistogramFamily<OpLabels>,
    /// Per cluster, what was created. Every per-cluster update holds this lock while it
    /// touches the families, so a concurrent [`Metrics::forget_cluster`] cannot leave a
    /// series behind. Lock order: this, then a family's own lock (encoding takes only the
    /// latter).
    seen: Mutex<HashMap<String, Seen>>,
}

/// The operator's metrics: a registry and its families.
///
/// Cheap to clone (an [`Arc`] inside): hand a clone to every task and to the admin server;
/// all clones update and encode the same series. Every method takes `&self` and is safe to
/// call from any thread.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every family registered and no series yet, except
    /// `mesos_operator_leader`, which starts at 0.
    ///
    /// Infallible: `prometheus-client` registration cannot fail (it only `debug_assert!`s
    /// that a counter's name does not already end in `_total`, which the unit tests cover).
    pub fn new() -> Self {
        let mut registry = Registry::default();

        let reconcile_total = Family::<ClusterResultLabels, Counter>::default();
        registry.register(
            "mesos_operator_reconcile",
            "Reconcile passes finished, by cluster and result (ok, error, requeue)",
            reconcile_total.clone(),
        );

        let reconcile_duration: HistogramFamily<ClusterLabels> =
            Family::new_with_constructor(reconcile_histogram);
        registry.register_with_unit(
            "mesos_operator_reconcile_duration",
            "Wall time of one reconcile pass over a cluster",
            Unit::Seconds,
            reconcile_duration.clone(),
        );

        let observe_duration: HistogramFamily<ClusterLabels> =
            Family::new_with_constructor(reconcile_histogram);
        registry.register_with_unit(
            "mesos_operator_observe_duration",
            "Wall time of one observation of a cluster (every host's containers, every component's probes)",
            Unit::Seconds,
            observe_duration.clone(),
        );

        let steps_total = Family::<StepLabels, Counter>::default();
        registry.register(
            "mesos_operator_steps",
            "Plan steps finished, by cluster, step kind and result",
            steps_total.clone(),
        );

        let step_duration: HistogramFamily<KindLabels> =
            Family::new_with_constructor(step_histogram);
        registry.register_with_unit(
            "mesos_operator_step_duration",
            "Wall time of one plan step, health gate included, by step kind",
            Unit::Seconds,
            step_duration.clone(),
        );

        let cluster_converged = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_cluster_converged",
            "1 when the cluster is converged (phase Converged), else 0",
            cluster_converged.clone(),
        );

        let cluster_phase = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "mesos_operator_cluster_phase",
            "1 for the cluster's current phase, 0 for the others",
            cluster_phase.clone(),
        );

        let component_ready = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "mesos_operator_component_ready",
            "Members of a component observed running and healthy",
            component_ready.clone(),
        );

        let component_desired = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "mesos_operator_component_desired",
            "Members of a component the cluster's spec asks for",
            component_desired.clone(),
        );

        let zookeeper_voters = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_zookeeper_voters",
            "Voting members in the ZooKeeper ensemble's committed configuration",
            zookeeper_voters.clone(),
        );

        let leader = Gauge::default();
        registry.register(
            "mesos_operator_leader",
            "1 while this operator replica holds the leader election, else 0",
            leader.clone(),
        );

        let leader_term = Gauge::default();
        registry.register(
            "mesos_operator_leader_term",
            "Term of this replica's leadership (the leadership key's etcd create revision); 0 while a standby",
            leader_term.clone(),
        );

        let preflight_check = Family::<PreflightLabels, Gauge>::default();
        registry.register(
            "mesos_operator_preflight_check",
            "Last result of a host preflight check where a member was about to be placed: 0 pass, 1 warn, 2 fail (a failure ignored by spec.hosts[].ignorePreflight counts as 1)",
            preflight_check.clone(),
        );

        let docker_requests_total = Family::<HostResultLabels, Counter>::default();
        registry.register(
            "mesos_operator_docker_requests",
            "Docker Engine API requests made to a host (observations, pulls, container and volume changes; the long-lived event streams are counted in mesos_operator_docker_event_stream_restarts_total), by host and result (ok, config, unreachable, api_error)",
            docker_requests_total.clone(),
        );

        let docker_event_stream_up = Family::<ClusterHostLabels, Gauge>::default();
        registry.register(
            "mesos_operator_docker_event_stream_up",
            "1 while the Docker event stream of a cluster's host is open (its changes wake the cluster at once), 0 while the host is polled",
            docker_event_stream_up.clone(),
        );
        let docker_event_stream_restarts_total = Family::<HostLabels, Counter>::default();
        registry.register(
            "mesos_operator_docker_event_stream_restarts",
            "Docker event streams that ended or failed and were re-opened, by host",
            docker_event_stream_restarts_total.clone(),
        );
        let docker_events_total = Family::<HostLabels, Counter>::default();
        registry.register(
            "mesos_operator_docker_events",
            "Docker events about the clusters' containers received, by host",
            docker_events_total.clone(),
        );

        let autoupdate_scans_total = Family::<ComponentResultLabels, Counter>::default();
        registry.register(
            "mesos_operator_autoupdate_scans",
            "Registry scans for new tags, by cluster, component and result (ok, transport, status, auth, malformed, secret)",
            autoupdate_scans_total.clone(),
        );
        let autoupdate_canaries_total = Family::<ComponentResultLabels, Counter>::default();
        registry.register(
            "mesos_operator_autoupdate_canaries",
            "Automated canaries, by cluster, component and result (started, passed, failed)",
            autoupdate_canaries_total.clone(),
        );
        let autoupdate_rollbacks_total = Family::<ComponentLabels, Counter>::default();
        registry.register(
            "mesos_operator_autoupdate_rollbacks",
            "Automated rollbacks of a failed tag, by cluster and component",
            autoupdate_rollbacks_total.clone(),
        );
        let autoupdate_candidate = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "mesos_operator_autoupdate_candidate",
            "1 while a newer tag the policy allows exists (it may wait for age or approval), else 0",
            autoupdate_candidate.clone(),
        );
        let autoupdate_denied = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "mesos_operator_autoupdate_denied_tags",
            "Tags on the component's denylist",
            autoupdate_denied.clone(),
        );
        let autoupdate_pinned = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "mesos_operator_autoupdate_pinned",
            "1 while a person's edit pins the component (automation stopped for it), else 0",
            autoupdate_pinned.clone(),
        );

        let ready = Gauge::default();
        registry.register(
            "mesos_operator_ready",
            "1 while /readyz answers 200 (etcd reachable, the reconcile loop alive, no reconcile wedged), else 0; set at each scrape",
            ready.clone(),
        );
        let leader_changes_total = Counter::default();
        registry.register(
            "mesos_operator_leader_changes",
            "Times this replica became the leader or stopped being it",
            leader_changes_total.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        registry.register(
            "mesos_operator_build_info",
            "Always 1; the operator's version and the commit it was built from, as labels",
            build_info.clone(),
        );
        build_info
            .get_or_create(&BuildLabels {
                version: crate::build_info::VERSION.to_owned(),
                commit: crate::build_info::COMMIT.to_owned(),
            })
            .set(1);
        let last_success = Family::<ClusterLabels, Gauge>::default();
        registry.register_with_unit(
            "mesos_operator_last_reconcile_success_timestamp",
            "When a reconcile pass over the cluster last finished without error (seconds since the epoch)",
            Unit::Seconds,
            last_success.clone(),
        );
        let component_info = Family::<ImageLabels, Gauge>::default();
        registry.register(
            "mesos_operator_component_info",
            "1 for the image the spec asks for (state desired) and for each image a component's running containers run (state running; several during a rollout); version is the image's tag",
            component_info.clone(),
        );
        let observe_errors_total = Family::<ClusterHostComponentLabels, Counter>::default();
        registry.register(
            "mesos_operator_observe_errors",
            "Observations in which a host's Docker engine (component docker) or a running member of a component did not answer, or answered unhealthy, by cluster, host and component",
            observe_errors_total.clone(),
        );
        let docker_host_up = Family::<ClusterHostLabels, Gauge>::default();
        registry.register(
            "mesos_operator_docker_host_up",
            "1 when the host's Docker engine answered the cluster's last observation, else 0",
            docker_host_up.clone(),
        );
        let zookeeper_leader = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_zookeeper_leader",
            "1 when a ZooKeeper server of the cluster reports itself leader, else 0",
            zookeeper_leader.clone(),
        );
        let zookeeper_voters_serving = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_zookeeper_voters_serving",
            "Voters of the committed ZooKeeper configuration that answer and lead or follow",
            zookeeper_voters_serving.clone(),
        );
        let masters_leader = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_masters_leader",
            "1 when the Mesos masters have a leader (ZooKeeper and the leader's own state agree), else 0",
            masters_leader.clone(),
        );
        let masters_registry_recovered = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_masters_registry_recovered",
            "1 when the leading Mesos master's registry (replicated log) is recovered, else 0",
            masters_registry_recovered.clone(),
        );
        let agents_registered = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "mesos_operator_agents_registered",
            "Mesos agents the leading master lists as registered and active",
            agents_registered.clone(),
        );
        let etcd_requests_total = Family::<OpResultLabels, Counter>::default();
        registry.register(
            "mesos_operator_etcd_requests",
            "Requests to etcd made by the store, by op (get, put, txn, delete, watch) and result (ok, error, timeout)",
            etcd_requests_total.clone(),
        );
        let etcd_request_duration: HistogramFamily<OpLabels> =
            Family::new_with_constructor(etcd_histogram);
        registry.register_with_unit(
            "mesos_operator_etcd_request_duration",
            "Wall time of one request to etcd, by op",
            Unit::Seconds,
            etcd_request_duration.clone(),
        );
        // The label values known before anything happens get their zero now: a rate or an
        // alert over them sees a series from the first scrape on.
        for kind in StepKind::ALL {
            zero(
                &step_duration,
                &KindLabels {
                    kind: kind.as_str().to_owned(),
                },
            );
        }
        for op in EtcdOp::ALL {
            zero(
                &etcd_request_duration,
                &OpLabels {
                    op: op.as_str().to_owned(),
                },
            );
            for result in EtcdResult::ALL {
                zero(
                    &etcd_requests_total,
                    &OpResultLabels {
                        op: op.as_str().to_owned(),
                        result: result.as_str().to_owned(),
                    },
                );
            }
        }

        Metrics {
            inner: Arc::new(Inner {
                liveness: crate::liveness::Liveness::default(),
                ready,
                leader_changes_total,
                last_success,
                component_info,
                observe_errors_total,
                docker_host_up,
                zookeeper_leader,
                zookeeper_voters_serving,
                masters_leader,
                masters_registry_recovered,
                agents_registered,
                etcd_requests_total,
                etcd_request_duration,
                autoupdate_scans_total,
                autoupdate_canaries_total,
                autoupdate_rollbacks_total,
                autoupdate_candidate,
                autoupdate_denied,
                autoupdate_pinned,
                registry,
                reconcile_total,
                reconcile_duration,
                observe_duration,
                steps_total,
                step_duration,
                cluster_converged,
                cluster_phase,
                component_ready,
                component_desired,
                zookeeper_voters,
                leader,
                leader_term,
                docker_requests_total,
                docker_event_stream_up,
                docker_event_stream_restarts_total,
                docker_events_total,
                preflight_check,
                seen: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Runs `f` with the cluster's record of created series, under the lock that
    /// [`Metrics::forget_cluster`] takes. A poisoned lock is used as is: the record is a
    /// set of names, never left half-updated in a way that matters.
    fn with_cluster<R>(&self, cluster: &str, f: impl FnOnce(&Inner, &mut Seen) -> R) -> R {
        let mut seen = self
            .inner
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = match seen.entry(cluster.to_owned()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let s = e.insert(Seen::default());
                Self::zero_cluster(&self.inner, cluster, s);
                s
            }
        };
        f(&self.inner, entry)
    }

    /// The zeros of a cluster seen for the first time: every reconcile result and every
    /// step kind and result.
    fn zero_cluster(m: &Inner, cluster: &str, seen: &mut Seen) {
        for result in RECONCILE_RESULTS {
            seen.results.insert(result.to_owned());
            zero(
                &m.reconcile_total,
                &ClusterResultLabels {
                    cluster: cluster.to_owned(),
                    result: result.to_owned(),
                },
            );
        }
        for kind in StepKind::ALL {
            for result in STEP_RESULTS {
                seen.steps
                    .insert((kind.as_str().to_owned(), result.to_owned()));
                zero(
                    &m.steps_total,
                    &StepLabels {
                        cluster: cluster.to_owned(),
                        kind: kind.as_str().to_owned(),
                        result: result.to_owned(),
                    },
                );
            }
        }
        for c in Component::ALL {
            seen.autoupdate_components.insert(c.as_str().to_owned());
            zero(
                &m.autoupdate_rollbacks_total,
                &ComponentLabels {
                    cluster: cluster.to_owned(),
                    component: c.as_str().to_owned(),
                },
            );
        }
    }

    /// The reconcile loop's liveness (shared with `/readyz`).
    pub fn liveness(&self) -> &crate::liveness::Liveness {
        &self.inner.liveness
    }

    /// One reconcile pass over `cluster` finished with `result` (a word from a fixed list:
    /// `ok`, `error`, `requeue`) after `secs` seconds.
    pub fn reconcile_finished(&self, cluster: &str, result: &str, secs: f64) {
        self.with_cluster(cluster, |m, seen| {
            seen.results.insert(result.to_owned());
            m.reconcile_total
                .get_or_create(&ClusterResultLabels {
                    cluster: cluster.to_owned(),
                    result: result.to_owned(),
                })
                .inc();
            m.reconcile_duration
                .get_or_create(&ClusterLabels {
                    cluster: cluster.to_owned(),
                })
                .observe(secs);
        });
    }

    /// A reconcile pass over `cluster` finished without error at `now` (seconds since the
    /// epoch, the loop's clock).
    pub fn reconcile_succeeded_at(&self, cluster: &str, now: u64) {
        self.with_cluster(cluster, |m, _| {
            m.last_success
                .get_or_create(&ClusterLabels {
                    cluster: cluster.to_owned(),
                })
                .set(i64::try_from(now).unwrap_or(i64::MAX));
        });
    }

    /// What the cluster's last observation found: per host whether its engine answered
    /// (and a zero for every counter of the host), the observation errors to count, the
    /// health of ZooKeeper and the masters, and the images each component runs.
    pub fn set_observed(&self, cluster: &str, o: &ObservedHealth) {
        self.with_cluster(cluster, |m, seen| {
            for (host, up) in &o.hosts {
                seen.hosts.insert(host.clone());
                m.docker_host_up
                    .get_or_create(&ClusterHostLabels {
                        cluster: cluster.to_owned(),
                        host: host.clone(),
                    })
                    .set(i64::from(*up));
                let components = Component::ALL.iter().map(|c| c.as_str());
                for component in std::iter::once(DOCKER_ENGINE).chain(components) {
                    zero(
                        &m.observe_errors_total,
                        &ClusterHostComponentLabels {
                            cluster: cluster.to_owned(),
                            host: host.clone(),
                            component: component.to_owned(),
                        },
                    );
                }
                for result in DOCKER_RESULTS {
                    zero(
                        &m.docker_requests_total,
                        &HostResultLabels {
                            host: host.clone(),
                            result: result.to_owned(),
                        },
                    );
                }
            }
            for (host, component) in &o.errors {
                seen.hosts.insert(host.clone());
                m.observe_errors_total
                    .get_or_create(&ClusterHostComponentLabels {
                        cluster: cluster.to_owned(),
                        host: host.clone(),
                        component: component.clone(),
                    })
                    .inc();
            }
            let labels = ClusterLabels {
                cluster: cluster.to_owned(),
            };
            m.zookeeper_leader
                .get_or_create(&labels)
                .set(i64::from(o.zk_leader));
            m.zookeeper_voters_serving
                .get_or_create(&labels)
                .set(o.zk_voters_serving);
            m.masters_leader
                .get_or_create(&labels)
                .set(i64::from(o.masters_leader));
            m.masters_registry_recovered
                .get_or_create(&labels)
                .set(i64::from(o.masters_recovered));
            m.agents_registered
                .get_or_create(&labels)
                .set(o.agents_registered);
            let running = o.images.iter().flat_map(|(component, images)| {
                images
                    .iter()
                    .map(move |image| (component.clone(), image.clone(), ImageState::Running))
            });
            let desired = o
                .desired_images
                .iter()
                .map(|(c, image)| (c.clone(), image.clone(), ImageState::Desired));
            let now: BTreeSet<(String, String, ImageState)> = running.chain(desired).collect();
            for gone in seen.images.difference(&now) {
                m.component_info.remove(&image_labels(cluster, gone));
            }
            for info in &now {
                m.component_info
                    .get_or_create(&image_labels(cluster, info))
                    .set(1);
            }
            seen.images = now;
        });
    }

    /// Whether `/readyz` answers 200 now (the admin server sets it at each scrape).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.set(i64::from(ready));
    }

    /// One request to etcd of `op` ended with `result` after `secs`.
    pub fn etcd_request(&self, op: EtcdOp, result: EtcdResult, secs: f64) {
        self.inner
            .etcd_requests_total
            .get_or_create(&OpResultLabels {
                op: op.as_str().to_owned(),
                result: result.as_str().to_owned(),
            })
            .inc();
        self.inner
            .etcd_request_duration
            .get_or_create(&OpLabels {
                op: op.as_str().to_owned(),
            })
            .observe(secs);
    }

    /// One plan step of `kind` (`Step::kind()`, e.g. `ReplaceMaster`) on `cluster` finished
    /// with `result` (e.g. `ok`, `error`, `timeout`) after `secs` seconds.
    pub fn step_finished(&self, cluster: &str, kind: &str, result: &str, secs: f64) {
        self.with_cluster(cluster, |m, seen| {
            seen.steps.insert((kind.to_owned(), result.to_owned()));
            m.steps_total
                .get_or_create(&StepLabels {
                    cluster: cluster.to_owned(),
                    kind: kind.to_owned(),
                    result: result.to_owned(),
                })
                .inc();
        });
        self.inner
            .step_duration
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .observe(secs);
    }

    /// A host preflight check's last result on `host` (`Check::as_str()`): 0 pass, 1 warn
    /// (or a failure the host ignores), 2 fail.
    pub fn set_preflight(&self, cluster: &str, host: &str, check: &str, value: i64) {
        self.with_cluster(cluster, |m, seen| {
            seen.preflight.insert((host.to_owned(), check.to_owned()));
            m.preflight_check
                .get_or_create(&PreflightLabels {
                    cluster: cluster.to_owned(),
                    host: host.to_owned(),
                    check: check.to_owned(),
                })
                .set(value);
        });
    }

    /// The cluster's state after a pass: `converged` and its `phase` (`Phase::as_str()`).
    /// The phase family gets 1 for `phase` and 0 for every other phase the core knows or
    /// this cluster has been in.
    pub fn set_cluster(&self, cluster: &str, converged: bool, phase: &str) {
        self.with_cluster(cluster, |m, seen| {
            m.cluster_converged
                .get_or_create(&ClusterLabels {
                    cluster: cluster.to_owned(),
                })
                .set(i64::from(converged));
            seen.phases
                .extend(KNOWN_PHASES.iter().map(|p| p.as_str().to_owned()));
            seen.phases.insert(phase.to_owned());
            for p in &seen.phases {
                m.cluster_phase
                    .get_or_create(&PhaseLabels {
                        cluster: cluster.to_owned(),
                        phase: p.clone(),
                    })
                    .set(i64::from(p == phase));
            }
        });
    }

    /// A component's (`Component::as_str()`: `zookeeper`, `masters`, `agents`, `marathon`)
    /// observed healthy members and the members the spec asks for.
    pub fn set_component(&self, cluster: &str, component: &str, ready: i64, desired: i64) {
        self.with_cluster(cluster, |m, seen| {
            seen.components.insert(component.to_owned());
            let labels = ComponentLabels {
                cluster: cluster.to_owned(),
                component: component.to_owned(),
            };
            m.component_ready.get_or_create(&labels).set(ready);
            m.component_desired.get_or_create(&labels).set(desired);
        });
    }

    /// Voters in the cluster's committed ZooKeeper configuration.
    pub fn set_zk_voters(&self, cluster: &str, n: i64) {
        self.with_cluster(cluster, |m, _| {
            m.zookeeper_voters
                .get_or_create(&ClusterLabels {
                    cluster: cluster.to_owned(),
                })
                .set(n);
        });
    }

    /// Whether this replica currently leads; a change from what it said before counts in
    /// `mesos_operator_leader_changes_total`.
    pub fn set_leader(&self, leader: bool) {
        let was = self.inner.leader.set(i64::from(leader));
        if was != i64::from(leader) {
            self.inner.leader_changes_total.inc();
        }
    }

    /// The term this replica leads in, 0 while a standby.
    pub fn set_leader_term(&self, term: i64) {
        self.inner.leader_term.set(term);
    }

    /// One request to the Docker host `host` (its name in the fleet, not a URL with
    /// credentials) finished with `result` (e.g. `ok`, `error`, `timeout`).
    pub fn docker_request(&self, host: &str, result: &str) {
        self.inner
            .docker_requests_total
            .get_or_create(&HostResultLabels {
                host: host.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// The Docker event stream of `cluster` on `host` opened (`true`) or closed.
    pub fn set_docker_event_stream(&self, cluster: &str, host: &str, up: bool) {
        self.with_cluster(cluster, |m, seen| {
            seen.event_hosts.insert(host.to_owned());
            m.docker_event_stream_up
                .get_or_create(&ClusterHostLabels {
                    cluster: cluster.to_owned(),
                    host: host.to_owned(),
                })
                .set(i64::from(up));
        });
    }

    /// A Docker event stream of `host` ended or failed.
    pub fn docker_event_stream_restart(&self, host: &str) {
        self.inner
            .docker_event_stream_restarts_total
            .get_or_create(&HostLabels {
                host: host.to_owned(),
            })
            .inc();
    }

    /// A Docker event arrived from `host`.
    pub fn docker_event(&self, host: &str) {
        self.inner
            .docker_events_total
            .get_or_create(&HostLabels {
                host: host.to_owned(),
            })
            .inc();
    }

    /// One observation of `cluster` took `secs`.
    pub fn observed(&self, cluster: &str, secs: f64) {
        self.with_cluster(cluster, |m, _| {
            m.observe_duration
                .get_or_create(&ClusterLabels {
                    cluster: cluster.to_owned(),
                })
                .observe(secs);
        });
    }

    /// A registry scan of a component finished with `result` (`ok` or an error's metric label).
    pub fn autoupdate_scan(&self, cluster: &str, component: &str, result: &str) {
        self.with_cluster(cluster, |m, seen| {
            seen.autoupdate
                .insert((format!("scan:{component}"), result.to_owned()));
            m.autoupdate_scans_total
                .get_or_create(&ComponentResultLabels {
                    cluster: cluster.to_owned(),
                    component: component.to_owned(),
                    result: result.to_owned(),
                })
                .inc();
        });
    }

    /// A canary `started`, `passed` or `failed` (a failure is also a rollback).
    pub fn autoupdate_canary(&self, cluster: &str, component: &str, result: &str) {
        self.with_cluster(cluster, |m, seen| {
            seen.autoupdate
                .insert((format!("canary:{component}"), result.to_owned()));
            m.autoupdate_canaries_total
                .get_or_create(&ComponentResultLabels {
                    cluster: cluster.to_owned(),
                    component: component.to_owned(),
                    result: result.to_owned(),
                })
                .inc();
        });
    }

    /// An automated rollback.
    pub fn autoupdate_rollback(&self, cluster: &str, component: &str) {
        self.with_cluster(cluster, |m, seen| {
            seen.autoupdate_components.insert(component.to_owned());
            m.autoupdate_rollbacks_total
                .get_or_create(&ComponentLabels {
                    cluster: cluster.to_owned(),
                    component: component.to_owned(),
                })
                .inc();
        });
    }

    /// The automation's gauges of a component after a pass.
    pub fn set_autoupdate(
        &self,
        cluster: &str,
        component: &str,
        candidate: bool,
        denied: i64,
        pinned: bool,
    ) {
        self.with_cluster(cluster, |m, seen| {
            seen.autoupdate_components.insert(component.to_owned());
            let labels = ComponentLabels {
                cluster: cluster.to_owned(),
                component: component.to_owned(),
            };
            m.autoupdate_candidate
                .get_or_create(&labels)
                .set(i64::from(candidate));
            m.autoupdate_denied.get_or_create(&labels).set(denied);
            m.autoupdate_pinned
                .get_or_create(&labels)
                .set(i64::from(pinned));
            let families = [
                ("canary", &m.autoupdate_canaries_total, &CANARY_RESULTS[..]),
                ("scan", &m.autoupdate_scans_total, &SCAN_RESULTS[..]),
            ];
            for (which, family, results) in families {
                for result in results {
                    seen.autoupdate
                        .insert((format!("{which}:{component}"), (*result).to_owned()));
                    zero(
                        family,
                        &ComponentResultLabels {
                            cluster: cluster.to_owned(),
                            component: component.to_owned(),
                            result: (*result).to_owned(),
                        },
                    );
                }
            }
        });
    }

    /// Removes every series labelled with `cluster` (call it when the cluster's document is
    /// deleted). `mesos_operator_step_duration_seconds` is labelled by step kind only and
    /// keeps its observations.
    pub fn forget_cluster(&self, cluster: &str) {
        let mut seen = self
            .inner
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(s) = seen.remove(cluster) else {
            return;
        };
        let m = &self.inner;
        let c = || cluster.to_owned();
        for result in s.results {
            m.reconcile_total.remove(&ClusterResultLabels {
                cluster: c(),
                result,
            });
        }
        m.reconcile_duration.remove(&ClusterLabels { cluster: c() });
        m.observe_duration.remove(&ClusterLabels { cluster: c() });
        for (kind, result) in s.steps {
            m.steps_total.remove(&StepLabels {
                cluster: c(),
                kind,
                result,
            });
        }
        m.cluster_converged.remove(&ClusterLabels { cluster: c() });
        for phase in s.phases {
            m.cluster_phase.remove(&PhaseLabels {
                cluster: c(),
                phase,
            });
        }
        for component in s.components {
            let labels = ComponentLabels {
                cluster: c(),
                component,
            };
            m.component_ready.remove(&labels);
            m.component_desired.remove(&labels);
        }
        m.zookeeper_voters.remove(&ClusterLabels { cluster: c() });
        for (which, result) in s.autoupdate {
            let (family, component) = which.split_once(':').unwrap_or(("", ""));
            let labels = ComponentResultLabels {
                cluster: c(),
                component: component.to_owned(),
                result,
            };
            match family {
                "scan" => m.autoupdate_scans_total.remove(&labels),
                _ => m.autoupdate_canaries_total.remove(&labels),
            };
        }
        for (host, check) in s.preflight {
            m.preflight_check.remove(&PreflightLabels {
                cluster: c(),
                host,
                check,
            });
        }
        for host in s.event_hosts {
            m.docker_event_stream_up
                .remove(&ClusterHostLabels { cluster: c(), host });
        }
        m.last_success.remove(&ClusterLabels { cluster: c() });
        m.zookeeper_leader.remove(&ClusterLabels { cluster: c() });
        m.zookeeper_voters_serving
            .remove(&ClusterLabels { cluster: c() });
        m.masters_leader.remove(&ClusterLabels { cluster: c() });
        m.masters_registry_recovered
            .remove(&ClusterLabels { cluster: c() });
        m.agents_registered.remove(&ClusterLabels { cluster: c() });
        for host in s.hosts {
            m.docker_host_up.remove(&ClusterHostLabels {
                cluster: c(),
                host: host.clone(),
            });
            let components = Component::ALL.iter().map(|c| c.as_str());
            for component in std::iter::once(DOCKER_ENGINE).chain(components) {
                m.observe_errors_total.remove(&ClusterHostComponentLabels {
                    cluster: c(),
                    host: host.clone(),
                    component: component.to_owned(),
                });
            }
        }
        for info in &s.images {
            m.component_info.remove(&image_labels(cluster, info));
        }
        for component in s.autoupdate_components {
            let labels = ComponentLabels {
                cluster: c(),
                component,
            };
            m.autoupdate_rollbacks_total.remove(&labels);
            m.autoupdate_candidate.remove(&labels);
            m.autoupdate_denied.remove(&labels);
            m.autoupdate_pinned.remove(&labels);
        }
    }

    /// Every series in `format`.
    ///
    /// Writing into a `String` cannot fail and these label sets always encode, so an error
    /// here would be a bug in `prometheus-client`; the admin server answers it with a 500.
    pub fn try_encode(&self, format: Format) -> Result<String, fmt::Error> {
        let mut out = String::new();
        match format {
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?
            }
            Format::PrometheusText => prometheus_client::encoding::prometheus_text::encode(
                &mut out,
                &self.inner.registry,
            )?,
        }
        Ok(out)
    }

    /// Every series as OpenMetrics 1.0 text ([`OPENMETRICS_CONTENT_TYPE`]), ending with
    /// `# EOF`. On the (unreachable, see [`Metrics::try_encode`]) error, logs it and
    /// returns a body with only `# EOF`.
    pub fn encode(&self) -> String {
        self.try_encode(Format::OpenMetrics).unwrap_or_else(|e| {
            tracing::error!(error = %e, "encoding metrics failed");
            "# EOF\n".to_owned()
        })
    }

    /// Every series as Prometheus text format 0.0.4 ([`PROMETHEUS_TEXT_CONTENT_TYPE`]), as
    /// `promtool check metrics` reads it. On the (unreachable) error, logs it and returns an
    /// empty body.
    pub fn encode_text(&self) -> String {
        self.try_encode(Format::PrometheusText).unwrap_or_else(|e| {
            tracing::error!(error = %e, "encoding metrics failed");
            String::new()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILIES: [(&str, &str); 33] = [
        ("mesos_operator_build_info", "gauge"),
        ("mesos_operator_ready", "gauge"),
        ("mesos_operator_leader_changes", "counter"),
        (
            "mesos_operator_last_reconcile_success_timestamp_seconds",
            "gauge",
        ),
        ("mesos_operator_component_info", "gauge"),
        ("mesos_operator_observe_errors", "counter"),
        ("mesos_operator_docker_host_up", "gauge"),
        ("mesos_operator_zookeeper_leader", "gauge"),
        ("mesos_operator_zookeeper_voters_serving", "gauge"),
        ("mesos_operator_masters_leader", "gauge"),
        ("mesos_operator_masters_registry_recovered", "gauge"),
        ("mesos_operator_agents_registered", "gauge"),
        ("mesos_operator_etcd_requests", "counter"),
        ("mesos_operator_etcd_request_duration_seconds", "histogram"),
        ("mesos_operator_observe_duration_seconds", "histogram"),
        ("mesos_operator_reconcile", "counter"),
        ("mesos_operator_reconcile_duration_seconds", "histogram"),
        ("mesos_operator_steps", "counter"),
        ("mesos_operator_step_duration_seconds", "histogram"),
        ("mesos_operator_cluster_converged", "gauge"),
        ("mesos_operator_cluster_phase", "gauge"),
        ("mesos_operator_component_ready", "gauge"),
        ("mesos_operator_component_desired", "gauge"),
        ("mesos_operator_zookeeper_voters", "gauge"),
        ("mesos_operator_leader", "gauge"),
        ("mesos_operator_leader_term", "gauge"),
        ("mesos_operator_docker_requests", "counter"),
        ("mesos_operator_autoupdate_scans", "counter"),
        ("mesos_operator_autoupdate_canaries", "counter"),
        ("mesos_operator_autoupdate_rollbacks", "counter"),
        ("mesos_operator_autoupdate_candidate", "gauge"),
        ("mesos_operator_autoupdate_denied_tags", "gauge"),
        ("mesos_operator_autoupdate_pinned", "gauge"),
    ];

    /// The value of the sample line starting with `series ` (name and labels exactly).
    fn value(body: &str, series: &str) -> Option<f64> {
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    fn populated() -> Metrics {
        let m = Metrics::new();
        m.reconcile_finished("prod", "ok", 0.02);
        m.reconcile_finished("prod", "ok", 3.0);
        m.reconcile_finished("prod", "error", 0.5);
        m.step_finished("prod", "ReplaceMaster", "ok", 42.0);
        m.set_cluster("prod", false, "Progressing");
        m.set_component("prod", "masters", 2, 3);
        m.set_zk_voters("prod", 3);
        m.set_leader(true);
        m.docker_request("host-1", "ok");
        m.autoupdate_scan("prod", "masters", "ok");
        m.autoupdate_canary("prod", "masters", "started");
        m.autoupdate_rollback("prod", "masters");
        m.set_autoupdate("prod", "masters", true, 1, false);
        m.reconcile_succeeded_at("prod", 1_700_000_000);
        m.observed("prod", 0.2);
        m.set_observed("prod", &observed_health());
        m.etcd_request(EtcdOp::Txn, EtcdResult::Timeout, 5.0);
        m
    }

    fn observed_health() -> ObservedHealth {
        ObservedHealth {
            hosts: vec![("host-1".into(), true), ("host-2".into(), false)],
            errors: vec![
                ("host-2".into(), DOCKER_ENGINE.into()),
                ("host-1".into(), "masters".into()),
            ],
            zk_leader: true,
            zk_voters_serving: 2,
            masters_leader: true,
            masters_recovered: false,
            agents_registered: 1,
            images: vec![(
                "masters".into(),
                vec![
                    "mesos-master:1.11.0".into(),
                    "reg.local:5000/mesos-master:1.12.0-rc1".into(),
                ],
            )],
            desired_images: vec![(
                "masters".into(),
                "reg.local:5000/mesos-master:1.12.0-rc1".into(),
            )],
        }
    }

    #[test]
    fn observation_gauges_and_image_info_follow_the_last_observation() {
        let m = populated();
        let om = m.encode();
        for (series, want) in [
            (
                r#"mesos_operator_docker_host_up{cluster="prod",host="host-1"}"#,
                1.0,
            ),
            (
                r#"mesos_operator_docker_host_up{cluster="prod",host="host-2"}"#,
                0.0,
            ),
            (
                r#"mesos_operator_observe_errors_total{cluster="prod",host="host-2",component="docker"}"#,
                1.0,
            ),
            (
                r#"mesos_operator_observe_errors_total{cluster="prod",host="host-1",component="masters"}"#,
                1.0,
            ),
            // Known in advance: a zero, not an absent series.
            (
                r#"mesos_operator_observe_errors_total{cluster="prod",host="host-1",component="zookeeper"}"#,
                0.0,
            ),
            (
                r#"mesos_operator_docker_requests_total{host="host-2",result="unreachable"}"#,
                0.0,
            ),
            (r#"mesos_operator_zookeeper_leader{cluster="prod"}"#, 1.0),
            (
                r#"mesos_operator_zookeeper_voters_serving{cluster="prod"}"#,
                2.0,
            ),
            (r#"mesos_operator_masters_leader{cluster="prod"}"#, 1.0),
            (
                r#"mesos_operator_masters_registry_recovered{cluster="prod"}"#,
                0.0,
            ),
            (r#"mesos_operator_agents_registered{cluster="prod"}"#, 1.0),
            (
                r#"mesos_operator_component_info{cluster="prod",component="masters",image="mesos-master:1.11.0",version="1.11.0",state="running"}"#,
                1.0,
            ),
            (
                r#"mesos_operator_component_info{cluster="prod",component="masters",image="reg.local:5000/mesos-master:1.12.0-rc1",version="1.12.0-rc1",state="running"}"#,
                1.0,
            ),
            (
                r#"mesos_operator_last_reconcile_success_timestamp_seconds{cluster="prod"}"#,
                1_700_000_000.0,
            ),
            (
                r#"mesos_operator_etcd_requests_total{op="txn",result="timeout"}"#,
                1.0,
            ),
            (
                r#"mesos_operator_etcd_requests_total{op="get",result="ok"}"#,
                0.0,
            ),
        ] {
            assert_eq!(value(&om, series), Some(want), "{series}:\n{om}");
        }
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_component_info{cluster="prod",component="masters",image="reg.local:5000/mesos-master:1.12.0-rc1",version="1.12.0-rc1",state="desired"}"#
            ),
            Some(1.0)
        );
        // The rollout ends: the old image's series goes, the counters keep counting.
        let mut o = observed_health();
        o.images = vec![(
            "masters".into(),
            vec!["reg.local:5000/mesos-master:1.12.0-rc1".into()],
        )];
        m.set_observed("prod", &o);
        let om = m.encode();
        assert!(!om.contains("image=\"mesos-master:1.11.0\""), "{om}");
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_observe_errors_total{cluster="prod",host="host-2",component="docker"}"#
            ),
            Some(2.0)
        );
        m.forget_cluster("prod");
        let om = m.encode();
        assert!(!om.contains("cluster=\"prod\""), "{om}");
    }

    #[test]
    fn a_cluster_seen_once_has_a_zero_for_every_result_and_step_kind() {
        let m = Metrics::new();
        m.set_cluster("prod", true, "Converged");
        let text = m.encode_text();
        for result in RECONCILE_RESULTS {
            let series =
                format!(r#"mesos_operator_reconcile_total{{cluster="prod",result="{result}"}}"#);
            assert_eq!(value(&text, &series), Some(0.0), "{series}");
        }
        for kind in StepKind::ALL {
            for result in STEP_RESULTS {
                let series = format!(
                    r#"mesos_operator_steps_total{{cluster="prod",kind="{}",result="{result}"}}"#,
                    kind.as_str()
                );
                assert_eq!(value(&text, &series), Some(0.0), "{series}");
            }
        }
        for c in Component::ALL {
            let series = format!(
                r#"mesos_operator_autoupdate_rollbacks_total{{cluster="prod",component="{}"}}"#,
                c.as_str()
            );
            assert_eq!(value(&text, &series), Some(0.0), "{series}");
        }
    }

    #[test]
    fn leader_changes_count_transitions_only() {
        let m = Metrics::new();
        m.set_leader(false);
        m.set_leader(true);
        m.set_leader(true);
        m.set_leader(false);
        assert_eq!(
            value(&m.encode_text(), "mesos_operator_leader_changes_total"),
            Some(2.0)
        );
    }

    #[test]
    fn every_family_has_help_and_type_in_both_formats() {
        let m = populated();
        let om = m.encode();
        let text = m.encode_text();
        for (name, ty) in FAMILIES {
            assert!(
                om.contains(&format!("# HELP {name} ")),
                "no HELP for {name}:\n{om}"
            );
            assert!(
                om.contains(&format!("# TYPE {name} {ty}\n")),
                "{name}:\n{om}"
            );
            // The 0.0.4 format names counters with their `_total` suffix.
            let text_name = if ty == "counter" {
                format!("{name}_total")
            } else {
                name.to_owned()
            };
            assert!(
                text.contains(&format!("# HELP {text_name} ")),
                "no HELP for {text_name}:\n{text}"
            );
            assert!(
                text.contains(&format!("# TYPE {text_name} {ty}\n")),
                "{text_name}:\n{text}"
            );
        }
        assert!(om.ends_with("# EOF\n"));
        assert!(!text.contains("# EOF"));
        assert!(om.contains("# UNIT mesos_operator_reconcile_duration_seconds seconds\n"));
    }

    #[test]
    fn a_new_registry_has_every_family_without_per_cluster_labels() {
        // prometheus-client writes no HELP/TYPE for a family without series: those labelled
        // by cluster appear with the first cluster. Everything else is there from the start.
        let m = Metrics::new();
        let text = m.encode_text();
        assert_eq!(value(&text, "mesos_operator_leader"), Some(0.0));
        assert_eq!(value(&text, "mesos_operator_leader_term"), Some(0.0));
        assert_eq!(
            value(&text, "mesos_operator_leader_changes_total"),
            Some(0.0)
        );
        assert_eq!(value(&text, "mesos_operator_ready"), Some(0.0));
        let build = format!(
            r#"mesos_operator_build_info{{version="{}",commit="{}"}}"#,
            crate::build_info::VERSION,
            crate::build_info::COMMIT
        );
        assert_eq!(value(&text, &build), Some(1.0), "{text}");
        for kind in StepKind::ALL {
            let series = format!(
                r#"mesos_operator_step_duration_seconds_count{{kind="{}"}}"#,
                kind.as_str()
            );
            assert_eq!(value(&text, &series), Some(0.0), "{series}");
        }
        for op in EtcdOp::ALL {
            for result in EtcdResult::ALL {
                let series = format!(
                    r#"mesos_operator_etcd_requests_total{{op="{}",result="{}"}}"#,
                    op.as_str(),
                    result.as_str()
                );
                assert_eq!(value(&text, &series), Some(0.0), "{series}");
            }
        }
        assert!(!text.contains("cluster="), "{text}");
    }

    #[test]
    fn values_move() {
        let m = populated();
        let om = m.encode();
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_reconcile_total{cluster="prod",result="ok"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_reconcile_total{cluster="prod",result="error"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_reconcile_duration_seconds_count{cluster="prod"}"#
            ),
            Some(3.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_reconcile_duration_seconds_sum{cluster="prod"}"#
            ),
            Some(3.52)
        );
        // 0.02 and 0.5 are at most 1 s; 3.0 is not.
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_reconcile_duration_seconds_bucket{le="1.0",cluster="prod"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_steps_total{cluster="prod",kind="ReplaceMaster",result="ok"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_step_duration_seconds_bucket{le="60.0",kind="ReplaceMaster"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_step_duration_seconds_bucket{le="30.0",kind="ReplaceMaster"}"#
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&om, r#"mesos_operator_cluster_converged{cluster="prod"}"#),
            Some(0.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_component_ready{cluster="prod",component="masters"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_component_desired{cluster="prod",component="masters"}"#
            ),
            Some(3.0)
        );
        assert_eq!(
            value(&om, r#"mesos_operator_zookeeper_voters{cluster="prod"}"#),
            Some(3.0)
        );
        assert_eq!(value(&om, "mesos_operator_leader"), Some(1.0));
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_docker_requests_total{host="host-1",result="ok"}"#
            ),
            Some(1.0)
        );

        m.set_leader(false);
        m.set_cluster("prod", true, "Converged");
        m.set_component("prod", "masters", 3, 3);
        m.docker_request("host-1", "ok");
        let om = m.encode();
        assert_eq!(value(&om, "mesos_operator_leader"), Some(0.0));
        assert_eq!(
            value(&om, r#"mesos_operator_cluster_converged{cluster="prod"}"#),
            Some(1.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_component_ready{cluster="prod",component="masters"}"#
            ),
            Some(3.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_docker_requests_total{host="host-1",result="ok"}"#
            ),
            Some(2.0)
        );
    }

    #[test]
    fn phase_is_one_hot_over_known_and_seen_phases() {
        let m = Metrics::new();
        m.set_cluster("prod", false, "Blocked");
        let om = m.encode();
        for p in KNOWN_PHASES {
            let want = if p == Phase::Blocked { 1.0 } else { 0.0 };
            let series = format!(
                r#"mesos_operator_cluster_phase{{cluster="prod",phase="{}"}}"#,
                p.as_str()
            );
            assert_eq!(value(&om, &series), Some(want), "{series}");
        }
        // A phase the core does not know (yet) still gets its series, and leaves it at 0.
        m.set_cluster("prod", false, "Mystery");
        m.set_cluster("prod", true, "Converged");
        let om = m.encode();
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_cluster_phase{cluster="prod",phase="Mystery"}"#
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_cluster_phase{cluster="prod",phase="Converged"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_cluster_phase{cluster="prod",phase="Blocked"}"#
            ),
            Some(0.0)
        );
    }

    #[test]
    fn forget_cluster_removes_only_its_series() {
        let m = populated();
        m.reconcile_finished("staging", "ok", 0.1);
        m.set_cluster("staging", true, "Converged");
        m.set_component("staging", "agents", 5, 5);
        m.forget_cluster("prod");
        // Forgetting twice, or a cluster never seen, is harmless.
        m.forget_cluster("prod");
        m.forget_cluster("never-seen");
        let om = m.encode();
        assert!(!om.contains(r#"cluster="prod""#), "{om}");
        assert!(om.contains(r#"cluster="staging""#));
        // Not per cluster: kept.
        assert!(om.contains(r#"kind="ReplaceMaster""#));
        assert!(om.contains(r#"host="host-1""#));
        assert_eq!(value(&om, "mesos_operator_leader"), Some(1.0));

        // The cluster coming back starts afresh.
        m.reconcile_finished("prod", "ok", 0.1);
        let om = m.encode();
        assert_eq!(
            value(
                &om,
                r#"mesos_operator_reconcile_total{cluster="prod",result="ok"}"#
            ),
            Some(1.0)
        );
    }

    #[test]
    fn clones_share_series() {
        let m = Metrics::new();
        let c = m.clone();
        c.set_zk_voters("prod", 5);
        assert_eq!(
            value(
                &m.encode(),
                r#"mesos_operator_zookeeper_voters{cluster="prod"}"#
            ),
            Some(5.0)
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.docker_request("we\"ird\\host\n", "ok");
        let text = m.encode_text();
        assert!(
            text.contains(r#"host="we\"ird\\host\n""#),
            "label not escaped:\n{text}"
        );
    }

    #[test]
    fn buckets_are_sorted_and_in_range() {
        assert!(RECONCILE_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert!(STEP_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(RECONCILE_BUCKETS[0], 0.001);
        assert_eq!(RECONCILE_BUCKETS[RECONCILE_BUCKETS.len() - 1], 60.0);
        assert_eq!(STEP_BUCKETS[0], 0.05);
        assert_eq!(STEP_BUCKETS[STEP_BUCKETS.len() - 1], 600.0);
    }
}
