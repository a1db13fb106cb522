//! Mesos maintenance primitives and Marathon's leader abdication.
//!
//! Maintenance calls go to the leading master (a non-leader answers 307 to it, which the
//! client follows); if one master does not answer, the next is asked. Each call is
//! idempotent: a machine already in the wanted state counts as done.

use mesos_operator_core::ops::{Machine, Op};
use serde_json::{json, Value};

use super::ActError;

/// How long the operator's maintenance window says the machine is away.
const WINDOW_NANOS: u64 = 3_600_000_000_000;

fn machine_json(m: &Machine) -> Value {
    json!({"hostname": m.hostname, "ip": m.ip})
}

fn same_machine(v: &Value, m: &Machine) -> bool {
    v["hostname"].as_str() == Some(&m.hostname) || v["ip"].as_str() == Some(&m.ip)
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, ActError> {
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| ActError::Http(format!("GET {url}: {e}")))?;
    let status = r.status();
    if !status.is_success() {
        return Err(ActError::Http(format!("GET {url}: {status}")));
    }
    r.json()
        .await
        .map_err(|e| ActError::Http(format!("GET {url}: unreadable answer: {e}")))
}

async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Result<(), ActError> {
    let r = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| ActError::Http(format!("POST {url}: {e}")))?;
    let status = r.status();
    if status.is_success() {
        return Ok(());
    }
    let text = r.text().await.unwrap_or_default();
    Err(ActError::Http(format!(
        "POST {url}: {status}: {}",
        text.chars().take(300).collect::<String>()
    )))
}

/// `(draining, down)` for the machine, per `/master/maintenance/status`.
async fn machine_state(
    http: &reqwest::Client,
    master: &str,
    m: &Machine,
) -> Result<(bool, bool), ActError> {
    let v = get_json(http, &format!("http://{master}/master/maintenance/status")).await?;
    let draining = v["draining_machines"]
        .as_array()
        .is_some_and(|a| a.iter().any(|d| same_machine(&d["id"], m)));
    let down = v["down_machines"]
        .as_array()
        .is_some_and(|a| a.iter().any(|d| same_machine(d, m)));
    Ok((draining, down))
}

async fn schedule(http: &reqwest::Client, master: &str, m: &Machine) -> Result<(), ActError> {
    let (draining, down) = machine_state(http, master, m).await?;
    if draining || down {
        return Ok(());
    }
    let url = format!("http://{master}/master/maintenance/schedule");
    let mut current = get_json(http, &url).await?;
    let now_nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let window = json!({
        "machine_ids": [machine_json(m)],
        "unavailability": {"start": {"nanoseconds": now_nanos}, "duration": {"nanoseconds": WINDOW_NANOS}},
    });
    // Posting replaces the whole schedule: keep every window people made.
    match current.get_mut("windows").and_then(Value::as_array_mut) {
        Some(w) => w.push(window),
        None => current = json!({"windows": [window]}),
    }
    post_json(http, &url, &current).await
}

async fn down(http: &reqwest::Client, master: &str, m: &Machine) -> Result<(), ActError> {
    let (_, down) = machine_state(http, master, m).await?;
    if down {
        return Ok(());
    }
    post_json(
        http,
        &format!("http://{master}/master/machine/down"),
        &json!([machine_json(m)]),
    )
    .await
}

async fn up(http: &reqwest::Client, master: &str, m: &Machine) -> Result<(), ActError> {
    let (draining, down) = machine_state(http, master, m).await?;
    if !down {
        if draining {
            // Scheduled by us but never taken down: leave the window by removing it.
            let url = format!("http://{master}/master/maintenance/schedule");
            let mut current = get_json(http, &url).await?;
            if let Some(ws) = current.get_mut("windows").and_then(Value::as_array_mut) {
                for w in ws.iter_mut() {
                    if let Some(ids) = w.get_mut("machine_ids").and_then(Value::as_array_mut) {
                        ids.retain(|id| !same_machine(id, m));
                    }
                }
                ws.retain(|w| w["machine_ids"].as_array().is_some_and(|a| !a.is_empty()));
            }
            return post_json(http, &url, &current).await;
        }
        return Ok(());
    }
    post_json(
        http,
        &format!("http://{master}/master/machine/up"),
        &json!([machine_json(m)]),
    )
    .await
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

pub(super) async fn execute(http: &reqwest::Client, op: &Op) -> Result<(), ActError> {
    match op {
        Op::MaintenanceSchedule { masters, machine } => {
            on_masters(masters, |m| schedule(http, m, machine)).await
        }
        Op::MachineDown { masters, machine } => {
            on_masters(masters, |m| down(http, m, machine)).await
        }
        Op::MachineUp { masters, machine } => on_masters(masters, |m| up(http, m, machine)).await,
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
                Err(ActError::Http(format!("DELETE {url}: {}", r.status())))
            }
        }
        _ => Ok(()),
    }
}
