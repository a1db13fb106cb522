//! From what a host is like ([`HostFacts`]) to the results of the checks, for the roles the
//! document places there. Pure, so every rule is tested without a host; the runtime gathers
//! the facts (`src/preflight/`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Check, CheckResult, Outcome};
use crate::desired::Desired;
use crate::spec::Component;

/// The oldest Docker API the operator's calls are written against (Docker 19.03).
pub const MIN_API_VERSION: (u32, u32) = (1, 40);

/// Where a check turns into a warning or a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Clock skew (milliseconds, either way) that warns.
    pub skew_warn_ms: u64,
    /// Clock skew that fails: TLS certificates issued "now" are not yet valid on a host
    /// far behind, and ZooKeeper's and Mesos' timeouts read as expired or never.
    pub skew_fail_ms: u64,
    /// Free bytes under which a volume's filesystem warns.
    pub disk_warn_bytes: u64,
    /// Free bytes under which it fails.
    pub disk_fail_bytes: u64,
    /// Free inodes under which it warns.
    pub inodes_warn: u64,
    /// Free inodes under which it fails.
    pub inodes_fail: u64,
    /// Open-files limit under which it warns (Mesos' and ZooKeeper's guides ask for 64k+).
    pub nofile_warn: u64,
    /// Open-files limit under which it fails.
    pub nofile_fail: u64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            skew_warn_ms: 2_000,
            skew_fail_ms: 30_000,
            disk_warn_bytes: 2 << 30,
            disk_fail_bytes: 512 << 20,
            inodes_warn: 100_000,
            inodes_fail: 10_000,
            nofile_warn: 65_536,
            nofile_fail: 4_096,
        }
    }
}

/// Free space of the filesystem a member's data volume is on (its own volume when it
/// exists, else the engine's volume directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// Free bytes.
    pub free_bytes: u64,
    /// Free inodes.
    pub free_inodes: u64,
    /// Inodes in all (0: the filesystem has no inode limit, as btrfs).
    pub total_inodes: u64,
}

/// A Mesos agent on the engine that is not this cluster's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherAgent {
    /// Container name.
    pub container: String,
    /// Its cluster label, when it is another cluster's of an operator.
    pub cluster: Option<String>,
    /// `MESOS_DOCKER_KILL_ORPHANS` is not `false` (Mesos' default is true).
    pub kills_orphans: bool,
    /// Its `--cgroups_root` (Mesos' default `mesos`).
    pub cgroups_root: String,
}

/// What the runtime found out about one host. `None`: could not be found out (the reason is
/// in `inside_error` or `engine_error`), reported as a warning, never held on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Why the engine's own answers (`/version`, `/info`) are missing.
    pub engine_error: Option<String>,
    /// Why the look inside the host (the helper container) is missing.
    pub inside_error: Option<String>,
    /// Docker API version, e.g. `1.43`.
    pub api_version: Option<String>,
    /// 1 or 2.
    pub cgroup_version: Option<u8>,
    /// From `/proc/cgroups`: controller → (hierarchy id, enabled). A v1 controller with
    /// hierarchy 0 is not mounted.
    pub controllers: Option<BTreeMap<String, (u32, bool)>>,
    /// The engine's clock minus the operator's, in milliseconds.
    pub clock_skew_ms: Option<i64>,
    /// Per role placed here, where its data volume lives.
    pub disk: BTreeMap<Component, Space>,
    /// TCP ports something listens on, on any address of the host.
    pub listening: Option<BTreeSet<u32>>,
    /// The host's name as the engine reports it.
    pub hostname: Option<String>,
    /// That name resolves inside the host's network namespace.
    pub hostname_resolves: Option<bool>,
    /// The other hosts' addresses and whether this host reached them.
    pub reaches: BTreeMap<String, bool>,
    /// `ulimit -n` in a container.
    pub nofile: Option<u64>,
    /// Agents on the engine that are not this cluster's.
    pub other_agents: Option<Vec<OtherAgent>>,
}

