//! Backups as planned steps ([`crate::backup`]): which part of which backup is next, and
//! the hold that makes a ZooKeeper or masters version change wait for its backup
//! (`spec.backup.beforeUpgrade`).
//!
//! A backup part stops one member, so it is planned only while every ZooKeeper voter and
//! every master serves, and it stops a follower (never the ZooKeeper leader, never the
//! leading master): the others keep their quorum while it is down, and the last look
//! before the stop checks that again ([`crate::ops::Op::RequireServing`]). While the cluster
//! is not whole the components' own planners go first (a lost member is recreated), and a
//! version change waits.

use super::{act, BlockKind, Decision, Step, View};
use crate::backup::{self, BackupPart, BackupReason};
use crate::observed::ZkMode;
use crate::spec::Component;

/// The next backup step, when a backup is in progress or due and the cluster can give one
/// member for it now; `None`: nothing to back up now, or not yet possible (then
/// [`hold_version_change`] explains why a version change waits).
pub(super) fn plan(ctx: &View) -> Option<Decision> {
    let (id, _) = wanted(ctx)?;
    if failed_unretried(ctx, &id).is_some() {
        // Not tried again by itself: a version change waiting for it shows the failure
        // ([`hold_version_change`]).
        return None;
    }
    let (id, reason) = wanted(ctx)?;
    let state = &ctx.recorded.backup;
    let pending_here = state.pending.as_ref().is_some_and(|p| p.id == id);
    if !pending_here || !state.part_done(BackupPart::Zookeeper) {
        let host = zookeeper_follower(ctx).ok()?;
        return act(
            Step::BackupZookeeper {
                host: host.clone(),
                id: id.clone(),
                reason: reason.clone(),
            },
            format!(
                "backup {id} ({}): ZooKeeper's data from the follower on {host}",
                reason.label()
            ),
        );
    }
    let host = master_to_stop(ctx).ok()?;
    act(
        Step::BackupMaster {
            host: host.clone(),
            id: id.clone(),
        },
        format!(
            "backup {id} ({}): the registry from the master on {host}",
            reason.label()
        ),
    )
}

/// The backup to take or carry on, with its id and reason: the one in progress, one a
/// person asked for, the schedule's, or the one a version change needs.
fn wanted(ctx: &View) -> Option<(String, BackupReason)> {
    let state = &ctx.recorded.backup;
    if let Some(p) = &state.pending {
        // A backup before a version change that no longer applies (the change was made
        // without it, or another was asked for) is left; any other is carried on.
        let stale = matches!(&p.reason, BackupReason::BeforeUpgrade { .. })
            && Some(&p.reason) != upgrade_reason(ctx).as_ref();
        if !stale {
            return Some((p.id.clone(), p.reason.clone()));
        }
    }
    let policy = ctx.desired.backup.as_ref()?;
    let new_id = backup::new_id(ctx.now);
    if let Some(reason) = backup::due(policy, state, ctx.desired.backup_requested_at, ctx.now) {
        return Some((new_id, reason));
    }
    let reason = upgrade_reason(ctx).filter(|_| needs_upgrade_backup(ctx))?;
    Some((new_id, reason))
}

/// The reason of a backup before the version change the document asks for now, if one is
/// pending: some ZooKeeper server or master runs another image than the document's.
fn upgrade_reason(ctx: &View) -> Option<BackupReason> {
    let zk = ctx.desired.image_of(Component::Zookeeper)?;
    let masters = ctx.desired.image_of(Component::Masters)?;
    let changing = [(Component::Zookeeper, zk), (Component::Masters, masters)]
        .iter()
        .any(|(c, image)| {
            ctx.observed
                .containers_of(*c)
                .iter()
                .any(|oc| oc.image != *image)
        });
    changing.then(|| BackupReason::BeforeUpgrade {
        zookeeper: zk.to_string(),
        masters: masters.to_string(),
    })
}

/// Whether the version change the document asks for still needs its backup: the policy asks
/// for one, and no backup was taken for these images.
fn needs_upgrade_backup(ctx: &View) -> bool {
    let Some(policy) = ctx.desired.backup.as_ref() else {
        return false;
    };
    let Some(BackupReason::BeforeUpgrade { zookeeper, masters }) = upgrade_reason(ctx) else {
        return false;
    };
    policy.before_upgrade
        && ctx.recorded.backup.covers.as_ref() != Some(&(zookeeper.clone(), masters.clone()))
        && !given_up(ctx)
}

/// A failed backup before this version change, under a policy that lets the change go on.
fn given_up(ctx: &View) -> bool {
    let blocks = ctx
        .desired
        .backup
        .as_ref()
        .is_none_or(|p| p.block_upgrade_on_failure);
    !blocks
        && ctx.recorded.backup.failure.as_ref().is_some_and(|f| {
            Some(&f.reason) == upgrade_reason(ctx).as_ref() && !retry_allowed(ctx, f)
        })
}

