//! Marathon 1.10: a Curator-style leader latch under `<zk path>/leader-curator`, leader
//! forwarding of every path with `X-Marathon-Leader` / `X-Marathon-Via`, 502 without a
//! leader, `/ping`, `/v2/info`, `/v2/leader` (DELETE abdicates and exits), `/metrics`;
//! registration as framework `marathon` with the leading master; and the refusal to start
//! on stored state of a newer version (so a downgrade is visible).
//!
//! Apps, deployments, tasks and `/v2/events`: see `workload.rs` for what the workload model
//! does and does not do. Stored state: a version marker, the framework id and the
//! workload, under `<zk path>/state`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use zookeeper_client as zk;

use crate::flags::{parse_zk_url, Flags};
use crate::log;
use crate::util::{self, exit_with, now_f64};
use crate::workload::{self, Deployment, Instance, MasterView, Workload};

const KNOWN: &[(&str, Option<&str>)] = &[
    ("master", None),
    ("zk", Some("zk://localhost:2181/marathon")),
    ("http_port", Some("8080")),
    ("hostname", None),
    ("ha", Some("true")),
    ("framework_name", Some("marathon")),
    ("failover_timeout", Some("604800")),
    ("zk_session_timeout", Some("10000")),
    ("http_credentials", None),
    ("http_realm", Some("Mesosphere")),
    ("mesos_authentication_principal", None),
    ("mesos_authentication_secret_file", None),
];

#[derive(Default)]
struct State {
    leader: Option<String>,
    framework_id: String,
}

struct Marathon {
    flags: Flags,
    /// `--http_credentials` (or `MESOSPHERE_HTTP_CREDENTIALS`), when it reads as
    /// `user:password`: every endpoint then asks for them ([`crate::basic_auth`]).
    http_credentials: Option<(String, String)>,
    /// `--http_realm`, named in the 401's challenge.
    realm: String,
    /// `Authorization` for the emulator's reads of the master's state, from
    /// `--mesos_authentication_principal` and `--mesos_authentication_secret_file`: they
    /// stand for the offers a real Marathon receives over its authenticated scheduler
    /// connection, and need the master's credentials when it authenticates readonly HTTP.
    mesos_auth: Option<String>,
    version: String,
    broken: bool,
    me: String,
    zk_path: String,
    start_time: f64,
    zk: Option<zk::Client>,
    state: Mutex<State>,
    work: Mutex<Workload>,
    events: broadcast::Sender<String>,
}

impl Marathon {
    fn work(&self) -> std::sync::MutexGuard<'_, Workload> {
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes an event to `/v2/events` subscribers.
    fn publish(&self, kind: &str, data: &Value) {
        let _ = self.events.send(format!("event: {kind}\ndata: {data}\n\n"));
    }

