//! Contract tests: the emulator's images on the test bed's Docker hosts, against a real
//! ZooKeeper 3.8 ensemble, checked endpoint by endpoint against
//! `shared/reference/mesos-marathon-api.md`: shapes and status codes, leader election and
//! failover, redirects, Marathon forwarding, agent re-registration, the maintenance state
//! machine, quorum loss, and the refusal of a Marathon downgrade.

#[path = "../../tests/common/emulated.rs"]
mod emulated;
#[path = "../../tests/common/fleet.rs"]
mod fleet;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use emulated::{
    cluster, eventually, get, http, http_with, image_name, marathon_leader, settled, Cluster,
    TaskContainers,
};
use fleet::{fleet, four_letter, Fleet};
use serde_json::Value;

#[test]
fn the_emulator_honours_the_documented_contract() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "contract");
    let ips = c.ips.clone();

    // A real ZooKeeper 3.8 ensemble across the three hosts.
    c.zookeeper();

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
            &format!("{}/{}", f.registry, image_name("mesos-master:1.11.0")),
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
    let refused = log_lines(f, "host3", "contract-agent", MACHINE_DOWN);
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
    // The agent tried to register since, and the master refused it: it was told to shut
    // down for the machine's DOWN, and says it is not registered.
    eventually("the DOWN machine's agent refused by the master", 30, || {
        let m = get(&format!("{}:5051", ips[2]), "/metrics/snapshot")?.json();
        (log_lines(f, "host3", "contract-agent", MACHINE_DOWN) > refused
            && m["slave/registered"] == 0.0)
            .then_some(())
    });
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

fn secs(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

/// Failover after `docker stop` of the leading master, then of the leading Marathon: how
/// long the stop takes, until a new leader is elected, every agent has re-registered with
/// it and Marathon is back as a framework, and until the standby Marathon leads. With
/// `stop_signal` the containers are created with `--stop-signal` (SIGURG, which a process
/// ignores by default: what an emulator without a SIGTERM handler did).
fn measure_failover(c: &Cluster, stop_signal: Option<&str>) -> (f64, f64, String) {
    let f = c.f;
    for h in 1..=3 {
        f.docker(
            &format!("host{h}"),
            &["rm", "-f", "contract-master", "contract-marathon"],
        );
    }
    let extra: Vec<&str> = match stop_signal {
        Some(s) => vec!["--stop-signal", s],
        None => vec![],
    };
    for i in 0..3 {
        let ip = &c.ips[i];
        c.run(
            i,
            "master",
            "mesos-master:1.11.0",
            &[
                format!("MESOS_ZK={}/mesos", c.zk),
                "MESOS_QUORUM=2".into(),
                format!("MESOS_IP={ip}"),
                format!("MESOS_HOSTNAME={ip}"),
                "MESOS_WORK_DIR=/var/lib/mesos".into(),
            ],
            &extra,
        );
    }
    let leader = c.leader();
    for i in 0..2 {
        let ip = &c.ips[i];
        c.run(
            i,
            "marathon",
            "marathon:1.10.26",
            &[
                format!("MARATHON_MASTER={}/mesos", c.zk),
                format!("MARATHON_ZK={}/marathon", c.zk),
                format!("MARATHON_HOSTNAME={ip}"),
                "MARATHON_HTTP_PORT=8080".into(),
            ],
            &extra,
        );
    }
    c.agents_and_marathon_registered(leader, 90);
    let t0 = Instant::now();
    f.docker_ok(&format!("host{}", leader + 1), &["stop", "contract-master"]);
    let stop = secs(t0);
    let new_leader = eventually("a new leader", 90, || {
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
    let mleader = marathon_leader(c);
    let mhost = if mleader.starts_with(&format!("{}:", c.ips[0])) {
        1
    } else {
        2
    };
    let standby = c.ips[2 - mhost].clone();
    let t1 = Instant::now();
    f.docker_ok(&format!("host{mhost}"), &["stop", "contract-marathon"]);
    let mstop = secs(t1);
    eventually("the standby Marathon to lead", 90, || {
        let r = get(&format!("{standby}:8080"), "/v2/leader").filter(|r| r.status == 200)?;
        (r.json()["leader"].as_str()? == format!("{standby}:8080")).then_some(())
    });
    let mlead = secs(t1);
    (
        stop,
        mstop,
        format!(
            "master: docker stop {stop}s, new leader {elected}s, agents re-registered {agents}s, \
             Marathon framework back {framework}s; Marathon: docker stop {mstop}s, standby leads {mlead}s"
        ),
    )
}

/// SIGTERM makes every role exit at once, so a failover is bound by the ZooKeeper session
/// timeout, not by Docker's grace period; the figures of both are printed (`--nocapture`).
#[test]
fn a_stopped_leader_fails_over_within_the_session_timeout() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "failover");
    c.zookeeper();
    for i in 0..3 {
        c.agent(i);
    }
    let (ignored_stop, _, ignored) = measure_failover(&c, Some("SIGURG"));
    let (stop, mstop, prompt) = measure_failover(&c, None);
    eprintln!("FAILOVER with SIGTERM ignored (--stop-signal SIGURG): {ignored}");
    eprintln!("FAILOVER with SIGTERM: {prompt}");
    assert!(
        ignored_stop >= 9.0,
        "the ignored signal waited out the grace"
    );
    assert!(
        stop < 5.0,
        "docker stop of a master took {stop}s: SIGTERM ignored?"
    );
    assert!(
        mstop < 5.0,
        "docker stop of Marathon took {mstop}s: SIGTERM ignored?"
    );
}

/// Reads ZooKeeper directly: `path`'s children and their data.
fn zk_children(servers: &str, path: &str) -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = tokio::time::timeout(
            Duration::from_secs(10),
            zookeeper_client::Client::connect(servers),
        )
        .await
        .expect("ZooKeeper connect timed out")
        .expect("ZooKeeper connect");
        let names = c
            .get_children(path)
            .await
            .map(|(n, _)| n)
            .unwrap_or_default();
        let mut out = Vec::new();
        for n in names {
            if let Ok((d, _)) = c.get_data(&format!("{path}/{n}")).await {
                out.push((n, String::from_utf8_lossy(&d).to_string()));
            }
        }
        out
    })
}

