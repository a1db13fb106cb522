//! The look inside a host: a short-lived container with the host's network namespace, of
//! the image the step would run anyway (already in the cluster's registry, never pulled
//! from elsewhere), reporting what only the host shows: its listening ports, the free space
//! where each member's data volume lives, whether its name resolves, whether the other
//! hosts' addresses are reached, the open-files limit a container gets, its cgroup
//! controllers. It carries no secret, mounts everything read-only and is removed after.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, StartContainerOptions,
    WaitContainerOptions,
};
use futures_util::StreamExt;
use mesos_operator_core::preflight::Space;
use mesos_operator_core::spec::Component;

use crate::docker::{DockerError, HostClient, CALL_TIMEOUT};

/// Label naming the cluster a helper container looks for (not the cluster label: the
/// operator's own containers are those, and a helper is none of them).
pub const HELPER_LABEL: &str = "io.mesos-operator.preflight";

/// The port dialled on the other hosts' addresses: an answer, even a refusal, proves the
/// address is routed; silence does not.
const DIAL_PORT: u16 = 1;

/// The script: one fact per line, `key value...`; the addresses to dial are its arguments.
const SCRIPT: &str = r#"
echo "hostname $(hostname)"
if getent hosts "$(hostname)" >/dev/null 2>&1; then echo "resolves 1"; else echo "resolves 0"; fi
echo "nofile $(ulimit -n)"
for d in /probe/*; do
  [ -d "$d" ] || continue
  n=${d#/probe/}
  df -P -B1 "$d" | awk -v n="$n" 'NR==2 {print "disk", n, $4}'
  df -P -i "$d" | awk -v n="$n" 'NR==2 {print "inodes", n, $4, $2}'
done
for f in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$f" ] && awk 'NR>1 && $4=="0A" {k=split($2, a, ":"); print "listen", a[k]}' "$f"
done
[ -r /proc/cgroups ] && awk '!/^#/ {print "cgroup", $1, $2, $4}' /proc/cgroups
for a in "$@"; do
  out=$(timeout 3 bash -c "exec 3<>/dev/tcp/$a/$DIAL_PORT" 2>&1); rc=$?
  case "$rc:$out" in
    0:*|*refused*) echo "reach $a 1" ;;
    *) echo "reach $a 0" ;;
  esac
done
echo "done"
"#;

/// What the helper reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inside {
    /// `hostname` in the host's network namespace.
    pub hostname: Option<String>,
    /// It resolves there.
    pub resolves: Option<bool>,
    /// `ulimit -n`.
    pub nofile: Option<u64>,
    /// Per role, the filesystem of its data volume.
    pub disk: BTreeMap<Component, Space>,
    /// Listening TCP ports.
    pub listening: BTreeSet<u32>,
    /// `/proc/cgroups`: name → (hierarchy, enabled).
    pub controllers: BTreeMap<String, (u32, bool)>,
    /// Address → reached.
    pub reaches: BTreeMap<String, bool>,
}

/// Reads the helper's output; an output that does not end with `done` was cut short.
pub fn parse(out: &str) -> Result<Inside, String> {
    if !out.lines().any(|l| l.trim() == "done") {
        return Err(format!(
            "the helper's output ended early: {}",
            out.lines().last().unwrap_or("(nothing)")
        ));
    }
    let mut inside = Inside::default();
    let mut inodes: BTreeMap<Component, (u64, u64)> = BTreeMap::new();
    let mut bytes: BTreeMap<Component, u64> = BTreeMap::new();
    let role = |r: &str| Component::ALL.into_iter().find(|c| c.role() == r);
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["hostname", h] => inside.hostname = Some(h.to_string()),
            ["resolves", v] => inside.resolves = Some(*v == "1"),
            ["nofile", "unlimited"] => inside.nofile = Some(u64::MAX),
            ["nofile", v] => inside.nofile = v.parse().ok(),
            ["disk", r, free] => {
                if let (Some(c), Ok(free)) = (role(r), free.parse()) {
                    bytes.insert(c, free);
                }
            }
            ["inodes", r, free, total] => {
                if let (Some(c), Ok(free), Ok(total)) = (role(r), free.parse(), total.parse()) {
                    inodes.insert(c, (free, total));
                }
            }
            ["listen", hex] => {
                if let Ok(p) = u32::from_str_radix(hex, 16) {
                    inside.listening.insert(p);
                }
            }
            ["cgroup", name, hierarchy, enabled] => {
                if let Ok(h) = hierarchy.parse() {
                    inside
                        .controllers
                        .insert(name.to_string(), (h, *enabled == "1"));
                }
            }
            ["reach", a, v] => {
                inside.reaches.insert(a.to_string(), *v == "1");
            }
            _ => {}
        }
    }
    for (c, free_bytes) in bytes {
        let (free_inodes, total_inodes) = inodes.get(&c).copied().unwrap_or((0, 0));
        inside.disk.insert(
            c,
            Space {
                free_bytes,
                free_inodes,
                total_inodes,
            },
        );
    }
    Ok(inside)
}

/// Where a role's data lives on the host: its volume, or (before it exists) the engine's
/// volume directory, mounted read-only at `/probe/<role>`.
#[derive(Debug, Clone)]
pub enum DataAt {
    /// The member's named volume exists.
    Volume(String),
    /// A host path (the engine's `<root>/volumes`).
    HostPath(String),
}

/// Runs the helper of `image` on the host and reads what it says.
pub async fn run(
    client: &HostClient,
    cluster: &str,
    image: &str,
    data: &BTreeMap<Component, DataAt>,
    dial: &[String],
) -> Result<Inside, DockerError> {
    let name = format!("{cluster}-preflight-{}", client.name);
    remove(client, &name).await?;
    let mounts = data
        .iter()
        .map(|(c, at)| {
            let (typ, source) = match at {
                DataAt::Volume(v) => (MountType::VOLUME, v.clone()),
                DataAt::HostPath(p) => (MountType::BIND, p.clone()),
            };
            Mount {
                target: Some(format!("/probe/{}", c.role())),
                source: Some(source),
                typ: Some(typ),
                read_only: Some(true),
                ..Default::default()
            }
        })
        .collect();
    let mut cmd = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        SCRIPT.to_string(),
        "preflight".to_string(),
    ];
    cmd.extend(dial.iter().cloned());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(cmd),
        cmd: Some(vec![]),
        env: Some(vec![format!("DIAL_PORT={DIAL_PORT}")]),
        user: Some("0".into()),
        labels: Some(HashMap::from([(
            HELPER_LABEL.to_string(),
            cluster.to_string(),
        )])),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            mounts: Some(mounts),
            ..Default::default()
        }),
        ..Default::default()
    };
    let result = async {
        client
            .call(
                CALL_TIMEOUT,
                client.api().create_container(
                    Some(CreateContainerOptions {
                        name: Some(name.clone()),
                        ..Default::default()
                    }),
                    body,
                ),
            )
            .await?;
        client
            .call(
                CALL_TIMEOUT,
                client
                    .api()
                    .start_container(&name, None::<StartContainerOptions>),
            )
            .await?;
        let mut wait = client
            .api()
            .wait_container(&name, None::<WaitContainerOptions>);
        // Each dial is bounded by `timeout 3`; the whole run by the helper's deadline.
        let _ = client
            .call(super::engine::HELPER_TIMEOUT, async {
                match wait.next().await {
                    Some(Err(e)) => Err(e),
                    _ => Ok(()),
                }
            })
            .await;
        logs(client, &name, None).await
    }
    .await;
    // Whatever happened, the helper goes.
    let _ = remove(client, &name).await;
    parse(&result?).map_err(|reason| DockerError::Api {
        host: client.name.clone(),
        status: 0,
        reason,
    })
}

/// A container's output (standard output and error), the last `tail` lines or all.
pub async fn logs(
    client: &HostClient,
    name: &str,
    tail: Option<usize>,
) -> Result<String, DockerError> {
    let opts = LogsOptions {
        stdout: true,
        stderr: true,
        tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
        ..Default::default()
    };
    let mut stream = client.api().logs(name, Some(opts));
    client
        .call(CALL_TIMEOUT, async {
            let mut out = String::new();
            while let Some(chunk) = stream.next().await {
                out.push_str(&chunk?.to_string());
            }
            Ok(out)
        })
        .await
}

async fn remove(client: &HostClient, name: &str) -> Result<(), DockerError> {
    match client
        .call(
            CALL_TIMEOUT,
            client.api().remove_container(
                name,
                Some(RemoveContainerOptions {
                    force: true,
                    v: false,
                    ..Default::default()
                }),
            ),
        )
        .await
    {
        Err(e) if e.status() != Some(404) => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helpers_output_reads_back() {
        let out = "hostname host2\nresolves 0\nnofile 20000\ndisk agent 1048576\ninodes agent 500 1000\n\
                   listen 07E8\nlisten 13C3\ncgroup memory 4 1\ncgroup net_cls 0 1\nreach 10.0.0.1 1\nreach 10.0.0.3 0\ndone\n";
        let i = parse(out).unwrap();
        assert_eq!(i.hostname.as_deref(), Some("host2"));
        assert_eq!(i.resolves, Some(false));
        assert_eq!(i.nofile, Some(20000));
        assert_eq!(i.listening, [2024, 5059].into());
        assert_eq!(i.disk[&Component::Agents].free_bytes, 1 << 20);
        assert_eq!(i.disk[&Component::Agents].total_inodes, 1000);
        assert_eq!(i.controllers["net_cls"], (0, true));
        assert!(!i.reaches["10.0.0.3"]);
    }

    #[test]
    fn an_output_cut_short_is_an_error_not_a_pass() {
        assert!(parse("hostname host2\nresolves 1\n").is_err());
    }
}
