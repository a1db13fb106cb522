//! The pure core of mesos-operator.
//!
//! Everything here is a function of its inputs: no IO, no clock, no async. The runtime crate
//! reads etcd and Docker hosts, builds the inputs, and carries out what comes back. Keeping
//! this crate free of IO dependencies lets the compiler enforce that the planner cannot
//! reach out and touch a cluster on its own (the way raft-rs keeps its state machine pure).
//!
//! - [`spec`]: the `MesosCluster` document, its reading and validation.
//! - [`status`]: the status document the operator writes back.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod spec;
pub mod status;
