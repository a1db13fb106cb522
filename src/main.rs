//! The `mesos-operator` binary: parse arguments, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use mesos_operator::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` reports what it does at info; the other commands only warn.
    let default = if cli.is_run() {
        "info,zookeeper_client=warn"
    } else {
        "warn"
    };
    mesos_operator::logging::init(default, matches!(cli.log_format, cli::LogFormat::Json));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(cli::run(cli))
}
