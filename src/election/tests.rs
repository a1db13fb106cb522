//! Several replicas' elections over one in-memory store, under tokio's paused clock:
//! freezes past the lease (SIGSTOP), replicas cut off etcd, kills (SIGKILL: the lease is
//! left to expire), clean resignations; hundreds of random interleavings in seconds.
//!
//! What must hold at every instant, checked by a monitor that shares nothing with the
//! election but the store's view of who holds the key:
//! - at most one replica's fence is valid, and it is the one etcd names, in etcd's term;
//! - every action (a Docker or ZooKeeper call, taken right after `Fence::ensure`) happens
//!   while the store names the actor's term;
//! - a fenced write of a deposed replica is refused, and the accepted writes' terms never go
//!   back.
//!
//! And once the faults stop, some replica leads within the lease TTL plus the retry period.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use super::memory::{MemClient, MemLeases};
use super::*;

/// A process that can be stopped and continued, as SIGSTOP/SIGCONT do: while frozen, none of
/// its futures is polled, whatever its timers say.
#[derive(Default)]
struct Freeze {
    frozen: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Freeze {
    fn set(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
        if !frozen {
            let wakers = std::mem::take(&mut *self.wakers.lock().unwrap());
            for w in wakers {
                w.wake();
            }
        }
    }
}

struct Freezable<F> {
    inner: Pin<Box<F>>,
    freeze: Arc<Freeze>,
}

impl<F: Future> Future for Freezable<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if self.freeze.frozen.load(Ordering::SeqCst) {
            self.freeze.wakers.lock().unwrap().push(cx.waker().clone());
            return Poll::Pending;
        }
        self.inner.as_mut().poll(cx)
    }
}

fn config(identity: &str) -> ElectionConfig {
    ElectionConfig {
        identity: identity.to_string(),
        lease_ttl: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry: Duration::from_secs(2),
    }
}

/// One operator replica: its election and a stand-in for its reconcile loop, which acts
/// (after `ensure`) and writes (under a guard) now and then.
struct Replica {
    name: String,
    fence: Fence,
    client: MemClient,
    freeze: Arc<Freeze>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug, Clone)]
struct Action {
    at: Instant,
    actor: String,
    term: i64,
    /// The term the store named at that instant.
    named: Option<i64>,
}

impl Replica {
    fn start(
        name: &str,
        store: &MemLeases,
        actions: Arc<Mutex<Vec<Action>>>,
        seed: u64,
    ) -> Replica {
        let cfg = config(name);
        let shared = Arc::new(Shared::new(
            "leader".into(),
            name.into(),
            cfg.renew_deadline,
        ));
        let fence = Fence::new(shared.clone());
        let client = store.client();
        let freeze = Arc::new(Freeze::default());
        let (stop, stop_rx) = watch::channel(false);
        let election = tokio::spawn(Freezable {
            inner: Box::pin(campaign(Arc::new(client.clone()), cfg, shared, stop_rx)),
            freeze: freeze.clone(),
        });
        let worker = {
            let fence = fence.clone();
            let store = store.clone();
            let name = name.to_string();
            tokio::spawn(Freezable {
                inner: Box::pin(async move {
                    let mut rng = StdRng::seed_from_u64(seed);
                    loop {
                        sleep(Duration::from_millis(rng.random_range(20..400))).await;
                        if let Ok(term) = fence.ensure() {
                            actions.lock().unwrap().push(Action {
                                at: Instant::now(),
                                actor: name.clone(),
                                term,
                                named: store.leader().map(|l| l.term),
                            });
                        }
                        if let Ok(guard) = fence.guard() {
                            // The write travels (and the process may freeze) before it lands.
                            sleep(Duration::from_millis(rng.random_range(0..300))).await;
                            store.write(&guard, &name);
                        }
                    }
                }),
                freeze: freeze.clone(),
            })
        };
        Replica {
            name: name.to_string(),
            fence,
            client,
            freeze,
            stop,
            tasks: vec![election, worker],
        }
    }

