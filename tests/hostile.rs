//! Hostile peers (issue 13): whatever a container answers over HTTP or puts in ZooKeeper,
//! the probes finish within their deadline, read a bounded amount, never panic, and never
//! believe a leader that is not one of the cluster's own hosts and ports. No Docker: every
//! peer is a server of `common/hostile.rs` on a loopback address.

#[path = "common/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use hostile::Reply;
use mesos_operator::probe;

/// A probe's deadline, plus scheduling slack.
const WITHIN: Duration = Duration::from_millis(probe::PROBE_TIMEOUT.as_millis() as u64 + 1000);

async fn one(reply: Reply) -> String {
    hostile::http("127.0.0.1", 0, vec![("/x", reply)])
        .await
        .addr
}

#[tokio::test]
async fn every_bad_answer_is_no_answer_within_the_deadline() {
    for reply in [
        Reply::HugeChunk,
        Reply::EndlessBody,
        Reply::HugeContentLength,
        Reply::EndlessChunks,
        Reply::SlowHeaders,
        Reply::EndlessHeaders,
        Reply::Truncated,
        Reply::NotHttp,
        Reply::Silent,
        Reply::json("{\"not json"),
    ] {
        let addr = one(reply.clone()).await;
        let t = Instant::now();
        let got = probe::get_json(&addr, "/x", None).await;
        assert_eq!(got, None, "{reply:?}");
        assert!(t.elapsed() < WITHIN, "{reply:?} took {:?}", t.elapsed());
    }
}

#[tokio::test]
async fn a_body_past_the_cap_fails_at_once_not_at_the_deadline() {
    for reply in [
        Reply::EndlessBody,
        Reply::HugeContentLength,
        Reply::EndlessChunks,
    ] {
        let addr = one(reply.clone()).await;
        let t = Instant::now();
        assert_eq!(probe::get_json(&addr, "/x", None).await, None);
        let took = t.elapsed();
        eprintln!("{reply:?}: no answer after {took:?}");
        assert!(took < Duration::from_secs(1), "{reply:?} took {took:?}");
    }
}

#[tokio::test]
async fn a_redirect_out_of_the_cluster_is_not_followed() {
    let elsewhere = hostile::http(
        "127.0.0.1",
        0,
        vec![(
            "/master/state",
            Reply::json("{\"leader\":\"master@127.0.0.1:1\"}"),
        )],
    )
    .await;
    let master = hostile::http(
        "127.0.0.1",
        0,
        vec![(
            "/master/state",
            Reply::Redirect {
                location: format!("//{}/master/state", elsewhere.addr),
            },
        )],
    )
    .await;
    let cluster = std::collections::BTreeSet::from([master.addr.clone()]);
    assert_eq!(
        probe::master_state(&master.addr, &cluster, None).await,
        None
    );
    // The same redirect to one of the cluster's masters is followed.
    let cluster = std::collections::BTreeSet::from([master.addr.clone(), elsewhere.addr.clone()]);
    let (from, _) = probe::master_state(&master.addr, &cluster, None)
        .await
        .unwrap();
    assert_eq!(from, elsewhere.addr);
    // Same address, another port, or another scheme: not the cluster's master.
    for location in [
        format!("http://{}/master/state", elsewhere.addr),
        format!("https://{}/master/state", master.addr),
        "//127.0.0.1:1/master/state".to_string(),
        "//user@127.0.0.2:5050/x".to_string(),
        "http://[::1]:5050/master/state".to_string(),
        "ftp://127.0.0.1/".to_string(),
    ] {
        let only_master = std::collections::BTreeSet::from([master.addr.clone()]);
        assert_eq!(
            probe::redirect_target(&master.addr, &location, &only_master),
            None,
            "{location}"
        );
    }
    // A relative Location stays on the master that sent it.
    let only_master = std::collections::BTreeSet::from([master.addr.clone()]);
    assert_eq!(
        probe::redirect_target(&master.addr, "not a url \u{0}", &only_master),
        Some(master.addr.clone())
    );
}

