//! Docker's event streams as triggers: a container of a cluster that starts, dies or goes
//! away on any host wakes that cluster's reconcile at once, instead of at its next resync.
//!
//! Why this shape (kube-runtime's watch-driven reflectors are the model):
//! - **One stream per host and cluster**, filtered by the cluster's label on the engine, so
//!   a busy host with other people's containers sends nothing here.
//! - **Triggers only.** An event says *that* something changed, never *what* the cluster
//!   looks like: the reconcile it wakes observes afresh, so a lost or reordered event costs
//!   at most one resync, never a wrong decision.
//! - **A broken stream falls back to polling.** A stream that ends or fails is re-opened
//!   with a growing delay, counted in `mesos_operator_docker_event_stream_restarts_total`;
//!   it wakes its cluster (what happened while it was down is unknown), and while it is down
//!   [`EventHub::watched`] is false, so the loop keeps the short resync for that cluster.
//! - **The engine is pinged before a stream is opened**: a stream's request has no deadline
//!   (it is silent while nothing happens), and a host that does not answer must not count as
//!   watched.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tracing::{debug, info};

use crate::metrics::Metrics;
use crate::observe::HostClients;

/// First delay before a broken stream is re-opened.
pub const REOPEN_FIRST: Duration = Duration::from_millis(250);
/// Longest delay between attempts to re-open a stream.
pub const REOPEN_MAX: Duration = Duration::from_secs(30);
/// A stream that stayed open this long starts its next re-open from [`REOPEN_FIRST`].
const STABLE: Duration = Duration::from_secs(30);
/// A silent stream's engine is pinged this often; a ping that fails ends the stream (its
/// connection may be dead without either side knowing).
const PING_EVERY: Duration = Duration::from_secs(60);
/// A stream is re-opened (and its cluster woken) at least this often, for transports
/// without TCP keepalive (a unix socket, plain TCP): its connection may be dead unseen.
const MAX_AGE: Duration = Duration::from_secs(600);

/// The event streams of every cluster's hosts, and the wakes they produce.
pub struct EventHub {
    wake_tx: mpsc::UnboundedSender<String>,
    wake_rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    metrics: Metrics,
    clusters: Mutex<HashMap<String, ClusterWatch>>,
}

/// The streams of one cluster's hosts, kept while its clients stay the same.
struct ClusterWatch {
    /// Identifies the clients the streams were opened with.
    clients: usize,
    /// Every host has a client: a host without one cannot be watched, and the cluster never
    /// counts as watched while one is missing.
    complete: bool,
    hosts: Vec<HostWatch>,
}

/// One host's stream: a task that keeps it open, stopped when this is dropped.
struct HostWatch {
    up: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HostWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventHub {
    /// A hub with no stream yet.
    pub fn new(metrics: Metrics) -> EventHub {
        let (wake_tx, wake_rx) = mpsc::unbounded_channel();
        EventHub {
            wake_tx,
            wake_rx: Mutex::new(Some(wake_rx)),
            metrics,
            clusters: Mutex::new(HashMap::new()),
        }
    }

    /// The names of clusters whose containers changed, as the engines report them; the first
    /// call takes the stream, later ones get `None`.
    pub fn wakes(&self) -> Option<BoxStream<'static, String>> {
        let rx = self
            .wake_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        Some(
            futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|name| (name, rx))
            })
            .boxed(),
        )
    }

    /// Opens a stream per host of `cluster` on `clients`, unless streams on these very
    /// clients are open already; streams on other clients (the hosts changed) are closed.
    pub fn watch(&self, cluster: &str, clients: &Arc<HostClients>) {
        let id = Arc::as_ptr(clients) as usize;
        let mut all = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        if all.get(cluster).is_some_and(|w| w.clients == id) {
            return;
        }
        let hosts = clients
            .hosts
            .iter()
            .filter(|(_, c)| c.is_ok())
            .map(|(host, _)| {
                let up = Arc::new(AtomicBool::new(false));
                let task = tokio::spawn(keep_open(
                    cluster.to_string(),
                    host.clone(),
                    clients.clone(),
                    up.clone(),
                    self.wake_tx.clone(),
                    self.metrics.clone(),
                ));
                HostWatch { up, task }
            })
            .collect::<Vec<_>>();
        let complete = hosts.len() == clients.hosts.len();
        all.insert(
            cluster.to_string(),
            ClusterWatch {
                clients: id,
                complete,
                hosts,
            },
        );
    }

    /// Whether every host of `cluster` has its stream open now: changes made behind the
    /// operator's back reach it at once, so a converged cluster can be looked at less often.
    pub fn watched(&self, cluster: &str) -> bool {
        self.clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(cluster)
            .is_some_and(|w| w.complete && w.hosts.iter().all(|h| h.up.load(Ordering::Acquire)))
    }

    /// Closes the streams of a cluster that is gone.
    pub fn forget(&self, cluster: &str) {
        self.clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(cluster);
    }
}

