//! Registry scans: each component whose policy is not `off` asks the registry for its
//! repository's tags every `scanInterval` (plus a jitter drawn once per scan), and the tags
//! and when they were first seen go into the cluster's automation state.
//!
//! A scan runs as its own task, never inside a reconcile: a slow or hanging registry costs
//! that task its timeouts and nothing else. The reconcile only starts it when one is due
//! and none is running.

use std::time::Duration;

use mesos_operator_core::autoupdate::select::select;
use mesos_operator_core::autoupdate::{AutoUpdateState, Policy};
use mesos_operator_core::spec::image::ImageRef;
use mesos_operator_core::spec::{AutoUpdateMode, Component, MesosCluster};
use rand::Rng;
use tracing::{debug, info, warn};

use super::registry::{RegistryClient, RegistryError};
use std::sync::Arc;

use crate::clock::Clock;
use crate::election::Fence;
use crate::metrics::Metrics;
use crate::secrets::{Secret, SecretSource};
use crate::store::{ClusterStore, StoreError};

/// A whole scan of one cluster, every component included, is given up after this long.
pub const SCAN_DEADLINE: Duration = Duration::from_secs(120);

/// The system's bundle of public roots, used when the document names no registry CA.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What a scan needs, cloned out of the loop's context so the task owns it.
#[derive(Clone)]
pub struct ScanCtx {
    /// Where the state goes.
    pub store: Arc<dyn ClusterStore>,
    /// When a scan ended.
    pub clock: Arc<dyn Clock>,
    /// Registry CA and credentials.
    pub secrets: SecretSource,
    /// Scan counters.
    pub metrics: Metrics,
    /// Only the leader writes.
    pub fence: Fence,
}

/// What can stop a scan of one component.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A secret the registry access names is missing or unreadable.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The registry CA is not usable.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The image names no registry.
    #[error("{0}")]
    NoRegistry(String),
}

impl ScanError {
    fn metric_label(&self) -> &'static str {
        match self {
            ScanError::Registry(e) => e.metric_label(),
            ScanError::Secret(_) | ScanError::Tls(_) => "secret",
            ScanError::NoRegistry(_) => "config",
        }
    }
}

/// The components of `doc` whose scan is due at `now`.
pub fn due(doc: &MesosCluster, state: &AutoUpdateState, now: u64) -> Vec<Component> {
    Component::ALL
        .into_iter()
        .filter(|c| {
            doc.auto_update(*c)
                .is_some_and(|p| p.mode != AutoUpdateMode::Off)
                && state
                    .components
                    .get(c)
                    .and_then(|u| u.next_scan)
                    .is_none_or(|at| now >= at)
        })
        .collect()
}

/// When the next scan of any component of `doc` is due (now, when one never ran).
pub fn next_due(doc: &MesosCluster, state: &AutoUpdateState) -> Option<u64> {
    Component::ALL
        .into_iter()
        .filter(|c| {
            doc.auto_update(*c)
                .is_some_and(|p| p.mode != AutoUpdateMode::Off)
        })
        .map(|c| {
            state
                .components
                .get(&c)
                .and_then(|u| u.next_scan)
                .unwrap_or(0)
        })
        .min()
}

/// The registry client of a cluster.
async fn client(
    doc: &MesosCluster,
    registry: &str,
    secrets: &SecretSource,
) -> Result<RegistryClient, ScanError> {
    let access = doc.spec.registry_access.clone().unwrap_or_default();
    let tls = if access.plain_http {
        None
    } else {
        let ca = match &access.ca {
            Some(r) => secrets.get(&r.secret).await?,
            None => Secret::new(
                SYSTEM_ROOTS,
                tokio::fs::read(SYSTEM_ROOTS).await.unwrap_or_default(),
            ),
        };
        Some(crate::tls::server_auth_config(&ca)?)
    };
    let credentials = match &access.credentials {
        Some(r) => Some(secrets.get(&r.secret).await?),
        None => None,
    };
    Ok(RegistryClient::new(registry, tls, credentials)?.with_trusted_realms(access.token_realms))
}

/// The registry and repository a component's image comes from.
fn source(doc: &MesosCluster, c: Component) -> Result<(String, String), ScanError> {
    let image = doc.image(c).unwrap_or_default();
    let r = ImageRef::parse(image)
        .map_err(|e| ScanError::NoRegistry(format!("spec.{c}.image {e}")))?
        .with_default_registry(doc.spec.registry.as_deref());
    let registry = r.registry.ok_or_else(|| {
        ScanError::NoRegistry(format!(
            "spec.{c}.image names no registry and spec.registry is not set"
        ))
    })?;
    Ok((registry, r.repository))
}

/// What one component's scan found.
struct Found {
    tags: Vec<String>,
    /// The digest of the tag the policy would choose, when it pins digests.
    digest: Option<(String, String)>,
    /// Why that digest could not be read (the tags are kept all the same).
    digest_error: Option<String>,
}

