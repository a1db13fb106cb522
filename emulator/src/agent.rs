//! The Mesos agent: finds the leading master through ZooKeeper, registers with it and keeps
//! re-registering (after a master failover, after its own restart: it keeps its agent id
//! when its work dir persists, as checkpointed agents do), and serves `/health`, `/state`
//! (503 while recovering), `/flags` and `/metrics/snapshot`.
//!
//! Tasks run as real Docker containers on the agent's host, through the mounted Docker
//! socket, as the Docker containerizer runs them: one container `mesos-<container id>` per
//! task (a command task in the `--docker_mesos_image` image, a Docker task in its own
//! image), labelled with the agent, framework and task. The agent checkpoints its tasks in
//! `<work_dir>/meta/slaves/<agent id>/tasks.json`; restarted on the same work dir it recovers
//! them (still running, same ids). On every start, with `--docker_kill_orphans` (the
//! default), it removes every `mesos-*` container it has no record of, as the real one does:
//! whoever started it, another agent on the same Docker engine included. Resources are
//! accounted by the master, not enforced on the containers.
//!
//! What is emulated: no executors (a task is its container); registration and status
//! reports use private endpoints of the emulated master (the operator never uses them); a
//! machine put DOWN by maintenance has its tasks killed and cannot register until it is UP.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::docker;
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
    ("docker_kill_orphans", Some("true")),
    ("docker_stop_timeout", Some("0ns")),
    ("zk_session_timeout", Some("10secs")),
    ("log_dir", None),
];

/// How long a (re)started agent reports 503 on `/state` while it recovers.
const RECOVERY: Duration = Duration::from_millis(1500);

/// The prefix of every container the Docker containerizer starts (`DOCKER_NAME_PREFIX`);
/// on recovery it takes every container so named for one of its own.
pub const TASK_CONTAINER_PREFIX: &str = "mesos-";

/// The label every task container carries: the agent (`ip:port`) that runs it.
pub const AGENT_LABEL: &str = "io.mesos-emulator.agent";

/// A task as the agent checkpoints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    pub name: String,
    pub framework_id: String,
    #[serde(default)]
    pub cmd: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub cpus: f64,
    #[serde(default)]
    pub mem: f64,
    #[serde(default)]
    pub labels: Value,
    /// Host ports from the agent's `ports` resource.
    #[serde(default)]
    pub ports: Vec<u64>,
    /// The framework's `DiscoveryInfo` (Marathon's names the task's ports).
    #[serde(default)]
    pub discovery: Value,
    /// The command's environment, `KEY=value` each.
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub container_id: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub timestamp: f64,
    /// Reported terminal to a master: dropped from the checkpoint.
    #[serde(skip)]
    pub acked: bool,
}

impl Task {
    fn terminal(&self) -> bool {
        is_terminal(&self.state)
    }

    /// The Docker containerizer's name for the task's container: `mesos-<container id>`.
    fn container(&self) -> String {
        format!("{TASK_CONTAINER_PREFIX}{}", self.container_id)
    }

    /// The task as the master and `/state` report it.
    pub fn to_json(&self, agent_id: &str) -> Value {
        let mut container = json!({"type": "MESOS"});
        if let Some(i) = &self.image {
            container = json!({"type": "DOCKER", "docker": {"image": i, "network": "HOST"}});
        }
        let mut v = json!({
            "id": self.task_id, "name": self.name, "framework_id": self.framework_id,
            "executor_id": "", "slave_id": agent_id, "agent_id": agent_id, "state": self.state,
            "resources": {"cpus": self.cpus, "mem": self.mem, "disk": 0.0, "gpus": 0.0},
            "role": "*", "labels": self.labels, "container": container,
            "statuses": [{"state": self.state, "timestamp": self.timestamp, "message": self.message,
                "container_status": {"container_id": {"value": self.container_id}}}],
        });
        add_ports(
            &mut v,
            &json!({"ports": self.ports, "discovery": self.discovery}),
        );
        v
    }
}

