//! The versions a policy allows, written as people write them for npm and Cargo:
//! `>=1.11.0, <2.0.0`, `^1.11`, `~1.11.0`, `1.x`, `*`, alternatives joined by `||`.
//!
//! Comparison is [`Version`]'s order, so `<1.12.0` lets `1.12.0-rc1` through (it is older
//! than `1.12.0`); whether candidates are wanted at all is the policy's
//! `releaseCandidates`, not the range's business.

use super::version::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    version: Version,
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        match self.op {
            Op::Ge => v >= &self.version,
            Op::Gt => v > &self.version,
            Op::Le => v <= &self.version,
            Op::Lt => v < &self.version,
            Op::Eq => v == &self.version,
        }
    }
}

/// A parsed range: alternatives (`||`), each a conjunction of comparators (`,` or space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    any_of: Vec<Vec<Comparator>>,
}

impl VersionRange {
    /// Every version.
    pub fn any() -> VersionRange {
        VersionRange {
            any_of: vec![Vec::new()],
        }
    }

    /// Parses a range; the error says which part is wrong and what is accepted.
    pub fn parse(s: &str) -> Result<VersionRange, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("is empty; write e.g. '>=1.11.0, <2.0.0', '^1.11' or '*'".into());
        }
        let mut any_of = Vec::new();
        for alt in s.split("||") {
            let mut all = Vec::new();
            let alt = alt.trim();
            if alt.is_empty() {
                return Err(format!("'{s}' has an empty alternative around '||'"));
            }
            for term in alt.split([',', ' ']).filter(|t| !t.is_empty()) {
                all.extend(term_comparators(term)?);
            }
            any_of.push(all);
        }
        Ok(VersionRange { any_of })
    }

    /// Whether `v` is in the range.
    pub fn matches(&self, v: &Version) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|c| c.matches(v)))
    }
}

/// Numeric parts of a partial version (`1`, `1.11`, `1.x`, `1.11.*`); `None` for a wildcard.
fn partial(s: &str) -> Result<Vec<Option<u64>>, String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut out = Vec::new();
    for p in s.split('.') {
        match p {
            "x" | "X" | "*" => out.push(None),
            _ if !p.is_empty() && p.len() < 20 && p.bytes().all(|b| b.is_ascii_digit()) => {
                out.push(p.parse().ok())
            }
            _ => {
                return Err(format!(
                    "'{s}' is not a version (expected e.g. 1.11.0 or 1.x)"
                ))
            }
        }
    }
    if out.len() > 8 {
        return Err(format!("'{s}' has too many parts"));
    }
    Ok(out)
}

fn exact(parts: &[u64]) -> Version {
    let mut parts = parts.to_vec();
    while parts.len() < super::version::MIN_PARTS {
        parts.push(0);
    }
    Version {
        parts,
        pre: Vec::new(),
    }
}

/// The lowest version of a release line: `1.12.0-rc1` is inside `^1.12` and `>=1.12`.
fn floor(parts: &[u64]) -> Version {
    let mut v = exact(parts);
    v.pre = vec![super::version::PreId {
        label: String::new(),
        number: 0,
    }];
    v
}

/// The first version past the line `prefix` (`1.11` → `1.12.0-0`), for exclusive bounds.
fn next_line(prefix: &[u64]) -> Version {
    let mut p = prefix.to_vec();
    if let Some(last) = p.last_mut() {
        *last = last.saturating_add(1);
    }
    floor(&p)
}

