//! ZooKeeper dynamic reconfiguration, authenticated as the cluster's digest super user and
//! conditional on the config version the plan was made from.
//!
//! The reply to a reconfig can be lost although the change committed (removing the leader
//! drops the session). So an error is never taken at its word: the committed config is read
//! again (after a `sync`), and the operation counts as done when the change is in it.

use std::time::Duration;

use zookeeper_client as zk;

use super::ActError;
use crate::election::Fence;
use crate::secrets::Secret;

/// Deadline of one server's attempt: connecting, authenticating, reconfiguring, and the
/// look at the committed config after an error.
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

/// Whether the committed config already has the change: a config newer than the one it
/// was planned from (a server's own file, which a joiner may answer with, has the version
/// it started with), with `joining`'s id as a participant and `leaving` absent.
fn applied(config: &str, expected: i64, joining: Option<&str>, leaving: Option<u64>) -> bool {
    let newer = config
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .and_then(|v| i64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|v| v > expected);
    if !newer {
        return false;
    }
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

/// The servers a reconfig may be sent through, in the order tried: the committed voters
/// as planned (serving ones first), then a joiner's own client address. Whether a session
/// is the super user is decided by the server it is connected to, from the digest that
/// server read at its start; while a rotated digest rolls out, or when a membership change
/// meets a rotation, only some servers hold the digest of the secret the operator has. A
/// joiner was started with the current secret, so a change that grows the ensemble in the
/// middle of a rotation always has one server that accepts it.
fn candidates(connect: &[String], joining: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let joiner = joining.and_then(joiner_client_address);
    for a in connect.iter().cloned().chain(joiner) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// `addr:client_port` of a server line `server.N=addr:peer:election:role;bind:client_port`.
fn joiner_client_address(line: &str) -> Option<String> {
    let (_, rest) = line.split_once('=')?;
    let (peers, client) = rest.split_once(';')?;
    let addr = match peers.strip_prefix('[') {
        // An IPv6 address in brackets keeps them.
        Some(v6) => format!("[{}]", v6.split_once(']')?.0),
        None => peers.split(':').next()?.to_string(),
    };
    let port = client.rsplit(':').next()?;
    if addr.is_empty() || port.parse::<u16>().is_err() {
        return None;
    }
    Some(format!("{addr}:{port}"))
}

/// How a reconfig through one server ended.
#[derive(Debug)]
enum Attempt {
    /// Committed (now, or by an earlier attempt whose reply was lost).
    Done,
    /// The server does not take the credential as the super user's.
    NoAuth,
    /// The server could not be asked (down, cut off, timed out): the next one may be.
    Unavailable(String),
    /// The ensemble refused the change itself (stale version, no quorum for it, ...):
    /// asking another server would get the same answer.
    Refused(zk::Error),
}

/// Errors that say nothing about the change, only about the server or the session.
fn server_side(e: &zk::Error) -> bool {
    matches!(
        e,
        zk::Error::ConnectionLoss
            | zk::Error::SessionExpired
            | zk::Error::SessionMoved
            | zk::Error::Timeout
            | zk::Error::NoHosts
            | zk::Error::ClientClosed
            | zk::Error::NotReadOnly
            | zk::Error::Throttled
    )
}

async fn attempt(
    server: &str,
    joining: Option<&str>,
    leaving: Option<u64>,
    version: i64,
    auth: Option<&Secret>,
) -> Attempt {
    let only = [server.to_string()];
    let client = match connect(&only, auth).await {
        Ok(c) => c,
        Err(e) => return Attempt::Unavailable(e.to_string()),
    };
    let joinings: Vec<&str> = joining.into_iter().collect();
    let leaving_text = leaving.map(|id| id.to_string());
    let leavings: Vec<&str> = leaving_text.iter().map(String::as_str).collect();
    let update = zk::EnsembleUpdate::Incremental {
        joinings: joinings.iter().copied(),
        leavings: leavings.iter().copied(),
    };
    let e = match client.update_ensemble(update, Some(version)).await {
        Ok(_) => return Attempt::Done,
        Err(e) => e,
    };
    // The change may have committed though the reply was lost, or an earlier attempt of
    // this very step did it: look before calling it a failure. (Reading the config needs
    // no super user, so a server that refused the credential can still say.)
    let seen = match connect(&only, auth).await {
        Ok(fresh) => committed_config(&fresh).await.ok(),
        Err(_) => None,
    };
    if seen
        .as_deref()
        .is_some_and(|c| applied(c, version, joining, leaving))
    {
        Attempt::Done
    } else if matches!(e, zk::Error::NoAuth) {
        Attempt::NoAuth
    } else if server_side(&e) {
        Attempt::Unavailable(e.to_string())
    } else {
        Attempt::Refused(e)
    }
}

/// The error when every server was tried and none made the change. Names the secret and
/// the servers, never the credential or the digest.
fn none_accepted(refused: &[String], unavailable: &[String], auth: Option<&Secret>) -> ActError {
    let mut parts = Vec::new();
    if !refused.is_empty() {
        parts.push(match auth {
            Some(s) => format!(
                "refused (NoAuth) by {}: none of them takes the credential in secret {} as the super user (a server reads the digest when it starts); if that secret was rotated, wait for the rolling restart of the ZooKeeper servers to finish, or, if the operator cannot finish it first, store the previous value again with `mesos-operator secret set {} --from-file FILE` and rotate once the membership change is done",
                refused.join(", "),
                s.name(),
                s.name()
            ),
            None => format!(
                "refused (NoAuth) by {}: set spec.zookeeper.superDigest to a secret holding user:password",
                refused.join(", ")
            ),
        });
    }
    if !unavailable.is_empty() {
        parts.push(format!("not reached: {}", unavailable.join("; ")));
    }
    if parts.is_empty() {
        parts.push("no server to connect to".into());
    }
    ActError::Zookeeper(format!("reconfig {}", parts.join("; ")))
}

/// Reconfigures through the first server that accepts the credential ([`candidates`], one
/// at a time). A server that refuses it (NoAuth) or cannot be reached changes nothing, so
/// the next is asked; the change is conditional on `expected_version`, so asking again
/// after a lost reply can never apply it twice. A refusal of the change itself ends it.
pub(super) async fn reconfig(
    connect_to: &[String],
    joining: Option<&str>,
    leaving: Option<u64>,
    expected_version: u64,
    auth: Option<&Secret>,
    fence: &Fence,
) -> Result<(), ActError> {
    let version = i64::try_from(expected_version).map_err(|_| {
        ActError::Zookeeper(format!("config version {expected_version:#x} out of range"))
    })?;
    let mut refused = Vec::new();
    let mut unavailable = Vec::new();
    for server in candidates(connect_to, joining) {
        // Each server may take its whole deadline: a replica deposed meanwhile must not
        // send the change through the next one (another leader may have planned another
        // change from the same config version).
        fence.ensure()?;
        let outcome = tokio::time::timeout(
            ZK_TIMEOUT,
            attempt(&server, joining, leaving, version, auth),
        )
        .await
        .unwrap_or_else(|_| {
            Attempt::Unavailable(format!("no answer within {}s", ZK_TIMEOUT.as_secs()))
        });
        match outcome {
            Attempt::Done => return Ok(()),
            Attempt::NoAuth => {
                tracing::info!(%server, "this ZooKeeper server refused the super user's credential (NoAuth); trying the next");
                refused.push(server);
            }
            Attempt::Unavailable(why) => {
                tracing::info!(%server, reason = %why, "ZooKeeper server not reached for the reconfig; trying the next");
                unavailable.push(format!("{server}: {why}"));
            }
            Attempt::Refused(e) => {
                return Err(ActError::Zookeeper(format!(
                    "reconfig (expected config version {expected_version:#x}) through {server} failed: {e}"
                )))
            }
        }
    }
    Err(none_accepted(&refused, &unavailable, auth))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "server.1=10.0.0.2:2888:3888:participant;0.0.0.0:2181\nserver.2=10.0.0.3:2888:3888:participant;0.0.0.0:2181\nversion=100000002\n";

    #[test]
    fn a_change_already_in_the_committed_config_counts_as_done() {
        let planned_from = 0x100000001;
        assert!(applied(
            CFG,
            planned_from,
            Some("server.2=10.0.0.3:2888:3888:participant;0.0.0.0:2181"),
            None
        ));
        assert!(!applied(
            CFG,
            planned_from,
            Some("server.3=10.0.0.4:2888:3888:participant;0.0.0.0:2181"),
            None
        ));
        assert!(applied(CFG, planned_from, None, Some(3)));
        assert!(!applied(CFG, planned_from, None, Some(1)));
        // The config the change was planned from (a joiner answering with its own file,
        // which names itself) is not the change done.
        assert!(!applied(
            CFG,
            0x100000002,
            Some("server.2=10.0.0.3:2888:3888:participant;0.0.0.0:2181"),
            None
        ));
    }

    #[test]
    fn the_voters_are_tried_first_then_the_joiner_which_holds_the_current_digest() {
        let voters = vec!["10.0.0.2:2181".to_string(), "10.0.0.3:2181".to_string()];
        assert_eq!(
            candidates(
                &voters,
                Some("server.4=10.0.0.5:2888:3888:participant;0.0.0.0:2181")
            ),
            ["10.0.0.2:2181", "10.0.0.3:2181", "10.0.0.5:2181"]
        );
        // A removal has no joiner; a joiner already listed is not asked twice.
        assert_eq!(candidates(&voters, None), voters);
        assert_eq!(
            candidates(
                &voters,
                Some("server.4=10.0.0.3:2888:3888:participant;0.0.0.0:2181")
            ),
            voters
        );
        assert_eq!(
            joiner_client_address("server.7=[fd00::7]:2888:3888:participant;[::]:2281").as_deref(),
            Some("[fd00::7]:2281")
        );
        assert_eq!(joiner_client_address("server.7=10.0.0.9:2888:3888"), None);
    }

    #[test]
    fn no_server_accepting_the_credential_names_the_secret_and_the_fix_never_its_bytes() {
        let s = Secret::new("zk-super", b"super:hunter2-rotated".to_vec());
        let e = none_accepted(
            &["10.0.0.2:2181".into(), "10.0.0.3:2181".into()],
            &["10.0.0.4:2181: cannot connect".into()],
            Some(&s),
        )
        .to_string();
        for want in [
            "NoAuth",
            "10.0.0.2:2181, 10.0.0.3:2181",
            "secret zk-super",
            "secret set zk-super",
            "rolling restart",
            "not reached: 10.0.0.4:2181",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
        assert!(!e.contains("hunter2"), "{e}");
        let digest = String::from_utf8(crate::act::zk_auth::super_digest(&s).unwrap()).unwrap();
        assert!(!e.contains(&digest), "{e}");
        let without = none_accepted(&["10.0.0.2:2181".into()], &[], None).to_string();
        assert!(
            without.contains("set spec.zookeeper.superDigest"),
            "{without}"
        );
    }

    #[test]
    fn only_errors_of_the_server_or_session_move_on_to_the_next_server() {
        assert!(server_side(&zk::Error::ConnectionLoss));
        assert!(server_side(&zk::Error::SessionExpired));
        // The ensemble's answer to the change: the same through any server.
        assert!(!server_side(&zk::Error::BadVersion));
        assert!(!server_side(&zk::Error::ReconfigDisabled));
        assert!(!server_side(&zk::Error::NoAuth));
    }
}
