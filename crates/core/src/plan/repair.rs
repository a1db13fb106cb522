//! Repair: start a stopped container that belongs where it is. Allowed before any ordered
//! rollout work, because starting a member never takes one away; masters are the exception
//! that is checked (more running than `2*quorum - 1` can corrupt the replicated log).

use super::{act, blocked, masters, BlockKind, Decision, View};
use crate::observed::{ContainerState, ObservedContainer};
use crate::plan::Step;
use crate::spec::Component;

pub(super) fn plan(ctx: &View) -> Option<(Component, Decision)> {
    for c in Component::ALL {
        for oc in ctx.observed.containers_of(c) {
            if !matches!(oc.state, ContainerState::Exited | ContainerState::Created) {
                continue;
            }
            if !belongs(ctx, oc) {
                continue;
            }
            // A crash exits with an error; a container that was stopped (`docker stop`: 0 or
            // 143 after SIGTERM) is no crash loop and is started at once.
            let stopped_cleanly = matches!(oc.detail.exit_code, 0 | 143);
            // Stopped by the operator's own step in flight (a replacement or removal cut
            // short), not crashed: the ordered rollout finishes that step. Told apart by the
            // record, never by the start time alone.
            let stopped_by_us = ctx.recorded.in_flight.as_ref().is_some_and(|f| {
                f.step.host() == oc.host
                    && f.step.component() == c
                    && matches!(
                        f.step,
                        Step::ReplaceContainer { .. } | Step::RemoveContainer { .. }
                    )
            });
            let outdated_here = !ctx.desired.is_current(oc);
            if stopped_by_us && oc.state == ContainerState::Exited && outdated_here {
                continue;
            }
            let recent = oc.state == ContainerState::Exited
                && !stopped_cleanly
                && oc.started_at > 0
                && ctx.now < oc.started_at + ctx.timeout();
            let outdated = !ctx.desired.is_current(oc);
            if recent && outdated {
                // It died recently on a configuration that is going away anyway: leave it to
                // the ordered rollout, which replaces it (or starts it once the window passed).
                continue;
            }
            if recent {
                return blocked(
                    BlockKind::CrashLoop,
                    format!(
                        "the {} container {} on {} exited {}s after it started",
                        c.role(),
                        oc.name,
                        oc.host,
                        ctx.now.saturating_sub(oc.started_at)
                    ),
                    format!(
                        "look at `docker logs {}` on {}; it is started again after healthTimeout",
                        oc.name, oc.host
                    ),
                )
                .map(|d| (c, d));
            }
            if c == Component::Masters && !masters::may_start(ctx, oc) {
                continue;
            }
            if c == Component::Marathon && other_marathon_version(ctx, oc) {
                // Never an old and a new version both leader candidates: the rollout
                // replaces it instead.
                continue;
            }
            return act(
                Step::StartContainer {
                    component: c,
                    host: oc.host.clone(),
                },
                format!(
                    "repair: the {} container on {} is stopped",
                    c.role(),
                    oc.host
                ),
            )
            .map(|d| (c, d));
        }
    }
    None
}

/// Another Marathon instance that runs (or may) has a different image.
fn other_marathon_version(ctx: &View, oc: &ObservedContainer) -> bool {
    let seen = ctx.observed.containers_of(Component::Marathon);
    if seen
        .iter()
        .any(|x| x.host != oc.host && x.may_run() && x.image != oc.image)
    {
        return true;
    }
    // A Marathon host out of sight may run any version: start this one only beside a seen
    // one that runs the same (then the unseen one, if it runs, cannot differ from both
    // without the rollout having blocked).
    let unseen = super::marathon::out_of_sight(ctx)
        .into_iter()
        .any(|h| h != oc.host);
    unseen
        && !seen
            .iter()
            .any(|x| x.host != oc.host && x.may_run() && x.image == oc.image)
}

/// Whether a stopped container is one the cluster should have running.
fn belongs(ctx: &View, oc: &ObservedContainer) -> bool {
    let desired_here = ctx.desired.container(oc.component, &oc.host).is_some();
    if oc.component == Component::Masters {
        return desired_here || masters::needed_to_leave(ctx, oc);
    }
    if oc.component != Component::Zookeeper {
        return desired_here;
    }
    match (&ctx.observed.zookeeper.committed, oc.zk_id) {
        // A voter: starting it can only help the quorum.
        (Some(cfg), Some(id)) if cfg.voters.contains_key(&id) => true,
        // A joiner for a host that should get a voter.
        (Some(cfg), _) => desired_here && !cfg.voters.values().any(|h| *h == oc.host),
        // Nobody answers: start the servers that belong here (an ensemble-wide restart).
        (None, _) => desired_here,
    }
}
