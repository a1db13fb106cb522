//! Configuration: Mesos-DNS's fields, as flags or `MESOS_DNS_*` environment variables (the
//! operator's containers are configured through their environment). `zk` is the only
//! source of masters: there is no static `masters` list to go stale.

use std::time::Duration;

use clap::Parser;
use serde_json::{json, Value};

/// DNS for Mesos: Mesos-DNS's naming contract served from the leading master.
#[derive(Debug, Clone, Parser)]
#[command(name = "mesos-dns", version)]
pub struct Config {
    /// The masters' election in ZooKeeper: `zk://host:port[,host:port...]/path`.
    #[arg(long, env = "MESOS_DNS_ZK")]
    pub zk: String,
    /// The domain served (`leader.<domain>`, `<task>.<framework>.<domain>`).
    #[arg(long, env = "MESOS_DNS_DOMAIN", default_value = "mesos")]
    pub domain: String,
    /// Address the DNS (UDP and TCP) and HTTP listeners bind.
    #[arg(long, env = "MESOS_DNS_LISTENER", default_value = "0.0.0.0")]
    pub listener: String,
    /// DNS port.
    #[arg(long, env = "MESOS_DNS_PORT", default_value_t = 53)]
    pub port: u16,
    /// HTTP API and metrics port.
    #[arg(
        long = "http-port",
        env = "MESOS_DNS_HTTP_PORT",
        default_value_t = 8123
    )]
    pub http_port: u16,
    /// How often the records are rebuilt from the leader.
    #[arg(
        long = "refresh-seconds",
        env = "MESOS_DNS_REFRESH_SECONDS",
        default_value_t = 60
    )]
    pub refresh_seconds: u64,
    /// TTL of the records served.
    #[arg(long, env = "MESOS_DNS_TTL", default_value_t = 60)]
    pub ttl: u32,
    /// Upstream servers (`ip` or `ip:port`, comma-separated) for names outside the domain.
    #[arg(long, env = "MESOS_DNS_RESOLVERS", value_delimiter = ',', num_args = 0..)]
    pub resolvers: Vec<String>,
    /// Seconds to wait for an upstream resolver.
    #[arg(long, env = "MESOS_DNS_TIMEOUT", default_value_t = 5)]
    pub timeout: u64,
    /// Seconds to wait for ZooKeeper and the leader's state in one refresh.
    #[arg(
        long = "state-timeout-seconds",
        env = "MESOS_DNS_STATE_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub state_timeout_seconds: u64,
    /// Labels must start with a letter (RFC 952).
    #[arg(
        long = "enforce-rfc952",
        env = "MESOS_DNS_ENFORCE_RFC952",
        default_value_t = false
    )]
    pub enforce_rfc952: bool,
}

/// A configuration field that cannot work, with what to write instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {problem}; {fix}")]
pub struct ConfigError {
    /// The flag (and environment variable) at fault.
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
    /// What to write instead.
    pub fix: &'static str,
}

/// `zk://h1:2181,h2:2181/mesos`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkUrl {
    /// `h1:2181,h2:2181`.
    pub servers: String,
    /// `/mesos`.
    pub path: String,
}

impl ZkUrl {
    /// Parses a `zk://` URL.
    pub fn parse(s: &str) -> Option<ZkUrl> {
        let rest = s.strip_prefix("zk://")?;
        let (servers, path) = rest.split_once('/')?;
        let ok = !servers.is_empty()
            && servers.split(',').all(|hp| {
                hp.rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            });
        let path = format!("/{}", path.trim_end_matches('/'));
        (ok && path.len() > 1).then(|| ZkUrl {
            servers: servers.to_string(),
            path,
        })
    }
}

