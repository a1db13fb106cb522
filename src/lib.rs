//! mesos-operator: keeps containerized Apache Mesos clusters converged on a fleet of Docker
//! hosts.
//!
//! The pure decisions (document, validation, planner) live in `mesos-operator-core`; this
//! crate holds the IO edges and the runtime:
//! - [`etcd`]: connecting to etcd (TLS, auth, timeouts);
//! - [`store`]: cluster documents, history, status and secrets in etcd;
//! - [`cli`]: the command line.

#![forbid(unsafe_code)]

pub mod cli;
pub mod etcd;
pub mod store;

pub use mesos_operator_core as core;
