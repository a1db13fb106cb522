//! The planner: `plan(desired, observed, recorded, now) -> Decision`, a pure function.
//!
//! It is level-based: it decides from what it observes, never from a memory of what it did,
//! so an operator killed at any instant and started again makes the same decision from the
//! same cluster. Each call returns at most one step; the caller carries it out, observes
//! again and calls again (raft-rs style: the core decides, the caller does the IO).
//!
//! Order of concerns in one call:
//! 1. paused → wait;
//! 2. repair: a stopped container that belongs where it is gets started, anywhere, as long
//!    as the quorum rules hold (starting never lowers a quorum; for masters the ceiling of
//!    `2*quorum - 1` running is checked);
//! 3. ZooKeeper, then masters, then agents, then Marathon: a component is planned only when
//!    every component before it is converged and healthy. Within a component: gate on
//!    anything in progress, then membership (removals of dead members, additions, removals
//!    of live ones), then configuration changes, followers first and the leader last.
//!
//! Every rule that can forbid a step is written as a check right before the step is
//! returned; [`crate::invariants`] re-checks every returned step independently in tests.

mod agents;
mod backup;
mod discovery;
mod gate;
mod marathon;
mod masters;
pub mod preflight;
mod repair;
pub mod step;
mod zookeeper;

use serde::{Deserialize, Serialize};

use crate::desired::Desired;
use crate::observed::Observed;
use crate::record::Recorded;
use crate::spec::Component;
pub(crate) use marathon::tag_version;
pub use masters::{floor as masters_floor, stage};
pub use step::{Step, StepKind, ZkMember};
pub(crate) use zookeeper::place_voters;

/// Why the planner will not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockKind {
    /// A member did not turn healthy within `healthTimeout`.
    HealthTimeout,
    /// A container exits right after it starts.
    CrashLoop,
    /// Every next step would break a safety rule.
    Safety,
    /// Something is down (a host unreachable, a member lost) that the operator may not fix
    /// without breaking a rule.
    Degraded,
    /// A host preflight check failed where the next member would be placed
    /// ([`preflight`]).
    Preflight,
    /// A version change waits for its backup, which failed (`spec.backup.beforeUpgrade`).
    Backup,
}

/// What the planner decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Everything matches the spec and is healthy.
    Converged,
    /// Something is in progress; plan again later (at the latest at `until`).
    Wait {
        /// What is being waited for.
        reason: String,
        /// When waiting turns into a block (seconds since the epoch).
        until: Option<u64>,
    },
    /// No step may be taken; a person should look.
    Blocked {
        /// Kind.
        kind: BlockKind,
        /// What is wrong.
        reason: String,
        /// What a person should do.
        action: String,
    },
    /// Take exactly this step.
    Act {
        /// The step.
        step: Step,
        /// Why, for status and logs.
        reason: String,
    },
}

impl Decision {
    /// The step, if one.
    pub fn step(&self) -> Option<&Step> {
        match self {
            Decision::Act { step, .. } => Some(step),
            _ => None,
        }
    }
}

/// What every part of the planner reads: one look at the cluster.
pub(crate) struct View<'a> {
    /// What should run where (the current stage of a quorum change).
    pub desired: &'a Desired,
    /// What is there.
    pub observed: &'a Observed,
    /// What the operator recorded.
    pub recorded: &'a Recorded,
    /// Now, in seconds since the epoch.
    pub now: u64,
}

impl View<'_> {
    fn timeout(&self) -> u64 {
        self.desired.health_timeout.as_secs().max(1)
    }
}

/// Decides the next step for one cluster. Pure: same inputs, same answer.
///
/// `recorded` is what the operator wrote to etcd itself (see [`crate::record`]); before the
/// returned step is carried out, [`crate::record::record_before`] gives the record to write.
pub fn plan(desired: &Desired, observed: &Observed, recorded: &Recorded, now: u64) -> Decision {
    plan_detailed(desired, observed, recorded, now).decision
}

/// A decision and the component it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The decision.
    pub decision: Decision,
    /// The component whose planner (or repair) decided; `None` when converged or paused.
    pub component: Option<Component>,
}

/// [`plan`], saying which component the decision concerns: the automation rolls back a
/// canary whose component blocks on a health timeout or a crash loop, and only then.
/// A placement on a host whose preflight failed is held ([`preflight`]).
pub fn plan_detailed(
    desired: &Desired,
    observed: &Observed,
    recorded: &Recorded,
    now: u64,
) -> Planned {
    preflight::gate(desired, observed, recorded, now, plan_unchecked)
}

