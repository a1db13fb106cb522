//! The admin HTTP server on `--metrics-addr`: `/metrics`, `/healthz`, `/readyz`, on axum.
//!
//! Why this shape:
//! - **Liveness and readiness differ.** `/healthz` answers 200 whenever the process can
//!   answer at all (a restart would not help otherwise); `/readyz` follows a
//!   [`watch`](tokio::sync::watch) flag that the part of the operator watching etcd sets, so
//!   an operator that cannot reach etcd is taken out of rotation without being killed. A
//!   dropped sender reads as not ready: nobody vouches for the flag any more. It also reads
//!   the loop's [`crate::liveness::Liveness`]: a loop gone silent or a reconcile wedged is
//!   not ready either, and the body says which.
//! - **Two formats on one path.** Prometheus asks for OpenMetrics in its `Accept` header and
//!   gets it; a request that does not ask for it (curl, `promtool check metrics` on a piped
//!   body) gets the Prometheus text format 0.0.4, which promtool parses. See
//!   [`crate::metrics`] for why promtool cannot read the OpenMetrics body.
//! - **Graceful shutdown.** [`serve`] stops accepting when `shutdown` completes and returns
//!   once in-flight requests are answered (idle connections do not hold it up), so the
//!   operator's own shutdown can await it.
//! - **A slow or idle client costs little.** Headers within [`HEADER_READ_TIMEOUT`], and at
//!   most [`MAX_CONNECTIONS`] connections at once.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

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

/// How long a client may take to send a request's headers: a connection that opens and
/// says nothing (or trickles) is closed, not kept for ever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the listener's backlog until one closes.
pub const MAX_CONNECTIONS: usize = 64;
/// How long shutdown waits for requests in flight; idle keep-alive connections are closed
/// at once, and whatever is still running after this is dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves [`router`] on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (up to [`SHUTDOWN_GRACE`]) and returns. Each connection gets
/// [`HEADER_READ_TIMEOUT`] to send its headers, and at most [`MAX_CONNECTIONS`] are
/// served at once (`axum::serve` has neither, and its graceful shutdown waited on idle
/// keep-alive connections). An error accepting one connection is logged and the loop goes
/// on.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    ready: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router(metrics, ready);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = slots.clone().acquire_owned() => p.map_err(io::Error::other)?,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin server: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
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
    // `mesos_operator_ready` says what `/readyz` would answer now: an alert can then tell
    // "not ready" from "down" with the one scrape Prometheus already makes.
    state.metrics.set_ready(readiness(&state).is_ok());
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

/// Whether the operator is ready, or what keeps it from being ready (empty when the flag
/// alone says no).
fn readiness(state: &AppState) -> Result<(), String> {
    // `has_changed` fails only when the sender is gone.
    let sender_alive = state.ready.has_changed().is_ok();
    if !(sender_alive && *state.ready.borrow()) {
        return Err(String::new());
    }
    match state.metrics.liveness().problem() {
        None => Ok(()),
        Some(p) => Err(p.to_string()),
    }
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match readiness(&state) {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(p) if p.is_empty() => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into()),
        Err(p) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {p}\n")),
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
