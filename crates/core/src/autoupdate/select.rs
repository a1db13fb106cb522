//! Which tag a component moves to, and why every other one is not chosen.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::Policy;
use super::state::ComponentUpdates;
use super::tags::TagVersion;
use crate::spec::VersionStep;

/// Why a tag is or is not chosen, as `status` and `autoupdate list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "verdict")]
pub enum Verdict {
    /// The tag running now.
    Current,
    /// Not newer than the running version.
    NotNewer,
    /// The scheme cannot read it, or it floats (`latest`, `3.8`).
    NotAVersion,
    /// Its variant differs from the running tag's (`-jre-11` for a `-jre-17` image).
    OtherVariant,
    /// Matches an `exclude` pattern.
    Excluded,
    /// Outside `versions`.
    OutOfRange,
    /// A larger step than `maxStep`.
    StepTooLarge,
    /// A release candidate, and the policy takes none.
    ReleaseCandidate,
    /// Failed before; on the denylist.
    Denied,
    /// Seen less than `minAge` ago.
    TooYoung {
        /// When it may be chosen (seconds since the epoch).
        ready_at: u64,
    },
    /// Allowed; waits for `mesos-operator approve`.
    AwaitingApproval,
    /// Allowed.
    Allowed,
}

impl Verdict {
    /// A short word for tables and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Current => "current",
            Verdict::NotNewer => "not-newer",
            Verdict::NotAVersion => "not-a-version",
            Verdict::OtherVariant => "other-variant",
            Verdict::Excluded => "excluded",
            Verdict::OutOfRange => "out-of-range",
            Verdict::StepTooLarge => "step-too-large",
            Verdict::ReleaseCandidate => "release-candidate",
            Verdict::Denied => "denied",
            Verdict::TooYoung { .. } => "too-young",
            Verdict::AwaitingApproval => "awaiting-approval",
            Verdict::Allowed => "allowed",
        }
    }
}

/// The outcome of judging every tag seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Each tag's verdict.
    pub verdicts: BTreeMap<String, Verdict>,
    /// The newest tag that passes every rule but age and approval: what people want to
    /// know is coming.
    pub newest: Option<String>,
    /// The newest tag that passes every rule: the one to roll.
    pub chosen: Option<String>,
    /// Why nothing can be judged (the running tag is not a version the scheme reads).
    pub problem: Option<String>,
}

fn within_step(step: VersionStep, cur: &TagVersion, new: &TagVersion) -> bool {
    let (c, n) = (&cur.version, &new.version);
    match step {
        VersionStep::Major => true,
        VersionStep::Minor => c.part(0) == n.part(0),
        VersionStep::Patch => c.part(0) == n.part(0) && c.part(1) == n.part(1),
    }
}

/// Judges every tag of `u.seen` against the policy and the running tag.
pub fn select(policy: &Policy, current_tag: &str, u: &ComponentUpdates, now: u64) -> Selection {
    let mut verdicts = BTreeMap::new();
    let Some(cur) = policy.scheme.read(current_tag) else {
        return Selection {
            verdicts,
            newest: None,
            chosen: None,
            problem: Some(format!(
                "the running tag '{current_tag}' is not a version the tag pattern reads, so newer ones cannot be ordered against it"
            )),
        };
    };
    let mut newest: Option<(TagVersion, String)> = None;
    let mut chosen: Option<(TagVersion, String)> = None;
    let newer = |best: &Option<(TagVersion, String)>, tv: &TagVersion| {
        best.as_ref()
            .is_none_or(|(b, _)| tv.order(b) == Ordering::Greater)
    };
    for (tag, seen) in &u.seen {
        let verdict = if tag == current_tag {
            Verdict::Current
        } else if let Some(tv) = policy.scheme.read(tag) {
            let v = judge(policy, &cur, &tv, tag, seen.first_seen, u, now);
            if matches!(
                v,
                Verdict::Allowed | Verdict::TooYoung { .. } | Verdict::AwaitingApproval
            ) && newer(&newest, &tv)
            {
                newest = Some((tv.clone(), tag.clone()));
            }
            if v == Verdict::Allowed && newer(&chosen, &tv) {
                chosen = Some((tv, tag.clone()));
            }
            v
        } else {
            Verdict::NotAVersion
        };
        verdicts.insert(tag.clone(), verdict);
    }
    Selection {
        verdicts,
        newest: newest.map(|(_, t)| t),
        chosen: chosen.map(|(_, t)| t),
        problem: None,
    }
}

