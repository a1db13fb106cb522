//! Automated version bumps on the real test bed: tags are published into the test bed's
//! TLS registry while the operator runs, and the operator finds them by scanning, reports
//! them (`notify`), holds young ones back (`minAge`), rolls the newest allowed one through
//! a canary (rc10 over rc9), rolls back and denies a tag that never turns healthy, and
//! never overwrites a person's bump. An independent watcher checks the invariants of
//! `shared/design/safety.md` throughout.
//!
//! A real Prometheus (Debian's `prometheus`) scrapes the operator all along with the alert
//! rules of `ops/prometheus` loaded (every `for:` shortened to seconds; `promtool test rules`
//! covers the durations): the automated rollback fires `MesosAutomatedRollback`; a person's
//! bump to a tag that never turns healthy blocks the cluster and fires `MesosClusterBlocked`,
//! which resolves after `rollback`; and every query of the Grafana dashboard
//! (`ops/grafana`) returns data from it.

// The test holds the fleet guard for its whole length on purpose.
#![allow(clippy::await_holding_lock)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::fleet::{exclusive, fleet, Fleet};
use common::operator::{
    apply, containers, event_values, generation, store_secrets, wait_phase, wait_until,
    ClusterGuard, ClusterOpts, Operator, Rules, Series, Watcher,
};
use common::prometheus::{dashboard, dashboard_queries, rules_with_short_for, Prometheus};
use common::{cli, parts, unique_prefix};

const CONVERGE: Duration = Duration::from_secs(300);
const NAME: &str = "auto";
const REPO: &str = "auto/mesos-master";

