//! The admin server over real HTTP: `/metrics` in both formats (every family of the operator,
//! the on-call ones included, and `mesos_operator_ready` following `/readyz`), `/healthz`, `/readyz`
//! following its flag, graceful shutdown, and the text body checked by `promtool check
//! metrics` (Debian's `prometheus` package; `scripts/deps.sh` installs it). Without promtool
//! the test fails rather than skipping the check.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mesos_operator::admin;
use mesos_operator::metrics::{
    EtcdOp, EtcdResult, Metrics, ObservedHealth, OPENMETRICS_CONTENT_TYPE,
    PROMETHEUS_TEXT_CONTENT_TYPE,
};
use tokio::sync::{oneshot, watch};

/// What Prometheus 2.x sends when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn get(client: &HttpClient, addr: SocketAddr, path: &str, accept: Option<&str>) -> Reply {
    let mut req = Request::get(format!("http://{addr}{path}"));
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let req = req.body(Empty::new()).expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .expect("answer within 10 s")
        .expect("HTTP request");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().expect("ascii content type").to_owned())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).expect("utf-8 body"),
    }
}

/// Runs `promtool check metrics` on `body`; panics with promtool's words on any problem, and
/// with instructions when promtool is missing.
fn promtool_check(body: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool not found on PATH: run scripts/deps.sh (it installs Debian's `prometheus` \
             package, which ships promtool); this test does not skip the check"
        ),
        Err(e) => panic!("starting promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let words = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && words.trim().is_empty(),
        "promtool check metrics: {} {words}\nbody:\n{body}",
        out.status
    );
}

