//! Mesos agents: up to `maxUnavailableAgents` out of service at a time, with Mesos
//! maintenance around a replacement when `drainAgents` is set (schedule → drain period →
//! down → replace → up).
//!
//! The budget counts every agent out of service, whatever the reason: crashed, restarting,
//! on a host out of sight, down for maintenance, not registered; agents no longer wanted are
//! drained and removed within the same budget. Only maintenance windows the operator opened
//! (recorded in [`crate::record::Recorded::maintenance`]) are driven; a window people
//! scheduled themselves is left alone, and its agent is not replaced until it ends.
//!
//! The maintenance state is read back from the leading master, so a half-done drain is
//! finished from where it stands after a crash: DRAINING goes down once the drain period
//! has passed, DOWN with the new container comes up, DOWN with the old one is replaced.

use std::collections::BTreeSet;

use super::gate::{unreachable, wait_for, wait_since};
use super::{act, Decision, Step, View};
use crate::observed::Maintenance;
use crate::spec::Component;

const GATE: &str = "answer /health and be listed active by the leading master";

fn hash_ok(ctx: &View, host: &str) -> bool {
    ctx.observed
        .container(Component::Agents, host)
        .is_some_and(|c| ctx.desired.is_current(c))
}

/// In service: running, healthy, registered, not down for maintenance (draining agents
/// still serve).
fn in_service(ctx: &View, host: &str) -> bool {
    ctx.observed
        .container(Component::Agents, host)
        .is_some_and(|c| c.running())
        && ctx
            .observed
            .agents
            .members
            .get(host)
            .is_some_and(|a| a.healthy && a.registered)
        && ctx.observed.agents.maintenance.get(host) != Some(&Maintenance::Down)
}

/// A running agent that may still run tasks though the master does not list it: it answers
/// healthy but is not listed (after a master failover the agents re-register one by one),
/// or its own probes did not answer in time (unknown is not "down"). Either way it is not
/// out of service by the operator's choice and must not be replaced without its drain.
fn awaiting_listing(ctx: &View, host: &str) -> bool {
    match ctx.observed.agents.members.get(host) {
        Some(a) => a.healthy && !a.registered,
        None => true,
    }
}

/// Such an agent that a leading master has not listed for `healthTimeout` on the
/// configuration it runs (or, never listed on it, since it started): not re-registering
/// after a failover any more, which takes seconds. It may never be listed again (a string
/// that names only ZooKeeper servers gone since: the simulation's seeds 13390 and 19438
/// waited for good), so it is drained like a listed one: a maintenance window is accepted
/// for a machine whose agent is not registered, and once the machine is down the master
/// refuses the agent, should it come back, until its replacement is brought up. Never
/// replaced without its drain. Health unknown (no leader, probes unanswered) keeps it waiting.
fn unlisted_for_long(ctx: &View, c: &crate::observed::ObservedContainer) -> bool {
    let seen = ctx
        .recorded
        .healthy
        .get(&Component::Agents)
        .and_then(|m| m.get(&c.host))
        .filter(|s| s.config_hash == c.config_hash);
    match seen {
        Some(s) => s
            .unhealthy_since
            .is_some_and(|t| ctx.now >= t + ctx.timeout()),
        None => {
            ctx.observed.masters.leader.is_some()
                && ctx
                    .observed
                    .agents
                    .members
                    .get(&c.host)
                    .is_some_and(|a| a.healthy)
                && ctx.now >= c.started_at + ctx.timeout()
        }
    }
}

/// Whether a running agent is drained now (under `drainAgents`): listed by the leading
/// master, or unlisted for long ([`unlisted_for_long`]).
fn drain_now(ctx: &View, c: &crate::observed::ObservedContainer) -> bool {
    let registered = ctx
        .observed
        .agents
        .members
        .get(&c.host)
        .is_some_and(|a| a.registered);
    ctx.desired.drain_agents
        && c.running()
        && (registered || (awaiting_listing(ctx, &c.host) && unlisted_for_long(ctx, c)))
}

