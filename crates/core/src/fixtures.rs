//! Fixtures for the core's unit tests: a document and what the observe layer reports of a
//! cluster running it, built by hand (the model cluster lives in `crates/sim`, which the
//! core cannot use for its own tests).

use std::collections::BTreeMap;

use crate::desired::Desired;
use crate::observed::*;
use crate::spec::{parse_document, Component};

/// A document of three hosts, each running a ZooKeeper server, a master and an agent.
pub(crate) fn three_of_each() -> Desired {
    document(3, 3, &[])
}

/// A document of `hosts` hosts (h1, h2, ... at 10.0.0.N), three ZooKeeper servers, `masters`
/// masters placed on `master_hosts` first (the document's preference list; empty: host
/// order), an agent on every host.
pub(crate) fn document(hosts: usize, masters: u32, master_hosts: &[&str]) -> Desired {
    document_with(hosts, masters, master_hosts, "m:1")
}

/// [`document`] with the masters' image `masters_image`.
pub(crate) fn document_with(
    hosts: usize,
    masters: u32,
    master_hosts: &[&str],
    masters_image: &str,
) -> Desired {
    let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n");
    for i in 1..=hosts {
        y.push_str(&format!(
            "    - {{name: h{i}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///d.sock'}}}}\n"
        ));
    }
    let placement = if master_hosts.is_empty() {
        String::new()
    } else {
        format!(", hosts: [{}]", master_hosts.join(", "))
    };
    y.push_str(&format!("  zookeeper: {{image: zk:1, servers: 3}}\n  masters: {{image: {masters_image}, count: {masters}, acceptRegistryReset: true{placement}}}\n  agents: {{image: a:1}}\n"));
    Desired::from_document(&parse_document(&y).unwrap())
}

/// What the observe layer reports of a cluster running exactly `d`, every member healthy
/// for an hour: ZooKeeper voters numbered from 1 in host order, h1 leading everything.
pub(crate) fn converged_view(d: &Desired, now: u64) -> Observed {
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
                        mode: Some(if id == 1 {
                            ZkMode::Leader
                        } else {
                            ZkMode::Follower
                        }),
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
                in_log_group: Some(true),
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
                Component::Dns | Component::LoadBalancer => {
                    if let Some(svc) = o.service_mut(c) {
                        svc.members
                            .insert(host.clone(), ServiceMember { healthy: true });
                    }
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
