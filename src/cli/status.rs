//! `status`: what the operator last wrote about a cluster.

use etcd_client::EventType;
use mesos_operator_core::status::ClusterStatus;

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::Store;

fn render(
    name: &str,
    generation: Option<u64>,
    s: &ClusterStatus,
    format: Format,
) -> Result<String, CliError> {
    Ok(match format {
        Format::Json => output::json(s)? + "\n",
        Format::Yaml => output::yaml(s)?,
        Format::Table => {
            let mut out = format!(
                "{name}  {}  observed generation {}{}\n{}\n",
                s.phase.as_str(),
                s.observed_generation,
                generation.map(|g| format!(" of {g}")).unwrap_or_default(),
                s.message
            );
            if !s.components.is_empty() {
                out.push_str(&format!("progress: {}\n", s.progress()));
            }
            if let Some(step) = &s.step {
                out.push_str(&format!(
                    "step: {}{} since {}\n",
                    step.kind,
                    step.host
                        .as_ref()
                        .map(|h| format!(" on {h}"))
                        .unwrap_or_default(),
                    step.started_at
                ));
            }
            for e in &s.errors {
                out.push_str(&format!("  {e}\n"));
            }
            let rows: Vec<Vec<String>> = s
                .components
                .iter()
                .map(|(c, st)| {
                    vec![
                        c.to_string(),
                        st.desired.to_string(),
                        st.ready.to_string(),
                        st.leader.clone().unwrap_or_else(|| "-".into()),
                        st.image.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            out.push_str(&output::table(
                &["COMPONENT", "DESIRED", "READY", "LEADER", "IMAGE"],
                &rows,
            ));
            let auto: Vec<Vec<String>> = mesos_operator_core::spec::Component::ALL
                .iter()
                .filter_map(|c| {
                    let a = s.components.get(c)?.auto_update.as_ref()?;
                    let mode = serde_json::to_value(a.mode)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    Some(vec![
                        c.as_str().to_string(),
                        mode,
                        a.running.clone(),
                        a.newest.clone().unwrap_or_else(|| "-".into()),
                        if a.denied.is_empty() {
                            "-".into()
                        } else {
                            a.denied.join(",")
                        },
                        a.state.clone(),
                    ])
                })
                .collect();
            if !auto.is_empty() {
                out.push_str(
                    "automated bumps:
",
                );
                out.push_str(&output::table(
                    &["COMPONENT", "MODE", "RUNNING", "NEWEST", "DENIED", "STATE"],
                    &auto,
                ));
            }
            match &s.operator {
                Some(o) => out.push_str(&format!(
                    "updated {} by operator {} (term {})\n",
                    s.updated_at, o.identity, o.term
                )),
                None => out.push_str(&format!("updated {}\n", s.updated_at)),
            }
            out
        }
    })
}

/// One line per change while watching: time, phase, progress per component, message.
fn watch_line(s: &ClusterStatus) -> String {
    let time = s
        .updated_at
        .split('T')
        .nth(1)
        .map(|t| t.trim_end_matches('Z'))
        .unwrap_or(&s.updated_at);
    format!(
        "{time}  {:<11}  {}\n             {}\n",
        s.phase.as_str(),
        s.progress(),
        s.message
    )
}

/// `status --watch` options.
pub(super) struct Watch {
    /// Follow changes.
    pub enabled: bool,
    /// Stop (exit 0) once the phase is this one.
    pub until: Option<String>,
    /// Give up (exit 1) after this long.
    pub timeout: Option<std::time::Duration>,
}

/// `status` without a name: every cluster with its phase, the generation the operator
/// last acted on and its message (a cluster the operator has not looked at yet shows `-`).
pub(super) async fn list(store: &Store, format: Format) -> CliResult {
    let listing = store.list().await?;
    let mut all: std::collections::BTreeMap<String, Option<ClusterStatus>> =
        std::collections::BTreeMap::new();
    let mut rows = Vec::new();
    for stored in &listing.clusters {
        let name = stored.doc.metadata.name.clone();
        let st = store.status(&name).await?;
        rows.push(match &st {
            Some(s) => vec![
                name.clone(),
                s.phase.as_str().to_string(),
                format!("{}/{}", s.observed_generation, stored.generation()),
                s.message.clone(),
            ],
            None => vec![
                name.clone(),
                "-".into(),
                format!("-/{}", stored.generation()),
                "not looked at by the operator yet".into(),
            ],
        });
        all.insert(name, st);
    }
    for (name, _) in &listing.unreadable {
        rows.push(vec![
            name.clone(),
            "Invalid".into(),
            "-".into(),
            "the stored spec cannot be read (see `mesos-operator get`)".into(),
        ]);
    }
    match format {
        Format::Json => println!("{}", output::json(&all)?),
        Format::Yaml => print!("{}", output::yaml(&all)?),
        Format::Table => print!(
            "{}",
            output::table(&["NAME", "PHASE", "OBSERVED/GENERATION", "MESSAGE"], &rows)
        ),
    }
    Ok(())
}

pub(super) async fn status(store: &Store, name: &str, format: Format, w: Watch) -> CliResult {
    match w.timeout {
        Some(t) => tokio::time::timeout(t, status_inner(store, name, format, &w))
            .await
            .unwrap_or_else(|_| {
                Err(CliError::Failed(format!(
                    "{name} did not reach {} within {}s",
                    w.until.as_deref().unwrap_or("the end"),
                    t.as_secs()
                )))
            }),
        None => status_inner(store, name, format, &w).await,
    }
}

async fn status_inner(store: &Store, name: &str, format: Format, w: &Watch) -> CliResult {
    let watch = w.enabled || w.until.is_some();
    let generation = store
        .get(name)
        .await?
        .ok_or_else(|| CliError::Failed(format!("cluster {name} not found")))?
        .generation();
    let reached = |s: &ClusterStatus| {
        w.until.as_deref().is_some_and(|u| {
            s.phase.as_str().eq_ignore_ascii_case(u) && s.observed_generation >= generation
        })
    };
    let show = |s: &ClusterStatus| -> Result<String, CliError> {
        if watch && format == Format::Table {
            Ok(watch_line(s))
        } else {
            render(name, None, s, format)
        }
    };
    let (current, revision) = store.status_at(name).await?;
    match current {
        Some(s) if watch => {
            print!("{}", show(&s)?);
            if reached(&s) {
                return Ok(());
            }
        }
        Some(s) => print!("{}", render(name, Some(generation), &s, format)?),
        None if !watch => {
            return Err(CliError::Failed(format!(
                "{name} has no status yet: no operator (`mesos-operator run`) has reconciled it"
            )))
        }
        None => eprintln!("{name} has no status yet; waiting for the operator to write one"),
    }
    if !watch {
        return Ok(());
    }
    // From the revision the status was read at: no update in between is lost.
    let mut stream = store.watch_status(name, revision).await?;
    loop {
        let resp = stream
            .message()
            .await
            .map_err(|e| CliError::Failed(format!("watch ended: {e}")))?;
        let Some(resp) = resp else {
            return Err(CliError::Failed("etcd closed the watch".into()));
        };
        for ev in resp.events() {
            if ev.event_type() == EventType::Delete {
                println!("{name}: status removed");
                continue;
            }
            if let Some(kv) = ev.kv() {
                match serde_json::from_slice::<ClusterStatus>(kv.value()) {
                    Ok(s) => {
                        print!("{}", show(&s)?);
                        if reached(&s) {
                            return Ok(());
                        }
                    }
                    Err(e) => eprintln!("unreadable status: {e}"),
                }
            }
        }
    }
}