/// [`plan_detailed`] before the preflight holds.
fn plan_unchecked(
    desired: &Desired,
    observed: &Observed,
    recorded: &Recorded,
    now: u64,
) -> Planned {
    let staged = stage(desired, observed, recorded);
    let ctx = View {
        desired: &staged,
        observed,
        recorded,
        now,
    };
    if let Some(decision) = shared_ports(desired) {
        return Planned {
            decision,
            component: None,
        };
    }
    if desired.paused {
        return Planned {
            decision: Decision::Wait {
                reason: "rollout paused (spec.rollout.paused); observing only".into(),
                until: None,
            },
            component: None,
        };
    }
    if let Some((c, d)) = repair::plan(&ctx) {
        return Planned {
            decision: d,
            component: Some(c),
        };
    }
    if let Some(d) = backup::plan(&ctx) {
        let component = d.step().map(Step::component);
        return Planned {
            decision: d,
            component,
        };
    }
    for c in Component::ALL {
        let d = match c {
            Component::Zookeeper => zookeeper::plan(&ctx),
            Component::Masters => masters::plan(&ctx),
            Component::Agents => agents::plan(&ctx),
            Component::Marathon => marathon::plan(&ctx),
            Component::Dns | Component::LoadBalancer => discovery::plan(&ctx, c),
        };
        if let Some(d) = d {
            let d = backup::hold_version_change(&ctx, c, canary_hold(&ctx, c, d));
            return Planned {
                decision: d,
                component: Some(c),
            };
        }
    }
    if let Some(d) = zookeeper::clients_first(&ctx) {
        return Planned {
            decision: d,
            component: Some(Component::Zookeeper),
        };
    }
    Planned {
        decision: Decision::Converged,
        component: None,
    }
}

/// Safety rule 13 (one engine, many clusters, no harm): while another stored cluster binds
/// a port this one binds on the same machine, nothing is done. Either cluster's next step
/// could take the port from the other (start a container while the other's is being
/// replaced), and repairing a crashed member would fight the other cluster for it.
fn shared_ports(d: &Desired) -> Option<Decision> {
    let first = d.port_conflicts.first()?;
    let others: std::collections::BTreeSet<&str> =
        d.port_conflicts.iter().map(|c| c.other.as_str()).collect();
    let what: Vec<String> = d
        .port_conflicts
        .iter()
        .map(|c| {
            let e = c.to_field_error();
            format!("{}: {}", e.path, e.problem)
        })
        .collect();
    Some(Decision::Blocked {
        kind: BlockKind::Safety,
        reason: format!(
            "this cluster and cluster {} bind the same ports on the same machines ({})",
            others.into_iter().collect::<Vec<_>>().join(", "),
            what.join("; ")
        ),
        action: format!(
            "nothing is done until the documents no longer collide: {}",
            first.to_field_error().fix
        ),
    })
}

/// An automated rollout's canary: one member of the component moves, the rest wait while
/// it soaks. Once its host is recorded ([`canary_to_record`], written before the first step
/// is carried out) only that host's member moves, whatever an observation shows: one look in
/// which the canary's Docker call timed out shows no canary, and must not release the hold.
/// Before that, the canary is the member whose host already carries the new configuration
/// (or, for agents, is in the operator's own maintenance window on its way there). Repairs,
/// steps on the canary's own host (`machine/up`) and leader moves are never held.
fn canary_hold(ctx: &View, c: Component, d: Decision) -> Decision {
    let Some(hold) = ctx
        .desired
        .canary_hold
        .as_ref()
        .filter(|h| h.component == c)
    else {
        return d;
    };
    // A canary goes alone: a batch of the held component is narrowed to its first part,
    // which the rules below then judge as any single step.
    let d = match d {
        Decision::Act {
            step: step @ Step::CreateContainers { .. },
            reason,
        } if step.component() == c => match step.parts().into_iter().next() {
            Some(first) => Decision::Act {
                step: first,
                reason,
            },
            None => return Decision::Act { step, reason },
        },
        d => d,
    };
    let Decision::Act { step, .. } = &d else {
        return d;
    };
    if !moves_a_member(step, c) {
        return d;
    }
    let canary: std::collections::BTreeSet<&str> = match &hold.host {
        Some(h) if !canary_not_started(ctx, c, h) => [h.as_str()].into(),
        _ => seen_canary(ctx, c),
    };
    if !canary.is_empty() && !canary.contains(step.host()) {
        return Decision::Wait {
            reason: format!(
                "canary: the {} on {} goes first; the rest wait while it soaks",
                c.role(),
                canary.into_iter().collect::<Vec<_>>().join(", ")
            ),
            until: None,
        };
    }
    d
}

