//! Validation: every problem of a document in one pass, each with its field path, what is
//! wrong and how to fix it.
//!
//! Reporting all problems at once matters for automation that writes documents: one round
//! trip shows everything, instead of a fix-and-retry loop one error at a time. Validation is
//! pure and also runs in the operator on specs written to etcd without the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use super::document::*;
use super::{duration, image::check_registry, image::ImageRef};

/// One problem in a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// Dotted path, e.g. `spec.masters.count`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; {}", self.path, self.problem, self.fix)
    }
}

/// Most voters/masters we accept: beyond 7 every write waits on more peers for no gain.
pub const MAX_QUORUM_MEMBERS: u32 = 7;

/// Environment variables the operator sets on masters; users may not override them.
pub const MANAGED_MASTER_ENV: &[&str] = &[
    "MESOS_ZK",
    "MESOS_QUORUM",
    "MESOS_IP",
    "MESOS_PORT",
    "MESOS_HOSTNAME",
    "MESOS_WORK_DIR",
    "MESOS_CLUSTER",
    "MESOS_LOG_DIR",
    "MESOS_ADVERTISE_IP",
    "MESOS_ADVERTISE_PORT",
];

/// Environment variables the operator sets on agents.
pub const MANAGED_AGENT_ENV: &[&str] = &[
    "MESOS_MASTER",
    "MESOS_IP",
    "MESOS_PORT",
    "MESOS_HOSTNAME",
    "MESOS_WORK_DIR",
    "MESOS_LOG_DIR",
    "MESOS_CONTAINERIZERS",
    "MESOS_ISOLATION",
    "MESOS_EXECUTOR_REGISTRATION_TIMEOUT",
    "MESOS_DOCKER_MESOS_IMAGE",
    "MESOS_RECOVER",
    "MESOS_ADVERTISE_IP",
    "MESOS_ADVERTISE_PORT",
];

/// Environment variables the operator sets on Marathon.
pub const MANAGED_MARATHON_ENV: &[&str] = &[
    "MARATHON_MASTER",
    "MARATHON_ZK",
    "MARATHON_HTTP_PORT",
    "MARATHON_HOSTNAME",
    "MARATHON_HA",
    "MARATHON_DISABLE_HA",
];

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, path: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            problem: problem.into(),
            fix: fix.into(),
        });
    }
}

/// Validates a document. `previous` is the spec stored now, if any: some changes are
/// only wrong relative to it (growing masters from 1 wipes the Mesos registry).
pub fn validate(
    doc: &MesosCluster,
    previous: Option<&MesosCluster>,
) -> Result<(), Vec<FieldError>> {
    let mut e = Errors(Vec::new());
    header(doc, &mut e);
    let host_names = hosts(doc, &mut e);
    if let Some(r) = &doc.spec.registry {
        if let Err(msg) = check_registry(r) {
            e.add(
                "spec.registry",
                msg,
                "write host[:port], e.g. registry.local:5000",
            );
        }
    }
    zookeeper(doc, &host_names, &mut e);
    if let Some(prev) = previous {
        zookeeper_moved(doc, prev, &host_names, &mut e);
    }
    masters(doc, &host_names, previous, &mut e);
    agents(doc, &host_names, &mut e);
    marathon(doc, &host_names, &mut e);
    dns(doc, &host_names, &mut e);
    load_balancer(doc, &host_names, &mut e);
    rollout(doc, &mut e);
    auto_update(doc, &mut e);
    secrets_in_containers(doc, &mut e);
    http_credentials(doc, &mut e);
    backup(doc, &mut e);
    ports(doc, &mut e);
    if e.0.is_empty() {
        Ok(())
    } else {
        Err(e.0)
    }
}

/// `[a-z0-9]([a-z0-9-]*[a-z0-9])?`, at most `max` characters.
pub fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn header(doc: &MesosCluster, e: &mut Errors) {
    if doc.api_version != API_VERSION {
        e.add(
            "apiVersion",
            format!("'{}' is not supported", doc.api_version),
            format!("write apiVersion: {API_VERSION}"),
        );
    }
    if doc.kind != KIND {
        e.add(
            "kind",
            format!("'{}' is not supported", doc.kind),
            format!("write kind: {KIND}"),
        );
    }
    if !is_dns_label(&doc.metadata.name, 40) {
        e.add(
            "metadata.name",
            format!("'{}' is not a DNS label of 1-40 characters", doc.metadata.name),
            "use lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. cluster7",
        );
    }
    // Containers are named `<cluster>-<role>-<host>`. A Mesos agent treats every container
    // named `mesos-*` as an orphan of its own and kills it when it recovers, so a cluster
    // named `mesos` or `mesos-...` would have its ZooKeeper and masters killed by its agents.
    if doc.metadata.name == "mesos" || doc.metadata.name.starts_with("mesos-") {
        e.add(
            "metadata.name",
            format!(
                "'{}' gives the cluster's containers names starting with mesos-, which Mesos agents kill as orphaned executor containers on recovery",
                doc.metadata.name
            ),
            "choose a name that does not start with 'mesos-' (e.g. prod-mesos or cluster7)",
        );
    }
}

/// Validates hosts; returns the set of names for placement checks.
fn hosts(doc: &MesosCluster, e: &mut Errors) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut addrs: BTreeMap<String, usize> = BTreeMap::new();
    if doc.spec.hosts.is_empty() {
        e.add("spec.hosts", "is empty", "list at least one Docker host");
    }
    for (i, h) in doc.spec.hosts.iter().enumerate() {
        let p = format!("spec.hosts[{i}]");
        if !is_dns_label(&h.name, 63) {
            e.add(
                format!("{p}.name"),
                format!("'{}' is not a DNS label", h.name),
                "use lowercase letters, digits and '-', e.g. host1",
            );
        }
        if !names.insert(h.name.clone()) {
            e.add(
                format!("{p}.name"),
                format!("'{}' is used by another host", h.name),
                "give every host a unique name",
            );
        }
        match h.address.parse::<IpAddr>() {
            Ok(ip) => {
                if let Some(j) = addrs.insert(ip.to_string(), i) {
                    e.add(
                        format!("{p}.address"),
                        format!("{} is also the address of spec.hosts[{j}]", h.address),
                        "give every host its own address",
                    );
                }
                if ip.is_unspecified() {
                    e.add(
                        format!("{p}.address"),
                        format!("{} cannot be advertised to peers", h.address),
                        "use the host's own IP address",
                    );
                } else if ip.is_ipv6() {
                    // Every `address:port` the operator and the components write (ZooKeeper's
                    // server lines and connection string, Mesos' --ip/--advertise_ip, probe
                    // URLs) is unbracketed; refused rather than half working.
                    e.add(
                        format!("{p}.address"),
                        format!(
                            "{} is an IPv6 address; IPv6 hosts are not supported",
                            h.address
                        ),
                        "give the host's IPv4 address",
                    );
                }
            }
            Err(_) => e.add(
                format!("{p}.address"),
                format!("'{}' is not an IP address", h.address),
                "write the IP address components bind to and advertise, e.g. 10.20.30.2",
            ),
        }
        docker_endpoint(&p, &h.docker, e);
        for (j, name) in h.ignore_preflight.iter().enumerate() {
            if crate::preflight::Check::parse(name).is_none() {
                e.add(
                    format!("{p}.ignorePreflight[{j}]"),
                    format!("'{name}' is not a preflight check"),
                    format!(
                        "use one of {}",
                        crate::preflight::Check::ALL.map(|c| c.as_str()).join(", ")
                    ),
                );
            }
        }
    }
    names
}

