//! The discovery components, DNS and the load balancer: stateless services with no leader
//! and no quorum, planned after Marathon (they read the masters and Marathon, and follow
//! their changes). Their configuration names the ZooKeeper voters (DNS) or the Marathon
//! instances (the load balancer), so a change of either changes their hash, and they are
//! rolled here, after the components they read.
//!
//! One rule above the others: clients query any instance, so while one serves, one always
//! serves. Capacity is added before any is taken away (a missing instance is created before
//! an outdated one is replaced or an extra one removed), an instance is replaced or removed
//! only while another one serves, and the replaced one must serve again before the next.
//! A component of one instance cannot be replaced without a gap; the document asked for
//! one, and it is replaced when its turn comes.

use std::collections::BTreeSet;

use super::gate::{unreachable, wait_for};
use super::{act, create_all, Decision, Step, View};
use crate::observed::ObservedContainer;
use crate::spec::Component;

fn what(c: Component) -> &'static str {
    match c {
        Component::Dns => "DNS server",
        _ => "load balancer",
    }
}

fn gate(c: Component) -> &'static str {
    match c {
        Component::Dns => "answer its HTTP API and name a leading master",
        _ => "answer its health check with HAProxy running",
    }
}

/// The container runs and its probe says it serves.
pub(super) fn serves(ctx: &View, c: Component, host: &str) -> bool {
    ctx.observed
        .container(c, host)
        .is_some_and(ObservedContainer::running)
        && ctx.observed.member_health(c, host) == Some(true)
}

pub(super) fn plan(ctx: &View, c: Component) -> Option<Decision> {
    let desired = ctx.desired.hosts_of(c);
    let wanted: BTreeSet<&str> = desired.iter().copied().collect();
    let all: Vec<&ObservedContainer> = ctx.observed.containers_of(c);

    // 1. Gate: an instance on its desired configuration that runs and does not serve yet.
    for oc in &all {
        if oc.running() && ctx.desired.is_current(oc) && !serves(ctx, c, &oc.host) {
            return Some(wait_for(ctx, oc, what(c), gate(c)));
        }
    }
    let serving: BTreeSet<&str> = all
        .iter()
        .map(|oc| oc.host.as_str())
        .filter(|h| serves(ctx, c, h))
        .collect();
    // Another instance serves while the one on `host` goes.
    let another_serves = |host: &str| serving.iter().any(|h| *h != host);

    // 2. Missing instances first: capacity before any is taken away.
    if let Some(h) = desired.iter().find(|h| !ctx.observed.reachable(h)) {
        return Some(unreachable(ctx, h, what(c)));
    }
    let missing: Vec<String> = desired
        .iter()
        .filter(|h| ctx.observed.container(c, h).is_none())
        .map(|h| h.to_string())
        .collect();
    if !missing.is_empty() {
        if all.is_empty() {
            let n = missing.len();
            return create_all(
                c,
                missing,
                format!("no {} exists yet: create all {n} at once", what(c)),
            );
        }
        let h = &missing[0];
        return act(
            Step::CreateContainer {
                component: c,
                host: h.clone(),
            },
            format!("a {} is wanted on {h}", what(c)),
        );
    }

    // 3. Instances no longer wanted, while another serves (or none does: nothing to keep).
    let extras: Vec<&str> = all
        .iter()
        .map(|oc| oc.host.as_str())
        .filter(|h| !wanted.contains(h))
        .collect();
    for h in &extras {
        if another_serves(h) || serving.is_empty() {
            return act(
                Step::RemoveContainer {
                    component: c,
                    host: h.to_string(),
                    remove_volume: false,
                },
                format!("no {} is wanted on {h}", what(c)),
            );
        }
    }

    // 4. Outdated configuration (a new image, new ZooKeeper voters, new Marathon
    //    instances), one at a time, each while another serves; those not serving first.
    let mut stale: Vec<&str> = desired
        .iter()
        .copied()
        .filter(|h| {
            ctx.observed
                .container(c, h)
                .is_some_and(|oc| !ctx.desired.is_current(oc))
        })
        .collect();
    stale.sort_by_key(|h| (serving.contains(h), *h));
    if let Some(h) = stale.first() {
        let alone = desired.len() == 1;
        if another_serves(h) || !serving.contains(h) || alone {
            return act(
                Step::ReplaceContainer {
                    component: c,
                    host: h.to_string(),
                    reset_registry: false,
                },
                format!("the {} on {h} runs an outdated configuration", what(c)),
            );
        }
        return Some(Decision::Wait {
            reason: format!(
                "the {} on {h} waits for another {} to serve before it is replaced",
                what(c),
                what(c)
            ),
            until: None,
        });
    }
    if !extras.is_empty() {
        return Some(Decision::Wait {
            reason: format!(
                "the {} on {} goes once another serves",
                what(c),
                extras.join(", ")
            ),
            until: None,
        });
    }

    // 5. Every wanted instance exists and is current: wait for those that do not serve (a
    //    stopped one is the repair's; one restarting or paused is waited for, never taken
    //    for converged).
    desired
        .iter()
        .find(|h| !serves(ctx, c, h))
        .and_then(|h| ctx.observed.container(c, h))
        .map(|oc| wait_for(ctx, oc, what(c), gate(c)))
}

