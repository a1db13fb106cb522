//! The operator as users run it: `mesos-operator run` as a child process against the test
//! etcd and the shared fleet, plus the cluster documents and secrets the scenarios use, and
//! an independent watcher of the safety invariants.
//!
//! The watcher shares nothing with the operator: it polls every host's Docker engine with
//! the `docker` CLI and every ZooKeeper server with four-letter words, and checks the rules
//! of `shared/design/safety.md` on what it sees, sample after sample, during the whole run.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fleet::{four_letter, Fleet};
use super::{cli, cli_with_stdin, etcd, parts};

/// Ports of one cluster (two clusters on the same hosts need different ones).
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// ZooKeeper client port (peer, election and admin derive from it).
    pub zk: u16,
    /// Master port.
    pub master: u16,
    /// Agent port.
    pub agent: u16,
    /// Marathon port.
    pub marathon: u16,
}

impl Ports {
    /// The defaults.
    pub const DEFAULT: Ports = Ports {
        zk: 2181,
        master: 5050,
        agent: 5051,
        marathon: 8080,
    };
    /// A second set that does not collide with the defaults.
    pub const SECOND: Ports = Ports {
        zk: 2281,
        master: 5150,
        agent: 5151,
        marathon: 8180,
    };
}

/// What a scenario's cluster looks like.
#[derive(Debug, Clone)]
pub struct ClusterOpts {
    /// Cluster name.
    pub name: String,
    /// Hosts used (the fleet's first N by name).
    pub hosts: usize,
    /// ZooKeeper servers.
    pub zk_servers: u32,
    /// Master count.
    pub masters: u32,
    /// Image tags.
    pub zk_image: String,
    /// Master image.
    pub master_image: String,
    /// Agent image.
    pub agent_image: String,
    /// Marathon image.
    pub marathon_image: String,
    /// Marathon instances.
    pub marathon_instances: u32,
    /// Ports.
    pub ports: Ports,
    /// `rollout.healthTimeout`.
    pub health_timeout: String,
    /// `rollout.drainAgents`.
    pub drain_agents: bool,
    /// `rollout.paused`.
    pub paused: bool,
    /// Agents on the first N hosts (0: on every host).
    pub agent_hosts: usize,
}

/// An emulator image as the test bed's registry holds it. `EMULATOR_IMAGE_PREFIX` (as
/// `images/emulator/build.sh` was run with) runs the scenarios on a branch's own emulator
/// images without replacing the shared tags; the seed's images get it, and `bump` keeps it
/// (it changes tags only).
pub fn emulator_image(image: &str) -> String {
    format!(
        "{}{image}",
        std::env::var("EMULATOR_IMAGE_PREFIX").unwrap_or_default()
    )
}

impl ClusterOpts {
    /// The seed's cluster on the fleet's first three hosts.
    pub fn seed(name: &str) -> ClusterOpts {
        ClusterOpts {
            name: name.to_string(),
            hosts: 3,
            zk_servers: 3,
            masters: 3,
            zk_image: "zookeeper:3.8.0".into(),
            master_image: emulator_image("mesos-master:1.11.0"),
            agent_image: emulator_image("mesos-agent:1.11.0"),
            marathon_image: emulator_image("marathon:1.10.17"),
            marathon_instances: 1,
            ports: Ports::DEFAULT,
            health_timeout: "120s".into(),
            drain_agents: true,
            paused: false,
            agent_hosts: 0,
        }
    }

