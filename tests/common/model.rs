//! The real reconcile loop against the model fleet: [`World`] holds the simulation's model
//! clusters, the in-memory store and leases, and a clock that follows tokio's; each
//! [`Replica`] is a real `reconcile::run` with its own election, fence and
//! [`ReplicaFleet`]. Under `tokio::time::pause()` an hour of a cluster's life passes in a
//! fraction of a second.
//!
//! The model judges every operation on its own truth (quorums, ids, volumes, windows); the
//! world also judges every step the loop begins with `invariants::check_step` against the
//! observation the replica planned it from, and refuses to let a replica act while another
//! holds the leadership key (a fencing violation is recorded, not hidden).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use mesos_operator::act::ActError;
use mesos_operator::clock::{Clock, TokioClock};
use mesos_operator::election::memory::{MemClient, MemLeases};
use mesos_operator::election::{Election, ElectionConfig, Fence};
use mesos_operator::fleet::{Fleet, StepSecrets};
use mesos_operator::metrics::Metrics;
use mesos_operator::reconcile::{self, Context, RunOptions};
use mesos_operator::secrets::SecretSource;
use mesos_operator::store::memory::MemStore;
use mesos_operator::store::ClusterStore;
use mesos_operator_core::desired::Desired;
use mesos_operator_core::invariants::check_step;
use mesos_operator_core::observed::Observed;
use mesos_operator_core::ops::Op;
use mesos_operator_core::plan::stage;
use mesos_operator_core::spec::{parse_document, MesosCluster};
use mesos_operator_core::status::Phase;
use mesos_operator_sim::{Rules, SimCluster};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// When the world's clock starts (seconds since the epoch).
pub const EPOCH: u64 = 1_700_000_000;

/// What a replica is made to suffer at one of its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaFault {
    /// The process dies right before the operation.
    KillBefore,
    /// The process dies right after the operation took effect.
    KillAfter,
    /// The process stops (SIGSTOP) right before the operation, for longer than the lease,
    /// then goes on.
    Freeze,
}

