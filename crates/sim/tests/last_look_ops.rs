//! The operations of a step that stops a serving member begin with the executor's last look
//! (moved here from the core's `ops.rs` tests: they need the model for a converged view).

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{ContainerState, HostObservation, Observed};
use mesos_operator_core::ops::{ops, Op, OpsError};
use mesos_operator_core::plan::Step;
use mesos_operator_core::record::Recorded;
use mesos_operator_core::spec::{parse_document, Component};
use mesos_operator_sim::SimCluster;

/// The operations of `step` for a cluster with nothing recorded, planned at time 0.
fn plain(d: &Desired, o: &Observed, step: &Step, zk_digest: bool) -> Result<Vec<Op>, OpsError> {
    ops(d, o, step, zk_digest, &Recorded::default(), 0)
}

fn seed() -> Desired {
    Desired::from_document(
        &parse_document(include_str!("../../../manifests/examples/cluster7.yaml")).unwrap(),
    )
}

/// Stopping a serving master or ZooKeeper voter is preceded by a last look at the
/// members the plan counted on, after the pull (which may take long) and right before
/// the stop; the quorum asked for is the one the plan kept.
#[test]
fn a_stop_of_a_serving_master_or_voter_is_preceded_by_a_last_look() {
    let d = seed();
    let sim = SimCluster::converged(&d, 1_000_000);
    let o = sim.observe();
    let kinds = |step: &Step| -> Vec<&str> {
        plain(&d, &o, step, false)
            .unwrap()
            .iter()
            .map(Op::kind)
            .collect()
    };
    let replace = |c| Step::ReplaceContainer {
        component: c,
        host: "host1".into(),
        reset_registry: false,
    };
    assert_eq!(
        kinds(&replace(Component::Masters)),
        ["pull", "require-serving", "remove", "create"]
    );
    assert_eq!(
        kinds(&replace(Component::Zookeeper)),
        ["pull", "require-serving", "remove", "create"]
    );
    let remove = Step::RemoveContainer {
        component: Component::Masters,
        host: "host1".into(),
        remove_volume: true,
    };
    assert_eq!(
        kinds(&remove),
        ["require-serving", "remove", "remove-volume"]
    );
    // Agents and Marathon stop no quorum.
    assert_eq!(
        kinds(&replace(Component::Agents)),
        ["pull", "remove", "create"]
    );
    let look = plain(&d, &o, &replace(Component::Masters), false).unwrap()[1].clone();
    assert_eq!(
        look,
        Op::RequireServing {
            component: Component::Masters,
            stopping: "host1".into(),
            members: vec!["10.20.30.3:5050".into(), "10.20.30.4:5050".into()],
            at_least: 2,
        }
    );
    let Op::RequireServing {
        members, at_least, ..
    } = &plain(&d, &o, &replace(Component::Zookeeper), false).unwrap()[1]
    else {
        panic!()
    };
    assert_eq!(members, &["10.20.30.3:2181", "10.20.30.4:2181"]);
    assert_eq!(*at_least, 2);
}

/// The look asks for no more than the plan saw: a member already down when it was
/// planned (the rules allowed it) does not fail it, and a stopped member gets none.
#[test]
fn the_last_look_asks_only_for_what_the_plan_counted_on() {
    let d = seed();
    let sim = SimCluster::converged(&d, 1_000_000);
    let mut o = sim.observe();
    o.masters.members.get_mut("host3").unwrap().recovered = false;
    let step = Step::ReplaceContainer {
        component: Component::Masters,
        host: "host1".into(),
        reset_registry: false,
    };
    let v = plain(&d, &o, &step, false).unwrap();
    assert!(
        matches!(&v[1], Op::RequireServing { members, at_least: 1, .. } if members == &["10.20.30.3:5050"]),
        "{v:?}"
    );
    if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut("host1") {
        containers.get_mut(&Component::Masters).unwrap().state = ContainerState::Exited;
    }
    let kinds: Vec<&str> = plain(&d, &o, &step, false)
        .unwrap()
        .iter()
        .map(Op::kind)
        .collect();
    assert_eq!(kinds, ["pull", "remove", "create"]);
}
