//! The reconcile loop, level-triggered in kube-runtime's manner.
//!
//! - Woken by the store's watch on the clusters' keys (etcd's resumes from the last revision
//!   seen after a disconnect and relists after a compaction), given to [`run`] as a stream
//!   as kube-runtime's controller is given one, by a periodic resync, and by the end of a
//!   step (the next plan is that step's health gate).
//! - The [`scheduler`] keeps one due time per cluster, the earliest asked for; the runner
//!   here never reconciles one cluster twice at once and runs at most
//!   [`RunOptions::concurrency`] clusters at a time.
//! - A reconcile returns when to look again; an error is retried with [`backoff`], which a
//!   success resets. `Wait{until}` from the planner becomes a requeue, never a sleep inside
//!   a step.

mod automate;
pub mod backoff;
pub mod cluster;
pub mod error;
mod report;
pub mod scheduler;
mod step;
mod teardown;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{BoxStream, StreamExt};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{info, info_span, warn, Instrument};

use mesos_operator_core::status::ClusterStatus;

use crate::clock::Clock;
use crate::election::Fence;
use crate::fleet::Fleet;
use crate::metrics::Metrics;
use crate::secrets::SecretSource;
use crate::store::{ClusterStore, Wake};
use backoff::Backoff;
use cluster::{ClusterState, Next};
use error::ReconcileError;
use scheduler::Scheduler;

/// Tunables of the loop.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Clusters reconciled at once.
    pub concurrency: usize,
    /// Look at a converged (or invalid) cluster again after this long even if nothing
    /// changed in etcd: the fleet can change behind the operator's back.
    pub resync: Duration,
    /// The same, for a cluster whose every host reports its container changes as they
    /// happen ([`Fleet::watched`]): what is left to catch is a component that turns
    /// unhealthy inside a running container.
    pub resync_watched: Duration,
    /// Look at a cluster that waits on a health gate at most this far apart.
    pub poll: Duration,
    /// The first look at a health gate after a step comes this soon, each next one half as
    /// far again, up to [`RunOptions::poll`]: a component that is quick to turn healthy is
    /// seen so at once, a slow one costs few looks.
    pub gate_first_poll: Duration,
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
            resync_watched: Duration::from_secs(120),
            poll: Duration::from_secs(2),
            gate_first_poll: Duration::from_millis(100),
            after_step: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(60),
        }
    }
}

/// What every reconcile shares: the seams (store, fleet, clock), each with an in-memory
/// version for tests, and this replica's fence.
pub struct Context {
    /// The desired state and the operator's records.
    pub store: Arc<dyn ClusterStore>,
    /// The machines.
    pub fleet: Arc<dyn Fleet>,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Where secret material (digests, registry credentials) comes from.
    pub secrets: SecretSource,
    /// Metrics registry.
    pub metrics: Metrics,
    /// This replica's right to act.
    pub fence: Fence,
    /// Tunables.
    pub opts: RunOptions,
}

