//! Health gates: waiting for a member that is starting, and turning a wait that lasted past
//! `healthTimeout` into a block that tells a person where to look.

use super::{BlockKind, Decision, View};
use crate::observed::ObservedContainer;

/// A member whose container runs but is not healthy yet: wait until `started_at + timeout`,
/// then block.
pub(super) fn wait_for(ctx: &View, c: &ObservedContainer, what: &str, gate: &str) -> Decision {
    // Healthy on this configuration before, and not since: a failure, not a rollout that
    // failed (an image to fix or roll back). Agents are restarted by their planner; a
    // quorum member is left to a person, who is told what was seen.
    if let Some(since) = ctx
        .recorded
        .unhealthy_since(c.component, &c.host, &c.config_hash)
        .filter(|t| c.started_at <= *t)
    {
        let deadline = since + ctx.timeout();
        return if ctx.now >= deadline {
            Decision::Blocked {
                kind: BlockKind::Degraded,
                reason: format!(
                    "{what} on {} was healthy on its current configuration and is not since {}s ago ({gate})",
                    c.host,
                    ctx.now.saturating_sub(since)
                ),
                action: format!(
                    "look at `docker logs {}` on {} and at its network; the operator waits for it (it does not restart a quorum member by itself); restart it by hand if it does not recover",
                    c.name, c.host
                ),
            }
        } else {
            Decision::Wait {
                reason: format!(
                    "{what} on {} was healthy on its current configuration and is not since {}s ago; waiting for it to recover",
                    c.host,
                    ctx.now.saturating_sub(since)
                ),
                until: Some(deadline),
            }
        };
    }
    let deadline = c.started_at + ctx.timeout();
    if ctx.now >= deadline {
        Decision::Blocked {
            kind: BlockKind::HealthTimeout,
            reason: format!(
                "{what} on {} is not healthy {}s after its container started ({gate})",
                c.host,
                ctx.now.saturating_sub(c.started_at)
            ),
            action: format!(
                "look at `docker logs {}` on {}; fix the image or configuration, or go back with `mesos-operator rollback`",
                c.name, c.host
            ),
        }
    } else {
        Decision::Wait {
            reason: format!("waiting for {what} on {}: {gate}", c.host),
            until: Some(deadline),
        }
    }
}

/// A gate on something without a container start time of its own (a reconfig, a leader
/// election): measured from the recorded in-flight step when there is one.
pub(super) fn wait_since(ctx: &View, since: Option<u64>, what: String, action: &str) -> Decision {
    let since = since.or(ctx.recorded.in_flight.as_ref().map(|f| f.started_at));
    match since {
        Some(s) if ctx.now >= s + ctx.timeout() => Decision::Blocked {
            kind: BlockKind::HealthTimeout,
            reason: format!("{what} for {}s", ctx.now - s),
            action: action.to_string(),
        },
        Some(s) => Decision::Wait {
            reason: what,
            until: Some(s + ctx.timeout()),
        },
        None => Decision::Wait {
            reason: what,
            until: None,
        },
    }
}

/// A host in the document whose engine does not answer.
pub(super) fn unreachable(ctx: &View, host: &str, what: &str) -> Decision {
    let reason = match ctx.observed.hosts.get(host) {
        Some(crate::observed::HostObservation::Unreachable { reason }) => reason.clone(),
        _ => "not observed".into(),
    };
    Decision::Blocked {
        kind: BlockKind::Degraded,
        reason: format!("host {host} is unreachable ({reason}); its {what} cannot be checked or changed"),
        action: format!(
            "bring {host} back, or remove it from spec.hosts if it is lost for good (its members are then replaced safely)"
        ),
    }
}
