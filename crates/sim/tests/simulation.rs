//! Simulation: the planner drives a model cluster through the scenarios of the planner
//! issue, with crashes, operator deaths between (and inside) a step's operations, lost
//! hosts and broken images. Every step is checked against the invariants and every
//! operation against the model's own safety record; every scenario without a permanent
//! fault must converge.
//!
//! `SIM_SEEDS=N` runs N random seeds (default 300 per randomized test); a failing seed is
//! printed, and `SIM_SEED=S` replays exactly that one.

use mesos_operator_core::desired::Desired;
use mesos_operator_core::plan::{BlockKind, Decision};
use mesos_operator_core::spec::{parse_document, Component, MesosCluster};
use mesos_operator_sim::{drive, Faults, Interruptions, Rng, SimCluster};

fn doc(hosts: usize, zk: u32, masters: u32, marathon: u32) -> MesosCluster {
    let mut y = String::from(
        "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: sim, generation: 1}\nspec:\n  hosts:\n",
    );
    for i in 1..=hosts {
        y.push_str(&format!(
            "    - {{name: h{i:02}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///var/run/docker.sock'}}}}\n"
        ));
    }
    y.push_str(&format!(
        "  zookeeper: {{image: zookeeper:3.8.0, servers: {zk}}}\n  masters: {{image: mesos-master:1.11.0, count: {masters}, acceptRegistryReset: true}}\n  agents: {{image: mesos-agent:1.11.0}}\n  rollout: {{healthTimeout: 60s}}\n"
    ));
    if marathon > 0 {
        y.push_str(&format!(
            "  marathon: {{image: marathon:1.10.17, instances: {marathon}}}\n"
        ));
        // The discovery components come with Marathon: every scenario that changes the
        // voters, the masters or Marathon rolls them too, and the model checks that one
        // of two always serves.
        let n = hosts.min(2);
        y.push_str(&format!(
            "  dns: {{image: mesos-dns:0.1.0, instances: {n}, refreshSeconds: 5}}\n  loadBalancer: {{image: marathon-lb:0.1.0, instances: {n}}}\n"
        ));
    }
    let d = parse_document(&y).unwrap();
    mesos_operator_core::spec::validate(&d, None).unwrap();
    d
}

/// The model's containers and leaders, for a failure report.
fn describe(sim: &SimCluster) -> String {
    let mut out = format!(
        "zk={:?} zk_leader={:?} master_leader={:?} marathon_leader={:?} maintenance={:?}\n",
        sim.zk, sim.zk_leader, sim.master_leader, sim.marathon_leader, sim.maintenance
    );
    for (h, host) in &sim.hosts {
        out.push_str(&format!(
            "  {h}: reachable={} master_log={:?} zk_volume_id={:?}\n",
            host.reachable, host.master_log, host.zk_volume_id
        ));
        for (c, x) in &host.containers {
            out.push_str(&format!(
                "  {h} {c}: {} {:?} started={} id={:?} q={:?}\n",
                x.image, x.state, x.started_at, x.zk_id, x.master_quorum
            ));
        }
    }
    out
}

fn fleet(hosts: usize) -> SimCluster {
    let names: Vec<String> = (1..=hosts).map(|i| format!("h{i:02}")).collect();
    SimCluster::new("sim", &names, 1_700_000_000)
}

/// Drives to convergence with the given faults and checks the model matches the spec.
fn converge(sim: &mut SimCluster, d: &MesosCluster, rng: &mut Rng, faults: Faults) -> usize {
    let desired = Desired::from_document(d);
    // With faults the drive does not stop at convergence (faults keep coming): bound it,
    // then let the cluster settle without new faults.
    let budget = if faults.crash_percent > 0 {
        300
    } else {
        20_000
    };
    let out = drive(sim, &desired, rng, faults, budget)
        .unwrap_or_else(|e| panic!("{e}\nmodel: {}", describe(sim)));
    if faults.crash_percent > 0 {
        // Hosts away come back, with whatever they ran; then it settles without new faults.
        let away: Vec<String> = sim
            .hosts
            .iter()
            .filter(|(_, h)| !h.reachable)
            .map(|(n, _)| n.clone())
            .collect();
        for h in away {
            sim.return_host(&h);
        }
        sim.heal_partitions();
        // People finish the maintenance they started.
        sim.people_end_windows();
        let out2 =
            drive(sim, &desired, rng, Faults::default(), 20_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out2.last,
            Decision::Converged,
            "did not converge after faults stopped; last decisions:\n{}\nmodel: {}",
            out2.trace.join("\n"),
            describe(sim)
        );
        sim.matches(&desired).unwrap();
        return out.transitions + out2.transitions;
    }
    assert_eq!(
        out.last,
        Decision::Converged,
        "did not converge; last decisions:\n{}",
        out.trace.join("\n")
    );
    sim.matches(&desired).unwrap();
    out.transitions
}

