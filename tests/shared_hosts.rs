//! Two clusters on one Docker host (issue 22), against a real etcd: `apply` refuses a
//! cluster that binds another stored cluster's ports on the same machines, naming the field,
//! the other cluster and the fix, and writes nothing; specs written straight into etcd that
//! collide are never acted on (phase Blocked, naming the other cluster).

mod common;

use std::time::{Duration, Instant};

use common::operator::Operator;
use common::{cli, cli_with_stdin, parts, seed_yaml, store, unique_prefix};

/// The seed under `name` with every port moved off the seed's: the second cluster of the
/// README's two-clusters setup.
fn moved_ports(name: &str) -> String {
    seed_yaml(name)
        .replace(
            "clientPort: 2181",
            "clientPort: 2281\n    peerPort: 2988\n    electionPort: 3988\n    adminPort: 8181",
        )
        .replace("port: 5050", "port: 5150")
        .replace("port: 5051", "port: 5151")
        .replace("port: 8080", "port: 8180")
}

fn apply(prefix: &str, yaml: &str) -> (i32, String, String) {
    parts(&cli_with_stdin(prefix, &["apply", "-f", "-"], yaml))
}

#[test]
fn apply_refuses_a_cluster_on_another_clusters_ports_and_hosts_and_writes_nothing() {
    let p = unique_prefix("shared-apply");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(store(&p));
    // Every key under the test's prefix with its revision: etcd's own revision is shared
    // with the other test of this binary.
    let revision = || {
        let mut c = s.client();
        let r = rt
            .block_on(
                c.get(
                    p.as_str(),
                    Some(
                        etcd_client::GetOptions::new()
                            .with_prefix()
                            .with_keys_only(),
                    ),
                ),
            )
            .unwrap();
        r.kvs()
            .iter()
            .map(|kv| (kv.key().to_vec(), kv.mod_revision()))
            .collect::<Vec<_>>()
    };
    let (code, _, err) = apply(&p, &seed_yaml("first"));
    assert_eq!(code, 0, "{err}");

    // The seed again under another name: every port of it on the same three hosts.
    let before = revision();
    let (code, out, err) = apply(&p, &seed_yaml("second"));
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    for path in [
        "spec.zookeeper.clientPort:",
        "spec.zookeeper.peerPort:",
        "spec.zookeeper.electionPort:",
        "spec.zookeeper.adminPort:",
        "spec.masters.port:",
        "spec.agents.port:",
        "spec.marathon.port:",
    ] {
        assert!(err.contains(path), "names {path}: {err}");
    }
    assert!(
        err.contains("cluster first"),
        "names the other cluster: {err}"
    );
    assert!(
        err.contains("address 10.20.30.2"),
        "names the machine: {err}"
    );
    assert!(
        err.contains("set spec.masters.port to a port cluster first does not use"),
        "says the fix: {err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(revision(), before, "nothing written");
    let (code, _, _) = parts(&cli(&p, &["get", "second"]));
    assert_eq!(code, 1, "second is not stored");
    // --dry-run says the same.
    let (code, _, err) = parts(&cli_with_stdin(
        &p,
        &["apply", "--dry-run", "-f", "-"],
        &seed_yaml("second"),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cluster first"), "{err}");

    // With ports of its own it is stored; one port moved back onto the first's is refused
    // as an update, and the stored spec stays as it was.
    let (code, _, err) = apply(&p, &moved_ports("second"));
    assert_eq!(code, 0, "{err}");
    let before = revision();
    let (code, _, err) = apply(
        &p,
        &moved_ports("second").replace("port: 5150", "port: 5050"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("spec.masters.port:"), "{err}");
    assert!(err.contains("cluster first"), "{err}");
    assert_eq!(revision(), before, "nothing written");
    let (_, out, _) = parts(&cli(&p, &["get", "second", "-o", "json"]));
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["spec"]["masters"]["port"], 5150);

    // The first cluster cannot move onto the second's ports either: the check is both ways.
    let (code, _, err) = apply(&p, &seed_yaml("first").replace("port: 8080", "port: 5151"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("spec.marathon.port:") && err.contains("cluster second"),
        "{err}"
    );

    // The same ports on other machines (other addresses, other engines) are no conflict.
    let elsewhere = seed_yaml("third").replace("10.20.30.", "10.20.31.");
    let (code, _, err) = apply(&p, &elsewhere);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn colliding_specs_written_straight_into_etcd_are_blocked_and_name_each_other() {
    let p = unique_prefix("shared-reconcile");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(store(&p));
    // Both written around `apply`, as automation writing etcd directly would.
    for name in ["alpha", "beta"] {
        let doc: serde_json::Value = serde_yaml_ng::from_str(&seed_yaml(name)).unwrap();
        let mut c = s.client();
        rt.block_on(c.put(s.spec_key(name), serde_json::to_vec(&doc).unwrap(), None))
            .unwrap();
    }
    let op = Operator::start(&p, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    for (name, other) in [("alpha", "beta"), ("beta", "alpha")] {
        let status = loop {
            let (code, out, _) = parts(&cli(&p, &["status", name, "-o", "json"]));
            if code == 0 {
                let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
                if v["phase"] == "Blocked" {
                    break v;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{name} never Blocked; operator log:\n{}",
                op.log_text()
            );
            std::thread::sleep(Duration::from_millis(300));
        };
        let message = status["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("cluster {other}")),
            "{name}: {message}"
        );
        let errors = status["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            errors.iter().any(|e| e["path"] == "spec.masters.port"
                && e["problem"].as_str().unwrap_or("").contains(other)),
            "{name}: {status}"
        );
    }
    // No step was taken on either: no record of a step in flight, no event.
    for name in ["alpha", "beta"] {
        let (code, out, _) = parts(&cli(&p, &["events", name, "-o", "json"]));
        assert_eq!(code, 0);
        let events: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(
            events.as_array().map(Vec::len).unwrap_or(0),
            0,
            "{name}: {out}"
        );
    }
    // Moving one of them onto ports of its own (through apply, which checks) lifts the
    // block from both. (Their hosts are not reachable here: what they show next is about
    // their hosts, not about each other.)
    let (code, _, err) = apply(&p, &moved_ports("beta"));
    assert_eq!(code, 0, "{err}");
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in ["alpha", "beta"] {
        loop {
            let (_, out, _) = parts(&cli(&p, &["status", name, "-o", "json"]));
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let message = v["message"].as_str().unwrap_or_default();
            if !message.is_empty() && !message.contains("bind the same ports") {
                assert!(v["errors"].as_array().is_none_or(Vec::is_empty), "{v}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} stays blocked by the other: {v}; log:\n{}",
                op.log_text()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

#[test]
fn of_several_colliding_clusters_applied_at_once_exactly_one_is_stored() {
    // Each write reads the others before it writes; two writers that read before either
    // wrote would both pass the check without the transaction's guard.
    let p = unique_prefix("shared-race");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(store(&p));
    let docs: Vec<_> = (0..8)
        .map(|i| {
            mesos_operator_core::spec::parse_document(&seed_yaml(&format!("race{i}"))).unwrap()
        })
        .collect();
    let results = rt.block_on(async {
        let tasks: Vec<_> = docs
            .into_iter()
            .map(|d| {
                let s = s.clone();
                tokio::spawn(async move { s.apply(&d).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let outcomes: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(o) => format!("{o:?}"),
            Err(e) => e.to_string().lines().next().unwrap_or_default().to_string(),
        })
        .collect();
    let stored = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(stored, 1, "{outcomes:#?}");
    for r in &results {
        assert!(
            matches!(
                r,
                Ok(_)
                    | Err(mesos_operator::store::StoreError::SharedPorts(_))
                    | Err(mesos_operator::store::StoreError::Conflict(_))
            ),
            "{outcomes:#?}"
        );
    }
    let listed = rt.block_on(s.list()).unwrap();
    assert_eq!(listed.clusters.len(), 1);
}

#[test]
fn the_check_across_clusters_holds_with_more_clusters_than_a_transaction_has_compares() {
    // etcd caps a transaction at 128 compares by default: the guard is one compare, not
    // one per other cluster. Each cluster here has a host of its own.
    let p = unique_prefix("shared-many");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(store(&p));
    let doc = |i: usize| {
        mesos_operator_core::spec::parse_document(&format!(
            "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: m{i}}}\nspec:\n  hosts:\n    - {{name: h, address: 10.1.{}.{}, docker: {{endpoint: 'unix:///var/run/docker.sock'}}}}\n  zookeeper: {{image: zookeeper:3.8.0, servers: 1}}\n  masters: {{image: mesos-master:1.11.0, count: 1}}\n  agents: {{image: mesos-agent:1.11.0}}\n",
            i / 200,
            i % 200 + 1
        ))
        .unwrap()
    };
    // Every one of them on the same engine (unix:///var/run/docker.sock) would collide:
    // give each an endpoint of its own.
    let own = |i: usize| {
        let mut d = doc(i);
        d.spec.hosts[0].docker.endpoint = format!("unix:///run/docker-{i}.sock");
        d
    };
    rt.block_on(async {
        for i in 0..130 {
            s.apply(&own(i))
                .await
                .unwrap_or_else(|e| panic!("m{i}: {e}"));
        }
        // And the 131st that shares the first one's engine is still refused.
        let mut late = own(130);
        late.spec.hosts[0].docker.endpoint = "unix:///run/docker-0.sock".into();
        match s.apply(&late).await {
            Err(mesos_operator::store::StoreError::SharedPorts(errs)) => {
                assert!(
                    errs.iter().any(|e| e.problem.contains("cluster m0")),
                    "{errs:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    });
}