/// A member the document places on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedHere {
    /// Its component.
    pub component: Component,
    /// The ports it binds, each with what it is for.
    pub ports: Vec<(u32, &'static str)>,
    /// This cluster's own container of the role runs there: its ports are its own.
    pub own_running: bool,
}

impl PlacedHere {
    /// The members `desired` places on `host`, with `running` saying which run already.
    pub fn on(desired: &Desired, host: &str, running: &BTreeSet<Component>) -> Vec<PlacedHere> {
        let [client, peer, election, admin] = desired.zookeeper_template.ports;
        Component::ALL
            .into_iter()
            .filter(|c| desired.containers.contains_key(&(*c, host.to_string())))
            .map(|c| PlacedHere {
                component: c,
                ports: match c {
                    Component::Zookeeper => vec![
                        (client, "ZooKeeper client"),
                        (peer, "ZooKeeper peer"),
                        (election, "ZooKeeper election"),
                        (admin, "ZooKeeper AdminServer"),
                    ],
                    Component::Masters => vec![(desired.ports.master, "Mesos master")],
                    Component::Agents => vec![(desired.ports.agent, "Mesos agent")],
                    Component::Marathon => vec![(desired.ports.marathon, "Marathon")],
                    Component::Dns => vec![
                        (desired.ports.dns, "DNS"),
                        (desired.ports.dns_http, "DNS HTTP API"),
                    ],
                    Component::LoadBalancer => {
                        vec![(desired.ports.load_balancer, "load balancer")]
                    }
                },
                own_running: running.contains(&c),
            })
            .collect()
    }
}

/// The cgroup controllers an isolator needs (Mesos' `cgroups/*` isolators); none for the
/// others (`posix/*`, `filesystem/*`, `docker/*`, ...).
pub fn isolation_controllers(isolator: &str) -> &'static [&'static str] {
    match isolator {
        "cgroups/cpu" => &["cpu", "cpuacct"],
        "cgroups/mem" => &["memory"],
        "cgroups/blkio" => &["blkio"],
        "cgroups/cpuset" => &["cpuset"],
        "cgroups/devices" => &["devices"],
        "cgroups/hugetlb" => &["hugetlb"],
        "cgroups/net_cls" => &["net_cls"],
        "cgroups/perf_event" => &["perf_event"],
        "cgroups/pids" => &["pids"],
        _ => &[],
    }
}

/// Every check for `host`: the members `placed` there, the facts found, and, for the
/// host's address, whether each other host reached it (`reached_from`: host → reached).
pub fn evaluate(
    desired: &Desired,
    host: &str,
    placed: &[PlacedHere],
    facts: &HostFacts,
    reached_from: &BTreeMap<String, bool>,
    th: &Thresholds,
) -> Vec<CheckResult> {
    let agent = desired
        .containers
        .get(&(Component::Agents, host.to_string()))
        .filter(|_| placed.iter().any(|p| p.component == Component::Agents));
    let isolation: Vec<&str> = agent
        .and_then(|a| a.env.get("MESOS_ISOLATION"))
        .map(|v| v.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let cgroups_root = agent
        .and_then(|a| a.env.get("MESOS_CGROUPS_ROOT"))
        .map_or("mesos", String::as_str);
    let r = Reporter {
        host,
        engine_error: facts.engine_error.as_deref(),
        inside_error: facts.inside_error.as_deref(),
    };
    let mut out = vec![
        api_version(&r, facts),
        cgroup_version(&r, facts, agent.is_some(), &isolation),
        cgroup_controllers(&r, facts, agent.is_some(), &isolation),
        clock_skew(&r, facts, th),
    ];
    out.extend(disk(&r, placed, facts, th));
    let task_ports = agent
        .map(|a| task_port_ranges(a.env.get("MESOS_RESOURCES").map(String::as_str)))
        .unwrap_or_default();
    out.push(ports(&r, placed, facts, &task_ports));
    out.push(hostname(&r, facts));
    out.push(routable(&r, desired, reached_from));
    out.push(open_files(&r, facts, th));
    out.push(agents_on_engine(
        &r,
        facts,
        agent.is_some(),
        cgroups_root,
        &isolation,
    ));
    out
}

/// Builds results for one host.
struct Reporter<'a> {
    host: &'a str,
    engine_error: Option<&'a str>,
    inside_error: Option<&'a str>,
}

