//! Where a document sends each secret it names, and the scope a secret's owner gave it.
//!
//! Without scopes, any document can send any stored secret where it chooses: a Docker
//! client key to a host the author names, the ZooKeeper super password to addresses of the
//! author's choice, a credential into a container on any host. A scope, stored beside the
//! secret by whoever stores it (`secret set --clusters --uses --hosts`), says which clusters
//! may use it, for what, and towards which addresses; a document that names a secret outside
//! its scope is refused by `apply` and left alone by the operator, naming both. A secret
//! stored without a scope is usable as before (the README says so).
//!
//! Destinations are addresses, never host names: a name is the document author's to choose,
//! the address is where the bytes go.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::address::host_of;
use super::{FieldError, MesosCluster};

/// What a secret is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretUse {
    /// A Docker host's mutual TLS (`hosts[].docker.tls`: CA, client certificate and key).
    DockerTls,
    /// The registry's CA (`registryAccess.ca`).
    RegistryCa,
    /// Registry credentials (`registryAccess.credentials`).
    RegistryCredentials,
    /// The ZooKeeper super user (`zookeeper.superDigest`): its digest goes to every server,
    /// its password with every reconfiguration.
    ZookeeperDigest,
    /// A file put into components' containers (`secretFiles`).
    ComponentFile,
    /// The operator's HTTP Basic credentials (`httpCredentials`), sent to the masters and
    /// Marathon.
    HttpCredentials,
    /// The backup store's keys (`backup.target.s3.credentials`), sent to its endpoint.
    BackupCredentials,
}

impl SecretUse {
    /// Every use, in the order they are listed.
    pub const ALL: [SecretUse; 7] = [
        SecretUse::DockerTls,
        SecretUse::RegistryCa,
        SecretUse::RegistryCredentials,
        SecretUse::ZookeeperDigest,
        SecretUse::ComponentFile,
        SecretUse::HttpCredentials,
        SecretUse::BackupCredentials,
    ];

    /// The name on the command line and in the stored scope.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretUse::DockerTls => "docker-tls",
            SecretUse::RegistryCa => "registry-ca",
            SecretUse::RegistryCredentials => "registry-credentials",
            SecretUse::ZookeeperDigest => "zookeeper-digest",
            SecretUse::ComponentFile => "component-file",
            SecretUse::HttpCredentials => "http-credentials",
            SecretUse::BackupCredentials => "backup-credentials",
        }
    }
}

impl fmt::Display for SecretUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecretUse {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecretUse::ALL
            .into_iter()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = SecretUse::ALL.iter().map(|u| u.as_str()).collect();
                format!("'{s}' is not a secret use; use one of {}", all.join(", "))
            })
    }
}

/// One place where a document uses a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSite {
    /// The secret's name.
    pub secret: String,
    /// What for.
    pub used_for: SecretUse,
    /// The document field naming it.
    pub path: String,
    /// The addresses the secret (or what is derived from it) travels to.
    pub destinations: Vec<String>,
}

/// Every address of the document's hosts: where component files and the ZooKeeper digest
/// may go (placement is the planner's; every host of the document is the bound).
fn every_address(doc: &MesosCluster) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for h in &doc.spec.hosts {
        for a in [h.address.clone(), host_of(&h.docker.endpoint)] {
            if !a.is_empty() && !v.contains(&a) {
                v.push(a);
            }
        }
    }
    v
}

