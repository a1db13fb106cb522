//! Debian's `haproxy` as a child process in master-worker mode (`-W -db`): the master stays
//! in the foreground as this process's child, its workers serve. A new configuration is
//! written beside the live one, checked with `haproxy -c`, renamed into place and loaded by
//! SIGUSR2 to the master, which starts new workers on it and lets the old ones finish their
//! connections (up to `hard-stop-after`). The listening sockets pass from the old workers
//! to the new through the admin socket's `expose-fd listeners` (the master adds `-x` by
//! itself), so no connection is refused during a reload. A configuration that fails the
//! check is never loaded: the running one stays.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

/// How long `haproxy -c` may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong with HAProxy.
#[derive(Debug, thiserror::Error)]
pub enum HaproxyError {
    /// The candidate configuration failed `haproxy -c`; HAProxy's own words follow.
    #[error("haproxy -c refused the new configuration (kept the running one): {0}")]
    Invalid(String),
    /// Writing or renaming a file in the run directory failed.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The binary could not be run (missing, not executable).
    #[error("cannot run {bin}: {source}; install Debian's haproxy or pass --haproxy")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `haproxy -c` did not answer in time.
    #[error("haproxy -c did not finish within {0:?}")]
    CheckTimedOut(Duration),
    /// The reload signal could not be delivered.
    #[error("cannot signal the haproxy master (pid {pid}): {source}")]
    Signal {
        /// The master's pid.
        pid: u32,
        /// Why.
        source: std::io::Error,
    },
}

/// What [`Haproxy::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The master was started on the configuration.
    Started,
    /// The running master reloaded it.
    Reloaded,
}

/// The HAProxy master this process runs.
#[derive(Debug)]
pub struct Haproxy {
    bin: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

impl Haproxy {
    /// HAProxy from `bin`, its files in `dir` (created if missing).
    pub fn new(bin: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> Result<Haproxy, HaproxyError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| HaproxyError::File {
            path: dir.clone(),
            source,
        })?;
        Ok(Haproxy {
            bin: bin.into(),
            dir,
            child: None,
        })
    }

    /// The live configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("haproxy.cfg")
    }

    /// The admin socket the configuration declares (for `expose-fd listeners`).
    pub fn admin_socket(&self) -> PathBuf {
        self.dir.join("haproxy.sock")
    }

    fn candidate_path(&self) -> PathBuf {
        self.dir.join("haproxy.cfg.new")
    }

    /// Runs `haproxy -c` on `path`.
    async fn check(&self, path: &Path) -> Result<(), HaproxyError> {
        let run = Command::new(&self.bin)
            .arg("-c")
            .arg("-f")
            .arg(path)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(CHECK_TIMEOUT, run)
            .await
            .map_err(|_| HaproxyError::CheckTimedOut(CHECK_TIMEOUT))?
            .map_err(|source| HaproxyError::Spawn {
                bin: self.bin.clone(),
                source,
            })?;
        if out.status.success() {
            return Ok(());
        }
        // HAProxy's ALERT lines say what is wrong and where (file:line).
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let alerts: Vec<&str> = text.lines().filter(|l| l.contains("ALERT")).collect();
        let why = if alerts.is_empty() {
            text.trim().to_string()
        } else {
            alerts.join(" | ")
        };
        Err(HaproxyError::Invalid(why))
    }

    /// Checks `text`, puts it in place and loads it: starts the master if none runs, else
    /// reloads it. On a refused check nothing changes.
    pub async fn apply(&mut self, text: &str) -> Result<Applied, HaproxyError> {
        let candidate = self.candidate_path();
        tokio::fs::write(&candidate, text)
            .await
            .map_err(|source| HaproxyError::File {
                path: candidate.clone(),
                source,
            })?;
        self.check(&candidate).await?;
        let live = self.config_path();
        tokio::fs::rename(&candidate, &live)
            .await
            .map_err(|source| HaproxyError::File {
                path: live.clone(),
                source,
            })?;
        match self.master_pid() {
            Some(pid) => {
                let p = rustix::process::Pid::from_raw(pid as i32).ok_or(HaproxyError::Signal {
                    pid,
                    source: std::io::Error::other("not a pid"),
                })?;
                rustix::process::kill_process(p, rustix::process::Signal::USR2).map_err(|e| {
                    HaproxyError::Signal {
                        pid,
                        source: e.into(),
                    }
                })?;
                Ok(Applied::Reloaded)
            }
            None => {
                self.start()?;
                Ok(Applied::Started)
            }
        }
    }

    /// Starts the master on the live configuration.
    fn start(&mut self) -> Result<(), HaproxyError> {
        let child = Command::new(&self.bin)
            .arg("-W")
            .arg("-db")
            .arg("-f")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HaproxyError::Spawn {
                bin: self.bin.clone(),
                source,
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// The running master's pid, if one runs.
    pub fn master_pid(&mut self) -> Option<u32> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(None) => child.id(),
            _ => None,
        }
    }

    /// If the master has exited since it was started: how. It is then forgotten, and the
    /// next [`Haproxy::apply`] starts a new one.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// Starts the master again on the live configuration (after it exited).
    pub fn restart(&mut self) -> Result<(), HaproxyError> {
        self.child = None;
        self.start()
    }

    /// Stops the master (SIGTERM: the workers stop at once) and waits for it, bounded.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(p) = child
                .id()
                .and_then(|pid| rustix::process::Pid::from_raw(pid as i32))
            {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}
