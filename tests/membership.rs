//! Membership changes on a 5-host test bed: ZooKeeper 3 → 5 → 3 by dynamic reconfiguration
//! with masters, agents and Marathon rolled onto each new connection string, and masters
//! 3 → 5 → 3 following Mesos' documented procedure (the quorum moves first when growing,
//! last when shrinking). The independent watcher checks quorum, the masters' ceiling and one
//! joiner at a time throughout. And a rotated ZooKeeper super-user digest: rolled out to
//! every server, with membership changes in the middle of the rotation (a grow, whose
//! joiner is the first server with the new digest, and a shrink) still reconfiguring.

mod common;
#[path = "common/workload.rs"]
mod workload;

use std::collections::BTreeSet;
use std::time::Duration;

use common::fleet::{exclusive, fleet, Fleet};
use common::operator::{
    apply, containers, event_values, events, store_secrets, wait_phase, wait_until, zk_config,
    ClusterGuard, ClusterOpts, Operator, Rules, Watcher, ZK_SUPER,
};
use common::{cli, cli_with_stdin, parts, unique_prefix};
use zookeeper_client as zk;

const CONVERGE: Duration = Duration::from_secs(420);

/// `host:port` of a component's leader as the operator's status names it.
fn leader_at(f: &Fleet, prefix: &str, component: &str, port: u16) -> String {
    let out = common::cli(prefix, &["status", "memb", "-o", "json"]);
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let l = st["components"][component]["leader"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ip = f.hosts.get(&l).map(|h| h.ip.clone()).unwrap_or(l);
    format!("{ip}:{port}")
}

fn five_hosts() -> &'static Fleet {
    // Before the fleet starts: this binary's test bed has five hosts.
    if std::env::var_os("MESOS_OPERATOR_TESTBED_ENV").is_none() {
        std::env::set_var("MESOS_OPERATOR_TESTBED_HOSTS", "5");
    }
    let f = fleet();
    assert!(f.hosts.len() >= 5, "this test needs a 5-host test bed");
    f
}

fn zk_env_everywhere(f: &Fleet, hs: &[String], cluster: &str, want_servers: usize) {
    // Every master, agent and Marathon runs with a connection string of `want_servers`.
    for h in hs {
        let out = f.docker_ok(
            h,
            &[
                "ps",
                "-q",
                "--filter",
                &format!("label=io.mesos-operator.cluster={cluster}"),
            ],
        );
        for id in out.split_whitespace() {
            let env = f.docker_ok(
                h,
                &[
                    "inspect",
                    "-f",
                    "{{range .Config.Env}}{{println .}}{{end}}",
                    id,
                ],
            );
            for line in env.lines() {
                for var in ["MESOS_ZK=", "MESOS_MASTER=", "MARATHON_ZK="] {
                    if let Some(v) = line.strip_prefix(var) {
                        let n = v
                            .trim_start_matches("zk://")
                            .split('/')
                            .next()
                            .unwrap_or("")
                            .split(',')
                            .count();
                        assert_eq!(n, want_servers, "{h} {id}: {line}");
                    }
                }
            }
        }
    }
}

