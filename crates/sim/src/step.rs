//! A planner step carried out on the model exactly as the runtime carries it out on the
//! fleet (`src/reconcile/cluster.rs`, `run_step`), through the core's step protocol: the
//! record written before the first operation ([`protocol::begin`]), the operations in
//! order until the first failure, the record after ([`protocol::finish`]) — unless the
//! operator dies on the way, where the record stays as it was written.

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::Observed;
use mesos_operator_core::ops::{Op, OpsError};
use mesos_operator_core::plan::{stage, Step};
use mesos_operator_core::protocol::{self, Outcome};

use crate::execute::Partial;
use crate::model::SimCluster;
use crate::op_failed::OpFailed;
use crate::safety::Rules;

/// Where the operator's run of a step's operations is cut short.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cut {
    /// Every operation runs, and the record is written after them.
    #[default]
    None,
    /// The operator dies after `n` operations (the failpoint `kill-after-action` on the
    /// fleet): the rest never run, the record stays in flight. `n` may be the number of
    /// operations: all ran, the record written after them is lost.
    DiesAfter(usize),
    /// The operator dies inside operation `n`, between its calls (a `Create` or `Remove`
    /// is several Docker calls); the record stays in flight.
    DiesInside(usize, Partial),
    /// Operation `n` takes effect, but its reply is lost: the executor sees an error, and
    /// the step fails there (a reconfig is read back and counts as done if committed).
    ReplyLost(usize),
}

/// What happens to a step's run: where it is cut, and a host lost on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interruptions {
    /// Where the operator's run is cut short.
    pub cut: Cut,
    /// A host lost after that many operations (0: right after the record write), whether
    /// the operator is still running them or not.
    pub host_lost: Option<(usize, String)>,
}

/// How a step's run on the model ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRun {
    /// The operations of the step, in order.
    pub ops: Vec<Op>,
    /// How they ended; `None` when the operator died (the record stays in flight).
    pub outcome: Option<Outcome>,
    /// The operation that failed, by index, and why.
    pub failed: Option<(usize, OpFailed)>,
}

impl SimCluster {
    /// Carries out `step`, planned from `observed` and `staged` from that same observation,
    /// with the interruptions `choose` picks once it sees the operations. An error means the
    /// operations could not be built: the runtime stops there, before the record is written,
    /// and so does the model (nothing changes).
    pub fn run_step(
        &mut self,
        staged: &Desired,
        observed: &Observed,
        step: &Step,
        choose: impl FnOnce(&[Op]) -> Interruptions,
    ) -> Result<StepRun, OpsError> {
        let before = self.record.clone();
        let begun = protocol::begin(staged, observed, step, &before, false, self.now)?;
        let Interruptions { cut, host_lost } = choose(&begun.ops);
        if self.addresses.is_empty() {
            self.addresses = staged.addresses.clone();
        }
        // Record, then act.
        self.record = begun.record.clone();
        self.rules = Rules::of(staged);
        self.acting_for = Some(step.to_string());
        let mut lost = host_lost;
        let mut died = false;
        let mut failed = None;
        for (i, op) in begun.ops.iter().enumerate() {
            if let Some((_, host)) = lost.take_if(|(at, _)| *at == i) {
                self.lose_host(&host);
            }
            match cut {
                Cut::DiesAfter(n) if n == i => {
                    died = true;
                    break;
                }
                Cut::DiesInside(n, partial) if n == i => {
                    self.execute_part(op, partial);
                    died = true;
                    break;
                }
                _ => {}
            }
            let mut result = self.execute(op);
            if cut == Cut::ReplyLost(i) && result.is_ok() && !matches!(op, Op::ZkReconfig { .. }) {
                result = Err(OpFailed::ReplyLost { kind: op.kind() });
            }
            if let Err(e) = result {
                failed = Some((i, e));
                break;
            }
        }
        // Every operation ran (or one failed) and the operator died at its next action, the
        // record written after them.
        if cut == Cut::DiesAfter(begun.ops.len()) {
            died = true;
        }
        // A loss timed after the operations the operator did not get to happens anyway.
        if let Some((_, host)) = lost {
            self.lose_host(&host);
        }
        self.acting_for = None;
        let outcome = (!died).then(|| match &failed {
            None => Outcome::Done,
            Some((_, e)) if e.is_last_look() => Outcome::NotTaken,
            Some(_) => Outcome::Failed,
        });
        if let Some(outcome) = outcome {
            self.record = match (&failed, outcome) {
                (Some((_, e)), Outcome::Failed) => protocol::finish_failed(
                    step,
                    &begun.record,
                    &e.to_string(),
                    matches!(e, OpFailed::BackupTarget { .. }),
                    staged.generation,
                    self.now,
                ),
                _ => protocol::finish(step, &before, &begun.record, outcome),
            };
            if outcome == Outcome::NotTaken {
                self.last_looks_failed += 1;
            }
        }
        Ok(StepRun {
            ops: begun.ops,
            outcome,
            failed,
        })
    }

    /// Carries out `step` to its end as the runtime would, planned and staged from the
    /// model's own observation now: the way tests move a cluster by hand.
    pub fn apply(&mut self, d: &Desired, step: &Step) -> Result<StepRun, OpsError> {
        self.apply_cut(d, step, |_| Cut::None)
    }

    /// [`SimCluster::apply`] with the operator's run cut short where `cut` says, once it
    /// sees the operations.
    pub fn apply_cut(
        &mut self,
        d: &Desired,
        step: &Step,
        cut: impl FnOnce(&[Op]) -> Cut,
    ) -> Result<StepRun, OpsError> {
        let o = self.observe();
        let staged = stage(d, &o, &self.record).into_owned();
        self.run_step(&staged, &o, step, |ops| Interruptions {
            cut: cut(ops),
            host_lost: None,
        })
    }
}