#[cfg(test)]
mod tests {
    use super::super::{plan, Decision, Step};
    use crate::desired::Desired;
    use crate::fixtures::converged_view;
    use crate::observed::{ContainerState, HostObservation, Observed, ServiceMember};
    use crate::record::Recorded;
    use crate::spec::{parse_document, Component};

    const NOW: u64 = 1_000_000;

    /// Three hosts, everything on each, Marathon on two, DNS and a load balancer on two.
    fn doc(zk: u32, marathons: u32, dns_image: &str) -> Desired {
        let mut y = String::from("apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: t}\nspec:\n  hosts:\n");
        for i in 1..=3 {
            y.push_str(&format!(
                "    - {{name: h{i}, address: 10.0.0.{i}, docker: {{endpoint: 'unix:///d.sock'}}}}\n"
            ));
        }
        y.push_str(&format!(
            "  zookeeper: {{image: zk:1, servers: {zk}}}\n  masters: {{image: m:1, count: 3}}\n  agents: {{image: a:1}}\n  marathon: {{image: mar:1, instances: {marathons}}}\n  dns: {{image: {dns_image}, instances: 2, refreshSeconds: 5}}\n  loadBalancer: {{image: lb:1, instances: 2}}\n"
        ));
        let doc = parse_document(&y).unwrap();
        crate::spec::validate(&doc, None).unwrap();
        Desired::from_document(&doc)
    }

    /// `view` with Marathon led and registered (the fixture knows no Marathon).
    fn running(d: &Desired) -> Observed {
        let mut o = converged_view(d, NOW);
        for h in d.hosts_of(Component::Marathon) {
            o.marathon.members.insert(
                h.to_string(),
                crate::observed::MarathonObservation {
                    healthy: true,
                    version: None,
                },
            );
        }
        o.marathon.leader = Some("h1".into());
        o.marathon.registered = true;
        o
    }

