//! Marathon 1.10: a Curator-style leader latch under `<zk path>/leader-curator`, leader
//! forwarding of every path with `X-Marathon-Leader` / `X-Marathon-Via`, 502 without a
//! leader, `/ping`, `/v2/info`, `/v2/leader` (DELETE abdicates and exits), `/metrics`;
//! registration as framework `marathon` with the leading master; and the refusal to start
//! on stored state of a newer version (so a downgrade is visible).
//!
//! What is emulated: no apps, deployments or offers; the stored state is a version marker
//! and the framework id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zookeeper_client as zk;

use crate::flags::{parse_zk_url, Flags};
use crate::log;
use crate::util::{self, exit_with, now_f64};

const KNOWN: &[(&str, Option<&str>)] = &[
    ("master", None),
    ("zk", Some("zk://localhost:2181/marathon")),
    ("http_port", Some("8080")),
    ("hostname", None),
    ("ha", Some("true")),
    ("framework_name", Some("marathon")),
    ("failover_timeout", Some("604800")),
];

#[derive(Default)]
struct State {
    leader: Option<String>,
    framework_id: String,
}

struct Marathon {
    flags: Flags,
    version: String,
    broken: bool,
    me: String,
    zk_path: String,
    start_time: f64,
    zk: Option<zk::Client>,
    state: Mutex<State>,
}

fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-']).map_while(|p| p.parse().ok()).collect()
}

/// Runs Marathon until it exits.
pub async fn run(args: Vec<String>, version: String, broken: bool) {
    let flags = Flags::parse(&args, "MARATHON_", KNOWN);
    let Some(master) = flags.get("master").map(str::to_string) else {
        exit_with("Option --master is required");
    };
    let Some((zk_servers, zk_path)) = flags.get("zk").and_then(parse_zk_url) else {
        exit_with("--zk must be zk://host:port[,host:port]/path");
    };
    let port: u16 = flags
        .get("http_port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let hostname = flags.get("hostname").unwrap_or("localhost").to_string();
    let me = format!("{hostname}:{port}");
    let zk = if broken {
        None
    } else {
        match util::zk_connect(&zk_servers, Duration::from_secs(60)).await {
            Ok(c) => Some(c),
            Err(e) => exit_with(&format!("Failed to connect to ZooKeeper {zk_servers}: {e}")),
        }
    };
    let m = Arc::new(Marathon {
        flags,
        version,
        broken,
        me: me.clone(),
        zk_path,
        start_time: now_f64(),
        zk,
        state: Mutex::new(State::default()),
    });
    if let Some(c) = m.zk.clone() {
        util::exit_on_session_loss(&c, "Marathon");
        let latch = format!("{}/leader-curator", m.zk_path);
        if let Err(e) = util::zk_mkdirs(&c, &latch)
            .await
            .and(util::zk_mkdirs(&c, &format!("{}/state", m.zk_path)).await)
        {
            exit_with(&format!("ZooKeeper: {e}"));
        }
        let opts = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        if let Err(e) = c
            .create(
                &format!("{latch}/_c_{}-latch-", util::uuid()),
                me.as_bytes(),
                &opts,
            )
            .await
        {
            exit_with(&format!("ZooKeeper: cannot join the leader latch: {e}"));
        }
        tokio::spawn(latch_loop(m.clone(), c, master));
    }
    let app = axum::Router::new().fallback(handle).with_state(m);
    log!("Marathon listening on {me}");
    util::serve(app, &format!("0.0.0.0:{port}")).await;
}

async fn latch_loop(m: Arc<Marathon>, c: zk::Client, master: String) {
    let latch = format!("{}/leader-curator", m.zk_path);
    let mesos = parse_zk_url(&master)
        .map(|(_, p)| p)
        .unwrap_or_else(|| "/mesos".into());
    let mut leading = false;
    let mut last_register = std::time::Instant::now() - Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok((children, _)) = c.get_children(&latch).await else {
            continue;
        };
        let Some(first) = children
            .iter()
            .filter_map(|n| util::sequence(n).map(|s| (s, n)))
            .min()
            .map(|(_, n)| n.clone())
        else {
            continue;
        };
        let leader = c
            .get_data(&format!("{latch}/{first}"))
            .await
            .ok()
            .map(|(d, _)| String::from_utf8_lossy(&d).to_string());
        let is_me = leader.as_deref() == Some(m.me.as_str());
        m.state.lock().unwrap_or_else(|e| e.into_inner()).leader = leader;
        if is_me && !leading {
            leading = true;
            take_over(&m, &c).await;
        }
        if is_me && last_register.elapsed() > Duration::from_secs(2) {
            last_register = std::time::Instant::now();
            register(&m, &c, &mesos).await;
        }
    }
}

/// On election: refuse stored state of a newer version, else migrate it to ours.
async fn take_over(m: &Marathon, c: &zk::Client) {
    let node = format!("{}/state/version", m.zk_path);
    match c.get_data(&node).await {
        Ok((d, stat)) => {
            let stored = String::from_utf8_lossy(&d).to_string();
            if version_key(&stored) > version_key(&m.version) {
                log!("Migration failed: the stored state was written by Marathon {stored}, newer than {}; refusing to start", m.version);
                std::process::exit(1);
            }
            if stored != m.version {
                log!("Migrating stored state from {stored} to {}", m.version);
                let _ = c
                    .set_data(&node, m.version.as_bytes(), Some(stat.version))
                    .await;
            }
        }
        Err(_) => {
            let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            let _ = c.create(&node, m.version.as_bytes(), &opts).await;
        }
    }
    if let Ok((d, _)) = c
        .get_data(&format!("{}/state/framework-id", m.zk_path))
        .await
    {
        m.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .framework_id = String::from_utf8_lossy(&d).to_string();
    }
    log!("Elected as the Marathon leader ({})", m.me);
}

