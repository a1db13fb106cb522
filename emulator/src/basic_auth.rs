//! HTTP Basic authentication as the real components check it, so that a client that works
//! against the emulator works against them:
//!
//! - Mesos (libprocess `src/authenticator.cpp`, `BasicAuthenticatorProcess::authenticate`,
//!   apache/mesos@c1b42f7): the `Authorization` header split on `" "` must give exactly
//!   `Basic` and one token; the decoded token split on `":"` must give exactly two parts, a
//!   known principal and its secret. Anything else: `401` with
//!   `WWW-Authenticate: Basic realm="<realm>"`.
//! - Marathon (`src/main/scala/mesosphere/marathon/api/HttpModule.scala`,
//!   mesosphere/marathon@90619da): `--http_credentials` must match `(.+):(.+)` (else it logs an
//!   error and serves without authentication); a Jetty `ConstraintSecurityHandler` with a
//!   `BasicAuthenticator` guards the path spec `/*`, every endpoint including `/ping`.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

fn decode(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// `Basic base64(user:password)`, for the emulator's own clients (Marathon's view of the
/// master) and for tests.
pub fn header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The 401 a component sends without acceptable credentials.
pub fn unauthorized(realm: &str) -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
        r.headers_mut().insert("www-authenticate", v);
    }
    r
}

/// Whether Mesos' basic authenticator accepts the request's `Authorization` header against
/// `credentials` (principal → secret).
pub fn mesos_accepts(headers: &HeaderMap, credentials: &BTreeMap<String, String>) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let parts: Vec<&str> = value.split(' ').collect();
    if parts.len() != 2 || parts[0] != "Basic" {
        return false;
    }
    let Some(decoded) = decode(parts[1]) else {
        return false;
    };
    let credential: Vec<&str> = decoded.split(':').collect();
    credential.len() == 2
        && credentials
            .get(credential[0])
            .is_some_and(|secret| secret == credential[1])
}

/// The master's `--credentials`: `file:///path` or `/path` to Mesos' JSON
/// `{"credentials": [{"principal": ..., "secret": ...}]}` (mesos@1.11.0:src/master/flags.cpp,
/// src/credentials/credentials.hpp). Errors read as the master's own exit messages.
pub fn load_mesos_credentials(flag: &str) -> Result<BTreeMap<String, String>, String> {
    let path = flag.strip_prefix("file://").unwrap_or(flag);
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("Failed to read credentials file '{path}': {e} (see --credentials flag)")
    })?;
    let empty = || "Credentials file must contain at least one credential (see --credentials flag)";
    if text.is_empty() {
        return Err(empty().into());
    }
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| format!("Invalid json format: {e} (see --credentials flag)"))?;
    let mut out = BTreeMap::new();
    for c in json["credentials"].as_array().into_iter().flatten() {
        let (Some(p), Some(s)) = (c["principal"].as_str(), c["secret"].as_str()) else {
            return Err(
                "Failed to parse credentials: a credential needs principal and secret (see --credentials flag)"
                    .into(),
            );
        };
        out.insert(p.to_string(), s.to_string());
    }
    Ok(out)
}

/// Marathon's `--http_credentials` as its pattern `(.+):(.+)` reads it (greedy: the user is
/// everything before the last `:`); `None` when it does not match.
pub fn marathon_credentials(value: &str) -> Option<(String, String)> {
    let (user, password) = value.rsplit_once(':')?;
    (!user.is_empty() && !password.is_empty()).then(|| (user.to_string(), password.to_string()))
}

/// Whether Jetty's `BasicAuthenticator` logs the request in as `user`: scheme `basic` in
/// any case, the decoded token split at its first `:`.
pub fn marathon_accepts(headers: &HeaderMap, user: &str, password: &str) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    decode(token.trim())
        .and_then(|d| d.split_once(':').map(|(u, p)| u == user && p == password))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn mesos_takes_exactly_basic_and_one_principal_secret_pair() {
        let creds = BTreeMap::from([("ops".to_string(), "pw".to_string())]);
        assert!(mesos_accepts(&with(&header("ops", "pw")), &creds));
        assert!(!mesos_accepts(&with(&header("ops", "nope")), &creds));
        assert!(!mesos_accepts(&with(&header("other", "pw")), &creds));
        // A ':' in the password makes three parts: refused, as libprocess does.
        let colon = BTreeMap::from([("ops".to_string(), "p:w".to_string())]);
        assert!(!mesos_accepts(&with(&header("ops", "p:w")), &colon));
        assert!(!mesos_accepts(&with("basic b3BzOnB3"), &creds));
        assert!(!mesos_accepts(&HeaderMap::new(), &creds));
    }

    #[test]
    fn marathon_reads_its_flag_greedily_and_the_header_at_the_first_colon() {
        assert_eq!(
            marathon_credentials("ops:pw"),
            Some(("ops".into(), "pw".into()))
        );
        assert_eq!(marathon_credentials("nocolon"), None);
        assert_eq!(marathon_credentials("ops:"), None);
        assert!(marathon_accepts(&with("basic b3BzOnB3"), "ops", "pw"));
        assert!(!marathon_accepts(&with(&header("ops", "x")), "ops", "pw"));
        assert!(!marathon_accepts(&HeaderMap::new(), "ops", "pw"));
    }
}
