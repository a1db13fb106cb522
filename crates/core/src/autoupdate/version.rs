//! Version order that users trust: every numeric part compared as a number, a release
//! candidate before its release (`1.12.0-rc9` < `1.12.0-rc10` < `1.12.0`), and a tag that
//! names no exact release (`latest`, `3.8`) never a version at all.
//!
//! Docker tags are not semver: `0.22.1-1.0.ubuntu1404` and `v1.6.352` are both common. The
//! [`crate::autoupdate::tags`] scheme cuts a tag into a version, a build and a variant; this
//! module orders the version and build parts.

use std::cmp::Ordering;
use std::fmt;

/// One identifier of a pre-release: `rc10` is `("rc", 10)`, `beta` is `("beta", 0)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PreId {
    /// The letters (lowercased), empty for a purely numeric identifier.
    pub label: String,
    /// The number that follows them.
    pub number: u64,
}

/// A release version: numeric parts, and a pre-release for candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `1.12.0` is `[1, 12, 0]`; at least three parts (fewer is a floating tag).
    pub parts: Vec<u64>,
    /// `-rc10` is `[rc 10]`; empty for a release.
    pub pre: Vec<PreId>,
}

/// The fewest numeric parts an exact release has: `3.8` names whatever 3.8.x is newest.
pub const MIN_PARTS: usize = 3;

impl Version {
    /// Parses `1.12.0`, `v1.6.352`, `1.12.0-rc10`, `1.12.0-rc.10`, `2.0.0-beta2`. `None` for
    /// anything else, floating tags (`3.8`, `latest`) included.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (s, None),
        };
        let parts: Vec<u64> = core
            .split('.')
            .map(|p| {
                if p.is_empty() || p.len() > 19 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    p.parse().ok()
                }
            })
            .collect::<Option<_>>()?;
        if parts.len() < MIN_PARTS || parts.len() > 8 {
            return None;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => parse_pre(p)?,
        };
        Some(Version { parts, pre })
    }

    /// A release candidate (or any other pre-release).
    pub fn is_pre_release(&self) -> bool {
        !self.pre.is_empty()
    }

    /// Part `i`, 0 past the end (so `1.2.3` and `1.2.3.0` are the same release).
    pub fn part(&self, i: usize) -> u64 {
        self.parts.get(i).copied().unwrap_or(0)
    }

    /// The release itself, without pre-release (`1.12.0-rc1` → `1.12.0`).
    pub fn release(&self) -> Version {
        Version {
            parts: self.parts.clone(),
            pre: Vec::new(),
        }
    }
}

/// `rc10`, `rc.10`, `beta2`, `alpha.1.2`: identifiers split on `.`, each letters then digits.
fn parse_pre(p: &str) -> Option<Vec<PreId>> {
    if p.is_empty() {
        return None;
    }
    let mut out: Vec<PreId> = Vec::new();
    for id in p.split('.') {
        if id.is_empty() {
            return None;
        }
        let digits_at = id.find(|c: char| c.is_ascii_digit()).unwrap_or(id.len());
        let (label, number) = id.split_at(digits_at);
        if !label.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        if !number.bytes().all(|b| b.is_ascii_digit()) || number.len() > 19 {
            return None;
        }
        let number: u64 = if number.is_empty() {
            0
        } else {
            number.parse().ok()?
        };
        if label.is_empty() {
            // `rc.10`: a bare number continues the identifier before it.
            match out.last_mut() {
                Some(last) if last.number == 0 && !last.label.is_empty() => last.number = number,
                _ => out.push(PreId {
                    label: String::new(),
                    number,
                }),
            }
        } else {
            out.push(PreId {
                label: label.to_ascii_lowercase(),
                number,
            });
        }
    }
    Some(out)
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            match self.part(i).cmp(&other.part(i)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        // A pre-release comes before its release.
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))?;
        for (i, p) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            if p.label.is_empty() {
                write!(f, "{}", p.number)?;
            } else {
                write!(f, "{}{}", p.label, p.number)?;
            }
        }
        Ok(())
    }
}

/// The build part of a tag (`0.22.1-1.0.ubuntu1404` has build `1.0`): numbers compared one
/// by one, only between tags of the same version.
pub fn build_parts(s: &str) -> Option<Vec<u64>> {
    s.split(['.', '-', '_'])
        .map(|p| if p.len() > 19 { None } else { p.parse().ok() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn release_candidates_come_before_their_release_in_numeric_order() {
        let order = [
            "1.9.0",
            "1.10.0",
            "1.11.0",
            "1.11.1",
            "1.12.0-rc1",
            "1.12.0-rc2",
            "1.12.0-rc9",
            "1.12.0-rc10",
            "1.12.0",
            "1.12.1",
            "2.0.0",
        ];
        for w in order.windows(2) {
            assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn alpha_beta_rc_in_their_usual_order() {
        assert!(v("2.0.0-alpha1") < v("2.0.0-beta1"));
        assert!(v("2.0.0-beta2") < v("2.0.0-rc1"));
        assert_eq!(v("1.12.0-rc.10"), v("1.12.0-rc10"));
        assert_eq!(v("v1.6.352"), v("1.6.352"));
        assert_eq!(v("1.2.3").cmp(&v("1.2.3.0")), Ordering::Equal);
    }

    #[test]
    fn floating_and_garbage_tags_are_not_versions() {
        for t in [
            "latest",
            "3.8",
            "3",
            "stable",
            "",
            "1.2.x",
            "1..2",
            "1.2.3-",
            "1.2.3-rc_1",
            "99999999999999999999.0.0",
        ] {
            assert!(Version::parse(t).is_none(), "{t} must not parse");
        }
    }

    proptest! {
        #[test]
        fn order_is_total_and_matches_the_parts(
            a in proptest::collection::vec(0u64..30, 3..5),
            b in proptest::collection::vec(0u64..30, 3..5),
            ra in proptest::option::of(1u64..20),
            rb in proptest::option::of(1u64..20),
        ) {
            let fmt = |p: &[u64], rc: Option<u64>| {
                let s = p.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
                match rc { Some(n) => format!("{s}-rc{n}"), None => s }
            };
            let (sa, sb) = (fmt(&a, ra), fmt(&b, rb));
            let (va, vb) = (v(&sa), v(&sb));
            // Antisymmetric and consistent with equality.
            prop_assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
            // The display parses back to the same version.
            prop_assert_eq!(v(&va.to_string()), va.clone());
            // Numeric parts decide first; padding with zeros changes nothing.
            let pad = |p: &[u64]| { let mut p = p.to_vec(); p.resize(5, 0); p };
            if pad(&a) != pad(&b) {
                prop_assert_eq!(va.cmp(&vb), pad(&a).cmp(&pad(&b)));
            } else {
                // Same release: the candidate is older, candidates by number.
                let expect = match (ra, rb) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => x.cmp(&y),
                };
                prop_assert_eq!(va.cmp(&vb), expect);
            }
        }
    }
}
