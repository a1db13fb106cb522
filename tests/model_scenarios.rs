//! The operator's decisions, scenario by scenario, made by the real loop (`reconcile::run`)
//! against the model fleet under tokio's paused clock: the order a cluster comes up in,
//! rolling changes one member at a time with the leader last, agents drained through
//! maintenance, repairs of what people did behind its back, pause, a version that never
//! turns healthy, the last look, `delete` and `delete --cascade [--purge-data]`. None of them needs a container; each
//! takes well under a second. The Docker fleet (`tests/reconcile.rs`) keeps what only it
//! can show: real ZooKeeper reconfiguration, real pulls, the workload through rollouts.
//!
//! In every scenario the model judges each operation (quorums, ids, volumes, windows) and
//! the world judges each step against the observation it was planned from: a scenario
//! fails on any broken rule, whatever its end state.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::model::{converged, doc, run_options, Replica, Shape, World};
use mesos_operator::store::{ClusterStore, Event, WriteOutcome};
use mesos_operator_core::autoupdate::state::Denial;
use mesos_operator_core::observed::ContainerState;
use mesos_operator_core::spec::{Component, MesosCluster};
use mesos_operator_core::status::Phase;

const NAME: &str = "c1";

/// The seed's cluster ([`Shape::seed`]).
fn seed() -> MesosCluster {
    doc(NAME, &Shape::seed())
}

/// Brings the seed's cluster up with one replica; panics unless it converges cleanly.
async fn up(world: &Arc<World>, d: &MesosCluster) -> Replica {
    world.add_cluster(d);
    let r = Replica::start(world, 0, run_options());
    settle(world, d).await;
    r
}

/// Waits until the model runs `d` and the operator says so, with no rule broken.
async fn settle(world: &World, d: &MesosCluster) {
    let result = converged(world, d, Duration::from_secs(1800)).await;
    assert_eq!(world.violations(), Vec::<String>::new());
    result.unwrap_or_else(|e| panic!("{e}"));
}

/// A person's edit, which the store must take.
fn apply(world: &World, d: &MesosCluster) {
    if let Err(e) = world.store.apply(d) {
        panic!("the edit is refused: {e}");
    }
}

/// Successful steps since event `from`: (kind, host, component).
fn steps(world: &World, from: usize) -> Vec<(String, String, String)> {
    world.store.events(NAME)[from..]
        .iter()
        .filter(|e| e.outcome.as_str() == "ok")
        .map(|e: &Event| (e.kind.clone(), e.host.clone(), e.component.clone()))
        .collect()
}

/// The hosts of `kind` steps on `component` since event `from`, in order.
fn hosts_of(world: &World, from: usize, kind: &str, component: &str) -> Vec<String> {
    steps(world, from)
        .into_iter()
        .filter(|(k, _, c)| k == kind && c == component)
        .map(|(_, h, _)| h)
        .collect()
}

/// ZooKeeper's voters as the status names them (`id@host`).
fn voters(world: &World) -> Option<Vec<String>> {
    world
        .store
        .status(NAME)
        .and_then(|s| s.components[&Component::Zookeeper].voters.clone())
}

fn leader(world: &World, c: Component) -> String {
    world
        .store
        .status(NAME)
        .and_then(|s| s.components.get(&c).and_then(|x| x.leader.clone()))
        .unwrap_or_else(|| panic!("the status names no {c} leader"))
}

