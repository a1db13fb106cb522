//! One snapshot of a cluster: every host's containers and every component's health,
//! gathered concurrently (at most [`MAX_CONCURRENT_HOSTS`] Docker hosts at once) and turned
//! into the pure [`Observed`] model the planner reads.
//!
//! A host or a component that does not answer within its deadline is recorded as such
//! (unreachable, unhealthy, unknown leader); the snapshot always completes, and a component
//! that runs out of time costs only its own observation.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use mesos_operator_core::observed::*;
use mesos_operator_core::spec::{Component, MesosCluster};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use zookeeper_client as zk;

use crate::docker::{self, HostClient};
use crate::http_auth::HttpAuth;
use crate::probe;
use crate::secrets::SecretSource;

/// Docker hosts queried at once.
pub const MAX_CONCURRENT_HOSTS: usize = 16;
/// Bound on each component's probes (ZooKeeper, masters, agents, Marathon). Components are
/// probed concurrently, each under this deadline of its own, so it also bounds them all
/// together; a component that runs out of time loses only what it had not learnt by then.
pub const PROBES_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Connected clients of a document's hosts; a host that could not be set up keeps its error.
pub struct HostClients {
    /// Host name → client, or why there is none.
    pub hosts: BTreeMap<String, Result<HostClient, String>>,
}

impl HostClients {
    /// The same clients, each counting its requests in `metrics`.
    pub fn counted(self, metrics: &crate::metrics::Metrics) -> HostClients {
        HostClients {
            hosts: self
                .hosts
                .into_iter()
                .map(|(h, c)| (h, c.map(|c| c.counted(metrics.clone()))))
                .collect(),
        }
    }
}

/// Sets up a client for every host of the document (no request is made).
pub async fn connect(doc: &MesosCluster, secrets: &SecretSource) -> HostClients {
    let mut hosts = BTreeMap::new();
    for h in &doc.spec.hosts {
        hosts.insert(
            h.name.clone(),
            docker::connect(h, secrets).await.map_err(|e| e.to_string()),
        );
    }
    HostClients { hosts }
}

/// Observes the cluster once; `auth`: the document's `httpCredentials`, for the masters'
/// and Marathon's APIs (the caller read the secret).
pub async fn observe(doc: &MesosCluster, fleet: &HostClients, auth: Option<&HttpAuth>) -> Observed {
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
                    Ok(seen) => {
                        return (
                            name.clone(),
                            HostObservation::Reachable {
                                containers: seen.containers,
                                volumes: seen.volumes,
                            },
                            seen.zk_volume_id,
                        )
                    }
                    Err(e) => HostObservation::Unreachable {
                        reason: e.to_string(),
                    },
                },
            };
            (name.clone(), obs, None)
        }
    });
    // Containers first: components are then probed only where they should run or where a
    // container of theirs was found, not on every host.
    let seen = futures_util::future::join_all(host_futs).await;
    // The server id each ZooKeeper data volume holds (its id label, written with its
    // `myid`), so that a server is never started on a volume of another id.
    let volume_ids: BTreeMap<String, u64> = seen
        .iter()
        .filter_map(|(h, _, id)| id.map(|id| (h.clone(), id)))
        .collect();
    let hosts: BTreeMap<String, HostObservation> =
        seen.into_iter().map(|(h, o, _)| (h, o)).collect();
    // A deadline per component: however many of them hang, an observation ends within the
    // Docker deadline plus this one, keeping what the others (and answering members) told.
    let ((mut zookeeper, masters, agents, marathon), dns, load_balancer) = tokio::join!(
        probe_components(doc, &hosts, auth),
        probe_discovery(doc, &hosts, Component::Dns),
        probe_discovery(doc, &hosts, Component::LoadBalancer),
    );
    zookeeper.volume_ids = volume_ids;
    Observed {
        hosts,
        zookeeper,
        masters,
        agents,
        marathon,
        dns,
        load_balancer,
        preflight: Default::default(),
    }
}

/// The load balancer's health check (marathon-lb's path): 200 while HAProxy runs.
pub const LOAD_BALANCER_HEALTH_PATH: &str = "/_haproxy_health_check";

