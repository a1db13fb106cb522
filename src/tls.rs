//! Mutual TLS to a Docker host, with the cluster's CA as the **only** trust root.
//!
//! bollard's own TLS connector adds the system's public roots to the CA it is given, so any
//! certificate a public CA issued for a host's address would be trusted; and it takes the
//! key material only as files. Here the client is built in memory from the secrets (no key
//! file ever touches the disk, so nothing can be left behind by a signal) and the root store
//! holds the cluster's CA and nothing else.

use std::sync::Arc;

use bollard::{BollardRequest, Docker};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::secrets::Secret;

/// What is wrong with the TLS material; names the secret at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A secret does not hold what it should.
    #[error("secret {secret}: {problem}; store a PEM {want} with `mesos-operator secret set {secret} --from-file FILE`")]
    BadSecret {
        /// The secret's name.
        secret: String,
        /// What is wrong.
        problem: String,
        /// What it should hold.
        want: &'static str,
    },
    /// rustls refused the combination (a key that does not match its certificate).
    #[error("the TLS client cannot be built from secrets {cert} and {key}: {reason}")]
    Config {
        /// Certificate secret.
        cert: String,
        /// Key secret.
        key: String,
        /// Why.
        reason: String,
    },
}

fn bad(secret: &Secret, problem: impl Into<String>, want: &'static str) -> TlsError {
    TlsError::BadSecret {
        secret: secret.name().to_string(),
        problem: problem.into(),
        want,
    }
}

/// The certificates of `ca` as the only roots.
fn roots_of(ca: &Secret) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca.expose()) {
        let c = c.map_err(|e| bad(ca, format!("not PEM ({e})"), "CA certificate"))?;
        roots.add(c).map_err(|e| {
            bad(
                ca,
                format!("not a usable CA certificate ({e})"),
                "CA certificate",
            )
        })?;
    }
    if roots.is_empty() {
        return Err(bad(ca, "holds no certificate", "CA certificate"));
    }
    Ok(roots)
}

/// A client configuration that trusts `ca` alone and presents no certificate (a registry).
pub fn server_auth_config(ca: &Secret) -> Result<rustls::ClientConfig, TlsError> {
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots_of(ca)?)
        .with_no_client_auth())
}

/// The rustls configuration: `ca` as the only root, `cert` and `key` as the client identity.
pub fn client_config(
    ca: &Secret,
    cert: &Secret,
    key: &Secret,
) -> Result<rustls::ClientConfig, TlsError> {
    let roots = roots_of(ca)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.expose())
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("not PEM ({e})"), "client certificate"))?;
    if chain.is_empty() {
        return Err(bad(cert, "holds no certificate", "client certificate"));
    }
    let private = PrivateKeyDer::from_pem_slice(key.expose())
        .map_err(|e| bad(key, format!("holds no private key ({e})"), "private key"))?;
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, private)
        .map_err(|e| TlsError::Config {
            cert: cert.name().to_string(),
            key: key.name().to_string(),
            reason: e.to_string(),
        })
}

/// A Docker client for `endpoint` (`tcp://host:port`) over mutual TLS with `config`.
pub fn docker_client(
    endpoint: &str,
    config: rustls::ClientConfig,
    timeout_secs: u64,
) -> Result<Docker, bollard::errors::Error> {
    // An engine that went away without closing its connections (power lost, a cut
    // network) is found out by TCP keepalive within about a minute, not never: an idle
    // event stream never writes, and would wait on it for as long as the process runs.
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_keepalive(Some(std::time::Duration::from_secs(30)));
    http.set_keepalive_interval(Some(std::time::Duration::from_secs(10)));
    http.set_keepalive_retries(Some(3));
    http.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    // Connections are kept between calls: a TLS handshake with a client certificate costs
    // more than most calls (an observation makes several per host). An idle one is closed
    // after 30 s; a call on one the host dropped fails within its deadline and is retried
    // at the next look, as any failed call.
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .pool_timer(hyper_util::rt::TokioTimer::new());
    let client = Arc::new(builder.build(https));
    let addr = format!("https://{}", endpoint.trim_start_matches("tcp://"));
    Docker::connect_with_custom_transport(
        move |req: BollardRequest| {
            let client = client.clone();
            async move {
                client
                    .request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        Some(addr),
        timeout_secs,
        bollard::API_DEFAULT_VERSION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, v: &str) -> Secret {
        Secret::new(name, v.as_bytes().to_vec())
    }

    #[test]
    fn garbage_material_is_refused_naming_the_secret() {
        let garbage = s("ca", "hello");
        let err = client_config(&garbage, &s("client-cert", ""), &s("client-key", ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("secret ca") && err.contains("secret set ca"),
            "{err}"
        );
        assert!(
            !err.contains("hello"),
            "the secret's bytes are not in the error: {err}"
        );
    }
}
