//! ZooKeeper dynamic reconfiguration, authenticated as the cluster's digest super user and
//! conditional on the config version the plan was made from.
//!
//! The reply to a reconfig can be lost although the change committed (removing the leader
//! drops the session). So an error is never taken at its word: the committed config is read
//! again (after a `sync`), and the operation counts as done when the change is in it.

use std::time::Duration;

use zookeeper_client as zk;

use super::ActError;
use crate::secrets::Secret;

/// Deadline of connecting, authenticating and reconfiguring.
const ZK_TIMEOUT: Duration = Duration::from_secs(15);

async fn connect(connect: &[String], auth: Option<&Secret>) -> Result<zk::Client, ActError> {
    let mut c = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .with_connection_timeout(Duration::from_secs(5));
    if let Some(s) = auth {
        c = c.with_auth("digest", super::zk_auth::credential(s)?.as_bytes());
    }
    let joined = connect.join(",");
    c.connect(&joined)
        .await
        .map_err(|e| ActError::Zookeeper(format!("cannot connect to {joined}: {e}")))
}

/// Whether the committed config already has the change: `joining`'s id as a participant,
/// `leaving` absent.
fn applied(config: &str, joining: Option<&str>, leaving: Option<u64>) -> bool {
    let ids: Vec<(u64, bool)> = config
        .lines()
        .filter_map(|l| l.strip_prefix("server."))
        .filter_map(|l| {
            let (id, rest) = l.split_once('=')?;
            Some((id.parse().ok()?, !rest.contains(":observer")))
        })
        .collect();
    let join_ok = joining
        .and_then(|j| j.strip_prefix("server."))
        .and_then(|j| j.split_once('='))
        .and_then(|(id, _)| id.parse::<u64>().ok())
        .is_none_or(|id| ids.iter().any(|(i, voter)| *i == id && *voter));
    let leave_ok = leaving.is_none_or(|id| ids.iter().all(|(i, _)| *i != id));
    join_ok && leave_ok
}

async fn committed_config(client: &zk::Client) -> Result<String, ActError> {
    let _ = client.sync("/zookeeper/config").await;
    let (data, _) = client
        .get_config()
        .await
        .map_err(|e| ActError::Zookeeper(format!("cannot read /zookeeper/config: {e}")))?;
    Ok(String::from_utf8_lossy(&data).into_owned())
}

pub(super) async fn reconfig(
    connect_to: &[String],
    joining: Option<&str>,
    leaving: Option<u64>,
    expected_version: u64,
    auth: Option<&Secret>,
) -> Result<(), ActError> {
    let work = async {
        let client = connect(connect_to, auth).await?;
        let joinings: Vec<&str> = joining.into_iter().collect();
        let leaving_text = leaving.map(|id| id.to_string());
        let leavings: Vec<&str> = leaving_text.iter().map(String::as_str).collect();
        let update = zk::EnsembleUpdate::Incremental {
            joinings: joinings.iter().copied(),
            leavings: leavings.iter().copied(),
        };
        let version = i64::try_from(expected_version).map_err(|_| {
            ActError::Zookeeper(format!("config version {expected_version:#x} out of range"))
        })?;
        let result = client.update_ensemble(update, Some(version)).await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                // The change may have committed though the reply was lost, or an earlier
                // attempt of this very step did it: look before calling it a failure.
                let seen = match connect(connect_to, auth).await {
                    Ok(fresh) => committed_config(&fresh).await.ok(),
                    Err(_) => None,
                };
                if seen
                    .as_deref()
                    .is_some_and(|c| applied(c, joining, leaving))
                {
                    Ok(())
                } else if matches!(e, zk::Error::NoAuth) {
                    Err(ActError::Zookeeper(
                        "reconfig refused (NoAuth): set spec.zookeeper.superDigest to a secret holding user:password".into(),
                    ))
                } else {
                    Err(ActError::Zookeeper(format!(
                        "reconfig (expected config version {expected_version:#x}) failed: {e}"
                    )))
                }
            }
        }
    };
    tokio::time::timeout(ZK_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(ActError::Zookeeper(format!(
                "no answer within {}s",
                ZK_TIMEOUT.as_secs()
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::applied;

    const CFG: &str = "server.1=10.0.0.2:2888:3888:participant;0.0.0.0:2181\nserver.2=10.0.0.3:2888:3888:participant;0.0.0.0:2181\nversion=100000002\n";

    #[test]
    fn a_change_already_in_the_committed_config_counts_as_done() {
        assert!(applied(
            CFG,
            Some("server.2=10.0.0.3:2888:3888:participant;0.0.0.0:2181"),
            None
        ));
        assert!(!applied(
            CFG,
            Some("server.3=10.0.0.4:2888:3888:participant;0.0.0.0:2181"),
            None
        ));
        assert!(applied(CFG, None, Some(3)));
        assert!(!applied(CFG, None, Some(1)));
    }
}
