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

/// Connects, with timeouts on the connection and on every request.
pub async fn connect(opts: &EtcdOptions) -> Result<Client, ConnectError> {
    let mut co = ConnectOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT);
    if let (Some(u), Some(p)) = (&opts.user, &opts.password) {
        co = co.with_user(u.clone(), p.clone());
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
    let endpoints = opts.endpoints.join(",");
    let fut = Client::connect(&opts.endpoints, Some(co));
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), fut).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(ConnectError::Connect {
            endpoints,
            reason: e.to_string(),
        }),
        Err(_) => Err(ConnectError::Connect {
            endpoints,
            reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs() + 1),
        }),
    }
}
