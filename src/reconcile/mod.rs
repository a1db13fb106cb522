//! The reconcile loop, level-triggered in kube-runtime's manner.
//!
//! - Woken by an etcd watch on the clusters' keys (resumed from the last revision seen after
//!   a disconnect, relisted after a compaction), by a periodic resync, and by the end of a
//!   step (the next plan is that step's health gate).
//! - The [`scheduler`] keeps one due time per cluster, the earliest asked for; the runner
//!   here never reconciles one cluster twice at once and runs at most
//!   [`RunOptions::concurrency`] clusters at a time.
//! - A reconcile returns when to look again; an error is retried with [`backoff`], which a
//!   success resets. `Wait{until}` from the planner becomes a requeue, never a sleep inside
//!   a step.

pub mod backoff;
pub mod cluster;
pub mod scheduler;
mod teardown;
mod watch;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch as tokio_watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{info, info_span, warn, Instrument};

use crate::election::Fence;
use crate::metrics::Metrics;
use crate::secrets::SecretSource;
use crate::store::Store;
use backoff::Backoff;
use cluster::{ClusterState, Next};
use scheduler::Scheduler;

/// Tunables of the loop.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Clusters reconciled at once.
    pub concurrency: usize,
    /// Look at a converged (or invalid) cluster again after this long even if nothing
    /// changed in etcd: the fleet can change behind the operator's back.
    pub resync: Duration,
    /// Look at a cluster that waits on a health gate this often.
    pub poll: Duration,
    /// Look again this soon after a step.
    pub after_step: Duration,
    /// After the first signal, how long a running step may take to finish before it is
    /// abandoned between two operations.
    pub shutdown_grace: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 4,
            resync: Duration::from_secs(30),
            poll: Duration::from_secs(2),
            after_step: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(60),
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The desired state and the operator's records.
    pub store: Store,
    /// Where TLS material and digests come from.
    pub secrets: SecretSource,
    /// Metrics registry.
    pub metrics: Metrics,
    /// This replica's right to act.
    pub fence: Fence,
    /// HTTP client for Mesos and Marathon calls.
    pub http: reqwest::Client,
    /// Tunables.
    pub opts: RunOptions,
}

/// Runs the loop until `shutdown` resolves; then lets running steps finish (up to
/// [`RunOptions::shutdown_grace`]) and returns. `ready` is set while etcd answers.
pub async fn run(
    ctx: Arc<Context>,
    ready: tokio_watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) {
    let (tx, mut rx) = mpsc::channel::<watch::Wake>(1024);
    let watcher = tokio::spawn(watch::watch_clusters(ctx.store.clone(), tx, ready));
    let mut scheduler = Scheduler::default();
    let mut states: HashMap<String, ClusterState> = HashMap::new();
    let mut backoffs: HashMap<String, Backoff> = HashMap::new();
    let mut running: HashSet<String> = HashSet::new();
    // Clusters that were running when this replica became the leader.
    let mut rerun: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<(
        String,
        ClusterState,
        Result<Next, cluster::ReconcileError>,
        f64,
    )> = JoinSet::new();
    tokio::pin!(shutdown);
    let mut leading = ctx.fence.leading();
    loop {
        let next_due = scheduler
            .next_due()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            () = &mut shutdown => break,
            wake = rx.recv() => match wake {
                Some(watch::Wake::Cluster(name)) => scheduler.schedule(&name, Instant::now()),
                Some(watch::Wake::Deleted(name)) => scheduler.schedule(&name, Instant::now()),
                None => {
                    warn!("the etcd watcher stopped; stopping");
                    break;
                }
            },
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let Ok((name, state, result, secs)) = joined else { continue };
                running.remove(&name);
                let again_now = rerun.remove(&name);
                let b = backoffs.entry(name.clone()).or_default();
                match result {
                    Ok(Next::After(d)) => {
                        b.reset();
                        ctx.metrics.reconcile_finished(&name, "ok", secs);
                        states.insert(name.clone(), state);
                        let d = if again_now { Duration::ZERO } else { d };
                        scheduler.schedule(&name, Instant::now() + d);
                    }
                    Ok(Next::Forget) => {
                        info!(cluster = %name, "cluster deleted; forgetting it");
                        ctx.metrics.forget_cluster(&name);
                        backoffs.remove(&name);
                        scheduler.remove(&name);
                    }
                    Err(e) => {
                        let delay = b.failed();
                        warn!(cluster = %name, error = %e, failures = b.failures(), retry_in = ?delay, "reconcile failed");
                        ctx.metrics.reconcile_finished(&name, e.metric_label(), secs);
                        states.insert(name.clone(), state);
                        let delay = if again_now { Duration::ZERO } else { delay };
                        scheduler.schedule(&name, Instant::now() + delay);
                    }
                }
            },
            Ok(()) = leading.changed() => {
                if leading.borrow_and_update().is_some() {
                    // What was seen as a standby may want acting on: every cluster now,
                    // and the ones being looked at right after they finish.
                    scheduler.expedite_all(Instant::now());
                    rerun.extend(running.iter().cloned());
                }
            }
            () = tokio::time::sleep_until(next_due) => {}
        }
        let free = ctx.opts.concurrency.saturating_sub(running.len());
        let mut budget = free;
        let due = scheduler.take_due(Instant::now(), |n| {
            if running.contains(n) || budget == 0 {
                false
            } else {
                budget -= 1;
                true
            }
        });
        for name in due {
            running.insert(name.clone());
            let mut state = states.remove(&name).unwrap_or_default();
            let ctx = ctx.clone();
            let span = info_span!("reconcile", cluster = %name);
            tasks.spawn(
                async move {
                    let clock = std::time::Instant::now();
                    let r = cluster::reconcile(&ctx, &name, &mut state).await;
                    (name, state, r, clock.elapsed().as_secs_f64())
                }
                .instrument(span),
            );
        }
    }
    watcher.abort();
    if !tasks.is_empty() {
        info!(
            running = tasks.len(),
            "shutting down: letting running steps finish"
        );
        let drained = tokio::time::timeout(ctx.opts.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!("steps still running after the grace period; abandoning them between operations");
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}
