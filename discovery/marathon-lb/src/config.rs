//! The HAProxy configuration for a set of Marathon apps: pure, so that what traffic goes
//! where is decided (and tested) without a Marathon or an HAProxy.
//!
//! Each TCP service port of each app becomes a frontend bound to that port and a backend
//! with one server per healthy task (the task's host port of the same index), balanced
//! round robin; a connection refused by a task that is going away is retried on another
//! (`retries`, `option redispatch`). The output is deterministic (apps, ports and tasks in
//! order), so an unchanged cluster gives byte-identical text and no reload. Labels follow
//! marathon-lb's: `HAPROXY_GROUP` (with `--group`) selects apps, `HAPROXY_<n>_MODE`
//! (`http` or `tcp`) sets port n's mode.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{App, Task};

/// How HAProxy handles a port's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HTTP: per-request balancing, 503 when no task is healthy.
    Http,
    /// Plain TCP: per-connection balancing.
    Tcp,
}

impl Mode {
    /// HAProxy's keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Mode::Http => "http",
            Mode::Tcp => "tcp",
        }
    }

    /// From a label value (`http`, `tcp`, any case).
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http" => Some(Mode::Http),
            "tcp" => Some(Mode::Tcp),
            _ => None,
        }
    }
}

/// What the configuration is derived with (from the command line).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address frontends bind (`0.0.0.0`: every address of the host).
    pub bind_address: String,
    /// The service ports that may be bound (`first..=last`); an app's port outside is left
    /// out, so HAProxy never takes a port the cluster's own components use.
    pub service_ports: (u32, u32),
    /// Ports never bound (the bridge's own HTTP port).
    pub reserved: Vec<u32>,
    /// HAProxy's own statistics page and `/_haproxy_health_check` on this port, if any.
    pub stats_port: Option<u16>,
    /// The master's CLI socket is not in the configuration; this is the runtime API's.
    pub admin_socket: Option<String>,
    /// Only apps whose `HAPROXY_GROUP` label names one of these (empty: every app).
    pub groups: Vec<String>,
    /// The mode of ports without a `HAPROXY_<n>_MODE` label.
    pub default_mode: Mode,
    /// HAProxy's `maxconn`.
    pub maxconn: u32,
    /// How long old workers may serve their connections after a reload.
    pub hard_stop_after_secs: u32,
}

/// Why a port or a task got no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// The service port is taken by an earlier app (by id), the stats port or a reserved
    /// one.
    PortTaken { app: String, port: u32 },
    /// The service port is outside the range the bridge may bind.
    OutOfRange { app: String, port: u32 },
    /// HAProxy routes TCP only.
    NotTcp { app: String, port: u32 },
    /// The task's host has no known address.
    Unresolved { task: String, host: String },
    /// The task has fewer host ports than the app has definitions.
    MissingPort { task: String, index: usize },
}

/// A derived configuration and what it routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The configuration file's text.
    pub text: String,
    /// Frontend/backend pairs (one per routed service port).
    pub backends: usize,
    /// Servers across every backend (healthy tasks × their routed ports).
    pub servers: usize,
    /// What was left out, and why.
    pub skipped: Vec<Skipped>,
}

