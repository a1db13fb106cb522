//! The runner of `reconcile::run` (dedup, bounded concurrency, shutdown drain) on the model
//! fleet under tokio's paused clock: looks and operations made slow so that what runs at
//! once shows.

mod common;

use std::time::Duration;

use common::model::{run_options, Replica, World};
use mesos_operator_core::spec::{parse_document, MesosCluster};
use tokio::sync::oneshot;

fn doc(name: &str, paused: bool) -> MesosCluster {
    let y = format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: {name}}}\nspec:\n  hosts:\n    - {{name: h1, address: 10.0.0.1, docker: {{endpoint: 'unix:///var/run/docker.sock'}}}}\n  zookeeper: {{image: 'zookeeper:3.8.0', servers: 1}}\n  masters: {{image: 'mesos-master:1.11.0', count: 1}}\n  agents: {{image: 'mesos-agent:1.11.0'}}\n  rollout: {{paused: {paused}}}\n"
    );
    match parse_document(&y) {
        Ok(d) => d,
        Err(e) => panic!("test document: {e}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_cluster_is_never_looked_at_twice_at_once_and_no_more_than_the_concurrency_run() {
    let (world, _killed) = World::new();
    world.set_slow(Duration::from_secs(3));
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for n in &names {
        world.add_cluster(&doc(n, true));
    }
    let mut opts = run_options();
    opts.concurrency = 2;
    let _r = Replica::start(&world, 0, opts);
    // Every cluster is woken again and again while it is being looked at.
    for round in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for n in &names {
            let _ = world.store.apply(&doc(n, round % 2 == 0));
        }
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    let (per_cluster, in_all) = world.most_at_once();
    assert_eq!(per_cluster, 1, "a cluster was looked at twice at once");
    assert!(in_all <= 2, "{in_all} looks at once with concurrency 2");
    assert_eq!(in_all, 2, "the two slots were used");
    // Woken twenty times, each cluster was looked at again after its wake-ups (coalesced,
    // not dropped), and none was starved.
    let looks = world.looks();
    for n in &names {
        let k = looks.get(n).copied().unwrap_or(0);
        assert!(k >= 3, "{n} looked at {k} times: {looks:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_lets_the_running_step_finish_and_leaves_nothing_in_flight() {
    let (world, _killed) = World::new();
    world.set_slow(Duration::from_secs(2));
    let d = doc("c1", false);
    world.add_cluster(&d);
    let (stop, stopped) = oneshot::channel::<()>();
    let (fence, task, _election) = Replica::start_until(&world, 0, run_options(), async {
        let _ = stopped.await;
    });
    // Wait until a step is half done: its record says in flight and an operation ran.
    let mut waited = 0;
    while world.store.stored_record("c1").in_flight.is_none() || world.op_log().is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(waited < 6000, "no step started");
    }
    assert!(fence.is_leader());
    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(120), task).await {
        Ok(Ok(())) => {}
        other => panic!("the loop did not stop within its grace: {other:?}"),
    }
    let record = world.store.stored_record("c1");
    assert!(
        record.in_flight.is_none(),
        "the step was abandoned half-way: {:?}",
        record.in_flight
    );
    assert_eq!(world.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_one_clusters_reconcile_is_counted_retried_and_frees_its_slot() {
    // Before the fix the runner dropped a panicked task's result without its name: the
    // cluster stayed "running" for good, was never looked at again, and held its slot;
    // with one slot, every other cluster starved.
    let (world, _killed) = World::new();
    world.add_cluster(&doc("c1", false));
    // On another machine: two clusters on one address and ports would block each other.
    let mut c2 = doc("c2", false);
    c2.spec.hosts[0].address = "10.0.0.2".into();
    c2.spec.hosts[0].docker.endpoint = "unix:///run/other-machine/docker.sock".into();
    world.add_cluster(&c2);
    world.panic_next_looks("c1", 2);
    let mut opts = run_options();
    opts.concurrency = 1;
    let r = Replica::start(&world, 0, opts);
    let mut waited = 0;
    let converged = |n: &str| {
        world
            .store
            .status(n)
            .is_some_and(|s| s.phase == mesos_operator_core::status::Phase::Converged)
    };
    while !(converged("c1") && converged("c2")) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(
            waited < 1800,
            "not both converged: c1 {:?}, c2 {:?}",
            world.store.status("c1").map(|s| (s.phase, s.message)),
            world.store.status("c2").map(|s| (s.phase, s.message))
        );
    }
    let text = r.metrics.encode_text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("mesos_operator_reconcile_total{")
                && l.contains("cluster=\"c1\"")
                && l.contains("result=\"panic\"")
                && l.ends_with(" 2")),
        "the two panics are counted: {text}"
    );
    assert_eq!(world.violations(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_panic_shows_in_the_status_until_a_reconcile_succeeds_again() {
    use mesos_operator_core::status::Phase;
    let (world, _killed) = World::new();
    let d = doc("c1", false);
    world.add_cluster(&d);
    let _r = Replica::start(&world, 0, run_options());
    let phase = |w: &World| w.store.status("c1").map(|s| (s.phase, s.message));
    let mut waited = 0;
    while phase(&world).map(|p| p.0) != Some(Phase::Converged) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(waited < 1800, "not converged: {:?}", phase(&world));
    }
    world.panic_next_looks("c1", 3);
    let _ = world.store.apply(&doc("c1", true));
    let mut seen = None;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some((Phase::Degraded, m)) = phase(&world) {
            seen = Some(m);
            break;
        }
    }
    let message = seen.expect("the status never said the reconcile panicked");
    assert!(
        message.contains("panicked") && message.contains("tried again in"),
        "{message}"
    );
    // Once the looks stop panicking, the status is the cluster's own again.
    let mut waited = 0;
    while phase(&world).map(|p| p.0) != Some(Phase::Paused) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(waited < 1800, "not back: {:?}", phase(&world));
    }
}

