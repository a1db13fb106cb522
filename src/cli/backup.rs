//! `backup NAME` (ask the running operator for a backup now) and `backups NAME` (the
//! backups recorded, oldest first).

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::Store;

pub(super) async fn request(store: &Store, name: &str) -> CliResult {
    let Some(stored) = store.get(name).await? else {
        return Err(CliError::Failed(format!("cluster {name} not found")));
    };
    if stored.doc.spec.backup.is_none() {
        return Err(CliError::Input(format!(
            "cluster {name} has no spec.backup: add one (a target at least, e.g. backup: {{target: {{directory: /var/lib/mesos-operator/backups}}}}) and apply it"
        )));
    }
    let now = crate::clock::seconds_since_epoch();
    store.request_backup(name, now).await?;
    println!(
        "backup of {name} requested; the operator takes it as planned steps (see `mesos-operator status {name}`, then `mesos-operator backups {name}`)"
    );
    Ok(())
}

pub(super) async fn list(store: &Store, name: &str, format: Format) -> CliResult {
    let backups = store.backups(name).await?;
    if backups.is_empty() && store.get(name).await?.is_none() {
        return Err(CliError::Failed(format!("cluster {name} not found")));
    }
    match format {
        Format::Json => println!("{}", output::json(&backups)?),
        Format::Yaml => print!("{}", output::yaml(&backups)?),
        Format::Table => {
            if backups.is_empty() {
                println!("{name}: no backups recorded");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = backups
                .iter()
                .map(|b| {
                    vec![
                        b.id.clone(),
                        crate::clock::rfc3339(b.finished_at),
                        b.reason.label().to_string(),
                        b.zookeeper.zxid.clone().unwrap_or_else(|| "-".into()),
                        b.zookeeper
                            .epoch
                            .map_or_else(|| "-".into(), |e| e.to_string()),
                        b.voters
                            .iter()
                            .map(|v| format!("{}@{}", v.id, v.host))
                            .collect::<Vec<_>>()
                            .join(","),
                        b.masters.host.clone(),
                        b.size().to_string(),
                        b.location.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(
                    &[
                        "ID", "FINISHED", "REASON", "ZXID", "EPOCH", "VOTERS", "LOG FROM", "BYTES",
                        "WHERE"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(())
}
