//! The bridge on the fleet: an emulated cluster (ZooKeeper, three masters, three agents, two
//! Marathons) started straight on the test bed, the bridge's image (Debian's haproxy and
//! `marathon-lb`) on host3 with `--net host`, and an app whose three tasks answer HTTP with
//! their ids (`mesos-emulator respond`). Requests go through the real HAProxy on the app's
//! service port from outside the hosts.
//!
//! What it shows: every task is reached; scaling to 5 and to 1 is reflected through the
//! event stream (the bridge's `config_changes{trigger="event"}` counts it, its fallback
//! refetch is set to 10 minutes and counts nothing), each within a generous bound with the
//! time measured and printed; with the leading Marathon stopped, the bridge loses the
//! stream, reaches the other Marathon (after its leader election) and the next scale is
//! again routed through the event stream. About 2–3 minutes with the test bed's bring-up.

#[path = "../../../tests/common/emulated.rs"]
mod emulated;
#[path = "../../../tests/common/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use emulated::{cluster, eventually, get, http, marathon_leader, settled, TaskContainers};
use fleet::fleet;
use serde_json::Value;

/// Generous bound on how long a scale may take to show through HAProxy (launch, event,
/// read, reload); the measured figure is printed.
const REFLECTED_WITHIN: Duration = Duration::from_secs(60);

/// One request through HAProxy: the task id that answered.
fn through(lb: &str) -> Option<String> {
    let r = get(lb, "/").filter(|r| r.status == 200)?;
    r.body.split_whitespace().next().map(str::to_string)
}