#[tokio::test(start_paused = true)]
async fn a_new_cluster_comes_up_in_order_and_every_bump_rolls_one_member_at_a_time_leader_last() {
    let (world, _killed) = World::new();
    let mut d = seed();
    let _r = up(&world, &d).await;

    // ZooKeeper's three servers started at once on one first config (no reconfiguration),
    // then masters, agents, Marathon.
    assert_eq!(
        hosts_of(&world, 0, "ZkBootstrap", "zookeeper"),
        ["h01,h02,h03"]
    );
    assert!(hosts_of(&world, 0, "ZkStartServer", "zookeeper").is_empty());
    assert!(hosts_of(&world, 0, "ZkAdd", "zookeeper").is_empty());
    let order: Vec<String> = steps(&world, 0).into_iter().map(|s| s.2).collect();
    let last_of = |c: &str| order.iter().rposition(|x| x == c).unwrap_or(0);
    let first_of = |c: &str| order.iter().position(|x| x == c).unwrap_or(usize::MAX);
    assert!(last_of("zookeeper") < first_of("masters"), "{order:?}");
    assert!(last_of("masters") < first_of("agents"), "{order:?}");
    assert!(last_of("agents") < first_of("marathon"), "{order:?}");
    let status = world
        .store
        .status(NAME)
        .unwrap_or_else(|| panic!("no status"));
    for c in [Component::Zookeeper, Component::Masters, Component::Agents] {
        assert_eq!(status.components[&c].ready, 3, "{c}: {status:?}");
    }
    assert_eq!(status.components[&Component::Marathon].ready, 1);
    assert_eq!(status.components[&Component::Masters].quorum, Some(2));
    assert_eq!(
        status.components[&Component::Zookeeper]
            .voters
            .as_ref()
            .map(Vec::len),
        Some(3)
    );

    // ZooKeeper and masters: every member replaced once, the leader last, nothing else.
    for c in [Component::Masters, Component::Zookeeper] {
        let before = leader(&world, c);
        let from = world.store.events(NAME).len();
        match c {
            Component::Masters => d.spec.masters.image = "mesos-master:1.12.0-rc1".into(),
            _ => d.spec.zookeeper.image = "zookeeper:3.8.1".into(),
        }
        apply(&world, &d);
        settle(&world, &d).await;
        let replaced = hosts_of(&world, from, "ReplaceContainer", c.as_str());
        assert_eq!(replaced.len(), 3, "{c}: {:?}", steps(&world, from));
        assert_eq!(replaced.last(), Some(&before), "{c}: the leader goes last");
        let sorted: std::collections::BTreeSet<_> = replaced.iter().collect();
        assert_eq!(sorted.len(), 3, "{c}: each member once: {replaced:?}");
        let others: Vec<_> = steps(&world, from)
            .into_iter()
            .filter(|s| s.2 != c.as_str())
            .collect();
        assert!(others.is_empty(), "only {c} was touched: {others:?}");
    }

    // Marathon, one instance: replaced; nothing else moves.
    let from = world.store.events(NAME).len();
    if let Some(m) = d.spec.marathon.as_mut() {
        m.image = "marathon:1.10.26".into();
    }
    apply(&world, &d);
    settle(&world, &d).await;
    let moved = steps(&world, from);
    assert!(!moved.is_empty());
    assert!(moved.iter().all(|s| s.2 == "marathon"), "{moved:?}");

    // Agents, drained through maintenance: each host's whole cycle before the next host.
    let from = world.store.events(NAME).len();
    d.spec.agents.image = "mesos-agent:1.12.0-rc1".into();
    apply(&world, &d);
    settle(&world, &d).await;
    let mut seq: Vec<(String, String)> = steps(&world, from)
        .into_iter()
        .map(|(k, h, _)| (k, h))
        .collect();
    // A step carried out again right after itself is idempotent: one cycle per host counts.
    seq.dedup();
    let cycle = ["AgentDrain", "AgentDown", "ReplaceContainer", "AgentUp"];
    assert_eq!(seq.len(), 12, "{seq:?}");
    let mut drained = std::collections::BTreeSet::new();
    for c in seq.chunks(4) {
        let kinds: Vec<&str> = c.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, cycle, "{seq:?}");
        assert!(
            c.iter().all(|(_, h)| *h == c[0].1),
            "one host per cycle: {seq:?}"
        );
        drained.insert(c[0].1.clone());
    }
    assert_eq!(drained.len(), 3, "every agent drained once: {seq:?}");
    // The maintenance the operator opened is closed again.
    assert!(world.with_sim(NAME, |sim| sim.maintenance.is_empty()));
}

