//! Preflight results kept per cluster for a while: a reconcile that plans a placement asks
//! often (every look at a blocked cluster), a helper container per host each time would be
//! a burden on the hosts and slow every look.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mesos_operator_core::preflight::{Outcome, Results};
use tokio::time::Instant;

/// How long results with a failure are kept: the cluster goes on this soon after the
/// cause is removed.
pub const TTL_FAILED: Duration = Duration::from_secs(10);
/// How long results that pass (or only warn) are kept.
pub const TTL_PASSED: Duration = Duration::from_secs(120);

/// Per cluster: the document it was computed for (its spec as JSON), when, and the results.
#[derive(Default)]
pub struct PreflightCache {
    entries: Mutex<HashMap<String, (String, Instant, Results)>>,
}

impl PreflightCache {
    /// The results for `cluster` computed for `fingerprint`, while fresh.
    pub fn get(&self, cluster: &str, fingerprint: &str) -> Option<Results> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (fp, at, results) = entries.get(cluster)?;
        let failed = results
            .values()
            .flatten()
            .any(|r| r.outcome == Outcome::Fail);
        let ttl = if failed { TTL_FAILED } else { TTL_PASSED };
        (fp == fingerprint && at.elapsed() < ttl).then(|| results.clone())
    }

    /// Keeps `results`.
    pub fn put(&self, cluster: &str, fingerprint: String, results: Results) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(cluster.to_string(), (fingerprint, Instant::now(), results));
    }

    /// Drops what is kept for `cluster`.
    pub fn forget(&self, cluster: &str) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(cluster);
    }
}
