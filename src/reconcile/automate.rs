//! The automated bumps in a reconcile: start a registry scan when one is due, and let the
//! automation decide from this reconcile's snapshot.

use std::collections::BTreeMap;

use mesos_operator_core::autoupdate::AutoUpdateReport;
use mesos_operator_core::spec::Component;
use tracing::{info_span, Instrument};

use super::cluster::ClusterState;
use super::error::ReconcileError;
use super::Context;
use crate::autoupdate::drive::{self, Automation};
use crate::autoupdate::scanner::{self, ScanCtx};
use crate::gather::Snapshot;

/// What the automation did.
#[derive(Debug, Default)]
pub(super) struct Automated {
    /// The spec was written: plan again from it before acting.
    pub wrote_spec: bool,
    /// Per component, for status.
    pub reports: BTreeMap<Component, AutoUpdateReport>,
    /// When the next registry scan is due: look again no later, converged or not.
    pub scan_at: Option<u64>,
}

pub(super) async fn automate(
    ctx: &Context,
    snap: &Snapshot,
    state: &mut ClusterState,
) -> Result<Automated, ReconcileError> {
    if !drive::concerns(&snap.doc, &snap.autoupdate) {
        return Ok(Automated::default());
    }
    start_scan(ctx, snap, state);
    // While a scan runs, its write of the state wakes the cluster; only an idle scanner
    // sets when to look again.
    let scan_at = if state.scan.as_ref().is_none_or(|h| h.is_finished()) {
        scanner::next_due(&snap.doc, &snap.autoupdate.state)
    } else {
        None
    };
    let automation = Automation {
        store: &*ctx.store,
        fence: &ctx.fence,
        metrics: &ctx.metrics,
    };
    let driven = drive::drive(&automation, snap).await?;
    Ok(Automated {
        wrote_spec: driven.wrote_spec,
        reports: driven.reports,
        scan_at,
    })
}

/// Starts a registry scan of the cluster when one is due and none is running.
fn start_scan(ctx: &Context, snap: &Snapshot, state: &mut ClusterState) {
    if state.scan.as_ref().is_some_and(|h| !h.is_finished()) {
        return;
    }
    if scanner::due(&snap.doc, &snap.autoupdate.state, snap.now).is_empty() {
        return;
    }
    let sctx = ScanCtx {
        store: ctx.store.clone(),
        clock: ctx.clock.clone(),
        secrets: ctx.secrets.clone(),
        metrics: ctx.metrics.clone(),
        fence: ctx.fence.clone(),
    };
    let span = info_span!("scan", cluster = %snap.name);
    state.scan = Some(tokio::spawn(
        scanner::scan(sctx, snap.name.clone(), snap.doc.clone(), snap.now).instrument(span),
    ));
}
