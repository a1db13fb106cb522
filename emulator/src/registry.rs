//! The master's registry as Mesos keeps it: in the replicated log under
//! `<work_dir>/replicated_log`, one copy on every master, recovered at start.
//!
//! What the emulator stores is the part of the registry the operator and its tests rely on:
//! the admitted agents and the maintenance state (the schedule and each machine's mode). Each
//! write carries a position that only grows, as a log position does; the leader writes its
//! own copy and every replica's before it answers, and a master that becomes leader recovers
//! the copy with the highest position among its own and its replicas' (a quorum of them), as
//! the real registrar recovers the log. A master whose work dir was wiped catches up from the
//! leader's next write, as an empty replica does. So a log restored into the work dirs (a
//! backup) is what a restarted cluster knows, and a wiped one (a quorum change) is gone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file, under the work dir, that holds this master's copy.
pub const FILE: &str = "replicated_log/registry.json";

/// An agent admitted to the cluster, as the registry keeps it (`Registry::Slave`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdmittedAgent {
    /// Agent id.
    pub id: String,
    /// Host name it registered with.
    pub hostname: String,
    /// Address it registered with.
    pub ip: String,
    /// Its port.
    pub port: u64,
    /// Its libprocess pid.
    pub pid: String,
    /// Its version when admitted.
    pub version: String,
    /// When it was first registered.
    pub registered_time: f64,
}

/// One machine under maintenance: host name, address and mode (`DRAINING` or `DOWN`).
pub type MachineEntry = (String, String, String);

/// What is in the log, and at which position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// The log position of this copy: 0 for an empty log.
    pub position: u64,
    /// The admitted agents.
    #[serde(default)]
    pub agents: Vec<AdmittedAgent>,
    /// The maintenance schedule as posted (`/master/maintenance/schedule`).
    #[serde(default)]
    pub schedule: Value,
    /// The machines in maintenance.
    #[serde(default)]
    pub machines: Vec<MachineEntry>,
}

impl Registry {
    /// Whether `self` and `other` hold the same contents, whatever their positions.
    pub fn same_contents(&self, other: &Registry) -> bool {
        self.agents == other.agents
            && self.schedule == other.schedule
            && self.machines == other.machines
    }
}

/// The path of the copy under `work_dir`.
pub fn path(work_dir: &str) -> PathBuf {
    Path::new(work_dir).join(FILE)
}

/// This master's copy: an empty log (position 0) when there is none; an error when the file
/// is there but unreadable, as a corrupt log stops a real master.
pub fn load(work_dir: &str) -> Result<Registry, String> {
    let p = path(work_dir);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "Failed to recover the replicated log at {}: {e}",
                p.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry::default()),
        Err(e) => Err(format!("Failed to read {}: {e}", p.display())),
    }
}

/// Writes `registry` as this master's copy (a new file renamed over the old one, so a crash
/// leaves one or the other whole).
pub fn store(work_dir: &str, registry: &Registry) -> Result<(), String> {
    let p = path(work_dir);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = p.with_extension("json.tmp");
    let bytes = serde_json::to_vec(registry).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &p).map_err(|e| format!("{}: {e}", p.display()))
}

/// Accepts a write from the leader when it is not older than this copy; `Ok(false)`: kept
/// the newer copy it has.
pub fn accept(work_dir: &str, incoming: &Registry) -> Result<bool, String> {
    let mine = load(work_dir).unwrap_or_default();
    if incoming.position < mine.position {
        return Ok(false);
    }
    store(work_dir, incoming).map(|()| true)
}

/// The copy a recovering leader takes: the highest position among those it read.
pub fn newest(copies: impl IntoIterator<Item = Registry>) -> Registry {
    copies
        .into_iter()
        .max_by_key(|r| r.position)
        .unwrap_or_default()
}

/// The address (`ip:port`) of a replica from its `log_replicas` node
/// (`log-replica(1)@10.0.0.11:5050`).
pub fn replica_address(node_data: &str) -> Option<String> {
    let (_, addr) = node_data.trim().split_once('@')?;
    (!addr.is_empty()).then(|| addr.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent(id: &str) -> AdmittedAgent {
        AdmittedAgent {
            id: id.into(),
            hostname: "a1".into(),
            ip: "10.0.0.21".into(),
            port: 5051,
            pid: "slave(1)@10.0.0.21:5051".into(),
            version: "1.11.0".into(),
            registered_time: 1.0,
        }
    }

    fn temp_dir(name: &str) -> String {
        let d =
            std::env::temp_dir().join(format!("emulator-registry-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.to_string_lossy().into_owned()
    }

    #[test]
    fn a_stored_registry_is_what_a_restarted_master_loads() {
        let dir = temp_dir("roundtrip");
        assert_eq!(load(&dir).unwrap(), Registry::default(), "no log: empty");
        let r = Registry {
            position: 3,
            agents: vec![agent("S0")],
            schedule: json!({"windows": []}),
            machines: vec![("a1".into(), "10.0.0.21".into(), "DOWN".into())],
        };
        store(&dir, &r).unwrap();
        assert_eq!(load(&dir).unwrap(), r);
        assert!(path(&dir).ends_with("replicated_log/registry.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_replica_keeps_its_newer_copy_and_takes_a_newer_one() {
        let dir = temp_dir("accept");
        let newer = Registry {
            position: 5,
            agents: vec![agent("S1")],
            ..Default::default()
        };
        store(&dir, &newer).unwrap();
        let older = Registry {
            position: 4,
            ..Default::default()
        };
        assert!(!accept(&dir, &older).unwrap());
        assert_eq!(load(&dir).unwrap(), newer);
        let newest_one = Registry {
            position: 6,
            ..Default::default()
        };
        assert!(accept(&dir, &newest_one).unwrap());
        assert_eq!(load(&dir).unwrap().position, 6);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_log_is_an_error_not_an_empty_registry() {
        let dir = temp_dir("corrupt");
        std::fs::create_dir_all(path(&dir).parent().unwrap()).unwrap();
        std::fs::write(path(&dir), b"{not json").unwrap();
        let e = load(&dir).unwrap_err();
        assert!(e.contains("Failed to recover the replicated log"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn recovery_takes_the_highest_position() {
        let copies = [3, 9, 0].map(|p| Registry {
            position: p,
            ..Default::default()
        });
        assert_eq!(newest(copies).position, 9);
        assert_eq!(newest([]).position, 0);
    }

    #[test]
    fn a_replica_node_names_its_address() {
        assert_eq!(
            replica_address("log-replica(1)@10.0.0.11:5050").as_deref(),
            Some("10.0.0.11:5050")
        );
        assert_eq!(replica_address("garbage"), None);
    }

    #[test]
    fn positions_do_not_make_contents_differ() {
        let a = Registry {
            position: 1,
            agents: vec![agent("S0")],
            ..Default::default()
        };
        let b = Registry {
            position: 2,
            ..a.clone()
        };
        assert!(a.same_contents(&b));
        assert!(!a.same_contents(&Registry::default()));
    }
}