/// A failed attempt is tried again once the document changed (a fixed target) or a person
/// asked for a backup after it failed.
fn retry_allowed(ctx: &View, f: &backup::BackupFailure) -> bool {
    f.generation != ctx.desired.generation
        || ctx.desired.backup_requested_at.is_some_and(|at| at > f.at)
}

/// The failure of backup `id`'s last attempt, while it may not be tried again.
fn failed_unretried<'a>(ctx: &'a View, id: &str) -> Option<&'a backup::BackupFailure> {
    ctx.recorded
        .backup
        .failure
        .as_ref()
        .filter(|f| f.id == id && !retry_allowed(ctx, f))
}

/// The ZooKeeper follower to stop for the copy: every voter serves (one stopped leaves a
/// majority), and the follower is not the leader. `Err`: why not now.
fn zookeeper_follower(ctx: &View) -> Result<String, String> {
    let zk = &ctx.observed.zookeeper;
    let cfg = zk
        .committed
        .as_ref()
        .ok_or("no committed ZooKeeper config is known")?;
    if cfg.voters.len() < 3 {
        return Err(format!(
            "ZooKeeper has {} voter(s); a backup stops a follower, which needs 3 or more",
            cfg.voters.len()
        ));
    }
    let placed = super::place_voters(ctx.desired, ctx.observed, cfg)
        .map_err(|(id, _)| format!("ZooKeeper voter {id} cannot be placed on one host"))?;
    // Serving on the committed config: its container runs, it answers with its own id,
    // votes, and reports the committed version (not one read in the middle of a reconfig).
    let up = |id: u64, h: &str| {
        ctx.observed
            .container(Component::Zookeeper, h)
            .is_some_and(|c| c.running() && c.zk_id == Some(id))
            && zk.servers.get(h).is_some_and(|s| {
                s.serves() && s.server_id == Some(id) && s.config_version == Some(cfg.version)
            })
    };
    if let Some((id, h)) = placed.iter().find(|(id, h)| !up(**id, h)) {
        return Err(format!(
            "ZooKeeper voter {id} on {h} does not serve on the committed config"
        ));
    }
    placed
        .values()
        .find(|h| {
            zk.servers.get(h.as_str()).and_then(|s| s.mode) == Some(ZkMode::Follower)
                && ctx
                    .observed
                    .container(Component::Zookeeper, h)
                    .is_some_and(|c| c.running())
        })
        .cloned()
        .ok_or_else(|| "no ZooKeeper follower runs".to_string())
}

/// The master to stop for the copy of its log: every master the document places serves
/// with its registry recovered, there are 3 or more, and it is not the leader.
fn master_to_stop(ctx: &View) -> Result<String, String> {
    let hosts = ctx.desired.hosts_of(Component::Masters);
    if hosts.len() < 3 {
        return Err(format!(
            "{} master(s); a backup stops one, which needs 3 or more",
            hosts.len()
        ));
    }
    let m = &ctx.observed.masters;
    if let Some(h) = hosts
        .iter()
        .find(|h| !m.members.get(**h).is_some_and(|x| x.serves()))
    {
        return Err(format!("the master on {h} does not serve"));
    }
    let quorum = strictest_master_quorum(ctx);
    let serving = ctx
        .observed
        .containers_of(Component::Masters)
        .iter()
        .filter(|c| m.members.get(&c.host).is_some_and(|x| x.serves()))
        .count();
    if serving <= quorum {
        return Err(format!(
            "{serving} master(s) serve with quorum {quorum}: stopping one would lose the registry's quorum"
        ));
    }
    hosts
        .iter()
        .find(|h| {
            m.leader.as_deref() != Some(**h)
                && ctx
                    .observed
                    .container(Component::Masters, h)
                    .is_some_and(|c| c.running())
        })
        .map(|h| h.to_string())
        .ok_or_else(|| "no master other than the leader runs".to_string())
}

/// The strictest quorum any master holds (a quorum change half done) or the document asks
/// for: the others must still meet it while one is stopped.
fn strictest_master_quorum(ctx: &View) -> usize {
    ctx.observed
        .containers_of(Component::Masters)
        .iter()
        .filter_map(|c| c.master_quorum)
        .chain([ctx.desired.master_quorum])
        .max()
        .unwrap_or(1) as usize
}

