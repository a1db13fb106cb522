//! Contract tests: the emulator's images on the test bed's Docker hosts, against a real
//! ZooKeeper 3.8 ensemble, checked endpoint by endpoint against
//! `shared/reference/mesos-marathon-api.md`: shapes and status codes, leader election and
//! failover, redirects, Marathon forwarding, agent re-registration, the maintenance state
//! machine, quorum loss, and the refusal of a Marathon downgrade.

#[path = "../../tests/common/fleet.rs"]
mod fleet;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use fleet::{fleet, four_letter, Fleet, Scoped};
use serde_json::Value;

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn http(method: &str, addr: &str, path: &str, body: &str) -> Option<Resp> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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

fn get(addr: &str, path: &str) -> Option<Resp> {
    http("GET", addr, path, "")
}

fn eventually<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

struct Cluster<'a> {
    f: &'a Fleet,
    label: String,
    ips: Vec<String>,
    zk: String,
}

impl Cluster<'_> {
    fn run(&self, host: usize, name: &str, image: &str, env: &[String], extra: &[&str]) {
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
        args.push(format!("{}/{image}", self.f.registry));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.f.docker_ok(&host, &refs);
    }

    fn master(&self, host: usize, image: &str, quorum: u32) {
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
                "MESOS_AGENT_PING_TIMEOUT=1secs".into(),
                "MESOS_MAX_AGENT_PING_TIMEOUTS=3".into(),
                "MESOS_ISOLATOR=ignored".into(),
            ],
            &[],
        );
    }

    fn agent(&self, host: usize) {
        let ip = &self.ips[host];
        self.run(
            host,
            "agent",
            "mesos-agent:1.11.0",
            &[
                format!("MESOS_MASTER={}/mesos", self.zk),
                format!("MESOS_IP={ip}"),
                format!("MESOS_HOSTNAME={ip}"),
                "MESOS_WORK_DIR=/var/lib/mesos".into(),
            ],
            &[
                "-v",
                "agent-work:/var/lib/mesos",
                "--restart",
                "unless-stopped",
            ],
        );
    }

    fn marathon(&self, host: usize, name: &str, image: &str) {
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

    fn leader(&self) -> usize {
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

    fn state(&self, leader: usize) -> Value {
        get(&format!("{}:5050", self.ips[leader]), "/master/state")
            .map(|r| r.json())
            .unwrap_or_default()
    }
}

#[test]
fn the_emulator_honours_the_documented_contract() {
    let _g = fleet::exclusive();
    let f = fleet();
    let label = format!("io.mesos-operator.test=contract-{}", std::process::id());
    let _scope = Scoped {
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
    let c = Cluster {
        f,
        label,
        ips: ips.clone(),
        zk,
    };
    for h in f.hosts.values() {
        f.docker(
            &h.name,
            &["volume", "rm", "-f", "agent-work", "contract-zk"],
        );
    }

    // A real ZooKeeper 3.8 ensemble across the three hosts.
    let ens: String = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| format!("{}={ip}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    for (i, ip) in ips.iter().enumerate() {
        c.run(
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
        let leaders = ips
            .iter()
            .filter(|ip| {
                four_letter(ip, 2181, "srvr", Duration::from_secs(2)).contains("Mode: leader")
            })
            .count();
        (leaders == 1).then_some(())
    });

    // A master with --zk and no --quorum exits with Mesos' own message.
    let no_quorum = f.docker(
        "host1",
        &[
            "run",
            "--rm",
            "--net",
            "host",
            "-e",
            &format!("MESOS_ZK={}/mesos", c.zk),
            "-e",
            "MESOS_WORK_DIR=/tmp",
            &format!("{}/mesos-master:1.11.0", f.registry),
        ],
    );
    assert_eq!(no_quorum.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_quorum.stderr).contains(
        "Need to specify --quorum for replicated log based registry when using ZooKeeper"
    ));

    // Three masters, an agent on each host, two Marathons.
    for i in 0..3 {
        c.master(i, "mesos-master:1.11.0", 2);
    }
    let leader = c.leader();
    let laddr = format!("{}:5050", ips[leader]);
    for i in 0..3 {
        let addr = format!("{}:5050", ips[i]);
        // A master still pulling its image or joining ZooKeeper does not answer yet.
        let h = eventually("the master to serve HTTP", 60, || get(&addr, "/health"));
        assert_eq!((h.status, h.body.as_str()), (200, ""));
        let v = get(&addr, "/version").unwrap().json();
        assert_eq!(v["version"], "1.11.0");
        assert_eq!(
            get(&addr, "/master/state.json").unwrap().status,
            404,
            "removed in 1.8"
        );
        assert!(get(&addr, "/master/flags").unwrap().json()["flags"]["quorum"] == "2");
        if i != leader {
            // Until it has seen the election nodes a master knows no leader: 503.
            let r = eventually("the non-leader to know the leader", 10, || {
                get(&addr, "/master/state?jsonp=x").filter(|r| r.status != 503)
            });
            assert_eq!(r.status, 307);
            assert_eq!(
                r.header("location"),
                Some(format!("//{}:5050/master/state?jsonp=x", ips[leader]).as_str())
            );
            assert_eq!(
                get(&addr, "/metrics/snapshot").unwrap().json()["master/elected"],
                0.0
            );
            assert_eq!(
                get(&addr, "/master/redirect").unwrap().header("location"),
                Some(format!("//{}:5050", ips[leader]).as_str())
            );
        }
    }
    let m = get(&laddr, "/metrics/snapshot").unwrap();
    assert!(
        m.body.contains("\"registrar/log/recovered\":1.0"),
        "numbers are doubles: {}",
        m.body
    );
    assert_eq!(m.json()["registrar/log/ensemble_size"], 3.0);
    let st = c.state(leader);
    for key in [
        "version",
        "id",
        "pid",
        "hostname",
        "elected_time",
        "start_time",
        "leader",
        "leader_info",
        "flags",
        "slaves",
        "frameworks",
        "activated_slaves",
        "capabilities",
    ] {
        assert!(st.get(key).is_some(), "/master/state lacks {key}");
    }
    assert_eq!(st["leader"], format!("master@{}:5050", ips[leader]));
    assert!(
        st["flags"].get("isolator").is_none(),
        "unknown MESOS_* variables are ignored"
    );

    for i in 0..3 {
        c.agent(i);
    }
    let agents = eventually("three active agents", 30, || {
        let st = c.state(leader);
        let slaves = st["slaves"].as_array().cloned().unwrap_or_default();
        (slaves.len() == 3 && slaves.iter().all(|s| s["active"] == true)).then_some(slaves)
    });
    for s in &agents {
        assert_eq!(s["version"], "1.11.0");
        assert!(s["id"]
            .as_str()
            .unwrap()
            .starts_with(st["id"].as_str().unwrap()));
        assert!(s["id"].as_str().unwrap().contains("-S"));
    }
    let astate = get(&format!("{}:5051", ips[0]), "/state").unwrap();
    assert_eq!(astate.status, 200);
    assert_eq!(
        get(&format!("{}:5051", ips[0]), "/metrics/snapshot")
            .unwrap()
            .json()["slave/registered"],
        1.0
    );
    let slaves = get(&laddr, "/master/slaves").unwrap().json();
    assert_eq!(slaves["slaves"].as_array().unwrap().len(), 3);
    assert!(slaves.get("recovered_slaves").is_some());

    c.marathon(0, "marathon", "marathon:1.10.26");
    c.marathon(1, "marathon", "marathon:1.10.26");
    let mleader = eventually("a Marathon leader", 30, || {
        let r = get(&format!("{}:8080", ips[1]), "/v2/leader")?;
        (r.status == 200).then(|| r.json()["leader"].as_str().unwrap_or_default().to_string())
    });
    let standby = if mleader.starts_with(&ips[0]) { 1 } else { 0 };
    let r = get(&format!("{}:8080", ips[standby]), "/ping").unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "pong"));
    assert_eq!(
        r.header("x-marathon-leader"),
        Some(format!("http://{mleader}").as_str())
    );
    assert_eq!(
        r.header("x-marathon-via"),
        Some(format!("1.1 {}:8080", ips[standby]).as_str())
    );
    let info = get(&format!("{}:8080", ips[standby]), "/v2/info")
        .unwrap()
        .json();
    assert_eq!(info["version"], "1.10.26");
    assert_eq!(info["leader"], mleader);
    let fw = eventually("Marathon registered as a framework", 30, || {
        let fws = get(&laddr, "/master/frameworks")?.json()["frameworks"]
            .as_array()
            .cloned()?;
        fws.into_iter()
            .find(|f| f["name"] == "marathon" && f["active"] == true)
    });
    assert!(fw["id"].as_str().unwrap().ends_with("-0000"));

    // Maintenance: schedule → DRAINING; up only from DOWN; down → agent gone and refused; up → back.
    let machine = format!("{{\"hostname\":\"{0}\",\"ip\":\"{0}\"}}", ips[2]);
    let schedule = format!("{{\"windows\":[{{\"machine_ids\":[{machine}],\"unavailability\":{{\"start\":{{\"nanoseconds\":1}},\"duration\":{{\"nanoseconds\":3600000000000}}}}}}]}}");
    assert_eq!(
        get(&laddr, "/master/maintenance/schedule").unwrap().body,
        "{}"
    );
    assert_eq!(
        http(
            "POST",
            &laddr,
            "/master/maintenance/schedule",
            "{\"windows\":[{}]}"
        )
        .unwrap()
        .status,
        400
    );
    assert_eq!(
        http(
            "POST",
            &laddr,
            "/master/machine/down",
            &format!("[{machine}]")
        )
        .unwrap()
        .status,
        400,
        "not scheduled"
    );
    assert_eq!(
        http("POST", &laddr, "/master/maintenance/schedule", &schedule)
            .unwrap()
            .status,
        200
    );
    let status = get(&laddr, "/master/maintenance/status").unwrap().json();
    assert_eq!(status["draining_machines"][0]["id"]["hostname"], ips[2]);
    assert_eq!(
        http(
            "POST",
            &laddr,
            "/master/machine/up",
            &format!("[{machine}]")
        )
        .unwrap()
        .status,
        400,
        "not down"
    );
    assert_eq!(
        http(
            "POST",
            &laddr,
            "/master/machine/down",
            &format!("[{machine}]")
        )
        .unwrap()
        .status,
        200
    );
    assert_eq!(
        get(&laddr, "/master/maintenance/status").unwrap().json()["down_machines"][0]["ip"],
        ips[2]
    );
    std::thread::sleep(Duration::from_secs(3));
    let st = c.state(leader);
    assert!(
        !st["slaves"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["hostname"] == ips[2] && s["active"] == true),
        "a DOWN machine's agent may not re-register"
    );
    assert_eq!(
        http(
            "POST",
            &laddr,
            "/master/machine/up",
            &format!("[{machine}]")
        )
        .unwrap()
        .status,
        200
    );
    eventually("the agent back after machine/up", 20, || {
        c.state(leader)["slaves"]
            .as_array()?
            .iter()
            .any(|s| s["hostname"] == ips[2] && s["active"] == true)
            .then_some(())
    });

    // Failover: the leader dies; a new one is elected and agents re-register with their ids.
    let ids: Vec<String> = agents
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    f.docker_ok(
        &format!("host{}", leader + 1),
        &["rm", "-f", "contract-master"],
    );
    let new_leader = eventually("a new leader", 60, || {
        let l = (0..3).find(|i| {
            *i != leader
                && get(&format!("{}:5050", ips[*i]), "/metrics/snapshot")
                    .is_some_and(|r| r.json()["master/elected"] == 1.0)
        })?;
        Some(l)
    });
    let rereg = eventually("agents re-registered with the new leader", 60, || {
        let slaves = c.state(new_leader)["slaves"].as_array().cloned()?;
        (slaves.len() == 3 && slaves.iter().all(|s| s.get("reregistered_time").is_some()))
            .then_some(slaves)
    });
    for s in &rereg {
        assert!(
            ids.contains(&s["id"].as_str().unwrap().to_string()),
            "agent id changed on re-registration"
        );
    }

    // Quorum loss: with only one of three masters left (quorum 2), the leader exits after
    // --registry_fetch_timeout once the dead masters' sessions have expired.
    let other = (0..3).find(|i| *i != leader && *i != new_leader).unwrap();
    f.docker_ok(
        &format!("host{}", other + 1),
        &["rm", "-f", "contract-master"],
    );
    let lhost = format!("host{}", new_leader + 1);
    eventually("the leader without quorum to exit", 90, || {
        (f.docker_ok(
            &lhost,
            &["inspect", "-f", "{{.State.Running}}", "contract-master"],
        ) == "false")
            .then_some(())
    });
    let logs = f.docker(&lhost, &["logs", "contract-master"]);
    assert!(String::from_utf8_lossy(&logs.stdout)
        .contains("Recovery failed: Failed to recover registrar"));

    // Marathon refuses stored state of a newer version.
    f.docker_ok("host1", &["rm", "-f", "contract-marathon"]);
    f.docker_ok("host2", &["rm", "-f", "contract-marathon"]);
    c.marathon(0, "marathon-old", "marathon:1.10.17");
    let lhost1 = "host1";
    eventually("the old Marathon to refuse the newer state", 60, || {
        (f.docker_ok(
            lhost1,
            &[
                "inspect",
                "-f",
                "{{.State.Running}} {{.State.ExitCode}}",
                "contract-marathon-old",
            ],
        ) == "false 1")
            .then_some(())
    });
}