    fn path(&self, category: &str, id: &str) -> String {
        workload::store_path(&self.zk_path, category, id)
    }
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
        // Marathon's --zk_session_timeout is in milliseconds.
        let session = flags
            .get("zk_session_timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(10));
        match util::zk_connect(&zk_servers, session, Duration::from_secs(60)).await {
            Ok(c) => Some(c),
            Err(e) => exit_with(&format!("Failed to connect to ZooKeeper {zk_servers}: {e}")),
        }
    };
    // mesosphere/marathon@90619da:src/main/scala/mesosphere/marathon/HttpConf.scala: the
    // flag, or MESOSPHERE_HTTP_CREDENTIALS; HttpModule.scala logs and serves without
    // authentication when the value is not user:password.
    let http_credentials = flags
        .get("http_credentials")
        .map(str::to_string)
        .or_else(|| std::env::var("MESOSPHERE_HTTP_CREDENTIALS").ok())
        .and_then(|v| {
            let c = crate::basic_auth::marathon_credentials(&v);
            if c.is_none() {
                log!("The HTTP credentials must be specified in the form of 'user:password'.");
            }
            c
        });
    let realm = flags.get("http_realm").unwrap_or("Mesosphere").to_string();
    let mesos_auth = match (
        flags.get("mesos_authentication_principal"),
        flags.get("mesos_authentication_secret_file"),
    ) {
        (Some(p), Some(f)) => match std::fs::read_to_string(f.strip_prefix("file://").unwrap_or(f))
        {
            Ok(secret) => Some(crate::basic_auth::header(
                p,
                secret.trim_end_matches(['\n', '\r']),
            )),
            Err(e) => exit_with(&format!(
                "Failed to read the Mesos authentication secret file {f}: {e}"
            )),
        },
        _ => None,
    };
    let m = Arc::new(Marathon {
        flags,
        http_credentials,
        realm,
        mesos_auth,
        version,
        broken,
        me: me.clone(),
        zk_path,
        start_time: now_f64(),
        zk,
        state: Mutex::new(State::default()),
        work: Mutex::new(Workload::default()),
        events: broadcast::channel(1024).0,
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
        let prefix = format!("_c_{}-latch-", util::uuid());
        let mine = match c
            .create(&format!("{latch}/{prefix}"), me.as_bytes(), &opts)
            .await
        {
            Ok((_, seq)) => format!("{prefix}{seq}"),
            Err(e) => exit_with(&format!("ZooKeeper: cannot join the leader latch: {e}")),
        };
        *LATCH_NODE.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((c.clone(), format!("{latch}/{mine}")));
        tokio::spawn(latch_loop(m.clone(), c, master, mine));
    }
    let app = axum::Router::new().fallback(handle).with_state(m);
    log!("Marathon listening on {me}");
    util::serve(app, &format!("0.0.0.0:{port}")).await;
}

/// This instance's node in the leader latch, left on SIGTERM ([`leave_latch`]).
static LATCH_NODE: Mutex<Option<(zk::Client, String)>> = Mutex::new(None);

/// What Marathon's JVM shutdown hooks do on SIGTERM (`docker stop`): Curator closes its
/// session, so the instance's latch node goes at once and another instance (or the next
/// one) is elected without waiting out the session (10 s). A process killed (SIGKILL, a
/// crash) leaves it to expire, as here when this is never called.
pub async fn leave_latch() {
    let node = LATCH_NODE.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some((c, path)) = node {
        let _ = tokio::time::timeout(Duration::from_secs(2), c.delete(&path, None)).await;
    }
}

async fn latch_loop(m: Arc<Marathon>, c: zk::Client, master: String, mine: String) {
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
        // Curator compares its own node, not the data: a restarted Marathon's stale node
        // (same address, old session) is nobody's until it expires.
        let is_me = first == mine;
        let leader = if !is_me && leader.as_deref() == Some(m.me.as_str()) {
            None
        } else {
            leader
        };
        if leading && !is_me {
            log!("Lost leadership; exiting");
            std::process::exit(1);
        }
        m.state.lock().unwrap_or_else(|e| e.into_inner()).leader = leader;
        if is_me && !leading {
            leading = true;
            take_over(&m, &c).await;
            tokio::spawn(scheduler_loop(m.clone(), c.clone(), mesos.clone()));
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
    // The workload, as stored.
    let mut w = Workload::default();
    for d in load(c, &m.zk_path, "apps").await {
        if let Ok(app) = serde_json::from_slice::<Value>(&d) {
            if let Some(id) = app["id"].as_str() {
                w.apps.insert(id.to_string(), app.clone());
            }
        }
    }
    for d in load(c, &m.zk_path, "instance").await {
        if let Ok(i) = serde_json::from_slice::<Instance>(&d) {
            w.instances.insert(i.task_id.clone(), i);
        }
    }
    for d in load(c, &m.zk_path, "deployment").await {
        if let Ok(dep) = serde_json::from_slice::<Deployment>(&d) {
            w.deployments.insert(dep.id.clone(), dep);
        }
    }
    log!(
        "Loaded {} apps, {} instances and {} deployments from the store",
        w.apps.len(),
        w.instances.len(),
        w.deployments.len()
    );
    w.loaded = true;
    *m.work() = w;
    log!("Elected as the Marathon leader ({})", m.me);
}

/// A category of the store, or exit: Marathon does not lead on a store it cannot read.
async fn load(c: &zk::Client, zk_path: &str, category: &str) -> Vec<Vec<u8>> {
    match workload::zk_load(c, zk_path, category).await {
        Ok(v) => v,
        Err(e) => {
            log!("Failed to load the {category} from the store: {e}; exiting");
            std::process::exit(1);
        }
    }
}

/// The leader's reconciliation, once a second, once registered as a framework.
async fn scheduler_loop(m: Arc<Marathon>, c: zk::Client, mesos_path: String) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let fw = m
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .framework_id
            .clone();
        if fw.is_empty() {
            continue;
        }
        let Some((addr, _)) = crate::master::find_leader(&c, &mesos_path).await else {
            continue;
        };
        let Some(view) = master_view(&addr, m.mesos_auth.as_deref()).await else {
            continue;
        };
        let plan = m.work().reconcile(&fw, &view);
        for (inst, task) in plan.launch {
            let data = serde_json::to_vec(&inst).unwrap_or_default();
            if let Err(e) = workload::zk_put(&c, &m.path("instance", &inst.task_id), &data).await {
                log!("Failed to store instance {}: {e}", inst.task_id);
                m.work().instances.remove(&inst.task_id);
                continue;
            }
            log!(
                "Launching task {} on agent {} ({})",
                inst.task_id,
                inst.agent_id,
                inst.host
            );
            let body =
                json!({"framework_id": fw, "agent_id": inst.agent_id, "task": task}).to_string();
            let r = util::http(
                "POST",
                &addr,
                "/emulator/launch",
                &[("Content-Type".into(), "application/json".into())],
                body.as_bytes(),
                Duration::from_secs(10),
            )
            .await;
            if !matches!(&r, Ok(r) if r.status == 202) {
                log!(
                    "Launch of {} was not accepted: {:?}",
                    inst.task_id,
                    r.map(|r| r.status)
                );
                m.work().instances.remove(&inst.task_id);
                let _ = workload::zk_delete(&c, &m.path("instance", &inst.task_id)).await;
            }
        }
        for id in plan.kill {
            log!("Killing task {id}");
            let body = json!({"task_id": id}).to_string();
            let _ = util::http(
                "POST",
                &addr,
                "/emulator/kill",
                &[("Content-Type".into(), "application/json".into())],
                body.as_bytes(),
                Duration::from_secs(10),
            )
            .await;
        }
        for id in plan.expunge {
            let _ = workload::zk_delete(&c, &m.path("instance", &id)).await;
        }
        for d in plan.finished {
            let _ = workload::zk_delete(&c, &m.path("deployment", &d.id)).await;
        }
        for (kind, data) in plan.events {
            m.publish(kind, &data);
        }
    }
}

