//! Mesos-DNS's naming contract (its `docs/naming.md`), as a pure function from what was read
//! to the records served. Names are lowercase, fully qualified (trailing dot).
//!
//! - `leader.<domain>` A: the leading master; `_leader._tcp` / `_leader._udp.<domain>` SRV:
//!   `leader.<domain>` at the master's port.
//! - `master.<domain>` A: every master contending in the election; `master<N>.<domain>` A:
//!   the N-th of them in election order.
//! - `slave.<domain>` A: every agent; `_slave._tcp.<domain>` SRV at the agent's port.
//! - `<framework>.<domain>` A: the scheduler's host; `_framework._tcp.<framework>.<domain>`
//!   SRV at its port.
//! - `<task>.<framework>.<domain>` and `<task>.<framework>.slave.<domain>` A: the agents
//!   running the task; `<task>-<hash>-<agent>.<framework>[.slave].<domain>` A: one task.
//! - `_<task>._tcp.<framework>.<domain>` (and `._udp`) SRV: one record per port of every
//!   running task, its target the task's own name (so a client gets host and port).
//!
//! Labels are made valid the way Mesos-DNS does it: lowercased, characters outside
//! `[a-z0-9-]` turned into `-`, dashes trimmed at the ends, at most 63 characters; a task
//! name with dots (Marathon's `app.group`) keeps them as label separators.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::state::{MasterInfo, MesosState};

/// An SRV record's data: target name and port (priority and weight are 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Srv {
    /// Target host name, fully qualified.
    pub target: String,
    /// Port.
    pub port: u16,
}

/// Every record of one refresh.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Records {
    /// The domain, fully qualified (`mesos.`).
    pub domain: String,
    /// A records by name.
    pub a: BTreeMap<String, BTreeSet<Ipv4Addr>>,
    /// SRV records by name.
    pub srv: BTreeMap<String, BTreeSet<Srv>>,
}

impl Records {
    /// Empty records for `domain` (`mesos` or `mesos.`).
    pub fn new(domain: &str) -> Records {
        Records {
            domain: fqdn(domain),
            ..Records::default()
        }
    }

    fn add_a(&mut self, name: String, ip: Ipv4Addr) {
        self.a.entry(name).or_default().insert(ip);
    }

    fn add_srv(&mut self, name: String, target: String, port: u16) {
        self.srv
            .entry(name)
            .or_default()
            .insert(Srv { target, port });
    }

    /// Whether `name` (fully qualified, any case) is in this domain.
    pub fn in_domain(&self, name: &str) -> bool {
        let n = fqdn(name);
        n == self.domain || n.ends_with(&format!(".{}", self.domain))
    }

    /// The A records of a name (any case, with or without the trailing dot).
    pub fn a_of(&self, name: &str) -> Option<&BTreeSet<Ipv4Addr>> {
        self.a.get(&fqdn(name))
    }

    /// The SRV records of a name.
    pub fn srv_of(&self, name: &str) -> Option<&BTreeSet<Srv>> {
        self.srv.get(&fqdn(name))
    }

    /// Whether any record has this name.
    pub fn has_name(&self, name: &str) -> bool {
        let n = fqdn(name);
        self.a.contains_key(&n) || self.srv.contains_key(&n) || n == self.domain
    }
}

/// `Leader.Mesos` → `leader.mesos.`.
pub fn fqdn(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') {
        n
    } else {
        format!("{n}.")
    }
}

