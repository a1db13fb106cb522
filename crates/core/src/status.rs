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
    /// Step kind, e.g. `ReplaceMaster`.
    pub kind: String,
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
    pub components: BTreeMap<String, ComponentStatus>,
    /// With phase `Invalid`: every problem, as `apply` reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Highest ZooKeeper server id ever handed out, so that ids are never reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper_highest_id: Option<u64>,
    /// When this status was written (RFC 3339).
    pub updated_at: String,
}
