//! Where backups go: `spec.backup.target`, opened as an [`ObjectStore`]. A directory on the
//! operator's machine is `object_store`'s local file system; `s3` is its S3 client with the
//! keys from the named secret (`ACCESS_KEY_ID:SECRET_ACCESS_KEY`). Every call is bounded.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload};

use mesos_operator_core::spec::BackupTarget;

use crate::secrets::Secret;

/// Deadline of one call to the target (a part is tens of MiB at most on a demo cluster).
pub const TARGET_TIMEOUT: Duration = Duration::from_secs(120);

/// What can go wrong with a backup target or a backup's contents.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The document names no target (`spec.backup`).
    #[error("the document has no spec.backup.target")]
    NoTarget,
    /// The S3 keys secret is not `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (names the secret only).
    #[error("secret {secret} (spec.backup.target.s3.credentials) is not one line ACCESS_KEY_ID:SECRET_ACCESS_KEY")]
    Keys {
        /// The secret's name.
        secret: String,
    },
    /// The target refused or did not answer.
    #[error("backup target {location}: {reason}")]
    Target {
        /// The target.
        location: String,
        /// What it said.
        reason: String,
    },
    /// A stored part does not match its manifest, or is missing.
    #[error("backup {id}: {reason}")]
    Corrupt {
        /// The backup.
        id: String,
        /// What does not match.
        reason: String,
    },
}

impl BackupError {
    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            BackupError::NoTarget | BackupError::Keys { .. } => "backup-config",
            BackupError::Target { .. } => "backup-target",
            BackupError::Corrupt { .. } => "backup-corrupt",
        }
    }
}

/// An opened target.
#[derive(Clone)]
pub struct BackupStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// The target as people read it: the directory, or `s3://bucket/prefix`.
    pub location: String,
}

impl std::fmt::Debug for BackupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl BackupStore {
    /// Opens `target`; `keys` is the S3 secret when the target is `s3`.
    pub fn open(target: &BackupTarget, keys: Option<&Secret>) -> Result<BackupStore, BackupError> {
        if let Some(dir) = &target.directory {
            let fail = |reason: String| BackupError::Target {
                location: dir.clone(),
                reason,
            };
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
            let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| fail(e.to_string()))?;
            return Ok(BackupStore {
                store: Arc::new(fs),
                prefix: String::new(),
                location: dir.clone(),
            });
        }
        let Some(s3) = &target.s3 else {
            return Err(BackupError::NoTarget);
        };
        let secret = s3.credentials.secret.clone();
        let (key_id, key) = keys
            .and_then(Secret::line)
            .and_then(|l| l.split_once(':'))
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .ok_or(BackupError::Keys { secret })?;
        let prefix = s3
            .prefix
            .as_deref()
            .unwrap_or_default()
            .trim_matches('/')
            .to_string();
        let location = format!("s3://{}/{prefix}", s3.bucket);
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region)
            .with_access_key_id(key_id)
            .with_secret_access_key(key)
            .with_allow_http(s3.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(TARGET_TIMEOUT)
                    .with_connect_timeout(Duration::from_secs(10)),
            );
        if let Some(e) = &s3.endpoint {
            b = b.with_endpoint(e);
        }
        let store = b.build().map_err(|e| BackupError::Target {
            location: location.clone(),
            reason: e.to_string(),
        })?;
        Ok(BackupStore {
            store: Arc::new(store),
            prefix,
            location,
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn fail(&self, reason: impl std::fmt::Display) -> BackupError {
        BackupError::Target {
            location: self.location.clone(),
            reason: reason.to_string(),
        }
    }

    async fn bounded<T, F>(&self, what: &str, f: F) -> Result<T, BackupError>
    where
        F: std::future::Future<Output = Result<T, object_store::Error>>,
    {
        match tokio::time::timeout(TARGET_TIMEOUT, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.fail(format!("{what}: {e}"))),
            Err(_) => Err(self.fail(format!(
                "{what}: no answer within {}s",
                TARGET_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Stores `bytes` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BackupError> {
        let path = self.path(key);
        self.bounded(
            &format!("writing {key}"),
            self.store.put(&path, PutPayload::from(bytes)),
        )
        .await
        .map(|_| ())
    }

    /// The bytes under `key`; `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackupError> {
        let path = self.path(key);
        let read = async {
            match self.store.get(&path).await {
                Ok(r) => r.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        self.bounded(&format!("reading {key}"), read).await
    }

    /// Deletes every object under `prefix` (a backup's folder); none there is done.
    pub async fn delete_all(&self, prefix: &str) -> Result<(), BackupError> {
        let root = self.path(prefix);
        let work = async {
            let mut listed = self.store.list(Some(&root));
            let mut paths = Vec::new();
            while let Some(meta) = listed.next().await {
                paths.push(meta?.location);
            }
            for p in paths {
                match self.store.delete(&p).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
        self.bounded(&format!("deleting {prefix}"), work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_operator_core::spec::{S3Target, SecretRef};

    fn dir_target(dir: &std::path::Path) -> BackupTarget {
        BackupTarget {
            directory: Some(dir.to_string_lossy().into_owned()),
            s3: None,
        }
    }

    #[tokio::test]
    async fn a_directory_target_stores_reads_and_deletes_a_backup_s_objects() {
        let dir = tempfile::tempdir().unwrap();
        let t = BackupStore::open(&dir_target(&dir.path().join("new")), None).unwrap();
        t.put("c/1/zookeeper.tar", b"zk".to_vec()).await.unwrap();
        t.put("c/1/masters.tar", b"log".to_vec()).await.unwrap();
        t.put("c/2/masters.tar", b"log2".to_vec()).await.unwrap();
        assert_eq!(
            t.get("c/1/zookeeper.tar").await.unwrap(),
            Some(b"zk".to_vec())
        );
        assert_eq!(t.get("c/9/none").await.unwrap(), None);
        assert!(dir.path().join("new/c/1/masters.tar").exists());
        t.delete_all("c/1").await.unwrap();
        assert_eq!(t.get("c/1/masters.tar").await.unwrap(), None);
        assert_eq!(
            t.get("c/2/masters.tar").await.unwrap(),
            Some(b"log2".to_vec())
        );
        t.delete_all("c/1").await.unwrap();
    }

    #[test]
    fn s3_keys_are_checked_and_never_shown() {
        let target = BackupTarget {
            directory: None,
            s3: Some(S3Target {
                bucket: "backups".into(),
                endpoint: Some("http://127.0.0.1:9".into()),
                region: "us-east-1".into(),
                prefix: Some("/mesos/".into()),
                credentials: SecretRef {
                    secret: "s3-keys".into(),
                },
                allow_http: true,
            }),
        };
        let bad = Secret::new("s3-keys", b"only-one-part".to_vec());
        let e = BackupStore::open(&target, Some(&bad)).unwrap_err();
        assert!(e.to_string().contains("s3-keys"), "{e}");
        assert!(!e.to_string().contains("only-one-part"), "{e}");
        let good = Secret::new("s3-keys", b"AKIDEXAMPLE:very-secret-key\n".to_vec());
        let t = BackupStore::open(&target, Some(&good)).unwrap();
        assert_eq!(t.location, "s3://backups/mesos");
        assert!(!format!("{t:?}").contains("very-secret-key"));
    }
}
