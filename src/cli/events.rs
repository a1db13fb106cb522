//! `events NAME`: the steps the operator took, newest first, like `kubectl get events`.

use super::output;
use super::{CliError, CliResult, Format};
use crate::store::Store;

pub(super) async fn run(store: &Store, name: &str, format: Format) -> CliResult {
    if store.get(name).await?.is_none() {
        return Err(CliError::Failed(format!("cluster {name} not found")));
    }
    let mut events = store.events(name).await?;
    events.reverse();
    match format {
        Format::Json => println!("{}", output::json(&events)?),
        Format::Yaml => print!("{}", output::yaml(&events)?),
        Format::Table => {
            if events.is_empty() {
                println!("{name}: no steps taken yet");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|e| {
                    vec![
                        e.at.clone(),
                        e.kind.clone(),
                        e.host.clone(),
                        e.outcome.as_str().to_string(),
                        format!("{:.1}s", e.duration_seconds),
                        e.error.clone().unwrap_or_else(|| e.step.clone()),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["TIME", "STEP", "HOST", "RESULT", "TOOK", "DETAIL"], &rows)
            );
        }
    }
    Ok(())
}