#[tokio::test(start_paused = true)]
async fn containers_a_person_stopped_or_removed_are_started_or_created_again() {
    let (world, _killed) = World::new();
    let d = seed();
    let _r = up(&world, &d).await;
    let before = voters(&world);
    let from = world.store.events(NAME).len();
    world.with_sim(NAME, |sim| {
        sim.person_stops(Component::Masters, "h02");
        sim.person_removes(Component::Agents, "h02");
        sim.person_removes(Component::Zookeeper, "h03");
    });
    settle(&world, &d).await;
    let s = steps(&world, from);
    assert!(
        s.iter()
            .any(|(k, h, c)| k == "StartContainer" && h == "h02" && c == "masters"),
        "the stopped master is started, not replaced: {s:?}"
    );
    assert!(
        s.iter()
            .any(|(k, h, c)| k == "CreateContainer" && h == "h02" && c == "agents"),
        "the removed agent is created again: {s:?}"
    );
    // The ZooKeeper server comes back on its volume, with its id: the ensemble is the same.
    assert_eq!(voters(&world), before);
    // Only what people broke was touched.
    let touched: std::collections::BTreeSet<(String, String)> =
        s.iter().map(|(_, h, c)| (h.clone(), c.clone())).collect();
    let expected: std::collections::BTreeSet<(String, String)> =
        [("h02", "masters"), ("h02", "agents"), ("h03", "zookeeper")]
            .iter()
            .map(|(h, c)| (h.to_string(), c.to_string()))
            .collect();
    assert_eq!(touched, expected, "{s:?}");
}

