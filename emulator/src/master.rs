//! The Mesos master: ZooKeeper leader election through `json.info_` EPHEMERAL|SEQUENTIAL
//! nodes, replicated-log quorum through `log_replicas` members, and the HTTP endpoints of
//! `shared/reference/mesos-marathon-api.md` §1, §3 and §5, shaped field by field.
//!
//! Tasks: the leader keeps the tasks its agents report (each agent re-registers with its
//! tasks, so a new leader learns them within a second), launches and kills them on the
//! agent for a framework, marks the tasks of an agent that stops answering
//! (`--agent_ping_timeout` × `--max_agent_ping_timeouts`) `TASK_UNREACHABLE` and those of a
//! machine put DOWN `TASK_LOST`, and lists them in `/master/state`, `/master/tasks` (`/tasks`).
//!
//! What is emulated: no offers (the framework asks for a launch on an agent it picked from
//! `/master/state`). The registry (admitted agents, maintenance) is in each master's work
//! dir, `<work_dir>/replicated_log`, written by the leader to every replica before it
//! answers a change and recovered by a new leader from a quorum of them
//! ([`crate::registry`]); agents it admitted wait in `recovered_slaves` until they
//! re-register. The log counts as recovered while at least `--quorum` masters of the cluster
//! are up (their replicas visible in `log_replicas`), and the elected leader exits after
//! `--registry_fetch_timeout` without it, as the real one does. Each master's `--quorum`
//! (to warn when they disagree) lives under the emulator's own ZooKeeper root,
//! `/mesos-emulator`, never in the nodes clients read.
//!
//! HTTP authentication as Mesos 1.x does it (apache/mesos `docs/authentication.md`,
//! `src/master/master.cpp` `Master::initialize`): with `--authenticate_http_readwrite` the
//! endpoints routed in the `mesos-master-readwrite` realm, with
//! `--authenticate_http_readonly` those in `mesos-master-readonly`, answer 401 with
//! `WWW-Authenticate: Basic realm="<realm>"` unless the request carries a principal and
//! secret of the `--credentials` file ([`crate::basic_auth`]). Either flag without
//! `--credentials` is fatal at start, as in Mesos. `/health`, `/version` and `/redirect`
//! are in no realm. The emulator's own `/emulator/*` calls stand for agent and framework
//! registration, which HTTP authentication does not cover (`--authenticate_agents` and
//! `--authenticate_frameworks` do, through SASL), and stay open.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use zookeeper_client as zk;

use crate::basic_auth;
use crate::flags::{parse_zk_url, Flags};
use crate::log;
use crate::registry::{self, AdmittedAgent, Registry};
use crate::util::{self, exit_with, now_f64};

const KNOWN: &[(&str, Option<&str>)] = &[
    ("zk", None),
    ("quorum", None),
    ("work_dir", None),
    ("ip", None),
    ("port", Some("5050")),
    ("hostname", None),
    ("cluster", None),
    ("log_dir", None),
    ("registry", Some("replicated_log")),
    ("zk_session_timeout", Some("10secs")),
    ("registry_fetch_timeout", Some("1mins")),
    ("agent_reregister_timeout", Some("10mins")),
    ("agent_ping_timeout", Some("15secs")),
    ("max_agent_ping_timeouts", Some("5")),
    ("log_auto_initialize", Some("true")),
    ("logging_level", Some("INFO")),
    ("authenticate_http_readwrite", Some("false")),
    ("authenticate_http_readonly", Some("false")),
    ("credentials", None),
];

/// The master's HTTP authentication realms (mesos@1.11.0:src/master/constants.hpp).
const READONLY_REALM: &str = "mesos-master-readonly";
const READWRITE_REALM: &str = "mesos-master-readwrite";

/// The realm an endpoint is routed in (apache/mesos `src/master/master.cpp`, the `route(...)`
/// calls of `Master::initialize`; `/metrics/snapshot` is libprocess' metrics endpoint, in the
/// readonly realm `src/master/main.cpp` gives `process::initialize`). `None`: no realm.
/// `/maintenance/schedule` is readwrite for GET too: the realm is per route, not per method.
fn realm_of(path: &str) -> Option<&'static str> {
    match path {
        "/master/maintenance/schedule"
        | "/master/machine/down"
        | "/master/machine/up"
        | "/master/teardown"
        | "/master/reserve"
        | "/master/unreserve"
        | "/master/create-volumes"
        | "/master/destroy-volumes"
        | "/master/weights"
        | "/master/quota"
        | "/master/api/v1" => Some(READWRITE_REALM),
        "/master/state"
        | "/master/state.json"
        | "/master/state-summary"
        | "/master/slaves"
        | "/master/frameworks"
        | "/master/tasks"
        | "/master/roles"
        | "/master/flags"
        | "/master/maintenance/status"
        | "/metrics/snapshot" => Some(READONLY_REALM),
        _ => None,
    }
}

/// Which realms demand credentials, and the credentials (principal → secret).
#[derive(Debug, Default)]
struct HttpAuth {
    readonly: bool,
    readwrite: bool,
    credentials: BTreeMap<String, String>,
}

/// A boolean flag as stout parses it (`true`/`1`, `false`/`0`).
fn flag_bool(flags: &Flags, name: &str) -> bool {
    matches!(flags.get(name), Some("true" | "1"))
}

/// The authentication flags; a realm turned on without credentials is fatal
/// (mesos@1.11.0:src/common/http.cpp `createBasicAuthenticator`).
fn http_auth(flags: &Flags) -> HttpAuth {
    let readonly = flag_bool(flags, "authenticate_http_readonly");
    let readwrite = flag_bool(flags, "authenticate_http_readwrite");
    let credentials = match flags.get("credentials") {
        Some(path) => basic_auth::load_mesos_credentials(path).unwrap_or_else(|e| exit_with(&e)),
        None => BTreeMap::new(),
    };
    if (readonly || readwrite) && flags.get("credentials").is_none() {
        let realm = if readonly {
            READONLY_REALM
        } else {
            READWRITE_REALM
        };
        exit_with(&format!(
            "No credentials provided for the default 'basic' HTTP authenticator for realm '{realm}'"
        ));
    }
    HttpAuth {
        readonly,
        readwrite,
        credentials,
    }
}

#[derive(Debug, Clone)]
struct AgentRec {
    id: String,
    hostname: String,
    ip: String,
    port: u64,
    pid: String,
    version: String,
    registered_time: f64,
    reregistered_time: Option<f64>,
    last_seen: Instant,
    active: bool,
}

#[derive(Debug, Clone)]
struct FrameworkRec {
    id: String,
    name: String,
    hostname: String,
    webui_url: String,
    registered_time: f64,
    last_seen: Instant,
}

