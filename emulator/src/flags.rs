//! Flags as Mesos and Marathon take them: `--name=value` (or `--name value`) on the command
//! line, or `MESOS_NAME` / `MARATHON_NAME` in the environment; the command line wins. Names
//! that the component does not know are ignored, as Mesos silently ignores unknown
//! `MESOS_*` variables.

use std::collections::BTreeMap;
use std::time::Duration;

/// Parsed flags with defaults applied.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    values: BTreeMap<String, String>,
}

impl Flags {
    /// Reads `known` flags (name → default, None for no default) from `args` and the
    /// environment variables with `env_prefix`.
    pub fn parse(args: &[String], env_prefix: &str, known: &[(&str, Option<&str>)]) -> Flags {
        let mut values = BTreeMap::new();
        for (name, default) in known {
            if let Some(d) = default {
                values.insert(name.to_string(), d.to_string());
            }
            let env = format!("{env_prefix}{}", name.to_uppercase());
            if let Ok(v) = std::env::var(&env) {
                values.insert(name.to_string(), v);
            }
        }
        let mut i = 0;
        while i < args.len() {
            if let Some(rest) = args[i].strip_prefix("--") {
                let (name, value) = match rest.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (rest.to_string(), None),
                };
                let value = match value {
                    Some(v) => v,
                    None if i + 1 < args.len() && !args[i + 1].starts_with("--") => {
                        i += 1;
                        args[i].clone()
                    }
                    None => "true".into(),
                };
                let name = name.trim_start_matches("no-").to_string();
                if known.iter().any(|(k, _)| *k == name) {
                    values.insert(name, value);
                }
            }
            i += 1;
        }
        Flags { values }
    }

    /// A flag's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// All flags, for `/master/flags` and `state.flags` (values are strings there too).
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// A duration flag in Mesos syntax (`10secs`, `1mins`, `15secs`, `500ms`).
    pub fn duration(&self, name: &str) -> Option<Duration> {
        parse_duration(self.get(name)?)
    }
}

/// Mesos duration syntax.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "secs" | "sec" | "s" => n,
        "mins" | "min" | "m" => n * 60.0,
        "hrs" | "hr" | "h" => n * 3600.0,
        "days" | "day" | "d" => n * 86400.0,
        "weeks" | "week" | "w" => n * 604800.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// `zk://host:port,host:port/path` → ("host:port,host:port", "/path").
pub fn parse_zk_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("zk://")?;
    let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
    let (hosts, path) = rest.split_once('/')?;
    Some((
        hosts.to_string(),
        format!("/{}", path.trim_end_matches('/')),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_wins_and_unknown_names_are_ignored() {
        let args: Vec<String> = ["--quorum=2", "--bogus=1", "--port", "5055"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let f = Flags::parse(
            &args,
            "EMULATOR_TEST_",
            &[("quorum", None), ("port", Some("5050"))],
        );
        assert_eq!(f.get("quorum"), Some("2"));
        assert_eq!(f.get("port"), Some("5055"));
        assert_eq!(f.get("bogus"), None);
    }

    #[test]
    fn zk_urls_and_durations() {
        assert_eq!(
            parse_zk_url("zk://a:2181,b:2181/mesos"),
            Some(("a:2181,b:2181".into(), "/mesos".into()))
        );
        assert_eq!(parse_duration("1mins"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("15secs"), Some(Duration::from_secs(15)));
    }
}
