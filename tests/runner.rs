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
