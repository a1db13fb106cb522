//! The automation's decision for one component, one reconcile at a time: a pure state
//! machine over the stored [`ComponentUpdates`], like the planner over the cluster.
//!
//! Order of concerns:
//! 1. a spec write recorded before it was made: landed, to retry, or overtaken by a person;
//! 2. a person's edit of the image (it differs from the one the automation knows): pin;
//! 3. a rollout in progress: fail it (rollback, denylist), pass the canary, or finish;
//! 4. otherwise choose the newest allowed tag and, in `auto`, start its canary.
//!
//! Every spec write is recorded as [`PendingWrite`] in the state *before* it is made, and
//! the write itself is a compare-and-swap on the generation it was planned from: a person's
//! edit in between wins, and a crash in between is not mistaken for one.

use serde::{Deserialize, Serialize};

use super::policy::Policy;
use super::select::{select, Selection};
use super::state::{AutoRollout, ComponentUpdates, Denial, PendingWrite, Pin, RolloutPhase};
use crate::spec::image::ImageRef;
use crate::spec::{AutoUpdateMode, Component};

/// What the loop knows about the component this time.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The component.
    pub component: Component,
    /// Its policy.
    pub policy: &'a Policy,
    /// Its image as the spec has it now.
    pub spec_image: &'a str,
    /// The spec's generation.
    pub generation: u64,
    /// The stored state.
    pub state: &'a ComponentUpdates,
    /// The planner blocked on this component (health timeout or crash loop): why.
    pub failed: Option<String>,
    /// Members running the desired configuration and healthy.
    pub ready: u32,
    /// Members the spec asks for.
    pub desired: u32,
    /// The canary checks ([`super::canary::check`]).
    pub checks: Result<(), String>,
    /// Agents registered now (the canary's baseline).
    pub registered_agents: u32,
    /// The whole cluster is converged and no other component has an automated rollout:
    /// a new rollout may start.
    pub may_start: bool,
    /// For agents, the masters' tag: Mesos masters refuse agents newer than themselves,
    /// so an agent tag past the masters' waits for them (never a failed canary and a
    /// denied good tag).
    pub ceiling: Option<&'a str>,
    /// Now (seconds since the epoch).
    pub now: u64,
}

/// What happened, for events and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    /// A person's edit pinned the component.
    Pinned,
    /// A newer allowed tag, reported in `notify` mode.
    Candidate,
    /// A canary started.
    CanaryStarted,
    /// The canary passed; the rest follow.
    CanaryPassed,
    /// Rolled back; the tag is denied.
    RolledBack,
    /// Every member runs the new tag.
    RolledOut,
}

impl EventKind {
    /// Name in events and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Pinned => "AutoUpdatePinned",
            EventKind::Candidate => "AutoUpdateCandidate",
            EventKind::CanaryStarted => "CanaryStarted",
            EventKind::CanaryPassed => "CanaryPassed",
            EventKind::RolledBack => "AutoRollback",
            EventKind::RolledOut => "AutoRolledOut",
        }
    }
}

/// One thing worth an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoEvent {
    /// Kind.
    pub kind: EventKind,
    /// The tag it concerns.
    pub tag: String,
    /// In words.
    pub message: String,
}

/// The canary's progress, for status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryReport {
    /// The tag being rolled.
    pub tag: String,
    /// `canary` or `rolling`.
    pub phase: RolloutPhase,
    /// Seconds of soak left (canary phase, once healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_left_seconds: Option<u64>,
}

/// What `status` shows of a component's automation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoUpdateReport {
    /// The policy's mode.
    pub mode: AutoUpdateMode,
    /// The tag the spec runs.
    pub running: String,
    /// The newest tag the policy allows (it may wait for age or approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Why it is not being rolled, or what is happening.
    pub state: String,
    /// The rollout in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryReport>,
    /// Set when a person's edit pinned the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<Pin>,
    /// Denied tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied: Vec<String>,
    /// The last scan's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_error: Option<String>,
}

/// What [`decide`] returns.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The new state; stored (fenced, compare-and-swap) when it differs from the old one,
    /// and always before `write_image`.
    pub state: ComponentUpdates,
    /// The image to write into the spec (compare-and-swap on the input generation).
    pub write_image: Option<String>,
    /// What happened.
    pub events: Vec<AutoEvent>,
    /// For status.
    pub report: AutoUpdateReport,
}

/// The tag of an image reference (empty when it has none).
pub fn tag_of(image: &str) -> String {
    ImageRef::parse(image)
        .ok()
        .and_then(|r| r.tag)
        .unwrap_or_default()
}

