//! Unit tests of the planner's internals. The rules of `shared/design/safety.md`, each on a
//! small cluster brought to convergence by the model, are tested in the model's crate
//! (`crates/sim/tests/plan_rules.rs`): the model depends on this crate, so its tests cannot
//! live here.

#[test]
fn a_pinned_digest_is_not_read_as_marathon_s_version() {
    // Digest pinning writes `tag@sha256:…`; the downgrade guard must still see the tag.
    let pinned = format!("reg:5000/marathon:1.10.26@sha256:{}", "ab".repeat(32));
    assert_eq!(super::marathon::tag_version(&pinned), Some(vec![1, 10, 26]));
    assert_eq!(
        super::marathon::tag_version("marathon:1.10.17"),
        Some(vec![1, 10, 17])
    );
}

use super::{plan, Decision, Step};
use crate::fixtures::{converged_view, document, three_of_each};
use crate::observed::HostObservation;
use crate::record::{note_observed, record_before, Recorded};
use crate::spec::Component;

/// Found by the model once it cut steps between their operations (issue 21): a registry
/// reset ran to its end (old master removed, log wiped, new master created with quorum 2)
/// and the operator died before it wrote the record after it. The reset stayed recorded,
/// and when that master's container later went missing (removed by hand) the planner
/// "finished" the reset: it wiped a log that was already a voting replica of the new
/// quorum. The next look that sees the host's master on a quorum above 1 retires it: only
/// the reset's own creation puts such a master there.
#[test]
fn a_registry_reset_whose_last_record_write_was_lost_is_retired_by_the_next_look() {
    let d = three_of_each();
    let now = 1_000_000;
    let view = converged_view(&d, now);
    let mut recorded = Recorded::new_cluster();
    recorded.zk_highest_id = Some(3);
    let reset = Step::ReplaceContainer {
        component: Component::Masters,
        host: "h1".into(),
        reset_registry: true,
    };
    // Written before the reset's first operation; the one after it was lost.
    let in_flight = record_before(&reset, &recorded, now - 30);
    let seen = note_observed(&in_flight, &d.name, &view, now);
    assert!(
        seen.registry_reset.is_empty(),
        "a reset whose new master runs stays recorded: {:?}",
        seen.registry_reset
    );
    // Later the master's container on h1 is gone; its volume (a voting replica) stays.
    let mut gone = view.clone();
    if let Some(HostObservation::Reachable { containers, .. }) = gone.hosts.get_mut("h1") {
        containers.remove(&Component::Masters);
    }
    gone.masters.members.remove("h1");
    gone.masters.leader = Some("h2".into());
    let later = note_observed(&seen, &d.name, &gone, now + 60);
    let decision = plan(&d, &gone, &later, now + 60);
    assert!(
        matches!(
            decision.step(),
            Some(Step::CreateContainer {
                component: Component::Masters,
                host,
            }) if host == "h1"
        ),
        "the master is created again on its volume, its log kept: {decision:?}"
    );
    assert!(!matches!(decision, Decision::Blocked { .. }));
}

/// Seed 14668 of the op-level model's sweep (liveness; the class of the open seeds 44984,
/// 575 and 1945 of earlier models): growing 3 -> 5 masters (quorum 2 -> 3), h2 and h3 were
/// restarted with quorum 3 and the operator died in h1's replacement right after the
/// removal (its volume, a voting replica, kept). Then the document moved the masters to
/// h3..h7. Every master that exists ran the document's quorum, so the stage was the
/// document itself: h1's volume was no master of it, two masters with quorum 3 could not
/// recover, no new master could catch up from them, and removing h2 would break the
/// floor: blocked for good. While the masters that exist are fewer than their quorum, a
/// master volume without a container stays in the stage, and the master is created on it
/// again first.
#[test]
fn masters_short_of_their_quorum_bring_back_a_kept_replica_before_moving() {
    let now = 1_000_000;
    let before = document(7, 3, &[]);
    let moved = document(7, 5, &["h3", "h4", "h5", "h6", "h7"]);
    let mut o = converged_view(&before, now);
    let hash = |d: &crate::desired::Desired, h: &str| {
        d.container(Component::Masters, h)
            .map(|c| c.config_hash.clone())
            .unwrap_or_default()
    };
    let quorum3_h2 = hash(&moved.with_masters(&["h2".into()], 5), "h2");
    for (h, q3_hash) in [("h2", quorum3_h2), ("h3", hash(&moved, "h3"))] {
        if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut(h) {
            if let Some(c) = containers.get_mut(&Component::Masters) {
                c.master_quorum = Some(3);
                c.config_hash = q3_hash;
                c.started_at = now - 10;
            }
        }
    }
    // Both replicas vote, but two of quorum 3 recover no registry: h2 leads without one.
    if let Some(m) = o.masters.members.get_mut("h2") {
        m.recovered = false;
        m.elected = true;
    }
    if let Some(m) = o.masters.members.get_mut("h3") {
        m.elected = false;
    }
    // h1's replacement cut short after the removal: the volume stays.
    if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut("h1") {
        containers.remove(&Component::Masters);
    }
    o.masters.members.remove("h1");
    o.masters.leader = Some("h2".into());
    let mut recorded = Recorded::new_cluster();
    recorded.zk_highest_id = Some(3);
    let cut = Step::ReplaceContainer {
        component: Component::Masters,
        host: "h1".into(),
        reset_registry: false,
    };
    let r = note_observed(&record_before(&cut, &recorded, now - 5), "t", &o, now);
    let decision = plan(&moved, &o, &r, now);
    assert!(
        matches!(
            decision.step(),
            Some(Step::CreateContainer {
                component: Component::Masters,
                host,
            }) if host == "h1"
        ),
        "the master is created again on its kept volume: {decision:?}"
    );
}

