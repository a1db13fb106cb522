//! `delete --cascade`: the CLI records a deletion request; the operator, which alone acts on
//! the fleet, removes the cluster's containers in reverse rollout order (Marathon, agents,
//! masters, ZooKeeper), then their data volumes, then every key of the cluster.

use mesos_operator_core::observed::HostObservation;
use mesos_operator_core::ops;
use mesos_operator_core::spec::MesosCluster;
use tracing::info;

use super::cluster::Next;
use super::error::ReconcileError;
use super::Context;
use crate::fleet::StepSecrets;

/// Removes everything of the cluster; the keys go last, so a crash half-way leaves the
/// request in place and the next reconcile finishes the job.
pub(super) async fn teardown(
    ctx: &Context,
    name: &str,
    doc: &MesosCluster,
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
    let plan = ops::teardown(name, &observed);
    info!(
        cluster = name,
        operations = plan.len(),
        "deleting the cluster's containers and volumes"
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
    ctx.store.delete_fenced(name, &guard).await?;
    ctx.fleet.forget(name);
    info!(cluster = name, "cluster deleted with its containers");
    Ok(Next::Forget)
}