impl Reporter<'_> {
    fn result(
        &self,
        check: Check,
        outcome: Outcome,
        detail: impl Into<String>,
        fix: impl Into<String>,
        components: Vec<Component>,
    ) -> CheckResult {
        CheckResult {
            check,
            host: self.host.to_string(),
            outcome,
            detail: detail.into(),
            fix: if outcome == Outcome::Pass {
                String::new()
            } else {
                fix.into()
            },
            components,
            ignored: false,
        }
    }

    fn pass(&self, check: Check, detail: impl Into<String>) -> CheckResult {
        self.result(check, Outcome::Pass, detail, "", vec![])
    }

    /// A fact the engine did not give: a warning, never a hold.
    fn unknown_engine(&self, check: Check) -> CheckResult {
        self.result(
            check,
            Outcome::Warn,
            format!(
                "not checked: the engine did not answer ({})",
                self.engine_error.unwrap_or("no answer")
            ),
            "make the engine answer /info and /version, then run `mesos-operator preflight` again",
            vec![],
        )
    }

    /// A fact from inside the host the helper container did not give.
    fn unknown_inside(&self, check: Check) -> CheckResult {
        self.result(
            check,
            Outcome::Warn,
            format!(
                "not checked: the helper container did not run ({})",
                self.inside_error.unwrap_or("no answer")
            ),
            "let the engine run a container of the component's image (it must have /bin/sh), then run `mesos-operator preflight` again",
            vec![],
        )
    }
}

fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn api_version(r: &Reporter, f: &HostFacts) -> CheckResult {
    let c = Check::DockerApiVersion;
    let Some(v) = &f.api_version else {
        return r.unknown_engine(c);
    };
    match parse_api(v) {
        Some(have) if have >= MIN_API_VERSION => r.pass(c, format!("API {v}")),
        _ => r.result(
            c,
            Outcome::Fail,
            format!(
                "the engine speaks Docker API {v}; the operator needs {}.{} or newer",
                MIN_API_VERSION.0, MIN_API_VERSION.1
            ),
            "upgrade Docker on the host to 19.03 or newer",
            vec![],
        ),
    }
}

fn cgroups_used(isolation: &[&str]) -> Vec<String> {
    isolation
        .iter()
        .filter(|i| i.starts_with("cgroups/"))
        .map(|i| i.to_string())
        .collect()
}

fn cgroup_version(r: &Reporter, f: &HostFacts, agent: bool, isolation: &[&str]) -> CheckResult {
    let c = Check::CgroupVersion;
    let used = cgroups_used(isolation);
    if !agent || used.is_empty() {
        return r.pass(c, "no agent with cgroups/* isolation is placed here");
    }
    match f.cgroup_version {
        None => r.unknown_engine(c),
        Some(1) => r.pass(c, "cgroup v1"),
        Some(v) => r.result(
            c,
            Outcome::Fail,
            format!(
                "the host runs cgroup v{v} and spec.agents.isolation uses {}; released Mesos agents mount cgroup v1 hierarchies only (\"Failed to find a mounted cgroups hierarchy\")",
                used.join(", ")
            ),
            "boot the host with systemd.unified_cgroup_hierarchy=0 (cgroup v1), or use posix/cpu,posix/mem in spec.agents.isolation",
            vec![Component::Agents],
        ),
    }
}

