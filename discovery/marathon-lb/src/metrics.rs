//! The bridge's metrics, in Prometheus' text format on `/metrics`. Labels are bounded: the
//! trigger of an update, a known event type (else `other`), a reason from a fixed list.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// One label: what caused an update, or a reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Trigger {
    /// `start`, `event`, `reconnect` (the stream attached again: a full refetch) or
    /// `periodic` (the fallback refetch).
    pub trigger: String,
}

/// One label: an event type.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventType {
    /// Marathon's `eventType`, or `other`.
    pub r#type: String,
}

/// One label: why something failed or ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// A reason from a fixed list.
    pub reason: String,
}

/// Every metric of the bridge.
#[derive(Default)]
pub struct Metrics {
    /// Configurations loaded into HAProxy (start or reload), by trigger.
    pub config_changes: Family<Trigger, Counter>,
    /// Updates that found the configuration unchanged, by trigger.
    pub config_unchanged: Family<Trigger, Counter>,
    /// Candidate configurations refused by `haproxy -c`.
    pub config_invalid: Counter,
    /// Failed reads of Marathon's apps (every listed Marathon tried), by reason.
    pub fetch_failures: Family<Reason, Counter>,
    /// Marathon events received, by type.
    pub events: Family<EventType, Counter>,
    /// Event stream connections that ended, by reason (`connect`, `status`, `silent`,
    /// `ended`, `transport`).
    pub stream_losses: Family<Reason, Counter>,
    /// Redirects followed to reach a Marathon's event stream.
    pub stream_redirects: Counter,
    /// 1 while an event stream is attached.
    pub stream_up: Gauge,
    /// Routed service ports.
    pub backends: Gauge,
    /// Servers across every backend.
    pub servers: Gauge,
    /// Tasks or ports left out (unresolved host, port taken, not TCP, missing port).
    pub skipped: Gauge,
    /// Times the HAProxy master exited and was started again.
    pub haproxy_restarts: Counter,
    /// Unix time of the last update that read Marathon successfully.
    pub last_sync_seconds: Gauge,
}

impl Metrics {
    /// Registers every metric under `marathon_lb_`.
    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("marathon_lb");
        r.register(
            "config_changes",
            "Configurations loaded into HAProxy, by what triggered the update (event, reconnect, periodic, start)",
            self.config_changes.clone(),
        );
        r.register(
            "config_unchanged",
            "Updates whose derived configuration equalled the running one, by trigger",
            self.config_unchanged.clone(),
        );
        r.register(
            "config_invalid",
            "Candidate configurations refused by haproxy -c (the running one was kept)",
            self.config_invalid.clone(),
        );
        r.register(
            "fetch_failures",
            "Reads of Marathon's apps that failed on every listed Marathon, by reason",
            self.fetch_failures.clone(),
        );
        r.register(
            "events",
            "Marathon events received on the event stream, by type",
            self.events.clone(),
        );
        r.register(
            "event_stream_losses",
            "Event stream connections lost, by reason (connect, status, silent, ended, transport)",
            self.stream_losses.clone(),
        );
        r.register(
            "event_stream_redirects",
            "Redirects followed to a Marathon's event stream (a standby sends to the leader)",
            self.stream_redirects.clone(),
        );
        r.register(
            "event_stream_up",
            "1 while an event stream is attached",
            self.stream_up.clone(),
        );
        r.register("backends", "Service ports routed", self.backends.clone());
        r.register(
            "servers",
            "Servers (task ports) across every backend",
            self.servers.clone(),
        );
        r.register(
            "skipped",
            "Tasks or ports left out of the last configuration",
            self.skipped.clone(),
        );
        r.register(
            "haproxy_restarts",
            "Times the HAProxy master exited and was started again",
            self.haproxy_restarts.clone(),
        );
        r.register(
            "last_sync_timestamp_seconds",
            "Unix time of the last update that read Marathon's apps",
            self.last_sync_seconds.clone(),
        );
    }

    /// Counts one trigger-labelled metric.
    pub fn by_trigger(family: &Family<Trigger, Counter>, trigger: &str) {
        family
            .get_or_create(&Trigger {
                trigger: trigger.to_string(),
            })
            .inc();
    }

    /// Counts one reason-labelled metric.
    pub fn by_reason(family: &Family<Reason, Counter>, reason: &str) {
        family
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }
}