/// Waits for such an agent to be listed again. Its container may have run for long, so its
/// start is no gate to time out on; the status says what is awaited.
fn unlisted_wait(host: &str) -> Decision {
    Decision::Wait {
        reason: format!(
            "the agent on {host} runs but the leading master does not list it or its probes did not answer (re-registering after a master failover?); \
             waiting for it to be listed before it is drained (it is drained anyway once unlisted for healthTimeout)"
        ),
        until: None,
    }
}

/// The operator's own window on `host`, if the window the master shows there is the one it
/// opened (told apart by its start, never by the host alone: a person may open a window on
/// a host the operator drained before).
fn own_window<'a>(ctx: &'a View, host: &str) -> Option<&'a crate::record::OwnMaintenance> {
    ctx.recorded
        .maintenance
        .get(host)
        .filter(|own| own.is(ctx.observed.agents.windows.get(host).copied()))
}

/// An agent that was healthy on the configuration it runs and is not any more (its own
/// `/health` fails, or the leading master does not list it active): not a rollout that
/// failed, a failure to repair. It is given `healthTimeout` to recover (a partition that
/// heals, a master failover), then restarted; it is out of service already, so the restart
/// takes nothing more out of the budget.
fn failed_agent(ctx: &View, c: &crate::observed::ObservedContainer) -> Option<Decision> {
    let h = c.host.as_str();
    let since = ctx
        .recorded
        .unhealthy_since(Component::Agents, h, &c.config_hash)
        .filter(|t| c.running() && c.started_at <= *t)?;
    let what = match ctx.observed.agents.members.get(h) {
        Some(a) if !a.healthy => "its /health fails",
        _ => "the leading master does not list it active",
    };
    let restart_at = since + ctx.timeout();
    if ctx.now < restart_at {
        return Some(Decision::Blocked {
            kind: super::BlockKind::Degraded,
            reason: format!(
                "the Mesos agent on {h} was healthy on its current configuration and is not since {}s ago ({what})",
                ctx.now.saturating_sub(since)
            ),
            action: format!(
                "the operator restarts it in {}s if it has not recovered by then; look at `docker logs {}` on {h}",
                restart_at - ctx.now,
                c.name
            ),
        });
    }
    act(
        Step::ReplaceContainer {
            component: Component::Agents,
            host: h.to_string(),
            reset_registry: false,
        },
        format!(
            "repair: the Mesos agent on {h} was healthy on its current configuration and has not been for {}s ({what}); restart it",
            ctx.now.saturating_sub(since)
        ),
    )
}

/// A wanted agent with no container at all on a host that answers (outside people's
/// windows) holds the budget of agents out of service while nothing would ever create it:
/// the waits for the budget come before the creations. Creating it takes nothing out of
/// service, so it comes first (the real loop on the model, seed 40, and the op-level
/// simulation, seed 38424: a drain waited for ever on a host whose agent was gone).
fn create_missing(
    ctx: &View,
    out_of_service: &BTreeSet<&str>,
    wanted: &BTreeSet<&str>,
) -> Option<Decision> {
    let h = out_of_service.iter().copied().find(|h| {
        wanted.contains(h)
            && ctx.observed.reachable(h)
            && ctx.observed.container(Component::Agents, h).is_none()
            && (!ctx.observed.agents.maintenance.contains_key(*h) || own_window(ctx, h).is_some())
    })?;
    act(
        Step::CreateContainer {
            component: Component::Agents,
            host: h.to_string(),
        },
        format!("an agent is wanted on {h} and none is there; it holds the budget of agents out of service, so it is created first"),
    )
}