/// The leading master's `/master/state` and the hostnames of its DRAINING or DOWN machines.
async fn master_view(addr: &str, auth: Option<&str>) -> Option<MasterView> {
    let headers: Vec<(String, String)> = auth
        .map(|a| ("Authorization".to_string(), a.to_string()))
        .into_iter()
        .collect();
    let r = util::http(
        "GET",
        addr,
        "/master/state",
        &headers,
        &[],
        Duration::from_secs(5),
    )
    .await
    .ok()
    .filter(|r| r.status == 200)?;
    let state: Value = serde_json::from_slice(&r.body).ok()?;
    let mut draining = std::collections::BTreeSet::new();
    if let Ok(r) = util::http(
        "GET",
        addr,
        "/master/maintenance/status",
        &headers,
        &[],
        Duration::from_secs(5),
    )
    .await
    {
        let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        for d in v["draining_machines"].as_array().into_iter().flatten() {
            draining.insert(d["id"]["hostname"].as_str().unwrap_or_default().to_string());
            draining.insert(d["id"]["ip"].as_str().unwrap_or_default().to_string());
        }
        for d in v["down_machines"].as_array().into_iter().flatten() {
            draining.insert(d["hostname"].as_str().unwrap_or_default().to_string());
            draining.insert(d["ip"].as_str().unwrap_or_default().to_string());
        }
    }
    Some(MasterView { state, draining })
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
    // The security handler guards `/*` and runs before any servlet or the leader proxy
    // (HttpModule.scala `createSecurityHandler`): /ping and /v2/* alike.
    if let Some((user, password)) = &m.http_credentials {
        if !crate::basic_auth::marathon_accepts(&headers, user, password) {
            return crate::basic_auth::unauthorized(&m.realm);
        }
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
        if uri.path().trim_end_matches('/') == "/v2/events" {
            // Marathon 1.7 and later redirect the event stream to the leader instead of
            // proxying it (MARATHON-7178; marathon-lb #594): 302 with the leader's URL.
            let target = match uri.query() {
                Some(q) => format!("http://{leader}/v2/events?{q}"),
                None => format!("http://{leader}/v2/events"),
            };
            let mut r = respond(StatusCode::FOUND, "text/plain", String::new());
            if let Ok(v) = HeaderValue::from_str(&target) {
                r.headers_mut().insert("location", v);
            }
            return r;
        }
        let mut fwd: Vec<(String, String)> =
            vec![("X-Marathon-Via".into(), format!("1.1 {}", m.me))];
        if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) {
            fwd.push(("Content-Type".into(), ct.to_string()));
        }
        // The request's own credentials go on to the leader, which checks them again.
        if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
            fwd.push(("Authorization".into(), a.to_string()));
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
    let mut resp = match api(&m, &method, uri.path(), uri.query().unwrap_or(""), &body).await {
        Some(r) => r,
        None => local(&m, &method, uri.path()),
    };
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
            "zookeeper_config": {"zk": m.flags.get("zk").unwrap_or(""),
                "zk_session_timeout": m.flags.get("zk_session_timeout").and_then(|v| v.parse::<u64>().ok()).unwrap_or(10000), "zk_timeout": 10000},
            "http_config": {"http_port": m.flags.get("http_port").and_then(|p| p.parse::<u64>().ok()).unwrap_or(8080), "https_port": 8443},
        }).to_string()),
        ("GET", "/metrics") => respond(StatusCode::OK, "application/json", json!({
            "version": "4.0.0", "counters": {}, "gauges": {"marathon.uptime.gauge.seconds": {"value": (now_f64() - m.start_time).floor()}},
            "histograms": {}, "meters": {}, "timers": {},
        }).to_string()),
        _ => respond(StatusCode::NOT_FOUND, "application/json", json!({"message": format!("The requested resource {path} could not be found")}).to_string()),
    }
}

