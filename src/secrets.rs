//! Secret material (TLS keys, ZooKeeper digests) referenced by documents.
//!
//! Read from etcd's `secrets/<name>` or, with `--secrets-dir`, from `DIR/<name>` files, and
//! held as [`Secret`], whose `Debug` and `Display` never show the bytes, so a secret that ends
//! up in a log line, an error or a status shows as `<secret NAME>`. bollard takes TLS
//! material only as files: [`PrivateDir`] writes it to a 0700 directory of 0600 files that
//! is removed when the connection goes away.

use std::fmt;
use std::path::{Path, PathBuf};

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

/// A private directory holding secret files, removed on drop.
pub struct PrivateDir {
    dir: tempfile::TempDir,
}

impl PrivateDir {
    /// A new 0700 directory.
    pub fn new() -> Result<PrivateDir, SecretError> {
        let dir = tempfile::Builder::new()
            .prefix("mesos-operator-secrets-")
            .tempdir()
            .map_err(|e| SecretError::Io {
                name: "(directory)".into(),
                reason: e.to_string(),
            })?;
        set_mode(dir.path(), 0o700).map_err(|e| SecretError::Io {
            name: "(directory)".into(),
            reason: e,
        })?;
        Ok(PrivateDir { dir })
    }

    /// Writes a secret to a 0600 file and returns its path.
    pub fn write(&self, file: &str, s: &Secret) -> Result<PathBuf, SecretError> {
        let p = self.dir.path().join(file);
        let io = |e: String| SecretError::Io {
            name: s.name().into(),
            reason: e,
        };
        std::fs::write(&p, s.expose()).map_err(|e| io(e.to_string()))?;
        set_mode(&p, 0o600).map_err(io)?;
        Ok(p)
    }
}

fn set_mode(p: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())
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
    fn private_files_are_owner_only_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let d = PrivateDir::new().unwrap();
        let p = d
            .write("key.pem", &Secret::new("k", b"x".to_vec()))
            .unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let dir = p.parent().unwrap().to_path_buf();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        drop(d);
        assert!(!dir.exists());
    }
}
