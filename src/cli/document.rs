//! `validate`, `apply`, `get` and `delete`: the document as a whole.

use std::io::Read;
use std::path::Path;

use mesos_operator_core::spec::parse::MAX_DOCUMENT_BYTES;
use mesos_operator_core::spec::{
    parse_document_bytes, scope_errors, validate as check, MesosCluster,
};

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::{format_errors, KeptVolumes, Store, StoreError, WriteOutcome};

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
    // Secrets named outside the scope their owners gave them: refused before anything is
    // written (the operator checks again, for specs written around `apply`).
    let out_of_scope = scope_errors(&doc, &store.secret_scopes().await?);
    if !out_of_scope.is_empty() {
        return Err(CliError::Input(format!(
            "invalid document:\n{}",
            format_errors(&out_of_scope)
        )));
    }
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

/// `delete NAME`: the desired state goes; what protects a re-apply stays (the store keeps
/// the record and the automation's denylist), and the output says so.
pub(super) async fn delete(store: &Store, name: &str) -> CliResult {
    if store.delete(name).await? {
        println!(
            "{name} deleted (its containers and data volumes stay until removed; the operator's record and \
             the automation's state, with its denylist, are kept, so re-applying the same document is safe)"
        );
        Ok(())
    } else {
        Err(CliError::Failed(format!("cluster {name} not found")))
    }
}

/// `delete --cascade [--purge-data]`: asks the operator to remove the cluster's containers
/// (and with `purge_data` their data volumes and every key), waits until the spec is gone,
/// then says what was kept and how to remove it.
pub(super) async fn delete_cascade(
    store: &Store,
    name: &str,
    purge_data: bool,
    timeout: std::time::Duration,
) -> CliResult {
    let Some(stored) = store.get(name).await? else {
        return Err(CliError::Failed(format!("cluster {name} not found")));
    };
    let requested_at = store.request_deletion(name, purge_data).await?;
    eprintln!(
        "{name}: deletion requested; waiting for the operator to remove the load balancer, DNS, Marathon, agents, masters and ZooKeeper{}",
        if purge_data {
            ", then their data volumes"
        } else {
            " (their data volumes stay)"
        }
    );
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if store.get(name).await?.is_none() {
            if purge_data {
                println!("{name} deleted with its containers and data volumes");
                return Ok(());
            }
            // Only what the operator wrote after this request answers it.
            match store.kept_volumes(name).await? {
                Some((kept, revision)) if revision > requested_at => {
                    print!("{}", kept_report(name, &stored.doc, &kept));
                }
                _ => println!(
                    "{name}: the spec is gone, but the operator did not say which data volumes it kept \
                     (an operator older than this command removes them too); \
                     look with `docker volume ls --filter label=io.mesos-operator.cluster={name}` on each host"
                ),
            }
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(CliError::Failed(format!(
        "{name} is not deleted after {}s: is `mesos-operator run` running? The request stays and is carried out when it does",
        timeout.as_secs()
    )))
}

/// What a cascade without `--purge-data` left, per host, with the command that removes it
/// and the way back (re-applying the document).
fn kept_report(name: &str, doc: &MesosCluster, kept: &KeptVolumes) -> String {
    let mut out = String::new();
    if kept.hosts.values().all(|h| h.volumes.is_empty()) {
        out.push_str(&format!(
            "{name} deleted with its containers; no data volume of it was on its hosts\n"
        ));
        return out;
    }
    out.push_str(&format!(
        "{name} deleted with its containers; its data volumes are kept:\n"
    ));
    for (host, h) in &kept.hosts {
        out.push_str(&format!("  {host}: {}\n", h.volumes.join(" ")));
    }
    out.push_str(
        "Re-applying the same document (`mesos-operator apply -f FILE`) picks this data up again: \
         the operator's record (ZooKeeper ids, master hosts) and the automation's denylist were kept too.\n",
    );
    out.push_str("To remove the data for good (this cannot be undone), on each host:\n");
    for h in kept.hosts.values().filter(|h| !h.volumes.is_empty()) {
        out.push_str(&format!(
            "  docker -H {} volume rm {}\n",
            h.docker,
            h.volumes.join(" ")
        ));
    }
    let tls = doc
        .spec
        .hosts
        .iter()
        .any(|h| kept.hosts.contains_key(&h.name) && h.docker.tls.is_some());
    if tls {
        out.push_str(
            "  (for hosts with TLS, add --tlsverify --tlscacert/--tlscert/--tlskey with the host's client certificate)\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeptOnHost;

    #[test]
    fn the_kept_report_names_each_volume_with_its_removal_and_the_way_back() {
        let doc = mesos_operator_core::spec::parse_document(include_str!(
            "../../manifests/examples/cluster7.yaml"
        ))
        .unwrap();
        let host = doc.spec.hosts[0].clone();
        let mut kept = KeptVolumes::default();
        kept.hosts.insert(
            host.name.clone(),
            KeptOnHost {
                docker: host.docker.endpoint.clone(),
                volumes: vec!["c-master-h-data".into(), "c-zookeeper-h-data".into()],
            },
        );
        let text = kept_report("c", &doc, &kept);
        assert!(
            text.contains(&format!(
                "docker -H {} volume rm c-master-h-data c-zookeeper-h-data",
                host.docker.endpoint
            )),
            "{text}"
        );
        assert!(text.contains("Re-applying the same document"), "{text}");
        assert_eq!(
            text.contains("--tlsverify"),
            host.docker.tls.is_some(),
            "{text}"
        );
        let none = kept_report("c", &doc, &KeptVolumes::default());
        assert!(none.contains("no data volume"), "{none}");
    }
}
