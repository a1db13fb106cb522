use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::desired::Desired;
use crate::fixtures::{converged_view, three_of_each};
use crate::observed::HostObservation;
use crate::plan::{plan, BlockKind, Decision, Step};
use crate::record::Recorded;

/// A host as a healthy cgroup v1 engine answers: every check passes.
fn healthy() -> HostFacts {
    HostFacts {
        api_version: Some("1.43".into()),
        cgroup_version: Some(1),
        controllers: Some(
            ["cpu", "cpuacct", "memory", "devices", "pids"]
                .into_iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), (i as u32 + 1, true)))
                .collect(),
        ),
        clock_skew_ms: Some(120),
        disk: Component::ALL
            .into_iter()
            .map(|c| {
                (
                    c,
                    rules::Space {
                        free_bytes: 50 << 30,
                        free_inodes: 1_000_000,
                        total_inodes: 2_000_000,
                    },
                )
            })
            .collect(),
        listening: Some([22].into()),
        hostname: Some("h3".into()),
        hostname_resolves: Some(true),
        reaches: BTreeMap::new(),
        nofile: Some(1 << 20),
        other_agents: Some(vec![]),
        ..HostFacts::default()
    }
}

fn run(d: &Desired, facts: &HostFacts, running: &[Component]) -> Vec<CheckResult> {
    let running: BTreeSet<Component> = running.iter().copied().collect();
    let placed = PlacedHere::on(d, "h3", &running);
    let reached = BTreeMap::from([("h1".to_string(), true), ("h2".to_string(), true)]);
    evaluate(d, "h3", &placed, facts, &reached, &Thresholds::default())
}

fn outcome(results: &[CheckResult], c: Check) -> &CheckResult {
    results
        .iter()
        .find(|r| r.check == c)
        .expect("every check is reported")
}

#[test]
fn a_healthy_host_passes_every_check_and_each_is_reported_once() {
    let d = three_of_each();
    let results = run(&d, &healthy(), &[]);
    let names: Vec<Check> = results.iter().map(|r| r.check).collect();
    assert_eq!(names, Check::ALL.to_vec());
    for r in &results {
        assert_eq!(r.outcome, Outcome::Pass, "{r:?}");
        assert!(r.fix.is_empty());
    }
}

#[test]
fn names_parse_back_and_unknown_names_do_not() {
    for c in Check::ALL {
        assert_eq!(Check::parse(c.as_str()), Some(c));
    }
    assert_eq!(Check::parse("openfiles"), None);
    assert_eq!(Check::parse("Swap"), None);
}

#[test]
fn cgroup_v2_fails_agents_with_cgroups_isolation_only() {
    let d = three_of_each();
    let facts = HostFacts {
        cgroup_version: Some(2),
        ..healthy()
    };
    let r = run(&d, &facts, &[]);
    let v = outcome(&r, Check::CgroupVersion);
    assert_eq!(v.outcome, Outcome::Fail);
    assert!(v.detail.contains("cgroups/cpu"), "{}", v.detail);
    assert!(v.fix.contains("unified_cgroup_hierarchy=0"), "{}", v.fix);
    assert!(v.holds(Component::Agents) && !v.holds(Component::Zookeeper));

    // posix isolation does not care about the cgroup version.
    let mut posix = d.clone();
    for (k, c) in posix.containers.iter_mut() {
        if k.0 == Component::Agents {
            c.env
                .insert("MESOS_ISOLATION".into(), "posix/cpu,posix/mem".into());
        }
    }
    assert_eq!(
        outcome(&run(&posix, &facts, &[]), Check::CgroupVersion).outcome,
        Outcome::Pass
    );
}

#[test]
fn a_controller_that_is_not_mounted_fails() {
    let d = three_of_each();
    let mut facts = healthy();
    if let Some(c) = facts.controllers.as_mut() {
        c.insert("memory".into(), (0, true));
    }
    let r = outcome(&run(&d, &facts, &[]), Check::CgroupControllers).clone();
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(r.detail.contains("'memory'"), "{}", r.detail);
}

#[test]
fn clock_skew_warns_then_fails_either_way() {
    let d = three_of_each();
    for (ms, want) in [
        (500, Outcome::Pass),
        (-3_000, Outcome::Warn),
        (45_000, Outcome::Fail),
        (-45_000, Outcome::Fail),
    ] {
        let facts = HostFacts {
            clock_skew_ms: Some(ms),
            ..healthy()
        };
        let r = outcome(&run(&d, &facts, &[]), Check::ClockSkew).clone();
        assert_eq!(r.outcome, want, "{ms}ms: {}", r.detail);
        assert!(r.detail.contains(if ms < 0 { "behind" } else { "ahead" }));
    }
}