/// Seed 38424 of the op-level sweep (liveness): an agent's replacement failed after the
/// removal (its host was lost before the creation), and while that host was away the next
/// outdated agent's host was scheduled for maintenance (draining keeps an agent in
/// service). Back, the first host had no agent: out of service, it held the budget of one,
/// and the drained window waited for that budget "for the agent to be created", which
/// only the pass after the windows would have done: blocked for good. An agent that holds
/// the budget only because its container is missing is created first: that takes nothing
/// out of service and gives the budget back.
#[test]
fn agents_a_missing_agent_holding_the_budget_is_created_not_waited_for() {
    let now = 1_000_000;
    let mut d = document(4, 3, &[]);
    d.drain_agents = true;
    let mut o = converged_view(&d, now);
    // h3's agent is outdated and in the operator's window, drained long enough.
    let drain = Step::AgentDrain { host: "h3".into() };
    let mut recorded = Recorded::new_cluster();
    recorded.zk_highest_id = Some(3);
    let r = crate::record::record_after(&drain, &record_before(&drain, &recorded, now - 120));
    o.agents
        .maintenance
        .insert("h3".into(), crate::observed::Maintenance::Draining);
    o.agents.windows.insert("h3".into(), now - 120);
    // h4's agent was removed by a replacement that never created it again.
    for (h, hash) in [("h3", Some("outdated")), ("h4", None)] {
        if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut(h) {
            match hash {
                Some(x) => {
                    if let Some(c) = containers.get_mut(&Component::Agents) {
                        c.config_hash = x.into();
                    }
                }
                None => {
                    containers.remove(&Component::Agents);
                }
            }
        }
    }
    o.agents.members.remove("h4");
    let r = note_observed(&r, "t", &o, now);
    let decision = plan(&d, &o, &r, now);
    assert!(
        matches!(
            decision.step(),
            Some(Step::CreateContainer {
                component: Component::Agents,
                host,
            }) if host == "h4"
        ),
        "{decision:?}"
    );
}

/// Issue 22, item 8, the masters' side: a master cut off from the other two past its
/// ZooKeeper session still answers `/health` and its own metrics as before, but its replica
/// is gone from the log's group in ZooKeeper. A masters bump must not stop either of the two
/// masters that still form the log's quorum of 2 (that would leave one replica of three).
#[test]
fn a_master_out_of_the_log_group_is_not_counted_and_the_two_that_are_stay() {
    let running = three_of_each();
    let now = 1_000_000;
    let mut o = converged_view(&running, now);
    let y = "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n    - {name: h1, address: 10.0.0.1, docker: {endpoint: 'unix:///d.sock'}}\n    - {name: h2, address: 10.0.0.2, docker: {endpoint: 'unix:///d.sock'}}\n    - {name: h3, address: 10.0.0.3, docker: {endpoint: 'unix:///d.sock'}}\n  zookeeper: {image: zk:1, servers: 3}\n  masters: {image: m:2, count: 3, acceptRegistryReset: true}\n  agents: {image: a:1}\n";
    let bumped = crate::desired::Desired::from_document(&crate::spec::parse_document(y).unwrap());
    for m in o.masters.members.values_mut() {
        m.in_log_group = Some(true);
    }
    if let Some(m) = o.masters.members.get_mut("h3") {
        m.in_log_group = Some(false);
    }
    let r = note_observed(&Recorded::new_cluster(), "t", &o, now);
    let decision = plan(&bumped, &o, &r, now);
    if let Some(Step::ReplaceContainer {
        component: Component::Masters,
        host,
        ..
    }) = decision.step()
    {
        assert_eq!(
            host, "h3",
            "a master of the two in the log's group was replaced: {decision:?}"
        );
    }
    // Seen in the group again, the rollout goes on as usual (a follower first).
    if let Some(m) = o.masters.members.get_mut("h3") {
        m.in_log_group = Some(true);
    }
    let decision = plan(&bumped, &o, &r, now);
    assert!(
        matches!(
            decision.step(),
            Some(Step::ReplaceContainer {
                component: Component::Masters,
                ..
            })
        ),
        "{decision:?}"
    );
}

