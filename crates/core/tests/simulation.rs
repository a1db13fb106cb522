//! Simulation: the planner drives a model cluster through the scenarios of the planner
//! issue, with crashes, operator deaths half-way through steps, lost hosts and broken
//! images. After every transition the step is checked against the invariants and the model
//! checks its own safety record; every scenario without a permanent fault must converge.
//!
//! `SIM_SEEDS=N` runs N random seeds (default 300 per randomized test); a failing seed is
//! printed, and `SIM_SEED=S` replays exactly that one.

use mesos_operator_core::desired::Desired;
use mesos_operator_core::plan::{BlockKind, Decision};
use mesos_operator_core::sim::{drive, Faults, Rng, SimCluster};
use mesos_operator_core::spec::{parse_document, Component, MesosCluster};

fn doc(hosts: usize, zk: u32, masters: u32, marathon: u32) -> MesosCluster {
    let mut y = String::from(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: sim, generation: 1}\nspec:\n  hosts:\n",
    );
    for i in 1..=hosts {
        y.push_str(&format!(
            "    - {{name: h{i:02}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///var/run/docker.sock'}}}}\n"
        ));
    }
    y.push_str(&format!(
        "  zookeeper: {{image: zookeeper:3.8.0, servers: {zk}}}\n  masters: {{image: mesos-master:1.11.0, count: {masters}, acceptRegistryReset: true}}\n  agents: {{image: mesos-agent:1.11.0}}\n  rollout: {{healthTimeout: 60s}}\n"
    ));
    if marathon > 0 {
        y.push_str(&format!(
            "  marathon: {{image: marathon:1.10.17, instances: {marathon}}}\n"
        ));
    }
    let d = parse_document(&y).unwrap();
    mesos_operator_core::spec::validate(&d, None).unwrap();
    d
}

fn fleet(hosts: usize) -> SimCluster {
    let names: Vec<String> = (1..=hosts).map(|i| format!("h{i:02}")).collect();
    SimCluster::new("sim", &names, 1_700_000_000)
}

/// Drives to convergence with the given faults and checks the model matches the spec.
fn converge(sim: &mut SimCluster, d: &MesosCluster, rng: &mut Rng, faults: Faults) -> usize {
    let desired = Desired::from_document(d);
    let out = drive(sim, &desired, rng, faults, 20_000).unwrap_or_else(|e| panic!("{e}"));
    if faults.crash_percent > 0 {
        // Let it settle without new faults.
        let out2 =
            drive(sim, &desired, rng, Faults::default(), 20_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out2.last,
            Decision::Converged,
            "did not converge after faults stopped"
        );
        sim.matches(&desired).unwrap();
        return out.transitions + out2.transitions;
    }
    assert_eq!(out.last, Decision::Converged, "did not converge");
    sim.matches(&desired).unwrap();
    out.transitions
}

#[test]
fn bootstrap_from_nothing() {
    let mut sim = fleet(5);
    let d = doc(5, 3, 3, 1);
    converge(&mut sim, &d, &mut Rng::new(1), Faults::default());
    let voters = sim.zk.as_ref().unwrap().voters.len();
    assert_eq!(voters, 3);
}