#[test]
fn an_old_engine_fails_the_api_floor() {
    let d = three_of_each();
    let facts = HostFacts {
        api_version: Some("1.24".into()),
        ..healthy()
    };
    assert_eq!(
        outcome(&run(&d, &facts, &[]), Check::DockerApiVersion).outcome,
        Outcome::Fail
    );
}

#[test]
fn a_small_volume_fails_the_member_it_holds() {
    let d = three_of_each();
    let mut facts = healthy();
    facts.disk.insert(
        Component::Agents,
        rules::Space {
            free_bytes: 1 << 20,
            free_inodes: 1_000_000,
            total_inodes: 2_000_000,
        },
    );
    let r = outcome(&run(&d, &facts, &[]), Check::DiskSpace).clone();
    assert_eq!(r.outcome, Outcome::Fail);
    assert_eq!(r.components, vec![Component::Agents]);
    assert!(r.detail.contains("agent data volume"), "{}", r.detail);
}

#[test]
fn a_port_taken_fails_unless_the_clusters_own_member_holds_it() {
    let d = three_of_each();
    let facts = HostFacts {
        listening: Some([2181, 5051].into()),
        ..healthy()
    };
    let r = outcome(&run(&d, &facts, &[]), Check::PortsFree).clone();
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(
        r.detail.contains("2181 (ZooKeeper client)") && r.detail.contains("5051 (Mesos agent)")
    );
    assert!(r.holds(Component::Agents) && r.holds(Component::Zookeeper));
    assert!(!r.holds(Component::Masters));
    // Held by this cluster's own running ZooKeeper server: only the agent's port counts.
    let r = outcome(&run(&d, &facts, &[Component::Zookeeper]), Check::PortsFree).clone();
    assert_eq!(r.components, vec![Component::Agents]);
}

#[test]
fn a_port_of_the_agents_task_range_taken_warns() {
    let d = three_of_each();
    let facts = HostFacts {
        listening: Some([31005].into()),
        ..healthy()
    };
    let r = outcome(&run(&d, &facts, &[]), Check::PortsFree).clone();
    assert_eq!(r.outcome, Outcome::Warn, "{r:?}");
    assert!(r.detail.contains("31005"), "{}", r.detail);
    // The cluster's own agent runs there: its tasks' ports are its own.
    let r = outcome(&run(&d, &facts, &[Component::Agents]), Check::PortsFree).clone();
    assert_eq!(r.outcome, Outcome::Pass, "{r:?}");
    assert_eq!(
        rules::task_port_ranges(Some("cpus:2;ports:[4000-4010, 5000-5001]")),
        vec![(4000, 4010), (5000, 5001)]
    );
    assert_eq!(rules::task_port_ranges(None), vec![(31000, 32000)]);
}

#[test]
fn an_unresolvable_name_an_unreachable_address_and_few_files_fail() {
    let d = three_of_each();
    let facts = HostFacts {
        hostname_resolves: Some(false),
        nofile: Some(1024),
        ..healthy()
    };
    let running = BTreeSet::new();
    let placed = PlacedHere::on(&d, "h3", &running);
    let reached = BTreeMap::from([("h1".to_string(), false), ("h2".to_string(), true)]);
    let r = evaluate(&d, "h3", &placed, &facts, &reached, &Thresholds::default());
    let name = outcome(&r, Check::HostnameResolves);
    assert_eq!(name.outcome, Outcome::Fail);
    assert!(name
        .detail
        .contains("Failed to obtain the IP address for 'h3'"));
    let route = outcome(&r, Check::AddressRoutable);
    assert_eq!(route.outcome, Outcome::Fail);
    assert!(route.detail.contains("10.0.0.3") && route.detail.contains("h1"));
    assert_eq!(outcome(&r, Check::OpenFiles).outcome, Outcome::Fail);
}

