//! DNS for Mesos: Mesos-DNS's naming contract, served from the leading master found
//! through the ZooKeeper election.
//!
//! - [`state`]: what is read (election nodes, `/master/state`), parsed purely.
//! - [`naming`]: the records those make (pure; Mesos-DNS's `naming.md`).
//! - [`refresh`]: the loop that reads and publishes, keeping the last records when there is
//!   no leader.
//! - [`dns`]: UDP and TCP listeners, answers and forwarding.
//! - [`http`]: the HTTP API on 8123 and `/metrics`.
//!
//! Unlike Mesos-DNS it has no static `masters` list and never exits for want of a leader:
//! mesos-operator changes masters and ZooKeeper voters on its own, and re-derives this
//! server's `zk` and rolls it when the voters change.

#![forbid(unsafe_code)]

mod config;
mod dns;
mod http;
mod metrics;
mod naming;
mod refresh;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::Parser;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::naming::Records;

fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let zk = match config.check() {
        Ok(zk) => zk,
        Err(e) => {
            eprintln!("mesos-dns: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos-dns: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match rt.block_on(run(config, zk)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesos-dns: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(config: Config, zk: config::ZkUrl) -> Result<(), String> {
    let records = Arc::new(RwLock::new(Arc::new(Records::new(&config.domain))));
    let metrics = Arc::new(Metrics::new());
    // Nothing is served yet: stale until the first refresh reads a leader.
    metrics.stale.set(1);
    let dns_addr: SocketAddr = format!("{}:{}", config.listener, config.port)
        .parse()
        .map_err(|e| format!("--listener {}: {e}", config.listener))?;
    let http_addr = SocketAddr::new(dns_addr.ip(), config.http_port);
    let udp = tokio::net::UdpSocket::bind(dns_addr)
        .await
        .map_err(|e| format!("DNS (udp) on {dns_addr}: {e}"))?;
    let tcp = tokio::net::TcpListener::bind(dns_addr)
        .await
        .map_err(|e| format!("DNS (tcp) on {dns_addr}: {e}"))?;
    let http = tokio::net::TcpListener::bind(http_addr)
        .await
        .map_err(|e| format!("HTTP on {http_addr}: {e}"))?;
    eprintln!(
        "mesos-dns: serving {} on {dns_addr} (udp, tcp), HTTP on {http_addr}; masters from {} every {}s",
        config.domain, config.zk, config.refresh_seconds
    );
    let server = dns::Server {
        records: Arc::clone(&records),
        ttl: config.ttl,
        resolvers: Arc::new(config.resolver_addrs()),
        timeout: Duration::from_secs(config.timeout),
        metrics: Arc::clone(&metrics),
    };
    tokio::spawn(server.clone().serve_udp(udp));
    tokio::spawn(server.serve_tcp(tcp));
    let api = http::Api {
        records: Arc::clone(&records),
        config: Arc::new(config.to_json()),
        metrics: Arc::clone(&metrics),
    };
    tokio::spawn(async move {
        if let Err(e) = axum::serve(http, http::router(api)).await {
            eprintln!("mesos-dns: HTTP server stopped: {e}");
        }
    });
    let refresher = refresh::Refresher::new(config, zk, records, metrics);
    tokio::select! {
        _ = refresher.run() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = sigterm() => Ok(()),
    }
}

/// SIGTERM (`docker stop`): exit at once; nothing to flush.
async fn sigterm() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
