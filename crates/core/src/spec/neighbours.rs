//! Two clusters on the same machines: the ports their documents both bind.
//!
//! Validation looks at one document; this compares two. Every component runs with host
//! networking, so a port is the machine's: ZooKeeper's client port and Marathon's HTTP port
//! are bound on every address, the others on the host's address. Two documents' hosts are
//! the same machine when they have the same address or the same Docker endpoint (one engine,
//! one network namespace). A port both documents place on one machine can be held by only
//! one of them: the other's container cannot start, or, while the first is down for a
//! replacement, takes the port and keeps the first out.
//!
//! Pure: `apply` runs it against every other stored cluster before writing, and the
//! reconcile loop before planning (a document written straight into etcd is not checked by
//! `apply`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::document::{Host, MesosCluster};
use super::validate::{bound_ports, FieldError};

/// One port two clusters both bind on machines they share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConflict {
    /// The field of this document that sets the port, e.g. `spec.masters.port`.
    pub path: String,
    /// The port.
    pub port: u32,
    /// The other cluster.
    pub other: String,
    /// The field of the other document that sets the same port there.
    pub other_path: String,
    /// Where: this document's host, the other's host, and what makes them one machine
    /// (`address 10.0.0.2`, `Docker endpoint tcp://10.0.0.2:2376`).
    pub machines: Vec<SharedMachine>,
}

/// A host of this document and a host of another that are the same machine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SharedMachine {
    /// This document's host name.
    pub host: String,
    /// The other document's host name.
    pub other_host: String,
    /// What they share: `address A` or `Docker endpoint E`.
    pub shared: String,
}

impl PortConflict {
    /// The conflict as `apply` and the status report it: this document's field path, the
    /// other cluster and the fix.
    pub fn to_field_error(&self) -> FieldError {
        let wheres: Vec<String> = self
            .machines
            .iter()
            .map(|m| {
                if m.host == m.other_host {
                    format!("{} ({})", m.host, m.shared)
                } else {
                    format!("{} ({}, its {})", m.host, m.shared, m.other_host)
                }
            })
            .collect();
        FieldError {
            path: self.path.clone(),
            problem: format!(
                "port {} on {} is also {} of cluster {} on the same machine; with host networking only one of them can bind it",
                self.port,
                wheres.join(", "),
                self.other_path,
                self.other
            ),
            fix: format!(
                "set {} to a port cluster {} does not use on those hosts (or change its {}), or place the two clusters on different hosts",
                self.path, self.other, self.other_path
            ),
        }
    }
}