#[tokio::test]
async fn each_bad_answer_fails_for_its_own_reason() {
    use probe::HttpError;
    let limit = 1 << 20;
    for (reply, want) in [
        (Reply::HugeContentLength, "cap"),
        (Reply::EndlessBody, "cap"),
        (Reply::EndlessChunks, "cap"),
        (Reply::HugeChunk, "transport"),
        (Reply::EndlessHeaders, "transport"),
        (Reply::NotHttp, "transport"),
        (Reply::Truncated, "transport"),
        (Reply::SlowHeaders, "timeout"),
        (Reply::Silent, "timeout"),
    ] {
        let addr = one(reply.clone()).await;
        let t = Instant::now();
        let got =
            probe::http_get(&addr, "/x", limit, Duration::from_millis(1500), true, None).await;
        let took = t.elapsed();
        let kind = match &got {
            Err(HttpError::BodyTooLarge { limit: l }) if *l == limit => "cap",
            Err(HttpError::Transport(_)) => "transport",
            Err(HttpError::Timeout(_)) => "timeout",
            _ => "other",
        };
        assert_eq!(kind, want, "{reply:?}: {got:?}");
        let bound = if want == "timeout" { 2500 } else { 1000 };
        assert!(
            took < Duration::from_millis(bound),
            "{reply:?} took {took:?}"
        );
    }
    // A body within the cap is read whole; one byte over is refused.
    let body = "x".repeat(1000);
    let addr = one(Reply::json(body.clone())).await;
    let r = probe::http_get(&addr, "/x", 1000, Duration::from_secs(2), true, None)
        .await
        .unwrap();
    assert_eq!(r.body.len(), 1000);
    assert!(matches!(
        probe::http_get(&addr, "/x", 999, Duration::from_secs(2), true, None).await,
        Err(HttpError::BodyTooLarge { limit: 999 })
    ));
}

/// A three-host cluster on 127.0.0.11-13, its components on the given ports.
fn document(
    zk: u16,
    master: u16,
    agent: u16,
    marathon: u16,
) -> mesos_operator_core::spec::MesosCluster {
    let hosts: String = (1..=3)
        .map(|i| {
            format!(
                "    - name: host{i}\n      address: 127.0.0.1{i}\n      docker: {{endpoint: unix:///nonexistent/docker.sock}}\n"
            )
        })
        .collect();
    let yaml = format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: hostile}}\nspec:\n  hosts:\n{hosts}  zookeeper: {{image: 'zookeeper:3.8.0', servers: 3, clientPort: {zk}}}\n  masters: {{image: 'mesos-master:1.11.0', count: 3, port: {master}}}\n  agents: {{image: 'mesos-agent:1.11.0', hosts: all, port: {agent}}}\n  marathon: {{image: 'marathon:1.10.17', instances: 1, port: {marathon}}}\n"
    );
    mesos_operator_core::spec::parse_document(&yaml).unwrap()
}

const IPS: [&str; 3] = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];

/// The cluster's masters, agents and Marathon, and ZooKeeper naming `leader` (`ip:port`)
/// as the lowest `json.info_` node; a server on `fake` (host1's address, another port)
/// claims to be the leading master, listing every agent as registered, one machine down
/// and Marathon's framework active. Masters redirect `/master/state` to `redirect_to`.
async fn cluster(
    leader_in_zk: impl Fn(u16, u16) -> String,
    redirect_to: impl Fn(u16, u16) -> String,
) -> (mesos_operator_core::spec::MesosCluster, u16, u16) {
    let [zk, mp, ap, xp] = [(); 4].map(|_| hostile::common_port(&IPS));
    let fake = hostile::common_port(&IPS[..1]);
    let info = |addr: &str| {
        let (ip, port) = addr.split_once(':').unwrap();
        format!("{{\"address\":{{\"ip\":\"{ip}\",\"port\":{port}}},\"hostname\":\"{ip}\"}}")
    };
    let zk_leader = leader_in_zk(mp, fake);
    for ip in IPS {
        hostile::zookeeper(
            ip,
            zk,
            vec![
                ("/mesos/log_replicas", vec![]),
                ("/mesos/json.info_0000000000", info(&zk_leader).into_bytes()),
                (
                    "/mesos/json.info_0000000007",
                    info(&format!("{ip}:{mp}")).into_bytes(),
                ),
            ],
        )
        .await;
    }
    let state = |me: &str| {
        Reply::json(format!(
            "{{\"leader\":\"master@{me}\",\"slaves\":[{}],\"frameworks\":[{{\"name\":\"marathon\",\"active\":true}}]}}",
            IPS.map(|ip| format!("{{\"hostname\":\"{ip}\",\"active\":true,\"version\":\"1.11.0\"}}"))
                .join(",")
        ))
    };
    let metrics = Reply::json("{\"master/elected\":1,\"registrar/log/recovered\":1}");
    let maintenance =
        Reply::json("{\"draining_machines\":[],\"down_machines\":[{\"hostname\":\"127.0.0.12\",\"ip\":\"127.0.0.12\"}]}");
    let fake_addr = format!("{}:{fake}", IPS[0]);
    hostile::http(
        IPS[0],
        fake,
        vec![
            ("/master/state", state(&fake_addr)),
            ("/master/maintenance/status", maintenance.clone()),
            ("/health", Reply::json("")),
        ],
    )
    .await;
    let to = redirect_to(mp, fake);
    for ip in IPS {
        let me = format!("{ip}:{mp}");
        let st = if to == me {
            state(&me)
        } else {
            Reply::Redirect {
                location: format!("//{to}/master/state"),
            }
        };
        hostile::http(
            ip,
            mp,
            vec![
                ("/master/state", st),
                ("/master/maintenance/status", maintenance.clone()),
                ("/health", Reply::json("")),
                ("/metrics/snapshot", metrics.clone()),
                ("/version", Reply::json("{\"version\":\"1.11.0\"}")),
            ],
        )
        .await;
        hostile::http(
            ip,
            ap,
            vec![("/health", Reply::json("")), ("/state", Reply::json("{}"))],
        )
        .await;
        // Marathon names the fake leader (host1's address, another port) as its leader.
        hostile::http(
            ip,
            xp,
            vec![
                ("/ping", Reply::json("")),
                ("/v2/info", Reply::json("{\"version\":\"1.10.17\"}")),
                (
                    "/v2/leader",
                    Reply::json(format!("{{\"leader\":\"{fake_addr}\"}}")),
                ),
            ],
        )
        .await;
    }
    (document(zk, mp, ap, xp), mp, fake)
}

