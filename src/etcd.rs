//! Connecting to etcd: endpoints, TLS, user and password, timeouts.
//!
//! The password never comes from argv (it would show in `ps`): only from the environment or
//! a file. The `Debug` form of [`EtcdOptions`] redacts it, so logging the options is safe.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};

/// Bound on every etcd request: a hung etcd must not hang the CLI or the operator.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on establishing the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 pings on the etcd channel, idle or not: a member that froze or a connection that
/// went half-open is found within interval + timeout, and the watch and the keep-alive on it
/// fail over instead of hanging until TCP gives up (minutes). etcd refuses pings more often
/// than its `--grpc-keepalive-min-time` (5 s by default).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may go unanswered before the connection is dropped.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach etcd.
#[derive(Clone, Default)]
pub struct EtcdOptions {
    /// `http://host:port` or `https://host:port` endpoints.
    pub endpoints: Vec<String>,
    /// Key prefix, ending in `/`.
    pub prefix: String,
    /// User for etcd's authentication.
    pub user: Option<String>,
    /// Password for `user`; never printed.
    pub password: Option<String>,
    /// CA certificate (PEM file) to verify etcd's server certificate.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM file) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM file) for mutual TLS.
    pub key_file: Option<PathBuf>,
}

impl fmt::Debug for EtcdOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdOptions")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish()
    }
}