fn judge(
    policy: &Policy,
    cur: &TagVersion,
    tv: &TagVersion,
    tag: &str,
    first_seen: u64,
    u: &ComponentUpdates,
    now: u64,
) -> Verdict {
    if tv.variant != cur.variant {
        return Verdict::OtherVariant;
    }
    if tv.order(cur) != Ordering::Greater {
        return Verdict::NotNewer;
    }
    if policy.exclude.iter().any(|x| x.is_match(tag)) {
        return Verdict::Excluded;
    }
    if tv.version.is_pre_release() && !policy.release_candidates {
        return Verdict::ReleaseCandidate;
    }
    if !policy.range.matches(&tv.version) {
        return Verdict::OutOfRange;
    }
    if !within_step(policy.max_step, cur, tv) {
        return Verdict::StepTooLarge;
    }
    if u.denied.contains_key(tag) {
        return Verdict::Denied;
    }
    let ready_at = first_seen.saturating_add(policy.min_age.as_secs());
    if now < ready_at {
        return Verdict::TooYoung { ready_at };
    }
    if policy.require_approval && !u.approved.contains(tag) {
        return Verdict::AwaitingApproval;
    }
    Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoupdate::state::{Denial, SeenTag};
    use crate::spec::AutoUpdatePolicy;

    fn policy(edit: impl FnOnce(&mut AutoUpdatePolicy)) -> Policy {
        let mut p = AutoUpdatePolicy::default();
        edit(&mut p);
        Policy::compile(&p).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn seen(tags: &[(&str, u64)]) -> ComponentUpdates {
        ComponentUpdates {
            seen: tags
                .iter()
                .map(|(t, at)| {
                    (
                        t.to_string(),
                        SeenTag {
                            first_seen: *at,
                            digest: None,
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rc10_is_chosen_over_rc9_and_floating_tags_never() {
        let p = policy(|p| p.release_candidates = true);
        let u = seen(&[
            ("1.11.0", 0),
            ("1.12.0-rc9", 0),
            ("1.12.0-rc10", 0),
            ("latest", 0),
            ("1.12", 0),
        ]);
        let s = select(&p, "1.11.0", &u, 100);
        assert_eq!(s.chosen.as_deref(), Some("1.12.0-rc10"));
        assert_eq!(s.verdicts["latest"], Verdict::NotAVersion);
        assert_eq!(s.verdicts["1.12"], Verdict::NotAVersion);
        assert_eq!(s.verdicts["1.11.0"], Verdict::Current);
    }

    #[test]
    fn without_release_candidates_only_releases() {
        let p = policy(|_| {});
        let u = seen(&[("1.11.1", 0), ("1.12.0-rc10", 0)]);
        let s = select(&p, "1.11.0", &u, 100);
        assert_eq!(s.chosen.as_deref(), Some("1.11.1"));
        assert_eq!(s.verdicts["1.12.0-rc10"], Verdict::ReleaseCandidate);
    }

    #[test]
    fn min_age_holds_a_young_tag_back_and_an_older_allowed_one_goes() {
        let p = policy(|p| p.min_age = "1h".into());
        let u = seen(&[("1.11.1", 0), ("1.11.2", 5000)]);
        let s = select(&p, "1.11.0", &u, 6000);
        assert_eq!(s.newest.as_deref(), Some("1.11.2"));
        assert_eq!(s.chosen.as_deref(), Some("1.11.1"));
        assert_eq!(s.verdicts["1.11.2"], Verdict::TooYoung { ready_at: 8600 });
        let later = select(&p, "1.11.0", &u, 8600);
        assert_eq!(later.chosen.as_deref(), Some("1.11.2"));
    }

    #[test]
    fn steps_ranges_variants_excludes_denials_and_approvals() {
        let u = seen(&[
            ("1.10.26-jre-17", 0),
            ("1.10.27-jre-17", 0),
            ("1.10.28-jre-11", 0),
            ("1.11.0-jre-17", 0),
            ("2.0.0-jre-17", 0),
        ]);
        let cur = "1.10.26-jre-17";
        let s = select(&policy(|p| p.max_step = VersionStep::Patch), cur, &u, 1);
        assert_eq!(s.chosen.as_deref(), Some("1.10.27-jre-17"));
        assert_eq!(s.verdicts["1.10.28-jre-11"], Verdict::OtherVariant);
        assert_eq!(s.verdicts["1.11.0-jre-17"], Verdict::StepTooLarge);
        let s = select(&policy(|_| {}), cur, &u, 1);
        assert_eq!(s.chosen.as_deref(), Some("1.11.0-jre-17"));
        assert_eq!(s.verdicts["2.0.0-jre-17"], Verdict::StepTooLarge);
        let s = select(&policy(|p| p.max_step = VersionStep::Major), cur, &u, 1);
        assert_eq!(s.chosen.as_deref(), Some("2.0.0-jre-17"));
        let s = select(
            &policy(|p| {
                p.max_step = VersionStep::Major;
                p.versions = Some("<2".into());
                p.exclude = vec!["^1\\.11\\.".into()];
            }),
            cur,
            &u,
            1,
        );
        assert_eq!(s.chosen.as_deref(), Some("1.10.27-jre-17"));
        assert_eq!(s.verdicts["2.0.0-jre-17"], Verdict::OutOfRange);
        assert_eq!(s.verdicts["1.11.0-jre-17"], Verdict::Excluded);
        let mut denied = u.clone();
        denied.denied.insert(
            "1.11.0-jre-17".into(),
            Denial {
                reason: "canary failed".into(),
                at: 0,
            },
        );
        let s = select(&policy(|_| {}), cur, &denied, 1);
        assert_eq!(s.chosen.as_deref(), Some("1.10.27-jre-17"));
        assert_eq!(s.verdicts["1.11.0-jre-17"], Verdict::Denied);
        let p = policy(|p| p.require_approval = true);
        let s = select(&p, cur, &u, 1);
        assert_eq!(s.chosen, None);
        assert_eq!(s.newest.as_deref(), Some("1.11.0-jre-17"));
        let mut approved = u.clone();
        approved.approved.insert("1.10.27-jre-17".into());
        assert_eq!(
            select(&p, cur, &approved, 1).chosen.as_deref(),
            Some("1.10.27-jre-17")
        );
    }

    #[test]
    fn a_running_tag_that_is_no_version_stops_the_automation_with_a_reason() {
        let s = select(&policy(|_| {}), "latest", &seen(&[("1.0.0", 0)]), 1);
        assert_eq!(s.chosen, None);
        assert!(s.problem.unwrap().contains("latest"));
    }
}
