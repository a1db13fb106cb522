//! The pure core of mesos-operator.
//!
//! Everything here is a function of its inputs: no IO, no clock, no async. The runtime crate
//! reads etcd and Docker hosts, builds the inputs, and carries out what comes back. Keeping
//! this crate free of IO dependencies lets the compiler enforce that the planner cannot
//! reach out and touch a cluster on its own (the way raft-rs keeps its state machine pure).
//!
//! - [`spec`]: the `MesosCluster` document, its reading and validation.
//! - [`autoupdate`]: automated version bumps: tag order, policy, canary and rollback.
//! - [`status`]: the status document the operator writes back.
//! - [`zk_text`]: what ZooKeeper's text answers (`conf`, `srvr`, the config node) mean.
//! - [`desired`]: what should run where, with a config hash per container.
//! - [`observed`]: what the observe layer saw, as plain data.
//! - [`record`]: what the operator wrote to etcd before acting (highest ZooKeeper id, the
//!   step in flight, a pending registry reset, its own maintenance windows).
//! - [`preflight`]: named checks of a host before a member is placed on it.
//! - [`plan`]: `plan(desired, observed, recorded, now) -> Decision`, one safe step at a time.
//! - [`ops`]: what a step means in calls to the fleet, shared by the executor and models.
//! - [`protocol`]: record, then act, then record again: one step protocol for the runtime
//!   and the models.
//! - [`invariants`]: the safety rules, checked independently of the planner (tests, simulation).
//!
//! The model of the fleet that carries out [`ops`] for the simulation is the crate
//! `mesos-operator-sim` (`crates/sim`): it depends on this crate, never the other way round,
//! so that the production API carries no test model and the tests that need one live there.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod autoupdate;
pub mod backup;
pub mod desired;
#[cfg(test)]
mod fixtures;
pub mod fuzzing;
pub mod invariants;
pub mod observed;
pub mod ops;
pub mod plan;
pub mod preflight;
pub mod protocol;
pub mod record;
pub mod spec;
pub mod status;
pub mod zk_data;
pub mod zk_text;