#[test]
fn zookeeper_grows_3_to_5_and_shrinks_back_and_the_masters_follow_3_5_3() {
    let _g = exclusive();
    let f = five_hosts();
    let hs: Vec<String> = f.hosts.keys().take(5).cloned().collect();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec!["memb".into()],
    };
    let prefix = unique_prefix("membership");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed("memb");
    opts.hosts = 5;
    opts.agent_hosts = 2;
    opts.drain_agents = false;
    let _op = Operator::start(&prefix, &[]);
    let watcher = Watcher::start(
        f,
        hs.clone(),
        "memb",
        Rules {
            zk_port: opts.ports.zk,
            masters_floor: true,
        },
    );
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, "memb", "Converged", CONVERGE);
    // The workload: every membership change below keeps every app and every task (agents
    // are rolled without a drain here: their tasks are recovered from the work dir).
    let marathon = |prefix: &str| leader_at(f, prefix, "marathon", opts.ports.marathon);
    let master = |prefix: &str| leader_at(f, prefix, "masters", opts.ports.master);
    let mut work =
        workload::Workload::create(&marathon(&prefix), &[("/memb/web", 3), ("/memb/api", 2)]);

    // ZooKeeper 3 → 5.
    let from = events(&prefix, "memb").len();
    opts.zk_servers = 5;
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, "memb", "Converged", CONVERGE);
    let (_, voters) = zk_config(f, &hs, opts.ports.zk).expect("ZooKeeper answers");
    assert_eq!(voters.len(), 5, "{voters:?}");
    zk_env_everywhere(f, &hs, "memb", 5);
    let ev = events(&prefix, "memb");
    let adds = ev[from..].iter().filter(|e| e.0 == "ZkAdd").count();
    assert_eq!(adds, 2, "{ev:?}");
    // ZooKeeper first, then the others were rolled for the new string.
    let comps: Vec<&str> = ev[from..].iter().map(|e| e.3.as_str()).collect();
    let last_zk = comps.iter().rposition(|c| *c == "zookeeper").unwrap_or(0);
    assert!(
        comps[last_zk..].iter().skip(1).all(|c| *c != "zookeeper"),
        "{comps:?}"
    );
    for c in ["masters", "agents", "marathon"] {
        assert!(comps.contains(&c), "{c} not rolled: {comps:?}");
    }
    work = work.assert_kept(&marathon(&prefix), &master(&prefix), &[]);

    // ZooKeeper 5 → 3: removed by reconfig first, containers and data after.
    let from = events(&prefix, "memb").len();
    opts.zk_servers = 3;
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, "memb", "Converged", CONVERGE);
    let (_, voters) = zk_config(f, &hs, opts.ports.zk).expect("ZooKeeper answers");
    assert_eq!(voters.len(), 3, "{voters:?}");
    zk_env_everywhere(f, &hs, "memb", 3);
    let ev = events(&prefix, "memb");
    let removes: Vec<&String> = ev[from..]
        .iter()
        .filter(|e| e.0 == "ZkRemove")
        .map(|e| &e.1)
        .collect();
    assert_eq!(removes.len(), 2, "{ev:?}");
    for h in removes {
        let i = ev[from..]
            .iter()
            .position(|e| e.0 == "ZkRemove" && e.1 == *h)
            .unwrap();
        let j = ev[from..]
            .iter()
            .position(|e| e.0 == "RemoveContainer" && e.1 == *h && e.3 == "zookeeper")
            .expect("its container removed");
        assert!(i < j, "reconfig before removal on {h}: {ev:?}");
    }
    let zk_left: BTreeSet<String> = containers(f, &hs, "memb")
        .expect("hosts")
        .into_iter()
        .filter(|c| c.role == "zookeeper")
        .map(|c| c.host)
        .collect();
    assert_eq!(zk_left.len(), 3, "{zk_left:?}");
    work = work.assert_kept(&marathon(&prefix), &master(&prefix), &[]);

    let samples = watcher.finish();
    eprintln!("watcher (ZooKeeper changes): {samples} samples, no invariant broken");

    // Masters 3 → 5 → 3. Mesos' own procedure dips one below the new quorum while the last
    // old master restarts (safety.md), so the floor is not checked here; the ceiling is.
    let watcher = Watcher::start(
        f,
        hs.clone(),
        "memb",
        Rules {
            zk_port: opts.ports.zk,
            masters_floor: false,
        },
    );
    for count in [5u32, 3] {
        let from = events(&prefix, "memb").len();
        opts.masters = count;
        apply(&prefix, &opts.yaml(f));
        wait_phase(&prefix, "memb", "Converged", CONVERGE);
        let seen = containers(f, &hs, "memb").expect("hosts");
        let masters: Vec<_> = seen
            .iter()
            .filter(|c| c.role == "master" && c.running)
            .collect();
        assert_eq!(masters.len(), count as usize, "{seen:?}");
        let q = count / 2 + 1;
        assert!(masters.iter().all(|m| m.quorum == Some(q)), "{masters:?}");
        let ev = events(&prefix, "memb");
        let kinds: Vec<(&str, &str)> = ev[from..]
            .iter()
            .map(|e| (e.0.as_str(), e.3.as_str()))
            .collect();
        if count == 5 {
            // Quorum first: the three are restarted with quorum 3 before any new one starts.
            let first_create = kinds
                .iter()
                .position(|k| k.0 == "CreateContainer")
                .expect("created");
            let replaced = kinds[..first_create]
                .iter()
                .filter(|k| k.0 == "ReplaceContainer")
                .count();
            assert_eq!(replaced, 3, "{kinds:?}");
        } else {
            // Extra masters go first (with their volumes), then the rest take quorum 2.
            let last_remove = kinds
                .iter()
                .rposition(|k| k.0 == "RemoveContainer")
                .expect("removed");
            let first_replace = kinds
                .iter()
                .position(|k| k.0 == "ReplaceContainer")
                .expect("replaced");
            assert!(last_remove < first_replace, "{kinds:?}");
        }
        work = work.assert_kept(&marathon(&prefix), &master(&prefix), &[]);
    }
    // Tasks are the agents' containers, not the operator's: the apps go before the cluster.
    work.delete(&marathon(&prefix));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !workload::master_running(&master(&prefix)).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "tasks still running after the apps' deletion"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let samples = watcher.finish();
    eprintln!("watcher (master changes): {samples} samples, no invariant broken");
}

/// A node only a throwaway digest identity may read: reading it proves the super user (the
/// ACL check is skipped for nobody else).
const PROBE: &str = "/zkrot-super-probe";
const PROBE_USER: &str = "probe:probe-only-identity";

