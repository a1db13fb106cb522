//! `marathon-lb`: the Marathon–HAProxy bridge's binary. Thin wiring of the library's parts;
//! see `lib.rs`. Bad arguments exit with status 2 and a message naming the option.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use marathon_lb::bridge::{Health, Updater};
use marathon_lb::config::{Mode, Settings};
use marathon_lb::haproxy::Haproxy;
use marathon_lb::marathon::{Credentials, Marathons};
use marathon_lb::metrics::Metrics;
use marathon_lb::server::{router, AppState};

/// Routes each Marathon app's service ports to its healthy tasks through HAProxy. Every
/// option can also be given as the `LB_*` variable named beside it (how the operator
/// configures the cluster's loadBalancer containers).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Marathon instances, comma-separated (`http://host:8080,...`); any may lead.
    #[arg(long, env = "LB_MARATHON_URLS", value_delimiter = ',', required = true)]
    marathon: Vec<String>,
    /// A file holding `user:password` for Marathon's HTTP authentication.
    #[arg(long, env = "LB_MARATHON_AUTH_FILE")]
    marathon_auth_file: Option<std::path::PathBuf>,
    /// The host's address: HAProxy's frontends and the bridge's own HTTP bind it.
    #[arg(long, env = "LB_ADDRESS", default_value = "0.0.0.0")]
    address: std::net::IpAddr,
    /// The bridge's own HTTP port: `/health`, `/metrics`, `/haproxy.cfg`.
    #[arg(long, env = "LB_PORT", default_value_t = 9090)]
    port: u16,
    /// The service ports HAProxy may bind, `first-last`; apps' ports outside are not routed.
    #[arg(long, env = "LB_SERVICE_PORTS", default_value = "10000-10100", value_parser = parse_range)]
    service_ports: (u32, u32),
    /// HAProxy's statistics page (`/haproxy?stats`) and `/_haproxy_health_check` on this
    /// port; 0: none.
    #[arg(long, env = "LB_STATS_PORT", default_value_t = 0)]
    stats_port: u16,
    /// Route only apps whose `HAPROXY_GROUP` label names this group (repeatable; none: all).
    #[arg(long, env = "LB_GROUP", value_delimiter = ',')]
    group: Vec<String>,
    /// The mode of ports without a `HAPROXY_<n>_MODE` label: http or tcp.
    #[arg(long, env = "LB_MODE", default_value = "http", value_parser = parse_mode)]
    mode: Mode,
    /// The haproxy binary.
    #[arg(long, env = "LB_HAPROXY", default_value = "haproxy")]
    haproxy: std::path::PathBuf,
    /// Where the configuration and the admin socket live.
    #[arg(long, env = "LB_RUN_DIR", default_value = "/run/marathon-lb")]
    run_dir: std::path::PathBuf,
    /// The fallback: a full refetch this often, whatever the event stream says.
    #[arg(long, env = "LB_REFETCH_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    refetch_secs: u64,
    /// An event stream silent this long (Marathon sends heartbeats) counts as lost.
    #[arg(long, env = "LB_EVENT_IDLE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    event_idle_secs: u64,
    /// Events arriving within this window are served by one read of Marathon.
    #[arg(long, env = "LB_DEBOUNCE_MS", default_value_t = 100)]
    debounce_ms: u64,
    /// HAProxy's maxconn.
    #[arg(long, env = "LB_MAXCONN", default_value_t = 4096)]
    maxconn: u32,
}

/// `first-last`, both ports, first ≤ last.
fn parse_range(s: &str) -> Result<(u32, u32), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s}: use first-last, e.g. 10000-10100"))?;
    let port = |p: &str| -> Result<u32, String> {
        p.trim()
            .parse::<u16>()
            .map(u32::from)
            .map_err(|_| format!("{s}: {p} is not a port (1-65535)"))
    };
    let (a, b) = (port(a)?, port(b)?);
    if a == 0 || a > b {
        return Err(format!("{s}: use first-last with 0 < first <= last"));
    }
    Ok((a, b))
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::parse(s).ok_or_else(|| format!("{s}: use http or tcp"))
}

/// A usage error: message naming the option, exit 2.
fn usage(msg: impl std::fmt::Display) -> ! {
    eprintln!("marathon-lb: {msg}");
    std::process::exit(2);
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! { _ = t.recv() => {}, _ = i.recv() => {} }
        }
        _ => std::future::pending::<()>().await,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let credentials = match &args.marathon_auth_file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| usage(format!("--marathon-auth-file {}: {e}", path.display())));
            Some(Credentials::parse(&text).unwrap_or_else(|| {
                usage(format!(
                    "--marathon-auth-file {}: expected user:password",
                    path.display()
                ))
            }))
        }
    };
    let marathons =
        Arc::new(Marathons::new(&args.marathon, credentials).unwrap_or_else(|e| usage(e)));
    let haproxy = Haproxy::new(&args.haproxy, &args.run_dir)
        .unwrap_or_else(|e| usage(format!("--run-dir: {e}")));
    let http_addr = std::net::SocketAddr::new(args.address, args.port);
    let settings = Settings {
        bind_address: args.address.to_string(),
        service_ports: args.service_ports,
        reserved: vec![u32::from(args.port)],
        stats_port: (args.stats_port != 0).then_some(args.stats_port),
        admin_socket: Some(haproxy.admin_socket().to_string_lossy().into_owned()),
        groups: args.group.clone(),
        default_mode: args.mode,
        maxconn: args.maxconn,
        hard_stop_after_secs: 30,
    };
    let metrics = Arc::new(Metrics::default());
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let health = Arc::new(Mutex::new(Health::default()));
    let listener = tokio::net::TcpListener::bind(http_addr)
        .await
        .with_context(|| format!("--address/--port {http_addr}: cannot listen"))?;
    let app = router(AppState {
        registry: Arc::new(registry),
        health: health.clone(),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the /metrics and /health server failed");
        }
    });
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(marathon_lb::events::follow(
        marathons.clone(),
        Duration::from_secs(args.event_idle_secs),
        tx,
        metrics.clone(),
    ));
    tracing::info!(marathon = ?args.marathon, http = %http_addr, "marathon-lb starting");
    Updater {
        marathons,
        haproxy,
        settings,
        metrics,
        health,
        refetch: Duration::from_secs(args.refetch_secs),
        debounce: Duration::from_millis(args.debounce_ms),
        current: None,
    }
    .run(rx, shutdown_signal())
    .await;
    tracing::info!("marathon-lb stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_port_ranges_are_checked() {
        assert_eq!(parse_range("10000-10100"), Ok((10000, 10100)));
        assert!(parse_range("10100-10000").is_err());
        assert!(parse_range("0-10").is_err());
        assert!(parse_range("10000").unwrap_err().contains("first-last"));
        assert!(parse_range("1-70000")
            .unwrap_err()
            .contains("70000 is not a port"));
    }

    #[test]
    fn the_operators_variables_configure_it() {
        std::env::set_var(
            "LB_MARATHON_URLS",
            "http://10.0.0.1:8080,http://10.0.0.2:8080",
        );
        std::env::set_var("LB_ADDRESS", "10.0.0.3");
        std::env::set_var("LB_PORT", "9191");
        std::env::set_var("LB_SERVICE_PORTS", "10000-10010");
        let a = Args::try_parse_from(["marathon-lb"]).unwrap();
        assert_eq!(a.marathon.len(), 2);
        assert_eq!(a.address.to_string(), "10.0.0.3");
        assert_eq!((a.port, a.service_ports), (9191, (10000, 10010)));
    }
}
