//! The fleet seam: what the reconcile loop asks of the machines it manages, as a trait with
//! the real implementation here ([`DockerFleet`]: Docker Engine API, ZooKeeper, the Mesos
//! and Marathon APIs) and a model one in the tests, which carries out the very same
//! [`Op`]s on the simulation's model cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use mesos_operator_core::observed::Observed;
use mesos_operator_core::ops::Op;
use mesos_operator_core::preflight::Results;
use mesos_operator_core::spec::MesosCluster;

use crate::act::{ActError, Executor};
use crate::docker_events::EventHub;
use crate::election::Fence;
use crate::http_auth::HttpAuth;
use crate::metrics::Metrics;
use crate::observe::{self, HostClients};
use crate::secrets::{Secret, SecretSource};

/// The secrets one step needs, read before its record is written.
#[derive(Clone, Default)]
pub struct StepSecrets {
    /// The ZooKeeper super user's `user:password`, when the document names one.
    pub zk_super: Option<Secret>,
    /// The secrets the step's containers take as files, by name.
    pub files: BTreeMap<String, Secret>,
    /// The cluster's `httpCredentials` for its masters and Marathon, when it names them.
    pub http: Option<HttpAuth>,
    /// The backup target's S3 keys, for a step that stores or records a backup.
    pub backup: Option<Secret>,
}

/// How long a pull ahead that failed (a missing tag, an unreachable registry) is not tried
/// again: the step's own pull says why, in the status.
pub const PULL_AHEAD_RETRY: std::time::Duration = std::time::Duration::from_secs(300);

/// One cluster's pulls ahead.
#[derive(Default)]
struct PullsAhead {
    running: bool,
    failed: HashMap<(String, String), tokio::time::Instant>,
}

/// The machines of the clusters the loop manages.
#[async_trait]
pub trait Fleet: Send + Sync + 'static {
    /// What is there now, for the document's hosts: never fails; what cannot be seen is
    /// reported as such in the observation.
    async fn observe(&self, doc: &MesosCluster) -> Observed;
    /// Carries out one operation. Checks `fence` right before it touches anything.
    async fn execute(
        &self,
        doc: &MesosCluster,
        op: &Op,
        fence: &Fence,
        secrets: &StepSecrets,
    ) -> Result<(), ActError>;
    /// The cluster is gone: drop what is kept for it.
    fn forget(&self, _cluster: &str) {}
    /// The names of clusters whose machines changed, as the machines report it (taken once;
    /// `None` where nothing reports, and the loop relies on its resync alone).
    fn wakes(&self) -> Option<BoxStream<'static, String>> {
        None
    }
    /// Whether every change to `cluster`'s machines reaches [`Fleet::wakes`] now: the loop
    /// then looks at it, converged, less often.
    fn watched(&self, _cluster: &str) -> bool {
        false
    }
    /// Pulls `images` (host, image) in the background, ahead of the steps that will run
    /// them, so that those steps are a stop and a start; never starts a container, never
    /// fails (a pull that fails here is tried again by the step's own `Op::Pull`), and
    /// pulls only while `fence` holds.
    fn pull_ahead(&self, _doc: &MesosCluster, _images: Vec<(String, String)>, _fence: &Fence) {}
    /// The host preflight results of the document's hosts (checked now, or kept from a
    /// recent look), asked for only when the plan is about to place a member. Fleets
    /// without real hosts (the models) have none: their hosts hold nothing.
    async fn preflight(&self, _doc: &MesosCluster, _observed: &Observed) -> Results {
        Results::new()
    }
}

/// The real fleet: a client per Docker host (mutual TLS or a unix socket), kept per cluster
/// while its hosts stay the same.
pub struct DockerFleet {
    secrets: SecretSource,
    http: reqwest::Client,
    clients: Mutex<HashMap<String, (String, Arc<HostClients>)>>,
    events: Option<EventHub>,
    /// Per cluster, the pull ahead under way (one at a time, so that a full disk shows on
    /// one host, as a step's own pull would, not on every host at once) and the pulls
    /// ahead that failed lately (host, image → when; not tried again for
    /// [`PULL_AHEAD_RETRY`]).
    pulling: Arc<Mutex<HashMap<String, PullsAhead>>>,
    /// Where the hosts' clients count their requests (the operator's registry), if anywhere.
    metrics: Option<Metrics>,
    /// Per cluster, the last preflight results, while fresh.
    preflight: crate::preflight::cache::PreflightCache,
}

