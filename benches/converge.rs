//! How fast the operator converges, on the real test bed (`cargo bench --bench converge`),
//! each figure next to references measured in the same run on the same fleet (issue 10):
//!
//! 1. `apply` of the seed's cluster → Converged, and a masters bump (1.11.0 → 1.12.0-rc1) →
//!    Converged, against (a) the lower bound: the sum, along the one-at-a-time path the
//!    operator must take, of each container's own start-to-healthy time, and (b) the same
//!    containers started all at once with a static configuration and no safety at all.
//!    What the operator's time is made of comes from its JSON log: the steps themselves
//!    versus the waits between them (health gates and polling).
//! 2. etcd write → first Docker action: `apply` alternating a Marathon flag (each write
//!    replaces Marathon; alternating two Marathon tags cannot work, as Marathon refuses state
//!    migrated by a newer version), each followed by a wait for Converged; median and p99
//!    (`BENCH_WRITES`, default 100: about 2.5 s a write here).
//! 3. Resident memory of `mesos-operator run` with the one cluster, and with 10 small
//!    clusters on the fleet.
//!
//! "Healthy" is what the operator's own gates ask for: ZooKeeper `ruok` → `imok` and a
//! serving mode in `srvr`; a master's `/health` 200 and a leader (`master/elected` 1) with its
//! registry recovered; an agent's `/health` 200 and listed active by the leading master;
//! Marathon's `/ping` 200 with its framework active on the leading master.
//!
//! The reference containers are created through the operator's own Docker client from
//! `Desired::from_document`, so they carry exactly the operator's image, environment,
//! volumes and labels. Everything runs on this process's own test bed (brought up and taken
//! down by the harness); containers and volumes are removed by cluster label after each part.
//! The machine is shared: the figures are noisy.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::fleet::{fleet, four_letter, Fleet};
use common::operator::{emulator_image, store_secrets, ClusterOpts, Operator, Series};
use common::{cli, cli_with_stdin, parts, unique_prefix};
use mesos_operator::docker::HostClient;
use mesos_operator::observe;
use mesos_operator::secrets::SecretSource;
use mesos_operator_core::desired::{labels, ContainerSpec, Desired};
use mesos_operator_core::spec::{parse_document, Component, MesosCluster};
use serde_json::Value;

const PROBE: Duration = Duration::from_millis(100);
const HEALTH_LIMIT: Duration = Duration::from_secs(180);
const CONVERGE_LIMIT: Duration = Duration::from_secs(400);

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

// ---------------------------------------------------------------- probes

fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let sa: SocketAddr = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_millis(800)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    s.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

fn get_json(addr: &str, path: &str) -> Option<Value> {
    match http_get(addr, path) {
        Some((200, body)) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Where a cluster's members listen.
#[derive(Debug, Clone)]
struct Layout {
    zk: Vec<String>,
    zk_port: u16,
    masters: Vec<String>,
    master_port: u32,
    agents: Vec<String>,
    agent_port: u32,
    marathon: Vec<String>,
    marathon_port: u32,
}

impl Layout {
    fn of(d: &Desired) -> Layout {
        let ips = |c: Component| -> Vec<String> {
            d.hosts_of(c)
                .iter()
                .map(|h| d.addresses[*h].clone())
                .collect()
        };
        Layout {
            zk: ips(Component::Zookeeper),
            zk_port: u16::try_from(d.zookeeper.client_port).expect("port"),
            masters: ips(Component::Masters),
            master_port: d.ports.master,
            agents: ips(Component::Agents),
            agent_port: d.ports.agent,
            marathon: ips(Component::Marathon),
            marathon_port: d.ports.marathon,
        }
    }

    fn zk_ok(&self, ip: &str) -> bool {
        let t = Duration::from_millis(800);
        if four_letter(ip, self.zk_port, "ruok", t).trim() != "imok" {
            return false;
        }
        four_letter(ip, self.zk_port, "srvr", t).lines().any(|l| {
            matches!(
                l.strip_prefix("Mode: ").map(str::trim),
                Some("leader" | "follower" | "observer" | "standalone")
            )
        })
    }

    fn master(&self, ip: &str) -> String {
        format!("{ip}:{}", self.master_port)
    }

    fn master_health(&self, ip: &str) -> bool {
        matches!(http_get(&self.master(ip), "/health"), Some((200, _)))
    }

    /// The elected master and whether its registry is recovered.
    fn leader(&self) -> Option<(String, bool)> {
        self.masters.iter().find_map(|ip| {
            let m = get_json(&self.master(ip), "/metrics/snapshot")?;
            (m["master/elected"].as_f64() == Some(1.0)).then(|| {
                (
                    ip.clone(),
                    m["registrar/log/recovered"].as_f64() == Some(1.0),
                )
            })
        })
    }

    fn leader_recovered(&self) -> bool {
        self.leader().is_some_and(|(_, r)| r)
    }

    fn agent_ok(&self, ip: &str) -> bool {
        if !matches!(
            http_get(&format!("{ip}:{}", self.agent_port), "/health"),
            Some((200, _))
        ) {
            return false;
        }
        let Some((leader, _)) = self.leader() else {
            return false;
        };
        get_json(&self.master(&leader), "/master/slaves").is_some_and(|v| {
            v["slaves"]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s["hostname"] == ip && s["active"] == true))
        })
    }

    fn marathon_ok(&self, ip: &str) -> bool {
        if !matches!(
            http_get(&format!("{ip}:{}", self.marathon_port), "/ping"),
            Some((200, _))
        ) {
            return false;
        }
        let Some((leader, _)) = self.leader() else {
            return false;
        };
        get_json(&self.master(&leader), "/master/frameworks").is_some_and(|v| {
            v["frameworks"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|f| f["name"] == "marathon" && f["active"] == true)
            })
        })
    }

    /// Every member healthy, as Converged requires.
    fn all_healthy(&self) -> bool {
        self.zk.iter().all(|ip| self.zk_ok(ip))
            && self.masters.iter().all(|ip| self.master_health(ip))
            && self.leader_recovered()
            && self.agents.iter().all(|ip| self.agent_ok(ip))
            && self.marathon.iter().all(|ip| self.marathon_ok(ip))
    }
}

