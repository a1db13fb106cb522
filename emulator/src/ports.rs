//! Ports of Marathon apps and their tasks, as Marathon 1.10 and Mesos hand them out.
//!
//! An app's `portDefinitions` (or the older `ports` list of numbers) name its *service
//! ports*: a definition with port 0 gets one assigned from Marathon's `--local_port_min` /
//! `--local_port_max` range (10000–20000 by default), unique across apps; the lowest free
//! one here (Marathon picks any free one). Each task of the app gets as many *host ports*
//! from its agent's `ports` resource (`[31000-32000]` by default), which Mesos offers and
//! Marathon takes (any free ones, unless `requirePorts` asks for the service ports
//! themselves). They are reported as Mesos does (`resources.ports` as a range string like
//! `[31000-31000, 31002-31003]`, and the task's `discovery` info) and as Marathon does (a
//! task's `ports` and `servicePorts`, `PORT0`…, `PORTS`, `PORT_<NAME>` in its environment).

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// Marathon's default service port range (`--local_port_min`, `--local_port_max`).
pub const SERVICE_PORTS: (u64, u64) = (10000, 20000);

/// Ranges as Mesos writes a `ports` resource: `[31000-31000, 31002-31003]`.
pub fn format_ranges(ports: &[u64]) -> String {
    let mut sorted: Vec<u64> = ports.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for p in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == p => *end = p,
            _ => ranges.push((p, p)),
        }
    }
    let parts: Vec<String> = ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The ports of a Mesos range string (`[31000-32000]`, `[1-2, 5-5]`); malformed parts are
/// skipped.
pub fn parse_ranges(s: &str) -> Vec<(u64, u64)> {
    s.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(|r| {
            let (a, b) = r.trim().split_once('-')?;
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        })
        .collect()
}

/// Every port of a task's `resources.ports`.
pub fn ports_of(resources: &Value) -> Vec<u64> {
    resources["ports"]
        .as_str()
        .map(parse_ranges)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(a, b)| a..=b)
        .collect()
}

/// The app's port definitions, from `portDefinitions` or the older `ports` numbers
/// (`[0, 0]` → two definitions of port 0).
pub fn definitions_from_request(body: &Value) -> Option<Value> {
    if let Some(defs) = body["portDefinitions"].as_array() {
        let defs: Vec<Value> = defs
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if d["protocol"].is_null() {
                    d["protocol"] = json!("tcp");
                }
                if d["port"].is_null() {
                    d["port"] = json!(0);
                }
                if d["labels"].is_null() {
                    d["labels"] = json!({});
                }
                d
            })
            .collect();
        return Some(json!(defs));
    }
    let ports = body["ports"].as_array()?;
    Some(json!(ports
        .iter()
        .map(|p| json!({"port": p.as_u64().unwrap_or(0), "protocol": "tcp", "labels": {}}))
        .collect::<Vec<_>>()))
}

