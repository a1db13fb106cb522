//! The updater: reads Marathon's apps, derives HAProxy's configuration and loads it when
//! it changed. Woken by the event follower (an event, or an attachment: a full refetch),
//! by the fallback period (a refetch whatever the stream says), and at start. Wakes that
//! arrive within the debounce window are served by one read. The HAProxy master is watched:
//! one that exited is started again on the live configuration.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::config::{self, Settings};
use crate::events::Wake;
use crate::haproxy::Haproxy;
use crate::marathon::Marathons;
use crate::metrics::Metrics;

/// What `/health` reports.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// HAProxy runs a configuration this process loaded.
    pub haproxy_running: bool,
    /// When Marathon was last read successfully.
    pub last_sync: Option<Instant>,
    /// The last problem, if the last update failed.
    pub last_error: Option<String>,
    /// The configuration HAProxy runs (served on `/haproxy.cfg`).
    pub config: Option<String>,
}

/// Shared between the updater and the HTTP server.
pub type SharedHealth = Arc<Mutex<Health>>;

/// What wakes were served by one update, as the metrics' `trigger` label.
fn trigger_label(wakes: &[Wake], periodic: bool) -> &'static str {
    if wakes.contains(&Wake::Event) {
        "event"
    } else if wakes.contains(&Wake::Attached) {
        "reconnect"
    } else if periodic {
        "periodic"
    } else {
        "start"
    }
}

/// Looks up the tasks' hostnames (each bounded by 2 s); unresolved ones are left out.
async fn resolve(hosts: impl IntoIterator<Item = String>) -> BTreeMap<String, IpAddr> {
    let mut out = BTreeMap::new();
    for h in hosts {
        let lookup = tokio::net::lookup_host((h.clone(), 0));
        let first = match tokio::time::timeout(Duration::from_secs(2), lookup).await {
            Ok(Ok(mut addrs)) => addrs.next(),
            _ => None,
        };
        if let Some(a) = first {
            out.insert(h, a.ip());
        }
    }
    out
}

/// The updater's parts.
pub struct Updater {
    /// Where Marathon is.
    pub marathons: Arc<Marathons>,
    /// HAProxy.
    pub haproxy: Haproxy,
    /// How configurations are derived.
    pub settings: Settings,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Health, for `/health`.
    pub health: SharedHealth,
    /// The fallback refetch period.
    pub refetch: Duration,
    /// How long to gather wakes before reading.
    pub debounce: Duration,
    /// The configuration HAProxy runs.
    pub current: Option<String>,
}

impl Updater {
    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One update: read, derive, load if changed.
    async fn update(&mut self, trigger: &str) {
        let apps = match self.marathons.apps().await {
            Ok(a) => a.apps,
            Err(e) => {
                Metrics::by_reason(&self.metrics.fetch_failures, e.reason());
                tracing::warn!(error = %e, "cannot read Marathon's apps; routes unchanged");
                self.health().last_error = Some(e.to_string());
                // HAProxy still starts, with no route, so that its stats answer.
                if self.current.is_none() {
                    self.load(
                        config::derive(&[], &BTreeMap::new(), &self.settings),
                        trigger,
                    )
                    .await;
                }
                return;
            }
        };
        let resolved = resolve(config::hosts_to_resolve(&apps)).await;
        let derived = config::derive(&apps, &resolved, &self.settings);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.metrics.last_sync_seconds.set(now);
        {
            let mut h = self.health();
            h.last_sync = Some(Instant::now());
            h.last_error = None;
        }
        for s in &derived.skipped {
            tracing::debug!(skipped = ?s, "left out of the configuration");
        }
        self.load(derived, trigger).await;
    }

    async fn load(&mut self, derived: config::Derived, trigger: &str) {
        if self.current.as_deref() == Some(derived.text.as_str()) {
            Metrics::by_trigger(&self.metrics.config_unchanged, trigger);
            return;
        }
        match self.haproxy.apply(&derived.text).await {
            Ok(how) => {
                tracing::info!(
                    ?how,
                    trigger,
                    backends = derived.backends,
                    servers = derived.servers,
                    "configuration loaded"
                );
                Metrics::by_trigger(&self.metrics.config_changes, trigger);
                self.metrics.backends.set(derived.backends as i64);
                self.metrics.servers.set(derived.servers as i64);
                self.metrics.skipped.set(derived.skipped.len() as i64);
                {
                    let mut h = self.health();
                    h.haproxy_running = true;
                    h.config = Some(derived.text.clone());
                }
                self.current = Some(derived.text);
            }
            Err(e) => {
                if matches!(e, crate::haproxy::HaproxyError::Invalid(_)) {
                    self.metrics.config_invalid.inc();
                }
                tracing::error!(error = %e, "configuration not loaded");
                self.health().last_error = Some(e.to_string());
            }
        }
    }

    /// Runs until `shutdown` resolves, then stops HAProxy.
    pub async fn run(
        mut self,
        mut wakes: mpsc::Receiver<Wake>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        self.update("start").await;
        let mut fallback =
            tokio::time::interval_at(tokio::time::Instant::now() + self.refetch, self.refetch);
        let mut watch = tokio::time::interval(Duration::from_secs(1));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                w = wakes.recv() => {
                    let Some(first) = w else { break };
                    let mut batch = vec![first];
                    tokio::time::sleep(self.debounce).await;
                    while let Ok(w) = wakes.try_recv() {
                        batch.push(w);
                    }
                    self.update(trigger_label(&batch, false)).await;
                }
                _ = fallback.tick() => self.update(trigger_label(&[], true)).await,
                _ = watch.tick() => self.watch_haproxy(),
            }
        }
        self.haproxy.stop().await;
    }

    /// Starts HAProxy again if its master exited.
    fn watch_haproxy(&mut self) {
        if let Some(status) = self.haproxy.exited() {
            tracing::error!(%status, "the HAProxy master exited; starting it again");
            self.metrics.haproxy_restarts.inc();
            self.health().haproxy_running = false;
            match self.haproxy.restart() {
                Ok(()) => self.health().haproxy_running = true,
                Err(e) => self.health().last_error = Some(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_labelled_by_the_strongest_reason_it_served() {
        assert_eq!(
            trigger_label(&[Wake::Attached, Wake::Event], false),
            "event"
        );
        assert_eq!(trigger_label(&[Wake::Attached], false), "reconnect");
        assert_eq!(trigger_label(&[], true), "periodic");
        assert_eq!(trigger_label(&[], false), "start");
    }
}