/// A step that starts moving a member of `c` (the canary hold's concern).
fn moves_a_member(step: &Step, c: Component) -> bool {
    step.component() == c
        && matches!(
            step,
            Step::ReplaceContainer { .. }
                | Step::RemoveContainer { .. }
                | Step::CreateContainer { .. }
                | Step::ZkRecreateServer { .. }
                | Step::AgentDrain { .. }
                | Step::AgentDown { .. }
        )
}

/// The recorded canary is seen, on its old configuration, with no window of the operator's
/// open on it: its first step never ran (leadership moved onto it between the record and
/// the step, and leaders go last). Another member may be the canary then; one that cannot be
/// seen is still the canary.
fn canary_not_started(ctx: &View, c: Component, host: &str) -> bool {
    ctx.observed
        .container(c, host)
        .is_some_and(|oc| !ctx.desired.is_current(oc))
        && ctx
            .recorded
            .maintenance
            .get(host)
            .is_none_or(|m| m.up_sent_at.is_some())
}

/// The canary as the observation shows it, while no host is recorded.
fn seen_canary<'a>(ctx: &'a View, c: Component) -> std::collections::BTreeSet<&'a str> {
    let mut canary: std::collections::BTreeSet<&str> = ctx
        .desired
        .hosts_of(c)
        .into_iter()
        .filter(|h| {
            ctx.observed
                .container(c, h)
                .is_some_and(|oc| ctx.desired.is_current(oc))
        })
        .collect();
    if c == Component::Agents {
        // Windows still open (`machine/up` not sent): a window of an earlier rollout that
        // ended stays recorded and is no canary.
        canary.extend(
            ctx.recorded
                .maintenance
                .iter()
                .filter(|(_, m)| m.up_sent_at.is_none())
                .map(|(h, _)| h.as_str()),
        );
    }
    canary
}

/// The canary host to record before `decision` is carried out: the first step that puts
/// the new configuration on a member of the held component (or drains it on its way
/// there) while no canary host is recorded. Removals are not a canary (Marathon's version
/// change goes down to one old instance first). The caller writes it to the rollout's state
/// first (record, then act), so the hold never depends on one look.
pub fn canary_to_record(desired: &Desired, decision: &Decision) -> Option<(Component, String)> {
    let hold = desired.canary_hold.as_ref()?;
    let step = decision.step()?;
    let starts_a_canary = step.component() == hold.component
        && matches!(
            step,
            Step::ReplaceContainer { .. }
                | Step::CreateContainer { .. }
                | Step::ZkRecreateServer { .. }
                | Step::AgentDrain { .. }
        );
    let unchosen = match &hold.host {
        None => true,
        // A recorded canary whose first step never ran may give way to the member the
        // planner moves first now (see [`canary_hold`]); the pure planner cannot see the
        // runtime's record, so it says which host to record, and the runtime writes it.
        Some(h) => h != step.host(),
    };
    (unchosen && starts_a_canary).then(|| (hold.component, step.host().to_string()))
}

fn act(step: Step, reason: impl Into<String>) -> Option<Decision> {
    Some(Decision::Act {
        step,
        reason: reason.into(),
    })
}

fn blocked(
    kind: BlockKind,
    reason: impl Into<String>,
    action: impl Into<String>,
) -> Option<Decision> {
    Some(Decision::Blocked {
        kind,
        reason: reason.into(),
        action: action.into(),
    })
}

/// Majority of `n` voters.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The creations of `component` on `hosts` as one decision: a batch when there are
/// several, the single step when there is one, none when there are none. Only for
/// creations that disturb nobody (see [`Step::CreateContainers`]).
fn create_all(component: Component, hosts: Vec<String>, reason: String) -> Option<Decision> {
    let step = match <[String; 1]>::try_from(hosts) {
        Ok([host]) => Step::CreateContainer { component, host },
        Err(hosts) if hosts.is_empty() => return None,
        Err(hosts) => Step::CreateContainers { component, hosts },
    };
    act(step, reason)
}

/// Orders hosts so that the leader comes last (followers first), the rest by name.
fn leader_last<'a>(mut hosts: Vec<&'a str>, leader: Option<&str>) -> Vec<&'a str> {
    hosts.sort_by_key(|h| (Some(*h) == leader, *h));
    hosts
}

#[cfg(test)]
mod tests;