/// Issue 23: a leader that refuses the operator its maintenance (401) makes the rollout
/// wait with the refusal's own words (the field and the secret), not "did not answer".
#[test]
fn agents_wait_naming_the_credentials_when_the_leader_refuses_its_maintenance() {
    let now = 1_000_000;
    let mut d = document(3, 3, &[]);
    d.drain_agents = true;
    let mut o = converged_view(&d, now);
    if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut("h3") {
        if let Some(c) = containers.get_mut(&Component::Agents) {
            c.config_hash = "outdated".into();
        }
    }
    o.agents.maintenance_read = false;
    let mut recorded = Recorded::new_cluster();
    recorded.zk_highest_id = Some(3);
    let r = note_observed(&recorded, "t", &o, now);
    let reason = |d: &Decision| match d {
        Decision::Wait { reason, .. } => reason.clone(),
        other => panic!("not a wait: {other:?}"),
    };
    let plain = reason(&plan(&d, &o, &r, now));
    assert!(plain.contains("did not answer"), "{plain}");
    o.agents.maintenance_refused =
        Some("401 Unauthorized: the credentials of spec.httpCredentials (secret mesos-http) were refused".into());
    let refused = reason(&plan(&d, &o, &r, now));
    assert!(
        refused.contains("refused") && refused.contains("mesos-http"),
        "{refused}"
    );
}

/// Issue 24: right after a master is replaced, it answers `/health` before its replica has
/// recovered. The next master waits for it as a health gate (phase Progressing, looked at
/// again soon), as it did for the `/health` itself; it is not reported Blocked ("bring the
/// other masters back to health first") for the seconds a replica takes to catch up, and is
/// reported so once the master is still not recovered past its healthTimeout. Nothing is
/// stopped either way.
#[test]
fn a_replaced_master_catching_up_is_waited_for_not_reported_blocked() {
    let running = three_of_each();
    let now = 1_000_000;
    let mut o = converged_view(&running, now - 600);
    let y = "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n    - {name: h1, address: 10.0.0.1, docker: {endpoint: 'unix:///d.sock'}}\n    - {name: h2, address: 10.0.0.2, docker: {endpoint: 'unix:///d.sock'}}\n    - {name: h3, address: 10.0.0.3, docker: {endpoint: 'unix:///d.sock'}}\n  zookeeper: {image: zk:1, servers: 3}\n  masters: {image: m:2, count: 3}\n  agents: {image: a:1}\n  rollout: {healthTimeout: 60s}\n";
    let bumped = crate::desired::Desired::from_document(&crate::spec::parse_document(y).unwrap());
    // h2 runs the new configuration since 2 s: healthy, its replica not recovered yet.
    let spec = bumped.container(Component::Masters, "h2").cloned().unwrap();
    if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut("h2") {
        if let Some(c) = containers.get_mut(&Component::Masters) {
            c.config_hash = spec.config_hash.clone();
            c.image = spec.image.clone();
            c.started_at = now - 2;
        }
    }
    if let Some(m) = o.masters.members.get_mut("h2") {
        m.recovered = false;
    }
    let r = note_observed(&Recorded::new_cluster(), "t", &o, now);
    let decision = plan(&bumped, &o, &r, now);
    match &decision {
        Decision::Wait { reason, until } => {
            assert!(reason.contains("h2"), "{reason}");
            assert_eq!(*until, Some(now - 2 + 60), "until its healthTimeout");
        }
        other => panic!("not a wait for the master catching up: {other:?}"),
    }
    // Past its healthTimeout it is a block a person must look at; still nothing moves.
    let late = now + 60;
    let decision = plan(&bumped, &o, &note_observed(&r, "t", &o, late), late);
    assert!(matches!(decision, Decision::Blocked { .. }), "{decision:?}");
    assert!(decision.step().is_none());
}