/// `image` moved to `tag`, with `digest` when given (registry and repository kept).
pub fn retag(image: &str, tag: &str, digest: Option<&str>) -> Option<String> {
    let mut r = ImageRef::parse(image).ok()?;
    r.tag = Some(tag.to_string());
    r.digest = digest.map(str::to_string);
    Some(r.to_string())
}

/// The decision for one component.
pub fn decide(i: &Inputs) -> Outcome {
    let mut s = i.state.clone();
    let mut events = Vec::new();
    let mut write_image = None;
    let c = i.component;
    let mut report = AutoUpdateReport {
        mode: i.policy.mode,
        running: tag_of(i.spec_image),
        newest: None,
        state: String::new(),
        canary: None,
        pinned: None,
        denied: s.denied.keys().cloned().collect(),
        scan_error: s.scan_error.clone(),
    };
    let auto = i.policy.mode == AutoUpdateMode::Auto;

    // 1. A write recorded before it was made (the loop marks one that landed right away;
    // this catches a crash between the spec write and that mark, and a lost race). A
    // rollback is always finished, whatever the mode now; a bump only in `auto`.
    if let Some(p) = s.pending.clone() {
        let ours_in_place = i.spec_image == p.image;
        let untouched = Some(i.spec_image) == s.known_image.as_deref();
        let retry = if p.rollback {
            i.generation == p.from_generation || untouched
        } else {
            auto && i.generation == p.from_generation
        };
        if ours_in_place {
            s.landed(&p.image);
        } else if retry {
            // Not written yet, or a rollback overtaken by a write that left the image alone:
            // (re)write it, compare-and-swap on this generation.
            s.pending = Some(PendingWrite {
                from_generation: i.generation,
                ..p.clone()
            });
            report.state = format!("writing {} into the spec", tag_of(&p.image));
            report.canary = canary_report(&s, i);
            return outcome(s, Some(p.image), events, report);
        } else {
            // A bump overtaken by someone else's write: re-planned from what they wrote
            // (a changed image is a person's edit, below).
            s.pending = None;
            if !p.rollback {
                s.rollout = None;
            }
        }
    }

    // 2. A person's edit. In `auto` it pins the component; in `notify` (where a person's
    // bump is the point) and `off` the automation only takes note of it.
    let known = s
        .known_image
        .get_or_insert_with(|| i.spec_image.to_string());
    if known != i.spec_image {
        if auto {
            let tag = tag_of(i.spec_image);
            events.push(AutoEvent {
                kind: EventKind::Pinned,
                tag: tag.clone(),
                message: format!(
                    "{c} image changed to {} outside the automation (generation {}); automated bumps of {c} stop until `mesos-operator autoupdate resume NAME {c}`",
                    i.spec_image, i.generation
                ),
            });
            s.pinned = Some(Pin {
                image: i.spec_image.to_string(),
                generation: i.generation,
                at: i.now,
            });
        }
        s.known_image = Some(i.spec_image.to_string());
        // Whatever the automation was rolling, a person chose another image.
        s.rollout = None;
    }

    // Outside `auto`, a rollout the automation started is neither carried on nor undone: a
    // canary stays alone (the planner keeps holding the rest) until a person bumps, rolls
    // back, or sets `auto` again; past its canary, the rest follow by the normal rules.
    if !auto {
        if s.rollout
            .as_ref()
            .is_some_and(|r| r.phase == RolloutPhase::Rolling)
        {
            s.rollout = None;
        }
        if let Some(r) = &s.rollout {
            report.state = format!(
                "automation is {}: the canary of {} stays alone until a person bumps or rolls back {c}, or sets mode auto again",
                mode_word(i.policy.mode),
                r.tag
            );
            report.canary = canary_report(&s, i);
            return outcome(s, write_image, events, report);
        }
    }
    if i.policy.mode == AutoUpdateMode::Off {
        report.state = "off".into();
        return outcome(s, write_image, events, report);
    }

    if let Some(pin) = s.pinned.as_ref().filter(|_| auto) {
        report.pinned = Some(pin.clone());
        report.state = format!(
            "pinned: a person set the image at generation {}; `mesos-operator autoupdate resume NAME {c}` lets the automation move it again",
            pin.generation
        );
        let sel = selection(i, &s);
        report.newest = sel.newest;
        return outcome(s, write_image, events, report);
    }

    // 3. A rollout in progress.
    if let Some(mut r) = s.rollout.clone() {
        // A check that fails for longer than the grace fails the canary; one that recovers
        // within it (agents re-registering after a master failover) does not.
        let mut check_failure = None;
        match (r.phase, &i.checks) {
            (RolloutPhase::Canary, Err(e)) if r.healthy_since.is_some() => {
                let since = *r.failing_since.get_or_insert(i.now);
                let failing = i.now.saturating_sub(since);
                if failing >= i.policy.check_grace.as_secs() {
                    check_failure = Some(format!("canary check failed for {failing}s: {e}"));
                }
            }
            _ => {
                // Checks that failed and recovered restart the soak: only an unbroken run
                // of passing checks counts.
                if r.failing_since.take().is_some() {
                    r.healthy_since = Some(i.now);
                }
            }
        }
        let failure = i.failed.clone().or(check_failure);
        if let Some(why) = failure {
            events.push(AutoEvent {
                kind: EventKind::RolledBack,
                tag: r.tag.clone(),
                message: format!(
                    "{c} {} failed ({why}); rolling back to {} and denying the tag",
                    r.tag,
                    tag_of(&r.from_image)
                ),
            });
            s.denied.insert(
                r.tag.clone(),
                Denial {
                    reason: why,
                    at: i.now,
                },
            );
            s.rollout = None;
            s.pending = Some(PendingWrite {
                image: r.from_image.clone(),
                from_generation: i.generation,
                rollback: true,
            });
            write_image = Some(r.from_image.clone());
            report.state = format!("rolling back {} to {}", r.tag, tag_of(&r.from_image));
            report.denied = s.denied.keys().cloned().collect();
            return outcome(s, write_image, events, report);
        }
        match r.phase {
            RolloutPhase::Canary if i.ready >= 1 && r.failing_since.is_some() => {
                report.state = format!(
                    "canary of {} failing its checks for {}s (fails after {}s): {}",
                    r.tag,
                    i.now.saturating_sub(r.failing_since.unwrap_or(i.now)),
                    i.policy.check_grace.as_secs(),
                    i.checks.clone().err().unwrap_or_default()
                );
            }
            RolloutPhase::Canary if i.ready >= 1 => {
                let since = *r.healthy_since.get_or_insert(i.now);
                let soak = i.policy.canary_soak.as_secs();
                if i.now >= since.saturating_add(soak) {
                    r.phase = RolloutPhase::Rolling;
                    r.promoted_at = Some(i.now);
                    events.push(AutoEvent {
                        kind: EventKind::CanaryPassed,
                        tag: r.tag.clone(),
                        message: format!(
                            "{c} canary on {} passed {soak}s of soak; rolling the rest",
                            r.tag
                        ),
                    });
                    report.state = format!("canary passed; rolling {} to the rest", r.tag);
                } else {
                    report.state = format!(
                        "canary of {} healthy, soaking ({}s left)",
                        r.tag,
                        since + soak - i.now
                    );
                }
            }
            RolloutPhase::Canary => {
                report.state = format!("canary of {} starting", r.tag);
            }
            RolloutPhase::Rolling if i.ready >= i.desired => {
                events.push(AutoEvent {
                    kind: EventKind::RolledOut,
                    tag: r.tag.clone(),
                    message: format!("every {c} member runs {}", r.tag),
                });
                s.last_good = Some(r.to_image.clone());
                s.rollout = None;
                report.state = format!("rolled out {}", r.tag);
                let sel = selection(i, &s);
                report.newest = sel.newest;
                return outcome(s, write_image, events, report);
            }
            RolloutPhase::Rolling => {
                report.state = format!("rolling {}: {}/{} ready", r.tag, i.ready, i.desired);
            }
        }
        s.rollout = Some(r);
        report.canary = canary_report(&s, i);
        return outcome(s, write_image, events, report);
    }

    // 4. Choose.
    let sel = selection(i, &s);
    report.newest = sel.newest.clone();
    if let Some(p) = sel.problem {
        report.state = p;
        return outcome(s, write_image, events, report);
    }
    let mut chosen = sel.chosen.clone();
    let mut above_ceiling = None;
    if let (Some(t), Some(ceil)) = (&chosen, i.ceiling.and_then(|c| i.policy.scheme.read(c))) {
        let over = |tag: &str| {
            i.policy
                .scheme
                .read(tag)
                .is_some_and(|v| v.version > ceil.version)
        };
        if over(t) {
            above_ceiling = Some(t.clone());
            // The newest allowed tag the masters already run or pass.
            chosen = sel
                .verdicts
                .iter()
                .filter(|(t, v)| **v == super::select::Verdict::Allowed && !over(t))
                .filter_map(|(t, _)| i.policy.scheme.read(t).map(|v| (v, t.clone())))
                .max_by(|a, b| a.0.order(&b.0))
                .map(|(_, t)| t);
        }
    }
    let Some(tag) = chosen else {
        if let Some(t) = above_ceiling {
            report.state = format!(
                "{t} waits for the masters to run it first (agents never go past the masters)"
            );
            return outcome(s, write_image, events, report);
        }
        report.state = match (&sel.newest, sel.newest.as_ref().map(|t| &sel.verdicts[t])) {
            (Some(t), Some(super::select::Verdict::TooYoung { ready_at })) => format!(
                "{t} is too young (minAge): it may go in {}s",
                ready_at.saturating_sub(i.now)
            ),
            (Some(t), Some(super::select::Verdict::AwaitingApproval)) => {
                format!("{t} awaits `mesos-operator approve NAME {c} {t}`")
            }
            _ if s.last_scan.is_none() => "no scan yet".into(),
            _ => "up to date: no newer tag the policy allows".into(),
        };
        return outcome(s, write_image, events, report);
    };
    let digest = s.seen.get(&tag).and_then(|t| t.digest.clone());
    if i.policy.mode == AutoUpdateMode::Notify {
        if s.notified.as_deref() != Some(tag.as_str()) {
            events.push(AutoEvent {
                kind: EventKind::Candidate,
                tag: tag.clone(),
                message: format!(
                    "{c} {tag} is allowed by the policy (notify mode): `mesos-operator bump NAME {c} {tag}` rolls it"
                ),
            });
            s.notified = Some(tag.clone());
        }
        report.state = format!("notify: {tag} is available; a person decides");
        return outcome(s, write_image, events, report);
    }
    if i.policy.pin_digest && digest.is_none() {
        report.state = format!("{tag} chosen; waiting for the scan to read its digest");
        return outcome(s, write_image, events, report);
    }
    if !i.may_start {
        report.state = format!("{tag} chosen; waits for the cluster to converge");
        return outcome(s, write_image, events, report);
    }
    let pinned_digest = if i.policy.pin_digest {
        digest.as_deref()
    } else {
        None
    };
    let Some(to_image) = retag(i.spec_image, &tag, pinned_digest) else {
        report.state = format!("the image '{}' cannot be retagged", i.spec_image);
        return outcome(s, write_image, events, report);
    };
    events.push(AutoEvent {
        kind: EventKind::CanaryStarted,
        tag: tag.clone(),
        message: format!(
            "{c} {} → {tag}: one member first, then the rest after {}s of soak",
            report.running,
            i.policy.canary_soak.as_secs()
        ),
    });
    s.rollout = Some(AutoRollout {
        tag: tag.clone(),
        from_image: i.spec_image.to_string(),
        to_image: to_image.clone(),
        phase: RolloutPhase::Canary,
        started_at: i.now,
        healthy_since: None,
        failing_since: None,
        promoted_at: None,
        baseline_agents: i.registered_agents,
        canary_host: None,
    });
    s.pending = Some(PendingWrite {
        image: to_image.clone(),
        from_generation: i.generation,
        rollback: false,
    });
    report.state = format!("canary of {tag} starting");
    report.canary = canary_report(&s, i);
    outcome(s, Some(to_image), events, report)
}

fn outcome(
    state: ComponentUpdates,
    write_image: Option<String>,
    events: Vec<AutoEvent>,
    report: AutoUpdateReport,
) -> Outcome {
    Outcome {
        state,
        write_image,
        events,
        report,
    }
}

fn mode_word(m: AutoUpdateMode) -> &'static str {
    match m {
        AutoUpdateMode::Off => "off",
        AutoUpdateMode::Notify => "notify",
        AutoUpdateMode::Auto => "auto",
    }
}

fn selection(i: &Inputs, s: &ComponentUpdates) -> Selection {
    select(i.policy, &tag_of(i.spec_image), s, i.now)
}

fn canary_report(s: &ComponentUpdates, i: &Inputs) -> Option<CanaryReport> {
    s.rollout.as_ref().map(|r| CanaryReport {
        tag: r.tag.clone(),
        phase: r.phase,
        soak_left_seconds: match (r.phase, r.healthy_since) {
            (RolloutPhase::Canary, Some(h)) => Some(
                h.saturating_add(i.policy.canary_soak.as_secs())
                    .saturating_sub(i.now),
            ),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests;
