//! The loadBalancer component as users run it: `spec.loadBalancer` with two instances of
//! the bridge's image (`marathon-lb:0.1.0`, Debian's haproxy and `marathon-lb`), created by
//! the operator after Marathon with the `LB_*` variables it derives (every Marathon
//! instance, the host's address, the port its health check probes, the service port
//! range). An app's service port answers on both hosts with every task; a bump of the
//! component replaces the two one at a time, and throughout it every request is answered
//! by one of them. About 2–3 minutes with the test bed's bring-up.

// The test holds the fleet guard for its whole length on purpose.
#![allow(clippy::await_holding_lock)]

mod common;
#[path = "common/workload.rs"]
mod workload;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fleet::{exclusive, fleet};
use common::operator::{apply, store_secrets, wait_phase, ClusterGuard, ClusterOpts, Operator};
use common::{cli, parts, unique_prefix};

const CONVERGE: Duration = Duration::from_secs(300);

/// The task that answered a request through the load balancer at `addr`, if one did.
fn through(addr: &str) -> Option<String> {
    let (status, body) = workload::call("GET", addr, "/", "")?;
    (status == 200 && body.contains(".instance-")).then(|| {
        body.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

/// Marathon's running tasks of `/hello`.
fn tasks(marathon: &str) -> BTreeSet<String> {
    let Some((200, body)) = workload::call("GET", marathon, "/v2/apps/hello", "") else {
        return BTreeSet::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    workload::running_ids(&v["app"]["tasks"])
}

/// Waits until requests through each of `lbs` reach exactly Marathon's `n` tasks.
fn every_lb_reaches_every_task(
    lbs: &[String],
    marathon: &str,
    n: usize,
    timeout: Duration,
) -> Duration {
    let t = Instant::now();
    loop {
        let want = tasks(marathon);
        let ok = want.len() == n
            && lbs.iter().all(|lb| {
                let seen: BTreeSet<String> = (0..n * 4).filter_map(|_| through(lb)).collect();
                seen == want
            });
        if ok {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < timeout,
            "not every load balancer reached Marathon's {n} tasks {want:?} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_load_balancers_route_every_task_and_one_serves_throughout_their_bump() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec!["lbc".into()],
    };
    let prefix = unique_prefix("lb_component");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed("lbc");
    opts.marathon_instances = 2;
    let yaml = format!(
        "{}  loadBalancer: {{image: 'marathon-lb:0.1.0', instances: 2}}\n",
        opts.yaml(f)
    );
    let mut op = Operator::start(&prefix, &[]);
    apply(&prefix, &yaml);
    wait_phase(&prefix, "lbc", "Converged", CONVERGE);

    let ips: Vec<String> = f.hosts.values().take(2).map(|h| h.ip.clone()).collect();
    let marathon = format!("{}:{}", ips[0], opts.ports.marathon);
    // Each load balancer's own port answers its health check (what the operator probes).
    for ip in &ips {
        let (status, body) =
            workload::call("GET", &format!("{ip}:9090"), "/_haproxy_health_check", "")
                .expect("the load balancer's health check answers");
        assert_eq!(status, 200, "{body}");
    }
    let app = r#"{"id":"/hello","cmd":"mesos-emulator respond","instances":3,"cpus":0.1,"mem":16,"portDefinitions":[{"port":0}]}"#;
    let (status, body) =
        workload::call("POST", &marathon, "/v2/apps", app).expect("Marathon answers");
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let service = v["portDefinitions"][0]["port"].as_u64().unwrap();
    let lbs: Vec<String> = ips.iter().map(|ip| format!("{ip}:{service}")).collect();
    let took = every_lb_reaches_every_task(&lbs, &marathon, 3, Duration::from_secs(90));
    println!(
        "app created → both load balancers reach its 3 tasks: {:.1}s",
        took.as_secs_f64()
    );

    // A bump of the component: one replaced at a time; a client that tries the other when
    // one refuses is always answered.
    let stop = Arc::new(AtomicBool::new(false));
    let (tries, unanswered, first_refused) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let client = {
        let (stop, tries, unanswered, first_refused, lbs) = (
            stop.clone(),
            tries.clone(),
            unanswered.clone(),
            first_refused.clone(),
            lbs.clone(),
        );
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let (a, b) = (&lbs[i % 2], &lbs[(i + 1) % 2]);
                tries.fetch_add(1, Ordering::Relaxed);
                if through(a).is_none() {
                    first_refused.fetch_add(1, Ordering::Relaxed);
                    if through(b).is_none() {
                        unanswered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let (code, _, err) = parts(&cli(&prefix, &["bump", "lbc", "loadBalancer", "0.1.0-2"]));
    assert_eq!(code, 0, "bump: {err}");
    let t = Instant::now();
    wait_phase(&prefix, "lbc", "Converged", CONVERGE);
    // The phase may read Converged before the operator saw the new generation: wait for it.
    common::operator::wait_until("both load balancers on 0.1.0-2", CONVERGE, || {
        let (_, out, _) = parts(&cli(&prefix, &["status", "lbc", "-o", "json"]));
        let st: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        st["phase"] == "Converged"
            && st["components"]["loadBalancer"]["image"]
                .as_str()
                .is_some_and(|i| i.ends_with("marathon-lb:0.1.0-2"))
            && st["components"]["loadBalancer"]["ready"] == 2
    });
    let rolled = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    let (tries, unanswered, first_refused) = (
        tries.load(Ordering::Relaxed),
        unanswered.load(Ordering::Relaxed),
        first_refused.load(Ordering::Relaxed),
    );
    println!(
        "bump of both load balancers: {:.1}s; {tries} requests, {first_refused} refused by the first tried, {unanswered} by both",
        rolled.as_secs_f64()
    );
    assert!(tries > 20, "requests were made throughout: {tries}");
    assert_eq!(
        unanswered, 0,
        "one load balancer answered at every moment of the bump"
    );
    every_lb_reaches_every_task(&lbs, &marathon, 3, Duration::from_secs(60));
    op.stop();
}
