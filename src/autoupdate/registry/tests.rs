use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::*;

#[test]
fn challenges_are_read_as_registries_write_them() {
    assert_eq!(
        parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/zookeeper:pull,push""#
        ),
        Some(Challenge::Bearer {
            realm: "https://auth.docker.io/token".into(),
            service: Some("registry.docker.io".into()),
            scope: Some("repository:library/zookeeper:pull,push".into()),
        })
    );
    assert_eq!(
        parse_challenge(r#"Basic realm="Registry Realm""#),
        Some(Challenge::Basic)
    );
    assert_eq!(parse_challenge("Negotiate"), None);
    assert_eq!(parse_challenge("Bearer service=\"x\""), None, "no realm");
}

#[test]
fn link_headers_name_the_next_page() {
    assert_eq!(
        next_link(r#"</v2/mesos-master/tags/list?last=1.11.0&n=2>; rel="next""#).as_deref(),
        Some("/v2/mesos-master/tags/list?last=1.11.0&n=2")
    );
    assert_eq!(next_link(r#"</x>; rel="prev""#), None);
}

/// A registry that wants a bearer token from its own realm (traded for basic
/// credentials), pages its tags two at a time, and answers 429 once.
#[derive(Clone)]
struct Fake {
    addr: String,
    throttled: Arc<AtomicU32>,
    token_requests: Arc<AtomicU32>,
}

const TAGS: [&str; 5] = ["1.10.0", "1.11.0", "1.11.1", "1.12.0-rc1", "latest"];

/// `a=b&c=d`, percent-decoded for the characters these tests use.
fn params(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2F", "/")))
        .collect()
}

fn json(v: serde_json::Value) -> Response {
    ([("content-type", "application/json")], v.to_string()).into_response()
}

async fn token(State(f): State<Fake>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    f.token_requests.fetch_add(1, Ordering::SeqCst);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("robot:s3cret")
    );
    let scope_ok = params(&q)
        .iter()
        .any(|(k, v)| k == "scope" && v == "repository:mesos-master:pull");
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) || !scope_ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    json(serde_json::json!({"token": "tok-123"}))
}

async fn tags(State(f): State<Fake>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer tok-123") {
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="fake",scope="repository:mesos-master:pull""#,
            f.addr
        );
        return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response();
    }
    if f.throttled.fetch_add(1, Ordering::SeqCst) == 0 {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")]).into_response();
    }
    let last = params(&q)
        .into_iter()
        .find(|(k, _)| k == "last")
        .map(|(_, v)| v);
    let start = last
        .and_then(|l| TAGS.iter().position(|t| *t == l))
        .map_or(0, |i| i + 1);
    let page: Vec<&str> = TAGS.iter().skip(start).take(2).copied().collect();
    let mut resp = json(serde_json::json!({"name": "mesos-master", "tags": page}));
    if start + 2 < TAGS.len() {
        let link = format!(
            r#"</v2/mesos-master/tags/list?last={}&n=2>; rel="next""#,
            page[1]
        );
        resp.headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    resp
}

async fn basic_tags(h: HeaderMap) -> Response {
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("robot:s3cret")
    );
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", r#"Basic realm="Registry Realm""#)],
        )
            .into_response();
    }
    json(serde_json::json!({"name": "basic", "tags": ["1.0.0"]}))
}

/// Challenges for a token from a realm on another host (`localhost`, where the registry
/// is `127.0.0.1`): the credentials may go there only if the document trusts it.
async fn elsewhere_tags(State(f): State<Fake>, h: HeaderMap) -> Response {
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer tok-123") {
        let port = f.addr.rsplit_once(':').map_or("", |(_, p)| p).to_string();
        let challenge = format!(
            r#"Bearer realm="http://localhost:{port}/token",service="fake",scope="repository:mesos-master:pull""#
        );
        return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response();
    }
    json(serde_json::json!({"name": "elsewhere", "tags": ["2.0.0"]}))
}

/// Redirects to the same registry (followed) or to another host (never followed).
async fn redirect_same(State(_f): State<Fake>) -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [("location", "/v2/basic/tags/list")],
    )
        .into_response()
}

async fn redirect_away(State(f): State<Fake>) -> Response {
    let port = f.addr.rsplit_once(':').map_or("", |(_, p)| p).to_string();
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(
            "location",
            format!("http://localhost:{port}/v2/basic/tags/list"),
        )],
    )
        .into_response()
}

async fn serve() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = Fake {
        addr,
        throttled: Arc::new(AtomicU32::new(0)),
        token_requests: Arc::new(AtomicU32::new(0)),
    };
    let app = Router::new()
        .route("/token", get(token))
        .route("/v2/mesos-master/tags/list", get(tags))
        .route("/v2/basic/tags/list", get(basic_tags))
        .route("/v2/elsewhere/tags/list", get(elsewhere_tags))
        .route("/v2/hop/tags/list", get(redirect_same))
        .route("/v2/away/tags/list", get(redirect_away))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