/// Polls `ok` until it holds; the time since `from`, or None after `limit`.
fn wait_from(from: Instant, limit: Duration, mut ok: impl FnMut() -> bool) -> Option<Duration> {
    loop {
        if ok() {
            return Some(from.elapsed());
        }
        if from.elapsed() > limit {
            return None;
        }
        std::thread::sleep(PROBE);
    }
}

// ---------------------------------------------------------------- the bed

struct Bed {
    f: &'static Fleet,
    rt: tokio::runtime::Runtime,
    secrets: SecretSource,
}

impl Bed {
    fn doc(&self, opts: &ClusterOpts) -> MesosCluster {
        parse_document(&opts.yaml(self.f)).expect("bench document")
    }

    fn clients(&self, doc: &MesosCluster) -> BTreeMap<String, HostClient> {
        let fl = self.rt.block_on(observe::connect(doc, &self.secrets));
        fl.hosts
            .into_iter()
            .map(|(h, c)| {
                (
                    h.clone(),
                    c.unwrap_or_else(|e| panic!("client for {h}: {e}")),
                )
            })
            .collect()
    }

    fn create(
        &self,
        clients: &BTreeMap<String, HostClient>,
        cluster: &str,
        spec: &ContainerSpec,
        env: BTreeMap<String, String>,
        lbl: BTreeMap<String, String>,
    ) {
        self.rt.block_on(create_retry(
            &clients[&spec.host],
            cluster,
            spec,
            &env,
            &lbl,
        ));
    }

    /// Removes a cluster's containers and volumes on every host.
    fn wipe(&self, cluster: &str) {
        let label = format!("label={}={cluster}", labels::CLUSTER);
        for h in self.f.hosts.keys() {
            let ids = self.f.docker(h, &["ps", "-aq", "--filter", &label]);
            let ids = String::from_utf8_lossy(&ids.stdout).to_string();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids);
                self.f.docker(h, &args);
            }
            let vols = self
                .f
                .docker(h, &["volume", "ls", "-q", "--filter", &label]);
            let vols = String::from_utf8_lossy(&vols.stdout).to_string();
            let vols: Vec<&str> = vols.split_whitespace().collect();
            if !vols.is_empty() {
                let mut args = vec!["volume", "rm", "-f"];
                args.extend(vols);
                self.f.docker(h, &args);
            }
        }
    }
}

