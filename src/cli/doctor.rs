//! `doctor NAME`: for a cluster that is Blocked or Degraded, what a person would otherwise
//! gather by hand, in one readable report: the status and the plan now, the preflight
//! checks that did not pass, for each member of the concerned component that is not ready
//! its container's state and last log lines and its health probe's answer, the last step
//! that failed, and the ZooKeeper and Mesos leader views. Every secret the document names
//! is redacted from the report (a log line may echo a credential).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use mesos_operator_core::desired::container_name;
use mesos_operator_core::observed::Observed;
use mesos_operator_core::plan::Decision;
use mesos_operator_core::spec::{secret_sites, Component, MesosCluster};
use mesos_operator_core::status::{ready_count, Phase};

use super::CliResult;
use crate::gather::Snapshot;
use crate::observe::HostClients;
use crate::secrets::{Keyring, SecretSource};
use crate::store::{EventOutcome, Store};

/// Log lines shown per container.
const LOG_LINES: usize = 20;

pub(super) async fn run(
    store: &Store,
    keys: Option<Arc<Keyring>>,
    name: &str,
    secrets_dir: Option<PathBuf>,
) -> CliResult {
    let (snap, secrets, _) = super::plan::look(store, keys, name, secrets_dir).await?;
    let status = store.status(name).await?;
    let events = store.events(name).await?;
    let clients = crate::observe::connect(&snap.doc, &secrets).await;
    let preflight = crate::preflight::run(
        &snap.doc,
        &clients,
        &snap.observed,
        &crate::preflight::Scope::All,
    )
    .await;

    let mut out = String::new();
    let phase = status.as_ref().map(|s| s.phase);
    match &status {
        Some(s) => {
            let _ = writeln!(
                out,
                "cluster {name}: {} (status of generation {}, written {})\n  {}",
                s.phase.as_str(),
                s.observed_generation,
                s.updated_at,
                s.message
            );
            if !matches!(s.phase, Phase::Blocked | Phase::Degraded) {
                let _ = writeln!(
                    out,
                    "  (doctor is for a Blocked or Degraded cluster; this one is {}: shown all the same)",
                    s.phase.as_str()
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "cluster {name}: no status written yet (is the operator running?)"
            );
        }
    }
    let _ = writeln!(out, "\nplan now: {}", decision_line(&snap.planned.decision));

    out.push_str("\npreflight (checks that did not pass):\n");
    let not_passed: mesos_operator_core::preflight::Results = preflight
        .iter()
        .map(|(h, rs)| {
            (
                h.clone(),
                rs.iter()
                    .filter(|r| r.outcome != mesos_operator_core::preflight::Outcome::Pass)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, rs)| !rs.is_empty())
        .collect();
    if not_passed.is_empty() {
        out.push_str("  every check passed on the hosts that answered\n");
    } else {
        for line in super::preflight::table(&not_passed).lines() {
            let _ = writeln!(out, "  {line}");
        }
        // What each check that did not pass is about, once.
        let named: std::collections::BTreeSet<_> =
            not_passed.values().flatten().map(|r| r.check).collect();
        for check in named {
            let _ = writeln!(out, "  ({check}: {})", check.meaning());
        }
    }

    let concerned: Vec<Component> = match snap.planned.component {
        Some(c) => vec![c],
        None => Component::ALL.to_vec(),
    };
    for c in concerned {
        members(&mut out, &snap, &clients, c).await;
    }

    out.push_str("\nlast failed step:\n");
    match events
        .iter()
        .rev()
        .find(|e| e.outcome == EventOutcome::Error)
    {
        Some(e) => {
            let _ = writeln!(
                out,
                "  {} {} on {}: {}",
                e.at,
                e.kind,
                e.host,
                e.error.as_deref().unwrap_or("(no message)")
            );
        }
        None => out.push_str("  none recorded\n"),
    }

    out.push_str("\nleaders:\n");
    leaders(&mut out, &snap.observed);
    if phase.is_none() {
        out.push_str(
            "\nno status: start the operator (`mesos-operator run`) to act on this cluster\n",
        );
    }
    print!("{}", redact(&out, &snap.doc, &secrets).await);
    Ok(())
}

fn decision_line(d: &Decision) -> String {
    match d {
        Decision::Converged => "converged; nothing to do".into(),
        Decision::Wait { reason, .. } => format!("wait: {reason}"),
        Decision::Blocked { reason, action, .. } => {
            format!("blocked: {reason}\n  what to do: {action}")
        }
        Decision::Act { step, reason } => format!("next step: {step} ({reason})"),
    }
}

/// The members of `c` that are not ready: container, probe, last log lines.
async fn members(out: &mut String, snap: &Snapshot, clients: &HostClients, c: Component) {
    let d = &snap.desired;
    let o = &snap.observed;
    let hosts = d.hosts_of(c);
    if hosts.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{c}: {} of {} ready",
        ready_count(d, o, c),
        hosts.len()
    );
    for h in hosts {
        let container = o.container(c, h);
        let ready = container.is_some_and(|oc| d.is_current(oc) && oc.running())
            && o.member_health(c, h) == Some(true);
        if ready {
            continue;
        }
        let what = match container {
            None if !o.reachable(h) => "host unreachable".to_string(),
            None => "no container".to_string(),
            Some(oc) => format!(
                "container {} {:?}, {} restart(s), last exit {}, {}",
                oc.name,
                oc.state,
                oc.detail.restart_count,
                oc.detail.exit_code,
                if d.is_current(oc) {
                    "configuration current"
                } else {
                    "configuration outdated"
                }
            ),
        };
        let _ = writeln!(out, "  {h}: {what}");
        let _ = writeln!(out, "    probe: {}", probe(o, c, h));
        let Some(oc) = container else { continue };
        let Some(Ok(client)) = clients.hosts.get(h) else {
            continue;
        };
        match crate::preflight::helper::logs(client, &oc.name, Some(LOG_LINES)).await {
            Ok(text) if text.trim().is_empty() => {
                let _ = writeln!(out, "    log: (empty)");
            }
            Ok(text) => {
                let _ = writeln!(out, "    last {LOG_LINES} log lines of {}:", oc.name);
                for line in text.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "    log of {}: not read ({e})",
                    container_name(&snap.name, c, h)
                );
            }
        }
    }
}