async fn register(m: &Marathon, c: &zk::Client, mesos_path: &str) {
    let Some((addr, _)) = crate::master::find_leader(c, mesos_path).await else {
        return;
    };
    let id = m
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .framework_id
        .clone();
    let body = json!({"id": id, "name": m.flags.get("framework_name").unwrap_or("marathon"), "hostname": m.me.split(':').next().unwrap_or_default(), "webui_url": format!("http://{}", m.me)}).to_string();
    if let Ok(r) = util::http(
        "POST",
        &addr,
        "/emulator/register-framework",
        &[("Content-Type".into(), "application/json".into())],
        body.as_bytes(),
        Duration::from_secs(2),
    )
    .await
    {
        if r.status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let new = v["id"].as_str().unwrap_or_default().to_string();
            if new != id && !new.is_empty() {
                let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
                let _ = c
                    .create(
                        &format!("{}/state/framework-id", m.zk_path),
                        new.as_bytes(),
                        &opts,
                    )
                    .await;
                log!("Registered with Mesos as framework {new}");
                m.state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .framework_id = new;
            }
        }
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    r
}

async fn handle(
    axum::extract::State(m): axum::extract::State<Arc<Marathon>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if m.broken {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not healthy".into(),
        );
    }
    let mut leader = m
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .leader
        .clone();
    // A standby with no known leader retries 11 x 250 ms, then answers 502.
    let mut tries = 0;
    while leader.is_none() && tries < 11 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        leader = m
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .leader
            .clone();
        tries += 1;
    }
    let Some(leader) = leader else {
        return respond(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            "Could not determine the current leader".into(),
        );
    };
    if leader != m.me {
        let via = headers
            .get("x-marathon-via")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if via.contains(&m.me) {
            return respond(
                StatusCode::BAD_GATEWAY,
                "text/plain",
                "Detected proxying loop.".into(),
            );
        }
        let mut fwd: Vec<(String, String)> =
            vec![("X-Marathon-Via".into(), format!("1.1 {}", m.me))];
        if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) {
            fwd.push(("Content-Type".into(), ct.to_string()));
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return match util::http(
            method.as_str(),
            &leader,
            path,
            &fwd,
            &body,
            Duration::from_secs(5),
        )
        .await
        {
            Ok(r) => {
                let mut resp = (
                    StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY),
                    r.body,
                )
                    .into_response();
                for (k, v) in r.headers {
                    if matches!(
                        k.as_str(),
                        "content-type" | "x-marathon-leader" | "location"
                    ) {
                        if let (Ok(n), Ok(v)) = (
                            axum::http::HeaderName::from_bytes(k.as_bytes()),
                            HeaderValue::from_str(&v),
                        ) {
                            resp.headers_mut().insert(n, v);
                        }
                    }
                }
                if let Ok(v) = HeaderValue::from_str(&format!("1.1 {}", m.me)) {
                    resp.headers_mut().insert("x-marathon-via", v);
                }
                resp
            }
            Err(_) => respond(
                StatusCode::BAD_GATEWAY,
                "text/plain",
                "Could not determine the current leader".into(),
            ),
        };
    }
    let mut resp = local(&m, &method, uri.path());
    if let Ok(v) = HeaderValue::from_str(&format!("http://{}", m.me)) {
        resp.headers_mut().insert("x-marathon-leader", v);
    }
    resp
}

fn local(m: &Marathon, method: &Method, path: &str) -> Response {
    let fw = m
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .framework_id
        .clone();
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/ping") => respond(StatusCode::OK, "text/plain", "pong".into()),
        ("GET", "/v2/leader") => respond(StatusCode::OK, "application/json", json!({"leader": m.me}).to_string()),
        ("DELETE", "/v2/leader") => {
            log!("Abdicating leadership");
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                std::process::exit(0);
            });
            respond(StatusCode::OK, "application/json", json!({"message": "Leadership abdicated"}).to_string())
        }
        ("GET", "/v2/info") => respond(StatusCode::OK, "application/json", json!({
            "name": "marathon", "version": m.version, "buildref": "emulated", "elected": true, "leader": m.me,
            "frameworkId": fw,
            "marathon_config": {"master": m.flags.get("master").unwrap_or(""), "failover_timeout": 604800, "ha": true, "checkpoint": true,
                "framework_name": m.flags.get("framework_name").unwrap_or("marathon"), "hostname": m.me.split(':').next().unwrap_or(""),
                "mesos_role": "*", "mesos_user": "root"},
            "zookeeper_config": {"zk": m.flags.get("zk").unwrap_or(""), "zk_session_timeout": 10000, "zk_timeout": 10000},
            "http_config": {"http_port": m.flags.get("http_port").and_then(|p| p.parse::<u64>().ok()).unwrap_or(8080), "https_port": 8443},
        }).to_string()),
        ("GET", "/metrics") => respond(StatusCode::OK, "application/json", json!({
            "version": "4.0.0", "counters": {}, "gauges": {"marathon.uptime.gauge.seconds": {"value": (now_f64() - m.start_time).floor()}},
            "histograms": {}, "meters": {}, "timers": {},
        }).to_string()),
        _ => respond(StatusCode::NOT_FOUND, "application/json", json!({"message": format!("The requested resource {path} could not be found")}).to_string()),
    }
}
