//! One reconcile's worth of automation for a cluster: decide for every component with a
//! policy, store the state (fenced), then make at most one spec write (fenced, and only on
//! the generation planned from), and say what happened in events and metrics.

use std::collections::BTreeMap;

use mesos_operator_core::autoupdate::canary::{check, registered_agents};
use mesos_operator_core::autoupdate::{
    decide, AutoUpdateReport, AutoUpdateState, EventKind, Inputs, Policy,
};
use mesos_operator_core::plan::{BlockKind, Decision};
use mesos_operator_core::spec::{AutoUpdateMode, Component, MesosCluster};
use mesos_operator_core::status::ready_count;
use tracing::{info, warn};

use crate::clock::rfc3339;
use crate::election::{Deposed, Fence};
use crate::gather::Snapshot;
use crate::metrics::Metrics;
use crate::store::{AutoUpdateAt, ClusterStore, Event, EventOutcome, StoreError};

/// What the automation needs of the loop: where to write, the right to, and its counters.
pub struct Automation<'a> {
    /// The state and the spec.
    pub store: &'a dyn ClusterStore,
    /// Only the leader writes.
    pub fence: &'a Fence,
    /// The automation's metrics.
    pub metrics: &'a Metrics,
}

/// What the automation can fail on; the reconcile is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    /// The replica may not write any more.
    #[error(transparent)]
    Deposed(#[from] Deposed),
    /// The store failed writing the state or the spec.
    #[error("the automation could not write: {0}")]
    Store(#[from] StoreError),
}

impl AutomationError {
    /// A bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            AutomationError::Deposed(_) | AutomationError::Store(StoreError::Deposed(_)) => {
                "deposed"
            }
            AutomationError::Store(_) => "store",
        }
    }
}

/// What the automation did in this reconcile.
#[derive(Debug, Default)]
pub struct Driven {
    /// Per component, for status.
    pub reports: BTreeMap<Component, AutoUpdateReport>,
    /// The spec was written: plan again from it before acting.
    pub wrote_spec: bool,
}

/// Whether the cluster has anything for the automation: a policy, or state from one.
pub fn concerns(doc: &MesosCluster, at: &AutoUpdateAt) -> bool {
    Component::ALL.iter().any(|c| doc.auto_update(*c).is_some()) || !at.state.components.is_empty()
}