#[derive(Default)]
struct Shared {
    sims: BTreeMap<String, SimCluster>,
    /// The observation each replica last planned from, per cluster.
    planned_from: BTreeMap<(usize, String), Observed>,
    /// The step last judged per cluster (its text and start), so each is judged once.
    judged: BTreeMap<String, (String, u64)>,
    violations: Vec<String>,
    /// Operations carried out, per replica.
    ops: BTreeMap<usize, u64>,
    /// Every operation carried out, in order: (replica, op kind).
    log: Vec<(usize, &'static str)>,
    /// Planned faults: replica → (its op number, fault).
    faults: BTreeMap<usize, (u64, ReplicaFault)>,
    /// How long a look and an operation take (0: at once).
    slow: Duration,
    /// Looks in progress, per cluster, and the most ever at once: per cluster, and in all.
    looking: BTreeMap<String, u32>,
    most_per_cluster: u32,
    most_at_once: u32,
    /// Looks made, per cluster.
    looks: BTreeMap<String, u64>,
    /// What happens to the fleet right before the next operation of a kind, once.
    before_op: Vec<(&'static str, BeforeOp)>,
    /// Looks at a cluster that panic (a bug in the loop), counted down per cluster.
    panicking_looks: BTreeMap<String, u32>,
    /// The machines' wakes ([`World::machine_wake`]), taken by the first replica's fleet.
    machine_wakes: Option<(
        mpsc::UnboundedSender<String>,
        Option<mpsc::UnboundedReceiver<String>>,
    )>,
}

/// Something done to a model cluster behind the operator's back, at a chosen moment.
type BeforeOp = Box<dyn FnOnce(&mut SimCluster) + Send>;

/// The model fleet, the store and the leases every replica shares.
pub struct World {
    shared: Mutex<Shared>,
    /// The store.
    pub store: MemStore,
    /// The leases the elections run on; each operation is checked against them (a replica
    /// acting while another holds the leadership is a violation). `None`: the replicas run
    /// elsewhere (etcd), and the check is not made.
    pub leases: Option<MemLeases>,
    /// The wall clock, following tokio's.
    pub clock: TokioClock,
    /// Killed replicas are reported here.
    killed: mpsc::UnboundedSender<usize>,
    /// Election timings of every replica.
    pub election: ElectionConfig,
    /// The secrets every replica reads (`World::set_secret`).
    pub secrets: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl World {
    /// An empty world; the receiver hears of each replica a fault killed.
    pub fn new() -> (Arc<World>, mpsc::UnboundedReceiver<usize>) {
        let leases = MemLeases::new();
        let (killed, rx) = mpsc::unbounded_channel();
        let mut election = ElectionConfig::with_identity(String::new());
        election.lease_ttl = Duration::from_secs(6);
        election.renew_deadline = Duration::from_secs(4);
        election.retry = Duration::from_secs(1);
        (
            Arc::new(World {
                shared: Mutex::new(Shared::default()),
                store: MemStore::new(leases.clone()),
                leases: Some(leases),
                clock: TokioClock::starting_at(EPOCH),
                killed,
                election,
                secrets: Arc::default(),
            }),
            rx,
        )
    }

    /// The fingerprints of the secrets held now, as the operator computes them.
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        let s = match self.secrets.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        s.iter()
            .map(|(n, b)| {
                let fp = mesos_operator::secrets::Secret::new(n, b.clone()).fingerprint();
                (n.clone(), fp)
            })
            .collect()
    }

    /// Stores (or rotates) a secret, as `secret set` would.
    pub fn set_secret(&self, name: &str, bytes: &[u8]) {
        let mut s = match self.secrets.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        s.insert(name.to_string(), bytes.to_vec());
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        match self.shared.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// A world whose replicas use another store and election (a real etcd): no fencing
    /// check against the in-memory leases.
    pub fn elsewhere() -> Arc<World> {
        let (w, _) = World::new();
        let mut w = match Arc::try_unwrap(w) {
            Ok(w) => w,
            Err(_) => panic!("a new world is not shared"),
        };
        w.leases = None;
        Arc::new(w)
    }

    /// Adds a model cluster of empty hosts for `doc` and stores `doc` as a person's apply.
    pub fn add_cluster(&self, doc: &MesosCluster) {
        self.add_model(doc);
        if let Err(e) = self.store.apply(doc) {
            panic!("the test document is refused: {e}");
        }
    }

    /// Adds a model cluster of empty hosts for `doc` (its document stored elsewhere).
    pub fn add_model(&self, doc: &MesosCluster) {
        let d = Desired::from_document(doc);
        let hosts: Vec<String> = d.addresses.keys().cloned().collect();
        let mut sim = SimCluster::new(&d.name, &hosts, self.clock.now());
        sim.addresses = d.addresses.clone();
        sim.rules = Rules::of(&d);
        self.lock().sims.insert(d.name.clone(), sim);
    }

    /// Runs `f` on a model cluster, brought to the world's time first.
    pub fn with_sim<T>(&self, name: &str, f: impl FnOnce(&mut SimCluster) -> T) -> T {
        let now = self.clock.now();
        let mut s = self.lock();
        let Some(sim) = s.sims.get_mut(name) else {
            panic!("no model cluster {name}");
        };
        if now > sim.now {
            sim.tick(now - sim.now);
        }
        f(sim)
    }

    /// Plans `fault` for `replica` at its `at`-th operation from now (1: the next).
    pub fn plan_fault(&self, replica: usize, at: u64, fault: ReplicaFault) {
        let mut s = self.lock();
        let done = s.ops.get(&replica).copied().unwrap_or(0);
        s.faults.insert(replica, (done + at, fault));
    }

    /// Runs `f` on the operated cluster right before the next operation of `kind` (e.g.
    /// `require-serving`) that any replica carries out: what a person or a fault does
    /// between the operator's plan and its act.
    pub fn before_next(
        &self,
        kind: &'static str,
        f: impl FnOnce(&mut SimCluster) + Send + 'static,
    ) {
        self.lock().before_op.push((kind, Box::new(f)));
    }

    /// The next `n` looks at cluster `name` panic, as a bug inside a reconcile would.
    pub fn panic_next_looks(&self, name: &str, n: u32) {
        self.lock().panicking_looks.insert(name.to_string(), n);
    }

    /// How many of the looks [`World::panic_next_looks`] asked to panic are still to come.
    pub fn panics_left(&self, name: &str) -> u32 {
        self.lock().panicking_looks.get(name).copied().unwrap_or(0)
    }

    /// Wakes `name` as a machine's report of change would (Docker's events), through the
    /// next replica started: the first call makes the channel.
    pub fn machine_wake(&self, name: &str) {
        let mut s = self.lock();
        let tx = s
            .machine_wakes
            .get_or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                (tx, Some(rx))
            })
            .0
            .clone();
        drop(s);
        let _ = tx.send(name.to_string());
    }

    /// Looks and operations take `d` from now on (the runner's concurrency shows).
    pub fn set_slow(&self, d: Duration) {
        self.lock().slow = d;
    }

    /// (the most looks at one cluster at once, the most looks at once in all).
    pub fn most_at_once(&self) -> (u32, u32) {
        let s = self.lock();
        (s.most_per_cluster, s.most_at_once)
    }

    /// Looks made at each cluster.
    pub fn looks(&self) -> BTreeMap<String, u64> {
        self.lock().looks.clone()
    }

    /// Every broken rule so far: the models' own and the world's.
    pub fn violations(&self) -> Vec<String> {
        let s = self.lock();
        let mut v = s.violations.clone();
        for sim in s.sims.values() {
            v.extend(sim.violations.iter().cloned());
        }
        v
    }

    /// Operations carried out so far, in order: (replica, kind).
    pub fn op_log(&self) -> Vec<(usize, &'static str)> {
        self.lock().log.clone()
    }

    /// Judges the step the store says is in flight, the first time an operation of it comes.
    fn judge_step(&self, s: &mut Shared, replica: usize, doc: &MesosCluster) {
        let name = &doc.metadata.name;
        let record = self.store.stored_record(name);
        let Some(in_flight) = &record.in_flight else {
            return;
        };
        let key = (in_flight.step.to_string(), in_flight.started_at);
        if s.judged.get(name) == Some(&key) {
            return;
        }
        s.judged.insert(name.clone(), key);
        let Some(observed) = s.planned_from.get(&(replica, name.clone())).cloned() else {
            return;
        };
        let desired = Desired::from_document_with(doc, &self.fingerprints());
        let staged = stage(&desired, &observed, &record);
        if let Err(v) = check_step(&staged, &observed, &record, &in_flight.step) {
            s.violations.push(format!(
                "t={}: replica {replica} took {}: {v}",
                self.clock.now(),
                in_flight.step
            ));
        }
    }
}

/// One replica's view of the model fleet.
pub struct ReplicaFleet {
    world: Arc<World>,
    replica: usize,
    /// Its connection to the in-memory leases, cut while it is frozen or dead.
    client: Option<MemClient>,
}

#[async_trait]
impl Fleet for ReplicaFleet {
    fn wakes(&self) -> Option<futures_util::stream::BoxStream<'static, String>> {
        let rx = self.world.lock().machine_wakes.as_mut()?.1.take()?;
        Some(Box::pin(futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|n| (n, rx)) },
        )))
    }

    async fn observe(&self, doc: &MesosCluster) -> Observed {
        let name = doc.metadata.name.clone();
        let panics = {
            let mut s = self.world.lock();
            match s.panicking_looks.get_mut(&name) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            }
        };
        if panics {
            panic!("a bug while looking at {name}");
        }
        let slow = {
            let mut s = self.world.lock();
            let n = s.looking.entry(name.clone()).or_default();
            *n += 1;
            let n = *n;
            *s.looks.entry(name.clone()).or_default() += 1;
            s.most_per_cluster = s.most_per_cluster.max(n);
            let all: u32 = s.looking.values().sum();
            s.most_at_once = s.most_at_once.max(all);
            s.slow
        };
        if !slow.is_zero() {
            tokio::time::sleep(slow).await;
        }
        let o = self.world.with_sim(&name, |sim| sim.observe());
        if let Some(n) = self.world.lock().looking.get_mut(&name) {
            *n -= 1;
        }
        self.world
            .lock()
            .planned_from
            .insert((self.replica, name), o.clone());
        o
    }

    async fn execute(
        &self,
        doc: &MesosCluster,
        op: &Op,
        fence: &Fence,
        _secrets: &StepSecrets,
    ) -> Result<(), ActError> {
        let fault = {
            let mut s = self.world.lock();
            let n = s.ops.entry(self.replica).or_default();
            *n += 1;
            let n = *n;
            match s.faults.get(&self.replica) {
                Some((at, f)) if *at == n => {
                    let f = *f;
                    s.faults.remove(&self.replica);
                    Some(f)
                }
                _ => None,
            }
        };
        match fault {
            Some(ReplicaFault::KillBefore) => self.die().await,
            Some(ReplicaFault::Freeze) => {
                // Stopped: no renewal reaches the store, nothing runs; then it goes on.
                self.cut(true);
                tokio::time::sleep(self.world.election.lease_ttl * 2).await;
                self.cut(false);
            }
            _ => {}
        }
        let slow = self.world.lock().slow;
        if !slow.is_zero() {
            tokio::time::sleep(slow).await;
        }
        // As the executor does: the fence right before the operation.
        let term = fence.ensure()?;
        let name = doc.metadata.name.clone();
        let result = {
            let now = self.world.clock.now();
            let mut s = self.world.lock();
            let leader = self
                .world
                .leases
                .as_ref()
                .map(|l| l.leader().map(|l| l.term));
            if leader.is_some_and(|l| l != Some(term)) {
                s.violations.push(format!(
                    "t={now}: replica {} carried out {} in term {term} while the leadership was elsewhere",
                    self.replica,
                    op.kind()
                ));
            }
            self.world.judge_step(&mut s, self.replica, doc);
            s.log.push((self.replica, op.kind()));
            let hook = s
                .before_op
                .iter()
                .position(|(k, _)| *k == op.kind())
                .map(|i| s.before_op.remove(i).1);
            let Some(sim) = s.sims.get_mut(&name) else {
                return Err(ActError::Http(format!("no model cluster {name}")));
            };
            if now > sim.now {
                sim.tick(now - sim.now);
            }
            if let Some(hook) = hook {
                hook(sim);
            }
            sim.execute(op)
        };
        if fault == Some(ReplicaFault::KillAfter) {
            self.die().await;
        }
        result.map_err(|e| to_act_error(op, e))
    }
}