/// Runs the loop over the clusters `wakes` names (every cluster once, then each change,
/// as [`ClusterStore::wakes`] gives them) until `shutdown` resolves; then lets running
/// steps finish (up to [`RunOptions::shutdown_grace`]) and returns.
pub async fn run(
    ctx: Arc<Context>,
    mut wakes: BoxStream<'static, Wake>,
    shutdown: impl Future<Output = ()>,
) {
    let mut scheduler = Scheduler::default();
    let mut states: HashMap<String, ClusterState> = HashMap::new();
    let mut backoffs: HashMap<String, Backoff> = HashMap::new();
    // When a failing cluster may be retried (its backoff): the machines' own wakes wait
    // for it; a change of its spec does not.
    let mut retry_at: HashMap<String, Instant> = HashMap::new();
    let mut running: HashSet<String> = HashSet::new();
    // Clusters that were running when this replica became the leader.
    let mut rerun: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<(String, ClusterState, Result<Next, ReconcileError>, f64)> =
        JoinSet::new();
    // Which cluster each task looks at: a task that panics returns nothing but its id.
    let mut cluster_of: HashMap<tokio::task::Id, String> = HashMap::new();
    // The status each running reconcile started from: a panic loses its task's state.
    let mut status_before: HashMap<String, Option<ClusterStatus>> = HashMap::new();
    tokio::pin!(shutdown);
    let mut leading = ctx.fence.leading();
    // The machines' own reports of change (Docker's events): a wake like the store's.
    let mut fleet_wakes = ctx
        .fleet
        .wakes()
        .unwrap_or_else(|| futures_util::stream::pending().boxed());
    loop {
        // Nothing can start while every slot is taken; a running cluster is taken when it
        // ends (the end of a task wakes the loop).
        let next_due = if running.len() >= ctx.opts.concurrency {
            None
        } else {
            scheduler.next_due_of(|n| !running.contains(n))
        }
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
        // Round at least this often, idle or not: `/readyz` reads a silent loop as stuck,
        // and systemd's watchdog is fed from here (crate::liveness).
        .min(Instant::now() + ctx.metrics.liveness().heartbeat());
        ctx.metrics.liveness().tick();
        crate::failpoint::loop_round().await;
        tokio::select! {
            () = &mut shutdown => break,
            wake = wakes.next() => match wake {
                Some(Wake::Cluster(name) | Wake::Deleted(name)) => {
                    scheduler.schedule(&name, Instant::now())
                }
                None => {
                    warn!("the store's watch stopped; stopping");
                    break;
                }
            },
            // A failing cluster keeps its backoff: its own failed step's events (a
            // container created, then dying) must not make it retry at once, forever.
            Some(name) = fleet_wakes.next() => {
                let at = retry_at.get(&name).copied().unwrap_or_else(Instant::now);
                scheduler.schedule(&name, at.max(Instant::now()));
            }
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (name, state, result, secs) = match joined {
                    Ok((id, done)) => {
                        cluster_of.remove(&id);
                        status_before.remove(&done.0);
                        done
                    }
                    // A bug, not a state of the world: it fails like any reconcile and is
                    // retried after a backoff (its in-memory state starts afresh; what
                    // matters is in etcd), and its slot is free again. Dropped, the
                    // cluster would never be looked at again and would hold a slot for good.
                    Err(e) => {
                        let Some(name) = cluster_of.remove(&e.id()) else { continue };
                        let what = ReconcileError::Panicked(panic_text(e));
                        (name, ClusterState::default(), Err(what), 0.0)
                    }
                };
                running.remove(&name);
                ctx.metrics.liveness().finished(&name);
                let again_now = rerun.remove(&name);
                let b = backoffs.entry(name.clone()).or_default();
                match result {
                    Ok(Next::After(d)) => {
                        b.reset();
                        retry_at.remove(&name);
                        ctx.metrics.reconcile_finished(&name, "ok", secs);
                        ctx.metrics.reconcile_succeeded_at(&name, ctx.clock.now());
                        states.insert(name.clone(), state);
                        let d = if again_now { Duration::ZERO } else { d };
                        scheduler.schedule(&name, Instant::now() + d);
                    }
                    Ok(Next::Forget) => {
                        info!(cluster = %name, "cluster deleted; forgetting it");
                        // The fleet first: its event streams stop before the cluster's
                        // series are removed, so none of them sets a series again.
                        ctx.fleet.forget(&name);
                        ctx.metrics.forget_cluster(&name);
                        retry_at.remove(&name);
                        backoffs.remove(&name);
                        scheduler.remove(&name);
                    }
                    Err(e) => {
                        let delay = b.failed();
                        warn!(cluster = %name, error = %e, failures = b.failures(), retry_in = ?delay, "reconcile failed");
                        ctx.metrics.reconcile_finished(&name, e.metric_label(), secs);
                        let mut state = state;
                        // A panic wrote nothing: the status says so, from the last one this
                        // replica wrote, so a person sees why the cluster stopped moving.
                        if let ReconcileError::Panicked(text) = &e {
                            let before = status_before.remove(&name).flatten();
                            if let Err(w) =
                                report::panicked(&ctx, &name, before, text, delay, &mut state).await
                            {
                                warn!(cluster = %name, error = %w, "cannot write the status of the panic");
                            }
                        }
                        states.insert(name.clone(), state);
                        let delay = if again_now { Duration::ZERO } else { delay };
                        retry_at.insert(name.clone(), Instant::now() + delay);
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
            ctx.metrics.liveness().started(&name);
            let mut state = states.remove(&name).unwrap_or_default();
            status_before.insert(name.clone(), state.last_status.clone());
            let ctx = ctx.clone();
            let span = info_span!("reconcile", cluster = %name);
            let task = tasks.spawn(
                {
                    let name = name.clone();
                    async move {
                        let clock = Instant::now();
                        let r = cluster::reconcile(&ctx, &name, &mut state).await;
                        (name, state, r, clock.elapsed().as_secs_f64())
                    }
                }
                .instrument(span),
            );
            cluster_of.insert(task.id(), name);
        }
    }
    drop(wakes);
    ctx.metrics.liveness().stopped();
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

/// What a panicked task said, for the log (a task cancelled at shutdown says so).
fn panic_text(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let payload = e.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
