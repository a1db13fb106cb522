//! Timings against real services (`make bench`): `apply` of a 100-host document against a
//! local etcd, one observation of a healthy 3-host cluster on the test bed, and the per-host
//! (Docker) part of observing 50 hosts.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mesos_operator::observe;
use mesos_operator::secrets::SecretSource;
use mesos_operator_core::desired::{labels, Desired};
use mesos_operator_core::spec::{parse_document, Component, MesosCluster};

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: median {:.2} ms, p90 {:.2} ms, n={}",
        p(0.5).as_secs_f64() * 1e3,
        p(0.9).as_secs_f64() * 1e3,
        samples.len()
    );
}

fn fleet_doc(f: &common::fleet::Fleet, name: &str, hosts: usize) -> MesosCluster {
    let real: Vec<&common::fleet::Host> = f.hosts.values().collect();
    let mut y = format!("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: {name}}}\nspec:\n  registry: '{}'\n  hosts:\n", f.registry);
    for i in 0..hosts {
        let h = real[i % real.len()];
        let address = if i < real.len() {
            h.ip.clone()
        } else {
            format!("10.254.{}.{}", i / 250, i % 250 + 1)
        };
        y.push_str(&format!(
            "    - {{name: {}, address: {address}, docker: {{endpoint: 'tcp://{}:2376', tls: {{ca: ca, cert: client-cert, key: client-key}}}}}}\n",
            if i < real.len() { h.name.clone() } else { format!("sim{i:02}") },
            h.ip
        ));
    }
    y.push_str("  zookeeper: {image: 'zookeeper:3.8.0', servers: 3}\n  masters: {image: 'mesos-master:1.11.0', count: 3}\n  agents: {image: 'mesos-agent:1.11.0', hosts: [host1, host2, host3]}\n");
    parse_document(&y).expect("bench document")
}

fn main() {
    // `cargo test --all-targets` runs bench binaries too; the timings only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // apply of a 100-host document.
        let prefix = common::unique_prefix("bench");
        let store = common::store(&prefix).await;
        let mut text = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: big}\nspec:\n  hosts:\n");
        for i in 0..100 {
            text.push_str(&format!("    - {{name: h{i:03}, address: 10.0.{}.{}, docker: {{endpoint: 'unix:///var/run/docker.sock'}}}}\n", i / 250, i % 250 + 1));
        }
        text.push_str("  zookeeper: {image: zookeeper:3.8.0, servers: 5}\n  masters: {image: mesos-master:1.11.0, count: 5}\n  agents: {image: mesos-agent:1.11.0}\n");
        let mut doc = parse_document(&text).expect("doc");
        let mut samples = Vec::new();
        for i in 0..50 {
            doc.spec.agents.image = format!("mesos-agent:1.11.{i}");
            let t = Instant::now();
            store.apply(&doc).await.expect("apply");
            samples.push(t.elapsed());
        }
        report("apply 100-host document (changed spec: 1 read + 1 CAS transaction)", samples);

        // Observation on the test bed.
        let f = common::fleet::fleet();
        let dir = tempfile::tempdir().expect("dir").keep();
        for (n, file) in [("ca", "ca.pem"), ("client-cert", "client-cert.pem"), ("client-key", "client-key.pem")] {
            std::fs::copy(f.pki.join(file), dir.join(n)).expect("copy");
        }
        let secrets = SecretSource::Dir(dir);
        let doc = fleet_doc(f, "bench", 3);
        let d = Desired::from_document(&doc);
        let clients = observe::connect(&doc, &secrets).await;
        let ensemble = doc.spec.hosts.iter().enumerate().map(|(i, h)| format!("{}={}", i + 1, h.address)).collect::<Vec<_>>().join(",");
        for (i, h) in doc.spec.hosts.iter().enumerate() {
            let Ok(c) = &clients.hosts[&h.name] else { panic!("host {}", h.name) };
            for comp in [Component::Zookeeper, Component::Masters, Component::Agents] {
                let spec = d.container(comp, &h.name).expect("spec");
                c.pull(&spec.image).await.expect("pull");
                let (env, lbl) = match comp {
                    Component::Zookeeper => (
                        BTreeMap::from([("ZK_SERVER_ID".to_string(), (i + 1).to_string()), ("ZK_ENSEMBLE".to_string(), ensemble.clone())]),
                        BTreeMap::from([(labels::ZK_ID.to_string(), (i + 1).to_string())]),
                    ),
                    _ => (BTreeMap::new(), BTreeMap::new()),
                };
                c.create_and_start("bench", spec, &env, &lbl).await.expect("create");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let o = observe::observe(&doc, &clients, None).await;
            if o.masters.leader.is_some() && o.agents.members.values().filter(|a| a.registered).count() == 3 {
                break;
            }
            assert!(Instant::now() < deadline, "cluster did not come up: {o:#?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let mut samples = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let _ = observe::observe(&doc, &clients, None).await;
            samples.push(t.elapsed());
        }
        report("observe healthy 3-host cluster (ZooKeeper, masters, agents)", samples);
        // The per-host part of an observation (what grows with the fleet): 50 engine
        // connections, spread over the test bed's 3 real engines, queried concurrently.
        // Component probes grow with members (at most 7 ZooKeeper servers and masters) and
        // agents, whose probes run concurrently too.
        let doc50 = fleet_doc(f, "bench", 50);
        let clients50 = observe::connect(&doc50, &secrets).await;
        let mut samples = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            let futs = clients50.hosts.values().map(|c| async move {
                match c {
                    Ok(c) => c.observe("bench").await.is_ok(),
                    Err(_) => false,
                }
            });
            let ok = futures_util::future::join_all(futs).await.into_iter().filter(|x| *x).count();
            assert_eq!(ok, 50);
            samples.push(t.elapsed());
        }
        report("Docker side of observing 50 hosts (50 concurrent engine connections)", samples);
        f.remove_labelled(&format!("{}=bench", labels::CLUSTER));
    });
}
