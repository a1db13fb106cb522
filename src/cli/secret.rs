//! `secret set|scope|list|delete|reencrypt`: secret material under `secrets/`, never
//! printed, and each secret's scope under `secret-scopes/`.
//!
//! With `--secrets-key-file`, `set` writes an envelope ([`crate::secrets::envelope`]) and
//! `reencrypt` brings every stored value to the file's first key; `list` says how each one
//! is kept, from the stored form alone (it needs no key).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use serde::Serialize;
use zeroize::Zeroizing;

use super::output;
use super::{CliError, CliResult};
use crate::secrets::{envelope, Form, Keyring};
use crate::store::Store;
use mesos_operator_core::spec::{SecretScope, SecretUse};

#[derive(Debug, Subcommand)]
pub(super) enum SecretCommand {
    /// Store a secret from a file (`-` reads standard input).
    Set {
        /// Secret name, as documents reference it.
        #[arg(value_parser = secret_name)]
        name: String,
        /// The file holding the material.
        #[arg(long = "from-file")]
        from_file: PathBuf,
        /// Where documents may use it (default: any cluster, any use, any address).
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Set which clusters may use a secret, for what, and towards which addresses.
    ///
    /// A document that names the secret outside its scope is refused by `apply`, and a
    /// stored one is left alone by the operator (phase Invalid), each naming the field.
    Scope {
        /// Secret name.
        #[arg(value_parser = secret_name)]
        name: String,
        /// The scope.
        #[command(flatten)]
        scope: ScopeArgs,
        /// Remove the scope: any document may use the secret again.
        #[arg(long, conflicts_with_all = ["clusters", "uses", "hosts"])]
        unscoped: bool,
    },
    /// List secret names, sizes, revisions and how each is stored (never values).
    List {
        /// JSON output.
        #[arg(short = 'o', long = "output", value_parser = ["table", "json"], default_value = "table")]
        output: String,
    },
    /// Delete a secret.
    Delete {
        /// Secret name.
        #[arg(value_parser = secret_name)]
        name: String,
    },
    /// Encrypt every secret with the first key of --secrets-key-file (needed).
    ///
    /// Rewrites the secrets stored in clear or under another key of the file; each write is
    /// conditioned on the value being unchanged since it was read, so a concurrent `secret
    /// set` is never overwritten (it is reported, and the command exits 1).
    Reencrypt,
}

impl SecretCommand {
    /// Refuses, before etcd is contacted, a command that cannot work without the key file.
    pub(super) fn check_keys(&self, keys: Option<&Keyring>) -> CliResult {
        match (self, keys) {
            (SecretCommand::Reencrypt, None) => Err(CliError::Input(
                "secret reencrypt needs --secrets-key-file (or MESOS_OPERATOR_SECRETS_KEY_FILE): the file whose first key the secrets are encrypted with".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// A secret's scope on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub(super) struct ScopeArgs {
    /// Clusters that may use it, comma-separated (`*`: any).
    #[arg(long, value_delimiter = ',', value_parser = cluster_or_any)]
    clusters: Vec<String>,
    /// What for, comma-separated: docker-tls, registry-ca, registry-credentials,
    /// zookeeper-digest, component-file, http-credentials, backup-credentials.
    #[arg(long, value_delimiter = ',')]
    uses: Vec<SecretUse>,
    /// Addresses it may travel to, comma-separated (as the documents write them: the
    /// Docker endpoint's host, the host's address, the registry's host); default any.
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<String>,
}

impl ScopeArgs {
    /// The scope asked for; `None` when no scope option was given.
    fn scope(&self) -> Result<Option<SecretScope>, CliError> {
        if self.clusters.is_empty() && self.uses.is_empty() && self.hosts.is_empty() {
            return Ok(None);
        }
        if self.clusters.is_empty() || self.uses.is_empty() {
            return Err(CliError::Input(
                "a scope needs both --clusters (names, or '*') and --uses; --hosts is optional"
                    .into(),
            ));
        }
        Ok(Some(SecretScope {
            clusters: self.clusters.clone(),
            uses: self.uses.clone(),
            hosts: self.hosts.clone(),
        }))
    }
}

fn cluster_or_any(s: &str) -> Result<String, String> {
    if s == "*" || mesos_operator_core::spec::validate::is_dns_label(s, 40) {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a cluster name (or '*' for any)"))
    }
}

/// One row of `secret list`: how a secret is kept, never its value.
#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    /// Bytes of the secret (not of its envelope).
    size: usize,
    revision: i64,
    /// `encrypted`, `clear`, or `unreadable` (an envelope this version cannot read).
    storage: &'static str,
    /// The key an encrypted secret is encrypted with.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// Why an unreadable one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    /// Where documents may use it; absent: anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<SecretScope>,
}

impl Listed {
    fn storage_text(&self) -> String {
        match (&self.key, &self.problem) {
            (Some(k), _) => format!("encrypted (key {k})"),
            (None, Some(p)) => format!("unreadable: {p}"),
            (None, None) => self.storage.to_string(),
        }
    }
}

/// Names on the command line obey the rule documents do: bad usage (exit 2), nothing done.
fn secret_name(name: &str) -> Result<String, String> {
    if mesos_operator_core::spec::validate::is_secret_name(name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "'{name}' is not a secret name; use lowercase letters, digits, '-', '.', '_' (not only dots)"
        ))
    }
}

pub(super) async fn run(
    store: &Store,
    keys: Option<Arc<Keyring>>,
    cmd: SecretCommand,
) -> CliResult {
    let keys = keys.as_deref();
    match cmd {
        SecretCommand::Set {
            name,
            from_file,
            scope,
        } => {
            // Checked and stored first: a secret is never usable more widely than asked.
            if let Some(sc) = scope.scope()? {
                store.put_secret_scope(&name, Some(&sc)).await?;
            }
            set(store, keys, &name, &from_file).await?
        }
        SecretCommand::Scope {
            name,
            scope,
            unscoped,
        } => {
            let sc = scope.scope()?;
            if sc.is_none() && !unscoped {
                return Err(CliError::Input(
                    "give --clusters and --uses (and --hosts to limit addresses), or --unscoped"
                        .into(),
                ));
            }
            store.put_secret_scope(&name, sc.as_ref()).await?;
            match sc {
                Some(sc) => println!("secret {name} scoped: {}", sc.summary()),
                None => println!("secret {name} unscoped: any document may use it"),
            }
        }
        SecretCommand::List { output: fmt } => {
            let list = list(store).await?;
            if fmt == "json" {
                println!("{}", output::json(&list)?);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.size.to_string(),
                            s.revision.to_string(),
                            s.storage_text(),
                            s.scope
                                .as_ref()
                                .map_or_else(|| "any".to_string(), SecretScope::summary),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["NAME", "BYTES", "REVISION", "STORED", "SCOPE"], &rows)
                );
            }
        }
        SecretCommand::Delete { name } => {
            if store.secret_delete(&name).await? {
                println!("secret {name} deleted");
            } else {
                return Err(CliError::Failed(format!("secret {name} not found")));
            }
        }
        SecretCommand::Reencrypt => match keys {
            Some(keys) => reencrypt(store, keys).await?,
            None => SecretCommand::Reencrypt.check_keys(None)?,
        },
    }
    Ok(())
}

