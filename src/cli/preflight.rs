//! `preflight NAME [--host H]`: the host preflight checks of a cluster's hosts, for the
//! members the document places there, as a table (check, host, result, the fix in one line)
//! or JSON. Exit 0 when nothing failed, 1 when a check failed (a failure the host ignores
//! does not count), 2 on bad usage. Changes nothing on the hosts but the short-lived helper
//! container each one runs.

use std::path::PathBuf;
use std::sync::Arc;

use mesos_operator_core::preflight::{CheckResult, Outcome, Results};

use super::output;
use super::{CliError, CliResult, Format};
use crate::preflight::{self as checks, Scope};
use crate::secrets::Keyring;
use crate::store::Store;

pub(super) async fn run(
    store: &Store,
    keys: Option<Arc<Keyring>>,
    name: &str,
    host: Option<String>,
    format: Format,
    secrets_dir: Option<PathBuf>,
) -> CliResult {
    let (snap, secrets, _) = super::plan::look(store, keys, name, secrets_dir).await?;
    if let Some(h) = &host {
        if snap.doc.host(h).is_none() {
            return Err(CliError::Input(format!(
                "--host {h}: cluster {name} has no such host; use one of {}",
                snap.doc
                    .spec
                    .hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let scope = match host {
        Some(h) => Scope::Hosts([h].into()),
        None => Scope::All,
    };
    let clients = crate::observe::connect(&snap.doc, &secrets).await;
    let results = checks::run(&snap.doc, &clients, &snap.observed, &scope).await;
    match format {
        Format::Json => println!("{}", output::json(&rows_json(&results))?),
        Format::Yaml => print!("{}", output::yaml(&rows_json(&results))?),
        Format::Table => print!("{}", table(&results)),
    }
    let failed = failures(&results);
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} preflight check(s) failed on cluster {name}'s hosts"
        )));
    }
    Ok(())
}

/// Failures no host ignores.
pub(super) fn failures(results: &Results) -> usize {
    results
        .values()
        .flatten()
        .filter(|r| r.outcome == Outcome::Fail && !r.ignored)
        .count()
}

fn rows_json(results: &Results) -> Vec<&CheckResult> {
    results.values().flatten().collect()
}

/// The table: check, host, result, and what was seen or what to do.
pub(super) fn table(results: &Results) -> String {
    let rows: Vec<Vec<String>> = results
        .values()
        .flatten()
        .map(|r| {
            let result = match (r.outcome, r.ignored) {
                (Outcome::Fail, true) => "fail (ignored)".to_string(),
                (o, _) => o.as_str().to_string(),
            };
            vec![
                r.check.as_str().to_string(),
                r.host.clone(),
                result,
                if r.fix.is_empty() {
                    r.detail.clone()
                } else {
                    format!("{} → {}", r.detail, r.fix)
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no host answered; nothing was checked\n".into();
    }
    output::table(&["CHECK", "HOST", "RESULT", "DETAIL / FIX"], &rows)
}
