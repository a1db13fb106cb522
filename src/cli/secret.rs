//! `secret set|list|delete`: secret material under `secrets/`, never printed.

use std::path::PathBuf;

use clap::Subcommand;

use super::output;
use super::{CliError, CliResult};
use crate::store::Store;

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
    },
    /// List secret names, sizes and revisions (never values).
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

pub(super) async fn run(store: &Store, cmd: SecretCommand) -> CliResult {
    match cmd {
        SecretCommand::Set { name, from_file } => {
            let value = if from_file.as_os_str() == "-" {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                    .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
                v
            } else {
                std::fs::read(&from_file).map_err(|e| {
                    CliError::Input(format!("cannot read {}: {e}", from_file.display()))
                })?
            };
            if value.is_empty() {
                return Err(CliError::Input(format!("{} is empty", from_file.display())));
            }
            let size = value.len();
            store.secret_set(&name, value).await?;
            println!("secret {name} stored ({size} bytes)");
        }
        SecretCommand::List { output: fmt } => {
            let list = store.secret_list().await?;
            if fmt == "json" {
                println!("{}", output::json(&list)?);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|s| vec![s.name.clone(), s.size.to_string(), s.revision.to_string()])
                    .collect();
                print!("{}", output::table(&["NAME", "BYTES", "REVISION"], &rows));
            }
        }
        SecretCommand::Delete { name } => {
            if store.secret_delete(&name).await? {
                println!("secret {name} deleted");
            } else {
                return Err(CliError::Failed(format!("secret {name} not found")));
            }
        }
    }
    Ok(())
}