/// Waits until the leading Marathon's scheduler has decided twice on what the leading
/// master shows now. Each time, `app` is scaled to the `n` instances it has: a deployment
/// that only the scheduler's reconciliation finishes, and only one that found its framework
/// known to the master. The second began after the first had posted its launches and
/// kills, so whatever the master showed before this call has been acted on.
fn marathon_decided(addr: &str, app: &str, n: u64) {
    for _ in 0..2 {
        let r = http(
            "PUT",
            addr,
            &format!("/v2/apps{app}"),
            &format!(r#"{{"instances":{n}}}"#),
        )
        .expect("Marathon answers");
        assert_eq!(r.status, 200, "scale {app} to {n}: {}", r.body);
        let id = r.json()["deploymentId"]
            .as_str()
            .expect("a deployment id")
            .to_string();
        eventually(
            &format!("Marathon to finish the deployment {id} of {app}"),
            60,
            || {
                let ds = get(addr, "/v2/deployments").filter(|r| r.status == 200)?;
                (!ds.json().as_array()?.iter().any(|d| d["id"] == id.as_str())).then_some(())
            },
        );
    }
}

/// Ports as Marathon and Mesos hand them out: an app with port definitions gets service
/// ports (10000 and up, one per definition, unique across apps); each of its tasks gets
/// host ports from its agent's `[31000-32000]`, reported in Marathon's tasks (`ports`,
/// `servicePorts`, with `embed=apps.tasks` too) and in the master's state
/// (`resources.ports`, `discovery`), and handed to the command as `$PORT0`, `$PORTS`:
/// `mesos-emulator respond` answers on them with its task id. A standby redirects
/// `/v2/events` to the leader. The app is deleted again, its tasks gone.
fn ports_are_assigned_reported_and_served(
    c: &Cluster,
    leader: usize,
    mleader: &str,
    standby: &str,
) {
    let app = r#"{"id":"/hello","cmd":"mesos-emulator respond","instances":2,"cpus":0.1,"mem":16,
        "portDefinitions":[{"port":0,"name":"http"},{"port":0}]}"#;
    let r = http("POST", standby, "/v2/apps", app).unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let defs = r.json()["portDefinitions"].clone();
    assert_eq!(defs[0]["port"], 10000, "{defs}");
    assert_eq!(defs[0]["name"], "http");
    assert_eq!(defs[0]["protocol"], "tcp");
    assert_eq!(defs[1]["port"], 10001, "{defs}");
    let r = http(
        "POST",
        mleader,
        "/v2/apps",
        r#"{"id":"/other","cmd":"sleep 3600","instances":0,"ports":[0]}"#,
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json()["portDefinitions"][0]["port"],
        10002,
        "service ports are unique across apps"
    );
    let hello = settled(mleader, "/hello", 2, 90);
    let listed = get(standby, "/v2/apps?embed=apps.tasks").unwrap().json();
    let embedded = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "/hello")
        .unwrap()
        .clone();
    assert_eq!(embedded["tasks"].as_array().unwrap().len(), 2, "{embedded}");
    assert!(get(standby, "/v2/apps").unwrap().json()["apps"][0]["tasks"].is_null());
    let st = c.state(leader);
    let mesos_tasks: Vec<Value> = st["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["tasks"].as_array().cloned().unwrap_or_default())
        .collect();
    for t in hello["tasks"].as_array().unwrap() {
        let ports: Vec<u64> = t["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect();
        assert_eq!(ports.len(), 2, "{t}");
        assert!(ports.iter().all(|p| (31000..=32000).contains(p)), "{t}");
        assert_eq!(t["servicePorts"], serde_json::json!([10000, 10001]));
        let id = t["id"].as_str().unwrap();
        let host = t["host"].as_str().unwrap();
        let m = mesos_tasks
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} in the master's state"));
        let want = if ports[1] == ports[0] + 1 {
            format!("[{}-{}]", ports[0], ports[1])
        } else {
            format!("[{}-{}, {}-{}]", ports[0], ports[0], ports[1], ports[1])
        };
        assert_eq!(m["resources"]["ports"], want.as_str(), "{m}");
        assert_eq!(m["discovery"]["visibility"], "FRAMEWORK");
        assert_eq!(m["discovery"]["ports"]["ports"][0]["number"], ports[0]);
        assert_eq!(m["discovery"]["ports"]["ports"][0]["name"], "http");
        // The task serves HTTP on each of its ports, naming itself.
        for p in &ports {
            let r = eventually(&format!("{id} answering on {host}:{p}"), 30, || {
                get(&format!("{host}:{p}"), "/").filter(|r| r.status == 200)
            });
            assert_eq!(r.body, format!("{id} {host}:{p}\n"));
            assert_eq!(r.header("x-task-id"), Some(id));
        }
    }
    // Two tasks on one agent never share a host port.
    let mut taken = BTreeSet::new();
    for t in hello["tasks"].as_array().unwrap() {
        for p in t["ports"].as_array().unwrap() {
            assert!(
                taken.insert((t["host"].to_string(), p.as_u64().unwrap())),
                "{hello}"
            );
        }
    }
    let r = get(standby, "/v2/events").unwrap();
    assert_eq!(r.status, 302, "a standby redirects the event stream");
    assert_eq!(
        r.header("location"),
        Some(format!("http://{mleader}/v2/events").as_str())
    );
    for id in ["/hello", "/other"] {
        assert_eq!(
            http("DELETE", mleader, &format!("/v2/apps{id}"), "")
                .unwrap()
                .status,
            200
        );
    }
    eventually("the port app's tasks gone", 60, || {
        (master_running(c, leader).len() == 3).then_some(())
    });
}

