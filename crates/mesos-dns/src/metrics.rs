//! The server's own metrics, on its HTTP port at `/metrics` (Prometheus text format). Every
//! metric has help text, so `promtool check metrics` is clean.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;

/// Counters and gauges, shared by the refresh loop and the listeners.
pub struct Metrics {
    registry: Registry,
    /// Refreshes by result (`ok`, `no_leader`, `zookeeper_error`, `state_error`).
    pub refreshes: Family<Labels, Counter>,
    /// 1 while the records served are not from the last refresh (ZooKeeper or Mesos had no
    /// leader, or could not be read): the last good records are kept, never dropped.
    pub stale: Gauge,
    /// Unix time of the last refresh that read the leader's state.
    pub last_success: Gauge,
    /// Masters seen in the election at the last refresh that found any.
    pub masters: Gauge,
    /// Records served, by type.
    pub records: Family<Labels, Gauge>,
    /// Times `leader.<domain>` changed.
    pub leader_changes: Counter,
    /// DNS queries by transport and result.
    pub queries: Family<Labels, Counter>,
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            refreshes: Family::default(),
            stale: Gauge::default(),
            last_success: Gauge::default(),
            masters: Gauge::default(),
            records: Family::default(),
            leader_changes: Counter::default(),
            queries: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "mesos_dns_refreshes",
            "Refreshes of the records from ZooKeeper and the leading master, by result",
            m.refreshes.clone(),
        );
        registry.register(
            "mesos_dns_stale",
            "1 while the records served are older than the last refresh attempt (no leader, or ZooKeeper or the master unreadable); the last good records are kept",
            m.stale.clone(),
        );
        registry.register(
            "mesos_dns_last_successful_refresh_timestamp_seconds",
            "Unix time of the last refresh that read the leading master's state",
            m.last_success.clone(),
        );
        registry.register(
            "mesos_dns_masters",
            "Masters contending in the ZooKeeper election at the last refresh that found any",
            m.masters.clone(),
        );
        registry.register(
            "mesos_dns_records",
            "Record names served, by type",
            m.records.clone(),
        );
        registry.register(
            "mesos_dns_leader_changes",
            "Times leader.<domain> moved to another master",
            m.leader_changes.clone(),
        );
        registry.register(
            "mesos_dns_queries",
            "DNS queries answered, by transport and result",
            m.queries.clone(),
        );
        for r in ["ok", "no_leader", "zookeeper_error", "state_error"] {
            let _ = m.refreshes.get_or_create(&vec![("result", r)]);
        }
        for t in ["A", "SRV"] {
            let _ = m.records.get_or_create(&vec![("type", t)]);
        }
        Metrics { registry, ..m }
    }

    /// Counts a query.
    pub fn query(&self, transport: &'static str, result: &'static str) {
        self.queries
            .get_or_create(&vec![("transport", transport), ("result", result)])
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