#[tokio::test]
async fn admin_server_end_to_end() {
    let listener = admin::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let metrics = Metrics::new();
    let (ready_tx, ready_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(admin::serve(listener, metrics.clone(), ready_rx, async {
        let _ = stop_rx.await;
    }));

    metrics.reconcile_finished("prod", "ok", 0.012);
    metrics.reconcile_finished("prod", "error", 1.5);
    metrics.reconcile_finished("prod", "requeue", 0.2);
    metrics.step_finished("prod", "ReplaceMaster", "ok", 75.0);
    metrics.step_finished("prod", "AddZookeeperServer", "error", 600.5);
    metrics.set_cluster("prod", false, "Progressing");
    metrics.set_component("prod", "zookeeper", 3, 3);
    metrics.set_component("prod", "masters", 2, 3);
    metrics.set_zk_voters("prod", 3);
    metrics.set_leader(true);
    metrics.docker_request("host-1", "ok");
    metrics.docker_request("host-2", "timeout");
    metrics.reconcile_succeeded_at("prod", 1_764_000_000);
    metrics.set_observed(
        "prod",
        &ObservedHealth {
            hosts: vec![("host-1".into(), true), ("host-2".into(), false)],
            errors: vec![("host-2".into(), "docker".into())],
            zk_leader: true,
            zk_voters_serving: 3,
            masters_leader: true,
            masters_recovered: true,
            agents_registered: 2,
            images: vec![("masters".into(), vec!["mesos-master:1.11.0".into()])],
            desired_images: vec![("masters".into(), "mesos-master:1.11.0".into())],
        },
    );
    metrics.etcd_request(EtcdOp::Get, EtcdResult::Ok, 0.003);
    metrics.reconcile_finished("gone", "ok", 0.1);
    metrics.set_cluster("gone", true, "Converged");
    metrics.forget_cluster("gone");

    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    // Liveness regardless of readiness.
    let r = get(&client, addr, "/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);

    // Readiness follows the flag.
    let r = get(&client, addr, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    ready_tx.send(true).expect("send ready");
    let r = get(&client, addr, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    ready_tx.send(false).expect("send not ready");
    let r = get(&client, addr, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    ready_tx.send(true).expect("send ready");
    assert_eq!(
        get(&client, addr, "/readyz", None).await.status,
        StatusCode::OK
    );
    // mesos_operator_ready says at each scrape what /readyz would answer.
    let r = get(&client, addr, "/metrics", None).await;
    assert!(r.body.contains("mesos_operator_ready 1\n"), "{}", r.body);
    ready_tx.send(false).expect("send not ready");
    let r = get(&client, addr, "/metrics", None).await;
    assert!(r.body.contains("mesos_operator_ready 0\n"), "{}", r.body);
    ready_tx.send(true).expect("send ready");

    // A scrape by Prometheus gets OpenMetrics.
    let r = get(&client, addr, "/metrics", Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, OPENMETRICS_CONTENT_TYPE);
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
    assert!(r
        .body
        .contains("mesos_operator_reconcile_total{cluster=\"prod\",result=\"ok\"} 1\n"));
    assert!(r.body.contains("mesos_operator_leader 1\n"));

    // curl, promtool and anything else that does not ask for OpenMetrics get 0.0.4 text.
    let r = get(&client, addr, "/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, PROMETHEUS_TEXT_CONTENT_TYPE);
    let text = r.body;
    for series in [
        "mesos_operator_reconcile_total{cluster=\"prod\",result=\"error\"} 1\n",
        "mesos_operator_reconcile_duration_seconds_count{cluster=\"prod\"} 3\n",
        "mesos_operator_steps_total{cluster=\"prod\",kind=\"ReplaceMaster\",result=\"ok\"} 1\n",
        "mesos_operator_step_duration_seconds_count{kind=\"AddZookeeperServer\"} 1\n",
        "mesos_operator_cluster_converged{cluster=\"prod\"} 0\n",
        "mesos_operator_cluster_phase{cluster=\"prod\",phase=\"Progressing\"} 1\n",
        "mesos_operator_cluster_phase{cluster=\"prod\",phase=\"Converged\"} 0\n",
        "mesos_operator_component_ready{cluster=\"prod\",component=\"masters\"} 2\n",
        "mesos_operator_component_desired{cluster=\"prod\",component=\"masters\"} 3\n",
        "mesos_operator_zookeeper_voters{cluster=\"prod\"} 3\n",
        "mesos_operator_leader 1\n",
        "mesos_operator_docker_requests_total{host=\"host-2\",result=\"timeout\"} 1\n",
        "mesos_operator_docker_requests_total{host=\"host-2\",result=\"unreachable\"} 0\n",
        "mesos_operator_docker_host_up{cluster=\"prod\",host=\"host-2\"} 0\n",
        "mesos_operator_observe_errors_total{cluster=\"prod\",host=\"host-2\",component=\"docker\"} 1\n",
        "mesos_operator_zookeeper_voters_serving{cluster=\"prod\"} 3\n",
        "mesos_operator_masters_registry_recovered{cluster=\"prod\"} 1\n",
        "mesos_operator_agents_registered{cluster=\"prod\"} 2\n",
        "mesos_operator_component_info{cluster=\"prod\",component=\"masters\",image=\"mesos-master:1.11.0\",version=\"1.11.0\",state=\"running\"} 1\n",
        "mesos_operator_last_reconcile_success_timestamp_seconds{cluster=\"prod\"} 1764000000\n",
        "mesos_operator_etcd_requests_total{op=\"get\",result=\"ok\"} 1\n",
        "mesos_operator_etcd_request_duration_seconds_count{op=\"txn\"} 0\n",
        "mesos_operator_steps_total{cluster=\"prod\",kind=\"ZkAdd\",result=\"error\"} 0\n",
        "mesos_operator_leader_changes_total 1\n",
        "mesos_operator_ready 1\n",
    ] {
        assert!(text.contains(series), "no {series:?} in:\n{text}");
    }
    assert!(!text.contains("cluster=\"gone\""), "{text}");
    promtool_check(&text);
    // A registry with no series yet is clean too.
    promtool_check(&Metrics::new().encode_text());

    // Values move between scrapes.
    metrics.set_leader(false);
    metrics.set_cluster("prod", true, "Converged");
    let r = get(&client, addr, "/metrics", None).await;
    assert!(r.body.contains("mesos_operator_leader 0\n"));
    assert!(r
        .body
        .contains("mesos_operator_cluster_phase{cluster=\"prod\",phase=\"Converged\"} 1\n"));

    // Unknown paths and other methods.
    assert_eq!(
        get(&client, addr, "/nope", None).await.status,
        StatusCode::NOT_FOUND
    );
    let post = Request::post(format!("http://{addr}/metrics"))
        .body(Empty::new())
        .expect("request");
    assert_eq!(
        client.request(post).await.expect("POST").status(),
        StatusCode::METHOD_NOT_ALLOWED
    );

    // A dropped sender reads as not ready.
    drop(ready_tx);
    assert_eq!(
        get(&client, addr, "/readyz", None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Graceful shutdown: serve returns Ok, and nothing listens any more.
    drop(client);
    stop_tx.send(()).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .expect("serve task")
        .expect("serve result");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// A server on a free loopback port, and the way to stop it.
async fn server() -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = admin::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (_ready_tx, ready_rx) = watch::channel(true);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(admin::serve(listener, Metrics::new(), ready_rx, async {
        let _ = stop_rx.await;
    }));
    (addr, stop_tx, task)
}

/// Reads until the peer closes (`Ok(true)`) or `within` passes (`Ok(false)`).
async fn closed_within(s: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(until, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_disconnected_and_shutdown_does_not_wait_for_idle_ones() {
    let (addr, stop, task) = server().await;
    // Connected, silent: closed once the header read timeout passes, not kept for ever.
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // A trickle: half a request line, then nothing.
    let mut trickle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    {
        use tokio::io::AsyncWriteExt;
        trickle.write_all(b"GET /metr").await.expect("write");
    }
    let bound = admin::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    assert!(
        closed_within(&mut silent, bound).await,
        "a silent connection was kept past {bound:?}"
    );
    assert!(
        closed_within(&mut trickle, bound).await,
        "a trickling connection was kept past {bound:?}"
    );

    // An idle keep-alive connection after a full request does not hold up shutdown.
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 1024];
        let n = idle.read(&mut buf).await.expect("read");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    let _ = stop.send(());
    match tokio::time::timeout(admin::SHUTDOWN_GRACE, task).await {
        Ok(Ok(Ok(()))) => {}
        other => panic!("shutdown waited on an idle connection: {other:?}"),
    }
    assert!(
        closed_within(&mut idle, Duration::from_secs(1)).await,
        "the idle connection was left open"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_slot() {
    let (addr, stop, task) = server().await;
    // Every slot taken by a connection that says nothing.
    let mut held = Vec::new();
    for _ in 0..admin::MAX_CONNECTIONS {
        held.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    // The next one is accepted by the kernel (the backlog) but not served while they hold.
    let mut next = tokio::net::TcpStream::connect(addr).await.expect("connect");
    {
        use tokio::io::AsyncWriteExt;
        next.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
    }
    let mut buf = [0u8; 1024];
    {
        use tokio::io::AsyncReadExt;
        let early = tokio::time::timeout(Duration::from_secs(1), next.read(&mut buf)).await;
        assert!(early.is_err(), "served beyond the limit: {early:?}");
        // Freed once the silent ones are closed by the header timeout: then it is served.
        let n = tokio::time::timeout(
            admin::HEADER_READ_TIMEOUT + Duration::from_secs(5),
            next.read(&mut buf),
        )
        .await
        .expect("served once a slot was free")
        .expect("read");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    drop(held);
    let _ = stop.send(());
    let _ = task.await;
}
