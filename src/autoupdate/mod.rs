//! Automated version bumps, the runtime half: registry scans ([`scanner`] over
//! [`registry`]) and, in each reconcile of the leader, one step of the core's state machine
//! ([`drive`]): its state stored before its spec write, the write a compare-and-swap on the
//! generation it was planned from, events and metrics for what happened.

pub mod drive;
pub mod registry;
pub mod scanner;