fn docker_endpoint(p: &str, d: &DockerEndpoint, e: &mut Errors) {
    let ep = format!("{p}.docker.endpoint");
    if let Some(path) = d.endpoint.strip_prefix("unix://") {
        if !path.starts_with('/') {
            e.add(
                &ep,
                format!("'{}' has no absolute socket path", d.endpoint),
                "write unix:///var/run/docker.sock",
            );
        }
        if d.tls.is_some() {
            e.add(
                format!("{p}.docker.tls"),
                "TLS does not apply to a unix socket",
                "remove tls, or use a tcp:// endpoint",
            );
        }
        if d.insecure {
            e.add(
                format!("{p}.docker.insecure"),
                "insecure does not apply to a unix socket",
                "remove insecure",
            );
        }
    } else if let Some(hp) = d.endpoint.strip_prefix("tcp://") {
        let ok = hp
            .rsplit_once(':')
            .map(|(h, port)| !h.is_empty() && matches!(port.parse::<u16>(), Ok(n) if n > 0))
            .unwrap_or(false);
        if !ok {
            e.add(
                &ep,
                format!("'{}' is not tcp://HOST:PORT", d.endpoint),
                "write e.g. tcp://10.20.30.2:2376",
            );
        }
        match (&d.tls, d.insecure) {
            (None, false) => e.add(
                format!("{p}.docker.tls"),
                "a tcp:// endpoint without TLS lets anyone on the network run containers as root",
                "add tls: {ca: SECRET, cert: SECRET, key: SECRET}, or say insecure: true if you really mean plain TCP",
            ),
            (Some(_), true) => e.add(
                format!("{p}.docker.insecure"),
                "insecure: true contradicts tls",
                "remove one of tls and insecure",
            ),
            _ => {}
        }
        if let Some(t) = &d.tls {
            secret_name(&format!("{p}.docker.tls.ca"), &t.ca, e);
            secret_name(&format!("{p}.docker.tls.cert"), &t.cert, e);
            secret_name(&format!("{p}.docker.tls.key"), &t.key, e);
        }
    } else {
        e.add(
            ep,
            format!("'{}' has an unsupported scheme", d.endpoint),
            "use unix:///var/run/docker.sock or tcp://HOST:2376 with tls",
        );
    }
}

/// A secret's name: lowercase letters, digits, `-`, `.`, `_`, at most 253, and not only dots
/// (with `run --secrets-dir DIR` a secret is the file `DIR/<name>`, so `..` would name the
/// parent directory).
pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'))
        && !name.chars().all(|c| c == '.')
}

fn secret_name(path: &str, name: &str, e: &mut Errors) {
    if name.contains("-----BEGIN") || name.contains('\n') || name.len() > 253 {
        e.add(
            path,
            "holds key material inline; documents are stored and shown in plain text",
            "store it with `mesos-operator secret set NAME --from-file FILE` and write its NAME here",
        );
    } else if !is_secret_name(name) {
        e.add(
            path,
            format!("'{name}' is not a secret name"),
            "use lowercase letters, digits, '-', '.', '_' (the name given to `secret set`)",
        );
    }
}

fn image(path: &str, s: &str, e: &mut Errors) {
    if let Err(msg) = ImageRef::parse(s) {
        e.add(
            path,
            format!("image reference '{s}' {msg}"),
            "write [registry/]repository:tag, e.g. mesos-master:1.11.0 or registry.local:5000/zookeeper:3.8.0",
        );
    }
}

fn port(path: &str, p: u32, e: &mut Errors) {
    if !(1..=65535).contains(&p) {
        e.add(path, format!("{p} is not a port"), "use a port in 1..65535");
    }
}

/// Checks a placement list; returns how many hosts are eligible.
fn placement(
    path: &str,
    list: Option<&Vec<String>>,
    names: &BTreeSet<String>,
    e: &mut Errors,
) -> usize {
    match list {
        None => names.len(),
        Some(l) => {
            let mut seen = BTreeSet::new();
            for (i, n) in l.iter().enumerate() {
                if !names.contains(n) {
                    e.add(
                        format!("{path}[{i}]"),
                        format!("'{n}' is not a host in spec.hosts"),
                        "name a host listed in spec.hosts",
                    );
                }
                if !seen.insert(n) {
                    e.add(
                        format!("{path}[{i}]"),
                        format!("'{n}' is listed twice"),
                        "list each host once",
                    );
                }
            }
            seen.len()
        }
    }
}

fn env(path: &str, env: &BTreeMap<String, String>, managed: &[&str], prefix: &str, e: &mut Errors) {
    for (k, v) in env {
        let p = format!("{path}.{k}");
        let name_ok = !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit());
        if !name_ok {
            e.add(
                &p,
                format!("'{k}' is not an environment variable name"),
                "use letters, digits and _",
            );
            continue;
        }
        if managed.contains(&k.as_str()) {
            e.add(
                &p,
                format!("{k} is managed by the operator (derived from the document)"),
                format!("remove it; the operator sets {}", managed.join(", ")),
            );
        } else if k == "MESOS_ISOLATOR" {
            e.add(
                &p,
                "Mesos has no flag 'isolator' and silently ignores MESOS_ISOLATOR",
                "set spec.agents.isolation instead",
            );
        } else if !k.starts_with(prefix) {
            e.add(
                &p,
                format!("{k} is not a {prefix}* flag"),
                format!("only {prefix}* variables configure this component; rename or remove it"),
            );
        }
        if v.contains("-----BEGIN") {
            e.add(
                &p,
                "holds key material; container environments are visible to `docker inspect`",
                "store it with `mesos-operator secret set` instead",
            );
        }
    }
}

