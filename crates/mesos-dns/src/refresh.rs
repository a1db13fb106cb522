//! The refresh loop: find the masters through the ZooKeeper election, read the leader's
//! `/master/state`, rebuild the records. Never exits on a missing leader (Mesos-DNS #284)
//! and never misses an election that starts after it (#144): it lists the election node's
//! children on every round, and watches them to refresh at once when they change.
//!
//! When ZooKeeper has no leader, cannot be reached, or the leader's state cannot be read,
//! the last good records stay served and `mesos_dns_stale` says so. A new leader seen in
//! ZooKeeper before its state can be read updates the master records at once, with the
//! tasks of the last state read.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zookeeper_client as zk;

use crate::config::{Config, ZkUrl};
use crate::metrics::Metrics;
use crate::naming::{generate, Records};
use crate::state::{master_info, parse_state, MasterInfo, MesosState};

/// What the listeners read: the records of the last good refresh.
pub type Shared = Arc<RwLock<Arc<Records>>>;

/// Why one refresh kept the last records.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// ZooKeeper could not be reached or read.
    #[error("ZooKeeper {servers}: {detail}")]
    Zookeeper {
        /// The servers tried.
        servers: String,
        /// What failed.
        detail: String,
    },
    /// No master contends in the election (none started yet, or all gone).
    #[error("no master in the election at {0}")]
    NoLeader(String),
    /// The leader's state could not be read.
    #[error("the leading master's state at {addr}: {detail}")]
    State {
        /// `ip:port`.
        addr: String,
        /// What failed.
        detail: String,
    },
}

impl RefreshError {
    fn metric_label(&self) -> &'static str {
        match self {
            RefreshError::Zookeeper { .. } => "zookeeper_error",
            RefreshError::NoLeader(_) => "no_leader",
            RefreshError::State { .. } => "state_error",
        }
    }
}

/// The loop's state between rounds.
pub struct Refresher {
    config: Config,
    zk: ZkUrl,
    client: Option<zk::Client>,
    last_state: Option<MesosState>,
    last_leader: Option<MasterInfo>,
    records: Shared,
    metrics: Arc<Metrics>,
}

impl Refresher {
    /// A refresher that publishes into `records`.
    pub fn new(config: Config, zk: ZkUrl, records: Shared, metrics: Arc<Metrics>) -> Refresher {
        Refresher {
            config,
            zk,
            client: None,
            last_state: None,
            last_leader: None,
            records,
            metrics,
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.state_timeout_seconds)
    }

