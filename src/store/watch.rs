//! The etcd side of the loop: list the clusters, then watch their keys from the revision
//! the list was read at, so no change between the two is missed. A broken watch resumes
//! from the last revision seen; a compacted one relists everything.

use std::time::Duration;

use etcd_client::{EventType, WatchOptions};
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use futures_util::stream::BoxStream;

use super::{cluster_of_spec_key, Store, Wake};

/// `<prefix>clusters/<name>/<anything>` → `name`, for keys that wake a reconcile (the spec
/// a deletion request and the automation's state; not the operator's own status, record,
/// events or kept volumes). A state kept after a delete wakes a reconcile that finds no
/// spec and forgets the cluster: once per write, never a loop.
fn waking_cluster(prefix: &str, key: &[u8]) -> Option<String> {
    if let Some(n) = cluster_of_spec_key(prefix, key) {
        return Some(n);
    }
    let k = std::str::from_utf8(key).ok()?;
    let rest = k.strip_prefix(prefix)?;
    // A deletion request, and the automation's state (a scan found tags, a person approved
    // or resumed).
    let name = rest
        .strip_suffix("/deletion")
        .or_else(|| rest.strip_suffix("/autoupdate"))?;
    (!name.contains('/')).then(|| name.to_string())
}

/// The wakes of the clusters under `store`'s prefix, for as long as the stream is held (the
/// watcher task ends when its receiver is dropped).
pub fn wakes(store: Store, ready: watch::Sender<bool>) -> BoxStream<'static, Wake> {
    let (tx, rx) = mpsc::channel::<Wake>(1024);
    let gone = tx.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = watch_clusters(store, tx, ready) => {}
            () = gone.closed() => {}
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|w| (w, rx))
    }))
}

/// Lists and watches until the receiver is gone. `ready` says whether etcd answers.
async fn watch_clusters(store: Store, tx: mpsc::Sender<Wake>, ready: watch::Sender<bool>) {
    let prefix = store.clusters_prefix();
    let mut retry = Duration::from_millis(200);
    // None: list first.
    let mut resume_from: Option<i64> = None;
    loop {
        // Not watching (yet, or any more): changes may be missed, nothing is kept.
        store.specs.set_live(false);
        let start = match resume_from {
            Some(r) => r,
            None => match store.cluster_names().await {
                Ok((names, rev)) => {
                    let _ = ready.send(true);
                    for n in names {
                        if tx.send(Wake::Cluster(n)).await.is_err() {
                            return;
                        }
                    }
                    rev + 1
                }
                Err(e) => {
                    let _ = ready.send(false);
                    warn!(error = %e, "cannot list clusters in etcd; retrying");
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(Duration::from_secs(10));
                    continue;
                }
            },
        };
        let mut client = store.client();
        let opened = tokio::time::timeout(
            Duration::from_secs(10),
            client.watch(
                prefix.clone(),
                Some(WatchOptions::new().with_prefix().with_start_revision(start)),
            ),
        )
        .await;
        let mut stream = match opened {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                let _ = ready.send(false);
                warn!(error = %e, "cannot watch etcd; retrying");
                resume_from = Some(start);
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(Duration::from_secs(10));
                continue;
            }
            Err(_) => {
                let _ = ready.send(false);
                warn!("etcd did not open a watch in time; retrying");
                resume_from = Some(start);
                continue;
            }
        };
        let _ = ready.send(true);
        // From here every spec change reaches this loop: kept port answers may be used.
        store.specs.set_live(true);
        retry = Duration::from_millis(200);
        let mut next = start;
        loop {
            match stream.message().await {
                Ok(Some(resp)) => {
                    if resp.compact_revision() > 0 {
                        warn!(
                            compacted = resp.compact_revision(),
                            "the watch fell behind a compaction; listing every cluster again"
                        );
                        resume_from = None;
                        break;
                    }
                    if resp.canceled() {
                        resume_from = Some(next);
                        break;
                    }
                    for ev in resp.events() {
                        let Some(kv) = ev.kv() else { continue };
                        next = next.max(kv.mod_revision() + 1);
                        if cluster_of_spec_key(&prefix, kv.key()).is_some() {
                            store.specs.changed();
                        }
                        if let Some(name) = waking_cluster(&prefix, kv.key()) {
                            debug!(cluster = %name, "woken by etcd");
                            let wake = match ev.event_type() {
                                EventType::Put => Wake::Cluster(name),
                                EventType::Delete => Wake::Deleted(name),
                            };
                            if tx.send(wake).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Ok(None) | Err(_) => {
                    let _ = ready.send(false);
                    warn!("the etcd watch broke; resuming from revision {next}");
                    resume_from = Some(next);
                    tokio::time::sleep(retry).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_specs_and_deletion_requests_wake_a_reconcile() {
        let p = "/mo/clusters/";
        assert_eq!(
            waking_cluster(p, b"/mo/clusters/c1/spec"),
            Some("c1".into())
        );
        assert_eq!(
            waking_cluster(p, b"/mo/clusters/c1/deletion"),
            Some("c1".into())
        );
        assert_eq!(waking_cluster(p, b"/mo/clusters/c1/status"), None);
        assert_eq!(waking_cluster(p, b"/mo/clusters/c1/history/3"), None);
        assert_eq!(waking_cluster(p, b"/mo/clusters/c1/record"), None);
        assert_eq!(waking_cluster(p, b"/mo/clusters/c1/kept-volumes"), None);
    }
}