    /// The document for the fleet.
    pub fn yaml(&self, f: &Fleet) -> String {
        let p = self.ports;
        let mut y = format!(
            "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: {}}}\nspec:\n  registry: '{}'\n  hosts:\n",
            self.name, f.registry
        );
        for h in f.hosts.values().take(self.hosts) {
            y.push_str(&format!(
                "    - {{name: {}, address: {}, docker: {{endpoint: 'tcp://{}:2376', tls: {{ca: ca, cert: client-cert, key: client-key}}}}}}\n",
                h.name, h.ip, h.ip
            ));
        }
        y.push_str(&format!(
            "  zookeeper: {{image: '{}', servers: {}, clientPort: {}, peerPort: {}, electionPort: {}, adminPort: {}, superDigest: {{secret: zk-super}}}}\n",
            self.zk_image, self.zk_servers, p.zk, p.zk + 707, p.zk + 1707, p.zk + 6000
        ));
        y.push_str(&format!(
            "  masters: {{image: '{}', count: {}, port: {}}}\n",
            self.master_image, self.masters, p.master
        ));
        let agent_hosts = if self.agent_hosts == 0 {
            "all".to_string()
        } else {
            format!(
                "[{}]",
                f.hosts
                    .keys()
                    .take(self.agent_hosts)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        y.push_str(&format!(
            "  agents: {{image: '{}', port: {}, hosts: {agent_hosts}}}\n",
            self.agent_image, p.agent
        ));
        y.push_str(&format!(
            "  marathon: {{image: '{}', instances: {}, port: {}}}\n",
            self.marathon_image, self.marathon_instances, p.marathon
        ));
        y.push_str(&format!(
            "  rollout: {{healthTimeout: {}, drainAgents: {}, drainPeriod: 5s, paused: {}}}\n",
            self.health_timeout, self.drain_agents, self.paused
        ));
        y
    }
}

/// Stores the fleet's TLS material and a ZooKeeper digest user under `prefix`.
pub fn store_secrets(prefix: &str, f: &Fleet) {
    for (name, file) in [
        ("ca", "ca.pem"),
        ("client-cert", "client-cert.pem"),
        ("client-key", "client-key.pem"),
    ] {
        let path = f.pki.join(file);
        let (code, _, err) = parts(&cli(
            prefix,
            &[
                "secret",
                "set",
                name,
                "--from-file",
                &path.to_string_lossy(),
            ],
        ));
        assert_eq!(code, 0, "secret set {name}: {err}");
    }
    let (code, _, err) = parts(&cli_with_stdin(
        prefix,
        &["secret", "set", "zk-super", "--from-file", "-"],
        ZK_SUPER,
    ));
    assert_eq!(code, 0, "secret set zk-super: {err}");
}

/// The digest user the tests give ZooKeeper (never printed by the operator).
pub const ZK_SUPER: &str = "super:test-zk-secret-0c1d";

/// Applies a document; panics with the CLI's error if refused.
pub fn apply(prefix: &str, yaml: &str) {
    let (code, _, err) = parts(&cli_with_stdin(prefix, &["apply", "-f", "-"], yaml));
    assert_eq!(code, 0, "apply: {err}");
}

/// Election timings for tests: lease 3 s, renew deadline 2 s, retry 0.5 s.
pub const QUICK_ELECTION: [&str; 6] = [
    "--lease-ttl-secs",
    "3",
    "--renew-deadline-secs",
    "2",
    "--election-retry-secs",
    "0.5",
];

/// Polls `f` every 20 ms until it holds; panics after `timeout`. Returns how long it took.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

/// A running `mesos-operator run`.
pub struct Operator {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of /metrics.
    pub metrics_addr: String,
    /// Its log file.
    pub log: PathBuf,
    /// Its TMPDIR (where temporary key files go).
    pub tmp: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Operator {
    /// Starts the operator for `prefix`, with quick polling for tests.
    pub fn start(prefix: &str, extra: &[&str]) -> Operator {
        Operator::start_with(&etcd().endpoint, prefix, extra, &[])
    }

    /// Starts the operator on the etcd `endpoints` (comma-separated), with extra
    /// environment (a failpoint, an identity).
    pub fn start_with(
        endpoints: &str,
        prefix: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Operator {
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let dir = tempfile::tempdir().expect("tmp").keep();
        let log = dir.join("operator.log");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        let out = std::fs::File::create(&log).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
            .env("MESOS_OPERATOR_ETCD", endpoints)
            .env("MESOS_OPERATOR_ETCD_PREFIX", prefix)
            .env(
                "RUST_LOG",
                "info,mesos_operator=debug,zookeeper_client=warn",
            )
            .envs(env.iter().copied())
            .args(["run", "--metrics-addr", &metrics_addr])
            // Quick looks for tests, unless the test sets them itself.
            .args(
                [["--poll-ms", "500"], ["--resync-secs", "5"]]
                    .iter()
                    .filter(|[flag, _]| !extra.contains(flag))
                    .flatten(),
            )
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().expect("log")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start mesos-operator run");
        Operator {
            child: Some(child),
            metrics_addr,
            log,
            tmp,
        }
    }

    /// Temporary files and directories the operator left in its TMPDIR.
    pub fn leftover_temp_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.tmp)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// GET a path of the admin server: (status, body).
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        super::http_get(&self.metrics_addr, path, "HTTP/1.1", Duration::from_secs(5))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// The exit status if the process ended (reaped here), else `None`.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Whether the process is stopped (SIGSTOP), from `/proc/PID/stat`.
    pub fn is_stopped(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
            })
            .is_some_and(|state| state == "T")
    }

    /// A gauge of its /metrics (`None` while it does not answer).
    pub fn gauge(&self, name: &str) -> Option<f64> {
        let (code, body) = self.admin_get("/metrics");
        if code != 200 {
            return None;
        }
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }

    /// The current value of `series` in its /metrics: the sum of every sample of that name
    /// whose labels include the series' labels (0 when there is none yet); `None` while
    /// the admin server does not answer.
    pub fn counter(&self, series: &Series) -> Option<f64> {
        let (code, body) = self.admin_get("/metrics");
        (code == 200).then(|| series.sum(&body))
    }

    /// Reads `series` now, as the point a later [`Operator::wait_counted`] counts from.
    /// Waits up to 30 s for the admin server to answer (a replica just continued, or just
    /// started); panics if it never does.
    pub fn mark(&self, series: &Series) -> Mark {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(value) = self.counter(series) {
                return Mark {
                    series: series.clone(),
                    value,
                    at: Instant::now(),
                };
            }
            assert!(
                Instant::now() < deadline,
                "the operator's /metrics on {} did not answer within 30 s",
                self.metrics_addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `series` has gone up by at least `n` since `mark`; panics after
    /// `timeout` with what it counted, naming `what`. Returns how long it took.
    pub fn wait_counted(&self, mark: &Mark, n: u64, what: &str, timeout: Duration) -> Duration {
        let mut last = None;
        loop {
            if let Some(v) = self.counter(&mark.series) {
                if v >= mark.value + n as f64 {
                    let took = mark.at.elapsed();
                    eprintln!(
                        "{what}: {} went up by {n} in {:.1} s",
                        mark.series,
                        took.as_secs_f64()
                    );
                    return took;
                }
                last = Some(v);
            }
            assert!(
                mark.at.elapsed() < timeout,
                "{what}: {} did not go up by {n} within {timeout:?} (from {} to {}); what \
                 follows would check nothing",
                mark.series,
                mark.value,
                last.map_or_else(|| "no answer from /metrics".to_string(), |v| v.to_string()),
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the operator has looked at the cluster since `mark` (taken with a
    /// [`Series::reconciles`] or [`Series::reconciles_ok`] series): two reconciles finished
    /// after it. One may have been under way at the mark, on an older reading; the second
    /// began after the first ended (a cluster is never reconciled twice at once), so it
    /// read everything done before the mark and carried out what it decided. Panics after
    /// [`LOOK_TIMEOUT`] naming `what`, so that a negative assertion after it never passes
    /// because the operator was merely slow.
    pub fn wait_looked(&self, mark: &Mark, what: &str) -> Duration {
        self.wait_counted(mark, 2, what, LOOK_TIMEOUT)
    }

    /// Waits until this replica has forgotten `cluster` (its document deleted): no series of
    /// its /metrics names it any more. The reconcile that found the document gone ended
    /// with that, so whatever the deletion made it do is done. Panics after `timeout`.
    pub fn wait_forgotten(&self, cluster: &str, timeout: Duration) -> Duration {
        let t = Instant::now();
        let needle = format!("cluster=\"{cluster}\"");
        loop {
            let (code, body) = self.admin_get("/metrics");
            if code == 200 && !body.contains(&needle) {
                eprintln!(
                    "the operator forgot {cluster} in {:.1} s",
                    t.elapsed().as_secs_f64()
                );
                return t.elapsed();
            }
            assert!(
                t.elapsed() < timeout,
                "the operator did not forget cluster {cluster} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether it says it leads.
    pub fn leads(&self) -> bool {
        self.gauge("mesos_operator_leader") == Some(1.0)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        // A stopped (SIGSTOP) process handles the TERM once continued.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(80).collect();
            eprintln!("---- operator log (last 80 lines, newest last)");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        // SIGTERM first, so the operator removes its temporary key files on the way out.
        self.stop();
    }
}

/// How long [`Operator::wait_looked`] waits for two reconciles: a converged cluster is
/// looked at every 5 s (`--resync-secs 5`), a failing one after a backoff of at most 60 s.
pub const LOOK_TIMEOUT: Duration = Duration::from_secs(150);

/// A counter of the operator's /metrics, restricted to some labels.
#[derive(Debug, Clone)]
pub struct Series {
    /// The sample name (`..._total` for a counter, `..._count` for a histogram).
    name: &'static str,
    /// Labels every counted sample carries.
    labels: Vec<(&'static str, String)>,
}

impl Series {
    /// Every finished reconcile of `cluster`, failed ones included
    /// (`mesos_operator_reconcile_total`, any `result`).
    pub fn reconciles(cluster: &str) -> Series {
        Series {
            name: "mesos_operator_reconcile_total",
            labels: vec![("cluster", cluster.to_string())],
        }
    }

    /// The reconciles of `cluster` that ended well (`result="ok"`): each read the spec,
    /// observed the hosts, planned and carried out its decision.
    pub fn reconciles_ok(cluster: &str) -> Series {
        Series {
            name: "mesos_operator_reconcile_total",
            labels: vec![
                ("cluster", cluster.to_string()),
                ("result", "ok".to_string()),
            ],
        }
    }

    /// Docker events about the clusters' containers received from `host`.
    pub fn docker_events(host: &str) -> Series {
        Series {
            name: "mesos_operator_docker_events_total",
            labels: vec![("host", host.to_string())],
        }
    }

    /// Registry scans of one component's repository, whatever their result
    /// (`mesos_operator_autoupdate_scans_total`).
    pub fn scans(cluster: &str, component: &str) -> Series {
        Series {
            name: "mesos_operator_autoupdate_scans_total",
            labels: vec![
                ("cluster", cluster.to_string()),
                ("component", component.to_string()),
            ],
        }
    }

    /// The sum of the matching samples of an exposition (either text format).
    fn sum(&self, body: &str) -> f64 {
        body.lines()
            .filter_map(parse_sample)
            .filter(|(name, labels, _)| {
                *name == self.name
                    && self
                        .labels
                        .iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }
}

impl std::fmt::Display for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        write!(f, "{}{{{}}}", self.name, labels.join(","))
    }
}

/// A sample line of the exposition: name, labels, value.
type Sample<'a> = (&'a str, Vec<(String, String)>, f64);

/// One sample line of the Prometheus or OpenMetrics text format.
fn parse_sample(line: &str) -> Option<Sample<'_>> {
    if line.starts_with('#') {
        return None;
    }
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut labels = Vec::new();
    let rest = if let Some(mut r) = rest.strip_prefix('{') {
        loop {
            r = r.trim_start_matches(',');
            if let Some(after) = r.strip_prefix('}') {
                break after;
            }
            let (key, after) = r.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                let (i, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break i,
                    c => value.push(c),
                }
            };
            labels.push((key.to_string(), value));
            r = &after[end + 1..];
        }
    } else {
        rest
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name, labels, value))
}

/// A counter as read at a moment, for [`Operator::wait_counted`] and
/// [`Operator::wait_looked`].
#[derive(Debug, Clone)]
pub struct Mark {
    series: Series,
    value: f64,
    at: Instant,
}

/// The phase the operator last wrote, and its message.
pub fn phase(prefix: &str, name: &str) -> (String, String, u64) {
    let (code, out, _) = parts(&cli(prefix, &["status", name, "-o", "json"]));
    if code != 0 {
        return (String::new(), String::new(), 0);
    }
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    (
        v["phase"].as_str().unwrap_or_default().to_string(),
        v["message"].as_str().unwrap_or_default().to_string(),
        v["observedGeneration"].as_u64().unwrap_or(0),
    )
}

/// The stored generation of a cluster.
pub fn generation(prefix: &str, name: &str) -> u64 {
    let (code, out, err) = parts(&cli(prefix, &["get", name, "-o", "json"]));
    assert_eq!(code, 0, "get: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["metadata"]["generation"].as_u64().unwrap_or(0)
}

/// Waits until the cluster reports `want` for its current generation.
pub fn wait_phase(prefix: &str, name: &str, want: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut last = (String::new(), String::new(), 0);
    while Instant::now() < deadline {
        let g = generation(prefix, name);
        last = phase(prefix, name);
        if last.0 == want && last.2 >= g {
            return last.1;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "{name} did not reach {want} within {}s; last: {} — {}",
        timeout.as_secs(),
        last.0,
        last.1
    );
}

/// The operator's events for a cluster as `events -o json` prints them, oldest first.
pub fn event_values(prefix: &str, name: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = parts(&cli(prefix, &["events", name, "-o", "json"]));
    assert_eq!(code, 0, "events: {err}");
    let mut v: Vec<serde_json::Value> = serde_json::from_str(&out).expect("json");
    v.reverse();
    v
}

/// The operator's events for a cluster, oldest first: (kind, host, outcome, component).
pub fn events(prefix: &str, name: &str) -> Vec<(String, String, String, String)> {
    event_values(prefix, name)
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["host"].as_str().unwrap_or_default().to_string(),
                e["outcome"].as_str().unwrap_or_default().to_string(),
                e["component"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// One container as the watcher saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Host name.
    pub host: String,
    /// Role label.
    pub role: String,
    /// Running.
    pub running: bool,
    /// ZooKeeper id label.
    pub zk_id: Option<u64>,
    /// Master quorum label.
    pub quorum: Option<u32>,
    /// Config hash label.
    pub hash: String,
    /// Image.
    pub image: String,
}

/// Reads a cluster's containers on every host (None for a host that did not answer).
pub fn containers(f: &Fleet, hosts: &[String], cluster: &str) -> Option<Vec<Seen>> {
    let mut out = Vec::new();
    for h in hosts {
        let o = f
            .docker_command(h, &["timeout", "5"])
            .args([
                "ps",
                "-a",
                "--filter",
                &format!("label=io.mesos-operator.cluster={cluster}"),
                "--format",
                "{{.State}}|{{.Label \"io.mesos-operator.role\"}}|{{.Label \"io.mesos-operator.zookeeper-id\"}}|{{.Label \"io.mesos-operator.master-quorum\"}}|{{.Label \"io.mesos-operator.config-hash\"}}|{{.Image}}",
            ])
            .output()
            .ok()?;
        if !o.status.success() {
            return None;
        }
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let p: Vec<&str> = line.split('|').collect();
            if p.len() < 6 {
                continue;
            }
            out.push(Seen {
                host: h.clone(),
                running: p[0] == "running",
                role: p[1].to_string(),
                zk_id: p[2].parse().ok(),
                quorum: p[3].parse().ok(),
                hash: p[4].to_string(),
                image: p[5].to_string(),
            });
        }
    }
    Some(out)
}

/// The ZooKeeper config with the highest version any server reports: (version, voter ids).
pub fn zk_config(f: &Fleet, hosts: &[String], port: u16) -> Option<(u64, BTreeSet<u64>)> {
    let mut best: Option<(u64, BTreeSet<u64>)> = None;
    for h in hosts {
        let conf = four_letter(&f.host(h).ip, port, "conf", Duration::from_millis(800));
        let mut version = None;
        let mut voters = BTreeSet::new();
        for l in conf.lines() {
            if let Some(v) = l.strip_prefix("version=") {
                version = u64::from_str_radix(v.trim(), 16).ok();
            } else if let Some(rest) = l.strip_prefix("server.") {
                if let Some((id, spec)) = rest.split_once('=') {
                    if spec.contains("participant") {
                        if let Ok(id) = id.parse() {
                            voters.insert(id);
                        }
                    }
                }
            }
        }
        if let Some(v) = version {
            if best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, voters));
            }
        }
    }
    best
}

/// What the watcher checks.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// ZooKeeper client port.
    pub zk_port: u16,
    /// Masters never fewer running than their quorum (after first reaching it). Off for
    /// master-count changes, where Mesos' own procedure dips by one.
    pub masters_floor: bool,
}

/// When each (role, host, config hash) first ran.
type Timeline = Arc<Mutex<Vec<(Duration, String, String, String)>>>;

/// The independent watcher: samples until stopped and records every rule broken.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    /// Hosts the test cut off from their peers: a voter there runs but serves no quorum.
    cut: Arc<Mutex<BTreeSet<String>>>,
    violations: Arc<Mutex<Vec<String>>>,
    samples: Arc<Mutex<usize>>,
    /// First time each (role, host, hash) was seen running, in order.
    timeline: Timeline,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching `cluster` on `hosts`.
    pub fn start(f: &'static Fleet, hosts: Vec<String>, cluster: &str, rules: Rules) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let cut: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let cut_seen = cut.clone();
        let violations = Arc::new(Mutex::new(Vec::new()));
        let samples = Arc::new(Mutex::new(0));
        let timeline = Arc::new(Mutex::new(Vec::new()));
        let (s, v, n, t) = (
            stop.clone(),
            violations.clone(),
            samples.clone(),
            timeline.clone(),
        );
        let cluster = cluster.to_string();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut zk_established = false;
            let mut masters_established = false;
            let mut known: BTreeSet<(String, String, String)> = BTreeSet::new();
            while !s.load(Ordering::SeqCst) {
                let Some(seen) = containers(f, &hosts, &cluster) else {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                };
                let cfg = zk_config(f, &hosts, rules.zk_port);
                let at = t0.elapsed();
                let cut_now = cut_seen.lock().unwrap().clone();
                let mut bad = Vec::new();
                for c in seen.iter().filter(|c| c.running) {
                    let key = (c.role.clone(), c.host.clone(), c.hash.clone());
                    if known.insert(key.clone()) {
                        t.lock().unwrap().push((at, key.0, key.1, key.2));
                    }
                }
                // 1. ZooKeeper: voters running are a majority of the committed config.
                if let Some((version, voters)) = &cfg {
                    let running: BTreeSet<u64> = seen
                        .iter()
                        .filter(|c| c.role == "zookeeper" && c.running)
                        .filter_map(|c| c.zk_id)
                        .collect();
                    // Serving: running, and not on a host cut off from its peers.
                    let serving: BTreeSet<u64> = seen
                        .iter()
                        .filter(|c| c.role == "zookeeper" && c.running)
                        .filter(|c| !cut_now.contains(&c.host))
                        .filter_map(|c| c.zk_id)
                        .collect();
                    let up = voters.intersection(&serving).count();
                    let majority = voters.len() / 2 + 1;
                    if up >= majority {
                        zk_established = true;
                    } else if zk_established {
                        bad.push(format!(
                            "ZooKeeper below quorum: {up} of voters {voters:?} (config {version:#x}) running and not cut off"
                        ));
                    }
                    // 3. One joiner at a time.
                    let joiners: Vec<u64> = running.difference(voters).copied().collect();
                    if joiners.len() > 1 {
                        bad.push(format!("more than one ZooKeeper joiner: {joiners:?}"));
                    }
                }
                // 2. Masters: at most 2q-1 running, and (in steady counts) at least q.
                let masters: Vec<&Seen> = seen
                    .iter()
                    .filter(|c| c.role == "master" && c.running)
                    .collect();
                if let Some(q) = masters.iter().filter_map(|c| c.quorum).min() {
                    let n = masters.len() as u32;
                    if n > 2 * q - 1 {
                        bad.push(format!("{n} masters running with a lowest quorum of {q}"));
                    }
                    let qmax = masters.iter().filter_map(|c| c.quorum).max().unwrap_or(q);
                    // The floor counts the masters whose replicas the others can reach.
                    let reachable = masters
                        .iter()
                        .filter(|c| !cut_now.contains(&c.host))
                        .count() as u32;
                    if reachable >= qmax {
                        masters_established = true;
                    } else if masters_established && rules.masters_floor {
                        bad.push(format!(
                            "only {reachable} masters running and not cut off, quorum {qmax}"
                        ));
                    }
                }
                if !bad.is_empty() {
                    let mut v = v.lock().unwrap();
                    for b in bad {
                        v.push(format!("t={:.1}s: {b}", at.as_secs_f64()));
                    }
                }
                *n.lock().unwrap() += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Watcher {
            stop,
            cut,
            violations,
            samples,
            timeline,
            handle: Some(handle),
        }
    }

    /// Says that `host` is cut off from its peers (`true`) or not any more: its voter then
    /// counts as running but not serving.
    pub fn set_cut(&self, host: &str, cut: bool) {
        let mut c = self.cut.lock().unwrap();
        if cut {
            c.insert(host.to_string());
        } else {
            c.remove(host);
        }
    }

    /// Stops watching; panics with every violation seen, or returns the number of samples.
    pub fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let v = self.violations.lock().unwrap().clone();
        assert!(
            v.is_empty(),
            "invariants broken during the run:\n{}",
            v.join("\n")
        );
        let n = *self.samples.lock().unwrap();
        assert!(n > 0, "the watcher took no sample");
        n
    }

    /// The order in which new container configurations first ran: (role, host).
    pub fn first_runs_since(
        &self,
        since_hashes: &BTreeMap<(String, String), String>,
    ) -> Vec<(String, String)> {
        self.timeline
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, role, host, hash)| {
                since_hashes.get(&(role.clone(), host.clone())) != Some(hash)
            })
            .map(|(_, role, host, _)| (role.clone(), host.clone()))
            .collect()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// (role, host) → config hash of the running containers now.
pub fn hashes(f: &Fleet, hosts: &[String], cluster: &str) -> BTreeMap<(String, String), String> {
    containers(f, hosts, cluster)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.running)
        .map(|c| ((c.role, c.host), c.hash))
        .collect()
}

/// Removes a cluster's containers and named volumes from the fleet when dropped, so a
/// failed scenario does not leave ZooKeeper or masters on ports the next one uses.
pub struct ClusterGuard {
    /// The fleet.
    pub fleet: &'static Fleet,
    /// Cluster names.
    pub clusters: Vec<String>,
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        for c in &self.clusters {
            let label = format!("io.mesos-operator.cluster={c}");
            if std::thread::panicking() {
                self.fleet.dump_logs(&label);
            }
            self.fleet.remove_labelled(&label);
            for h in self.fleet.hosts.keys() {
                let vols = self.fleet.docker(
                    h,
                    &["volume", "ls", "-q", "--filter", &format!("label={label}")],
                );
                for v in String::from_utf8_lossy(&vols.stdout).split_whitespace() {
                    self.fleet.docker(h, &["volume", "rm", "-f", v]);
                }
            }
        }
    }
}
