//! Reaching Marathon: any listed instance, never only the first. A standby answers every
//! read for the leader (it forwards) and redirects `/v2/events` to it (Marathon 1.7 and
//! later); an instance that is down or has no leader (502/503) is passed over for the next.
//! The instance that answered last is tried first next time. Redirects are followed here,
//! not by the HTTP client, so that credentials go along to the leader (HTTP clients drop
//! them on a redirect to another host). Every call is bounded: connect 3 s, a read 10 s,
//! an event stream's headers 5 s (its body's liveness is the follower's business).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{header, StatusCode, Url};

use crate::model::Apps;

/// How many redirects an event stream request follows.
const MAX_REDIRECTS: usize = 5;

/// Why Marathon could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MarathonError {
    /// No instance answered; each one's failure follows.
    #[error("no Marathon answered: {0}")]
    NoneAnswered(String),
    /// A listed URL is not a URL.
    #[error("--marathon {0}: not an http:// URL ({1})")]
    BadUrl(String, String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl MarathonError {
    /// A bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            MarathonError::NoneAnswered(_) => "unreachable",
            MarathonError::BadUrl(..) => "bad_url",
            MarathonError::Client(_) => "client",
        }
    }
}

/// `user:password` for Marathon's HTTP basic authentication.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// From a file's `user:password` (a trailing newline ignored).
    pub fn parse(text: &str) -> Option<Credentials> {
        let (user, password) = text.trim_end_matches(['\n', '\r']).split_once(':')?;
        Some(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        })
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:<hidden>)", self.user)
    }
}

/// The listed Marathon instances.
#[derive(Debug)]
pub struct Marathons {
    urls: Vec<Url>,
    preferred: AtomicUsize,
    reads: reqwest::Client,
    streams: reqwest::Client,
    credentials: Option<Credentials>,
}

/// An open event stream and where it came from.
pub struct Stream {
    /// The response, its body not read yet.
    pub response: reqwest::Response,
    /// The URL that answered (after redirects).
    pub url: Url,
    /// Redirects followed to get there.
    pub redirects: usize,
}

impl Marathons {
    /// The instances at `urls` (`http://host:port`, comma-separated lists split by the
    /// caller).
    pub fn new(
        urls: &[String],
        credentials: Option<Credentials>,
    ) -> Result<Marathons, MarathonError> {
        let mut parsed = Vec::new();
        for u in urls {
            let url = Url::parse(u).map_err(|e| MarathonError::BadUrl(u.clone(), e.to_string()))?;
            if url.scheme() != "http" || url.host_str().is_none() {
                return Err(MarathonError::BadUrl(
                    u.clone(),
                    "only http://host:port is supported".into(),
                ));
            }
            parsed.push(url);
        }
        if parsed.is_empty() {
            return Err(MarathonError::BadUrl(
                String::new(),
                "give at least one".into(),
            ));
        }
        let reads = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let streams = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Marathons {
            urls: parsed,
            preferred: AtomicUsize::new(0),
            reads,
            streams,
            credentials,
        })
    }

    /// The instances, the one that answered last first.
    pub fn in_order(&self) -> Vec<(usize, &Url)> {
        let start = self.preferred.load(Ordering::Relaxed) % self.urls.len();
        (0..self.urls.len())
            .map(|i| (start + i) % self.urls.len())
            .map(|i| (i, &self.urls[i]))
            .collect()
    }

    /// Tries `index` first next time.
    pub fn prefer(&self, index: usize) {
        self.preferred.store(index, Ordering::Relaxed);
    }

    fn authorize(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credentials {
            Some(c) => r.basic_auth(&c.user, Some(&c.password)),
            None => r,
        }
    }

    /// Every app with its tasks (`/v2/apps?embed=apps.tasks`), from the first instance that
    /// answers.
    pub async fn apps(&self) -> Result<Apps, MarathonError> {
        let mut failures = Vec::new();
        for (i, base) in self.in_order() {
            let url = match base.join("/v2/apps?embed=apps.tasks") {
                Ok(u) => u,
                Err(e) => {
                    failures.push(format!("{base}: {e}"));
                    continue;
                }
            };
            let answer = self
                .authorize(
                    self.reads
                        .get(url)
                        .header(header::ACCEPT, "application/json"),
                )
                .send()
                .await;
            match answer {
                Ok(r) if r.status() == StatusCode::OK => match r.json::<Apps>().await {
                    Ok(apps) => {
                        self.prefer(i);
                        return Ok(apps);
                    }
                    Err(e) => failures.push(format!("{base}: unreadable answer: {e}")),
                },
                Ok(r) => failures.push(format!("{base}: HTTP {}", r.status())),
                Err(e) => failures.push(format!("{base}: {e}")),
            }
        }
        Err(MarathonError::NoneAnswered(failures.join("; ")))
    }

    /// Opens `/v2/events` on instance `index`, following redirects (a standby's 302 to the
    /// leader), with credentials to every hop. An answer other than 200 is an error
    /// naming its status.
    pub async fn open_events(&self, index: usize) -> Result<Stream, String> {
        let mut url = self.urls[index]
            .join("/v2/events")
            .map_err(|e| e.to_string())?;
        for redirects in 0..=MAX_REDIRECTS {
            let req = self
                .authorize(self.streams.get(url.clone()))
                .header(header::ACCEPT, "text/event-stream");
            let r = tokio::time::timeout(Duration::from_secs(5), req.send())
                .await
                .map_err(|_| format!("{url}: no answer within 5s"))?
                .map_err(|e| format!("{url}: {e}"))?;
            if r.status().is_redirection() {
                let to = r
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| format!("{url}: {} without a Location", r.status()))?;
                url = url
                    .join(to)
                    .map_err(|e| format!("{url}: bad Location {to}: {e}"))?;
                continue;
            }
            if r.status() != StatusCode::OK {
                return Err(format!("{url}: HTTP {}", r.status()));
            }
            return Ok(Stream {
                response: r,
                url,
                redirects,
            });
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_tried_from_the_last_that_answered() {
        assert!(Marathons::new(&["https://m1:8080".into()], None).is_err());
        assert!(Marathons::new(&["m1:8080".into()], None).is_err());
        assert!(Marathons::new(&[], None).is_err());
        let m = Marathons::new(
            &[
                "http://m1:8080".into(),
                "http://m2:8080".into(),
                "http://m3:8080".into(),
            ],
            None,
        )
        .unwrap();
        let hosts = |m: &Marathons| -> Vec<String> {
            m.in_order()
                .iter()
                .map(|(_, u)| u.host_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(hosts(&m), ["m1", "m2", "m3"]);
        m.prefer(2);
        assert_eq!(hosts(&m), ["m3", "m1", "m2"]);
    }

    #[test]
    fn credentials_are_read_and_never_printed() {
        let c = Credentials::parse("ops:s3cret:x\n").unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("ops", "s3cret:x"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Credentials::parse("nocolon").is_none());
    }
}
