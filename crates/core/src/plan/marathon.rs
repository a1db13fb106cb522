//! Marathon: a version change goes down to one old instance, replaces it by the new version
//! (never an old and a new version both leader candidates: the new one migrates the state in
//! ZooKeeper), then starts the rest; any other change is a plain one-at-a-time roll, leader
//! last.
//! A downgrade is refused unless the document allows it: Marathon migrates its ZooKeeper
//! state forward and an older version may not read it.

use super::gate::{unreachable, wait_for, wait_since};
use super::{act, blocked, leader_last, BlockKind, Decision, Step, View};
use crate::observed::ObservedContainer;
use crate::spec::Component;

const GATE: &str = "answer /ping, with a leader known and the framework registered";

/// Numeric version from an image reference's tag: `marathon:1.10.26-2` → [1, 10, 26]; a
/// digest after the tag (`marathon:1.10.26@sha256:…`, as digest pinning writes it) is not
/// part of the version.
pub fn tag_version(image: &str) -> Option<Vec<u64>> {
    let tag = crate::spec::image::ImageRef::parse(image).ok()?.tag?;
    let core = tag.trim_start_matches('v').split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse().ok()).collect()
}

fn ok(ctx: &View, host: &str) -> bool {
    ctx.observed
        .container(Component::Marathon, host)
        .is_some_and(|c| c.running())
        && ctx
            .observed
            .marathon
            .members
            .get(host)
            .is_some_and(|m| m.healthy)
}

/// Hosts that run or may run Marathon (desired, or recorded as having run it) and cannot
/// be seen: each may run any version.
pub(super) fn out_of_sight<'a>(ctx: &'a View) -> std::collections::BTreeSet<&'a str> {
    ctx.desired
        .hosts_of(Component::Marathon)
        .into_iter()
        .chain(ctx.recorded.marathon_hosts.iter().map(String::as_str))
        .filter(|h| !ctx.observed.reachable(h))
        .collect()
}