impl Config {
    /// Checks every field; the first problem found.
    pub fn check(&self) -> Result<ZkUrl, ConfigError> {
        let zk = ZkUrl::parse(&self.zk).ok_or_else(|| ConfigError {
            field: "--zk (MESOS_DNS_ZK)",
            problem: format!("{:?} is not a ZooKeeper URL", self.zk),
            fix: "write zk://host:port[,host:port...]/path, e.g. zk://10.0.0.1:2181/mesos",
        })?;
        let domain_ok = !self.domain.is_empty()
            && self.domain.trim_end_matches('.').split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(ConfigError {
                field: "--domain (MESOS_DNS_DOMAIN)",
                problem: format!("{:?} is not a domain name", self.domain),
                fix: "use DNS labels of letters, digits and dashes, e.g. mesos",
            });
        }
        if self.refresh_seconds == 0 {
            return Err(ConfigError {
                field: "--refresh-seconds (MESOS_DNS_REFRESH_SECONDS)",
                problem: "0 never refreshes".into(),
                fix: "use 1 or more (Mesos-DNS's default is 60)",
            });
        }
        if self.timeout == 0 || self.state_timeout_seconds == 0 {
            return Err(ConfigError {
                field: "--timeout / --state-timeout-seconds",
                problem: "0 seconds cannot be waited for".into(),
                fix: "use 1 or more",
            });
        }
        if let Some(bad) = self.resolvers.iter().find(|r| resolver_addr(r).is_none()) {
            return Err(ConfigError {
                field: "--resolvers (MESOS_DNS_RESOLVERS)",
                problem: format!("{bad:?} is not an IP address"),
                fix: "list upstream servers as ip or ip:port, comma-separated",
            });
        }
        Ok(zk)
    }

    /// The refresh period.
    pub fn refresh(&self) -> Duration {
        Duration::from_secs(self.refresh_seconds)
    }

    /// Upstream resolvers as socket addresses (port 53 when none is given).
    pub fn resolver_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.resolvers
            .iter()
            .filter_map(|r| resolver_addr(r))
            .collect()
    }

    /// `/v1/config`: the configuration in Mesos-DNS's field names.
    pub fn to_json(&self) -> Value {
        json!({
            "Zk": self.zk, "Masters": Value::Null, "RefreshSeconds": self.refresh_seconds,
            "TTL": self.ttl, "Port": self.port, "Domain": self.domain,
            "Resolvers": self.resolvers, "Timeout": self.timeout,
            "StateTimeoutSeconds": self.state_timeout_seconds, "Listener": self.listener,
            "HTTPPort": self.http_port, "DnsOn": true, "HttpOn": true,
            "ExternalOn": !self.resolvers.is_empty(), "RecurseOn": !self.resolvers.is_empty(),
            "EnforceRFC952": self.enforce_rfc952, "IPSources": ["host"],
            // Never exits on a leaderless ZooKeeper: it keeps its last records.
            "ZkDetectionTimeout": 0,
        })
    }
}

fn resolver_addr(r: &str) -> Option<std::net::SocketAddr> {
    r.parse::<std::net::SocketAddr>()
        .ok()
        .or_else(|| Some(std::net::SocketAddr::new(r.parse().ok()?, 53)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        let mut v = vec!["mesos-dns"];
        v.extend_from_slice(args);
        Config::try_parse_from(v).unwrap()
    }

    #[test]
    fn a_zk_url_names_servers_and_the_election_path() {
        assert_eq!(
            ZkUrl::parse("zk://10.0.0.1:2181,10.0.0.2:2181/mesos"),
            Some(ZkUrl {
                servers: "10.0.0.1:2181,10.0.0.2:2181".into(),
                path: "/mesos".into()
            })
        );
        for bad in [
            "10.0.0.1:2181/mesos",
            "zk://10.0.0.1:2181",
            "zk://h/mesos",
            "zk:///mesos",
            "zk://h:1/",
        ] {
            assert_eq!(ZkUrl::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_fields_are_named_with_their_fix() {
        let e = cfg(&["--zk", "http://x"]).check().unwrap_err();
        assert!(e.to_string().contains("MESOS_DNS_ZK"), "{e}");
        let e = cfg(&["--zk", "zk://h:2181/mesos", "--domain", "a..b"])
            .check()
            .unwrap_err();
        assert!(e.field.contains("domain"), "{e}");
        let e = cfg(&["--zk", "zk://h:2181/mesos", "--resolvers", "8.8.8.8,nope"])
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
        let e = cfg(&["--zk", "zk://h:2181/mesos", "--refresh-seconds", "0"])
            .check()
            .unwrap_err();
        assert!(e.field.contains("refresh"), "{e}");
        let ok = cfg(&[
            "--zk",
            "zk://h:2181/mesos",
            "--resolvers",
            "8.8.8.8,1.1.1.1:5353",
        ]);
        assert!(ok.check().is_ok());
        assert_eq!(ok.resolver_addrs()[0].port(), 53);
        assert_eq!(ok.resolver_addrs()[1].port(), 5353);
        assert_eq!(ok.to_json()["Zk"], "zk://h:2181/mesos");
    }
}
