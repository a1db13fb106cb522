//! What a canary must keep true while it soaks, read from the component's own state as
//! the observe layer saw it: the health gates hold for every member, and the signals
//! people watch for each component stay good.

use crate::desired::Desired;
use crate::observed::{Observed, ZkMode};
use crate::spec::Component;

/// Agents the leading master lists as registered.
pub fn registered_agents(o: &Observed) -> u32 {
    o.agents.members.values().filter(|a| a.registered).count() as u32
}

/// `Ok` while the component's checks hold; otherwise what failed, in words.
pub fn check(c: Component, d: &Desired, o: &Observed, baseline_agents: u32) -> Result<(), String> {
    let hosts = d.hosts_of(c);
    let agents_kept = || {
        let now = registered_agents(o);
        if now < baseline_agents {
            Err(format!(
                "registered agents dropped from {baseline_agents} to {now} during the canary"
            ))
        } else {
            Ok(())
        }
    };
    match c {
        Component::Zookeeper => {
            if o.zookeeper.leader.is_none() {
                return Err("the ZooKeeper ensemble has no leader".into());
            }
            for h in hosts {
                let serving = o.zookeeper.servers.get(h).is_some_and(|s| {
                    s.ok && matches!(s.mode, Some(ZkMode::Leader | ZkMode::Follower))
                });
                if !serving {
                    return Err(format!("the ZooKeeper server on {h} is not serving"));
                }
            }
            Ok(())
        }
        Component::Masters => {
            let Some(leader) = o.masters.leader.as_deref() else {
                return Err("no master is elected (master/elected is 0 everywhere)".into());
            };
            if !o.masters.members.get(leader).is_some_and(|m| m.elected) {
                return Err(format!(
                    "the master on {leader} does not report master/elected"
                ));
            }
            for h in hosts {
                match o.masters.members.get(h) {
                    Some(m) if m.healthy && m.recovered => {}
                    Some(m) if m.healthy => {
                        return Err(format!(
                            "the master on {h} reports registrar/log/recovered 0"
                        ))
                    }
                    _ => return Err(format!("the master on {h} is not healthy")),
                }
            }
            agents_kept()
        }
        Component::Agents => {
            for h in hosts {
                if !o.agents.members.get(h).is_some_and(|a| a.healthy) {
                    return Err(format!("the agent on {h} is not healthy"));
                }
            }
            agents_kept()
        }
        Component::Marathon => {
            if o.marathon.leader.is_none() {
                return Err("no Marathon instance leads".into());
            }
            if !o.marathon.registered {
                return Err("Marathon's framework is not registered with the master".into());
            }
            Ok(())
        }
        Component::Dns | Component::LoadBalancer => {
            for h in hosts {
                if o.member_health(c, h) != Some(true) {
                    return Err(format!("the {} on {h} does not serve", c.role()));
                }
            }
            Ok(())
        }
    }
}
