//! Mesos agents: up to `maxUnavailableAgents` at a time, with Mesos maintenance around a
//! replacement when `drainAgents` is set (schedule → down → replace → up).
//!
//! The maintenance state is read back from the leading master, so a half-done drain is
//! finished from where it stands after a crash: DRAINING goes down, DOWN with the new
//! container comes up, DOWN with the old one is replaced.

use super::gate::{unreachable, wait_for, wait_since};
use super::{act, Ctx, Decision, Step};
use crate::observed::Maintenance;
use crate::spec::Component;

const A: Component = Component::Agents;
const GATE: &str = "answer /health and be listed active by the leading master";

fn hash_ok(ctx: &Ctx, host: &str) -> bool {
    match (ctx.o.container(A, host), ctx.d.container(A, host)) {
        (Some(o), Some(d)) => o.config_hash == d.config_hash,
        _ => false,
    }
}

/// Running the desired configuration, healthy, registered, out of maintenance.
fn agent_ok(ctx: &Ctx, host: &str) -> bool {
    hash_ok(ctx, host)
        && ctx.o.container(A, host).is_some_and(|c| c.running())
        && ctx
            .o
            .agents
            .members
            .get(host)
            .is_some_and(|a| a.healthy && a.registered)
        && !ctx.o.agents.maintenance.contains_key(host)
}

fn in_flight_since(ctx: &Ctx, host: &str) -> Option<u64> {
    ctx.r.in_flight_on(host)
}

/// The gate of an agent in progress: its container's start, or the recorded step's.
fn wait_for_agent(ctx: &Ctx, h: &str) -> Option<Decision> {
    // Never `None` here: that would read as "agents converged".
    if !ctx.o.reachable(h) {
        return Some(unreachable(ctx, h, "Mesos agent"));
    }
    let Some(c) = ctx.o.container(A, h) else {
        return Some(wait_since(
            ctx,
            in_flight_since(ctx, h),
            format!("waiting for the agent on {h} to be created"),
            "look at the operator's log",
        ));
    };
    Some(if c.running() {
        wait_for(ctx, c, "the Mesos agent", GATE)
    } else {
        wait_since(
            ctx,
            in_flight_since(ctx, h),
            format!("waiting for the agent on {h}"),
            "look at the agent's logs",
        )
    })
}

pub(super) fn plan(ctx: &Ctx) -> Option<Decision> {
    let desired = ctx.d.hosts_of(A);
    // Membership is checked per container: a set keeps planning linear in hosts.
    let wanted: std::collections::BTreeSet<&str> = desired.iter().copied().collect();

    // 1. Finish maintenance already under way, wherever it stands.
    for (h, state) in &ctx.o.agents.maintenance {
        let h = h.as_str();
        if !ctx.o.reachable(h) {
            return Some(unreachable(ctx, h, "Mesos agent"));
        }
        let is_wanted = wanted.contains(h);
        let step = match state {
            Maintenance::Draining if is_wanted && !hash_ok(ctx, h) => {
                Step::AgentDown { host: h.into() }
            }
            Maintenance::Down if is_wanted && !hash_ok(ctx, h) => Step::ReplaceContainer {
                component: A,
                host: h.into(),
                reset_registry: false,
            },
            Maintenance::Down
                if is_wanted && !ctx.o.container(A, h).is_some_and(|c| c.running()) =>
            {
                continue; // the repair pass starts it
            }
            _ => Step::AgentUp { host: h.into() },
        };
        return act(step, format!("continue the maintenance of agent host {h}"));
    }

    // 2. Agents no longer wanted.
    for c in ctx.o.containers_of(A) {
        if !wanted.contains(c.host.as_str()) {
            return act(
                Step::RemoveContainer {
                    component: A,
                    host: c.host.clone(),
                    remove_volume: true,
                },
                format!("no agent is wanted on {}", c.host),
            );
        }
    }

    // 3. The budget: agents not yet ok count against maxUnavailableAgents.
    let not_ok: Vec<&str> = desired
        .iter()
        .copied()
        .filter(|h| !agent_ok(ctx, h))
        .collect();
    if not_ok.is_empty() {
        return None;
    }
    let in_progress: Vec<&str> = not_ok
        .iter()
        .copied()
        .filter(|h| !ctx.o.reachable(h) || (hash_ok(ctx, h) && ctx.o.container(A, h).is_some()))
        .collect();
    let in_progress_set: std::collections::BTreeSet<&str> = in_progress.iter().copied().collect();
    if in_progress.len() as u32 >= ctx.d.max_unavailable_agents {
        let h = in_progress[0];
        if !ctx.o.reachable(h) {
            return Some(unreachable(ctx, h, "Mesos agent"));
        }
        return wait_for_agent(ctx, h);
    }

    // 4. The next agent to create or replace.
    for h in &not_ok {
        if in_progress_set.contains(h) {
            continue;
        }
        let Some(c) = ctx.o.container(A, h) else {
            return act(
                Step::CreateContainer {
                    component: A,
                    host: h.to_string(),
                },
                format!("an agent is wanted on {h}"),
            );
        };
        let registered = ctx.o.agents.members.get(*h).is_some_and(|a| a.registered);
        let step = if ctx.d.drain_agents && c.running() && registered {
            Step::AgentDrain {
                host: h.to_string(),
            }
        } else {
            Step::ReplaceContainer {
                component: A,
                host: h.to_string(),
                reset_registry: false,
            }
        };
        return act(
            step,
            format!("the agent on {h} runs an outdated configuration"),
        );
    }

    // Only agents in progress remain, within the budget: wait for the first.
    wait_for_agent(ctx, in_progress.first()?)
}