async fn scan_component(
    sctx: &ScanCtx,
    doc: &MesosCluster,
    c: Component,
    policy: &Policy,
    current: &mesos_operator_core::autoupdate::ComponentUpdates,
    now: u64,
) -> Result<Found, ScanError> {
    let (registry, repository) = source(doc, c)?;
    let client = client(doc, &registry, &sctx.secrets).await?;
    let tags = client.tags(&repository).await?;
    let mut digest = None;
    let mut digest_error = None;
    if policy.pin_digest {
        let mut after = current.clone();
        merge(&mut after, &tags, policy, now);
        let tag_now =
            mesos_operator_core::autoupdate::decide::tag_of(doc.image(c).unwrap_or_default());
        if let Some(t) = select(policy, &tag_now, &after, now).chosen {
            if after.seen.get(&t).is_some_and(|s| s.digest.is_none()) {
                // One unreadable manifest must not hide every newer tag: the tags are
                // stored, the tag waits for its digest (decide says so).
                match client.digest(&repository, &t).await {
                    Ok(d) => digest = Some((t.clone(), d)),
                    Err(e) => digest_error = Some(format!("digest of {t}: {e}")),
                }
            }
        }
    }
    Ok(Found {
        tags,
        digest,
        digest_error,
    })
}

fn merge(
    u: &mut mesos_operator_core::autoupdate::ComponentUpdates,
    tags: &[String],
    policy: &Policy,
    now: u64,
) {
    let scheme = &policy.scheme;
    u.merge_scan(
        tags,
        |t| scheme.read(t).is_some(),
        |a, b| match (scheme.read(a), scheme.read(b)) {
            (Some(x), Some(y)) => x.order(&y),
            _ => a.cmp(b),
        },
        now,
    );
}

/// Scans the due components of one cluster and stores what was found.
pub async fn scan(sctx: ScanCtx, name: String, doc: MesosCluster, now: u64) {
    let state = match sctx.store.autoupdate(&name).await {
        Ok(s) => s.state,
        Err(e) => {
            warn!(cluster = %name, error = %e, "cannot read the automation state; no scan");
            return;
        }
    };
    let mut results = Vec::new();
    for c in due(&doc, &state, now) {
        let Some(Ok(policy)) = doc.auto_update(c).map(Policy::compile) else {
            continue;
        };
        let current = state.component(c);
        let found = match tokio::time::timeout(
            SCAN_DEADLINE,
            scan_component(&sctx, &doc, c, &policy, &current, now),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ScanError::Registry(RegistryError::Transport {
                registry: source(&doc, c).map(|s| s.0).unwrap_or_default(),
                reason: format!("the scan took longer than {}s", SCAN_DEADLINE.as_secs()),
            })),
        };
        let label = match &found {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        };
        sctx.metrics.autoupdate_scan(&name, c.as_str(), label);
        let jitter = policy.scan_jitter.as_secs();
        let extra = if jitter == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter)
        };
        // From the end of the scan: a slow registry never gets scans back to back.
        let ended = sctx.clock.now().max(now);
        let next = ended + policy.scan_interval.as_secs().max(1) + extra;
        match &found {
            Ok(f) => debug!(cluster = %name, component = %c, tags = f.tags.len(), "scanned"),
            Err(e) => warn!(cluster = %name, component = %c, error = %e, "registry scan failed"),
        }
        results.push((c, policy, found, next));
    }
    if results.is_empty() {
        return;
    }
    if let Err(e) = store_results(&sctx, &name, &results, now).await {
        warn!(cluster = %name, error = %e, "could not store the scan");
    }
}

async fn store_results(
    sctx: &ScanCtx,
    name: &str,
    results: &[(Component, Policy, Result<Found, ScanError>, u64)],
    now: u64,
) -> Result<(), StoreError> {
    for _ in 0..5 {
        let guard = match sctx.fence.guard() {
            Ok(g) => g,
            Err(e) => return Err(e.into()),
        };
        let at = sctx.store.autoupdate(name).await?;
        if sctx.store.get(name).await?.is_none() {
            // The cluster was deleted during the scan: write nothing back. Its state may
            // still be there (a delete keeps the denylist), so its absence proves nothing.
            return Ok(());
        }
        let mut state = at.state.clone();
        for (c, policy, found, next) in results {
            let u = state.components.entry(*c).or_default();
            u.last_scan = Some(now);
            u.next_scan = Some(*next);
            match found {
                Ok(f) => {
                    let before = u.seen.len();
                    merge(u, &f.tags, policy, now);
                    if let Some((tag, d)) = &f.digest {
                        if let Some(s) = u.seen.get_mut(tag) {
                            s.digest = Some(d.clone());
                        }
                    }
                    u.scan_error = f.digest_error.clone();
                    if u.seen.len() != before {
                        info!(cluster = %name, component = %c, tags = u.seen.len(), "tags seen");
                    }
                }
                Err(e) => u.scan_error = Some(e.to_string()),
            }
        }
        match sctx
            .store
            .put_autoupdate(Some(&guard), name, &at, &state)
            .await
        {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "the automation state of {name} kept changing during the scan"
    )))
}
