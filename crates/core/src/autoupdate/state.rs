//! What the operator keeps about automated bumps of one cluster, in etcd under
//! `clusters/<name>/autoupdate`: tags seen and when, the denylist, pins, approvals and the
//! rollout in progress. The leader writes it (fenced, compare-and-swap); the command line
//! writes approvals, resumes and denylist removals the same way.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::spec::Component;

/// A tag the scanner found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenTag {
    /// When the operator first saw it (seconds since the epoch): `minAge` counts from here,
    /// since registries do not say when a tag was pushed.
    pub first_seen: u64,
    /// The manifest digest the registry served, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A tag that failed: never tried again until a person removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Denial {
    /// Why it was rolled back.
    pub reason: String,
    /// When (seconds since the epoch).
    pub at: u64,
}

/// A person's edit of the component's image: automation stops for it until
/// `mesos-operator autoupdate resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The image the person wrote.
    pub image: String,
    /// The spec generation where it was seen.
    pub generation: u64,
    /// When it was seen.
    pub at: u64,
}

/// A spec write the automation is about to make, recorded first, so that a crash between
/// the two is not later read as a person's edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingWrite {
    /// The image to write.
    pub image: String,
    /// The generation it is planned from: the write is a compare-and-swap on it.
    pub from_generation: u64,
    /// A rollback (retried on a newer generation when someone else's write got in first,
    /// as long as it did not change the image) rather than a bump (re-planned instead:
    /// the edit may have changed the policy).
    #[serde(default)]
    pub rollback: bool,
}

/// Where an automated rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutPhase {
    /// One member moves; the rest wait.
    Canary,
    /// The canary passed; the rest follow by the normal rules.
    Rolling,
}

/// An automated rollout in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoRollout {
    /// The tag rolled.
    pub tag: String,
    /// The image before (rolled back to on failure).
    pub from_image: String,
    /// The image rolled.
    pub to_image: String,
    /// Canary or the rest.
    pub phase: RolloutPhase,
    /// When the bump was decided.
    pub started_at: u64,
    /// When the canary was first seen healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_since: Option<u64>,
    /// Since when the canary's checks fail (cleared when they hold again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<u64>,
    /// When the canary passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_at: Option<u64>,
    /// Agents registered with the leading master when the canary started: a canary that
    /// makes agents drop fails.
    #[serde(default)]
    pub baseline_agents: u32,
    /// The canary's host, written before its first step: the hold keeps to it whatever
    /// one observation shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_host: Option<String>,
}

/// One component's automation state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentUpdates {
    /// Tags seen, by tag.
    #[serde(default)]
    pub seen: BTreeMap<String, SeenTag>,
    /// When the registry was last asked (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<u64>,
    /// When the next scan is due (the interval plus its random jitter, drawn once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scan: Option<u64>,
    /// The last scan's error, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_error: Option<String>,
    /// The image the automation last saw in (or wrote to) the spec: a different one there
    /// is a person's edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_image: Option<String>,
    /// A spec write about to be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingWrite>,
    /// Set by a person's edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<Pin>,
    /// Tags a person approved.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub approved: BTreeSet<String>,
    /// Tags that failed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub denied: BTreeMap<String, Denial>,
    /// The rollout in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<AutoRollout>,
    /// The last image an automated rollout finished with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good: Option<String>,
    /// The candidate last reported in `notify` mode (reported once per tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<String>,
}

/// Every component's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoUpdateState {
    /// By component.
    #[serde(default)]
    pub components: BTreeMap<Component, ComponentUpdates>,
}

/// The most tags kept per component: enough for any real repository's recent history,
/// small enough that the state stays far inside etcd's value limit.
pub const MAX_SEEN: usize = 500;

impl AutoUpdateState {
    /// The component's state (empty when absent).
    pub fn component(&self, c: Component) -> ComponentUpdates {
        self.components.get(&c).cloned().unwrap_or_default()
    }

    /// The component whose canary holds the rollout of the rest, if one does: only where
    /// `has_policy(c)` (a canary whose policy was removed is released).
    pub fn canary_hold(
        &self,
        has_policy: impl Fn(Component) -> bool,
    ) -> Option<crate::desired::CanaryHold> {
        self.components.iter().find_map(|(c, u)| {
            u.rollout
                .as_ref()
                .filter(|r| r.phase == RolloutPhase::Canary && has_policy(*c))
                .map(|r| crate::desired::CanaryHold {
                    component: *c,
                    host: r.canary_host.clone(),
                })
        })
    }
}