    /// Runs forever: a round every `refreshSeconds`, or at once when the election changes.
    pub async fn run(mut self) {
        loop {
            let watch = self.round().await;
            let period = tokio::time::sleep(self.config.refresh());
            match watch {
                Some(w) => {
                    tokio::select! {
                        _ = period => {}
                        _ = w.changed() => {
                            // Let a burst of changes (a master leaving, another taking
                            // over) settle into one round.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
                None => period.await,
            }
        }
    }

    /// One refresh; returns a watch on the election node's children when it could set one.
    async fn round(&mut self) -> Option<zk::OneshotWatcher> {
        match self.read().await {
            Ok((masters, state, watch)) => {
                let fresh = state.is_some();
                if let Some(s) = state {
                    self.last_state = Some(s);
                }
                self.publish(&masters);
                self.metrics.stale.set(i64::from(!fresh));
                if fresh {
                    self.metrics
                        .refreshes
                        .get_or_create(&vec![("result", "ok")])
                        .inc();
                    self.metrics.last_success.set(unix_now());
                }
                watch
            }
            Err((e, watch)) => {
                eprintln!("mesos-dns: refresh kept the last records: {e}");
                self.metrics
                    .refreshes
                    .get_or_create(&vec![("result", e.metric_label())])
                    .inc();
                self.metrics.stale.set(1);
                watch
            }
        }
    }

    fn publish(&mut self, masters: &[MasterInfo]) {
        let records = generate(
            &self.config.domain,
            masters,
            self.last_state.as_ref(),
            self.config.enforce_rfc952,
        );
        let leader = masters.iter().min_by_key(|m| m.sequence).cloned();
        if let (Some(old), Some(new)) = (&self.last_leader, &leader) {
            if (old.ip, old.port) != (new.ip, new.port) {
                self.metrics.leader_changes.inc();
                eprintln!(
                    "mesos-dns: leader moved from {}:{} to {}:{}",
                    old.ip, old.port, new.ip, new.port
                );
            }
        }
        self.last_leader = leader;
        self.metrics.masters.set(masters.len() as i64);
        self.metrics
            .records
            .get_or_create(&vec![("type", "A")])
            .set(records.a.len() as i64);
        self.metrics
            .records
            .get_or_create(&vec![("type", "SRV")])
            .set(records.srv.len() as i64);
        match self.records.write() {
            Ok(mut g) => *g = Arc::new(records),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(records),
        }
    }

    /// The masters and, when readable, the leader's state. An error when no master can be
    /// found (the records are then left as they are).
    #[allow(clippy::type_complexity)]
    async fn read(
        &mut self,
    ) -> Result<
        (
            Vec<MasterInfo>,
            Option<MesosState>,
            Option<zk::OneshotWatcher>,
        ),
        (RefreshError, Option<zk::OneshotWatcher>),
    > {
        let (masters, watch) = match self.masters().await {
            Ok(x) => x,
            Err(e) => {
                // A broken session is dropped and made again next round.
                self.client = None;
                return Err((e, None));
            }
        };
        let Some(leader) = masters.iter().min_by_key(|m| m.sequence) else {
            return Err((RefreshError::NoLeader(self.zk.path.clone()), watch));
        };
        let addr = format!("{}:{}", leader.ip, leader.port);
        match fetch_state(&addr, self.timeout()).await {
            Ok(s) => Ok((masters, Some(s), watch)),
            Err(detail) => {
                let e = RefreshError::State { addr, detail };
                eprintln!("mesos-dns: {e}; serving the new election with the last tasks read");
                self.metrics
                    .refreshes
                    .get_or_create(&vec![("result", e.metric_label())])
                    .inc();
                Ok((masters, None, watch))
            }
        }
    }

    async fn client(&mut self) -> Result<&zk::Client, RefreshError> {
        if self
            .client
            .as_ref()
            .is_some_and(|c| c.state().is_terminated())
        {
            self.client = None;
        }
        if self.client.is_none() {
            let t = self.timeout();
            let connect = zk::Client::connector()
                .with_session_timeout(Duration::from_secs(10))
                .with_connection_timeout(t)
                .connect(&self.zk.servers);
            let c = tokio::time::timeout(t, connect)
                .await
                .map_err(|_| self.zk_error("connect timed out".into()))?
                .map_err(|e| self.zk_error(e.to_string()))?;
            self.client = Some(c);
        }
        self.client
            .as_ref()
            .ok_or_else(|| self.zk_error("no session".into()))
    }

    fn zk_error(&self, detail: String) -> RefreshError {
        RefreshError::Zookeeper {
            servers: self.zk.servers.clone(),
            detail,
        }
    }

    async fn masters(
        &mut self,
    ) -> Result<(Vec<MasterInfo>, Option<zk::OneshotWatcher>), RefreshError> {
        let t = self.timeout();
        let path = self.zk.path.clone();
        let client = self.client().await?.clone();
        let listed = tokio::time::timeout(t, client.get_and_watch_children(&path)).await;
        let (children, watch) = match listed {
            Err(_) => return Err(self.zk_error(format!("listing {path} timed out"))),
            // No election node yet: no master has started; looked at again next round.
            Ok(Err(zk::Error::NoNode)) => return Ok((vec![], None)),
            Ok(Err(e)) => return Err(self.zk_error(format!("listing {path}: {e}"))),
            Ok(Ok((children, _, w))) => (children, w),
        };
        let mut masters = Vec::new();
        for node in children.iter().filter(|n| n.starts_with("json.info_")) {
            match tokio::time::timeout(t, client.get_data(&format!("{path}/{node}"))).await {
                Ok(Ok((data, _))) => masters.extend(master_info(node, &data)),
                // Gone between the list and the read: that master left.
                Ok(Err(zk::Error::NoNode)) => {}
                Ok(Err(e)) => return Err(self.zk_error(format!("reading {path}/{node}: {e}"))),
                Err(_) => return Err(self.zk_error(format!("reading {path}/{node} timed out"))),
            }
        }
        Ok((masters, Some(watch)))
    }
}

/// `GET /master/state` from the leader, following one redirect (leadership moved between
/// the election read and the request).
async fn fetch_state(addr: &str, timeout: Duration) -> Result<MesosState, String> {
    let mut target = addr.to_string();
    for _ in 0..2 {
        let r = httplite::get(&target, "/master/state", timeout).await?;
        match r.status {
            200 => return parse_state(&r.body).map_err(|e| format!("unreadable state: {e}")),
            307 => {
                let loc = r
                    .header("location")
                    .ok_or_else(|| "307 without a Location".to_string())?;
                let host = loc.trim_start_matches("http:").trim_start_matches("//");
                target = host.split('/').next().unwrap_or(host).to_string();
            }
            s => return Err(format!("HTTP {s}")),
        }
    }
    Err("redirected twice".into())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
