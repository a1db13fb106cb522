//! The last look before a serving member is stopped ([`Op::RequireServing`]): the members
//! the plan counted on are asked again, directly and all at once, right before the stop.
//! The plan was made from an observation that may be seconds old; if a member was lost
//! since, the step fails here, before anything is stopped, and the next reconcile plans
//! from what is true now. This narrows the window of a concurrent failure from the age of
//! the observation to the length of this look (each probe has [`crate::probe::PROBE_TIMEOUT`]).

use std::time::Duration;

use mesos_operator_core::ops::Op;
use mesos_operator_core::spec::Component;
use zookeeper_client as zk;

use super::ActError;
use crate::http_auth::HttpAuth;
use crate::probe;
use crate::secrets::Secret;

/// The node a quorum write creates (ephemeral and sequential: it goes with the session,
/// and two looks never collide).
const QUORUM_CHECK: &str = "/mesos-operator-quorum-check-";

/// Deadline of one quorum write through one member: connecting, and a create that the
/// ensemble's quorum must commit.
const QUORUM_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a write commits through the ZooKeeper server at `addr` alone: a server cut off
/// from the other voters still answers `ruok` and `srvr` with its old mode for up to
/// syncLimit × tickTime, and so does a leader left in a minority; neither can commit a
/// write. A count of members that say they serve is not a quorum; this is.
async fn commits_through(addr: &str, auth: Option<&Secret>) -> bool {
    let write = async {
        let mut c = zk::Client::connector()
            .with_session_timeout(QUORUM_WRITE_TIMEOUT)
            .with_connection_timeout(probe::PROBE_TIMEOUT);
        if let Some(s) = auth {
            c = c.with_auth("digest", super::zk_auth::credential(s).ok()?.as_bytes());
        }
        let client = c.connect(addr).await.ok()?;
        let options = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        let (_, seq) = client.create(QUORUM_CHECK, b"", &options).await.ok()?;
        // Gone with the session anyway; removed now so that nothing lingers.
        let _ = client.delete(&format!("{QUORUM_CHECK}{seq}"), None).await;
        Some(())
    };
    tokio::time::timeout(QUORUM_WRITE_TIMEOUT, write)
        .await
        .ok()
        .flatten()
        .is_some()
}

/// Whether the member at `addr` serves, read by the observation's own probes and judged by
/// the same standard the plan used (a master healthy with its log replica recovered; a
/// ZooKeeper server answering `imok` and leading or following).
async fn serves(
    component: Component,
    addr: &str,
    zk_auth: Option<&Secret>,
    http_auth: Option<&HttpAuth>,
) -> bool {
    match component {
        Component::Masters => probe::master(addr, http_auth)
            .await
            .is_some_and(|m| m.serves()),
        Component::Zookeeper => {
            probe::zk_server(addr).await.observation.serves()
                && commits_through(addr, zk_auth).await
        }
        // A DNS server's HTTP API (its records are served by the same process), a load
        // balancer's health check.
        Component::Dns => probe::status_of(addr, "/v1/version", None).await == Some(200),
        Component::LoadBalancer => {
            probe::status_of(addr, crate::observe::LOAD_BALANCER_HEALTH_PATH, None).await
                == Some(200)
        }
        // No last look is defined for the others: not proven to serve, so nothing is
        // stopped on the strength of them.
        Component::Agents | Component::Marathon => false,
    }
}

/// Carries out an [`Op::RequireServing`]; any other operation is not this module's. A
/// ZooKeeper member counts only if a write commits through it (`zk_auth`: the cluster's
/// digest super user, when it has one); a master is read with `http_auth` (the cluster's
/// `httpCredentials`), as the observation reads it.
pub(super) async fn require(
    op: &Op,
    zk_auth: Option<&Secret>,
    http_auth: Option<&HttpAuth>,
) -> Result<(), ActError> {
    let Op::RequireServing {
        component,
        stopping,
        members,
        at_least,
    } = op
    else {
        return Err(ActError::Misrouted {
            op: op.kind(),
            module: "last look (serving)",
        });
    };
    let answers = futures_util::future::join_all(
        members
            .iter()
            .map(|m| serves(*component, m, zk_auth, http_auth)),
    )
    .await;
    let serving = answers.iter().filter(|ok| **ok).count() as u32;
    if serving >= *at_least {
        return Ok(());
    }
    let down = members
        .iter()
        .zip(&answers)
        .filter(|(_, ok)| !**ok)
        .map(|(m, _)| m.clone())
        .collect();
    Err(ActError::NotServing {
        role: component.role(),
        stopping: stopping.clone(),
        serving,
        members: members.len(),
        at_least: *at_least,
        down,
    })
}

