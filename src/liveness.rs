//! Whether the reconcile loop is alive and none of its reconciles is wedged, for `/readyz`.
//!
//! etcd answering is not enough to call the operator ready: a loop stuck on something
//! without a deadline, or one cluster's reconcile that never returns, leaves the process up,
//! `/healthz` green, and the clusters unattended. The loop ticks at least every
//! [`HEARTBEAT`] and says when each reconcile starts and ends; `/readyz` turns 503, naming
//! what it saw, when the loop has been silent for [`SILENT_AFTER`] or a reconcile has run
//! for [`WEDGED_AFTER`] (every call a reconcile makes has its own deadline, so none should
//! come near it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

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

    /// The loop went round once.
    pub fn tick(&self) {
        self.with(|s| s.tick = Some(Instant::now()));
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
            s.running
                .iter()
                .map(|(c, at)| (c, now.saturating_duration_since(*at)))
                .filter(|(_, d)| *d >= WEDGED_AFTER)
                .max_by_key(|(_, d)| *d)
                .map(|(c, d)| {
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
}
