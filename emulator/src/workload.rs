//! Marathon's workload: apps, deployments and app instances (one Mesos task each).
//!
//! App definitions, deployments and instances are kept in ZooKeeper where Marathon 1.10
//! keeps them, `<zk path>/state/{apps,deployment,instance}/<hash bucket>/<id>`
//! (marathon:src/main/scala/mesosphere/marathon/core/storage/store/impl/zk/ZkStoreSerialization.scala:
//! bucket = |String.hashCode(id) % 16| in hex, app ids with `/` written as `_`), written
//! before the API answers, so they survive a restart, a leader failover and an upgrade. The
//! data is JSON here (Marathon writes protobuf).
//!
//! The leader reconciles once a second: it reads the leading master's `/master/state`
//! (agents, the framework's tasks) and maintenance status, follows each instance's task,
//! expunges instances whose task is terminal or `TASK_UNREACHABLE` (the default
//! `unreachableStrategy` is 0 s / 0 s), launches missing instances on active agents that
//! are not DRAINING or DOWN and have the resources, kills surplus ones (youngest first) and
//! tasks it does not know, and finishes a deployment when every affected app runs its
//! instances. Simplified: no offers (the leader picks the agent from `/master/state` and
//! asks the master to launch there), no health checks (`tasksHealthy` is 0), no
//! constraints or readiness; ports as `ports.rs` says (service ports, host ports from the
//! agent's `ports` resource, the task's environment); a config change replaces every
//! instance at once
//! (launch the new ones, then kill the old), a DELETE of a deployment removes it without
//! a rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zookeeper_client as zk;

use crate::agent::is_terminal;
use crate::log;
use crate::util::{self, now_f64};

/// One app instance: one task on an agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub task_id: String,
    pub app_id: String,
    pub agent_id: String,
    pub host: String,
    /// The app's `versionInfo.lastConfigChangeAt` it was launched with.
    pub config: String,
    pub version: String,
    pub staged_at: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub killing: bool,
    /// Host ports taken from the agent's `ports` resource, one per port definition.
    #[serde(default)]
    pub ports: Vec<u64>,
    /// The app's service ports when the task was launched.
    #[serde(default)]
    pub service_ports: Vec<u64>,
    #[serde(skip)]
    pub since: Option<Instant>,
}

/// A deployment in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub version: String,
    pub app: String,
    pub action: String,
}

impl Deployment {
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = match self.action.as_str() {
            "StartApplication" => vec![
                json!({"actions": [{"action": "StartApplication", "app": self.app}]}),
                json!({"actions": [{"action": "ScaleApplication", "app": self.app}]}),
            ],
            a => vec![json!({"actions": [{"action": a, "app": self.app}]})],
        };
        let total = steps.len();
        let current = steps
            .last()
            .map(|s| s["actions"].clone())
            .unwrap_or_default();
        let current: Vec<Value> = current
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| json!({"action": a["action"], "app": a["app"], "readinessCheckResults": []}))
            .collect();
        json!({
            "id": self.id, "version": self.version, "affectedApps": [self.app], "affectedPods": [],
            "steps": steps, "currentActions": current, "currentStep": total, "totalSteps": total,
        })
    }
}

/// The leader's workload.
#[derive(Debug, Default)]
pub struct Workload {
    pub loaded: bool,
    pub apps: BTreeMap<String, Value>,
    pub instances: BTreeMap<String, Instance>,
    pub deployments: BTreeMap<String, Deployment>,
}

/// Java's `String.hashCode`.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// `<zk path>/state/<category>/<bucket>/<id>` as Marathon's `ZkId.path`.
pub fn store_path(zk_path: &str, category: &str, id: &str) -> String {
    let bucket = (java_hash(id) % 16).unsigned_abs();
    format!("{zk_path}/state/{category}/{bucket:x}/{id}")
}

/// An app id `/a/b` as stored: `a_b`.
pub fn app_key(app_id: &str) -> String {
    app_id.trim_start_matches('/').replace('/', "_")
}

