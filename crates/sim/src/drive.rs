//! The planner driven against the model as the runtime drives it against the fleet: look,
//! note the look in the record, plan, and carry a step out through the step protocol
//! ([`SimCluster::run_step`]), with the faults of [`Faults`] on the way. Every step is
//! checked with `mesos_operator_core::invariants::check_step` before it runs, and every
//! operation by the model's own rules ([`crate::safety`]) as it runs.

use std::collections::VecDeque;

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{HostObservation, Observed};
use mesos_operator_core::ops::Op;
use mesos_operator_core::plan::{plan, stage, Decision, Step};
use mesos_operator_core::record::note_observed;
use mesos_operator_core::spec::Component;

use crate::execute::Partial;
use crate::faults::{unkind_observation, Faults};
use crate::model::SimCluster;
use crate::rng::Rng;
use crate::step::{Cut, Interruptions};

/// How a drive ended.
#[derive(Debug, Clone)]
pub struct DriveOutcome {
    /// Steps carried out.
    pub steps: usize,
    /// Transitions (steps, faults and ticks) checked.
    pub transitions: usize,
    /// The last decision.
    pub last: Decision,
    /// The last few decisions with the time, for a failing seed's report.
    pub trace: Vec<String>,
}

/// Plans and carries out steps until converged (or `max_iterations`), with faults. Errors
/// name the first violation, of the invariants or of the model's own rules.
pub fn drive(
    sim: &mut SimCluster,
    d: &Desired,
    rng: &mut Rng,
    faults: Faults,
    max_iterations: usize,
) -> Result<DriveOutcome, String> {
    let mut steps = 0;
    let mut transitions = 0;
    let mut last = Decision::Converged;
    let mut trace: VecDeque<String> = VecDeque::new();
    if sim.addresses.is_empty() {
        sim.addresses = d.addresses.clone();
    }
    sim.zk_lag_secs = faults.zk_lag_secs;
    sim.name_voters_by_address = faults.voters_by_address;
    // The look right after a step (or a wait), kept when the next observation is to see a
    // host early in it: drawn then, so that the model is observed only when it will be used
    // (an observation of the whole model is the costliest thing a drive does).
    let mut previous: Option<(Observed, u64)> = None;
    // SIM_DEBUG=1: every step with what was seen of the masters (for a failing seed).
    let debug = std::env::var("SIM_DEBUG").is_ok();
    let mut last_quiet: Option<String> = None;
    for _ in 0..max_iterations {
        transitions += fault_round(sim, rng, faults);
        let truth = sim.observe();
        // An observation round lasts seconds: a host seen early in it is at most 3 s old,
        // and never older than the last step.
        let early = previous
            .as_ref()
            .filter(|(_, at)| sim.now.saturating_sub(*at) <= 3)
            .map(|(o, _)| o);
        let (o, _stale) = unkind_observation(truth, early, rng, faults);
        // The runtime brings its record up to date with what it sees before planning.
        sim.record = note_observed(&sim.record, &d.name, &o, sim.now);
        let decision = plan(d, &o, &sim.record, sim.now);
        transitions += 1;
        if debug {
            eprintln!(
                "t={}   master leader {:?} since {}",
                sim.now, sim.master_leader, sim.master_leader_since
            );
            for h in sim.hosts.keys() {
                let (reaches, zk) = sim.agent_reach_detail(h);
                if let Some(false) = reaches {
                    eprintln!(
                        "t={}   the agent on {h} finds no master (its string: {zk:?})",
                        sim.now
                    );
                }
            }
        }
        if debug && decision.step().is_none() {
            let line = format!("{decision:?}");
            if last_quiet.as_deref() != Some(line.as_str()) {
                let staged = stage(d, &o, &sim.record);
                eprintln!(
                    "t={} {line} | stage {} of {} on {:?}",
                    sim.now,
                    staged.master_count,
                    d.master_count,
                    staged.hosts_of(Component::Masters)
                );
                last_quiet = Some(line);
            }
        }
        if trace.len() == 12 {
            trace.pop_front();
        }
        trace.push_back(format!("t={} {decision:?}", sim.now));
        match &decision {
            Decision::Act { step, reason } => {
                // The step is carried out against the stage of a quorum change, staged from
                // the very observation it was planned from (counterexample 8).
                let staged = stage(d, &o, &sim.record).into_owned();
                if let Err(v) =
                    mesos_operator_core::invariants::check_step(&staged, &o, &sim.record, step)
                {
                    return Err(format!("t={}: planner returned {step}: {v}", sim.now));
                }
                if debug {
                    eprintln!("{}", debug_line(sim, d, &staged, &o, step, reason));
                }
                let hosts: Vec<String> = sim.hosts.keys().cloned().collect();
                let all_reachable = sim.hosts.values().all(|h| h.reachable);
                let mut lost_a_host = None;
                let run = sim.run_step(&staged, &o, step, |ops| {
                    let chosen = interruptions(ops, step, &hosts, all_reachable, rng, faults);
                    lost_a_host.clone_from(&chosen.host_lost);
                    chosen
                });
                if let Some((at, host)) = lost_a_host.as_ref().filter(|_| debug) {
                    eprintln!("t={}   {host} lost after {at} operations", sim.now);
                }
                if lost_a_host.is_some() {
                    transitions += 1;
                }
                match run {
                    Ok(run) => {
                        if debug {
                            let kinds: Vec<&str> = run.ops.iter().map(Op::kind).collect();
                            eprintln!(
                                "t={}   ops {kinds:?}: {:?} {:?}",
                                sim.now, run.outcome, run.failed
                            );
                        }
                        steps += 1;
                    }
                    // The operations could not be built: the runtime stops before it writes
                    // the record, and plans again.
                    Err(e) => {
                        if debug {
                            eprintln!("t={} {step}: no operations: {e}", sim.now);
                        }
                    }
                }
                // The next observation begins right after the step: a host seen early in it
                // is seen as it was then (never as it was before the step: the loop observes
                // only once the step returned).
                previous = rng
                    .percent(faults.stale_host_percent)
                    .then(|| (sim.observe(), sim.now));
                sim.tick(1 + rng.below(3));
            }
            Decision::Converged => {
                if faults.crash_percent == 0 {
                    last = decision;
                    break;
                }
                sim.tick(5);
            }
            Decision::Wait { .. } => {
                previous = rng
                    .percent(faults.stale_host_percent)
                    .then(|| (sim.observe(), sim.now));
                sim.tick(1 + rng.below(5))
            }
            Decision::Blocked { reason, action, .. } => {
                if reason.is_empty() || action.is_empty() {
                    return Err(format!(
                        "t={}: blocked without saying why or what to do",
                        sim.now
                    ));
                }
                sim.tick(10 + rng.below(20));
            }
        }
        if let Some(v) = sim.violations.first() {
            return Err(format!(
                "{v}\nlast decisions:\n{}",
                Vec::from(trace).join("\n")
            ));
        }
        last = decision;
    }
    Ok(DriveOutcome {
        steps,
        transitions,
        last,
        trace: trace.into(),
    })
}