/// The health probe's answer for the member of `c` on `host`, as observed.
fn probe(o: &Observed, c: Component, host: &str) -> String {
    match c {
        Component::Zookeeper => match o.zookeeper.servers.get(host) {
            Some(s) => format!(
                "ruok {}, mode {}, config version {}",
                if s.ok { "imok" } else { "no answer" },
                s.mode
                    .map_or("unknown".into(), |m| format!("{m:?}").to_lowercase()),
                s.config_version
                    .map_or("unknown".into(), |v| format!("{v:#x}"))
            ),
            None => "did not answer".into(),
        },
        Component::Masters => match o.masters.members.get(host) {
            Some(m) => format!(
                "/health {}, elected {}, registrar log recovered {}, in the log's group {}",
                if m.healthy { "200" } else { "failed" },
                m.elected,
                m.recovered,
                m.in_log_group.map_or("unknown".into(), |b| b.to_string())
            ),
            None => "did not answer".into(),
        },
        Component::Agents => match o.agents.members.get(host) {
            Some(a) => format!(
                "/health {}, listed active by the leading master: {}{}",
                if a.healthy { "200" } else { "failed" },
                a.registered,
                o.agents
                    .maintenance
                    .get(host)
                    .map_or(String::new(), |m| format!(", maintenance {m:?}"))
            ),
            None => "did not answer".into(),
        },
        Component::Marathon => match o.marathon.members.get(host) {
            Some(m) => format!("/ping {}", if m.healthy { "pong" } else { "failed" }),
            None => "did not answer".into(),
        },
        Component::Dns => match o.dns.members.get(host) {
            Some(m) if m.healthy => "names a leading master (/v1/hosts/leader.<domain>)".into(),
            Some(_) => "answers, but names no leading master yet".into(),
            None => "did not answer".into(),
        },
        Component::LoadBalancer => match o.load_balancer.members.get(host) {
            Some(m) => format!("health check {}", if m.healthy { "200" } else { "failed" }),
            None => "did not answer".into(),
        },
    }
}

fn leaders(out: &mut String, o: &Observed) {
    let _ = writeln!(out, "  zookeeper: {}", super::plan::zookeeper_view(o));
    let _ = writeln!(
        out,
        "  mesos: leading master {}",
        o.masters.leader.as_deref().unwrap_or("none agreed on")
    );
    let _ = writeln!(
        out,
        "  marathon: leader {}, framework {}",
        o.marathon.leader.as_deref().unwrap_or("none"),
        if o.marathon.registered {
            "registered"
        } else {
            "not registered"
        }
    );
}

/// The report with every secret the document names replaced by its name: the whole
/// content, each of its lines, and the password of a `user:password` line.
async fn redact(text: &str, doc: &MesosCluster, secrets: &SecretSource) -> String {
    let mut names: Vec<String> = secret_sites(doc).into_iter().map(|s| s.secret).collect();
    names.sort();
    names.dedup();
    let mut pieces: Vec<(String, String)> = Vec::new();
    for name in names {
        let Ok(secret) = secrets.get(&name).await else {
            continue;
        };
        let Ok(content) = std::str::from_utf8(secret.expose()) else {
            continue;
        };
        for line in std::iter::once(content.trim()).chain(content.lines()) {
            let line = line.trim();
            if line.len() >= 4 {
                pieces.push((line.to_string(), name.clone()));
            }
            if let Some((_, password)) = line.split_once(':') {
                if password.len() >= 4 {
                    pieces.push((password.to_string(), name.clone()));
                }
            }
        }
    }
    // Longest first, so a line is replaced before a part of it.
    pieces.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    let mut out = text.to_string();
    for (piece, name) in pieces {
        out = out.replace(&piece, &format!("[secret {name} redacted]"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_secret_the_document_names_is_redacted_whole_by_line_and_by_password() {
        let doc = mesos_operator_core::spec::parse_document(
            "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: d}\nspec:\n  \
             hosts: [{name: h1, address: 10.0.0.1, docker: {endpoint: 'unix:///d.sock'}}]\n  \
             zookeeper: {image: 'zk:1', servers: 1, superDigest: {secret: zk-super}}\n  \
             masters: {image: 'm:1', count: 1}\n  agents: {image: 'a:1'}\n",
        )
        .expect("document");
        let secrets = SecretSource::Memory(Default::default());
        if let SecretSource::Memory(m) = &secrets {
            m.lock()
                .expect("lock")
                .insert("zk-super".into(), b"super:hunter2-zk\n".to_vec());
        }
        let text = "auth as super:hunter2-zk failed\npassword hunter2-zk in a log line\n";
        let out = redact(text, &doc, &secrets).await;
        assert!(!out.contains("hunter2"), "{out}");
        assert!(
            out.contains("auth as [secret zk-super redacted] failed"),
            "{out}"
        );
        assert!(
            out.contains("password [secret zk-super redacted] in a log line"),
            "{out}"
        );
    }
}