/// ISO 8601 UTC with milliseconds, as Marathon writes versions and timestamps.
pub fn iso(t: f64) -> String {
    let ms = (t * 1000.0) as i64;
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Writes `data` at `path` (creating parents), bounded.
pub async fn zk_put(c: &zk::Client, path: &str, data: &[u8]) -> Result<(), String> {
    let write = async {
        match c.set_data(path, data, None).await {
            Ok(_) => Ok(()),
            Err(zk::Error::NoNode) => {
                if let Some((parent, _)) = path.rsplit_once('/') {
                    util::zk_mkdirs(c, parent).await?;
                }
                let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
                c.create(path, data, &opts)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), write)
        .await
        .map_err(|_| format!("ZooKeeper write of {path} timed out"))?
}

/// Deletes `path` (a missing node counts as deleted), bounded.
pub async fn zk_delete(c: &zk::Client, path: &str) -> Result<(), String> {
    let del = async {
        match c.delete(path, None).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), del)
        .await
        .map_err(|_| format!("ZooKeeper delete of {path} timed out"))?
}

/// Every stored entry of a category, bounded; an error rather than a partial answer (a
/// leader that took a partial store for the whole would kill the tasks it did not load).
pub async fn zk_load(
    c: &zk::Client,
    zk_path: &str,
    category: &str,
) -> Result<Vec<Vec<u8>>, String> {
    let base = format!("{zk_path}/state/{category}");
    let load = async {
        let mut out = Vec::new();
        let buckets = match c.get_children(&base).await {
            Ok((b, _)) => b,
            Err(zk::Error::NoNode) => return Ok(out),
            Err(e) => return Err(format!("{base}: {e}")),
        };
        for b in buckets {
            let ids = match c.get_children(&format!("{base}/{b}")).await {
                Ok((ids, _)) => ids,
                Err(zk::Error::NoNode) => continue,
                Err(e) => return Err(format!("{base}/{b}: {e}")),
            };
            for id in ids {
                match c.get_data(&format!("{base}/{b}/{id}")).await {
                    Ok((d, _)) => out.push(d),
                    Err(zk::Error::NoNode) => {}
                    Err(e) => return Err(format!("{base}/{b}/{id}: {e}")),
                }
            }
        }
        Ok(out)
    };
    tokio::time::timeout(Duration::from_secs(30), load)
        .await
        .map_err(|_| format!("loading {base} timed out"))?
}

/// Marathon's error body.
pub fn message(status: StatusCode, msg: &str) -> (StatusCode, Value) {
    (status, json!({"message": msg}))
}

fn invalid(path: &str, err: &str) -> (StatusCode, Value) {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": "Object is not valid", "details": [{"path": path, "errors": [err]}]}),
    )
}

/// An app id made absolute and checked as Marathon checks path segments.
pub fn canonical_id(id: &str) -> Result<String, (StatusCode, Value)> {
    let id = format!("/{}", id.trim_matches('/'));
    let ok = id.len() > 1
        && id.trim_start_matches('/').split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && !seg.starts_with(['-', '.'])
                && !seg.ends_with(['-', '.'])
        });
    if ok {
        Ok(id)
    } else {
        Err(invalid(
            "/id",
            "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'",
        ))
    }
}

