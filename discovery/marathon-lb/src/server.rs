//! The bridge's own HTTP endpoint: `/metrics` (Prometheus text), `/haproxy.cfg` (the
//! configuration HAProxy runs; 404 before the first) and `/health` (also at marathon-lb's
//! `/_haproxy_health_check`, which existing health checks probe): 200 once
//! HAProxy runs a configuration read from Marathon, 503 with the reason before that or
//! while HAProxy is down. Marathon being unreachable later does not fail it: HAProxy keeps
//! routing to what it last knew, and the age of that is in the body and in
//! `marathon_lb_last_sync_timestamp_seconds`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use prometheus_client::registry::Registry;

use crate::bridge::SharedHealth;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The registry rendered on `/metrics`.
    pub registry: Arc<Registry>,
    /// The updater's health.
    pub health: SharedHealth,
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &s.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("cannot encode metrics: {e}\n"),
        ),
    }
}

/// The health answer: status and body.
pub fn health_answer(h: &crate::bridge::Health) -> (StatusCode, String) {
    let error = h
        .last_error
        .as_deref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default();
    match (h.haproxy_running, h.last_sync) {
        (true, Some(t)) => (
            StatusCode::OK,
            format!(
                "ok: haproxy running; Marathon read {}s ago{error}\n",
                t.elapsed().as_secs()
            ),
        ),
        (false, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: haproxy is not running{error}\n"),
        ),
        (true, None) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: Marathon has not been read yet{error}\n"),
        ),
    }
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    let h = s.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
    health_answer(&h)
}

async fn config(State(s): State<AppState>) -> impl IntoResponse {
    let text = s
        .health
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .config
        .clone();
    match text {
        Some(t) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            t,
        ),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no configuration loaded yet\n".to_string(),
        ),
    }
}

/// The router.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .route("/health", axum::routing::get(health))
        // marathon-lb's health path, which health checks written for it probe.
        .route("/_haproxy_health_check", axum::routing::get(health))
        .route("/haproxy.cfg", axum::routing::get(config))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Health;
    use std::time::Instant;

    #[test]
    fn health_needs_haproxy_and_one_read_of_marathon() {
        let mut h = Health::default();
        assert_eq!(health_answer(&h).0, StatusCode::SERVICE_UNAVAILABLE);
        h.haproxy_running = true;
        let (code, body) = health_answer(&h);
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("not been read"), "{body}");
        h.last_sync = Some(Instant::now());
        h.last_error = Some("no Marathon answered".into());
        let (code, body) = health_answer(&h);
        assert_eq!(code, StatusCode::OK);
        assert!(body.contains("last error: no Marathon answered"), "{body}");
    }
}
