//! Emulated clusters started straight on the fleet, without the operator: ZooKeeper 3.8,
//! the emulator's masters, agents and Marathon as containers on the test bed's hosts, each
//! started by a test (`contract-<role>` names, a label of the test's own), and plain
//! HTTP/1.1 helpers to talk to them. Shared by the emulator's contract tests and the
//! Marathon–HAProxy bridge's fleet test. Include it with `#[path]` beside `fleet.rs`
//! (declared as `mod fleet` at the crate root).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fleet::{four_letter, Fleet, Scoped};

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub fn http(method: &str, addr: &str, path: &str, body: &str) -> Option<Resp> {
    http_with(method, addr, path, body, "")
}

/// [`http`] with more header lines (`"Name: value\r\n"` each).
pub fn http_with(method: &str, addr: &str, path: &str, body: &str, extra: &str) -> Option<Resp> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    Some(Resp {
        status,
        headers,
        body: body.to_string(),
    })
}

/// An emulator image's name in the test bed's registry: `EMULATOR_IMAGE_PREFIX` (as
/// `images/emulator/build.sh` was run with) lets a branch test its images without
/// replacing the shared tags.
pub fn image_name(image: &str) -> String {
    if image.starts_with("zookeeper:") {
        return image.to_string();
    }
    format!(
        "{}{image}",
        std::env::var("EMULATOR_IMAGE_PREFIX").unwrap_or_default()
    )
}

pub fn get(addr: &str, path: &str) -> Option<Resp> {
    http("GET", addr, path, "")
}

pub fn eventually<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

pub struct Cluster<'a> {
    pub f: &'a Fleet,
    pub label: String,
    pub ips: Vec<String>,
    pub zk: String,
}

impl Cluster<'_> {
    pub fn run(&self, host: usize, name: &str, image: &str, env: &[String], extra: &[&str]) {
        let host = format!("host{}", host + 1);
        let mut args: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            format!("contract-{name}"),
            "--label".into(),
            self.label.clone(),
            "--net".into(),
            "host".into(),
        ];
        for e in env {
            args.push("-e".into());
            args.push(e.clone());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(format!("{}/{}", self.f.registry, image_name(image)));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.f.docker_ok(&host, &refs);
    }

    pub fn master(&self, host: usize, image: &str, quorum: u32) {
        self.master_with(host, image, quorum, "1secs");
    }

    /// A master whose agents are unreachable after 3 × `ping` without an answer.
    pub fn master_with(&self, host: usize, image: &str, quorum: u32, ping: &str) {
        let ip = &self.ips[host];
        self.run(
            host,
            "master",
            image,
            &[
                format!("MESOS_ZK={}/mesos", self.zk),
                format!("MESOS_QUORUM={quorum}"),
                format!("MESOS_IP={ip}"),
                format!("MESOS_HOSTNAME={ip}"),
                "MESOS_WORK_DIR=/var/lib/mesos".into(),
                "MESOS_REGISTRY_FETCH_TIMEOUT=8secs".into(),
                format!("MESOS_AGENT_PING_TIMEOUT={ping}"),
                "MESOS_MAX_AGENT_PING_TIMEOUTS=3".into(),
                "MESOS_ISOLATOR=ignored".into(),
            ],
            &[],
        );
    }

    /// An agent as the operator runs it: work dir on a volume, the host's Docker socket,
    /// executors in the agent's own image.
    pub fn agent(&self, host: usize) {
        self.agent_with(host, &[]);
    }

    /// [`Cluster::agent`] with more flags (`MESOS_*` variables).
    pub fn agent_with(&self, host: usize, more: &[String]) {
        let ip = &self.ips[host];
        let mut env = vec![
            format!("MESOS_MASTER={}/mesos", self.zk),
            format!("MESOS_IP={ip}"),
            format!("MESOS_HOSTNAME={ip}"),
            "MESOS_WORK_DIR=/var/lib/mesos".into(),
            format!(
                "MESOS_DOCKER_MESOS_IMAGE={}/{}",
                self.f.registry,
                image_name("mesos-agent:1.11.0")
            ),
        ];
        env.extend(more.iter().cloned());
        self.run(
            host,
            "agent",
            "mesos-agent:1.11.0",
            &env,
            &[
                "-v",
                "agent-work:/var/lib/mesos",
                "-v",
                "/var/run/docker.sock:/var/run/docker.sock",
                "--restart",
                "unless-stopped",
            ],
        );
    }

    pub fn marathon(&self, host: usize, name: &str, image: &str) {
        let ip = &self.ips[host];
        self.run(
            host,
            name,
            image,
            &[
                format!("MARATHON_MASTER={}/mesos", self.zk),
                format!("MARATHON_ZK={}/marathon", self.zk),
                format!("MARATHON_HOSTNAME={ip}"),
                "MARATHON_HTTP_PORT=8080".into(),
            ],
            &[],
        );
    }

    pub fn leader(&self) -> usize {
        eventually("a single elected master", 60, || {
            let elected: Vec<usize> = (0..3)
                .filter(|i| {
                    get(&format!("{}:5050", self.ips[*i]), "/metrics/snapshot")
                        .is_some_and(|r| r.status == 200 && r.json()["master/elected"] == 1.0)
                })
                .collect();
            (elected.len() == 1).then(|| elected[0])
        })
    }

    /// Waits until the leading master lists three agents and an active framework
    /// (Marathon registered).
    pub fn agents_and_marathon_registered(&self, leader: usize, secs: u64) {
        eventually("three agents and Marathon", secs, || {
            let st = self.state(leader);
            let agents = st["slaves"].as_array()?.len();
            let fw = st["frameworks"]
                .as_array()?
                .iter()
                .any(|f| f["active"] == true);
            (agents == 3 && fw).then_some(())
        });
    }

    pub fn state(&self, leader: usize) -> Value {
        get(&format!("{}:5050", self.ips[leader]), "/master/state")
            .map(|r| r.json())
            .unwrap_or_default()
    }
}

