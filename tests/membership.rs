//! Membership changes on a 5-host test bed: ZooKeeper 3 → 5 → 3 by dynamic reconfiguration
//! with masters, agents and Marathon rolled onto each new connection string, and masters
//! 3 → 5 → 3 following Mesos' documented procedure (the quorum moves first when growing,
//! last when shrinking). The independent watcher checks quorum, the masters' ceiling and one
//! joiner at a time throughout.

mod common;
#[path = "common/workload.rs"]
mod workload;

use std::collections::BTreeSet;
use std::time::Duration;

use common::fleet::{exclusive, fleet, Fleet};
use common::operator::{
    apply, containers, events, store_secrets, wait_phase, zk_config, ClusterGuard, ClusterOpts,
    Operator, Rules, Watcher,
};
use common::unique_prefix;

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
