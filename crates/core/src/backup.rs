//! Backups of a cluster's state: ZooKeeper's data (Marathon's apps, the Mesos election) and
//! the masters' replicated log (the Mesos registry: agents, maintenance), taken at one point.
//!
//! ZooKeeper 3.8 has no admin snapshot command: a consistent copy is a member's
//! `version-2` directory taken while that member is stopped (a follower, counted against the
//! quorum like any stop). The registry is one master's `replicated_log`, taken with that
//! master stopped briefly under the masters' rules. A backup is three planned steps
//! ([`crate::plan::Step::BackupZookeeper`], [`crate::plan::Step::BackupMaster`],
//! [`crate::plan::Step::BackupFinish`]), each recorded before it acts, so an operator
//! killed inside one finds the same backup in progress and carries it on.
//!
//! This module is the pure part: when one is due, what the record says, where each part is
//! stored, which backups retention deletes, and what a part's manifest holds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::plan::ZkMember;
use crate::spec::BackupSpec;

/// The policy the document asks for (`spec.backup`), durations parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPolicy {
    /// A backup before every ZooKeeper or masters version change.
    pub before_upgrade: bool,
    /// A failed backup before a version change blocks it.
    pub block_upgrade_on_failure: bool,
    /// One every this long, if set.
    pub schedule: Option<Duration>,
    /// How many are kept.
    pub keep: u32,
}

impl BackupPolicy {
    /// The policy of a *valid* document's `spec.backup` (a schedule that does not parse,
    /// which validation refuses, counts as none).
    pub fn from_spec(spec: &BackupSpec) -> BackupPolicy {
        BackupPolicy {
            before_upgrade: spec.before_upgrade,
            block_upgrade_on_failure: spec.block_upgrade_on_failure,
            schedule: spec
                .schedule
                .as_deref()
                .and_then(|s| crate::spec::duration::parse(s).ok()),
            keep: spec.keep.max(1),
        }
    }
}

/// Why a backup is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum BackupReason {
    /// `mesos-operator backup NAME`, asked at this time (seconds since the epoch).
    Requested {
        /// When it was asked.
        at: u64,
    },
    /// `spec.backup.schedule` came round.
    Scheduled,
    /// `spec.backup.beforeUpgrade`: the version change to these images waits for it.
    BeforeUpgrade {
        /// The ZooKeeper image the change moves to.
        zookeeper: String,
        /// The masters' image the change moves to.
        masters: String,
    },
}

impl BackupReason {
    /// A short word for events, status and the list.
    pub fn label(&self) -> &'static str {
        match self {
            BackupReason::Requested { .. } => "requested",
            BackupReason::Scheduled => "scheduled",
            BackupReason::BeforeUpgrade { .. } => "before-upgrade",
        }
    }
}

/// One part of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BackupPart {
    /// A ZooKeeper follower's `version-2` directory.
    Zookeeper,
    /// One master's `replicated_log` directory.
    Masters,
}

impl BackupPart {
    /// The object's base name in the backup's folder.
    pub fn object_name(self) -> &'static str {
        match self {
            BackupPart::Zookeeper => "zookeeper.tar",
            BackupPart::Masters => "masters.tar",
        }
    }

    /// The directory copied out of the stopped container.
    pub fn container_path(self) -> &'static str {
        match self {
            BackupPart::Zookeeper => ZK_DATA_PATH,
            BackupPart::Masters => MASTER_LOG_PATH,
        }
    }
}

/// ZooKeeper's transaction logs and snapshots, with `acceptedEpoch` and `currentEpoch`, in
/// the operator's ZooKeeper image (`myid` beside it is the host's and is never copied).
pub const ZK_DATA_PATH: &str = "/var/lib/zookeeper/data/version-2";
/// The master's replicated log under its `--work_dir`.
pub const MASTER_LOG_PATH: &str = "/var/lib/mesos/replicated_log";

/// A backup being taken: which parts are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingBackup {
    /// Its id: the second it started, zero-padded so that ids sort by time ([`new_id`]);
    /// unique per cluster, since one is taken at a time.
    pub id: String,
    /// Why.
    pub reason: BackupReason,
    /// When it started (seconds since the epoch).
    pub started_at: u64,
    /// The host whose ZooKeeper data is stored, once stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper_from: Option<String>,
    /// The host whose master's log is stored, once stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masters_from: Option<String>,
}

/// How the last backup attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupFailure {
    /// The backup's id.
    pub id: String,
    /// Why it was taken.
    pub reason: BackupReason,
    /// What failed.
    pub error: String,
    /// When (seconds since the epoch).
    pub at: u64,
    /// The spec generation it failed under: a new one (a fixed target) tries again.
    pub generation: u64,
}

/// What the operator recorded about backups (part of [`crate::record::Recorded`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupState {
    /// The backup being taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingBackup>,
    /// The last one stored whole: its id and when it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
    /// When the last one started (seconds): the schedule counts from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_started_at: Option<u64>,
    /// The images the last backup before a version change was for: the change to them may go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<(String, String)>,
    /// The last request (`mesos-operator backup`) carried out or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_done: Option<u64>,
    /// The last attempt that failed, until one succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<BackupFailure>,
}

impl BackupState {
    /// Whether the backup `pending` has stored `part`.
    pub fn part_done(&self, part: BackupPart) -> bool {
        self.pending.as_ref().is_some_and(|p| match part {
            BackupPart::Zookeeper => p.zookeeper_from.is_some(),
            BackupPart::Masters => p.masters_from.is_some(),
        })
    }
}

