//! Secret material (TLS keys, ZooKeeper digests) referenced by documents.
//!
//! Read from etcd's `secrets/<name>` or, with `--secrets-dir`, from `DIR/<name>` files, and
//! held as [`Secret`], whose `Debug` and `Display` never show the bytes, so a secret that ends
//! up in a log line, an error or a status shows as `<secret NAME>`. TLS material stays in
//! memory ([`crate::tls`]): no key file is ever written.

use std::fmt;
use std::path::PathBuf;

use crate::store::{Store, StoreError};

/// Secret bytes; never printed.
#[derive(Clone)]
pub struct Secret {
    name: String,
    bytes: Vec<u8>,
}

impl Secret {
    /// Wraps secret bytes.
    pub fn new(name: &str, bytes: Vec<u8>) -> Secret {
        Secret {
            name: name.to_string(),
            bytes,
        }
    }

    /// The secret's name (safe to print).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bytes, for the one place that needs them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<secret {}>", self.name)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<secret {}>", self.name)
    }
}

/// Failure to read a secret; names the secret, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not stored.
    #[error(
        "secret {0} not found; store it with `mesos-operator secret set {0} --from-file FILE`"
    )]
    Missing(String),
    /// The store failed.
    #[error("reading secret {name}: {source}")]
    Store {
        /// Secret name.
        name: String,
        /// Why.
        source: StoreError,
    },
    /// The file could not be read or written.
    #[error("secret {name}: {reason}")]
    Io {
        /// Secret name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Where secrets come from.
#[derive(Clone)]
pub enum SecretSource {
    /// etcd's `secrets/` keys.
    Store(Box<Store>),
    /// `DIR/<name>` files.
    Dir(PathBuf),
}

impl SecretSource {
    /// Reads one secret.
    pub async fn get(&self, name: &str) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Store(s) => match s.secret_get(name).await {
                Ok(Some(b)) => Ok(Secret::new(name, b)),
                Ok(None) => Err(SecretError::Missing(name.into())),
                Err(source) => Err(SecretError::Store {
                    name: name.into(),
                    source,
                }),
            },
            SecretSource::Dir(d) => match tokio::fs::read(d.join(name)).await {
                Ok(b) => Ok(Secret::new(name, b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(SecretError::Missing(name.into()))
                }
                Err(e) => Err(SecretError::Io {
                    name: name.into(),
                    reason: e.to_string(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_bytes() {
        let s = Secret::new("zk-super", b"super:hunter2".to_vec());
        assert_eq!(format!("{s:?}"), "<secret zk-super>");
        assert_eq!(format!("{s}"), "<secret zk-super>");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }
}
