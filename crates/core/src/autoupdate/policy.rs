//! A component's policy, compiled once: the range parsed, the patterns built, the
//! durations read. Validation compiles it too, so a document that is stored always compiles.

use std::time::Duration;

use regex::Regex;

use super::range::VersionRange;
use super::tags::{compile, TagScheme};
use crate::spec::{duration, AutoUpdateMode, AutoUpdatePolicy, VersionStep};

/// A policy ready to judge tags.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Off, notify or auto.
    pub mode: AutoUpdateMode,
    /// Versions allowed.
    pub range: VersionRange,
    /// Largest step.
    pub max_step: VersionStep,
    /// Release candidates considered.
    pub release_candidates: bool,
    /// How tags are read.
    pub scheme: TagScheme,
    /// Tags never chosen.
    pub exclude: Vec<Regex>,
    /// Age a tag needs since first seen.
    pub min_age: Duration,
    /// Write the digest into the image reference.
    pub pin_digest: bool,
    /// Time between scans.
    pub scan_interval: Duration,
    /// Random extra time per scan, up to this.
    pub scan_jitter: Duration,
    /// A person approves each tag.
    pub require_approval: bool,
    /// Canary soak.
    pub canary_soak: Duration,
    /// How long a check may fail before the canary fails.
    pub check_grace: Duration,
}

/// A problem in one field of the policy: the field (relative to `autoUpdate`), what is
/// wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Field name, e.g. `versions` or `exclude[1]`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to write instead.
    pub fix: String,
}

/// The shortest scan interval: a registry is a shared service.
pub const MIN_SCAN_INTERVAL: Duration = Duration::from_secs(1);

impl Policy {
    /// Compiles a policy; every problem is returned, not just the first.
    pub fn compile(p: &AutoUpdatePolicy) -> Result<Policy, Vec<PolicyError>> {
        let mut errs = Vec::new();
        let mut err = |field: &str, problem: String, fix: &str| {
            errs.push(PolicyError {
                field: field.to_string(),
                problem,
                fix: fix.to_string(),
            })
        };
        let range = match p.versions.as_deref().map(VersionRange::parse) {
            None => Some(VersionRange::any()),
            Some(Ok(r)) => Some(r),
            Some(Err(m)) => {
                err(
                    "versions",
                    m,
                    "write e.g. '>=1.11.0, <2.0.0', '^1.11' or '1.x'",
                );
                None
            }
        };
        let scheme = match TagScheme::new(p.tag_pattern.as_deref()) {
            Ok(s) => Some(s),
            Err(m) => {
                err(
                    "tagPattern",
                    m,
                    "write a regular expression with (?P<version>...), e.g. ^(?P<version>\\d+\\.\\d+\\.\\d+)(?P<variant>-jre-\\d+)?$",
                );
                None
            }
        };
        let mut exclude = Vec::new();
        for (i, x) in p.exclude.iter().enumerate() {
            match compile(x) {
                Ok(r) => exclude.push(r),
                Err(m) => err(
                    &format!("exclude[{i}]"),
                    m,
                    "write a regular expression, e.g. -rc[0-9]+$",
                ),
            }
        }
        let mut dur = |field: &str, s: &str, example: &str| match duration::parse(s) {
            Ok(d) => Some(d),
            Err(m) => {
                err(field, m, &format!("write e.g. {example}"));
                None
            }
        };
        let min_age = dur("minAge", &p.min_age, "24h or 0s");
        let scan_interval = dur("scanInterval", &p.scan_interval, "5m");
        let scan_jitter = dur("scanJitter", &p.scan_jitter, "30s");
        let canary_soak = dur("canarySoak", &p.canary_soak, "120s");
        let check_grace = dur("checkGrace", &p.check_grace, "30s");
        if let Some(i) = scan_interval {
            if i < MIN_SCAN_INTERVAL {
                err(
                    "scanInterval",
                    format!("'{}' would ask the registry constantly", p.scan_interval),
                    "use 1s or more; 5m is the default",
                );
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        match (
            range,
            scheme,
            min_age,
            scan_interval,
            scan_jitter,
            canary_soak,
            check_grace,
        ) {
            (
                Some(range),
                Some(scheme),
                Some(min_age),
                Some(si),
                Some(sj),
                Some(soak),
                Some(grace),
            ) => Ok(Policy {
                mode: p.mode,
                range,
                max_step: p.max_step,
                release_candidates: p.release_candidates,
                scheme,
                exclude,
                min_age,
                pin_digest: p.pin_digest,
                scan_interval: si,
                scan_jitter: sj,
                require_approval: p.require_approval,
                canary_soak: soak,
                check_grace: grace,
            }),
            _ => Err(errs),
        }
    }
}