/// A wanted agent that holds the budget of agents out of service only because it runs an
/// outdated configuration that does not serve (a rollback from a version that never turned
/// healthy), on a host in no maintenance window: replacing it takes nothing more out of
/// service, and nothing else would (the windows that wait for the budget come first).
/// Found by the simulation's mistakes (a person bumps the agents to a version that never
/// turns healthy, then rolls back): an own window waited for the budget, and the gate
/// waited on the broken agent, for good.
fn replace_outdated(
    ctx: &View,
    out_of_service: &BTreeSet<&str>,
    wanted: &BTreeSet<&str>,
) -> Option<Decision> {
    let h = out_of_service.iter().copied().find(|h| {
        let Some(c) = ctx.observed.container(Component::Agents, h) else {
            return false;
        };
        // Under drainAgents, one that is registered is drained, and one that answers but
        // is not listed (re-registering after a failover) is waited for, as in the pass
        // over outdated agents: only one that truly serves nobody is replaced here.
        let may_serve = ctx.desired.drain_agents
            && c.running()
            && (ctx
                .observed
                .agents
                .members
                .get(*h)
                .is_some_and(|a| a.registered)
                || awaiting_listing(ctx, h));
        wanted.contains(h)
            && ctx.observed.reachable(h)
            && !hash_ok(ctx, h)
            && !ctx.observed.agents.maintenance.contains_key(*h)
            && !may_serve
    })?;
    act(
        Step::ReplaceContainer {
            component: Component::Agents,
            host: h.to_string(),
            reset_registry: false,
        },
        format!("the agent on {h} runs an outdated configuration and is out of service; it holds the budget, so it is replaced first"),
    )
}

/// What gives the budget of agents out of service back without taking another agent out:
/// a missing agent created, or a broken outdated one replaced.
fn free_the_budget(
    ctx: &View,
    out_of_service: &BTreeSet<&str>,
    wanted: &BTreeSet<&str>,
) -> Option<Decision> {
    create_missing(ctx, out_of_service, wanted)
        .or_else(|| replace_outdated(ctx, out_of_service, wanted))
}

/// Every wanted agent with no container, on a host that answers and is in no window people
/// scheduled, created at once: a creation takes nothing out of service (the budget counts
/// agents that stop serving), and the masters serve (agents are planned only then), so each
/// agent registers as it comes. One missing agent is a single step.
fn create_every_missing(ctx: &View, not_ok: &[&str]) -> Option<Decision> {
    let missing: Vec<String> = not_ok
        .iter()
        .copied()
        .filter(|h| {
            ctx.observed.reachable(h)
                && ctx.observed.container(Component::Agents, h).is_none()
                && (!ctx.observed.agents.maintenance.contains_key(*h)
                    || own_window(ctx, h).is_some())
        })
        .map(str::to_string)
        .collect();
    let reason = match missing.as_slice() {
        [h] => format!("an agent is wanted on {h}"),
        _ => format!(
            "agents are wanted on {} and none is there; creating them disturbs nobody, so all at once",
            missing.join(", ")
        ),
    };
    super::create_all(Component::Agents, missing, reason)
}

/// Running the desired configuration, in service, out of maintenance.
fn agent_ok(ctx: &View, host: &str) -> bool {
    hash_ok(ctx, host)
        && in_service(ctx, host)
        && !ctx.observed.agents.maintenance.contains_key(host)
}

/// The gate of an agent in progress: its container's start, or the recorded step's.
fn wait_for_agent(ctx: &View, h: &str) -> Option<Decision> {
    // Never `None` here: that would read as "agents converged".
    if !ctx.observed.reachable(h) {
        return Some(unreachable(ctx, h, "Mesos agent"));
    }
    let Some(c) = ctx.observed.container(Component::Agents, h) else {
        return Some(wait_since(
            ctx,
            ctx.recorded.in_flight_on(h),
            format!("waiting for the agent on {h} to be created"),
            "look at the operator's log",
        ));
    };
    Some(if c.running() {
        wait_for(ctx, c, "the Mesos agent", GATE)
    } else {
        wait_since(
            ctx,
            ctx.recorded.in_flight_on(h),
            format!("waiting for the agent on {h}"),
            "look at the agent's logs",
        )
    })
}

