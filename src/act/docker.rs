//! Operations on Docker hosts.

use mesos_operator_core::ops::Op;

use super::{ActError, Executor};
use crate::docker::HostClient;

/// Where the ZooKeeper image reads the super-user digest at first start.
const ZK_DIGEST_PATH: &str = "/run/mesos-operator/zk-super-digest";

fn client<'a>(ex: &'a Executor<'_>, host: &str) -> Result<&'a HostClient, ActError> {
    match ex.fleet.hosts.get(host) {
        Some(Ok(c)) => Ok(c),
        Some(Err(reason)) => Err(ActError::NoClient {
            host: host.to_string(),
            reason: reason.clone(),
        }),
        None => Err(ActError::NoClient {
            host: host.to_string(),
            reason: "not a host of the document".into(),
        }),
    }
}

pub(super) async fn execute(ex: &Executor<'_>, op: &Op) -> Result<(), ActError> {
    match op {
        Op::Pull { host, image } => Ok(client(ex, host)?.pull(image).await?),
        Op::Create {
            host,
            spec,
            extra_labels,
            extra_env,
            zk_digest_file,
        } => {
            let mut files = Vec::new();
            if *zk_digest_file {
                if let Some(s) = ex.zk_super {
                    files.push((ZK_DIGEST_PATH.to_string(), super::zk_auth::super_digest(s)?));
                }
            }
            for f in &spec.secret_files {
                let s = ex.secret_files.get(&f.secret).ok_or_else(|| {
                    ActError::Secret(crate::secrets::SecretError::Missing(f.secret.clone()))
                })?;
                files.push((f.path.clone(), s.expose().to_vec()));
            }
            Ok(client(ex, host)?
                .ensure_running(ex.cluster, spec, extra_env, extra_labels, &files)
                .await?)
        }
        Op::Start { host, name } => Ok(client(ex, host)?.start(name).await?),
        Op::Remove { host, name } => Ok(client(ex, host)?.remove_container(name).await?),
        Op::RemoveVolume { host, volume } => Ok(client(ex, host)?.remove_volume(volume).await?),
        other => Err(ActError::Misrouted {
            op: other.kind(),
            module: "docker",
        }),
    }
}