/// Every host of the previous document's ensemble gone from `spec.hosts` at once: the
/// operator could not see the old ensemble any more and would start a second, empty one
/// beside it. Its servers move one at a time while both old and new hosts are listed.
fn zookeeper_moved(
    doc: &MesosCluster,
    prev: &MesosCluster,
    names: &BTreeSet<String>,
    e: &mut Errors,
) {
    let old: Vec<&str> = prev
        .zookeeper_hosts()
        .into_iter()
        .map(|h| h.name.as_str())
        .collect();
    let kept: Vec<&str> = old.iter().copied().filter(|h| names.contains(*h)).collect();
    if doc.spec.zookeeper.accept_new_ensemble && !old.is_empty() && !kept.is_empty() {
        // The acceptance is for the one apply that moves every host at once. Left set, it
        // would start a second empty ensemble without a word the next time the ensemble is
        // out of sight (the issue 22 review: it stayed set).
        e.add(
            "spec.zookeeper.acceptNewEnsemble",
            format!(
                "is set, but this document keeps hosts of the running ZooKeeper ensemble ({}): it accepts a new, empty ensemble only in the apply that moves every ZooKeeper host at once, and left set it would accept another one later without a word",
                kept.join(", ")
            ),
            "set spec.zookeeper.acceptNewEnsemble to false (or remove it) once the new ensemble runs",
        );
        return;
    }
    if old.is_empty() || !kept.is_empty() || doc.spec.zookeeper.accept_new_ensemble {
        return;
    }
    e.add(
        "spec.hosts",
        format!(
            "none of the hosts that run the ZooKeeper ensemble ({}) is kept: the operator would lose sight of it and start a new, empty ensemble beside it, without Marathon's apps or the Mesos election",
            old.join(", ")
        ),
        "keep the old ZooKeeper hosts in spec.hosts while the new ones join (the servers move one at a time), or set spec.zookeeper.acceptNewEnsemble: true to start a new, empty ensemble",
    );
}

fn zookeeper(doc: &MesosCluster, names: &BTreeSet<String>, e: &mut Errors) {
    let z = &doc.spec.zookeeper;
    image("spec.zookeeper.image", &z.image, e);
    let eligible = placement("spec.zookeeper.hosts", z.hosts.as_ref(), names, e);
    if !(1..=MAX_QUORUM_MEMBERS).contains(&z.servers) {
        e.add(
            "spec.zookeeper.servers",
            format!("{} is outside 1..{MAX_QUORUM_MEMBERS}", z.servers),
            "use 1 for development, 3 or 5 for production",
        );
    } else if z.servers as usize > eligible {
        e.add(
            "spec.zookeeper.servers",
            format!(
                "{} servers need {} hosts, but only {eligible} are eligible",
                z.servers, z.servers
            ),
            "add hosts, widen spec.zookeeper.hosts, or lower servers",
        );
    }
    port("spec.zookeeper.clientPort", z.client_port, e);
    port("spec.zookeeper.peerPort", z.peer_port, e);
    port("spec.zookeeper.electionPort", z.election_port, e);
    port("spec.zookeeper.adminPort", z.admin_port, e);
    if let Some(s) = &z.super_digest {
        secret_name("spec.zookeeper.superDigest.secret", &s.secret, e);
    }
}

fn masters(
    doc: &MesosCluster,
    names: &BTreeSet<String>,
    previous: Option<&MesosCluster>,
    e: &mut Errors,
) {
    let m = &doc.spec.masters;
    image("spec.masters.image", &m.image, e);
    let eligible = placement("spec.masters.hosts", m.hosts.as_ref(), names, e);
    if !(1..=MAX_QUORUM_MEMBERS).contains(&m.count) {
        e.add(
            "spec.masters.count",
            format!("{} is outside 1..{MAX_QUORUM_MEMBERS}", m.count),
            "use 1 for development, 3 or 5 for production",
        );
    } else if m.count.is_multiple_of(2) {
        let q = m.count / 2 + 1;
        let survives = m.count - q;
        e.add(
            "spec.masters.count",
            format!(
                "{} is even; a quorum of {q} out of {} survives {survives} failure{}, like {} masters do",
                m.count,
                m.count,
                if survives == 1 { "" } else { "s" },
                m.count - 1
            ),
            format!("use {} or {}", m.count - 1, m.count + 1),
        );
    } else if m.count as usize > eligible {
        e.add(
            "spec.masters.count",
            format!(
                "{} masters need {} hosts, but only {eligible} are eligible",
                m.count, m.count
            ),
            "add hosts, widen spec.masters.hosts, or lower count",
        );
    }
    if let Some(prev) = previous {
        if prev.spec.masters.count == 1 && m.count > 1 && !m.accept_registry_reset {
            e.add(
                "spec.masters.acceptRegistryReset",
                format!(
                    "growing from 1 master to {} wipes Mesos' replicated log: the registry (agents, maintenance, quota) is lost",
                    m.count
                ),
                "set spec.masters.acceptRegistryReset: true if that is acceptable, or keep count: 1",
            );
        }
    }
    port("spec.masters.port", m.port, e);
    env("spec.masters.env", &m.env, MANAGED_MASTER_ENV, "MESOS_", e);
}

fn agents(doc: &MesosCluster, names: &BTreeSet<String>, e: &mut Errors) {
    let a = &doc.spec.agents;
    image("spec.agents.image", &a.image, e);
    if let AgentHosts::List(l) = &a.hosts {
        if l.is_empty() {
            e.add(
                "spec.agents.hosts",
                "is empty",
                "write all, or list at least one host",
            );
        }
        placement("spec.agents.hosts", Some(l), names, e);
    }
    port("spec.agents.port", a.port, e);
    if a.containerizers.is_empty() {
        e.add(
            "spec.agents.containerizers",
            "is empty",
            "use [docker, mesos]",
        );
    }
    for (i, c) in a.containerizers.iter().enumerate() {
        if c != "docker" && c != "mesos" {
            e.add(
                format!("spec.agents.containerizers[{i}]"),
                format!("'{c}' is not a Mesos containerizer"),
                "use docker and/or mesos",
            );
        }
    }
    for (i, iso) in a.isolation.iter().enumerate() {
        if iso.is_empty() || iso.contains(',') || iso.contains(char::is_whitespace) {
            e.add(
                format!("spec.agents.isolation[{i}]"),
                format!("'{iso}' is not one isolator"),
                "write one isolator per list item, e.g. cgroups/cpu",
            );
        }
    }
    if let Err(msg) = duration::parse(&a.executor_registration_timeout) {
        e.add(
            "spec.agents.executorRegistrationTimeout",
            msg,
            "write e.g. 5mins",
        );
    }
    env("spec.agents.env", &a.env, MANAGED_AGENT_ENV, "MESOS_", e);
    if let Some(v) = a.env.get(KILL_ORPHANS_ENV).filter(|v| *v != "false") {
        e.add(
            format!("spec.agents.env.{KILL_ORPHANS_ENV}"),
            format!(
                "'{v}' makes an agent remove, whenever it starts, every mesos-* container it has no record of: the tasks of any other agent on the same Docker engine, another cluster's included"
            ),
            format!("remove it; the operator runs every agent with {KILL_ORPHANS_ENV}=false"),
        );
    }
}

/// Mesos' `--docker_kill_orphans`: the operator sets it false on every agent; a document
/// may say false too, nothing else.
pub const KILL_ORPHANS_ENV: &str = "MESOS_DOCKER_KILL_ORPHANS";