#[derive(Debug, Clone)]
struct TaskRec {
    json: Value,
    agent_id: String,
    framework_id: String,
    since: Instant,
}

impl TaskRec {
    fn state(&self) -> &str {
        self.json["state"].as_str().unwrap_or_default()
    }
    fn set_state(&mut self, state: &str, message: &str) {
        self.json["state"] = json!(state);
        let mut statuses = self.json["statuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        statuses.push(json!({"state": state, "timestamp": now_f64(), "message": message}));
        self.json["statuses"] = json!(statuses);
    }
}

/// How long a launched task may be missing from its agent's reports before it is lost.
const LAUNCH_GRACE: Duration = Duration::from_secs(10);
/// Completed tasks kept for `/master/tasks` and `completed_tasks`.
const COMPLETED_KEPT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MachineMode {
    Draining,
    Down,
}

#[derive(Debug, Default)]
struct State {
    my_node: String,
    /// The lowest election node: the leader's (a restarted master's stale node carries its
    /// own pid until the old session expires, and is not its own).
    leader_node: Option<String>,
    leader: Option<Value>,
    elected_time: Option<f64>,
    replicas: usize,
    recovered: bool,
    without_quorum_since: Option<Instant>,
    agents: BTreeMap<String, AgentRec>,
    agent_counter: u64,
    frameworks: BTreeMap<String, FrameworkRec>,
    framework_counter: u64,
    schedule: Value,
    machines: BTreeMap<(String, String), MachineMode>,
    warned_quorum: bool,
    tasks: BTreeMap<String, TaskRec>,
    completed: VecDeque<Value>,
    completed_ids: BTreeSet<String>,
    /// Agents the recovered registry admitted that have not re-registered with this leader
    /// yet (`recovered_slaves`), and since when.
    recovered_agents: BTreeMap<String, AdmittedAgent>,
    recovered_at: Option<Instant>,
    /// The registry as this master last wrote or recovered it.
    log: Registry,
    /// Whether this leader has recovered the registry (it admits no agent before).
    registry_ready: bool,
    /// The other masters' replicas: `log_replicas` node → `ip:port`.
    peers: BTreeMap<String, String>,
}

impl State {
    /// Ends a task: it leaves the active tasks for the completed ones.
    fn complete(&mut self, task_id: &str, state: &str, message: &str) {
        if let Some(mut t) = self.tasks.remove(task_id) {
            if t.state() != state {
                t.set_state(state, message);
            }
            log!(
                "Task {task_id} of framework {} is now {state}{}",
                t.framework_id,
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            );
            self.completed_ids.insert(task_id.to_string());
            self.completed.push_back(t.json);
            while self.completed.len() > COMPLETED_KEPT {
                if let Some(old) = self.completed.pop_front() {
                    if let Some(id) = old["id"].as_str() {
                        self.completed_ids.remove(id);
                    }
                }
            }
        }
    }

    /// Every task of an agent ends with `state`.
    fn complete_agent_tasks(&mut self, agent_id: &str, state: &str, message: &str) {
        let ids: Vec<String> = self
            .tasks
            .values()
            .filter(|t| t.agent_id == agent_id)
            .map(|t| t.json["id"].as_str().unwrap_or_default().to_string())
            .collect();
        for id in ids {
            self.complete(&id, state, message);
        }
    }
}

struct Master {
    flags: Flags,
    version: String,
    broken: bool,
    id: String,
    ip: String,
    port: u16,
    hostname: String,
    start_time: f64,
    quorum: usize,
    work_dir: String,
    zk_path: String,
    zk: Option<zk::Client>,
    http_auth: HttpAuth,
    state: Mutex<State>,
}

type Shared = Arc<Master>;

impl Master {
    fn pid(&self) -> String {
        format!("master@{}:{}", self.ip, self.port)
    }

    fn elected(&self, st: &State) -> bool {
        !st.my_node.is_empty() && st.leader_node.as_deref() == Some(st.my_node.as_str())
    }

