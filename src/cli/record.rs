//! `record forget-host`: the decisions about the operator's record that only a person can
//! make. A host that once held a master and is out of sight may still run that master, so
//! it counts for the masters' ceiling until someone who knows says it is gone for good.

use super::{CliError, CliResult};
use crate::store::Store;

/// `record` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RecordCommand {
    /// Forget a host that once held a master or Marathon of the cluster and is gone for
    /// good (its disk wiped or the machine retired), so that it stops counting for the
    /// masters' ceiling and holding Marathon's version changes. Refused while the host is
    /// in the document: the operator can see it there.
    ForgetHost {
        /// Cluster name.
        #[arg(value_parser = super::cluster_name)]
        name: String,
        /// The host's name, as the masters' block in `status` names it.
        host: String,
    },
}

pub(super) async fn run(store: &Store, cmd: RecordCommand) -> CliResult {
    match cmd {
        RecordCommand::ForgetHost { name, host } => forget_host(store, &name, &host).await,
    }
}

async fn forget_host(store: &Store, name: &str, host: &str) -> CliResult {
    let stored = store
        .get(name)
        .await?
        .ok_or_else(|| CliError::Failed(format!("cluster {name} not found")))?;
    if stored.doc.spec.hosts.iter().any(|h| h.name == host) {
        return Err(CliError::Input(format!(
            "{host} is in {name}'s document (spec.hosts), so the operator still looks at it; \
             remove it from spec.hosts with apply -f first, once its master is gone or the machine is"
        )));
    }
    let host_owned = host.to_string();
    let (forgotten, recorded) = store
        .update_record(name, |r| {
            let recorded: Vec<String> = r.master_hosts.union(&r.marathon_hosts).cloned().collect();
            let master = r.master_hosts.remove(&host_owned);
            r.master_quorums.remove(&host_owned);
            let marathon = r.marathon_hosts.remove(&host_owned);
            Ok((master || marathon, recorded))
        })
        .await?;
    if !forgotten {
        return Err(CliError::Input(format!(
            "{host} is not among {name}'s recorded master or Marathon hosts ({}); nothing to forget",
            if recorded.is_empty() {
                "none".to_string()
            } else {
                recorded.join(", ")
            }
        )));
    }
    println!(
        "{name}: {host} forgotten; a master or Marathon there no longer counts for the masters' ceiling or Marathon's version changes"
    );
    Ok(())
}
