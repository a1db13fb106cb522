//! The safety rules of `shared/design/safety.md`, written a second time, independently of
//! the planner, as checks of one proposed step against the state it was planned from.
//!
//! The planner has its own checks right before it returns a step; these exist so that
//! property tests and the simulation can catch a planner rule that is wrong or missing.
//! They deliberately recompute everything from the raw observation.

use std::collections::BTreeSet;
use std::fmt;

use crate::desired::Desired;
use crate::observed::{Observed, ZkConfig, ZkMode};
use crate::plan::{majority, Step};
use crate::record::Recorded;
use crate::spec::Component;

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Short name of the rule, e.g. `zookeeper-quorum`.
    pub rule: &'static str,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

fn violation(rule: &'static str, detail: String) -> Result<(), Violation> {
    Err(Violation { rule, detail })
}

/// ZooKeeper voters that are serving, synced, on the committed config.
pub fn zk_voters_up(o: &Observed, cfg: &ZkConfig) -> BTreeSet<u64> {
    cfg.voters
        .iter()
        .filter(|(id, h)| {
            let running = o
                .container(Component::Zookeeper, h)
                .is_some_and(|c| c.running() && c.zk_id == Some(**id));
            let serving = o.zookeeper.servers.get(*h).is_some_and(|s| {
                s.ok && matches!(s.mode, Some(ZkMode::Leader | ZkMode::Follower))
                    && s.config_version == Some(cfg.version)
            });
            running && serving
        })
        .map(|(id, _)| *id)
        .collect()
}

fn master_running_quorums(d: &Desired, o: &Observed) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = o
        .containers_of(Component::Masters)
        .into_iter()
        .filter(|c| c.running())
        .map(|c| (c.host.clone(), c.master_quorum.unwrap_or(d.master_quorum)))
        .collect();
    for h in d.hosts_of(Component::Masters) {
        if !o.reachable(h) {
            v.push((h.to_string(), d.master_quorum));
        }
    }
    v
}

fn master_healthy(o: &Observed, h: &str) -> bool {
    o.container(Component::Masters, h)
        .is_some_and(|c| c.running())
        && o.masters.members.get(h).is_some_and(|m| m.healthy)
}

/// Whether a component is converged and healthy, by the plain reading of the rules.
pub fn component_converged(d: &Desired, o: &Observed, c: Component) -> bool {
    let want: BTreeSet<&str> = d.hosts_of(c).into_iter().collect();
    let have: BTreeSet<&str> = o
        .containers_of(c)
        .into_iter()
        .map(|x| x.host.as_str())
        .collect();
    if want != have || want.iter().any(|h| !o.reachable(h)) {
        return false;
    }
    let hashes_ok = want.iter().all(|h| {
        o.container(c, h).map(|x| &x.config_hash) == d.container(c, h).map(|s| &s.config_hash)
            && o.container(c, h).is_some_and(|x| x.running())
    });
    if !hashes_ok {
        return false;
    }
    match c {
        Component::Zookeeper => o.zookeeper.committed.as_ref().is_some_and(|cfg| {
            let voter_hosts: BTreeSet<&str> = cfg.voters.values().map(String::as_str).collect();
            voter_hosts == want && zk_voters_up(o, cfg).len() == cfg.voters.len()
        }),
        Component::Masters => {
            want.iter().all(|h| master_healthy(o, h))
                && o.masters.leader.as_ref().is_some_and(|l| {
                    o.masters
                        .members
                        .get(l)
                        .is_some_and(|m| m.elected && m.recovered)
                })
        }
        Component::Agents => {
            o.agents.maintenance.is_empty()
                && want.iter().all(|h| {
                    o.agents
                        .members
                        .get(*h)
                        .is_some_and(|a| a.healthy && a.registered)
                })
        }
        Component::Marathon => {
            want.is_empty()
                || (want
                    .iter()
                    .all(|h| o.marathon.members.get(*h).is_some_and(|m| m.healthy))
                    && o.marathon.leader.is_some()
                    && o.marathon.registered)
        }
    }
}