/// How a Docker endpoint is compared: `unix:///var/run/docker.sock/` and
/// `UNIX:///var/run/docker.sock` reach the same engine.
fn engine(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// What makes two hosts one machine, if anything.
fn same_machine(a: &Host, b: &Host) -> Option<String> {
    if a.address == b.address {
        Some(format!("address {}", a.address))
    } else if engine(&a.docker.endpoint) == engine(&b.docker.endpoint) {
        Some(format!("Docker endpoint {}", a.docker.endpoint))
    } else {
        None
    }
}

/// Every port `doc` and `other` both bind on a machine they share, one entry per pair of
/// fields, with every machine where it happens. Empty for the same cluster (same name):
/// a document does not conflict with its own stored version.
pub fn port_conflicts(doc: &MesosCluster, other: &MesosCluster) -> Vec<PortConflict> {
    if doc.metadata.name == other.metadata.name {
        return Vec::new();
    }
    let mine = bound_ports(doc);
    let theirs = bound_ports(other);
    let mut found: BTreeMap<(&'static str, &'static str, u32), Vec<SharedMachine>> =
        BTreeMap::new();
    for (host_name, ports) in &mine {
        let Some(host) = doc.host(host_name) else {
            continue;
        };
        for (other_name, other_ports) in &theirs {
            let Some(other_host) = other.host(other_name) else {
                continue;
            };
            let Some(shared) = same_machine(host, other_host) else {
                continue;
            };
            for (port, path) in ports {
                for (other_port, other_path) in other_ports {
                    if port == other_port {
                        found
                            .entry((*path, *other_path, *port))
                            .or_default()
                            .push(SharedMachine {
                                host: host.name.clone(),
                                other_host: other_host.name.clone(),
                                shared: shared.clone(),
                            });
                    }
                }
            }
        }
    }
    found
        .into_iter()
        .map(|((path, other_path, port), mut machines)| {
            machines.sort();
            machines.dedup();
            PortConflict {
                path: path.to_string(),
                port,
                other: other.metadata.name.clone(),
                other_path: other_path.to_string(),
                machines,
            }
        })
        .collect()
}

/// [`port_conflicts`] of `doc` with each of `others` (its own stored version, by name, is
/// left out), by other cluster and field.
pub fn conflicts_with_others<'a>(
    doc: &MesosCluster,
    others: impl IntoIterator<Item = &'a MesosCluster>,
) -> Vec<PortConflict> {
    let mut all: Vec<PortConflict> = others
        .into_iter()
        .flat_map(|o| port_conflicts(doc, o))
        .collect();
    all.sort_by(|a, b| {
        (&a.other, &a.path, &a.other_path, a.port).cmp(&(&b.other, &b.path, &b.other_path, b.port))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse_document, validate};

    const SEED: &str = include_str!("../../../../manifests/examples/cluster7.yaml");

    fn named(name: &str) -> MesosCluster {
        let mut d = parse_document(SEED).unwrap();
        d.metadata.name = name.into();
        d
    }

    /// The second cluster on the same hosts with every port moved: what the README's
    /// two-clusters setup looks like.
    fn moved(name: &str) -> MesosCluster {
        let mut d = named(name);
        let z = &mut d.spec.zookeeper;
        z.client_port = 2182;
        z.peer_port = 2889;
        z.election_port = 3889;
        z.admin_port = 8082;
        d.spec.masters.port = 5060;
        d.spec.agents.port = 5061;
        if let Some(m) = d.spec.marathon.as_mut() {
            m.port = 8090;
        }
        d
    }

    #[test]
    fn two_clusters_with_their_own_ports_on_the_same_hosts_do_not_conflict() {
        let a = named("one");
        let b = moved("two");
        assert!(validate(&b, None).is_ok());
        assert_eq!(port_conflicts(&a, &b), vec![]);
        assert_eq!(port_conflicts(&b, &a), vec![]);
    }

    #[test]
    fn the_same_master_port_on_the_same_address_names_the_field_the_other_cluster_and_the_fix() {
        let a = named("one");
        let mut b = moved("two");
        b.spec.masters.port = 5050;
        let c = port_conflicts(&b, &a);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].path, "spec.masters.port");
        assert_eq!(c[0].other, "one");
        assert_eq!(c[0].other_path, "spec.masters.port");
        assert_eq!(c[0].port, 5050);
        // Both place three masters on the same three hosts.
        assert_eq!(c[0].machines.len(), 3);
        let e = c[0].to_field_error();
        assert_eq!(e.path, "spec.masters.port");
        let text = e.to_string();
        assert!(text.contains("cluster one"), "{text}");
        assert!(text.contains("address 10.20.30.2"), "{text}");
        assert!(text.contains("set spec.masters.port to a port"), "{text}");
        // And the other way round, from the first cluster's side.
        let back = port_conflicts(&a, &b);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].other, "two");
    }

    #[test]
    fn different_fields_on_the_same_port_conflict_too() {
        // A second cluster whose Marathon listens where the first one's masters do.
        let a = named("one");
        let mut b = moved("two");
        b.spec.marathon.as_mut().unwrap().port = 5050;
        let c = port_conflicts(&b, &a);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(
            (c[0].path.as_str(), c[0].other_path.as_str()),
            ("spec.marathon.port", "spec.masters.port")
        );
        // One Marathon (on host1) meets the master there: one machine, not three.
        assert_eq!(c[0].machines.len(), 1);
        assert_eq!(c[0].machines[0].host, "host1");
    }

    #[test]
    fn every_zookeeper_port_counts() {
        let a = named("one");
        for (field, set) in [
            (
                "spec.zookeeper.clientPort",
                (|d: &mut MesosCluster| d.spec.zookeeper.client_port = 2181)
                    as fn(&mut MesosCluster),
            ),
            ("spec.zookeeper.peerPort", |d| {
                d.spec.zookeeper.peer_port = 2888
            }),
            ("spec.zookeeper.electionPort", |d| {
                d.spec.zookeeper.election_port = 3888
            }),
            ("spec.zookeeper.adminPort", |d| {
                d.spec.zookeeper.admin_port = 8081
            }),
            ("spec.agents.port", |d| d.spec.agents.port = 5051),
        ] {
            let mut b = moved("two");
            set(&mut b);
            let c = port_conflicts(&b, &a);
            assert_eq!(
                c.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
                vec![field]
            );
        }
    }

    #[test]
    fn hosts_with_other_addresses_and_engines_are_other_machines() {
        let a = named("one");
        let mut b = named("two");
        for (i, h) in b.spec.hosts.iter_mut().enumerate() {
            h.address = format!("10.99.0.{}", i + 2);
            h.docker.endpoint = format!("tcp://10.99.0.{}:2376", i + 2);
        }
        assert_eq!(port_conflicts(&b, &a), vec![]);
    }

    #[test]
    fn one_docker_engine_is_one_machine_whatever_the_addresses() {
        // Another address on the same engine: ZooKeeper and Marathon bind every address.
        let a = named("one");
        let mut b = named("two");
        for (i, h) in b.spec.hosts.iter_mut().enumerate() {
            h.address = format!("10.99.0.{}", i + 2);
        }
        let c = port_conflicts(&b, &a);
        assert!(!c.is_empty());
        assert!(c[0].machines[0]
            .shared
            .starts_with("Docker endpoint tcp://"));
    }

    #[test]
    fn a_cluster_does_not_conflict_with_its_own_stored_version() {
        let a = named("one");
        assert_eq!(port_conflicts(&a, &a.clone()), vec![]);
        assert_eq!(conflicts_with_others(&a, [&a]), vec![]);
    }

    #[test]
    fn conflicts_with_several_others_are_listed_by_cluster() {
        let a = named("one");
        let z = named("zed");
        let mut b = moved("two");
        b.spec.agents.port = 5051;
        let all = conflicts_with_others(&b, [&z, &a]);
        let who: Vec<&str> = all.iter().map(|c| c.other.as_str()).collect();
        assert_eq!(who, vec!["one", "zed"]);
    }
}
