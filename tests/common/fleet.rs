//! The shared fleet: Docker hosts in containers with mutual TLS and a TLS registry, brought
//! up once per test binary by `scripts/testbed.sh` under a test bed id of its own, and taken
//! down by a watchdog (by that id's label) when the test process exits. Set
//! `MESOS_OPERATOR_TESTBED_ENV=.testbed/<id>/env` to reuse a running test bed instead.
//!
//! Also the fault helpers (freeze, partition, kill a host, kill a container behind the
//! operator's back), each acting only on the test bed's own containers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// A file of the repository (found from whichever crate includes this harness).
fn repo_path(rel: &str) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("scripts/testbed.sh").exists() {
        if !dir.pop() {
            panic!(
                "cannot find the repository root above {}",
                env!("CARGO_MANIFEST_DIR")
            );
        }
    }
    dir.join(rel)
}

/// One Docker host of the fleet.
#[derive(Debug, Clone)]
pub struct Host {
    /// Name, e.g. `host1`.
    pub name: String,
    /// Its address on the test bed's network.
    pub ip: String,
    /// The outer container running its dockerd.
    pub container: String,
}

/// A running test bed.
#[derive(Debug)]
pub struct Fleet {
    /// Test bed id.
    pub id: String,
    /// Docker network name.
    pub network: String,
    /// `IP:5000`.
    pub registry: String,
    /// Hosts by name.
    pub hosts: BTreeMap<String, Host>,
    /// The test bed's PKI directory (ca.pem, client-cert.pem, client-key.pem).
    pub pki: PathBuf,
}

static FLEET: OnceLock<Fleet> = OnceLock::new();
/// Tests that break hosts (freeze, partition, kill) hold this exclusively; the others share it.
static FAULTS: RwLock<()> = RwLock::new(());

/// For a test that needs the hosts healthy: shared with other such tests.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    FAULTS.read().unwrap_or_else(|e| e.into_inner())
}

/// For a test that injects faults into hosts: runs alone.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    FAULTS.write().unwrap_or_else(|e| e.into_inner())
}

fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn from_env(text: &str) -> Fleet {
    let env = parse_env(text);
    let id = env["TESTBED_ID"].clone();
    let hosts = env["TESTBED_HOSTS"]
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(n, ip)| {
            (
                n.to_string(),
                Host {
                    name: n.to_string(),
                    ip: ip.to_string(),
                    container: format!("mo-tb-{id}-{n}"),
                },
            )
        })
        .collect();
    Fleet {
        network: env["TESTBED_NETWORK"].clone(),
        registry: env["TESTBED_REGISTRY"].clone(),
        pki: PathBuf::from(&env["TESTBED_PKI"]),
        hosts,
        id,
    }
}

// The watchdog outlives this process on purpose; it is reaped by init.
#[allow(clippy::zombie_processes)]
fn start() -> Fleet {
    if let Ok(path) = std::env::var("MESOS_OPERATOR_TESTBED_ENV") {
        let text = std::fs::read_to_string(&path).expect("MESOS_OPERATOR_TESTBED_ENV file");
        return from_env(&text);
    }
    let id = format!("t{}", std::process::id());
    let script = repo_path("scripts/testbed.sh");
    // The watchdog takes the test bed down, by its label, once this process is gone.
    let me = std::process::id();
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; TESTBED_ID={id} '{}' down",
            script.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start test bed watchdog");
    let hosts = std::env::var("MESOS_OPERATOR_TESTBED_HOSTS").unwrap_or_else(|_| "3".into());
    let out = Command::new(&script)
        .args(["up", &hosts])
        .env("TESTBED_ID", &id)
        .env("TESTBED_SKIP_IMAGES", "1")
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/testbed.sh");
    assert!(
        out.status.success(),
        "testbed.sh up failed (run `make images` first)"
    );
    from_env(&String::from_utf8_lossy(&out.stdout))
}