fn term_comparators(term: &str) -> Result<Vec<Comparator>, String> {
    let c = |op, version| Comparator { op, version };
    let (op, rest) = [">=", "<=", ">", "<", "=", "^", "~"]
        .iter()
        .find_map(|o| term.strip_prefix(o).map(|r| (*o, r)))
        .unwrap_or(("", term));
    if rest == "*" && op.is_empty() {
        return Ok(Vec::new());
    }
    let (full, pre) = match rest.split_once('-') {
        Some((a, _)) => (a, true),
        None => (rest, false),
    };
    let parts = partial(full)?;
    let fixed: Vec<u64> = parts.iter().map_while(|p| *p).collect();
    let wild = fixed.len() < parts.len();
    if pre {
        // A bound with a pre-release: exact, e.g. `>=1.12.0-rc1`.
        let v = Version::parse(rest).ok_or_else(|| format!("'{rest}' is not a version"))?;
        let op = match op {
            ">=" => Op::Ge,
            ">" => Op::Gt,
            "<=" => Op::Le,
            "<" => Op::Lt,
            "=" | "" => Op::Eq,
            _ => return Err(format!("'{term}': use ^ and ~ with a release, e.g. ^1.12")),
        };
        return Ok(vec![c(op, v)]);
    }
    Ok(match op {
        ">=" => vec![c(Op::Ge, floor(&fixed))],
        ">" if wild || fixed.len() < 3 => vec![c(Op::Ge, next_line(&fixed))],
        ">" => vec![c(Op::Gt, exact(&fixed))],
        "<" => vec![c(Op::Lt, floor(&fixed))],
        "<=" if wild || fixed.len() < 3 => vec![c(Op::Lt, next_line(&fixed))],
        "<=" => vec![c(Op::Le, exact(&fixed))],
        "^" => {
            // Up to the next change of the first non-zero part (Cargo's caret).
            let keep = fixed
                .iter()
                .position(|p| *p != 0)
                .map_or(fixed.len(), |i| i + 1)
                .min(fixed.len().max(1));
            vec![
                c(Op::Ge, floor(&fixed)),
                c(Op::Lt, next_line(&fixed[..keep.min(fixed.len())])),
            ]
        }
        "~" => {
            let keep = if fixed.len() >= 2 { 2 } else { fixed.len() };
            vec![
                c(Op::Ge, floor(&fixed)),
                c(Op::Lt, next_line(&fixed[..keep])),
            ]
        }
        _ if fixed.is_empty() => Vec::new(),
        _ if wild || fixed.len() < 3 => {
            vec![c(Op::Ge, floor(&fixed)), c(Op::Lt, next_line(&fixed))]
        }
        _ => vec![c(Op::Eq, exact(&fixed))],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(range: &str, v: &str) -> bool {
        VersionRange::parse(range)
            .unwrap_or_else(|e| panic!("{range}: {e}"))
            .matches(&Version::parse(v).unwrap_or_else(|| panic!("{v}")))
    }

    #[test]
    fn comparators_and_conjunctions() {
        assert!(allows(">=1.11.0, <2.0.0", "1.11.0"));
        assert!(allows(">=1.11.0, <2.0.0", "1.12.0-rc10"));
        assert!(!allows(">=1.11.0, <2.0.0", "2.0.0"));
        assert!(!allows(">=1.11.0, <2.0.0", "1.10.9"));
        assert!(allows(">=1.11.0 <1.12.0", "1.11.7"));
        assert!(allows(">1.11.0", "1.11.1"));
        assert!(!allows(">1.11.0", "1.11.0"));
        assert!(allows("<=1.11", "1.11.9"));
        assert!(!allows("<=1.11", "1.12.0-rc1"));
        assert!(allows("=1.11.0 || =1.12.0", "1.12.0"));
        assert!(allows("*", "0.0.1"));
    }

    #[test]
    fn caret_tilde_and_wildcards() {
        assert!(allows("^1.11", "1.99.0"));
        assert!(!allows("^1.11", "2.0.0"));
        assert!(!allows("^1.11", "2.0.0-rc1"));
        assert!(allows("^1.11", "1.11.0"));
        assert!(allows("^0.22", "0.22.9"));
        assert!(!allows("^0.22", "0.23.0"));
        assert!(allows("~1.11.0", "1.11.5"));
        assert!(!allows("~1.11.0", "1.12.0"));
        assert!(allows("1.x", "1.12.0-rc1"));
        assert!(!allows("1.x", "2.0.0"));
        assert!(allows("1.11.*", "1.11.3"));
        assert!(allows("1.11.3", "1.11.3"));
        assert!(!allows("1.11.3", "1.11.4"));
        assert!(allows(">=1.12.0-rc5", "1.12.0-rc10"));
        assert!(!allows(">=1.12.0-rc5", "1.12.0-rc4"));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for r in ["", "abc", ">=1.a", "1.2 ||", "^1.2.3-rc1"] {
            assert!(VersionRange::parse(r).is_err(), "{r} must not parse");
        }
    }
}
