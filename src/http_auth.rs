//! The operator's HTTP Basic credentials for the cluster's masters and Marathon
//! (`spec.httpCredentials`): a secret holding `principal:password` on one line, turned once
//! into an `Authorization: Basic …` header value marked sensitive (hyper and reqwest then
//! leave it out of their `Debug` output), and attached only to requests for the cluster's
//! own addresses: the masters, agents and Marathon instances of the document, and a master's
//! redirect only when it leads to another of the cluster's masters ([`crate::probe`]).
//!
//! One trimming rule, as for the ZooKeeper super user ([`Secret::line`]): every trailing
//! `\r` and `\n` (an editor's or `echo`'s line end) is left out, nothing else, so the
//! password the masters compare is the one the secret's owner typed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use reqwest::header::{HeaderValue, AUTHORIZATION};

use crate::secrets::Secret;

/// Why a secret cannot serve as `spec.httpCredentials`. Names the secret, never its bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpAuthError {
    /// The bytes are not UTF-8 text.
    #[error("the spec.httpCredentials secret {secret} is not UTF-8 text; store principal:password on one line")]
    NotText {
        /// The secret's name.
        secret: String,
    },
    /// No `:` after a non-empty principal, an empty password, or more than one line.
    #[error("the spec.httpCredentials secret {secret} must hold principal:password on one line")]
    Shape {
        /// The secret's name.
        secret: String,
    },
    /// A `:` in the password: Mesos' basic authenticator splits the decoded credential on
    /// every `:` and refuses anything but two parts (libprocess `authenticator.cpp`,
    /// `BasicAuthenticatorProcess::authenticate`), so such a password can never log in.
    #[error("the spec.httpCredentials secret {secret} has a ':' in its password, which Mesos' basic authenticator refuses (it splits on every ':'); choose a password without one")]
    ColonInPassword {
        /// The secret's name.
        secret: String,
    },
}

/// `Authorization: Basic …` for the cluster's HTTP APIs. Its `Debug` names the secret only.
#[derive(Clone)]
pub struct HttpAuth {
    secret: String,
    header: HeaderValue,
}

impl fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpAuth(<secret {}>)", self.secret)
    }
}

impl HttpAuth {
    /// The credentials in `secret` (`principal:password`, trailing line ends left out).
    pub fn from_secret(secret: &Secret) -> Result<HttpAuth, HttpAuthError> {
        let name = secret.name().to_string();
        let text = secret.line().ok_or_else(|| HttpAuthError::NotText {
            secret: name.clone(),
        })?;
        let shape = || HttpAuthError::Shape {
            secret: name.clone(),
        };
        if text.contains(['\n', '\r']) {
            return Err(shape());
        }
        let (principal, password) = text.split_once(':').ok_or_else(shape)?;
        if principal.is_empty() || password.is_empty() {
            return Err(shape());
        }
        if password.contains(':') {
            return Err(HttpAuthError::ColonInPassword { secret: name });
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        let mut header = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| shape())?;
        header.set_sensitive(true);
        Ok(HttpAuth {
            secret: name,
            header,
        })
    }

    /// The secret's name (safe to print).
    pub fn secret_name(&self) -> &str {
        &self.secret
    }

    /// The header value (sensitive).
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }
}

/// `request` with the credentials, when there are any.
pub fn with_auth(
    request: reqwest::RequestBuilder,
    auth: Option<&HttpAuth>,
) -> reqwest::RequestBuilder {
    match auth {
        Some(a) => request.header(AUTHORIZATION, a.header.clone()),
        None => request,
    }
}

/// What a 401 from `what` means, in words a person can act on: which field and secret were
/// refused, or that the cluster wants credentials the document does not name.
pub fn unauthorized(what: &str, auth: Option<&HttpAuth>) -> String {
    match auth {
        Some(a) => format!(
            "{what}: 401 Unauthorized: the credentials of spec.httpCredentials (secret {}) were refused; check the principal and password against the masters' --credentials file (Marathon: --http_credentials)",
            a.secret
        ),
        None => format!(
            "{what}: 401 Unauthorized: it requires HTTP authentication and spec.httpCredentials names no secret; store principal:password and set spec.httpCredentials: {{secret: NAME}}"
        ),
    }
}

/// Seconds (since the epoch) of the last 401 warning: observations repeat every few
/// seconds, and one warning a minute says it without drowning the log.
static LAST_WARNED: AtomicU64 = AtomicU64::new(0);

/// Logs a 401 seen while observing (which never fails: the component then reads as not
/// answering), at most once a minute.
pub fn warn_unauthorized(what: &str, auth: Option<&HttpAuth>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_WARNED.load(Ordering::Relaxed);
    if now >= last.saturating_add(60)
        && LAST_WARNED
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!("{}", unauthorized(what, auth));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(bytes: &[u8]) -> Secret {
        Secret::new("mesos-http", bytes.to_vec())
    }

    fn decoded(a: &HttpAuth) -> String {
        let v = a.header().to_str().unwrap();
        let b64 = v.strip_prefix("Basic ").unwrap();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_header_is_basic_of_the_line_whatever_its_end() {
        for stored in [
            &b"ops:pw"[..],
            b"ops:pw\n",
            b"ops:pw\r\n",
            b"ops:pw\n\n",
            b"ops:pw\r",
        ] {
            let a = HttpAuth::from_secret(&secret(stored)).unwrap();
            assert_eq!(decoded(&a), "ops:pw", "{stored:?}");
            assert!(a.header().is_sensitive());
        }
        // Computed independently: printf ops:pw | base64
        let a = HttpAuth::from_secret(&secret(b"ops:pw\n")).unwrap();
        assert_eq!(a.header().to_str().unwrap(), "Basic b3BzOnB3");
        // Spaces are the password's own.
        let a = HttpAuth::from_secret(&secret(b"ops: pw \n")).unwrap();
        assert_eq!(decoded(&a), "ops: pw ");
    }

    #[test]
    fn a_secret_mesos_cannot_take_is_refused_naming_it_never_its_bytes() {
        for (stored, want) in [
            (&b"hunter2-no-colon"[..], "principal:password"),
            (b":hunter2", "principal:password"),
            (b"ops:", "principal:password"),
            (b"ops:hunter2\nother:line", "one line"),
            (b"ops:hunter2:x", "':'"),
            (b"ops:\xffhunter2", "UTF-8"),
        ] {
            let e = HttpAuth::from_secret(&secret(stored))
                .unwrap_err()
                .to_string();
            assert!(e.contains("mesos-http"), "{e}");
            assert!(e.contains("spec.httpCredentials"), "{e}");
            assert!(e.contains(want), "{stored:?}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn debug_and_the_401_message_name_the_secret_never_the_header() {
        let a = HttpAuth::from_secret(&secret(b"ops:hunter2")).unwrap();
        let shown = format!("{a:?}");
        assert!(
            shown.contains("mesos-http") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(!shown.contains("b3Bz"), "{shown}");
        let request = with_auth(reqwest::Client::new().get("http://127.0.0.1:9/x"), Some(&a))
            .build()
            .unwrap();
        let dumped = format!("{:?}", request.headers());
        assert!(!dumped.contains("b3Bz"), "{dumped}");
        let msg = unauthorized("POST http://10.0.0.1:5050/master/machine/down", Some(&a));
        assert!(
            msg.contains("spec.httpCredentials") && msg.contains("mesos-http"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
        let msg = unauthorized("POST http://10.0.0.1:5050/master/machine/down", None);
        assert!(msg.contains("spec.httpCredentials"), "{msg}");
    }
}
