//! What the records are made from, read from the leading master (pure parsing, no IO).
//!
//! Two sources: the masters' election nodes in ZooKeeper (`json.info_*`, JSON `MasterInfo`:
//! every master that contends, the lowest sequence number leads) and the leader's
//! `/master/state` (agents, frameworks and their tasks). Only the fields Mesos-DNS's naming
//! uses are kept; everything else in the state is ignored, so a newer Mesos that adds
//! fields parses the same.

use std::net::Ipv4Addr;

use serde_json::Value;

/// A master as its election node describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterInfo {
    /// Election sequence number: the lowest leads.
    pub sequence: u64,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its HTTP port.
    pub port: u16,
}

/// Parses one `json.info_<seq>` node: its name and its JSON `MasterInfo`. `None` for a node
/// that is not an election node or whose data names no IPv4 address (`address.ip`, or the
/// older `ip` integer in network byte order read as little-endian).
pub fn master_info(node: &str, data: &[u8]) -> Option<MasterInfo> {
    let sequence = election_sequence(node)?;
    let v: Value = serde_json::from_slice(data).ok()?;
    let ip = v["address"]["ip"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| {
            let n = u32::try_from(v["ip"].as_u64()?).ok()?;
            Some(Ipv4Addr::from(n.to_le_bytes()))
        })?;
    let port = v["address"]["port"]
        .as_u64()
        .or_else(|| v["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())?;
    Some(MasterInfo { sequence, ip, port })
}

/// The sequence number of a `json.info_0000000007` node; `None` for other children
/// (`log_replicas`, the protobuf `info_` nodes of 0.22 masters, which Mesos-DNS cannot read
/// either).
pub fn election_sequence(node: &str) -> Option<u64> {
    node.strip_prefix("json.info_")?.parse().ok()
}

/// A running task with what its records need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Mesos task id (unique; hashed into the task's canonical name).
    pub id: String,
    /// Task name (Marathon names a task after its app id, `/group/app` as `app.group`).
    pub name: String,
    /// The agent it runs on.
    pub agent_id: String,
    /// Host ports the task was given (`resources.ports`, or its discovery info's ports).
    pub ports: Vec<Port>,
}

/// One port of a task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    /// Port number.
    pub number: u16,
    /// `tcp` or `udp` when the task's discovery info says; `None`: both.
    pub protocol: Option<String>,
}

/// A framework and its running tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framework {
    /// Framework name (`marathon`).
    pub name: String,
    /// The scheduler's address and port, from its pid (`scheduler-…@10.0.0.5:8080`).
    pub scheduler: Option<(Ipv4Addr, u16)>,
    /// Its running tasks.
    pub tasks: Vec<Task>,
}

/// An agent: its id and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Agent id.
    pub id: String,
    /// Address (from its pid `slave(1)@10.0.0.21:5051`, else its hostname when an IP).
    pub ip: Ipv4Addr,
    /// Agent port.
    pub port: u16,
}

/// What one refresh read from the leader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MesosState {
    /// Agents.
    pub agents: Vec<Agent>,
    /// Frameworks with their running tasks.
    pub frameworks: Vec<Framework>,
}

/// `name@1.2.3.4:5050` → (1.2.3.4, 5050).
pub fn pid_address(pid: &str) -> Option<(Ipv4Addr, u16)> {
    let (_, addr) = pid.rsplit_once('@')?;
    let (ip, port) = addr.rsplit_once(':')?;
    Some((ip.parse().ok()?, port.parse().ok()?))
}

/// `"[31000-31002, 31005-31005]"` → 31000, 31001, 31002, 31005. At most 1000 ports per task
/// (a malformed range must not fill memory).
pub fn port_ranges(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in s.trim_matches(|c| c == '[' || c == ']').split(',') {
        let Some((lo, hi)) = part.trim().split_once('-') else {
            continue;
        };
        let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) else {
            continue;
        };
        for p in lo..=hi {
            if out.len() >= 1000 {
                return out;
            }
            out.push(p);
        }
    }
    out
}