/// Checks one step against the state it was planned from.
pub fn check_step(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    if d.paused {
        return violation("paused", format!("{step} while spec.rollout.paused"));
    }
    let c = step.component();
    let host = step.host();
    let existing = o.container(c, host);

    // 6. Nothing unknown is touched.
    if !d.addresses.contains_key(host) && !o.hosts.contains_key(host) {
        return violation(
            "unknown-host",
            format!("{step} on a host neither in the document nor observed"),
        );
    }
    match step {
        Step::StartContainer { .. } | Step::RemoveContainer { .. } if existing.is_none() => {
            return violation(
                "unknown-container",
                format!("{step}: no container of this cluster there"),
            );
        }
        Step::CreateContainer { .. } | Step::ZkStartServer { .. } if existing.is_some() => {
            return violation(
                "overwrite",
                format!("{step}: a container already exists there"),
            );
        }
        _ => {}
    }
    if matches!(
        step,
        Step::StartContainer { .. }
            | Step::CreateContainer { .. }
            | Step::ReplaceContainer { .. }
            | Step::ZkStartServer { .. }
    ) && !o.reachable(host)
    {
        return violation("unreachable", format!("{step} on an unreachable host"));
    }

    // 4. Order: ordered work on a component only when every earlier one has converged.
    if !matches!(step, Step::StartContainer { .. }) {
        for earlier in Component::ALL.iter().take_while(|e| **e != c) {
            if !component_converged(d, o, *earlier) {
                return violation("order", format!("{step} while {earlier} is not converged"));
            }
        }
    }

    match c {
        Component::Zookeeper => check_zookeeper(d, o, r, step),
        Component::Masters => check_masters(d, o, step),
        _ => check_leader_last(d, o, step),
    }
}

