//! What the engine says of itself (`/version`, `/info`) and of the other Mesos agents it
//! runs: the facts no container is needed for.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::SystemInfoCgroupVersionEnum;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
use mesos_operator_core::desired::labels;
use mesos_operator_core::preflight::OtherAgent;
use mesos_operator_core::spec::Component;

use crate::docker::{DockerError, HostClient, CALL_TIMEOUT};

/// The engine's answers.
#[derive(Debug, Clone, Default)]
pub struct EngineFacts {
    /// Docker API version.
    pub api_version: Option<String>,
    /// 1 or 2.
    pub cgroup_version: Option<u8>,
    /// Engine clock minus the operator's, in milliseconds.
    pub clock_skew_ms: Option<i64>,
    /// The host's name.
    pub hostname: Option<String>,
    /// Where the engine keeps its data (volumes under `<root>/volumes`).
    pub root_dir: Option<String>,
    /// Agents of other clusters (or of no operator: labelled by hand) on the engine.
    pub other_agents: Option<Vec<OtherAgent>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `SystemTime` of `/info` (RFC 3339 with nanoseconds) in milliseconds since the epoch.
pub fn parse_engine_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Asks the engine; an engine that does not answer `/info` is an error (the host is then
/// reported, not held).
pub async fn engine_facts(client: &HostClient, cluster: &str) -> Result<EngineFacts, DockerError> {
    let version = client.call(CALL_TIMEOUT, client.api().version()).await?;
    // The skew is measured against the middle of the call: half its round trip either way.
    let before = now_ms();
    let info = client.call(CALL_TIMEOUT, client.api().info()).await?;
    let after = now_ms();
    let middle = before + (after - before) / 2;
    Ok(EngineFacts {
        api_version: version.api_version,
        cgroup_version: match info.cgroup_version {
            Some(SystemInfoCgroupVersionEnum::_2) => Some(2),
            Some(SystemInfoCgroupVersionEnum::_1) => Some(1),
            _ => None,
        },
        clock_skew_ms: info
            .system_time
            .as_deref()
            .and_then(parse_engine_time)
            .map(|t| t - middle),
        hostname: info.name,
        root_dir: info.docker_root_dir,
        other_agents: other_agents(client, cluster).await.ok(),
    })
}

/// Containers labelled as Mesos agents that are not `cluster`'s, with the two flags that
/// matter to a neighbour (Mesos' defaults when unset: kill orphans, root `mesos`).
async fn other_agents(client: &HostClient, cluster: &str) -> Result<Vec<OtherAgent>, DockerError> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{}={}", labels::ROLE, Component::Agents.role())],
    )]);
    let list = client
        .call(
            CALL_TIMEOUT,
            client.api().list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            })),
        )
        .await?;
    let mut out = Vec::new();
    for c in list {
        let labels_of = c.labels.unwrap_or_default();
        let theirs = labels_of.get(labels::CLUSTER).cloned();
        if theirs.as_deref() == Some(cluster) {
            continue;
        }
        let Some(id) = c.id else { continue };
        let inspect = match client
            .call(
                CALL_TIMEOUT,
                client
                    .api()
                    .inspect_container(&id, None::<InspectContainerOptions>),
            )
            .await
        {
            Ok(i) => i,
            Err(e) if e.status() == Some(404) => continue,
            Err(e) => return Err(e),
        };
        let env: HashMap<String, String> = inspect
            .config
            .and_then(|c| c.env)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        out.push(OtherAgent {
            container: inspect
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            cluster: theirs,
            kills_orphans: env
                .get("MESOS_DOCKER_KILL_ORPHANS")
                .is_none_or(|v| v != "false"),
            cgroups_root: env
                .get("MESOS_CGROUPS_ROOT")
                .cloned()
                .unwrap_or_else(|| "mesos".into()),
        });
    }
    Ok(out)
}

/// Whether the named volume exists on the engine.
pub async fn volume_exists(client: &HostClient, name: &str) -> Result<bool, DockerError> {
    match client
        .call(CALL_TIMEOUT, client.api().inspect_volume(name))
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.status() == Some(404) => Ok(false),
        Err(e) => Err(e),
    }
}

/// How long the helper container may take from create to removal.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_time_keeps_milliseconds() {
        assert_eq!(
            parse_engine_time("2026-12-06T17:41:36.278056224Z"),
            Some(1_796_578_896_278)
        );
        assert_eq!(parse_engine_time("yesterday"), None);
    }
}