impl ReplicaFleet {
    /// The process dies here: the harness is told, and nothing after this runs.
    fn cut(&self, cut: bool) {
        if let Some(c) = &self.client {
            c.cut(cut);
        }
    }

    async fn die(&self) {
        self.cut(true);
        let _ = self.world.killed.send(self.replica);
        std::future::pending::<()>().await;
    }
}

/// The model's refusal as the executor's error: a failed last look stays one (the step is
/// not taken); the rest fail the step half-way, as a refusal of the fleet would.
fn to_act_error(op: &Op, e: mesos_operator_sim::OpFailed) -> ActError {
    if e.is_last_look() {
        return match op {
            Op::RequireAgentOutOfService {
                stopping, agent, ..
            } => ActError::ServesAgain {
                stopping: stopping.clone(),
                agent: agent.clone(),
                sign: "the model says it serves",
            },
            Op::RequireServing {
                component,
                stopping,
                members,
                at_least,
            } => ActError::NotServing {
                role: component.role(),
                stopping: stopping.clone(),
                serving: 0,
                members: members.len(),
                at_least: *at_least,
                down: vec![e.to_string()],
            },
            _ => ActError::Http(e.to_string()),
        };
    }
    ActError::Http(e.to_string())
}

/// A running replica.
pub struct Replica {
    /// Its index.
    pub index: usize,
    /// Its fence (whether it leads).
    pub fence: Fence,
    /// Its metrics.
    pub metrics: Metrics,
    election: Option<Election>,
    task: JoinHandle<()>,
}

