//! Host preflight, the runtime half: gathers each host's facts through the Docker API the
//! operator already holds (the engine's `/version` and `/info`, its other agents, and one
//! short-lived helper container per host, [`helper`]), and turns them into the named
//! checks' results with the pure rules of [`mesos_operator_core::preflight`].
//!
//! The reconcile asks only when its plan is about to place a member ([`crate::gather`]),
//! and [`cache::PreflightCache`] keeps the answer for a while, so a converged cluster runs
//! no helper and a blocked one at most one per host every [`cache::TTL_FAILED`].

pub mod cache;
pub mod engine;
pub mod helper;

use std::collections::{BTreeMap, BTreeSet};

use mesos_operator_core::desired::{volume_name, Desired};
use mesos_operator_core::observed::Observed;
use mesos_operator_core::preflight::{
    apply_ignores, evaluate, Check, HostFacts, PlacedHere, Results, Thresholds,
};
use mesos_operator_core::spec::{Component, MesosCluster};

use crate::docker::HostClient;
use crate::observe::HostClients;
use helper::DataAt;

/// Hosts looked at at once.
pub const MAX_CONCURRENT_HOSTS: usize = 16;

/// Other hosts that look at a checked host's address when only some hosts are checked.
pub const PEERS: usize = 3;

/// Which hosts to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every host of the document (`mesos-operator preflight`).
    All,
    /// These hosts, each with up to [`PEERS`] other hosts dialling its address (the
    /// reconcile: the hosts where a member is still to be placed).
    Hosts(BTreeSet<String>),
}

/// The hosts where the document places a member that `observed` does not show: where the
/// next placements go.
pub fn pending(doc: &MesosCluster, observed: &Observed) -> BTreeSet<String> {
    let desired = Desired::from_document(doc);
    desired
        .containers
        .keys()
        .filter(|(c, h)| observed.container(*c, h).is_none())
        .map(|(_, h)| h.clone())
        .collect()
}

/// Checks the hosts of `scope`, with what `observed` says runs where.
pub async fn run(
    doc: &MesosCluster,
    clients: &HostClients,
    observed: &Observed,
    scope: &Scope,
) -> Results {
    let desired = Desired::from_document(doc);
    let cluster = doc.metadata.name.as_str();
    let answers = |name: &str| {
        matches!(clients.hosts.get(name), Some(Ok(_)))
            && (observed.reachable(name) || observed.hosts.is_empty())
    };
    let checked: BTreeSet<String> = match scope {
        Scope::All => doc.spec.hosts.iter().map(|h| h.name.clone()).collect(),
        Scope::Hosts(h) => h.clone(),
    };
    // The checked hosts look, and for their addresses a few others (their reach of the
    // checked hosts is what `AddressRoutable` reads).
    let mut looking: BTreeSet<String> = checked.iter().filter(|h| answers(h)).cloned().collect();
    if matches!(scope, Scope::Hosts(_)) {
        looking.extend(
            doc.spec
                .hosts
                .iter()
                .map(|h| h.name.clone())
                .filter(|h| !checked.contains(h) && answers(h))
                .take(PEERS),
        );
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_HOSTS));
    let looks = looking
        .iter()
        .filter_map(|name| match clients.hosts.get(name) {
            Some(Ok(client)) => {
                let (sem, desired) = (sem.clone(), &desired);
                Some(async move {
                    let _permit = sem.acquire().await;
                    facts_of(doc, desired, client, cluster).await
                })
            }
            _ => None,
        });
    let facts: BTreeMap<String, HostFacts> = futures_util::future::join_all(looks)
        .await
        .into_iter()
        .collect();
    let th = Thresholds::default();
    let mut out = Results::new();
    for h in &doc.spec.hosts {
        if !checked.contains(&h.name) {
            continue;
        }
        let Some(f) = facts.get(&h.name) else {
            continue;
        };
        let running: BTreeSet<Component> = Component::ALL
            .into_iter()
            .filter(|c| {
                observed
                    .container(*c, &h.name)
                    .is_some_and(|oc| oc.running())
            })
            .collect();
        let placed = PlacedHere::on(&desired, &h.name, &running);
        let reached_from: BTreeMap<String, bool> = facts
            .iter()
            .filter(|(other, _)| **other != h.name)
            .filter_map(|(other, of)| of.reaches.get(&h.address).map(|r| (other.clone(), *r)))
            .collect();
        let mut results = evaluate(&desired, &h.name, &placed, f, &reached_from, &th);
        let ignored: BTreeSet<Check> = h
            .ignore_preflight
            .iter()
            .filter_map(|n| Check::parse(n))
            .collect();
        apply_ignores(&mut results, &ignored);
        out.insert(h.name.clone(), results);
    }
    out
}