#[tokio::test]
async fn token_auth_pagination_and_429_are_handled() {
    let fake = serve().await;
    let client = RegistryClient::new(
        &fake.addr,
        None,
        Some(Secret::new("registry-login", b"robot:s3cret\n".to_vec())),
    )
    .unwrap()
    .with_page_size(2);
    let tags = client.tags("mesos-master").await.unwrap();
    assert_eq!(tags, TAGS.to_vec());
    assert_eq!(
        fake.token_requests.load(Ordering::SeqCst),
        1,
        "the token is reused"
    );
}

#[tokio::test]
async fn basic_auth_is_sent_when_the_registry_asks_for_it() {
    let fake = serve().await;
    let with = RegistryClient::new(
        &fake.addr,
        None,
        Some(Secret::new("registry-login", b"robot:s3cret".to_vec())),
    )
    .unwrap();
    assert_eq!(with.tags("basic").await.unwrap(), vec!["1.0.0".to_string()]);
    let without = RegistryClient::new(&fake.addr, None, None).unwrap();
    let err = without.tags("basic").await.unwrap_err().to_string();
    assert!(err.contains("none are configured"), "{err}");
}

#[tokio::test]
async fn wrong_credentials_name_the_secret_field_and_never_the_secret() {
    let fake = serve().await;
    let client = RegistryClient::new(
        &fake.addr,
        None,
        Some(Secret::new(
            "registry-login",
            b"robot:wrong-password".to_vec(),
        )),
    )
    .unwrap();
    let err = client.tags("mesos-master").await.unwrap_err().to_string();
    assert!(err.contains("spec.registryAccess.credentials"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_registry_that_never_answers_fails_at_the_timeout_instead_of_hanging() {
    // Accepts connections and reads, never writes a byte back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let client = RegistryClient::new(&addr, None, None).unwrap();
    let started = tokio::time::Instant::now();
    let err = client.tags("mesos-master").await.unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    // Paused clock: the time the request was given, not wall time.
    assert!(
        started.elapsed() >= REQUEST_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < REQUEST_TIMEOUT * 2,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_then_reported_with_the_status() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/v2/mesos-master/tags/list",
        get(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                StatusCode::SERVICE_UNAVAILABLE
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = RegistryClient::new(&addr, None, None).unwrap();
    let err = client.tags("mesos-master").await.unwrap_err();
    assert!(
        matches!(err, RegistryError::Status { status: 503, .. }),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), ATTEMPTS);
}

#[test]
fn a_next_page_on_another_host_is_refused() {
    let c = RegistryClient::new("registry.local:5000", None, None).unwrap();
    let from = "http://registry.local:5000/v2/m/tags/list?n=2";
    assert_eq!(
        c.same_registry(from, "/v2/m/tags/list?last=b&n=2", "tags")
            .unwrap(),
        "http://registry.local:5000/v2/m/tags/list?last=b&n=2"
    );
    assert!(
        c.same_registry(from, "list?last=b", "tags").is_ok(),
        "relative to the page"
    );
    for evil in [
        "http://registry.local:5000@evil.example/v2/m/tags/list",
        "http://registry.local:50001/v2/m/tags/list",
        "https://registry.local:5000/v2/m/tags/list",
        "//evil.example/v2/m/tags/list",
    ] {
        assert!(c.same_registry(from, evil, "tags").is_err(), "{evil}");
    }
}

#[tokio::test]
async fn credentials_go_to_a_token_realm_on_another_host_only_if_the_document_trusts_it() {
    let fake = serve().await;
    let login = || Some(Secret::new("registry-login", b"robot:s3cret".to_vec()));
    let client = RegistryClient::new(&fake.addr, None, login()).unwrap();
    let err = client.tags("elsewhere").await.unwrap_err().to_string();
    assert!(
        err.contains("not sent") && err.contains("tokenRealms"),
        "{err}"
    );
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 0, "sent anyway");
    let trusting = RegistryClient::new(&fake.addr, None, login())
        .unwrap()
        .with_trusted_realms(vec!["localhost".into()]);
    assert_eq!(trusting.tags("elsewhere").await.unwrap(), ["2.0.0"]);
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 1);
}

#[test]
fn credentials_never_go_over_plain_http_that_leaves_the_machine() {
    let login = Some(Secret::new("registry-login", b"robot:s3cret".to_vec()));
    let client = RegistryClient::new("registry.example:5000", None, login).unwrap();
    let why = client
        .credentials_refused("http://registry.example:5000/v2/x/tags/list", false)
        .unwrap();
    assert!(why.contains("https only"), "{why}");
    assert!(client
        .credentials_refused("https://registry.example:5000/token", true)
        .is_none());
    assert!(client
        .credentials_refused("http://127.0.0.1:5000/v2/", false)
        .is_none());
    assert!(client
        .credentials_refused("https://auth.example/token", true)
        .is_some_and(|w| w.contains("tokenRealms")));
}

#[tokio::test]
async fn a_redirect_is_followed_on_the_same_registry_only() {
    let fake = serve().await;
    let login = || Some(Secret::new("registry-login", b"robot:s3cret".to_vec()));
    let client = RegistryClient::new(&fake.addr, None, login()).unwrap();
    assert_eq!(client.tags("hop").await.unwrap(), ["1.0.0"]);
    let err = client.tags("away").await.unwrap_err().to_string();
    assert!(err.contains("307"), "{err}");
}