/// `d` with a backup policy (`spec.backup`) where the document allows one (3 or more
/// ZooKeeper servers and masters), without one elsewhere, as a person would write it.
fn with_backup(d: &MesosCluster, on: bool, block: bool) -> MesosCluster {
    let mut d = d.clone();
    let fits = d.spec.zookeeper.servers >= 3 && d.spec.masters.count >= 3;
    d.spec.backup = (on && fits).then(|| {
        serde_yaml_ng::from_str(&format!(
            "beforeUpgrade: true\nblockUpgradeOnFailure: {block}\nschedule: 3m\nkeep: 2\ntarget: {{directory: /backups}}\n"
        ))
        .unwrap()
    });
    d
}

#[test]
fn a_version_change_of_the_masters_moves_only_after_its_backup_is_recorded() {
    let (mut sim, d) = converged_cluster(4, 3, 3, 1);
    let d = with_backup(&d, true, true);
    let d2 = bump(&d, Component::Masters, "9.9.9");
    let desired = Desired::from_document(&d2);
    let mut rng = Rng::new(3);
    // Step by step: no master runs the new image before a backup is recorded.
    for _ in 0..2_000 {
        let out = drive(&mut sim, &desired, &mut rng, Faults::default(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let moved = sim.hosts.values().any(|h| {
            h.containers
                .get(&Component::Masters)
                .is_some_and(|c| c.image.ends_with(":9.9.9"))
        });
        if moved {
            assert!(
                sim.record
                    .backup
                    .covers
                    .as_ref()
                    .is_some_and(|c| c.1.ends_with(":9.9.9")),
                "a master moved before its backup was recorded"
            );
        }
        if out.last == Decision::Converged {
            break;
        }
    }
    sim.matches(&desired).unwrap();
    // The schedule's first (the policy is new) and the one before the change; keep: 2.
    assert_eq!(sim.backups_recorded.len(), 2);
    let covers = sim.record.backup.covers.clone().unwrap();
    assert!(covers.1.ends_with(":9.9.9"), "{covers:?}");
}

#[test]
fn a_backup_target_that_fails_blocks_the_version_change_with_its_reason() {
    let (mut sim, d) = converged_cluster(4, 3, 3, 1);
    let d = with_backup(&d, true, true);
    let d2 = bump(&d, Component::Zookeeper, "3.8.9");
    sim.backup_target_broken = true;
    let out = drive(
        &mut sim,
        &Desired::from_document(&d2),
        &mut Rng::new(5),
        Faults::default(),
        300,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    match &out.last {
        Decision::Blocked { kind, reason, .. } => {
            assert_eq!(*kind, BlockKind::Backup);
            assert!(reason.contains("refuses writes"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sim.hosts.values().all(|h| h
        .containers
        .get(&Component::Zookeeper)
        .is_none_or(|c| !c.image.ends_with(":3.8.9"))));
    // The target fixed and the document applied again: the backup, then the change.
    sim.backup_target_broken = false;
    let mut d3 = d2.clone();
    d3.metadata.generation = d3.metadata.generation.map(|g| g + 1);
    converge(&mut sim, &d3, &mut Rng::new(6), Faults::default());
    assert!(sim.record.backup.covers.is_some());
    assert!(!sim.backups_recorded.is_empty());
}

#[test]
fn bootstrap_from_nothing() {
    let mut sim = fleet(5);
    let d = doc(5, 3, 3, 1);
    converge(&mut sim, &d, &mut Rng::new(1), Faults::default());
    let voters = sim.zk.as_ref().unwrap().voters.len();
    assert_eq!(voters, 3);
}

fn bump(d: &MesosCluster, c: Component, tag: &str) -> MesosCluster {
    let mut d = d.clone();
    let img = d.image_mut(c).unwrap();
    let repo = img.split(':').next().unwrap().to_string();
    *img = format!("{repo}:{tag}");
    d.metadata.generation = d.metadata.generation.map(|g| g + 1);
    d
}

fn converged_cluster(
    hosts: usize,
    zk: u32,
    masters: u32,
    marathon: u32,
) -> (SimCluster, MesosCluster) {
    let mut sim = fleet(hosts);
    let d = doc(hosts, zk, masters, marathon);
    converge(&mut sim, &d, &mut Rng::new(7), Faults::default());
    (sim, d)
}

#[test]
fn version_bump_of_each_component() {
    for c in Component::ALL {
        let (mut sim, d) = converged_cluster(4, 3, 3, 2);
        let d2 = bump(&d, c, "9.9.9");
        converge(&mut sim, &d2, &mut Rng::new(11), Faults::default());
    }
}

#[test]
fn bumping_all_four_at_once_goes_in_order() {
    let (mut sim, d) = converged_cluster(4, 3, 3, 2);
    let mut d2 = d.clone();
    for c in Component::ALL {
        d2 = bump(&d2, c, "2.0.0");
    }
    let desired = Desired::from_document(&d2);
    // Watch the order of replacements: no master before every ZooKeeper server is done, etc.
    let mut seen: Vec<Component> = Vec::new();
    let mut rng = Rng::new(3);
    for _ in 0..5000 {
        let o = sim.observe();
        match mesos_operator_core::plan::plan(&desired, &o, &sim.record, sim.now) {
            Decision::Act { step, .. } => {
                let staged = mesos_operator_core::plan::stage(&desired, &o, &sim.record);
                mesos_operator_core::invariants::check_step(&staged, &o, &sim.record, &step)
                    .unwrap();
                if seen.last() != Some(&step.component()) {
                    seen.push(step.component());
                }
                sim.run_step(&staged, &o, &step, |_| Interruptions::default())
                    .unwrap();
                sim.tick(1);
            }
            Decision::Converged => break,
            Decision::Wait { .. } => sim.tick(1 + rng.below(3)),
            other => panic!("{other:?}"),
        }
    }
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    sim.matches(&desired).unwrap();
    assert_eq!(
        seen,
        Component::ALL.to_vec(),
        "components were rolled out of order"
    );
}

#[test]
fn zookeeper_grows_one_to_three_to_five_and_shrinks_to_three() {
    let (mut sim, d) = converged_cluster(5, 1, 3, 1);
    let mut rng = Rng::new(5);
    for servers in [3, 5, 3] {
        let mut d2 = d.clone();
        d2.spec.zookeeper.servers = servers;
        let before = sim.zk_highest_id;
        converge(&mut sim, &d2, &mut rng, Faults::default());
        assert_eq!(sim.zk.as_ref().unwrap().voters.len(), servers as usize);
        // Ids only go up.
        assert!(sim.zk_highest_id >= before);
        // Masters, agents and Marathon were restarted onto the new connection string.
        let desired = Desired::from_document(&d2);
        let want = &desired.container(Component::Masters, "h01").unwrap().env["MESOS_ZK"];
        assert_eq!(want.matches(':').count(), servers as usize + 1);
    }
}

#[test]
fn masters_grow_three_to_five_and_shrink_to_three() {
    let (mut sim, d) = converged_cluster(5, 3, 3, 1);
    let mut rng = Rng::new(9);
    for count in [5, 3] {
        let mut d2 = d.clone();
        d2.spec.masters.count = count;
        converge(&mut sim, &d2, &mut rng, Faults::default());
        let n = sim
            .hosts
            .values()
            .filter(|h| h.containers.contains_key(&Component::Masters))
            .count();
        assert_eq!(n, count as usize);
    }
}

#[test]
fn masters_grow_from_one_only_with_registry_reset() {
    let (mut sim, d) = converged_cluster(3, 3, 1, 1);
    let mut d2 = d.clone();
    d2.spec.masters.count = 3;
    d2.spec.masters.accept_registry_reset = false;
    let desired = Desired::from_document(&d2);
    let out = drive(&mut sim, &desired, &mut Rng::new(1), Faults::default(), 200).unwrap();
    assert!(
        matches!(&out.last, Decision::Blocked { kind: BlockKind::Safety, reason, .. } if reason.contains("registry")),
        "{:?}",
        out.last
    );
    d2.spec.masters.accept_registry_reset = true;
    converge(&mut sim, &d2, &mut Rng::new(1), Faults::default());
}

#[test]
fn a_crashed_container_of_each_kind_is_repaired() {
    for c in Component::ALL {
        let (mut sim, d) = converged_cluster(3, 3, 3, 1);
        let host = if c == Component::Marathon {
            "h01"
        } else {
            "h02"
        };
        sim.crash(c, host);
        // Let the crash-loop guard's window pass: this container ran fine for a while.
        sim.tick(120);
        converge(&mut sim, &d, &mut Rng::new(2), Faults::default());
    }
}

#[test]
fn a_host_lost_for_good_is_replaced_after_the_spec_drops_it() {
    let (mut sim, d) = converged_cluster(4, 3, 3, 1);
    sim.lose_host("h02");
    // While it is in the spec, the operator reports the loss and does nothing unsafe.
    let desired = Desired::from_document(&d);
    let out = drive(&mut sim, &desired, &mut Rng::new(4), Faults::default(), 50).unwrap();
    assert!(
        matches!(
            out.last,
            Decision::Blocked {
                kind: BlockKind::Degraded,
                ..
            }
        ),
        "{:?}",
        out.last
    );
    // The user removes the host from the document. Its master may still run out of sight
    // and would come back with the host: no fourth master is created beside it.
    let mut d2 = d.clone();
    d2.spec.hosts.retain(|h| h.name != "h02");
    let desired2 = Desired::from_document(&d2);
    let out = drive(
        &mut sim,
        &desired2,
        &mut Rng::new(4),
        Faults::default(),
        300,
    )
    .unwrap();
    assert!(
        matches!(&out.last, Decision::Blocked { .. }),
        "{:?}",
        out.last
    );
    // The host is destroyed, and a person says so; its members move to h04.
    sim.hosts.remove("h02");
    sim.record.master_hosts.remove("h02");
    converge(&mut sim, &d2, &mut Rng::new(4), Faults::default());
    assert!(sim.zk.as_ref().unwrap().voters.values().all(|h| h != "h02"));
}

#[test]
fn a_broken_image_blocks_the_rollout_and_rollback_recovers() {
    for c in Component::ALL {
        let (mut sim, d) = converged_cluster(3, 3, 3, 1);
        let d2 = bump(&d, c, "broken");
        let desired = Desired::from_document(&d2);
        sim.broken_images
            .insert(desired.image_of(c).unwrap().to_string());
        let out = drive(
            &mut sim,
            &desired,
            &mut Rng::new(6),
            Faults::default(),
            2000,
        )
        .unwrap();
        assert!(
            matches!(
                &out.last,
                Decision::Blocked {
                    kind: BlockKind::HealthTimeout | BlockKind::CrashLoop,
                    ..
                }
            ),
            "{c}: {:?}",
            out.last
        );
        // Only one member was ever taken down for it.
        let broken = sim
            .hosts
            .values()
            .filter(|h| {
                h.containers
                    .get(&c)
                    .is_some_and(|x| x.image.ends_with(":broken"))
            })
            .count();
        assert_eq!(
            broken, 1,
            "{c}: more than one member moved onto a broken image"
        );
        converge(&mut sim, &d, &mut Rng::new(6), Faults::default());
    }
}

#[test]
fn paused_only_waits() {
    let (mut sim, d) = converged_cluster(3, 3, 3, 1);
    let mut d2 = bump(&d, Component::Masters, "1.12.0");
    d2.spec.rollout.paused = true;
    let desired = Desired::from_document(&d2);
    let o = sim.observe();
    assert!(matches!(
        mesos_operator_core::plan::plan(&desired, &o, &sim.record, sim.now),
        Decision::Wait { .. }
    ));
    sim.tick(1);
}

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("SIM_SEED") {
        return vec![s.parse().expect("SIM_SEED")];
    }
    let n = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    // SIM_SEED_FROM=k: seeds k..k+n (to split a long run).
    let from: u64 = std::env::var("SIM_SEED_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (from..from + n).collect()
}

/// A random walk of spec changes with every fault of the model ([`Faults::unkind`]):
/// ZooKeeper sizes and master counts 1, 3, 5, 7, image bumps, placement edits, Marathon
/// instances; some changes land in the middle of the previous rollout.
fn random_walk(seed: u64) -> usize {
    random_walk_with(seed, false)
}

/// [`random_walk`], with DNS and the load balancer in the document when `discovery`: the
/// walk's draws are the same, so the seeds of the walk without them keep their paths.
fn random_walk_with(seed: u64, discovery: bool) -> usize {
    let mut rng = Rng::new(seed);
    let hosts = 3 + rng.below(6) as usize;
    let sizes: Vec<u32> = [1u32, 3, 5, 7]
        .into_iter()
        .filter(|n| *n as usize <= hosts)
        .collect();
    let pick = |rng: &mut Rng| sizes[rng.below(sizes.len() as u64) as usize];
    let mut d = doc(
        hosts,
        pick(&mut rng),
        pick(&mut rng),
        1 + rng.below(2) as u32,
    );
    if !discovery {
        d.spec.dns = None;
        d.spec.load_balancer = None;
    }
    let mut sim = fleet(hosts);
    let mut transitions = 0;
    let faults = Faults::unkind();
    // Backups (issue 26) in half the walks, from an RNG of their own: the walk's draws stay
    // what they were.
    let mut backup_rng = Rng::new(seed ^ 0x0bac_0bac);
    let backups = backup_rng.percent(50);
    let blocks = backup_rng.percent(70);
    d = with_backup(&d, backups, blocks);
    transitions += converge(&mut sim, &d, &mut rng, faults);
    for round in 0..4u64 {
        // The target fails for a while now and then; fixed, the document is applied again.
        if backups && backup_rng.percent(15) {
            sim.backup_target_broken = true;
            let n = 20 + backup_rng.below(100) as usize;
            let out = drive(&mut sim, &Desired::from_document(&d), &mut rng, faults, n)
                .unwrap_or_else(|e| panic!("{e}\nmodel: {}", describe(&sim)));
            transitions += out.transitions;
            sim.backup_target_broken = false;
            d.metadata.generation = d.metadata.generation.map(|g| g + 1);
        }
        // Versions only go forward (a Marathon downgrade is refused by design).
        let v = |rng: &mut Rng| format!("{}.{}.0", 2 + round, rng.below(50));
        let mut d2 = d.clone();
        // A member of one cannot be replaced without an outage, which the rules forbid:
        // image changes go only to components that have more than one.
        let bumpable: Vec<Component> = Component::ALL
            .into_iter()
            .filter(|c| match c {
                Component::Zookeeper => d.spec.zookeeper.servers > 1,
                Component::Masters => d.spec.masters.count > 1,
                Component::Dns => d.spec.dns.as_ref().is_some_and(|x| x.instances > 1),
                Component::LoadBalancer => d
                    .spec
                    .load_balancer
                    .as_ref()
                    .is_some_and(|x| x.instances > 1),
                _ => true,
            })
            .collect();
        let mistakable: Vec<Component> = bumpable
            .iter()
            .copied()
            .filter(|c| *c != Component::Marathon)
            .collect();
        if d.spec.marathon.is_some() && rng.percent(5) {
            // A person goes back to an old Marathon (1.0.0, older than any the walk ran),
            // half the time after removing every Marathon container by hand. Marathon's
            // state was migrated by the newest version that led: going back over it is a
            // downgrade the document does not allow, and the model flags an older Marathon
            // started over it. Then the person goes forward again, past every version so far.
            let back = bump(&d, Component::Marathon, "1.0.0");
            if rng.percent(50) {
                let names: Vec<String> = sim.hosts.keys().cloned().collect();
                for h in names {
                    sim.person_removes(Component::Marathon, &h);
                }
            }
            let n = 20 + rng.below(100) as usize;
            let out = drive(
                &mut sim,
                &Desired::from_document(&back),
                &mut rng,
                faults,
                n,
            )
            .unwrap_or_else(|e| panic!("{e}\nmodel: {}", describe(&sim)));
            transitions += out.transitions;
            let forward = bump(&d, Component::Marathon, &format!("{}.99.0", 2 + round));
            transitions += converge(&mut sim, &forward, &mut rng, faults);
            d = forward;
            continue;
        }
        if !mistakable.is_empty() && rng.percent(10) {
            // A person's mistake: a tag no registry has (a typo), or one that never turns
            // healthy. The operator must stop at it having taken down at most one member
            // (a pull comes before any stop), and the rollback (the previous document
            // stored again) must converge. Marathon is left out: going back over state a
            // new version may have migrated is refused by design.
            let c = mistakable[rng.below(mistakable.len() as u64) as usize];
            let missing = rng.percent(50);
            let bad = bump(&d, c, if missing { "9.9.9-typo" } else { "9.9.9-bad" });
            let desired_bad = Desired::from_document(&bad);
            let image = desired_bad.image_of(c).unwrap_or_default().to_string();
            if missing {
                sim.missing_images.insert(image);
            } else {
                sim.broken_images.insert(image);
            }
            let n = 20 + rng.below(200) as usize;
            let out = drive(&mut sim, &desired_bad, &mut rng, faults, n)
                .unwrap_or_else(|e| panic!("{e}\nmodel: {}", describe(&sim)));
            transitions += out.transitions;
            transitions += converge(&mut sim, &d, &mut rng, faults);
            continue;
        }
        match rng.below(7) {
            0 => {
                let tag = v(&mut rng);
                let c = bumpable[rng.below(bumpable.len() as u64) as usize];
                d2 = bump(&d2, c, &tag)
            }
            1 => d2.spec.zookeeper.servers = pick(&mut rng),
            2 => d2.spec.masters.count = pick(&mut rng),
            3 => d2.spec.marathon.as_mut().unwrap().instances = 1 + rng.below(2) as u32,
            4 => {
                // Placement edit: a shuffled preference list.
                let mut names: Vec<String> = (1..=hosts).map(|i| format!("h{i:02}")).collect();
                for i in (1..names.len()).rev() {
                    names.swap(i, rng.below(i as u64 + 1) as usize);
                }
                if rng.percent(50) {
                    d2.spec.zookeeper.hosts = Some(names);
                } else {
                    d2.spec.masters.hosts = Some(names);
                }
            }
            5 => {
                d2.spec.zookeeper.servers = pick(&mut rng);
                d2.spec.masters.count = pick(&mut rng);
            }
            _ => {
                for c in bumpable {
                    let tag = v(&mut rng);
                    d2 = bump(&d2, c, &tag);
                }
            }
        }
        d2 = with_backup(&d2, backups, blocks);
        if mesos_operator_core::spec::validate(&d2, Some(&d)).is_err() {
            continue;
        }
        // A single master cannot be restarted onto a new ZooKeeper string without an
        // outage, which the rules forbid (the planner blocks and says so).
        let masters_of = |x: &MesosCluster| {
            Desired::from_document(x)
                .containers
                .into_iter()
                .filter(|((c, _), _)| *c == Component::Masters)
                .map(|(k, v)| (k, v.config_hash))
                .collect::<Vec<_>>()
        };
        if d.spec.masters.count == 1
            && d2.spec.masters.count == 1
            && masters_of(&d) != masters_of(&d2)
        {
            continue;
        }
        // Nor may a lone ZooKeeper server or master end up running something other than
        // what the new document asks of it (after a change in the middle of a rollout).
        let desired2 = Desired::from_document(&d2);
        let lone_differs = |c: Component, n: u32| {
            n == 1
                && sim.hosts.iter().any(|(h, x)| {
                    x.containers.get(&c).is_some_and(|k| {
                        desired2.container(c, h).map(|s| &s.config_hash) != Some(&k.config_hash)
                    })
                })
        };
        if lone_differs(Component::Zookeeper, d2.spec.zookeeper.servers)
            || lone_differs(Component::Masters, d2.spec.masters.count)
        {
            continue;
        }
        if rng.percent(40) {
            // Change the spec again in the middle of this rollout.
            let desired = Desired::from_document(&d2);
            let n = 1 + rng.below(40) as usize;
            let out = drive(&mut sim, &desired, &mut rng, faults, n)
                .unwrap_or_else(|e| panic!("{e}\nmodel: {}", describe(&sim)));
            transitions += out.transitions;
            d = d2;
            continue;
        }
        transitions += converge(&mut sim, &d2, &mut rng, faults);
        d = d2;
    }
    transitions + converge(&mut sim, &d, &mut rng, faults)
}

/// The text a panic carried.
fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The seeds run on every core (`SIM_THREADS=n` for another number): walks are
/// independent, and the default 2,000 of `make test` take half the time on two cores.
#[test]
fn random_seeds_with_crashes_and_midway_deaths_stay_safe_and_converge() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    // SIM_SURVEY=1: run every seed and list the failures instead of stopping at the first.
    let survey = std::env::var("SIM_SURVEY").is_ok();
    // Counterexamples the unkind simulation found that are not fixed yet, each listed in
    // crates/sim/SIMULATION.md with its class. They are run (SIM_SEED=n replays one) but do
    // not fail the suite; any other failing seed does. This list is meant to shrink to empty.
    const KNOWN_OPEN: &[u64] = &[];
    let explicit = std::env::var("SIM_SEED").is_ok();
    let all = seeds(2000);
    let run: Vec<u64> = all
        .iter()
        .copied()
        .filter(|s| !KNOWN_OPEN.contains(s) || explicit || survey)
        .collect();
    let open_seen = all.len() - run.len();
    let threads = std::env::var("SIM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let total = AtomicUsize::new(0);
    let failed: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&seed) = run.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let result = std::panic::catch_unwind(|| random_walk(seed));
                    let done = finished.fetch_add(1, Ordering::Relaxed) + 1;
                    if survey && done.is_multiple_of(1000) {
                        eprintln!("SURVEY progress: {done} of {} seeds walked", run.len());
                    }
                    match result {
                        Ok(t) => {
                            total.fetch_add(t, Ordering::Relaxed);
                        }
                        Err(e) => {
                            let msg = panic_text(e.as_ref());
                            if survey {
                                // Named at once: a long survey stopped half-way keeps them.
                                let first: String = msg
                                    .lines()
                                    .nth(1)
                                    .unwrap_or_default()
                                    .chars()
                                    .take(160)
                                    .collect();
                                eprintln!(
                                    "SURVEY seed {seed}: {}\n    {first}",
                                    msg.lines().next().unwrap_or_default()
                                );
                            } else {
                                stop.store(true, Ordering::Relaxed);
                            }
                            failed.lock().unwrap().push((seed, msg));
                        }
                    }
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap();
    failed.sort();
    if let (false, Some((seed, msg))) = (survey, failed.first()) {
        panic!("seed {seed} failed (replay with SIM_SEED={seed}): {msg}");
    }
    let seeds_failed: Vec<u64> = failed.iter().map(|(s, _)| *s).collect();
    assert!(
        failed.is_empty(),
        "{} seeds failed: {seeds_failed:?}",
        failed.len()
    );
    eprintln!(
        "simulated transitions: {}; known open counterexamples skipped: {open_seen}",
        total.load(Ordering::Relaxed)
    );
}

/// The random walk with DNS and the load balancer in every document (two of each): every
/// change of voters, masters and Marathon instances rolls them after Marathon, faults and
/// operator deaths included, and the model checks after every operation that one of them
/// still serves when one did. `SIM_DISCOVERY_SEEDS=N` (default 150; 300 took 83 s on one
/// core here); `SIM_SEED` replays one.
#[test]
fn random_seeds_with_dns_and_the_load_balancer_keep_one_serving_and_converge() {
    let n: u64 = std::env::var("SIM_DISCOVERY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let seeds: Vec<u64> = match std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(s) => vec![s],
        None => (0..n).collect(),
    };
    let survey = std::env::var("SIM_SURVEY").is_ok();
    let mut failed = Vec::new();
    for seed in seeds {
        if let Err(e) = std::panic::catch_unwind(|| random_walk_with(seed, true)) {
            let msg = panic_text(e.as_ref());
            if !survey {
                panic!("seed {seed} failed (replay with SIM_SEED={seed}): {msg}");
            }
            eprintln!(
                "SURVEY seed {seed}: {}",
                msg.lines().next().unwrap_or_default()
            );
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "seeds failed: {failed:?}");
}

/// Seeds past `make test`'s 2,000 that once failed, replayed on every run. 29603: a master out
/// of sight with quorum 3, counted for the ceiling at the stage's quorum 4 during a growth
/// 5 -> 7, let repair start a sixth master beside it (the record now keeps the quorum each
/// master was last seen with; a walk of the step-level model, another walk now). On the
/// op-level model: 14668, two masters of quorum 3 beside a kept replica the stage left out
/// (SIMULATION.md, counterexample 23); 38424, a drained window waiting for the budget a
/// missing agent held (counterexample 24). Session 12: 11094, a silent server on a host
/// ZooKeeper was leaving, whose replacement had no operations (counterexample 40); 13390 and
/// 19438, an agent never listed again waited for before its drain (counterexample 41);
/// 21962, masters stopped by a person on hosts being left, never started again
/// (counterexample 42).
#[test]
fn fixed_seeds_beyond_the_first_2000_stay_fixed() {
    for seed in [29603, 14668, 38424, 11094, 13390, 19438, 21962] {
        if let Err(e) = std::panic::catch_unwind(|| random_walk(seed)) {
            let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!("seed {seed}: {msg}");
        }
    }
}
