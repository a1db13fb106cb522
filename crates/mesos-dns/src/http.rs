//! Mesos-DNS's HTTP API (`/v1/version`, `/v1/config`, `/v1/hosts/{host}`,
//! `/v1/services/{service}`) and `/metrics`, on `httpport` (8123).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::metrics::Metrics;
use crate::naming::Records;
use crate::refresh::Shared;

/// What the handlers read.
#[derive(Clone)]
pub struct Api {
    /// Records of the last good refresh.
    pub records: Shared,
    /// `/v1/config`.
    pub config: Arc<Value>,
    /// `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl Api {
    fn records(&self) -> Arc<Records> {
        match self.records.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }
}

/// The router.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/v1/version", get(version))
        .route("/v1/config", get(config))
        .route("/v1/hosts/{host}", get(hosts))
        .route("/v1/services/{service}", get(services))
        .route("/metrics", get(metrics))
        .with_state(api)
}

/// A JSON body (axum's `json` feature is left off: the workspace builds it once).
struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> axum::response::Response {
        ([(CONTENT_TYPE, "application/json")], self.0.to_string()).into_response()
    }
}

async fn version() -> Json {
    Json(json!({
        "Service": "Mesos-DNS",
        "Version": env!("CARGO_PKG_VERSION"),
        "URL": "https://github.com/mesosphere/mesos-dns",
    }))
}

async fn config(State(api): State<Api>) -> Json {
    Json((*api.config).clone())
}

/// `[{"host": "leader.mesos.", "ip": "10.0.0.11"}]`; one empty entry when nothing matches,
/// as Mesos-DNS answers.
pub fn hosts_json(records: &Records, host: &str) -> Value {
    let name = crate::naming::fqdn(host);
    let v: Vec<Value> = records
        .a_of(&name)
        .into_iter()
        .flatten()
        .map(|ip| json!({"host": name, "ip": ip.to_string()}))
        .collect();
    if v.is_empty() {
        json!([{"host": "", "ip": ""}])
    } else {
        Value::Array(v)
    }
}

/// `[{"service": "_web._tcp.marathon.mesos.", "host": "...", "ip": "...", "port": "31000"}]`.
pub fn services_json(records: &Records, service: &str) -> Value {
    let name = crate::naming::fqdn(service);
    let mut v = Vec::new();
    for s in records.srv_of(&name).into_iter().flatten() {
        for ip in records.a_of(&s.target).into_iter().flatten() {
            v.push(json!({"service": name, "host": s.target, "ip": ip.to_string(), "port": s.port.to_string()}));
        }
    }
    if v.is_empty() {
        json!([{"service": "", "host": "", "ip": "", "port": ""}])
    } else {
        Value::Array(v)
    }
}

async fn hosts(State(api): State<Api>, Path(host): Path<String>) -> Json {
    Json(hosts_json(&api.records(), &host))
}

async fn services(State(api): State<Api>, Path(service): Path<String>) -> Json {
    Json(services_json(&api.records(), &service))
}

async fn metrics(State(api): State<Api>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        api.metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_services_answer_like_mesos_dns() {
        let r = crate::naming::one_leader();
        assert_eq!(
            hosts_json(&r, "leader.mesos"),
            json!([{"host": "leader.mesos.", "ip": "10.0.0.11"}])
        );
        assert_eq!(
            services_json(&r, "_leader._tcp.mesos."),
            json!([{"service": "_leader._tcp.mesos.", "host": "leader.mesos.", "ip": "10.0.0.11", "port": "5050"}])
        );
        assert_eq!(
            hosts_json(&r, "nope.mesos"),
            json!([{"host": "", "ip": ""}])
        );
    }
}
