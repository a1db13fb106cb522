//! `mesos-emulator master|agent|marathon [--flag=value ...]`: an emulated Mesos master,
//! Mesos agent or Marathon for the test bed (and `mesos-emulator respond`, an HTTP service
//! for apps' tasks: `respond.rs`), configured like the real ones (flags and
//! `MESOS_*` / `MARATHON_*` variables). The version it reports comes from
//! `EMULATOR_VERSION`, which each image sets from the tag it was built for; an image built
//! with `EMULATOR_BROKEN=1` starts but never turns healthy (for tests of blocked rollouts).

mod agent;
mod basic_auth;
mod docker;
mod flags;
mod marathon;
mod master;
mod ports;
mod registry;
mod respond;
mod util;
mod workload;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: mesos-emulator master|agent|marathon|respond [--flag=value ...]");
        std::process::exit(2);
    }
    let role = args.remove(0);
    let version = std::env::var("EMULATOR_VERSION").unwrap_or_else(|_| "1.11.0".into());
    let broken = std::env::var("EMULATOR_BROKEN").is_ok_and(|v| v == "1");
    let run = async {
        match role.as_str() {
            "master" => master::run(args, version, broken).await,
            "agent" | "slave" => agent::run(args, version, broken).await,
            "marathon" => marathon::run(args, version, broken).await,
            "respond" => respond::run().await,
            other => {
                eprintln!("unknown role {other}; use master, agent, marathon or respond");
                std::process::exit(2);
            }
        }
    };
    // Real Mesos and Marathon exit on SIGTERM (`docker stop`). As PID 1 in a container, a
    // process without a handler ignores it and is killed only after the grace period, which
    // would double every failover for a reason that does not exist with the real ones.
    tokio::select! {
        () = run => {}
        () = terminated() => {
            if role == "marathon" {
                // Marathon runs its JVM shutdown hooks: it leaves the leader latch (its
                // ephemeral node goes with the session) and exits.
                log!("Received SIGTERM: shutting down Marathon");
                marathon::leave_latch().await;
            } else {
                // mesos@1.11.0:src/logging/logging.cpp, the SIGTERM handler.
                log!("Received signal SIGTERM; exiting");
            }
            std::process::exit(0);
        }
    }
}

async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}