    fn info(&self) -> Value {
        let ip_num = self
            .ip
            .parse::<std::net::Ipv4Addr>()
            .map(|a| u32::from_le_bytes(a.octets()))
            .unwrap_or(0);
        json!({
            "address": {"hostname": self.hostname, "ip": self.ip, "port": self.port},
            "capabilities": [{"type": "AGENT_UPDATE"}, {"type": "AGENT_DRAINING"}, {"type": "QUOTA_V2"}],
            "hostname": self.hostname, "id": self.id, "ip": ip_num, "pid": self.pid(),
            "port": self.port, "version": self.version,
        })
    }
}

/// Runs the master until it exits.
pub async fn run(args: Vec<String>, version: String, broken: bool) {
    let flags = Flags::parse(&args, "MESOS_", KNOWN);
    let Some(work_dir) = flags.get("work_dir").map(str::to_string) else {
        exit_with("Flag 'work_dir' is required, but it was not provided");
    };
    let quorum: Option<usize> = flags.get("quorum").and_then(|q| q.parse().ok());
    let zk_url = flags.get("zk").map(str::to_string);
    if zk_url.is_some() && quorum.is_none() && flags.get("registry") == Some("replicated_log") {
        exit_with(
            "Need to specify --quorum for replicated log based registry when using ZooKeeper",
        );
    }
    let ip = flags.get("ip").unwrap_or("127.0.0.1").to_string();
    let port: u16 = flags
        .get("port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(5050);
    let hostname = flags.get("hostname").unwrap_or(&ip).to_string();
    let _ = std::fs::create_dir_all(format!("{work_dir}/replicated_log"));
    // The replica's own copy, read at start: a log that cannot be read stops the master.
    let log = registry::load(&work_dir).unwrap_or_else(|e| exit_with(&e));
    let (zk_servers, zk_path) = match zk_url.as_deref().map(parse_zk_url) {
        Some(Some(p)) => p,
        Some(None) => exit_with("Failed to parse --zk: expected zk://host:port[,host:port]/path"),
        None => (String::new(), String::new()),
    };
    let zk = if zk_servers.is_empty() {
        None
    } else {
        let session = flags
            .duration("zk_session_timeout")
            .unwrap_or(Duration::from_secs(10));
        match util::zk_connect(&zk_servers, session, Duration::from_secs(60)).await {
            Ok(c) => Some(c),
            Err(e) => exit_with(&format!("Failed to connect to ZooKeeper {zk_servers}: {e}")),
        }
    };
    let http_auth = http_auth(&flags);
    let m: Shared = Arc::new(Master {
        version,
        broken,
        id: util::uuid(),
        ip: ip.clone(),
        port,
        hostname,
        start_time: now_f64(),
        quorum: quorum.unwrap_or(1),
        work_dir,
        zk_path,
        zk,
        flags,
        http_auth,
        state: Mutex::new(State {
            schedule: json!({}),
            log,
            ..Default::default()
        }),
    });
    log!(
        "Master {} ({}) started on {}:{} with quorum {}",
        m.id,
        m.version,
        ip,
        port,
        m.quorum
    );
    if !m.broken {
        if let Some(c) = &m.zk {
            util::exit_on_session_loss(c, "Master");
            if let Err(e) = contend(&m, c).await {
                exit_with(&format!("Failed to contend for leadership: {e}"));
            }
            tokio::spawn(elect_loop(m.clone()));
        } else {
            let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
            st.leader = Some(m.info());
            st.my_node = "standalone".into();
            st.leader_node = Some("standalone".into());
            st.elected_time = Some(now_f64());
            st.recovered = true;
            let log = st.log.clone();
            apply_recovered(&mut st, log);
            drop(st);
            tokio::spawn(standalone_loop(m.clone()));
        }
    }
    serve(m, &ip, port).await;
}

async fn contend(m: &Shared, c: &zk::Client) -> Result<(), String> {
    util::zk_mkdirs(c, &format!("{}/log_replicas", m.zk_path)).await?;
    util::zk_mkdirs(c, &private_path(m, "quorums")).await?;
    // Exactly what a Mesos replica writes: its UPID (mesos@1.11.0:src/log/network.hpp joins
    // the group with `stringify(pid)`).
    let replica = format!("log-replica(1)@{}:{}", m.ip, m.port);
    let eph_seq = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    c.create(
        &format!("{}/log_replicas/", m.zk_path),
        replica.as_bytes(),
        &eph_seq,
    )
    .await
    .map_err(|e| e.to_string())?;
    // The emulator's own channel: each master's --quorum, to warn when they disagree.
    c.create(
        &format!("{}/", private_path(m, "quorums")),
        m.quorum.to_string().as_bytes(),
        &eph_seq,
    )
    .await
    .map_err(|e| e.to_string())?;
    let data = serde_json::to_vec(&m.info()).unwrap_or_default();
    let (_, seq) = c
        .create(&format!("{}/json.info_", m.zk_path), &data, &eph_seq)
        .await
        .map_err(|e| e.to_string())?;
    let node = format!("json.info_{seq}");
    log!("Created election node {}/{node}", m.zk_path);
    m.state.lock().unwrap_or_else(|e| e.into_inner()).my_node = node;
    Ok(())
}

async fn elect_loop(m: Shared) {
    let Some(c) = m.zk.clone() else { return };
    let fetch_timeout = m
        .flags
        .duration("registry_fetch_timeout")
        .unwrap_or(Duration::from_secs(60));
    let ping = m
        .flags
        .duration("agent_ping_timeout")
        .unwrap_or(Duration::from_secs(15));
    let max_pings: u32 = m
        .flags
        .get("max_agent_ping_timeouts")
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let reregister = reregister_timeout(&m);
    let mut round: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        round += 1;
        registry_round(&m, reregister, round).await;
        let Ok((children, _)) = c.get_children(&m.zk_path).await else {
            continue;
        };
        let leader_node = children
            .iter()
            .filter(|n| n.starts_with("json.info_") || n.starts_with("info_"))
            .filter_map(|n| util::sequence(n).map(|s| (s, n)))
            .min()
            .map(|(_, n)| n.clone());
        let leader = match &leader_node {
            Some(n) => c
                .get_data(&format!("{}/{n}", m.zk_path))
                .await
                .ok()
                .and_then(|(d, _)| serde_json::from_slice::<Value>(&d).ok()),
            None => None,
        };
        let replicas = c
            .get_children(&format!("{}/log_replicas", m.zk_path))
            .await
            .map(|(r, _)| r)
            .unwrap_or_default();
        let mut quorums = Vec::new();
        let qpath = private_path(&m, "quorums");
        let members = c
            .get_children(&qpath)
            .await
            .map(|(r, _)| r)
            .unwrap_or_default();
        for r in &members {
            if let Ok((d, _)) = c.get_data(&format!("{qpath}/{r}")).await {
                if let Ok(q) = String::from_utf8_lossy(&d).trim().parse::<usize>() {
                    quorums.push(q);
                }
            }
        }
        let peers = replica_addresses(&m, &c, &replicas).await;
        let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
        st.peers = peers;
        let was_elected = m.elected(&st);
        st.leader = leader;
        st.leader_node = leader_node.clone();
        st.replicas = replicas.len();
        let elected = m.elected(&st);
        if elected && !was_elected {
            st.elected_time = Some(now_f64());
            st.agents.clear();
            st.frameworks.clear();
            st.tasks.clear();
            st.completed.clear();
            st.completed_ids.clear();
            st.recovered_agents.clear();
            st.registry_ready = false;
            log!("Elected as the leading master!");
        }
        if !elected {
            st.elected_time = None;
            st.registry_ready = false;
        }
        if quorums.iter().any(|q| *q != m.quorum) && !st.warned_quorum {
            st.warned_quorum = true;
            log!(
                "WARNING: masters disagree on --quorum: mine is {}, replicas report {quorums:?}",
                m.quorum
            );
        }
        // Every master's own replica recovers (catches up) while a quorum of replicas is
        // up, leader or not: Mesos reports `registrar/log/recovered` per master ("a cluster
        // is operational as long as a quorum of recovered masters is available").
        st.recovered = st.replicas >= m.quorum;
        if elected {
            if st.recovered {
                st.without_quorum_since = None;
            } else {
                let since = *st.without_quorum_since.get_or_insert_with(Instant::now);
                if since.elapsed() > fetch_timeout {
                    log!("Recovery failed: Failed to recover registrar: Failed to perform fetch within {}secs", fetch_timeout.as_secs());
                    std::process::exit(1);
                }
            }
            let limit = ping * max_pings;
            let mut unreachable = Vec::new();
            for a in st.agents.values_mut() {
                if a.active && a.last_seen.elapsed() > limit {
                    log!("Agent {} ({}) is unreachable", a.id, a.hostname);
                    a.active = false;
                    unreachable.push(a.id.clone());
                }
            }
            // Marathon registers PARTITION_AWARE: its tasks become TASK_UNREACHABLE (and
            // come back if the agent re-registers).
            for id in unreachable {
                for t in st.tasks.values_mut().filter(|t| t.agent_id == id) {
                    t.set_state("TASK_UNREACHABLE", "Agent is unreachable");
                }
            }
        }
    }
}

async fn serve(m: Shared, ip: &str, port: u16) {
    let app = axum::Router::new().fallback(handle).with_state(m);
    let addr = format!("{ip}:{port}");
    util::serve(app, &addr).await;
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn text(status: StatusCode, body: &str) -> Response {
    (status, body.to_string()).into_response()
}

async fn handle(
    axum::extract::State(m): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let original = uri.path().trim_end_matches('/').to_string();
    let path = canonical(&original);
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    // libprocess authenticates before the route's handler runs: a non-leader asks for
    // credentials before it redirects.
    if let Some(realm) = realm_of(&path) {
        let on = match realm {
            READWRITE_REALM => m.http_auth.readwrite,
            _ => m.http_auth.readonly,
        };
        if on && !basic_auth::mesos_accepts(&headers, &m.http_auth.credentials) {
            return basic_auth::unauthorized(realm);
        }
    }
    // The replicated log answers on every master, leader or not: it is how a new leader
    // recovers the registry and how the leader writes it to the others.
    match (method.as_str(), path.as_str()) {
        ("GET", "/emulator/log/read") if !m.broken => return log_read(&m),
        ("POST", "/emulator/log/write") if !m.broken => return log_write(&m, &body),
        _ => {}
    }
    if let Some(r) = answer_without_leading(&m, &path, &original, &query) {
        return r;
    }
    match (method.as_str(), path.as_str()) {
        ("POST", "/emulator/launch") => return launch(&m, &body).await,
        ("POST", "/emulator/kill") => return kill(&m, &body).await,
        _ => {}
    }
    let response = leader_route(&m, &method, &path, uri.query().unwrap_or(""), &body);
    // Mesos writes the registry (the replicated log, a quorum of replicas) before it
    // answers a change to it, so a new leader knows every agent, window and DOWN machine.
    if method == Method::POST && response.status().is_success() {
        sync_registry(&m, false).await;
    }
    response
}

/// What any master answers itself (health, version, flags, metrics), and a non-leader's
/// redirect or 503; `None`: the leader's business.
fn answer_without_leading(m: &Master, path: &str, original: &str, query: &str) -> Option<Response> {
    let st = m.state.lock().unwrap_or_else(|e| e.into_inner());
    if m.broken {
        return Some(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master is not healthy",
        ));
    }
    let own = match path {
        "/master/health" => Some(StatusCode::OK.into_response()),
        "/version" => Some(json_response(
            StatusCode::OK,
            &json!({
                "build_date": "2020-11-19 10:00:00", "build_time": 1605780000.0, "build_user": "root",
                "git_tag": m.version, "version": m.version,
            }),
        )),
        "/master/flags" => Some(json_response(
            StatusCode::OK,
            &json!({"flags": m.flags.all()}),
        )),
        "/metrics/snapshot" => Some(json_response(StatusCode::OK, &metrics(m, &st))),
        "/master/state.json" => Some(text(StatusCode::NOT_FOUND, "")),
        "/emulator/register-agent" if m.elected(&st) && !st.registry_ready => Some(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master is recovering the registry",
        )),
        "/emulator/register-agent"
        | "/emulator/register-framework"
        | "/emulator/launch"
        | "/emulator/kill"
            if !m.elected(&st) =>
        {
            Some(text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not the leading master",
            ))
        }
        _ => None,
    };
    if own.is_some() {
        return own;
    }
    // Everything else is the leader's: redirect or 503 from a non-leader.
    if m.elected(&st) {
        return None;
    }
    Some(match &st.leader {
        Some(l) => {
            let host = l["hostname"].as_str().unwrap_or_default();
            let port = l["port"].as_u64().unwrap_or(5050);
            let loc = if path == "/master/redirect" {
                format!("//{host}:{port}")
            } else {
                format!("//{host}:{port}{original}{query}")
            };
            let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(v) = HeaderValue::from_str(&loc) {
                r.headers_mut().insert("location", v);
            }
            r
        }
        None => text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"),
    })
}