impl Replica {
    /// Starts replica `index`: an election on the shared leases and the real loop.
    pub fn start(world: &Arc<World>, index: usize, opts: RunOptions) -> Replica {
        let Some(leases) = &world.leases else {
            panic!("this world's replicas run on another store");
        };
        let client = leases.client();
        let mut config = world.election.clone();
        config.identity = format!("replica-{index}");
        let election = Election::start(client.clone(), config, "leader".into());
        let store: Arc<dyn ClusterStore> = Arc::new(world.store.clone());
        Replica::with(world, index, opts, store, election, Some(client))
    }

    /// A replica on `store`, acting under `election`'s fence.
    pub fn with(
        world: &Arc<World>,
        index: usize,
        opts: RunOptions,
        store: Arc<dyn ClusterStore>,
        election: Election,
        client: Option<MemClient>,
    ) -> Replica {
        let fence = election.fence();
        let ctx = context(world, index, opts, store.clone(), fence.clone(), client);
        let metrics = ctx.metrics.clone();
        let (ready, _) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(reconcile::run(
            ctx,
            store.wakes(ready),
            std::future::pending(),
        ));
        Replica {
            index,
            fence,
            metrics,
            election: Some(election),
            task,
        }
    }

    /// A replica whose loop stops when `shutdown` resolves (the signal of `run`).
    pub fn start_until(
        world: &Arc<World>,
        index: usize,
        opts: RunOptions,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (Fence, JoinHandle<()>, Election) {
        let Some(leases) = &world.leases else {
            panic!("this world's replicas run on another store");
        };
        let client = leases.client();
        let mut config = world.election.clone();
        config.identity = format!("replica-{index}");
        let election = Election::start(client.clone(), config, "leader".into());
        let fence = election.fence();
        let store: Arc<dyn ClusterStore> = Arc::new(world.store.clone());
        let ctx = context(
            world,
            index,
            opts,
            store.clone(),
            fence.clone(),
            Some(client),
        );
        let (ready, _) = tokio::sync::watch::channel(false);
        let wakes = store.wakes(ready);
        (
            fence,
            tokio::spawn(reconcile::run(ctx, wakes, shutdown)),
            election,
        )
    }

    /// The process dies: the loop stops where it is, the lease is left to expire.
    pub fn kill(mut self) {
        self.task.abort();
        drop(self.election.take());
    }
}

/// A replica's context: the store given, its view of the model fleet, the world's clock.
fn context(
    world: &Arc<World>,
    index: usize,
    opts: RunOptions,
    store: Arc<dyn ClusterStore>,
    fence: Fence,
    client: Option<MemClient>,
) -> Arc<Context> {
    Arc::new(Context {
        store,
        fleet: Arc::new(ReplicaFleet {
            world: world.clone(),
            replica: index,
            client,
        }),
        clock: Arc::new(world.clock),
        secrets: SecretSource::Memory(world.secrets.clone()),
        metrics: Metrics::new(),
        fence,
        opts,
    })
}

/// Loop timings for the model: as production's, polls a little faster.
pub fn run_options() -> RunOptions {
    RunOptions {
        concurrency: 4,
        resync: Duration::from_secs(30),
        resync_watched: Duration::from_secs(120),
        poll: Duration::from_secs(1),
        gate_first_poll: Duration::from_millis(100),
        after_step: Duration::from_millis(50),
        shutdown_grace: Duration::from_secs(60),
    }
}

/// The shape of a test cluster: hosts, members, and the versions it asks for.
#[derive(Debug, Clone)]
pub struct Shape {
    pub hosts: usize,
    pub zk: u32,
    pub masters: u32,
    pub marathon: u32,
    pub zk_patch: u32,
    pub mesos_patch: u32,
}

impl Shape {
    /// The seed's cluster: three hosts, three ZooKeeper servers and masters, an agent on
    /// each host, one Marathon, first versions.
    pub fn seed() -> Shape {
        Shape {
            hosts: 3,
            zk: 3,
            masters: 3,
            marathon: 1,
            zk_patch: 0,
            mesos_patch: 0,
        }
    }
}

/// A document for `s` on hosts `h01`.. at 10.0.0.1...
pub fn doc(name: &str, s: &Shape) -> MesosCluster {
    let mut y = format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: {name}}}\nspec:\n  hosts:\n"
    );
    for i in 1..=s.hosts {
        y.push_str(&format!(
            "    - {{name: h{i:02}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///var/run/docker.sock'}}}}\n"
        ));
    }
    y.push_str(&format!(
        "  zookeeper: {{image: 'zookeeper:3.8.{}', servers: {}}}\n  masters: {{image: 'mesos-master:1.11.{}', count: {}}}\n  agents: {{image: 'mesos-agent:1.11.{}'}}\n  rollout: {{healthTimeout: 120s}}\n",
        s.zk_patch, s.zk, s.mesos_patch, s.masters, s.mesos_patch
    ));
    if s.marathon > 0 {
        y.push_str(&format!(
            "  marathon: {{image: 'marathon:1.10.17', instances: {}}}\n",
            s.marathon
        ));
    }
    match parse_document(&y) {
        Ok(d) => d,
        Err(e) => panic!("test document: {e}"),
    }
}

