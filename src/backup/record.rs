//! The end of a backup ([`Op::RecordBackup`]): both parts checked against their manifests,
//! the backup written to etcd, then retention: the oldest beyond `keep` deleted from the
//! target and forgotten.

use mesos_operator_core::backup::{backup_prefix, beyond_retention, BackupPart, BackupRecord};
use mesos_operator_core::ops::Op;

use super::part::verified_part;
use super::BackupStore;
use crate::act::ActError;
use crate::election::WriteGuard;
use crate::store::ClusterStore;

/// Records the backup `op` names, finished `now`, and applies retention; returns the record.
pub async fn record_backup(
    store: &dyn ClusterStore,
    guard: &WriteGuard,
    cluster: &str,
    target: &BackupStore,
    op: &Op,
    now: u64,
) -> Result<BackupRecord, ActError> {
    let Op::RecordBackup {
        id,
        reason,
        started_at,
        voters,
        keep,
    } = op
    else {
        return Err(ActError::Misrouted {
            op: op.kind(),
            module: "backup record",
        });
    };
    let (zookeeper, _) = verified_part(target, cluster, id, BackupPart::Zookeeper).await?;
    let (masters, _) = verified_part(target, cluster, id, BackupPart::Masters).await?;
    let record = BackupRecord {
        id: id.clone(),
        reason: reason.clone(),
        started_at: *started_at,
        finished_at: now,
        voters: voters.clone(),
        zookeeper,
        masters,
        location: target.location.clone(),
    };
    let etcd = |e: crate::store::StoreError| ActError::Store(e.to_string());
    store
        .put_backup(guard, cluster, &record)
        .await
        .map_err(etcd)?;
    let ids: Vec<String> = store
        .backups(cluster)
        .await
        .map_err(etcd)?
        .into_iter()
        .map(|b| b.id)
        .collect();
    for old in beyond_retention(&ids, *keep) {
        target.delete_all(&backup_prefix(cluster, &old)).await?;
        store
            .delete_backup(guard, cluster, &old)
            .await
            .map_err(etcd)?;
    }
    Ok(record)
}