/// The leader's routes.
fn leader_route(m: &Master, method: &Method, path: &str, query: &str, body: &[u8]) -> Response {
    let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
    leader_response(m, &mut st, method, path, query, body)
}

fn leader_response(
    m: &Master,
    st: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Response {
    match (method.as_str(), path) {
        ("GET", "/master/tasks") => json_response(StatusCode::OK, &tasks_json(st, query)),
        (_, "/master/redirect") => {
            let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("//{}:{}", m.hostname, m.port)) {
                r.headers_mut().insert("location", v);
            }
            r
        }
        ("GET", "/master/state") => json_response(StatusCode::OK, &state_json(m, st)),
        ("GET", "/master/slaves") => json_response(
            StatusCode::OK,
            &json!({"slaves": agents_json(st), "recovered_slaves": recovered_agents_json(st)}),
        ),
        ("GET", "/master/frameworks") => json_response(
            StatusCode::OK,
            &json!({"frameworks": frameworks_json(st), "completed_frameworks": [], "unregistered_frameworks": []}),
        ),
        ("GET", "/master/state-summary") => json_response(
            StatusCode::OK,
            &json!({"hostname": m.hostname, "cluster": m.flags.get("cluster").unwrap_or(""), "slaves": agents_json(st), "frameworks": frameworks_json(st)}),
        ),
        ("GET", "/master/maintenance/schedule") => {
            json_response(StatusCode::OK, &st.schedule.clone())
        }
        ("POST", "/master/maintenance/schedule") => post_schedule(st, body),
        ("GET", "/master/maintenance/status") => maintenance_status(st),
        ("POST", "/master/machine/down") => machines(st, body, true),
        ("POST", "/master/machine/up") => machines(st, body, false),
        ("POST", "/emulator/register-agent") => register_agent(m, st, body),
        ("POST", "/emulator/register-framework") => register_framework(m, st, body),
        _ => text(StatusCode::NOT_FOUND, ""),
    }
}

/// A node of the emulator's own, outside the nodes Mesos clients read.
fn private_path(m: &Master, name: &str) -> String {
    format!("{PRIVATE_ROOT}{}/{name}", m.zk_path)
}

/// The root of what the emulator keeps for itself in ZooKeeper (each master's `--quorum`).
const PRIVATE_ROOT: &str = "/mesos-emulator";

/// How long a replica may take to answer a read or a write of the log.
const LOG_TIMEOUT: Duration = Duration::from_secs(2);

/// Rounds of the election loop (250 ms each) between two writes of an unchanged registry to
/// the replicas, so that a master with a wiped work dir catches up.
const CATCH_UP_ROUNDS: u64 = 20;

/// The registry as the leader holds it now: admitted agents (registered or recovered) and
/// maintenance, at the position of the last write.
fn registry_view(st: &State) -> Registry {
    let mut agents: BTreeMap<String, AdmittedAgent> = st.recovered_agents.clone();
    for a in st.agents.values() {
        agents.insert(
            a.id.clone(),
            AdmittedAgent {
                id: a.id.clone(),
                hostname: a.hostname.clone(),
                ip: a.ip.clone(),
                port: a.port,
                pid: a.pid.clone(),
                version: a.version.clone(),
                registered_time: a.registered_time,
            },
        );
    }
    let machines = st
        .machines
        .iter()
        .map(|((h, ip), mode)| {
            let mode = if *mode == MachineMode::Down {
                "DOWN"
            } else {
                "DRAINING"
            };
            (h.clone(), ip.clone(), mode.to_string())
        })
        .collect();
    Registry {
        position: st.log.position,
        agents: agents.into_values().collect(),
        schedule: st.schedule.clone(),
        machines,
    }
}

