//! The desired state in etcd through the command line and the store, against a real etcd.

mod common;

use common::{cli, cli_with_stdin, parts, seed_yaml, store, unique_prefix};
use mesos_operator::store::{StoreError, WriteOutcome};
use mesos_operator_core::spec::parse_document;

#[test]
fn apply_creates_then_reapply_changes_nothing_then_a_change_bumps_generation() {
    let p = unique_prefix("apply");
    let doc = seed_yaml("c1");
    let (code, out, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &doc));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("c1 created (generation 1)"), "{out}");

    let (code, out, _) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &doc));
    assert_eq!(code, 0);
    assert!(out.contains("c1 unchanged (generation 1)"), "{out}");

    let changed = doc.replace("marathon:1.10.17", "marathon:1.10.26");
    let (code, out, _) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &changed));
    assert_eq!(code, 0);
    assert!(out.contains("c1 configured (generation 2)"), "{out}");

    // The previous spec went to history, and get shows the stored generation.
    let (code, out, _) = parts(&cli(&p, &["history", "c1", "-o", "json"]));
    assert_eq!(code, 0);
    let hist: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(hist[0]["metadata"]["generation"], 1);
    assert_eq!(hist[0]["spec"]["marathon"]["image"], "marathon:1.10.17");
    assert_eq!(hist[1]["metadata"]["generation"], 2);
    let (_, out, _) = parts(&cli(&p, &["get", "c1", "-o", "json"]));
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["metadata"]["generation"], 2);
    assert_eq!(got["spec"]["marathon"]["image"], "marathon:1.10.26");
}

#[test]
fn dry_run_shows_the_diff_and_writes_nothing() {
    let p = unique_prefix("dryrun");
    let doc = seed_yaml("c2");
    assert_eq!(parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &doc)).0, 0);
    let changed = doc.replace("count: 3", "count: 5").replace(
        "  hosts:\n",
        "  hosts:\n    - {name: host4, address: 10.20.30.5, docker: {endpoint: 'unix:///var/run/docker.sock'}}\n    - {name: host5, address: 10.20.30.6, docker: {endpoint: 'unix:///var/run/docker.sock'}}\n",
    );
    let (code, out, err) = parts(&cli_with_stdin(
        &p,
        &["apply", "--dry-run", "-f", "-"],
        &changed,
    ));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("-   count: 3") && out.contains("+   count: 5"),
        "{out}"
    );
    assert!(out.contains("nothing written"));
    let (_, out, _) = parts(&cli(&p, &["get", "c2", "-o", "json"]));
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["metadata"]["generation"], 1);
    assert_eq!(got["spec"]["masters"]["count"], 3);
}