/// Every use of a secret in the document, with its field and destinations.
pub fn secret_sites(doc: &MesosCluster) -> Vec<SecretSite> {
    let s = &doc.spec;
    let mut sites = Vec::new();
    for (i, h) in s.hosts.iter().enumerate() {
        if let Some(tls) = &h.docker.tls {
            let to = vec![host_of(&h.docker.endpoint)];
            for (field, secret) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
                sites.push(SecretSite {
                    secret: secret.clone(),
                    used_for: SecretUse::DockerTls,
                    path: format!("spec.hosts[{i}].docker.tls.{field}"),
                    destinations: to.clone(),
                });
            }
        }
    }
    if let Some(ra) = &s.registry_access {
        // The registries the operator asks for tags: each component image's (the
        // document's `registry` where an image names none), and the token realms it trusts.
        let mut to: Vec<String> = Vec::new();
        for c in crate::spec::Component::ALL {
            let image = doc.image(c).unwrap_or_default();
            let Ok(r) = crate::spec::image::ImageRef::parse(image) else {
                continue;
            };
            if let Some(reg) = r.with_default_registry(s.registry.as_deref()).registry {
                let h = host_of(&reg);
                if !to.contains(&h) {
                    to.push(h);
                }
            }
        }
        let mut realms = to.clone();
        realms.extend(ra.token_realms.iter().cloned());
        if let Some(ca) = &ra.ca {
            sites.push(SecretSite {
                secret: ca.secret.clone(),
                used_for: SecretUse::RegistryCa,
                path: "spec.registryAccess.ca".into(),
                destinations: to.clone(),
            });
        }
        if let Some(c) = &ra.credentials {
            sites.push(SecretSite {
                secret: c.secret.clone(),
                used_for: SecretUse::RegistryCredentials,
                path: "spec.registryAccess.credentials".into(),
                destinations: realms,
            });
        }
    }
    let all = every_address(doc);
    if let Some(d) = &s.zookeeper.super_digest {
        sites.push(SecretSite {
            secret: d.secret.clone(),
            used_for: SecretUse::ZookeeperDigest,
            path: "spec.zookeeper.superDigest".into(),
            destinations: all.clone(),
        });
    }
    if let Some(c) = &s.http_credentials {
        // Masters and Marathon may run on any host of the document: every address is the
        // bound, as for the ZooKeeper digest.
        sites.push(SecretSite {
            secret: c.secret.clone(),
            used_for: SecretUse::HttpCredentials,
            path: "spec.httpCredentials".into(),
            destinations: all.clone(),
        });
    }
    if let Some(s3) = s.backup.as_ref().and_then(|b| b.target.s3.as_ref()) {
        let to = match &s3.endpoint {
            Some(url) => host_of(url),
            None => format!("s3.{}.amazonaws.com", s3.region),
        };
        sites.push(SecretSite {
            secret: s3.credentials.secret.clone(),
            used_for: SecretUse::BackupCredentials,
            path: "spec.backup.target.s3.credentials".into(),
            destinations: vec![to],
        });
    }
    let files = [
        ("masters", &s.masters.secret_files),
        ("agents", &s.agents.secret_files),
    ]
    .into_iter()
    .chain(s.marathon.iter().map(|m| ("marathon", &m.secret_files)));
    for (component, list) in files {
        for (i, f) in list.iter().enumerate() {
            sites.push(SecretSite {
                secret: f.secret.clone(),
                used_for: SecretUse::ComponentFile,
                path: format!("spec.{component}.secretFiles[{i}]"),
                destinations: all.clone(),
            });
        }
    }
    sites
}

/// Which clusters may use a secret, for what, and towards which addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretScope {
    /// Cluster names; `*` for any.
    pub clusters: Vec<String>,
    /// Uses.
    pub uses: Vec<SecretUse>,
    /// Addresses (IP or DNS name, as the document writes them) the secret may travel to;
    /// empty for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

impl SecretScope {
    /// Why `site` of `cluster` is outside the scope, if it is.
    pub fn refuses(&self, cluster: &str, site: &SecretSite) -> Option<String> {
        if !self.clusters.iter().any(|c| c == "*" || c == cluster) {
            return Some(format!("it serves clusters {}", self.clusters.join(", ")));
        }
        if !self.uses.contains(&site.used_for) {
            let uses: Vec<&str> = self.uses.iter().map(|u| u.as_str()).collect();
            return Some(format!(
                "it serves {} (this field uses it as {})",
                uses.join(", "),
                site.used_for
            ));
        }
        if self.hosts.is_empty() {
            return None;
        }
        let outside: Vec<&str> = site
            .destinations
            .iter()
            .filter(|d| !self.hosts.contains(d))
            .map(String::as_str)
            .collect();
        (!outside.is_empty()).then(|| {
            format!(
                "it may go to {} only, and this field sends it to {}",
                self.hosts.join(", "),
                outside.join(", ")
            )
        })
    }

    /// A one-line summary, as `secret list` shows it.
    pub fn summary(&self) -> String {
        let uses: Vec<&str> = self.uses.iter().map(|u| u.as_str()).collect();
        let mut s = format!(
            "clusters {}; uses {}",
            self.clusters.join(","),
            uses.join(",")
        );
        if !self.hosts.is_empty() {
            s.push_str(&format!("; hosts {}", self.hosts.join(",")));
        }
        s
    }
}