fn json_reply(status: StatusCode, v: &Value) -> Response {
    respond(status, "application/json", v.to_string())
}

fn query_flag(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|p| p == name || p == format!("{name}=true") || p == format!("{name}=1"))
}

/// `/v2/apps`, `/v2/deployments`, `/v2/tasks` and `/v2/events` on the leader; `None` for
/// the other paths.
async fn api(
    m: &Arc<Marathon>,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Option<Response> {
    let path = path.trim_end_matches('/');
    let is_api = path == "/v2/apps"
        || path.starts_with("/v2/apps/")
        || path == "/v2/deployments"
        || path.starts_with("/v2/deployments/")
        || path == "/v2/tasks"
        || path == "/v2/events";
    if !is_api {
        return None;
    }
    if !m.work().loaded {
        return Some(json_reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"message": "Leader is not ready yet"}),
        ));
    }
    if path == "/v2/events" {
        return Some(events(m));
    }
    let Some(c) = m.zk.clone() else {
        return Some(json_reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"message": "no store"}),
        ));
    };
    let r = match (method.as_str(), path) {
        ("GET", "/v2/apps") => {
            let w = m.work();
            // `embed=apps.tasks` lists each app's tasks with it (marathon-lb's one read).
            let tasks = query
                .split('&')
                .any(|p| p == "embed=apps.tasks" || p == "embed=apps%2Etasks");
            let apps: Vec<Value> = w.apps.values().map(|a| w.app_json(a, tasks)).collect();
            (StatusCode::OK, json!({"apps": apps}))
        }
        ("POST", "/v2/apps") => create_app(m, &c, body).await,
        ("GET", "/v2/deployments") => {
            let w = m.work();
            let d: Vec<Value> = w.deployments.values().map(Deployment::to_json).collect();
            (StatusCode::OK, json!(d))
        }
        ("DELETE", p) if p.starts_with("/v2/deployments/") => {
            let id = p.trim_start_matches("/v2/deployments/").to_string();
            let removed = m.work().deployments.remove(&id);
            match removed {
                Some(d) => {
                    let _ = workload::zk_delete(&c, &m.path("deployment", &id)).await;
                    if query_flag(query, "force") {
                        (StatusCode::ACCEPTED, json!({}))
                    } else {
                        (
                            StatusCode::OK,
                            json!({"deploymentId": util::uuid(), "version": d.version}),
                        )
                    }
                }
                None => workload::message(
                    StatusCode::NOT_FOUND,
                    &format!("DeploymentPlan {id} does not exist"),
                ),
            }
        }
        ("GET", "/v2/tasks") => {
            let w = m.work();
            let t: Vec<Value> = w.instances.values().map(workload::task_json).collect();
            (StatusCode::OK, json!({"tasks": t}))
        }
        (method, p) if p.starts_with("/v2/apps/") => {
            let rest = p.trim_start_matches("/v2/apps");
            if let Some((app, tail)) = rest.split_once("/tasks") {
                app_tasks(m, &c, method, app, tail).await
            } else {
                match workload::canonical_id(rest) {
                    Err(e) => e,
                    Ok(id) => match method {
                        "GET" => {
                            let w = m.work();
                            match w.apps.get(&id) {
                                Some(a) => (StatusCode::OK, json!({"app": w.app_json(a, true)})),
                                None => unknown_app(&id),
                            }
                        }
                        "PUT" | "PATCH" => update_app(m, &c, &id, query, body).await,
                        "DELETE" => delete_app(m, &c, &id, query).await,
                        _ => (
                            StatusCode::METHOD_NOT_ALLOWED,
                            json!({"message": "HTTP 405 Method Not Allowed"}),
                        ),
                    },
                }
            }
        }
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"message": "HTTP 405 Method Not Allowed"}),
        ),
    };
    let mut resp = json_reply(r.0, &r.1);
    if r.0 == StatusCode::CREATED {
        if let Some(id) = r.1["id"].as_str() {
            if let Ok(v) = HeaderValue::from_str(&format!(
                "http://{}/v2/apps/{}",
                m.me,
                id.trim_start_matches('/')
            )) {
                resp.headers_mut().insert("location", v);
            }
        }
    }
    Some(resp)
}

