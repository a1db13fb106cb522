//! `delete --cascade`: the CLI records a deletion request; the operator, which alone acts on
//! the fleet, removes the cluster's containers in reverse rollout order (Marathon, agents,
//! masters, ZooKeeper), then the cluster's keys.
//!
//! The data volumes (ZooKeeper's data, the masters' replicated logs) go only when the
//! request says `purgeData` (`--purge-data`), and then every key goes with them. Otherwise
//! they stay, and so do the record (highest ZooKeeper id, master hosts) and the automation's
//! denylist: re-applying the same document finds its data and the facts it needs to use it
//! safely, as after containers a person removed. What was kept is recorded for the CLI.

use std::collections::BTreeMap;

use mesos_operator_core::observed::HostObservation;
use mesos_operator_core::ops;
use mesos_operator_core::spec::MesosCluster;
use tracing::info;

use super::cluster::Next;
use super::error::ReconcileError;
use super::Context;
use crate::fleet::StepSecrets;
use crate::store::{DeletionRequest, KeptOnHost, KeptVolumes, Removal};

/// Removes everything of the cluster; the keys go last, so a crash half-way leaves the
/// request in place and the next reconcile finishes the job.
pub(super) async fn teardown(
    ctx: &Context,
    name: &str,
    doc: &MesosCluster,
    request: &DeletionRequest,
) -> Result<Next, ReconcileError> {
    let observed = ctx.fleet.observe(doc).await;
    if let Some((host, _)) = observed
        .hosts
        .iter()
        .find(|(_, h)| !matches!(h, HostObservation::Reachable { .. }))
    {
        return Err(ReconcileError::Incomplete(format!(
            "host {host} does not answer; the cluster's containers there cannot be removed yet"
        )));
    }
    let purge = request.purge_data;
    let plan = ops::teardown(name, &observed, purge);
    info!(
        cluster = name,
        operations = plan.len(),
        purge_data = purge,
        "deleting the cluster's containers{}",
        if purge {
            " and data volumes"
        } else {
            "; its data volumes stay"
        }
    );
    let none = StepSecrets::default();
    for op in &plan {
        super::step::execute(ctx, doc, op, &none)
            .await
            .map_err(|source| ReconcileError::Act {
                kind: op.kind(),
                source,
            })?;
    }
    let guard = ctx.fence.guard().map_err(|e| ReconcileError::Act {
        kind: "delete",
        source: e.into(),
    })?;
    let removal = if purge {
        Removal::Everything
    } else {
        Removal::KeepData(kept(
            doc,
            &ops::kept_volumes(name, &observed),
            ctx.clock.now(),
        ))
    };
    ctx.store.delete_fenced(name, &guard, &removal).await?;
    ctx.fleet.forget(name);
    info!(
        cluster = name,
        purge_data = purge,
        "cluster deleted with its containers"
    );
    Ok(Next::Forget)
}

/// What the CLI reports and people can look up: the volumes seen, with each host's Docker
/// endpoint from the document (where `docker volume rm` must be sent).
fn kept(doc: &MesosCluster, volumes: &BTreeMap<String, Vec<String>>, now: u64) -> KeptVolumes {
    let hosts = volumes
        .iter()
        .map(|(host, vs)| {
            let docker = doc
                .spec
                .hosts
                .iter()
                .find(|h| &h.name == host)
                .map(|h| h.docker.endpoint.clone())
                .unwrap_or_default();
            (
                host.clone(),
                KeptOnHost {
                    docker,
                    volumes: vs.clone(),
                },
            )
        })
        .collect();
    KeptVolumes {
        kept_at: now,
        hosts,
    }
}
