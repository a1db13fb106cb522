//! How a policy reads a tag: a pattern with named groups cuts it into the version, an
//! optional build (`-2`, `-1.0`) and an optional variant (`-jre-17`, `ubuntu1404`) that a
//! bump keeps as it is, so that a JRE 17 image is never swapped for a JRE 11 one.

use std::cmp::Ordering;

use regex::Regex;

use super::version::{build_parts, Version};

/// The pattern used when a policy names none: `1.12.0`, `v1.6.352`, `1.12.0-rc10`,
/// `3.8.0-2` (build 2), `1.10.26-jre-17` (variant `-jre-17`).
pub const DEFAULT_PATTERN: &str = r"^v?(?P<version>[0-9]+(?:\.[0-9]+){2,}(?:-(?:rc|RC|alpha|beta|M)\.?[0-9]+)?)(?:-(?P<build>[0-9]+(?:\.[0-9]+)*))?(?P<variant>-[A-Za-z][A-Za-z0-9._-]*)?$";

/// The longest pattern accepted (a pattern is compiled on every scan and planning pass).
const MAX_PATTERN: usize = 1024;
/// Compiled size limit: patterns are user input.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A tag read by the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagVersion {
    /// The version group.
    pub version: Version,
    /// The build group's numbers (empty when absent).
    pub build: Vec<u64>,
    /// The variant group (empty when absent).
    pub variant: String,
}

impl TagVersion {
    /// Version first, then build.
    pub fn order(&self, other: &TagVersion) -> Ordering {
        self.version
            .cmp(&other.version)
            .then_with(|| self.build.cmp(&other.build))
    }
}

/// A compiled tag pattern.
#[derive(Debug, Clone)]
pub struct TagScheme {
    re: Regex,
}

/// Compiles a user's regular expression with a size limit; the error is for a person.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!("is longer than {MAX_PATTERN} characters"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // regex's message draws a caret under the pattern over several lines; keep the
            // line that says what is wrong.
            let text = e.to_string();
            let why = text
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .map_or_else(|| text.replace('\n', " "), str::to_string);
            format!("is not a valid regular expression ({why})")
        })
}

impl TagScheme {
    /// The scheme of `pattern`, or the default one; the pattern must have a `version` group.
    pub fn new(pattern: Option<&str>) -> Result<TagScheme, String> {
        let re = compile(pattern.unwrap_or(DEFAULT_PATTERN))?;
        if !re.capture_names().any(|n| n == Some("version")) {
            return Err("has no named group 'version', e.g. (?P<version>[0-9.]+)".into());
        }
        Ok(TagScheme { re })
    }

    /// Reads a tag; `None` when it does not match, or its version group names no exact
    /// release (`latest`, `3.8`).
    pub fn read(&self, tag: &str) -> Option<TagVersion> {
        let caps = self.re.captures(tag)?;
        let version = Version::parse(caps.name("version")?.as_str())?;
        let build = match caps.name("build") {
            Some(b) if !b.as_str().is_empty() => build_parts(b.as_str())?,
            _ => Vec::new(),
        };
        let variant = caps
            .name("variant")
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        Some(TagVersion {
            version,
            build,
            variant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(scheme: &TagScheme, t: &str) -> Option<(String, Vec<u64>, String)> {
        scheme
            .read(t)
            .map(|v| (v.version.to_string(), v.build, v.variant))
    }

    #[test]
    fn the_default_scheme_reads_the_common_shapes() {
        let s = TagScheme::new(None).unwrap();
        assert_eq!(
            read(&s, "1.12.0"),
            Some(("1.12.0".into(), vec![], "".into()))
        );
        assert_eq!(
            read(&s, "v1.6.352"),
            Some(("1.6.352".into(), vec![], "".into()))
        );
        assert_eq!(
            read(&s, "1.12.0-rc10"),
            Some(("1.12.0-rc10".into(), vec![], "".into()))
        );
        assert_eq!(
            read(&s, "3.8.0-2"),
            Some(("3.8.0".into(), vec![2], "".into()))
        );
        assert_eq!(
            read(&s, "1.10.26-jre-17"),
            Some(("1.10.26".into(), vec![], "-jre-17".into()))
        );
        for floating in ["latest", "3.8", "stable", "1", "broken", "1.12"] {
            assert_eq!(read(&s, floating), None, "{floating}");
        }
    }

    #[test]
    fn a_custom_pattern_reads_distribution_tags() {
        let s = TagScheme::new(Some(
            r"^(?P<version>\d+\.\d+\.\d+)-(?P<build>\d+\.\d+)\.(?P<variant>ubuntu\d+)$",
        ))
        .unwrap();
        assert_eq!(
            read(&s, "0.22.1-1.0.ubuntu1404"),
            Some(("0.22.1".into(), vec![1, 0], "ubuntu1404".into()))
        );
        let a = s.read("0.22.1-1.0.ubuntu1404").unwrap();
        let b = s.read("0.22.1-1.10.ubuntu1404").unwrap();
        assert_eq!(a.order(&b), Ordering::Less);
    }

    #[test]
    fn a_pattern_without_a_version_group_is_refused() {
        assert!(TagScheme::new(Some(r"^\d+$"))
            .unwrap_err()
            .contains("version"));
        assert!(TagScheme::new(Some("(")).is_err());
        assert!(TagScheme::new(Some(&"a".repeat(2000))).is_err());
    }
}