#[tokio::test(start_paused = true)]
async fn a_paused_cluster_takes_no_step_and_goes_on_when_resumed() {
    let (world, _killed) = World::new();
    let mut d = seed();
    let _r = up(&world, &d).await;
    d.spec.rollout.paused = true;
    d.spec.masters.image = "mesos-master:1.12.0-rc1".into();
    apply(&world, &d);
    let from = world.store.events(NAME).len();
    let ops = world.op_log().len();
    // Evidence that the operator looked, several times, with the bump pending.
    let looked = world.looks().get(NAME).copied().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(
        world.looks().get(NAME).copied().unwrap_or(0) >= looked + 2,
        "the operator did not look while paused"
    );
    assert_eq!(
        world.store.status(NAME).map(|s| s.phase),
        Some(Phase::Paused)
    );
    assert_eq!(world.store.events(NAME).len(), from, "a step while paused");
    assert_eq!(world.op_log().len(), ops, "an operation while paused");
    d.spec.rollout.paused = false;
    apply(&world, &d);
    settle(&world, &d).await;
    assert_eq!(
        hosts_of(&world, from, "ReplaceContainer", "masters").len(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn a_version_that_never_turns_healthy_blocks_with_one_member_touched_and_rollback_recovers() {
    let (world, _killed) = World::new();
    let mut d = seed();
    d.spec.rollout.health_timeout = "20s".into();
    let _r = up(&world, &d).await;
    world.with_sim(NAME, |sim| {
        sim.broken_images.insert("mesos-master:broken".into());
    });
    let good = d.clone();
    d.spec.masters.image = "mesos-master:broken".into();
    apply(&world, &d);
    let until = tokio::time::Instant::now() + Duration::from_secs(600);
    let message = loop {
        let s = world.store.status(NAME);
        if let Some(s) = s.filter(|s| s.phase == Phase::Blocked) {
            break s.message;
        }
        assert!(tokio::time::Instant::now() < until, "never blocked");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(
        message.contains("rollback"),
        "the message says what to do: {message}"
    );
    // Blocked, it stays put: one master runs the broken image, the others the good one.
    tokio::time::sleep(Duration::from_secs(300)).await;
    let images: Vec<(String, ContainerState)> = world.with_sim(NAME, |sim| {
        sim.hosts
            .values()
            .filter_map(|h| h.containers.get(&Component::Masters))
            .map(|c| (c.image.clone(), c.state))
            .collect()
    });
    let broken = images
        .iter()
        .filter(|(i, _)| i == "mesos-master:broken")
        .count();
    assert_eq!(broken, 1, "exactly one master touched: {images:?}");
    assert_eq!(images.len(), 3, "{images:?}");
    // The rollback: the spec before the bump, stored again.
    apply(&world, &good);
    settle(&world, &good).await;
}

#[tokio::test(start_paused = true)]
async fn a_master_down_between_the_plan_and_the_stop_stops_the_step_not_the_quorum() {
    // The plan is made from an observation; before the step's last look a second master
    // goes down (a person stops it). Stopping the planned one would leave one master of
    // three: the last look refuses, the stopped master is started again, the upgrade ends.
    let (world, _killed) = World::new();
    let mut d = seed();
    let _r = up(&world, &d).await;
    let store = world.store.clone();
    world.before_next("require-serving", move |sim| {
        let target = store
            .stored_record(NAME)
            .in_flight
            .map(|f| f.step.host().to_string())
            .unwrap_or_default();
        let other = sim
            .hosts
            .keys()
            .find(|h| **h != target && sim.master_leader.as_ref() != Some(*h))
            .cloned()
            .unwrap_or_default();
        assert!(!other.is_empty(), "a third master");
        sim.person_stops(Component::Masters, &other);
    });
    let from = world.store.events(NAME).len();
    d.spec.masters.image = "mesos-master:1.12.0-rc1".into();
    apply(&world, &d);
    settle(&world, &d).await;
    let refused: Vec<Event> = world.store.events(NAME)[from..]
        .iter()
        .filter(|e| e.outcome.as_str() == "error")
        .cloned()
        .collect();
    assert!(
        refused.iter().any(|e| e.component == "masters"
            && e.error
                .as_deref()
                .is_some_and(|x| x.contains("require-serving"))),
        "no failed step names the last look: {refused:?}"
    );
    // Every master was replaced in the end (the one the person stopped too), and the
    // model saw the masters' quorum hold throughout (`settle` fails on any broken rule).
    assert_eq!(
        hosts_of(&world, from, "ReplaceContainer", "masters").len(),
        3,
        "{:?}",
        steps(&world, from)
    );
}

/// A failed tag on the masters' denylist, written as a person's (unfenced) change.
async fn deny(world: &World, tag: &str) {
    let at = world.store.autoupdate(NAME).await.unwrap_or_default();
    let mut state = at.state.clone();
    state
        .components
        .entry(Component::Masters)
        .or_default()
        .denied
        .insert(
            tag.into(),
            Denial {
                reason: "canary failed".into(),
                at: 1,
            },
        );
    if let Err(e) = world.store.put_autoupdate(None, NAME, &at, &state).await {
        panic!("the denylist is refused: {e}");
    }
}

/// The model's data volumes by host.
fn volumes(world: &World) -> BTreeMap<String, BTreeSet<String>> {
    world.with_sim(NAME, |sim| {
        sim.hosts
            .iter()
            .map(|(h, x)| (h.clone(), x.volumes.clone()))
            .collect()
    })
}

/// Waits (at most 600 s of model time) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let until = tokio::time::Instant::now() + Duration::from_secs(600);
    while !done() {
        assert!(tokio::time::Instant::now() < until, "{what}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn delete_cascade_removes_the_containers_and_keeps_volumes_record_and_denylist() {
    let (world, _killed) = World::new();
    let d = seed();
    let _r = up(&world, &d).await;
    deny(&world, "1.12.0").await;
    let record = world.store.stored_record(NAME);
    let data = volumes(&world);
    assert!(data.values().any(|v| !v.is_empty()), "{data:?}");
    // From here the cluster's quorums go on purpose: the end state is what is judged.
    world.store.request_deletion(NAME, false);
    until("the spec is still there", || !world.store.has_spec(NAME)).await;
    world.with_sim(NAME, |sim| {
        for (h, x) in &sim.hosts {
            assert!(x.containers.is_empty(), "{h}: {:?}", x.containers.keys());
            assert_eq!(x.foreign, mesos_operator_sim::model::foreign_on(h), "{h}");
        }
    });
    assert_eq!(volumes(&world), data, "every data volume stays");
    assert!(world.store.status(NAME).is_none(), "the status is gone");
    assert!(world.store.holds(NAME), "the record and the denylist stay");
    let kept = world.store.stored_record(NAME);
    assert_eq!(kept.zk_highest_id, record.zk_highest_id);
    assert_eq!(kept.master_hosts, record.master_hosts);
    let auto = world.store.stored_autoupdate(NAME);
    assert!(
        auto.component(Component::Masters)
            .denied
            .contains_key("1.12.0"),
        "{auto:?}"
    );
    // What was kept is recorded, host by host, as the model holds it.
    let reported: BTreeMap<String, BTreeSet<String>> = world
        .store
        .kept_volumes(NAME)
        .expect("the kept volumes are recorded")
        .hosts
        .into_iter()
        .map(|(h, k)| (h, k.volumes.into_iter().collect()))
        .collect();
    let held: BTreeMap<String, BTreeSet<String>> =
        data.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    assert_eq!(reported, held);

    // The same document again picks the data up: the same ZooKeeper servers on their
    // volumes, no new id handed out, and no rule broken on the way.
    // The teardown broke the quorums on purpose; from here on, no rule may break.
    let broken = world.violations().len();
    let voters_before = voters(&world);
    apply(&world, &d);
    let result = converged(&world, &d, Duration::from_secs(1800)).await;
    assert_eq!(world.violations()[broken..], Vec::<String>::new());
    result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        world.store.stored_record(NAME).zk_highest_id,
        record.zk_highest_id,
        "no new ZooKeeper id was handed out"
    );
    assert!(voters_before.is_none(), "the status went with the spec");
    let ids: BTreeSet<String> = voters(&world)
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.split('@').next().unwrap_or("").to_string())
        .collect();
    let highest = record.zk_highest_id.unwrap_or(0);
    assert!(
        ids.iter()
            .all(|i| i.parse::<u64>().is_ok_and(|i| i <= highest)),
        "the old servers, under their old ids: {ids:?} (highest {highest})"
    );
}

#[tokio::test(start_paused = true)]
async fn delete_cascade_with_purge_data_removes_every_container_and_volume_then_every_key() {
    let (world, _killed) = World::new();
    let d = seed();
    let _r = up(&world, &d).await;
    deny(&world, "1.12.0").await;
    world.store.request_deletion(NAME, true);
    until("the keys are still there", || !world.store.holds(NAME)).await;
    world.with_sim(NAME, |sim| {
        for (h, x) in &sim.hosts {
            assert!(x.containers.is_empty(), "{h}: {:?}", x.containers.keys());
            assert!(x.volumes.is_empty(), "{h}: {:?}", x.volumes);
            assert_eq!(x.foreign, mesos_operator_sim::model::foreign_on(h), "{h}");
        }
    });
    assert!(world.store.status(NAME).is_none(), "the status is gone too");
    assert_eq!(world.store.stored_record(NAME), Default::default());
    assert_eq!(world.store.stored_autoupdate(NAME), Default::default());
}

#[tokio::test(start_paused = true)]
async fn a_plain_delete_keeps_everything_running_and_a_re_apply_takes_no_step() {
    let (world, _killed) = World::new();
    let d = seed();
    let _r = up(&world, &d).await;
    deny(&world, "1.12.0").await;
    let record = world.store.stored_record(NAME);
    let before = world.with_sim(NAME, |sim| {
        sim.hosts
            .iter()
            .map(|(h, x)| (h.clone(), x.containers.len()))
            .collect::<Vec<_>>()
    });
    assert!(world.store.delete(NAME));
    assert!(!world.store.delete(NAME), "nothing left to delete");
    assert!(!world.store.has_spec(NAME));
    assert_eq!(
        world.store.stored_record(NAME).zk_highest_id,
        record.zk_highest_id
    );
    assert!(world
        .store
        .stored_autoupdate(NAME)
        .component(Component::Masters)
        .denied
        .contains_key("1.12.0"));
    // The loop forgets the cluster and touches nothing.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(
        world.store.status(NAME).is_none(),
        "no status for a deleted cluster"
    );
    // Re-applied (at generation 1 again), it is the same cluster: converged, no step.
    match world.store.apply(&d) {
        Ok(WriteOutcome::Created { generation: 1 }) => {}
        other => panic!("{other:?}"),
    }
    settle(&world, &d).await;
    assert_eq!(steps(&world, 0), Vec::new(), "nothing was touched");
    let after = world.with_sim(NAME, |sim| {
        sim.hosts
            .iter()
            .map(|(h, x)| (h.clone(), x.containers.len()))
            .collect::<Vec<_>>()
    });
    assert_eq!(after, before);
    assert_eq!(
        world.store.stored_record(NAME).zk_highest_id,
        record.zk_highest_id
    );
}

#[tokio::test(start_paused = true)]
async fn zookeeper_servers_removed_below_quorum_are_recreated_on_their_data() {
    // Two of three ZooKeeper containers removed by hand (`docker rm -f`; their volumes
    // stay): no quorum, so no config can be read. Before the fix the operator waited for
    // the third server forever ("Degraded"): nobody can start a container that is gone.
    // Each is recreated on its volume under the id it holds and the same ensemble forms.
    let (world, _killed) = World::new();
    let d = seed();
    let _r = up(&world, &d).await;
    let before = voters(&world);
    let highest = world.store.stored_record(NAME).zk_highest_id;
    let from = world.store.events(NAME).len();
    world.with_sim(NAME, |sim| {
        sim.person_removes(Component::Zookeeper, "h01");
        sim.person_removes(Component::Zookeeper, "h02");
    });
    settle(&world, &d).await;
    let recreated = hosts_of(&world, from, "ZkRecreateServer", "zookeeper");
    assert_eq!(recreated.len(), 2, "{:?}", steps(&world, from));
    assert_eq!(voters(&world), before, "the same servers, the same ids");
    assert_eq!(
        world.store.stored_record(NAME).zk_highest_id,
        highest,
        "no new id was handed out"
    );
}

/// A document written around `apply` (straight into the store) that sends a secret outside
/// the scope its owner gave it is left alone, phase Invalid naming the field and the
/// secret: the operator does not put the secret where the author chose.
#[tokio::test(start_paused = true)]
async fn a_secret_sent_outside_its_scope_is_never_used_and_the_status_names_the_field() {
    use mesos_operator_core::spec::{SecretFile, SecretScope, SecretUse};
    let (world, _killed) = World::new();
    let d = seed();
    let _r = up(&world, &d).await;
    world.store.set_secret_scope(
        "prod-credential",
        Some(SecretScope {
            clusters: vec!["prod".into()],
            uses: vec![SecretUse::ComponentFile],
            hosts: vec![],
        }),
    );
    let mut stealing = d.clone();
    stealing.spec.masters.secret_files.push(SecretFile {
        secret: "prod-credential".into(),
        path: "/etc/mesos/credential".into(),
    });
    let from = world.store.events(NAME).len();
    let ops = world.op_log().len();
    apply(&world, &stealing);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let status = world.store.status(NAME).expect("a status");
    assert_eq!(status.phase, Phase::Invalid, "{}", status.message);
    assert!(
        status
            .errors
            .iter()
            .any(|e| e.path == "spec.masters.secretFiles[0]"
                && e.problem.contains("prod-credential")),
        "{:?}",
        status.errors
    );
    assert_eq!(
        world.store.events(NAME).len(),
        from,
        "a step with the secret"
    );
    assert_eq!(world.op_log().len(), ops, "an operation with the secret");
    // The author takes the field out: the cluster is the operator's again.
    apply(&world, &d);
    settle(&world, &d).await;
}

/// A secret put into containers as a file, rotated with `secret set`: the document does
/// not change, yet every container that uses it is replaced, one at a time under the usual
/// rules (leader last), and nothing else is touched.
#[tokio::test(start_paused = true)]
async fn a_rotated_secret_file_rolls_the_containers_that_use_it_one_at_a_time() {
    use mesos_operator_core::spec::SecretFile;
    let (world, _killed) = World::new();
    world.set_secret(
        "master-credential",
        b"{\"principal\":\"ops\",\"secret\":\"one\"}",
    );
    let mut d = seed();
    d.spec.masters.secret_files.push(SecretFile {
        secret: "master-credential".into(),
        path: "/etc/mesos/credential".into(),
    });
    let _r = up(&world, &d).await;
    let leader_before = leader(&world, Component::Masters);
    let from = world.store.events(NAME).len();
    world.set_secret(
        "master-credential",
        b"{\"principal\":\"ops\",\"secret\":\"two\"}",
    );
    // A resync finds the rotation; `settle` waits for the model to run the new content.
    settle(&world, &d).await;
    let replaced = hosts_of(&world, from, "ReplaceContainer", "masters");
    assert_eq!(replaced.len(), 3, "{:?}", steps(&world, from));
    assert_eq!(
        replaced.last(),
        Some(&leader_before),
        "the leading master goes last"
    );
    assert!(
        steps(&world, from).iter().all(|(_, _, c)| c == "masters"),
        "only the masters use the secret: {:?}",
        steps(&world, from)
    );
}