/// Copies `src` (a repository:tag of the test bed's registry) to `REPO:tag` in the same
/// registry: a new tag appears, exactly as a release would.
fn publish(f: &Fleet, src: &str, tag: &str) -> Instant {
    let trust = f.pki.parent().expect("test bed dir").join("registry-trust");
    let out = Command::new("skopeo")
        .args(["copy", "-q", "--src-cert-dir"])
        .arg(&trust)
        .arg("--dest-cert-dir")
        .arg(&trust)
        .arg(format!("docker://{}/{src}", f.registry))
        .arg(format!("docker://{}/{REPO}:{tag}", f.registry))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {src} → {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Instant::now()
}

fn status(prefix: &str) -> serde_json::Value {
    let (code, out, err) = parts(&cli(prefix, &["status", NAME, "-o", "json"]));
    assert_eq!(code, 0, "status: {err}");
    serde_json::from_str(&out).expect("status json")
}

fn masters_auto(prefix: &str) -> serde_json::Value {
    status(prefix)["components"]["masters"]["autoUpdate"].clone()
}

/// The tag of an image reference, without the digest a pinning policy adds.
fn tag_of(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or_default();
    no_digest.rsplit(':').next().unwrap_or_default().to_string()
}

fn spec_tag(prefix: &str) -> String {
    tag_of(&spec_image(prefix))
}

fn spec_image(prefix: &str) -> String {
    let (code, out, err) = parts(&cli(prefix, &["get", NAME, "-o", "json"]));
    assert_eq!(code, 0, "get: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["spec"]["masters"]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Events as (kind, component, step text), oldest first.
fn auto_events(prefix: &str) -> Vec<(String, String, String)> {
    event_values(prefix, NAME)
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["component"].as_str().unwrap_or_default().to_string(),
                e["step"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn has_event(prefix: &str, kind: &str, needle: &str) -> bool {
    auto_events(prefix)
        .iter()
        .any(|(k, c, s)| k == kind && c == "masters" && s.contains(needle))
}

/// Master images running on the hosts, one per host.
fn master_tags(f: &Fleet, hosts: &[String]) -> Vec<String> {
    containers(f, hosts, NAME)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.role == "master" && c.running)
        .map(|c| tag_of(&c.image))
        .collect()
}

fn document(f: &Fleet, policy: &str) -> String {
    let mut opts = ClusterOpts::seed(NAME);
    opts.zk_servers = 1;
    opts.master_image = format!("{REPO}:1.11.0");
    // A tag that never turns healthy is rolled back after this long.
    opts.health_timeout = "40s".into();
    let y = opts.yaml(f);
    let ca = "  registryAccess: {ca: {secret: ca}}\n";
    let y = y.replace(
        &format!("  masters: {{image: '{REPO}:1.11.0', count: 3, port: 5050}}\n"),
        &format!(
            "  masters:\n    image: '{REPO}:1.11.0'\n    count: 3\n    port: 5050\n    autoUpdate: {policy}\n"
        ),
    );
    assert!(y.contains("autoUpdate"), "{y}");
    y + ca
}

/// Three scans at `scanInterval: 2s, scanJitter: 1s`, with room for a slow registry.
const SCANS_TIMEOUT: Duration = Duration::from_secs(60);

const SCAN: &str = "scanInterval: 2s, scanJitter: 1s, canarySoak: 10s, releaseCandidates: true";

#[test]
fn new_tags_are_found_canaried_rolled_back_when_bad_and_never_over_a_person() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![NAME.into()],
    };
    let prefix = unique_prefix("autoupdate");
    store_secrets(&prefix, f);
    let hs: Vec<String> = f.hosts.keys().take(3).cloned().collect();
    publish(f, "mesos-master:1.11.0", "1.11.0");
    let mut op = Operator::start(&prefix, &[]);
    let prom = Prometheus::start(&op.metrics_addr, &rules_with_short_for(2));
    let watcher = Watcher::start(
        f,
        hs.clone(),
        NAME,
        Rules {
            zk_port: 2181,
            masters_floor: true,
        },
    );
    let mut to_canary = Vec::new();

    // 1. notify: the new tag is reported, never rolled.
    apply(&prefix, &document(f, &format!("{{mode: notify, {SCAN}}}")));
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    let gen = generation(&prefix, NAME);
    let t = publish(f, "mesos-master:1.11.0", "1.11.1");
    wait_until("notify reports 1.11.1", Duration::from_secs(60), || {
        masters_auto(&prefix)["newest"] == "1.11.1"
    });
    let to_report = t.elapsed();
    assert!(has_event(&prefix, "AutoUpdateCandidate", "1.11.1"));
    let looked = op.mark(&Series::reconciles_ok(NAME));
    op.wait_looked(&looked, "notify, 1.11.1 known");
    assert_eq!(generation(&prefix, NAME), gen, "notify writes nothing");
    assert_eq!(spec_tag(&prefix), "1.11.0");

    // 2. auto with minAge: a young tag is held back.
    apply(
        &prefix,
        &document(f, &format!("{{mode: auto, minAge: 1h, {SCAN}}}")),
    );
    wait_until("minAge reported", Duration::from_secs(60), || {
        masters_auto(&prefix)["state"]
            .as_str()
            .is_some_and(|s| s.contains("too young"))
    });
    let looked = op.mark(&Series::reconciles_ok(NAME));
    op.wait_looked(&looked, "minAge 1h, 1.11.1 too young");
    assert_eq!(spec_tag(&prefix), "1.11.0", "held back");
    let (code, out, _) = parts(&cli(&prefix, &["autoupdate", "list", NAME]));
    assert_eq!(code, 0);
    assert!(out.contains("1.11.1") && out.contains("too-young"), "{out}");

    // 3. minAge 0: the canary of 1.11.1 first, one master alone while it soaks, then the
    // rest; the digest the registry served is written with the tag (pinDigest).
    apply(
        &prefix,
        &document(f, &format!("{{mode: auto, pinDigest: true, {SCAN}}}")),
    );
    wait_until("the canary soaks", Duration::from_secs(120), || {
        masters_auto(&prefix)["state"]
            .as_str()
            .is_some_and(|s| s.contains("soaking"))
    });
    let tags = master_tags(f, &hs);
    assert_eq!(
        tags.iter().filter(|t| *t == "1.11.1").count(),
        1,
        "exactly one canary while it soaks: {tags:?}"
    );
    wait_until("1.11.1 rolled out", CONVERGE, || {
        has_event(&prefix, "AutoRolledOut", "1.11.1")
    });
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    assert_eq!(master_tags(f, &hs), vec!["1.11.1"; 3]);
    let pinned = spec_image(&prefix);
    let digest = pinned.split_once("@sha256:").map(|(_, d)| d.to_string());
    assert!(
        digest.as_ref().is_some_and(|d| d.len() == 64),
        "the digest rolled is recorded: {pinned}"
    );
    // Docker shows the tag in Config.Image; the image it runs carries the digest.
    let digest = digest.unwrap_or_default();
    for h in &hs {
        let id = f.docker_ok(
            h,
            &["inspect", "-f", "{{.Image}}", &format!("{NAME}-master-{h}")],
        );
        let digests = f.docker_ok(
            h,
            &["image", "inspect", "-f", "{{json .RepoDigests}}", id.trim()],
        );
        assert!(
            digests.contains(&format!("sha256:{digest}")),
            "{h} runs the pinned image: {digests}"
        );
    }
    let ev = auto_events(&prefix);
    let pos = |kind: &str| {
        ev.iter()
            .position(|(k, _, s)| k == kind && s.contains("1.11.1"))
    };
    assert!(pos("CanaryStarted") < pos("CanaryPassed"), "{ev:?}");
    assert!(pos("CanaryPassed") < pos("AutoRolledOut"), "{ev:?}");

    // 4. rc9 and rc10 appear together: rc10 is chosen.
    let t = publish(f, "mesos-master:1.12.0-rc1", "1.12.0-rc9");
    publish(f, "mesos-master:1.12.0-rc1", "1.12.0-rc10");
    wait_until("canary of rc10", Duration::from_secs(60), || {
        has_event(&prefix, "CanaryStarted", "1.12.0-rc10")
    });
    to_canary.push(t.elapsed());
    assert!(!has_event(&prefix, "CanaryStarted", "1.12.0-rc9"));
    wait_until("rc10 rolled out", CONVERGE, || {
        has_event(&prefix, "AutoRolledOut", "1.12.0-rc10")
    });
    wait_phase(&prefix, NAME, "Converged", CONVERGE);

    // 5. A tag that never turns healthy: its canary fails its health timeout, it is rolled
    // back to the last good version and denied.
    let t = publish(f, "mesos-master:broken", "1.12.0");
    wait_until("canary of the broken tag", Duration::from_secs(60), || {
        has_event(&prefix, "CanaryStarted", "→ 1.12.0:")
    });
    to_canary.push(t.elapsed());
    wait_until("rolled back", Duration::from_secs(180), || {
        has_event(&prefix, "AutoRollback", "masters 1.12.0 failed")
    });
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    assert_eq!(spec_tag(&prefix), "1.12.0-rc10");
    assert_eq!(master_tags(f, &hs), vec!["1.12.0-rc10"; 3]);
    wait_until(
        "MesosAutomatedRollback fires in Prometheus",
        Duration::from_secs(60),
        || {
            prom.fires(
                "MesosAutomatedRollback",
                &[("cluster", NAME), ("component", "masters")],
            )
        },
    );
    let auto = masters_auto(&prefix);
    assert_eq!(auto["denied"], serde_json::json!(["1.12.0"]), "{auto}");
    assert_eq!(
        op.gauge("mesos_operator_autoupdate_denied_tags{cluster=\"auto\",component=\"masters\"}"),
        Some(1.0)
    );
    // Never tried again: not after a scan that began after the rollback, nor by the
    // reconciles after it. Scans of a cluster run one at a time: the second counted from
    // here began after the first ended, hence after now, and stored what it found before
    // the third began.
    let scanned = op.mark(&Series::scans(NAME, "masters"));
    op.wait_counted(&scanned, 3, "scans after the rollback", SCANS_TIMEOUT);
    let looked = op.mark(&Series::reconciles_ok(NAME));
    op.wait_looked(&looked, "1.12.0 denied, scanned again");
    let canaries = auto_events(&prefix)
        .iter()
        .filter(|(k, _, s)| k == "CanaryStarted" && s.contains("→ 1.12.0:"))
        .count();
    assert_eq!(canaries, 1, "the denied tag is not tried again");
    assert_eq!(spec_tag(&prefix), "1.12.0-rc10");

    // 6. A person's bump while a newer tag is available pins the component; the
    // automation never overwrites it until `autoupdate resume`.
    let t = publish(f, "mesos-master:1.12.0-rc1", "1.12.1");
    let scanned = op.mark(&Series::scans(NAME, "masters"));
    let (code, _, err) = parts(&cli(&prefix, &["bump", NAME, "masters", "1.12.0-rc9"]));
    assert_eq!(code, 0, "bump: {err}");
    wait_until("pinned", Duration::from_secs(60), || {
        masters_auto(&prefix)["pinned"].is_object()
    });
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    // The automation knows 1.12.1 (the second scan since it was published has stored it,
    // as above) and has decided since.
    op.wait_counted(
        &scanned,
        3,
        "scans after 1.12.1 was published",
        SCANS_TIMEOUT,
    );
    let looked = op.mark(&Series::reconciles_ok(NAME));
    op.wait_looked(&looked, "pinned to 1.12.0-rc9, 1.12.1 known");
    assert_eq!(spec_tag(&prefix), "1.12.0-rc9", "the person's bump stays");
    assert_eq!(master_tags(f, &hs), vec!["1.12.0-rc9"; 3]);
    assert!(masters_auto(&prefix)["state"]
        .as_str()
        .is_some_and(|s| s.starts_with("pinned")));
    let (code, out, err) = parts(&cli(&prefix, &["autoupdate", "resume", NAME, "masters"]));
    assert_eq!(code, 0, "resume: {err}");
    assert!(out.contains("resumed"), "{out}");
    wait_until("1.12.1 rolled out after resume", CONVERGE, || {
        has_event(&prefix, "AutoRolledOut", "1.12.1")
    });
    let _ = t;
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    assert_eq!(master_tags(f, &hs), vec!["1.12.1"; 3]);

    // 7. A person's bump to the tag that never turns healthy (a bump pins the component: no
    // automated rollback) blocks the cluster at its first master's health gate; the shipped
    // alert fires through Prometheus, and resolves once `rollback` brought 1.12.1 back.
    let broken = Instant::now();
    let (code, _, err) = parts(&cli(&prefix, &["bump", NAME, "masters", "1.12.0"]));
    assert_eq!(code, 0, "bump: {err}");
    wait_phase(&prefix, NAME, "Blocked", Duration::from_secs(180));
    let blocked = [("cluster", NAME), ("severity", "critical")];
    let to_fire = wait_until("MesosClusterBlocked fires", Duration::from_secs(60), || {
        prom.fires("MesosClusterBlocked", &blocked)
    });
    let (code, _, err) = parts(&cli(&prefix, &["rollback", NAME]));
    assert_eq!(code, 0, "rollback: {err}");
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    assert_eq!(master_tags(f, &hs), vec!["1.12.1"; 3]);
    let to_resolve = wait_until(
        "MesosClusterBlocked resolves",
        Duration::from_secs(60),
        || !prom.fires("MesosClusterBlocked", &blocked),
    );
    eprintln!(
        "alert: Blocked → MesosClusterBlocked firing {:.1} s, Converged → resolved {:.1} s; bump to resolved {:.1} s",
        to_fire.as_secs_f64(),
        to_resolve.as_secs_f64(),
        broken.elapsed().as_secs_f64()
    );

    // Every query of the dashboard returns data from what Prometheus scraped meanwhile.
    let queries = dashboard_queries(&dashboard());
    let empty: Vec<String> = queries
        .iter()
        .filter(|q| prom.query(&q.expr).is_empty())
        .map(|q| format!("{} ({}): {}", q.panel, q.ref_id, q.expr))
        .collect();
    assert!(
        empty.is_empty(),
        "dashboard queries without data:\n{}",
        empty.join("\n")
    );
    eprintln!("dashboard: all {} queries return data", queries.len());

    // Panics with every rule broken on the way, if any was.
    watcher.finish();
    to_canary.sort();
    eprintln!(
        "autoupdate: tag published → canary started: {:?}; → reported (notify): {:?} (scanInterval 2s, jitter ≤1s)",
        to_canary, to_report
    );
    assert!(op.stop().is_some());
}

/// The registry client against the test bed's real TLS registry (Debian's
/// docker-registry): `Link` pagination gives the same tags as one page, and the digest read
/// with the full `Accept` list is the one the registry serves for the tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_client_pages_and_reads_digests_on_a_real_registry() {
    use mesos_operator::autoupdate::registry::RegistryClient;
    use mesos_operator::secrets::Secret;
    let _g = common::fleet::shared();
    let f = fleet();
    let ca = Secret::new("ca", std::fs::read(f.pki.join("ca.pem")).expect("ca.pem"));
    let tls = || mesos_operator::tls::server_auth_config(&ca).expect("tls config");
    let whole = RegistryClient::new(&f.registry, Some(tls()), None)
        .unwrap()
        .tags("mesos-master")
        .await
        .expect("tags");
    assert!(whole.len() >= 4, "{whole:?}");
    assert!(whole.iter().any(|t| t == "1.12.0-rc1"), "{whole:?}");
    let paged = RegistryClient::new(&f.registry, Some(tls()), None)
        .unwrap()
        .with_page_size(1)
        .tags("mesos-master")
        .await
        .expect("paged tags");
    assert_eq!(paged, whole, "one tag a page, Link followed to the end");
    let digest = RegistryClient::new(&f.registry, Some(tls()), None)
        .unwrap()
        .digest("mesos-master", "1.11.0")
        .await
        .expect("digest");
    let trust = f.pki.parent().expect("test bed dir").join("registry-trust");
    let out = Command::new("skopeo")
        .args(["inspect", "--format", "{{.Digest}}", "--cert-dir"])
        .arg(&trust)
        .arg(format!("docker://{}/mesos-master:1.11.0", f.registry))
        .output()
        .expect("skopeo inspect");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        digest,
        "the digest skopeo reads: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A CA that did not sign the registry's certificate is refused: the CA is the only root.
    let other = RegistryClient::new(
        &f.registry,
        Some(
            mesos_operator::tls::server_auth_config(&Secret::new(
                "other",
                OTHER_CA.as_bytes().to_vec(),
            ))
            .expect("other ca"),
        ),
        None,
    )
    .unwrap();
    let err = other.tags("mesos-master").await.unwrap_err().to_string();
    assert!(err.contains("registry"), "{err}");
}

/// A self-signed CA unrelated to the test bed.
const OTHER_CA: &str = include_str!("fixtures/other-ca.pem");