/// A name HAProxy accepts for a proxy or server: `[A-Za-z0-9_.:-]`, others as `_`.
fn haproxy_name(s: &str) -> String {
    s.trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The address a task is reached at: its first IP address, else its host's resolved
/// address, else the host itself when it is an address.
fn task_address(task: &Task, resolved: &BTreeMap<String, IpAddr>) -> Option<IpAddr> {
    task.ip_addresses
        .iter()
        .find_map(|a| a.ip_address.parse().ok())
        .or_else(|| resolved.get(&task.host).copied())
        .or_else(|| task.host.parse().ok())
}

/// The hostnames the tasks carry that are not addresses: what the caller resolves first.
pub fn hosts_to_resolve(apps: &[App]) -> BTreeSet<String> {
    apps.iter()
        .flat_map(|a| &a.tasks)
        .filter(|t| t.ip_addresses.is_empty() && t.host.parse::<IpAddr>().is_err())
        .map(|t| t.host.clone())
        .filter(|h| !h.is_empty())
        .collect()
}

fn selected(app: &App, groups: &[String]) -> bool {
    if groups.is_empty() {
        return true;
    }
    app.labels.get("HAPROXY_GROUP").is_some_and(|g| {
        g.split(',')
            .map(str::trim)
            .any(|g| groups.iter().any(|w| w == g))
    })
}

/// The configuration for `apps`, tasks' hostnames looked up in `resolved`.
pub fn derive(apps: &[App], resolved: &BTreeMap<String, IpAddr>, s: &Settings) -> Derived {
    let mut text = String::new();
    let mut skipped = Vec::new();
    let (mut backends, mut servers) = (0, 0);
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "# Written by marathon-lb from Marathon's apps; every change is checked with haproxy -c before a reload.\n\
         global\n    maxconn {}\n    log stdout format raw local0 notice\n    hard-stop-after {}s\n",
        s.maxconn, s.hard_stop_after_secs
    );
    if let Some(sock) = &s.admin_socket {
        let _ = writeln!(
            text,
            "    stats socket {sock} mode 600 level admin expose-fd listeners"
        );
    }
    let _ = write!(
        text,
        "\ndefaults\n    log global\n    option dontlognull\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout queue 10s\n    retries 3\n    option redispatch 1\n"
    );
    let mut taken: BTreeSet<u32> = s.reserved.iter().copied().collect();
    if let Some(p) = s.stats_port {
        taken.insert(u32::from(p));
        let _ = write!(
            text,
            "\nlisten stats\n    bind {}:{p}\n    mode http\n    stats enable\n    stats uri /haproxy?stats\n    monitor-uri /_haproxy_health_check\n",
            s.bind_address
        );
    }
    let mut apps: Vec<&App> = apps.iter().filter(|a| selected(a, &s.groups)).collect();
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    for app in apps {
        let checks = app.health_checks.len();
        let mut tasks: Vec<&Task> = app.tasks.iter().filter(|t| t.healthy(checks)).collect();
        tasks.sort_by(|a, b| a.id.cmp(&b.id));
        for (i, def) in app.port_definitions.iter().enumerate() {
            let port = def.port;
            if port == 0 {
                continue;
            }
            if def.protocol.as_deref().is_some_and(|p| p != "tcp") {
                skipped.push(Skipped::NotTcp {
                    app: app.id.clone(),
                    port,
                });
                continue;
            }
            if !(s.service_ports.0..=s.service_ports.1).contains(&port) {
                skipped.push(Skipped::OutOfRange {
                    app: app.id.clone(),
                    port,
                });
                continue;
            }
            if !taken.insert(port) {
                skipped.push(Skipped::PortTaken {
                    app: app.id.clone(),
                    port,
                });
                continue;
            }
            let mode = app
                .labels
                .get(&format!("HAPROXY_{i}_MODE"))
                .and_then(|m| Mode::parse(m))
                .unwrap_or(s.default_mode)
                .keyword();
            let name = format!("{}_{port}", haproxy_name(&app.id));
            let _ = write!(
                text,
                "\nfrontend {name}\n    bind {}:{port}\n    mode {mode}\n    default_backend {name}\n\nbackend {name}\n    mode {mode}\n    balance roundrobin\n",
                s.bind_address
            );
            backends += 1;
            for t in &tasks {
                let Some(host_port) = t.ports.get(i) else {
                    skipped.push(Skipped::MissingPort {
                        task: t.id.clone(),
                        index: i,
                    });
                    continue;
                };
                let Some(ip) = task_address(t, resolved) else {
                    skipped.push(Skipped::Unresolved {
                        task: t.id.clone(),
                        host: t.host.clone(),
                    });
                    continue;
                };
                let addr = match ip {
                    IpAddr::V4(v4) => format!("{v4}:{host_port}"),
                    IpAddr::V6(v6) => format!("[{v6}]:{host_port}"),
                };
                let _ = writeln!(text, "    server {} {addr}", haproxy_name(&t.id));
                servers += 1;
            }
        }
    }
    Derived {
        text,
        backends,
        servers,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Apps;

    fn settings() -> Settings {
        Settings {
            bind_address: "0.0.0.0".into(),
            service_ports: (9000, 10100),
            reserved: vec![10007],
            stats_port: Some(9090),
            admin_socket: None,
            groups: vec![],
            default_mode: Mode::Http,
            maxconn: 4096,
            hard_stop_after_secs: 30,
        }
    }

    fn apps(json: &str) -> Vec<App> {
        serde_json::from_str::<Apps>(json).unwrap().apps
    }

    const WEB: &str = r#"{"apps":[
        {"id":"/shop/web","portDefinitions":[{"port":10000,"protocol":"tcp"},{"port":10001}],
         "labels":{"HAPROXY_1_MODE":"tcp"},
         "tasks":[
            {"id":"shop_web.b","host":"agent2","ports":[31007,31008],"state":"TASK_RUNNING","startedAt":"t"},
            {"id":"shop_web.a","host":"10.0.0.21","ports":[31000,31001],"state":"TASK_RUNNING","startedAt":"t"},
            {"id":"shop_web.c","host":"10.0.0.23","ports":[31002,31003],"state":"TASK_STAGING"}]}]}"#;

    #[test]
    fn each_service_port_routes_to_the_healthy_tasks_host_ports() {
        let resolved: BTreeMap<String, IpAddr> =
            [("agent2".to_string(), "10.0.0.22".parse().unwrap())].into();
        let d = derive(&apps(WEB), &resolved, &settings());
        let t = &d.text;
        assert!(
            t.contains("frontend shop_web_10000\n    bind 0.0.0.0:10000\n    mode http\n"),
            "{t}"
        );
        assert!(t.contains("backend shop_web_10000\n    mode http\n    balance roundrobin\n    server shop_web.a 10.0.0.21:31000\n    server shop_web.b 10.0.0.22:31007\n"), "{t}");
        assert!(t.contains("backend shop_web_10001\n    mode tcp\n    balance roundrobin\n    server shop_web.a 10.0.0.21:31001\n    server shop_web.b 10.0.0.22:31008\n"), "{t}");
        assert!(!t.contains("31002"), "a staging task gets no traffic: {t}");
        assert_eq!((d.backends, d.servers), (2, 4));
        assert!(t.contains("listen stats\n    bind 0.0.0.0:9090"));
        assert!(t.contains("option redispatch"));
        // The same apps in another order: the same text (no needless reload).
        let mut reversed = apps(WEB);
        reversed[0].tasks.reverse();
        assert_eq!(derive(&reversed, &resolved, &settings()).text, d.text);
    }

    #[test]
    fn what_cannot_be_routed_is_left_out_and_said_why() {
        let d = derive(&apps(WEB), &BTreeMap::new(), &settings());
        assert_eq!(
            d.skipped,
            vec![
                Skipped::Unresolved {
                    task: "shop_web.b".into(),
                    host: "agent2".into()
                },
                Skipped::Unresolved {
                    task: "shop_web.b".into(),
                    host: "agent2".into()
                },
            ]
        );
        let clash = apps(
            r#"{"apps":[
            {"id":"/a","portDefinitions":[{"port":9090},{"port":10005,"protocol":"udp"},{"port":10006},{"port":10007},{"port":2181}],
             "tasks":[{"id":"a.1","host":"10.0.0.1","ports":[31000],"state":"TASK_RUNNING","startedAt":"t"}]},
            {"id":"/b","portDefinitions":[{"port":10006}]}]}"#,
        );
        let d = derive(&clash, &BTreeMap::new(), &settings());
        assert_eq!(
            d.skipped,
            vec![
                Skipped::PortTaken {
                    app: "/a".into(),
                    port: 9090
                },
                Skipped::NotTcp {
                    app: "/a".into(),
                    port: 10005
                },
                Skipped::MissingPort {
                    task: "a.1".into(),
                    index: 2
                },
                Skipped::PortTaken {
                    app: "/a".into(),
                    port: 10007
                },
                Skipped::OutOfRange {
                    app: "/a".into(),
                    port: 2181
                },
                Skipped::PortTaken {
                    app: "/b".into(),
                    port: 10006
                },
            ]
        );
        assert!(d.text.contains("frontend a_10006"), "{}", d.text);
        assert!(
            !d.text.contains("10007"),
            "the bridge's own port is never bound"
        );
        assert!(
            !d.text.contains(":2181"),
            "nor one outside the service port range"
        );
        assert!(!d.text.contains("frontend b_10006"));
    }

    #[test]
    fn groups_select_apps_and_health_checks_gate_tasks() {
        let two = r#"{"apps":[
            {"id":"/in","portDefinitions":[{"port":10000}],"labels":{"HAPROXY_GROUP":"internal"},"tasks":[]},
            {"id":"/out","portDefinitions":[{"port":10001}],"labels":{"HAPROXY_GROUP":"a, external"},
             "healthChecks":[{"protocol":"HTTP"}],
             "tasks":[{"id":"out.1","host":"10.0.0.1","ports":[31000],"state":"TASK_RUNNING","startedAt":"t",
                       "healthCheckResults":[{"alive":true}]},
                      {"id":"out.2","host":"10.0.0.2","ports":[31000],"state":"TASK_RUNNING","startedAt":"t"}]}]}"#;
        let mut s = settings();
        s.groups = vec!["external".into()];
        let d = derive(&apps(two), &BTreeMap::new(), &s);
        assert!(!d.text.contains("frontend in_10000"));
        assert!(d.text.contains("server out.1 10.0.0.1:31000"));
        assert!(!d.text.contains("out.2"), "not checked yet: no traffic");
        s.groups.clear();
        let d = derive(&apps(two), &BTreeMap::new(), &s);
        assert!(d.text.contains("frontend in_10000"), "no group: every app");
        assert_eq!(d.servers, 1);
        // An app with no healthy task keeps its frontend (HTTP answers 503, not refused).
        assert_eq!(d.backends, 2);
    }

    #[test]
    fn hosts_to_resolve_are_the_names_only() {
        let names = hosts_to_resolve(&apps(WEB));
        assert_eq!(names, ["agent2".to_string()].into());
    }
}
