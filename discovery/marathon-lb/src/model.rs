//! Marathon's apps and tasks as `/v2/apps?embed=apps.tasks` lists them: only the fields the
//! bridge reads, every one optional where Marathon may leave it out, unknown ones ignored
//! (Marathon adds fields between versions; the bridge must not break on them).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The answer of `GET /v2/apps?embed=apps.tasks`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Apps {
    /// Every app.
    #[serde(default)]
    pub apps: Vec<App>,
}

/// One app.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// `/group/name`.
    pub id: String,
    /// Service ports, one per port definition (Marathon assigns them from 10000 up).
    #[serde(default)]
    pub port_definitions: Vec<PortDefinition>,
    /// Labels; `HAPROXY_GROUP` and `HAPROXY_<n>_MODE` are read, as marathon-lb does.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Health checks: an app with some routes only to tasks that pass all of them.
    #[serde(default)]
    pub health_checks: Vec<serde_json::Value>,
    /// The app's tasks (with `embed=apps.tasks`).
    #[serde(default)]
    pub tasks: Vec<Task>,
}

/// One port definition.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortDefinition {
    /// The service port (0 only before Marathon assigned one).
    #[serde(default)]
    pub port: u32,
    /// `tcp` (the default) or `udp`; HAProxy routes TCP only.
    #[serde(default)]
    pub protocol: Option<String>,
    /// The port's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One task of an app.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// The task id.
    pub id: String,
    /// The agent's hostname.
    #[serde(default)]
    pub host: String,
    /// The task's addresses (host networking: the agent's).
    #[serde(default)]
    pub ip_addresses: Vec<IpAddress>,
    /// Host ports, one per port definition.
    #[serde(default)]
    pub ports: Vec<u32>,
    /// Mesos state (`TASK_RUNNING`...); Marathon 1.10 always writes it.
    #[serde(default)]
    pub state: Option<String>,
    /// Set once the task runs.
    #[serde(default)]
    pub started_at: Option<String>,
    /// One result per health check, once checked.
    #[serde(default)]
    pub health_check_results: Vec<HealthCheckResult>,
}

/// A task's address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    /// The address.
    pub ip_address: String,
}

/// The last result of one health check.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HealthCheckResult {
    /// Whether the check passes.
    #[serde(default)]
    pub alive: bool,
}

impl Task {
    /// Whether traffic may go to the task: it runs (started, `TASK_RUNNING`) and, when its
    /// app has health checks, passes every one of them (marathon-lb's rule).
    pub fn healthy(&self, health_checks: usize) -> bool {
        let running =
            self.started_at.is_some() && self.state.as_deref().is_none_or(|s| s == "TASK_RUNNING");
        let checks_pass = health_checks == 0
            || (self.health_check_results.len() >= health_checks
                && self.health_check_results.iter().all(|r| r.alive));
        running && checks_pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marathons_answer_is_read_with_unknown_fields_and_missing_ones() {
        let body = r#"{"apps":[{"id":"/web","cmd":"x","portDefinitions":[{"port":10000,"protocol":"tcp","name":"http","labels":{}}],
            "labels":{"HAPROXY_GROUP":"external"},"healthChecks":[],"somethingNew":1,
            "tasks":[{"id":"web.1","host":"a1","ports":[31000],"servicePorts":[10000],"state":"TASK_RUNNING",
                      "startedAt":"2026-01-01T00:00:00.000Z","ipAddresses":[{"ipAddress":"10.0.0.5","protocol":"IPv4"}]}]},
            {"id":"/bare"}]}"#;
        let apps: Apps = serde_json::from_str(body).unwrap();
        assert_eq!(apps.apps.len(), 2);
        let web = &apps.apps[0];
        assert_eq!(web.port_definitions[0].port, 10000);
        assert_eq!(web.labels["HAPROXY_GROUP"], "external");
        assert_eq!(web.tasks[0].ports, vec![31000]);
        assert_eq!(web.tasks[0].ip_addresses[0].ip_address, "10.0.0.5");
        assert!(web.tasks[0].healthy(0));
        assert!(apps.apps[1].tasks.is_empty());
    }

    #[test]
    fn only_started_running_tasks_passing_every_check_are_healthy() {
        let mut t = Task {
            id: "t".into(),
            state: Some("TASK_STAGING".into()),
            ..Task::default()
        };
        assert!(!t.healthy(0), "not started");
        t.started_at = Some("now".into());
        assert!(!t.healthy(0), "staging");
        t.state = Some("TASK_RUNNING".into());
        assert!(t.healthy(0));
        assert!(!t.healthy(1), "not checked yet");
        t.health_check_results = vec![HealthCheckResult { alive: false }];
        assert!(!t.healthy(1), "failing its check");
        t.health_check_results = vec![HealthCheckResult { alive: true }];
        assert!(t.healthy(1));
        t.state = Some("TASK_KILLING".into());
        assert!(!t.healthy(1), "being killed");
    }
}
