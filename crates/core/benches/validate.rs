//! `validate` and parsing of large documents (1,000 hosts).

use criterion::{criterion_group, criterion_main, Criterion};
use mesos_operator_core::spec::{parse_document, validate};

fn document(hosts: usize) -> String {
    let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: big}\nspec:\n  hosts:\n");
    for i in 0..hosts {
        y.push_str(&format!(
            "    - {{name: h{i:05}, address: 10.{}.{}.{}, docker: {{endpoint: 'tcp://10.{}.{}.{}:2376', tls: {{ca: ca, cert: c{i}, key: k{i}}}}}}}\n",
            i / 65536, (i / 256) % 256, i % 256, i / 65536, (i / 256) % 256, i % 256
        ));
    }
    y.push_str("  zookeeper: {image: zookeeper:3.8.0, servers: 5}\n  masters: {image: mesos-master:1.11.0, count: 5}\n  agents: {image: mesos-agent:1.11.0}\n  marathon: {image: marathon:1.10.17, instances: 3}\n");
    y
}

fn bench(c: &mut Criterion) {
    let text = document(1000);
    let doc = parse_document(&text).expect("valid");
    validate(&doc, None).expect("valid");
    let mut g = c.benchmark_group("document-1000-hosts");
    g.sample_size(30);
    g.bench_function("validate", |b| b.iter(|| validate(&doc, Some(&doc))));
    g.bench_function("parse", |b| b.iter(|| parse_document(&text)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
