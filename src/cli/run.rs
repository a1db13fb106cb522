//! `run`: the operator. Wiring only: the store, secrets, metrics and admin server, the fence,
//! the reconcile loop, and signals (the first drains, a second exits at once).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::{CliError, CliResult, GlobalOpts};
use crate::act;
use crate::admin;
use crate::clock::SystemClock;
use crate::election::etcd::EtcdLeases;
use crate::election::{Election, ElectionConfig, Fence};
use crate::fleet::DockerFleet;
use crate::metrics::Metrics;
use crate::reconcile::{self, Context, RunOptions};
use crate::secrets::{envelope, Form, SecretSource};
use crate::service_manager::ServiceManager;
use crate::store::{ClusterStore, Store};

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(
        long,
        default_value = "127.0.0.1:9464",
        env = "MESOS_OPERATOR_METRICS_ADDR"
    )]
    metrics_addr: String,
    /// Read secrets from DIR/<name> files instead of etcd.
    #[arg(long)]
    secrets_dir: Option<PathBuf>,
    /// Clusters reconciled at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds between looks at a converged cluster when nothing changes in etcd, while
    /// some of its hosts' Docker event streams are not open.
    #[arg(long, default_value_t = 30)]
    resync_secs: u64,
    /// The same while every host's Docker event stream is open (a container that changes
    /// wakes the cluster at once); never shorter than --resync-secs.
    #[arg(long, default_value_t = 120)]
    resync_watched_secs: u64,
    /// Longest time in milliseconds between looks at a cluster waiting on a health gate (the
    /// first look after a step comes after 100 ms, each next one half as far again).
    #[arg(long, default_value_t = 2000)]
    poll_ms: u64,
    /// Seconds a running step may take to finish after SIGTERM before it is abandoned.
    #[arg(long, default_value_t = 60)]
    shutdown_grace_secs: u64,
    /// This replica's name in the leader election (default: host name and process id).
    #[arg(long, env = "MESOS_OPERATOR_IDENTITY")]
    identity: Option<String>,
    /// Seconds the leadership lease lives without renewal (etcd grants leases in whole
    /// seconds: a fraction is rounded up before the election's timings are checked).
    #[arg(long, default_value_t = 15.0)]
    lease_ttl_secs: f64,
    /// Seconds without a successful renewal after which the leader stops acting (below the
    /// lease TTL).
    #[arg(long, default_value_t = 10.0)]
    renew_deadline_secs: f64,
    /// Seconds between renewals, and between a standby's attempts.
    #[arg(long, default_value_t = 2.0)]
    election_retry_secs: f64,
}

fn secs(flag: &str, v: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| CliError::Input(format!("--{flag} {v} is not a number of seconds ≥ 0")))
}

/// The lease TTL as etcd will grant it: whole seconds, a fraction rounded up. Checked as
/// given and granted truncated, 2.9 became a 2 s lease, and the margin between the renew
/// deadline and the lease's end was smaller than the check had allowed.
fn lease_secs(v: f64) -> Result<Duration, CliError> {
    let d = secs("lease-ttl-secs", v)?;
    let whole = if d.subsec_nanos() > 0 {
        d.as_secs().saturating_add(1)
    } else {
        d.as_secs()
    };
    Ok(Duration::from_secs(whole))
}

/// The host name and process id: unique among replicas, and says where to look.
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "operator".into());
    format!("{host}-{}", std::process::id())
}

