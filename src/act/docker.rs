//! Operations on Docker hosts.

use mesos_operator_core::ops::Op;

use super::{ActError, Executor};
use crate::docker::HostClient;

/// Where the ZooKeeper image reads the super-user digest, at every start (a server replaced
/// with a rotated secret takes the new digest; `images/zookeeper/entrypoint.sh`).
const ZK_DIGEST_PATH: &str = "/run/mesos-operator/zk-super-digest";

pub(super) fn client<'a>(ex: &'a Executor<'_>, host: &str) -> Result<&'a HostClient, ActError> {
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
        Op::Stop { host, name } => Ok(client(ex, host)?.stop(name).await?),
        other => Err(ActError::Misrouted {
            op: other.kind(),
            module: "docker",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    /// The image's entrypoint, pointed at a scratch directory, with ZooKeeper itself left
    /// out (the script ends where it would start Java).
    fn run_entrypoint(dir: &Path, env: &[(&str, &str)]) {
        let script = include_str!("../../images/zookeeper/entrypoint.sh")
            .replace("/var/lib/zookeeper", &dir.join("data").to_string_lossy())
            .replace(super::ZK_DIGEST_PATH, &dir.join("digest").to_string_lossy());
        let script = match script.find("CP=/usr/share/java") {
            Some(i) => format!("{}exit 0\n", &script[..i]),
            None => panic!("the entrypoint no longer starts ZooKeeper where expected"),
        };
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn digest_lines(cfg: &str) -> Vec<&str> {
        cfg.lines()
            .filter(|l| l.starts_with("DigestAuthenticationProvider.superDigest="))
            .collect()
    }

    #[test]
    fn every_start_of_a_zookeeper_server_applies_the_mounted_digest_and_keeps_the_membership() {
        // Before, the digest was written at first start only: a server replaced with a
        // rotated secret kept the old one, and every reconfig was refused NoAuth.
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("data/conf/zoo.cfg");
        let first = [
            ("ZK_SERVER_ID", "3"),
            ("ZK_ENSEMBLE", "1=10.0.0.2,3=10.0.0.4"),
            ("ZK_ADDRESS", "10.0.0.4"),
        ];
        std::fs::write(dir.path().join("digest"), "super:OLD/digest=").unwrap();
        run_entrypoint(dir.path(), &first);
        let cfg = std::fs::read_to_string(&cfg_path).unwrap();
        assert_eq!(
            digest_lines(&cfg),
            ["DigestAuthenticationProvider.superDigest=super:OLD/digest="]
        );

        // ZooKeeper rewrites zoo.cfg after a reconfig (its own order, a new dynamic file);
        // a restart must keep all of that and change the digest alone.
        let rewritten = "admin.serverPort=8081\nDigestAuthenticationProvider.superDigest=super:OLD/digest=\nreconfigEnabled=true\ndataDir=/var/lib/zookeeper/data\ndynamicConfigFile=/var/lib/zookeeper/conf/zoo.cfg.dynamic.100000004\n";
        std::fs::write(&cfg_path, rewritten).unwrap();
        std::fs::write(dir.path().join("digest"), "super:NEW/digest=").unwrap();
        // No first-start variables: a restart must not need them.
        run_entrypoint(dir.path(), &[]);
        let cfg = std::fs::read_to_string(&cfg_path).unwrap();
        assert_eq!(
            digest_lines(&cfg),
            ["DigestAuthenticationProvider.superDigest=super:NEW/digest="]
        );
        let others = |c: &str| -> Vec<String> {
            c.lines()
                .filter(|l| !l.starts_with("DigestAuthenticationProvider."))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(others(&cfg), others(rewritten));
        // The dynamic membership file is ZooKeeper's: untouched.
        let dynamic = std::fs::read_to_string(dir.path().join("data/conf/zoo.cfg.dynamic"));
        assert_eq!(
            dynamic.unwrap(),
            "server.1=10.0.0.2:2888:3888:participant;0.0.0.0:2181\nserver.3=10.0.0.4:2888:3888:participant;0.0.0.0:2181\n"
        );

        // The same digest again leaves the file as it is; no digest removes the line.
        run_entrypoint(dir.path(), &[]);
        assert_eq!(std::fs::read_to_string(&cfg_path).unwrap(), cfg);
        std::fs::remove_file(dir.path().join("digest")).unwrap();
        run_entrypoint(dir.path(), &[]);
        let cfg = std::fs::read_to_string(&cfg_path).unwrap();
        assert!(digest_lines(&cfg).is_empty(), "{cfg}");
        assert_eq!(others(&cfg), others(rewritten));
        // Written by rename: nothing half-written is left beside it.
        let left: Vec<String> = std::fs::read_dir(dir.path().join("data/conf"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!left.iter().any(|n| n.contains("tmp")), "{left:?}");
    }
}