/// A discovery component's instances, each by its own probe under [`PROBES_DEADLINE`]: a
/// DNS server serves when its HTTP API names a leading master (`/v1/hosts/leader.<domain>`;
/// it keeps naming the last one it saw while the masters have no leader), a load balancer
/// when its health check answers 200. An instance that does not answer is left out
/// (unknown), one that answers otherwise is unhealthy.
pub async fn probe_discovery(
    doc: &MesosCluster,
    hosts: &BTreeMap<String, HostObservation>,
    c: Component,
) -> ServiceObservation {
    let (port, path) = match (c, &doc.spec.dns, &doc.spec.load_balancer) {
        (Component::Dns, Some(d), _) => (
            d.http_port,
            format!("/v1/hosts/leader.{}", d.domain.trim_end_matches('.')),
        ),
        (Component::LoadBalancer, _, Some(l)) => (l.port, LOAD_BALANCER_HEALTH_PATH.to_string()),
        _ => return ServiceObservation::default(),
    };
    let address: BTreeMap<&str, &str> = doc
        .spec
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.address.as_str()))
        .collect();
    let deadline = Instant::now() + PROBES_DEADLINE;
    let probes = probe_hosts(doc, hosts, c).into_iter().map(|h| {
        let addr = format!(
            "{}:{port}",
            address.get(h.as_str()).copied().unwrap_or_default()
        );
        let path = path.clone();
        by(deadline, None, async move {
            let healthy = if c == Component::Dns {
                let v = probe::get_json(&addr, &path, None).await?;
                v.as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["ip"].as_str().is_some_and(|ip| !ip.is_empty()))
            } else {
                probe::status_of(&addr, &path, None).await? == 200
            };
            Some((h, ServiceMember { healthy }))
        })
    });
    ServiceObservation {
        members: futures_util::future::join_all(probes)
            .await
            .into_iter()
            .flatten()
            .collect(),
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

/// `f`'s output, or `fallback` once `deadline` has passed.
async fn by<T>(deadline: Instant, fallback: T, f: impl Future<Output = T>) -> T {
    tokio::time::timeout_at(deadline, f)
        .await
        .unwrap_or(fallback)
}

/// What every component's probes look up: the document and its addresses.
struct Ctx<'a> {
    doc: &'a MesosCluster,
    hosts: &'a BTreeMap<String, HostObservation>,
    /// Address → host name.
    host_of: BTreeMap<String, String>,
    /// Host name → address (a map, not a scan of the host list per probe).
    address: BTreeMap<&'a str, &'a str>,
    /// The cluster's HTTP credentials, for its own masters, agents and Marathon only.
    auth: Option<&'a HttpAuth>,
}

impl Ctx<'_> {
    /// `address:port` of a host (an unknown host gives `:port`, which nothing answers).
    fn addr(&self, host: &str, port: u32) -> String {
        format!(
            "{}:{port}",
            self.address.get(host).copied().unwrap_or_default()
        )
    }

    /// The host at `ip[:port]`, if it is one of the document's.
    fn host_at(&self, ip_port: &str) -> Option<String> {
        ip_port
            .split(':')
            .next()
            .and_then(|ip| self.host_of.get(ip))
            .cloned()
    }
}

/// The leading master as found: its address and its `/master/state`.
#[derive(Clone)]
struct MasterLeader {
    addr: String,
    state: Arc<Value>,
}

/// Probes the four components (`hosts`: the containers found, which decide where to
/// look) concurrently, each under its own deadline of
/// [`PROBES_DEADLINE`]: a component that runs out of time loses only what it had not learnt
/// yet (members answer each on their own, so those that did are kept). The leading master's
/// state is found once and feeds the masters, the agents (registration, maintenance) and
/// Marathon (its framework); if it is not found in time, they still report their members.
pub async fn probe_components(
    doc: &MesosCluster,
    hosts: &BTreeMap<String, HostObservation>,
    auth: Option<&HttpAuth>,
) -> (
    ZkObservation,
    MastersObservation,
    AgentsObservation,
    MarathonsObservation,
) {
    let deadline = Instant::now() + PROBES_DEADLINE;
    let s = &doc.spec;
    let ctx = Ctx {
        doc,
        hosts,
        host_of: s
            .hosts
            .iter()
            .map(|h| (h.address.clone(), h.name.clone()))
            .collect(),
        address: s
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.address.as_str()))
            .collect(),
        auth,
    };
    // One ZooKeeper session, shared by ZooKeeper's probes and the masters' election nodes.
    let connect = doc
        .zookeeper_hosts()
        .iter()
        .map(|h| format!("{}:{}", h.address, s.zookeeper.client_port))
        .collect::<Vec<_>>()
        .join(",");
    // No ZooKeeper container runs anywhere (a new cluster): nothing can answer, so do not
    // wait out the connection timeout on every observation.
    let zk_running = hosts.values().any(|h| match h {
        HostObservation::Reachable { containers, .. } => containers
            .get(&Component::Zookeeper)
            .is_some_and(|c| c.state == ContainerState::Running),
        HostObservation::Unreachable { .. } => true,
    });
    let zk_client = async move {
        if zk_running {
            probe::zk_connect(&connect).await
        } else {
            None
        }
    }
    .boxed()
    .shared();
    let master_hosts = probe_hosts(doc, hosts, Component::Masters);
    let leader = by(
        deadline,
        None,
        find_master_leader(&ctx, zk_client.clone(), &master_hosts),
    )
    .shared();
    tokio::join!(
        probe_zookeeper(&ctx, zk_client.clone(), deadline),
        probe_masters(
            &ctx,
            &master_hosts,
            zk_client.clone(),
            leader.clone(),
            deadline
        ),
        probe_agents(&ctx, leader.clone(), deadline),
        probe_marathon(&ctx, leader, deadline),
    )
}