fn check_zookeeper(d: &Desired, o: &Observed, r: &Recorded, step: &Step) -> Result<(), Violation> {
    let host = step.host();
    let Some(cfg) = &o.zookeeper.committed else {
        return match step {
            Step::ZkStartServer { ensemble, .. } => {
                if o.containers_of(Component::Zookeeper).is_empty() && ensemble.len() == 1 {
                    Ok(())
                } else {
                    violation(
                        "zookeeper-split",
                        format!("{step} with no committed config known"),
                    )
                }
            }
            Step::StartContainer { .. } => Ok(()),
            _ => violation("zookeeper-quorum", format!("{step} while no quorum serves")),
        };
    };
    let up = zk_voters_up(o, cfg);
    let n = cfg.voters.len();
    let id_here = o
        .container(Component::Zookeeper, host)
        .and_then(|c| c.zk_id);
    match step {
        Step::ZkStartServer { id, ensemble, .. } => {
            let listed: BTreeSet<u64> = ensemble.iter().map(|m| m.id).collect();
            let mut want: BTreeSet<u64> = cfg.voters.keys().copied().collect();
            want.insert(*id);
            if listed != want {
                return violation(
                    "zookeeper-split",
                    format!("{step}: its ensemble is not the committed voters plus itself"),
                );
            }
            let used = o
                .containers_of(Component::Zookeeper)
                .iter()
                .filter_map(|c| c.zk_id)
                .chain(cfg.voters.keys().copied())
                .max()
                .unwrap_or(0)
                .max(r.zk_highest_id.unwrap_or(0));
            if *id <= used {
                return violation(
                    "zookeeper-id-reuse",
                    format!("{step}: id {id} is not fresh (highest used {used})"),
                );
            }
            let joiners = o
                .containers_of(Component::Zookeeper)
                .iter()
                .filter(|c| c.zk_id.is_some_and(|i| !cfg.voters.contains_key(&i)))
                .count();
            if joiners > 0 {
                return violation("one-joiner", format!("{step} while another joiner exists"));
            }
            Ok(())
        }
        Step::ZkAdd {
            member,
            expected_version,
        } => {
            check_version(step, *expected_version, cfg)?;
            if up.len() + 1 < majority(n + 1) || up.len() < majority(n) {
                return violation(
                    "zookeeper-quorum",
                    format!("{step}: {} up of {n}", up.len()),
                );
            }
            if cfg.voters.contains_key(&member.id) {
                return violation("zookeeper-add", format!("{step}: already a voter"));
            }
            Ok(())
        }
        Step::ZkRemove {
            id,
            expected_version,
            ..
        } => {
            check_version(step, *expected_version, cfg)?;
            let after: usize = up.iter().filter(|u| *u != id).count();
            if after < majority(n - 1) || up.len() < majority(n) {
                return violation(
                    "zookeeper-quorum",
                    format!("{step}: {} up of {n}", up.len()),
                );
            }
            let others_down = cfg.voters.keys().any(|v| v != id && !up.contains(v));
            if others_down {
                return violation(
                    "zookeeper-shrink",
                    format!("{step} while another voter is down"),
                );
            }
            Ok(())
        }
        Step::ReplaceContainer { .. } | Step::RemoveContainer { .. } => {
            // A voter is its id on the host the committed config places it on.
            let is_voter =
                id_here.is_some_and(|i| cfg.voters.get(&i).map(String::as_str) == Some(host));
            if let Step::RemoveContainer {
                remove_volume: true,
                ..
            } = step
            {
                if is_voter {
                    return violation("zookeeper-data", format!("{step}: data of a voter deleted"));
                }
            }
            if is_voter {
                let left = up.iter().filter(|u| Some(**u) != id_here).count();
                if left < majority(n) {
                    return violation(
                        "zookeeper-quorum",
                        format!("{step}: {left} voters left up of {n}"),
                    );
                }
                check_leader_last(d, o, step)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A reconfig must carry the committed version it was planned from (ZooKeeper's CAS).
fn check_version(step: &Step, expected: u64, cfg: &ZkConfig) -> Result<(), Violation> {
    if expected != cfg.version {
        return violation(
            "zookeeper-cas",
            format!("{step}: planned from a stale version"),
        );
    }
    Ok(())
}

fn check_masters(d: &Desired, o: &Observed, step: &Step) -> Result<(), Violation> {
    let host = step.host();
    let running = master_running_quorums(d, o);
    let min_q = running
        .iter()
        .map(|(_, q)| *q)
        .min()
        .unwrap_or(d.master_quorum);
    let stops = match step {
        Step::ReplaceContainer { reset_registry, .. } => {
            if *reset_registry && !d.accept_registry_reset {
                return violation(
                    "registry-reset",
                    format!("{step} without acceptRegistryReset"),
                );
            }
            !*reset_registry
        }
        Step::RemoveContainer { .. } => true,
        _ => false,
    };
    let here_running = o
        .container(Component::Masters, host)
        .is_some_and(|c| c.running());
    if stops && here_running {
        let healthy_left = o
            .containers_of(Component::Masters)
            .iter()
            .filter(|c| c.host != host && master_healthy(o, &c.host))
            .count() as u32;
        let floor = min_q.min(d.master_quorum);
        if healthy_left < floor {
            return violation(
                "masters-quorum",
                format!("{step}: {healthy_left} healthy left, quorum {floor}"),
            );
        }
    }
    // The ceiling after the step.
    let mut after: Vec<u32> = running
        .iter()
        .filter(|(h, _)| h != host)
        .map(|(_, q)| *q)
        .collect();
    match step {
        Step::StartContainer { .. } => after.push(
            o.container(Component::Masters, host)
                .and_then(|c| c.master_quorum)
                .unwrap_or(d.master_quorum),
        ),
        Step::CreateContainer { .. } | Step::ReplaceContainer { .. } => after.push(d.master_quorum),
        _ => {}
    }
    // Only a step that leaves a master running can break the ceiling; removing one only
    // lowers the count, even in a state that is already over it.
    let adds = matches!(
        step,
        Step::StartContainer { .. } | Step::CreateContainer { .. } | Step::ReplaceContainer { .. }
    );
    if let Some(q) = after.iter().copied().min().filter(|_| adds) {
        if after.len() as u32 >= 2 * q {
            return violation(
                "masters-ceiling",
                format!("{step}: {} masters running with quorum {q}", after.len()),
            );
        }
    }
    if stops {
        check_leader_last(d, o, step)?;
    }
    Ok(())
}

/// 5. A serving leader is replaced only when no other member of its component still needs
///    the same change.
fn check_leader_last(d: &Desired, o: &Observed, step: &Step) -> Result<(), Violation> {
    let Step::ReplaceContainer {
        component, host, ..
    } = step
    else {
        return Ok(());
    };
    let leader = match component {
        Component::Zookeeper => o.zookeeper.leader.as_deref(),
        Component::Masters => o.masters.leader.as_deref(),
        Component::Marathon => o.marathon.leader.as_deref(),
        Component::Agents => None,
    };
    if leader != Some(host.as_str()) {
        return Ok(());
    }
    // The rule saves elections; a reported leader that is not serving causes none.
    let serving = match component {
        Component::Zookeeper => o.zookeeper.committed.as_ref().is_some_and(|cfg| {
            let up = zk_voters_up(o, cfg);
            cfg.voters
                .iter()
                .any(|(id, h)| h == host && up.contains(id))
        }),
        Component::Masters => master_healthy(o, host),
        Component::Marathon => {
            o.container(Component::Marathon, host)
                .is_some_and(|c| c.running())
                && o.marathon.members.get(host).is_some_and(|m| m.healthy)
        }
        Component::Agents => false,
    };
    if !serving {
        return Ok(());
    }
    for other in d.hosts_of(*component) {
        if other == host {
            continue;
        }
        let stale = o.container(*component, other).is_some_and(|c| {
            Some(&c.config_hash) != d.container(*component, other).map(|s| &s.config_hash)
        });
        if stale {
            return violation(
                "leader-last",
                format!("{step} while {other} is also outdated"),
            );
        }
    }
    Ok(())
}