impl DockerFleet {
    /// A fleet whose hosts' TLS material comes from `secrets`; it looks when asked and
    /// reports no changes by itself (`mesos-operator plan`).
    pub fn new(secrets: SecretSource, http: reqwest::Client) -> DockerFleet {
        DockerFleet {
            secrets,
            http,
            clients: Mutex::new(HashMap::new()),
            events: None,
            pulling: Arc::default(),
            metrics: None,
            preflight: Default::default(),
        }
    }

    /// A fleet that also keeps each host's Docker event stream open for every cluster it
    /// looks at, reports the clusters whose containers change ([`Fleet::wakes`]), and
    /// counts every request to a Docker engine in `metrics`.
    pub fn watching(secrets: SecretSource, http: reqwest::Client, metrics: Metrics) -> DockerFleet {
        DockerFleet {
            events: Some(EventHub::new(metrics.clone())),
            metrics: Some(metrics),
            ..DockerFleet::new(secrets, http)
        }
    }

    fn cached(&self, cluster: &str) -> Option<(String, Arc<HostClients>)> {
        match self.clients.lock() {
            Ok(c) => c.get(cluster).cloned(),
            Err(p) => p.into_inner().get(cluster).cloned(),
        }
    }

    fn keep(&self, cluster: &str, entry: Option<(String, Arc<HostClients>)>) {
        let mut c = match self.clients.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        match entry {
            Some(e) => c.insert(cluster.to_string(), e),
            None => c.remove(cluster),
        };
    }

    /// The document's `httpCredentials` for one observation, read afresh each time (a
    /// rotated secret counts from the next look). An observation never fails: without them
    /// the masters and Marathon that demand credentials read as not answering, and the
    /// step that needs them fails on reading the secret, naming it.
    async fn http_auth(&self, doc: &MesosCluster) -> Option<HttpAuth> {
        let r = doc.spec.http_credentials.as_ref()?;
        let read = match self.secrets.get(&r.secret).await {
            Ok(s) => HttpAuth::from_secret(&s).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(a) => Some(a),
            Err(error) => {
                tracing::warn!(%error, "observing without the cluster's HTTP credentials");
                None
            }
        }
    }

    /// The clients of the document's hosts; set up again when the hosts changed, or when a
    /// host's client could not be set up (a missing secret) last time.
    async fn clients(&self, doc: &MesosCluster) -> Arc<HostClients> {
        let name = &doc.metadata.name;
        let fp = serde_json::to_string(&doc.spec.hosts).unwrap_or_default();
        if let Some((have, f)) = self.cached(name) {
            if have == fp {
                // A host whose client could not be set up (a missing secret) is tried again
                // at each look, and everything is set up anew only once it can be: the
                // others keep their connections, pull records and event streams.
                let mut fixed = false;
                for h in &doc.spec.hosts {
                    if matches!(f.hosts.get(&h.name), Some(Err(_)))
                        && crate::docker::connect(h, &self.secrets).await.is_ok()
                    {
                        fixed = true;
                        break;
                    }
                }
                if !fixed {
                    return f;
                }
            }
        }
        let mut f = observe::connect(doc, &self.secrets).await;
        if let Some(m) = &self.metrics {
            f = f.counted(m);
        }
        let f = Arc::new(f);
        self.keep(name, Some((fp, f.clone())));
        f
    }

    /// The clients of the document's hosts, with their event streams open.
    async fn watched_clients(&self, doc: &MesosCluster) -> Arc<HostClients> {
        let clients = self.clients(doc).await;
        if let Some(hub) = &self.events {
            hub.watch(&doc.metadata.name, &clients);
        }
        clients
    }
}