/// ZooKeeper: every host that may hold a server (placement may have changed), each on its
/// own, and the committed config through a session.
async fn probe_zookeeper(
    ctx: &Ctx<'_>,
    zk_client: impl Future<Output = Option<zk::Client>>,
    deadline: Instant,
) -> ZkObservation {
    let port = ctx.doc.spec.zookeeper.client_port;
    let zk_hosts = probe_hosts(ctx.doc, ctx.hosts, Component::Zookeeper);
    let servers_fut = futures_util::future::join_all(zk_hosts.iter().map(|h| {
        let addr = ctx.addr(h, port);
        by(deadline, None, async move {
            Some((h.clone(), probe::zk_server(&addr).await))
        })
    }));
    let committed_fut = by(deadline, None, async {
        let c = zk_client.await?;
        probe::zk_committed(&c, &ctx.host_of).await
    });
    let (servers, committed) = tokio::join!(servers_fut, committed_fut);
    let servers: Vec<(String, probe::ZkServerProbe)> = servers.into_iter().flatten().collect();
    // Any server's, even one that is not serving: a version newer than the committed one
    // read means a reconfig is under way or the read came from behind.
    let newest_config_version = servers
        .iter()
        .filter_map(|(_, p)| p.observation.config_version)
        .max();
    let servers: BTreeMap<String, probe::ZkServerProbe> = servers
        .into_iter()
        .filter(|(_, p)| p.observation.ok || p.observation.mode.is_some())
        .collect();
    let server_ids = servers
        .iter()
        .filter_map(|(h, p)| p.server_id.map(|id| (h.clone(), id)))
        .collect();
    let leader = servers
        .iter()
        .find(|(_, p)| p.observation.mode == Some(ZkMode::Leader))
        .map(|(h, _)| h.clone());
    let (committed, voter_addresses) = match committed {
        Some((c, a)) => (Some(c), a),
        None => (None, BTreeMap::new()),
    };
    ZkObservation {
        committed,
        servers: servers
            .into_iter()
            .map(|(h, p)| {
                let mut o = p.observation;
                o.server_id = p.server_id;
                (h, o)
            })
            .collect(),
        leader,
        newest_config_version,
        server_ids,
        voter_addresses,
        volume_ids: BTreeMap::new(),
    }
}

/// The leading master: the one ZooKeeper's lowest `json.info_` node names, with its own
/// `/master/state`; without readable json.info_ nodes (0.22 writes protobuf info_ nodes),
/// the one the masters themselves point at (a non-leader redirects to the leader).
async fn find_master_leader(
    ctx: &Ctx<'_>,
    zk_client: impl Future<Output = Option<zk::Client>>,
    master_hosts: &[String],
) -> Option<MasterLeader> {
    // The cluster's masters, `address:port`: the only places a redirect may lead.
    let port = ctx.doc.spec.masters.port;
    let allowed: BTreeSet<String> = master_hosts.iter().map(|h| ctx.addr(h, port)).collect();
    let from_zk = async {
        let c = zk_client.await?;
        let addr = probe::mesos_leader_from_zk(&c, "/mesos").await?;
        // Anyone may write under /mesos with ZooKeeper's default ACLs: a leader named there
        // is believed only if it is one of this cluster's masters, at its port. Otherwise
        // the masters themselves are asked (below).
        if !allowed.contains(&addr) {
            tracing::warn!(leader = %addr, "ZooKeeper names a Mesos leader that is not one of the cluster's masters; ignored");
            return None;
        }
        let state =
            probe::get_json_capped(&addr, "/master/state", probe::STATE_BODY_LIMIT, ctx.auth)
                .await?;
        Some((addr, state))
    }
    .await;
    let (addr, state) = match from_zk {
        Some(found) => found,
        None => {
            let allowed = &allowed;
            let answers = futures_util::future::join_all(
                allowed
                    .iter()
                    .map(|addr| async move { probe::master_state(addr, allowed, ctx.auth).await }),
            )
            .await;
            answers
                .into_iter()
                .flatten()
                .find(|(from, st)| st["leader"].as_str() == Some(&format!("master@{from}")))?
        }
    };
    // Only a master that says it leads, itself, is the leader whose state the agents',
    // maintenance and Marathon's gates read.
    if state["leader"].as_str() != Some(&format!("master@{addr}")) {
        return None;
    }
    Some(MasterLeader {
        addr,
        state: Arc::new(state),
    })
}

