//! DNS for Mesos as a component of the cluster (issue 28) on the real test bed, asked the
//! way any client asks it: `dig` against each server's address.
//!
//! One cluster (the seed's, with `spec.dns` of two servers refreshing every 2 s), driven by
//! `mesos-operator run`, while an independent watcher samples every 200 ms what each DNS
//! server answers for `leader.<domain>` and which master says it is elected (its own
//! `/metrics/snapshot`):
//! - converged: both servers answer the leading master; `/v1/hosts`, `/v1/services`,
//!   `/v1/config` and `/metrics` answer as Mesos-DNS's do;
//! - an app of three instances: its SRV record lists the three tasks with their ports;
//! - a rolling upgrade of the masters (the leader last, one election): the answer follows
//!   the new leader within two refresh periods;
//! - ZooKeeper 3 → 1 → 3 (the voters on the other hosts leave and come back with new ids):
//!   the servers are rolled onto the new ZooKeeper strings after Marathon, one at a time,
//!   and at every sample at least one of them answers (no gap longer than one refresh
//!   period), and they still follow the leader;
//! - every master stopped (Mesos without a leader): the servers keep answering with their
//!   last records, say they are stale in their metrics, and are fresh again once the
//!   operator has started the masters.
//!
//! Takes about 4 to 6 minutes on the 2-core test machine (most of it the operator's
//! rollouts).

// The test holds the fleet guard for its whole length on purpose.
#![allow(clippy::await_holding_lock)]

mod common;
#[path = "common/workload.rs"]
mod workload;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fleet::{exclusive, fleet, Fleet};
use common::operator::{
    apply, store_secrets, wait_phase, wait_until, ClusterGuard, ClusterOpts, Operator,
};
use common::{cli, parts, unique_prefix};

const NAME: &str = "dnsc";
const DOMAIN: &str = "mesos";
const REFRESH_SECS: u64 = 2;
const CONVERGE: Duration = Duration::from_secs(420);
const DNS_HTTP_PORT: u16 = 8123;

/// `dig +short` of one name at one server: the answer lines, or `None` when the server did
/// not answer within a second.
fn dig(server: &str, name: &str, rtype: &str) -> Option<Vec<String>> {
    let out = Command::new("dig")
        .args([
            "+short",
            "+time=1",
            "+tries=1",
            &format!("@{server}"),
            "-p",
            "53",
            name,
            rtype,
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if text.contains(";;") {
        return None;
    }
    Some(text.lines().map(str::to_string).collect())
}

/// The address of the master that says it is elected, by its own `/metrics/snapshot`.
fn elected(masters: &[String], port: u16) -> Option<String> {
    let mut found = masters.iter().filter(|ip| {
        workload::call("GET", &format!("{ip}:{port}"), "/metrics/snapshot", "")
            .and_then(|(s, b)| (s == 200).then_some(b))
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["master/elected"].as_f64() == Some(1.0))
    });
    let one = found.next().cloned();
    // Two elected at once is no answer a client could be held to.
    if found.next().is_some() {
        return None;
    }
    one
}

/// One look of the watcher.
#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    /// The elected master's address.
    truth: Option<String>,
    /// Per DNS server: its `leader.<domain>` A records, `None` when it did not answer.
    answers: Vec<Option<Vec<String>>>,
}

