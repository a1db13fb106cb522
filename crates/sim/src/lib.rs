//! A model of the fleet the operator runs on: Docker hosts, the ZooKeeper ensemble, the
//! Mesos masters with their replicated log, the agents with Mesos maintenance, Marathon.
//!
//! It carries out the very operations the runtime's executor carries out
//! ([`mesos_operator_core::ops::Op`], through [`SimCluster::execute`]), reports what an
//! observer would see ([`SimCluster::observe`]), takes faults ([`faults`]), and keeps its
//! own record of what must never happen ([`safety`]), judged after every operation and
//! independently of both the planner and `mesos_operator_core::invariants`. [`drive`] runs
//! the planner against it through the core's step protocol, as the runtime runs it against
//! the fleet.
//!
//! Pure, like the core: no IO, no clock, no async. It is a crate of its own so that the
//! core's production API carries no model, and depends on the core only (the core never
//! depends on it, not even for its tests: that would make two copies of the core's types).
//!
//! - [`model`]: the state, and how it moves by itself (time, restarts, elections, logs);
//! - [`execute`]: what each operation does; [`op_failed`]: how one fails;
//! - [`observe`]: what an observer sees;
//! - [`safety`]: the rules the model judges the operator by;
//! - [`faults`], [`rng`]: what goes wrong, and the seeded chance of it;
//! - [`step`]: a planner step through the step protocol; [`drive`]: the planning loop.
//!
//! A runtime adapter (an in-memory fleet for the real reconcile loop) wraps a
//! [`SimCluster`]: [`SimCluster::observe`] is its observation, [`SimCluster::execute`] its
//! executor (an [`OpFailed`] that [`OpFailed::is_last_look`] is the executor's failed last
//! look), [`SimCluster::tick`] its clock, and the faults ([`SimCluster::crash`],
//! [`SimCluster::lose_host`], [`SimCluster::return_host`], the partitions
//! [`SimCluster::cut_from_peers`] and [`SimCluster::cut_from_operator`], the person windows)
//! its weather;
//! it sets [`SimCluster::rules`] from the document ([`Rules::of`]) so that the model judges
//! the operator's operations by the document's promises, and reads
//! [`SimCluster::violations`] and [`SimCluster::matches`] at the end.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod drive;
pub mod execute;
pub mod faults;
pub mod model;
pub mod observe;
pub mod op_failed;
pub mod rng;
pub mod safety;
pub mod step;

pub use drive::{drive, DriveOutcome};
pub use execute::Partial;
pub use faults::Faults;
pub use model::{
    LogState, SimCluster, SimContainer, SimHost, ZkLag, AGENT_PING_SECS, AGENT_REREGISTER_SECS,
    STARTUP_SECS, ZK_SESSION_SECS, ZK_SYNC_SECS,
};
pub use op_failed::OpFailed;
pub use rng::Rng;
pub use safety::Rules;
pub use step::{Cut, Interruptions, StepRun};