pub(super) fn plan(ctx: &View) -> Option<Decision> {
    let desired = ctx.desired.hosts_of(Component::Agents);
    let wanted: BTreeSet<&str> = desired.iter().copied().collect();
    // Every agent host: desired, or holding an agent container.
    let mut all: BTreeSet<&str> = wanted.clone();
    for c in ctx.observed.containers_of(Component::Agents) {
        all.insert(c.host.as_str());
    }
    let out_of_service: BTreeSet<&str> = all
        .iter()
        .copied()
        .filter(|h| !in_service(ctx, h))
        .collect();
    let budget = ctx.desired.max_unavailable_agents as usize;
    // Whether taking the agent on `h` out of service keeps within the budget.
    let fits = |h: &str| out_of_service.contains(h) || out_of_service.len() < budget;

    // Maintenance and registration are read from the leading master. Without it (no leader,
    // or its answers timed out) they read as empty, and an agent the operator is draining
    // would look unscheduled and unregistered: replaced without `machine/down`, its window
    // never ended. Unknown is not "none": wait for the masters to answer.
    let needs_master = ctx.desired.drain_agents || !ctx.recorded.maintenance.is_empty();
    let changing = all.iter().any(|h| !hash_ok(ctx, h)) || !ctx.recorded.maintenance.is_empty();
    if needs_master && changing && ctx.observed.masters.leader.is_none() {
        return Some(Decision::Wait {
            reason: "the leading Mesos master is not known, so agents' maintenance and registration cannot be read; waiting".into(),
            until: None,
        });
    }
    // A leader whose maintenance status or schedule did not answer: an empty map then means
    // nothing, and a window of the operator's would look gone (scheduled again under a new
    // start, then taken for a person's) or a person's would look like the operator's.
    if needs_master && changing && !ctx.observed.agents.maintenance_read {
        let reason = match &ctx.observed.agents.maintenance_refused {
            Some(why) => format!(
                "the leading Mesos master refused to show its maintenance status or schedule ({why}); waiting to read them before any agent moves"
            ),
            None => "the leading Mesos master's maintenance status or schedule did not answer; waiting to read them before any agent moves".into(),
        };
        return Some(Decision::Wait {
            reason,
            until: None,
        });
    }
    // A window the operator opened that the master does not list (the request or its
    // reply was lost, or someone ended it): an outdated agent there is drained again
    // (idempotent), never replaced without its window.
    for (h, own) in &ctx.recorded.maintenance {
        let h = h.as_str();
        if own.up_sent_at.is_some()
            || !ctx.observed.reachable(h)
            || ctx.observed.agents.maintenance.contains_key(h)
        {
            continue;
        }
        if ctx.desired.drain_agents && wanted.contains(h) && !hash_ok(ctx, h) {
            return act(
                Step::AgentDrain { host: h.into() },
                format!("the maintenance window the operator opened for {h} is not in the master's maintenance status; schedule it again"),
            );
        }
    }

    // 1. Finish maintenance the operator opened, wherever it stands. A window that must
    //    wait (its drain period, the budget) does not hold up another that can move: the
    //    agent holding the budget may be the one whose window can end (seed 16819).
    let mut deferred: Option<Decision> = None;
    for (h, state) in &ctx.observed.agents.maintenance {
        let h = h.as_str();
        let Some(own) = own_window(ctx, h) else {
            continue; // scheduled by people: theirs to end
        };
        if !ctx.observed.reachable(h) {
            return Some(unreachable(ctx, h, "Mesos agent"));
        }
        let is_wanted = wanted.contains(h);
        let has_container = ctx.observed.container(Component::Agents, h).is_some();
        let done = if is_wanted {
            hash_ok(ctx, h)
        } else {
            !has_container
        };
        let step = match state {
            Maintenance::Draining if !done => {
                let ready_at = own.scheduled_at + ctx.desired.drain_period.as_secs();
                if ctx.now < ready_at {
                    deferred.get_or_insert(Decision::Wait {
                        reason: format!(
                            "agent host {h} is draining (its tasks move away) until the drain period has passed"
                        ),
                        until: Some(ready_at),
                    });
                    continue;
                }
                if !fits(h) {
                    if let Some(step) = free_the_budget(ctx, &out_of_service, &wanted) {
                        return Some(step);
                    }
                    if deferred.is_none() {
                        deferred = wait_for_agent(ctx, out_of_service.iter().next()?);
                    }
                    continue;
                }
                Step::AgentDown { host: h.into() }
            }
            Maintenance::Down if is_wanted && !done => Step::ReplaceContainer {
                component: Component::Agents,
                host: h.into(),
                reset_registry: false,
            },
            Maintenance::Down if !is_wanted && has_container => Step::RemoveContainer {
                component: Component::Agents,
                host: h.into(),
                remove_volume: true,
            },
            Maintenance::Down
                if is_wanted
                    && !ctx
                        .observed
                        .container(Component::Agents, h)
                        .is_some_and(|c| c.running()) =>
            {
                continue; // the repair pass starts it
            }
            _ => Step::AgentUp { host: h.into() },
        };
        return act(step, format!("continue the maintenance of agent host {h}"));
    }
    if deferred.is_some() {
        return deferred;
    }

    // 2. Agents no longer wanted: drained first when asked for, removed within the budget.
    for c in ctx.observed.containers_of(Component::Agents) {
        let h = c.host.as_str();
        if wanted.contains(h) {
            continue;
        }
        if ctx.observed.agents.maintenance.contains_key(h) {
            continue; // people's window: wait for them (below) or our own (above)
        }
        if drain_now(ctx, c) {
            return act(
                Step::AgentDrain { host: h.into() },
                format!("no agent is wanted on {h}; drain it before it goes"),
            );
        }
        if ctx.desired.drain_agents && c.running() && awaiting_listing(ctx, h) {
            return Some(unlisted_wait(h));
        }
        if !fits(h) {
            if let Some(step) = free_the_budget(ctx, &out_of_service, &wanted) {
                return Some(step);
            }
            return wait_for_agent(ctx, out_of_service.iter().find(|x| **x != h)?);
        }
        return act(
            Step::RemoveContainer {
                component: Component::Agents,
                host: h.to_string(),
                remove_volume: true,
            },
            format!("no agent is wanted on {h}"),
        );
    }

    // 3. Agents to create or replace.
    let not_ok: Vec<&str> = desired
        .iter()
        .copied()
        .filter(|h| !agent_ok(ctx, h))
        .collect();
    if not_ok.is_empty() {
        return None;
    }
    for h in &not_ok {
        if !ctx.observed.reachable(h) {
            continue;
        }
        if ctx.observed.agents.maintenance.contains_key(*h) && own_window(ctx, h).is_none() {
            continue; // in a window people scheduled: left alone until it ends
        }
        let Some(c) = ctx.observed.container(Component::Agents, h) else {
            return create_every_missing(ctx, &not_ok);
        };
        if hash_ok(ctx, h) {
            if let Some(d) = failed_agent(ctx, c) {
                return Some(d);
            }
            continue; // in progress: starting, registering, or being repaired
        }
        if drain_now(ctx, c) {
            // Draining keeps the agent in service; the budget applies at `machine/down`.
            return act(
                Step::AgentDrain {
                    host: h.to_string(),
                },
                format!("the agent on {h} runs an outdated configuration; drain it first"),
            );
        }
        if ctx.desired.drain_agents && c.running() && awaiting_listing(ctx, h) {
            return Some(unlisted_wait(h));
        }
        if !fits(h) {
            continue;
        }
        return act(
            Step::ReplaceContainer {
                component: Component::Agents,
                host: h.to_string(),
                reset_registry: false,
            },
            format!("the agent on {h} runs an outdated configuration"),
        );
    }

    // Only agents in progress, out of sight, in people's maintenance or beyond the budget
    // remain: wait for the first.
    let first = not_ok
        .iter()
        .copied()
        .find(|h| !ctx.observed.reachable(h))
        .or_else(|| not_ok.iter().copied().find(|h| out_of_service.contains(h)))
        .or_else(|| not_ok.first().copied())?;
    if ctx.observed.reachable(first)
        && ctx.observed.agents.maintenance.contains_key(first)
        && own_window(ctx, first).is_none()
    {
        return Some(Decision::Wait {
            reason: format!(
                "agent host {first} is in a maintenance window someone else scheduled; its agent is changed when the window ends"
            ),
            until: None,
        });
    }
    wait_for_agent(ctx, first)
}
