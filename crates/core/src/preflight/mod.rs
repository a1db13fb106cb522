//! Host preflight: named checks of a Docker host against what the document places on it,
//! looked at before a step adds a member there (kubeadm's and DC/OS's preflight, run before
//! every placement instead of once at install).
//!
//! A check is a [`Check`] with a stable name (the name `spec.hosts[].ignorePreflight`,
//! status, events, metrics and `mesos-operator preflight` use). What a host is like is
//! gathered by the runtime ([`HostFacts`], from the Docker API and a short-lived helper
//! container); turning facts into results is pure ([`evaluate`]) and the planner turns a
//! hard failure into a hold of that one placement ([`crate::plan`]).

mod rules;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::spec::Component;

pub use rules::{
    evaluate, isolation_controllers, HostFacts, OtherAgent, PlacedHere, Space, Thresholds,
};

/// One named check. The names are a public contract: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Check {
    /// The engine speaks at least [`rules::MIN_API_VERSION`] of the Docker API.
    DockerApiVersion,
    /// Agents whose isolation uses `cgroups/*` need cgroup v1 (released Mesos agents cannot
    /// mount their hierarchies on a cgroup v2 host).
    CgroupVersion,
    /// Every cgroup controller the agents' isolation needs is enabled and mounted.
    CgroupControllers,
    /// The engine's clock agrees with the operator's (ZooKeeper sessions, mTLS validity).
    ClockSkew,
    /// Free space on the filesystem holding the members' data volumes.
    DiskSpace,
    /// Free inodes on that filesystem.
    DiskInodes,
    /// Every port the planned roles bind is free, or held by this cluster's own member.
    PortsFree,
    /// The host's own name resolves on the host (Mesos' libprocess resolves it at start:
    /// "Failed to obtain the IP address for '<host>'").
    HostnameResolves,
    /// The host's address (what its members advertise) is reached from the other hosts.
    AddressRoutable,
    /// The open-files limit a container gets on this engine.
    OpenFiles,
    /// Other Mesos agents on the same engine: one that kills orphans removes this
    /// cluster's tasks when it recovers; one sharing `--cgroups_root` mixes their cgroups.
    AgentsOnOneEngine,
}

impl Check {
    /// Every check, in the order they are reported.
    pub const ALL: [Check; 11] = [
        Check::DockerApiVersion,
        Check::CgroupVersion,
        Check::CgroupControllers,
        Check::ClockSkew,
        Check::DiskSpace,
        Check::DiskInodes,
        Check::PortsFree,
        Check::HostnameResolves,
        Check::AddressRoutable,
        Check::OpenFiles,
        Check::AgentsOnOneEngine,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::DockerApiVersion => "DockerApiVersion",
            Check::CgroupVersion => "CgroupVersion",
            Check::CgroupControllers => "CgroupControllers",
            Check::ClockSkew => "ClockSkew",
            Check::DiskSpace => "DiskSpace",
            Check::DiskInodes => "DiskInodes",
            Check::PortsFree => "PortsFree",
            Check::HostnameResolves => "HostnameResolves",
            Check::AddressRoutable => "AddressRoutable",
            Check::OpenFiles => "OpenFiles",
            Check::AgentsOnOneEngine => "AgentsOnOneEngine",
        }
    }

    /// The check of this name (exact spelling), if there is one.
    pub fn parse(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// What it means, in one line (README, `preflight --help`).
    pub fn meaning(self) -> &'static str {
        match self {
            Check::DockerApiVersion => "the engine speaks Docker API 1.40 or newer",
            Check::CgroupVersion => {
                "agents with cgroups/* isolation need a cgroup v1 host (released Mesos agents cannot use v2)"
            }
            Check::CgroupControllers => {
                "every cgroup controller the agents' isolation needs is enabled and mounted"
            }
            Check::ClockSkew => "the engine's clock is within 2s (warning) / 30s (failure) of the operator's",
            Check::DiskSpace => "at least 2 GiB (warning) / 512 MiB (failure) free where the data volumes live",
            Check::DiskInodes => "at least 100,000 (warning) / 10,000 (failure) free inodes there",
            Check::PortsFree => {
                "every port the planned roles bind is free or held by this cluster's own member"
            }
            Check::HostnameResolves => "the host's own name resolves on the host",
            Check::AddressRoutable => "the host's address is reached from every other host of the cluster",
            Check::OpenFiles => "containers get an open-files limit of 65,536 (warning) / 4,096 (failure) or more",
            Check::AgentsOnOneEngine => {
                "no other agent on the engine kills orphan containers, none shares this cluster's --cgroups_root"
            }
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing to say.
    Pass,
    /// Reported, never blocks.
    Warn,
    /// Blocks the placements it concerns, unless the host ignores the check.
    Fail,
}

impl Outcome {
    /// As written in tables, JSON and metric values' help.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
        }
    }
}

/// One check on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// The host (document name).
    pub host: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was seen, for people.
    pub detail: String,
    /// What to do about it, in one line (empty when it passed).
    pub fix: String,
    /// The placements a failure holds; empty: every member placed on the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// The host ignores this check (`spec.hosts[].ignorePreflight`): reported, never held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
}

impl CheckResult {
    /// A failure that holds a placement of `c` (not ignored).
    pub fn holds(&self, c: Component) -> bool {
        self.outcome == Outcome::Fail
            && !self.ignored
            && (self.components.is_empty() || self.components.contains(&c))
    }
}

/// The results of every host looked at, by host.
pub type Results = BTreeMap<String, Vec<CheckResult>>;

/// Marks the results of checks a host ignores (`spec.hosts[].ignorePreflight`).
pub fn apply_ignores(results: &mut [CheckResult], ignored: &BTreeSet<Check>) {
    for r in results {
        r.ignored = ignored.contains(&r.check);
    }
}

/// The first failure that holds a placement of `c` on `host`, if any.
pub fn hold<'a>(results: &'a Results, c: Component, host: &str) -> Option<&'a CheckResult> {
    results.get(host)?.iter().find(|r| r.holds(c))
}

#[cfg(test)]
mod tests;
