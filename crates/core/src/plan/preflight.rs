//! Preflight holds: a step that would place a member on a host where a preflight check
//! failed (not ignored) is not taken. The failure holds that placement only: an agent
//! waits on its host while the agents of the other hosts are placed; ZooKeeper servers,
//! masters and Marathon instances, whose count and order the rest of the cluster depends
//! on, block their component's rollout, and the order rules hold the components after it.
//! Members already running are repaired and rolled as ever.

use std::borrow::Cow;

use super::{BlockKind, Decision, Planned};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::preflight::{hold, CheckResult};
use crate::record::Recorded;
use crate::spec::Component;

use super::Step;

/// The member a step adds to a host, if it adds one.
pub fn placement(step: &Step) -> Option<(Component, &str)> {
    match step {
        Step::CreateContainer { component, host } => Some((*component, host)),
        Step::ZkStartServer { host, .. } => Some((Component::Zookeeper, host)),
        _ => None,
    }
}

/// [`super::plan_detailed`] with the holds: plans with `inner`, and while the step places a
/// member where a check failed, holds it (agents: plans again without that host's agent).
pub(super) fn gate(
    desired: &Desired,
    observed: &Observed,
    recorded: &Recorded,
    now: u64,
    inner: fn(&Desired, &Observed, &Recorded, u64) -> Planned,
) -> Planned {
    let mut wanted = Cow::Borrowed(desired);
    let mut held: Vec<&CheckResult> = Vec::new();
    loop {
        let planned = inner(&wanted, observed, recorded, now);
        let Some((c, host)) = planned.decision.step().and_then(placement) else {
            return match planned.decision {
                // Nothing left but what is held: the cluster is not converged.
                Decision::Converged if !held.is_empty() => blocked(&held, Component::Agents),
                _ => planned,
            };
        };
        let Some(failed) = hold(&observed.preflight, c, host) else {
            return planned;
        };
        held.push(failed);
        let key = (c, host.to_string());
        if c != Component::Agents || !wanted.containers.contains_key(&key) {
            return blocked(&held, c);
        }
        wanted.to_mut().containers.remove(&key);
    }
}

fn blocked(held: &[&CheckResult], c: Component) -> Planned {
    let what: Vec<String> = held
        .iter()
        .map(|r| format!("{} on {}: {}", r.check, r.host, r.detail))
        .collect();
    let fixes: Vec<String> = held
        .iter()
        .map(|r| format!("{} on {}: {}", r.check, r.host, r.fix))
        .collect();
    Planned {
        decision: Decision::Blocked {
            kind: BlockKind::Preflight,
            reason: format!(
                "preflight check failed, the {} placed there waits ({})",
                c.role(),
                what.join("; ")
            ),
            action: format!(
                "{}; or list the check in that host's spec.hosts[].ignorePreflight to place it anyway",
                fixes.join("; ")
            ),
        },
        component: Some(c),
    }
}
