//! `bump`, `pause`, `resume`, `history`, `rollback`: targeted changes to a stored spec.

use mesos_operator_core::spec::{image::ImageRef, Component, MesosCluster};

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::{Store, WriteOutcome};

fn report(name: &str, what: &str, outcome: &WriteOutcome) {
    match outcome {
        WriteOutcome::Unchanged { generation } => {
            println!("{name} unchanged: {what} already (generation {generation})")
        }
        other => println!("{name}: {what} (generation {})", other.generation()),
    }
}

/// Replaces the tag of an image reference, keeping registry and repository. A digest is
/// dropped: it pins the old image and would contradict the new tag.
fn retag(image: &str, tag: &str) -> Result<String, CliError> {
    let mut r = ImageRef::parse(image)
        .map_err(|e| CliError::Input(format!("stored image '{image}' {e}")))?;
    r.tag = Some(tag.to_string());
    r.digest = None;
    Ok(r.to_string())
}

pub(super) async fn bump(store: &Store, name: &str, component: &str, tag: &str) -> CliResult {
    let c = Component::parse(component).ok_or_else(|| {
        CliError::Input(format!(
            "unknown component '{component}'; use zookeeper, masters, agents, marathon, dns or loadBalancer"
        ))
    })?;
    if tag.is_empty() || tag.contains(['/', ':', '@']) {
        return Err(CliError::Input(format!(
            "'{tag}' is not a tag; give only the tag, e.g. 1.12.0-rc1"
        )));
    }
    // Check the target exists before the read-modify-write loop, for a clear error.
    let cur = store
        .get(name)
        .await?
        .ok_or_else(|| CliError::Failed(format!("cluster {name} not found")))?;
    if cur.doc.image(c).is_none() {
        return Err(CliError::Input(format!(
            "{name} has no {c}; add spec.{c} with apply -f"
        )));
    }
    let new_image = retag(cur.doc.image(c).unwrap_or_default(), tag)?;
    let set = |d: &mut MesosCluster| {
        let slot = d.image_mut(c);
        if let Some(img) = slot {
            if let Ok(n) = retag(img, tag) {
                *img = n;
            }
        }
    };
    let outcome = store.update(name, set).await?;
    report(name, &format!("{c} image {new_image}"), &outcome);
    Ok(())
}

pub(super) async fn set_paused(store: &Store, name: &str, paused: bool) -> CliResult {
    let outcome = store
        .update(name, |d| d.spec.rollout.paused = paused)
        .await?;
    report(name, if paused { "paused" } else { "resumed" }, &outcome);
    Ok(())
}

fn summary(d: &MesosCluster) -> Vec<String> {
    let mut r = vec![d.metadata.generation.unwrap_or(0).to_string()];
    for c in Component::ALL {
        r.push(match d.image(c) {
            Some(img) => format!("{}x {img}", d.component_hosts(c).len()),
            None => "-".into(),
        });
    }
    r.push(if d.spec.rollout.paused { "yes" } else { "no" }.into());
    r
}

pub(super) async fn history(store: &Store, name: &str, format: Format) -> CliResult {
    let cur = store
        .get(name)
        .await?
        .ok_or_else(|| CliError::Failed(format!("cluster {name} not found")))?;
    let mut docs = store.history(name).await?;
    docs.push(cur.doc);
    match format {
        Format::Json => println!("{}", output::json(&docs)?),
        Format::Yaml => print!("{}", output::yaml(&docs)?),
        Format::Table => {
            let last = docs.len() - 1;
            let rows: Vec<Vec<String>> = docs
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut r = summary(d);
                    r.push(if i == last { "current" } else { "" }.into());
                    r
                })
                .collect();
            print!(
                "{}",
                output::table(
                    &[
                        "GENERATION",
                        "ZOOKEEPER",
                        "MASTERS",
                        "AGENTS",
                        "MARATHON",
                        "PAUSED",
                        ""
                    ],
                    &rows
                )
            );
        }
    }
    Ok(())
}

pub(super) async fn rollback(store: &Store, name: &str, to: Option<u64>) -> CliResult {
    let (target, outcome) = store.rollback(name, to).await?;
    report(
        name,
        &format!("rolled back to the spec of generation {target}"),
        &outcome,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retag_keeps_registry_and_drops_digest() {
        assert_eq!(
            retag("reg.local:5000/mesos-master:1.11.0", "1.12.0-rc1").unwrap(),
            "reg.local:5000/mesos-master:1.12.0-rc1"
        );
        let d = "zk:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(retag(d, "2").unwrap(), "zk:2");
    }
}
