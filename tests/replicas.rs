//! Several operator replicas on the real fleet (safety.md, invariants 8 and 9):
//! 1. **killed at every point**: during a rollout with ZooKeeper reconfigs (1 → 3 servers)
//!    and the replacement of every master, agent and Marathon for the new connection string,
//!    the leading replica kills itself (SIGKILL, by failpoint) after its Nth action, N going
//!    round 1..=7 so that every position inside a step is hit; a standby takes over each time; the cluster converges and the independent watcher sees
//!    no invariant broken;
//! 2. **frozen past its lease**: the leader stops itself (SIGSTOP) right before an action of
//!    a masters upgrade, the standby takes over and converges, then the old leader is
//!    continued: etcd's history and every host's Docker events show it did nothing;
//! 3. **etcd unreachable** (its process stopped) in the middle of an agents upgrade: the
//!    leader stops acting within the renew deadline (no container event from then until etcd
//!    returns), then finishes the upgrade.
//!
//! The binary runs its own etcd (set before anything else asks for one), so that stopping it
//! touches no other test.

mod common;

use std::time::{Duration, Instant};

use common::fleet::{exclusive, fleet, now_nanos, ContainerEvent};
use common::operator::{
    apply, emulator_image, generation, phase, store_secrets, wait_phase, wait_until, zk_config,
    ClusterGuard, ClusterOpts, Operator, Rules, Series, Watcher, QUICK_ELECTION,
};
use common::{etcd, unique_prefix, EtcdCluster};

const CONVERGE: Duration = Duration::from_secs(420);
const CLUSTER: &str = "repl";

const RENEW_DEADLINE: Duration = Duration::from_secs(2);

fn replica(prefix: &str, identity: &str, failpoint: Option<String>) -> Operator {
    let mut args = vec!["--identity", identity];
    args.extend_from_slice(&QUICK_ELECTION);
    let env: Vec<(&str, &str)> = failpoint
        .as_deref()
        .map(|f| vec![("MESOS_OPERATOR_FAILPOINT", f)])
        .unwrap_or_default();
    Operator::start_with(&etcd().endpoint, prefix, &args, &env)
}

fn converged(prefix: &str) -> bool {
    let (p, _, observed) = phase(prefix, CLUSTER);
    p == "Converged" && observed == generation(prefix, CLUSTER)
}

/// Every key the operator wrote under `prefix` after `revision`: (key, value).
async fn writes_since(prefix: &str, revision: i64) -> Vec<(String, String)> {
    let store = common::store(prefix).await;
    let mut c = store.client();
    let r = c
        .get(prefix, Some(etcd_client::GetOptions::new().with_prefix()))
        .await
        .expect("etcd get");
    r.kvs()
        .iter()
        .filter(|kv| kv.mod_revision() > revision)
        .map(|kv| {
            (
                String::from_utf8_lossy(kv.key()).into_owned(),
                String::from_utf8_lossy(kv.value()).into_owned(),
            )
        })
        .collect()
}

