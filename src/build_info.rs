//! What this binary is: its version and the commit it was built from (`build.rs` records
//! the commit), for `mesos_operator_build_info`: on-call people compare what runs with
//! what was released, and a dashboard shows when a new build took over.

/// The package version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (12 hex digits), or `unknown` when it was built
/// outside a git checkout without `MESOS_OPERATOR_COMMIT`.
pub const COMMIT: &str = env!("MESOS_OPERATOR_COMMIT");
