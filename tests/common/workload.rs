//! A workload for scenario tests: Marathon apps with several instances, created before a
//! change to the cluster and checked after it, so that "nothing was lost" is a tested
//! promise. Plain HTTP/1.1 over std sockets, every call bounded by a timeout.
//!
//! Use: `let w = Workload::create(&marathon, &[("/web", 3), ("/api", 2)]);` before the
//! change, then `w.assert_kept(&marathon, &master, &drained_hosts)` after it: every app is
//! still defined with its instances, all running, and every task that ran before still
//! runs, except those on hosts that were drained (their tasks may move).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One HTTP answer: status and body.
pub fn call(method: &str, addr: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let sock = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn json(method: &str, addr: &str, path: &str, body: &str) -> Option<(u16, Value)> {
    let (s, b) = call(method, addr, path, body)?;
    Some((s, serde_json::from_str(&b).unwrap_or(Value::Null)))
}

fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// An app as the test defined it, and the tasks it ran when last checked.
#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub instances: u64,
    /// Task id → host.
    pub tasks: BTreeMap<String, String>,
}

/// The apps a test created.
#[derive(Debug, Clone)]
pub struct Workload {
    pub apps: Vec<App>,
}

/// Marathon's view of an app once it runs all its instances with no deployment left.
fn settled(
    marathon: &str,
    id: &str,
    instances: u64,
    timeout: Duration,
) -> BTreeMap<String, String> {
    eventually(
        &format!("{id} running {instances} instances"),
        timeout,
        || {
            let (s, v) = json("GET", marathon, &format!("/v2/apps{id}"), "")?;
            let a = &v["app"];
            let tasks: BTreeMap<String, String> = a["tasks"]
                .as_array()?
                .iter()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| {
                    Some((
                        t["id"].as_str()?.to_string(),
                        t["host"].as_str()?.to_string(),
                    ))
                })
                .collect();
            (s == 200
                && a["instances"] == instances
                && a["tasksRunning"] == instances
                && a["deployments"].as_array()?.is_empty()
                && tasks.len() == instances as usize)
                .then_some(tasks)
        },
    )
}

/// The running tasks the leading master knows (`/master/tasks`; `master` may be any
/// master: a non-leader's 307 is followed).
pub fn master_running(master: &str) -> BTreeSet<String> {
    let v = eventually(
        "the leading master's tasks",
        Duration::from_secs(30),
        || {
            let (s, head_or_body) = call_with_location("GET", master, "/master/tasks?limit=10000")?;
            match s {
                200 => serde_json::from_str::<Value>(&head_or_body).ok(),
                307 => {
                    let leader = head_or_body.trim_start_matches("//");
                    let leader = leader.split('/').next()?;
                    let (s, b) = call("GET", leader, "/master/tasks?limit=10000", "")?;
                    (s == 200).then(|| serde_json::from_str(&b).ok())?
                }
                _ => None,
            }
        },
    );
    running_ids(&v["tasks"])
}

/// The ids of the `TASK_RUNNING` tasks in a JSON list of tasks (Mesos' or Marathon's).
pub fn running_ids(tasks: &Value) -> BTreeSet<String> {
    tasks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "TASK_RUNNING")
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect()
}

/// Like [`call`], but a 307 answers with its `Location` instead of the body.
fn call_with_location(method: &str, addr: &str, path: &str) -> Option<(u16, String)> {
    let sock = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    if status == 307 {
        let loc = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
            })?
            .1
            .trim()
            .to_string();
        return Some((status, loc));
    }
    Some((status, body.to_string()))
}

impl Workload {
    /// Creates `apps` (id, instances) through `marathon` (`host:port`, leader or standby)
    /// with a long-running command, and waits until each runs all its instances.
    pub fn create(marathon: &str, apps: &[(&str, u64)]) -> Workload {
        for (id, n) in apps {
            let body = format!(
                r#"{{"id":"{id}","cmd":"sleep 86400","instances":{n},"cpus":0.05,"mem":16}}"#
            );
            let (s, b) = eventually(
                &format!("Marathon to accept {id}"),
                Duration::from_secs(60),
                || {
                    call("POST", marathon, "/v2/apps", &body)
                        .filter(|(s, _)| *s != 502 && *s != 503)
                },
            );
            assert!(s == 201 || s == 409, "create {id}: {s} {b}");
        }
        let apps = apps
            .iter()
            .map(|(id, n)| App {
                id: id.to_string(),
                instances: *n,
                tasks: settled(marathon, id, *n, Duration::from_secs(120)),
            })
            .collect();
        Workload { apps }
    }

    /// Every task id the workload ran when last checked.
    pub fn task_ids(&self) -> BTreeSet<String> {
        self.apps
            .iter()
            .flat_map(|a| a.tasks.keys().cloned())
            .collect()
    }

    /// After a change: every app is still defined and runs its instances, every task that
    /// ran before still runs unless it ran on one of `drained` (hosts or IPs), and the
    /// master runs each of Marathon's tasks. Marathon and the master settle within seconds
    /// of a change, so this is retried until both agree (3 minutes), then fails with what
    /// was last wrong. Returns the workload as it is now.
    pub fn assert_kept(&self, marathon: &str, master: &str, drained: &[String]) -> Workload {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            match self.check(marathon, master, drained) {
                Ok(now) => return now,
                Err(why) => {
                    assert!(Instant::now() < deadline, "workload not kept: {why}");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    fn check(&self, marathon: &str, master: &str, drained: &[String]) -> Result<Workload, String> {
        let mut now = Vec::new();
        for a in &self.apps {
            let (s, v) = json("GET", marathon, &format!("/v2/apps{}", a.id), "")
                .ok_or_else(|| format!("Marathon at {marathon} does not answer"))?;
            let app = &v["app"];
            if s != 200 {
                return Err(format!("{} is not defined: {s} {v}", a.id));
            }
            let tasks: BTreeMap<String, String> = app["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| {
                    Some((
                        t["id"].as_str()?.to_string(),
                        t["host"].as_str()?.to_string(),
                    ))
                })
                .collect();
            if app["instances"] != a.instances || tasks.len() != a.instances as usize {
                return Err(format!(
                    "{} runs {} of {} instances: {app}",
                    a.id,
                    tasks.len(),
                    a.instances
                ));
            }
            for (t, host) in &a.tasks {
                if !drained.contains(host) && !tasks.contains_key(t) {
                    return Err(format!(
                        "task {t} of {} on {host} was lost (not drained); running now: {tasks:?}",
                        a.id
                    ));
                }
            }
            now.push(App {
                id: a.id.clone(),
                instances: a.instances,
                tasks,
            });
        }
        let after = Workload { apps: now };
        let running = master_running(master);
        for t in after.task_ids() {
            if !running.contains(&t) {
                return Err(format!("Marathon's task {t} is not running in the master"));
            }
        }
        Ok(after)
    }

    /// Deletes the apps (their tasks are killed).
    pub fn delete(&self, marathon: &str) {
        for a in &self.apps {
            let _ = call(
                "DELETE",
                marathon,
                &format!("/v2/apps{}?force=true", a.id),
                "",
            );
        }
    }
}
