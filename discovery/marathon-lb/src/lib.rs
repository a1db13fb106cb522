//! The Marathon–HAProxy bridge: Debian's real `haproxy`, in master-worker mode, configured
//! from Marathon's apps and tasks and kept current through Marathon's event stream,
//! followed across leader changes, with a periodic full refetch as the fallback.
//!
//! Layout, one idea per module: `model` (Marathon's JSON), `config` (the pure derivation of
//! HAProxy's configuration), `marathon` (reaching any listed Marathon), `events` (the
//! stream follower), `haproxy` (the child process: check, write, reload), `bridge` (the
//! updater tying them together), `metrics` and `server` (`/metrics`, `/health`).

pub mod bridge;
pub mod config;
pub mod events;
pub mod haproxy;
pub mod marathon;
pub mod metrics;
pub mod model;
pub mod server;