/// The independent watcher: asks every DNS server and every master, every 200 ms.
struct Watcher {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(servers: Vec<String>, masters: Vec<String>, master_port: u16) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, v) = (stop.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let at = Instant::now();
                let answers = servers
                    .iter()
                    .map(|d| dig(d, &format!("leader.{DOMAIN}"), "A"))
                    .collect();
                let truth = elected(&masters, master_port);
                if let Ok(mut g) = v.lock() {
                    g.push(Sample { at, truth, answers });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Watcher {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    fn samples(&self) -> Vec<Sample> {
        self.samples.lock().map(|g| g.clone()).unwrap_or_default()
    }

    fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.samples()
    }
}

/// The longest stretch in which no server answered with a leader.
fn longest_gap(samples: &[Sample]) -> Duration {
    let mut longest = Duration::ZERO;
    let mut since: Option<Instant> = None;
    for s in samples {
        let answered = s
            .answers
            .iter()
            .any(|a| a.as_ref().is_some_and(|l| !l.is_empty()));
        match (answered, since) {
            (false, None) => since = Some(s.at),
            (true, Some(t)) => {
                longest = longest.max(s.at - t);
                since = None;
            }
            _ => {}
        }
    }
    if let (Some(t), Some(last)) = (since, samples.last()) {
        longest = longest.max(last.at - t);
    }
    longest
}

/// For every change of the elected master: how long until every server that answered named
/// it, and the longest of those. A change the servers never caught up with counts until the
/// last sample.
fn longest_follow(samples: &[Sample]) -> (Duration, usize) {
    let mut longest = Duration::ZERO;
    let mut changes = 0;
    let mut current: Option<(String, Instant)> = None;
    let mut caught = true;
    for s in samples {
        let Some(truth) = &s.truth else { continue };
        if current.as_ref().is_none_or(|(c, _)| c != truth) {
            if current.is_some() {
                changes += 1;
            }
            current = Some((truth.clone(), s.at));
            caught = false;
        }
        if caught {
            continue;
        }
        let all = s
            .answers
            .iter()
            .flatten()
            .all(|a| a.len() == 1 && &a[0] == truth);
        if all && s.answers.iter().any(Option::is_some) {
            if let Some((_, since)) = &current {
                longest = longest.max(s.at - *since);
            }
            caught = true;
        }
    }
    if !caught {
        if let (Some((_, since)), Some(last)) = (&current, samples.last()) {
            longest = longest.max(last.at - *since);
        }
    }
    (longest, changes)
}

fn status_json(prefix: &str) -> serde_json::Value {
    let (code, out, err) = parts(&cli(prefix, &["status", NAME, "-o", "json"]));
    assert_eq!(code, 0, "status: {err}");
    serde_json::from_str(&out).expect("status json")
}

fn run_ok(prefix: &str, args: &[&str]) -> String {
    let (code, out, err) = parts(&cli(prefix, args));
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The seed's cluster with two DNS servers, the registry's `mesos-dns` image.
fn document(f: &Fleet, opts: &ClusterOpts) -> String {
    format!(
        "{}  dns: {{image: '{}/mesos-dns:0.1.0', instances: 2, domain: {DOMAIN}, refreshSeconds: {REFRESH_SECS}, ttl: {REFRESH_SECS}, httpPort: {DNS_HTTP_PORT}}}\n",
        opts.yaml(f),
        f.registry
    )
}

fn get(addr: &str, path: &str) -> (u16, serde_json::Value) {
    let (s, b) = workload::call("GET", addr, path, "").unwrap_or((0, String::new()));
    (
        s,
        serde_json::from_str(&b).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn dns_follows_the_leader_through_master_and_zookeeper_changes_and_never_goes_silent() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![NAME.into()],
    };
    let prefix = unique_prefix("dns");
    store_secrets(&prefix, f);
    let opts = ClusterOpts::seed(NAME);
    let hosts: Vec<String> = f.hosts.keys().take(3).cloned().collect();
    let ips: Vec<String> = hosts.iter().map(|h| f.host(h).ip.clone()).collect();
    let dns_servers: Vec<String> = ips[..2].to_vec();
    let _op = Operator::start(&prefix, &[]);
    let t0 = Instant::now();
    apply(&prefix, &document(f, &opts));
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    eprintln!("converged with DNS in {:?}", t0.elapsed());

    // 1. Both servers answer the leading master, as the status names it.
    let st = status_json(&prefix);
    assert_eq!(st["components"]["dns"]["ready"], 2, "{st}");
    assert_eq!(st["components"]["dns"]["desired"], 2, "{st}");
    let leader_ip = wait_until_some("a master elected", || elected(&ips, opts.ports.master));
    for d in &dns_servers {
        wait_until(
            &format!("{d} to answer leader.{DOMAIN}"),
            Duration::from_secs(2 * REFRESH_SECS + 5),
            || dig(d, &format!("leader.{DOMAIN}"), "A") == Some(vec![leader_ip.clone()]),
        );
        let masters: BTreeSet<String> = dig(d, &format!("master.{DOMAIN}"), "A")
            .unwrap_or_default()
            .into_iter()
            .collect();
        assert_eq!(
            masters,
            ips.iter().cloned().collect(),
            "master.{DOMAIN} at {d}"
        );
        let srv = dig(d, &format!("_leader._tcp.{DOMAIN}"), "SRV").unwrap_or_default();
        assert_eq!(
            srv,
            vec![format!("0 0 {} leader.{DOMAIN}.", opts.ports.master)],
            "{d}"
        );
        // Names outside the domain with no resolvers configured: refused, not invented.
        let out = Command::new("dig")
            .args(["+time=1", "+tries=1", &format!("@{d}"), "example.com", "A"])
            .output()
            .expect("dig");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("status: REFUSED"), "{d}: {text}");
        let text = Command::new("dig")
            .args([
                "+time=1",
                "+tries=1",
                &format!("@{d}"),
                &format!("nothing.{DOMAIN}"),
                "A",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        assert!(
            text.contains("status: NXDOMAIN") && text.contains("flags: qr aa"),
            "{d}: {text}"
        );
        let http = format!("{d}:{DNS_HTTP_PORT}");
        let (s, v) = get(&http, &format!("/v1/hosts/leader.{DOMAIN}"));
        assert_eq!(s, 200);
        assert_eq!(v[0]["ip"], leader_ip.as_str(), "{v}");
        let (s, v) = get(&http, "/v1/config");
        assert_eq!(s, 200);
        assert_eq!(v["RefreshSeconds"], REFRESH_SECS, "{v}");
        assert!(
            v["Zk"].as_str().is_some_and(|z| z.starts_with("zk://")),
            "{v}"
        );
        let (s, v) = get(&http, "/v1/version");
        assert_eq!((s, v["Service"].as_str()), (200, Some("Mesos-DNS")));
        let (s, metrics) = workload::call("GET", &http, "/metrics", "").unwrap_or_default();
        assert_eq!(s, 200);
        assert!(metrics.contains("mesos_dns_stale 0"), "{metrics}");
    }

    // 2. An app of three instances: its SRV record lists the three tasks and their ports.
    let marathon = format!("{}:{}", ips[0], opts.ports.marathon);
    let body = r#"{"id":"/dnsweb","cmd":"sleep 86400","instances":3,"cpus":0.05,"mem":16,"portDefinitions":[{"port":0,"protocol":"tcp"}]}"#;
    let (s, b) = wait_until_some("Marathon to accept /dnsweb", || {
        workload::call("POST", &marathon, "/v2/apps", body).filter(|(s, _)| *s != 502 && *s != 503)
    });
    assert!(s == 201 || s == 409, "{s} {b}");
    // (agent address, port) of each running task, as Marathon tells them.
    let want: BTreeSet<(String, String)> =
        wait_until_some("three running tasks with ports", || {
            let (s, v) = get(&marathon, "/v2/apps/dnsweb/tasks");
            let tasks = v["tasks"].as_array().cloned().unwrap_or_default();
            let running: BTreeSet<(String, String)> = tasks
                .iter()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| {
                    Some((
                        t["host"].as_str()?.to_string(),
                        t["ports"][0].as_u64()?.to_string(),
                    ))
                })
                .collect();
            (s == 200 && tasks.len() == 3 && running.len() == 3).then_some(running)
        });
    // The same, as a client resolves the SRV record: each target's address and its port.
    let srv_name = format!("_dnsweb._tcp.marathon.{DOMAIN}");
    let resolved = |server: &str| -> BTreeSet<(String, String)> {
        dig(server, &srv_name, "SRV")
            .unwrap_or_default()
            .iter()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let a = dig(server, f.get(3)?, "A")?;
                Some((a.first()?.clone(), f.get(2)?.to_string()))
            })
            .collect()
    };
    let took = wait_until(
        &format!("{srv_name} to list the three tasks"),
        Duration::from_secs(4 * REFRESH_SECS + 10),
        || dns_servers.iter().all(|d| resolved(d) == want),
    );
    eprintln!("SRV listed the three tasks on both servers {took:?} after Marathon ran them");
    assert_eq!(
        dig(&dns_servers[0], &srv_name, "SRV").map(|l| l.len()),
        Some(3),
        "one SRV record per task"
    );

    // 3. Masters rolled (the leader last): the answer follows the one election.
    let watcher = Watcher::start(dns_servers.clone(), ips.clone(), opts.ports.master);
    run_ok(&prefix, &["bump", NAME, "masters", "1.12.0-rc1"]);
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    std::thread::sleep(Duration::from_secs(2 * REFRESH_SECS + 1));
    let masters_samples = watcher.samples();
    let (follow, changes) = longest_follow(&masters_samples);
    eprintln!(
        "masters rolled: {changes} leader change(s) seen, DNS followed within {follow:?} (bound {}s), longest silence {:?}, {} samples",
        2 * REFRESH_SECS,
        longest_gap(&masters_samples),
        masters_samples.len()
    );
    assert!(changes >= 1, "the leader moved at least once");
    assert!(
        follow <= Duration::from_secs(2 * REFRESH_SECS),
        "leader.{DOMAIN} followed the new leader only after {follow:?}"
    );

    // 4. ZooKeeper 3 → 1 → 3: the servers are rolled onto each new string, one at a time,
    //    after Marathon; one of them answers at every sample.
    for servers in [1, 3] {
        let mut o = opts.clone();
        o.zk_servers = servers;
        o.master_image = common::operator::emulator_image("mesos-master:1.12.0-rc1");
        let from = dns_containers(f, &hosts);
        apply(&prefix, &document(f, &o));
        wait_phase(&prefix, NAME, "Converged", CONVERGE);
        let to = dns_containers(f, &hosts);
        assert_ne!(from, to, "ZooKeeper {servers}: the DNS servers were rolled");
        let zk = get(&format!("{}:{DNS_HTTP_PORT}", dns_servers[0]), "/v1/config").1["Zk"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            zk.trim_start_matches("zk://").split(',').count(),
            servers as usize,
            "{zk}"
        );
    }
    std::thread::sleep(Duration::from_secs(2 * REFRESH_SECS + 1));
    let all = watcher.finish();
    let gap = longest_gap(&all);
    let (follow, changes) = longest_follow(&all);
    eprintln!(
        "whole run: {} samples over {:?}; longest silence {gap:?}; {changes} leader change(s), followed within {follow:?}",
        all.len(),
        all.last().map(|l| l.at - all[0].at).unwrap_or_default()
    );
    assert!(
        gap <= Duration::from_secs(REFRESH_SECS),
        "no DNS server answered leader.{DOMAIN} for {gap:?}"
    );
    assert!(
        follow <= Duration::from_secs(2 * REFRESH_SECS),
        "followed a leader change only after {follow:?}"
    );
    // The last answer is the leader's, from both.
    let leader_ip = wait_until_some("a master elected", || elected(&ips, opts.ports.master));
    for d in &dns_servers {
        assert_eq!(
            dig(d, &format!("leader.{DOMAIN}"), "A"),
            Some(vec![leader_ip.clone()]),
            "{d}"
        );
    }

    // 5. Mesos leaderless: every master stopped by a person. The servers keep answering
    //    with their last records, marked stale, and never exit; once the operator has
    //    started the masters again, they are fresh and name the leader.
    let metric = |d: &str, name: &str| -> Option<f64> {
        let (_, text) = workload::call("GET", &format!("{d}:{DNS_HTTP_PORT}"), "/metrics", "")?;
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    for h in &hosts {
        f.docker_ok(h, &["stop", "-t", "1", &format!("{NAME}-master-{h}")]);
    }
    for d in &dns_servers {
        wait_until(
            &format!("{d} to say its records are stale"),
            Duration::from_secs(4 * REFRESH_SECS + 10),
            || metric(d, "mesos_dns_stale") == Some(1.0),
        );
        // No master in the election, or the one named there not answering its state
        // (its ZooKeeper session outlives it for the session timeout).
        let failed = ["no_leader", "state_error"]
            .map(|r| metric(d, &format!("mesos_dns_refreshes_total{{result=\"{r}\"}}")));
        assert!(
            failed.iter().flatten().sum::<f64>() > 0.0,
            "{d}: the failed refreshes are counted: {failed:?}"
        );
        assert_eq!(
            dig(d, &format!("leader.{DOMAIN}"), "A"),
            Some(vec![leader_ip.clone()]),
            "{d} keeps its last records while Mesos has no leader"
        );
    }
    let t = Instant::now();
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    let leader_ip = wait_until_some("a master elected", || elected(&ips, opts.ports.master));
    for d in &dns_servers {
        wait_until(
            &format!("{d} to be fresh and name {leader_ip}"),
            Duration::from_secs(2 * REFRESH_SECS + 5),
            || {
                metric(d, "mesos_dns_stale") == Some(0.0)
                    && dig(d, &format!("leader.{DOMAIN}"), "A") == Some(vec![leader_ip.clone()])
            },
        );
    }
    eprintln!(
        "masters stopped: both servers kept answering, stale; fresh again {:?} after the stop",
        t.elapsed()
    );
}

/// The DNS containers' ids on the hosts (to tell that they were replaced).
fn dns_containers(f: &Fleet, hosts: &[String]) -> Vec<String> {
    hosts
        .iter()
        .map(|h| {
            let out = f.docker(
                h,
                &["ps", "-aq", "--filter", &format!("name={NAME}-dns-{h}")],
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect()
}

/// Polls `f` until it gives a value (two minutes at most).
fn wait_until_some<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}
