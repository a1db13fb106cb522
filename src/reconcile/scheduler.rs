//! The queue of clusters to reconcile: one entry per cluster with the earliest time it is
//! due (a later request never postpones an earlier one), as kube-runtime's scheduler does.
//! Which clusters are running is kept by the runner; this only orders work.

use std::collections::BTreeMap;

use tokio::time::Instant;

/// Clusters by the time they are next due.
#[derive(Debug, Default)]
pub struct Scheduler {
    due: BTreeMap<String, Instant>,
}

impl Scheduler {
    /// Asks for `name` to run at `at`, or earlier if it is already due earlier.
    pub fn schedule(&mut self, name: &str, at: Instant) {
        let e = self.due.entry(name.to_string()).or_insert(at);
        if at < *e {
            *e = at;
        }
    }

    /// Forgets a cluster (deleted).
    pub fn remove(&mut self, name: &str) {
        self.due.remove(name);
    }

    /// The earliest due time, if anything is queued.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.values().min().copied()
    }

    /// The earliest due time among the clusters `may_run` accepts: the runner's timer
    /// ignores a cluster that is running (it is taken once it ends), or it would wake, find
    /// nothing to start, and wake again at once for as long as the cluster runs.
    pub fn next_due_of(&self, may_run: impl Fn(&str) -> bool) -> Option<Instant> {
        self.due
            .iter()
            .filter(|(n, _)| may_run(n))
            .map(|(_, at)| *at)
            .min()
    }

    /// Takes every cluster due at `now` that `may_run` accepts (the others stay queued).
    pub fn take_due(&mut self, now: Instant, mut may_run: impl FnMut(&str) -> bool) -> Vec<String> {
        let ready: Vec<String> = self
            .due
            .iter()
            .filter(|(n, at)| **at <= now && may_run(n))
            .map(|(n, _)| n.clone())
            .collect();
        for n in &ready {
            self.due.remove(n);
        }
        ready
    }

    /// Makes every queued cluster due at `now` at the latest (this replica just became the
    /// leader: what it saw as a standby may want acting on).
    pub fn expedite_all(&mut self, now: Instant) {
        for at in self.due.values_mut() {
            if now < *at {
                *at = now;
            }
        }
    }

    /// Whether a cluster is queued.
    pub fn contains(&self, name: &str) -> bool {
        self.due.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_earliest_request_wins_and_only_due_clusters_are_taken() {
        let now = Instant::now();
        let mut s = Scheduler::default();
        s.schedule("a", now + Duration::from_secs(30));
        s.schedule("a", now + Duration::from_secs(1));
        s.schedule("a", now + Duration::from_secs(60));
        s.schedule("b", now + Duration::from_secs(5));
        assert_eq!(s.next_due(), Some(now + Duration::from_secs(1)));
        assert!(s.take_due(now, |_| true).is_empty());
        assert_eq!(s.take_due(now + Duration::from_secs(2), |_| true), ["a"]);
        // A running cluster is left queued until it may run.
        assert!(s
            .take_due(now + Duration::from_secs(10), |n| n != "b")
            .is_empty());
        assert!(s.contains("b"));
        assert_eq!(s.take_due(now + Duration::from_secs(10), |_| true), ["b"]);
        assert_eq!(s.next_due(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_ignores_a_cluster_that_is_running() {
        let now = Instant::now();
        let mut s = Scheduler::default();
        s.schedule("running", now);
        s.schedule("later", now + Duration::from_secs(30));
        assert_eq!(s.next_due(), Some(now));
        assert_eq!(
            s.next_due_of(|n| n != "running"),
            Some(now + Duration::from_secs(30))
        );
        assert_eq!(s.next_due_of(|_| false), None);
    }
}
