//! Whether the reconcile loop is alive and none of its reconciles is wedged, for `/readyz`.
//!
//! etcd answering is not enough to call the operator ready: a loop stuck on something
//! without a deadline, or one cluster's reconcile that never returns, leaves the process up,
//! `/healthz` green, and the clusters unattended. The loop ticks at least every
//! [`HEARTBEAT`] and says when each reconcile starts and ends; `/readyz` turns 503, naming
//! what it saw, when the loop has been silent for [`SILENT_AFTER`] or a reconcile has run
//! for [`WEDGED_AFTER`] (every call a reconcile makes has its own deadline, so none should
//! come near it).
//!
//! Under systemd with `WatchdogSec=` ([`Liveness::feed_watchdog`]), the same heartbeat
//! feeds the watchdog: each tick pings it unless a reconcile is wedged, and the loop goes
//! round at least every [`Liveness::heartbeat`], a quarter of the watchdog's interval if
//! that is shorter than [`HEARTBEAT`]. A loop that stops going round stops the pings, and
//! systemd restarts the process; nothing else in the process pings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::service_manager::ServiceManager;

/// The loop ticks at least this often, idle or not.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A loop silent this long is stuck.
pub const SILENT_AFTER: Duration = Duration::from_secs(60);
/// A reconcile running this long is wedged.
pub const WEDGED_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
struct State {
    tick: Option<Instant>,
    running: HashMap<String, Instant>,
    watchdog: Option<Watchdog>,
}

/// The service manager's watchdog, fed from [`Liveness::tick`].
#[derive(Debug)]
struct Watchdog {
    manager: ServiceManager,
    /// Ping at least this often.
    every: Duration,
    /// The last ping.
    last: Option<Instant>,
}

impl State {
    /// The reconcile that has run longest, if it has run for [`WEDGED_AFTER`].
    fn wedged(&self, now: Instant) -> Option<(&String, Duration)> {
        self.running
            .iter()
            .map(|(c, at)| (c, now.saturating_duration_since(*at)))
            .filter(|(_, d)| *d >= WEDGED_AFTER)
            .max_by_key(|(_, d)| *d)
    }
}

/// Shared between the loop, which reports, and the admin server, which asks.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    inner: Arc<Mutex<State>>,
}

impl Liveness {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.inner.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Feeds `manager`'s watchdog from now on, if it has one (`WatchdogSec=`).
    pub fn feed_watchdog(&self, manager: ServiceManager) {
        if let Some(every) = manager.watchdog_every() {
            self.with(|s| {
                s.watchdog = Some(Watchdog {
                    manager,
                    every,
                    last: None,
                })
            });
        }
    }

    /// The loop goes round at least this often: [`HEARTBEAT`], or less to feed a
    /// watchdog in time.
    pub fn heartbeat(&self) -> Duration {
        self.with(|s| match &s.watchdog {
            Some(w) => w.every.min(HEARTBEAT),
            None => HEARTBEAT,
        })
    }

    /// The loop went round once: and pings the watchdog, unless a reconcile is wedged (at
    /// most twice per [`Liveness::heartbeat`]: a busy loop goes round far more often).
    pub fn tick(&self) {
        let now = Instant::now();
        self.with(|s| {
            s.tick = Some(now);
            let wedged = s.wedged(now).is_some();
            if let Some(w) = &mut s.watchdog {
                let due = match w.last {
                    Some(l) => now.saturating_duration_since(l) >= w.every / 2,
                    None => true,
                };
                if due && !wedged {
                    w.manager.watchdog();
                    w.last = Some(now);
                }
            }
        });
    }

    /// A reconcile of `cluster` began.
    pub fn started(&self, cluster: &str) {
        self.with(|s| {
            s.running.insert(cluster.to_string(), Instant::now());
        });
    }

    /// The reconcile of `cluster` ended (or panicked).
    pub fn finished(&self, cluster: &str) {
        self.with(|s| {
            s.running.remove(cluster);
        });
    }

    /// The loop stopped on purpose (shutdown): nothing to report any more.
    pub fn stopped(&self) {
        self.with(|s| {
            s.tick = None;
            s.running.clear();
        });
    }

    /// What makes the loop not ready now, if anything.
    pub fn problem(&self) -> Option<String> {
        let now = Instant::now();
        self.with(|s| {
            if let Some(t) = s.tick {
                let silent = now.saturating_duration_since(t);
                if silent >= SILENT_AFTER {
                    return Some(format!(
                        "the reconcile loop has not gone round for {}s",
                        silent.as_secs()
                    ));
                }
            }
            s.wedged(now).map(|(c, d)| {
                format!(
                    "the reconcile of cluster {c} has run for {}s (wedged)",
                    d.as_secs()
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_loop_or_a_wedged_reconcile_is_a_problem_a_busy_one_is_not() {
        let l = Liveness::default();
        assert_eq!(l.problem(), None, "not started yet");
        l.tick();
        l.started("c1");
        tokio::time::sleep(Duration::from_secs(30)).await;
        l.tick();
        assert_eq!(l.problem(), None);
        tokio::time::sleep(SILENT_AFTER).await;
        let p = l.problem().unwrap_or_default();
        assert!(p.contains("has not gone round"), "{p}");
        l.tick();
        tokio::time::sleep(WEDGED_AFTER).await;
        l.tick();
        let p = l.problem().unwrap_or_default();
        assert!(p.contains("cluster c1") && p.contains("wedged"), "{p}");
        l.finished("c1");
        assert_eq!(l.problem(), None);
        l.stopped();
        tokio::time::sleep(SILENT_AFTER).await;
        assert_eq!(l.problem(), None, "a stopped loop is not a stuck one");
    }

    /// The heartbeat feeds the watchdog: at the first tick, then at most twice per
    /// heartbeat however often the loop goes round, and not while a reconcile is wedged.
    #[tokio::test(start_paused = true)]
    async fn ticks_feed_the_watchdog_unless_a_reconcile_is_wedged() {
        use crate::service_manager::{Message, ServiceManager};
        let l = Liveness::default();
        assert_eq!(l.heartbeat(), HEARTBEAT, "no watchdog, the usual heartbeat");
        let (m, rx) = ServiceManager::recording(Duration::from_secs(8));
        l.feed_watchdog(m);
        assert_eq!(
            l.heartbeat(),
            Duration::from_secs(2),
            "a quarter of WatchdogSec"
        );
        let pings = || rx.try_iter().filter(|m| *m == Message::Watchdog).count();
        l.tick();
        l.tick();
        assert_eq!(pings(), 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        l.tick();
        assert_eq!(pings(), 0, "a busy loop does not flood the socket");
        tokio::time::sleep(Duration::from_millis(500)).await;
        l.tick();
        assert_eq!(pings(), 1, "due again after half a heartbeat");
        l.started("c1");
        tokio::time::sleep(Duration::from_secs(1)).await;
        l.tick();
        assert_eq!(pings(), 1, "a reconcile running, not wedged, is fine");
        tokio::time::sleep(WEDGED_AFTER).await;
        l.tick();
        assert_eq!(pings(), 0, "a wedged reconcile starves the watchdog");
        l.finished("c1");
        l.tick();
        assert_eq!(pings(), 1);
    }
}