/// What happens behind the operator's back before a look: a crash, a host lost or back, a
/// person's maintenance. Returns the number of transitions.
fn fault_round(sim: &mut SimCluster, rng: &mut Rng, faults: Faults) -> usize {
    let hosts: Vec<String> = sim.hosts.keys().cloned().collect();
    let mut transitions = 0;
    if faults.crash_percent > 0 && rng.percent(faults.crash_percent) {
        let h = &hosts[rng.below(hosts.len() as u64) as usize];
        let comp = Component::ALL[rng.below(4) as usize];
        sim.crash(comp, h);
        transitions += 1;
    }
    if faults.container_people_percent > 0 && rng.percent(faults.container_people_percent) {
        let h = &hosts[rng.below(hosts.len() as u64) as usize];
        let comp = Component::ALL[rng.below(4) as usize];
        if rng.percent(50) {
            sim.person_stops(comp, h);
        } else {
            sim.person_removes(comp, h);
        }
        transitions += 1;
    }
    if faults.host_loss_percent > 0 && rng.percent(faults.host_loss_percent) {
        let away: Vec<String> = sim
            .hosts
            .iter()
            .filter(|(_, h)| !h.reachable)
            .map(|(n, _)| n.clone())
            .collect();
        if let Some(h) = away.first() {
            sim.return_host(h);
        } else {
            let h = &hosts[rng.below(hosts.len() as u64) as usize];
            sim.lose_host(h);
        }
        transitions += 1;
    }
    // A partition lasts tens of seconds: it heals ten times as readily as one begins.
    let debug = std::env::var("SIM_DEBUG").is_ok();
    if sim.partitioned() {
        if rng.percent(faults.partition_percent * 10) {
            sim.heal_partitions();
            if debug {
                eprintln!("t={}   partitions heal", sim.now);
            }
            transitions += 1;
        }
    } else if faults.partition_percent > 0 && rng.percent(faults.partition_percent) {
        let h = &hosts[rng.below(hosts.len() as u64) as usize];
        let peers = rng.percent(50);
        if peers {
            sim.cut_from_peers(h);
        } else {
            sim.cut_from_operator(h);
        }
        if debug {
            let from = if peers { "its peers" } else { "the operator" };
            eprintln!("t={}   {h} cut off from {from}", sim.now);
        }
        transitions += 1;
    }
    if faults.people_percent > 0 && rng.percent(faults.people_percent) {
        let theirs: Vec<String> = sim.people_windows.iter().cloned().collect();
        if !theirs.is_empty() && rng.percent(60) {
            let h = &theirs[rng.below(theirs.len() as u64) as usize];
            sim.person_moves_window(h);
        } else {
            let h = &hosts[rng.below(hosts.len() as u64) as usize];
            sim.person_opens_window(h);
        }
        transitions += 1;
    }
    transitions
}

