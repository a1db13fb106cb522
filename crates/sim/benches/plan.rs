//! `plan` on clusters of 10 to 10,000 hosts: converged (the steady state, checked every
//! reconcile) and mid-rollout (agents bumped: the planner must find the next agent).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mesos_operator_core::desired::Desired;
use mesos_operator_core::plan::{plan, Decision};
use mesos_operator_core::spec::parse_document;
use mesos_operator_sim::SimCluster;

fn document(hosts: usize, agents_tag: &str) -> Desired {
    let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: bench}\nspec:\n  hosts:\n");
    for i in 0..hosts {
        y.push_str(&format!(
            "    - {{name: h{i:05}, address: 10.{}.{}.{}, docker: {{endpoint: 'unix:///d.sock'}}}}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    let servers = if hosts >= 5 { 5 } else { 3 };
    y.push_str(&format!(
        "  zookeeper: {{image: zk:1, servers: {servers}}}\n  masters: {{image: m:1, count: {servers}}}\n  agents: {{image: 'a:{agents_tag}'}}\n  marathon: {{image: 'mar:1.10.17', instances: 3}}\n"
    ));
    Desired::from_document(&parse_document(&y).expect("bench document"))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan");
    g.sample_size(20);
    for hosts in [10usize, 100, 1_000, 10_000] {
        let d = document(hosts, "1");
        let sim = SimCluster::converged(&d, 1_000_000);
        let observed = sim.observe();
        assert_eq!(
            plan(&d, &observed, &sim.record, sim.now),
            Decision::Converged
        );
        g.bench_with_input(BenchmarkId::new("converged", hosts), &hosts, |b, _| {
            b.iter(|| plan(&d, &observed, &sim.record, sim.now))
        });
        let bumped = document(hosts, "2");
        assert!(plan(&bumped, &observed, &sim.record, sim.now)
            .step()
            .is_some());
        g.bench_with_input(BenchmarkId::new("agents-rollout", hosts), &hosts, |b, _| {
            b.iter(|| plan(&bumped, &observed, &sim.record, sim.now))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
