//! The step protocol, once, for the runtime and every model of the fleet: **record, then
//! act, then record again** (raft-rs: persist, then send).
//!
//! - [`begin`] turns a step into the record to write before anything is touched (the step
//!   in flight, a ZooKeeper id handed out) and the operations to carry out;
//! - the caller reads every secret the operations need, *then* writes the record, *then*
//!   carries the operations out in order, stopping at the first failure;
//! - [`finish`] says what the record becomes from how the operations ended.
//!
//! The order matters: a secret missing after the record is written would leave an
//! in-flight record (and for a ZooKeeper start a used-up id) for a step that never started.

use crate::desired::Desired;
use crate::observed::Observed;
use crate::ops::{ops, Op, OpsError};
use crate::plan::Step;
use crate::record::{backup_failed, record_after, record_before, Recorded};

/// A step ready to be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begun {
    /// The record to write, under the fence, before the first operation.
    pub record: Recorded,
    /// The operations, in order.
    pub ops: Vec<Op>,
}

/// How a step's operations ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every operation succeeded.
    Done,
    /// The last look before a stop failed: nothing was done, nothing is in flight.
    NotTaken,
    /// An operation failed part-way: the step stays in flight, which tells people and the
    /// next plan that it is half done.
    Failed,
}

/// The record and operations of `step`, planned from `observed` and staged `desired` (the
/// current stage of a quorum change, staged from the very observation the plan was made
/// from). `zk_digest`: the document names a ZooKeeper super-user digest.
pub fn begin(
    desired: &Desired,
    observed: &Observed,
    step: &Step,
    recorded: &Recorded,
    zk_digest: bool,
    now: u64,
) -> Result<Begun, OpsError> {
    let record = record_before(step, recorded, now);
    let ops = ops(desired, observed, step, zk_digest, &record, now)?;
    Ok(Begun { record, ops })
}

/// The record after the step's operations ended with `outcome`. `before` is the record as it
/// was before [`begin`]; `in_flight` the one [`begin`] returned.
pub fn finish(step: &Step, before: &Recorded, in_flight: &Recorded, outcome: Outcome) -> Recorded {
    match outcome {
        Outcome::Done => record_after(step, in_flight),
        Outcome::NotTaken => before.clone(),
        Outcome::Failed => in_flight.clone(),
    }
}

/// The record after `step` failed part-way with `error` ([`Outcome::Failed`]): [`finish`]'s,
/// and for a backup part that the target refused (`target_refused`: the target's write or
/// read failed, or a part did not match its manifest) the failure kept with the spec
/// generation it failed under ([`backup_failed`]), which status shows and the planner reads.
/// Any other failure (a host that did not answer) leaves the part to be taken again.
pub fn finish_failed(
    step: &Step,
    in_flight: &Recorded,
    error: &str,
    target_refused: bool,
    generation: u64,
    now: u64,
) -> Recorded {
    if target_refused && step.backup_id().is_some() {
        backup_failed(in_flight, error, generation, now)
    } else {
        in_flight.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ZkMember;

    fn zk_start() -> Step {
        Step::ZkStartServer {
            host: "h1".into(),
            id: 4,
            ensemble: vec![ZkMember {
                id: 4,
                host: "h1".into(),
                address: "10.0.0.1".into(),
            }],
        }
    }

    #[test]
    fn a_step_not_taken_leaves_the_record_as_it_was_and_a_failed_one_in_flight() {
        let before = Recorded::new_cluster();
        let step = zk_start();
        let in_flight = record_before(&step, &before, 10);
        assert_eq!(in_flight.zk_highest_id, Some(4));
        assert!(in_flight.in_flight.is_some());
        assert_eq!(
            finish(&step, &before, &in_flight, Outcome::NotTaken),
            before
        );
        assert_eq!(
            finish(&step, &before, &in_flight, Outcome::Failed),
            in_flight
        );
        let done = finish(&step, &before, &in_flight, Outcome::Done);
        assert!(done.in_flight.is_none());
        assert_eq!(done.zk_highest_id, Some(4), "a used id stays used");
    }
}
