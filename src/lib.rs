//! mesos-operator: keeps containerized Apache Mesos clusters converged on a fleet of Docker
//! hosts.
//!
//! The pure decisions (document, validation, planner) live in `mesos-operator-core`; this
//! crate holds the IO edges and the runtime:
//! - [`etcd`]: connecting to etcd (TLS, auth, timeouts);
//! - [`store`]: cluster documents, history, status and secrets in etcd; the
//!   [`store::ClusterStore`] seam the loop uses, with an in-memory version;
//! - [`fleet`]: the [`fleet::Fleet`] seam (observe, execute an operation) and its Docker
//!   implementation;
//! - [`clock`]: the wall clock, passed in;
//! - [`gather`]: one look at a cluster (spec, record, observation, plan), shared by the loop
//!   and `mesos-operator plan`;
//! - [`secrets`]: secret material, never printed;
//! - [`docker`]: Docker hosts over a unix socket or mutual TLS, with deadlines;
//! - [`docker_events`]: the hosts' event streams, waking a cluster when its containers change;
//! - [`tls`]: mutual TLS to Docker hosts with the cluster's CA as the only root;
//! - [`http_auth`]: the operator's HTTP Basic credentials for the masters and Marathon;
//! - [`probe`]: ZooKeeper, Mesos and Marathon health as the components report it;
//! - [`observe`]: one concurrent snapshot of a cluster as the planner's observed model;
//! - [`election`]: leader election on an etcd lease, and the [`election::Fence`] every
//!   action asks before it touches anything;
//! - [`failpoint`]: test hooks that kill or freeze the process at a chosen action, compiled
//!   in only with the `failpoints` feature;
//! - [`act`]: carrying out a step's operations on Docker hosts, ZooKeeper and the APIs;
//! - [`reconcile`]: the loop (watch, scheduler, runner, backoff) and one cluster's reconcile;
//! - [`metrics`], [`admin`]: Prometheus metrics and `/metrics`, `/healthz`, `/readyz`;
//!   [`build_info`]: the version, commit and build time they and `mesos-operator version` report;
//! - [`service_manager`]: systemd's `READY=1`, `STOPPING=1` and watchdog (`Type=notify`);
//! - [`cli`]: the command line.

#![forbid(unsafe_code)]

pub mod act;
pub mod admin;
pub mod autoupdate;
pub mod backup;
pub mod build_info;
pub mod cli;
pub mod clock;
pub mod docker;
pub mod docker_events;
pub mod election;
pub mod etcd;
pub mod failpoint;
pub mod fleet;
pub mod gather;
pub mod http_auth;
pub mod liveness;
pub mod logging;
pub mod metrics;
pub mod observe;
pub mod preflight;
pub mod probe;
pub mod reconcile;
pub mod secrets;
pub mod service_manager;
pub mod store;
pub mod tls;

pub use mesos_operator_core as core;