fn marathon(doc: &MesosCluster, names: &BTreeSet<String>, e: &mut Errors) {
    let Some(m) = &doc.spec.marathon else { return };
    image("spec.marathon.image", &m.image, e);
    let eligible = placement("spec.marathon.hosts", m.hosts.as_ref(), names, e);
    if m.instances == 0 {
        e.add(
            "spec.marathon.instances",
            "is 0",
            "use 1 or more, or remove spec.marathon for a cluster without Marathon",
        );
    } else if m.instances as usize > eligible {
        e.add(
            "spec.marathon.instances",
            format!(
                "{} instances need {} hosts, but only {eligible} are eligible",
                m.instances, m.instances
            ),
            "add hosts, widen spec.marathon.hosts, or lower instances",
        );
    }
    port("spec.marathon.port", m.port, e);
    env(
        "spec.marathon.env",
        &m.env,
        MANAGED_MARATHON_ENV,
        "MARATHON_",
        e,
    );
}

/// `instances` against the eligible hosts, as Marathon's.
fn instances(path: &str, what: &str, n: u32, eligible: usize, e: &mut Errors) {
    if n == 0 {
        e.add(
            format!("{path}.instances"),
            "is 0",
            format!("use 1 or more (2 keep one serving during a replacement), or remove {path} for a cluster without {what}"),
        );
    } else if n as usize > eligible {
        e.add(
            format!("{path}.instances"),
            format!("{n} instances need {n} hosts, but only {eligible} are eligible"),
            format!("add hosts, widen {path}.hosts, or lower instances"),
        );
    }
}

fn dns(doc: &MesosCluster, names: &BTreeSet<String>, e: &mut Errors) {
    let Some(d) = &doc.spec.dns else { return };
    image("spec.dns.image", &d.image, e);
    let eligible = placement("spec.dns.hosts", d.hosts.as_ref(), names, e);
    instances("spec.dns", "DNS", d.instances, eligible, e);
    port("spec.dns.port", d.port, e);
    port("spec.dns.httpPort", d.http_port, e);
    if d.port == d.http_port {
        e.add(
            "spec.dns.httpPort",
            format!("{} is also spec.dns.port", d.http_port),
            "give the HTTP API its own port (Mesos-DNS's is 8123)",
        );
    }
    let domain = d.domain.trim_end_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.is_empty() || domain.len() > 200 || !domain.split('.').all(label_ok) {
        e.add(
            "spec.dns.domain",
            format!("'{}' is not a domain name", d.domain),
            "use lowercase DNS labels of letters, digits and dashes separated by dots, e.g. mesos",
        );
    }
    for (i, r) in d.resolvers.iter().enumerate() {
        let ok = r.parse::<std::net::IpAddr>().is_ok() || r.parse::<std::net::SocketAddr>().is_ok();
        if !ok {
            e.add(
                format!("spec.dns.resolvers[{i}]"),
                format!("'{r}' is not an IP address"),
                "write an upstream server as an IP address, or ip:port",
            );
        }
    }
    if d.refresh_seconds == 0 {
        e.add(
            "spec.dns.refreshSeconds",
            "is 0, so the records would never be rebuilt",
            "use 1 or more (Mesos-DNS's default is 60)",
        );
    }
    if d.ttl == 0 {
        e.add(
            "spec.dns.ttl",
            "is 0, so no client could cache an answer",
            "use 1 or more (Mesos-DNS's default is 60)",
        );
    }
}

/// `first-last` → (first, last).
pub fn service_port_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (1..=65535).contains(&a).then_some(())?;
    (a <= b && b <= 65535).then_some((a, b))
}

fn load_balancer(doc: &MesosCluster, names: &BTreeSet<String>, e: &mut Errors) {
    let Some(l) = &doc.spec.load_balancer else {
        return;
    };
    if doc.spec.marathon.is_none() {
        e.add(
            "spec.loadBalancer",
            "routes Marathon's apps, but the cluster has no Marathon",
            "add spec.marathon, or remove spec.loadBalancer",
        );
    }
    image("spec.loadBalancer.image", &l.image, e);
    let eligible = placement("spec.loadBalancer.hosts", l.hosts.as_ref(), names, e);
    instances(
        "spec.loadBalancer",
        "a load balancer",
        l.instances,
        eligible,
        e,
    );
    port("spec.loadBalancer.port", l.port, e);
    match service_port_range(&l.service_ports) {
        None => e.add(
            "spec.loadBalancer.servicePorts",
            format!("'{}' is not a port range", l.service_ports),
            "write first-last within 1..65535, e.g. 10000-10100",
        ),
        Some((a, b)) if (a..=b).contains(&l.port) => e.add(
            "spec.loadBalancer.servicePorts",
            format!("{a}-{b} contains spec.loadBalancer.port {}", l.port),
            "move the range or the port apart",
        ),
        Some(_) => {}
    }
}

fn rollout(doc: &MesosCluster, e: &mut Errors) {
    let r = &doc.spec.rollout;
    if r.max_unavailable_agents == 0 {
        e.add(
            "spec.rollout.maxUnavailableAgents",
            "is 0, so no agent could ever be replaced",
            "use 1 or more",
        );
    }
    match duration::parse(&r.health_timeout) {
        Ok(d) if d.as_secs_f64() < 1.0 => e.add(
            "spec.rollout.healthTimeout",
            format!(
                "'{}' is too short for any component to start",
                r.health_timeout
            ),
            "use at least 10s; 300s is the default",
        ),
        Ok(_) => {}
        Err(msg) => e.add("spec.rollout.healthTimeout", msg, "write e.g. 300s"),
    }
    if let Err(msg) = duration::parse(&r.drain_period) {
        e.add("spec.rollout.drainPeriod", msg, "write e.g. 60s");
    }
}

/// Most backups kept: each holds a ZooKeeper data directory and a registry.
pub const MAX_BACKUPS_KEPT: u32 = 1000;