fn unknown_app(id: &str) -> (StatusCode, Value) {
    workload::message(StatusCode::NOT_FOUND, &format!("App '{id}' does not exist"))
}

/// The deployment of an app is stored with the app before the call is answered.
async fn store_app(
    m: &Arc<Marathon>,
    c: &zk::Client,
    id: &str,
    app: Option<&Value>,
    action: &str,
) -> Result<Deployment, (StatusCode, Value)> {
    let version = app
        .and_then(|a| a["version"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| workload::iso(now_f64()));
    let d = Deployment {
        id: util::uuid(),
        version,
        app: id.to_string(),
        action: action.to_string(),
    };
    let key = workload::app_key(id);
    let stored = async {
        workload::zk_put(
            c,
            &m.path("deployment", &d.id),
            &serde_json::to_vec(&d).unwrap_or_default(),
        )
        .await?;
        match app {
            Some(a) => {
                workload::zk_put(
                    c,
                    &m.path("apps", &key),
                    &serde_json::to_vec(a).unwrap_or_default(),
                )
                .await
            }
            None => workload::zk_delete(c, &m.path("apps", &key)).await,
        }
    };
    if let Err(e) = stored.await {
        return Err(workload::message(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("Storage failed: {e}"),
        ));
    }
    {
        let mut w = m.work();
        // A forced change replaces the app's running deployment.
        w.deployments.retain(|_, old| old.app != id);
        w.deployments.insert(d.id.clone(), d.clone());
        match app {
            Some(a) => {
                w.apps.insert(id.to_string(), a.clone());
            }
            None => {
                w.apps.remove(id);
            }
        }
    }
    log!("Deployment {} ({action} {id}) started", d.id);
    m.publish(
        "deployment_info",
        &json!({"eventType": "deployment_info", "timestamp": workload::iso(now_f64()),
            "plan": d.to_json(), "currentStep": d.to_json()["steps"][0]}),
    );
    Ok(d)
}

/// 409 when the app has a deployment in progress and the call is not forced.
fn locked(m: &Marathon, id: &str, query: &str) -> Option<(StatusCode, Value)> {
    if query_flag(query, "force") {
        return None;
    }
    let w = m.work();
    let ds: Vec<Value> = w
        .deployments
        .values()
        .filter(|d| d.app == id)
        .map(|d| json!({"id": d.id}))
        .collect();
    let first = ds.first()?["id"].as_str().unwrap_or_default().to_string();
    Some((
        StatusCode::CONFLICT,
        json!({"message": format!("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/{first}'."),
            "deployments": ds}),
    ))
}

async fn create_app(m: &Arc<Marathon>, c: &zk::Client, body: &[u8]) -> (StatusCode, Value) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"message": "Invalid JSON", "details": [{"path": "/", "errors": ["Invalid JSON"]}]}),
        );
    };
    let id = match workload::canonical_id(v["id"].as_str().unwrap_or_default()) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if m.work().apps.contains_key(&id) {
        return workload::message(
            StatusCode::CONFLICT,
            &format!("An app with id [{id}] already exists."),
        );
    }
    let app = match workload::app_definition(&id, &v, None)
        .and_then(|(app, _)| with_service_ports(m, &id, app))
    {
        Ok(a) => a,
        Err(e) => return e,
    };
    match store_app(m, c, &id, Some(&app), "StartApplication").await {
        Ok(_) => {
            let w = m.work();
            let mut out = w.app_json(&app, true);
            out["tasks"] = json!([]);
            (StatusCode::CREATED, out)
        }
        Err(e) => e,
    }
}

