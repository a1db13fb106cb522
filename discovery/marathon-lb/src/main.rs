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

/// Routes each Marathon app's service ports to its healthy tasks through HAProxy.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Marathon instances, comma-separated (`http://host:8080,...`); any may lead.
    #[arg(
        long,
        env = "MARATHON_LB_MARATHON",
        value_delimiter = ',',
        required = true
    )]
    marathon: Vec<String>,
    /// A file holding `user:password` for Marathon's HTTP authentication.
    #[arg(long, env = "MARATHON_LB_MARATHON_AUTH_FILE")]
    marathon_auth_file: Option<std::path::PathBuf>,
    /// The address HAProxy's frontends bind.
    #[arg(long, env = "MARATHON_LB_BIND_ADDRESS", default_value = "0.0.0.0")]
    bind_address: String,
    /// HAProxy's statistics page (`/haproxy?stats`) and `/_haproxy_health_check`; 0: none.
    #[arg(long, env = "MARATHON_LB_STATS_PORT", default_value_t = 9090)]
    stats_port: u16,
    /// Where `/metrics` and `/health` are served.
    #[arg(long, env = "MARATHON_LB_HTTP_ADDR", default_value = "0.0.0.0:9091")]
    http_addr: std::net::SocketAddr,
    /// Route only apps whose `HAPROXY_GROUP` label names this group (repeatable; none: all).
    #[arg(long, env = "MARATHON_LB_GROUP", value_delimiter = ',')]
    group: Vec<String>,
    /// The mode of ports without a `HAPROXY_<n>_MODE` label: http or tcp.
    #[arg(long, env = "MARATHON_LB_MODE", default_value = "http", value_parser = parse_mode)]
    mode: Mode,
    /// The haproxy binary.
    #[arg(long, env = "MARATHON_LB_HAPROXY", default_value = "haproxy")]
    haproxy: std::path::PathBuf,
    /// Where the configuration and the admin socket live.
    #[arg(long, env = "MARATHON_LB_RUN_DIR", default_value = "/run/marathon-lb")]
    run_dir: std::path::PathBuf,
    /// The fallback: a full refetch this often, whatever the event stream says.
    #[arg(long, env = "MARATHON_LB_REFETCH_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    refetch_secs: u64,
    /// An event stream silent this long (Marathon sends heartbeats) counts as lost.
    #[arg(long, env = "MARATHON_LB_EVENT_IDLE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    event_idle_secs: u64,
    /// Events arriving within this window are served by one read of Marathon.
    #[arg(long, env = "MARATHON_LB_DEBOUNCE_MS", default_value_t = 100)]
    debounce_ms: u64,
    /// HAProxy's maxconn.
    #[arg(long, env = "MARATHON_LB_MAXCONN", default_value_t = 4096)]
    maxconn: u32,
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
    let settings = Settings {
        bind_address: args.bind_address.clone(),
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
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("--http-addr {}: cannot listen", args.http_addr))?;
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
    tracing::info!(marathon = ?args.marathon, http = %args.http_addr, "marathon-lb starting");
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