/// Reads the leader's `/master/state`: agents, frameworks and their `TASK_RUNNING` tasks.
pub fn parse_state(body: &[u8]) -> Result<MesosState, serde_json::Error> {
    let v: Value = serde_json::from_slice(body)?;
    let agents = v["slaves"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let id = a["id"].as_str()?.to_string();
            let (ip, port) = a["pid"].as_str().and_then(pid_address).or_else(|| {
                let ip = a["hostname"].as_str()?.parse().ok()?;
                Some((ip, u16::try_from(a["port"].as_u64().unwrap_or(5051)).ok()?))
            })?;
            Some(Agent { id, ip, port })
        })
        .collect();
    let frameworks = v["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let name = f["name"].as_str()?.to_string();
            let scheduler = f["pid"].as_str().and_then(pid_address);
            let tasks = f["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(task)
                .collect();
            Some(Framework {
                name,
                scheduler,
                tasks,
            })
        })
        .collect();
    Ok(MesosState { agents, frameworks })
}

fn task(t: &Value) -> Option<Task> {
    let discovered: Vec<Port> = t["discovery"]["ports"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(Port {
                number: u16::try_from(p["number"].as_u64()?).ok()?,
                protocol: p["protocol"].as_str().map(str::to_ascii_lowercase),
            })
        })
        .collect();
    let ports = if discovered.is_empty() {
        port_ranges(t["resources"]["ports"].as_str().unwrap_or(""))
            .into_iter()
            .map(|number| Port {
                number,
                protocol: None,
            })
            .collect()
    } else {
        discovered
    };
    Some(Task {
        id: t["id"].as_str()?.to_string(),
        name: t["discovery"]["name"]
            .as_str()
            .or_else(|| t["name"].as_str())?
            .to_string(),
        agent_id: t["slave_id"]
            .as_str()
            .or_else(|| t["agent_id"]["value"].as_str())?
            .to_string(),
        ports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_info_reads_the_address_or_the_older_integer_ip() {
        let data = br#"{"address":{"hostname":"m1","ip":"10.0.0.11","port":5050},"ip":184549386,"port":5050}"#;
        let m = master_info("json.info_0000000007", data).unwrap();
        assert_eq!(
            m,
            MasterInfo {
                sequence: 7,
                ip: "10.0.0.11".parse().unwrap(),
                port: 5050
            }
        );
        // 10.0.0.11 in network byte order read as little-endian.
        let old = master_info("json.info_3", br#"{"ip":184549386,"port":5050}"#).unwrap();
        assert_eq!(old.ip, "10.0.0.11".parse::<Ipv4Addr>().unwrap());
        assert_eq!(master_info("log_replicas", data), None);
        assert_eq!(master_info("info_0000000001", data), None);
        assert_eq!(master_info("json.info_1", b"not json"), None);
    }

    #[test]
    fn port_ranges_expand_and_stay_bounded() {
        assert_eq!(
            port_ranges("[31000-31002, 31005-31005]"),
            [31000, 31001, 31002, 31005]
        );
        assert_eq!(port_ranges(""), Vec::<u16>::new());
        assert_eq!(port_ranges("[x-y]"), Vec::<u16>::new());
        assert_eq!(port_ranges("[1-65535]").len(), 1000);
    }

    #[test]
    fn state_keeps_running_tasks_with_their_ports_and_agents() {
        let body = br#"{
          "slaves":[{"id":"M-S0","pid":"slave(1)@10.0.0.21:5051","hostname":"a1"},
                    {"id":"M-S1","hostname":"10.0.0.22","port":5051}],
          "frameworks":[{"name":"marathon","pid":"scheduler-1@10.0.0.5:8080","tasks":[
             {"id":"web.1","name":"web","slave_id":"M-S0","state":"TASK_RUNNING",
              "resources":{"ports":"[31000-31001]"}},
             {"id":"web.2","name":"web","slave_id":"M-S1","state":"TASK_STAGING",
              "resources":{"ports":"[31002-31002]"}},
             {"id":"db.1","name":"db","slave_id":"M-S1","state":"TASK_RUNNING",
              "discovery":{"name":"pg","ports":{"ports":[{"number":5432,"protocol":"TCP"}]}}}]}]}"#;
        let s = parse_state(body).unwrap();
        assert_eq!(s.agents.len(), 2);
        assert_eq!(s.agents[1].ip, "10.0.0.22".parse::<Ipv4Addr>().unwrap());
        let f = &s.frameworks[0];
        assert_eq!(f.scheduler, Some(("10.0.0.5".parse().unwrap(), 8080)));
        let names: Vec<&str> = f.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["web", "pg"], "only running tasks, discovery names");
        assert_eq!(f.tasks[0].ports.len(), 2);
        assert_eq!(f.tasks[1].ports[0].protocol.as_deref(), Some("tcp"));
        assert!(parse_state(b"<html>").is_err());
    }
}