impl Cluster<'_> {
    /// A ZooKeeper 3.8 ensemble on the first three hosts, waited for.
    fn zookeeper(&self) {
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
fn cluster<'a>(f: &'a Fleet, name: &str) -> (Cluster<'a>, Scoped<'a>) {
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

fn secs(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

/// `docker stop` of the leading master: how long the stop takes, how long until a new
/// leader is elected, every agent has re-registered with it and Marathon is back as a
/// framework. Printed (run with `--nocapture`) and bounded: the stop is prompt (SIGTERM),
/// and the failover is bound by the ZooKeeper session timeout, not by Docker's grace.
#[test]
fn a_stopped_leader_fails_over_within_the_session_timeout() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "failover");
    c.zookeeper();
    for i in 0..3 {
        c.master(i, "mesos-master:1.11.0", 2);
    }
    let leader = c.leader();
    for i in 0..3 {
        c.agent(i);
    }
    c.marathon(0, "marathon", "marathon:1.10.26");
    c.marathon(1, "marathon", "marathon:1.10.26");
    eventually("three agents and Marathon", 60, || {
        let st = c.state(leader);
        let agents = st["slaves"].as_array()?.len();
        let fw = st["frameworks"]
            .as_array()?
            .iter()
            .any(|f| f["active"] == true);
        (agents == 3 && fw).then_some(())
    });
    let t0 = Instant::now();
    f.docker_ok(&format!("host{}", leader + 1), &["stop", "contract-master"]);
    let stop = secs(t0);
    let new_leader = eventually("a new leader", 60, || {
        (0..3).find(|i| {
            *i != leader
                && get(&format!("{}:5050", c.ips[*i]), "/metrics/snapshot")
                    .is_some_and(|r| r.json()["master/elected"] == 1.0)
        })
    });
    let elected = secs(t0);
    eventually("agents re-registered", 60, || {
        let slaves = c.state(new_leader)["slaves"].as_array()?.clone();
        (slaves.len() == 3).then_some(())
    });
    let agents = secs(t0);
    eventually("Marathon back as a framework", 60, || {
        c.state(new_leader)["frameworks"]
            .as_array()?
            .iter()
            .any(|f| f["name"] == "marathon" && f["active"] == true)
            .then_some(())
    });
    let framework = secs(t0);
    let mleader = eventually("a Marathon leader", 30, || {
        let r = get(&format!("{}:8080", c.ips[0]), "/v2/leader")?;
        (r.status == 200).then(|| r.json()["leader"].as_str().unwrap_or_default().to_string())
    });
    let mhost = if mleader.starts_with(&format!("{}:", c.ips[0])) {
        1
    } else {
        2
    };
    let standby = c.ips[2 - mhost].clone();
    let t1 = Instant::now();
    f.docker_ok(&format!("host{mhost}"), &["stop", "contract-marathon"]);
    let mstop = secs(t1);
    eventually("the standby Marathon to lead", 60, || {
        let r = get(&format!("{standby}:8080"), "/v2/leader")?;
        (r.status == 200 && r.json()["leader"].as_str()? == format!("{standby}:8080")).then_some(())
    });
    let mlead = secs(t1);
    eprintln!(
        "FAILOVER master: docker stop {stop}s, new leader {elected}s, agents re-registered {agents}s, \
         Marathon framework back {framework}s; Marathon: docker stop {mstop}s, standby leads {mlead}s"
    );
    assert!(
        stop < 5.0,
        "docker stop of a master took {stop}s: SIGTERM ignored?"
    );
    assert!(
        mstop < 5.0,
        "docker stop of Marathon took {mstop}s: SIGTERM ignored?"
    );
    assert!(elected < 25.0, "failover took {elected}s");
}
