//! Partitions on the model: a member cut off from its peers while it still answers the
//! operator, and the operator cut off from a host that is fine. What the operator can see
//! of each, and that it never counts a cut-off member toward a quorum it is about to spend.

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{HostObservation, ZkMode};
use mesos_operator_core::plan::Decision;
use mesos_operator_core::spec::parse_document;
use mesos_operator_sim::{drive, Faults, Rng, SimCluster, ZK_SESSION_SECS, ZK_SYNC_SECS};

const NOW: u64 = 1_000_000;

fn desired(zk_image: &str, master_image: &str) -> Desired {
    let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n");
    for i in 1..=3 {
        y.push_str(&format!(
            "    - {{name: h{i}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///d.sock'}}}}\n"
        ));
    }
    y.push_str(&format!(
        "  zookeeper: {{image: '{zk_image}', servers: 3}}\n  masters: {{image: '{master_image}', count: 3}}\n  agents: {{image: a:1}}\n  marathon: {{image: 'mar:1.10.17', instances: 1}}\n  rollout: {{healthTimeout: 60s}}\n"
    ));
    Desired::from_document(&parse_document(&y).unwrap())
}

/// A ZooKeeper follower cut off from the other two voters answers `srvr` as a follower for
/// syncLimit × tickTime. A bump planned in that window counts it; the executor's last look
/// writes through every member it counts on, the cut-off one commits nothing, and the
/// stop of the second voter of the quorum never happens.
#[test]
fn a_zookeeper_voter_cut_off_from_its_peers_fails_the_last_look_and_nothing_stops() {
    let d = desired("zk:1", "m:1");
    let mut sim = SimCluster::converged(&d, NOW);
    let leader = sim.zk_leader.clone().unwrap();
    let follower = ["h1", "h2", "h3"]
        .into_iter()
        .find(|h| *h != leader)
        .unwrap();
    sim.cut_from_peers(follower);
    let o = sim.observe();
    assert_eq!(
        o.zookeeper.servers[follower].mode,
        Some(ZkMode::Follower),
        "within syncLimit × tickTime the cut-off server still says it follows"
    );
    let bumped = desired("zk:2", "m:1");
    // Planned and carried out within the window, the cut-off voter counted by the plan.
    let out = drive(&mut sim, &bumped, &mut Rng::new(1), Faults::default(), 2).unwrap();
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    assert!(
        sim.last_looks_failed >= 1,
        "the last look let a stop through: {:?}",
        out.trace
    );
    sim.tick(ZK_SYNC_SECS);
    assert_eq!(
        sim.observe().zookeeper.servers[follower].mode,
        Some(ZkMode::Looking)
    );
    // While the cut lasts nothing is stopped below the quorum; once it heals, the bump goes.
    drive(&mut sim, &bumped, &mut Rng::new(2), Faults::default(), 60).unwrap();
    sim.heal_partitions();
    let out = drive(
        &mut sim,
        &bumped,
        &mut Rng::new(3),
        Faults::default(),
        2_000,
    )
    .unwrap();
    assert_eq!(out.last, Decision::Converged);
    sim.matches(&bumped).unwrap();
}

/// A master cut off from the others past its ZooKeeper session has left the replicated
/// log's group, whatever it says of itself: the operator reads the group and does not
/// count it, so a masters bump does not stop a second master while it is away.
#[test]
fn a_master_cut_off_past_its_session_is_seen_out_of_the_log_group_and_not_counted() {
    let d = desired("zk:1", "m:1");
    let mut sim = SimCluster::converged(&d, NOW);
    sim.cut_from_peers("h3");
    sim.tick(ZK_SESSION_SECS);
    let o = sim.observe();
    let m = &o.masters.members["h3"];
    assert!(m.healthy, "it still answers /health");
    assert_eq!(m.in_log_group, Some(false));
    let bumped = desired("zk:1", "m:2");
    let out = drive(&mut sim, &bumped, &mut Rng::new(1), Faults::default(), 300).unwrap();
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    assert!(
        !matches!(out.last, Decision::Converged),
        "converged with a master cut off"
    );
    sim.heal_partitions();
    let out = drive(
        &mut sim,
        &bumped,
        &mut Rng::new(2),
        Faults::default(),
        2_000,
    )
    .unwrap();
    assert_eq!(out.last, Decision::Converged);
    sim.matches(&bumped).unwrap();
}

/// The operator cut off from a host that is fine: the host reads as unreachable, its
/// members go on serving the others (ZooKeeper keeps all three voters, the Mesos leader
/// stays), and once the operator reaches it again nothing needs repairing.
#[test]
fn the_operator_cut_off_from_a_healthy_host_sees_it_away_while_it_serves() {
    let d = desired("zk:1", "m:1");
    let mut sim = SimCluster::converged(&d, NOW);
    let leader = sim.master_leader.clone().unwrap();
    sim.cut_from_operator(&leader);
    let o = sim.observe();
    assert!(matches!(
        o.hosts[&leader],
        HostObservation::Unreachable { .. }
    ));
    assert_eq!(sim.master_leader.as_deref(), Some(leader.as_str()));
    assert!(
        o.masters.leader.is_none(),
        "a leader the operator cannot reach is not confirmed"
    );
    let out = drive(&mut sim, &d, &mut Rng::new(1), Faults::default(), 100).unwrap();
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    assert!(
        !matches!(out.last, Decision::Converged),
        "a host out of sight is not converged"
    );
    assert_eq!(
        sim.serving_voters().len(),
        3,
        "its voter still serves the others"
    );
    sim.heal_partitions();
    let out = drive(&mut sim, &d, &mut Rng::new(2), Faults::default(), 100).unwrap();
    assert_eq!(out.last, Decision::Converged);
    assert_eq!(out.steps, 0, "the host was fine: nothing to repair");
}
