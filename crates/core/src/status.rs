//! The status document the leading operator writes to `clusters/<name>/status`.
//!
//! Timestamps are RFC 3339 strings made by the caller: the core reads no clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::FieldError;

/// Where a cluster stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// observedGeneration equals the spec's generation and everything matches and is healthy.
    Converged,
    /// A step is under way or about to be taken.
    Progressing,
    /// `spec.rollout.paused`: observed and reported, no step taken.
    Paused,
    /// A health gate timed out or every next step would break a safety rule.
    Blocked,
    /// Something is down that the operator may not fix without breaking a rule.
    Degraded,
    /// The stored spec fails validation; nothing is done.
    Invalid,
}

impl Phase {
    /// The name as written in the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Converged => "Converged",
            Phase::Progressing => "Progressing",
            Phase::Paused => "Paused",
            Phase::Blocked => "Blocked",
            Phase::Degraded => "Degraded",
            Phase::Invalid => "Invalid",
        }
    }
}

/// The step in flight, for people and for spotting half-done steps after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Step kind, e.g. `ReplaceContainer`.
    pub kind: crate::plan::StepKind,
    /// Host the step acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When the step started (RFC 3339).
    pub started_at: String,
}

/// One component's health as last observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// Members the spec asks for.
    pub desired: u32,
    /// Members running the desired configuration and healthy.
    pub ready: u32,
    /// ZooKeeper: the committed voters as `id@host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters: Option<Vec<String>>,
    /// Masters: the replicated-log quorum in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// Host of the current leader, when the component has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Desired image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Automated bumps: the newest allowed tag, why it is not rolled yet, the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<crate::autoupdate::AutoUpdateReport>,
}

/// The status document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Generation of the spec this status was computed from.
    pub observed_generation: u64,
    /// Where the cluster stands.
    pub phase: Phase,
    /// One sentence for a person: what is happening or what to do.
    pub message: String,
    /// The step in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepRecord>,
    /// Per component, keyed `zookeeper`, `masters`, `agents`, `marathon`.
    #[serde(default)]
    pub components: BTreeMap<crate::spec::Component, ComponentStatus>,
    /// With phase `Invalid`: every problem, as `apply` reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Host preflight checks that did not pass where the next members go (a failure holds
    /// its placement unless ignored; a warning is only reported), each with its fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preflight: Vec<crate::preflight::CheckResult>,
    /// Highest ZooKeeper server id ever handed out, so that ids are never reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper_highest_id: Option<u64>,
    /// The operator replica that wrote this status, and its term: who leads, for people
    /// looking at one cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorLeader>,
    /// When this status was written (RFC 3339).
    pub updated_at: String,
}

/// The leading operator replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorLeader {
    /// Its identity in the election.
    pub identity: String,
    /// Its term (grows with every new leader).
    pub term: i64,
}

/// Everything [`derive`] reads.
pub struct StatusInputs<'a> {
    /// The desired model.
    pub desired: &'a crate::desired::Desired,
    /// What was observed.
    pub observed: &'a crate::observed::Observed,
    /// What the planner decided on it.
    pub decision: &'a crate::plan::Decision,
    /// The step being carried out, if any, with its start time (RFC 3339).
    pub step: Option<StepRecord>,
    /// Now (RFC 3339).
    pub now: String,
}

/// The members of a component that run the desired configuration and are healthy by the
/// component's own standard.
pub fn ready_count(
    d: &crate::desired::Desired,
    o: &crate::observed::Observed,
    c: crate::spec::Component,
) -> u32 {
    d.hosts_of(c)
        .into_iter()
        .filter(|h| {
            let Some(oc) = o.container(c, h) else {
                return false;
            };
            d.is_current(oc) && oc.running() && o.member_health(c, h) == Some(true)
        })
        .count() as u32
}

/// The status document for what was observed and decided. Pure: the caller supplies the
/// time as text.
pub fn derive(i: StatusInputs<'_>) -> ClusterStatus {
    use crate::plan::{BlockKind, Decision};
    use crate::spec::Component as C;
    let d = i.desired;
    let o = i.observed;
    let (phase, message) = match i.decision {
        Decision::Converged => (
            Phase::Converged,
            "every container matches the spec and is healthy".to_string(),
        ),
        Decision::Wait { reason, .. } if d.paused => (Phase::Paused, reason.clone()),
        Decision::Wait { reason, .. } => (Phase::Progressing, reason.clone()),
        Decision::Act { step, reason } => (Phase::Progressing, format!("{step}: {reason}")),
        Decision::Blocked {
            kind,
            reason,
            action,
        } => (
            if *kind == BlockKind::Degraded {
                Phase::Degraded
            } else {
                Phase::Blocked
            },
            format!("{reason}; {action}"),
        ),
    };
    let mut components = BTreeMap::new();
    for c in C::ALL {
        let desired = d.hosts_of(c).len() as u32;
        let present = !o.containers_of(c).is_empty();
        if desired == 0 && !present {
            continue;
        }
        let leader = match c {
            C::Zookeeper => o.zookeeper.leader.clone(),
            C::Masters => o.masters.leader.clone(),
            C::Agents => None,
            C::Marathon => o.marathon.leader.clone(),
            C::Dns | C::LoadBalancer => None,
        };
        components.insert(
            c,
            ComponentStatus {
                desired,
                ready: ready_count(d, o, c),
                voters: (c == C::Zookeeper).then(|| {
                    o.zookeeper
                        .committed
                        .as_ref()
                        .map(|cfg| {
                            cfg.voters
                                .iter()
                                .map(|(id, h)| format!("{id}@{h}"))
                                .collect()
                        })
                        .unwrap_or_default()
                }),
                quorum: (c == C::Masters).then_some(d.master_quorum),
                leader,
                image: d.image_of(c).map(str::to_string),
                auto_update: None,
            },
        );
    }
    ClusterStatus {
        observed_generation: d.generation,
        phase,
        message,
        step: i.step,
        components,
        errors: Vec::new(),
        preflight: o
            .preflight
            .values()
            .flatten()
            .filter(|r| r.outcome != crate::preflight::Outcome::Pass)
            .cloned()
            .collect(),
        zookeeper_highest_id: None,
        operator: None,
        updated_at: i.now,
    }
}

impl ClusterStatus {
    /// Whether two statuses say the same thing (the time of writing aside): the operator
    /// writes only when something a reader would see changed.
    pub fn same_as(&self, other: &ClusterStatus) -> bool {
        let mut a = self.clone();
        a.updated_at = other.updated_at.clone();
        a == *other
    }

    /// The rollout's progress in words, e.g. `masters 2/3 on mesos-master:1.12.0-rc1`.
    pub fn progress(&self) -> String {
        // In rollout order, not alphabetical.
        crate::spec::Component::ALL
            .iter()
            .filter_map(|k| self.components.get_key_value(k))
            .map(|(name, c)| {
                let image = c
                    .image
                    .as_deref()
                    .map(|i| i.rsplit('/').next().unwrap_or(i))
                    .unwrap_or("-");
                format!("{name} {}/{} on {image}", c.ready, c.desired)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
