//! The shared integration-test harness.
//!
//! One real etcd (Debian's `etcd-server`) per test binary, on free loopback ports with a
//! temporary data directory, started on first use. Rust runs no destructor for statics, so
//! a small watchdog process (started here, known by pid) stops that etcd by its pid and
//! removes its directory when the test process exits, however it exits. Set
//! `MESOS_OPERATOR_TEST_ETCD=http://127.0.0.1:PORT` to use an etcd you started yourself.
//!
//! Every test gets its own key prefix, so tests in one binary never see each other's data.

#![allow(dead_code)]

pub mod fleet;
pub mod model;
pub mod operator;
pub mod prometheus;
pub mod secure_etcd;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running etcd.
pub struct Etcd {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

static ETCD: OnceLock<Etcd> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(cmd))
            .find(|p| p.is_file())
    })
}

fn start_etcd() -> Etcd {
    if let Ok(ep) = std::env::var("MESOS_OPERATOR_TEST_ETCD") {
        return Etcd { endpoint: ep };
    }
    let cluster = EtcdCluster::start(1);
    let endpoint = cluster.endpoints[0].clone();
    // The shared etcd lives as long as the test process; its watchdog ends it.
    std::mem::forget(cluster);
    Etcd { endpoint }
}

/// An etcd cluster of its own for one test (a member to freeze or kill): `n` processes on
/// loopback, each known by pid and ended by a watchdog however the test process exits, and
/// by `Drop` when the test is done.
pub struct EtcdCluster {
    /// `http://127.0.0.1:PORT` of each member.
    pub endpoints: Vec<String>,
    children: Vec<std::process::Child>,
    dir: PathBuf,
}

impl EtcdCluster {
    /// Starts `n` members and waits until each listens.
    // The watchdog or Drop ends each member.
    #[allow(clippy::zombie_processes)]
    pub fn start(n: usize) -> EtcdCluster {
        let bin = which("etcd").expect("etcd not found: `make test` installs Debian's etcd-server");
        let dir = tempfile::Builder::new()
            .prefix("mesos-operator-test-etcd-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect();
        let token = format!("mesos-operator-test-{}-{}", std::process::id(), ports[0].0);
        let mut children = Vec::new();
        let mut endpoints = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let endpoint = format!("http://127.0.0.1:{client}");
            let log = std::fs::File::create(dir.join(format!("etcd{i}.log"))).expect("etcd log");
            let child = Command::new(&bin)
                .arg("--name")
                .arg(format!("m{i}"))
                .arg("--data-dir")
                .arg(dir.join(format!("data{i}")))
                .arg("--listen-client-urls")
                .arg(&endpoint)
                .arg("--advertise-client-urls")
                .arg(&endpoint)
                .arg("--listen-peer-urls")
                .arg(format!("http://127.0.0.1:{peer}"))
                .arg("--initial-advertise-peer-urls")
                .arg(format!("http://127.0.0.1:{peer}"))
                .arg("--initial-cluster")
                .arg(initial.join(","))
                .arg("--initial-cluster-token")
                .arg(&token)
                .stdout(Stdio::from(log.try_clone().expect("log")))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start etcd");
            watchdog(child.id(), &dir);
            children.push(child);
            endpoints.push(endpoint);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for (client, _) in &ports {
            while TcpStream::connect(("127.0.0.1", *client)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "etcd did not listen on port {client}; see {}",
                    dir.display()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        EtcdCluster {
            endpoints,
            children,
            dir,
        }
    }

    /// Every endpoint, comma-separated, as `--etcd` takes them.
    pub fn endpoint_list(&self) -> String {
        self.endpoints.join(",")
    }

    /// The pid of member `i`.
    pub fn pid(&self, i: usize) -> u32 {
        self.children[i].id()
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`) to member `i`.
    pub fn signal(&self, i: usize, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid(i).to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{signal} etcd member {i}");
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops `pid` and removes `dir` once this test process is gone.
#[allow(clippy::zombie_processes)]
fn watchdog(pid: u32, dir: &Path) {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill {pid} 2>/dev/null; sleep 1; kill -9 {pid} 2>/dev/null; rm -rf '{}'",
        dir.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watchdog");
}

/// The binary's etcd, started on first use.
pub fn etcd() -> &'static Etcd {
    ETCD.get_or_init(start_etcd)
}

/// A unique etcd key prefix for one test.
pub fn unique_prefix(test: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("/test-{}-{n}-{test}/", std::process::id())
}

/// Path of a file in the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs `mesos-operator` with the test etcd and prefix; stdin is empty.
pub fn cli(prefix: &str, args: &[&str]) -> Output {
    cli_with_stdin(prefix, args, "")
}

/// Runs `mesos-operator` feeding `stdin`.
pub fn cli_with_stdin(prefix: &str, args: &[&str], stdin: &str) -> Output {
    cli_on(&etcd().endpoint, prefix, args, stdin)
}

/// Runs `mesos-operator` against the etcd `endpoints` (comma-separated), feeding `stdin`.
pub fn cli_on(endpoints: &str, prefix: &str, args: &[&str], stdin: &str) -> Output {
    cli_env(endpoints, prefix, &[], args, stdin)
}

/// [`cli_on`] with extra environment (a user and password for etcd's auth).
pub fn cli_env(
    endpoints: &str,
    prefix: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
        .env("MESOS_OPERATOR_ETCD", endpoints)
        .env("MESOS_OPERATOR_ETCD_PREFIX", prefix)
        .env_remove("MESOS_OPERATOR_ETCD_PASSWORD")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mesos-operator");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// `GET path` on `addr` (`host:port`) as `version` (`HTTP/1.0`, or `HTTP/1.1` with
/// `Connection: close`); the answer is read until the server closes or `timeout` passes
/// without a byte: (status, body), or (0, "") when nothing answers.
pub fn http_get(addr: &str, path: &str, version: &str, timeout: Duration) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(timeout));
    let req = format!("GET {path} {version}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Exit code, stdout and stderr as strings.
pub fn parts(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A store on the test etcd under `prefix`.
pub async fn store(prefix: &str) -> mesos_operator::store::Store {
    let opts = mesos_operator::etcd::EtcdOptions {
        endpoints: vec![etcd().endpoint.clone()],
        prefix: prefix.to_string(),
        ..Default::default()
    };
    mesos_operator::store::Store::connect(&opts)
        .await
        .expect("connect to test etcd")
}

/// The seed example as text, renamed.
pub fn seed_yaml(name: &str) -> String {
    std::fs::read_to_string(repo_path("manifests/examples/cluster7.yaml"))
        .expect("seed example")
        .replace("name: cluster7", &format!("name: {name}"))
}