/// One DNS label from any text, as Mesos-DNS makes it (RFC 1123; with `rfc952`, a label
/// must also start with a letter: leading digits and dashes are dropped). `None` when
/// nothing valid is left.
pub fn label(s: &str, rfc952: bool) -> Option<String> {
    let mapped: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = if rfc952 {
        mapped.trim_start_matches(|c: char| !c.is_ascii_lowercase())
    } else {
        mapped.trim_start_matches('-')
    };
    let mut out: String = trimmed.chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

/// A dotted name (a Marathon task `app.group`), each label made valid; empty labels dropped.
pub fn dotted(s: &str, rfc952: bool) -> Option<String> {
    let labels: Vec<String> = s.split('.').filter_map(|l| label(l, rfc952)).collect();
    (!labels.is_empty()).then(|| labels.join("."))
}

/// FNV-1a of the task id, 5 base-32 characters: the per-task part of a task's own name,
/// stable across refreshes and across Mesos-DNS instances.
fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..5)
        .map(|i| ALPHABET[((h >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// The agent part of a task's own name: the last `-` part of the agent id (`…-S3` → `s3`).
fn agent_short(agent_id: &str) -> String {
    let last = agent_id.rsplit('-').next().unwrap_or(agent_id);
    label(last, false).unwrap_or_else(|| "agent".into())
}

/// The records for the masters seen in the election (any order; the lowest sequence leads)
/// and, when the leader's state could be read, its agents, frameworks and tasks.
pub fn generate(
    domain: &str,
    masters: &[MasterInfo],
    state: Option<&MesosState>,
    rfc952: bool,
) -> Records {
    let mut r = Records::new(domain);
    let d = r.domain.clone();
    let mut by_seq: Vec<&MasterInfo> = masters.iter().collect();
    by_seq.sort_by_key(|m| m.sequence);
    if let Some(leader) = by_seq.first() {
        let name = format!("leader.{d}");
        r.add_a(name.clone(), leader.ip);
        r.add_srv(format!("_leader._tcp.{d}"), name.clone(), leader.port);
        r.add_srv(format!("_leader._udp.{d}"), name, leader.port);
    }
    for (i, m) in by_seq.iter().enumerate() {
        r.add_a(format!("master.{d}"), m.ip);
        r.add_a(format!("master{i}.{d}"), m.ip);
    }
    let Some(state) = state else {
        return r;
    };
    let agents: BTreeMap<&str, (Ipv4Addr, u16)> = state
        .agents
        .iter()
        .map(|a| (a.id.as_str(), (a.ip, a.port)))
        .collect();
    for (ip, port) in agents.values() {
        r.add_a(format!("slave.{d}"), *ip);
        r.add_srv(format!("_slave._tcp.{d}"), format!("slave.{d}"), *port);
    }
    for f in &state.frameworks {
        let Some(fname) = label(&f.name, rfc952) else {
            continue;
        };
        if let Some((ip, port)) = f.scheduler {
            r.add_a(format!("{fname}.{d}"), ip);
            r.add_srv(
                format!("_framework._tcp.{fname}.{d}"),
                format!("{fname}.{d}"),
                port,
            );
        }
        for t in &f.tasks {
            let (Some(tname), Some((ip, _))) =
                (dotted(&t.name, rfc952), agents.get(t.agent_id.as_str()))
            else {
                continue;
            };
            let own = format!("{tname}-{}-{}", short_hash(&t.id), agent_short(&t.agent_id));
            for zone in [format!("{fname}.{d}"), format!("{fname}.slave.{d}")] {
                r.add_a(format!("{tname}.{zone}"), *ip);
                r.add_a(format!("{own}.{zone}"), *ip);
            }
            let target = format!("{own}.{fname}.slave.{d}");
            for p in &t.ports {
                let protocols: &[&str] = match p.protocol.as_deref() {
                    Some("udp") => &["udp"],
                    Some("tcp") => &["tcp"],
                    _ => &["tcp", "udp"],
                };
                for proto in protocols {
                    r.add_srv(
                        format!("_{tname}._{proto}.{fname}.{d}"),
                        target.clone(),
                        p.number,
                    );
                }
            }
        }
    }
    r
}

/// The records of a cluster whose one master, 10.0.0.11:5050, leads (tests of the listeners).
#[cfg(test)]
pub fn one_leader() -> Records {
    generate(
        "mesos",
        &[MasterInfo {
            sequence: 1,
            ip: Ipv4Addr::new(10, 0, 0, 11),
            port: 5050,
        }],
        None,
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Agent, Framework, Port, Task};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn masters() -> Vec<MasterInfo> {
        vec![
            MasterInfo {
                sequence: 9,
                ip: ip("10.0.0.12"),
                port: 5050,
            },
            MasterInfo {
                sequence: 4,
                ip: ip("10.0.0.11"),
                port: 5050,
            },
            MasterInfo {
                sequence: 12,
                ip: ip("10.0.0.13"),
                port: 5050,
            },
        ]
    }

    fn task(id: &str, name: &str, agent: &str, ports: &[u16]) -> Task {
        Task {
            id: id.into(),
            name: name.into(),
            agent_id: agent.into(),
            ports: ports
                .iter()
                .map(|&number| Port {
                    number,
                    protocol: None,
                })
                .collect(),
        }
    }

    fn state() -> MesosState {
        MesosState {
            agents: vec![
                Agent {
                    id: "M-S0".into(),
                    ip: ip("10.0.0.21"),
                    port: 5051,
                },
                Agent {
                    id: "M-S1".into(),
                    ip: ip("10.0.0.22"),
                    port: 5051,
                },
            ],
            frameworks: vec![Framework {
                name: "Marathon".into(),
                scheduler: Some((ip("10.0.0.5"), 8080)),
                tasks: vec![
                    task("web.a", "web", "M-S0", &[31000]),
                    task("web.b", "web", "M-S1", &[31001]),
                    task("web.c", "web", "M-S1", &[31002]),
                    task("lost.a", "lost", "M-S9", &[31003]),
                ],
            }],
        }
    }

    #[test]
    fn the_lowest_election_node_is_the_leader_and_every_contender_a_master() {
        let r = generate("Mesos", &masters(), None, false);
        assert_eq!(r.domain, "mesos.");
        assert_eq!(r.a_of("leader.mesos").unwrap(), &[ip("10.0.0.11")].into());
        assert_eq!(r.a_of("master.mesos.").unwrap().len(), 3);
        assert_eq!(r.a_of("master0.mesos").unwrap(), &[ip("10.0.0.11")].into());
        assert_eq!(r.a_of("master2.mesos").unwrap(), &[ip("10.0.0.13")].into());
        let srv = r.srv_of("_leader._tcp.mesos").unwrap();
        assert_eq!(
            srv.iter().next().unwrap(),
            &Srv {
                target: "leader.mesos.".into(),
                port: 5050
            }
        );
        assert!(r.srv_of("_leader._udp.mesos").is_some());
        // No election node: no leader record (never a guess).
        assert!(generate("mesos", &[], None, false)
            .a_of("leader.mesos")
            .is_none());
    }

    #[test]
    fn an_app_with_three_tasks_has_three_srv_targets_with_their_ports() {
        let r = generate("mesos", &masters(), Some(&state()), false);
        let srv = r.srv_of("_web._tcp.marathon.mesos").unwrap();
        let ports: BTreeSet<u16> = srv.iter().map(|s| s.port).collect();
        assert_eq!(ports, [31000, 31001, 31002].into());
        let targets: BTreeSet<&str> = srv.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(targets.len(), 3, "each task its own target: {targets:?}");
        for s in srv {
            assert!(s.target.ends_with(".marathon.slave.mesos."), "{}", s.target);
            // Every target resolves, to the agent running that task.
            assert_eq!(r.a_of(&s.target).unwrap().len(), 1, "{}", s.target);
        }
        assert!(r.srv_of("_web._udp.marathon.mesos").is_some());
        assert_eq!(
            r.a_of("web.marathon.mesos").unwrap(),
            &[ip("10.0.0.21"), ip("10.0.0.22")].into()
        );
        assert!(r.a_of("web.marathon.slave.mesos").is_some());
        // A task on an agent the master does not list has no record.
        assert!(r.a_of("lost.marathon.mesos").is_none());
        assert_eq!(r.a_of("marathon.mesos").unwrap(), &[ip("10.0.0.5")].into());
        assert_eq!(r.a_of("slave.mesos").unwrap().len(), 2);
    }

    #[test]
    fn a_port_with_a_protocol_gets_only_that_protocols_srv() {
        let mut s = state();
        s.frameworks[0].tasks = vec![Task {
            ports: vec![Port {
                number: 53,
                protocol: Some("udp".into()),
            }],
            ..task("dns.1", "dns", "M-S0", &[])
        }];
        let r = generate("mesos", &masters(), Some(&s), false);
        assert!(r.srv_of("_dns._udp.marathon.mesos").is_some());
        assert!(r.srv_of("_dns._tcp.marathon.mesos").is_none());
    }

    #[test]
    fn labels_are_made_valid_like_mesos_dns() {
        assert_eq!(label("My_App!", false).as_deref(), Some("my-app"));
        assert_eq!(label("--x--", false).as_deref(), Some("x"));
        assert_eq!(label("9lives", false).as_deref(), Some("9lives"));
        assert_eq!(label("9lives", true).as_deref(), Some("lives"));
        assert_eq!(label("!!!", false), None);
        assert_eq!(label(&"a".repeat(80), false).unwrap().len(), 63);
        assert_eq!(dotted("app.Group", false).as_deref(), Some("app.group"));
        assert_eq!(dotted("..", false), None);
    }

    #[test]
    fn a_task_keeps_its_name_across_refreshes() {
        let a = generate("mesos", &masters(), Some(&state()), false);
        let b = generate("mesos", &masters(), Some(&state()), false);
        assert_eq!(a, b);
        assert_ne!(short_hash("web.a"), short_hash("web.b"));
    }

    #[test]
    fn domain_membership_ignores_case_and_the_trailing_dot() {
        let r = Records::new("mesos");
        assert!(r.in_domain("Leader.MESOS"));
        assert!(r.in_domain("mesos."));
        assert!(!r.in_domain("example.com."));
        assert!(!r.in_domain("notmesos."));
    }
}
