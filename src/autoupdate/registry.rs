//! A Docker Registry HTTP API v2 client for what the automation needs: the tags of a
//! repository (following `Link` pagination) and a tag's manifest digest.
//!
//! Authentication is what registries ask for in `WWW-Authenticate`: basic credentials, or a
//! bearer token from the realm the challenge names (Docker Hub, Harbor, GitLab, distribution
//! with token auth), traded with the same credentials. Every request has a timeout; `429`
//! and `5xx` are retried a few times with backoff (honouring `Retry-After`); answers are
//! size-capped. Credentials and tokens appear in no error and no log line.

use std::time::Duration;

use base64::Engine;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, LINK, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::probe::read_capped;
use crate::secrets::Secret;

/// Every manifest type a registry may serve for a tag, so that it answers with the digest
/// of what Docker pulls (an index for multi-platform images) rather than converting.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5";

/// Per request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (a tag page).
const MAX_BODY: usize = 4 << 20;
/// Pages followed at most (at 100 tags a page, 100,000 tags).
const MAX_PAGES: usize = 1000;
/// Attempts per request for 429 and 5xx.
const ATTEMPTS: u32 = 3;
/// The longest `Retry-After` waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What went wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The connection or the request failed.
    #[error("registry {registry}: {reason}")]
    Transport {
        /// The registry.
        registry: String,
        /// Why.
        reason: String,
    },
    /// An answer the client cannot use.
    #[error("registry {registry} answered {status} for {what}")]
    Status {
        /// The registry.
        registry: String,
        /// HTTP status.
        status: u16,
        /// The request, in words.
        what: String,
    },
    /// Authentication failed or was refused.
    #[error("registry {registry} refused the credentials for {what} ({reason}); check the secret named in spec.registryAccess.credentials")]
    Auth {
        /// The registry.
        registry: String,
        /// The request.
        what: String,
        /// Why, without any secret.
        reason: String,
    },
    /// The answer does not parse.
    #[error("registry {registry}: {reason}")]
    Malformed {
        /// The registry.
        registry: String,
        /// Why.
        reason: String,
    },
}

impl RegistryError {
    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            RegistryError::Transport { .. } => "transport",
            RegistryError::Status { .. } => "status",
            RegistryError::Auth { .. } => "auth",
            RegistryError::Malformed { .. } => "malformed",
        }
    }
}

/// A client for one registry.
pub struct RegistryClient {
    http: reqwest::Client,
    /// `https://host:port` (or `http://` with `plainHttp`).
    base: String,
    registry: String,
    credentials: Option<Secret>,
    /// Hosts besides the registry's own that may receive the credentials when a challenge
    /// sends the client to them for a token (`registryAccess.tokenRealms`).
    trusted_realms: Vec<String>,
    /// The bearer token last obtained, by scope.
    token: Mutex<Option<(String, String)>>,
    /// Tags asked for per page.
    page_size: u32,
}

/// Redirects are followed (three at most) only to the same scheme, host and port: every
/// request may carry the credentials or a token, and a redirect to another host, or from
/// https to http on the same one, would hand them over.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().last().is_some_and(|from| {
            from.scheme() == attempt.url().scheme()
                && from.host_str() == attempt.url().host_str()
                && from.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if attempt.previous().len() > 3 || !same {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
fn parse_challenge(h: &str) -> Option<Challenge> {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut scope = None;
    // Values are quoted and may contain commas (scopes do): split on `",` boundaries.
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], q[end + 1..].trim_start())
        } else {
            match after.split_once(',') {
                Some((v, t)) => (v, t),
                None => (after, ""),
            }
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value.to_string()),
            "service" => service = Some(value.to_string()),
            "scope" => scope = Some(value.to_string()),
            _ => {}
        }
        rest = tail.trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: realm?,
        service,
        scope,
    })
}