/// The app with a service port for each port definition of port 0, none held by another
/// app; 422 when the range is used up.
fn with_service_ports(
    m: &Marathon,
    id: &str,
    mut app: Value,
) -> Result<Value, (StatusCode, Value)> {
    let taken: std::collections::BTreeSet<u64> = m
        .work()
        .apps
        .iter()
        .filter(|(other, _)| other.as_str() != id)
        .flat_map(|(_, a)| crate::ports::service_ports(a))
        .collect();
    match crate::ports::assign_service_ports(&mut app, &taken) {
        Some(()) => Ok(app),
        None => Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Object is not valid", "details": [{"path": "/portDefinitions",
                "errors": ["no free service port left in 10000-20000"]}]}),
        )),
    }
}

async fn update_app(
    m: &Arc<Marathon>,
    c: &zk::Client,
    id: &str,
    query: &str,
    body: &[u8],
) -> (StatusCode, Value) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"message": "Invalid JSON", "details": [{"path": "/", "errors": ["Invalid JSON"]}]}),
        );
    };
    if let Some(l) = locked(m, id, query) {
        return l;
    }
    let base = m.work().apps.get(id).cloned();
    let created = base.is_none();
    let (app, config_changed) = match workload::app_definition(id, &v, base.as_ref())
        .and_then(|(app, changed)| Ok((with_service_ports(m, id, app)?, changed)))
    {
        Ok(a) => a,
        Err(e) => return e,
    };
    let action = if created {
        "StartApplication"
    } else if config_changed {
        "RestartApplication"
    } else {
        "ScaleApplication"
    };
    match store_app(m, c, id, Some(&app), action).await {
        Ok(d) => (
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            json!({"version": d.version, "deploymentId": d.id}),
        ),
        Err(e) => e,
    }
}

