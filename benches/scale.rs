//! The operator's own cost at a scale this machine cannot host as containers
//! (`cargo bench --bench scale`): one real `reconcile::run` managing N clusters of 10
//! simulated hosts each (100 clusters: 1,000 hosts) on the model fleet, with a real etcd as
//! the store (Debian's `etcd-server`, started here on a free loopback port) and a real etcd
//! election. For N in `SCALE_CLUSTERS` (default `10,30,100`):
//!
//! - time for all N clusters to converge from nothing (the model's containers become
//!   healthy 2 s after they start, as in the simulation);
//! - CPU (user + system) of this process per reconcile while converging;
//! - etcd requests per converged cluster per resync (counted at the store seam);
//! - resident memory (peak, and after convergence).
//!
//! It prints one row per N, and how each figure grew from the smallest N (linear growth
//! keeps the per-cluster figures flat). `SCALE_UNCACHED=1` measures the cross-cluster port
//! check as it was before the store kept its answers (every other spec read per reconcile).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::model::{Replica, World};
use futures_util::stream::BoxStream;
use mesos_operator::election::etcd::EtcdLeases;
use mesos_operator::election::{Election, WriteGuard};
use mesos_operator::reconcile::RunOptions;
use mesos_operator::store::{
    AutoUpdateAt, ClusterStore, DeletionRequest, Event, RecordAt, Removal, Store, StoreError,
    Stored, Wake, WriteOutcome,
};
use mesos_operator_core::autoupdate::AutoUpdateState;
use mesos_operator_core::record::Recorded;
use mesos_operator_core::spec::{
    conflicts_with_others, parse_document, Component, MesosCluster, PortConflict, SecretScope,
};
use mesos_operator_core::status::{ClusterStatus, Phase};
use tokio::sync::watch;

/// Counts every request the loop makes of the store.
struct Counting {
    inner: Store,
    /// `SCALE_UNCACHED=1`: the cross-cluster check reads every other spec each time, as the
    /// store did before it kept answers (for the before/after figures).
    uncached: bool,
    requests: Mutex<BTreeMap<&'static str, u64>>,
    total: AtomicU64,
}

impl Counting {
    fn count(&self, kind: &'static str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.requests.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }
}

#[async_trait]
impl ClusterStore for Counting {
    async fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        self.count("get");
        self.inner.get(name).await
    }
    async fn deletion_request(&self, name: &str) -> Result<Option<DeletionRequest>, StoreError> {
        self.count("deletion");
        self.inner.deletion_request(name).await
    }
    async fn backup_request(&self, name: &str) -> Result<Option<u64>, StoreError> {
        self.count("backup-request");
        self.inner.backup_request(name).await
    }
    async fn backups(
        &self,
        name: &str,
    ) -> Result<Vec<mesos_operator_core::backup::BackupRecord>, StoreError> {
        self.count("backups");
        ClusterStore::backups(&self.inner, name).await
    }
    async fn put_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        record: &mesos_operator_core::backup::BackupRecord,
    ) -> Result<(), StoreError> {
        self.count("put-backup");
        ClusterStore::put_backup(&self.inner, guard, name, record).await
    }
    async fn delete_backup(
        &self,
        guard: &WriteGuard,
        name: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        self.count("delete-backup");
        ClusterStore::delete_backup(&self.inner, guard, name, id).await
    }
    async fn port_conflicts(&self, doc: &MesosCluster) -> Result<Vec<PortConflict>, StoreError> {
        self.count("port-conflicts");
        if self.uncached {
            // What the store did before it kept answers: every other spec, every time.
            let others = self.inner.others(&doc.metadata.name).await?;
            return Ok(conflicts_with_others(doc, others.iter().map(|s| &s.doc)));
        }
        ClusterStore::port_conflicts(&self.inner, doc).await
    }
    async fn secret_scopes(&self) -> Result<BTreeMap<String, SecretScope>, StoreError> {
        self.count("secret-scopes");
        self.inner.secret_scopes().await
    }
    async fn record(&self, name: &str) -> Result<RecordAt, StoreError> {
        self.count("record");
        self.inner.record(name).await
    }
    async fn put_record(
        &self,
        guard: &WriteGuard,
        name: &str,
        at: &RecordAt,
        record: &Recorded,
    ) -> Result<RecordAt, StoreError> {
        self.count("put-record");
        self.inner.put_record(guard, name, at, record).await
    }
    async fn autoupdate(&self, name: &str) -> Result<AutoUpdateAt, StoreError> {
        self.count("autoupdate");
        self.inner.autoupdate(name).await
    }
    async fn put_autoupdate(
        &self,
        guard: Option<&WriteGuard>,
        name: &str,
        at: &AutoUpdateAt,
        state: &AutoUpdateState,
    ) -> Result<AutoUpdateAt, StoreError> {
        self.count("put-autoupdate");
        self.inner.put_autoupdate(guard, name, at, state).await
    }
    async fn set_image_fenced(
        &self,
        guard: &WriteGuard,
        name: &str,
        generation: u64,
        mod_revision: i64,
        component: Component,
        image: &str,
    ) -> Result<WriteOutcome, StoreError> {
        self.count("put-spec");
        ClusterStore::set_image_fenced(
            &self.inner,
            guard,
            name,
            generation,
            mod_revision,
            component,
            image,
        )
        .await
    }
    async fn put_status(
        &self,
        guard: &WriteGuard,
        name: &str,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        self.count("put-status");
        self.inner.put_status(guard, name, status).await
    }
    async fn push_event(
        &self,
        guard: &WriteGuard,
        name: &str,
        event: Event,
    ) -> Result<(), StoreError> {
        self.count("push-event");
        self.inner.push_event(guard, name, event).await
    }
    async fn delete_fenced(
        &self,
        name: &str,
        guard: &WriteGuard,
        removal: &Removal,
    ) -> Result<(), StoreError> {
        self.count("delete");
        self.inner.delete_fenced(name, guard, removal).await
    }
    fn wakes(&self, ready: watch::Sender<bool>) -> BoxStream<'static, Wake> {
        ClusterStore::wakes(&self.inner, ready)
    }
}