#[async_trait]
impl Fleet for DockerFleet {
    async fn observe(&self, doc: &MesosCluster) -> Observed {
        let clients = self.watched_clients(doc).await;
        let auth = self.http_auth(doc).await;
        observe::observe(doc, &clients, auth.as_ref()).await
    }

    async fn execute(
        &self,
        doc: &MesosCluster,
        op: &Op,
        fence: &Fence,
        secrets: &StepSecrets,
    ) -> Result<(), ActError> {
        let clients = self.clients(doc).await;
        let target = match (op, doc.spec.backup.as_ref()) {
            (Op::ArchivePart { .. }, Some(b)) => Some(crate::backup::BackupStore::open(
                &b.target,
                secrets.backup.as_ref(),
            )?),
            _ => None,
        };
        let ex = Executor {
            cluster: &doc.metadata.name,
            fleet: &clients,
            zk_super: secrets.zk_super.as_ref(),
            http: &self.http,
            http_auth: secrets.http.as_ref(),
            secret_files: &secrets.files,
            backup: target.as_ref(),
        };
        ex.execute(op, fence).await
    }

    fn forget(&self, cluster: &str) {
        self.keep(cluster, None);
        self.preflight.forget(cluster);
        self.pulling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(cluster);
        if let Some(hub) = &self.events {
            hub.forget(cluster);
        }
    }

    fn wakes(&self) -> Option<BoxStream<'static, String>> {
        self.events.as_ref()?.wakes()
    }

    async fn preflight(&self, doc: &MesosCluster, observed: &Observed) -> Results {
        use crate::preflight::{pending, run, Scope};
        let name = &doc.metadata.name;
        // The hosts where members are still to be placed; the same document with other
        // hosts pending is looked at again.
        let hosts = pending(doc, observed);
        let fingerprint = format!(
            "{}{hosts:?}",
            serde_json::to_string(&doc.spec).unwrap_or_default()
        );
        if let Some(r) = self.preflight.get(name, &fingerprint) {
            return r;
        }
        let clients = self.clients(doc).await;
        let results = run(doc, &clients, observed, &Scope::Hosts(hosts)).await;
        self.preflight.put(name, fingerprint, results.clone());
        results
    }

    fn watched(&self, cluster: &str) -> bool {
        self.events.as_ref().is_some_and(|h| h.watched(cluster))
    }

    fn pull_ahead(&self, doc: &MesosCluster, images: Vec<(String, String)>, fence: &Fence) {
        let cluster = doc.metadata.name.clone();
        let Some((_, clients)) = self.cached(&cluster) else {
            return;
        };
        let next = {
            let mut all = self
                .pulling
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mine = all.entry(cluster.clone()).or_default();
            if mine.running {
                return;
            }
            mine.failed.retain(|_, at| at.elapsed() < PULL_AHEAD_RETRY);
            let next = images.into_iter().find(|(host, image)| {
                !mine.failed.contains_key(&(host.clone(), image.clone()))
                    && matches!(clients.hosts.get(host), Some(Ok(c)) if !c.pulled_recently(image))
            });
            mine.running = next.is_some();
            next
        };
        let Some((host, image)) = next else { return };
        let (pulling, fence) = (self.pulling.clone(), fence.clone());
        tokio::spawn(async move {
            let ok = match (fence.ensure(), clients.hosts.get(&host)) {
                (Ok(_), Some(Ok(client))) => match client.pull(&image).await {
                    Ok(()) => {
                        tracing::debug!(%host, %image, "pulled ahead of its step");
                        true
                    }
                    Err(error) => {
                        tracing::debug!(%host, %image, %error, "pull ahead failed; the step pulls");
                        false
                    }
                },
                _ => true,
            };
            let mut all = pulling
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A cluster forgotten meanwhile stays forgotten.
            if let Some(mine) = all.get_mut(&cluster) {
                mine.running = false;
                if !ok {
                    mine.failed
                        .insert((host, image), tokio::time::Instant::now());
                }
            }
        });
    }
}