/// Every member of `c` a backup needs is in place (a container, running or not), 3 or more,
/// and for the masters more than the strictest quorum: what keeps it from serving passes by
/// itself.
fn members_in_place(ctx: &View, c: Component) -> bool {
    let hosts: Vec<String> = match c {
        Component::Zookeeper => {
            let Some(cfg) = &ctx.observed.zookeeper.committed else {
                return false;
            };
            match super::place_voters(ctx.desired, ctx.observed, cfg) {
                Ok(placed) => placed.into_values().collect(),
                Err(_) => return false,
            }
        }
        _ => ctx
            .desired
            .hosts_of(c)
            .into_iter()
            .map(str::to_string)
            .collect(),
    };
    let room = c != Component::Masters
        || ctx.observed.containers_of(Component::Masters).len() > strictest_master_quorum(ctx);
    room && hosts.len() >= 3 && hosts.iter().all(|h| ctx.observed.container(c, h).is_some())
}

/// A step of the ZooKeeper or masters planner that puts a new image on a member waits while
/// the version change still needs its backup; the reason says what the backup waits for.
pub(super) fn hold_version_change(ctx: &View, c: Component, d: Decision) -> Decision {
    if !matches!(c, Component::Zookeeper | Component::Masters) || !needs_upgrade_backup(ctx) {
        return d;
    }
    let Decision::Act { step, .. } = &d else {
        return d;
    };
    let moves_version = match step {
        Step::ReplaceContainer {
            component, host, ..
        } => ctx
            .observed
            .container(*component, host)
            .zip(ctx.desired.image_of(*component))
            .is_some_and(|(oc, image)| oc.image != image),
        _ => false,
    };
    // A member that runs and serves nobody is replaced as a repair: the backup needs every
    // member serving, and would wait for it for ever (the simulation found a master whose
    // only way back was its replacement). A stopped one (a backup's own stop cut short) is
    // started by the repair, and waits; so does one started less than `healthTimeout` ago,
    // which is coming up, not broken (the repair's start of a follower a failed backup left
    // stopped was taken for a repair, and moved it to the new version unbacked).
    let running = ctx
        .observed
        .container(step.component(), step.host())
        .is_some_and(|oc| oc.running() && ctx.now >= oc.started_at + ctx.timeout());
    let serves = !running
        || match step.component() {
            Component::Zookeeper => ctx
                .observed
                .zookeeper
                .servers
                .get(step.host())
                .is_some_and(|s| s.serves()),
            _ => ctx
                .observed
                .masters
                .members
                .get(step.host())
                .is_some_and(|m| m.serves()),
        };
    if !moves_version || !serves {
        return d;
    }
    let failed = ctx
        .recorded
        .backup
        .pending
        .as_ref()
        .and_then(|p| failed_unretried(ctx, &p.id));
    if let Some(f) = failed {
        return Decision::Blocked {
            kind: BlockKind::Backup,
            reason: format!(
                "the backup before the version change failed: {}; the change waits for it (spec.backup.beforeUpgrade)",
                f.error
            ),
            action: "fix the backup target (spec.backup.target) and apply the document, or run `mesos-operator backup NAME` to try again; or set spec.backup.blockUpgradeOnFailure: false to let version changes go on without one".into(),
        };
    }
    // The change waits only for what comes back without it: a member of this component, in
    // place, that does not serve for now (repaired, restarting). The other component not
    // whole (a master missing while ZooKeeper's change would come first, a quorum change
    // half done) waits on this component's planner: holding it would wait for ever. The
    // change then goes on, and the backup is taken once the cluster is whole.
    let other_ok = match c {
        Component::Zookeeper => master_to_stop(ctx).is_ok(),
        _ => zookeeper_follower(ctx).is_ok(),
    };
    if !other_ok || !members_in_place(ctx, c) {
        return d;
    }
    let why = zookeeper_follower(ctx)
        .and_then(|_| master_to_stop(ctx))
        .err()
        .unwrap_or_else(|| "it is taken first".into());
    Decision::Wait {
        reason: format!(
            "the version change waits for its backup (spec.backup.beforeUpgrade): {why}"
        ),
        until: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{plan, BlockKind, Decision, Step};
    use crate::backup::{BackupPolicy, BackupReason};
    use crate::desired::Desired;
    use crate::fixtures::{converged_view, three_of_each};
    use crate::invariants::check_step;
    use crate::observed::Observed;
    use crate::record::{backup_failed, record_after, record_before, Recorded};
    use crate::spec::Component;

    const NOW: u64 = 1_000_000;

    fn with_policy(before_upgrade: bool, block: bool) -> Desired {
        let mut d = three_of_each();
        d.backup = Some(BackupPolicy {
            before_upgrade,
            block_upgrade_on_failure: block,
            schedule: Some(Duration::from_secs(3600)),
            keep: 3,
        });
        d
    }

    fn recorded() -> Recorded {
        Recorded {
            zk_highest_id: Some(3),
            backup: crate::backup::BackupState {
                last_started_at: Some(NOW - 60),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The next step, checked against the safety rules, and the record once it is done.
    fn take(d: &Desired, o: &Observed, r: &Recorded, now: u64) -> (Step, Recorded) {
        let decision = plan(d, o, r, now);
        let Decision::Act { step, .. } = decision else {
            panic!("expected a step, got {decision:?}");
        };
        check_step(d, o, r, &step).unwrap();
        let before = record_before(&step, r, now);
        (step.clone(), record_after(&step, &before))
    }

    /// A newer masters image in the document: a version change pending.
    fn bumped(d: &Desired) -> Desired {
        let mut new = crate::fixtures::document_with(3, 3, &[], "m:2");
        new.backup = d.backup.clone();
        new.generation = d.generation;
        new
    }

    #[test]
    fn a_requested_backup_stops_a_zookeeper_follower_then_a_master_that_does_not_lead() {
        let mut d = with_policy(false, true);
        d.backup_requested_at = Some(NOW - 5);
        let o = converged_view(&d, NOW);
        let (first, r) = take(&d, &o, &recorded(), NOW);
        let Step::BackupZookeeper { host, id, reason } = &first else {
            panic!("{first:?}");
        };
        assert_ne!(host, "h1", "h1 leads ZooKeeper");
        assert_eq!(reason, &BackupReason::Requested { at: NOW - 5 });
        assert_eq!(r.backup.request_done, Some(NOW - 5));
        // Planned again later (another second), the same backup goes on.
        let (second, r) = take(&d, &o, &r, NOW + 7);
        let Step::BackupMaster { host, id: id2 } = &second else {
            panic!("{second:?}");
        };
        assert_ne!(host, "h1", "h1 is the leading master");
        assert_eq!(id, id2);
        assert_eq!(r.backup.last_id.as_deref(), Some(id.as_str()));
        assert!(r.backup.pending.is_none());
        assert_eq!(plan(&d, &o, &r, NOW + 8), Decision::Converged);
    }

    #[test]
    fn a_version_change_waits_for_its_backup_and_moves_once_it_is_stored() {
        let d = bumped(&with_policy(true, true));
        let o = converged_view(&three_of_each(), NOW);
        let (first, r) = take(&d, &o, &recorded(), NOW);
        assert!(
            matches!(&first, Step::BackupZookeeper { reason: BackupReason::BeforeUpgrade { masters, .. }, .. } if masters == "m:2"),
            "{first:?}"
        );
        let (second, r) = take(&d, &o, &r, NOW + 5);
        assert!(matches!(second, Step::BackupMaster { .. }), "{second:?}");
        let (third, _) = take(&d, &o, &r, NOW + 10);
        assert!(
            matches!(
                third,
                Step::ReplaceContainer {
                    component: Component::Masters,
                    ..
                }
            ),
            "{third:?}"
        );
    }

    #[test]
    fn a_failed_backup_blocks_the_version_change_until_a_person_acts_unless_told_not_to_wait() {
        let d = bumped(&with_policy(true, true));
        let o = converged_view(&three_of_each(), NOW);
        let decision = plan(&d, &o, &recorded(), NOW);
        let step = decision.step().cloned().unwrap();
        let in_flight = record_before(&step, &recorded(), NOW);
        let failed = backup_failed(&in_flight, "target: permission denied", d.generation, NOW);
        match plan(&d, &o, &failed, NOW + 30) {
            Decision::Blocked { kind, reason, .. } => {
                assert_eq!(kind, BlockKind::Backup);
                assert!(reason.contains("permission denied"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // A person asks for a backup: tried again.
        let mut asked = d.clone();
        asked.backup_requested_at = Some(NOW + 40);
        assert!(matches!(
            plan(&asked, &o, &failed, NOW + 41).step(),
            Some(Step::BackupZookeeper { .. })
        ));
        // A policy that does not wait: the change goes on.
        let mut go_on = bumped(&with_policy(true, false));
        go_on.generation = d.generation;
        assert!(matches!(
            plan(&go_on, &o, &failed, NOW + 30).step(),
            Some(Step::ReplaceContainer { .. })
        ));
    }

    #[test]
    fn a_scheduled_backup_comes_round_and_a_failed_one_is_given_up_until_the_next() {
        let d = with_policy(false, true);
        let o = converged_view(&d, NOW);
        assert_eq!(plan(&d, &o, &recorded(), NOW), Decision::Converged);
        let later = NOW - 60 + 3600;
        let decision = plan(&d, &o, &recorded(), later);
        let Some(step @ Step::BackupZookeeper { reason, .. }) = decision.step() else {
            panic!("{decision:?}");
        };
        assert_eq!(reason, &BackupReason::Scheduled);
        let in_flight = record_before(step, &recorded(), later);
        let failed = backup_failed(&in_flight, "disk full", d.generation, later);
        assert!(failed.backup.pending.is_none());
        assert_eq!(plan(&d, &o, &failed, later + 10), Decision::Converged);
    }
}