/// Takes a recovered registry as the leader's: its agents wait to re-register
/// (`recovered_slaves`), its maintenance is in force.
fn apply_recovered(st: &mut State, log: Registry) {
    st.schedule = if log.schedule.is_null() {
        json!({})
    } else {
        log.schedule.clone()
    };
    st.machines = log
        .machines
        .iter()
        .map(|(h, ip, mode)| {
            let mode = if mode == "DOWN" {
                MachineMode::Down
            } else {
                MachineMode::Draining
            };
            ((h.clone(), ip.clone()), mode)
        })
        .collect();
    st.recovered_agents = log
        .agents
        .iter()
        .filter(|a| !st.agents.contains_key(&a.id))
        .map(|a| (a.id.clone(), a.clone()))
        .collect();
    st.recovered_at = Some(Instant::now());
    log!(
        "Recovered registry at log position {} with {} agents and {} machines in maintenance",
        log.position,
        log.agents.len(),
        log.machines.len()
    );
    st.log = log;
    st.registry_ready = true;
}

/// The other masters' replica addresses from their `log_replicas` nodes.
async fn replica_addresses(
    m: &Master,
    c: &zk::Client,
    nodes: &[String],
) -> BTreeMap<String, String> {
    let known = m
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .peers
        .clone();
    let own = format!("{}:{}", m.ip, m.port);
    let mut peers = BTreeMap::new();
    for n in nodes {
        if let Some(addr) = known.get(n) {
            peers.insert(n.clone(), addr.clone());
            continue;
        }
        if let Ok((d, _)) = c.get_data(&format!("{}/log_replicas/{n}", m.zk_path)).await {
            if let Some(addr) = registry::replica_address(&String::from_utf8_lossy(&d)) {
                if addr != own {
                    peers.insert(n.clone(), addr);
                }
            }
        }
    }
    peers
}

/// One round of the leader's registry duties: recover it after an election (from a quorum of
/// replicas), write it when it changed or to catch replicas up, and forget recovered agents
/// that did not re-register within `--agent_reregister_timeout`.
async fn registry_round(m: &Master, reregister: Duration, round: u64) {
    let (elected, ready, peers) = {
        let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.recovered_at.is_some_and(|t| t.elapsed() > reregister)
            && !st.recovered_agents.is_empty()
        {
            log!(
                "{} agents did not re-register within {}secs; removing them",
                st.recovered_agents.len(),
                reregister.as_secs()
            );
            st.recovered_agents.clear();
        }
        (
            m.elected(&st),
            st.registry_ready,
            st.peers.values().cloned().collect::<Vec<_>>(),
        )
    };
    if !elected {
        return;
    }
    if !ready {
        if let Some(log) = recover_registry(m, &peers).await {
            let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
            if m.elected(&st) && !st.registry_ready {
                apply_recovered(&mut st, log);
            }
        }
        return;
    }
    sync_registry(m, round.is_multiple_of(CATCH_UP_ROUNDS)).await;
}

/// The newest copy among this master's and its replicas', once a quorum of copies (this
/// master's included) was read; `None`: not yet.
async fn recover_registry(m: &Master, peers: &[String]) -> Option<Registry> {
    let own = match registry::load(&m.work_dir) {
        Ok(r) => r,
        Err(e) => {
            log!("{e}");
            return None;
        }
    };
    let reads = peers.iter().map(|addr| async move {
        let r = util::http("GET", addr, "/emulator/log/read", &[], b"", LOG_TIMEOUT).await;
        r.ok()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<Registry>(&r.body).ok())
    });
    let mut copies: Vec<Registry> = futures_util::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect();
    copies.push(own);
    (copies.len() >= m.quorum).then(|| registry::newest(copies))
}

/// Writes the leader's registry, its own copy and every replica's, when its contents changed
/// (at the next position), or with `force` as it is (to catch up a replica).
async fn sync_registry(m: &Master, force: bool) {
    let (doc, changed, peers) = {
        let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
        if !m.elected(&st) || !st.registry_ready {
            return;
        }
        let mut view = registry_view(&st);
        let changed = !view.same_contents(&st.log);
        if !changed && !force {
            return;
        }
        if changed {
            view.position += 1;
        }
        st.log = view.clone();
        (
            view,
            changed,
            st.peers.values().cloned().collect::<Vec<_>>(),
        )
    };
    if changed {
        if let Err(e) = registry::store(&m.work_dir, &doc) {
            log!("could not write the replicated log: {e}");
        }
    }
    let Ok(body) = serde_json::to_vec(&doc) else {
        return;
    };
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let writes = peers.iter().map(|addr| {
        util::http(
            "POST",
            addr,
            "/emulator/log/write",
            &headers,
            &body,
            LOG_TIMEOUT,
        )
    });
    futures_util::future::join_all(writes).await;
}

