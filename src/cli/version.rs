//! `version`: the version, the commit and the build time ([`crate::build_info`]), one per
//! line, for a bug report or to check which build a host runs.

use super::CliResult;
use crate::build_info;

pub(super) fn run() -> CliResult {
    println!("mesos-operator {}", build_info::VERSION);
    println!("commit: {}", build_info::COMMIT);
    println!("built: {}", build_info::build_date());
    Ok(())
}
