//! One snapshot of a cluster: every host's containers and every component's health,
//! gathered concurrently (at most [`MAX_CONCURRENT_HOSTS`] Docker hosts at once) and turned
//! into the pure [`Observed`] model the planner reads.
//!
//! A host or a component that does not answer within its deadline is recorded as such
//! (unreachable, unhealthy, unknown leader); the snapshot always completes.

use std::collections::BTreeMap;
use std::sync::Arc;

use mesos_operator_core::observed::*;
use mesos_operator_core::spec::{Component, MesosCluster};
use tokio::sync::Semaphore;

use crate::docker::{self, HostClient};
use crate::probe;
use crate::secrets::SecretSource;

/// Docker hosts queried at once.
pub const MAX_CONCURRENT_HOSTS: usize = 16;
/// Bound on all component probes of one observation together.
pub const PROBES_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Connected clients of a document's hosts; a host that could not be set up keeps its error.
pub struct Fleet {
    /// Host name → client, or why there is none.
    pub hosts: BTreeMap<String, Result<HostClient, String>>,
}

/// Sets up a client for every host of the document (no request is made).
pub async fn connect(doc: &MesosCluster, secrets: &SecretSource) -> Fleet {
    let mut hosts = BTreeMap::new();
    for h in &doc.spec.hosts {
        hosts.insert(
            h.name.clone(),
            docker::connect(h, secrets).await.map_err(|e| e.to_string()),
        );
    }
    Fleet { hosts }
}

/// Observes the cluster once.
pub async fn observe(doc: &MesosCluster, fleet: &Fleet, zk_highest_id: u64) -> Observed {
    let cluster = doc.metadata.name.clone();
    let sem = Arc::new(Semaphore::new(MAX_CONCURRENT_HOSTS));
    let host_futs = fleet.hosts.iter().map(|(name, client)| {
        let sem = sem.clone();
        let cluster = cluster.clone();
        async move {
            let _permit = sem.acquire().await;
            let obs = match client {
                Err(e) => HostObservation::Unreachable { reason: e.clone() },
                Ok(c) => match c.observe(&cluster).await {
                    Ok((containers, volumes)) => HostObservation::Reachable {
                        containers,
                        volumes,
                    },
                    Err(e) => HostObservation::Unreachable {
                        reason: e.to_string(),
                    },
                },
            };
            (name.clone(), obs)
        }
    });
    // Containers first: components are then probed only where they should run or where a
    // container of theirs was found, not on every host.
    let hosts: BTreeMap<String, HostObservation> = futures_util::future::join_all(host_futs)
        .await
        .into_iter()
        .collect();
    // One deadline for all component probes: however many of them hang, an observation
    // ends within the Docker deadline plus this one, with what was learnt marked unknown.
    let (zookeeper, masters, agents, marathon) =
        tokio::time::timeout(PROBES_DEADLINE, probe_components(doc, &hosts))
            .await
            .unwrap_or_default();
    Observed {
        hosts,
        zookeeper,
        masters,
        agents,
        marathon,
        zk_highest_id,
        in_flight: None,
    }
}

/// Hosts to probe for a component: where the document places it and where it was found.
fn probe_hosts(
    doc: &MesosCluster,
    hosts: &BTreeMap<String, HostObservation>,
    c: Component,
) -> Vec<String> {
    let mut v: std::collections::BTreeSet<String> = doc
        .component_hosts(c)
        .into_iter()
        .map(|h| h.name.clone())
        .collect();
    for (name, h) in hosts {
        if let HostObservation::Reachable { containers, .. } = h {
            if containers.contains_key(&c) {
                v.insert(name.clone());
            }
        }
    }
    v.into_iter().collect()
}