/// Picks how a step's run is interrupted, once its operations are known: the operator
/// dies after a random number of them, inside one, or a reply is lost (`midway_percent`);
/// a host is lost after a random number of them (`host_midstep_percent`, four times as
/// often for removals, where a host lost half-way hides most: a master counted nowhere;
/// mostly the step's own host).
fn interruptions(
    ops: &[Op],
    step: &Step,
    hosts: &[String],
    all_reachable: bool,
    rng: &mut Rng,
    faults: Faults,
) -> Interruptions {
    let n = ops.len();
    let chance = match step {
        Step::RemoveContainer { .. } => faults.host_midstep_percent * 4,
        _ => faults.host_midstep_percent,
    };
    // Never between a last look and the operation right after it: in production the two are
    // milliseconds apart, and a member lost in between is the one thing no operator can see
    // (SIMULATION.md, counterexample 13); in the model every gap between operations is as
    // likely as any other, which would make that window as wide as a pull.
    let gaps: Vec<usize> = (0..=n)
        .filter(|k| {
            *k == 0
                || !matches!(
                    ops[k - 1],
                    Op::RequireServing { .. } | Op::RequireAgentOutOfService { .. }
                )
        })
        .collect();
    let host_lost =
        (faults.host_midstep_percent > 0 && rng.percent(chance) && all_reachable).then(|| {
            let at = gaps[rng.below(gaps.len() as u64) as usize];
            let host = if rng.percent(70) || hosts.is_empty() {
                // Any host of a batch: its parts run side by side.
                let own = step.hosts();
                match own.len() {
                    0 | 1 => step.host().to_string(),
                    n => own[rng.below(n as u64) as usize].to_string(),
                }
            } else {
                hosts[rng.below(hosts.len() as u64) as usize].clone()
            };
            (at, host)
        });
    let cut = if faults.midway_percent > 0 && rng.percent(faults.midway_percent) {
        let inside: Vec<usize> = (0..n)
            .filter(|i| matches!(ops[*i], Op::Create { .. } | Op::Remove { .. }))
            .collect();
        let replies: Vec<usize> = (0..n)
            .filter(|i| {
                matches!(
                    ops[*i],
                    Op::ZkReconfig { .. }
                        | Op::MaintenanceSchedule { .. }
                        | Op::MachineDown { .. }
                        | Op::MachineUp { .. }
                        | Op::MarathonAbdicate { .. }
                )
            })
            .collect();
        let pick = |rng: &mut Rng, v: &[usize]| v[rng.below(v.len() as u64) as usize];
        match rng.below(10) {
            7 | 8 if !inside.is_empty() => {
                let i = pick(rng, &inside);
                let partial = match (&ops[i], rng.percent(50)) {
                    (Op::Remove { .. }, _) => Partial::Stopped,
                    (_, true) => Partial::VolumesOnly,
                    (_, false) => Partial::NotStarted,
                };
                Cut::DiesInside(i, partial)
            }
            9 if !replies.is_empty() => Cut::ReplyLost(pick(rng, &replies)),
            _ => Cut::DiesAfter(rng.below(n as u64 + 1) as usize),
        }
    } else {
        Cut::None
    };
    Interruptions { cut, host_lost }
}

/// What `SIM_DEBUG` prints for a step: what was seen of the masters, the stage, and the
/// maintenance windows.
fn debug_line(
    sim: &SimCluster,
    d: &Desired,
    staged: &Desired,
    o: &Observed,
    step: &Step,
    reason: &str,
) -> String {
    let seen: Vec<String> = o
        .hosts
        .iter()
        .map(|(h, x)| match x {
            HostObservation::Reachable { containers, .. } => format!(
                "{h}:{:?}",
                containers
                    .get(&Component::Masters)
                    .map(|c| (c.state, c.master_quorum))
            ),
            HostObservation::Unreachable { .. } => format!("{h}:away"),
        })
        .collect();
    format!(
        "t={} {step} ({reason}) | seen {} | master_hosts {:?} | stage {} of {} on {:?} | maintenance seen {:?} own {:?}",
        sim.now,
        seen.join(" "),
        sim.record.master_hosts,
        staged.master_count,
        d.master_count,
        staged.hosts_of(Component::Masters),
        o.agents.maintenance,
        sim.record.maintenance.keys().collect::<Vec<_>>()
    )
}