/// A new or updated app definition in Marathon's shape, from a request body merged over
/// `base` (an update keeps what it does not name). `config_changed`: more than `instances`.
pub fn app_definition(
    id: &str,
    body: &Value,
    base: Option<&Value>,
) -> Result<(Value, bool), (StatusCode, Value)> {
    if !body.is_object() {
        return Err(invalid("/", "error.expected.jsobject"));
    }
    let now = iso(now_f64());
    let mut app = base.cloned().unwrap_or_else(|| {
        json!({
            "id": id, "cmd": null, "args": null, "user": null, "env": {}, "instances": 1,
            "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0, "executor": "", "constraints": [],
            "uris": [], "fetch": [], "storeUrls": [], "backoffSeconds": 1, "backoffFactor": 1.15,
            "maxLaunchDelaySeconds": 300, "container": null, "healthChecks": [], "readinessChecks": [],
            "dependencies": [], "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
            "labels": {}, "ipAddress": null, "secrets": {}, "portDefinitions": [], "requirePorts": false,
            "killSelection": "YOUNGEST_FIRST",
            "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
            "networks": [{"mode": "host"}], "role": "*",
        })
    });
    let mut config_changed = base.is_none();
    for (k, v) in body.as_object().into_iter().flatten() {
        match k.as_str() {
            "id" | "version" | "versionInfo" | "tasks" | "deployments" | "tasksRunning"
            | "tasksStaged" | "tasksHealthy" | "tasksUnhealthy" | "lastTaskFailure" => {}
            // Normalized below, from either form.
            "ports" | "portDefinitions" => {}
            "instances" => {
                let Some(n) = v.as_u64() else {
                    return Err(invalid("/instances", "error.min"));
                };
                app["instances"] = json!(n);
            }
            "cpus" | "mem" | "disk" => {
                let Some(n) = v.as_f64().filter(|n| *n >= 0.0) else {
                    return Err(invalid(&format!("/{k}"), "got -1.0, expected 0.0 or more"));
                };
                if app[k].as_f64() != Some(n) {
                    config_changed = true;
                }
                app[k] = json!(n);
            }
            _ => {
                if app[k] != *v {
                    config_changed = true;
                }
                app[k] = v.clone();
            }
        }
    }
    if let Some(defs) = crate::ports::definitions_from_request(body) {
        if app["portDefinitions"] != defs {
            config_changed = true;
        }
        app["portDefinitions"] = defs;
    }
    app["id"] = json!(id);
    let image = app["container"]["docker"]["image"].as_str().is_some();
    if app["cmd"].as_str().is_none() && !app["args"].is_array() && !image {
        return Err(invalid(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        ));
    }
    let last_config = if config_changed {
        now.clone()
    } else {
        app["versionInfo"]["lastConfigChangeAt"]
            .as_str()
            .unwrap_or(&now)
            .to_string()
    };
    app["version"] = json!(now);
    app["versionInfo"] = json!({"lastScalingAt": now, "lastConfigChangeAt": last_config});
    Ok((app, config_changed))
}

/// The environment Marathon gives a task (`KEY=value` each): the app's `env` (string
/// values; secrets are not emulated), its identity and its ports.
fn task_environment(app: &Value, host_ports: &[u64]) -> Vec<String> {
    let mut env: Vec<String> = app["env"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    for key in ["id", "version"] {
        if let Some(v) = app[key].as_str() {
            env.push(format!("MARATHON_APP_{}={v}", key.to_uppercase()));
        }
    }
    env.extend(
        crate::ports::environment(app, host_ports)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}")),
    );
    env
}

/// A task in `/v2/tasks` and an app's `tasks`.
pub fn task_json(i: &Instance) -> Value {
    let mut t = json!({
        "appId": i.app_id, "healthCheckResults": [], "host": i.host, "id": i.task_id,
        "ipAddresses": [{"ipAddress": i.host, "protocol": "IPv4"}], "ports": i.ports, "servicePorts": i.service_ports,
        "slaveId": i.agent_id, "state": i.state, "stagedAt": i.staged_at, "version": i.version,
        "localVolumes": [], "role": "*",
    });
    if let Some(s) = &i.started_at {
        t["startedAt"] = json!(s);
    }
    t
}

impl Workload {
    /// An app with its counts and deployments (and its tasks when `tasks`).
    pub fn app_json(&self, app: &Value, tasks: bool) -> Value {
        let id = app["id"].as_str().unwrap_or_default();
        let mine: Vec<&Instance> = self.instances.values().filter(|i| i.app_id == id).collect();
        let mut v = app.clone();
        v["tasksStaged"] = json!(mine
            .iter()
            .filter(|i| i.state == "TASK_STAGING" || i.state == "TASK_STARTING")
            .count());
        v["tasksRunning"] = json!(mine.iter().filter(|i| i.state == "TASK_RUNNING").count());
        v["tasksHealthy"] = json!(0);
        v["tasksUnhealthy"] = json!(0);
        v["deployments"] = json!(self
            .deployments
            .values()
            .filter(|d| d.app == id)
            .map(|d| json!({"id": d.id}))
            .collect::<Vec<_>>());
        if tasks {
            v["tasks"] = json!(mine.iter().map(|i| task_json(i)).collect::<Vec<_>>());
        }
        v
    }

