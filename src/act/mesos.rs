//! Mesos maintenance primitives and Marathon's leader abdication.
//!
//! Maintenance calls go to the leading master: the masters of the cluster are asked in turn
//! until one answers as the leader. A non-leader's 307 is not followed: its `Location` is
//! whatever a process on a master's port says, and the leader is among the masters asked
//! anyway. Answers are read up to [`BODY_LIMIT`]. Each call is idempotent: a machine already
//! in the wanted state counts as done.
//!
//! Every call carries the cluster's `httpCredentials` when the document names them ([`Api`]):
//! masters with `--authenticate_http_readwrite` refuse the maintenance endpoints without
//! them, Marathon with `--http_credentials` every endpoint. Calls go only to the masters and
//! Marathon instances the plan named, and no redirect is followed, so the credentials reach
//! no other address.

use mesos_operator_core::ops::{Machine, Op};
use serde_json::{json, Value};

use super::ActError;
use crate::http_auth::{self, HttpAuth};

/// The executor's HTTP client with the cluster's credentials, if any: every request built
/// here carries them.
#[derive(Clone, Copy)]
pub(super) struct Api<'a> {
    /// The client (no redirects, bounded).
    pub client: &'a reqwest::Client,
    /// `spec.httpCredentials`, read before the step's record was written.
    pub auth: Option<&'a HttpAuth>,
}

impl Api<'_> {
    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        http_auth::with_auth(self.client.get(url), self.auth)
    }

    fn post(&self, url: &str) -> reqwest::RequestBuilder {
        http_auth::with_auth(self.client.post(url), self.auth)
    }

    fn delete(&self, url: &str) -> reqwest::RequestBuilder {
        http_auth::with_auth(self.client.delete(url), self.auth)
    }

    /// A status that is not success, in words; a redirect says where it pointed (not
    /// followed); a 401 names the field and the secret (or their absence).
    fn refused(&self, what: &str, r: &reqwest::Response) -> ActError {
        if r.status() == reqwest::StatusCode::UNAUTHORIZED {
            return ActError::Http(http_auth::unauthorized(what, self.auth));
        }
        refused(what, r)
    }
}

/// How long the operator's maintenance window says the machine is away.
const WINDOW_NANOS: u64 = 3_600_000_000_000;

fn machine_json(m: &Machine) -> Value {
    json!({"hostname": m.hostname, "ip": m.ip})
}

fn same_machine(v: &Value, m: &Machine) -> bool {
    v["hostname"].as_str() == Some(&m.hostname) || v["ip"].as_str() == Some(&m.ip)
}

/// Largest answer read from a master (a maintenance schedule or status).
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A status that is not success, in words; a redirect says where it pointed (not followed).
fn refused(what: &str, r: &reqwest::Response) -> ActError {
    let status = r.status();
    if status.is_redirection() {
        let to = r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        return ActError::Http(format!("{what}: {status}: not the leader (points to {to})"));
    }
    ActError::Http(format!("{what}: {status}"))
}

