//! Secrets' scopes (`secret-scopes/<name>`): which clusters may use a secret, for what and
//! towards which addresses. Kept apart from the secret itself, so that people who may not
//! read secrets (and `apply`, which checks documents against the scopes) can read them.

use std::collections::BTreeMap;

use etcd_client::GetOptions;
use mesos_operator_core::spec::SecretScope;

use super::{Store, StoreError};
use crate::metrics::EtcdOp;

impl Store {
    fn secret_scope_key(&self, name: &str) -> String {
        self.key(&format!("secret-scopes/{name}"))
    }

    /// Every stored scope, by secret name, in one request. One that does not parse is an
    /// error naming its key: read as no scope it would let any document use the secret.
    pub async fn secret_scopes(&self) -> Result<BTreeMap<String, SecretScope>, StoreError> {
        let mut c = self.client.clone();
        let prefix = self.key("secret-scopes/");
        let r = self
            .timed(
                EtcdOp::Get,
                c.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
            )
            .await?;
        let mut scopes = BTreeMap::new();
        for kv in r.kvs() {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            let scope: SecretScope =
                serde_json::from_slice(kv.value()).map_err(|e| StoreError::Corrupt {
                    key: key.clone(),
                    reason: format!(
                        "{e}; set it again with `mesos-operator secret scope NAME --clusters ... --uses ...`"
                    ),
                })?;
            scopes.insert(key[prefix.len()..].to_string(), scope);
        }
        Ok(scopes)
    }

    /// Stores a secret's scope, or removes it (`None`: usable by any document).
    pub async fn put_secret_scope(
        &self,
        name: &str,
        scope: Option<&SecretScope>,
    ) -> Result<(), StoreError> {
        let mut c = self.client.clone();
        let key = self.secret_scope_key(name);
        match scope {
            Some(s) => {
                let body = serde_json::to_vec(s).map_err(|e| StoreError::Corrupt {
                    key: key.clone(),
                    reason: format!("cannot serialize: {e}"),
                })?;
                self.timed(EtcdOp::Put, c.put(key, body, None)).await?;
            }
            None => {
                self.timed(EtcdOp::Delete, c.delete(key, None)).await?;
            }
        }
        Ok(())
    }
}
