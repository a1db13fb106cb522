//! Unit tests of the planner's internals. The rules of `shared/design/safety.md`, each on a
//! small cluster brought to convergence by the model, are tested in the model's crate
//! (`crates/sim/tests/plan_rules.rs`): the model depends on this crate, so its tests cannot
//! live here.

#[test]
fn a_pinned_digest_is_not_read_as_marathon_s_version() {
    // Digest pinning writes `tag@sha256:…`; the downgrade guard must still see the tag.
    let pinned = format!("reg:5000/marathon:1.10.26@sha256:{}", "ab".repeat(32));
    assert_eq!(super::marathon::tag_version(&pinned), Some(vec![1, 10, 26]));
    assert_eq!(
        super::marathon::tag_version("marathon:1.10.17"),
        Some(vec![1, 10, 17])
    );
}

use std::collections::BTreeMap;

use super::{plan, Decision, Step};
use crate::desired::Desired;
use crate::observed::*;
use crate::record::{note_observed, record_before, Recorded};
use crate::spec::{parse_document, Component};

/// A document of three hosts, each running a ZooKeeper server, a master and an agent.
fn three_of_each() -> Desired {
    let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n");
    for i in 1..=3 {
        y.push_str(&format!(
            "    - {{name: h{i}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///d.sock'}}}}\n"
        ));
    }
    y.push_str("  zookeeper: {image: zk:1, servers: 3}\n  masters: {image: m:1, count: 3, acceptRegistryReset: true}\n  agents: {image: a:1}\n");
    Desired::from_document(&parse_document(&y).unwrap())
}

/// What the observe layer reports of a cluster running exactly `d`, every member healthy
/// for an hour: ZooKeeper voters numbered from 1 in host order, h1 leading everything.
fn converged_view(d: &Desired, now: u64) -> Observed {
    let mut o = Observed::default();
    let mut voters = BTreeMap::new();
    for host in d.addresses.keys() {
        let mut containers = BTreeMap::new();
        let mut volumes = Vec::new();
        for c in Component::ALL {
            let Some(spec) = d.container(c, host) else {
                continue;
            };
            let zk_id = (c == Component::Zookeeper).then(|| voters.len() as u64 + 1);
            if let Some(id) = zk_id {
                voters.insert(id, host.clone());
                o.zookeeper.volume_ids.insert(host.clone(), id);
                o.zookeeper.servers.insert(
                    host.clone(),
                    ZkServerObservation {
                        ok: true,
                        mode: Some(if id == 1 { ZkMode::Leader } else { ZkMode::Follower }),
                        config_version: Some(0x1_0000_0000),
                        server_id: Some(id),
                    },
                );
            }
            let healthy_master = MasterObservation {
                healthy: true,
                elected: host == "h1",
                recovered: true,
                version: None,
            };
            match c {
                Component::Masters => {
                    o.masters.members.insert(host.clone(), healthy_master);
                }
                Component::Agents => {
                    o.agents.members.insert(
                        host.clone(),
                        AgentObservation {
                            healthy: true,
                            registered: true,
                            version: None,
                        },
                    );
                }
                _ => {}
            }
            volumes.extend(spec.volumes.iter().map(|v| v.volume.clone()));
            containers.insert(
                c,
                ObservedContainer {
                    name: spec.name.clone(),
                    component: c,
                    host: host.clone(),
                    image: spec.image.clone(),
                    config_hash: spec.config_hash.clone(),
                    state: ContainerState::Running,
                    started_at: now - 3600,
                    zk_id,
                    master_quorum: (c == Component::Masters).then_some(d.master_quorum),
                    detail: ContainerDetail::default(),
                },
            );
        }
        o.hosts.insert(
            host.clone(),
            HostObservation::Reachable {
                containers,
                volumes,
            },
        );
    }
    o.zookeeper.committed = Some(ZkConfig {
        version: 0x1_0000_0000,
        voters,
    });
    o.zookeeper.leader = Some("h1".into());
    o.masters.leader = Some("h1".into());
    o.agents.maintenance_read = true;
    o
}

/// Found by the model once it cut steps between their operations (issue 21): a registry
/// reset ran to its end (old master removed, log wiped, new master created with quorum 2)
/// and the operator died before it wrote the record after it. The reset stayed recorded,
/// and when that master's container later went missing (removed by hand) the planner
/// "finished" the reset: it wiped a log that was already a voting replica of the new
/// quorum. The next look that sees the host's master on a quorum above 1 retires it: only
/// the reset's own creation puts such a master there.
#[test]
fn a_registry_reset_whose_last_record_write_was_lost_is_retired_by_the_next_look() {
    let d = three_of_each();
    let now = 1_000_000;
    let view = converged_view(&d, now);
    let mut recorded = Recorded::new_cluster();
    recorded.zk_highest_id = Some(3);
    let reset = Step::ReplaceContainer {
        component: Component::Masters,
        host: "h1".into(),
        reset_registry: true,
    };
    // Written before the reset's first operation; the one after it was lost.
    let in_flight = record_before(&reset, &recorded, now - 30);
    let seen = note_observed(&in_flight, &d.name, &view, now);
    assert!(
        seen.registry_reset.is_empty(),
        "a reset whose new master runs stays recorded: {:?}",
        seen.registry_reset
    );
    // Later the master's container on h1 is gone; its volume (a voting replica) stays.
    let mut gone = view.clone();
    if let Some(HostObservation::Reachable { containers, .. }) = gone.hosts.get_mut("h1") {
        containers.remove(&Component::Masters);
    }
    gone.masters.members.remove("h1");
    gone.masters.leader = Some("h2".into());
    let later = note_observed(&seen, &d.name, &gone, now + 60);
    let decision = plan(&d, &gone, &later, now + 60);
    assert!(
        matches!(
            decision.step(),
            Some(Step::CreateContainer {
                component: Component::Masters,
                host,
            }) if host == "h1"
        ),
        "the master is created again on its volume, its log kept: {decision:?}"
    );
    assert!(!matches!(decision, Decision::Blocked { .. }));
}