/// Failure to set up the etcd connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A TLS file could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    ReadFile {
        /// Which option.
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--etcd-cert` without `--etcd-key` or the reverse.
    #[error("--etcd-cert and --etcd-key go together; give both or neither")]
    HalfIdentity,
    /// etcd did not answer or refused the connection.
    #[error("cannot connect to etcd at {endpoints}: {reason}")]
    Connect {
        /// The endpoints tried.
        endpoints: String,
        /// Why (never includes the password).
        reason: String,
    },
}

fn read(what: &'static str, path: &PathBuf) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::ReadFile {
        what,
        path: path.clone(),
        source,
    })
}

/// Connects, with timeouts on the connection and on every request. With several endpoints,
/// members that do not answer right now are left out of the client's balancer (see
/// [`keep_to_healthy_members`]).
pub async fn connect(opts: &EtcdOptions) -> Result<Client, ConnectError> {
    let client = connect_to(opts, &opts.endpoints).await?;
    if opts.endpoints.len() > 1 {
        let mut health = MemberHealth::new(opts).await;
        health.check(&client).await;
    }
    Ok(client)
}

async fn connect_to(opts: &EtcdOptions, endpoints: &[String]) -> Result<Client, ConnectError> {
    let mut co = ConnectOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
        .with_keep_alive(KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT)
        .with_keep_alive_while_idle(true);
    if let (Some(u), Some(p)) = (&opts.user, &opts.password) {
        // An auth token lives for etcd's `--auth-token-ttl` (simple tokens, idle) or its
        // JWT's expiry, and every simple token dies with an etcd restart: a call refused
        // for its token authenticates again and is retried once, so a long-running
        // operator does not lose its leadership and every call to a token's end.
        co = co
            .with_user(u.clone(), p.clone())
            .with_auto_token_refresh(true);
    }
    let tls_wanted = opts.ca_file.is_some() || opts.cert_file.is_some() || opts.key_file.is_some();
    if tls_wanted {
        let mut tls = TlsOptions::new();
        if let Some(ca) = &opts.ca_file {
            tls = tls.ca_certificate(Certificate::from_pem(read("--etcd-cacert", ca)?));
        }
        match (&opts.cert_file, &opts.key_file) {
            (Some(c), Some(k)) => {
                tls = tls.identity(Identity::from_pem(
                    read("--etcd-cert", c)?,
                    read("--etcd-key", k)?,
                ));
            }
            (None, None) => {}
            _ => return Err(ConnectError::HalfIdentity),
        }
        co = co.with_tls(tls);
    }
    let joined = endpoints.join(",");
    let fut = Client::connect(endpoints, Some(co));
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), fut).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(ConnectError::Connect {
            endpoints: joined,
            reason: e.to_string(),
        }),
        Err(_) => Err(ConnectError::Connect {
            endpoints: joined,
            reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs() + 1),
        }),
    }
}

/// How long a member may take to answer a health probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Which members of a multi-member etcd answer, kept in the client's balancer.
///
/// etcd-client balances requests over every endpoint it was given and keeps sending some to
/// a member that is down (each such request fails with a connect error, or hangs on a
/// frozen one), so without this a lost member fails a share of all requests: the CLI errs
/// and a leader misses renewals. Go's clientv3 does the same with its health balancer.
pub struct MemberHealth {
    /// Per endpoint: a client on it alone, and whether it is in the balancer now.
    members: Vec<(String, Option<Client>, bool)>,
}

impl MemberHealth {
    /// Probes for each endpoint of `opts` (connected lazily).
    pub async fn new(opts: &EtcdOptions) -> MemberHealth {
        let mut members = Vec::new();
        for ep in &opts.endpoints {
            let probe = connect_to(opts, std::slice::from_ref(ep)).await.ok();
            members.push((ep.clone(), probe, true));
        }
        MemberHealth { members }
    }

    /// Probes every member at once and takes the silent ones out of `client`'s balancer (and
    /// the answering ones back in). While no member answers, every one stays in.
    pub async fn check(&mut self, client: &Client) {
        let answers = futures_util::future::join_all(self.members.iter().map(|(_, probe, _)| {
            let probe = probe.clone();
            async move {
                let Some(mut p) = probe else { return false };
                matches!(
                    tokio::time::timeout(PROBE_TIMEOUT, p.status()).await,
                    Ok(Ok(_))
                )
            }
        }))
        .await;
        let none = !answers.iter().any(|a| *a);
        for ((ep, _, in_balancer), answers) in self.members.iter_mut().zip(answers) {
            let want = answers || none;
            if want == *in_balancer {
                continue;
            }
            let changed = if want {
                client.add_endpoint(ep.as_str()).await
            } else {
                client.remove_endpoint(ep.as_str()).await
            };
            if changed.is_ok() {
                *in_balancer = want;
                if want {
                    tracing::info!(endpoint = %ep, "etcd member answers again; using it");
                } else {
                    tracing::warn!(endpoint = %ep, "etcd member does not answer; not using it");
                }
            }
        }
    }

    /// Checks every `every`, for as long as the process runs (the operator).
    pub async fn keep(mut self, client: Client, every: Duration) {
        loop {
            self.check(&client).await;
            tokio::time::sleep(every).await;
        }
    }
}

/// The operator's side of [`MemberHealth`]: a task that keeps checking.
pub async fn keep_to_healthy_members(
    opts: &EtcdOptions,
    client: Client,
) -> Option<tokio::task::JoinHandle<()>> {
    if opts.endpoints.len() < 2 {
        return None;
    }
    let health = MemberHealth::new(opts).await;
    Some(tokio::spawn(health.keep(client, Duration::from_secs(1))))
}

/// Why etcd could not be reached, when `e` says it could not (no connection, refused,
/// unreachable, a failed TLS handshake): the innermost cause in plain words, such as
/// `connection refused`. `None` for an answer etcd gave (a refused password, a missing
/// key): that is not a connection problem.
///
/// etcd-client wraps the socket's error in tonic's status and transport errors, whose
/// chain (`source()`) ends in the `std::io::Error`; etcd-client's own error has no
/// `source`, hence the match on its two variants that carry one.
pub fn unreachable_cause(e: &etcd_client::Error) -> Option<String> {
    let top: &(dyn std::error::Error + 'static) = match e {
        etcd_client::Error::GRpcStatus(s) => s,
        etcd_client::Error::TransportError(t) => t,
        etcd_client::Error::IoError(io) => return Some(io_cause(io)),
        _ => return None,
    };
    let mut cur = Some(top);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io_cause(io));
        }
        cur = err.source();
    }
    None
}

/// An I/O error in a few words: its kind (`connection refused`) when that says it all,
/// otherwise its own text (no route to host, a name that does not resolve, a TLS
/// certificate refused).
fn io_cause(io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match io.kind() {
        kind @ (ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::TimedOut
        | ErrorKind::AddrNotAvailable
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof) => kind.to_string(),
        _ => match io.get_ref() {
            Some(inner) => inner.to_string(),
            None => io.to_string(),
        },
    }
}
