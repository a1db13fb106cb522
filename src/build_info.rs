//! What this binary is: its version, the commit it was built from and when, as the build
//! script (`build.rs`) found them. `mesos-operator version` prints them; a bug report that
//! quotes them names the exact source.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The package version (Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit (12 hex digits) the binary was built from; `unknown` when built outside a git
/// checkout without `MESOS_OPERATOR_COMMIT` set.
pub const COMMIT: &str = env!("MESOS_OPERATOR_COMMIT");

/// Seconds since the epoch at build time (`SOURCE_DATE_EPOCH` when it was set).
const BUILD_EPOCH: &str = env!("MESOS_OPERATOR_BUILD_EPOCH");

/// The build time in RFC 3339 (UTC), or `unknown` if the build script's value is not a
/// time (it always is; this keeps a bad value from failing the command).
pub fn build_date() -> String {
    BUILD_EPOCH
        .parse::<i64>()
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "unknown".into())
}