/// Marathon's running task ids of `/web`.
fn marathon_tasks(marathon: &str) -> BTreeSet<String> {
    get(marathon, "/v2/apps/web")
        .filter(|r| r.status == 200)
        .map(|r| {
            r.json()["app"]["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| t["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The servers HAProxy itself has in `backend`, from its statistics (CSV).
fn haproxy_servers(stats: &str, backend: &str) -> BTreeSet<String> {
    get(stats, "/haproxy?stats;csv")
        .filter(|r| r.status == 200)
        .map(|r| {
            r.body
                .lines()
                .filter_map(|l| {
                    let mut cols = l.split(',');
                    let (px, sv) = (cols.next()?, cols.next()?);
                    (px == backend && sv != "FRONTEND" && sv != "BACKEND").then(|| sv.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until HAProxy's backend holds exactly Marathon's `n` running tasks of `/web` and
/// requests through it reach each of them; how long that took. (Traffic alone would not
/// do for a scale-down: HAProxy retries a killed task's refused connection on another.)
fn reached_exactly(lb: &str, stats: &str, marathon: &str, n: usize, since: Instant) -> Duration {
    let backend = format!("web_{}", lb.rsplit(':').next().unwrap_or_default());
    loop {
        let want = marathon_tasks(marathon);
        if want.len() == n && haproxy_servers(stats, &backend) == want {
            let seen: BTreeSet<String> = (0..n * 4).filter_map(|_| through(lb)).collect();
            if seen == want {
                return since.elapsed();
            }
        }
        assert!(
            since.elapsed() < REFLECTED_WITHIN,
            "HAProxy did not route to exactly Marathon's {n} tasks within {REFLECTED_WITHIN:?}: Marathon has {want:?}, HAProxy {:?}",
            haproxy_servers(stats, &backend)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One sample of the bridge's metrics (0 when absent).
fn metric(lb_http: &str, series: &str) -> f64 {
    get(lb_http, "/metrics")
        .map(|r| r.body)
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// Event streams the bridge lost once attached (ended, broken or silent).
fn stream_losses(lb_http: &str) -> f64 {
    ["ended", "transport", "silent"]
        .iter()
        .map(|r| {
            metric(
                lb_http,
                &format!("marathon_lb_event_stream_losses_total{{reason=\"{r}\"}}"),
            )
        })
        .sum()
}

const BY_EVENT: &str = r#"marathon_lb_config_changes_total{trigger="event"}"#;
const BY_PERIOD: &str = r#"marathon_lb_config_changes_total{trigger="periodic"}"#;

fn scale(marathon: &str, n: u64) {
    let r = http(
        "PUT",
        marathon,
        "/v2/apps/web",
        &format!(r#"{{"instances":{n}}}"#),
    )
    .expect("Marathon answers");
    assert_eq!(r.status, 200, "scale /web to {n}: {}", r.body);
}

#[test]
fn haproxy_routes_to_every_task_and_follows_scaling_and_a_marathon_failover() {
    let _g = fleet::exclusive();
    let f = fleet();
    let (c, _scope) = cluster(f, "lb");
    let _tasks = TaskContainers(f);
    f.remove_labelled("io.mesos-emulator.agent");
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
    c.agents_and_marathon_registered(leader, 90);
    let mleader = marathon_leader(&c);

    // The bridge on host3, configured as the operator configures a loadBalancer container
    // (LB_* variables: both Marathons, the host's address, its own port, the service port
    // range), with the fallback refetch pushed out of the test's way.
    let lb_ip = c.ips[2].clone();
    let marathons = format!("http://{}:8080,http://{}:8080", c.ips[0], c.ips[1]);
    let lb_http = format!("{lb_ip}:9090");
    let stats = format!("{lb_ip}:9092");
    let image = format!("{}/marathon-lb:0.1.0", f.registry);
    let env = [
        format!("LB_MARATHON_URLS={marathons}"),
        format!("LB_ADDRESS={lb_ip}"),
        "LB_PORT=9090".to_string(),
        "LB_SERVICE_PORTS=10000-10100".to_string(),
        "LB_STATS_PORT=9092".to_string(),
        "LB_REFETCH_SECS=600".to_string(),
        "LB_EVENT_IDLE_SECS=6".to_string(),
    ];
    let mut args = vec![
        "run",
        "-d",
        "--name",
        "contract-lb",
        "--label",
        &c.label,
        "--net",
        "host",
    ];
    for e in &env {
        args.extend(["-e", e.as_str()]);
    }
    args.push(&image);
    f.docker_ok("host3", &args);
    eventually("the bridge healthy", 60, || {
        get(&lb_http, "/health").filter(|r| r.status == 200)
    });

    let app = r#"{"id":"/web","cmd":"mesos-emulator respond","instances":3,"cpus":0.1,"mem":16,
        "portDefinitions":[{"port":0,"name":"http"}]}"#;
    let r = http("POST", &mleader, "/v2/apps", app).unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let service: Value = r.json()["portDefinitions"][0]["port"].clone();
    let lb = format!("{lb_ip}:{service}");
    let t = Instant::now();
    settled(&mleader, "/web", 3, 90);
    let first = reached_exactly(&lb, &stats, &mleader, 3, t);
    println!(
        "3 tasks created → all 3 reached through HAProxy: {:.1}s",
        first.as_secs_f64()
    );

    for n in [5u64, 1] {
        let events_before = metric(&lb_http, BY_EVENT);
        let t = Instant::now();
        scale(&mleader, n);
        let took = reached_exactly(&lb, &stats, &mleader, n as usize, t);
        println!(
            "scale to {n} → HAProxy routes to exactly {n} tasks: {:.1}s",
            took.as_secs_f64()
        );
        assert!(
            metric(&lb_http, BY_EVENT) > events_before,
            "the change came through the event stream"
        );
        assert_eq!(
            metric(&lb_http, BY_PERIOD),
            0.0,
            "no fallback refetch was needed"
        );
    }

    // The leading Marathon stopped: the stream is lost, the bridge reaches the other one.
    let losses_before = stream_losses(&lb_http);
    let (stopped, other) = if mleader.starts_with(&format!("{}:", c.ips[0])) {
        ("host1", format!("{}:8080", c.ips[1]))
    } else {
        ("host2", format!("{}:8080", c.ips[0]))
    };
    let t = Instant::now();
    f.docker_ok(stopped, &["stop", "contract-marathon"]);
    eventually("the other Marathon to lead", 60, || {
        let r = get(&other, "/v2/leader").filter(|r| r.status == 200)?;
        (r.json()["leader"] == other.as_str()).then_some(())
    });
    eventually("the bridge's stream attached again", 60, || {
        let losses = stream_losses(&lb_http);
        (losses > losses_before && metric(&lb_http, "marathon_lb_event_stream_up") == 1.0)
            .then_some(())
    });
    println!(
        "leading Marathon stopped → bridge attached to the new leader: {:.1}s",
        t.elapsed().as_secs_f64()
    );
    settled(&other, "/web", 1, 60);
    let events_before = metric(&lb_http, BY_EVENT);
    let t = Instant::now();
    scale(&other, 2);
    let took = reached_exactly(&lb, &stats, &other, 2, t);
    println!(
        "after the failover, scale to 2 → HAProxy routes to both: {:.1}s",
        took.as_secs_f64()
    );
    assert!(
        metric(&lb_http, BY_EVENT) > events_before,
        "through the new leader's stream"
    );
    assert_eq!(metric(&lb_http, BY_PERIOD), 0.0);
    let r = get(&lb_http, "/health").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // What the operator's health check of a loadBalancer container probes.
    let r = get(&lb_http, "/_haproxy_health_check").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let cfg = get(&lb_http, "/haproxy.cfg").unwrap();
    assert!(
        cfg.body.contains(&format!("bind {lb_ip}:{service}")),
        "{}",
        cfg.body
    );
}
