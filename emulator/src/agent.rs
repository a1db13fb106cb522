//! The Mesos agent: finds the leading master through ZooKeeper, registers with it and keeps
//! re-registering (after a master failover, after its own restart: it keeps its agent id
//! when its work dir persists, as checkpointed agents do), and serves `/health`, `/state`
//! (503 while recovering) and `/metrics/snapshot`.
//!
//! What is emulated: no executors or tasks; registration uses a private endpoint of the
//! emulated master (the operator never uses it); a machine put DOWN by maintenance cannot
//! register until it is UP.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::flags::{parse_zk_url, Flags};
use crate::log;
use crate::util::{self, exit_with, now_f64};

const KNOWN: &[(&str, Option<&str>)] = &[
    ("master", None),
    ("ip", None),
    ("port", Some("5051")),
    ("hostname", None),
    ("work_dir", None),
    ("containerizers", Some("mesos")),
    ("isolation", Some("posix/cpu,posix/mem")),
    ("executor_registration_timeout", Some("1mins")),
    ("recover", Some("reconnect")),
    ("recovery_timeout", Some("15mins")),
    ("docker_mesos_image", None),
    ("log_dir", None),
];

/// How long a (re)started agent reports 503 on `/state` while it recovers.
const RECOVERY: Duration = Duration::from_millis(1500);

#[derive(Default)]
struct State {
    id: String,
    registered: bool,
    master_hostname: String,
}

struct Agent {
    flags: Flags,
    version: String,
    broken: bool,
    ip: String,
    port: u16,
    hostname: String,
    started: Instant,
    start_time: f64,
    id_file: String,
    state: Mutex<State>,
}

/// Runs the agent until it exits.
pub async fn run(args: Vec<String>, version: String, broken: bool) {
    let flags = Flags::parse(&args, "MESOS_", KNOWN);
    let Some(work_dir) = flags.get("work_dir").map(str::to_string) else {
        exit_with("Flag 'work_dir' is required, but it was not provided");
    };
    let Some((zk_servers, zk_path)) = flags.get("master").and_then(parse_zk_url) else {
        exit_with("Flag 'master' must be zk://host:port[,host:port]/path");
    };
    let ip = flags.get("ip").unwrap_or("127.0.0.1").to_string();
    let port: u16 = flags
        .get("port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(5051);
    let hostname = flags.get("hostname").unwrap_or(&ip).to_string();
    let meta = format!("{work_dir}/meta/slaves");
    let _ = std::fs::create_dir_all(&meta);
    let id_file = format!("{meta}/latest");
    let id = std::fs::read_to_string(&id_file)
        .unwrap_or_default()
        .trim()
        .to_string();
    if !id.is_empty() {
        log!("Recovering agent {id} from {work_dir}");
    }
    let a = Arc::new(Agent {
        flags,
        version,
        broken,
        ip: ip.clone(),
        port,
        hostname,
        started: Instant::now(),
        start_time: now_f64(),
        id_file,
        state: Mutex::new(State {
            id,
            ..Default::default()
        }),
    });
    if !a.broken {
        let zk = match util::zk_connect(&zk_servers, Duration::from_secs(60)).await {
            Ok(c) => c,
            Err(e) => exit_with(&format!("Failed to connect to ZooKeeper {zk_servers}: {e}")),
        };
        tokio::spawn(register_loop(a.clone(), zk, zk_path));
    }
    let app = axum::Router::new().fallback(handle).with_state(a);
    let addr = format!("{ip}:{port}");
    util::serve(app, &addr).await;
}

async fn register_loop(a: Arc<Agent>, zk: zookeeper_client::Client, zk_path: String) {
    tokio::time::sleep(RECOVERY).await;
    let mut failures = 0;
    loop {
        let leader = crate::master::find_leader(&zk, &zk_path).await;
        let id = a.state.lock().unwrap_or_else(|e| e.into_inner()).id.clone();
        let body = json!({
            "id": id, "hostname": a.hostname, "ip": a.ip, "port": a.port,
            "pid": format!("slave(1)@{}:{}", a.ip, a.port), "version": a.version,
        })
        .to_string();
        let res = match &leader {
            Some((addr, _)) => {
                util::http(
                    "POST",
                    addr,
                    "/emulator/register-agent",
                    &[("Content-Type".into(), "application/json".into())],
                    body.as_bytes(),
                    Duration::from_secs(2),
                )
                .await
            }
            None => Err("no leading master".into()),
        };
        {
            let mut st = a.state.lock().unwrap_or_else(|e| e.into_inner());
            match res {
                Ok(r) if r.status == 200 => {
                    failures = 0;
                    let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                    let new_id = v["id"].as_str().unwrap_or_default().to_string();
                    if new_id != st.id {
                        log!("Registered with master as agent {new_id}");
                        let _ = std::fs::write(&a.id_file, &new_id);
                        st.id = new_id;
                    } else if !st.registered {
                        log!("Re-registered with master as agent {}", st.id);
                    }
                    st.registered = true;
                    st.master_hostname = v["master_hostname"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                }
                Ok(r) if r.status == 403 => {
                    if st.registered {
                        log!("Agent asked to shut down: machine is DOWN for maintenance");
                    }
                    st.registered = false;
                }
                _ => {
                    failures += 1;
                    if failures >= 3 {
                        st.registered = false;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn json_response(v: &Value) -> Response {
    let mut r = (StatusCode::OK, v.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

async fn handle(
    axum::extract::State(a): axum::extract::State<Arc<Agent>>,
    uri: Uri,
    _body: Bytes,
) -> Response {
    if a.broken {
        return (StatusCode::SERVICE_UNAVAILABLE, "Agent is not healthy").into_response();
    }
    let st = a.state.lock().unwrap_or_else(|e| e.into_inner());
    match uri.path().trim_end_matches('/') {
        "/health" | "/slave(1)/health" => StatusCode::OK.into_response(),
        "/state" | "/slave(1)/state" => {
            if a.started.elapsed() < RECOVERY {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Agent has not finished recovery",
                )
                    .into_response();
            }
            json_response(&json!({
                "version": a.version, "start_time": a.start_time,
                "id": if st.registered { st.id.clone() } else { String::new() },
                "pid": format!("slave(1)@{}:{}", a.ip, a.port), "hostname": a.hostname,
                "resources": {"cpus": 4.0, "gpus": 0.0, "mem": 7680.0, "disk": 40000.0, "ports": "[31000-32000]"},
                "attributes": {}, "master_hostname": st.master_hostname,
                "log_dir": a.flags.get("log_dir").unwrap_or(""), "flags": a.flags.all(),
                "frameworks": [], "completed_frameworks": [],
            }))
        }
        "/metrics/snapshot" => json_response(&json!({
            "slave/registered": if st.registered { 1.0 } else { 0.0 },
            "slave/uptime_secs": now_f64() - a.start_time,
            "slave/recovery_errors": 0.0, "slave/frameworks_active": 0.0,
            "slave/tasks_running": 0.0, "slave/executors_running": 0.0,
        })),
        _ => (StatusCode::NOT_FOUND, "").into_response(),
    }
}