/// `spec.backup`: a schedule and retention that make sense, exactly one target, a target
/// the operator can reach without sending credentials in clear.
fn backup(doc: &MesosCluster, e: &mut Errors) {
    let Some(b) = &doc.spec.backup else {
        return;
    };
    // A backup stops one ZooKeeper follower and one master while the others keep their
    // quorum: an ensemble of one has no follower, a single master no one to keep serving.
    let (zk, masters) = (doc.spec.zookeeper.servers, doc.spec.masters.count);
    if zk < 3 || masters < 3 {
        e.add(
            "spec.backup",
            format!("needs 3 or more ZooKeeper servers and masters (this document has {zk} and {masters}): a backup stops one follower of each while the others keep their quorum"),
            "grow spec.zookeeper.servers and spec.masters.count to 3, or leave spec.backup out",
        );
    }
    if !(1..=MAX_BACKUPS_KEPT).contains(&b.keep) {
        e.add(
            "spec.backup.keep",
            format!("is {}, outside 1..={MAX_BACKUPS_KEPT}", b.keep),
            "keep at least the backup just taken; 7 is the default",
        );
    }
    if let Some(every) = &b.schedule {
        match duration::parse(every) {
            Ok(d) if d.as_secs() < 60 => e.add(
                "spec.backup.schedule",
                format!("'{every}' is shorter than a backup may take (each stops a ZooKeeper follower and a master)"),
                "use 1m or more, e.g. 24h",
            ),
            Ok(_) => {}
            Err(msg) => e.add("spec.backup.schedule", msg, "write e.g. 24h"),
        }
    }
    let t = &b.target;
    match (&t.directory, &t.s3) {
        (Some(_), Some(_)) | (None, None) => e.add(
            "spec.backup.target",
            "names no target or two",
            "give exactly one of directory (a path on the operator's machine) and s3",
        ),
        _ => {}
    }
    if let Some(dir) = &t.directory {
        if !dir.starts_with('/') || dir.split('/').any(|p| p == "..") {
            e.add(
                "spec.backup.target.directory",
                format!("'{dir}' is not an absolute path without '..'"),
                "write an absolute directory on the operator's machine, e.g. /var/lib/mesos-operator/backups",
            );
        }
    }
    if let Some(s3) = &t.s3 {
        let bucket_ok = (3..=63).contains(&s3.bucket.len())
            && s3
                .bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            && !s3.bucket.starts_with(['.', '-'])
            && !s3.bucket.ends_with(['.', '-']);
        if !bucket_ok {
            e.add(
                "spec.backup.target.s3.bucket",
                format!("'{}' is not a bucket name", s3.bucket),
                "use 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
            );
        }
        secret_name(
            "spec.backup.target.s3.credentials.secret",
            &s3.credentials.secret,
            e,
        );
        if let Some(url) = &s3.endpoint {
            let host = crate::spec::address::host_of(url);
            if let Some(rest) = url.strip_prefix("http://") {
                if !s3.allow_http || !crate::spec::address::is_loopback(&host) {
                    e.add(
                        "spec.backup.target.s3.endpoint",
                        format!("'{url}' would send the credentials and the backups in clear"),
                        if rest.is_empty() || !s3.allow_http {
                            "use https://, or set allowHttp for a store on this machine (loopback)"
                        } else {
                            "use https://; plain http is allowed only to this machine (loopback)"
                        },
                    );
                }
            } else if !url.starts_with("https://") || host.is_empty() {
                e.add(
                    "spec.backup.target.s3.endpoint",
                    format!("'{url}' is not an https:// URL"),
                    "write e.g. https://minio.example:9000",
                );
            }
        }
        if s3.region.is_empty() {
            e.add(
                "spec.backup.target.s3.region",
                "is empty",
                "write the store's region; us-east-1 is what most S3-compatible stores accept",
            );
        }
        if let Some(prefix) = &s3.prefix {
            if prefix.starts_with('/') || prefix.split('/').any(|p| p == "..") {
                e.add(
                    "spec.backup.target.s3.prefix",
                    format!("'{prefix}' starts with '/' or holds '..'"),
                    "write a relative key prefix, e.g. mesos/",
                );
            }
        }
    }
}

/// Words in a variable name that say it carries a credential.
const CREDENTIAL_WORDS: [&str; 5] = ["CREDENTIAL", "PASSWORD", "SECRET", "TOKEN", "PRINCIPAL_KEY"];

/// Credentials reach a component as files, never in `env` (which `docker inspect` shows):
/// `secretFiles` paths are absolute and distinct, and a variable whose name says it holds
/// a credential must point at a file.
fn secrets_in_containers(doc: &MesosCluster, e: &mut Errors) {
    let s = &doc.spec;
    let parts: [(&str, &[SecretFile], &BTreeMap<String, String>); 3] = [
        ("masters", &s.masters.secret_files, &s.masters.env),
        ("agents", &s.agents.secret_files, &s.agents.env),
        (
            "marathon",
            s.marathon.as_ref().map_or(&[][..], |m| &m.secret_files),
            s.marathon.as_ref().map_or(&EMPTY_ENV, |m| &m.env),
        ),
    ];
    for (c, files, env) in parts {
        let mut seen = BTreeSet::new();
        for (i, f) in files.iter().enumerate() {
            let path = format!("spec.{c}.secretFiles[{i}]");
            secret_name(&format!("{path}.secret"), &f.secret, e);
            let p = &f.path;
            let clean = p.starts_with('/')
                && p.len() > 1
                && !p.ends_with('/')
                && p.split('/')
                    .skip(1)
                    .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
                && !p.contains(['\0', '\n']);
            if !clean {
                e.add(
                    format!("{path}.path"),
                    format!("'{p}' is not an absolute file path"),
                    "write an absolute path without '..', e.g. /etc/mesos/credential",
                );
            } else if !seen.insert(p.as_str()) {
                e.add(
                    format!("{path}.path"),
                    format!("'{p}' is used twice"),
                    "give each secret file its own path",
                );
            }
        }
        for (k, v) in env {
            let upper = k.to_ascii_uppercase();
            let says_credential = CREDENTIAL_WORDS.iter().any(|w| upper.contains(w));
            let is_path = v.starts_with('/') || v.starts_with("file:///");
            if says_credential && !is_path {
                e.add(
                    format!("spec.{c}.env.{k}"),
                    "looks like an inline credential, which `docker inspect` and every status read would show",
                    format!(
                        "store it with `mesos-operator secret set NAME --from-file FILE`, add secretFiles: [{{secret: NAME, path: /etc/mesos/{}}}] and set {k} to that path (file:///etc/mesos/{} where Mesos expects a URI)",
                        k.to_ascii_lowercase(),
                        k.to_ascii_lowercase()
                    ),
                );
            }
        }
    }
}

static EMPTY_ENV: BTreeMap<String, String> = BTreeMap::new();

/// The masters' flags that make their HTTP endpoints demand credentials
/// (mesos@1.11.0:docs/authentication.md): readwrite covers the maintenance calls of every
/// drained agent rollout, readonly `/master/state`.
const MASTER_HTTP_AUTH_FLAGS: [&str; 2] = [
    "MESOS_AUTHENTICATE_HTTP_READWRITE",
    "MESOS_AUTHENTICATE_HTTP_READONLY",
];

/// `spec.httpCredentials` names a secret; masters told to authenticate HTTP need it, or
/// every maintenance call (and, with readonly, every observation of the leader) fails 401
/// in the middle of a rollout instead of at apply.
fn http_credentials(doc: &MesosCluster, e: &mut Errors) {
    let s = &doc.spec;
    if let Some(r) = &s.http_credentials {
        secret_name("spec.httpCredentials.secret", &r.secret, e);
        return;
    }
    for flag in MASTER_HTTP_AUTH_FLAGS {
        let on = s
            .masters
            .env
            .get(flag)
            .is_some_and(|v| matches!(v.trim(), "true" | "1"));
        if on {
            e.add(
                format!("spec.masters.env.{flag}"),
                "makes the masters refuse HTTP calls without credentials, and the operator has none: every maintenance call (drainAgents) would fail 401",
                "store principal:password with `mesos-operator secret set NAME --from-file FILE` (the principal in the masters' --credentials file) and set spec.httpCredentials: {secret: NAME}",
            );
        }
    }
}