async fn get_json(http: Api<'_>, url: &str) -> Result<Value, ActError> {
    let what = format!("GET {url}");
    let mut r = http
        .get(url)
        .send()
        .await
        .map_err(|e| ActError::Http(format!("{what}: {e}")))?;
    if !r.status().is_success() {
        return Err(http.refused(&what, &r));
    }
    let body = crate::probe::read_capped(&mut r, BODY_LIMIT, url)
        .await
        .map_err(|e| ActError::Http(format!("{what}: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|e| ActError::Http(format!("{what}: unreadable answer: {e}")))
}

async fn post_json(http: Api<'_>, url: &str, body: &Value) -> Result<(), ActError> {
    let what = format!("POST {url}");
    let mut r = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| ActError::Http(format!("{what}: {e}")))?;
    if r.status().is_success() {
        return Ok(());
    }
    let err = http.refused(&what, &r);
    if r.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(err);
    }
    let text = crate::probe::read_capped(&mut r, 4096, url)
        .await
        .unwrap_or_default();
    Err(ActError::Http(format!(
        "{err}: {}",
        String::from_utf8_lossy(&text)
            .chars()
            .take(300)
            .collect::<String>()
    )))
}

/// `(draining, down)` for the machine, per `/master/maintenance/status`.
async fn machine_state(http: Api<'_>, master: &str, m: &Machine) -> Result<(bool, bool), ActError> {
    let v = get_json(http, &format!("http://{master}/master/maintenance/status")).await?;
    let draining = v["draining_machines"]
        .as_array()
        .is_some_and(|a| a.iter().any(|d| same_machine(&d["id"], m)));
    let down = v["down_machines"]
        .as_array()
        .is_some_and(|a| a.iter().any(|d| same_machine(d, m)));
    Ok((draining, down))
}

/// Nanoseconds of a window start recorded in seconds: the operator's windows start on a
/// whole second, the one recorded, so that the schedule tells them apart from people's.
fn start_nanos(start_secs: u64) -> u64 {
    start_secs.saturating_mul(1_000_000_000)
}

async fn schedule(http: Api<'_>, master: &str, m: &Machine, start: u64) -> Result<(), ActError> {
    let (draining, down) = machine_state(http, master, m).await?;
    if draining || down {
        // Already in a window: ours (a retry) or a person's, which the planner then sees
        // by its start and leaves to them.
        return Ok(());
    }
    let url = format!("http://{master}/master/maintenance/schedule");
    let mut current = get_json(http, &url).await?;
    let window = json!({
        "machine_ids": [machine_json(m)],
        "unavailability": {"start": {"nanoseconds": start_nanos(start)}, "duration": {"nanoseconds": WINDOW_NANOS}},
    });
    // Posting replaces the whole schedule: keep every window people made.
    match current.get_mut("windows").and_then(Value::as_array_mut) {
        Some(w) => w.push(window),
        None => current = json!({"windows": [window]}),
    }
    post_json(http, &url, &current).await
}

/// The start (seconds) of the window in `schedule` that lists machine `m`, if one does.
fn window_start_of(schedule: &Value, m: &Machine) -> Option<u64> {
    schedule["windows"]
        .as_array()?
        .iter()
        .find(|w| {
            w["machine_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| same_machine(id, m)))
        })
        .and_then(|w| w["unavailability"]["start"]["nanoseconds"].as_u64())
        .map(|n| n / 1_000_000_000)
}

/// Right before the operator takes a machine down or up: the window the master shows for
/// it must be the one the operator recorded (the plan checked it seconds before; a person
/// may have replaced it since). A machine in no window is left to Mesos' own answer.
async fn ensure_ours(
    http: Api<'_>,
    master: &str,
    m: &Machine,
    window_start: Option<u64>,
) -> Result<(), ActError> {
    let Some(mine) = window_start else {
        return Ok(());
    };
    let schedule = get_json(
        http,
        &format!("http://{master}/master/maintenance/schedule"),
    )
    .await?;
    match window_start_of(&schedule, m) {
        Some(seen) if seen != mine => Err(ActError::Http(format!(
            "the maintenance window of {} starts at {seen}, not at {mine} as the operator's did: it is someone else's, and is left alone",
            m.hostname
        ))),
        _ => Ok(()),
    }
}

async fn down(
    http: Api<'_>,
    master: &str,
    m: &Machine,
    window_start: Option<u64>,
) -> Result<(), ActError> {
    let (_, down) = machine_state(http, master, m).await?;
    if down {
        return Ok(());
    }
    ensure_ours(http, master, m, window_start).await?;
    post_json(
        http,
        &format!("http://{master}/master/machine/down"),
        &json!([machine_json(m)]),
    )
    .await
}

/// Takes machine `m` out of the operator's window in `schedule`: the one that starts at
/// `window_start` (any window, for a record from before starts were kept); windows left
/// empty are dropped. A person's window on the same machine stays.
fn leave_window(schedule: &mut Value, m: &Machine, window_start: Option<u64>) {
    let ours = |w: &Value| {
        window_start.is_none_or(|s| {
            w["unavailability"]["start"]["nanoseconds"].as_u64() == Some(start_nanos(s))
        })
    };
    if let Some(ws) = schedule.get_mut("windows").and_then(Value::as_array_mut) {
        for w in ws.iter_mut() {
            if !ours(w) {
                continue;
            }
            if let Some(ids) = w.get_mut("machine_ids").and_then(Value::as_array_mut) {
                ids.retain(|id| !same_machine(id, m));
            }
        }
        ws.retain(|w| w["machine_ids"].as_array().is_some_and(|a| !a.is_empty()));
    }
}

async fn up(
    http: Api<'_>,
    master: &str,
    m: &Machine,
    window_start: Option<u64>,
) -> Result<(), ActError> {
    let (draining, down) = machine_state(http, master, m).await?;
    if !down {
        if draining {
            // Scheduled by us but never taken down: leave our window (the one with the
            // recorded start; any, in a record from before starts were kept).
            let url = format!("http://{master}/master/maintenance/schedule");
            let mut current = get_json(http, &url).await?;
            leave_window(&mut current, m, window_start);
            return post_json(http, &url, &current).await;
        }
        return Ok(());
    }
    ensure_ours(http, master, m, window_start).await?;
    post_json(
        http,
        &format!("http://{master}/master/machine/up"),
        &json!([machine_json(m)]),
    )
    .await
}

/// Whether the leading master lists the machine's agent active: `None` when no master
/// answered as the leader (a non-leader's 307 is not followed; the leader is among those
/// asked). `/master/slaves` lists an agent by the `--hostname` it registered with.
pub(super) async fn listed_active(http: Api<'_>, masters: &[String], m: &Machine) -> Option<bool> {
    for master in masters {
        let Ok(v) = get_json(http, &format!("http://{master}/master/slaves")).await else {
            continue;
        };
        let listed = v["slaves"].as_array().into_iter().flatten().any(|a| {
            let name = a["hostname"].as_str();
            (name == Some(&m.hostname) || name == Some(&m.ip))
                && a["active"].as_bool().unwrap_or(false)
        });
        return Some(listed);
    }
    None
}

async fn on_masters<'a, F, Fut>(masters: &'a [String], f: F) -> Result<(), ActError>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<(), ActError>>,
{
    let mut last = ActError::Http("no master to ask".into());
    for m in masters {
        match f(m).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

pub(super) async fn execute(http: Api<'_>, op: &Op) -> Result<(), ActError> {
    match op {
        Op::MaintenanceSchedule {
            masters,
            machine,
            start,
        } => on_masters(masters, |m| schedule(http, m, machine, *start)).await,
        Op::MachineDown {
            masters,
            machine,
            window_start,
        } => on_masters(masters, |m| down(http, m, machine, *window_start)).await,
        Op::MachineUp {
            masters,
            machine,
            window_start,
        } => on_masters(masters, |m| up(http, m, machine, *window_start)).await,
        Op::MarathonAbdicate { address } => {
            let url = format!("http://{address}/v2/leader");
            let r = http
                .delete(&url)
                .send()
                .await
                .map_err(|e| ActError::Http(format!("DELETE {url}: {e}")))?;
            // 404: no leader to abdicate any more (it already did).
            if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND {
                Ok(())
            } else {
                Err(http.refused(&format!("DELETE {url}"), &r))
            }
        }
        other => Err(ActError::Misrouted {
            op: other.kind(),
            module: "mesos",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A listener that answers every request with `answer` and counts connections.
    async fn serve(answer: String) -> (String, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        (addr, hits)
    }

    /// A master (or Marathon) that demands `Authorization: Basic b3BzOnB3` (`ops:pw`) as
    /// Mesos' readwrite realm does, answering `body` to a request that carries it and 401
    /// otherwise; every request's head is kept.
    async fn guarded(body: &'static str) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let keep = keep.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                    let ok = head.contains("\r\nauthorization: basic b3bzonb3\r\n");
                    keep.lock().unwrap().push(head);
                    let answer = if ok {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"mesos-master-readwrite\"\r\nContent-Length: 0\r\n\r\n".to_string()
                    };
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        (addr, seen)
    }

    /// Issue 23: every maintenance and abdication call carries the cluster's credentials;
    /// a 401 names the field and the secret, never the password.
    #[tokio::test]
    async fn calls_carry_the_credentials_and_a_401_names_the_field_and_the_secret() {
        use crate::http_auth::HttpAuth;
        use crate::secrets::Secret;
        let (master, seen) = guarded(r#"{"draining_machines":[],"down_machines":[]}"#).await;
        let http = super::super::http_client().unwrap();
        let good = HttpAuth::from_secret(&Secret::new("mesos-http", b"ops:pw\n".to_vec())).unwrap();
        let wrong =
            HttpAuth::from_secret(&Secret::new("mesos-http", b"ops:hunter2".to_vec())).unwrap();
        let up = Op::MachineUp {
            masters: vec![master.clone()],
            machine: Machine {
                hostname: "10.0.0.1".into(),
                ip: "10.0.0.1".into(),
            },
            window_start: None,
        };
        let api = |auth| Api {
            client: &http,
            auth,
        };
        execute(api(Some(&good)), &up).await.unwrap();
        let abdicate = Op::MarathonAbdicate {
            address: master.clone(),
        };
        execute(api(Some(&good)), &abdicate).await.unwrap();
        assert!(seen
            .lock()
            .unwrap()
            .iter()
            .all(|h| h.contains("authorization: basic b3bzonb3")));

        let e = execute(api(None), &up).await.unwrap_err().to_string();
        assert!(
            e.contains("401") && e.contains("spec.httpCredentials"),
            "{e}"
        );
        let e = execute(api(Some(&wrong)), &up)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("401") && e.contains("mesos-http"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("b3Bz"), "{e}");
        let e = execute(api(None), &abdicate).await.unwrap_err().to_string();
        assert!(
            e.contains("401") && e.contains("spec.httpCredentials"),
            "{e}"
        );
    }

    /// The window that lists a machine is found by the machine, with its start in seconds.
    #[test]
    fn a_machine_s_window_start_is_read_from_the_schedule() {
        let m = Machine {
            hostname: "a1".into(),
            ip: "10.0.0.1".into(),
        };
        let schedule = json!({"windows": [
            {"machine_ids": [{"hostname": "a2", "ip": "10.0.0.2"}], "unavailability": {"start": {"nanoseconds": start_nanos(50)}}},
            {"machine_ids": [{"hostname": "a1", "ip": "10.0.0.1"}], "unavailability": {"start": {"nanoseconds": start_nanos(70) + 5}}},
        ]});
        assert_eq!(window_start_of(&schedule, &m), Some(70));
        assert_eq!(window_start_of(&json!({}), &m), None);
    }

    /// Leaving the operator's window keeps a person's window on the same machine.
    #[test]
    fn leaving_the_operator_s_window_keeps_a_person_s() {
        let m = Machine {
            hostname: "a1".into(),
            ip: "10.0.0.1".into(),
        };
        let window = |start: u64, ids: Value| json!({"machine_ids": ids, "unavailability": {"start": {"nanoseconds": start_nanos(start)}}});
        let id = json!({"hostname": "a1", "ip": "10.0.0.1"});
        let other = json!({"hostname": "a2", "ip": "10.0.0.2"});
        let mut schedule = json!({"windows": [
            window(100, json!([id.clone()])),
            window(200, json!([id.clone(), other.clone()])),
        ]});
        leave_window(&mut schedule, &m, Some(100));
        assert_eq!(
            schedule,
            json!({"windows": [window(200, json!([id.clone(), other.clone()]))]})
        );
        leave_window(&mut schedule, &m, Some(100));
        assert_eq!(schedule["windows"].as_array().map(Vec::len), Some(1));
    }

    #[tokio::test]
    async fn a_redirect_from_a_master_port_is_not_followed_and_an_endless_answer_is_cut() {
        let (trap, trapped) = serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".into()).await;
        let (liar, _) = serve(format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{trap}/master/maintenance/status\r\nContent-Length: 0\r\n\r\n"
        ))
        .await;
        let (huge, _) = serve(format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            BODY_LIMIT * 4
        ))
        .await;
        let http = super::super::http_client().unwrap();
        let machine = Machine {
            hostname: "10.0.0.1".into(),
            ip: "10.0.0.1".into(),
        };
        let op = Op::MaintenanceSchedule {
            masters: vec![liar.clone(), huge.clone()],
            machine,
            start: 1,
        };
        let api = Api {
            client: &http,
            auth: None,
        };
        let err = execute(api, &op).await.unwrap_err().to_string();
        assert_eq!(
            trapped.load(Ordering::SeqCst),
            0,
            "the redirect was followed"
        );
        assert!(
            err.contains("exceeds"),
            "the endless answer was cut at its cap: {err}"
        );
    }
}