/// Masters: each one's health and metrics; the leader where ZooKeeper's lowest json.info_
/// node and that master's own /master/state agree.
async fn probe_masters(
    ctx: &Ctx<'_>,
    master_hosts: &[String],
    zk_client: impl Future<Output = Option<zk::Client>>,
    leader: impl Future<Output = Option<MasterLeader>>,
    deadline: Instant,
) -> MastersObservation {
    let port = ctx.doc.spec.masters.port;
    let members_fut = futures_util::future::join_all(master_hosts.iter().map(|h| {
        let addr = ctx.addr(h, port);
        by(deadline, None, async move {
            probe::master(&addr, ctx.auth).await.map(|m| (h.clone(), m))
        })
    }));
    // The replicated log's group: a master counts toward the floor only if the others can
    // see it there, not because it answers for itself.
    let group = by(deadline, None, async {
        let c = zk_client.await?;
        probe::log_group(&c, "/mesos").await
    });
    let (members, leader, group) = tokio::join!(members_fut, by(deadline, None, leader), group);
    let members = members.into_iter().flatten().map(|(h, mut m)| {
        m.in_log_group = group.as_ref().map(|g| g.contains(&ctx.addr(&h, port)));
        (h, m)
    });
    let leader = leader
        .filter(|l| l.state["leader"].as_str() == Some(&format!("master@{}", l.addr)))
        .and_then(|l| ctx.host_at(&l.addr));
    MastersObservation {
        members: members.collect(),
        leader,
    }
}

