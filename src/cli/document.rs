//! `validate`, `apply`, `get` and `delete`: the document as a whole.

use std::io::Read;
use std::path::Path;

use mesos_operator_core::spec::parse::MAX_DOCUMENT_BYTES;
use mesos_operator_core::spec::{parse_document_bytes, validate as check, MesosCluster};

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::{format_errors, Store, StoreError, WriteOutcome};

/// Reads and parses a document from a file, or standard input for `-`: never more than
/// one byte past the document cap is read, so a huge file or an endless pipe is refused
/// without being held in memory.
fn read_document(file: &Path) -> Result<MesosCluster, CliError> {
    let limit = MAX_DOCUMENT_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    let read = if file == Path::new("-") {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| {
        if file == Path::new("-") {
            CliError::Input(format!("cannot read standard input: {e}"))
        } else {
            CliError::Input(format!("cannot read {}: {e}", file.display()))
        }
    })?;
    parse_document_bytes(&bytes).map_err(|e| CliError::Input(format!("{}: {e}", file.display())))
}

/// Reads a document and checks it on its own (rules that compare with the stored spec come
/// later, at the write): bad input is reported before etcd is contacted.
pub(super) fn read_valid_document(file: &Path) -> Result<MesosCluster, CliError> {
    let doc = read_document(file)?;
    check(&doc, None).map_err(|errs| {
        CliError::Input(format!(
            "{} is invalid:\n{}",
            file.display(),
            format_errors(&errs)
        ))
    })?;
    Ok(doc)
}

pub(super) fn validate(file: &Path) -> CliResult {
    let doc = read_valid_document(file)?;
    println!("{}: valid", doc.metadata.name);
    Ok(())
}

pub(super) async fn apply(store: &Store, doc: MesosCluster, dry_run: bool) -> CliResult {
    let name = doc.metadata.name.clone();
    if dry_run {
        let current = store.get(&name).await?;
        check(&doc, current.as_ref().map(|c| &c.doc)).map_err(|errs| {
            CliError::Input(format!("invalid document:\n{}", format_errors(&errs)))
        })?;
        let conflicts = store.port_conflicts(&doc).await?;
        if !conflicts.is_empty() {
            let errs: Vec<_> = conflicts.iter().map(|c| c.to_field_error()).collect();
            return Err(StoreError::SharedPorts(errs).into());
        }
        let old = match &current {
            Some(c) => output::yaml(&c.doc.spec)?,
            None => String::new(),
        };
        let new = output::yaml(&doc.spec)?;
        if old == new {
            println!("{name}: unchanged (dry run)");
        } else {
            print!("{}", output::diff(&old, &new));
            println!(
                "{name}: would be {} (dry run; nothing written)",
                if current.is_some() {
                    "updated"
                } else {
                    "created"
                }
            );
        }
        return Ok(());
    }
    match store.apply(&doc).await? {
        WriteOutcome::Created { generation } => {
            println!("{name} created (generation {generation})")
        }
        WriteOutcome::Updated { generation } => {
            println!("{name} configured (generation {generation})")
        }
        WriteOutcome::Unchanged { generation } => {
            println!("{name} unchanged (generation {generation})")
        }
    }
    Ok(())
}

pub(super) async fn get(store: &Store, name: Option<&str>, format: Option<Format>) -> CliResult {
    match name {
        Some(name) => {
            let stored = store
                .get(name)
                .await?
                .ok_or_else(|| CliError::Failed(format!("cluster {name} not found")))?;
            match format.unwrap_or(Format::Yaml) {
                Format::Json => println!("{}", output::json(&stored.doc)?),
                Format::Yaml => print!("{}", output::yaml(&stored.doc)?),
                Format::Table => print!("{}", output::cluster_table(&[stored.doc])),
            }
        }
        None => {
            let listing = store.list().await?;
            let docs: Vec<MesosCluster> = listing.clusters.into_iter().map(|s| s.doc).collect();
            match format.unwrap_or(Format::Table) {
                Format::Json => println!("{}", output::json(&docs)?),
                Format::Yaml => print!("{}", output::yaml(&docs)?),
                Format::Table => {
                    print!("{}", output::cluster_table(&docs));
                    for (name, _) in &listing.unreadable {
                        println!("{name}  UNREADABLE (see the message below)");
                    }
                }
            }
            // The others are listed; each unreadable one is named with what to do.
            for (name, reason) in &listing.unreadable {
                eprintln!(
                    "warning: the stored spec of {name} cannot be read ({reason}); the operator leaves the cluster alone (phase Invalid). \
                     Store a valid document with `mesos-operator apply -f FILE`, or remove it with `mesos-operator delete {name}`"
                );
            }
        }
    }
    Ok(())
}

pub(super) async fn delete(store: &Store, name: &str) -> CliResult {
    if store.delete(name).await? {
        println!("{name} deleted (its containers stay until removed)");
        Ok(())
    } else {
        Err(CliError::Failed(format!("cluster {name} not found")))
    }
}

/// `delete --cascade`: asks the operator to remove the cluster's containers and volumes,
/// then its keys, and waits until the spec is gone.
pub(super) async fn delete_cascade(
    store: &Store,
    name: &str,
    timeout: std::time::Duration,
) -> CliResult {
    if store.get(name).await?.is_none() {
        return Err(CliError::Failed(format!("cluster {name} not found")));
    }
    store.request_deletion(name).await?;
    eprintln!("{name}: deletion requested; waiting for the operator to remove Marathon, agents, masters and ZooKeeper");
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if store.get(name).await?.is_none() {
            println!("{name} deleted with its containers and data volumes");
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(CliError::Failed(format!(
        "{name} is not deleted after {}s: is `mesos-operator run` running? The request stays and is carried out when it does",
        timeout.as_secs()
    )))
}
