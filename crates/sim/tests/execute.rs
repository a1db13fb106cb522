//! What each operation does to the model, as the real executor and fleet would do it, and
//! what the model judges of it: one test per rule of `src/execute.rs`.

use std::collections::BTreeMap;

use mesos_operator_core::desired::{labels, volume_name, Desired};
use mesos_operator_core::observed::{ContainerState, Maintenance};
use mesos_operator_core::ops::{AgentSeen, Machine, Op};
use mesos_operator_core::plan::Step;
use mesos_operator_core::protocol::Outcome;
use mesos_operator_core::spec::{parse_document, Component};
use mesos_operator_sim::{Cut, Interruptions, OpFailed, Partial, SimCluster};

const NOW: u64 = 1_000_000;

fn desired(drain: bool) -> Desired {
    let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n");
    for i in 1..=4 {
        y.push_str(&format!(
            "    - {{name: h{i}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///d.sock'}}}}\n"
        ));
    }
    y.push_str(&format!(
        "  zookeeper: {{image: zk:1, servers: 3}}\n  masters: {{image: m:1, count: 3}}\n  agents: {{image: a:1}}\n  marathon: {{image: 'mar:1.10.17', instances: 2}}\n  rollout: {{drainAgents: {drain}}}\n"
    ));
    Desired::from_document(&parse_document(&y).unwrap())
}

fn cluster() -> (Desired, SimCluster) {
    let d = desired(false);
    let sim = SimCluster::converged(&d, NOW);
    (d, sim)
}

fn create(d: &Desired, c: Component, host: &str, zk_id: Option<u64>, ensemble: &str) -> Op {
    let mut extra_labels = BTreeMap::new();
    let mut extra_env = BTreeMap::new();
    if let Some(id) = zk_id {
        extra_labels.insert(labels::ZK_ID.to_string(), id.to_string());
        extra_env.insert("ZK_SERVER_ID".to_string(), id.to_string());
        extra_env.insert("ZK_ENSEMBLE".to_string(), ensemble.to_string());
    }
    if c == Component::Masters {
        extra_labels.insert(
            labels::MASTER_QUORUM.to_string(),
            d.master_quorum.to_string(),
        );
    }
    Op::Create {
        host: host.into(),
        spec: d.container(c, host).unwrap().clone(),
        extra_labels,
        extra_env,
        zk_digest_file: false,
    }
}

fn remove(d: &Desired, c: Component, host: &str) -> Op {
    Op::Remove {
        host: host.into(),
        name: d.container(c, host).unwrap().name.clone(),
    }
}

fn machine(host: &str) -> Machine {
    let ip = format!("10.0.0.{}", &host[1..]);
    Machine {
        hostname: ip.clone(),
        ip,
    }
}

fn masters() -> Vec<String> {
    ["10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"]
        .map(String::from)
        .to_vec()
}