async fn delete_app(
    m: &Arc<Marathon>,
    c: &zk::Client,
    id: &str,
    query: &str,
) -> (StatusCode, Value) {
    if !m.work().apps.contains_key(id) {
        return unknown_app(id);
    }
    if let Some(l) = locked(m, id, query) {
        return l;
    }
    match store_app(m, c, id, None, "StopApplication").await {
        Ok(d) => (
            StatusCode::OK,
            json!({"version": d.version, "deploymentId": d.id}),
        ),
        Err(e) => e,
    }
}

/// `/v2/apps/{id}/tasks` (GET) and `/v2/apps/{id}/tasks/{task}` (DELETE: kill; Marathon
/// launches a replacement unless `scale=true`, which is not emulated).
async fn app_tasks(
    m: &Arc<Marathon>,
    _c: &zk::Client,
    method: &str,
    app: &str,
    tail: &str,
) -> (StatusCode, Value) {
    let id = match workload::canonical_id(app) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let w = m.work();
    if !w.apps.contains_key(&id) {
        return unknown_app(&id);
    }
    let task = tail.trim_start_matches('/');
    match (method, task.is_empty()) {
        ("GET", true) => {
            let t: Vec<Value> = w
                .instances
                .values()
                .filter(|i| i.app_id == id)
                .map(workload::task_json)
                .collect();
            (StatusCode::OK, json!({"tasks": t}))
        }
        ("DELETE", false) => match w.instances.get(task) {
            Some(i) if i.app_id == id => {
                let out = json!({"task": workload::task_json(i)});
                let m = m.clone();
                let task = task.to_string();
                drop(w);
                // The reconciliation kills it: it is no longer an instance the app keeps.
                if let Some(i) = m.work().instances.get_mut(&task) {
                    i.state = "TASK_KILLING".into();
                    i.killing = true;
                }
                tokio::spawn(async move {
                    if let Some(c) = m.zk.clone() {
                        if let Ok(Some((addr, _))) = tokio::time::timeout(
                            Duration::from_secs(5),
                            crate::master::find_leader(
                                &c,
                                &parse_zk_url(m.flags.get("master").unwrap_or(""))
                                    .map(|(_, p)| p)
                                    .unwrap_or_else(|| "/mesos".into()),
                            ),
                        )
                        .await
                        {
                            let body = json!({"task_id": task}).to_string();
                            let _ = util::http(
                                "POST",
                                &addr,
                                "/emulator/kill",
                                &[("Content-Type".into(), "application/json".into())],
                                body.as_bytes(),
                                Duration::from_secs(10),
                            )
                            .await;
                        }
                    }
                });
                (StatusCode::OK, out)
            }
            _ => workload::message(
                StatusCode::NOT_FOUND,
                &format!("Task '{task}' does not exist"),
            ),
        },
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"message": "HTTP 405 Method Not Allowed"}),
        ),
    }
}

/// How often a quiet `/v2/events` stream carries a heartbeat.
const EVENT_HEARTBEAT: Duration = Duration::from_secs(5);

/// `/v2/events`: server-sent events, `event_stream_attached` first.
fn events(m: &Arc<Marathon>) -> Response {
    let rx = m.events.subscribe();
    let hello = format!(
        "event: event_stream_attached\ndata: {}\n\n",
        json!({"remoteAddress": "", "eventType": "event_stream_attached", "timestamp": workload::iso(now_f64())})
    );
    let stream = futures_util::stream::unfold((Some(hello), rx), |(first, mut rx)| async move {
        if let Some(h) = first {
            return Some((
                Ok::<_, std::convert::Infallible>(Bytes::from(h)),
                (None, rx),
            ));
        }
        loop {
            // A quiet stream carries a heartbeat (an empty line, as akka-http's
            // `ServerSentEvent.heartbeat`), so subscribers can tell quiet from dead.
            let next = tokio::time::timeout(EVENT_HEARTBEAT, rx.recv()).await;
            match next {
                Err(_) => return Some((Ok(Bytes::from_static(b"\n")), (None, rx))),
                Ok(Ok(e)) => return Some((Ok(Bytes::from(e)), (None, rx))),
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        }
    });
    let mut r = Response::new(axum::body::Body::from_stream(stream));
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    r
}