impl AutoUpdateState {
    /// What of the state outlives the cluster's spec (`delete`, `delete --cascade` without
    /// `--purge-data`), so that re-applying the cluster does not try a tag that failed again:
    /// the denylist, approvals, tags seen (their `minAge` clock), scan times and the last
    /// good image. What belongs to the deleted spec goes: the write in flight and the
    /// rollout (a re-applied spec starts again at generation 1, where an old
    /// `fromGeneration` could match by chance and an old canary would hold the new
    /// cluster), the pins and the image known (a re-applied document is a new start, not a
    /// person's edit of the old one).
    pub fn kept_after_delete(&self) -> AutoUpdateState {
        let components = self
            .components
            .iter()
            .map(|(c, u)| {
                (
                    *c,
                    ComponentUpdates {
                        known_image: None,
                        pending: None,
                        pinned: None,
                        rollout: None,
                        ..u.clone()
                    },
                )
            })
            .collect();
        AutoUpdateState { components }
    }
}

impl ComponentUpdates {
    /// Replaces the tags seen by a scan's answer: a tag keeps the time it was first seen
    /// (and its digest), a new one is seen `now`, one the registry no longer has is dropped.
    /// At most [`MAX_SEEN`] are kept, the newest by `order`.
    pub fn merge_scan(
        &mut self,
        tags: &[String],
        keep: impl Fn(&str) -> bool,
        order: impl Fn(&str, &str) -> std::cmp::Ordering,
        now: u64,
    ) {
        let mut kept: Vec<&String> = tags.iter().filter(|t| keep(t)).collect();
        kept.sort_by(|a, b| order(b, a));
        kept.dedup();
        kept.truncate(MAX_SEEN);
        let seen = kept
            .into_iter()
            .map(|t| {
                let old = self.seen.get(t);
                (
                    t.clone(),
                    SeenTag {
                        first_seen: old.map_or(now, |o| o.first_seen),
                        digest: old.and_then(|o| o.digest.clone()),
                    },
                )
            })
            .collect();
        self.seen = seen;
    }

    /// The spec write recorded in `pending` landed: the image is the automation's own.
    pub fn landed(&mut self, image: &str) {
        if self.pending.as_ref().is_some_and(|p| p.image == image) {
            self.pending = None;
        }
        self.known_image = Some(image.to_string());
    }

    /// The phase of the rollout in progress, if any.
    pub fn canary_phase(&self) -> Option<RolloutPhase> {
        self.rollout.as_ref().map(|r| r.phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_keeps_the_denylist_and_drops_what_belongs_to_the_deleted_spec() {
        let mut u = ComponentUpdates::default();
        u.seen.insert(
            "1.12.0".into(),
            SeenTag {
                first_seen: 5,
                digest: None,
            },
        );
        u.denied.insert(
            "1.12.0".into(),
            Denial {
                reason: "canary failed".into(),
                at: 9,
            },
        );
        u.approved.insert("1.12.1".into());
        u.last_good = Some("mesos-master:1.11.0".into());
        u.known_image = Some("mesos-master:1.11.0".into());
        u.pending = Some(PendingWrite {
            image: "mesos-master:1.12.1".into(),
            from_generation: 1,
            rollback: false,
        });
        u.pinned = Some(Pin {
            image: "mesos-master:1.11.0".into(),
            generation: 3,
            at: 7,
        });
        u.rollout = Some(AutoRollout {
            tag: "1.12.1".into(),
            from_image: "mesos-master:1.11.0".into(),
            to_image: "mesos-master:1.12.1".into(),
            phase: RolloutPhase::Canary,
            started_at: 8,
            healthy_since: None,
            failing_since: None,
            promoted_at: None,
            baseline_agents: 3,
            canary_host: Some("h1".into()),
        });
        let mut s = AutoUpdateState::default();
        s.components.insert(Component::Masters, u.clone());
        let kept = s.kept_after_delete();
        let k = kept.component(Component::Masters);
        assert_eq!(k.denied, u.denied);
        assert_eq!(k.approved, u.approved);
        assert_eq!(k.seen, u.seen);
        assert_eq!(k.last_good, u.last_good);
        assert_eq!(k.known_image, None);
        assert_eq!(k.pending, None);
        assert_eq!(k.pinned, None);
        assert_eq!(k.rollout, None);
        assert!(kept.canary_hold(|_| true).is_none());
        // Kept twice is kept once.
        assert_eq!(kept.kept_after_delete(), kept);
    }
}