/// `create_and_start`, retried: on a loaded machine an engine call can miss its deadline
/// (the container may then exist already, and is only started).
async fn create_retry(
    c: &HostClient,
    cluster: &str,
    spec: &ContainerSpec,
    env: &BTreeMap<String, String>,
    lbl: &BTreeMap<String, String>,
) {
    let mut last = String::new();
    for attempt in 0..6 {
        let r = if attempt == 0 {
            c.create_and_start(cluster, spec, env, lbl).await
        } else {
            match c.start(&spec.name).await {
                Ok(()) => Ok(()),
                Err(_) => c.create_and_start(cluster, spec, env, lbl).await,
            }
        };
        match r {
            Ok(()) => return,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("create {}: {last}", spec.name);
}

/// Stops and removes a container, retried likewise (gone counts as removed).
async fn remove_retry(c: &HostClient, spec: &ContainerSpec) {
    let mut last = String::new();
    for _ in 0..6 {
        match c.remove(&spec.name, None).await {
            Ok(()) => return,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("remove {}: {last}", spec.name);
}

/// Removes every cluster the bench made, however it ends.
struct Wipe<'a> {
    bed: &'a Bed,
    clusters: Vec<String>,
}

impl Drop for Wipe<'_> {
    fn drop(&mut self) {
        for c in &self.clusters {
            self.bed.wipe(c);
        }
    }
}

fn zk_identity(id: usize, ensemble: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    (
        BTreeMap::from([
            ("ZK_SERVER_ID".to_string(), id.to_string()),
            ("ZK_ENSEMBLE".to_string(), ensemble.to_string()),
        ]),
        BTreeMap::from([(labels::ZK_ID.to_string(), id.to_string())]),
    )
}

fn quorum_label(d: &Desired) -> BTreeMap<String, String> {
    BTreeMap::from([(
        labels::MASTER_QUORUM.to_string(),
        d.master_quorum.to_string(),
    )])
}

fn specs(d: &Desired, c: Component) -> Vec<ContainerSpec> {
    d.hosts_of(c)
        .iter()
        .map(|h| d.container(c, h).expect("spec").clone())
        .collect()
}

// ---------------------------------------------------------------- references

/// What was measured, each with its time.
type Timings = Vec<(String, Duration)>;

/// Per-container start-to-healthy times along the operator's one-at-a-time path; then the
/// masters replaced one at a time (non-leaders first) with the bumped image.
fn lower_bound(bed: &Bed, name: &str) -> Option<(Timings, Timings)> {
    let opts = ClusterOpts::seed(name);
    let doc = bed.doc(&opts);
    let d = Desired::from_document(&doc);
    let l = Layout::of(&d);
    let clients = bed.clients(&doc);
    let mut seed = Vec::new();
    let zk = specs(&d, Component::Zookeeper);
    // Server 1 bootstraps alone; each later one starts, as the operator's joiners do, with the
    // committed member(s) plus itself and must serve synced (no reconfig here: that is the
    // operator's own work, not a container's start).
    let first = format!("1={}", l.zk[0]);
    for (i, s) in zk.iter().enumerate() {
        let ensemble = if i == 0 {
            first.clone()
        } else {
            format!("{first},{}={}", i + 1, l.zk[i])
        };
        let (env, lbl) = zk_identity(i + 1, &ensemble);
        let t = Instant::now();
        bed.create(&clients, name, s, env, lbl);
        let ip = &l.zk[i];
        let dt = wait_from(t, HEALTH_LIMIT, || l.zk_ok(ip))?;
        seed.push((format!("zookeeper {}", s.host), dt));
    }
    for (i, s) in specs(&d, Component::Masters).iter().enumerate() {
        let t = Instant::now();
        bed.create(&clients, name, s, BTreeMap::new(), quorum_label(&d));
        let ip = l.masters[i].clone();
        let dt = wait_from(t, HEALTH_LIMIT, || {
            l.master_health(&ip)
                && match i {
                    0 => l.leader().is_some(),
                    1 => l.leader_recovered(),
                    _ => true,
                }
        })?;
        seed.push((format!("master {}", s.host), dt));
    }
    for (i, s) in specs(&d, Component::Agents).iter().enumerate() {
        let t = Instant::now();
        bed.create(&clients, name, s, BTreeMap::new(), BTreeMap::new());
        let ip = l.agents[i].clone();
        let dt = wait_from(t, HEALTH_LIMIT, || l.agent_ok(&ip))?;
        seed.push((format!("agent {}", s.host), dt));
    }
    for (i, s) in specs(&d, Component::Marathon).iter().enumerate() {
        let t = Instant::now();
        bed.create(&clients, name, s, BTreeMap::new(), BTreeMap::new());
        let ip = l.marathon[i].clone();
        let dt = wait_from(t, HEALTH_LIMIT, || l.marathon_ok(&ip))?;
        seed.push((format!("marathon {}", s.host), dt));
    }
    wait_from(Instant::now(), HEALTH_LIMIT, || l.all_healthy())?;

    // The bump: stop and replace one master at a time, the leader last; the last one counts
    // until everything is healthy again (agents and Marathon follow the new leader).
    let bumped = Desired::from_document(&bed.doc(&ClusterOpts {
        master_image: emulator_image("mesos-master:1.12.0-rc1"),
        ..opts
    }));
    let leader = l.leader().map(|(ip, _)| ip).unwrap_or_default();
    let mut order: Vec<usize> = (0..l.masters.len())
        .filter(|i| l.masters[*i] != leader)
        .collect();
    order.extend((0..l.masters.len()).filter(|i| l.masters[*i] == leader));
    let new = specs(&bumped, Component::Masters);
    let mut bump = Vec::new();
    for (n, i) in order.iter().enumerate() {
        let s = &new[*i];
        let t = Instant::now();
        bed.rt.block_on(remove_retry(&clients[&s.host], s));
        bed.create(&clients, name, s, BTreeMap::new(), quorum_label(&bumped));
        let ip = l.masters[*i].clone();
        let last = n + 1 == order.len();
        let dt = wait_from(t, HEALTH_LIMIT, || {
            l.master_health(&ip)
                && if last {
                    l.all_healthy()
                } else {
                    l.leader_recovered()
                }
        })?;
        bump.push((
            format!("master {}{}", s.host, if last { " (leader)" } else { "" }),
            dt,
        ));
    }
    Some((seed, bump))
}

/// Every container at once with a static configuration, until all are healthy; then all
/// three masters replaced at once.
fn parallel(bed: &Bed, name: &str) -> Option<(Duration, Duration)> {
    let opts = ClusterOpts::seed(name);
    let doc = bed.doc(&opts);
    let d = Desired::from_document(&doc);
    let l = Layout::of(&d);
    let clients = bed.clients(&doc);
    let ensemble: String =
        l.zk.iter()
            .enumerate()
            .map(|(i, ip)| format!("{}={ip}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
    let mut jobs = Vec::new();
    for (i, s) in specs(&d, Component::Zookeeper).into_iter().enumerate() {
        let (env, lbl) = zk_identity(i + 1, &ensemble);
        jobs.push((s, env, lbl));
    }
    for s in specs(&d, Component::Masters) {
        jobs.push((s, BTreeMap::new(), quorum_label(&d)));
    }
    for c in [Component::Agents, Component::Marathon] {
        for s in specs(&d, c) {
            jobs.push((s, BTreeMap::new(), BTreeMap::new()));
        }
    }
    let t = Instant::now();
    bed.rt
        .block_on(futures_util::future::join_all(jobs.iter().map(
            |(s, env, lbl)| {
                let c = &clients[&s.host];
                create_retry(c, name, s, env, lbl)
            },
        )));
    let seed = wait_from(t, HEALTH_LIMIT, || l.all_healthy())?;

    let bumped = Desired::from_document(&bed.doc(&ClusterOpts {
        master_image: emulator_image("mesos-master:1.12.0-rc1"),
        ..opts
    }));
    let new = specs(&bumped, Component::Masters);
    let lbl = quorum_label(&bumped);
    let t = Instant::now();
    bed.rt
        .block_on(futures_util::future::join_all(new.iter().map(|s| {
            let c = &clients[&s.host];
            let lbl = &lbl;
            async move {
                remove_retry(c, s).await;
                create_retry(c, name, s, &BTreeMap::new(), lbl).await;
            }
        })));
    let bump = wait_from(t, HEALTH_LIMIT, || l.all_healthy())?;
    Some((seed, bump))
}

// ---------------------------------------------------------------- the operator

fn status(prefix: &str, name: &str) -> (String, u64) {
    let (code, out, _) = parts(&cli(prefix, &["status", name, "-o", "json"]));
    if code != 0 {
        return (String::new(), 0);
    }
    let v: Value = serde_json::from_str(&out).unwrap_or_default();
    (
        v["phase"].as_str().unwrap_or_default().to_string(),
        v["observedGeneration"].as_u64().unwrap_or(0),
    )
}

/// Runs a command that stores a new generation; returns that generation.
fn write(prefix: &str, name: &str, args: &[&str], stdin: &str) -> u64 {
    let (code, _, err) = parts(&cli_with_stdin(prefix, args, stdin));
    assert_eq!(code, 0, "{args:?}: {err}");
    generation(prefix, name)
}

fn generation(prefix: &str, name: &str) -> u64 {
    let (code, out, err) = parts(&cli(prefix, &["get", name, "-o", "json"]));
    assert_eq!(code, 0, "get: {err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    v["metadata"]["generation"].as_u64().unwrap_or(0).max(1)
}

fn wait_converged(prefix: &str, name: &str, generation: u64, from: Instant) -> Option<Duration> {
    wait_converged_within(prefix, name, generation, from, CONVERGE_LIMIT)
}

fn wait_converged_within(
    prefix: &str,
    name: &str,
    generation: u64,
    from: Instant,
    limit: Duration,
) -> Option<Duration> {
    loop {
        let (p, g) = status(prefix, name);
        if p == "Converged" && g >= generation {
            return Some(from.elapsed());
        }
        if from.elapsed() > limit {
            eprintln!(
                "converge: {name} not Converged after {}s (phase {p})",
                limit.as_secs()
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A step as the operator's JSON log shows it.
#[derive(Debug, Clone)]
struct LoggedStep {
    start: i128,
    end: Option<i128>,
    kind: String,
    host: String,
    text: String,
}

fn parse_ts(s: &str) -> Option<i128> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

fn span_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v["span"][key].as_str().or_else(|| {
        v["spans"]
            .as_array()?
            .iter()
            .rev()
            .find_map(|s| s[key].as_str())
    })
}

/// The steps of `cluster` in the log between `from` and `to` (ns since the epoch).
fn logged_steps(log: &str, cluster: &str, from: i128, to: i128) -> Vec<LoggedStep> {
    let mut out: Vec<LoggedStep> = Vec::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(ts) = v["timestamp"].as_str().and_then(parse_ts) else {
            continue;
        };
        if ts < from || ts > to || span_field(&v, "cluster") != Some(cluster) {
            continue;
        }
        match v["fields"]["message"].as_str() {
            Some("taking a step") => out.push(LoggedStep {
                start: ts,
                end: None,
                kind: span_field(&v, "kind").unwrap_or_default().to_string(),
                host: span_field(&v, "host").unwrap_or_default().to_string(),
                text: v["fields"]["step"].as_str().unwrap_or_default().to_string(),
            }),
            Some("step done") | Some("step failed") => {
                if let Some(s) = out.last_mut().filter(|s| s.end.is_none()) {
                    s.end = Some(ts);
                }
            }
            _ => {}
        }
    }
    out
}

fn role_of(step: &str) -> &'static str {
    let t = step.to_lowercase();
    if t.contains("zookeeper") || t.contains("reconfig") {
        "zookeeper"
    } else if t.contains("marathon") {
        "marathon"
    } else if t.contains("agent") {
        "agents"
    } else if t.contains("master") {
        "masters"
    } else {
        "other"
    }
}

/// Where the operator's time went between `from` (the write) and `to` (Converged seen).
/// `reference`: the lower bound's own start-to-healthy times, to set each component's
/// steps and waits against.
fn breakdown(what: &str, log: &str, cluster: &str, from: i128, to: i128, reference: &Timings) {
    let steps = logged_steps(log, cluster, from, to);
    if steps.is_empty() {
        println!("{what}: no steps found in the operator's log");
        return;
    }
    let ns = |d: i128| d as f64 / 1e9;
    let total = ns(to - from);
    let react = ns(steps[0].start - from);
    let mut in_steps = 0.0;
    let mut waits: Vec<(f64, String)> = Vec::new();
    let mut by_role: BTreeMap<String, (f64, f64, usize)> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        let end = s.end.unwrap_or(s.start);
        let next = steps.get(i + 1).map(|n| n.start).unwrap_or(to);
        let (dur, wait) = (ns(end - s.start), ns(next - end));
        in_steps += dur;
        let e = by_role.entry(role_of(&s.text).to_string()).or_default();
        e.0 += dur;
        e.1 += wait;
        e.2 += 1;
        waits.push((wait, format!("{} {} ({})", s.kind, s.host, s.text)));
        println!(
            "{what}:   step {:>2} {:<22} {:<6} took {:>5.1} s, then {:>5.1} s until the next step ({})",
            i + 1,
            s.kind,
            s.host,
            dur,
            wait,
            s.text
        );
    }
    let waited: f64 = waits.iter().map(|w| w.0).sum();
    println!(
        "{what}: {} steps; {total:.1} s = {react:.1} s before the first step + {in_steps:.1} s in steps + {waited:.1} s waiting between/after steps (health gates, polling)",
        steps.len()
    );
    for (role, (dur, wait, n)) in &by_role {
        let own: f64 = reference
            .iter()
            .filter(|(w, _)| role_of(w) == role.as_str())
            .map(|(_, d)| secs(*d))
            .sum();
        println!(
            "{what}:   {role}: {n} step(s), {dur:.1} s in steps + {wait:.1} s waiting after them = {:.1} s; its containers' own start-to-healthy {own:.1} s (overhead {:.1} s)",
            dur + wait,
            dur + wait - own
        );
    }
    waits.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<String> = waits
        .iter()
        .take(3)
        .map(|(w, s)| format!("{w:.1} s after {s}"))
        .collect();
    println!("{what}: longest waits: {}", top.join("; "));
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `docker events` on every host, as (time ns, type, action, cluster label, name).
struct EventWatch {
    children: Vec<Child>,
    rx: mpsc::Receiver<(i128, String, String, String, String)>,
}

impl EventWatch {
    fn start(f: &Fleet) -> EventWatch {
        let (tx, rx) = mpsc::channel();
        let mut children = Vec::new();
        for h in f.hosts.keys() {
            let mut child = f
                .docker_command(h, &[])
                .args(["events", "--format", "{{json .}}"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .stdin(Stdio::null())
                .spawn()
                .expect("docker events");
            let out = child.stdout.take().expect("stdout");
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    let attrs = &v["Actor"]["Attributes"];
                    let ev = (
                        v["timeNano"].as_i64().unwrap_or(0) as i128,
                        v["Type"].as_str().unwrap_or_default().to_string(),
                        v["Action"].as_str().unwrap_or_default().to_string(),
                        attrs[labels::CLUSTER]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        attrs["name"].as_str().unwrap_or_default().to_string(),
                    );
                    if tx.send(ev).is_err() {
                        break;
                    }
                }
            });
            children.push(child);
        }
        EventWatch { children, rx }
    }

    fn drain(&self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// The first event after `after` that is an action on `cluster`'s containers or an image
    /// pull (the operator pulls before it creates).
    fn first(&self, cluster: &str, after: i128, limit: Duration) -> Option<(i128, String)> {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok((t, typ, action, cl, name)) = self.rx.recv_timeout(left) else {
                return None;
            };
            if t < after {
                continue;
            }
            if (typ == "container" && cl == cluster) || (typ == "image" && action == "pull") {
                return Some((t, format!("{typ} {action} {name}")));
            }
        }
        None
    }
}

impl Drop for EventWatch {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// `BENCH_REPAIRS` (default 10) times: `docker rm -f` of one of the converged cluster's
/// agents (a different host each time), then the time from the engine's `destroy` event
/// to the operator's first action on that container (its `create`), both in the engine's
/// clock.
fn repairs(f: &Fleet, prefix: &str, cluster: &str) {
    let n: usize = std::env::var("BENCH_REPAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let watch = EventWatch::start(f);
    std::thread::sleep(Duration::from_millis(500));
    let hosts: Vec<String> = f.hosts.keys().take(3).cloned().collect();
    let mut took = Vec::new();
    for i in 0..n {
        let host = &hosts[i % hosts.len()];
        let agent = format!("{cluster}-agent-{host}");
        watch.drain();
        let (_, g) = status(prefix, cluster);
        let _ = f.docker(host, &["rm", "-f", &agent]);
        let mut destroyed = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok((t, typ, action, cl, name)) = watch.rx.recv_timeout(left) else {
                break;
            };
            if typ != "container" || cl != cluster || name != agent {
                continue;
            }
            match (action.as_str(), destroyed) {
                ("destroy", None) => destroyed = Some(t),
                ("create", Some(d)) => {
                    took.push((t - d) as f64 / 1e6);
                    break;
                }
                _ => {}
            }
        }
        if wait_converged_within(prefix, cluster, g, Instant::now(), Duration::from_secs(120))
            .is_none()
        {
            println!(
                "converge/repair: the cluster did not converge again after removal {}; stopping",
                i + 1
            );
            break;
        }
    }
    took.sort_by(f64::total_cmp);
    println!(
        "converge/repair: agent removed behind the operator's back → its re-creation: median {:.0} ms, p99 {:.0} ms (goal < 1000 ms: {}), n={} (resync while watched: {} s)",
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        met(!took.is_empty() && percentile(&took, 0.99) < 1000.0),
        took.len(),
        operator_resync_watched()
    );
}

/// `--resync-watched-secs` as the bench's operator runs (its default).
fn operator_resync_watched() -> u64 {
    120
}

/// Each observation's wall time, from the operator's debug log (`observed`, `ms`).
fn observations(log: &str, cluster: &str) {
    let mut ms: Vec<f64> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["fields"]["message"].as_str() == Some("observed")
                && span_field(v, "cluster") == Some(cluster)
        })
        .filter_map(|v| v["fields"]["ms"].as_f64())
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "converge/observe: one observation of the 3-host seed cluster: median {:.0} ms, p99 {:.0} ms (goal < 100 ms: {}), n={}",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        met(!ms.is_empty() && percentile(&ms, 0.5) < 100.0),
        ms.len()
    );
}

/// What the converged cluster costs while nothing changes: its reconciles (each one
/// observation: every host's containers, every component's probes) over 130 s.
fn idle_cost(operator: &Operator, cluster: &str) {
    let series = Series::reconciles(cluster);
    let Some(before) = operator.counter(&series) else {
        return;
    };
    let window = Duration::from_secs(130);
    std::thread::sleep(window);
    let after = operator.counter(&series).unwrap_or(before);
    println!(
        "converge/idle: the converged seed cluster was looked at {:.1} times a minute while nothing changed (each look: a container list and inspects per host, the components' probes)",
        (after - before) * 60.0 / window.as_secs_f64()
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    secs(a) / secs(b).max(1e-9)
}

fn small_cluster(f: &Fleet, k: u16) -> String {
    let h = f
        .hosts
        .values()
        .nth(k as usize % f.hosts.len())
        .expect("host");
    let zk = 12000 + 10 * k;
    let master = 15000 + 10 * k;
    format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: cbmem{k}}}\nspec:\n  registry: '{}'\n  hosts:\n    - {{name: {}, address: {}, docker: {{endpoint: 'tcp://{}:2376', tls: {{ca: ca, cert: client-cert, key: client-key}}}}}}\n  zookeeper: {{image: 'zookeeper:3.8.0', servers: 1, clientPort: {zk}, peerPort: {}, electionPort: {}, adminPort: {}, superDigest: {{secret: zk-super}}}}\n  masters: {{image: 'mesos-master:1.11.0', count: 1, port: {master}}}\n  agents: {{image: 'mesos-agent:1.11.0', port: {}}}\n  rollout: {{healthTimeout: 300s}}\n",
        f.registry,
        h.name,
        h.ip,
        h.ip,
        zk + 707,
        zk + 1707,
        zk + 6000,
        master + 1
    )
}

fn main() {
    // `cargo test --all-targets` runs bench binaries too; the timings only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let t_all = Instant::now();
    let writes: usize = std::env::var("BENCH_WRITES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    println!("converge: shared 2-core machine, other test beds may run at once: expect noise");
    let f = fleet();
    let dir = tempfile::tempdir().expect("dir").keep();
    for (n, file) in [
        ("ca", "ca.pem"),
        ("client-cert", "client-cert.pem"),
        ("client-key", "client-key.pem"),
    ] {
        std::fs::copy(f.pki.join(file), dir.join(n)).expect("copy pki");
    }
    let bed = Bed {
        f,
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime"),
        secrets: SecretSource::Dir(dir),
    };
    let (lb, par, op) = ("cblow", "cbpar", "cbop");
    let mut clusters: Vec<String> = [lb, par, op].iter().map(|s| s.to_string()).collect();
    clusters.extend((0..10).map(|k| format!("cbmem{k}")));
    let _wipe = Wipe {
        bed: &bed,
        clusters,
    };

    // Every image on every host first, so that no measurement includes a pull's transfer.
    let t = Instant::now();
    std::thread::scope(|s| {
        for h in f.hosts.keys() {
            s.spawn(move || {
                for img in [
                    "zookeeper:3.8.0",
                    "mesos-master:1.11.0",
                    "mesos-master:1.12.0-rc1",
                    "mesos-agent:1.11.0",
                    "marathon:1.10.17",
                    "marathon:1.10.26",
                ] {
                    f.docker_ok(h, &["pull", "-q", &format!("{}/{img}", f.registry)]);
                }
            });
        }
    });
    println!(
        "converge: test bed up, images on {} hosts ({:.1} s)",
        f.hosts.len(),
        secs(t.elapsed())
    );

    // ---- 1a. The lower bound.
    let lower = lower_bound(&bed, lb);
    bed.wipe(lb);
    let (lb_seed_parts, lb_bump_parts) = lower.clone().unwrap_or_default();
    let (lb_seed, lb_bump) = match &lower {
        Some((seed, bump)) => {
            let show = |v: &[(String, Duration)]| {
                v.iter()
                    .map(|(w, d)| format!("{w} {:.1}", secs(*d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "converge/reference: start-to-healthy one at a time (s): {}",
                show(seed)
            );
            println!(
                "converge/reference: bump, stop + start-to-healthy of each master (s): {}",
                show(bump)
            );
            (
                seed.iter().map(|x| x.1).sum::<Duration>(),
                bump.iter().map(|x| x.1).sum::<Duration>(),
            )
        }
        None => {
            println!("converge/reference: a component did not turn healthy; no lower bound");
            (Duration::ZERO, Duration::ZERO)
        }
    };

    // ---- 1b. Everything at once.
    let par_t = parallel(&bed, par);
    bed.wipe(par);
    let (par_seed, par_bump) = par_t.unwrap_or_else(|| {
        println!("converge/reference: the parallel start did not turn healthy");
        (Duration::ZERO, Duration::ZERO)
    });

    // ---- 1c. The operator.
    let prefix = unique_prefix("converge");
    store_secrets(&prefix, f);
    let mut operator = Operator::start(&prefix, &["--log-format", "json"]);
    let pid = operator.pid();
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = rss_kib(pid);
    // The writes of part 2 alternate a Marathon flag (a replacement each time): alternating
    // two Marathon tags cannot work, as Marathon refuses state migrated by a newer version.
    let op_doc = |failover: &str, masters: &str| {
        ClusterOpts {
            master_image: masters.into(),
            ..ClusterOpts::seed(op)
        }
        .yaml(f)
        .replace(
            "  marathon: {",
            &format!("  marathon: {{env: {{MARATHON_FAILOVER_TIMEOUT: '{failover}'}}, "),
        )
    };
    let yaml = op_doc("604800", "mesos-master:1.11.0");
    let w0 = now_ns();
    let t = Instant::now();
    let g = write(&prefix, op, &["apply", "-f", "-"], &yaml);
    let op_seed = wait_converged(&prefix, op, g, t);
    let w1 = now_ns();
    let mut rss_one: Vec<u64> = Vec::new();
    let (bw0, op_bump, bw1) = if op_seed.is_some() {
        // Resident memory of the converged cluster, over a few resyncs.
        for _ in 0..6 {
            rss_one.extend(rss_kib(pid));
            std::thread::sleep(Duration::from_secs(1));
        }
        let bw0 = now_ns();
        let t = Instant::now();
        let g = write(&prefix, op, &["bump", op, "masters", "1.12.0-rc1"], "");
        let r = wait_converged(&prefix, op, g, t);
        (bw0, r, now_ns())
    } else {
        (0, None, 0)
    };
    let log = operator.log_text();
    let line = |what: &str, o: Option<Duration>, low: Duration, par: Duration| {
        match o {
        Some(o) => println!(
            "converge/{what}: operator {:.1} s, lower bound {:.1} s ({:.2}x; goal <= 1.10x: {}), parallel {:.1} s ({:.1}x; goal <= 1.5x: {})",
            secs(o),
            secs(low),
            ratio(o, low),
            met(ratio(o, low) <= 1.10),
            secs(par),
            ratio(o, par),
            met(ratio(o, par) <= 1.5)
        ),
        None => println!(
            "converge/{what}: operator did not converge within {} s; lower bound {:.1} s, parallel {:.1} s",
            CONVERGE_LIMIT.as_secs(),
            secs(low),
            secs(par)
        ),
    }
    };
    line("seed", op_seed, lb_seed, par_seed);
    line("masters-bump", op_bump, lb_bump, par_bump);
    if op_seed.is_some() {
        breakdown("converge/seed", &log, op, w0, w1, &lb_seed_parts);
    }
    if op_bump.is_some() {
        breakdown("converge/masters-bump", &log, op, bw0, bw1, &lb_bump_parts);
    }

    // ---- 2. etcd write → first Docker action.
    if op_bump.is_some() {
        let watch = EventWatch::start(f);
        std::thread::sleep(Duration::from_millis(500));
        let (mut to_docker, mut to_step, mut cli_ms) = (Vec::new(), Vec::new(), Vec::new());
        let mut firsts: BTreeMap<String, usize> = BTreeMap::new();
        let t_writes = Instant::now();
        let mut done = 0;
        for i in 0..writes {
            let failover = if i % 2 == 0 { "604801" } else { "604800" };
            let doc = op_doc(failover, "mesos-master:1.12.0-rc1");
            watch.drain();
            let before = now_ns();
            let (code, _, err) = parts(&cli_with_stdin(&prefix, &["apply", "-f", "-"], &doc));
            let after = now_ns();
            assert_eq!(code, 0, "apply: {err}");
            cli_ms.push((after - before) as f64 / 1e6);
            match watch.first(op, before, Duration::from_secs(60)) {
                Some((t, what)) => {
                    to_docker.push((t - after) as f64 / 1e6);
                    *firsts
                        .entry(
                            what.split_whitespace()
                                .take(2)
                                .collect::<Vec<_>>()
                                .join(" "),
                        )
                        .or_default() += 1;
                }
                None => {
                    let (phase, _) = status(&prefix, op);
                    println!(
                        "converge/write: write {} saw no Docker action within 60 s (phase {phase}); stopping the writes",
                        i + 1
                    );
                    break;
                }
            }
            let g = generation(&prefix, op);
            if wait_converged_within(&prefix, op, g, Instant::now(), Duration::from_secs(120))
                .is_none()
            {
                println!(
                    "converge/write: write {} did not converge; stopping the writes",
                    i + 1
                );
                break;
            }
            let log = operator.log_text();
            if let Some(s) = logged_steps(&log, op, before, now_ns()).first() {
                to_step.push((s.start - after) as f64 / 1e6);
            }
            done += 1;
        }
        drop(watch);
        for v in [&mut to_docker, &mut to_step, &mut cli_ms] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "converge/write: {done} writes (`apply` alternating spec.marathon.env MARATHON_FAILOVER_TIMEOUT, each replacing Marathon; BENCH_WRITES={writes}, default 100; each write waits for Converged, {:.1} s per write here) in {:.0} s",
            secs(t_writes.elapsed()) / done.max(1) as f64,
            secs(t_writes.elapsed())
        );
        println!(
            "converge/write: write returned → first Docker action: median {:.0} ms, p99 {:.0} ms (goal < 100 ms: {}), max {:.0} ms (n={}; first actions seen: {firsts:?})",
            percentile(&to_docker, 0.5),
            percentile(&to_docker, 0.99),
            met(percentile(&to_docker, 0.99) < 100.0),
            to_docker.last().copied().unwrap_or(f64::NAN),
            to_docker.len()
        );
        println!(
            "converge/write: write returned → operator logs \"taking a step\": median {:.0} ms, p99 {:.0} ms (n={}); the `apply` CLI itself took median {:.0} ms",
            percentile(&to_step, 0.5),
            percentile(&to_step, 0.99),
            to_step.len(),
            percentile(&cli_ms, 0.5)
        );
    }
    // ---- 2b. A container removed behind the operator's back → the repair's first action.
    if op_bump.is_some() {
        repairs(f, &prefix, op);
        observations(&operator.log_text(), op);
        idle_cost(&operator, op);
    }
    let rss_after_writes = rss_kib(pid);
    operator.stop();
    drop(operator);
    bed.wipe(op);

    // ---- 3. Resident memory.
    if let (Some(idle), Some(max)) = (rss_idle, rss_one.iter().max()) {
        println!(
            "converge/memory: operator VmRSS idle (no cluster) {:.1} MiB; one converged seed cluster {:.1} MiB (max of {} samples); after the writes {:.1} MiB",
            mib(idle),
            mib(*max),
            rss_one.len(),
            rss_after_writes.map(mib).unwrap_or(f64::NAN)
        );
    }
    let prefix = unique_prefix("converge-mem");
    store_secrets(&prefix, f);
    let operator = Operator::start(&prefix, &["--log-format", "json"]);
    let pid = operator.pid();
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kib(pid);
    let t = Instant::now();
    let mut gens = Vec::new();
    for k in 0..10 {
        let name = format!("cbmem{k}");
        gens.push(write(
            &prefix,
            &name,
            &["apply", "-f", "-"],
            &small_cluster(f, k),
        ));
    }
    let mut converged = 0;
    for (k, g) in gens.iter().enumerate() {
        if wait_converged(&prefix, &format!("cbmem{k}"), *g, t).is_some() {
            converged += 1;
        }
    }
    let took = t.elapsed();
    let mut samples = Vec::new();
    for _ in 0..12 {
        samples.extend(rss_kib(pid));
        std::thread::sleep(Duration::from_secs(1));
    }
    println!(
        "converge/memory: 10 small clusters (1 ZooKeeper, 1 master, 1 agent each, own ports; {converged} of 10 Converged in {:.0} s): VmRSS {:.1} MiB (max of {} samples over 12 s; {:.1} MiB idle before them)",
        secs(took),
        mib(samples.iter().copied().max().unwrap_or(0)),
        samples.len(),
        idle.map(mib).unwrap_or(f64::NAN)
    );
    drop(operator);
    println!("converge: bench took {:.0} s", secs(t_all.elapsed()));
}