/// The fields of `doc` that use a secret outside its scope (secrets without a scope are
/// usable anywhere).
pub fn scope_errors(doc: &MesosCluster, scopes: &BTreeMap<String, SecretScope>) -> Vec<FieldError> {
    let cluster = &doc.metadata.name;
    secret_sites(doc)
        .into_iter()
        .filter_map(|site| {
            let scope = scopes.get(&site.secret)?;
            let why = scope.refuses(cluster, &site)?;
            Some(FieldError {
                path: site.path.clone(),
                problem: format!(
                    "secret {} is outside its scope for cluster {cluster}: {why}",
                    site.secret
                ),
                fix: format!(
                    "name a secret meant for this use, or widen its scope with `mesos-operator secret scope {} --clusters ... --uses {} [--hosts ...]` (its owner's decision)",
                    site.secret, site.used_for
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_document;

    fn seed() -> MesosCluster {
        parse_document(include_str!("../../../../manifests/examples/cluster7.yaml")).unwrap()
    }

    fn scope(clusters: &[&str], uses: &[SecretUse], hosts: &[&str]) -> SecretScope {
        SecretScope {
            clusters: clusters.iter().map(|s| s.to_string()).collect(),
            uses: uses.to_vec(),
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn every_secret_of_the_seed_is_found_with_its_field_and_destination() {
        let sites = secret_sites(&seed());
        let key1 = sites
            .iter()
            .find(|s| s.path == "spec.hosts[0].docker.tls.key")
            .unwrap();
        assert_eq!(key1.secret, "host1-client-key");
        assert_eq!(key1.used_for, SecretUse::DockerTls);
        assert_eq!(key1.destinations, ["10.20.30.2"]);
        let zk = sites.iter().find(|s| s.secret == "zk-super").unwrap();
        assert_eq!(zk.used_for, SecretUse::ZookeeperDigest);
        assert_eq!(zk.destinations, ["10.20.30.2", "10.20.30.3", "10.20.30.4"]);
    }

    #[test]
    fn a_secret_without_a_scope_is_usable_and_one_with_a_matching_scope_too() {
        let doc = seed();
        assert!(scope_errors(&doc, &BTreeMap::new()).is_empty());
        let mut scopes = BTreeMap::new();
        scopes.insert(
            "host1-client-key".to_string(),
            scope(&["cluster7"], &[SecretUse::DockerTls], &["10.20.30.2"]),
        );
        scopes.insert(
            "zk-super".to_string(),
            scope(&["*"], &[SecretUse::ZookeeperDigest], &[]),
        );
        assert!(scope_errors(&doc, &scopes).is_empty());
    }

    #[test]
    fn another_cluster_another_use_or_another_address_is_refused_naming_the_field_and_secret() {
        let mut doc = seed();
        let mut scopes = BTreeMap::new();
        scopes.insert(
            "host1-client-key".to_string(),
            scope(&["prod"], &[SecretUse::DockerTls], &[]),
        );
        let e = scope_errors(&doc, &scopes);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "spec.hosts[0].docker.tls.key");
        assert!(e[0].problem.contains("host1-client-key") && e[0].problem.contains("prod"));

        // The Docker client key sent to an address of the author's choice.
        scopes.insert(
            "host1-client-key".to_string(),
            scope(&["cluster7"], &[SecretUse::DockerTls], &["10.20.30.2"]),
        );
        doc.spec.hosts[0].docker.endpoint = "tcp://203.0.113.9:2376".into();
        let e = scope_errors(&doc, &scopes);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].problem.contains("203.0.113.9"), "{}", e[0].problem);

        // The key used as a component file: another use.
        let mut doc = seed();
        doc.spec.masters.secret_files.push(crate::spec::SecretFile {
            secret: "host1-client-key".into(),
            path: "/etc/mesos/stolen".into(),
        });
        let e = scope_errors(&doc, &scopes);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].path, "spec.masters.secretFiles[0]");
        assert!(e[0].problem.contains("component-file"), "{}", e[0].problem);
    }

    /// Issue 23: the HTTP credentials go to every address of the document, as
    /// `http-credentials`; a scope for another use or narrower addresses refuses them.
    #[test]
    fn http_credentials_are_a_use_of_their_own_towards_every_address() {
        let mut doc = seed();
        doc.spec.http_credentials = Some(crate::spec::SecretRef {
            secret: "mesos-http".into(),
        });
        let sites = secret_sites(&doc);
        let site = sites.iter().find(|s| s.secret == "mesos-http").unwrap();
        assert_eq!(site.used_for, SecretUse::HttpCredentials);
        assert_eq!(site.path, "spec.httpCredentials");
        assert_eq!(
            site.destinations,
            ["10.20.30.2", "10.20.30.3", "10.20.30.4"]
        );
        let mut scopes = BTreeMap::new();
        scopes.insert(
            "mesos-http".to_string(),
            scope(&["cluster7"], &[SecretUse::HttpCredentials], &[]),
        );
        assert!(scope_errors(&doc, &scopes).is_empty());
        scopes.insert(
            "mesos-http".to_string(),
            scope(&["cluster7"], &[SecretUse::ComponentFile], &[]),
        );
        let e = scope_errors(&doc, &scopes);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].path, "spec.httpCredentials");
        assert!(
            e[0].problem.contains("http-credentials"),
            "{}",
            e[0].problem
        );
        scopes.insert(
            "mesos-http".to_string(),
            scope(
                &["cluster7"],
                &[SecretUse::HttpCredentials],
                &["10.20.30.2"],
            ),
        );
        let e = scope_errors(&doc, &scopes);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].problem.contains("10.20.30.3"), "{}", e[0].problem);
    }

    #[test]
    fn uses_read_back_from_their_names_and_a_wrong_name_lists_them() {
        for u in SecretUse::ALL {
            assert_eq!(u.as_str().parse::<SecretUse>(), Ok(u));
        }
        let e = "docker".parse::<SecretUse>().unwrap_err();
        assert!(
            e.contains("docker-tls") && e.contains("component-file"),
            "{e}"
        );
    }
}
