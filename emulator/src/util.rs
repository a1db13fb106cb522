//! Small shared pieces: time, ids, logging, HTTP (through `httplite`, with a timeout on every
//! call) and ZooKeeper connection handling.

pub use httplite::request as http;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zookeeper_client as zk;

/// Seconds since the epoch, as Mesos reports times (a double).
pub fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A random UUID v4 string from the kernel's random source.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut b);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A log line on stdout, the way the real components log to their console.
#[macro_export]
macro_rules! log {
    ($($t:tt)*) => {{
        println!("{:.3} {}", $crate::util::now_f64(), format!($($t)*));
    }};
}

/// Connects to ZooKeeper, retrying until `deadline` (the ensemble may still be starting).
/// `session` is the component's `--zk_session_timeout`.
pub async fn zk_connect(
    servers: &str,
    session: Duration,
    deadline: Duration,
) -> Result<zk::Client, String> {
    let start = tokio::time::Instant::now();
    loop {
        let c = zk::Client::connector()
            .with_session_timeout(session)
            .with_connection_timeout(Duration::from_secs(3));
        match tokio::time::timeout(Duration::from_secs(5), c.connect(servers)).await {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(e)) if start.elapsed() > deadline => return Err(e.to_string()),
            Err(_) if start.elapsed() > deadline => return Err("timed out".into()),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Creates `path` and its parents as persistent nodes if missing.
pub async fn zk_mkdirs(client: &zk::Client, path: &str) -> Result<(), String> {
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let mut cur = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur.push('/');
        cur.push_str(part);
        match client.create(&cur, &[], &opts).await {
            Ok(_) | Err(zk::Error::NodeExists) => {}
            Err(e) => return Err(format!("create {cur}: {e}")),
        }
    }
    Ok(())
}

/// Exits the process when the ZooKeeper session ends, as Mesos and Marathon do ("a leader
/// that loses its ZooKeeper session exits and relies on a supervisor to come back").
pub fn exit_on_session_loss(client: &zk::Client, what: &'static str) {
    let mut w = client.state_watcher();
    tokio::spawn(async move {
        loop {
            let s = w.changed().await;
            if s.is_terminated() {
                crate::log!("{what}: lost the ZooKeeper session ({s:?}); committing suicide!");
                std::process::exit(1);
            }
        }
    });
}

/// Sequence number at the end of an election node name (`json.info_0000000007` → 7).
pub fn sequence(name: &str) -> Option<u64> {
    name.rsplit(['_', '-']).next()?.parse().ok()
}

/// Prints why and exits with status 1, as the real components do on a fatal error.
pub fn exit_with(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(1);
}

/// Serves `app` on `addr` until the process ends; a bind or server failure is fatal.
pub async fn serve(app: axum::Router, addr: &str) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => exit_with(&format!("Failed to bind {addr}: {e}")),
    };
    if let Err(e) = axum::serve(listener, app).await {
        exit_with(&format!("HTTP server failed: {e}"));
    }
}