#[test]
fn another_agent_that_kills_orphans_fails_and_a_shared_cgroups_root_warns() {
    let d = three_of_each();
    let other = |kills: bool| OtherAgent {
        container: "other-agent-h3".into(),
        cluster: Some("other".into()),
        kills_orphans: kills,
        cgroups_root: "mesos".into(),
    };
    let facts = HostFacts {
        other_agents: Some(vec![other(true)]),
        ..healthy()
    };
    let r = outcome(&run(&d, &facts, &[]), Check::AgentsOnOneEngine).clone();
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(r.holds(Component::Agents));
    let facts = HostFacts {
        other_agents: Some(vec![other(false)]),
        ..healthy()
    };
    let r = outcome(&run(&d, &facts, &[]), Check::AgentsOnOneEngine).clone();
    assert_eq!(r.outcome, Outcome::Warn);
    assert!(r.fix.contains("MESOS_CGROUPS_ROOT"));
}

#[test]
fn facts_that_could_not_be_had_warn_and_hold_nothing() {
    let d = three_of_each();
    let facts = HostFacts {
        inside_error: Some("image has no /bin/sh".into()),
        engine_error: Some("timeout".into()),
        ..HostFacts::default()
    };
    for r in run(&d, &facts, &[]) {
        assert_ne!(r.outcome, Outcome::Fail, "{r:?}");
        assert!(Component::ALL.iter().all(|c| !r.holds(*c)));
    }
}

/// A converged cluster of three hosts whose agents on `missing` are gone, and a failed
/// check on `failing`.
fn with_failure(
    missing: &[&str],
    failing: &str,
    ignored: bool,
) -> (Desired, crate::observed::Observed) {
    let d = three_of_each();
    let mut o = converged_view(&d, 10_000);
    for h in missing {
        if let Some(HostObservation::Reachable { containers, .. }) = o.hosts.get_mut(*h) {
            containers.remove(&Component::Agents);
        }
        o.agents.members.remove(*h);
    }
    let facts = HostFacts {
        hostname: Some(failing.into()),
        hostname_resolves: Some(false),
        ..healthy()
    };
    let placed = PlacedHere::on(&d, failing, &BTreeSet::new());
    let mut results = evaluate(
        &d,
        failing,
        &placed,
        &facts,
        &BTreeMap::new(),
        &Thresholds::default(),
    );
    if ignored {
        apply_ignores(&mut results, &[Check::HostnameResolves].into());
    }
    o.preflight.insert(failing.into(), results);
    (d, o)
}

#[test]
fn a_failed_check_holds_the_placement_with_its_name_and_fix() {
    let (d, o) = with_failure(&["h3"], "h3", false);
    match plan(&d, &o, &Recorded::new_cluster(), 10_000) {
        Decision::Blocked {
            kind: BlockKind::Preflight,
            reason,
            action,
        } => {
            assert!(reason.contains("HostnameResolves on h3"), "{reason}");
            assert!(action.contains("/etc/hosts"), "{action}");
            assert!(action.contains("ignorePreflight"), "{action}");
        }
        other => panic!("{other:?}"),
    }
}

fn assert_creates_agent(d: &Desired, o: &crate::observed::Observed, host: &str) {
    assert_eq!(
        plan(d, o, &Recorded::new_cluster(), 10_000).step(),
        Some(&Step::CreateContainer {
            component: Component::Agents,
            host: host.into()
        })
    );
}

#[test]
fn the_agents_of_other_hosts_are_placed_while_one_is_held() {
    let (d, o) = with_failure(&["h2", "h3"], "h2", false);
    assert_creates_agent(&d, &o, "h3");
}

#[test]
fn a_batch_of_agents_goes_on_without_the_held_host() {
    let (d, o) = with_failure(&["h1", "h2", "h3"], "h2", false);
    match plan(&d, &o, &Recorded::new_cluster(), 10_000).step() {
        Some(Step::CreateContainers { component, hosts }) => {
            assert_eq!(*component, Component::Agents);
            assert_eq!(hosts, &vec!["h1".to_string(), "h3".to_string()]);
        }
        Some(Step::CreateContainer { host, .. }) => assert_ne!(host, "h2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_ignored_check_is_reported_and_holds_nothing() {
    let (d, o) = with_failure(&["h3"], "h3", true);
    assert!(o.preflight["h3"]
        .iter()
        .any(|r| r.ignored && r.outcome == Outcome::Fail));
    assert_creates_agent(&d, &o, "h3");
}

#[test]
fn a_host_that_passed_or_was_not_looked_at_holds_nothing() {
    let (d, mut o) = with_failure(&["h3"], "h1", false);
    // h1's failure concerns only h1's placements.
    assert!(plan(&d, &o, &Recorded::new_cluster(), 10_000)
        .step()
        .is_some());
    o.preflight.clear();
    assert!(plan(&d, &o, &Recorded::new_cluster(), 10_000)
        .step()
        .is_some());
}
