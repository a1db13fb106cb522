//! `autoupdate list|resume|allow` and `approve`: what the automation saw and decided, and
//! the decisions left to people. Each change is a compare-and-swap on the automation's
//! state, so it never loses a write of the running operator (or the operator one of its).

use mesos_operator_core::autoupdate::decide::tag_of;
use mesos_operator_core::autoupdate::select::select;
use mesos_operator_core::autoupdate::Policy;
use mesos_operator_core::spec::Component;

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::{Store, StoreError};

/// `autoupdate` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AutoUpdateCommand {
    /// The tags the operator found per component, with each one's verdict.
    List {
        /// Cluster name.
        #[arg(value_parser = super::cluster_name)]
        name: String,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Let the automation move a component again after a person's edit pinned it.
    Resume {
        /// Cluster name.
        #[arg(value_parser = super::cluster_name)]
        name: String,
        /// zookeeper, masters, agents or marathon.
        #[arg(value_parser = component)]
        component: Component,
    },
    /// Take a tag off a component's denylist, so that the automation may try it again.
    Allow {
        /// Cluster name.
        #[arg(value_parser = super::cluster_name)]
        name: String,
        /// zookeeper, masters, agents or marathon.
        #[arg(value_parser = component)]
        component: Component,
        /// The denied tag.
        tag: String,
    },
}

/// A component name on the command line; bad usage (exit 2) otherwise.
pub(super) fn component(s: &str) -> Result<Component, String> {
    Component::parse(s).ok_or_else(|| {
        format!("'{s}' is not a component; use zookeeper, masters, agents, marathon, dns or loadBalancer")
    })
}

pub(super) async fn run(store: &Store, cmd: AutoUpdateCommand) -> CliResult {
    match cmd {
        AutoUpdateCommand::List { name, output } => list(store, &name, output).await,
        AutoUpdateCommand::Resume { name, component } => resume(store, &name, component).await,
        AutoUpdateCommand::Allow {
            name,
            component,
            tag,
        } => allow(store, &name, component, &tag).await,
    }
}

async fn cluster(store: &Store, name: &str) -> Result<crate::store::Stored, CliError> {
    store
        .get(name)
        .await?
        .ok_or_else(|| CliError::Failed(format!("cluster {name} not found")))
}

async fn list(store: &Store, name: &str, format: Format) -> CliResult {
    let stored = cluster(store, name).await?;
    let at = store.autoupdate(name).await?;
    let now = crate::clock::seconds_since_epoch();
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Row {
        component: Component,
        tag: String,
        first_seen: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        verdict: String,
    }
    let mut rows = Vec::new();
    for c in Component::ALL {
        let u = at.state.component(c);
        let (Some(p), Some(image)) = (stored.doc.auto_update(c), stored.doc.image(c)) else {
            continue;
        };
        let Ok(policy) = Policy::compile(p) else {
            continue;
        };
        let sel = select(&policy, &tag_of(image), &u, now);
        // Newest first, in the policy's order.
        let mut tags: Vec<&String> = u.seen.keys().collect();
        tags.sort_by(
            |a, b| match (policy.scheme.read(a), policy.scheme.read(b)) {
                (Some(x), Some(y)) => y.order(&x),
                _ => b.cmp(a),
            },
        );
        for t in tags {
            let seen = &u.seen[t];
            let verdict = sel
                .verdicts
                .get(t)
                .map_or("unknown", |v| v.as_str())
                .to_string();
            let verdict = if sel.chosen.as_deref() == Some(t.as_str()) {
                format!("{verdict} (next)")
            } else {
                verdict
            };
            rows.push(Row {
                component: c,
                tag: t.clone(),
                first_seen: seen.first_seen,
                digest: seen.digest.clone(),
                verdict,
            });
        }
    }
    match format {
        Format::Json => println!("{}", output::json(&rows)?),
        Format::Yaml => print!("{}", output::yaml(&rows)?),
        Format::Table => {
            if rows.is_empty() {
                println!("{name}: no tags seen yet (is a component's autoUpdate.mode notify or auto, and is the operator running?)");
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.component.as_str().to_string(),
                        r.tag.clone(),
                        crate::clock::rfc3339(r.first_seen),
                        r.verdict.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["COMPONENT", "TAG", "FIRST SEEN", "VERDICT"], &table)
            );
        }
    }
    Ok(())
}

async fn resume(store: &Store, name: &str, c: Component) -> CliResult {
    let stored = cluster(store, name).await?;
    let image = stored
        .doc
        .image(c)
        .ok_or_else(|| CliError::Input(format!("{name} has no {c}")))?
        .to_string();
    let was = store
        .update_autoupdate(name, |s| {
            let u = s.components.entry(c).or_default();
            let was = u.pinned.take();
            // What the spec holds now is the automation's starting point.
            u.known_image = Some(image.clone());
            Ok(was)
        })
        .await?;
    match was {
        Some(p) => println!(
            "{name}: automated bumps of {c} resumed (they were pinned at generation {} by an edit to {})",
            p.generation, p.image
        ),
        None => println!("{name}: {c} was not pinned; automated bumps go on"),
    }
    Ok(())
}

async fn allow(store: &Store, name: &str, c: Component, tag: &str) -> CliResult {
    cluster(store, name).await?;
    let tag = tag.to_string();
    store
        .update_autoupdate(name, |s| {
            let u = s.components.entry(c).or_default();
            match u.denied.remove(&tag) {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound(format!(
                    "{tag} is not on the denylist of {name}'s {c}"
                ))),
            }
        })
        .await?;
    println!("{name}: {c} {tag} taken off the denylist; the automation may roll it again");
    Ok(())
}

/// `approve NAME COMPONENT TAG`: a person's go for a tag under `requireApproval`.
pub(super) async fn approve(store: &Store, name: &str, c: Component, tag: &str) -> CliResult {
    let stored = cluster(store, name).await?;
    if stored.doc.auto_update(c).is_none() {
        return Err(CliError::Input(format!(
            "{name}'s {c} has no autoUpdate policy; set spec.{c}.autoUpdate with apply -f"
        )));
    }
    if tag.is_empty() || tag.contains(['/', ':', '@']) {
        return Err(CliError::Input(format!(
            "'{tag}' is not a tag; give only the tag, e.g. 1.12.0"
        )));
    }
    let tag = tag.to_string();
    let seen = store
        .update_autoupdate(name, |s| {
            let u = s.components.entry(c).or_default();
            u.approved.insert(tag.clone());
            Ok(u.seen.contains_key(&tag))
        })
        .await?;
    if seen {
        println!("{name}: {c} {tag} approved");
    } else {
        println!("{name}: {c} {tag} approved (not seen in the registry yet; it goes once a scan finds it)");
    }
    Ok(())
}