fn zk_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Creates [`PROBE`] through `addr`, readable by [`PROBE_USER`] alone.
fn create_probe(addr: &str) {
    zk_runtime().block_on(async {
        let c = zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_connection_timeout(Duration::from_secs(5))
            .with_auth("digest", PROBE_USER.as_bytes())
            .connect(addr)
            .await
            .expect("connect for the probe node");
        let options = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
        match c.create(PROBE, b"probe", &options).await {
            Ok(_) | Err(zk::Error::NodeExists) => {}
            Err(e) => panic!("create {PROBE}: {e}"),
        }
    });
}

/// Whether `login` (`user:password`) is ZooKeeper's super user on the server at `addr`
/// (each server decides it by the digest it started with). Retries what is not an answer.
fn is_super(addr: &str, login: &str) -> bool {
    let rt = zk_runtime();
    let mut last = String::new();
    for _ in 0..10 {
        let r = rt.block_on(async {
            let c = zk::Client::connector()
                .with_session_timeout(Duration::from_secs(10))
                .with_connection_timeout(Duration::from_secs(5))
                .with_auth("digest", login.as_bytes())
                .connect(addr)
                .await?;
            c.get_data(PROBE).await.map(|_| ())
        });
        match r {
            Ok(()) => return true,
            Err(zk::Error::NoAuth) => return false,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("{addr}: no answer reading {PROBE}: {last}")
}

/// ZooKeeper's digest of a login, as the servers' zoo.cfg holds it.
fn digest_of(login: &str) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let user = login.split_once(':').map_or("", |(u, _)| u);
    let b64 = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(login.as_bytes()));
    format!("{user}:{b64}")
}

fn rotate(prefix: &str, login: &str) {
    let (code, _, err) = parts(&cli_with_stdin(
        prefix,
        &["secret", "set", "zk-super", "--from-file", "-"],
        login,
    ));
    assert_eq!(code, 0, "secret set zk-super: {err}");
}

/// Client addresses of the committed voters.
fn voter_addrs(f: &Fleet, hs: &[String], port: u16, cluster: &str) -> Vec<String> {
    containers(f, hs, cluster)
        .expect("hosts")
        .into_iter()
        .filter(|c| c.role == "zookeeper" && c.running)
        .map(|c| format!("{}:{port}", f.host(&c.host).ip))
        .collect()
}

/// Steps of `kind` on `component` since event `from` with `outcome`: their hosts.
fn steps_since(
    prefix: &str,
    from: usize,
    kind: &str,
    component: &str,
    outcome: &str,
) -> Vec<String> {
    events(prefix, "zkrot")[from..]
        .iter()
        .filter(|e| e.0 == kind && e.3 == component && e.2 == outcome)
        .map(|e| e.1.clone())
        .collect()
}