/// The binary's fleet, started on first use.
pub fn fleet() -> &'static Fleet {
    FLEET.get_or_init(start)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run docker")
}

impl Fleet {
    /// A host by name.
    pub fn host(&self, name: &str) -> &Host {
        &self.hosts[name]
    }

    /// The `docker` command line for a host over mutual TLS, run through `wrapper` (e.g.
    /// `["timeout", "3"]`) if given.
    pub fn docker_command(&self, host: &str, wrapper: &[&str]) -> Command {
        let h = self.host(host);
        let mut c = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg("docker");
                c
            }
            None => Command::new("docker"),
        };
        c.arg("--tlsverify")
            .arg("--tlscacert")
            .arg(self.pki.join("ca.pem"))
            .arg("--tlscert")
            .arg(self.pki.join("client-cert.pem"))
            .arg("--tlskey")
            .arg(self.pki.join("client-key.pem"))
            .arg("-H")
            .arg(format!("tcp://{}:2376", h.ip));
        c
    }

    /// `docker` against a host over mutual TLS.
    pub fn docker(&self, host: &str, args: &[&str]) -> Output {
        run(self.docker_command(host, &[]).args(args))
    }

    /// Like [`Fleet::docker`], asserting success; returns stdout.
    pub fn docker_ok(&self, host: &str, args: &[&str]) -> String {
        let o = self.docker(host, args);
        assert!(
            o.status.success(),
            "docker {args:?} on {host}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// `docker` on the outer machine, for the test bed's own containers only.
    fn outer(&self, args: &[&str]) -> Output {
        run(Command::new("docker").args(args))
    }

    fn outer_ok(&self, args: &[&str]) {
        let o = self.outer(args);
        assert!(
            o.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Freezes a host (`docker pause`): TCP still connects, nothing answers.
    pub fn freeze(&self, host: &str) {
        self.outer_ok(&["pause", &self.host(host).container]);
    }

    /// Thaws a frozen host.
    pub fn thaw(&self, host: &str) {
        self.outer_ok(&["unpause", &self.host(host).container]);
    }

    /// Cuts a host off the network entirely.
    pub fn partition(&self, host: &str) {
        self.outer_ok(&[
            "network",
            "disconnect",
            &self.network,
            &self.host(host).container,
        ]);
    }

    /// Reconnects a partitioned host with its own address.
    pub fn heal(&self, host: &str) {
        let h = self.host(host);
        self.outer_ok(&[
            "network",
            "connect",
            "--ip",
            &h.ip,
            &self.network,
            &h.container,
        ]);
    }

    /// Drops traffic between a host and named peers (both directions), inside the host:
    /// its dockerd stays reachable from the outer machine.
    pub fn partition_from(&self, host: &str, peers: &[&str]) {
        self.iptables(host, peers, "-I");
    }

    /// Undoes [`Fleet::partition_from`].
    pub fn heal_from(&self, host: &str, peers: &[&str]) {
        self.iptables(host, peers, "-D");
    }

    fn iptables(&self, host: &str, peers: &[&str], op: &str) {
        for p in peers {
            let ip = &self.host(p).ip;
            for chain in [["INPUT", "-s"], ["OUTPUT", "-d"]] {
                self.outer_ok(&[
                    "exec",
                    &self.host(host).container,
                    "iptables",
                    op,
                    chain[0],
                    chain[1],
                    ip,
                    "-j",
                    "DROP",
                ]);
            }
        }
    }

    /// Kills a host's container (a host crash).
    pub fn kill_host(&self, host: &str) {
        self.outer_ok(&["kill", &self.host(host).container]);
    }

    /// Starts a killed host again and waits for its dockerd.
    pub fn start_host(&self, host: &str) {
        self.outer_ok(&["start", &self.host(host).container]);
        self.wait_docker(host);
    }

    /// Kills a container on a host behind the operator's back.
    pub fn kill_container(&self, host: &str, name: &str) {
        self.docker_ok(host, &["kill", name]);
    }

    /// Waits until a host's dockerd answers over mutual TLS.
    pub fn wait_docker(&self, host: &str) {
        for _ in 0..100 {
            if self.docker(host, &["version"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("dockerd on {host} did not come back");
    }

    /// Removes containers on every host that carry `label` (a test's own).
    pub fn remove_labelled(&self, label: &str) {
        for h in self.hosts.keys() {
            let ids = self.docker_ok(h, &["ps", "-aq", "--filter", &format!("label={label}")]);
            for id in ids.split_whitespace() {
                self.docker(h, &["rm", "-f", "-v", id]);
            }
        }
    }

    /// Prints the logs of the containers carrying `label`, for a failed test.
    pub fn dump_logs(&self, label: &str) {
        for h in self.hosts.keys() {
            let ids = self.docker_ok(h, &["ps", "-aq", "--filter", &format!("label={label}")]);
            for id in ids.split_whitespace() {
                let o = self.docker(h, &["logs", "--tail", "50", id]);
                eprintln!(
                    "---- {h} {id}\n{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
    }
}

/// Dumps the logs of a test's containers if the test panics, and removes them either way.
pub struct Scoped<'a> {
    /// The fleet.
    pub fleet: &'a Fleet,
    /// The label the test put on its containers (`key=value`).
    pub label: String,
}

impl Drop for Scoped<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.fleet.dump_logs(&self.label);
        }
        self.fleet.remove_labelled(&self.label);
    }
}

/// Sends a ZooKeeper four-letter word and returns the answer ("" when nothing answers).
pub fn four_letter(ip: &str, port: u16, word: &str, timeout: Duration) -> String {
    let addr: SocketAddr = format!("{ip}:{port}").parse().expect("address");
    let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Container events (`docker events`) of one cluster on every host, recorded from the moment
/// it starts until [`ContainerEvents::finish`]: what the Docker engines themselves say was
/// done to the cluster's containers, independent of the operator's own account.
///
/// It proves that it records. `docker events` subscribes asynchronously, so on each host it
/// makes a marker container (the cluster's label and no role label: the operator leaves
/// such a container alone), removes it by id, and is ready only once that marker's `create`
/// came through the host's stream; [`ContainerEvents::finish`] does the same again, so
/// everything the engine did before has been delivered. A subscription that fails, ends or
/// delivers nothing fails the test with what `docker events` said: an empty list from
/// `finish` means that nothing happened, not that nothing was heard.
pub struct ContainerEvents<'a> {
    fleet: &'a Fleet,
    cluster: String,
    serial: u32,
    streams: Vec<EventStream>,
    dir: PathBuf,
}

/// One host's `docker events`.
struct EventStream {
    host: String,
    child: std::process::Child,
    out: PathBuf,
    err: PathBuf,
}

/// One event: nanoseconds since the epoch (the engine's clock), host, action, container.
pub type ContainerEvent = (u128, String, String, String);

/// Names of the recorder's marker containers start with this (left out of its events).
const EVENTS_MARKER: &str = "mo-events-marker-";

/// How long a marker may take to come through a host's stream.
const EVENTS_MARKER_TIMEOUT: Duration = Duration::from_secs(30);

impl Fleet {
    /// Starts recording the container events of `cluster` on `hosts`; returns once every
    /// host's stream has delivered a marker.
    pub fn container_events(&self, hosts: &[String], cluster: &str) -> ContainerEvents<'_> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "mesos-operator-events-{}-{serial}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("events dir");
        let mut events = ContainerEvents {
            fleet: self,
            cluster: cluster.to_string(),
            serial,
            streams: Vec::new(),
            dir,
        };
        for h in hosts {
            let out = events.dir.join(format!("{h}.events"));
            let err = events.dir.join(format!("{h}.err"));
            let child = self
                .docker_command(h, &[])
                .args([
                    "events",
                    "--filter",
                    "type=container",
                    "--filter",
                    &format!("label=io.mesos-operator.cluster={cluster}"),
                    "--format",
                    "{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::from(
                    std::fs::File::create(&out).expect("events file"),
                ))
                .stderr(Stdio::from(
                    std::fs::File::create(&err).expect("events error file"),
                ))
                .spawn()
                .expect("docker events");
            events.streams.push(EventStream {
                host: h.clone(),
                child,
                out,
                err,
            });
        }
        events.prove_live("start");
        events
    }
}

impl ContainerEvents<'_> {
    /// Makes a marker container on every host and waits until each host's stream has
    /// delivered its `create`; panics with `docker events`' own words if a stream ended or
    /// stays silent.
    fn prove_live(&mut self, phase: &str) {
        let names: Vec<String> = self
            .streams
            .iter()
            .map(|s| {
                let name = format!(
                    "{EVENTS_MARKER}{}-{}-{}-{phase}",
                    std::process::id(),
                    self.serial,
                    s.host
                );
                self.marker(&s.host, &name);
                name
            })
            .collect();
        let deadline = std::time::Instant::now() + EVENTS_MARKER_TIMEOUT;
        for (s, name) in self.streams.iter_mut().zip(&names) {
            loop {
                let text = std::fs::read_to_string(&s.out).unwrap_or_default();
                let seen = text.lines().any(|l| {
                    let mut it = l.splitn(3, ' ');
                    it.next();
                    it.next() == Some("create") && it.next() == Some(name.as_str())
                });
                if seen {
                    break;
                }
                let said = || std::fs::read_to_string(&s.err).unwrap_or_default();
                if let Ok(Some(status)) = s.child.try_wait() {
                    panic!(
                        "docker events on {} ended ({status}) before its {phase} marker came through: {}",
                        s.host,
                        said()
                    );
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "docker events on {} did not deliver its {phase} marker {name} within {:?}: {}",
                    s.host,
                    EVENTS_MARKER_TIMEOUT,
                    said()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Creates (never starts) and removes, by id, a container with the cluster's label
    /// and no role on `host`, from an image the host already has.
    fn marker(&self, host: &str, name: &str) {
        let image = self
            .fleet
            .docker_ok(host, &["image", "ls", "-q"])
            .lines()
            .next()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/zookeeper:3.8.0", self.fleet.registry));
        let created = self.fleet.docker_ok(
            host,
            &[
                "create",
                "--name",
                name,
                "--label",
                &format!("io.mesos-operator.cluster={}", self.cluster),
                "--label",
                "io.mesos-operator.test=events-marker",
                &image,
                "true",
            ],
        );
        let id = created
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        assert!(
            !id.is_empty(),
            "docker create {name} on {host} printed no id"
        );
        self.fleet.docker_ok(host, &["rm", "-f", "-v", &id]);
    }

    /// Stops recording once a last marker came through every stream; every event seen,
    /// oldest first. The markers, health-check and exec events are not actions and are
    /// left out.
    pub fn finish(mut self) -> Vec<ContainerEvent> {
        self.prove_live("finish");
        let mut all = Vec::new();
        for s in &mut self.streams {
            let _ = s.child.kill();
            let _ = s.child.wait();
            let text = std::fs::read_to_string(&s.out).unwrap_or_default();
            for l in text.lines() {
                let mut it = l.splitn(3, ' ');
                let (Some(t), Some(action), Some(name)) = (it.next(), it.next(), it.next()) else {
                    continue;
                };
                if action.starts_with("exec_")
                    || action.starts_with("health_status")
                    || name.starts_with(EVENTS_MARKER)
                {
                    continue;
                }
                if let Ok(t) = t.parse() {
                    all.push((t, s.host.clone(), action.to_string(), name.to_string()));
                }
            }
        }
        all.sort();
        all
    }
}

impl Drop for ContainerEvents<'_> {
    fn drop(&mut self) {
        for s in &mut self.streams {
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Now, in nanoseconds since the epoch (the clock `docker events` stamps with).
pub fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