/// One host's facts: the engine's answers, then the helper's look inside.
async fn facts_of(
    doc: &MesosCluster,
    desired: &Desired,
    client: &HostClient,
    cluster: &str,
) -> (String, HostFacts) {
    let host = client.name.clone();
    let mut facts = HostFacts::default();
    let engine = match engine::engine_facts(client, cluster).await {
        Ok(e) => e,
        Err(e) => {
            facts.engine_error = Some(e.to_string());
            facts.inside_error = Some("the engine did not answer".into());
            return (host, facts);
        }
    };
    facts.api_version = engine.api_version;
    facts.cgroup_version = engine.cgroup_version;
    facts.clock_skew_ms = engine.clock_skew_ms;
    facts.hostname = engine.hostname;
    facts.other_agents = engine.other_agents;
    let roles: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| desired.containers.contains_key(&(*c, host.clone())))
        .collect();
    // The helper runs the image of the first member placed here (the one the step pulls
    // anyway); a host with nothing placed needs no look inside.
    let Some(image) = roles
        .first()
        .and_then(|c| desired.containers.get(&(*c, host.clone())))
        .map(|s| s.image.clone())
    else {
        facts.inside_error = Some("nothing is placed on this host".into());
        return (host, facts);
    };
    let root = engine.root_dir.unwrap_or_else(|| "/var/lib/docker".into());
    let mut data = BTreeMap::new();
    for c in &roles {
        let volume = volume_name(cluster, *c, &host);
        let at = match engine::volume_exists(client, &volume).await {
            Ok(true) => DataAt::Volume(volume),
            Ok(false) => DataAt::HostPath(format!("{root}/volumes")),
            Err(e) => {
                facts.inside_error = Some(e.to_string());
                return (host, facts);
            }
        };
        data.insert(*c, at);
    }
    let dial: Vec<String> = doc
        .spec
        .hosts
        .iter()
        .filter(|h| h.name != host)
        .map(|h| h.address.clone())
        .collect();
    let pulled = tokio::time::timeout(engine::HELPER_TIMEOUT, client.pull(&image)).await;
    let inside = match pulled {
        Ok(Ok(())) => helper::run(client, cluster, &image, &data, &dial).await,
        Ok(Err(e)) => Err(e),
        Err(_) => Err(crate::docker::DockerError::Unreachable {
            host: host.clone(),
            reason: format!(
                "pulling {image} for the helper took over {}s",
                engine::HELPER_TIMEOUT.as_secs()
            ),
        }),
    };
    match inside {
        Ok(i) => {
            facts.hostname = i.hostname.or(facts.hostname);
            facts.hostname_resolves = i.resolves;
            facts.nofile = i.nofile;
            facts.disk = i.disk;
            facts.listening = Some(i.listening);
            facts.controllers = (!i.controllers.is_empty()).then_some(i.controllers);
            facts.reaches = i.reaches;
        }
        Err(e) => facts.inside_error = Some(e.to_string()),
    }
    (host, facts)
}

#[cfg(test)]
mod tests;