/// A replica's copy, for a recovering leader.
fn log_read(m: &Master) -> Response {
    match registry::load(&m.work_dir) {
        Ok(r) => json_response(StatusCode::OK, &json!(r)),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// A write from the leader to this replica.
fn log_write(m: &Master, body: &[u8]) -> Response {
    let Ok(incoming) = serde_json::from_slice::<Registry>(body) else {
        return text(StatusCode::BAD_REQUEST, "not a registry");
    };
    match registry::accept(&m.work_dir, &incoming) {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => text(StatusCode::CONFLICT, "this replica holds a newer position"),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// `--agent_reregister_timeout`: how long agents the recovered registry admitted may take
/// to re-register.
fn reregister_timeout(m: &Master) -> Duration {
    m.flags
        .duration("agent_reregister_timeout")
        .unwrap_or(Duration::from_secs(600))
}

/// A master without ZooKeeper leads alone: it only keeps its own copy up to date.
async fn standalone_loop(m: Shared) {
    let reregister = reregister_timeout(&m);
    let mut round: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        round += 1;
        registry_round(&m, reregister, round).await;
    }
}

fn recovered_agents_json(st: &State) -> Vec<Value> {
    st.recovered_agents
        .values()
        .map(|a| {
            json!({
                "id": a.id, "hostname": a.hostname, "port": a.port, "attributes": {},
                "resources": {"cpus": 4.0, "gpus": 0.0, "mem": 7680.0, "disk": 40000.0, "ports": "[31000-32000]"},
            })
        })
        .collect()
}

fn metrics(m: &Master, st: &State) -> Value {
    let elected = m.elected(st);
    let active = st.agents.values().filter(|a| a.active).count() as f64;
    let inactive = st.agents.len() as f64 - active;
    let fw = st.frameworks.len() as f64;
    let count = |s: &str| st.tasks.values().filter(|t| t.state() == s).count() as f64;
    json!({
        "master/elected": if elected { 1.0 } else { 0.0 },
        "master/uptime_secs": now_f64() - m.start_time,
        "master/slaves_active": active, "master/slaves_inactive": inactive,
        "master/slaves_connected": active, "master/slaves_disconnected": inactive,
        "master/slaves_unreachable": inactive,
        "master/frameworks_active": fw, "master/frameworks_connected": fw,
        "master/tasks_running": count("TASK_RUNNING"),
        "master/tasks_staging": count("TASK_STAGING"),
        "master/tasks_unreachable": count("TASK_UNREACHABLE"),
        "master/tasks_lost": st.completed.iter().filter(|t| t["state"] == "TASK_LOST").count() as f64,
        "registrar/log/recovered": if st.recovered { 1.0 } else { 0.0 },
        "registrar/log/ensemble_size": st.replicas as f64,
        "registrar/queued_operations": 0.0,
    })
}

fn agents_json(st: &State) -> Vec<Value> {
    st.agents
        .values()
        .map(|a| {
            let mut v = json!({
                "id": a.id, "hostname": a.hostname, "port": a.port, "attributes": {}, "pid": a.pid,
                "registered_time": a.registered_time,
                "resources": {"cpus": 4.0, "gpus": 0.0, "mem": 7680.0, "disk": 40000.0, "ports": "[31000-32000]"},
                "active": a.active, "deactivated": !a.active, "version": a.version,
                "capabilities": ["MULTI_ROLE", "AGENT_DRAINING"],
            });
            if let Some(t) = a.reregistered_time {
                v["reregistered_time"] = json!(t);
            }
            v
        })
        .collect()
}

fn frameworks_json(st: &State) -> Vec<Value> {
    st.frameworks
        .values()
        .map(|f| {
            let active = f.last_seen.elapsed() < Duration::from_secs(30);
            let mine = |t: &&TaskRec| t.framework_id == f.id;
            let tasks: Vec<&Value> = st
                .tasks
                .values()
                .filter(mine)
                .filter(|t| t.state() != "TASK_UNREACHABLE")
                .map(|t| &t.json)
                .collect();
            let unreachable: Vec<&Value> = st
                .tasks
                .values()
                .filter(mine)
                .filter(|t| t.state() == "TASK_UNREACHABLE")
                .map(|t| &t.json)
                .collect();
            let completed: Vec<&Value> = st
                .completed
                .iter()
                .filter(|t| t["framework_id"] == f.id.as_str())
                .collect();
            json!({
                "id": f.id, "name": f.name, "hostname": f.hostname, "webui_url": f.webui_url,
                "active": active, "connected": active, "checkpoint": true,
                "capabilities": ["PARTITION_AWARE", "TASK_KILLING_STATE", "GPU_RESOURCES"],
                "failover_timeout": 604800.0, "registered_time": f.registered_time, "roles": ["*"],
                "tasks": tasks, "unreachable_tasks": unreachable, "completed_tasks": completed,
            })
        })
        .collect()
}

/// `/master/tasks`: every task the master knows (active, unreachable, then completed),
/// filtered by `framework_id` / `task_id`, paged by `offset` / `limit` (default 100).
fn tasks_json(st: &State, query: &str) -> Value {
    let param = |k: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let fw = param("framework_id");
    let id = param("task_id");
    let offset: usize = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = param("limit").and_then(|v| v.parse().ok()).unwrap_or(100);
    let all: Vec<&Value> = st
        .tasks
        .values()
        .map(|t| &t.json)
        .chain(st.completed.iter().rev())
        .filter(|t| fw.as_deref().is_none_or(|f| t["framework_id"] == f))
        .filter(|t| id.as_deref().is_none_or(|i| t["id"] == i))
        .skip(offset)
        .take(limit)
        .collect();
    json!({"tasks": all})
}

/// Mesos' libprocess delegate: `/state` is the master's `/master/state`, `/redirect` its
/// `/master/redirect`, and so on; `/version`, `/metrics/*` and the emulator's own endpoints
/// are top-level.
fn canonical(path: &str) -> String {
    if path.is_empty() || path == "/master" {
        return "/master".into();
    }
    if path.starts_with("/master/")
        || path == "/version"
        || path.starts_with("/metrics/")
        || path.starts_with("/emulator/")
    {
        return path.to_string();
    }
    format!("/master{path}")
}

fn state_json(m: &Master, st: &State) -> Value {
    let active = st.agents.values().filter(|a| a.active).count() as f64;
    let mut v = json!({
        "version": m.version, "git_tag": m.version, "build_date": "2020-11-19 10:00:00",
        "build_time": 1605780000.0, "build_user": "root", "start_time": m.start_time,
        "id": m.id, "pid": m.pid(), "hostname": m.hostname,
        "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        "activated_slaves": active, "deactivated_slaves": st.agents.len() as f64 - active,
        "unreachable_slaves": st.agents.len() as f64 - active,
        "cluster": m.flags.get("cluster").unwrap_or(""), "log_dir": m.flags.get("log_dir").unwrap_or(""),
        "flags": m.flags.all(),
        "slaves": agents_json(st), "recovered_slaves": recovered_agents_json(st), "frameworks": frameworks_json(st),
        "completed_frameworks": [], "orphan_tasks": [], "unregistered_frameworks": [],
    });
    if let Some(t) = st.elected_time {
        v["elected_time"] = json!(t);
    }
    if let Some(l) = &st.leader {
        v["leader"] = l["pid"].clone();
        v["leader_info"] =
            json!({"id": l["id"], "pid": l["pid"], "port": l["port"], "hostname": l["hostname"]});
    }
    v
}

fn machine_key(v: &Value) -> (String, String) {
    (
        v["hostname"].as_str().unwrap_or_default().to_string(),
        v["ip"].as_str().unwrap_or_default().to_string(),
    )
}

fn post_schedule(st: &mut State, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Failed to parse the request body: not JSON",
        );
    };
    let Some(windows) = v["windows"].as_array() else {
        return text(
            StatusCode::BAD_REQUEST,
            "Failed to validate maintenance schedule: missing 'windows'",
        );
    };
    let mut scheduled = Vec::new();
    for w in windows {
        let Some(ids) = w["machine_ids"].as_array() else {
            return text(
                StatusCode::BAD_REQUEST,
                "Failed to validate maintenance schedule: window without machine_ids",
            );
        };
        if w["unavailability"]["start"]["nanoseconds"]
            .as_i64()
            .is_none()
        {
            return text(
                StatusCode::BAD_REQUEST,
                "Failed to validate maintenance schedule: unavailability.start missing",
            );
        }
        for id in ids {
            let k = machine_key(id);
            if k.0.is_empty() && k.1.is_empty() {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Failed to validate maintenance schedule: MachineID must have hostname or ip",
                );
            }
            scheduled.push(k);
        }
    }
    // A machine that is DOWN must stay in the schedule until it is brought up.
    for (k, mode) in &st.machines {
        if *mode == MachineMode::Down && !scheduled.contains(k) {
            return text(StatusCode::BAD_REQUEST, &format!("Failed to validate maintenance schedule: machine {} is down and must stay scheduled", k.0));
        }
    }
    st.machines
        .retain(|k, mode| *mode == MachineMode::Down || scheduled.contains(k));
    for k in scheduled {
        st.machines.entry(k).or_insert(MachineMode::Draining);
    }
    st.schedule = v;
    StatusCode::OK.into_response()
}