    /// SIGKILL: nothing runs any more and nothing is released.
    fn kill(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// SIGTERM: resigns.
    fn resign(&self) {
        let _ = self.stop.send(true);
        self.tasks[1].abort();
    }
}

/// Checks the invariants every `every` until `until`; returns how many samples found a leader.
async fn monitor(
    store: MemLeases,
    replicas: Arc<Mutex<Vec<(String, Fence)>>>,
    until: Instant,
    every: Duration,
) -> usize {
    let mut led = 0;
    while Instant::now() < until {
        let holder = store.leader();
        let valid: Vec<(String, i64)> = replicas
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(n, f)| f.ensure().ok().map(|t| (n.clone(), t)))
            .collect();
        assert!(valid.len() <= 1, "two replicas may act at once: {valid:?}");
        if let Some((name, term)) = valid.first() {
            let h = holder.as_ref().unwrap_or_else(|| {
                panic!("{name} may act in term {term} but etcd names no leader")
            });
            assert_eq!(
                (&h.identity, h.term),
                (name, *term),
                "{name} may act in term {term} but etcd names {h:?}"
            );
            led += 1;
        }
        sleep(every).await;
    }
    led
}

fn check_history(store: &MemLeases, actions: &[Action]) {
    for a in actions {
        assert_eq!(
            a.named,
            Some(a.term),
            "{} acted in term {} at {:?} while the store named {:?}",
            a.actor,
            a.term,
            a.at,
            a.named
        );
    }
    let mut highest = 0;
    for w in store.writes().iter().filter(|w| w.accepted) {
        assert!(
            w.term >= highest,
            "a write of term {} was accepted after one of term {highest}",
            w.term
        );
        highest = w.term;
    }
}

/// Replica "a", then, once it had time to win, replica "b".
async fn first_and_second(
    store: &MemLeases,
    actions: &Arc<Mutex<Vec<Action>>>,
) -> (Replica, Replica) {
    let a = Replica::start("a", store, actions.clone(), 1);
    sleep(Duration::from_millis(10)).await;
    let b = Replica::start("b", store, actions.clone(), 2);
    (a, b)
}