/// Each component's `autoUpdate` policy compiles, and a component the automation moves has
/// a registry to scan.
fn auto_update(doc: &MesosCluster, e: &mut Errors) {
    use crate::autoupdate::Policy;
    use crate::spec::AutoUpdateMode;
    if let Some(a) = &doc.spec.registry_access {
        if let Some(r) = &a.ca {
            secret_name("spec.registryAccess.ca.secret", &r.secret, e);
        }
        if let Some(r) = &a.credentials {
            secret_name("spec.registryAccess.credentials.secret", &r.secret, e);
            let host = doc
                .spec
                .registry
                .as_deref()
                .map(crate::spec::address::host_of)
                .unwrap_or_default();
            if a.plain_http && !crate::spec::address::is_loopback(&host) {
                e.add(
                    "spec.registryAccess.credentials",
                    "credentials would cross the network in clear: plainHttp is set",
                    "serve the registry over https (name its CA in spec.registryAccess.ca), or remove the credentials",
                );
            }
        }
        for (i, realm) in a.token_realms.iter().enumerate() {
            if realm.is_empty() || realm.contains(['/', ':', ' ']) {
                e.add(
                    format!("spec.registryAccess.tokenRealms[{i}]"),
                    format!("'{realm}' is not a host name"),
                    "write the token service's host alone, e.g. auth.docker.io",
                );
            }
        }
    }
    for c in Component::ALL {
        let Some(p) = doc.auto_update(c) else {
            continue;
        };
        let base = format!("spec.{c}.autoUpdate");
        if let Err(errs) = Policy::compile(p) {
            for pe in errs {
                e.add(format!("{base}.{}", pe.field), pe.problem, pe.fix);
            }
        }
        if p.mode == AutoUpdateMode::Off {
            continue;
        }
        // An automatic rollback of Marathon is a downgrade over the state the new version
        // migrated in ZooKeeper, which the planner refuses unless the document allows it.
        let downgrade_allowed = doc
            .spec
            .marathon
            .as_ref()
            .is_some_and(|m| m.allow_downgrade);
        if c == Component::Marathon && p.mode == AutoUpdateMode::Auto && !downgrade_allowed {
            e.add(
                format!("{base}.mode"),
                "is auto, but rolling a failed Marathon back is a downgrade the planner refuses without spec.marathon.allowDowngrade",
                "use mode: notify for Marathon, or set spec.marathon.allowDowngrade: true if its migrated state can be read by the older version",
            );
        }
        let image = doc.image(c).unwrap_or_default();
        let has_registry = ImageRef::parse(image)
            .map(|r| r.registry.is_some() || doc.spec.registry.is_some())
            .unwrap_or(true);
        if !has_registry {
            e.add(
                format!("{base}.mode"),
                format!(
                    "is {} but spec.{c}.image names no registry to scan",
                    mode_name(p.mode)
                ),
                "set spec.registry (host[:port]) or write the registry into the image reference",
            );
        }
    }
}

fn mode_name(m: crate::spec::AutoUpdateMode) -> &'static str {
    match m {
        crate::spec::AutoUpdateMode::Off => "off",
        crate::spec::AutoUpdateMode::Notify => "notify",
        crate::spec::AutoUpdateMode::Auto => "auto",
    }
}

/// Every component placed on a host binds its ports on the host's address (host
/// networking), so two components sharing a port on one host cannot both start.
fn ports(doc: &MesosCluster, e: &mut Errors) {
    let by_host = bound_ports(doc);
    let mut reported = BTreeSet::new();
    for (host, list) in by_host {
        for (i, (p, a)) in list.iter().enumerate() {
            for (q, b) in &list[..i] {
                if p == q && reported.insert((*a, *b)) {
                    e.add(
                        *a,
                        format!(
                            "port {p} is also {b} on host {host}; both bind the host's address"
                        ),
                        format!("change {a} or {b}"),
                    );
                }
            }
        }
    }
}

