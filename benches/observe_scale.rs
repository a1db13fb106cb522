//! One observation of a cluster of 100 and of 1,000 hosts (`cargo bench --bench
//! observe_scale`), each host a simulated Docker engine: a small in-process HTTP server
//! speaking the part of the Engine API an observation uses (container list, inspect, volume
//! list), answering after `SIM_ENGINE_LATENCY_MS` (default 2 ms) per call. Every host holds
//! the cluster's agent; the first three also ZooKeeper and a master. No component answers its
//! probes: agents' are refused at once on loopback, ZooKeeper's wait out their deadline
//! (about 4 s), so the bench reports the Docker side (every host's containers, with the
//! observation's bound on concurrent hosts, [`observe::MAX_CONCURRENT_HOSTS`]) apart from the
//! whole observation. Issue 24's goal: under 1 s for 100 hosts.

use std::time::{Duration, Instant};

use axum::http::Uri;
use axum::response::IntoResponse;
use mesos_operator::observe;
use mesos_operator::secrets::SecretSource;
use mesos_operator_core::spec::parse_document;

/// Serves one simulated engine on a free loopback port; returns the port.
async fn engine(host: String, roles: Vec<&'static str>, latency: Duration) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let (host, roles) = (host.clone(), roles.clone());
        async move {
            tokio::time::sleep(latency).await;
            let path = uri.path().to_string();
            let json = |v: serde_json::Value| {
                ([("content-type", "application/json")], v.to_string()).into_response()
            };
            if path.ends_with("/containers/json") {
                return json(serde_json::Value::Array(
                    roles
                        .iter()
                        .map(|role| {
                            serde_json::json!({
                                "Id": format!("{role}-{host}"),
                                "Names": [format!("/big-{role}-{host}")],
                                "Image": format!("{role}:1"),
                                "Labels": {
                                    "io.mesos-operator.cluster": "big",
                                    "io.mesos-operator.role": role,
                                    "io.mesos-operator.host": host,
                                }
                            })
                        })
                        .collect(),
                ));
            }
            if path.ends_with("/volumes") {
                return json(serde_json::json!({"Volumes": [], "Warnings": []}));
            }
            if let Some(id) = path
                .strip_suffix("/json")
                .and_then(|p| p.rsplit('/').next())
            {
                return json(serde_json::json!({
                    "Id": id, "Name": format!("/big-{id}"), "RestartCount": 0,
                    "State": {"Status": "running", "Running": true, "StartedAt": "2026-12-01T00:00:00Z"},
                    "Image": "sha256:abc",
                }));
            }
            (axum::http::StatusCode::NOT_FOUND, "").into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let latency = Duration::from_millis(
        std::env::var("SIM_ENGINE_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for hosts in [100usize, 1000] {
            let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: big}\nspec:\n  hosts:\n");
            for i in 0..hosts {
                let name = format!("h{i:04}");
                let roles = if i < 3 {
                    vec!["zookeeper", "master", "agent"]
                } else {
                    vec!["agent"]
                };
                let port = engine(name.clone(), roles, latency).await;
                y.push_str(&format!(
                    "    - {{name: {name}, address: 127.0.0.1, docker: {{endpoint: 'tcp://127.0.0.1:{port}', insecure: true}}}}\n"
                ));
            }
            y.push_str("  zookeeper: {image: 'zookeeper:1', servers: 3}\n  masters: {image: 'master:1', count: 3}\n  agents: {image: 'agent:1'}\n");
            let doc = parse_document(&y).expect("document");
            let clients = observe::connect(&doc, &SecretSource::Memory(Default::default())).await;
            let mut samples = Vec::new();
            for _ in 0..6 {
                let t = Instant::now();
                let o = observe::observe(&doc, &clients, None).await;
                samples.push(t.elapsed());
                assert_eq!(
                    o.hosts.values().filter(|h| matches!(h, mesos_operator_core::observed::HostObservation::Reachable { .. })).count(),
                    hosts,
                    "every simulated engine answered"
                );
            }
            // The Docker side alone (what grows with the hosts), with the observation's own
            // bound on hosts at once: the full observation above also waits for the
            // ZooKeeper probes, which no simulated host answers (they wait out their
            // deadline, about 4 s, whatever the number of hosts).
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(observe::MAX_CONCURRENT_HOSTS));
            let mut docker_side = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let futs = clients.hosts.values().map(|c| {
                    let sem = sem.clone();
                    async move {
                        let _permit = sem.acquire().await;
                        match c {
                            Ok(c) => c.observe("big").await.is_ok(),
                            Err(_) => false,
                        }
                    }
                });
                let ok = futures_util::future::join_all(futs)
                    .await
                    .into_iter()
                    .filter(|x| *x)
                    .count();
                assert_eq!(ok, hosts, "every simulated engine answered");
                docker_side.push(t.elapsed());
            }
            docker_side.sort();
            let docker_median = docker_side[docker_side.len() / 2];
            // The first look opens the connections; the rest reuse them.
            let first = samples.remove(0);
            samples.sort();
            let median = samples[samples.len() / 2];
            let goal = if hosts == 100 {
                format!(
                    " (goal < 1 s: {})",
                    if docker_median < Duration::from_secs(1) { "met" } else { "NOT met" }
                )
            } else {
                String::new()
            };
            println!(
                "observe_scale: {hosts} hosts ({} ms per engine call, at most {} hosts at once): every host's containers in median {:.0} ms{goal}; the whole observation (with the probes of a ZooKeeper no simulated host runs, which wait out their deadline) first {:.0} ms, then median {:.0} ms, max {:.0} ms",
                latency.as_millis(),
                observe::MAX_CONCURRENT_HOSTS,
                docker_median.as_secs_f64() * 1e3,
                first.as_secs_f64() * 1e3,
                median.as_secs_f64() * 1e3,
                samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            );
        }
    });
}