async fn set(
    store: &Store,
    keys: Option<&Keyring>,
    name: &str,
    from_file: &std::path::Path,
) -> CliResult {
    let value = Zeroizing::new(if from_file.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
            .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
        v
    } else {
        std::fs::read(from_file)
            .map_err(|e| CliError::Input(format!("cannot read {}: {e}", from_file.display())))?
    });
    if value.is_empty() {
        return Err(CliError::Input(format!("{} is empty", from_file.display())));
    }
    let size = value.len();
    match keys {
        Some(keys) => {
            let sealed = envelope::seal(&value, &store.secret_key(name), keys)
                .map_err(|e| CliError::Failed(format!("secret {name}: {e}")))?;
            store.secret_set(name, sealed).await?;
            println!(
                "secret {name} stored ({size} bytes, encrypted with key {})",
                keys.primary().name()
            );
        }
        None => {
            store.secret_set(name, value.to_vec()).await?;
            eprintln!(
                "warning: secret {name} is stored in clear in etcd; pass --secrets-key-file to encrypt secrets at rest"
            );
            println!("secret {name} stored ({size} bytes)");
        }
    }
    Ok(())
}

async fn list(store: &Store) -> Result<Vec<Listed>, CliError> {
    let mut scopes = store.secret_scopes().await?;
    Ok(store
        .secret_entries()
        .await?
        .into_iter()
        .map(|e| {
            let (storage, size, key, problem) = match envelope::inspect(&e.value) {
                Ok(Form::Clear { size }) => ("clear", size, None, None),
                Ok(Form::Encrypted { key, size }) => ("encrypted", size, Some(key), None),
                Err(p) => ("unreadable", e.value.len(), None, Some(p.to_string())),
            };
            Listed {
                scope: scopes.remove(&e.name),
                name: e.name,
                size,
                revision: e.mod_revision,
                storage,
                key,
                problem,
            }
        })
        .collect())
}

/// Brings every secret to the key file's first key. A value changed between the read and
/// the write (a concurrent `secret set`) is left as the other writer made it and reported;
/// so is one that cannot be opened. Either makes the command fail (exit 1) after all the
/// others were done, so a script sees that a run is still needed.
async fn reencrypt(store: &Store, keys: &Keyring) -> CliResult {
    let primary = keys.primary().name();
    let (mut rewritten, mut current) = (0usize, 0usize);
    let mut left = Vec::new();
    for e in store.secret_entries().await? {
        let etcd_key = store.secret_key(&e.name);
        let was = match envelope::inspect(&e.value) {
            Ok(Form::Encrypted { key, .. }) if key == primary => {
                println!("current  {} (key {primary})", e.name);
                current += 1;
                continue;
            }
            Ok(Form::Encrypted { key, .. }) => format!("key {key}"),
            Ok(Form::Clear { .. }) => "clear".to_string(),
            Err(p) => {
                left.push(format!("secret {}: {p}", e.name));
                continue;
            }
        };
        let sealed = envelope::open(&e.value, &etcd_key, Some(keys))
            .map(Zeroizing::new)
            .and_then(|plain| envelope::seal(&plain, &etcd_key, keys));
        let sealed = match sealed {
            Ok(s) => s,
            Err(p) => {
                left.push(format!("secret {}: {p}", e.name));
                continue;
            }
        };
        if store.secret_put_if(&e.name, sealed, e.mod_revision).await? {
            println!("rewrote  {} ({was} -> key {primary})", e.name);
            rewritten += 1;
        } else {
            left.push(format!(
                "secret {} changed or was deleted while being re-encrypted; left as the other writer made it (run secret reencrypt again)",
                e.name
            ));
        }
    }
    println!("{rewritten} rewritten, {current} already current (key {primary})");
    if left.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} secret(s) not re-encrypted:\n  {}",
            left.len(),
            left.join("\n  ")
        )))
    }
}