/// The ports the document's components bind on each host (by host name), each with the
/// field that sets it: ZooKeeper's client, peer, election and admin ports, the masters',
/// the agents' and Marathon's. With host networking they are the host's own ports.
pub fn bound_ports(doc: &MesosCluster) -> BTreeMap<&str, Vec<(u32, &'static str)>> {
    let mut by_host: BTreeMap<&str, Vec<(u32, &'static str)>> = BTreeMap::new();
    let z = &doc.spec.zookeeper;
    for h in doc.zookeeper_hosts() {
        let v = by_host.entry(&h.name).or_default();
        v.push((z.client_port, "spec.zookeeper.clientPort"));
        v.push((z.peer_port, "spec.zookeeper.peerPort"));
        v.push((z.election_port, "spec.zookeeper.electionPort"));
        v.push((z.admin_port, "spec.zookeeper.adminPort"));
    }
    for h in doc.master_hosts() {
        by_host
            .entry(&h.name)
            .or_default()
            .push((doc.spec.masters.port, "spec.masters.port"));
    }
    for h in doc.agent_hosts() {
        by_host
            .entry(&h.name)
            .or_default()
            .push((doc.spec.agents.port, "spec.agents.port"));
    }
    if let Some(m) = &doc.spec.marathon {
        for h in doc.marathon_hosts() {
            by_host
                .entry(&h.name)
                .or_default()
                .push((m.port, "spec.marathon.port"));
        }
    }
    if let Some(d) = &doc.spec.dns {
        for h in doc.dns_hosts() {
            let v = by_host.entry(&h.name).or_default();
            v.push((d.port, "spec.dns.port"));
            v.push((d.http_port, "spec.dns.httpPort"));
        }
    }
    if let Some(l) = &doc.spec.load_balancer {
        for h in doc.load_balancer_hosts() {
            by_host
                .entry(&h.name)
                .or_default()
                .push((l.port, "spec.loadBalancer.port"));
        }
    }
    by_host
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_document;

    const SEED: &str = include_str!("../../../../manifests/examples/cluster7.yaml");

    fn seed() -> MesosCluster {
        parse_document(SEED).unwrap()
    }

    fn paths(doc: &MesosCluster, prev: Option<&MesosCluster>) -> Vec<String> {
        validate(doc, prev)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    fn with_discovery() -> MesosCluster {
        let mut doc = seed();
        doc.spec.dns = Some(crate::spec::DnsSpec {
            image: "mesos-dns:0.1.0".into(),
            instances: 2,
            hosts: None,
            port: 53,
            http_port: 8123,
            domain: "mesos".into(),
            resolvers: vec!["10.0.0.53".into()],
            refresh_seconds: 60,
            ttl: 60,
            auto_update: None,
        });
        doc.spec.load_balancer = Some(crate::spec::LoadBalancerSpec {
            image: "marathon-lb:0.1.0".into(),
            instances: 2,
            hosts: Some(vec!["host2".into(), "host3".into()]),
            port: 9090,
            service_ports: "10000-10100".into(),
            auto_update: None,
        });
        doc
    }

    #[test]
    fn dns_and_the_load_balancer_validate_every_field_by_name() {
        validate(&with_discovery(), None).unwrap();
        let mut doc = with_discovery();
        let dns = doc.spec.dns.as_mut().unwrap();
        dns.instances = 4;
        dns.domain = "Mesos..".into();
        dns.resolvers = vec!["8.8.8.8".into(), "dns.google".into()];
        dns.refresh_seconds = 0;
        dns.ttl = 0;
        dns.http_port = 53;
        dns.image = "Bad Image".into();
        let lb = doc.spec.load_balancer.as_mut().unwrap();
        lb.hosts = Some(vec!["host9".into()]);
        lb.service_ports = "100-50".into();
        lb.port = 70000;
        let errors = validate(&doc, None).unwrap_err();
        let got: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        for want in [
            "spec.dns.image",
            "spec.dns.instances",
            "spec.dns.domain",
            "spec.dns.resolvers[1]",
            "spec.dns.refreshSeconds",
            "spec.dns.ttl",
            "spec.dns.httpPort",
            "spec.loadBalancer.hosts[0]",
            "spec.loadBalancer.servicePorts",
            "spec.loadBalancer.port",
        ] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        // Each error says what to do.
        assert!(errors.iter().all(|e| !e.fix.is_empty()));
    }

    #[test]
    fn a_load_balancer_needs_marathon_and_its_own_ports() {
        let mut doc = with_discovery();
        doc.spec.marathon = None;
        assert!(paths(&doc, None).contains(&"spec.loadBalancer".to_string()));
        // DNS's HTTP port on a host that runs Marathon on the same port.
        let mut doc = with_discovery();
        doc.spec.dns.as_mut().unwrap().http_port = 8080;
        assert!(
            paths(&doc, None)
                .iter()
                .any(|p| p == "spec.dns.httpPort" || p == "spec.marathon.port"),
            "{:?}",
            paths(&doc, None)
        );
        // A range that holds the bridge's own port.
        let mut doc = with_discovery();
        doc.spec.load_balancer.as_mut().unwrap().service_ports = "9000-9100".into();
        assert!(paths(&doc, None).contains(&"spec.loadBalancer.servicePorts".to_string()));
    }

    #[test]
    fn the_seed_example_is_valid() {
        validate(&seed(), None).unwrap();
    }

    fn with_backup(yaml: &str) -> MesosCluster {
        let mut d = seed();
        d.spec.backup = Some(serde_yaml_ng::from_str(yaml).unwrap());
        d
    }

    #[test]
    fn a_backup_policy_with_a_directory_is_valid_and_its_defaults_are_documented() {
        let d = with_backup("beforeUpgrade: true\nschedule: 24h\ntarget:\n  directory: /var/lib/mesos-operator/backups\n");
        assert!(paths(&d, None).is_empty(), "{:?}", paths(&d, None));
        let b = d.spec.backup.unwrap();
        assert_eq!(b.keep, 7);
        assert!(b.block_upgrade_on_failure);
    }

    #[test]
    fn a_backup_policy_names_each_wrong_field() {
        let d = with_backup("keep: 0\nschedule: 10s\ntarget:\n  directory: backups/../x\n");
        assert_eq!(
            paths(&d, None),
            [
                "spec.backup.keep",
                "spec.backup.schedule",
                "spec.backup.target.directory"
            ]
        );
        let mut small = with_backup("target:\n  directory: /b\n");
        small.spec.masters.count = 1;
        assert_eq!(paths(&small, None), ["spec.backup"]);
        let d = with_backup("target: {}\n");
        assert_eq!(paths(&d, None), ["spec.backup.target"]);
        let d = with_backup(
            "target:\n  directory: /b\n  s3: {bucket: ok-bucket, credentials: {secret: s3}}\n",
        );
        assert_eq!(paths(&d, None), ["spec.backup.target"]);
        let d = with_backup("schedule: often\ntarget:\n  directory: /b\n");
        let errs = validate(&d, None).unwrap_err();
        assert_eq!(errs[0].path, "spec.backup.schedule");
        assert!(
            errs[0].problem.contains("does not start with a number"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn an_s3_target_never_sends_credentials_in_clear_except_to_this_machine() {
        let s3 = |extra: &str| {
            with_backup(&format!(
                "target:\n  s3:\n    bucket: mesos-backups\n    credentials: {{secret: s3-login}}\n{extra}"
            ))
        };
        assert!(paths(&s3(""), None).is_empty());
        assert!(paths(&s3("    endpoint: https://minio.example:9000\n"), None).is_empty());
        assert_eq!(
            paths(
                &s3("    endpoint: http://minio.example:9000\n    allowHttp: true\n"),
                None
            ),
            ["spec.backup.target.s3.endpoint"]
        );
        assert_eq!(
            paths(&s3("    endpoint: http://127.0.0.1:9000\n"), None),
            ["spec.backup.target.s3.endpoint"]
        );
        assert!(paths(
            &s3("    endpoint: http://127.0.0.1:9000\n    allowHttp: true\n"),
            None
        )
        .is_empty());
        assert_eq!(
            paths(&s3("    endpoint: ftp://x\n    prefix: /abs\n"), None),
            [
                "spec.backup.target.s3.endpoint",
                "spec.backup.target.s3.prefix"
            ]
        );
        let d = with_backup(
            "target:\n  s3:\n    bucket: No_Such\n    credentials: {secret: \"-----BEGIN KEY\"}\n",
        );
        assert_eq!(
            paths(&d, None),
            [
                "spec.backup.target.s3.bucket",
                "spec.backup.target.s3.credentials.secret"
            ]
        );
    }

    #[test]
    fn registry_credentials_over_plain_http_are_refused_unless_the_registry_is_on_this_machine() {
        let mut d = seed();
        d.spec.registry_access = Some(crate::spec::RegistryAccess {
            credentials: Some(crate::spec::SecretRef {
                secret: "registry-login".into(),
            }),
            plain_http: true,
            ..Default::default()
        });
        assert!(paths(&d, None).contains(&"spec.registryAccess.credentials".to_string()));
        d.spec.registry = Some("127.0.0.1:5000".into());
        assert!(paths(&d, None).is_empty(), "{:?}", paths(&d, None));
        if let Some(a) = d.spec.registry_access.as_mut() {
            a.plain_http = false;
            a.token_realms = vec!["auth.docker.io".into(), "https://auth.example/token".into()];
        }
        assert_eq!(paths(&d, None), ["spec.registryAccess.tokenRealms[1]"]);
    }

    /// Issue 23: masters that authenticate HTTP need the operator's credentials, named by a
    /// secret (never inline), or the first drained agent rollout fails 401 half-way.
    #[test]
    fn http_credentials_are_a_secret_name_and_required_by_masters_that_authenticate() {
        let mut d = seed();
        d.spec
            .masters
            .env
            .insert("MESOS_AUTHENTICATE_HTTP_READWRITE".into(), "true".into());
        let errs = validate(&d, None).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            errs[0].path,
            "spec.masters.env.MESOS_AUTHENTICATE_HTTP_READWRITE"
        );
        assert!(errs[0].fix.contains("spec.httpCredentials"), "{}", errs[0]);
        d.spec.http_credentials = Some(crate::spec::SecretRef {
            secret: "mesos-http".into(),
        });
        assert!(paths(&d, None).is_empty(), "{:?}", paths(&d, None));
        d.spec.http_credentials = Some(crate::spec::SecretRef {
            secret: "ops:hunter2".into(),
        });
        assert_eq!(paths(&d, None), ["spec.httpCredentials.secret"]);
        // Off (or absent) asks for nothing.
        let mut off = seed();
        off.spec
            .masters
            .env
            .insert("MESOS_AUTHENTICATE_HTTP_READONLY".into(), "false".into());
        assert!(paths(&off, None).is_empty());
    }

    #[test]
    fn even_master_count_explains_why() {
        let mut d = seed();
        d.spec.masters.count = 4;
        let errs = validate(&d, None).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "spec.masters.count: 4 is even; a quorum of 3 out of 4 survives 1 failure, like 3 masters do; use 3 or 5"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut d = seed();
        d.metadata.name = "Bad_Name".into();
        d.spec.masters.count = 9;
        d.spec.zookeeper.client_port = 0;
        d.spec.agents.env.insert("MESOS_MASTER".into(), "x".into());
        let p = paths(&d, None);
        for want in [
            "metadata.name",
            "spec.masters.count",
            "spec.zookeeper.clientPort",
            "spec.agents.env.MESOS_MASTER",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} missing from {p:?}");
        }
    }

    #[test]
    fn growing_from_one_master_needs_registry_reset() {
        let mut prev = seed();
        prev.spec.masters.count = 1;
        let d = seed();
        assert_eq!(
            paths(&d, Some(&prev)),
            vec!["spec.masters.acceptRegistryReset"]
        );
        let mut ok = seed();
        ok.spec.masters.accept_registry_reset = true;
        validate(&ok, Some(&prev)).unwrap();
        // Creating a 3-master cluster from nothing loses no registry.
        validate(&d, None).unwrap();
    }

    /// Issue 22, hole 5: a document whose hosts all moved is refused at `apply` unless it
    /// accepts a new ensemble; keeping one old ZooKeeper host is enough to move it safely.
    #[test]
    fn moving_every_zookeeper_host_at_once_needs_accept_new_ensemble() {
        let prev = seed();
        let mut moved = seed();
        for h in moved.spec.hosts.iter_mut() {
            h.name = format!("new-{}", h.name);
        }
        let text = serde_json::to_string(&moved).unwrap();
        let old: Vec<String> = prev.spec.hosts.iter().map(|h| h.name.clone()).collect();
        let mut fixed = text.clone();
        for o in &old {
            fixed = fixed.replace(&format!("\"{o}\""), &format!("\"new-{o}\""));
        }
        let moved: MesosCluster = serde_json::from_str(&fixed).unwrap();
        validate(&moved, None).unwrap();
        let errs = validate(&moved, Some(&prev)).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].path, "spec.hosts");
        assert!(errs[0].fix.contains("acceptNewEnsemble"), "{:?}", errs[0]);
        let mut ok = moved.clone();
        ok.spec.zookeeper.accept_new_ensemble = true;
        validate(&ok, Some(&prev)).unwrap();
        // One old host kept: the ensemble can move server by server.
        let mut kept = moved.clone();
        kept.spec.hosts.push(prev.spec.hosts[0].clone());
        kept.spec.hosts[0].address = "10.99.0.1".into();
        validate(&kept, Some(&prev)).unwrap();
        // The acceptance is spent by the apply that moves: applied again (or with any other
        // edit) while still set, it is refused, naming the field and the fix, so that it
        // cannot accept a second empty ensemble later.
        let errs = validate(&ok, Some(&ok)).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].path, "spec.zookeeper.acceptNewEnsemble");
        assert!(errs[0].fix.contains("false"), "{:?}", errs[0]);
        let mut cleared = ok.clone();
        cleared.spec.zookeeper.accept_new_ensemble = false;
        validate(&cleared, Some(&ok)).unwrap();
        // A new cluster may carry it in its first document.
        validate(&ok, None).unwrap();
    }

    #[test]
    fn shared_port_on_one_host_is_rejected() {
        let mut d = seed();
        d.spec.masters.port = 2181;
        let errs = validate(&d, None).unwrap_err();
        assert!(
            errs.iter().any(|e| e.problem.contains("port 2181")),
            "{errs:?}"
        );
    }

    #[test]
    fn agents_may_not_turn_docker_kill_orphans_on() {
        for v in ["true", "1", ""] {
            let mut d = seed();
            d.spec
                .agents
                .env
                .insert("MESOS_DOCKER_KILL_ORPHANS".into(), v.into());
            let errs = validate(&d, None).unwrap_err();
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].path, "spec.agents.env.MESOS_DOCKER_KILL_ORPHANS");
            assert!(errs[0].problem.contains("another cluster"), "{errs:?}");
        }
        let mut d = seed();
        d.spec
            .agents
            .env
            .insert("MESOS_DOCKER_KILL_ORPHANS".into(), "false".into());
        assert_eq!(validate(&d, None), Ok(()));
    }

    #[test]
    fn ignore_preflight_takes_known_check_names_only() {
        let mut d = seed();
        d.spec.hosts[1].ignore_preflight = vec!["OpenFiles".into(), "Swap".into()];
        let errs = validate(&d, None).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].path, "spec.hosts[1].ignorePreflight[1]");
        assert!(errs[0].problem.contains("'Swap'"), "{errs:?}");
        assert!(errs[0].fix.contains("ClockSkew"), "{errs:?}");
        d.spec.hosts[1].ignore_preflight = vec!["OpenFiles".into()];
        assert_eq!(validate(&d, None), Ok(()));
    }

    #[test]
    fn plain_tcp_needs_explicit_insecure() {
        let mut d = seed();
        d.spec.hosts[0].docker.tls = None;
        assert_eq!(paths(&d, None), vec!["spec.hosts[0].docker.tls"]);
        d.spec.hosts[0].docker.insecure = true;
        validate(&d, None).unwrap();
    }

    #[test]
    fn inline_key_material_is_refused() {
        let mut d = seed();
        if let Some(t) = d.spec.hosts[0].docker.tls.as_mut() {
            t.key = "-----BEGIN PRIVATE KEY-----\nMIIE".into();
        }
        assert_eq!(paths(&d, None), vec!["spec.hosts[0].docker.tls.key"]);
    }

    #[test]
    fn more_servers_than_eligible_hosts() {
        let mut d = seed();
        d.spec.zookeeper.hosts = Some(vec!["host1".into(), "host2".into()]);
        assert_eq!(paths(&d, None), vec!["spec.zookeeper.servers"]);
    }
}