/// Carries out an [`Op::RequireAgentOutOfService`]: the agent the plan saw out of service
/// must still be out of service before it is stopped without its drain. Listed active by
/// the leading master, it serves. Seen not answering, an answer now means it may serve (it
/// was restarting). Seen answering but unlisted (a repair restart), only the leader's
/// listing tells, and a listing that cannot be read is no proof: the step waits for one.
/// The probe and the listing are asked at once.
pub(super) async fn require_out_of_service(
    api: super::mesos::Api<'_>,
    op: &Op,
) -> Result<(), ActError> {
    let Op::RequireAgentOutOfService {
        stopping,
        agent,
        seen,
        masters,
        machine,
    } = op
    else {
        return Err(ActError::Misrouted {
            op: op.kind(),
            module: "last look (out of service)",
        });
    };
    let (health, listed) = tokio::join!(
        probe::status_of(agent, "/health", None),
        super::mesos::listed_active(api, masters, machine)
    );
    let sign = seen.serves_again(health == Some(200), listed);
    match sign {
        Some(sign) => Err(ActError::ServesAgain {
            stopping: stopping.clone(),
            agent: agent.clone(),
            sign,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_operator_core::ops::AgentSeen;
    use std::net::TcpListener as StdListener;

    /// A port on loopback where nothing listens.
    fn closed_port() -> String {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap().to_string();
        drop(l);
        a
    }

    /// A master that answers /health and reports its log recovered (or not).
    async fn master(recovered: bool) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let metrics = format!(
            "{{\"master/elected\": 0, \"registrar/log/recovered\": {}}}",
            u8::from(recovered)
        );
        let app = axum::Router::new()
            .route("/health", axum::routing::get(|| async { "" }))
            .route(
                "/metrics/snapshot",
                axum::routing::get(move || {
                    let m = metrics.clone();
                    async move { m }
                }),
            );
        tokio::spawn(async move { axum::serve(l, app).await });
        addr
    }

    fn op(members: Vec<String>, at_least: u32) -> Op {
        Op::RequireServing {
            component: Component::Masters,
            stopping: "h3".into(),
            members,
            at_least,
        }
    }

    #[tokio::test]
    async fn a_master_lost_since_the_plan_stops_the_step_before_anything_is_stopped() {
        let up = master(true).await;
        let lost = closed_port();
        // Both were healthy when the plan was made; quorum 2 needs both.
        let err = require(&op(vec![up.clone(), lost.clone()], 2), None, None)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ActError::NotServing { serving: 1, .. }),
            "{msg}"
        );
        assert!(msg.contains("only 1 of the other 2"), "{msg}");
        assert!(
            msg.contains(&lost) && !msg.contains(&format!("{up},")),
            "{msg}"
        );
        // With one to spare the step goes on.
        require(&op(vec![up, lost], 1), None, None).await.unwrap();
    }

    /// A leading master that lists the agent on `10.9.9.9` active (or not).
    async fn leader_listing(active: bool) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let body = format!(
            "{{\"slaves\": [{{\"hostname\": \"10.9.9.9\", \"active\": {active}}}, {{\"hostname\": \"10.9.9.8\", \"active\": true}}], \"recovered_slaves\": []}}"
        );
        let app = axum::Router::new().route(
            "/master/slaves",
            axum::routing::get(move || {
                let b = body.clone();
                async move { b }
            }),
        );
        tokio::spawn(async move { axum::serve(l, app).await });
        addr
    }

    async fn look(seen: AgentSeen, agent: String, masters: Vec<String>) -> Result<(), ActError> {
        let client = super::super::http_client().unwrap();
        let api = super::super::mesos::Api {
            client: &client,
            auth: None,
        };
        let op = Op::RequireAgentOutOfService {
            stopping: "h2".into(),
            agent,
            seen,
            masters,
            machine: mesos_operator_core::ops::Machine {
                hostname: "10.9.9.9".into(),
                ip: "10.9.9.9".into(),
            },
        };
        require_out_of_service(api, &op).await
    }

    /// An agent seen out of service that answers `/health` again is not stopped without
    /// its drain; one that still does not answer is, unless the leader lists it active.
    #[tokio::test]
    async fn an_agent_answering_again_is_not_stopped_without_its_drain() {
        let back = master(true).await; // answers /health like an agent
        let unlisted = leader_listing(false).await;
        let err = look(
            AgentSeen::NotAnswering,
            back.clone(),
            vec![unlisted.clone()],
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ActError::ServesAgain { .. }), "{err}");
        assert!(err.to_string().contains("drained first"), "{err}");
        look(AgentSeen::NotAnswering, closed_port(), vec![unlisted])
            .await
            .unwrap();
        // No master answers: one that does not answer either is still out of service.
        look(AgentSeen::NotAnswering, closed_port(), vec![closed_port()])
            .await
            .unwrap();
        let listed = leader_listing(true).await;
        let err = look(AgentSeen::NotAnswering, closed_port(), vec![listed])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("lists it active"), "{err}");
    }

    /// An agent restarted as a repair because the leader did not list it is not restarted
    /// once the leader lists it again (a partition healed since the plan's view), nor while
    /// no master answers with the listing; it is while the leader still leaves it out. The
    /// simulation's seeds 5503 and 10357 restarted it without its drain.
    #[tokio::test]
    async fn an_unlisted_agent_listed_again_is_not_restarted_as_a_repair() {
        let agent = master(true).await;
        let not_leader = closed_port();
        let unlisted = leader_listing(false).await;
        look(
            AgentSeen::Unlisted,
            agent.clone(),
            vec![not_leader.clone(), unlisted],
        )
        .await
        .unwrap();
        let listed = leader_listing(true).await;
        let err = look(AgentSeen::Unlisted, agent.clone(), vec![not_leader, listed])
            .await
            .unwrap_err();
        assert!(matches!(err, ActError::ServesAgain { .. }), "{err}");
        assert!(err.to_string().contains("lists it active again"), "{err}");
        let err = look(AgentSeen::Unlisted, agent, vec![closed_port()])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no master answered"), "{err}");
    }

    #[tokio::test]
    async fn a_master_whose_replica_has_not_recovered_does_not_count() {
        let a = master(true).await;
        let empty = master(false).await;
        assert!(require(&op(vec![a.clone(), empty], 2), None, None)
            .await
            .is_err());
        let b = master(true).await;
        require(&op(vec![a, b], 2), None, None).await.unwrap();
    }

    /// A ZooKeeper server that answers `imok` and says it follows, but through which no
    /// write commits (cut off from the other voters), does not count: a count of members
    /// that say they serve is not a quorum.
    #[tokio::test]
    async fn a_zookeeper_server_that_says_it_follows_but_cannot_commit_does_not_count() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut cmd = [0u8; 4];
                    if s.read_exact(&mut cmd).await.is_err() {
                        return;
                    }
                    let answer: &[u8] = match &cmd {
                        b"ruok" => b"imok",
                        b"srvr" => b"Zookeeper version: 3.8.4\nMode: follower\nNode count: 5\n",
                        b"conf" => b"serverId=2\nversion=100000003\n",
                        // The client protocol's handshake: a cut-off server never completes a
                        // session that could write.
                        _ => return,
                    };
                    let _ = s.write_all(answer).await;
                });
            }
        });
        assert!(
            probe::zk_server(&addr).await.observation.serves(),
            "it says it serves"
        );
        let op = Op::RequireServing {
            component: Component::Zookeeper,
            stopping: "h1".into(),
            members: vec![addr.clone()],
            at_least: 1,
        };
        let err = require(&op, None, None).await.unwrap_err();
        assert!(
            matches!(err, ActError::NotServing { serving: 0, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_zookeeper_server_that_does_not_answer_does_not_count() {
        let op = Op::RequireServing {
            component: Component::Zookeeper,
            stopping: "h1".into(),
            members: vec![closed_port(), closed_port()],
            at_least: 2,
        };
        assert!(require(&op, None, None).await.is_err());
    }
}