#[tokio::test(start_paused = true)]
async fn one_of_two_replicas_leads_and_a_killed_leader_is_replaced_within_ttl_and_retry() {
    let store = MemLeases::new();
    let actions = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = first_and_second(&store, &actions).await;
    sleep(Duration::from_secs(1)).await;
    assert!(a.fence.is_leader(), "the first replica leads");
    assert!(!b.fence.is_leader());
    // Standbys stay standbys while the leader renews.
    sleep(Duration::from_secs(60)).await;
    assert!(a.fence.is_leader() && !b.fence.is_leader());
    let killed = Instant::now();
    a.kill();
    while !b.fence.is_leader() {
        sleep(Duration::from_millis(10)).await;
    }
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(15 + 2) + Duration::from_millis(100),
        "takeover took {took:?}"
    );
    // Not before the killed leader's lease could have expired.
    assert!(took >= Duration::from_secs(15), "takeover after {took:?}");
    assert!(!actions.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_resigning_leader_hands_over_at_once() {
    let store = MemLeases::new();
    let actions = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = first_and_second(&store, &actions).await;
    let c = Replica::start("c", &store, actions.clone(), 3);
    sleep(Duration::from_secs(5)).await;
    assert!(a.fence.is_leader());
    let t = Instant::now();
    a.resign();
    assert!(!a.fence.is_leader() || t.elapsed() < Duration::from_millis(1));
    while !(b.fence.is_leader() || c.fence.is_leader()) {
        sleep(Duration::from_millis(1)).await;
    }
    assert!(
        t.elapsed() < Duration::from_millis(50),
        "handover took {:?}",
        t.elapsed()
    );
    assert!(!a.fence.is_leader());
    assert!(store.leader().is_some_and(|l| l.identity != "a"));
}

#[tokio::test(start_paused = true)]
async fn a_leader_frozen_past_its_lease_acts_on_nothing_and_writes_nothing_when_it_wakes() {
    let store = MemLeases::new();
    let actions = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = first_and_second(&store, &actions).await;
    sleep(Duration::from_secs(3)).await;
    let a_term = store.leader().map(|l| l.term);
    assert!(a.fence.is_leader());
    a.freeze.set(true);
    sleep(Duration::from_secs(30)).await;
    assert!(b.fence.is_leader(), "b took over while a was frozen");
    let woke = Instant::now();
    a.freeze.set(false);
    // The very first thing a woken leader asks says no, before it hears from etcd.
    assert!(!a.fence.is_leader());
    sleep(Duration::from_secs(30)).await;
    let acted_late = actions
        .lock()
        .unwrap()
        .iter()
        .filter(|x| x.actor == "a" && x.at >= woke)
        .count();
    assert_eq!(acted_late, 0, "the woken replica acted");
    let late_writes: Vec<_> = store
        .writes()
        .into_iter()
        .filter(|w| w.writer == "a" && w.at >= woke)
        .collect();
    assert!(
        late_writes
            .iter()
            .all(|w| !w.accepted && Some(w.term) == a_term),
        "a write of the woken replica was accepted: {late_writes:?}"
    );
    assert!(b.fence.is_leader() && !a.fence.is_leader());
}

#[tokio::test(start_paused = true)]
async fn a_leader_cut_off_etcd_stops_acting_within_the_renew_deadline_and_leads_again_after() {
    let store = MemLeases::new();
    let actions = Arc::new(Mutex::new(Vec::new()));
    let a = Replica::start("a", &store, actions.clone(), 1);
    sleep(Duration::from_secs(3)).await;
    assert!(a.fence.is_leader());
    a.client.cut(true);
    let cut = Instant::now();
    while a.fence.is_leader() {
        sleep(Duration::from_millis(10)).await;
    }
    assert!(
        cut.elapsed() <= Duration::from_secs(10),
        "{:?}",
        cut.elapsed()
    );
    sleep(Duration::from_secs(40)).await;
    assert!(!a.fence.is_leader(), "no leadership while cut off");
    let n = actions.lock().unwrap().len();
    sleep(Duration::from_secs(5)).await;
    assert_eq!(actions.lock().unwrap().len(), n, "no action while cut off");
    a.client.cut(false);
    let healed = Instant::now();
    while !a.fence.is_leader() {
        sleep(Duration::from_millis(10)).await;
    }
    assert!(
        healed.elapsed() <= Duration::from_secs(2 * 5 + 2),
        "{:?}",
        healed.elapsed()
    );
}

/// One random run: replicas frozen, cut off, killed, restarted, resigning; invariants at
/// every sample, then a leader once the faults stop.
async fn random_run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let store = MemLeases::new();
    let actions = Arc::new(Mutex::new(Vec::new()));
    let count = rng.random_range(2..=3);
    let names: Vec<String> = (0..count).map(|i| format!("r{i}")).collect();
    let mut replicas: Vec<Replica> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Replica::start(n, &store, actions.clone(), seed * 10 + i as u64))
        .collect();
    let fences = Arc::new(Mutex::new(
        replicas
            .iter()
            .map(|r| (r.name.clone(), r.fence.clone()))
            .collect::<Vec<_>>(),
    ));
    let faults_for = Duration::from_secs(rng.random_range(60..240));
    let end = Instant::now() + faults_for + Duration::from_secs(60);
    let mon = tokio::spawn(monitor(
        store.clone(),
        fences.clone(),
        end,
        Duration::from_millis(50),
    ));
    let faults_end = Instant::now() + faults_for;
    let mut generation = 0u64;
    while Instant::now() < faults_end {
        sleep(Duration::from_millis(rng.random_range(100..20_000))).await;
        let i = rng.random_range(0..replicas.len());
        let hold = Duration::from_millis(rng.random_range(500..40_000));
        match rng.random_range(0..4) {
            0 => {
                replicas[i].freeze.set(true);
                sleep(hold).await;
                replicas[i].freeze.set(false);
            }
            1 => {
                replicas[i].client.cut(true);
                sleep(hold).await;
                replicas[i].client.cut(false);
            }
            k => {
                if k == 2 {
                    replicas[i].kill();
                } else {
                    replicas[i].resign();
                }
                sleep(Duration::from_millis(rng.random_range(0..5_000))).await;
                generation += 1;
                let name = replicas[i].name.clone();
                replicas[i] =
                    Replica::start(&name, &store, actions.clone(), seed * 1000 + generation);
                fences.lock().unwrap()[i].1 = replicas[i].fence.clone();
            }
        }
    }
    // Faults over: a leader within TTL + retry (+ one call's deadline for a replica whose
    // calls were pending), and it stays.
    let settle = Instant::now();
    loop {
        if replicas.iter().any(|r| r.fence.is_leader()) {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(15 + 2 + 5 + 2),
            "seed {seed}: no leader {:?} after the faults stopped",
            settle.elapsed()
        );
        sleep(Duration::from_millis(10)).await;
    }
    let led = mon.await.unwrap();
    assert!(led > 0, "seed {seed}: nobody ever led");
    check_history(&store, &actions.lock().unwrap());
    for r in &replicas {
        r.kill();
    }
}

#[tokio::test(start_paused = true)]
async fn random_freezes_partitions_kills_and_resignations_never_let_two_replicas_act() {
    let seeds: u64 = std::env::var("ELECTION_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for seed in 0..seeds {
        random_run(seed).await;
    }
}