pub(super) async fn run(g: &GlobalOpts, args: RunArgs) -> CliResult {
    // An armed failpoint (a test build only) says so before anything is done.
    crate::failpoint::announce();
    if args.concurrency == 0 {
        return Err(CliError::Input("--concurrency must be at least 1".into()));
    }
    let election_config = ElectionConfig {
        identity: args.identity.clone().unwrap_or_else(default_identity),
        lease_ttl: lease_secs(args.lease_ttl_secs)?,
        renew_deadline: secs("renew-deadline-secs", args.renew_deadline_secs)?,
        retry: secs("election-retry-secs", args.election_retry_secs)?,
    };
    election_config.validate().map_err(CliError::Input)?;
    let keys = g.keyring()?;
    let metrics = Metrics::new();
    let store = g.store().await?.with_metrics(metrics.clone());
    if keys.is_some() && args.secrets_dir.is_none() {
        warn_clear_secrets(&store).await;
    }
    // A member of a multi-member etcd that goes away is taken out of the client's balancer.
    let member_health =
        crate::etcd::keep_to_healthy_members(&g.etcd_options()?, store.client()).await;
    // Under systemd (Type=notify): READY=1 below, the watchdog fed by the loop's heartbeat.
    let manager = ServiceManager::from_env();
    metrics.liveness().feed_watchdog(manager.clone());
    let listener = admin::bind(&args.metrics_addr).await.map_err(|e| {
        CliError::Input(format!(
            "cannot listen on --metrics-addr {}: {e}",
            args.metrics_addr
        ))
    })?;
    let secrets = match args.secrets_dir {
        Some(d) => SecretSource::Dir(d),
        None => SecretSource::store(store.clone(), keys),
    };
    let election = Election::start(
        EtcdLeases::new(store.client(), store.leader_key()),
        election_config.clone(),
        store.leader_key(),
    );
    let fence = election.fence();
    let leader_metric = tokio::spawn(publish_leadership(fence.clone(), metrics.clone()));
    let http = act::http_client().map_err(|e| CliError::Failed(e.to_string()))?;
    let store: Arc<dyn ClusterStore> = Arc::new(store);
    let ctx = Arc::new(Context {
        store: store.clone(),
        fleet: Arc::new(DockerFleet::watching(
            secrets.clone(),
            http,
            metrics.clone(),
        )),
        clock: Arc::new(SystemClock),
        secrets,
        metrics: metrics.clone(),
        fence,
        opts: RunOptions {
            concurrency: args.concurrency,
            resync: Duration::from_secs(args.resync_secs.max(1)),
            resync_watched: Duration::from_secs(args.resync_watched_secs.max(1)),
            poll: Duration::from_millis(args.poll_ms.max(100)),
            gate_first_poll: Duration::from_millis(100),
            after_step: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        },
    });
    let (ready_tx, ready_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let admin_stop = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    // READY=1 once the admin server serves (spawned just below) and etcd answers (the
    // flag /readyz reads), so `systemctl start` returns when the operator is of use.
    let notify_ready = {
        let mut ready = ready_rx.clone();
        let manager = manager.clone();
        tokio::spawn(async move {
            if ready.wait_for(|r| *r).await.is_ok() {
                manager.ready("serving /metrics; etcd answers");
            }
        })
    };
    let admin = tokio::spawn(admin::serve(
        listener,
        metrics.clone(),
        ready_rx,
        admin_stop,
    ));
    info!(metrics = %args.metrics_addr, identity = %election_config.identity, "mesos-operator running");
    let loop_stop = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let signals = tokio::spawn(async move {
        first_signal().await;
        info!("signal received: finishing the current step, then exiting (a second signal exits at once)");
        manager.stopping();
        let _ = stop_tx.send(true);
        first_signal().await;
        error!("second signal: exiting now");
        std::process::exit(130);
    });
    reconcile::run(ctx.clone(), store.wakes(ready_tx), loop_stop).await;
    // Steps are done or abandoned: give the leadership up so a standby takes over at once.
    election.resign().await;
    leader_metric.abort();
    notify_ready.abort();
    if let Some(t) = member_health {
        t.abort();
    }
    metrics.set_leader(false);
    signals.abort();
    let _ = admin.await;
    info!("stopped");
    Ok(())
}

/// Keeps `mesos_operator_leader` (and the term) in step with the election, and says in the
/// log when this replica starts or stops leading.
async fn publish_leadership(fence: Fence, metrics: Metrics) {
    let mut leading = fence.leading();
    loop {
        let term = *leading.borrow_and_update();
        metrics.set_leader(term.is_some());
        metrics.set_leader_term(term.unwrap_or(0));
        match term {
            Some(t) => info!(term = t, "this replica leads and acts"),
            None => info!("this replica is a standby: observing, acting on nothing"),
        }
        if leading.changed().await.is_err() {
            return;
        }
    }
}

/// SIGTERM or SIGINT.
async fn first_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// With a key file, secrets still stored in clear are named once at start (names only):
/// they are read as they are, and `secret reencrypt` encrypts them.
async fn warn_clear_secrets(store: &Store) {
    match store.secret_entries().await {
        Ok(entries) => {
            let clear: Vec<&str> = entries
                .iter()
                .filter(|e| matches!(envelope::inspect(&e.value), Ok(Form::Clear { .. })))
                .map(|e| e.name.as_str())
                .collect();
            if !clear.is_empty() {
                warn!(
                    secrets = ?clear,
                    "{} secret(s) are stored in clear in etcd although --secrets-key-file is set; run `mesos-operator secret reencrypt` to encrypt them",
                    clear.len()
                );
            }
        }
        Err(e) => warn!(error = %e, "cannot list secrets to check they are encrypted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fractional_lease_ttl_is_rounded_up_to_what_etcd_grants() {
        assert_eq!(lease_secs(2.9).ok(), Some(Duration::from_secs(3)));
        assert_eq!(lease_secs(15.0).ok(), Some(Duration::from_secs(15)));
        assert_eq!(lease_secs(0.2).ok(), Some(Duration::from_secs(1)));
        assert!(lease_secs(-1.0).is_err());
    }
}