fn doc(name: &str, first_ip: usize) -> MesosCluster {
    let mut y = format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: {name}}}\nspec:\n  hosts:\n"
    );
    for i in 0..10 {
        let n = first_ip + i;
        let ip = format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
        // Each host its own machine (its own Docker endpoint): the clusters share none.
        y.push_str(&format!(
            "    - {{name: {name}-h{i}, address: {ip}, docker: {{endpoint: 'tcp://{ip}:2376', tls: {{ca: ca, cert: c, key: k}}}}}}\n"
        ));
    }
    y.push_str("  zookeeper: {image: 'zookeeper:3.8.4', servers: 3}\n  masters: {image: 'mesos-master:1.11.0', count: 3}\n  agents: {image: 'mesos-agent:1.11.0'}\n  marathon: {image: 'marathon:1.10.17', instances: 1}\n");
    match parse_document(&y) {
        Ok(d) => d,
        Err(e) => panic!("bench document: {e}"),
    }
}

/// Requests etcd's KV service has answered (Range, Txn, Put, ...), from etcd's own metrics:
/// what the store really sent, however many a seam call makes.
async fn etcd_requests() -> u64 {
    let url = format!("{}/metrics", common::etcd().endpoint);
    let Ok(resp) = reqwest::get(&url).await else {
        return 0;
    };
    let body = resp.text().await.unwrap_or_default();
    body.lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total")
                && l.contains("grpc_service=\"etcdserverpb.KV\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// (user + system CPU seconds, resident KiB, peak resident KiB) of this process.
fn usage() -> (f64, u64, u64) {
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (cpu, field("VmRSS:"), field("VmHWM:"))
}

struct Row {
    clusters: usize,
    converge_secs: f64,
    reconciles: u64,
    cpu_ms_per_reconcile: f64,
    requests_per_resync: f64,
    etcd_per_resync: f64,
    rss_kib: u64,
    peak_kib: u64,
}

async fn measure(n: usize, resync: Duration) -> Row {
    let prefix = common::unique_prefix(&format!("scale-{n}"));
    let store = common::store(&prefix).await;
    let world = World::elsewhere();
    for i in 0..n {
        let d = doc(&format!("c{i:03}"), i * 10 + 1);
        world.add_model(&d);
        if let Err(e) = store.apply(&d).await {
            panic!("apply: {e}");
        }
    }
    let counting = Arc::new(Counting {
        inner: store.clone(),
        uncached: std::env::var_os("SCALE_UNCACHED").is_some(),
        requests: Mutex::new(BTreeMap::new()),
        total: AtomicU64::new(0),
    });
    let mut config = world.election.clone();
    config.identity = "bench".into();
    let election = Election::start(
        EtcdLeases::new(store.client(), store.leader_key()),
        config,
        store.leader_key(),
    );
    let opts = RunOptions {
        concurrency: 16,
        resync,
        resync_watched: resync,
        poll: Duration::from_secs(1),
        gate_first_poll: Duration::from_millis(100),
        after_step: Duration::from_millis(50),
        shutdown_grace: Duration::from_secs(5),
    };
    let (cpu0, _, _) = usage();
    let started = Instant::now();
    let replica = Replica::with(&world, 0, opts, counting.clone(), election, None);
    // Converged: every cluster's status says so.
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut done = 0;
        for i in 0..n {
            if let Ok(Some(s)) = store.status(&format!("c{i:03}")).await {
                if s.phase == Phase::Converged {
                    done += 1;
                }
            }
        }
        if done == n {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            panic!("{n} clusters: only {done} converged after 30 minutes");
        }
    }
    let converge_secs = started.elapsed().as_secs_f64();
    let (cpu1, _, _) = usage();
    let gets = counting
        .requests
        .lock()
        .map(|m| m.get("get").copied().unwrap_or(0))
        .unwrap_or(0);
    // A converged fleet: what one resync of every cluster costs the store.
    let before = counting.total.load(Ordering::Relaxed);
    let etcd_before = etcd_requests().await;
    let gets_before = gets;
    tokio::time::sleep(resync * 3).await;
    let after = counting.total.load(Ordering::Relaxed);
    let etcd_after = etcd_requests().await;
    let gets_after = counting
        .requests
        .lock()
        .map(|m| m.get("get").copied().unwrap_or(0))
        .unwrap_or(0);
    let resyncs = (gets_after - gets_before).max(1);
    let (_, rss, peak) = usage();
    let violations = world.violations();
    assert!(violations.is_empty(), "rules broken: {violations:#?}");
    replica.kill();
    Row {
        clusters: n,
        converge_secs,
        reconciles: gets,
        cpu_ms_per_reconcile: (cpu1 - cpu0) * 1000.0 / gets.max(1) as f64,
        requests_per_resync: (after - before) as f64 / resyncs as f64,
        // The election's renewals and the status reads of this bench are in it too.
        etcd_per_resync: etcd_after.saturating_sub(etcd_before) as f64 / resyncs as f64,
        rss_kib: rss,
        peak_kib: peak,
    }
}

fn main() {
    // `cargo test --all-targets` runs benches without `--bench`: a minutes-long measurement
    // is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("SCALE_CLUSTERS")
        .unwrap_or_else(|_| "10,30,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let mut rows = Vec::new();
    for n in sizes {
        let row = rt.block_on(measure(n, Duration::from_secs(10)));
        println!(
            "{:>4} clusters ({:>4} hosts): converged in {:>6.1} s, {:>6} reconciles, {:>6.2} ms CPU per reconcile, {:>5.1} store calls ({:>6.1} etcd requests) per cluster resync, RSS {:>6} KiB (peak {:>6} KiB)",
            row.clusters,
            row.clusters * 10,
            row.converge_secs,
            row.reconciles,
            row.cpu_ms_per_reconcile,
            row.requests_per_resync,
            row.etcd_per_resync,
            row.rss_kib,
            row.peak_kib
        );
        rows.push(row);
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let k = last.clusters as f64 / first.clusters as f64;
        println!(
            "from {} to {} clusters (x{k:.0}): convergence time x{:.2}, CPU per reconcile x{:.2}, store calls per resync x{:.2}, etcd requests per resync x{:.2}, RSS x{:.2}",
            first.clusters,
            last.clusters,
            last.converge_secs / first.converge_secs,
            last.cpu_ms_per_reconcile / first.cpu_ms_per_reconcile.max(1e-9),
            last.requests_per_resync / first.requests_per_resync.max(1e-9),
            last.etcd_per_resync / first.etcd_per_resync.max(1e-9),
            last.rss_kib as f64 / first.rss_kib.max(1) as f64
        );
    }
}
