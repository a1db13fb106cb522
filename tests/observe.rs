//! Observation against the real test bed: Docker hosts over mutual TLS, containers found by
//! label, ZooKeeper and the Mesos masters probed from Rust, and failures reported as what
//! they are within the deadlines.

// Each test runs its own runtime on its own thread and holds the fleet guard for its whole
// length on purpose (block_on does not move the test future across threads).
#![allow(clippy::await_holding_lock)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::fleet::{exclusive, fleet, shared, Fleet};
use mesos_operator::docker::{self, DockerError};
use mesos_operator::observe;
use mesos_operator::secrets::SecretSource;
use mesos_operator_core::desired::{labels, Desired};
use mesos_operator_core::observed::{ContainerState, HostObservation, ZkMode};
use mesos_operator_core::spec::{parse_document, Component, MesosCluster};

fn document(f: &Fleet, name: &str) -> MesosCluster {
    let mut y = format!("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: {name}}}\nspec:\n  registry: '{}'\n  hosts:\n", f.registry);
    for h in f.hosts.values() {
        y.push_str(&format!(
            "    - {{name: {}, address: {}, docker: {{endpoint: 'tcp://{}:2376', tls: {{ca: ca, cert: client-cert, key: client-key}}}}}}\n",
            h.name, h.ip, h.ip
        ));
    }
    y.push_str("  zookeeper: {image: 'zookeeper:3.8.0', servers: 3}\n  masters: {image: 'mesos-master:1.11.0', count: 3}\n  agents: {image: 'mesos-agent:broken'}\n  marathon: {image: 'marathon:1.10.17'}\n");
    parse_document(&y).unwrap()
}

fn secrets_dir(f: &Fleet) -> SecretSource {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::copy(f.pki.join("ca.pem"), dir.join("ca")).unwrap();
    std::fs::copy(f.pki.join("client-cert.pem"), dir.join("client-cert")).unwrap();
    std::fs::copy(f.pki.join("client-key.pem"), dir.join("client-key")).unwrap();
    // A certificate of the same CA that is not for clients (serverAuth only).
    std::fs::copy(f.pki.join("host1-cert.pem"), dir.join("server-cert")).unwrap();
    std::fs::copy(f.pki.join("host1-key.pem"), dir.join("server-key")).unwrap();
    SecretSource::Dir(dir)
}

