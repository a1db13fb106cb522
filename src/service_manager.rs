//! Telling the service manager (systemd, `Type=notify`) how the operator is doing:
//! `READY=1` once it serves and etcd answers, `WATCHDOG=1` from the reconcile loop's own
//! heartbeat, `STOPPING=1` when it begins to shut down (sd_notify(3), with the `sd-notify`
//! crate). Without `NOTIFY_SOCKET` (not started by systemd) every call does nothing.
//!
//! Why the loop feeds the watchdog rather than a timer task: a timer keeps ticking while the
//! loop is wedged, so systemd would never see what the watchdog is for. The loop hands its
//! heartbeat to [`crate::liveness::Liveness`], which passes it on here only while no
//! reconcile is wedged; a loop that stops going round stops the pings, and systemd restarts
//! the process after `WatchdogSec`.
//!
//! Why a thread sends: `sd_notify::notify` is a blocking send on a datagram socket, and a
//! service manager that stopped reading would block its caller, the loop. The loop puts a
//! message in a one-slot channel and never waits; a message that finds the slot taken is
//! dropped (the next heartbeat sends another).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use tracing::warn;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// `READY=1` and a status line.
    Ready(String),
    /// `WATCHDOG=1`.
    Watchdog,
    /// `STOPPING=1`.
    Stopping,
}

/// A handle on the service manager's notify socket (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct ServiceManager {
    /// `None` when not started by a service manager.
    tx: Option<SyncSender<Message>>,
    /// `WATCHDOG_USEC`, when a watchdog is asked for (and meant for this process).
    watchdog: Option<Duration>,
}

impl ServiceManager {
    /// From the environment systemd sets (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
    /// `WATCHDOG_PID`): starts the sending thread if there is a socket.
    pub fn from_env() -> ServiceManager {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return ServiceManager::default();
        }
        let (tx, rx) = sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("sd-notify".into())
            .spawn(move || send_all(rx));
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start the thread that notifies systemd; not notifying");
            return ServiceManager::default();
        }
        ServiceManager {
            tx: Some(tx),
            watchdog: sd_notify::watchdog_enabled().filter(|d| !d.is_zero()),
        }
    }

    /// A handle whose messages go to the returned receiver, with a watchdog of `watchdog`
    /// (unit tests of what is sent when).
    #[cfg(test)]
    pub(crate) fn recording(watchdog: Duration) -> (ServiceManager, Receiver<Message>) {
        let (tx, rx) = sync_channel(64);
        let m = ServiceManager {
            tx: Some(tx),
            watchdog: Some(watchdog),
        };
        (m, rx)
    }

    /// How often to ping the watchdog, if there is one: a quarter of `WATCHDOG_USEC`
    /// (sd_watchdog_enabled(3) asks for half; a quarter leaves room for a busy loop).
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 4)
    }

    /// `READY=1`, with `status` as the unit's status line.
    pub fn ready(&self, status: &str) {
        self.send(Message::Ready(status.to_string()));
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) {
        self.send(Message::Watchdog);
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.send(Message::Stopping);
    }

    fn send(&self, m: Message) {
        if let Some(tx) = &self.tx {
            match tx.try_send(m) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(m)) => {
                    warn!(message = ?m, "systemd has not taken the last notification yet; this one is dropped")
                }
            }
        }
    }
}

/// The sending thread: until every handle is gone.
fn send_all(rx: Receiver<Message>) {
    use sd_notify::NotifyState;
    let mut failing = false;
    while let Ok(m) = rx.recv() {
        let sent = match &m {
            Message::Ready(status) => {
                sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)])
            }
            Message::Watchdog => sd_notify::notify(&[NotifyState::Watchdog]),
            Message::Stopping => sd_notify::notify(&[NotifyState::Stopping]),
        };
        // Said once per run of failures, not at every heartbeat.
        match sent {
            Err(e) if !failing => {
                failing = true;
                warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
            }
            Err(_) => {}
            Ok(()) => failing = false,
        }
    }
}
