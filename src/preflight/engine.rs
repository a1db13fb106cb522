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

/// Whether a container is a Mesos agent that is not `cluster`'s: another cluster's (by
/// the operator's role label) or one run by hand (no cluster label, an agent's image). A
/// container Mesos itself launched (`mesos-<id>`, such as an executor run from the agent's
/// image under `--docker_mesos_image`) is a task, not an agent.
pub fn is_other_agent(
    cluster: &str,
    labels_of: &HashMap<String, String>,
    name: &str,
    image: &str,
) -> bool {
    match labels_of.get(labels::CLUSTER) {
        Some(c) => {
            c != cluster
                && labels_of.get(labels::ROLE).map(String::as_str) == Some(Component::Agents.role())
        }
        None => {
            let repo = image.rsplit('/').next().unwrap_or(image);
            !name.trim_start_matches('/').starts_with("mesos-")
                && (repo.starts_with("mesos-agent") || repo.starts_with("mesos-slave"))
        }
    }
}

/// Mesos agents on the engine that are not `cluster`'s, with the two flags that matter to
/// a neighbour (Mesos' defaults when unset: kill orphans, root `mesos`).
async fn other_agents(client: &HostClient, cluster: &str) -> Result<Vec<OtherAgent>, DockerError> {
    let list = client
        .call(
            CALL_TIMEOUT,
            client.api().list_containers(Some(ListContainersOptions {
                all: true,
                ..Default::default()
            })),
        )
        .await?;
    let mut out = Vec::new();
    for c in list {
        let labels_of = c.labels.unwrap_or_default();
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .cloned()
            .unwrap_or_default();
        if !is_other_agent(
            cluster,
            &labels_of,
            &name,
            c.image.as_deref().unwrap_or_default(),
        ) {
            continue;
        }
        let theirs = labels_of.get(labels::CLUSTER).cloned();
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
    fn other_agents_are_other_clusters_agents_and_agents_run_by_hand() {
        let l = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let agent_of = |c: &str| l(&[(labels::CLUSTER, c), (labels::ROLE, "agent")]);
        assert!(is_other_agent(
            "a",
            &agent_of("b"),
            "/b-agent-h1",
            "reg/mesos-agent:1"
        ));
        assert!(!is_other_agent(
            "a",
            &agent_of("a"),
            "/a-agent-h1",
            "reg/mesos-agent:1"
        ));
        let master = l(&[(labels::CLUSTER, "b"), (labels::ROLE, "master")]);
        assert!(!is_other_agent("a", &master, "/b-master-h1", "m:1"));
        assert!(is_other_agent(
            "a",
            &l(&[]),
            "/old-agent",
            "mesosphere/mesos-slave:1.4.0"
        ));
        assert!(!is_other_agent("a", &l(&[]), "/zk", "reg/zookeeper:3.8.0"));
        // An executor Mesos launched from the agent's image is a task.
        let executor = "/mesos-0d2c.executor";
        assert!(!is_other_agent("a", &l(&[]), executor, "reg/mesos-agent:1"));
    }

    #[test]
    fn engine_time_keeps_milliseconds() {
        assert_eq!(
            parse_engine_time("2026-12-06T17:41:36.278056224Z"),
            Some(1_796_578_896_278)
        );
        assert_eq!(parse_engine_time("yesterday"), None);
    }
}
