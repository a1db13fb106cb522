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

/// The members a step adds to hosts: a container created where none was, a new ZooKeeper
/// server, or each of those in a batch of them ([`Step::parts`]).
pub fn placements(step: &Step) -> Vec<(Component, String)> {
    step.parts()
        .into_iter()
        .filter_map(|p| match p {
            Step::CreateContainer { component, host } => Some((component, host)),
            Step::ZkStartServer { host, .. } => Some((Component::Zookeeper, host)),
            _ => None,
        })
        .collect()
}

/// [`super::plan_detailed`] with the holds: plans with `inner`, and while the step (or a part
/// of a batch) places a member where a check failed, holds it (agents: plans again without
/// those hosts' agents, so a batch goes on with the others).
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
        let parts = planned.decision.step().map(placements).unwrap_or_default();
        let failed: Vec<(Component, String, &CheckResult)> = parts
            .into_iter()
            .filter_map(|(c, h)| hold(&observed.preflight, c, &h).map(|r| (c, h, r)))
            .collect();
        if failed.is_empty() {
            return match planned.decision {
                // Nothing left but what is held: the cluster is not converged.
                Decision::Converged if !held.is_empty() => blocked(&held, Component::Agents),
                _ => planned,
            };
        }
        for (c, host, r) in failed {
            held.push(r);
            let key = (c, host);
            if c != Component::Agents || !wanted.containers.contains_key(&key) {
                return blocked(&held, c);
            }
            wanted.to_mut().containers.remove(&key);
        }
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