/// Waits (in the world's time) until the model runs `d` and the operator says so.
pub async fn converged(world: &World, d: &MesosCluster, limit: Duration) -> Result<(), String> {
    let desired = Desired::from_document_with(d, &world.fingerprints());
    let name = &d.metadata.name;
    let until = tokio::time::Instant::now() + limit;
    loop {
        let matches = world.with_sim(name, |sim| sim.matches(&desired));
        let phase = world.store.status(name).map(|s| s.phase);
        if matches.is_ok() && phase == Some(Phase::Converged) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= until {
            if std::env::var_os("MODEL_DEBUG").is_some() {
                world.with_sim(name, |sim| {
                    eprintln!(
                        "maintenance {:?} windows {:?} people {:?}",
                        sim.maintenance, sim.windows, sim.people_windows
                    );
                    for (h, x) in &sim.hosts {
                        eprintln!(
                            "{h}: reachable={} {:?} volumes {:?} zk id {:?} initialized {}",
                            x.reachable,
                            x.containers.keys().collect::<Vec<_>>(),
                            x.volumes,
                            x.zk_volume_id,
                            x.zk_initialized
                        );
                    }
                    let o = sim.observe();
                    eprintln!(
                        "observed maintenance {:?} read {} windows {:?}",
                        o.agents.maintenance, o.agents.maintenance_read, o.agents.windows
                    );
                });
                let r = world.store.stored_record(name);
                eprintln!(
                    "record maintenance {:?} healthy {:?} zk highest {:?}",
                    r.maintenance, r.healthy, r.zk_highest_id
                );
            }
            return Err(format!(
                "not converged after {}s of the world's time: model: {matches:?}; status: {:?}; in flight: {:?}",
                limit.as_secs(),
                world.store.status(name).map(|s| (s.phase, s.message)),
                world.store.stored_record(name).in_flight
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
