//! mesos-operator: keeps containerized Apache Mesos clusters converged on a fleet of Docker
//! hosts.
//!
//! The pure decisions (document, validation, planner) live in `mesos-operator-core`; this
//! crate holds the IO edges and the runtime:
//! - [`etcd`]: connecting to etcd (TLS, auth, timeouts);
//! - [`store`]: cluster documents, history, status and secrets in etcd;
//! - [`secrets`]: secret material, never printed;
//! - [`docker`]: Docker hosts over a unix socket or mutual TLS, with deadlines;
//! - [`probe`]: ZooKeeper, Mesos and Marathon health as the components report it;
//! - [`observe`]: one concurrent snapshot of a cluster as the planner's observed model;
//! - [`metrics`]: the operator's Prometheus metrics;
//! - [`admin`]: the HTTP server for `/metrics`, `/healthz` and `/readyz`;
//! - [`cli`]: the command line.

#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod docker;
pub mod etcd;
pub mod metrics;
pub mod observe;
pub mod probe;
pub mod secrets;
pub mod store;

pub use mesos_operator_core as core;