fn maintenance_status(st: &State) -> Response {
    let draining: Vec<Value> = st
        .machines
        .iter()
        .filter(|(_, m)| **m == MachineMode::Draining)
        .map(|(k, _)| json!({"id": {"hostname": k.0, "ip": k.1}, "statuses": []}))
        .collect();
    let down: Vec<Value> = st
        .machines
        .iter()
        .filter(|(_, m)| **m == MachineMode::Down)
        .map(|(k, _)| json!({"hostname": k.0, "ip": k.1}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"draining_machines": draining, "down_machines": down}),
    )
}

fn machines(st: &mut State, body: &[u8], down: bool) -> Response {
    let Ok(Value::Array(ids)) = serde_json::from_slice::<Value>(body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Failed to parse the request body: expected a list of MachineIDs",
        );
    };
    let keys: Vec<(String, String)> = ids.iter().map(machine_key).collect();
    for k in &keys {
        match (st.machines.get(k), down) {
            (Some(MachineMode::Draining), true) | (Some(MachineMode::Down), false) => {}
            (_, true) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Machine '{}' is not in DRAINING mode and cannot be brought down",
                        k.0
                    ),
                )
            }
            (_, false) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Machine '{}' is not in DOWN mode and cannot be brought up",
                        k.0
                    ),
                )
            }
        }
    }
    for k in keys {
        if down {
            st.machines.insert(k.clone(), MachineMode::Down);
            // Agents on the machine are told to shut down and removed at once, "to force
            // sending TASK_LOST status updates" (mesos@1.11.0:src/master/http.cpp, machineDown).
            let gone: Vec<String> = st
                .agents
                .values()
                .filter(|a| a.hostname == k.0 || a.ip == k.1)
                .map(|a| a.id.clone())
                .collect();
            for id in gone {
                st.agents.remove(&id);
                st.complete_agent_tasks(&id, "TASK_LOST", "Operator initiated 'Machine DOWN'");
            }
        } else {
            st.machines.remove(&k);
            if let Some(ws) = st.schedule["windows"].as_array_mut() {
                for w in ws.iter_mut() {
                    if let Some(ids) = w["machine_ids"].as_array_mut() {
                        ids.retain(|id| machine_key(id) != k);
                    }
                }
                ws.retain(|w| w["machine_ids"].as_array().is_some_and(|a| !a.is_empty()));
            }
        }
    }
    StatusCode::OK.into_response()
}

fn register_agent(m: &Master, st: &mut State, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return text(StatusCode::BAD_REQUEST, "bad registration");
    };
    let hostname = v["hostname"].as_str().unwrap_or_default().to_string();
    let ip = v["ip"].as_str().unwrap_or_default().to_string();
    if st
        .machines
        .iter()
        .any(|(k, mode)| *mode == MachineMode::Down && (k.0 == hostname || k.1 == ip))
    {
        return text(
            StatusCode::FORBIDDEN,
            "Agent attempted to register from a machine that is DOWN",
        );
    }
    let wanted = v["id"].as_str().unwrap_or_default().to_string();
    // An agent the recovered registry admitted: re-registering, it keeps its first time.
    let admitted = st.recovered_agents.remove(&wanted);
    let now = now_f64();
    let id = if let Some(a) = st.agents.get_mut(&wanted) {
        a.last_seen = Instant::now();
        a.active = true;
        a.version = v["version"].as_str().unwrap_or_default().to_string();
        wanted
    } else {
        // A new agent, or a known one re-registering after a master failover (it keeps
        // its id when its work dir persisted).
        let rereg = !wanted.is_empty();
        let id = if rereg {
            wanted
        } else {
            st.agent_counter += 1;
            format!("{}-S{}", m.id, st.agent_counter - 1)
        };
        let replaced: Vec<String> = st
            .agents
            .values()
            .filter(|a| a.hostname == hostname && a.ip == ip)
            .map(|a| a.id.clone())
            .collect();
        for old in replaced {
            st.agents.remove(&old);
            st.complete_agent_tasks(&old, "TASK_LOST", "Agent was replaced by a new agent");
        }
        st.agents.insert(
            id.clone(),
            AgentRec {
                id: id.clone(),
                hostname: hostname.clone(),
                ip: ip.clone(),
                port: v["port"].as_u64().unwrap_or(5051),
                pid: v["pid"].as_str().unwrap_or_default().to_string(),
                version: v["version"].as_str().unwrap_or_default().to_string(),
                registered_time: admitted.map_or(now, |a| a.registered_time),
                reregistered_time: rereg.then_some(now),
                last_seen: Instant::now(),
                active: true,
            },
        );
        log!(
            "{} agent {id} at {hostname}",
            if rereg { "Re-registered" } else { "Registered" }
        );
        id
    };
    // The tasks the agent runs: the master's view of them.
    let mut reported = BTreeSet::new();
    // Tasks the master already ended (lost with a DOWN machine, a replaced agent) that the
    // agent still runs: it is told to kill them, as a removed agent is shut down.
    let mut kill = Vec::new();
    for t in v["tasks"].as_array().into_iter().flatten() {
        let Some(tid) = t["id"].as_str() else {
            continue;
        };
        reported.insert(tid.to_string());
        if st.completed_ids.contains(tid) {
            if !crate::agent::is_terminal(t["state"].as_str().unwrap_or_default()) {
                kill.push(tid.to_string());
            }
            continue;
        }
        let state = t["state"].as_str().unwrap_or_default().to_string();
        let framework_id = t["framework_id"].as_str().unwrap_or_default().to_string();
        let rec = st.tasks.entry(tid.to_string()).or_insert_with(|| TaskRec {
            json: t.clone(),
            agent_id: id.clone(),
            framework_id,
            since: Instant::now(),
        });
        rec.agent_id = id.clone();
        let mut json = t.clone();
        let mut statuses = rec.json["statuses"].as_array().cloned().unwrap_or_default();
        if rec.state() != state {
            statuses.push(json!({"state": state, "timestamp": now_f64(),
                "message": t["statuses"][0]["message"].clone()}));
        }
        json["statuses"] = json!(statuses);
        json["slave_id"] = json!(id);
        json["agent_id"] = json!(id);
        rec.json = json;
        if crate::agent::is_terminal(&state) {
            let msg = t["statuses"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            st.complete(tid, &state, &msg);
        }
    }
    let missing: Vec<String> = st
        .tasks
        .values()
        .filter(|t| t.agent_id == id && t.since.elapsed() > LAUNCH_GRACE)
        .filter_map(|t| t.json["id"].as_str().map(str::to_string))
        .filter(|t| !reported.contains(t))
        .collect();
    for t in missing {
        st.complete(&t, "TASK_LOST", "Task is unknown to the agent");
    }
    json_response(
        StatusCode::OK,
        &json!({"id": id, "master_hostname": m.hostname, "master_pid": m.pid(), "kill": kill}),
    )
}