/// A task's ports as Mesos reports them: `resources.ports` as a range string and the
/// framework's `discovery` info, from a launch's `ports` and `discovery`; nothing for a
/// task without ports.
pub fn add_ports(task_json: &mut Value, launch: &Value) {
    let ports: Vec<u64> = launch["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    if !ports.is_empty() {
        task_json["resources"]["ports"] = json!(crate::ports::format_ranges(&ports));
    }
    if launch["discovery"].is_object() {
        task_json["discovery"] = launch["discovery"].clone();
    }
}

/// Whether a Mesos task state is terminal.
pub fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "TASK_FINISHED"
            | "TASK_FAILED"
            | "TASK_KILLED"
            | "TASK_LOST"
            | "TASK_ERROR"
            | "TASK_DROPPED"
            | "TASK_GONE"
            | "TASK_GONE_BY_OPERATOR"
    )
}

#[derive(Default)]
struct State {
    id: String,
    registered: bool,
    master_hostname: String,
    master_pid: String,
    tasks: BTreeMap<String, Task>,
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
    meta: String,
    id_file: String,
    state: Mutex<State>,
}

impl Agent {
    fn me(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn checkpoint(&self, st: &State) {
        if st.id.is_empty() {
            return;
        }
        let dir = format!("{}/{}", self.meta, st.id);
        let _ = std::fs::create_dir_all(&dir);
        let tasks: Vec<&Task> = st.tasks.values().filter(|t| !t.acked).collect();
        let tmp = format!("{dir}/tasks.json.tmp");
        let data = serde_json::to_vec_pretty(&tasks).unwrap_or_default();
        if std::fs::write(&tmp, data).is_ok() {
            let _ = std::fs::rename(&tmp, format!("{dir}/tasks.json"));
        }
    }
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
    let mut tasks = BTreeMap::new();
    if !id.is_empty() {
        log!("Recovering agent {id} from {work_dir}");
        if let Ok(d) = std::fs::read(format!("{meta}/{id}/tasks.json")) {
            for t in serde_json::from_slice::<Vec<Task>>(&d).unwrap_or_default() {
                log!(
                    "Recovering task {} of framework {}",
                    t.task_id,
                    t.framework_id
                );
                tasks.insert(t.task_id.clone(), t);
            }
        }
    }
    let session = flags
        .duration("zk_session_timeout")
        .unwrap_or(Duration::from_secs(10));
    let a = Arc::new(Agent {
        flags,
        version,
        broken,
        ip: ip.clone(),
        port,
        hostname,
        started: Instant::now(),
        start_time: now_f64(),
        meta,
        id_file,
        state: Mutex::new(State {
            id,
            tasks,
            ..Default::default()
        }),
    });
    if !a.broken {
        let zk = match util::zk_connect(&zk_servers, session, Duration::from_secs(60)).await {
            Ok(c) => c,
            Err(e) => exit_with(&format!("Failed to connect to ZooKeeper {zk_servers}: {e}")),
        };
        tokio::spawn(recover_and_monitor(a.clone()));
        tokio::spawn(register_loop(a.clone(), zk, zk_servers, session, zk_path));
    }
    let app = axum::Router::new().fallback(handle).with_state(a);
    let addr = format!("{ip}:{port}");
    util::serve(app, &addr).await;
}

/// Finishes cut-short launches and kills, removes orphans once, then follows each task's
/// container.
async fn recover_and_monitor(a: Arc<Agent>) {
    // Launches and kills cut short by the agent's own restart are finished now.
    let pending: Vec<(String, String)> = a
        .lock()
        .tasks
        .values()
        .filter(|t| t.state == "TASK_STAGING" || t.state == "TASK_KILLING")
        .map(|t| (t.task_id.clone(), t.state.clone()))
        .collect();
    for (id, state) in pending {
        if state == "TASK_STAGING" {
            tokio::spawn(launch(a.clone(), id));
        } else {
            tokio::spawn(kill(
                a.clone(),
                id,
                "TASK_KILLED",
                "Killed by the framework".into(),
            ));
        }
    }
    recover_orphans(&a).await;
    loop {
        monitor_once(&a).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The Docker containerizer's recovery (mesos@1.11.0:src/slave/containerizer/docker.cpp,
/// `recover` and `__recover`), on every start, with a checkpoint or without: it lists every
/// container named `mesos-*`, running or not, and with `--docker_kill_orphans` (the default)
/// stops and removes each one that is not one of its own checkpointed containers, whoever
/// started it. On a Docker engine shared with another agent (another cluster's, on the same
/// host) that is the other agent's tasks: Mesos' flag documentation says to set it false
/// when several agents run in one OS.
async fn recover_orphans(a: &Arc<Agent>) {
    let listed = match docker::list_named(TASK_CONTAINER_PREFIX).await {
        Ok(cs) => cs,
        Err(e) => {
            log!("Failed to list Docker containers for recovery: {e}");
            return;
        }
    };
    let known: Vec<String> = a.lock().tasks.values().map(Task::container).collect();
    let orphans: Vec<String> = listed
        .iter()
        .map(|c| docker::name_of(c).to_string())
        .filter(|name| !known.contains(name))
        .collect();
    if a.flags.get("docker_kill_orphans") == Some("false") {
        for name in &orphans {
            log!("Skipping orphaned Docker container '{name}' (--docker_kill_orphans=false)");
        }
        return;
    }
    let grace = a
        .flags
        .duration("docker_stop_timeout")
        .unwrap_or(Duration::ZERO);
    for name in &orphans {
        log!("Removing orphaned Docker container '{name}'");
        if let Err(e) = docker::stop_and_remove(name, grace).await {
            log!("Failed to remove orphaned Docker container '{name}': {e}");
        }
    }
    log!("Finished processing orphaned Docker containers");
}

async fn monitor_once(a: &Arc<Agent>) {
    let live: Vec<Task> = a
        .lock()
        .tasks
        .values()
        .filter(|t| !t.terminal() && t.state != "TASK_STAGING" && t.state != "TASK_KILLING")
        .cloned()
        .collect();
    for t in live {
        let next = match docker::inspect(&t.container()).await {
            Ok(Some(c)) => {
                let s = &c["State"];
                if s["Running"] == true {
                    ("TASK_RUNNING", String::new())
                } else if s["Status"] == "created" {
                    continue;
                } else if s["ExitCode"].as_i64() == Some(0) {
                    ("TASK_FINISHED", "Command exited with status 0".to_string())
                } else {
                    (
                        "TASK_FAILED",
                        format!(
                            "Command exited with status {}",
                            s["ExitCode"].as_i64().unwrap_or(-1)
                        ),
                    )
                }
            }
            Ok(None) => ("TASK_FAILED", "Container terminated".to_string()),
            Err(_) => continue,
        };
        update(a, &t.task_id, next.0, &next.1);
    }
}

fn update(a: &Agent, task_id: &str, state: &str, message: &str) {
    let mut st = a.lock();
    let Some(t) = st.tasks.get_mut(task_id) else {
        return;
    };
    if t.state == state || t.terminal() {
        return;
    }
    log!(
        "Task {task_id} is in state {state}{}",
        if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        }
    );
    t.state = state.to_string();
    t.message = message.to_string();
    t.timestamp = now_f64();
    a.checkpoint(&st);
}

async fn launch(a: Arc<Agent>, task_id: String) {
    let Some(t) = a.lock().tasks.get(&task_id).cloned() else {
        return;
    };
    let image = match t
        .image
        .clone()
        .or_else(|| a.flags.get("docker_mesos_image").map(str::to_string))
    {
        Some(i) => i,
        None => {
            update(
                &a,
                &task_id,
                "TASK_FAILED",
                "Command tasks need --docker_mesos_image in the emulator",
            );
            return;
        }
    };
    if let Err(e) = docker::ensure_image(&image).await {
        update(&a, &task_id, "TASK_FAILED", &e);
        return;
    }
    let mut labels = serde_json::Map::new();
    labels.insert(AGENT_LABEL.into(), json!(a.me()));
    labels.insert("io.mesos-emulator.task-id".into(), json!(t.task_id));
    labels.insert(
        "io.mesos-emulator.framework-id".into(),
        json!(t.framework_id),
    );
    for l in t.labels["labels"].as_array().into_iter().flatten() {
        if let (Some(k), Some(v)) = (l["key"].as_str(), l["value"].as_str()) {
            labels.insert(k.to_string(), json!(v));
        }
    }
    let mut env = t.env.clone();
    env.extend([
        format!("MESOS_TASK_ID={}", t.task_id),
        format!("MESOS_AGENT_ID={}", a.lock().id),
        format!("HOST={}", a.hostname),
    ]);
    let mut spec = json!({
        "Image": image, "Labels": labels, "Env": env,
        "HostConfig": {"NetworkMode": "host", "RestartPolicy": {"Name": "no"}},
    });
    if let Some(cmd) = &t.cmd {
        // As the Docker containerizer runs a shell command: `--entrypoint /bin/sh ... -c cmd`.
        spec["Entrypoint"] = json!(["/bin/sh"]);
        spec["Cmd"] = json!(["-c", cmd]);
    }
    match docker::run(&t.container(), &spec).await {
        Ok(()) => update(&a, &task_id, "TASK_RUNNING", ""),
        Err(e) => update(&a, &task_id, "TASK_FAILED", &e),
    }
}

async fn kill(a: Arc<Agent>, task_id: String, state: &'static str, message: String) {
    let Some(t) = a.lock().tasks.get(&task_id).cloned() else {
        return;
    };
    let grace = a
        .flags
        .duration("docker_stop_timeout")
        .unwrap_or(Duration::ZERO);
    if let Err(e) = docker::stop_and_remove(&t.container(), grace).await {
        log!("Failed to kill task {task_id}: {e}");
        return;
    }
    let mut st = a.lock();
    if let Some(t) = st.tasks.get_mut(&task_id) {
        log!("Task {task_id} is in state {state}");
        t.state = state.to_string();
        t.message = message;
        t.timestamp = now_f64();
    }
    a.checkpoint(&st);
}

/// Registers with the leading master, and again with each new one, for the agent's life.
///
/// The master detector outlives its ZooKeeper session: when the session expires (the agent
/// was cut off from the ensemble for longer than `--zk_session_timeout`), Mesos' detector
/// (`ZooKeeperMasterDetector` over `Group`, mesos@1.11.0:src/zookeeper/group.cpp,
/// `GroupProcess::expired`) creates a new session and reads the election again; the agent
/// keeps running, with its tasks, and re-registers with whichever master leads by then.
async fn register_loop(
    a: Arc<Agent>,
    mut zk: zookeeper_client::Client,
    zk_servers: String,
    session: Duration,
    zk_path: String,
) {
    tokio::time::sleep(RECOVERY).await;
    let mut failures = 0;
    loop {
        if zk.state().is_terminated() {
            log!("ZooKeeper session expired; creating a new session to detect the leading master");
            match util::zk_connect(&zk_servers, session, Duration::from_secs(10)).await {
                Ok(c) => {
                    log!("New ZooKeeper session established");
                    zk = c;
                }
                Err(e) => {
                    log!("Failed to create a new ZooKeeper session: {e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let leader = crate::master::find_leader(&zk, &zk_path).await;
        let (id, reported) = {
            let st = a.lock();
            let tasks: Vec<Value> = st.tasks.values().map(|t| t.to_json(&st.id)).collect();
            (st.id.clone(), tasks)
        };
        let body = json!({
            "id": id, "hostname": a.hostname, "ip": a.ip, "port": a.port,
            "pid": format!("slave(1)@{}:{}", a.ip, a.port), "version": a.version,
            "tasks": reported,
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
        let mut shutdown = false;
        {
            let mut st = a.lock();
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
                    st.master_pid = v["master_pid"].as_str().unwrap_or_default().to_string();
                    for id in v["kill"].as_array().into_iter().flatten() {
                        let Some(id) = id.as_str() else { continue };
                        if let Some(t) = st.tasks.get_mut(id).filter(|t| !t.terminal()) {
                            log!("Killing task {id}: the master no longer knows it");
                            t.state = "TASK_KILLING".into();
                            tokio::spawn(kill(
                                a.clone(),
                                id.to_string(),
                                "TASK_KILLED",
                                "Killed: unknown to the master".into(),
                            ));
                        }
                    }
                    // Terminal updates the master has now seen are acknowledged.
                    let mut changed = false;
                    for t in st.tasks.values_mut() {
                        if t.terminal()
                            && reported.iter().any(|r| {
                                r["id"] == t.task_id.as_str() && r["state"] == t.state.as_str()
                            })
                        {
                            t.acked = true;
                            changed = true;
                        }
                    }
                    st.tasks.retain(|_, t| !t.acked);
                    if changed {
                        a.checkpoint(&st);
                    }
                }
                Ok(r) if r.status == 403 => {
                    if st.registered || st.tasks.values().any(|t| !t.terminal()) {
                        log!("Agent asked to shut down by {} because 'Operator initiated 'Machine DOWN''", st.master_pid);
                        shutdown = true;
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
        if shutdown {
            // The master has already reported these tasks lost; their containers go.
            let ids: Vec<String> = {
                let mut st = a.lock();
                let mut ids = Vec::new();
                for t in st.tasks.values_mut().filter(|t| !t.terminal()) {
                    t.state = "TASK_KILLING".into();
                    ids.push(t.task_id.clone());
                }
                ids
            };
            for id in ids {
                kill(a.clone(), id, "TASK_KILLED", "Agent shut down".into()).await;
            }
            let mut st = a.lock();
            st.tasks.clear();
            a.checkpoint(&st);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// The agent's libprocess id is `slave(1)`: `/state` ≡ `/slave(1)/state`.
fn route(path: &str) -> String {
    let p = path.trim_end_matches('/');
    p.strip_prefix("/slave(1)")
        .or_else(|| p.strip_prefix("/slave%281%29"))
        .unwrap_or(p)
        .to_string()
}

async fn handle(
    axum::extract::State(a): axum::extract::State<Arc<Agent>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    if a.broken {
        return (StatusCode::SERVICE_UNAVAILABLE, "Agent is not healthy").into_response();
    }
    let path = route(uri.path());
    match (method.as_str(), path.as_str()) {
        ("POST", "/emulator/launch") => return launch_request(&a, &body),
        ("POST", "/emulator/kill") => {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let id = v["task_id"].as_str().unwrap_or_default().to_string();
            let mut st = a.lock();
            let Some(t) = st.tasks.get_mut(&id) else {
                return (StatusCode::NOT_FOUND, "Unknown task").into_response();
            };
            if !t.terminal() {
                t.state = "TASK_KILLING".into();
                t.timestamp = now_f64();
                a.checkpoint(&st);
                tokio::spawn(kill(
                    a.clone(),
                    id,
                    "TASK_KILLED",
                    "Killed by the framework".into(),
                ));
            }
            return StatusCode::ACCEPTED.into_response();
        }
        _ => {}
    }
    let st = a.lock();
    match path.as_str() {
        "/health" => StatusCode::OK.into_response(),
        "/flags" => json_response(StatusCode::OK, &json!({"flags": a.flags.all()})),
        "/state" => {
            if a.started.elapsed() < RECOVERY {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Agent has not finished recovery",
                )
                    .into_response();
            }
            json_response(StatusCode::OK, &state_json(&a, &st))
        }
        "/metrics/snapshot" => {
            let running = st
                .tasks
                .values()
                .filter(|t| t.state == "TASK_RUNNING")
                .count() as f64;
            let fws: std::collections::BTreeSet<&str> =
                st.tasks.values().map(|t| t.framework_id.as_str()).collect();
            json_response(
                StatusCode::OK,
                &json!({
                    "slave/registered": if st.registered { 1.0 } else { 0.0 },
                    "slave/uptime_secs": now_f64() - a.start_time,
                    "slave/recovery_errors": 0.0, "slave/frameworks_active": fws.len() as f64,
                    "slave/tasks_running": running, "slave/executors_running": running,
                }),
            )
        }
        _ => (StatusCode::NOT_FOUND, "").into_response(),
    }
}

fn state_json(a: &Agent, st: &State) -> Value {
    let mut fws: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for t in st.tasks.values().filter(|t| !t.terminal()) {
        fws.entry(t.framework_id.as_str()).or_default().push(json!({
            "id": t.task_id, "name": t.name, "container": t.container_id,
            "tasks": [t.to_json(&st.id)], "queued_tasks": [], "completed_tasks": [],
            "resources": {"cpus": t.cpus, "mem": t.mem},
        }));
    }
    let frameworks: Vec<Value> = fws
        .into_iter()
        .map(|(id, executors)| json!({"id": id, "executors": executors, "completed_executors": []}))
        .collect();
    json!({
        "version": a.version, "start_time": a.start_time,
        "id": if st.registered { st.id.clone() } else { String::new() },
        "pid": format!("slave(1)@{}:{}", a.ip, a.port), "hostname": a.hostname,
        "resources": {"cpus": 4.0, "gpus": 0.0, "mem": 7680.0, "disk": 40000.0, "ports": "[31000-32000]"},
        "attributes": {}, "master_hostname": st.master_hostname,
        "log_dir": a.flags.get("log_dir").unwrap_or(""), "flags": a.flags.all(),
        "frameworks": frameworks, "completed_frameworks": [],
    })
}

fn launch_request(a: &Arc<Agent>, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (StatusCode::BAD_REQUEST, "bad task").into_response();
    };
    let t = &v["task"];
    let Some(task_id) = t["task_id"].as_str().map(str::to_string) else {
        return (StatusCode::BAD_REQUEST, "task without task_id").into_response();
    };
    let mut st = a.lock();
    if !st.registered {
        return (StatusCode::SERVICE_UNAVAILABLE, "Agent is not registered").into_response();
    }
    if st.tasks.contains_key(&task_id) {
        return StatusCode::ACCEPTED.into_response();
    }
    let task = Task {
        task_id: task_id.clone(),
        name: t["name"].as_str().unwrap_or(&task_id).to_string(),
        framework_id: v["framework_id"].as_str().unwrap_or_default().to_string(),
        cmd: t["cmd"].as_str().map(str::to_string),
        image: t["image"].as_str().map(str::to_string),
        cpus: t["cpus"].as_f64().unwrap_or(0.1),
        mem: t["mem"].as_f64().unwrap_or(32.0),
        labels: t["labels"].clone(),
        ports: t["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect(),
        discovery: t["discovery"].clone(),
        env: t["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect(),
        container_id: util::uuid(),
        state: "TASK_STAGING".into(),
        message: String::new(),
        timestamp: now_f64(),
        acked: false,
    };
    log!(
        "Launching task {task_id} for framework {}",
        task.framework_id
    );
    st.tasks.insert(task_id.clone(), task);
    a.checkpoint(&st);
    tokio::spawn(launch(a.clone(), task_id));
    StatusCode::ACCEPTED.into_response()
}
