//! Image references: `[registry/]repository[:tag][@algorithm:hex]`.
//!
//! Parsed by hand (the grammar is Docker's `reference` package) so that the core keeps no
//! dependency beyond serde, and so that an error can say which part is wrong.

use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `host[:port]`, when the reference names one.
    pub registry: Option<String>,
    /// `path/components`.
    pub repository: String,
    /// The tag, if any (`latest` is not assumed).
    pub tag: Option<String>,
    /// `sha256:...`, if any.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; the error says what is wrong in words a user can act on.
    pub fn parse(s: &str) -> Result<ImageRef, String> {
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.chars().any(|c| c.is_whitespace()) {
            return Err("contains white space".into());
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                check_digest(d)?;
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // The registry is the first component when it looks like a host: has a dot or a
        // port, or is `localhost`.
        let (registry, path_tag) = match rest.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                check_registry(first)?;
                (Some(first.to_string()), remainder)
            }
            _ => (None, rest),
        };
        let (repository, tag) = match path_tag.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t.to_string())),
            _ => (path_tag, None),
        };
        if repository.is_empty() {
            return Err("has no repository name".into());
        }
        for comp in repository.split('/') {
            check_path_component(comp)?;
        }
        if let Some(t) = &tag {
            check_tag(t)?;
        }
        Ok(ImageRef {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The reference with `registry` prefixed when it names none of its own.
    pub fn with_default_registry(&self, registry: Option<&str>) -> ImageRef {
        let mut r = self.clone();
        if r.registry.is_none() {
            r.registry = registry.map(str::to_string);
        }
        r
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Checks `host[:port]` of a registry.
pub fn check_registry(s: &str) -> Result<(), String> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
        _ => (s, None),
    };
    if host.is_empty() {
        return Err(format!("registry '{s}' has no host name"));
    }
    let host_ok = (host.starts_with('[') && host.ends_with(']'))
        || host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host_ok {
        return Err(format!("registry '{s}' is not a host name or address"));
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(format!("registry '{s}' has port '{p}', not 1..65535")),
        }
    }
    Ok(())
}

fn check_path_component(c: &str) -> Result<(), String> {
    let ok = !c.is_empty()
        && c.chars().all(|ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
        })
        && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        && c.ends_with(|ch: char| ch.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "repository component '{c}' must be lowercase letters, digits and . _ - (not at either end)"
        ))
    }
}

fn check_tag(t: &str) -> Result<(), String> {
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag '{t}' must be 1-128 of letters, digits, _ . - and not start with . or -"
        ))
    }
}

fn check_digest(d: &str) -> Result<(), String> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(format!(
            "digest '{d}' must look like sha256:<64 hex digits>"
        ));
    };
    let alg_ok = !alg.is_empty()
        && alg
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    if alg_ok && hex_ok && (alg != "sha256" || hex.len() == 64) {
        Ok(())
    } else {
        Err(format!(
            "digest '{d}' must look like sha256:<64 hex digits>"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forms_users_write() {
        for s in [
            "zookeeper:3.8.0",
            "mesos-master:1.12.0-rc1",
            "registry.local:5000/mesos-agent:1.11.0",
            "localhost/marathon",
            "10.0.0.1:5000/team/zookeeper:3.8.0-2",
            "mesosphere/mesos-master:0.22.1-1.0.ubuntu1404",
            "zk@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(ImageRef::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_malformed_references() {
        for s in [
            "",
            "Mesos:1",
            "mesos:",
            "mesos: 1",
            "mesos:-rc",
            "zk@sha256:abc",
            "registry.local:99999/zk:1",
            "/zk:1",
        ] {
            assert!(ImageRef::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn registry_prefix_applies_only_without_one() {
        let r = ImageRef::parse("zk:3.8.0").unwrap();
        assert_eq!(
            r.with_default_registry(Some("reg:5000")).to_string(),
            "reg:5000/zk:3.8.0"
        );
        let r = ImageRef::parse("other.io/zk:3.8.0").unwrap();
        assert_eq!(
            r.with_default_registry(Some("reg:5000")).to_string(),
            "other.io/zk:3.8.0"
        );
    }
}