/// A framework's launch of a task on an agent it chose (the emulator's stand-in for
/// accepting an offer): recorded as `TASK_STAGING`, handed to the agent.
async fn launch(m: &Master, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return text(StatusCode::BAD_REQUEST, "bad launch");
    };
    let agent_id = v["agent_id"].as_str().unwrap_or_default().to_string();
    let framework_id = v["framework_id"].as_str().unwrap_or_default().to_string();
    let task = &v["task"];
    let Some(task_id) = task["task_id"].as_str().map(str::to_string) else {
        return text(StatusCode::BAD_REQUEST, "task without task_id");
    };
    let addr = {
        let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
        if !st.frameworks.contains_key(&framework_id) {
            return text(StatusCode::FORBIDDEN, "Framework is not registered");
        }
        let Some(a) = st.agents.get(&agent_id).filter(|a| a.active) else {
            return text(
                StatusCode::CONFLICT,
                "Agent is not registered or not active",
            );
        };
        let addr = format!("{}:{}", a.ip, a.port);
        if !st.tasks.contains_key(&task_id) {
            let mut json = json!({
                "id": task_id, "name": task["name"], "framework_id": framework_id, "executor_id": "",
                "slave_id": agent_id, "agent_id": agent_id, "state": "TASK_STAGING",
                "resources": {"cpus": task["cpus"], "mem": task["mem"], "disk": 0.0, "gpus": 0.0},
                "role": "*", "labels": task["labels"], "statuses": [],
            });
            if let Some(i) = task["image"].as_str() {
                json["container"] =
                    json!({"type": "DOCKER", "docker": {"image": i, "network": "HOST"}});
            }
            crate::agent::add_ports(&mut json, task);
            let mut rec = TaskRec {
                json,
                agent_id: agent_id.clone(),
                framework_id: framework_id.clone(),
                since: Instant::now(),
            };
            rec.set_state("TASK_STAGING", "");
            st.tasks.insert(task_id.clone(), rec);
        }
        addr
    };
    let fwd = json!({"framework_id": framework_id, "task": task}).to_string();
    let r = util::http(
        "POST",
        &addr,
        "/emulator/launch",
        &[("Content-Type".into(), "application/json".into())],
        fwd.as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    match r {
        Ok(r) if (200..300).contains(&r.status) => StatusCode::ACCEPTED.into_response(),
        other => {
            let why = match other {
                Ok(r) => String::from_utf8_lossy(&r.body).to_string(),
                Err(e) => e,
            };
            let mut st = m.state.lock().unwrap_or_else(|e| e.into_inner());
            st.complete(
                &task_id,
                "TASK_DROPPED",
                &format!("Agent did not accept the task: {why}"),
            );
            text(
                StatusCode::CONFLICT,
                &format!("Agent did not accept the task: {why}"),
            )
        }
    }
}

/// A framework's kill of one of its tasks, handed to the agent that runs it.
async fn kill(m: &Master, body: &[u8]) -> Response {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let task_id = v["task_id"].as_str().unwrap_or_default().to_string();
    let addr = {
        let st = m.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(t) = st.tasks.get(&task_id) else {
            return text(StatusCode::NOT_FOUND, "Unknown task");
        };
        match st.agents.get(&t.agent_id).filter(|a| a.active) {
            Some(a) => format!("{}:{}", a.ip, a.port),
            // An unreachable agent cannot be told; the framework kills it when it is back.
            None => return StatusCode::ACCEPTED.into_response(),
        }
    };
    let _ = util::http(
        "POST",
        &addr,
        "/emulator/kill",
        &[("Content-Type".into(), "application/json".into())],
        body,
        Duration::from_secs(5),
    )
    .await;
    StatusCode::ACCEPTED.into_response()
}

fn register_framework(m: &Master, st: &mut State, body: &[u8]) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return text(StatusCode::BAD_REQUEST, "bad registration");
    };
    let wanted = v["id"].as_str().unwrap_or_default().to_string();
    let id = if wanted.is_empty() {
        st.framework_counter += 1;
        format!("{}-{:04}", m.id, st.framework_counter - 1)
    } else {
        wanted
    };
    let rec = st
        .frameworks
        .entry(id.clone())
        .or_insert_with(|| FrameworkRec {
            id: id.clone(),
            name: v["name"].as_str().unwrap_or("marathon").to_string(),
            hostname: v["hostname"].as_str().unwrap_or_default().to_string(),
            webui_url: v["webui_url"].as_str().unwrap_or_default().to_string(),
            registered_time: now_f64(),
            last_seen: Instant::now(),
        });
    rec.last_seen = Instant::now();
    rec.hostname = v["hostname"].as_str().unwrap_or_default().to_string();
    rec.webui_url = v["webui_url"].as_str().unwrap_or_default().to_string();
    json_response(StatusCode::OK, &json!({"id": id}))
}

/// The leading master's `host:port` from the election nodes, for agents and Marathon.
pub async fn find_leader(c: &zk::Client, zk_path: &str) -> Option<(String, Value)> {
    let (children, _) = c.get_children(zk_path).await.ok()?;
    let node = children
        .iter()
        .filter(|n| n.starts_with("json.info_"))
        .filter_map(|n| util::sequence(n).map(|s| (s, n)))
        .min()?
        .1
        .clone();
    let (data, _) = c.get_data(&format!("{zk_path}/{node}")).await.ok()?;
    let info: Value = serde_json::from_slice(&data).ok()?;
    let addr = format!(
        "{}:{}",
        info["address"]["ip"].as_str().unwrap_or_default(),
        info["address"]["port"].as_u64().unwrap_or(5050)
    );
    Some((addr, info))
}