#[test]
fn bump_pause_resume_and_rollback() {
    let p = unique_prefix("edit");
    assert_eq!(
        parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("c3"))).0,
        0
    );

    let (code, out, err) = parts(&cli(&p, &["bump", "c3", "masters", "1.12.0-rc1"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("mesos-master:1.12.0-rc1 (generation 2)"),
        "{out}"
    );
    // Bumping to the same tag again is not a new generation.
    let (code, out, _) = parts(&cli(&p, &["bump", "c3", "masters", "1.12.0-rc1"]));
    assert_eq!(code, 0);
    assert!(out.contains("unchanged"), "{out}");

    assert_eq!(parts(&cli(&p, &["pause", "c3"])).0, 0);
    let (_, out, _) = parts(&cli(&p, &["get", "c3", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["spec"]["rollout"]["paused"], true);
    assert_eq!(v["metadata"]["generation"], 3);
    assert_eq!(parts(&cli(&p, &["resume", "c3"])).0, 0);

    // Roll back to generation 1: the 1.11.0 masters come back as generation 5.
    let (code, out, err) = parts(&cli(&p, &["rollback", "c3", "--to", "1"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("generation 5"), "{out}");
    let (_, out, _) = parts(&cli(&p, &["get", "c3", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["spec"]["masters"]["image"], "mesos-master:1.11.0");
    assert_eq!(v["metadata"]["generation"], 5);
    // Rolling back to a generation that never existed fails and writes nothing.
    let (code, _, err) = parts(&cli(&p, &["rollback", "c3", "--to", "42"]));
    assert_eq!(code, 1);
    assert!(err.contains("generation 42"), "{err}");
}

#[test]
fn bad_usage_and_missing_clusters_have_distinct_exit_codes() {
    let p = unique_prefix("codes");
    assert_eq!(parts(&cli(&p, &["bump", "nope", "masters", "1.0"])).0, 1);
    assert_eq!(parts(&cli(&p, &["get", "nope"])).0, 1);
    assert_eq!(parts(&cli(&p, &["status", "nope"])).0, 1);
    assert_eq!(parts(&cli(&p, &["delete", "nope"])).0, 1);
    assert_eq!(parts(&cli(&p, &["frobnicate"])).0, 2);
    assert_eq!(
        parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("c4"))).0,
        0
    );
    let (code, _, err) = parts(&cli(&p, &["bump", "c4", "kafka", "1.0"]));
    assert_eq!(code, 2);
    assert!(err.contains("unknown component 'kafka'"), "{err}");
    let (code, _, err) = parts(&cli(&p, &["bump", "c4", "masters", "evil:tag"]));
    assert_eq!(code, 2, "{err}");
    // A password on the command line is not an option at all.
    assert_eq!(parts(&cli(&p, &["--etcd-password", "x", "get"])).0, 2);
}

/// An etcd that cannot be reached is a failed operation (exit 1), said on one line: the
/// endpoint, the cause in plain words, and how to name another one (not tonic's chain).
#[test]
fn unreachable_etcd_is_one_line_naming_the_endpoint_the_cause_and_the_fix() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
        .args(["--etcd", "http://127.0.0.1:9", "get"])
        .env_remove("MESOS_OPERATOR_ETCD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach etcd at http://127.0.0.1:9: connection refused"),
        "{err}"
    );
    assert!(
        err.contains("--etcd") && err.contains("MESOS_OPERATOR_ETCD"),
        "{err}"
    );
    assert!(!err.contains("tonic") && !err.contains("grpc"), "{err}");
}

/// `version` names the commit the binary was built from (the checkout's HEAD when built
/// in one) and when it was built.
#[test]
fn version_names_the_commit_and_the_build_time() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
        .arg("version")
        .output()
        .unwrap();
    let (code, stdout, err) = parts(&out);
    assert_eq!(code, 0, "{err}");
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        stdout.starts_with(&format!("mesos-operator {}\n", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    let head = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=12",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let expected = std::env::var("MESOS_OPERATOR_COMMIT")
        .ok()
        .or(head)
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(field("commit"), expected, "{stdout}");
    let built = time::OffsetDateTime::parse(
        &field("built"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|e| panic!("built is not an RFC 3339 time ({e}): {stdout}"));
    assert!(built <= time::OffsetDateTime::now_utc(), "{stdout}");
}

#[test]
fn a_plain_http_etcd_on_another_machine_is_refused_unless_accepted_by_name() {
    // 192.0.2.1 (TEST-NET-1) is never contacted: the refusal comes before any connection,
    // with exit 2 (an unreachable etcd is a failed operation, exit 1).
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
            .args(args)
            .env_remove("MESOS_OPERATOR_ETCD_INSECURE")
            .output()
            .unwrap()
    };
    let out = run(&["--etcd", "http://192.0.2.1:2379", "get"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--etcd http://192.0.2.1:2379") && err.contains("--etcd-insecure"),
        "the refusal names the endpoint and the way to accept it: {err}"
    );
    // One far endpoint among loopback ones is enough to refuse.
    let out = run(&["--etcd", "http://127.0.0.1:9,http://192.0.2.1:2379", "get"]);
    assert_eq!(out.status.code(), Some(2));
    // (Accepted with --etcd-insecure it would be contacted; tests talk only to loopback,
    // so that side is the unit test of `loopback_endpoint`.)
}

#[test]
fn secrets_are_listed_by_name_and_size_never_by_value() {
    let p = unique_prefix("secret");
    let value = "super:Sekr3tValue-do-not-print";
    let (code, _, err) = parts(&cli_with_stdin(
        &p,
        &["secret", "set", "zk-super", "--from-file", "-"],
        value,
    ));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = parts(&cli(&p, &["secret", "list", "-o", "json"]));
    assert_eq!(code, 0);
    assert!(!out.contains("Sekr3t"), "{out}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "zk-super");
    assert_eq!(list[0]["size"], value.len());
    assert_eq!(parts(&cli(&p, &["secret", "delete", "zk-super"])).0, 0);
    assert_eq!(parts(&cli(&p, &["secret", "delete", "zk-super"])).0, 1);
}

#[test]
fn delete_removes_spec_and_history_and_cascade_waits_for_the_operator() {
    let p = unique_prefix("delete");
    assert_eq!(
        parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("c5"))).0,
        0
    );
    assert_eq!(
        parts(&cli(&p, &["bump", "c5", "agents", "1.12.0-rc1"])).0,
        0
    );
    // No operator runs: the request is recorded, the spec stays, and the CLI says why.
    let (code, _, err) = parts(&cli(&p, &["delete", "c5", "--cascade", "--timeout", "1"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("mesos-operator run"), "{err}");
    assert_eq!(
        parts(&cli(&p, &["get", "c5"])).0,
        0,
        "a cascade nobody carried out must not delete the spec"
    );
    // The request says whether the data goes: here it stays (no --purge-data); with
    // --purge-data it goes.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let request = |p: &str| {
        rt.block_on(async {
            let s = store(p).await;
            let mut c = s.client();
            let r = c.get(s.deletion_key("c5"), None).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(r.kvs()[0].value()).unwrap();
            v
        })
    };
    let stored = request(&p);
    assert_eq!(stored["purgeData"], false, "{stored}");
    assert!(stored["requestedAt"].as_str().is_some(), "{stored}");
    let (code, _, err) = parts(&cli(
        &p,
        &[
            "delete",
            "c5",
            "--cascade",
            "--purge-data",
            "--timeout",
            "1",
        ],
    ));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("then their data volumes"), "{err}");
    assert_eq!(request(&p)["purgeData"], true);
    // A cascade of an unknown cluster is a failed operation.
    assert_eq!(
        parts(&cli(&p, &["delete", "nope", "--cascade", "--timeout", "1"])).0,
        1
    );
    assert_eq!(parts(&cli(&p, &["delete", "c5"])).0, 0);
    assert_eq!(parts(&cli(&p, &["get", "c5"])).0, 1);
    assert_eq!(parts(&cli(&p, &["history", "c5"])).0, 1);
}

#[test]
fn purge_data_without_cascade_is_bad_usage_and_does_nothing() {
    // An etcd of its own: its revision moves only with this test's writes.
    let own = common::EtcdCluster::start(1);
    let ep = own.endpoint_list();
    let p = unique_prefix("purge-alone");
    let cli = |args: &[&str], stdin: &str| parts(&common::cli_on(&ep, &p, args, stdin));
    assert_eq!(cli(&["apply", "-f", "-"], &seed_yaml("c8")).0, 0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let revision = || rt.block_on(async { private_store(&ep, &p).await.revision().await.unwrap() });
    let before = revision();
    let (code, _, err) = cli(&["delete", "c8", "--purge-data"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("delete c8 --cascade --purge-data"), "{err}");
    assert_eq!(before, revision(), "something was written");
    assert_eq!(cli(&["get", "c8"], "").0, 0, "the cluster is still there");
}

/// A store on an etcd of the test's own.
async fn private_store(endpoints: &str, prefix: &str) -> mesos_operator::store::Store {
    let opts = mesos_operator::etcd::EtcdOptions {
        endpoints: endpoints.split(',').map(str::to_string).collect(),
        prefix: prefix.to_string(),
        ..Default::default()
    };
    mesos_operator::store::Store::connect(&opts)
        .await
        .expect("connect to the test's etcd")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_delete_keeps_the_record_and_the_denylist_and_the_cluster_can_be_applied_again() {
    use mesos_operator_core::autoupdate::state::{Denial, PendingWrite};
    use mesos_operator_core::spec::Component;
    let p = unique_prefix("delete-keeps");
    let s = store(&p).await;
    let doc = parse_document(&seed_yaml("c9")).unwrap();
    assert_eq!(
        s.apply(&doc).await.unwrap(),
        WriteOutcome::Created { generation: 1 }
    );
    let mut bumped = doc.clone();
    bumped.spec.agents.image = "mesos-agent:1.12.0-rc1".into();
    assert_eq!(
        s.apply(&bumped).await.unwrap(),
        WriteOutcome::Updated { generation: 2 }
    );
    // What the operator would have written: its record, the automation state with a
    // denied tag and a write in flight, a status, and a request in the old plain form.
    s.update_record("c9", |r| {
        r.zk_highest_id = Some(7);
        r.master_hosts.insert("host1".into());
        Ok(())
    })
    .await
    .unwrap();
    s.update_autoupdate("c9", |st| {
        let m = st.components.entry(Component::Masters).or_default();
        m.denied.insert(
            "1.12.0".into(),
            Denial {
                reason: "canary failed".into(),
                at: 1,
            },
        );
        m.pending = Some(PendingWrite {
            image: "mesos-master:1.12.1".into(),
            from_generation: 1,
            rollback: false,
        });
        Ok(())
    })
    .await
    .unwrap();
    let mut c = s.client();
    c.put(s.status_key("c9"), "{}", None).await.unwrap();
    c.put(s.deletion_key("c9"), "2024-01-01T00:00:00Z", None)
        .await
        .unwrap();
    // An old request (a bare timestamp) is read as keeping the data.
    let old = s.deletion_request("c9").await.unwrap().unwrap();
    assert!(!old.purge_data, "{old:?}");

    let (code, out, err) = parts(&cli(&p, &["delete", "c9"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("re-applying the same document is safe"),
        "{out}"
    );
    assert_eq!(
        cluster_keys(&s, "c9").await,
        ["autoupdate", "record"],
        "spec, status, history and request go"
    );
    let record = s.record("c9").await.unwrap().record;
    assert_eq!(record.zk_highest_id, Some(7));
    assert!(record.master_hosts.contains("host1"));
    let auto = s.autoupdate("c9").await.unwrap().state;
    let m = auto.component(Component::Masters);
    assert!(m.denied.contains_key("1.12.0"), "{auto:?}");
    assert_eq!(m.pending, None, "a write planned on the deleted spec goes");
    // Kept keys are no cluster: not listed, not found, not deleted twice.
    assert!(s.get("c9").await.unwrap().is_none());
    assert!(!s
        .cluster_names()
        .await
        .unwrap()
        .0
        .contains(&"c9".to_string()));
    assert!(s.list().await.unwrap().clusters.is_empty());
    let (code, out, err) = parts(&cli(&p, &["get"]));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("c9") && !err.contains("c9"), "{out}{err}");
    assert_eq!(parts(&cli(&p, &["get", "c9"])).0, 1);
    assert_eq!(parts(&cli(&p, &["delete", "c9"])).0, 1);

    // Applied again: a new cluster at generation 1 with no history, over the kept record.
    let (code, out, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("c9")));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("c9 created (generation 1)"), "{out}");
    // (history lists the current spec last)
    assert_eq!(history_generations(&p, "c9"), vec![1]);
    assert_eq!(
        s.apply(&bumped).await.unwrap(),
        WriteOutcome::Updated { generation: 2 }
    );
    assert_eq!(history_generations(&p, "c9"), vec![1, 2]);
    assert_eq!(s.record("c9").await.unwrap().record.zk_highest_id, Some(7));
}

/// The keys under `clusters/<name>/`, relative to it.
async fn cluster_keys(s: &mesos_operator::store::Store, name: &str) -> Vec<String> {
    let prefix = format!("{}clusters/{name}/", s.prefix());
    let r = s
        .client()
        .get(
            prefix.as_str(),
            Some(
                etcd_client::GetOptions::new()
                    .with_prefix()
                    .with_keys_only(),
            ),
        )
        .await
        .unwrap();
    r.kvs()
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key()[prefix.len()..]).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_end_of_a_cascade_keeps_record_and_denylist_unless_data_is_purged() {
    use mesos_operator::election::WriteGuard;
    use mesos_operator::store::{KeptOnHost, KeptVolumes, Removal};
    let p = unique_prefix("cascade-end");
    let s = store(&p).await;
    // A leadership key of our own: the operator's writes are fenced on it.
    let mut c = s.client();
    c.put(s.leader_key(), "me", None).await.unwrap();
    let term = c.get(s.leader_key(), None).await.unwrap().kvs()[0].create_revision();
    let guard = WriteGuard {
        leader_key: s.leader_key(),
        term,
    };
    let setup = |name: &'static str| {
        let s = s.clone();
        async move {
            s.apply(&parse_document(&seed_yaml(name)).unwrap())
                .await
                .unwrap();
            s.update_record(name, |r| {
                r.zk_highest_id = Some(3);
                Ok(())
            })
            .await
            .unwrap();
            s.update_autoupdate(name, |st| {
                st.components
                    .entry(mesos_operator_core::spec::Component::Masters)
                    .or_default()
                    .approved
                    .insert("1.12.0".into());
                Ok(())
            })
            .await
            .unwrap();
            s.request_deletion(name, false).await.unwrap()
        }
    };
    let asked = setup("k1").await;
    let mut kept = KeptVolumes {
        kept_at: 5,
        ..Default::default()
    };
    kept.hosts.insert(
        "host1".into(),
        KeptOnHost {
            docker: "tcp://10.20.30.2:2376".into(),
            volumes: vec!["k1-zookeeper-host1-data".into()],
        },
    );
    s.delete_fenced("k1", &guard, &Removal::KeepData(kept.clone()))
        .await
        .unwrap();
    assert_eq!(
        cluster_keys(&s, "k1").await,
        ["autoupdate", "kept-volumes", "record"]
    );
    let (read, revision) = s.kept_volumes("k1").await.unwrap().unwrap();
    assert_eq!(read, kept);
    assert!(revision > asked, "written after the request");
    assert!(s.get("k1").await.unwrap().is_none());

    setup("k2").await;
    s.delete_fenced("k2", &guard, &Removal::Everything)
        .await
        .unwrap();
    assert_eq!(cluster_keys(&s, "k2").await, Vec::<String>::new());

    // A deposed leader removes nothing.
    setup("k3").await;
    let stale = WriteGuard {
        leader_key: s.leader_key(),
        term: term + 1_000_000,
    };
    assert!(matches!(
        s.delete_fenced("k3", &stale, &Removal::KeepData(kept))
            .await,
        Err(StoreError::Deposed(_))
    ));
    assert!(s.get("k3").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_document_loses_with_a_conflict() {
    let p = unique_prefix("stale");
    let s = store(&p).await;
    let doc = parse_document(&seed_yaml("c6")).unwrap();
    assert_eq!(
        s.apply(&doc).await.unwrap(),
        WriteOutcome::Created { generation: 1 }
    );
    // Two people read generation 1 and each change something.
    let mut a = s.get("c6").await.unwrap().unwrap().doc;
    let mut b = a.clone();
    a.spec.masters.image = "mesos-master:1.12.0-rc1".into();
    b.spec.agents.image = "mesos-agent:1.12.0-rc1".into();
    assert_eq!(
        s.apply(&a).await.unwrap(),
        WriteOutcome::Updated { generation: 2 }
    );
    match s.apply(&b).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("generation 1"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let now = s.get("c6").await.unwrap().unwrap().doc;
    assert_eq!(now.spec.masters.image, "mesos-master:1.12.0-rc1");
    assert_eq!(now.spec.agents.image, "mesos-agent:1.11.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_never_lose_an_update() {
    let p = unique_prefix("race");
    let s = store(&p).await;
    let doc = parse_document(&seed_yaml("c7")).unwrap();
    s.apply(&doc).await.unwrap();
    // Eight writers each set one distinct env var at the same time.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.update("c7", move |d| {
                    d.spec
                        .masters
                        .env
                        .insert(format!("MESOS_TEST_{i}"), i.to_string());
                })
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(WriteOutcome::Updated { .. }) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let now = s.get("c7").await.unwrap().unwrap();
    // Every successful write is in the document; none was silently overwritten.
    let written = now
        .doc
        .spec
        .masters
        .env
        .keys()
        .filter(|k| k.starts_with("MESOS_TEST_"))
        .count();
    assert_eq!(written, ok);
    assert_eq!(now.generation(), 1 + ok as u64);
    assert_eq!(s.history("c7").await.unwrap().len(), ok);
    assert!(ok >= 1);
}

/// Generations in `history NAME -o json`, oldest first, with the current one last.
fn history_generations(p: &str, name: &str) -> Vec<u64> {
    let (code, out, err) = parts(&cli(p, &["history", name, "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let hist: serde_json::Value = serde_json::from_str(&out).unwrap();
    hist.as_array()
        .unwrap()
        .iter()
        .map(|d| d["metadata"]["generation"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_stored_spec_that_cannot_be_read_is_reported_alone_and_the_others_are_listed() {
    let p = unique_prefix("broken-list");
    assert_eq!(
        parts(&cli_with_stdin(
            &p,
            &["apply", "-f", "-"],
            &seed_yaml("good")
        ))
        .0,
        0
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = store(&p).await;
        let mut c = s.client();
        c.put(s.spec_key("bad"), "{not json", None).await.unwrap();
    });
    let (code, out, err) = parts(&cli(&p, &["get"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("good"), "{out}");
    assert!(out.contains("bad  UNREADABLE"), "{out}");
    assert!(
        err.contains("bad") && err.contains("apply -f"),
        "the warning names the cluster and the fix: {err}"
    );
    let (code, out, _) = parts(&cli(&p, &["get", "-o", "json"]));
    assert_eq!(code, 0);
    let docs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(docs.as_array().map(Vec::len), Some(1), "{out}");
}

#[test]
fn history_is_pruned_to_its_limit_and_the_newest_generations_stay() {
    let p = unique_prefix("history-limit");
    assert_eq!(
        parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("h1"))).0,
        0
    );
    for i in 0..6 {
        let cmd = if i % 2 == 0 { "pause" } else { "resume" };
        let (code, _, err) = parts(&cli(&p, &["--history-limit", "3", cmd, "h1"]));
        assert_eq!(code, 0, "{err}");
    }
    // Generation 7 is current; 4, 5 and 6 are kept.
    assert_eq!(history_generations(&p, "h1"), vec![4, 5, 6, 7]);
    let (code, out, err) = parts(&cli(&p, &["rollback", "h1", "--to", "4"]));
    assert_eq!(code, 0, "{err}: {out}");
}

#[test]
fn a_spec_written_with_a_lower_generation_never_overwrites_history() {
    let p = unique_prefix("history-lower");
    assert_eq!(
        parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("h2"))).0,
        0
    );
    assert_eq!(parts(&cli(&p, &["pause", "h2"])).0, 0);
    assert_eq!(parts(&cli(&p, &["resume", "h2"])).0, 0);
    assert_eq!(history_generations(&p, "h2"), vec![1, 2, 3]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let history_before = rt.block_on(async { store(&p).await.history("h2").await.unwrap() });
    // Another tool writes the spec back with generation 1 (and a change).
    rt.block_on(async {
        let s = store(&p).await;
        let mut doc = s.get("h2").await.unwrap().unwrap().doc;
        doc.metadata.generation = Some(1);
        doc.spec.rollout.paused = true;
        let mut c = s.client();
        c.put(s.spec_key("h2"), serde_json::to_vec(&doc).unwrap(), None)
            .await
            .unwrap();
    });
    let (code, _, err) = parts(&cli(&p, &["resume", "h2"]));
    assert_eq!(code, 0, "{err}");
    let history_after = rt.block_on(async { store(&p).await.history("h2").await.unwrap() });
    assert_eq!(
        &history_after[..history_before.len()],
        &history_before[..],
        "an earlier generation was overwritten"
    );
    // The spec written with generation 1 went into history after the newest entry.
    assert_eq!(history_generations(&p, "h2"), vec![1, 2, 3, 4]);
    assert!(history_after[2].spec.rollout.paused);
    let got = rt.block_on(async { store(&p).await.get("h2").await.unwrap().unwrap() });
    assert_eq!(got.generation(), 4);
    assert!(!got.doc.spec.rollout.paused);
}

#[test]
fn every_bad_etcd_option_and_a_bad_document_exit_2_before_etcd_is_contacted() {
    // Nothing listens there: an answer other than 2 would mean etcd was tried first.
    let nowhere = "http://127.0.0.1:1";
    let p = unique_prefix("bad-options");
    let ca = tempfile::NamedTempFile::new().unwrap();
    let ca_path = ca.path().to_string_lossy().into_owned();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--etcd-cert", &ca_path, "get"], "--etcd-key"),
        (vec!["--etcd-key", &ca_path, "get"], "--etcd-cert"),
        (
            vec!["--etcd-cacert", "/nonexistent/ca.pem", "get"],
            "--etcd-cacert",
        ),
        (vec!["--etcd-cacert", &ca_path, "get"], "https://"),
        (vec!["--etcd-user", "alice", "get"], "password"),
    ];
    for (args, says) in cases {
        let (code, _, err) = parts(&common::cli_on(nowhere, &p, &args, ""));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says}: {err}");
    }
    let bad = seed_yaml("bad").replace("count: 3", "count: 4");
    let (code, _, err) = parts(&common::cli_on(nowhere, &p, &["apply", "-f", "-"], &bad));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("spec.masters.count"), "{err}");
}

#[test]
fn names_on_the_command_line_are_checked_like_names_in_documents() {
    // An etcd of its own: a name like `../c1` could write outside the prefix, so the check
    // is etcd's whole revision, which only this test moves.
    let own = common::EtcdCluster::start(1);
    let ep = own.endpoint_list();
    let p = unique_prefix("cli-names");
    let cli = |p: &str, args: &[&str]| common::cli_on(&ep, p, args, "");
    assert_eq!(
        parts(&common::cli_on(
            &ep,
            &p,
            &["apply", "-f", "-"],
            &seed_yaml("c1")
        ))
        .0,
        0
    );
    assert_eq!(parts(&cli(&p, &["pause", "c1"])).0, 0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let before = rt.block_on(async { private_store(&ep, &p).await.revision().await.unwrap() });
    for args in [
        vec!["delete", "c1/history"],
        vec!["delete", "c1/"],
        vec!["status", "../c1"],
        vec!["pause", "C1"],
        vec!["secret", "delete", "../x"],
        vec!["secret", "delete", ".."],
        vec!["secret", "set", "a/b", "--from-file", "/dev/null"],
    ] {
        let (code, _, err) = parts(&cli(&p, &args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("not a"), "{args:?}: {err}");
    }
    let after = rt.block_on(async { private_store(&ep, &p).await.revision().await.unwrap() });
    assert_eq!(before, after, "something was written");
    let (_, out, _) = parts(&cli(&p, &["history", "c1", "-o", "json"]));
    let hist: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gens: Vec<i64> = hist
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["metadata"]["generation"].as_i64().unwrap())
        .collect();
    assert_eq!(gens, vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_resume_and_allow_change_only_the_automation_state() {
    use mesos_operator_core::autoupdate::state::{Denial, Pin};
    use mesos_operator_core::spec::Component;
    let p = unique_prefix("autoupdate-cli");
    let doc = seed_yaml("au").replace(
        "    env: {MESOS_LOGGING_LEVEL: INFO}\n  agents:",
        "    env: {MESOS_LOGGING_LEVEL: INFO}\n    autoUpdate: {mode: auto, requireApproval: true}\n  agents:",
    );
    assert!(doc.contains("requireApproval"));
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &doc));
    assert_eq!(code, 0, "{err}");
    let s = store(&p).await;
    let gen = s.get("au").await.unwrap().unwrap().generation();

    // Nothing seen yet: said so.
    let (code, out, _) = parts(&cli(&p, &["autoupdate", "list", "au"]));
    assert_eq!(code, 0);
    assert!(out.contains("no tags seen yet"), "{out}");

    // approve records the tag; a component without a policy, a bad component or a bad tag
    // is bad usage and changes nothing.
    let (code, out, err) = parts(&cli(&p, &["approve", "au", "masters", "1.12.0"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved"), "{out}");
    let at = s.autoupdate("au").await.unwrap();
    assert!(at
        .state
        .component(Component::Masters)
        .approved
        .contains("1.12.0"));
    let rev = at.mod_revision;
    for args in [
        &["approve", "au", "agents", "1.12.0"][..],
        &["approve", "au", "mastrs", "1.12.0"],
        &["approve", "au", "masters", "mesos-master:1.12.0"],
        &["autoupdate", "resume", "au", "nothing"],
    ] {
        let (code, _, err) = parts(&cli(&p, args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("error:"), "{err}");
    }
    assert_eq!(s.autoupdate("au").await.unwrap().mod_revision, rev);

    // A pin and a denial as the operator would write them.
    let mut state = s.autoupdate("au").await.unwrap();
    {
        let u = state
            .state
            .components
            .entry(Component::Masters)
            .or_default();
        u.pinned = Some(Pin {
            image: "mesos-master:1.10.0".into(),
            generation: gen,
            at: 1,
        });
        u.denied.insert(
            "1.12.0-rc1".into(),
            Denial {
                reason: "canary failed".into(),
                at: 1,
            },
        );
    }
    let next = state.state.clone();
    s.put_autoupdate(None, "au", &state, &next).await.unwrap();

    let (code, out, err) = parts(&cli(&p, &["autoupdate", "resume", "au", "masters"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resumed"), "{out}");
    let u = s
        .autoupdate("au")
        .await
        .unwrap()
        .state
        .component(Component::Masters);
    assert!(u.pinned.is_none());
    assert_eq!(u.known_image.as_deref(), Some("mesos-master:1.11.0"));

    let (code, _, err) = parts(&cli(&p, &["autoupdate", "allow", "au", "masters", "1.9.9"]));
    assert_eq!(code, 1, "not on the denylist: {err}");
    let (code, out, err) = parts(&cli(
        &p,
        &["autoupdate", "allow", "au", "masters", "1.12.0-rc1"],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("off the denylist"), "{out}");
    let u = s
        .autoupdate("au")
        .await
        .unwrap()
        .state
        .component(Component::Masters);
    assert!(u.denied.is_empty());
    assert!(u.approved.contains("1.12.0"), "the other fields are kept");
    // The spec was never touched.
    assert_eq!(s.get("au").await.unwrap().unwrap().generation(), gen);
}

/// Issue 22, hole 6: `record forget-host` is the person's way to say a master host out of
/// sight is gone for good. Refused (exit 2, nothing written) while the host is in the
/// document or not recorded; otherwise only that host leaves the record.
#[tokio::test]
async fn record_forget_host_forgets_only_a_recorded_host_outside_the_document() {
    let p = unique_prefix("forget-host");
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &seed_yaml("fh")));
    assert_eq!(code, 0, "{err}");
    let s = store(&p).await;
    let at = s.record("fh").await.unwrap();
    let mut record = at.record.clone();
    record.master_hosts = ["host1", "host2", "gone9"].map(String::from).into();
    record.zk_highest_id = Some(3);
    let guardless = s.update_record("fh", |r| {
        *r = record.clone();
        Ok(())
    });
    guardless.await.unwrap();
    let rev = s.record("fh").await.unwrap().mod_revision;

    for (host, says) in [("host1", "spec.hosts"), ("nothere", "nothing to forget")] {
        let (code, _, err) = parts(&cli(&p, &["record", "forget-host", "fh", host]));
        assert_eq!(code, 2, "{host}: {err}");
        assert!(err.contains(says), "{host}: {err}");
        assert_eq!(s.record("fh").await.unwrap().mod_revision, rev, "{host}");
    }
    let (code, _, err) = parts(&cli(&p, &["record", "forget-host", "nosuch", "gone9"]));
    assert_eq!(code, 1, "{err}");

    let (code, out, err) = parts(&cli(&p, &["record", "forget-host", "fh", "gone9"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("gone9 forgotten"), "{out}");
    let after = s.record("fh").await.unwrap().record;
    assert_eq!(
        after.master_hosts.iter().collect::<Vec<_>>(),
        ["host1", "host2"]
    );
    assert_eq!(
        after.zk_highest_id,
        Some(3),
        "the rest of the record is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_s_kept_port_answers_follow_every_spec_change_its_watch_sees() {
    use mesos_operator::store::ClusterStore;
    let prefix = unique_prefix("portcache");
    let s = store(&prefix).await;
    let (ready, _ready) = tokio::sync::watch::channel(false);
    let mut wakes = ClusterStore::wakes(&s, ready);
    let a = parse_document(&seed_yaml("porta")).expect("seed document");
    s.apply(&a).await.expect("apply a");
    wake_of(&mut wakes, "porta").await;
    // Asked twice with nothing changed: the same answer (the second from what was kept).
    for _ in 0..2 {
        let c = ClusterStore::port_conflicts(&s, &a)
            .await
            .expect("conflicts");
        assert!(c.is_empty(), "{c:?}");
    }
    // Another cluster on the same machines and ports, written straight into etcd (as a tool
    // that bypasses `apply` would): the next answer names it.
    let mut b = parse_document(&seed_yaml("portb")).expect("seed document");
    b.metadata.generation = Some(1);
    let mut client = s.client();
    client
        .put(
            s.spec_key("portb"),
            serde_json::to_vec(&b).expect("json"),
            None,
        )
        .await
        .expect("raw put");
    wake_of(&mut wakes, "portb").await;
    let c = ClusterStore::port_conflicts(&s, &a)
        .await
        .expect("conflicts");
    assert!(
        c.iter()
            .any(|x| x.to_field_error().problem.contains("portb")),
        "the other cluster's ports are not seen: {c:?}"
    );
}

/// Waits (20 s at most) for the watch to report a change of `want`.
async fn wake_of(
    wakes: &mut futures_util::stream::BoxStream<'static, mesos_operator::store::Wake>,
    want: &str,
) {
    use futures_util::StreamExt;
    use mesos_operator::store::Wake;
    let seen = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(w) = wakes.next().await {
            if matches!(&w, Wake::Cluster(n) if n == want) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen.ok(), Some(true), "the watch never reported {want}");
}

#[test]
fn a_document_that_sends_a_secret_outside_its_scope_is_refused_naming_the_field_and_the_secret() {
    let p = unique_prefix("scope");
    let doc = seed_yaml("scoped");
    // The Docker client key of host1, for cluster prod's TLS only.
    let (code, _, err) = parts(&cli_with_stdin(
        &p,
        &[
            "secret",
            "set",
            "host1-client-key",
            "--from-file",
            "-",
            "--clusters",
            "prod",
            "--uses",
            "docker-tls",
        ],
        "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n",
    ));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &doc));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("spec.hosts[0].docker.tls.key")
            && err.contains("host1-client-key")
            && err.contains("prod"),
        "{err}"
    );
    let (code, _, _) = parts(&cli(&p, &["get", "scoped"]));
    assert_ne!(code, 0, "a refused document was stored");

    // Its owner lets this cluster use it towards host1's address only.
    let (code, out, err) = parts(&cli(
        &p,
        &[
            "secret",
            "scope",
            "host1-client-key",
            "--clusters",
            "scoped,prod",
            "--uses",
            "docker-tls",
            "--hosts",
            "10.20.30.2",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("clusters scoped,prod"), "{out}");
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &doc));
    assert_eq!(code, 0, "{err}");
    // The key sent to an address of the author's choice.
    let moved = doc.replace("tcp://10.20.30.2:2376", "tcp://203.0.113.9:2376");
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &moved));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("203.0.113.9"), "{err}");
    // The key as a file in a container: another use.
    let as_file = doc.replace(
        "  agents:",
        "  agents:\n    secretFiles: [{secret: host1-client-key, path: /etc/mesos/key}]",
    );
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &as_file));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("component-file"), "{err}");

    let (_, out, _) = parts(&cli(&p, &["secret", "list", "-o", "json"]));
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["scope"]["hosts"][0], "10.20.30.2", "{out}");
    // Bad usage: exit 2, nothing written.
    for args in [
        &["secret", "scope", "host1-client-key", "--clusters", "a"][..],
        &[
            "secret",
            "scope",
            "host1-client-key",
            "--clusters",
            "a",
            "--uses",
            "docker",
        ],
        &["secret", "scope", "host1-client-key"],
    ] {
        let (code, _, err) = parts(&cli(&p, args));
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    let (code, _, err) = parts(&cli(
        &p,
        &["secret", "scope", "host1-client-key", "--unscoped"],
    ));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &moved));
    assert_eq!(code, 0, "an unscoped secret is usable anywhere: {err}");
}

/// `status` without a name lists every cluster with its phase, as `get` lists documents: a
/// cluster the operator has looked at shows its phase and message, one it has not says so.
/// Following needs a name.
#[tokio::test(flavor = "multi_thread")]
async fn status_without_a_name_lists_every_cluster_with_its_phase() {
    let p = unique_prefix("status-all");
    for name in ["c1", "c2"] {
        // Each on machines of its own (two clusters may not bind the same ports on one).
        let y = seed_yaml(name).replace(
            "10.20.30.",
            if name == "c1" {
                "10.20.30."
            } else {
                "10.20.40."
            },
        );
        let (code, _, err) = parts(&cli_with_stdin(&p, &["apply", "-f", "-"], &y));
        assert_eq!(code, 0, "{err}");
    }
    // The operator's status of c1, as it writes it.
    let store = common::store(&p).await;
    let status: mesos_operator_core::status::ClusterStatus =
        serde_json::from_value(serde_json::json!({
            "observedGeneration": 1,
            "phase": "Blocked",
            "message": "the masters wait for a person",
            "updatedAt": "2026-12-06T16:00:00Z",
        }))
        .expect("a status");
    let mut c = store.client();
    c.put(
        store.status_key("c1"),
        serde_json::to_vec(&status).expect("status"),
        None,
    )
    .await
    .expect("put status");

    let (code, out, err) = parts(&cli(&p, &["status"]));
    assert_eq!(code, 0, "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("c1").contains("Blocked")
            && line("c1").contains("1/1")
            && line("c1").contains("wait for a person"),
        "{out}"
    );
    assert!(line("c2").contains("not looked at"), "{out}");

    let (code, out, err) = parts(&cli(&p, &["status", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["c1"]["phase"], "Blocked", "{out}");
    assert!(v["c2"].is_null(), "{out}");

    let (code, _, err) = parts(&cli(&p, &["status", "--watch"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("give its name"), "{err}");
}
