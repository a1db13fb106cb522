//! A backup's parts: the tar copied out of a stopped container, stored with its manifest
//! (size, SHA-256, for ZooKeeper the last zxid and epoch read from the copied files), and
//! checked against that manifest before the backup is recorded or restored.

use std::io::Read;

use mesos_operator_core::backup::{manifest_key, object_key, BackupPart, PartManifest};
use mesos_operator_core::zk_data;
use sha2::{Digest, Sha256};

use super::{BackupError, BackupStore};

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last zxid and the epoch a copy of ZooKeeper's `version-2` holds: the newest
/// transaction of its logs or the newest snapshot's, and `currentEpoch`.
pub fn zookeeper_position(tar_bytes: &[u8]) -> (Option<u64>, Option<u64>) {
    let mut zxid: Option<u64> = None;
    let mut epoch = None;
    let mut archive = tar::Archive::new(tar_bytes);
    let Ok(entries) = archive.entries() else {
        return (None, None);
    };
    for entry in entries.flatten() {
        let mut entry = entry;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = name.rsplit('/').next().unwrap_or_default().to_string();
        if base == "currentEpoch" {
            let mut s = String::new();
            if entry.read_to_string(&mut s).is_ok() {
                epoch = s.trim().parse().ok();
            }
        } else if base.starts_with("log.") {
            let mut bytes = Vec::new();
            if entry.read_to_end(&mut bytes).is_ok() {
                let last = zk_data::last_zxid_in_log(&bytes).or(zk_data::zxid_of_name(&base));
                zxid = zxid.max(last);
            }
        } else if base.starts_with("snapshot.") {
            zxid = zxid.max(zk_data::zxid_of_name(&base));
        }
    }
    (zxid, epoch.or(zxid.map(zk_data::epoch_of)))
}

/// What [`store_part`] stores a part as.
#[derive(Debug, Clone)]
pub struct PartSource<'a> {
    /// The cluster.
    pub cluster: &'a str,
    /// The backup.
    pub id: &'a str,
    /// Which part.
    pub part: BackupPart,
    /// The host it was copied from.
    pub host: &'a str,
    /// The image the host's container runs.
    pub image: &'a str,
}

/// Stores a part: the object, then its manifest (a part counts only once its manifest is
/// there, so a write cut short is taken again, never recorded).
pub async fn store_part(
    target: &BackupStore,
    src: &PartSource<'_>,
    tar_bytes: Vec<u8>,
) -> Result<PartManifest, BackupError> {
    let (zxid, epoch) = match src.part {
        BackupPart::Zookeeper => zookeeper_position(&tar_bytes),
        BackupPart::Masters => (None, None),
    };
    let manifest = PartManifest {
        part: src.part,
        host: src.host.to_string(),
        image: src.image.to_string(),
        size: tar_bytes.len() as u64,
        sha256: sha256_hex(&tar_bytes),
        zxid: zxid.map(zk_data::zxid_text),
        epoch,
    };
    target
        .put(&object_key(src.cluster, src.id, src.part), tar_bytes)
        .await?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Corrupt {
        id: src.id.to_string(),
        reason: e.to_string(),
    })?;
    target
        .put(&manifest_key(src.cluster, src.id, src.part), json)
        .await?;
    Ok(manifest)
}

/// A stored part and its manifest, the object checked against it (size and SHA-256).
pub async fn verified_part(
    target: &BackupStore,
    cluster: &str,
    id: &str,
    part: BackupPart,
) -> Result<(PartManifest, Vec<u8>), BackupError> {
    let corrupt = |reason: String| BackupError::Corrupt {
        id: id.to_string(),
        reason,
    };
    let mkey = manifest_key(cluster, id, part);
    let manifest: PartManifest = match target.get(&mkey).await? {
        Some(b) => serde_json::from_slice(&b)
            .map_err(|e| corrupt(format!("{mkey} does not parse: {e}")))?,
        None => return Err(corrupt(format!("{mkey} is missing"))),
    };
    let okey = object_key(cluster, id, part);
    let bytes = target
        .get(&okey)
        .await?
        .ok_or_else(|| corrupt(format!("{okey} is missing")))?;
    let sum = sha256_hex(&bytes);
    if bytes.len() as u64 != manifest.size || sum != manifest.sha256 {
        return Err(corrupt(format!(
            "{okey} has {} bytes with SHA-256 {sum}; its manifest says {} bytes with {}",
            bytes.len(),
            manifest.size,
            manifest.sha256
        )));
    }
    Ok((manifest, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_operator_core::spec::BackupTarget;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, content) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(content.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *content).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn a_zookeeper_copy_names_its_epoch_and_newest_snapshot() {
        let t = tar_of(&[
            ("version-2/currentEpoch", b"3\n"),
            ("version-2/acceptedEpoch", b"3\n"),
            ("version-2/snapshot.300000002", b""),
            ("version-2/snapshot.10", b""),
        ]);
        assert_eq!(zookeeper_position(&t), (Some(0x3_0000_0002), Some(3)));
        assert_eq!(zookeeper_position(b"not a tar"), (None, None));
    }

    #[tokio::test]
    async fn a_stored_part_verifies_and_a_changed_byte_is_refused_by_its_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let target = BackupStore::open(
            &BackupTarget {
                directory: Some(dir.path().to_string_lossy().into_owned()),
                s3: None,
            },
            None,
        )
        .unwrap();
        let src = PartSource {
            cluster: "c7",
            id: "000000000042",
            part: BackupPart::Masters,
            host: "h2",
            image: "mesos-master:1.11.0",
        };
        let bytes = tar_of(&[("replicated_log/registry.json", b"{\"position\":3}")]);
        let m = store_part(&target, &src, bytes.clone()).await.unwrap();
        assert_eq!(m.size, bytes.len() as u64);
        let (back, read) = verified_part(&target, "c7", "000000000042", BackupPart::Masters)
            .await
            .unwrap();
        assert_eq!(back, m);
        assert_eq!(read, bytes);
        // One byte changed behind the operator's back.
        let path = dir.path().join("c7/000000000042/masters.tar");
        let mut on_disk = std::fs::read(&path).unwrap();
        on_disk[600] ^= 0xff;
        std::fs::write(&path, on_disk).unwrap();
        let e = verified_part(&target, "c7", "000000000042", BackupPart::Masters)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("SHA-256"), "{e}");
        assert_eq!(e.metric_label(), "backup-corrupt");
    }
}
