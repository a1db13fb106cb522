//! What the operator itself wrote to etcd before acting: the highest ZooKeeper server id
//! ever handed out and the step in flight. Kept apart from [`crate::observed`], which is only
//! what was seen: a record that cannot be read stops a reconcile, it never defaults (a `0`
//! for the highest id would hand an id out twice).

use serde::{Deserialize, Serialize};

use crate::plan::Step;

/// The step being carried out, written before its first operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightStep {
    /// The step.
    pub step: Step,
    /// When it started (seconds since the epoch).
    pub started_at: u64,
    /// The spec generation it was planned from.
    pub generation: u64,
}

/// The operator's own durable memory of one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// Highest ZooKeeper server id ever handed out in this cluster (None: none yet).
    #[serde(default)]
    pub zk_highest_id: Option<u64>,
    /// The step in flight, if a step started and did not finish.
    #[serde(default)]
    pub in_flight: Option<InFlightStep>,
}

impl Recorded {
    /// The record that must be durable before `step` touches the fleet: the step in
    /// flight, and a new ZooKeeper id counted as handed out.
    pub fn before(&self, step: &Step, now: u64, generation: u64) -> Recorded {
        let mut r = self.clone();
        if let Step::ZkStartServer { id, .. } = step {
            r.zk_highest_id = Some(r.zk_highest_id.unwrap_or(0).max(*id));
        }
        r.in_flight = Some(InFlightStep {
            step: step.clone(),
            started_at: now,
            generation,
        });
        r
    }

    /// The record once the step's operations all succeeded.
    pub fn after(&self) -> Recorded {
        Recorded {
            in_flight: None,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ZkMember;

    #[test]
    fn a_started_server_id_is_recorded_before_it_is_used_and_never_lowered() {
        let r = Recorded {
            zk_highest_id: Some(7),
            in_flight: None,
        };
        let step = Step::ZkStartServer {
            host: "h".into(),
            id: 3,
            ensemble: vec![ZkMember {
                id: 3,
                host: "h".into(),
                address: "a".into(),
            }],
        };
        assert_eq!(r.before(&step, 1, 1).zk_highest_id, Some(7));
        let step = Step::ZkStartServer {
            host: "h".into(),
            id: 8,
            ensemble: vec![],
        };
        let b = r.before(&step, 1, 1);
        assert_eq!(b.zk_highest_id, Some(8));
        assert!(b.in_flight.is_some());
        assert_eq!(b.after().zk_highest_id, Some(8));
        assert!(b.after().in_flight.is_none());
    }
}