/// The service ports an app's definitions hold (non-zero ones).
pub fn service_ports(app: &Value) -> Vec<u64> {
    app["portDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["port"].as_u64())
        .filter(|p| *p != 0)
        .collect()
}

/// Gives each definition of port 0 the lowest service port no other app holds. `None` when
/// the range is used up.
pub fn assign_service_ports(app: &mut Value, taken: &BTreeSet<u64>) -> Option<()> {
    let mut taken = taken.clone();
    taken.extend(service_ports(app));
    let Some(defs) = app["portDefinitions"].as_array_mut() else {
        return Some(());
    };
    for d in defs.iter_mut() {
        if d["port"].as_u64().unwrap_or(0) == 0 {
            let p = (SERVICE_PORTS.0..=SERVICE_PORTS.1).find(|p| !taken.contains(p))?;
            taken.insert(p);
            d["port"] = json!(p);
        }
    }
    Some(())
}

/// Host ports for one task of `app` on an agent offering `offered` (its `ports` resource)
/// with `used` already taken: the lowest free ones, or the service ports themselves with
/// `requirePorts`. `None` when the agent cannot offer them.
pub fn pick_host_ports(app: &Value, offered: &str, used: &BTreeSet<u64>) -> Option<Vec<u64>> {
    let ranges = parse_ranges(offered);
    let offers = |p: u64| ranges.iter().any(|(a, b)| (*a..=*b).contains(&p)) && !used.contains(&p);
    let n = app["portDefinitions"].as_array().map_or(0, Vec::len);
    if app["requirePorts"] == true {
        let wanted = service_ports(app);
        return wanted.iter().all(|p| offers(*p)).then_some(wanted);
    }
    let picked: Vec<u64> = ranges
        .iter()
        .flat_map(|(a, b)| *a..=*b)
        .filter(|p| offers(*p))
        .take(n)
        .collect();
    (picked.len() == n).then_some(picked)
}

/// The Mesos `DiscoveryInfo` Marathon gives a task with ports, as `/master/state` writes it.
pub fn discovery(app: &Value, task_name: &str, host_ports: &[u64]) -> Value {
    let defs = app["portDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ports: Vec<Value> = host_ports
        .iter()
        .zip(defs.iter())
        .map(|(p, d)| {
            let mut port =
                json!({"number": p, "protocol": d["protocol"].as_str().unwrap_or("tcp")});
            if let Some(name) = d["name"].as_str() {
                port["name"] = json!(name);
            }
            port
        })
        .collect();
    json!({"visibility": "FRAMEWORK", "name": task_name, "ports": {"ports": ports}})
}

/// The environment Marathon gives a task for its ports: `PORT0`…, `PORT`, `PORTS`,
/// `PORT_<NAME>` for named ports and `PORT_<service port>`.
pub fn environment(app: &Value, host_ports: &[u64]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let defs = app["portDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, p) in host_ports.iter().enumerate() {
        env.push((format!("PORT{i}"), p.to_string()));
        if let Some(d) = defs.get(i) {
            if let Some(name) = d["name"].as_str() {
                let key: String = name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_uppercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                env.push((format!("PORT_{key}"), p.to_string()));
            }
            if let Some(svc) = d["port"].as_u64().filter(|s| *s != 0) {
                env.push((format!("PORT_{svc}"), p.to_string()));
            }
        }
    }
    if let Some(first) = host_ports.first() {
        env.push(("PORT".into(), first.to_string()));
    }
    if !host_ports.is_empty() {
        let all: Vec<String> = host_ports.iter().map(u64::to_string).collect();
        env.push(("PORTS".into(), all.join(",")));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_written_and_read_as_mesos_does() {
        assert_eq!(
            format_ranges(&[31002, 31000, 31003]),
            "[31000-31000, 31002-31003]"
        );
        assert_eq!(format_ranges(&[]), "[]");
        assert_eq!(parse_ranges("[31000-32000]"), vec![(31000, 32000)]);
        assert_eq!(parse_ranges("[1-2, 5-5]"), vec![(1, 2), (5, 5)]);
        assert_eq!(
            ports_of(&json!({"ports": "[31000-31001, 31005-31005]"})),
            vec![31000, 31001, 31005]
        );
    }

    #[test]
    fn service_ports_are_unique_across_apps_and_host_ports_come_from_the_offer() {
        let body = json!({"ports": [0, 0]});
        let mut app = json!({"portDefinitions": definitions_from_request(&body).unwrap()});
        let taken: BTreeSet<u64> = [10000].into();
        assign_service_ports(&mut app, &taken).unwrap();
        assert_eq!(service_ports(&app), vec![10001, 10002]);
        let used: BTreeSet<u64> = [31000, 31002].into();
        assert_eq!(
            pick_host_ports(&app, "[31000-31003]", &used),
            Some(vec![31001, 31003])
        );
        assert_eq!(pick_host_ports(&app, "[31000-31001]", &used), None);
        app["requirePorts"] = json!(true);
        assert_eq!(pick_host_ports(&app, "[31000-31003]", &used), None);
        assert_eq!(
            pick_host_ports(&app, "[10000-10010]", &used),
            Some(vec![10001, 10002])
        );
    }

    #[test]
    fn a_task_learns_its_ports_from_its_environment_and_discovery_info() {
        let app = json!({"portDefinitions": [{"port": 10000, "name": "http", "protocol": "tcp"}, {"port": 10001}]});
        let env = environment(&app, &[31005, 31006]);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PORT0"), Some("31005"));
        assert_eq!(get("PORT1"), Some("31006"));
        assert_eq!(get("PORT_HTTP"), Some("31005"));
        assert_eq!(get("PORT_10001"), Some("31006"));
        assert_eq!(get("PORTS"), Some("31005,31006"));
        let d = discovery(&app, "web", &[31005, 31006]);
        assert_eq!(
            d["ports"]["ports"][0],
            json!({"number": 31005, "protocol": "tcp", "name": "http"})
        );
        assert_eq!(d["name"], "web");
    }
}
