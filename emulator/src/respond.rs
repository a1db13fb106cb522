//! `mesos-emulator respond`: a tiny HTTP service for Marathon apps on the test bed, so that
//! traffic routed to a task (through a load balancer, by its service port) reaches a real
//! socket and says which task answered. Run as an app's command (`"cmd": "mesos-emulator
//! respond"`), it listens on every port Marathon gave the task (`$PORTS`, else `$PORT0`) on
//! all addresses and answers every request with 200 and `<task id> <host>:<port>\n`, the
//! task id also in an `X-Task-Id` header. Exits with status 1 when it has no port or cannot
//! bind one, so a misconfigured app fails as a task rather than running deaf.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::util::exit_with;

/// The ports to serve, from the task's environment.
fn ports() -> Vec<u16> {
    let list = std::env::var("PORTS")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .or_else(|| std::env::var("PORT0").ok())
        .unwrap_or_default();
    list.split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// Serves until the process ends.
pub async fn run() {
    let ports = ports();
    if ports.is_empty() {
        exit_with("respond: no port to serve: neither $PORTS nor $PORT0 is set (give the app portDefinitions)");
    }
    let task = std::env::var("MESOS_TASK_ID").unwrap_or_else(|_| "unknown-task".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "localhost".into());
    let mut servers = Vec::new();
    for port in ports {
        let body = format!("{task} {host}:{port}\n");
        let id = task.clone();
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            let id = id.clone();
            async move { answer(&id, body) }
        });
        crate::log!("Task {task} answering HTTP on port {port}");
        let addr = format!("0.0.0.0:{port}");
        servers.push(tokio::spawn(
            async move { crate::util::serve(app, &addr).await },
        ));
    }
    for s in servers {
        let _ = s.await;
    }
}

fn answer(task: &str, body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    if let Ok(v) = HeaderValue::from_str(task) {
        r.headers_mut().insert("x-task-id", v);
    }
    r
}