/// Inputs and the decision for every component with a policy, from one look at the
/// cluster; writes what changed.
pub async fn drive(ctx: &Automation<'_>, snap: &Snapshot) -> Result<Driven, AutomationError> {
    let name = snap.name.as_str();
    let doc = &snap.doc;
    let (generation, spec_revision) = (snap.generation, snap.spec_revision);
    let (desired, observed, planned) = (&snap.desired, &snap.observed, &snap.planned);
    let at = snap.autoupdate.clone();
    let now = snap.now;
    let mut driven = Driven::default();
    let mut state: AutoUpdateState = at.state.clone();
    let mut write: Option<(Component, String)> = None;
    let mut events = Vec::new();
    // A rollout left in the state of a component whose policy is gone is over; it does not
    // keep the others from starting.
    let any_rollout = state
        .components
        .iter()
        .any(|(c, u)| u.rollout.is_some() && doc.auto_update(*c).is_some());
    // One new rollout per pass: the first component that starts one stops the others.
    let mut may_start = planned.decision == Decision::Converged && !any_rollout;
    for c in Component::ALL {
        let Some(spec_policy) = doc.auto_update(c) else {
            // No policy (any more): a rollout left behind is over, and the image is noted so
            // that a policy added later does not read today's image as a person's edit.
            if let (Some(u), Some(img)) = (state.components.get_mut(&c), doc.image(c)) {
                u.rollout = None;
                u.known_image = Some(img.to_string());
            }
            continue;
        };
        // Validation compiled it before the spec was stored.
        let Ok(policy) = Policy::compile(spec_policy) else {
            continue;
        };
        let Some(spec_image) = doc.image(c) else {
            continue;
        };
        let u = state.component(c);
        let failed = match &planned.decision {
            Decision::Blocked {
                kind: BlockKind::HealthTimeout | BlockKind::CrashLoop,
                reason,
                ..
            } if planned.component == Some(c) => Some(reason.clone()),
            _ => None,
        };
        let baseline = u.rollout.as_ref().map_or(0, |r| r.baseline_agents);
        let out = decide(&Inputs {
            component: c,
            policy: &policy,
            spec_image,
            generation,
            state: &u,
            failed,
            ready: ready_count(desired, observed, c),
            desired: desired.hosts_of(c).len() as u32,
            checks: check(c, desired, observed, baseline),
            registered_agents: registered_agents(observed),
            may_start,
            ceiling: (c == Component::Agents)
                .then(|| doc.image(Component::Masters))
                .flatten()
                .map(mesos_operator_core::autoupdate::decide::tag_of)
                .as_deref(),
            now,
        });
        ctx.metrics.set_autoupdate(
            name,
            c.as_str(),
            out.report.newest.is_some(),
            out.state.denied.len() as i64,
            out.state.pinned.is_some(),
        );
        for e in &out.events {
            match e.kind {
                EventKind::CanaryStarted => {
                    ctx.metrics.autoupdate_canary(name, c.as_str(), "started")
                }
                EventKind::CanaryPassed => {
                    ctx.metrics.autoupdate_canary(name, c.as_str(), "passed")
                }
                EventKind::RolledBack => {
                    if u.rollout.as_ref().is_some_and(|r| r.promoted_at.is_none()) {
                        ctx.metrics.autoupdate_canary(name, c.as_str(), "failed");
                    }
                    ctx.metrics.autoupdate_rollback(name, c.as_str());
                }
                _ => {}
            }
            info!(cluster = name, component = %c, kind = e.kind.as_str(), tag = %e.tag, "{}", e.message);
            events.push(Event {
                at: rfc3339(now),
                kind: e.kind.as_str().to_string(),
                component: c.as_str().to_string(),
                host: String::new(),
                step: e.message.clone(),
                outcome: EventOutcome::Ok,
                error: None,
                duration_seconds: 0.0,
                generation,
            });
        }
        if out.state.rollout.is_some() && u.rollout.is_none() {
            may_start = false;
        }
        if policy.mode != AutoUpdateMode::Off {
            driven.reports.insert(c, out.report.clone());
        }
        if write.is_none() {
            if let Some(img) = &out.write_image {
                write = Some((c, img.clone()));
            }
        }
        state.components.insert(c, out.state);
    }
    if state == at.state && write.is_none() && events.is_empty() {
        return Ok(driven);
    }
    // The state first: a spec write is recorded before it is made.
    let guard = ctx.fence.guard()?;
    let mut stored = match ctx
        .store
        .put_autoupdate(Some(&guard), name, &at, &state)
        .await
    {
        Ok(s) => s,
        // A scan (or a person's approve) wrote in between: decide again next pass, from
        // what they wrote, rather than failing the whole reconcile.
        Err(StoreError::Conflict(m)) => {
            info!(cluster = name, reason = %m, "the automation state changed under this pass; deciding again");
            return Ok(Driven::default());
        }
        Err(e) => return Err(e.into()),
    };
    for e in events {
        if let Err(err) = ctx.store.push_event(&guard, name, e).await {
            warn!(error = %err, "could not record the automation's event");
        }
    }
    if let Some((c, image)) = write {
        crate::failpoint::before_action("spec");
        let result = ctx
            .store
            .set_image_fenced(&guard, name, generation, spec_revision, c, &image)
            .await;
        crate::failpoint::after_action("spec");
        match result {
            Ok(outcome) => {
                info!(cluster = name, component = %c, %image, generation = outcome.generation(), "the automation wrote the spec");
                driven.wrote_spec = true;
                let mut landed = stored.state.clone();
                landed.components.entry(c).or_default().landed(&image);
                stored = ctx
                    .store
                    .put_autoupdate(Some(&guard), name, &stored, &landed)
                    .await?;
                let _ = stored;
            }
            // A person's write got in first: the next reconcile judges what they wrote.
            Err(StoreError::Conflict(m)) => {
                info!(cluster = name, component = %c, reason = %m, "the automation's spec write lost a race; planning again");
                driven.wrote_spec = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(driven)
}