/// What a stored part holds, written beside it (`<part>.json`) when it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartManifest {
    /// Which part.
    pub part: BackupPart,
    /// The host it was copied from.
    pub host: String,
    /// The image that host ran.
    pub image: String,
    /// Bytes of the object.
    pub size: u64,
    /// SHA-256 of the object, hex.
    pub sha256: String,
    /// ZooKeeper's last zxid on the stopped follower (`srvr` right before the stop), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zxid: Option<String>,
    /// ZooKeeper's epoch (`currentEpoch`, the zxid's high 32 bits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// One stored backup, as etcd lists it (`clusters/<name>/backups/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    /// Id.
    pub id: String,
    /// Why it was taken.
    pub reason: BackupReason,
    /// When it started and finished (seconds since the epoch).
    pub started_at: u64,
    /// When it was stored whole.
    pub finished_at: u64,
    /// ZooKeeper's voters when it was taken.
    pub voters: Vec<ZkMember>,
    /// The ZooKeeper part.
    pub zookeeper: PartManifest,
    /// The masters' part.
    pub masters: PartManifest,
    /// Where it is: the target's description (a directory, or `s3://bucket/prefix`).
    pub location: String,
}

impl BackupRecord {
    /// Total bytes stored.
    pub fn size(&self) -> u64 {
        self.zookeeper.size + self.masters.size
    }
}

/// The object key of a part: `<cluster>/<id>/<part>.tar` (and `.json` for its manifest),
/// under the target's prefix.
pub fn object_key(cluster: &str, id: &str, part: BackupPart) -> String {
    format!("{cluster}/{id}/{}", part.object_name())
}

/// The key of a part's manifest.
pub fn manifest_key(cluster: &str, id: &str, part: BackupPart) -> String {
    format!("{}.json", object_key(cluster, id, part))
}

/// The folder of a backup (every object of it is under it).
pub fn backup_prefix(cluster: &str, id: &str) -> String {
    format!("{cluster}/{id}")
}

/// A new backup's id from its start time: sortable, readable, unique per cluster.
pub fn new_id(now: u64) -> String {
    format!("{now:012}")
}

/// Which backup is due now, if any, before version changes are looked at: one a person
/// asked for (`requested_at`, newer than the last carried out) or the schedule's. A backup in
/// progress is carried on whatever the policy says now.
pub fn due(
    policy: &BackupPolicy,
    state: &BackupState,
    requested_at: Option<u64>,
    now: u64,
) -> Option<BackupReason> {
    if let Some(at) = requested_at.filter(|at| state.request_done.is_none_or(|d| d < *at)) {
        return Some(BackupReason::Requested { at });
    }
    let every = policy.schedule?;
    let last = state.last_started_at.unwrap_or(0);
    let failed_recently = state
        .failure
        .as_ref()
        .is_some_and(|f| f.reason == BackupReason::Scheduled && now < f.at + every.as_secs());
    (now >= last + every.as_secs() && !failed_recently).then_some(BackupReason::Scheduled)
}

/// Backups retention deletes: the oldest beyond `keep` (ids sort by time).
pub fn beyond_retention(ids: &[String], keep: u32) -> Vec<String> {
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    let excess = sorted.len().saturating_sub(keep as usize);
    sorted.into_iter().take(excess).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(schedule: Option<u64>) -> BackupPolicy {
        BackupPolicy {
            before_upgrade: true,
            block_upgrade_on_failure: true,
            schedule: schedule.map(Duration::from_secs),
            keep: 3,
        }
    }

    #[test]
    fn a_request_is_carried_out_once() {
        let mut s = BackupState::default();
        assert_eq!(
            due(&policy(None), &s, Some(100), 200),
            Some(BackupReason::Requested { at: 100 })
        );
        s.request_done = Some(100);
        assert_eq!(due(&policy(None), &s, Some(100), 200), None);
        assert_eq!(
            due(&policy(None), &s, Some(150), 200),
            Some(BackupReason::Requested { at: 150 })
        );
    }

    #[test]
    fn the_schedule_counts_from_the_last_start_and_waits_a_period_after_a_failure() {
        let mut s = BackupState {
            last_started_at: Some(1000),
            ..Default::default()
        };
        assert_eq!(due(&policy(Some(60)), &s, None, 1059), None);
        assert_eq!(
            due(&policy(Some(60)), &s, None, 1060),
            Some(BackupReason::Scheduled)
        );
        assert_eq!(due(&policy(None), &s, None, 99_999), None, "no schedule");
        s.failure = Some(BackupFailure {
            id: "x".into(),
            reason: BackupReason::Scheduled,
            error: "disk full".into(),
            at: 1070,
            generation: 1,
        });
        assert_eq!(due(&policy(Some(60)), &s, None, 1100), None);
        assert_eq!(
            due(&policy(Some(60)), &s, None, 1130),
            Some(BackupReason::Scheduled)
        );
    }

    #[test]
    fn retention_deletes_the_oldest_beyond_keep() {
        let ids: Vec<String> = [
            "000000000300",
            "000000000100",
            "000000000200",
            "000000000400",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            beyond_retention(&ids, 2),
            ["000000000100", "000000000200"].map(String::from).to_vec()
        );
        assert!(beyond_retention(&ids, 4).is_empty());
        assert!(beyond_retention(&ids, 10).is_empty());
    }

    #[test]
    fn ids_sort_by_time_and_keys_name_cluster_id_and_part() {
        assert!(new_id(99) < new_id(1_000));
        assert_eq!(
            object_key("c7", &new_id(5), BackupPart::Zookeeper),
            "c7/000000000005/zookeeper.tar"
        );
        assert_eq!(
            manifest_key("c7", "1", BackupPart::Masters),
            "c7/1/masters.tar.json"
        );
    }
}
