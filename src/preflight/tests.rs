//! The runtime half against a simulated Docker engine (an in-process HTTP server speaking
//! the part of the Engine API preflight and an observation use): what the test bed cannot
//! do, an engine on cgroup v2 and an engine whose clock is off. The engine runs no
//! containers, so the look inside is missing and reported as such (a warning).

use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use mesos_operator_core::observed::Observed;
use mesos_operator_core::plan::{BlockKind, Decision, Step};
use mesos_operator_core::preflight::{Check, Outcome};
use mesos_operator_core::spec::{parse_document, Component, MesosCluster};

use crate::clock::SystemClock;
use crate::election::memory::MemLeases;
use crate::fleet::{DockerFleet, Fleet};
use crate::gather::{gather, Gathered};
use crate::secrets::SecretSource;
use crate::store::memory::MemStore;

/// What the simulated engine reports; changed while it serves.
#[derive(Default)]
struct EngineState {
    cgroup_version: AtomicU8,
    skew_ms: AtomicI64,
    /// Another cluster's agent runs on the engine, with Mesos' default (kill orphans).
    neighbour: std::sync::atomic::AtomicBool,
}

async fn engine(state: Arc<EngineState>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let state = state.clone();
        async move {
            let path = uri.path().to_string();
            let json = |v: serde_json::Value| {
                ([("content-type", "application/json")], v.to_string()).into_response()
            };
            if path.ends_with("/version") {
                return json(serde_json::json!({"ApiVersion": "1.43", "Version": "24.0.7"}));
            }
            if path.ends_with("/info") {
                let now = time::OffsetDateTime::now_utc()
                    + time::Duration::milliseconds(state.skew_ms.load(Ordering::SeqCst));
                let now = now
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("format");
                return json(serde_json::json!({
                    "Name": "h1",
                    "CgroupVersion": state.cgroup_version.load(Ordering::SeqCst).to_string(),
                    "SystemTime": now,
                    "DockerRootDir": "/var/lib/docker",
                }));
            }
            if path.ends_with("/containers/json") {
                if !state.neighbour.load(Ordering::SeqCst) {
                    return json(serde_json::json!([]));
                }
                return json(serde_json::json!([{
                    "Id": "n1", "Names": ["/other-agent-h1"], "Image": "reg/mesos-agent:1.11.0",
                    "Labels": {"io.mesos-operator.cluster": "other", "io.mesos-operator.role": "agent"},
                }]));
            }
            if path.ends_with("/containers/n1/json") {
                return json(serde_json::json!({
                    "Id": "n1", "Name": "/other-agent-h1",
                    "Config": {"Env": ["MESOS_MASTER=zk://10.0.0.9:2181/mesos", "MESOS_CGROUPS_ROOT=mesos"]},
                }));
            }
            if path.ends_with("/volumes") {
                return json(serde_json::json!({"Volumes": [], "Warnings": []}));
            }
            let no = |m: &str| {
                (
                    StatusCode::NOT_FOUND,
                    [("content-type", "application/json")],
                    serde_json::json!({ "message": m }).to_string(),
                )
                    .into_response()
            };
            if path.contains("/volumes/") {
                return no("no such volume");
            }
            no("the simulated engine holds no images and runs no containers")
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn document(port: u16) -> MesosCluster {
    parse_document(&format!(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {{name: sim}}\nspec:\n  \
         hosts:\n    - {{name: h1, address: 127.0.0.1, docker: {{endpoint: 'tcp://127.0.0.1:{port}', insecure: true}}}}\n  \
         zookeeper: {{image: 'zk:1', servers: 1, clientPort: 42181, peerPort: 42888, electionPort: 43888, adminPort: 48080}}\n  \
         masters: {{image: 'm:1', count: 1, port: 45050}}\n  agents: {{image: 'a:1', port: 45051}}\n"
    ))
    .expect("document")
}

fn fleet() -> DockerFleet {
    DockerFleet::new(
        SecretSource::Memory(Default::default()),
        crate::act::http_client().expect("http client"),
    )
}

fn result(
    r: &mesos_operator_core::preflight::Results,
    c: Check,
) -> mesos_operator_core::preflight::CheckResult {
    r["h1"]
        .iter()
        .find(|x| x.check == c)
        .cloned()
        .expect("reported")
}

#[tokio::test]
async fn an_engine_on_cgroup_v2_fails_agents_with_cgroups_isolation_until_it_runs_v1() {
    let state = Arc::new(EngineState::default());
    state.cgroup_version.store(2, Ordering::SeqCst);
    let doc = document(engine(state.clone()).await);
    let f = fleet();
    let r = f.preflight(&doc, &Observed::default()).await;
    let v = result(&r, Check::CgroupVersion);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    assert!(v.holds(Component::Agents) && !v.holds(Component::Zookeeper));
    assert!(
        v.fix.contains("systemd.unified_cgroup_hierarchy=0"),
        "{}",
        v.fix
    );
    // The engine runs no container: what only the inside shows is a warning, not a hold.
    let ports = result(&r, Check::PortsFree);
    assert_eq!(ports.outcome, Outcome::Warn);
    assert!(
        ports.detail.contains("helper container did not run"),
        "{}",
        ports.detail
    );

    state.cgroup_version.store(1, Ordering::SeqCst);
    f.forget("sim");
    let r = f.preflight(&doc, &Observed::default()).await;
    assert_eq!(result(&r, Check::CgroupVersion).outcome, Outcome::Pass);
    assert_eq!(result(&r, Check::AgentsOnOneEngine).outcome, Outcome::Pass);
}

#[tokio::test]
async fn another_clusters_agent_that_kills_orphans_holds_this_clusters_agent() {
    let state = Arc::new(EngineState::default());
    state.cgroup_version.store(1, Ordering::SeqCst);
    state.neighbour.store(true, Ordering::SeqCst);
    let doc = document(engine(state.clone()).await);
    let r = fleet().preflight(&doc, &Observed::default()).await;
    let n = result(&r, Check::AgentsOnOneEngine);
    assert_eq!(n.outcome, Outcome::Fail, "{n:?}");
    assert!(
        n.detail.contains("other-agent-h1 (cluster other)"),
        "{}",
        n.detail
    );
    assert!(n.holds(Component::Agents) && !n.holds(Component::Masters));
    assert!(
        n.fix.contains("MESOS_DOCKER_KILL_ORPHANS=false"),
        "{}",
        n.fix
    );
}

#[tokio::test]
async fn a_skewed_engine_clock_blocks_the_first_placement_until_it_is_set_right() {
    let state = Arc::new(EngineState::default());
    state.cgroup_version.store(1, Ordering::SeqCst);
    state.skew_ms.store(-90_000, Ordering::SeqCst);
    let doc = document(engine(state.clone()).await);
    let store = MemStore::new(MemLeases::new());
    store.apply(&doc).expect("apply");
    let secrets = SecretSource::Memory(Default::default());
    let f = fleet();

    let Gathered::Ready(snap) = gather(&store, &f, &SystemClock, &secrets, "sim")
        .await
        .expect("gather")
    else {
        panic!("not ready");
    };
    match &snap.planned.decision {
        Decision::Blocked {
            kind: BlockKind::Preflight,
            reason,
            action,
        } => {
            assert!(reason.contains("ClockSkew on h1"), "{reason}");
            assert!(reason.contains("behind"), "{reason}");
            assert!(action.contains("synchronise the host's clock"), "{action}");
        }
        other => panic!("{other:?}"),
    }
    // The status names the check and its fix.
    let status = mesos_operator_core::status::derive(mesos_operator_core::status::StatusInputs {
        desired: &snap.desired,
        observed: &snap.observed,
        decision: &snap.planned.decision,
        step: None,
        now: String::new(),
    });
    assert_eq!(status.phase, mesos_operator_core::status::Phase::Blocked);
    assert!(status
        .preflight
        .iter()
        .any(|r| r.check == Check::ClockSkew && r.outcome == Outcome::Fail));

    // A small skew warns and holds nothing: the ensemble is bootstrapped.
    state.skew_ms.store(3_000, Ordering::SeqCst);
    f.forget("sim");
    let Gathered::Ready(snap) = gather(&store, &f, &SystemClock, &secrets, "sim")
        .await
        .expect("gather")
    else {
        panic!("not ready");
    };
    assert!(
        matches!(snap.planned.decision.step(), Some(Step::ZkStartServer { host, .. }) if host == "h1"),
        "{:?}",
        snap.planned.decision
    );
    assert_eq!(
        snap.observed.preflight["h1"]
            .iter()
            .find(|r| r.check == Check::ClockSkew)
            .map(|r| r.outcome),
        Some(Outcome::Warn)
    );
}