#[tokio::test(start_paused = true)]
async fn a_reconcile_that_never_returns_makes_the_operator_not_ready_naming_the_cluster() {
    let (world, _killed) = World::new();
    world.add_cluster(&doc("c1", true));
    let r = Replica::start(&world, 0, run_options());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(r.metrics.liveness().problem(), None, "a healthy loop");
    // Every look now takes a day: the reconcile under way never comes back.
    world.set_slow(Duration::from_secs(86_400));
    let _ = world.store.apply(&doc("c1", false));
    tokio::time::sleep(mesos_operator::liveness::WEDGED_AFTER + Duration::from_secs(60)).await;
    let problem = r.metrics.liveness().problem().unwrap_or_default();
    assert!(
        problem.contains("cluster c1") && problem.contains("wedged"),
        "{problem:?}"
    );
}

/// A failing cluster keeps its backoff when the machines report changes: the events of its
/// own failed step (a container created, then dying) must not make it retry at once,
/// again and again. Its spec written anew still wakes it at once.
#[tokio::test(start_paused = true)]
async fn the_machines_wakes_do_not_cut_a_failing_clusters_backoff_short() {
    let (world, _killed) = World::new();
    let d = doc("c1", true);
    world.add_cluster(&d);
    world.machine_wake("c1"); // the channel exists before the replica takes it
    world.panic_next_looks("c1", 1000);
    let _r = Replica::start(&world, 0, run_options());
    // 20 s of wakes every 100 ms, 200 in all.
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        world.machine_wake("c1");
    }
    let failed = 1000 - world.panics_left("c1");
    // The backoff from 0.5 s doubling (with jitter, between half and all of it) allows at
    // most a dozen attempts in 20 s; without it every wake is an attempt.
    assert!(
        (2..=12).contains(&failed),
        "{failed} failing reconciles in 20 s of wakes every 100 ms"
    );
    // A person's edit is not held back by the backoff.
    let before = world.panics_left("c1");
    let _ = world.store.apply(&doc("c1", false));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        world.panics_left("c1") < before,
        "a spec change waited for the backoff"
    );
}