    /// Whether an app's deployment is done.
    fn settled(&self, app_id: &str) -> bool {
        let mine: Vec<&Instance> = self
            .instances
            .values()
            .filter(|i| i.app_id == app_id)
            .collect();
        match self.apps.get(app_id) {
            None => mine.is_empty(),
            Some(app) => {
                let want = app["instances"].as_u64().unwrap_or(0) as usize;
                let config = app["versionInfo"]["lastConfigChangeAt"]
                    .as_str()
                    .unwrap_or_default();
                mine.len() == want
                    && mine
                        .iter()
                        .all(|i| i.state == "TASK_RUNNING" && i.config == config && !i.killing)
            }
        }
    }
}

/// What one reconciliation decided: done outside the lock.
#[derive(Debug, Default)]
pub struct Plan {
    pub launch: Vec<(Instance, Value)>,
    pub kill: Vec<String>,
    pub expunge: Vec<String>,
    pub finished: Vec<Deployment>,
    pub events: Vec<(&'static str, Value)>,
}

/// The master's view, as read from its `/master/state` and maintenance status.
pub struct MasterView {
    pub state: Value,
    pub draining: BTreeSet<String>,
}

impl Workload {
    /// One reconciliation against the master's view.
    pub fn reconcile(&mut self, fw: &str, view: &MasterView) -> Plan {
        let mut plan = Plan::default();
        let st = &view.state;
        let mut tasks: BTreeMap<String, &Value> = BTreeMap::new();
        let mut used: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        // Host ports taken per agent: every framework's active tasks, and this Marathon's
        // own instances (launched ones may not be in the master's state yet).
        let mut used_ports: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for i in self.instances.values() {
            used_ports
                .entry(i.agent_id.clone())
                .or_default()
                .extend(i.ports.iter().copied());
        }
        let mut known_fw = false;
        for f in st["frameworks"].as_array().into_iter().flatten() {
            let mine = f["id"] == fw;
            known_fw |= mine;
            for key in ["tasks", "unreachable_tasks", "completed_tasks"] {
                for t in f[key].as_array().into_iter().flatten() {
                    if key == "tasks" {
                        let agent = t["slave_id"].as_str().unwrap_or_default().to_string();
                        used_ports
                            .entry(agent.clone())
                            .or_default()
                            .extend(crate::ports::ports_of(&t["resources"]));
                        let u = used.entry(agent).or_default();
                        u.0 += t["resources"]["cpus"].as_f64().unwrap_or(0.0);
                        u.1 += t["resources"]["mem"].as_f64().unwrap_or(0.0);
                    }
                    if mine {
                        if let Some(id) = t["id"].as_str() {
                            // Active tasks win over an older completed record.
                            tasks.entry(id.to_string()).or_insert(t);
                        }
                    }
                }
            }
        }
        if !known_fw {
            return plan;
        }
        let agents: BTreeMap<String, &Value> = st["slaves"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s["id"].as_str()?.to_string(), s)))
            .collect();
        let elected_for = now_f64() - st["elected_time"].as_f64().unwrap_or_else(now_f64);
        let reregister = st["flags"]["agent_reregister_timeout"]
            .as_str()
            .and_then(crate::flags::parse_duration)
            .unwrap_or(Duration::from_secs(600))
            .as_secs_f64();
        // Follow each instance's task.
        for i in self.instances.values_mut() {
            let next = match tasks.get(&i.task_id) {
                Some(t) => t["state"].as_str().unwrap_or_default().to_string(),
                None => {
                    let launched_long_ago = i
                        .since
                        .is_none_or(|s| s.elapsed() > Duration::from_secs(15));
                    match agents.get(&i.agent_id) {
                        Some(a) if a["active"] == true && launched_long_ago => "TASK_LOST".into(),
                        None if elected_for > reregister => "TASK_UNREACHABLE".into(),
                        _ => i.state.clone(),
                    }
                }
            };
            if next != i.state {
                log!("Received status update for task {}: {next}", i.task_id);
                if next == "TASK_RUNNING" && i.started_at.is_none() {
                    i.started_at = Some(iso(now_f64()));
                }
                i.state = next.clone();
                plan.events.push((
                    "status_update_event",
                    json!({"eventType": "status_update_event", "timestamp": iso(now_f64()),
                        "slaveId": i.agent_id, "taskId": i.task_id, "taskStatus": next,
                        "message": "", "appId": i.app_id, "host": i.host,
                        "ipAddresses": [{"ipAddress": i.host, "protocol": "IPv4"}], "ports": i.ports,
                        "version": i.version}),
                ));
            }
            if is_terminal(&i.state) || i.state == "TASK_UNREACHABLE" {
                plan.expunge.push(i.task_id.clone());
            }
        }
        for id in &plan.expunge {
            self.instances.remove(id);
        }
        // Tasks of this framework that no instance knows (an unreachable agent's tasks
        // that came back after their replacement, a deleted app's) are killed.
        for (id, t) in &tasks {
            let state = t["state"].as_str().unwrap_or_default();
            if !is_terminal(state)
                && state != "TASK_UNREACHABLE"
                && !self.instances.contains_key(id)
            {
                plan.kill.push(id.clone());
            }
        }
        // Instances of a deleted app are killed.
        for i in self.instances.values() {
            if !self.apps.contains_key(&i.app_id) && !i.killing {
                plan.kill.push(i.task_id.clone());
            }
        }
        // Scale every app to its instances, replacing those of an older config.
        let draining = &view.draining;
        let mut per_agent: BTreeMap<(String, String), usize> = BTreeMap::new();
        for i in self.instances.values() {
            *per_agent
                .entry((i.app_id.clone(), i.agent_id.clone()))
                .or_default() += 1;
        }
        let apps: Vec<Value> = self.apps.values().cloned().collect();
        for app in &apps {
            let id = app["id"].as_str().unwrap_or_default().to_string();
            let want = app["instances"].as_u64().unwrap_or(0) as usize;
            let config = app["versionInfo"]["lastConfigChangeAt"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mut current: Vec<&Instance> = self
                .instances
                .values()
                .filter(|i| i.app_id == id && i.config == config && !i.killing)
                .collect();
            current.sort_by(|a, b| a.staged_at.cmp(&b.staged_at));
            let running = current.iter().filter(|i| i.state == "TASK_RUNNING").count();
            // Surplus: the youngest go.
            if current.len() > want {
                for i in current.iter().rev().take(current.len() - want) {
                    plan.kill.push(i.task_id.clone());
                }
            }
            // Old config: replaced once the new ones run.
            if running >= want {
                for i in self
                    .instances
                    .values()
                    .filter(|i| i.app_id == id && i.config != config && !i.killing)
                {
                    plan.kill.push(i.task_id.clone());
                }
            }
            let cpus = app["cpus"].as_f64().unwrap_or(1.0);
            let mem = app["mem"].as_f64().unwrap_or(128.0);
            for _ in current.len()..want {
                let candidates = agents.values().filter(|a| {
                    a["active"] == true
                        && !draining.contains(a["hostname"].as_str().unwrap_or_default())
                });
                let mut best: Option<(&Value, (usize, f64), Vec<u64>)> = None;
                for a in candidates {
                    let aid = a["id"].as_str().unwrap_or_default().to_string();
                    let u = used.get(&aid).copied().unwrap_or_default();
                    let free_cpus = a["resources"]["cpus"].as_f64().unwrap_or(0.0) - u.0;
                    let free_mem = a["resources"]["mem"].as_f64().unwrap_or(0.0) - u.1;
                    if free_cpus + 1e-9 < cpus || free_mem + 1e-9 < mem {
                        continue;
                    }
                    let Some(host_ports) = crate::ports::pick_host_ports(
                        app,
                        a["resources"]["ports"].as_str().unwrap_or_default(),
                        used_ports.get(&aid).unwrap_or(&BTreeSet::new()),
                    ) else {
                        continue;
                    };
                    let n = per_agent.get(&(id.clone(), aid)).copied().unwrap_or(0);
                    let key = (n, u.0);
                    if best.as_ref().is_none_or(|(_, k, _)| key < *k) {
                        best = Some((a, key, host_ports));
                    }
                }
                let Some((a, _, host_ports)) = best else {
                    break;
                };
                let aid = a["id"].as_str().unwrap_or_default().to_string();
                let host = a["hostname"].as_str().unwrap_or_default().to_string();
                let u = used.entry(aid.clone()).or_default();
                u.0 += cpus;
                u.1 += mem;
                *per_agent.entry((id.clone(), aid.clone())).or_default() += 1;
                used_ports
                    .entry(aid.clone())
                    .or_default()
                    .extend(host_ports.iter().copied());
                let task_id = format!(
                    "{}.instance-{}._app.1",
                    id.trim_start_matches('/').replace('/', "."),
                    util::uuid()
                );
                let inst = Instance {
                    task_id: task_id.clone(),
                    app_id: id.clone(),
                    agent_id: aid,
                    host,
                    config: config.clone(),
                    version: app["version"].as_str().unwrap_or_default().to_string(),
                    staged_at: iso(now_f64()),
                    started_at: None,
                    state: "TASK_STAGING".into(),
                    killing: false,
                    ports: host_ports.clone(),
                    service_ports: crate::ports::service_ports(app),
                    since: Some(Instant::now()),
                };
                let mut labels = vec![json!({"key": "MARATHON_APP_ID", "value": id})];
                for (k, v) in app["labels"].as_object().into_iter().flatten() {
                    if let Some(v) = v.as_str() {
                        labels.push(json!({"key": k, "value": v}));
                    }
                }
                let name = id.trim_start_matches('/').replace('/', ".");
                let mut task = json!({
                    "task_id": task_id, "name": name,
                    "cmd": app["cmd"], "image": app["container"]["docker"]["image"],
                    "cpus": cpus, "mem": mem, "labels": {"labels": labels},
                    "env": task_environment(app, &host_ports),
                });
                if !host_ports.is_empty() {
                    task["ports"] = json!(host_ports);
                    task["discovery"] = crate::ports::discovery(app, &name, &host_ports);
                }
                plan.launch.push((inst, task));
            }
        }
        plan.kill.sort();
        plan.kill.dedup();
        for id in &plan.kill {
            if let Some(i) = self.instances.get_mut(id) {
                i.killing = true;
            }
        }
        for (inst, _) in &plan.launch {
            self.instances.insert(inst.task_id.clone(), inst.clone());
        }
        // Deployments finish when their app is settled.
        let done: Vec<String> = self
            .deployments
            .values()
            .filter(|d| self.settled(&d.app))
            .map(|d| d.id.clone())
            .collect();
        for id in done {
            if let Some(d) = self.deployments.remove(&id) {
                log!("Deployment {} of {} finished", d.id, d.app);
                plan.events.push((
                    "deployment_success",
                    json!({"eventType": "deployment_success", "timestamp": iso(now_f64()), "id": d.id,
                        "plan": d.to_json()}),
                ));
                plan.finished.push(d);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_paths_and_times_are_marathons() {
        // "foo".hashCode() = 101574 → 101574 % 16 = 6.
        assert_eq!(
            store_path("/marathon", "apps", "foo"),
            "/marathon/state/apps/6/foo"
        );
        assert_eq!(app_key("/a/b"), "a_b");
        assert_eq!(iso(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_700_000_000.5), "2023-11-14T22:13:20.500Z");
    }

    #[test]
    fn app_definitions_are_validated_and_merged() {
        assert!(canonical_id("Foo").is_err());
        assert_eq!(canonical_id("foo/bar").unwrap(), "/foo/bar");
        let (status, body) = app_definition("/x", &json!({"instances": 2}), None).unwrap_err();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["message"], "Object is not valid");
        let (app, changed) =
            app_definition("/x", &json!({"cmd": "sleep 100", "instances": 2}), None).unwrap();
        assert!(changed);
        assert_eq!(app["instances"], 2);
        let (scaled, changed) = app_definition("/x", &json!({"instances": 3}), Some(&app)).unwrap();
        assert!(!changed);
        assert_eq!(scaled["cmd"], "sleep 100");
        assert_eq!(
            scaled["versionInfo"]["lastConfigChangeAt"],
            app["versionInfo"]["lastConfigChangeAt"]
        );
    }
}