fn cleanup(f: &Fleet, cluster: &str) {
    f.remove_labelled(&format!("{}={cluster}", labels::CLUSTER));
    for h in f.hosts.keys() {
        let vols = f.docker_ok(
            h,
            &[
                "volume",
                "ls",
                "-q",
                "--filter",
                &format!("label={}={cluster}", labels::CLUSTER),
            ],
        );
        for v in vols.split_whitespace() {
            f.docker(h, &["volume", "rm", "-f", v]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_is_reached_over_mutual_tls_and_refused_without_a_client_certificate() {
    let _g = shared();
    let f = fleet();
    let s = secrets_dir(f);
    let doc = document(f, "obs1");
    let c = docker::connect(&doc.spec.hosts[0], &s).await.unwrap();
    c.ping().await.unwrap();
    // A certificate that is not a client certificate: the daemon refuses the handshake.
    let mut wrong = doc.spec.hosts[0].clone();
    if let Some(t) = wrong.docker.tls.as_mut() {
        t.cert = "server-cert".into();
        t.key = "server-key".into();
    }
    let c = docker::connect(&wrong, &s).await.unwrap();
    assert!(matches!(
        c.ping().await,
        Err(DockerError::Unreachable { .. })
    ));
    // Plain HTTP to the TLS port, as `insecure: true` would do: refused too.
    let mut plain = doc.spec.hosts[0].clone();
    plain.docker.tls = None;
    plain.docker.insecure = true;
    let c = docker::connect(&plain, &s).await.unwrap();
    assert!(c.ping().await.is_err());
    // A missing secret is named, and its would-be value never appears.
    let mut missing = doc.spec.hosts[0].clone();
    if let Some(t) = missing.docker.tls.as_mut() {
        t.key = "no-such-key".into();
    }
    let err = docker::connect(&missing, &s)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no-such-key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_are_found_by_label_and_foreign_ones_ignored() {
    let _g = shared();
    let f = fleet();
    let s = secrets_dir(f);
    let doc = document(f, "obs2");
    cleanup(f, "obs2");
    let d = Desired::from_document(&doc);
    let host = doc.spec.hosts[1].clone();
    let c = docker::connect(&host, &s).await.unwrap();
    let spec = d.container(Component::Agents, &host.name).unwrap();
    c.pull(&spec.image).await.unwrap();
    c.create_and_start("obs2", spec, &BTreeMap::new(), &BTreeMap::new())
        .await
        .unwrap();
    let foreign = format!("someone-else-{}", std::process::id());
    f.docker_ok(
        &host.name,
        &[
            "run",
            "-d",
            "--name",
            &foreign,
            "--entrypoint",
            "sleep",
            &spec.image,
            "600",
        ],
    );
    let seen = c.observe("obs2").await.unwrap();
    let (containers, volumes) = (seen.containers, seen.volumes);
    assert_eq!(containers.len(), 1, "{containers:?}");
    let agent = &containers[&Component::Agents];
    assert_eq!(agent.name, spec.name);
    assert_eq!(agent.config_hash, spec.config_hash);
    assert_eq!(agent.state, ContainerState::Running);
    assert!(agent.started_at > 0);
    assert_eq!(volumes, vec![spec.volumes[0].volume.clone()]);
    // A missing tag is a clear error naming the image.
    let err = c
        .pull(&format!("{}/mesos-agent:9.9.9", f.registry))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("mesos-agent:9.9.9"), "{err}");
    f.docker(&host.name, &["rm", "-f", &foreign]);
    cleanup(f, "obs2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_and_the_masters_leader_are_read_and_failures_reported() {
    let _g = exclusive();
    let f = fleet();
    let s = secrets_dir(f);
    let doc = document(f, "obs3");
    cleanup(f, "obs3");
    let d = Desired::from_document(&doc);
    let fleet_clients = observe::connect(&doc, &s).await;
    let ensemble = doc
        .spec
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{}={}", i + 1, h.address))
        .collect::<Vec<_>>()
        .join(",");
    for (i, h) in doc.spec.hosts.iter().enumerate() {
        let Ok(c) = &fleet_clients.hosts[&h.name] else {
            panic!()
        };
        let zk = d.container(Component::Zookeeper, &h.name).unwrap();
        c.pull(&zk.image).await.unwrap();
        let env = BTreeMap::from([
            ("ZK_SERVER_ID".to_string(), (i + 1).to_string()),
            ("ZK_ENSEMBLE".to_string(), ensemble.clone()),
        ]);
        let lbl = BTreeMap::from([(labels::ZK_ID.to_string(), (i + 1).to_string())]);
        c.create_and_start("obs3", zk, &env, &lbl).await.unwrap();
        let m = d.container(Component::Masters, &h.name).unwrap();
        c.pull(&m.image).await.unwrap();
        c.create_and_start(
            "obs3",
            m,
            &BTreeMap::new(),
            &BTreeMap::from([(labels::MASTER_QUORUM.to_string(), "2".to_string())]),
        )
        .await
        .unwrap();
    }
    // Marathon on host1: only to hang below, with the masters.
    let marathon = d.container(Component::Marathon, "host1").unwrap().clone();
    let Ok(c1) = &fleet_clients.hosts["host1"] else {
        panic!()
    };
    c1.pull(&marathon.image).await.unwrap();
    c1.create_and_start("obs3", &marathon, &BTreeMap::new(), &BTreeMap::new())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let o = loop {
        let o = observe::observe(&doc, &fleet_clients, None).await;
        let synced = o.zookeeper.committed.as_ref().is_some_and(|c| {
            o.zookeeper.servers.len() == 3
                && o.zookeeper
                    .servers
                    .values()
                    .all(|s| s.ok && s.config_version == Some(c.version))
        });
        if synced && o.masters.leader.is_some() {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "no ZooKeeper config or master leader observed: {o:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let cfg = o.zookeeper.committed.clone().unwrap();
    let names: Vec<&str> = cfg.voters.values().map(String::as_str).collect();
    assert_eq!(names, ["host1", "host2", "host3"]);
    assert!(o.zookeeper.leader.is_some());
    assert!(
        o.zookeeper
            .servers
            .values()
            .all(|s| s.ok && s.config_version == Some(cfg.version)),
        "{:?}",
        o.zookeeper.servers
    );
    let leader = o.masters.leader.clone().unwrap();
    assert!(o.masters.members[&leader].elected && o.masters.members[&leader].recovered);
    assert_eq!(o.masters.members.values().filter(|m| m.elected).count(), 1);
    // Asked anywhere, /master/state comes from the leader (a non-leader's 307 is followed).
    let leader_addr = format!("{}:5050", doc.host(&leader).unwrap().address);
    let masters: std::collections::BTreeSet<String> = doc
        .spec
        .hosts
        .iter()
        .map(|h| format!("{}:5050", h.address))
        .collect();
    for h in &doc.spec.hosts {
        // A master that has just started knows no leader for a moment (503).
        let deadline = Instant::now() + Duration::from_secs(20);
        let (from, st) = loop {
            if let Some(r) =
                mesos_operator::probe::master_state(&format!("{}:5050", h.address), &masters, None)
                    .await
            {
                break r;
            }
            assert!(
                Instant::now() < deadline,
                "{} never pointed at the leader",
                h.name
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        assert_eq!(from, leader_addr);
        assert_eq!(st["leader"], format!("master@{leader_addr}"));
    }

    // What the servers say of themselves: the id of their container's label, and the
    // committed version as the newest any of them runs; the voters' addresses by id.
    for (i, h) in doc.spec.hosts.iter().enumerate() {
        let id = i as u64 + 1;
        assert_eq!(
            o.zookeeper.server_ids.get(&h.name),
            Some(&id),
            "{:?}",
            o.zookeeper.server_ids
        );
        assert_eq!(o.zookeeper.voter_addresses.get(&id), Some(&h.address));
    }
    assert_eq!(o.zookeeper.newest_config_version, Some(cfg.version));

    // Masters and Marathon that hang (paused: connections are accepted, nothing answers),
    // a master named leader by its election node, cost only their own observation: each
    // waits out its own deadline, ZooKeeper's is kept.
    let mut hanging: Vec<(String, String)> = doc
        .spec
        .hosts
        .iter()
        .map(|h| {
            let name = d
                .container(Component::Masters, &h.name)
                .unwrap()
                .name
                .clone();
            (h.name.clone(), name)
        })
        .collect();
    hanging.push(("host1".to_string(), marathon.name.clone()));
    for (h, name) in &hanging {
        f.docker_ok(h, &["pause", name]);
    }
    let t = Instant::now();
    let hung = observe::observe(&doc, &fleet_clients, None).await;
    let took = t.elapsed();
    for (h, name) in &hanging {
        f.docker_ok(h, &["unpause", name]);
    }
    assert!(
        took < observe::PROBES_DEADLINE + Duration::from_secs(10),
        "observation took {took:?}"
    );
    assert_eq!(hung.zookeeper.committed.as_ref(), Some(&cfg), "{hung:#?}");
    assert_eq!(hung.zookeeper.servers.len(), 3);
    assert!(hung.masters.members.is_empty() && hung.masters.leader.is_none());
    assert!(hung.marathon.members.is_empty() && hung.marathon.leader.is_none());

    // A container stopped behind the operator's back is seen as exited.
    let victim = d
        .container(Component::Masters, "host3")
        .unwrap()
        .name
        .clone();
    f.docker_ok("host3", &["stop", "-t", "1", &victim]);
    let o = observe::observe(&doc, &fleet_clients, None).await;
    let stopped = o.container(Component::Masters, "host3").unwrap();
    assert_eq!(stopped.state, ContainerState::Exited);
    assert!(
        stopped.detail.finished_at >= stopped.started_at
            && stopped.detail.image_id.starts_with("sha256:")
    );

    // A frozen host and a disconnected host are unreachable, within the deadlines.
    f.freeze("host2");
    let t = Instant::now();
    let o = observe::observe(&doc, &fleet_clients, None).await;
    let took = t.elapsed();
    f.thaw("host2");
    assert!(
        matches!(o.hosts["host2"], HostObservation::Unreachable { .. }),
        "{:?}",
        o.hosts["host2"]
    );
    assert!(o.reachable("host1"));
    assert!(took < Duration::from_secs(20), "observation took {took:?}");
    f.partition("host2");
    let o = observe::observe(&doc, &fleet_clients, None).await;
    f.heal("host2");
    assert!(matches!(
        o.hosts["host2"],
        HostObservation::Unreachable { .. }
    ));
    f.wait_docker("host2");
    cleanup(f, "obs3");
}

#[test]
fn secrets_never_appear_in_output_or_logs() {
    let _g = shared();
    let f = fleet();
    let prefix = common::unique_prefix("secrets");
    let key = std::fs::read_to_string(f.pki.join("client-key.pem")).unwrap();
    // A line from the middle of the key: what a leak would show.
    let needle = key.lines().nth(5).unwrap().to_string();
    for (name, file) in [
        ("ca", "ca.pem"),
        ("client-cert", "client-cert.pem"),
        ("client-key", "client-key.pem"),
    ] {
        let path = f.pki.join(file);
        let (code, _, err) = common::parts(&common::cli(
            &prefix,
            &["secret", "set", name, "--from-file", path.to_str().unwrap()],
        ));
        assert_eq!(code, 0, "{err}");
    }
    let doc = serde_yaml_ng::to_string(&document(f, "obs4")).unwrap();
    assert_eq!(
        common::parts(&common::cli_with_stdin(
            &prefix,
            &["apply", "-f", "-"],
            &doc
        ))
        .0,
        0
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
        .env("MESOS_OPERATOR_ETCD", &common::etcd().endpoint)
        .env("MESOS_OPERATOR_ETCD_PREFIX", &prefix)
        .env("RUST_LOG", "trace")
        .args(["plan", "obs4", "-o", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("\"decision\""), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(&needle) && !text.contains("PRIVATE KEY"),
            "key material leaked"
        );
    }
    // Listing secrets shows names and sizes only.
    let (_, list, _) = common::parts(&common::cli(&prefix, &["secret", "list", "-o", "json"]));
    assert!(!list.contains(&needle) && list.contains("client-key"));
}

// ---- Without the fleet: components played by listeners in this process on loopback
// addresses (127.0.0.1 and 127.0.0.2 are both this machine), Docker hosts unreachable.

/// What a fake component does with a connection.
#[derive(Clone)]
enum Fake {
    /// Accepts and never answers (a hung process: the kernel still completes the handshake).
    Hang,
    /// ZooKeeper: four-letter words answered after `delay` from `words`; a client session
    /// (anything else) is accepted and never answered.
    Zk {
        delay: Duration,
        words: BTreeMap<&'static str, String>,
    },
    /// HTTP: path → (status, body); other paths 404.
    Http(BTreeMap<&'static str, (u16, String)>),
}

fn serve_fake(listener: std::net::TcpListener, fake: Fake) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            match &fake {
                Fake::Hang => held.push(s),
                Fake::Zk { delay, words } => {
                    let mut w = [0u8; 4];
                    if s.read_exact(&mut w).is_err() {
                        continue;
                    }
                    match std::str::from_utf8(&w).ok().and_then(|w| words.get(w)) {
                        Some(answer) => {
                            let (answer, delay) = (answer.clone(), *delay);
                            std::thread::spawn(move || {
                                std::thread::sleep(delay);
                                let _ = s.write_all(answer.as_bytes());
                            });
                        }
                        None => held.push(s),
                    }
                }
                Fake::Http(routes) => {
                    let mut req = Vec::new();
                    let mut b = [0u8; 1];
                    while !req.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
                        req.push(b[0]);
                    }
                    let req = String::from_utf8_lossy(&req).to_string();
                    let path = req.split_whitespace().nth(1).unwrap_or("/");
                    let (status, body) = routes.get(path).cloned().unwrap_or((404, String::new()));
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            }
        }
    });
}

/// A port free on both loopback addresses, with its two listeners.
fn listeners() -> (u16, std::net::TcpListener, std::net::TcpListener) {
    loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if let Ok(b) = std::net::TcpListener::bind(("127.0.0.2", port)) {
            return (port, a, b);
        }
    }
}

/// `conf` as ZooKeeper 3.8.0 (the test bed's image, server 7 of an ensemble of one) answered it.
const ZK_CONF: &str = "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/lib/zookeeper/data/version-2\ndataDirSize=522\ndataLogDir=/var/lib/zookeeper/data/version-2\ndataLogSize=522\ntickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=7\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \nserver.7=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_component_costs_only_its_own_observation() {
    // host1 runs everything; host2 an agent and a second Marathon.
    let (zk_port, zk1, _) = listeners();
    let (m_port, m1, _) = listeners();
    let (a_port, a1, a2) = listeners();
    let (mt_port, mt1, _) = listeners();
    // ZooKeeper answers its four-letter words slowly but in time, and its client sessions
    // never: the probes of ZooKeeper take about as long as they may.
    serve_fake(
        zk1,
        Fake::Zk {
            delay: Duration::from_millis(2500),
            words: BTreeMap::from([
                ("ruok", "imok".to_string()),
                (
                    "srvr",
                    "Zookeeper version: 3.8.0\nMode: follower\nNode count: 5\n".to_string(),
                ),
                ("conf", ZK_CONF.to_string()),
            ]),
        },
    );
    // The master hangs.
    serve_fake(m1, Fake::Hang);
    // Agents: host1 healthy, host2 answers /health but its /state is 503 (recovering).
    serve_fake(
        a1,
        Fake::Http(BTreeMap::from([
            ("/health", (200, String::new())),
            ("/state", (200, "{}".to_string())),
        ])),
    );
    serve_fake(
        a2,
        Fake::Http(BTreeMap::from([
            ("/health", (200, String::new())),
            ("/state", (503, String::new())),
        ])),
    );
    // Marathon on host1 leads; on host2 nothing listens (refused).
    serve_fake(
        mt1,
        Fake::Http(BTreeMap::from([
            ("/ping", (200, "pong".to_string())),
            ("/v2/info", (200, r#"{"version":"1.10.17"}"#.to_string())),
            (
                "/v2/leader",
                (200, format!(r#"{{"leader":"127.0.0.1:{mt_port}"}}"#)),
            ),
        ])),
    );
    let y = format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: hung}}\nspec:\n  hosts:\n    - {{name: host1, address: 127.0.0.1, docker: {{endpoint: 'unix:///nonexistent'}}}}\n    - {{name: host2, address: 127.0.0.2, docker: {{endpoint: 'unix:///nonexistent'}}}}\n  zookeeper: {{image: 'zookeeper:3.8.0', servers: 1, clientPort: {zk_port}}}\n  masters: {{image: 'mesos-master:1.11.0', count: 1, port: {m_port}}}\n  agents: {{image: 'mesos-agent:1.11.0', port: {a_port}}}\n  marathon: {{image: 'marathon:1.10.17', instances: 2, port: {mt_port}}}\n"
    );
    let doc = parse_document(&y).unwrap();
    let fleet = observe::HostClients {
        hosts: doc
            .spec
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Err("no Docker in this test".to_string())))
            .collect(),
    };
    let t = Instant::now();
    let o = observe::observe(&doc, &fleet, None).await;
    let took = t.elapsed();
    assert!(
        took < observe::PROBES_DEADLINE + Duration::from_secs(2),
        "observation took {took:?}"
    );
    // ZooKeeper's servers answered: kept, though no session could read the config.
    let zk = &o.zookeeper.servers["host1"];
    assert!(zk.ok, "{o:#?}");
    assert_eq!(zk.mode, Some(ZkMode::Follower));
    assert_eq!(zk.config_version, Some(0x1_0000_0000));
    assert_eq!(o.zookeeper.committed, None);
    assert_eq!(
        o.zookeeper.server_ids,
        BTreeMap::from([("host1".into(), 7)])
    );
    assert_eq!(o.zookeeper.newest_config_version, Some(0x1_0000_0000));
    // The hung master is not known; nothing else is lost with it.
    assert!(o.masters.members.is_empty() && o.masters.leader.is_none());
    assert!(o.agents.members["host1"].healthy, "{o:#?}");
    assert!(!o.agents.members["host2"].healthy);
    assert!(!o.agents.members["host1"].registered);
    let mt = &o.marathon.members["host1"];
    assert!(mt.healthy && mt.version.as_deref() == Some("1.10.17"));
    assert!(!o.marathon.members.contains_key("host2"));
    assert_eq!(o.marathon.leader.as_deref(), Some("host1"));
    assert!(!o.marathon.registered);
}