async fn probe_components(
    doc: &MesosCluster,
    hosts: &BTreeMap<String, HostObservation>,
) -> (
    ZkObservation,
    MastersObservation,
    AgentsObservation,
    MarathonsObservation,
) {
    let s = &doc.spec;
    let host_of: BTreeMap<String, String> = s
        .hosts
        .iter()
        .map(|h| (h.address.clone(), h.name.clone()))
        .collect();
    // Looked up per probe: a map, not a scan of the host list each time.
    let address: BTreeMap<&str, &str> = s
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.address.as_str()))
        .collect();
    let addr_of = |name: &str| address.get(name).copied().unwrap_or_default().to_string();
    // ZooKeeper: every host that may hold a server (placement may have changed).
    let zk_port = s.zookeeper.client_port;
    let zk_hosts = probe_hosts(doc, hosts, Component::Zookeeper);
    let connect = doc
        .zookeeper_hosts()
        .iter()
        .map(|h| format!("{}:{zk_port}", h.address))
        .collect::<Vec<_>>()
        .join(",");
    let zk_client = probe::zk_connect(&connect).await;
    let servers_fut = futures_util::future::join_all(zk_hosts.iter().map(|h| {
        let addr = format!("{}:{zk_port}", addr_of(h));
        async move { (h.clone(), probe::zk_server(&addr).await) }
    }));
    let committed_fut = async {
        match &zk_client {
            Some(c) => probe::zk_committed(c, &host_of).await,
            None => None,
        }
    };
    let mesos_leader_fut = async {
        match &zk_client {
            Some(c) => probe::mesos_leader_from_zk(c, "/mesos").await,
            None => None,
        }
    };
    let (servers, committed, zk_leader_addr) =
        tokio::join!(servers_fut, committed_fut, mesos_leader_fut);
    let servers: BTreeMap<String, ZkServerObservation> = servers
        .into_iter()
        .filter(|(_, s)| s.ok || s.mode.is_some())
        .collect();
    let zk_leader = servers
        .iter()
        .find(|(_, s)| s.mode == Some(ZkMode::Leader))
        .map(|(h, _)| h.clone());
    // Servers not serving the committed config do not count as having it.
    let zookeeper = ZkObservation {
        committed,
        servers,
        leader: zk_leader,
    };

    // Masters: each one's health and metrics; the leader where ZooKeeper's lowest
    // json.info_ node and that master's own /master/state agree.
    let mport = s.masters.port;
    let master_hosts = probe_hosts(doc, hosts, Component::Masters);
    let members = futures_util::future::join_all(master_hosts.iter().map(|h| {
        let addr = format!("{}:{mport}", addr_of(h));
        async move {
            let (health, metrics, version) = tokio::join!(
                probe::status_of(&addr, "/health"),
                probe::get_json(&addr, "/metrics/snapshot"),
                probe::get_json(&addr, "/version")
            );
            let present = health.is_some();
            let m = MasterObservation {
                healthy: health == Some(200),
                elected: metrics
                    .as_ref()
                    .is_some_and(|v| probe::num(&v["master/elected"]) == 1.0),
                recovered: metrics
                    .as_ref()
                    .is_some_and(|v| probe::num(&v["registrar/log/recovered"]) == 1.0),
                version: version.and_then(|v| v["version"].as_str().map(str::to_string)),
            };
            (h.clone(), present.then_some(m))
        }
    }))
    .await;
    let members: BTreeMap<String, MasterObservation> = members
        .into_iter()
        .filter_map(|(h, m)| m.map(|m| (h, m)))
        .collect();
    let leader_state = match &zk_leader_addr {
        Some(addr) => probe::get_json(addr, "/master/state").await,
        None => None,
    };
    // Without readable json.info_ nodes (0.22 writes protobuf info_ nodes), ask the masters
    // themselves: a non-leader redirects to the leader.
    let (zk_leader_addr, leader_state) = match (zk_leader_addr, leader_state) {
        (Some(a), Some(st)) => (Some(a), Some(st)),
        _ => {
            let answers = futures_util::future::join_all(master_hosts.iter().map(|h| {
                let addr = format!("{}:{mport}", addr_of(h));
                async move { probe::master_state(&addr).await }
            }))
            .await;
            answers
                .into_iter()
                .flatten()
                .find(|(from, st)| st["leader"].as_str() == Some(&format!("master@{from}")))
                .map(|(a, st)| (Some(a), Some(st)))
                .unwrap_or((None, None))
        }
    };
    let leader = match (&zk_leader_addr, &leader_state) {
        (Some(addr), Some(st)) if st["leader"].as_str() == Some(&format!("master@{addr}")) => addr
            .split(':')
            .next()
            .and_then(|ip| host_of.get(ip))
            .cloned(),
        _ => None,
    };
    let masters = MastersObservation {
        members,
        leader: leader.clone(),
    };

    // Agents: as the leading master lists them, plus their own /health and /state.
    let aport = s.agents.port;
    let listed: BTreeMap<String, (bool, Option<String>)> = leader_state
        .as_ref()
        .and_then(|st| st["slaves"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| {
            let h = host_of.get(a["hostname"].as_str()?)?.clone();
            Some((
                h,
                (
                    a["active"].as_bool().unwrap_or(false),
                    a["version"].as_str().map(str::to_string),
                ),
            ))
        })
        .collect();
    let agent_members = futures_util::future::join_all(doc.agent_hosts().into_iter().map(|h| {
        let addr = format!("{}:{aport}", h.address);
        let name = h.name.clone();
        let listed = listed.get(&name).cloned();
        async move {
            let (health, state) = tokio::join!(
                probe::status_of(&addr, "/health"),
                probe::status_of(&addr, "/state")
            );
            health.map(|hs| {
                (
                    name,
                    AgentObservation {
                        healthy: hs == 200 && state == Some(200),
                        registered: listed.as_ref().is_some_and(|(active, _)| *active),
                        version: listed.and_then(|(_, v)| v),
                    },
                )
            })
        }
    }))
    .await;
    let mut maintenance = BTreeMap::new();
    if let Some(addr) = &zk_leader_addr {
        if let Some(v) = probe::get_json(addr, "/master/maintenance/status").await {
            for (hostname, ip, mode) in probe::parse_maintenance(&v) {
                if let Some(h) = host_of.get(&hostname).or_else(|| host_of.get(&ip)) {
                    maintenance.insert(h.clone(), mode);
                }
            }
        }
    }
    let agents = AgentsObservation {
        members: agent_members.into_iter().flatten().collect(),
        maintenance,
    };

    // Marathon: /ping per instance, the leader from /v2/leader, the framework in the master.
    let marathon = match &s.marathon {
        None => MarathonsObservation::default(),
        Some(m) => {
            let port = m.port;
            let all_hosts = probe_hosts(doc, hosts, Component::Marathon);
            let members = futures_util::future::join_all(all_hosts.iter().map(|h| {
                let addr = format!("{}:{port}", addr_of(h));
                async move {
                    let (ping, info) = tokio::join!(
                        probe::status_of(&addr, "/ping"),
                        probe::get_json(&addr, "/v2/info")
                    );
                    ping.map(|p| {
                        (
                            h.clone(),
                            MarathonObservation {
                                healthy: p == 200,
                                version: info
                                    .and_then(|v| v["version"].as_str().map(str::to_string)),
                            },
                        )
                    })
                }
            }))
            .await;
            let members: BTreeMap<String, MarathonObservation> =
                members.into_iter().flatten().collect();
            let answers = futures_util::future::join_all(
                members.iter().filter(|(_, m)| m.healthy).map(|(h, _)| {
                    let addr = format!("{}:{port}", addr_of(h));
                    async move { probe::get_json(&addr, "/v2/leader").await }
                }),
            )
            .await;
            let leader = answers.into_iter().flatten().find_map(|v| {
                v["leader"]
                    .as_str()
                    .and_then(|l| l.split(':').next())
                    .and_then(|ip| host_of.get(ip))
                    .cloned()
            });
            let registered = leader_state
                .as_ref()
                .and_then(|st| st["frameworks"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .any(|f| f["name"] == "marathon" && f["active"] == true);
            MarathonsObservation {
                members,
                leader,
                registered,
            }
        }
    };
    (zookeeper, masters, agents, marathon)
}