pub(super) fn plan(ctx: &View) -> Option<Decision> {
    let desired = ctx.desired.hosts_of(Component::Marathon);
    // Membership is checked per container: a set keeps planning linear in hosts.
    let wanted: std::collections::BTreeSet<&str> = desired.iter().copied().collect();
    let leader = ctx.observed.marathon.leader.as_deref();
    let all: Vec<&ObservedContainer> = ctx.observed.containers_of(Component::Marathon);
    let want_image = ctx.desired.image_of(Component::Marathon);

    // 1. Gate: an instance starting up; then a leader and the framework registered.
    let stale = |h: &str| {
        let want = ctx
            .desired
            .container(Component::Marathon, h)
            .map(|s| s.config_hash.as_str());
        ctx.observed
            .container(Component::Marathon, h)
            .is_some_and(|c| Some(c.config_hash.as_str()) != want)
    };
    for c in &all {
        if c.running() && !ok(ctx, &c.host) && !stale(&c.host) {
            return Some(wait_for(ctx, c, "Marathon", GATE));
        }
    }
    let running: Vec<&&ObservedContainer> = all.iter().filter(|c| c.running()).collect();
    let led = leader.is_some() && ctx.observed.marathon.registered;
    let newest = running.iter().map(|c| c.started_at).max();
    let any_stale = all.iter().any(|c| stale(&c.host));
    if !running.is_empty() && !led && !any_stale {
        return Some(wait_since(
            ctx,
            newest,
            "waiting for a Marathon leader registered with the Mesos master".into(),
            "look at Marathon's logs and /v2/leader; check ZooKeeper and the masters",
        ));
    }

    // 2. Downgrades only when asked for.
    if let (Some(want), false) = (
        want_image.and_then(tag_version),
        ctx.desired.allow_marathon_downgrade,
    ) {
        for c in &all {
            let have = ctx
                .observed
                .marathon
                .members
                .get(&c.host)
                .and_then(|m| m.version.as_deref())
                .map(|v| format!("x:{v}"))
                .unwrap_or_else(|| c.image.clone());
            if tag_version(&have).is_some_and(|h| h > want) {
                return blocked(
                    BlockKind::Safety,
                    format!("Marathon on {} runs a newer version than {}; Marathon's migrated state may not be readable by it", c.host, want_image.unwrap_or_default()),
                    "set spec.marathon.allowDowngrade: true if the older version is known to read it, or bump marathon forward",
                );
            }
        }
        // The state outlives the instances: one that led migrated it, whether or not it
        // still runs (every Marathon removed by hand before a rollback).
        if let Some(led) = ctx
            .recorded
            .marathon_led
            .as_deref()
            .filter(|led| tag_version(led).is_some_and(|l| l > want))
        {
            return blocked(
                BlockKind::Safety,
                format!("Marathon {led} led, and migrated Marathon's state in ZooKeeper to its version; {} is older and may not read it", want_image.unwrap_or_default()),
                "set spec.marathon.allowDowngrade: true if the older version is known to read it, or bump marathon forward",
            );
        }
    }

    // 3. A version change: the HA upgrade procedure.
    if let Some(want) = want_image {
        let old: Vec<&ObservedContainer> =
            all.iter().copied().filter(|c| c.image != want).collect();
        let new: Vec<&ObservedContainer> =
            all.iter().copied().filter(|c| c.image == want).collect();
        // A Marathon out of sight (its host unreachable, or gone from the document) may
        // still run an old version: the procedure cannot make sure old and new never run
        // side by side, so it does not start.
        let unseen: Vec<&str> = out_of_sight(ctx).into_iter().collect();
        if !old.is_empty() && !unseen.is_empty() {
            return blocked(
                BlockKind::Degraded,
                format!(
                    "Marathon's version change waits: the Marathon host(s) {} are out of sight and may still run an old version, which must never run beside the new one",
                    unseen.join(", ")
                ),
                format!(
                    "bring {} back; for a host gone for good, take it out of spec.hosts and run `mesos-operator record forget-host {} HOST`",
                    unseen.join(", "),
                    ctx.desired.name
                ),
            );
        }
        if old.len() > 1 {
            let hosts = leader_last(old.iter().map(|c| c.host.as_str()).collect(), leader);
            return act(
                Step::RemoveContainer {
                    component: Component::Marathon,
                    host: hosts[0].to_string(),
                    remove_volume: false,
                },
                "Marathon version change: stop all old instances but one",
            );
        }
        if let [last_old] = old.as_slice() {
            // The last old instance stops before any new one may run: old and new versions
            // are never leader candidates side by side (the new one migrates Marathon's
            // state in ZooKeeper, which the old one must not read or write after). Marathon
            // is without a leader for the length of one start; tasks keep running.
            let step = if wanted.contains(last_old.host.as_str()) {
                Step::ReplaceContainer {
                    component: Component::Marathon,
                    host: last_old.host.clone(),
                    reset_registry: false,
                }
            } else {
                Step::RemoveContainer {
                    component: Component::Marathon,
                    host: last_old.host.clone(),
                    remove_volume: false,
                }
            };
            let why = if new.is_empty() {
                "Marathon version change: replace the last old instance by the new version"
            } else {
                "Marathon version change: stop the last old instance, which runs beside the new version"
            };
            return act(step, why);
        }
    }

    // 4. Instances no longer wanted, leader last.
    let extras: Vec<&str> = all
        .iter()
        .map(|c| c.host.as_str())
        .filter(|h| !wanted.contains(h))
        .collect();
    if let Some(h) = leader_last(extras, leader).first() {
        return act(
            Step::RemoveContainer {
                component: Component::Marathon,
                host: h.to_string(),
                remove_volume: false,
            },
            format!("no Marathon instance is wanted on {h}"),
        );
    }

    // 5. Other configuration changes, one at a time, leader last; a leader with standbys
    //    abdicates first so that the takeover is orderly.
    let stale: Vec<&str> = desired
        .iter()
        .copied()
        .filter(|h| {
            ctx.observed
                .container(Component::Marathon, h)
                .is_some_and(|c| {
                    Some(c.config_hash.as_str())
                        != ctx
                            .desired
                            .container(Component::Marathon, h)
                            .map(|s| s.config_hash.as_str())
                })
        })
        .collect();
    if let Some(h) = leader_last(stale, leader).first() {
        let standbys_ok = running.iter().any(|c| c.host != *h && ok(ctx, &c.host));
        if Some(*h) == leader && standbys_ok {
            return act(
                Step::MarathonAbdicate { host: h.to_string() },
                format!("the Marathon leader on {h} needs replacing; hand leadership to a standby first"),
            );
        }
        return act(
            Step::ReplaceContainer {
                component: Component::Marathon,
                host: h.to_string(),
                reset_registry: false,
            },
            format!("Marathon on {h} runs an outdated configuration"),
        );
    }

    // 6. Missing instances, on hosts that answer: a host out of sight may run its instance
    //    still, and is reported, never created on.
    if let Some(h) = desired.iter().find(|h| !ctx.observed.reachable(h)) {
        return Some(unreachable(ctx, h, "Marathon instance"));
    }
    // A cluster with no Marathon at all (none in sight, none out of sight by the record):
    // every instance at once, on the one version the document names; they elect a
    // leader among themselves as the parallel start does.
    if all.is_empty() && ctx.recorded.marathon_hosts.is_empty() && desired.len() > 1 {
        return super::create_all(
            Component::Marathon,
            desired.iter().map(|h| h.to_string()).collect(),
            format!(
                "no Marathon instance exists yet: create all {} at once (one version, nothing serves yet)",
                desired.len()
            ),
        );
    }
    if let Some(h) = desired
        .iter()
        .find(|h| ctx.observed.container(Component::Marathon, h).is_none())
    {
        return act(
            Step::CreateContainer {
                component: Component::Marathon,
                host: h.to_string(),
            },
            format!("a Marathon instance is wanted on {h}"),
        );
    }
    if let Some(h) = desired.iter().find(|h| !ok(ctx, h)) {
        return Some(match ctx.observed.container(Component::Marathon, h) {
            Some(c) => wait_for(ctx, c, "Marathon", GATE),
            None => unreachable(ctx, h, "Marathon instance"),
        });
    }
    if !desired.is_empty() && !led {
        return Some(wait_since(
            ctx,
            newest,
            "waiting for a Marathon leader".into(),
            "look at Marathon's logs",
        ));
    }
    None
}