/// What an emulated agent logs when the master refuses it for its machine's DOWN.
const MACHINE_DOWN: &str = "because 'Operator initiated 'Machine DOWN''";

/// Lines of a container's log containing `needle`.
fn log_lines(f: &Fleet, host: &str, container: &str, needle: &str) -> usize {
    let o = f.docker(host, &["logs", container]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&o.stderr).lines())
        .filter(|l| l.contains(needle))
        .count()
}

fn task_ids(app: &Value) -> Vec<String> {
    let mut ids: Vec<String> = app["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// The master's running tasks (by id) and the hosts they run on.
fn master_running(c: &Cluster, leader: usize) -> BTreeMap<String, String> {
    let r = get(&format!("{}:5050", c.ips[leader]), "/master/tasks").unwrap();
    assert_eq!(r.status, 200);
    let st = c.state(leader);
    let host_of: BTreeMap<String, String> = st["slaves"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or_default().to_string(),
                s["hostname"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    r.json()["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "TASK_RUNNING")
        .map(|t| {
            (
                t["id"].as_str().unwrap_or_default().to_string(),
                host_of
                    .get(t["slave_id"].as_str().unwrap_or_default())
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// The task containers running on a host (task id → container id).
fn containers_on(f: &Fleet, host: &str) -> BTreeMap<String, String> {
    let out = f.docker_ok(
        host,
        &[
            "ps",
            "--filter",
            "label=io.mesos-emulator.agent",
            "--format",
            "{{.Label \"io.mesos-emulator.task-id\"}} {{.ID}}",
        ],
    );
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect()
}

#[test]
fn marathon_apps_run_as_tasks_and_survive_failovers_restarts_and_maintenance() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "workload");
    let _tasks = TaskContainers(f);
    f.remove_labelled("io.mesos-emulator.agent");
    c.zookeeper();
    let zk_servers = c.zk.trim_start_matches("zk://").to_string();
    // An agent restart (stop, start, recovery) fits within 3 × 3 s of missed pings.
    for i in 0..3 {
        c.master_with(i, "mesos-master:1.11.0", 2, "3secs");
    }
    let leader = c.leader();
    // The replicas' nodes carry exactly what Mesos writes: the replica's UPID.
    let replicas = eventually("three log replicas", 30, || {
        let r = zk_children(&zk_servers, "/mesos/log_replicas");
        (r.len() == 3).then_some(r)
    });
    for (name, data) in &replicas {
        assert!(
            name.parse::<u64>().is_ok(),
            "sequence-only node name: {name}"
        );
        assert!(
            c.ips
                .iter()
                .any(|ip| data == &format!("log-replica(1)@{ip}:5050")),
            "replica data is the UPID, nothing more: {data:?}"
        );
    }
    let laddr = format!("{}:5050", c.ips[leader]);
    // Aliases: `/redirect` is `/master/redirect`, `/tasks` is `/master/tasks`.
    let other = (leader + 1) % 3;
    let r = eventually("the non-leader's /redirect", 20, || {
        get(&format!("{}:5050", c.ips[other]), "/redirect").filter(|r| r.status == 307)
    });
    assert_eq!(
        r.header("location"),
        Some(format!("//{}:5050", c.ips[leader]).as_str())
    );
    let r = get(&format!("{}:5050", c.ips[other]), "/tasks").unwrap();
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("location"),
        Some(format!("//{}:5050/tasks", c.ips[leader]).as_str())
    );
    let r = get(&laddr, "/tasks").unwrap();
    assert_eq!(
        (r.status, r.json()["tasks"].clone()),
        (200, Value::Array(vec![]))
    );

    for i in 0..3 {
        c.agent(i);
    }
    c.marathon(0, "marathon", "marathon:1.10.26");
    c.marathon(1, "marathon", "marathon:1.10.26");
    c.agents_and_marathon_registered(leader, 60);
    let mleader = marathon_leader(&c);
    let standby = if mleader == format!("{}:8080", c.ips[0]) {
        format!("{}:8080", c.ips[1])
    } else {
        format!("{}:8080", c.ips[0])
    };

    // Events: a subscriber sees deployments and task status updates.
    let mut events = TcpStream::connect_timeout(&mleader.parse().unwrap(), Duration::from_secs(2))
        .expect("connect /v2/events");
    events
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    events
        .write_all(
            format!(
                "GET /v2/events HTTP/1.1\r\nHost: {mleader}\r\nAccept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();

    // Create (through the standby, which forwards), read, list.
    let app = r#"{"id":"/web","cmd":"sleep 3600","instances":2,"cpus":0.1,"mem":32}"#;
    let r = http("POST", &standby, "/v2/apps", app).unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("http://{mleader}/v2/apps/web").as_str())
    );
    let created = r.json();
    assert_eq!(created["id"], "/web");
    assert_eq!(created["cmd"], "sleep 3600");
    assert_eq!(created["instances"], 2);
    assert_eq!(created["cpus"], 0.1);
    assert_eq!(created["mem"], 32.0);
    assert_eq!(created["tasksRunning"], 0);
    assert_eq!(created["tasksHealthy"], 0);
    assert_eq!(created["deployments"].as_array().unwrap().len(), 1);
    assert!(created["version"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        http("POST", &standby, "/v2/apps", app).unwrap().status,
        409,
        "an app with that id exists"
    );
    let bad = http(
        "POST",
        &mleader,
        "/v2/apps",
        r#"{"id":"/nocmd","instances":1}"#,
    )
    .unwrap();
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["message"], "Object is not valid");
    assert_eq!(
        http("POST", &mleader, "/v2/apps", r#"{"id":"/Bad"}"#)
            .unwrap()
            .status,
        422
    );
    let docker_app = format!(
        r#"{{"id":"/tools/box","container":{{"type":"DOCKER","docker":{{"image":"{}/{}"}}}},"cmd":"sleep 3600","instances":1,"cpus":0.1,"mem":16}}"#,
        f.registry,
        image_name("mesos-agent:1.11.0")
    );
    assert_eq!(
        http("POST", &mleader, "/v2/apps", &docker_app)
            .unwrap()
            .status,
        201
    );
    assert!(!get(&mleader, "/v2/deployments")
        .unwrap()
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    settled(&standby, "/web", 2, 90);
    settled(&mleader, "/tools/box", 1, 90);
    assert!(get(&mleader, "/v2/deployments")
        .unwrap()
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    let apps = get(&standby, "/v2/apps").unwrap().json();
    let ids: Vec<&str> = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["/tools/box", "/web"]);
    assert_eq!(get(&standby, "/v2/apps/nope").unwrap().status, 404);
    let tasks = get(&standby, "/v2/tasks").unwrap().json();
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 3);
    for t in tasks["tasks"].as_array().unwrap() {
        assert_eq!(t["state"], "TASK_RUNNING");
        assert!(t["id"].as_str().unwrap().contains(".instance-"));
        assert!(t["slaveId"].as_str().unwrap().contains("-S"));
    }
    // Stored where Marathon 1.10 stores apps ("web".hashCode() % 16 = 0xb... in hex).
    let stored = zk_children(&zk_servers, "/marathon/state/apps");
    assert!(!stored.is_empty(), "app buckets under /marathon/state/apps");

    // The master lists the tasks and each runs as a container on its agent's host.
    let running = master_running(&c, leader);
    assert_eq!(running.len(), 3);
    let st = c.state(leader);
    let fw = st["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "marathon")
        .unwrap()
        .clone();
    assert_eq!(fw["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(
        get(&laddr, "/metrics/snapshot").unwrap().json()["master/tasks_running"],
        3.0
    );
    for (id, host) in &running {
        let hname = format!(
            "host{}",
            c.ips.iter().position(|ip| ip == host).unwrap() + 1
        );
        assert!(
            containers_on(f, &hname).contains_key(id),
            "task {id} runs as a container on {hname}"
        );
    }

    ports_are_assigned_reported_and_served(&c, leader, &mleader, &standby);

    // Scale: PUT answers with the deployment; the events stream shows it and the tasks.
    let r = http("PUT", &standby, "/v2/apps/web", r#"{"instances":3}"#).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["deploymentId"].is_string());
    assert!(r.json()["version"].is_string());
    let web = {
        settled(&mleader, "/web", 3, 60);
        get(&mleader, "/v2/apps/web").unwrap().json()["app"].clone()
    };
    assert_eq!(web["cmd"], "sleep 3600", "a scale keeps the definition");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline
        && !(seen.contains("event: deployment_info")
            && seen.contains("event: status_update_event")
            && seen.contains("event: deployment_success"))
    {
        if let Ok(n) = events.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("event: event_stream_attached"), "{seen}");
    assert!(seen.contains("event: deployment_info"), "{seen}");
    assert!(seen.contains("event: status_update_event"), "{seen}");
    assert!(seen.contains("\"taskStatus\":\"TASK_RUNNING\""), "{seen}");
    drop(events);
    let before = task_ids(&web);

    // A restart of an agent container keeps its tasks running, same ids, same containers.
    let (victim, vhost) = master_running(&c, leader).into_iter().next().unwrap();
    let vh = format!(
        "host{}",
        c.ips.iter().position(|ip| *ip == vhost).unwrap() + 1
    );
    let containers = containers_on(f, &vh);
    let restarted = Instant::now();
    f.docker_ok(&vh, &["restart", "contract-agent"]);
    // The restarted agent (up for less time than since the restart) has recovered and
    // registered again, its tasks reported to the master; then Marathon decided on that.
    eventually("the restarted agent registered again", 60, || {
        let m = get(&format!("{vhost}:5051"), "/metrics/snapshot")?.json();
        (m["slave/registered"] == 1.0
            && m["slave/uptime_secs"].as_f64()? < restarted.elapsed().as_secs_f64())
        .then_some(())
    });
    marathon_decided(&mleader, "/web", 3);
    let web_after = settled(&mleader, "/web", 3, 60);
    assert_eq!(
        task_ids(&web_after),
        before,
        "no task replaced after the agent restart"
    );
    assert_eq!(containers_on(f, &vh), containers, "the same containers run");
    assert!(master_running(&c, leader).contains_key(&victim));
    let logs = f.docker(&vh, &["logs", "contract-agent"]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains(&format!("Recovering task {victim}")));

    // A stop of the leading Marathon keeps every app (the standby reads them from ZooKeeper).
    let mhost = format!(
        "host{}",
        c.ips
            .iter()
            .position(|ip| mleader.starts_with(&format!("{ip}:")))
            .unwrap()
            + 1
    );
    f.docker_ok(&mhost, &["stop", "contract-marathon"]);
    eventually("the standby Marathon to lead", 60, || {
        let r = get(&standby, "/v2/leader").filter(|r| r.status == 200)?;
        (r.json()["leader"] == standby.as_str()).then_some(())
    });
    let web_after = settled(&standby, "/web", 3, 60);
    assert_eq!(
        task_ids(&web_after),
        before,
        "no task replaced after the Marathon failover"
    );
    settled(&standby, "/tools/box", 1, 30);
    f.docker_ok(&mhost, &["start", "contract-marathon"]);

    // A master failover: the new leader learns the tasks from the agents; nothing relaunched.
    f.docker_ok(&format!("host{}", leader + 1), &["stop", "contract-master"]);
    let new_leader = eventually("a new leader", 60, || {
        (0..3).find(|i| {
            *i != leader
                && get(&format!("{}:5050", c.ips[*i]), "/metrics/snapshot")
                    .is_some_and(|r| r.json()["master/elected"] == 1.0)
        })
    });
    eventually("the tasks known to the new leader", 30, || {
        (master_running(&c, new_leader).len() == 4).then_some(())
    });
    // Marathon registered with the new leader and decided on what it knows (a
    // reconciliation finishes nothing while the master does not know the framework).
    marathon_decided(&standby, "/web", 3);
    let web_after = settled(&standby, "/web", 3, 30);
    assert_eq!(
        task_ids(&web_after),
        before,
        "no task replaced after the master failover"
    );
    assert_eq!(
        master_running(&c, new_leader).len(),
        4,
        "no duplicate launched"
    );
    f.docker_ok(
        &format!("host{}", leader + 1),
        &["start", "contract-master"],
    );
    let laddr = format!("{}:5050", c.ips[new_leader]);

    // Maintenance: a machine put DOWN has its tasks killed (TASK_LOST) and Marathon
    // reschedules them on the other agents; no new task goes to a DRAINING machine.
    let running = master_running(&c, new_leader);
    let (_, down_ip) = running.iter().next().unwrap();
    let down_ip = down_ip.clone();
    let down_host = format!(
        "host{}",
        c.ips.iter().position(|ip| *ip == down_ip).unwrap() + 1
    );
    let lost: Vec<String> = running
        .iter()
        .filter(|(_, h)| **h == down_ip)
        .map(|(t, _)| t.clone())
        .collect();
    let machine = format!("{{\"hostname\":\"{0}\",\"ip\":\"{0}\"}}", down_ip);
    let schedule = format!("{{\"windows\":[{{\"machine_ids\":[{machine}],\"unavailability\":{{\"start\":{{\"nanoseconds\":1}},\"duration\":{{\"nanoseconds\":3600000000000}}}}}}]}}");
    assert_eq!(
        http("POST", &laddr, "/master/maintenance/schedule", &schedule)
            .unwrap()
            .status,
        200
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
    let all = get(&laddr, "/master/tasks").unwrap().json();
    for id in &lost {
        let t = all["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.as_str())
            .unwrap_or_else(|| panic!("task {id} listed: {all}"));
        assert_eq!(t["state"], "TASK_LOST", "{t}");
    }
    eventually("the DOWN machine's task containers gone", 30, || {
        containers_on(f, &down_host).is_empty().then_some(())
    });
    // Marathon sees the loss at its next reconciliation (within a second).
    eventually(
        "every instance rescheduled away from the DOWN machine",
        60,
        || {
            let web = settled(&standby, "/web", 3, 60);
            web["tasks"]
                .as_array()?
                .iter()
                .all(|t| t["host"] != down_ip.as_str())
                .then_some(())
        },
    );
    settled(&standby, "/tools/box", 1, 30);
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
    eventually("the agent back after machine/up", 30, || {
        c.state(new_leader)["slaves"]
            .as_array()?
            .iter()
            .any(|s| s["hostname"] == down_ip.as_str() && s["active"] == true)
            .then_some(())
    });

    // An agent that stops answering: its tasks become TASK_UNREACHABLE and are replaced;
    // when it comes back, Marathon kills the tasks it no longer knows.
    let running = master_running(&c, new_leader);
    let (gone_task, gone_ip) = running
        .iter()
        .next()
        .map(|(a, b)| (a.clone(), b.clone()))
        .unwrap();
    let gone_host = format!(
        "host{}",
        c.ips.iter().position(|ip| *ip == gone_ip).unwrap() + 1
    );
    f.docker_ok(&gone_host, &["stop", "contract-agent"]);
    eventually("the task unreachable", 30, || {
        let all = get(&laddr, "/master/tasks")?.json();
        all["tasks"]
            .as_array()?
            .iter()
            .any(|t| t["id"] == gone_task.as_str() && t["state"] == "TASK_UNREACHABLE")
            .then_some(())
    });
    eventually("the unreachable task replaced", 60, || {
        let web = settled(&standby, "/web", 3, 60);
        let tools = settled(&standby, "/tools/box", 1, 60);
        (!task_ids(&web).contains(&gone_task) && !task_ids(&tools).contains(&gone_task))
            .then_some(())
    });
    f.docker_ok(&gone_host, &["start", "contract-agent"]);
    eventually(
        "the replaced task killed once its agent is back",
        60,
        || (!containers_on(f, &gone_host).contains_key(&gone_task)).then_some(()),
    );
    // Every task the agent brought back that Marathon had replaced is killed.
    eventually("each instance running once in the master", 30, || {
        (master_running(&c, new_leader).len() == 4).then_some(())
    });
    let web_after = settled(&standby, "/web", 3, 30);
    assert_eq!(
        task_ids(&web_after).len(),
        3,
        "every instance runs once: {web_after}"
    );

    // All Marathons restarted (as in an upgrade): every app is still defined.
    f.docker_ok("host1", &["restart", "contract-marathon"]);
    f.docker_ok("host2", &["restart", "contract-marathon"]);
    let m2 = marathon_leader(&c);
    let web_final = settled(&m2, "/web", 3, 60);
    assert_eq!(task_ids(&web_final), task_ids(&web_after));
    settled(&m2, "/tools/box", 1, 30);

    // Delete: the deployment stops every task; nothing is left running.
    let r = http("DELETE", &m2, "/v2/apps/web", "").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["deploymentId"].is_string());
    assert_eq!(http("DELETE", &m2, "/v2/apps/web", "").unwrap().status, 404);
    assert_eq!(
        http("DELETE", &m2, "/v2/apps/tools/box", "")
            .unwrap()
            .status,
        200
    );
    eventually("no app and no task left", 60, || {
        let apps = get(&m2, "/v2/apps")?.json();
        (apps["apps"].as_array()?.is_empty()
            && master_running(&c, new_leader).is_empty()
            && (1..=3).all(|h| containers_on(f, &format!("host{h}")).is_empty()))
        .then_some(())
    });
}

/// The Docker containerizer's orphan rule, as Mesos has it: an agent that starts removes
/// every container named `mesos-*` it has no record of, whoever started it — on a Docker
/// engine two clusters share, the other cluster's tasks — unless `--docker_kill_orphans`
/// is false (what Mesos' flag documentation says to do when several agents share one OS).
/// Containers named otherwise are never touched.
#[test]
fn an_agent_removes_every_unknown_mesos_container_unless_told_not_to() {
    // The contract tests share container and volume names (contract-zk): one at a time.
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "orphans");
    let host = "host1";
    let volume = format!("orphans-work-{}", std::process::id());
    let image = format!("{}/{}", f.registry, image_name("mesos-agent:1.11.0"));
    c.zookeeper();
    let sleeper = |name: &str, agent: &str| {
        f.docker_ok(
            host,
            &[
                "run",
                "-d",
                "--name",
                name,
                "--label",
                &c.label,
                "--label",
                &format!("io.mesos-emulator.agent={agent}"),
                "--entrypoint",
                "/bin/sh",
                &image,
                "-c",
                "sleep 3600",
            ],
        );
    };
    let pid = std::process::id();
    // A task of another agent on this engine (another cluster's, on another port), and a
    // container that is nobody's task.
    let other_task = format!("mesos-other-{pid}");
    sleeper(&other_task, &format!("{}:5061", c.ips[0]));
    let bystander = format!("orphans-bystander-{pid}");
    sleeper(&bystander, "none");
    let running = |name: &str| {
        f.docker(host, &["inspect", "-f", "{{.State.Running}}", name])
            .stdout
            .starts_with(b"true")
    };
    let agent = |kill_orphans: Option<&str>| {
        f.docker(host, &["rm", "-f", "contract-orphans-agent"]);
        let mut env = vec![
            format!("MESOS_MASTER={}/mesos", c.zk),
            format!("MESOS_IP={}", c.ips[0]),
            format!("MESOS_HOSTNAME={}", c.ips[0]),
            "MESOS_PORT=5071".to_string(),
            "MESOS_WORK_DIR=/var/lib/mesos".to_string(),
            format!("MESOS_DOCKER_MESOS_IMAGE={image}"),
        ];
        if let Some(v) = kill_orphans {
            env.push(format!("MESOS_DOCKER_KILL_ORPHANS={v}"));
        }
        c.run(
            0,
            "orphans-agent",
            "mesos-agent:1.11.0",
            &env,
            &[
                "-v",
                &format!("{volume}:/var/lib/mesos"),
                "-v",
                "/var/run/docker.sock:/var/run/docker.sock",
            ],
        );
    };
    let logs = || {
        let o = f.docker(host, &["logs", "contract-orphans-agent"]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    // Told not to, the agent leaves the other agent's task alone (and says so).
    agent(Some("false"));
    eventually("the agent to skip the other agent's container", 60, || {
        logs()
            .contains(&format!(
                "Skipping orphaned Docker container '{other_task}'"
            ))
            .then_some(())
    });
    assert!(running(&other_task), "{}", logs());

    // The default: the replaced agent removes it, though another agent started it.
    agent(None);
    // Removed, not just stopped: the agent kills it, then removes it (gone from `ps -a`).
    eventually("the other agent's task removed", 60, || {
        let out = f.docker_ok(host, &["ps", "-a", "--format", "{{.Names}}"]);
        (!out.lines().any(|n| n == other_task)).then_some(())
    });
    assert!(logs().contains(&format!(
        "Removing orphaned Docker container '{other_task}'"
    )));
    assert!(running(&bystander), "a container not named mesos-* stays");
    f.docker(host, &["rm", "-f", "contract-orphans-agent"]);
    f.docker(host, &["volume", "rm", "-f", &volume]);
}

/// An agent cut off from the ZooKeeper ensemble for longer than its session timeout, and
/// from its master for less than `agent_ping_timeout` × `max_agent_ping_timeouts`: Mesos'
/// master detector creates a new session when the old one expires and reads the election
/// again (mesos@1.11.0:src/zookeeper/group.cpp, `GroupProcess::expired`), so once the cut
/// heals the agent re-registers, under its own id, and the master never marked it
/// unreachable. Before the emulator re-created the session the agent stayed unregistered
/// for good (found on the demo after a partition, issue 22 item 10).
#[test]
fn an_agent_whose_zookeeper_session_expired_creates_a_new_one_and_re_registers() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "session");
    f.remove_labelled("io.mesos-emulator.agent");
    c.zookeeper();
    // The master on host1 waits 3 × 20 s for a silent agent: longer than the cut.
    c.master_with(0, "mesos-master:1.11.0", 1, "20secs");
    let leader = c.leader();
    assert_eq!(leader, 0);
    c.agent_with(2, &["MESOS_ZK_SESSION_TIMEOUT=4secs".into()]);
    let agent_id = eventually("the agent registers", 60, || {
        let st = c.state(leader);
        st["slaves"]
            .as_array()
            .and_then(|a| a.first())
            .filter(|a| a["active"] == true)
            .and_then(|a| a["id"].as_str().map(str::to_string))
    });
    // host3 cut off from host1 and host2: its own ZooKeeper server loses the quorum and
    // serves nobody, the agent's session expires on the ensemble's side, and the master
    // cannot reach the agent either.
    f.partition_from("host3", &["host1", "host2"]);
    // The session expires on the ensemble's side only a session timeout after a leader on
    // host1/host2 has it: when host3's server was the leader, host1 and host2 first take
    // `syncLimit` ticks to notice and elect a new one, which starts every session's timeout
    // afresh (a fixed 12 s cut was too short for that, once in CI).
    let majority = &c.ips[..2];
    let led = eventually("a leader on the majority side of the cut", 60, || {
        majority
            .iter()
            .any(|ip| {
                four_letter(ip, 2181, "srvr", Duration::from_secs(2)).contains("Mode: leader")
            })
            .then(Instant::now)
    });
    eventually("the session expires during the cut", 60, || {
        // 4 s of session, a 2 s tick of expiry buckets, and margin.
        (led.elapsed() > Duration::from_secs(10)).then_some(())
    });
    f.heal_from("host3", &["host1", "host2"]);
    // The agent's own view: registered again, under its own id (during the cut it gave
    // up on the master it could not reach; without a new session it never finds one).
    let agent_at = format!("{}:5051", c.ips[2]);
    let st = eventually("the agent re-registered over a new session", 90, || {
        let renewed = log_lines(
            f,
            "host3",
            "contract-agent",
            "New ZooKeeper session established",
        ) > 0;
        get(&agent_at, "/state")
            .filter(|r| renewed && r.status == 200)
            .map(|r| r.json())
            .filter(|st| st["id"] != "" && st["master_hostname"] != "")
    });
    assert_eq!(st["id"], agent_id.as_str(), "the same agent id: {st}");
    assert_eq!(
        log_lines(f, "host1", "contract-master", "is unreachable"),
        0,
        "the master marked the agent unreachable"
    );
}

/// Issue 23: HTTP authentication as Mesos and Marathon demand it. A master with
/// `--authenticate_http_readwrite`, `--authenticate_http_readonly` and a `--credentials` file
/// answers 401 with the realm's Basic challenge to the maintenance endpoints (GET of the
/// schedule too: the realm is the route's) and to `/master/state` and `/metrics/snapshot`
/// without valid credentials, 200 with them; `/health` and `/version` never ask. Marathon
/// with `--http_credentials` asks on every endpoint, `/ping` included.
#[test]
fn http_authentication_is_demanded_where_mesos_and_marathon_demand_it() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "httpauth");
    c.zookeeper();
    let ip = c.ips[0].clone();
    let creds = std::env::temp_dir().join(format!("contract-credentials-{}", std::process::id()));
    std::fs::write(
        &creds,
        r#"{"credentials": [{"principal": "ops", "secret": "pw-7c1e"}]}"#,
    )
    .expect("write the credentials file");
    let image = format!("{}/{}", f.registry, image_name("mesos-master:1.11.0"));
    let env = [
        format!("MESOS_ZK={}/mesos", c.zk),
        "MESOS_QUORUM=1".to_string(),
        format!("MESOS_IP={ip}"),
        format!("MESOS_HOSTNAME={ip}"),
        "MESOS_WORK_DIR=/var/lib/mesos".into(),
        "MESOS_AUTHENTICATE_HTTP_READWRITE=true".into(),
        "MESOS_AUTHENTICATE_HTTP_READONLY=true".into(),
        "MESOS_CREDENTIALS=file:///mesos-credentials.json".into(),
    ];
    let mut args: Vec<String> = vec![
        "create".into(),
        "--name".into(),
        "contract-master".into(),
        "--label".into(),
        c.label.clone(),
        "--net".into(),
        "host".into(),
    ];
    for e in &env {
        args.push("-e".into());
        args.push(e.clone());
    }
    args.push(image);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    f.docker_ok("host1", &refs);
    f.docker_ok(
        "host1",
        &[
            "cp",
            &creds.to_string_lossy(),
            "contract-master:/mesos-credentials.json",
        ],
    );
    let _ = std::fs::remove_file(&creds);
    f.docker_ok("host1", &["start", "contract-master"]);
    let master = format!("{ip}:5050");
    let good = "Authorization: Basic b3BzOnB3LTdjMWU=\r\n"; // ops:pw-7c1e
    let wrong = "Authorization: Basic b3BzOm5vcGU=\r\n"; // ops:nope
    eventually("the master elected (asked with credentials)", 60, || {
        http_with("GET", &master, "/metrics/snapshot", "", good)
            .filter(|r| r.status == 200 && r.json()["master/elected"] == 1.0)
    });
    // Never in a realm.
    assert_eq!(get(&master, "/health").map(|r| r.status), Some(200));
    assert_eq!(get(&master, "/version").map(|r| r.status), Some(200));
    let down = r#"[{"hostname": "10.99.0.1", "ip": "10.99.0.1"}]"#;
    let schedule = r#"{"windows": []}"#;
    for (method, path, body, realm) in [
        ("GET", "/master/state", "", "mesos-master-readonly"),
        ("GET", "/state", "", "mesos-master-readonly"),
        ("GET", "/metrics/snapshot", "", "mesos-master-readonly"),
        (
            "GET",
            "/master/maintenance/status",
            "",
            "mesos-master-readonly",
        ),
        (
            "GET",
            "/master/maintenance/schedule",
            "",
            "mesos-master-readwrite",
        ),
        (
            "POST",
            "/master/maintenance/schedule",
            schedule,
            "mesos-master-readwrite",
        ),
        ("POST", "/master/machine/up", down, "mesos-master-readwrite"),
    ] {
        for extra in ["", wrong] {
            let r = http_with(method, &master, path, body, extra).expect("an answer");
            assert_eq!(r.status, 401, "{method} {path} with {extra:?}: {}", r.body);
            assert_eq!(
                r.header("www-authenticate"),
                Some(format!("Basic realm=\"{realm}\"").as_str()),
                "{method} {path}"
            );
        }
        let r = http_with(method, &master, path, body, good).expect("an answer");
        // machine/up of a machine that is not down is Mesos' 400; authenticated all the same.
        let want = if path == "/master/machine/up" {
            400
        } else {
            200
        };
        assert_eq!(
            r.status, want,
            "{method} {path} with credentials: {}",
            r.body
        );
    }

    c.run(
        1,
        "marathon",
        "marathon:1.10.17",
        &[
            format!("MARATHON_MASTER={}/mesos", c.zk),
            format!("MARATHON_ZK={}/marathon", c.zk),
            format!("MARATHON_HOSTNAME={}", c.ips[1]),
            "MARATHON_HTTP_PORT=8080".into(),
            "MARATHON_HTTP_CREDENTIALS=ops:pw-7c1e".into(),
        ],
        &[],
    );
    let marathon = format!("{}:8080", c.ips[1]);
    eventually("Marathon answering /ping with credentials", 60, || {
        http_with("GET", &marathon, "/ping", "", good).filter(|r| r.status == 200)
    });
    for path in ["/ping", "/v2/leader", "/v2/info", "/v2/apps"] {
        for extra in ["", wrong] {
            let r = http_with("GET", &marathon, path, "", extra).expect("an answer");
            assert_eq!(r.status, 401, "GET {path} with {extra:?}");
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"Mesosphere\""),
                "{path}"
            );
        }
        let r = eventually("an authenticated answer", 30, || {
            http_with("GET", &marathon, path, "", good).filter(|r| r.status == 200)
        });
        assert!(!r.body.is_empty(), "{path}");
    }
}
