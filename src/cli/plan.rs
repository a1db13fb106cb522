//! `plan NAME`: observe the hosts and print what is there and the one step the operator
//! would take now. Changes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use mesos_operator_core::desired::Desired;
use mesos_operator_core::observed::{HostObservation, Observed};
use mesos_operator_core::plan::Decision;
use mesos_operator_core::spec::Component;

use super::output;
use super::{CliError, CliResult, Format};
use crate::clock::SystemClock;
use crate::fleet::DockerFleet;
use crate::gather::{gather, Gathered, Snapshot};
use crate::secrets::{Keyring, SecretSource};
use crate::store::{format_errors, Store};

pub(super) async fn run(
    store: &Store,
    keys: Option<Arc<Keyring>>,
    name: &str,
    format: Format,
    secrets_dir: Option<PathBuf>,
) -> CliResult {
    let (snap, _, _) = look(store, keys, name, secrets_dir).await?;
    let decision = &snap.planned.decision;
    match format {
        Format::Json => {
            let v = serde_json::json!({"observed": snap.observed, "decision": decision});
            println!("{}", output::json(&v)?);
        }
        _ => print!("{}", render(&snap.desired, &snap.observed, decision)),
    }
    Ok(())
}

/// The loop's own first half, for the commands that look at the hosts (`plan`,
/// `preflight`, `doctor`): what is shown is what the operator would do. Also the secrets
/// and the fleet it used, for a further look.
pub(super) async fn look(
    store: &Store,
    keys: Option<Arc<Keyring>>,
    name: &str,
    secrets_dir: Option<PathBuf>,
) -> Result<(Box<Snapshot>, SecretSource, DockerFleet), CliError> {
    let secrets = match secrets_dir {
        Some(d) => SecretSource::Dir(d),
        None => SecretSource::store(store.clone(), keys),
    };
    let http = crate::act::http_client().map_err(|e| CliError::Failed(e.to_string()))?;
    let fleet = DockerFleet::new(secrets.clone(), http);
    let snap = match gather(store, &fleet, &SystemClock, &secrets, name).await? {
        Gathered::Gone => return Err(CliError::Failed(format!("cluster {name} not found"))),
        Gathered::Deleting { request, .. } => {
            let what = if request.purge_data {
                "its containers and data volumes"
            } else {
                "its containers and keeps its data volumes"
            };
            return Err(CliError::Failed(format!(
                "cluster {name} is being deleted (delete --cascade); the operator removes {what}"
            )));
        }
        Gathered::Invalid { errors, .. } => {
            return Err(CliError::Input(format!(
                "the stored spec of {name} is invalid:\n{}",
                format_errors(&errors)
            )))
        }
        Gathered::Ready(s) => s,
    };
    Ok((snap, secrets, fleet))
}

fn render(d: &Desired, o: &Observed, decision: &Decision) -> String {
    let mut rows = Vec::new();
    for (host, h) in &o.hosts {
        match h {
            HostObservation::Unreachable { reason } => rows.push(vec![
                host.clone(),
                "-".into(),
                "unreachable".into(),
                reason.clone(),
                "-".into(),
            ]),
            HostObservation::Reachable { containers, .. } => {
                for c in Component::ALL {
                    let want = d.container(c, host);
                    let have = containers.get(&c);
                    let config = match (want, have) {
                        (Some(_), Some(h)) if d.is_current(h) => "current",
                        (Some(_), Some(_)) => "outdated",
                        (Some(_), None) => "missing",
                        (None, Some(_)) => "not wanted",
                        (None, None) => continue,
                    };
                    rows.push(vec![
                        host.clone(),
                        c.role().into(),
                        have.map(|x| format!("{:?}", x.state).to_lowercase())
                            .unwrap_or_else(|| "-".into()),
                        have.map(|x| x.image.clone())
                            .or_else(|| want.map(|w| w.image.clone()))
                            .unwrap_or_default(),
                        config.into(),
                    ]);
                }
            }
        }
    }
    let mut out = output::table(&["HOST", "ROLE", "STATE", "IMAGE", "CONFIG"], &rows);
    out.push_str(&format!("zookeeper: {}\n", zookeeper_view(o)));
    out.push_str(&format!(
        "masters: leader {}; marathon: leader {}{}\n",
        o.masters.leader.as_deref().unwrap_or("-"),
        o.marathon.leader.as_deref().unwrap_or("-"),
        if o.marathon.registered {
            ", registered"
        } else {
            ""
        }
    ));
    out.push_str(&match decision {
        Decision::Converged => "plan: converged; nothing to do\n".to_string(),
        Decision::Wait { reason, .. } => format!("plan: wait: {reason}\n"),
        Decision::Blocked { reason, action, .. } => {
            format!("plan: blocked: {reason}\n  what to do: {action}\n")
        }
        Decision::Act { step, reason } => format!(
            "plan: next step: {step}\n  because: {reason}\n  then: {}\n",
            step.gate()
        ),
    });
    out
}

/// ZooKeeper as observed, in one line: the committed voters, the config version, the
/// leader (`plan` and `doctor`).
pub(super) fn zookeeper_view(o: &Observed) -> String {
    match &o.zookeeper.committed {
        Some(c) => format!(
            "voters {} (config version {:#x}), leader {}",
            c.voters
                .iter()
                .map(|(i, h)| format!("{i}@{h}"))
                .collect::<Vec<_>>()
                .join(", "),
            c.version,
            o.zookeeper.leader.as_deref().unwrap_or("-")
        ),
        None => "no quorum answers".into(),
    }
}