/// Create is `ensure_running`: a container of that name with the same config hash is the
/// one a retry finds (409 = done, started if stopped); another hash is a conflict, never
/// replaced here.
#[test]
fn create_is_idempotent_on_the_same_configuration_and_refuses_another() {
    let (d, mut sim) = cluster();
    let op = create(&d, Component::Agents, "h2", None, "");
    let before = sim.hosts["h2"].containers[&Component::Agents].clone();
    assert_eq!(sim.execute(&op), Ok(()));
    assert_eq!(sim.hosts["h2"].containers[&Component::Agents], before);
    sim.hosts
        .get_mut("h2")
        .unwrap()
        .containers
        .get_mut(&Component::Agents)
        .unwrap()
        .state = ContainerState::Exited;
    assert_eq!(sim.execute(&op), Ok(()));
    let c = &sim.hosts["h2"].containers[&Component::Agents];
    assert_eq!((c.state, c.started_at), (ContainerState::Running, NOW));
    let mut op = create(&d, Component::Agents, "h2", None, "");
    if let Op::Create { spec, .. } = &mut op {
        spec.image = "a:2".into();
        spec.config_hash = "another".into();
    }
    assert!(matches!(sim.execute(&op), Err(OpFailed::Conflict { .. })));
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

/// Remove by name: gone already is done (404); it stops and removes the container and
/// keeps its volume. A volume is removed only once no container mounts it (Docker's 409),
/// and a voter's data deleted is a violation.
#[test]
fn remove_keeps_the_volume_and_a_volume_goes_only_once_unmounted() {
    let (d, mut sim) = cluster();
    let volume = volume_name("t", Component::Agents, "h4");
    let rm_volume = Op::RemoveVolume {
        host: "h4".into(),
        volume: volume.clone(),
    };
    assert!(matches!(
        sim.execute(&rm_volume),
        Err(OpFailed::VolumeInUse { .. })
    ));
    assert_eq!(sim.execute(&remove(&d, Component::Agents, "h4")), Ok(()));
    assert!(!sim.hosts["h4"].containers.contains_key(&Component::Agents));
    assert!(sim.hosts["h4"].volumes.contains(&volume));
    assert_eq!(sim.execute(&remove(&d, Component::Agents, "h4")), Ok(()));
    assert_eq!(sim.execute(&rm_volume), Ok(()));
    assert_eq!(sim.execute(&rm_volume), Ok(()));
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    // A voter's data.
    assert_eq!(sim.execute(&remove(&d, Component::Zookeeper, "h3")), Ok(()));
    sim.execute(&Op::RemoveVolume {
        host: "h3".into(),
        volume: volume_name("t", Component::Zookeeper, "h3"),
    })
    .unwrap();
    assert!(
        sim.violations.iter().any(|v| v.contains("data of voter 3")),
        "{:?}",
        sim.violations
    );
}

/// Each operation is judged on its own: removing a voter while another is down costs the
/// quorum at that operation, whatever the step does next (the old step-level check counted
/// the re-created container as serving and saw nothing).
#[test]
fn an_operation_that_costs_zookeeper_its_quorum_is_a_violation_by_itself() {
    let (d, mut sim) = cluster();
    sim.crash(Component::Zookeeper, "h3");
    sim.execute(&remove(&d, Component::Zookeeper, "h2"))
        .unwrap();
    assert!(
        sim.violations
            .iter()
            .any(|v| v.contains("cost ZooKeeper its quorum")),
        "{:?}",
        sim.violations
    );
}

/// A reconfig needs a quorum, counts as done when the change is already committed (the
/// reply of an earlier attempt lost), and is otherwise conditional on the version.
#[test]
fn a_reconfig_is_conditional_on_its_version_unless_already_committed() {
    let (_, mut sim) = cluster();
    let version = sim.zk.as_ref().unwrap().version;
    let leave = |v: u64| Op::ZkReconfig {
        connect: vec!["10.0.0.1:2181".into()],
        joining: None,
        leaving: Some(3),
        expected_version: v,
    };
    assert!(matches!(
        sim.execute(&leave(version - 1)),
        Err(OpFailed::VersionMismatch { .. })
    ));
    assert_eq!(sim.execute(&leave(version)), Ok(()));
    assert_eq!(sim.zk.as_ref().unwrap().version, version + 1);
    // Carried out again with the version it was planned from: already done.
    assert_eq!(sim.execute(&leave(version)), Ok(()));
    // A joiner that does not serve is not made a voter.
    let join = Op::ZkReconfig {
        connect: vec!["10.0.0.1:2181".into()],
        joining: Some("server.4=10.0.0.4:2888:3888:participant;0.0.0.0:2181".into()),
        leaving: None,
        expected_version: version + 1,
    };
    assert_eq!(
        sim.execute(&join),
        Err(OpFailed::JoinerNotServing { id: 4 })
    );
}

/// A server's first start on an empty volume writes its id and reads its first ensemble,
/// which must be the committed voters and itself; a start on a volume that holds another
/// id runs that other server.
#[test]
fn a_zookeeper_server_s_identity_is_decided_at_its_first_start() {
    let (mut d, mut sim) = cluster();
    d = {
        let mut x = d.clone();
        // h4 runs no ZooKeeper server in the document: give it the spec of h3's.
        let mut spec = x.container(Component::Zookeeper, "h3").unwrap().clone();
        spec.host = "h4".into();
        spec.name = "t-zookeeper-h4".into();
        spec.volumes[0].volume = volume_name("t", Component::Zookeeper, "h4");
        x.containers
            .insert((Component::Zookeeper, "h4".into()), spec);
        x
    };
    // A joiner told of only two voters: a split ensemble.
    let op = create(
        &d,
        Component::Zookeeper,
        "h4",
        Some(4),
        "1=10.0.0.1,2=10.0.0.2,4=10.0.0.4",
    );
    sim.execute(&op).unwrap();
    assert_eq!(sim.hosts["h4"].zk_volume_id, Some(4));
    assert!(
        sim.violations.iter().any(|v| v.contains("split ensemble")),
        "{:?}",
        sim.violations
    );
    // The same id again elsewhere: reused.
    sim.violations.clear();
    sim.execute(&remove(&d, Component::Zookeeper, "h4"))
        .unwrap();
    sim.execute(&Op::RemoveVolume {
        host: "h4".into(),
        volume: volume_name("t", Component::Zookeeper, "h4"),
    })
    .unwrap();
    sim.execute(&create(
        &d,
        Component::Zookeeper,
        "h4",
        Some(4),
        "1=10.0.0.1,2=10.0.0.2,3=10.0.0.3,4=10.0.0.4",
    ))
    .unwrap();
    assert!(
        sim.violations.iter().any(|v| v.contains("id 4 reused")),
        "{:?}",
        sim.violations
    );
    // Created again on its own volume with another id: that volume's server runs.
    sim.violations.clear();
    sim.execute(&remove(&d, Component::Zookeeper, "h4"))
        .unwrap();
    sim.execute(&create(&d, Component::Zookeeper, "h4", Some(5), ""))
        .unwrap();
    assert!(
        sim.violations
            .iter()
            .any(|v| v.contains("on a volume holding id 4")),
        "{:?}",
        sim.violations
    );
}

/// Maintenance through the leading master, with the executor's window rules: a machine in
/// a window already is left as it is; a window with another start is someone else's and is
/// neither taken down nor ended; Mesos takes down only a scheduled machine.
#[test]
fn maintenance_calls_follow_the_window_start_rules() {
    let (_, mut sim) = cluster();
    let schedule = |host: &str, start: u64| Op::MaintenanceSchedule {
        masters: masters(),
        machine: machine(host),
        start,
    };
    let down = |host: &str, start: Option<u64>| Op::MachineDown {
        masters: masters(),
        machine: machine(host),
        window_start: start,
    };
    let up = |host: &str, start: Option<u64>| Op::MachineUp {
        masters: masters(),
        machine: machine(host),
        window_start: start,
    };
    assert!(matches!(
        sim.execute(&down("h1", Some(5))),
        Err(OpFailed::NotScheduled { .. })
    ));
    sim.execute(&schedule("h1", 5)).unwrap();
    assert_eq!(sim.windows["h1"], 5);
    sim.execute(&schedule("h1", 9)).unwrap();
    assert_eq!(sim.windows["h1"], 5, "a window already there is kept");
    sim.execute(&down("h1", Some(5))).unwrap();
    assert_eq!(sim.maintenance["h1"], Maintenance::Down);
    sim.execute(&up("h1", Some(5))).unwrap();
    assert!(!sim.maintenance.contains_key("h1"));
    // A person's window.
    sim.tick(10);
    sim.person_opens_window("h2");
    sim.execute(&schedule("h2", 7)).unwrap();
    assert!(matches!(
        sim.execute(&down("h2", Some(7))),
        Err(OpFailed::NotOurWindow { .. })
    ));
    sim.execute(&up("h2", Some(7))).unwrap();
    assert_eq!(sim.maintenance["h2"], Maintenance::Draining);
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    // Without a recorded start (a record from before starts were kept) any window is ended:
    // a person's too, which the model flags.
    sim.execute(&up("h2", None)).unwrap();
    assert!(
        sim.violations.iter().any(|v| v.contains("a person opened")),
        "{:?}",
        sim.violations
    );
    // No leader with its registry: nothing is asked.
    for h in ["h1", "h2", "h3"] {
        sim.lose_host(h);
    }
    assert!(matches!(
        sim.execute(&schedule("h4", 11)),
        Err(OpFailed::NoLeadingMaster { .. })
    ));
}

/// The last looks answer from the model as it is now.
#[test]
fn the_last_looks_are_answered_by_the_model_now() {
    let (_, mut sim) = cluster();
    let look = Op::RequireServing {
        component: Component::Masters,
        stopping: "h1".into(),
        members: vec!["10.0.0.2:5050".into(), "10.0.0.3:5050".into()],
        at_least: 2,
    };
    assert_eq!(sim.execute(&look), Ok(()));
    sim.lose_host("h3");
    assert!(matches!(
        sim.execute(&look),
        Err(OpFailed::NotServing { serving: 1, .. })
    ));
    let agent = Op::RequireAgentOutOfService {
        stopping: "h2".into(),
        agent: "10.0.0.2:5051".into(),
        seen: AgentSeen::NotAnswering,
        masters: vec!["10.0.0.1:5050".into()],
        machine: Machine {
            hostname: "10.0.0.2".into(),
            ip: "10.0.0.2".into(),
        },
    };
    assert!(matches!(
        sim.execute(&agent),
        Err(OpFailed::ServesAgain { .. })
    ));
    sim.crash(Component::Agents, "h2");
    assert_eq!(sim.execute(&agent), Ok(()));
}

/// A step through the protocol: a pull that fails stops it before anything is stopped
/// (the record stays in flight); a failed last look puts the record back; the operator
/// dying inside a removal leaves the container stopped, not removed.
#[test]
fn a_step_s_run_ends_as_the_runtime_s_does() {
    let (d, sim) = cluster();
    let mut bumped = d.clone();
    for ((c, _), spec) in bumped.containers.iter_mut() {
        if *c == Component::Agents {
            spec.image = "a:missing".into();
            spec.config_hash = "other".into();
        }
    }
    let step = Step::ReplaceContainer {
        component: Component::Agents,
        host: "h2".into(),
        reset_registry: false,
    };
    let mut missing = sim.clone();
    missing.missing_images.insert("a:missing".into());
    let run = missing.apply(&bumped, &step).unwrap();
    assert_eq!(run.outcome, Some(Outcome::Failed));
    assert!(matches!(
        run.failed,
        Some((0, OpFailed::ImageMissing { .. }))
    ));
    assert_eq!(
        missing.hosts["h2"].containers[&Component::Agents].state,
        ContainerState::Running
    );
    assert!(missing.record.in_flight.is_some());

    let master = Step::ReplaceContainer {
        component: Component::Masters,
        host: "h1".into(),
        reset_registry: false,
    };
    // Planned from a look where every master served; h2 lost since.
    let seen = sim.observe();
    let mut lost = sim.clone();
    lost.lose_host("h2");
    let before = lost.record.clone();
    let run = lost
        .run_step(&d, &seen, &master, |_| Interruptions::default())
        .unwrap();
    assert_eq!(run.outcome, Some(Outcome::NotTaken), "{run:?}");
    assert_eq!(lost.record, before);
    assert_eq!(lost.last_looks_failed, 1);

    let mut died = sim.clone();
    let run = died
        .apply_cut(&bumped, &step, |ops| {
            let i = ops
                .iter()
                .position(|op| matches!(op, Op::Remove { .. }))
                .unwrap();
            Cut::DiesInside(i, Partial::Stopped)
        })
        .unwrap();
    assert_eq!(run.outcome, None);
    assert_eq!(
        died.hosts["h2"].containers[&Component::Agents].state,
        ContainerState::Exited
    );
    assert!(died.record.in_flight.is_some());
}

/// A Mesos call whose reply is lost took effect, and the step fails there; a reconfig's
/// lost reply is read back by the executor and counts as done.
#[test]
fn a_lost_reply_fails_a_mesos_call_but_not_a_committed_reconfig() {
    let (d, sim) = cluster();
    let drain = Step::AgentDrain { host: "h2".into() };
    let mut s = sim.clone();
    let run = s.apply_cut(&d, &drain, |_| Cut::ReplyLost(0)).unwrap();
    assert_eq!(run.outcome, Some(Outcome::Failed));
    assert_eq!(s.maintenance["h2"], Maintenance::Draining);
    let remove = Step::ZkRemove {
        host: "h3".into(),
        id: 3,
        expected_version: sim.zk.as_ref().unwrap().version,
    };
    let mut s = sim.clone();
    let run = s.apply_cut(&d, &remove, |_| Cut::ReplyLost(0)).unwrap();
    assert_eq!(run.outcome, Some(Outcome::Done), "{run:?}");
    assert!(!s.zk.as_ref().unwrap().voters.contains_key(&3));
}

/// Under drainAgents, an agent that serves is stopped only on a machine that is down.
#[test]
fn stopping_a_serving_agent_outside_maintenance_is_a_violation_under_drain_agents() {
    let d = desired(true);
    let mut sim = SimCluster::converged(&d, NOW);
    sim.execute(&remove(&d, Component::Agents, "h1")).unwrap();
    assert!(
        sim.violations.iter().any(|v| v.contains("drainAgents")),
        "{:?}",
        sim.violations
    );
}
