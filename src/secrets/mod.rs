//! Secret material (TLS keys, ZooKeeper digests) referenced by documents.
//!
//! Read from etcd's `secrets/<name>` or, with `--secrets-dir`, from `DIR/<name>` files, and
//! held as [`Secret`], whose `Debug` and `Display` never show the bytes, so a secret that ends
//! up in a log line, an error or a status shows as `<secret NAME>`. TLS material stays in
//! memory ([`crate::tls`]): no key file is ever written.
//!
//! Values in etcd are encrypted at rest when a `--secrets-key-file` is given: [`keyring`]
//! reads the key-encryption keys, [`envelope`] seals and opens the stored values. The store
//! stays the etcd layer and moves bytes only; decryption happens here, where secrets are
//! read ([`SecretSource::get`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroize;

use crate::store::{Store, StoreError};

pub mod envelope;
pub mod keyring;

pub use envelope::{EnvelopeError, Form};
pub use keyring::{KeyFileError, Keyring};

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

    /// The secret as one line of text: UTF-8, with every trailing `\r` and `\n` (an editor's
    /// or `echo`'s line end) left out and nothing else. The one rule by which every
    /// `user:password` secret is read, whatever it is sent to: two rules once made a CRLF
    /// secret hash one password and log in with another. `None`: not UTF-8.
    pub fn line(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes)
            .ok()
            .map(|t| t.trim_end_matches(['\n', '\r']))
    }

    /// A fingerprint of the content, for configuration hashes: 16 hex digits of SHA-256
    /// over a fixed label, the name and the bytes. It changes when the content does, and,
    /// one-way and folded into another hash, says nothing of it.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"mesos-operator secret fingerprint v1\0");
        h.update(self.name.as_bytes());
        h.update(b"\0");
        h.update(&self.bytes);
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The bytes, for the one place that needs them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

/// Secret bytes do not linger in freed memory.
impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
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
    /// The stored value could not be decrypted (the message names the key, never bytes).
    #[error("secret {name}: {source}")]
    Sealed {
        /// Secret name.
        name: String,
        /// Why.
        source: EnvelopeError,
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
    /// etcd's `secrets/` keys; envelopes are opened with `keys` (`--secrets-key-file`),
    /// clear values from before encryption are read as they are.
    Store {
        /// The etcd store.
        store: Box<Store>,
        /// The key file's keys, if one was given.
        keys: Option<Arc<Keyring>>,
    },
    /// `DIR/<name>` files.
    Dir(PathBuf),
    /// Held in memory: the model's, as the store and the fleet have theirs.
    Memory(Arc<std::sync::Mutex<BTreeMap<String, Vec<u8>>>>),
}

impl SecretSource {
    /// etcd's secrets, opened with `keys` when given.
    pub fn store(store: Store, keys: Option<Arc<Keyring>>) -> SecretSource {
        SecretSource::Store {
            store: Box::new(store),
            keys,
        }
    }

    /// Reads one secret.
    pub async fn get(&self, name: &str) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Store { store, keys } => match store.secret_get(name).await {
                Ok(Some(stored)) => {
                    let stored = zeroize::Zeroizing::new(stored);
                    envelope::open(&stored, &store.secret_key(name), keys.as_deref())
                        .map(|b| Secret::new(name, b))
                        .map_err(|source| SecretError::Sealed {
                            name: name.into(),
                            source,
                        })
                }
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
            SecretSource::Memory(m) => {
                let held = match m.lock() {
                    Ok(g) => g.get(name).cloned(),
                    Err(p) => p.into_inner().get(name).cloned(),
                };
                held.map(|b| Secret::new(name, b))
                    .ok_or_else(|| SecretError::Missing(name.into()))
            }
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

    #[test]
    fn a_fingerprint_follows_the_content_and_the_name() {
        let a = Secret::new("cred", b"one".to_vec());
        assert_eq!(
            a.fingerprint(),
            Secret::new("cred", b"one".to_vec()).fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            Secret::new("cred", b"two".to_vec()).fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            Secret::new("other", b"one".to_vec()).fingerprint()
        );
        assert_eq!(a.fingerprint().len(), 16);
    }
}
