//! Cross-cluster port checks without reading every spec on every reconcile.
//!
//! Each reconcile compares its cluster's ports with every other stored cluster's
//! ([`super::Store::port_conflicts`]); read from etcd each time, that is one request per
//! other cluster per reconcile, so the loop's etcd load grew with the square of the number of
//! clusters (the scale benchmark measured it). The loop's own watch sees every change of a
//! spec key; while it runs, an answer stays valid until the watch reports a spec change (or
//! loses and resumes its stream), and only then are the specs read again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use mesos_operator_core::spec::{ClusterSpec, PortConflict};

/// An answer kept for one cluster: the epoch it was computed at, the spec it was for, the
/// conflicts found.
#[derive(Debug, Clone)]
struct Kept {
    epoch: u64,
    spec: ClusterSpec,
    conflicts: Vec<PortConflict>,
}

/// What the watch tells the cache, and the answers kept.
#[derive(Debug, Default)]
pub(crate) struct SpecCache {
    /// Bumped on every spec change the watch sees, and whenever it (re)lists.
    epoch: AtomicU64,
    /// A watch is running and connected: without one, nothing is cached.
    live: AtomicBool,
    answers: Mutex<HashMap<String, Kept>>,
}

impl SpecCache {
    /// A spec changed, or the watch listed again (it may have missed changes).
    pub(crate) fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The watch is connected (`true`) or broken (`false`).
    pub(crate) fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        self.changed();
    }

    /// The epoch to stamp an answer with, read before the specs are.
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.live
            .load(Ordering::SeqCst)
            .then(|| self.epoch.load(Ordering::SeqCst))
    }

    /// The kept answer for `name` with this spec, if nothing changed since.
    pub(crate) fn get(&self, name: &str, spec: &ClusterSpec) -> Option<Vec<PortConflict>> {
        let now = self.epoch()?;
        let answers = self.answers.lock().ok()?;
        let kept = answers.get(name)?;
        (kept.epoch == now && kept.spec == *spec).then(|| kept.conflicts.clone())
    }

    /// Keeps an answer computed from specs read after `epoch` was taken.
    pub(crate) fn put(&self, name: &str, epoch: u64, spec: &ClusterSpec, c: &[PortConflict]) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(
                name.to_string(),
                Kept {
                    epoch,
                    spec: spec.clone(),
                    conflicts: c.to_vec(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_only_while_the_watch_runs_and_no_spec_changed() {
        let cache = SpecCache::default();
        let doc = mesos_operator_core::spec::parse_document(
            "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: a}\nspec:\n  hosts:\n    - {name: h1, address: 10.0.0.1, docker: {endpoint: 'unix:///var/run/docker.sock'}}\n  zookeeper: {image: 'zookeeper:3.8.4', servers: 1}\n  masters: {image: 'mesos-master:1.11.0', count: 1}\n  agents: {image: 'mesos-agent:1.11.0'}\n",
        );
        let Ok(doc) = doc else {
            panic!("test document: {doc:?}");
        };
        let spec = doc.spec;
        assert_eq!(cache.epoch(), None, "no watch: nothing is cached");
        cache.set_live(true);
        let e = cache.epoch().unwrap_or_default();
        cache.put("a", e, &spec, &[]);
        assert_eq!(cache.get("a", &spec), Some(vec![]));
        cache.changed();
        assert_eq!(cache.get("a", &spec), None, "a spec changed somewhere");
        let e = cache.epoch().unwrap_or_default();
        cache.put("a", e, &spec, &[]);
        cache.set_live(false);
        assert_eq!(cache.get("a", &spec), None, "the watch broke");
    }
}