impl Cluster<'_> {
    /// A ZooKeeper 3.8 ensemble on the first three hosts, waited for.
    pub fn zookeeper(&self) {
        let ens: String = self
            .ips
            .iter()
            .enumerate()
            .map(|(i, ip)| format!("{}={ip}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        for (i, ip) in self.ips.iter().enumerate() {
            self.run(
                i,
                "zk",
                "zookeeper:3.8.0",
                &[
                    format!("ZK_SERVER_ID={}", i + 1),
                    format!("ZK_ENSEMBLE={ens}"),
                    format!("ZK_ADDRESS={ip}"),
                ],
                &["-v", "contract-zk:/var/lib/zookeeper"],
            );
        }
        eventually("a ZooKeeper quorum", 60, || {
            let leaders = self
                .ips
                .iter()
                .filter(|ip| {
                    four_letter(ip, 2181, "srvr", Duration::from_secs(2)).contains("Mode: leader")
                })
                .count();
            (leaders == 1).then_some(())
        });
    }
}

/// A cluster of its own on the fleet: label, scope and a clean slate of volumes.
pub fn cluster<'a>(f: &'a Fleet, name: &str) -> (Cluster<'a>, Scoped<'a>) {
    let label = format!("io.mesos-operator.test={name}-{}", std::process::id());
    let scope = Scoped {
        fleet: f,
        label: label.clone(),
    };
    let ips: Vec<String> = f.hosts.values().take(3).map(|h| h.ip.clone()).collect();
    let zk = format!(
        "zk://{}",
        ips.iter()
            .map(|i| format!("{i}:2181"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for h in f.hosts.values() {
        f.docker(
            &h.name,
            &["volume", "rm", "-f", "agent-work", "contract-zk"],
        );
    }
    (Cluster { f, label, ips, zk }, scope)
}

/// Removes the task containers the emulated agents started (they carry no test label).
pub struct TaskContainers<'a>(pub &'a Fleet);

impl Drop for TaskContainers<'_> {
    fn drop(&mut self) {
        self.0.remove_labelled("io.mesos-emulator.agent");
    }
}

pub fn marathon_leader(c: &Cluster) -> String {
    eventually("a Marathon leader", 60, || {
        let r = get(&format!("{}:8080", c.ips[0]), "/v2/leader")
            .filter(|r| r.status == 200)
            .or_else(|| get(&format!("{}:8080", c.ips[1]), "/v2/leader"))
            .filter(|r| r.status == 200)?;
        Some(r.json()["leader"].as_str().unwrap_or_default().to_string())
    })
}

/// The app as Marathon reports it, once it runs `n` instances with no deployment left.
pub fn settled(addr: &str, app: &str, n: u64, secs: u64) -> Value {
    eventually(&format!("{app} running {n} instances"), secs, || {
        // A standby without a leader yet answers 502 (text).
        let r = get(addr, &format!("/v2/apps{app}")).filter(|r| r.status == 200)?;
        let a = r.json()["app"].clone();
        (r.status == 200
            && a["tasksRunning"] == n
            && a["instances"] == n
            && a["deployments"].as_array()?.is_empty()
            && a["tasks"].as_array()?.len() == n as usize)
            .then_some(a)
    })
}