/// Agents: their own /health and /state, and as the leading master lists them.
async fn probe_agents(
    ctx: &Ctx<'_>,
    leader: impl Future<Output = Option<MasterLeader>>,
    deadline: Instant,
) -> AgentsObservation {
    let port = ctx.doc.spec.agents.port;
    let agent_hosts: Vec<String> = ctx
        .doc
        .agent_hosts()
        .into_iter()
        .map(|h| h.name.clone())
        .collect();
    let members_fut = futures_util::future::join_all(agent_hosts.iter().map(|h| {
        let addr = ctx.addr(h, port);
        by(deadline, None, async move {
            let (health, state) = tokio::join!(
                probe::status_of(&addr, "/health", None),
                // An agent's /state is in its readonly realm; the same principal serves.
                probe::status_of(&addr, "/state", ctx.auth)
            );
            health.map(|hs| (h.clone(), hs == 200 && state == Some(200)))
        })
    }));
    // Host → (active, version) as the leader lists them, and maintenance per the leader;
    // each kept as far as it got.
    let from_leader = async {
        let Some(l) = by(deadline, None, leader).await else {
            return (
                BTreeMap::new(),
                (BTreeMap::new(), BTreeMap::new(), false, None),
            );
        };
        let listed: BTreeMap<String, (bool, Option<String>)> = l.state["slaves"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let h = ctx.host_of.get(a["hostname"].as_str()?)?.clone();
                Some((
                    h,
                    (
                        a["active"].as_bool().unwrap_or(false),
                        a["version"].as_str().map(str::to_string),
                    ),
                ))
            })
            .collect();
        // The status says which machines are in maintenance, the schedule which window
        // lists each (its start tells the operator's window from a person's). Both read, or
        // the maintenance is not known (an empty map then means nothing).
        let nothing = (BTreeMap::new(), BTreeMap::new(), false, None);
        let maintenance = by(deadline, nothing, async {
            let (status, schedule) = tokio::join!(
                probe::get_json_or_status(&l.addr, "/master/maintenance/status", ctx.auth),
                // Readwrite realm even for GET (mesos@1.11.0:src/master/master.cpp routes
                // /maintenance/schedule with READWRITE_HTTP_AUTHENTICATION_REALM).
                probe::get_json_or_status(&l.addr, "/master/maintenance/schedule", ctx.auth)
            );
            let refused = [("status", &status), ("schedule", &schedule)]
                .into_iter()
                .find(|(_, r)| matches!(r, Err(Some(401))))
                .map(|(what, _)| {
                    crate::http_auth::unauthorized(
                        &format!("GET http://{}/master/maintenance/{what}", l.addr),
                        ctx.auth,
                    )
                });
            let (status, schedule) = (status.ok(), schedule.ok());
            let host = |hostname: &str, ip: &str| {
                ctx.host_of
                    .get(hostname)
                    .or_else(|| ctx.host_of.get(ip))
                    .cloned()
            };
            let mut maintenance = BTreeMap::new();
            for (hostname, ip, mode) in status.iter().flat_map(probe::parse_maintenance) {
                if let Some(h) = host(&hostname, &ip) {
                    maintenance.insert(h, mode);
                }
            }
            let mut windows = BTreeMap::new();
            for (hostname, ip, start) in schedule.iter().flat_map(probe::parse_windows) {
                if let Some(h) = host(&hostname, &ip) {
                    windows.insert(h, start);
                }
            }
            (
                maintenance,
                windows,
                status.is_some() && schedule.is_some(),
                refused,
            )
        })
        .await;
        (listed, maintenance)
    };
    let (members, (listed, (maintenance, windows, maintenance_read, maintenance_refused))) =
        tokio::join!(members_fut, from_leader);
    let members = members
        .into_iter()
        .flatten()
        .map(|(h, healthy)| {
            let listed = listed.get(&h);
            let m = AgentObservation {
                healthy,
                registered: listed.is_some_and(|(active, _)| *active),
                version: listed.and_then(|(_, v)| v.clone()),
            };
            (h, m)
        })
        .collect();
    AgentsObservation {
        members,
        maintenance,
        windows,
        maintenance_read,
        maintenance_refused,
    }
}

/// Marathon: /ping per instance, the leader from /v2/leader, the framework in the master.
async fn probe_marathon(
    ctx: &Ctx<'_>,
    leader: impl Future<Output = Option<MasterLeader>>,
    deadline: Instant,
) -> MarathonsObservation {
    let Some(m) = &ctx.doc.spec.marathon else {
        return MarathonsObservation::default();
    };
    let port = m.port;
    let all_hosts = probe_hosts(ctx.doc, ctx.hosts, Component::Marathon);
    let instances = async {
        let members = futures_util::future::join_all(all_hosts.iter().map(|h| {
            let addr = ctx.addr(h, port);
            by(deadline, None, async move {
                let (ping, info) = tokio::join!(
                    probe::status_of(&addr, "/ping", ctx.auth),
                    probe::get_json(&addr, "/v2/info", ctx.auth)
                );
                ping.map(|p| {
                    (
                        h.clone(),
                        MarathonObservation {
                            healthy: p == 200,
                            version: info.and_then(|v| v["version"].as_str().map(str::to_string)),
                        },
                    )
                })
            })
        }))
        .await;
        let members: BTreeMap<String, MarathonObservation> =
            members.into_iter().flatten().collect();
        let leader = by(deadline, None, async {
            let answers = futures_util::future::join_all(
                members
                    .iter()
                    .filter(|(_, m)| m.healthy)
                    .map(|(h, _)| ctx.addr(h, port))
                    .map(
                        |addr| async move { probe::get_json(&addr, "/v2/leader", ctx.auth).await },
                    ),
            )
            .await;
            answers.into_iter().flatten().find_map(|v| {
                // Only one of the cluster's Marathon instances, at its port.
                let l = v["leader"].as_str()?;
                all_hosts.iter().find(|h| ctx.addr(h, port) == l).cloned()
            })
        })
        .await;
        (members, leader)
    };
    let registered = by(deadline, false, async {
        leader.await.is_some_and(|l| {
            l.state["frameworks"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| f["name"] == "marathon" && f["active"] == true)
        })
    });
    let ((members, leader), registered) = tokio::join!(instances, registered);
    MarathonsObservation {
        members,
        leader,
        registered,
    }
}
