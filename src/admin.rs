//! The admin HTTP server on `--metrics-addr`: `/metrics`, `/healthz`, `/readyz`, on axum.
//!
//! Why this shape:
//! - **Liveness and readiness differ.** `/healthz` answers 200 whenever the process can
//!   answer at all (a restart would not help otherwise); `/readyz` follows a
//!   [`watch`](tokio::sync::watch) flag that the part of the operator watching etcd sets, so
//!   an operator that cannot reach etcd is taken out of rotation without being killed. A
//!   dropped sender reads as not ready: nobody vouches for the flag any more.
//! - **Two formats on one path.** Prometheus asks for OpenMetrics in its `Accept` header and
//!   gets it; a request that does not ask for it (curl, `promtool check metrics` on a piped
//!   body) gets the Prometheus text format 0.0.4, which promtool parses. See
//!   [`crate::metrics`] for why promtool cannot read the OpenMetrics body.
//! - **Graceful shutdown.** [`serve`] stops accepting when `shutdown` completes and returns
//!   once in-flight requests are answered, so the operator's own shutdown can await it.

use std::future::Future;
use std::io;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::{Format, Metrics};

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    ready: watch::Receiver<bool>,
}

/// Binds the admin listener on `addr` (e.g. `127.0.0.1:9464`, or port 0 for any free port).
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// The admin routes, for callers that serve or test them themselves.
pub fn router(metrics: Metrics, ready: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, ready })
}

/// Serves [`router`] on `listener` until `shutdown` completes, then lets in-flight requests
/// finish and returns. An error is one from the listener itself (accept errors on single
/// connections are retried by axum).
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    ready: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router(metrics, ready))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The format the client asked for: OpenMetrics when its `Accept` header names
/// `application/openmetrics-text` with a quality at least that of the text format (or of
/// `*/*`); the Prometheus text format otherwise, including when there is no `Accept`.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::PrometheusText;
    };
    let mut openmetrics_q = 0.0_f64;
    let mut text_q = 0.0_f64;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f64>().ok())?
            })
            .next()
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => openmetrics_q = openmetrics_q.max(q),
            "text/plain" | "text/*" | "*/*" => text_q = text_q.max(q),
            _ => {}
        }
    }
    if openmetrics_q > 0.0 && openmetrics_q >= text_q {
        Format::OpenMetrics
    } else {
        Format::PrometheusText
    }
}

async fn metrics_handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = negotiate(accept);
    match state.metrics.try_encode(format) {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    // `has_changed` fails only when the sender is gone.
    let sender_alive = state.ready.has_changed().is_ok();
    if sender_alive && *state.ready.borrow() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        use Format::*;
        assert_eq!(negotiate(None), PrometheusText);
        assert_eq!(negotiate(Some("*/*")), PrometheusText);
        assert_eq!(negotiate(Some("text/plain")), PrometheusText);
        assert_eq!(negotiate(Some("application/openmetrics-text")), OpenMetrics);
        // What Prometheus 2.x sends.
        assert_eq!(
            negotiate(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            OpenMetrics
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0.2, text/plain")),
            PrometheusText
        );
        assert_eq!(
            negotiate(Some("Application/OpenMetrics-Text; Q=0.9, */*;q=0.1")),
            OpenMetrics
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0")),
            PrometheusText
        );
        assert_eq!(negotiate(Some("garbage;;;q=x,")), PrometheusText);
    }
}