#[test]
fn a_rotated_zookeeper_super_digest_reaches_every_server_and_reconfig_goes_on() {
    let started = std::time::Instant::now();
    let _g = exclusive();
    let f = five_hosts();
    let hs: Vec<String> = f.hosts.keys().take(5).cloned().collect();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec!["zkrot".into()],
    };
    let prefix = unique_prefix("zkrot");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed("zkrot");
    opts.hosts = 5;
    opts.agent_hosts = 1;
    opts.drain_agents = false;
    let port = opts.ports.zk;
    let op = Operator::start(&prefix, &[]);
    let watcher = Watcher::start(
        f,
        hs.clone(),
        "zkrot",
        Rules {
            zk_port: port,
            masters_floor: true,
        },
    );
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, "zkrot", "Converged", CONVERGE);
    let servers = voter_addrs(f, &hs, port, "zkrot");
    assert_eq!(servers.len(), 3, "{servers:?}");
    create_probe(&servers[0]);
    for s in &servers {
        assert!(
            is_super(s, ZK_SUPER),
            "{s}: the first digest is the super user's"
        );
        assert!(
            !is_super(s, "nobody:not-the-super-user"),
            "{s}: any login could read the probe"
        );
    }
    eprintln!(
        "converged with the first digest after {:?}",
        started.elapsed()
    );

    // 1. The secret alone is rotated: every ZooKeeper server is replaced, one at a time,
    //    and starts with the new digest (before: the rotation rolled nothing, and a server
    //    replaced for another reason kept the digest of its first start).
    let second = "super:rotated-zk-secret-1e2f";
    let from = events(&prefix, "zkrot").len();
    let t = std::time::Instant::now();
    rotate(&prefix, second);
    wait_until(
        "the ZooKeeper servers replaced for the new digest",
        CONVERGE,
        || steps_since(&prefix, from, "ReplaceContainer", "zookeeper", "ok").len() >= 3,
    );
    wait_phase(&prefix, "zkrot", "Converged", CONVERGE);
    eprintln!("rotation rolled out in {:?}", t.elapsed());
    let replaced = steps_since(&prefix, from, "ReplaceContainer", "zookeeper", "ok");
    assert_eq!(replaced.len(), 3, "{replaced:?}");
    let others: Vec<_> = events(&prefix, "zkrot")[from..]
        .iter()
        .filter(|e| ["masters", "agents", "marathon"].contains(&e.3.as_str()))
        .cloned()
        .collect();
    assert!(
        others.is_empty(),
        "only ZooKeeper uses the digest: {others:?}"
    );
    for s in &servers {
        assert!(is_super(s, second), "{s}: the rotated digest is in force");
        assert!(
            !is_super(s, ZK_SUPER),
            "{s}: the old password is no longer super"
        );
    }

    // 2. Rotated again, and the ensemble grown 3 → 5 in the same breath: growth is planned
    //    before the roll, so the first joiner is the only server holding the newest digest
    //    while every voter still holds the previous one. The reconfig goes through the
    //    server that takes the credential (before: NoAuth from every voter, for good).
    let third = "super:rotated-again-zk-3a4b";
    let from = events(&prefix, "zkrot").len();
    let t = std::time::Instant::now();
    rotate(&prefix, third);
    opts.zk_servers = 5;
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, "zkrot", "Converged", CONVERGE);
    eprintln!("rotation with a grow to 5 converged in {:?}", t.elapsed());
    let (_, voters) = zk_config(f, &hs, port).expect("ZooKeeper answers");
    assert_eq!(voters.len(), 5, "{voters:?}");
    assert_eq!(
        steps_since(&prefix, from, "ZkAdd", "zookeeper", "ok").len(),
        2
    );
    let failed = steps_since(&prefix, from, "ZkAdd", "zookeeper", "error");
    assert!(
        failed.is_empty(),
        "a reconfig failed: {:?}",
        event_values(&prefix, "zkrot")
    );
    let servers = voter_addrs(f, &hs, port, "zkrot");
    assert_eq!(servers.len(), 5, "{servers:?}");
    for s in &servers {
        assert!(is_super(s, third), "{s}: the newest digest is in force");
        assert!(
            !is_super(s, second),
            "{s}: the previous password is no longer super"
        );
    }

    // 3. Rotated once more, with a shrink 5 → 3: the servers that stay are rolled first, so
    //    the reconfigs that remove the other two go through a server with the newest
    //    digest (before: the shrink, planned first, was refused by every voter).
    let fourth = "super:rotated-thrice-zk-5c6d";
    let from = events(&prefix, "zkrot").len();
    let t = std::time::Instant::now();
    rotate(&prefix, fourth);
    opts.zk_servers = 3;
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, "zkrot", "Converged", CONVERGE);
    eprintln!("rotation with a shrink to 3 converged in {:?}", t.elapsed());
    let (_, voters) = zk_config(f, &hs, port).expect("ZooKeeper answers");
    assert_eq!(voters.len(), 3, "{voters:?}");
    assert_eq!(
        steps_since(&prefix, from, "ZkRemove", "zookeeper", "ok").len(),
        2
    );
    let failed = steps_since(&prefix, from, "ZkRemove", "zookeeper", "error");
    assert!(
        failed.is_empty(),
        "a reconfig failed: {:?}",
        event_values(&prefix, "zkrot")
    );
    let servers = voter_addrs(f, &hs, port, "zkrot");
    assert_eq!(servers.len(), 3, "{servers:?}");
    for s in &servers {
        assert!(is_super(s, fourth), "{s}: the newest digest is in force");
        assert!(
            !is_super(s, third),
            "{s}: the previous password is no longer super"
        );
    }

    // Never the secret nor its digest where people and tools look.
    let logins = [ZK_SUPER, second, third, fourth];
    let mut shown = op.log_text();
    shown.push_str(&String::from_utf8_lossy(
        &cli(&prefix, &["status", "zkrot", "-o", "json"]).stdout,
    ));
    shown.push_str(&format!("{:?}", event_values(&prefix, "zkrot")));
    for h in &hs {
        let ids = f.docker_ok(
            h,
            &[
                "ps",
                "-aq",
                "--filter",
                "label=io.mesos-operator.cluster=zkrot",
            ],
        );
        for id in ids.split_whitespace() {
            shown.push_str(&f.docker_ok(h, &["inspect", id]));
        }
    }
    for login in logins {
        let password = login.split_once(':').map_or(login, |(_, p)| p);
        assert!(!shown.contains(password), "a password was shown");
        assert!(!shown.contains(&digest_of(login)), "a digest was shown");
    }
    let samples = watcher.finish();
    eprintln!(
        "watcher: {samples} samples, no invariant broken; the test took {:?}",
        started.elapsed()
    );
}