fn unreachable_hosts(
    doc: &mesos_operator_core::spec::MesosCluster,
) -> std::collections::BTreeMap<String, mesos_operator_core::observed::HostObservation> {
    doc.spec
        .hosts
        .iter()
        .map(|h| {
            (
                h.name.clone(),
                mesos_operator_core::observed::HostObservation::Unreachable {
                    reason: "no Docker in this test".into(),
                },
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_forged_in_zookeeper_or_a_redirect_opens_no_gate() {
    // ZooKeeper names the fake leader; the masters redirect to it too.
    let (doc, _, _) = cluster(
        |_, fake| format!("127.0.0.11:{fake}"),
        |_, fake| format!("127.0.0.11:{fake}"),
    )
    .await;
    let t = Instant::now();
    let (_, masters, agents, marathon) =
        mesos_operator::observe::probe_components(&doc, &unreachable_hosts(&doc), None).await;
    assert!(t.elapsed() < mesos_operator::observe::PROBES_DEADLINE + Duration::from_secs(1));
    assert_eq!(masters.leader, None, "{masters:?}");
    assert_eq!(masters.members.len(), 3, "{masters:?}");
    assert!(agents.members.values().all(|a| !a.registered), "{agents:?}");
    assert!(agents.maintenance.is_empty(), "{agents:?}");
    assert_eq!(marathon.leader, None, "{marathon:?}");
    assert!(!marathon.registered, "{marathon:?}");

    // A leader out of the cluster altogether in ZooKeeper: the masters are asked, and
    // the one they redirect to (host2, a master of the cluster, saying so itself) leads.
    let (doc, _, _) = cluster(
        |_, _| "127.0.0.99:5050".to_string(),
        |mp, _| format!("127.0.0.12:{mp}"),
    )
    .await;
    let (_, masters, agents, _) =
        mesos_operator::observe::probe_components(&doc, &unreachable_hosts(&doc), None).await;
    assert_eq!(masters.leader.as_deref(), Some("host2"), "{masters:?}");
    assert!(agents.members.values().all(|a| a.registered), "{agents:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_zookeeper_names_is_believed_when_it_is_a_master_of_the_cluster() {
    let (doc, _, _) = cluster(
        |mp, _| format!("127.0.0.13:{mp}"),
        |mp, _| format!("127.0.0.13:{mp}"),
    )
    .await;
    let (_, masters, agents, marathon) =
        mesos_operator::observe::probe_components(&doc, &unreachable_hosts(&doc), None).await;
    assert_eq!(masters.leader.as_deref(), Some("host3"), "{masters:?}");
    assert!(agents.members.values().all(|a| a.registered), "{agents:?}");
    assert_eq!(agents.maintenance.len(), 1, "{agents:?}");
    assert!(marathon.registered, "{marathon:?}");
    // Marathon still names the fake leader: not believed.
    assert_eq!(marathon.leader, None, "{marathon:?}");
}

#[tokio::test]
async fn an_endless_four_letter_answer_is_cut_at_its_cap() {
    let addr = hostile::raw_endless("127.0.0.1").await;
    let t = Instant::now();
    assert_eq!(probe::four_letter(&addr, "srvr").await, None);
    let took = t.elapsed();
    eprintln!("endless srvr: no answer after {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let p = probe::zk_server(&addr).await;
    assert!(!p.observation.ok && p.observation.mode.is_none(), "{p:?}");
}

#[tokio::test]
async fn garbage_in_an_election_node_names_no_leader() {
    for data in [
        b"{not json".to_vec(),
        b"\xff\xfe\x00".to_vec(),
        b"{\"address\":{\"ip\":7,\"port\":\"x\"}}".to_vec(),
        format!("[{}]", "[".repeat(100_000)).into_bytes(),
    ] {
        let addr =
            hostile::zookeeper("127.0.0.1", 0, vec![("/mesos/json.info_0000000001", data)]).await;
        let c = probe::zk_connect(&addr)
            .await
            .expect("fake zookeeper answers");
        let t = Instant::now();
        assert_eq!(probe::mesos_leader_from_zk(&c, "/mesos").await, None);
        assert!(t.elapsed() < WITHIN);
    }
}
