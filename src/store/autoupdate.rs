//! The automation's state of a cluster (`clusters/<name>/autoupdate`): written by the
//! leader under the fence, and by the command line (approvals, resumes, denylist removals),
//! each with a compare-and-swap on the revision it read, so neither loses the other's write.

use mesos_operator_core::autoupdate::AutoUpdateState;

use super::{Store, StoreError, MAX_RETRIES};
use crate::election::WriteGuard;

/// The state as read, with the revision a write compares against (0: absent).
#[derive(Debug, Clone, Default)]
pub struct AutoUpdateAt {
    /// The state.
    pub state: AutoUpdateState,
    /// `mod_revision` when read.
    pub mod_revision: i64,
}

impl Store {
    /// Key of a cluster's automation state.
    pub fn autoupdate_key(&self, name: &str) -> String {
        self.key(&format!("clusters/{name}/autoupdate"))
    }

    /// The automation state; absent is empty, unreadable is an error (a default would
    /// forget the denylist and retry a tag that failed).
    pub async fn autoupdate(&self, name: &str) -> Result<AutoUpdateAt, StoreError> {
        let (state, mod_revision) = self.read_json_at(self.autoupdate_key(name)).await?;
        Ok(AutoUpdateAt {
            state,
            mod_revision,
        })
    }

    /// Writes the state if it is still at `at.mod_revision`: fenced when `guard` is given
    /// (the leader), a plain compare-and-swap otherwise (the command line).
    pub async fn put_autoupdate(
        &self,
        guard: Option<&WriteGuard>,
        name: &str,
        at: &AutoUpdateAt,
        state: &AutoUpdateState,
    ) -> Result<AutoUpdateAt, StoreError> {
        let key = self.autoupdate_key(name);
        match self.put_json_at(guard, key, at.mod_revision, state).await? {
            Some(rev) => Ok(AutoUpdateAt {
                state: state.clone(),
                mod_revision: rev,
            }),
            None => Err(StoreError::Conflict(format!(
                "the automation state of {name} was changed by someone else"
            ))),
        }
    }

    /// Read-modify-write of the state from the command line, retried on a conflict with
    /// the operator's writes. `change` returns what it did, or an error that leaves the
    /// state alone.
    pub async fn update_autoupdate<F, T>(&self, name: &str, change: F) -> Result<T, StoreError>
    where
        F: Fn(&mut AutoUpdateState) -> Result<T, StoreError>,
    {
        let mut last = String::new();
        for _ in 0..MAX_RETRIES {
            let at = self.autoupdate(name).await?;
            let mut state = at.state.clone();
            let out = change(&mut state)?;
            if state == at.state {
                return Ok(out);
            }
            match self.put_autoupdate(None, name, &at, &state).await {
                Ok(_) => return Ok(out),
                Err(StoreError::Conflict(m)) => last = m,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(last))
    }
}