fn cgroup_controllers(r: &Reporter, f: &HostFacts, agent: bool, isolation: &[&str]) -> CheckResult {
    let c = Check::CgroupControllers;
    let needed: BTreeSet<&str> = isolation
        .iter()
        .flat_map(|i| isolation_controllers(i).iter().copied())
        .collect();
    if !agent || needed.is_empty() {
        return r.pass(c, "no agent with cgroups/* isolation is placed here");
    }
    let Some(have) = &f.controllers else {
        return r.unknown_inside(c);
    };
    let v2 = f.cgroup_version == Some(2);
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|n| match have.get(*n) {
            Some((hierarchy, enabled)) => !enabled || (!v2 && *hierarchy == 0),
            None => true,
        })
        .collect();
    if missing.is_empty() {
        return r.pass(
            c,
            format!(
                "{} enabled",
                needed.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    r.result(
        c,
        Outcome::Fail,
        format!(
            "spec.agents.isolation needs the cgroup controller(s) {} and the host has them not enabled or not mounted (\"Failed to find a mounted cgroups hierarchy for the '{}' subsystem\")",
            missing.join(", "),
            missing[0]
        ),
        "enable and mount the controller(s) on the host (kernel cgroup_enable=..., a cgroup v1 mount), or drop the isolator from spec.agents.isolation",
        vec![Component::Agents],
    )
}

fn clock_skew(r: &Reporter, f: &HostFacts, th: &Thresholds) -> CheckResult {
    let c = Check::ClockSkew;
    let Some(skew) = f.clock_skew_ms else {
        return r.unknown_engine(c);
    };
    let off = skew.unsigned_abs();
    let detail = format!(
        "the engine's clock is {:.1}s {} the operator's",
        off as f64 / 1000.0,
        if skew >= 0 { "ahead of" } else { "behind" }
    );
    let fix = "synchronise the host's clock (chrony or systemd-timesyncd against the same NTP servers as the operator's machine)";
    if off >= th.skew_fail_ms {
        r.result(c, Outcome::Fail, detail, fix, vec![])
    } else if off >= th.skew_warn_ms {
        r.result(c, Outcome::Warn, detail, fix, vec![])
    } else {
        r.pass(c, detail)
    }
}

fn gib(b: u64) -> String {
    format!("{:.2} GiB", b as f64 / f64::from(1u32 << 30))
}

fn disk(r: &Reporter, placed: &[PlacedHere], f: &HostFacts, th: &Thresholds) -> Vec<CheckResult> {
    if placed.is_empty() {
        return vec![
            r.pass(Check::DiskSpace, "nothing placed here"),
            r.pass(Check::DiskInodes, "nothing placed here"),
        ];
    }
    if f.disk.is_empty() {
        return vec![
            r.unknown_inside(Check::DiskSpace),
            r.unknown_inside(Check::DiskInodes),
        ];
    }
    let (mut space, mut inodes) = (Vec::new(), Vec::new());
    for p in placed {
        let Some(s) = f.disk.get(&p.component) else {
            continue;
        };
        let who = format!("the {} data volume", p.component.role());
        let fix = "free space on the filesystem holding Docker's volumes (docker system df), or move Docker's data root to a larger filesystem";
        let o = if s.free_bytes < th.disk_fail_bytes {
            Outcome::Fail
        } else if s.free_bytes < th.disk_warn_bytes {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        space.push((
            o,
            format!("{who}: {} free", gib(s.free_bytes)),
            fix,
            p.component,
        ));
        let o = if s.total_inodes == 0 {
            Outcome::Pass
        } else if s.free_inodes < th.inodes_fail {
            Outcome::Fail
        } else if s.free_inodes < th.inodes_warn {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        let fix = "remove files from the filesystem holding Docker's volumes (many small files: old images, logs), or give it more inodes";
        inodes.push((
            o,
            format!("{who}: {} inodes free", s.free_inodes),
            fix,
            p.component,
        ));
    }
    vec![
        worst(r, Check::DiskSpace, space),
        worst(r, Check::DiskInodes, inodes),
    ]
}

/// One result from per-member findings: the worst outcome, the details of the members at
/// that outcome, and (for a failure) the members it holds.
fn worst(
    r: &Reporter,
    check: Check,
    found: Vec<(Outcome, String, &'static str, Component)>,
) -> CheckResult {
    let Some(top) = found.iter().map(|f| f.0).max() else {
        return r.unknown_inside(check);
    };
    let at: Vec<&(Outcome, String, &str, Component)> =
        found.iter().filter(|f| f.0 == top).collect();
    let detail = at
        .iter()
        .map(|f| f.1.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let components = if top == Outcome::Fail {
        at.iter().map(|f| f.3).collect()
    } else {
        vec![]
    };
    r.result(check, top, detail, at[0].2, components)
}

/// Mesos' default range of ports offered to tasks.
const DEFAULT_TASK_PORTS: (u32, u32) = (31000, 32000);

/// The port ranges an agent offers its tasks: `ports:[a-b,c-d]` in `MESOS_RESOURCES`
/// (the text form), else Mesos' default.
pub fn task_port_ranges(resources: Option<&str>) -> Vec<(u32, u32)> {
    let ranges = resources
        .and_then(|r| r.split(';').find_map(|kv| kv.trim().strip_prefix("ports:")))
        .map(|v| {
            v.trim_matches(|c| c == '[' || c == ']' || c == ' ')
                .split(',')
                .filter_map(|part| {
                    let (a, b) = part.trim().split_once('-')?;
                    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
                })
                .collect::<Vec<(u32, u32)>>()
        })
        .unwrap_or_default();
    if ranges.is_empty() {
        vec![DEFAULT_TASK_PORTS]
    } else {
        ranges
    }
}

fn ports(
    r: &Reporter,
    placed: &[PlacedHere],
    f: &HostFacts,
    task_ports: &[(u32, u32)],
) -> CheckResult {
    let c = Check::PortsFree;
    if placed.is_empty() {
        return r.pass(c, "nothing placed here");
    }
    let Some(listening) = &f.listening else {
        return r.unknown_inside(c);
    };
    let mut taken = Vec::new();
    let mut held = Vec::new();
    for p in placed.iter().filter(|p| !p.own_running) {
        for (port, what) in &p.ports {
            if listening.contains(port) {
                taken.push(format!("{port} ({what})"));
                if !held.contains(&p.component) {
                    held.push(p.component);
                }
            }
        }
    }
    // A port of the agents' task range something else holds: a task offered it fails to
    // bind. Reported, not held (the agent itself starts; tasks of this cluster's running
    // agent hold such ports legitimately, so only a new agent is looked at).
    let new_agent = placed
        .iter()
        .any(|p| p.component == Component::Agents && !p.own_running);
    let in_range: Vec<String> = listening
        .iter()
        .filter(|p| new_agent && task_ports.iter().any(|(a, b)| (*a..=*b).contains(*p)))
        .map(|p| p.to_string())
        .collect();
    if taken.is_empty() && !in_range.is_empty() {
        return r.result(
            c,
            Outcome::Warn,
            format!(
                "port(s) {} of the agents' task range are taken on the host; tasks offered them fail to bind",
                in_range.join(", ")
            ),
            "stop what listens there, or leave those ports out of the agents' ports resource (MESOS_RESOURCES in spec.agents.env)",
            vec![],
        );
    }
    if taken.is_empty() {
        let all: Vec<String> = placed
            .iter()
            .flat_map(|p| p.ports.iter().map(|(n, _)| n.to_string()))
            .collect();
        return r.pass(
            c,
            format!("ports {} free or this cluster's own", all.join(", ")),
        );
    }
    r.result(
        c,
        Outcome::Fail,
        format!(
            "port(s) {} already taken on the host by something that is not this cluster's member",
            taken.join(", ")
        ),
        "stop what listens there (`ss -ltnp` on the host, or a container with host networking in `docker ps`), or give the component other ports in the document",
        held,
    )
}

fn hostname(r: &Reporter, f: &HostFacts) -> CheckResult {
    let c = Check::HostnameResolves;
    let name = f.hostname.as_deref().unwrap_or("(unknown)");
    match f.hostname_resolves {
        None => r.unknown_inside(c),
        Some(true) => r.pass(c, format!("{name} resolves")),
        Some(false) => r.result(
            c,
            Outcome::Fail,
            format!(
                "the host's name {name} does not resolve on the host; Mesos exits at start with \"Failed to obtain the IP address for '{name}'\""
            ),
            format!("add `<address> {name}` to the host's /etc/hosts or to its DNS"),
            vec![],
        ),
    }
}

fn routable(r: &Reporter, desired: &Desired, reached_from: &BTreeMap<String, bool>) -> CheckResult {
    let c = Check::AddressRoutable;
    let address = desired
        .addresses
        .get(r.host)
        .map_or("(no address)", String::as_str);
    let not: Vec<&str> = reached_from
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(h, _)| h.as_str())
        .collect();
    if not.is_empty() {
        return r.pass(
            c,
            if reached_from.is_empty() {
                format!("{address}: no other host looked")
            } else {
                format!(
                    "{address} reached from {}",
                    reached_from.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            },
        );
    }
    r.result(
        c,
        Outcome::Fail,
        format!("{address} (spec.hosts address of {}) is not reached from {}", r.host, not.join(", ")),
        "route the address between the hosts (firewall, routes), or set spec.hosts[].address to the address the other hosts reach",
        vec![],
    )
}

fn open_files(r: &Reporter, f: &HostFacts, th: &Thresholds) -> CheckResult {
    let c = Check::OpenFiles;
    let Some(n) = f.nofile else {
        return r.unknown_inside(c);
    };
    let detail = format!("containers get an open-files limit of {n}");
    let fix = "raise the engine's default (dockerd --default-ulimit nofile=65536:65536, or LimitNOFILE in its service)";
    if n < th.nofile_fail {
        r.result(c, Outcome::Fail, detail, fix, vec![])
    } else if n < th.nofile_warn {
        r.result(c, Outcome::Warn, detail, fix, vec![])
    } else {
        r.pass(c, detail)
    }
}

fn agents_on_engine(
    r: &Reporter,
    f: &HostFacts,
    agent: bool,
    cgroups_root: &str,
    isolation: &[&str],
) -> CheckResult {
    let c = Check::AgentsOnOneEngine;
    if !agent {
        return r.pass(c, "no agent placed here");
    }
    let Some(others) = &f.other_agents else {
        return r.unknown_engine(c);
    };
    let name = |a: &OtherAgent| match &a.cluster {
        Some(cl) => format!("{} (cluster {cl})", a.container),
        None => a.container.clone(),
    };
    let killers: Vec<String> = others
        .iter()
        .filter(|a| a.kills_orphans)
        .map(name)
        .collect();
    if !killers.is_empty() {
        return r.result(
            c,
            Outcome::Fail,
            format!(
                "the agent(s) {} on this engine run with docker_kill_orphans (Mesos' default): when one recovers it removes every mesos-* container it has no record of, this cluster's tasks included",
                killers.join(", ")
            ),
            "run those agents with MESOS_DOCKER_KILL_ORPHANS=false, or place this cluster's agents on other hosts",
            vec![Component::Agents],
        );
    }
    let sharing: Vec<String> = others
        .iter()
        .filter(|a| a.cgroups_root == cgroups_root)
        .map(name)
        .collect();
    if !sharing.is_empty() && !cgroups_used(isolation).is_empty() {
        return r.result(
            c,
            Outcome::Warn,
            format!(
                "the agent(s) {} on this engine use the same --cgroups_root ({cgroups_root}) as this cluster's agent",
                sharing.join(", ")
            ),
            "give each cluster's agents a root of their own: MESOS_CGROUPS_ROOT in spec.agents.env",
            vec![],
        );
    }
    r.pass(
        c,
        format!(
            "{} other agent(s) on the engine, none in the way",
            others.len()
        ),
    )
}
