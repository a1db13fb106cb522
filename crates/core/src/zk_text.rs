//! What ZooKeeper's text answers mean: the `conf` and `srvr` four-letter words and the
//! `/zookeeper/config` node. Pure, so that they are fuzzed (`fuzz/`) and property-tested
//! here; the runtime's probes only fetch the text. Whatever a server (or something on its
//! port) answers, these return "unknown" rather than fail.

use std::collections::BTreeMap;

use crate::observed::{ZkConfig, ZkMode};

/// What `conf` says of the server itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZkConf {
    /// The id the server process runs as (`serverId=`).
    pub server_id: Option<u64>,
    /// The config version it reports (`version=`, hex).
    pub config_version: Option<u64>,
}

/// Reads `serverId=` and `version=` (hex) from a `conf` answer.
pub fn parse_conf(text: &str) -> ZkConf {
    let mut c = ZkConf::default();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("serverId=") {
            c.server_id = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("version=") {
            c.config_version = u64::from_str_radix(v, 16).ok();
        }
    }
    c
}

/// The mode a `srvr` answer reports; `Looking` for a server that says it is not serving.
pub fn parse_srvr_mode(text: &str) -> Option<ZkMode> {
    let mode = text
        .lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(|m| match m.trim() {
            "leader" | "standalone" => ZkMode::Leader,
            "follower" => ZkMode::Follower,
            "observer" => ZkMode::Observer,
            _ => ZkMode::Looking,
        });
    mode.or_else(|| {
        text.contains("not currently serving")
            .then_some(ZkMode::Looking)
    })
}

/// The committed config (`/zookeeper/config`): its version and voters by id, each named by
/// host (through `host_of`, address → host name) or else by the address the line gives;
/// with the address of every voter. `None` when there is no version line or a server line
/// is malformed (a config read half is no config).
pub fn parse_zk_config(
    text: &str,
    host_of: &BTreeMap<String, String>,
) -> Option<(ZkConfig, BTreeMap<u64, String>)> {
    let mut voters = BTreeMap::new();
    let mut addresses = BTreeMap::new();
    let mut version = None;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("version=") {
            version = u64::from_str_radix(v, 16).ok();
        } else if let Some(rest) = line.strip_prefix("server.") {
            let (id, spec) = rest.split_once('=')?;
            let id: u64 = id.parse().ok()?;
            let addr = spec.split(':').next()?.to_string();
            if spec.contains(":observer") {
                continue;
            }
            voters.insert(id, host_of.get(&addr).cloned().unwrap_or(addr.clone()));
            addresses.insert(id, addr);
        }
    }
    Some((
        ZkConfig {
            version: version?,
            voters,
        },
        addresses,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_config_is_read_with_voters_by_host_and_observers_left_out() {
        let host_of = BTreeMap::from([("10.0.0.1".to_string(), "h1".to_string())]);
        let text = "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                    server.2=10.0.0.9:2888:3888:participant;0.0.0.0:2181\n\
                    server.3=10.0.0.3:2888:3888:observer;0.0.0.0:2181\nversion=1a\n";
        let (cfg, addrs) = parse_zk_config(text, &host_of).unwrap();
        assert_eq!(cfg.version, 0x1a);
        assert_eq!(cfg.voters.get(&1).map(String::as_str), Some("h1"));
        assert_eq!(cfg.voters.get(&2).map(String::as_str), Some("10.0.0.9"));
        assert!(!cfg.voters.contains_key(&3));
        assert_eq!(addrs.len(), 2);
        assert_eq!(
            parse_zk_config("server.1=x\n", &host_of),
            None,
            "no version"
        );
        assert_eq!(
            parse_zk_config("server.x=10.0.0.1:2888\nversion=1\n", &host_of),
            None,
            "a malformed line"
        );
    }

    #[test]
    fn conf_and_srvr_answers_are_read() {
        let c = parse_conf("clientPort=2181\nserverId=3\nversion=100000002\n");
        assert_eq!(c.server_id, Some(3));
        assert_eq!(c.config_version, Some(0x1_0000_0002));
        assert_eq!(
            parse_srvr_mode("Zookeeper version: 3.8\nMode: follower\n"),
            Some(ZkMode::Follower)
        );
        assert_eq!(
            parse_srvr_mode("This ZooKeeper instance is not currently serving requests"),
            Some(ZkMode::Looking)
        );
        assert_eq!(parse_srvr_mode("garbage"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_a_zookeeper_parser(text in ".{0,400}", bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let host_of = BTreeMap::new();
            for t in [text.as_str(), &String::from_utf8_lossy(&bytes)] {
                let _ = parse_conf(t);
                let _ = parse_srvr_mode(t);
                let _ = parse_zk_config(t, &host_of);
            }
        }
    }
}