async fn revision(prefix: &str) -> i64 {
    common::store(prefix)
        .await
        .revision()
        .await
        .expect("revision")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Applies `yaml` with two replicas running whose leader dies after its Nth action, N taken
/// in turn from 1..=7 (a step is at most a record write, five operations and a record
/// write), spread so that the first kills fall at the start, the middle and the end of a
/// step (the same N every time would kill every leader at the same point of the same step).
/// A standby takes over each time and a new one is started. After `max_kills` the replicas
/// started carry no failpoint. `make test` kills three times (after the record write, mid
/// step, after the last record write): the model loop, `tests/model_loop.rs`, kills at
/// every operation over many seeds in seconds, and this confirms it on the fleet;
/// `make test-full` goes through every position. Returns the kills and the time to
/// converge.
fn kill_sweep(prefix: &str, yaml: &str, serial: &mut usize, max_kills: usize) -> (usize, Duration) {
    const KILL_POINTS: [u64; 7] = [1, 4, 7, 2, 5, 3, 6];
    let next = |serial: &mut usize| {
        *serial += 1;
        let n = KILL_POINTS[(*serial - 1) % KILL_POINTS.len()];
        let failpoint = (*serial <= max_kills + 1).then(|| format!("kill-after-action={n}"));
        replica(prefix, &format!("r{serial}"), failpoint)
    };
    let started = Instant::now();
    let mut replicas = vec![next(serial), next(serial)];
    apply(prefix, yaml);
    let mut kills = 0;
    loop {
        assert!(
            started.elapsed() < CONVERGE * 2,
            "no convergence after {kills} kills"
        );
        for r in &mut replicas {
            if let Some(status) = r.exited() {
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(
                    status.signal(),
                    Some(9),
                    "a replica ended otherwise than by its failpoint: {status:?}\n{}",
                    r.log_text()
                );
                kills += 1;
                *r = next(serial);
            }
        }
        if converged(prefix) {
            return (kills, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs failpoints: cargo test --features failpoints (make test turns it on)"
)]
fn replicas_survive_kills_at_every_point_a_freeze_past_the_lease_and_etcd_going_away() {
    // This binary's etcd is its own (stage 3 stops it).
    let own_etcd = EtcdCluster::start(1);
    std::env::set_var("MESOS_OPERATOR_TEST_ETCD", &own_etcd.endpoints[0]);
    assert_eq!(etcd().endpoint, own_etcd.endpoints[0]);
    let rt = runtime();

    let _g = exclusive();
    let f = fleet();
    let hs: Vec<String> = f.hosts.keys().take(3).cloned().collect();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![CLUSTER.into()],
    };
    let prefix = unique_prefix("replicas");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed(CLUSTER);
    opts.zk_servers = 1;
    let watcher = Watcher::start(
        f,
        hs.clone(),
        CLUSTER,
        Rules {
            zk_port: opts.ports.zk,
            masters_floor: true,
        },
    );

    // The cluster with one ZooKeeper server, by one replica.
    let mut boot = replica(&prefix, "boot", None);
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, CLUSTER, "Converged", CONVERGE);
    assert_eq!(boot.stop(), Some(0));

    // 1. ZooKeeper 1 → 3 (two reconfigs), then every master, agent and Marathon replaced
    //    for the new connection string, under kills. `make test-full` also shrinks back
    //    (3 → 1: two reconfigs out, containers and volumes removed, everything rolled again)
    //    and grows once more.
    let mut serial = 0usize;
    let mut kills = 0;
    let mut took = Duration::ZERO;
    let full = std::env::var_os("REPLICAS_FULL").is_some();
    let (sizes, max_kills): (&[u32], usize) = if full {
        (&[3, 1, 3], usize::MAX)
    } else {
        (&[3], 3)
    };
    for &servers in sizes {
        opts.zk_servers = servers;
        let (k, t) = kill_sweep(&prefix, &opts.yaml(f), &mut serial, max_kills);
        kills += k;
        took += t;
        let (_, voters) = zk_config(f, &hs, opts.ports.zk).expect("ZooKeeper answers");
        assert_eq!(voters.len(), servers as usize, "{voters:?}");
    }
    assert!(
        kills >= 7.min(max_kills),
        "only {kills} kill points were exercised"
    );
    eprintln!(
        "kill sweep: {kills} leaders killed over ZooKeeper sizes {sizes:?}, converged in {:.0} s",
        took.as_secs_f64()
    );

    // 2. A leader frozen right before an action of a masters upgrade (its second: the first
    //    is the record of the step in flight) acts on nothing and writes nothing when
    //    continued after a standby took over.
    let a = replica(&prefix, "frozen", Some("stop-before-action=2".into()));
    wait_until("the first replica leads", Duration::from_secs(20), || {
        a.leads()
    });
    let b = replica(&prefix, "standby", None);
    opts.master_image = emulator_image("mesos-master:1.12.0-rc1");
    apply(&prefix, &opts.yaml(f));
    wait_until("the leader stops itself", Duration::from_secs(60), || {
        a.is_stopped()
    });
    wait_until("the standby takes over", Duration::from_secs(20), || {
        b.leads()
    });
    wait_phase(&prefix, CLUSTER, "Converged", CONVERGE);
    let (_, b_term) = {
        let s = rt.block_on(common::store(&prefix));
        let st = rt
            .block_on(s.status(CLUSTER))
            .expect("status")
            .expect("a status");
        let op = st.operator.expect("the status names its writer");
        assert_eq!(op.identity, "standby");
        (op.identity, op.term)
    };
    let rev = rt.block_on(revision(&prefix));
    let events = f.container_events(&hs, CLUSTER);
    let woke = Instant::now();
    a.signal("CONT");
    let looked = a.mark(&Series::reconciles(CLUSTER));
    wait_until(
        "the continued replica notices it may not act",
        Duration::from_secs(20),
        || a.log_text().contains("not allowed to act"),
    );
    // It had its chances: the reconcile it was frozen in ended, and another one after it
    // (failed or not: a deposed leader's counts).
    a.wait_looked(&looked, "the continued replica");
    let seen = events.finish();
    assert!(
        seen.is_empty(),
        "container events after the frozen leader was continued: {seen:?}"
    );
    for (key, value) in rt.block_on(writes_since(&prefix, rev)) {
        assert!(
            key.ends_with("/status") && value.contains(&format!("\"term\":{b_term}")),
            "{key} was written after the frozen leader was continued: {value}"
        );
    }
    assert!(b.leads() && !a.leads());
    eprintln!(
        "frozen leader continued: nothing done in {:.0} s",
        woke.elapsed().as_secs_f64()
    );
    drop(a);

    // 3. etcd goes away in the middle of an agents upgrade: the leader stops acting within
    //    the renew deadline (plus the operation it may have in flight), and finishes after.
    let events = f.container_events(&hs, CLUSTER);
    let log_from = b.log_text().len();
    opts.agent_image = emulator_image("mesos-agent:1.12.0-rc1");
    apply(&prefix, &opts.yaml(f));
    wait_until("the agents upgrade starts", Duration::from_secs(60), || {
        b.log_text()
            .get(log_from..)
            .is_some_and(|l| l.contains("taking a step"))
    });
    own_etcd.signal(0, "STOP");
    let frozen_at = now_nanos();
    // One operation may be under way when etcd goes (a container stop takes up to its
    // grace period); nothing may start after the renew deadline plus that.
    let quiet_from = frozen_at + (RENEW_DEADLINE + Duration::from_secs(4)).as_nanos();
    wait_until(
        "the leader to stop saying it leads without etcd",
        RENEW_DEADLINE + Duration::from_secs(10),
        || !b.leads(),
    );
    while now_nanos() < quiet_from {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Etcd stays away until the replica has looked twice within the quiet time: without
    // etcd every reconcile fails, and a failed one counts (it could have acted).
    let looked = b.mark(&Series::reconciles(CLUSTER));
    b.wait_looked(&looked, "the leader without etcd");
    let thawed_at = now_nanos();
    own_etcd.signal(0, "CONT");
    wait_phase(&prefix, CLUSTER, "Converged", CONVERGE);
    let seen: Vec<ContainerEvent> = events.finish();
    let during: Vec<&ContainerEvent> = seen
        .iter()
        .filter(|(t, ..)| *t > quiet_from && *t < thawed_at)
        .collect();
    assert!(
        during.is_empty(),
        "the leader acted while etcd was unreachable: {during:?}"
    );
    assert!(
        seen.iter().any(|(t, ..)| *t > thawed_at),
        "the upgrade did not go on after etcd returned: {seen:?}"
    );
    drop(b);
    let samples = watcher.finish();
    eprintln!("watcher: {samples} samples, no invariant broken");
}