/// Keeps one host's stream open for as long as the task lives.
async fn keep_open(
    cluster: String,
    host: String,
    clients: Arc<HostClients>,
    up: Arc<AtomicBool>,
    wake: mpsc::UnboundedSender<String>,
    metrics: Metrics,
) {
    let Some(Ok(client)) = clients.hosts.get(&host) else {
        return;
    };
    // The flag `watched` reads and the gauge people read move together.
    let set_up = |open: bool| {
        up.store(open, Ordering::Release);
        metrics.set_docker_event_stream(&cluster, &host, open);
    };
    let mut delay = REOPEN_FIRST;
    let mut opened_before = false;
    loop {
        if client.ping().await.is_ok() {
            let mut events = client.events(&cluster);
            set_up(true);
            let opened = tokio::time::Instant::now();
            if opened_before {
                info!(%cluster, %host, "Docker event stream open again");
            }
            opened_before = true;
            // What happened before the engine registered the stream (or while it was down)
            // is unknown: look now, once the request is on its way.
            let mut woken = false;
            let mut ping = tokio::time::interval_at(opened + PING_EVERY, PING_EVERY);
            let ended = loop {
                let next = tokio::select! {
                    next = events.next() => next,
                    () = tokio::time::sleep(Duration::from_millis(200)), if !woken => {
                        woken = true;
                        if wake.send(cluster.clone()).is_err() {
                            return;
                        }
                        continue;
                    }
                    _ = ping.tick() => {
                        if opened.elapsed() >= MAX_AGE {
                            break "re-opened after its longest age".to_string();
                        }
                        match client.ping().await {
                            Ok(()) => continue,
                            Err(e) => break format!("the engine stopped answering: {e}"),
                        }
                    }
                };
                match next {
                    Some(Ok(e)) => {
                        debug!(%cluster, %host, action = %e.action, container = %e.name, "Docker event");
                        metrics.docker_event(&host);
                        if wake.send(cluster.clone()).is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => break e.to_string(),
                    None => break "the engine closed it".to_string(),
                }
            };
            set_up(false);
            metrics.docker_event_stream_restart(&host);
            info!(%cluster, %host, reason = %ended, retry_in = ?delay, "Docker event stream ended; polling until it is open again");
            let _ = wake.send(cluster.clone());
            if opened.elapsed() >= STABLE {
                delay = REOPEN_FIRST;
            }
        } else {
            set_up(false);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(REOPEN_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_operator_core::spec::{DockerEndpoint, Host};
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::Notify;

    /// A Docker engine that answers `/_ping`, and `/events` with one event per
    /// `send.notify_one()` until `close.notify_one()` ends the stream.
    struct FakeEngine {
        addr: std::net::SocketAddr,
        streams_opened: Arc<AtomicUsize>,
        send: Arc<Notify>,
        close: Arc<Notify>,
    }

    async fn fake_engine() -> FakeEngine {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let streams_opened = Arc::new(AtomicUsize::new(0));
        let (send, close) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let engine = FakeEngine {
            addr,
            streams_opened: streams_opened.clone(),
            send: send.clone(),
            close: close.clone(),
        };
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(
                    conn,
                    streams_opened.clone(),
                    send.clone(),
                    close.clone(),
                ));
            }
        });
        engine
    }

    async fn serve(
        mut conn: TcpStream,
        streams_opened: Arc<AtomicUsize>,
        send: Arc<Notify>,
        close: Arc<Notify>,
    ) {
        loop {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match conn.read(&mut byte).await {
                    Ok(1) => head.push(byte[0]),
                    _ => return,
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            if head.contains("/_ping") {
                let r =
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK";
                if conn.write_all(r.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
            if !head.contains("/events") {
                return;
            }
            streams_opened.fetch_add(1, Ordering::SeqCst);
            let r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if conn.write_all(r.as_bytes()).await.is_err() {
                return;
            }
            loop {
                tokio::select! {
                    () = send.notified() => {
                        let ev = r#"{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"c1-agent-h1"}},"time":1,"timeNano":1}"#;
                        let chunk = format!("{:x}\r\n{ev}\n\r\n", ev.len() + 1);
                        if conn.write_all(chunk.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    () = close.notified() => {
                        let _ = conn.write_all(b"0\r\n\r\n").await;
                        return;
                    }
                }
            }
        }
    }

    async fn clients(addr: std::net::SocketAddr) -> Arc<HostClients> {
        let host = Host {
            name: "h1".into(),
            address: "127.0.0.1".into(),
            docker: DockerEndpoint {
                endpoint: format!("tcp://{addr}"),
                tls: None,
                insecure: true,
            },
            ignore_preflight: vec![],
        };
        let secrets = crate::secrets::SecretSource::Memory(Default::default());
        let client = crate::docker::connect(&host, &secrets).await;
        Arc::new(HostClients {
            hosts: BTreeMap::from([("h1".to_string(), client.map_err(|e| e.to_string()))]),
        })
    }

    async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
        for _ in 0..200 {
            if ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn next_wake(wakes: &mut BoxStream<'static, String>) -> String {
        tokio::time::timeout(Duration::from_secs(5), wakes.next())
            .await
            .expect("a wake within 5 s")
            .expect("the wakes stream is open")
    }

    /// Takes every wake until none comes for 400 ms.
    async fn drain(wakes: &mut BoxStream<'static, String>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(400), wakes.next()).await
        {
            out.push(n);
        }
        out
    }

    fn restarts(metrics: &Metrics) -> bool {
        metrics
            .encode_text()
            .contains("mesos_operator_docker_event_stream_restarts_total{host=\"h1\"} 1")
    }

    #[tokio::test]
    async fn an_event_wakes_its_cluster_and_a_broken_stream_is_polled_until_reopened() {
        let engine = fake_engine().await;
        let metrics = Metrics::new();
        let hub = EventHub::new(metrics.clone());
        let mut wakes = hub.wakes().expect("the first call takes the stream");
        assert!(hub.wakes().is_none(), "the wakes are taken once");
        let c = clients(engine.addr).await;
        assert!(!hub.watched("c1"), "nothing is watched before it is asked");
        hub.watch("c1", &c);
        eventually("the stream open", || {
            engine.streams_opened.load(Ordering::SeqCst) == 1
        })
        .await;
        assert!(hub.watched("c1"));
        // Opened, the stream wakes its cluster once: what changed before the engine
        // registered it is unknown.
        assert_eq!(drain(&mut wakes).await, vec!["c1".to_string()]);
        // Asked again on the same clients: the stream stays, none is opened beside it.
        hub.watch("c1", &c);
        engine.send.notify_one();
        assert_eq!(next_wake(&mut wakes).await, "c1");
        assert!(metrics
            .encode_text()
            .contains("mesos_operator_docker_events_total{host=\"h1\"} 1"));

        // The engine ends the stream: the cluster is woken (what happened meanwhile is
        // unknown), counts as polled, and the stream is opened again.
        engine.close.notify_one();
        assert_eq!(next_wake(&mut wakes).await, "c1");
        eventually("the restart counted", || restarts(&metrics)).await;
        eventually("the stream opened again", || {
            engine.streams_opened.load(Ordering::SeqCst) == 2
        })
        .await;
        assert_eq!(
            next_wake(&mut wakes).await,
            "c1",
            "woken once more when open again"
        );
        eventually("watched again", || hub.watched("c1")).await;
        drain(&mut wakes).await;
        engine.send.notify_one();
        assert_eq!(next_wake(&mut wakes).await, "c1");
        assert_eq!(
            engine.streams_opened.load(Ordering::SeqCst),
            2,
            "asked again, not re-opened"
        );

        // Forgotten, the cluster's stream is closed and nothing wakes it.
        hub.forget("c1");
        assert!(!hub.watched("c1"));
        engine.send.notify_one();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), wakes.next())
                .await
                .is_err(),
            "a forgotten cluster is not woken"
        );
    }

    #[tokio::test]
    async fn a_host_that_does_not_answer_is_not_watched() {
        // A port nobody listens on: the ping fails, no stream is opened.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let hub = EventHub::new(Metrics::new());
        hub.watch("c1", &clients(addr).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !hub.watched("c1"),
            "an unreachable host leaves the cluster polled"
        );
    }
}