/// The `next` target of a `Link` header: `</v2/x/tags/list?n=100&last=y>; rel="next"`.
fn next_link(h: &str) -> Option<String> {
    h.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let secs: u64 = h.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

impl RegistryClient {
    /// A client for `registry` (`host[:port]`), trusting `tls` (None: plain HTTP).
    pub fn new(
        registry: &str,
        tls: Option<rustls::ClientConfig>,
        credentials: Option<Secret>,
    ) -> Result<RegistryClient, RegistryError> {
        let builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .redirect(same_origin_redirects())
            .no_proxy();
        let (builder, scheme) = match tls {
            Some(cfg) => (builder.use_preconfigured_tls(cfg), "https"),
            None => (builder, "http"),
        };
        let http = builder.build().map_err(|e| RegistryError::Transport {
            registry: registry.to_string(),
            reason: format!("cannot build the HTTP client: {e}"),
        })?;
        Ok(RegistryClient {
            http,
            base: format!("{scheme}://{registry}"),
            registry: registry.to_string(),
            credentials,
            trusted_realms: Vec::new(),
            token: Mutex::new(None),
            page_size: 100,
        })
    }

    /// Hosts besides the registry's own that may receive the credentials for a token.
    pub fn with_trusted_realms(mut self, hosts: Vec<String>) -> RegistryClient {
        self.trusted_realms = hosts;
        self
    }

    /// Why the credentials may not go to `url`, if they may not: only over https (or
    /// plain HTTP that never leaves this machine), and only to the registry's own host or
    /// a token realm the document trusts. A challenge is the registry's to write; where
    /// the credentials go is not.
    fn credentials_refused(&self, url: &str, realm: bool) -> Option<String> {
        let Ok(u) = reqwest::Url::parse(url) else {
            return Some(format!("'{url}' is not a URL"));
        };
        let host = u.host_str().unwrap_or_default();
        if u.scheme() != "https" && !mesos_operator_core::spec::address::is_loopback(host) {
            return Some(format!(
                "{url} is plain {}: credentials go over https only",
                u.scheme()
            ));
        }
        let own = reqwest::Url::parse(&self.base)
            .ok()
            .and_then(|b| b.host_str().map(str::to_string));
        if realm && own.as_deref() != Some(host) && !self.trusted_realms.iter().any(|t| t == host) {
            return Some(format!(
                "the token realm {host} is not the registry's host; list it in spec.registryAccess.tokenRealms to send the credentials there"
            ));
        }
        None
    }

    /// Tags asked for per page (the registry may send fewer).
    pub fn with_page_size(mut self, n: u32) -> RegistryClient {
        self.page_size = n.max(1);
        self
    }

    fn transport(&self, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Transport {
            registry: self.registry.clone(),
            reason: e.to_string(),
        }
    }

    fn basic(&self) -> Option<HeaderValue> {
        let c = self.credentials.as_ref()?;
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(c.expose().trim_ascii())
        );
        let mut h = HeaderValue::from_str(&v).ok()?;
        h.set_sensitive(true);
        Some(h)
    }

    /// A bearer token for the challenge, from its realm.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        what: &str,
    ) -> Result<String, RegistryError> {
        let mut req = self.http.get(realm);
        let refused = self.credentials_refused(realm, true);
        let mut query = Vec::new();
        if let Some(s) = service {
            query.push(("service", s));
        }
        if let Some(s) = scope {
            query.push(("scope", s));
        }
        req = req.query(&query);
        match (self.basic(), refused) {
            (Some(_), Some(why)) => {
                return Err(RegistryError::Auth {
                    registry: self.registry.clone(),
                    what: what.to_string(),
                    reason: format!("the credentials were not sent: {why}"),
                })
            }
            (Some(b), None) => req = req.header(AUTHORIZATION, b),
            // Anonymous tokens (public repositories) carry nothing of ours.
            (None, _) => {}
        }
        let mut r = req.send().await.map_err(|e| self.transport(e))?;
        if !r.status().is_success() {
            return Err(RegistryError::Auth {
                registry: self.registry.clone(),
                what: what.to_string(),
                reason: format!("the token service answered {}", r.status().as_u16()),
            });
        }
        let body = read_capped(&mut r, 1 << 20, realm)
            .await
            .map_err(|e| self.transport(e))?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Malformed {
                registry: self.registry.clone(),
                reason: format!("the token answer is not JSON ({e})"),
            })?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| RegistryError::Malformed {
                registry: self.registry.clone(),
                reason: "the token answer holds no token".into(),
            })
    }

    /// One request, authenticated as the registry asks, retried on 429 and 5xx.
    async fn send(
        &self,
        method: Method,
        url: &str,
        accept: Option<&str>,
        what: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut auth: Option<HeaderValue> = {
            let t = self.token.lock().await;
            t.as_ref().and_then(|(_, tok)| {
                let mut h = HeaderValue::from_str(&format!("Bearer {tok}")).ok()?;
                h.set_sensitive(true);
                Some(h)
            })
        };
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some(a) = &auth {
                req = req.header(AUTHORIZATION, a.clone());
            }
            let r = req.send().await.map_err(|e| self.transport(e))?;
            let status = r.status();
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let challenge = r
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .and_then(parse_challenge);
                auth = match challenge {
                    Some(Challenge::Basic) => {
                        let b = self.basic().ok_or_else(|| RegistryError::Auth {
                            registry: self.registry.clone(),
                            what: what.to_string(),
                            reason: "it asks for basic credentials and none are configured".into(),
                        })?;
                        if let Some(why) = self.credentials_refused(url, false) {
                            return Err(RegistryError::Auth {
                                registry: self.registry.clone(),
                                what: what.to_string(),
                                reason: format!("the credentials were not sent: {why}"),
                            });
                        }
                        Some(b)
                    }
                    Some(Challenge::Bearer {
                        realm,
                        service,
                        scope,
                    }) => {
                        let tok = self
                            .fetch_token(&realm, service.as_deref(), scope.as_deref(), what)
                            .await?;
                        *self.token.lock().await = Some((scope.unwrap_or_default(), tok.clone()));
                        let mut h =
                            HeaderValue::from_str(&format!("Bearer {tok}")).map_err(|_| {
                                RegistryError::Malformed {
                                    registry: self.registry.clone(),
                                    reason: "the token is not a valid header value".into(),
                                }
                            })?;
                        h.set_sensitive(true);
                        Some(h)
                    }
                    None => {
                        return Err(RegistryError::Auth {
                            registry: self.registry.clone(),
                            what: what.to_string(),
                            reason: "401 without a challenge this client understands".into(),
                        })
                    }
                };
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(RegistryError::Auth {
                    registry: self.registry.clone(),
                    what: what.to_string(),
                    reason: format!("answered {}", status.as_u16()),
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt < ATTEMPTS {
                let wait = retry_after(r.headers())
                    .unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt - 1)));
                tokio::time::sleep(wait).await;
                continue;
            }
            if !status.is_success() {
                return Err(RegistryError::Status {
                    registry: self.registry.clone(),
                    status: status.as_u16(),
                    what: what.to_string(),
                });
            }
            return Ok(r);
        }
    }

    /// The next page's URL, resolved against the page it came from, refused unless it is
    /// on the same scheme, host and port (credentials and tokens go with every request).
    fn same_registry(&self, from: &str, link: &str, what: &str) -> Result<String, RegistryError> {
        let bad = |why: &str| RegistryError::Malformed {
            registry: self.registry.clone(),
            reason: format!("{what}: the next page '{link}' {why}"),
        };
        let base = reqwest::Url::parse(from).map_err(|_| bad("cannot be resolved"))?;
        let next = base.join(link).map_err(|_| bad("is not a URL"))?;
        let same = next.scheme() == base.scheme()
            && next.host_str() == base.host_str()
            && next.port_or_known_default() == base.port_or_known_default()
            && next.username().is_empty()
            && next.password().is_none();
        if !same {
            return Err(bad("is on another host"));
        }
        Ok(next.to_string())
    }

    /// Every tag of `repository`, following `Link` pagination.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut url = format!(
            "{}/v2/{repository}/tags/list?n={}",
            self.base, self.page_size
        );
        let what = format!("the tags of {repository}");
        for _ in 0..MAX_PAGES {
            let mut r = self.send(Method::GET, &url, None, &what).await?;
            let next = r
                .headers()
                .get(LINK)
                .and_then(|h| h.to_str().ok())
                .and_then(next_link);
            let body = read_capped(&mut r, MAX_BODY, &url)
                .await
                .map_err(|e| self.transport(e))?;
            #[derive(serde::Deserialize)]
            struct Page {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: Page =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Malformed {
                    registry: self.registry.clone(),
                    reason: format!("{what}: not a tag list ({e})"),
                })?;
            out.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) => url = self.same_registry(&url, &n, &what)?,
                None => return Ok(out),
            }
        }
        Err(RegistryError::Malformed {
            registry: self.registry.clone(),
            reason: format!("{what}: more than {MAX_PAGES} pages"),
        })
    }

    /// The manifest digest the registry serves for `repository:tag`.
    pub async fn digest(&self, repository: &str, tag: &str) -> Result<String, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base);
        let what = format!("the manifest of {repository}:{tag}");
        let r = self
            .send(Method::HEAD, &url, Some(MANIFEST_ACCEPT), &what)
            .await?;
        let d = r
            .headers()
            .get("docker-content-digest")
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| RegistryError::Malformed {
                registry: self.registry.clone(),
                reason: format!("{what}: no Docker-Content-Digest header"),
            })?;
        let ok = d
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            return Err(RegistryError::Malformed {
                registry: self.registry.clone(),
                reason: format!("{what}: '{d}' is not a sha256 digest"),
            });
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests;