    fn containers<'a>(
        o: &'a mut Observed,
        h: &str,
    ) -> &'a mut std::collections::BTreeMap<Component, crate::observed::ObservedContainer> {
        match o.hosts.get_mut(h) {
            Some(HostObservation::Reachable { containers, .. }) => containers,
            _ => panic!("{h} unreachable"),
        }
    }

    fn decide(d: &Desired, o: &Observed) -> Decision {
        let mut r = Recorded::new_cluster();
        r.zk_highest_id = Some(3);
        let decision = plan(d, o, &r, NOW);
        if let Some(step) = decision.step() {
            crate::invariants::check_step(d, o, &r, step)
                .unwrap_or_else(|v| panic!("{step} breaks a rule: {v:?}"));
        }
        decision
    }

    #[test]
    fn a_cluster_with_its_discovery_components_serving_is_converged() {
        let d = doc(3, 2, "dns:1");
        assert_eq!(decide(&d, &running(&d)), Decision::Converged);
    }

    #[test]
    fn discovery_comes_after_marathon_and_both_dns_servers_start_at_once() {
        let d = doc(3, 2, "dns:1");
        let mut o = running(&d);
        for h in ["h1", "h2"] {
            containers(&mut o, h).remove(&Component::Dns);
            containers(&mut o, h).remove(&Component::LoadBalancer);
        }
        o.dns.members.clear();
        o.load_balancer.members.clear();
        // Marathon not led yet: nothing of the discovery components moves.
        let mut waiting = o.clone();
        waiting.marathon.leader = None;
        let held = decide(&d, &waiting);
        assert!(held.step().is_none(), "{held:?}");
        match decide(&d, &o).step() {
            Some(Step::CreateContainers {
                component: Component::Dns,
                hosts,
            }) => {
                assert_eq!(hosts, &["h1", "h2"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_upgrade_replaces_one_server_at_a_time_while_the_other_serves() {
        let old = doc(3, 2, "dns:1");
        let new = doc(3, 2, "dns:2");
        let mut o = running(&old);
        let first = decide(&new, &o);
        assert_eq!(
            first.step(),
            Some(&Step::ReplaceContainer {
                component: Component::Dns,
                host: "h1".into(),
                reset_registry: false
            })
        );
        // h1 replaced, starting: the gate waits, h2 is not touched.
        let h1 = containers(&mut o, "h1").get_mut(&Component::Dns).unwrap();
        h1.config_hash = new
            .container(Component::Dns, "h1")
            .unwrap()
            .config_hash
            .clone();
        h1.started_at = NOW - 2;
        o.dns
            .members
            .insert("h1".into(), ServiceMember { healthy: false });
        assert!(matches!(decide(&new, &o), Decision::Wait { .. }));
        // h1 serves: now h2.
        o.dns
            .members
            .insert("h1".into(), ServiceMember { healthy: true });
        assert_eq!(
            decide(&new, &o).step(),
            Some(&Step::ReplaceContainer {
                component: Component::Dns,
                host: "h2".into(),
                reset_registry: false
            })
        );
    }

    #[test]
    fn the_only_serving_server_waits_for_another_to_serve() {
        let old = doc(3, 2, "dns:1");
        let new = doc(3, 2, "dns:2");
        let mut o = running(&old);
        // h1's server is stopped (a repair would start it; here it crashed just now, so
        // the repair waits) and h2 is the only one serving: h1 is replaced first.
        let h1 = containers(&mut o, "h1").get_mut(&Component::Dns).unwrap();
        h1.state = ContainerState::Exited;
        h1.detail.exit_code = 1;
        h1.started_at = NOW - 5;
        o.dns
            .members
            .insert("h1".into(), ServiceMember { healthy: false });
        let d = decide(&new, &o);
        assert!(
            !matches!(d.step(), Some(Step::ReplaceContainer { host, .. } | Step::RemoveContainer { host, .. }) if host == "h2"),
            "the only serving server is kept: {d:?}"
        );
    }

    #[test]
    fn new_zookeeper_voters_roll_dns_and_new_marathons_roll_the_load_balancer() {
        let base = doc(3, 2, "dns:1");
        let zk1 = doc(1, 2, "dns:1");
        let mar1 = doc(3, 1, "dns:1");
        let hash = |d: &Desired, c| d.container(c, "h1").unwrap().config_hash.clone();
        assert_ne!(hash(&base, Component::Dns), hash(&zk1, Component::Dns));
        assert_eq!(
            hash(&base, Component::LoadBalancer),
            hash(&zk1, Component::LoadBalancer)
        );
        assert_ne!(
            hash(&base, Component::LoadBalancer),
            hash(&mar1, Component::LoadBalancer)
        );
        assert_eq!(hash(&base, Component::Dns), hash(&mar1, Component::Dns));
        let dns = base.container(Component::Dns, "h1").unwrap();
        assert_eq!(
            dns.env["MESOS_DNS_ZK"],
            "zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos"
        );
        assert_eq!(dns.env["MESOS_DNS_LISTENER"], "10.0.0.1");
        assert_eq!(dns.name, "t-dns-h1");
        let lb = base.container(Component::LoadBalancer, "h2").unwrap();
        assert_eq!(
            lb.env["LB_MARATHON_URLS"],
            "http://10.0.0.1:8080,http://10.0.0.2:8080"
        );
        assert_eq!(lb.name, "t-lb-h2");
    }

    #[test]
    fn an_extra_server_goes_only_once_a_wanted_one_serves() {
        // The document moves DNS from h1,h2 to h2,h3.
        let old = doc(3, 2, "dns:1");
        let mut y_new = old.clone();
        let spec = old.container(Component::Dns, "h2").unwrap().clone();
        y_new.containers.remove(&(Component::Dns, "h1".to_string()));
        let mut h3 = spec.clone();
        h3.host = "h3".into();
        y_new.containers.insert((Component::Dns, "h3".into()), h3);
        let mut o = running(&old);
        // Only h1 serves (h2's server answers nothing yet after a crash).
        o.dns
            .members
            .insert("h2".into(), ServiceMember { healthy: false });
        containers(&mut o, "h2")
            .get_mut(&Component::Dns)
            .unwrap()
            .started_at = NOW - 1;
        let d = decide(&y_new, &o);
        assert!(
            !matches!(d.step(), Some(Step::RemoveContainer { host, .. }) if host == "h1"),
            "{d:?}"
        );
    }

    #[test]
    fn status_has_a_row_for_each_discovery_component_with_its_serving_instances() {
        let d = doc(3, 2, "dns:1");
        let mut o = running(&d);
        o.load_balancer
            .members
            .insert("h2".into(), ServiceMember { healthy: false });
        let status = crate::status::derive(crate::status::StatusInputs {
            desired: &d,
            observed: &o,
            decision: &decide(&d, &o),
            step: None,
            now: "2026-12-06T00:00:00Z".into(),
        });
        let row = |c| status.components.get(&c).map(|s| (s.desired, s.ready));
        assert_eq!(row(Component::Dns), Some((2, 2)));
        assert_eq!(row(Component::LoadBalancer), Some((2, 1)));
        let json = serde_json::to_value(&status).unwrap();
        assert!(json["components"]["loadBalancer"].is_object(), "{json}");
        assert!(json["components"]["dns"].is_object(), "{json}");
    }
}
