//! Test hooks that kill or freeze the operator at a chosen action, so that tests can show a
//! crash or a stall at *every* point of a rollout is survived (safety.md, invariants 8, 9).
//!
//! `MESOS_OPERATOR_FAILPOINT` (read once; unset in production, where every hook is one
//! relaxed atomic load):
//! - `kill-after-action=N`: the process sends itself SIGKILL right after its Nth action
//!   returned (no destructor, no resignation, nothing flushed: what `kill -9` does);
//! - `stop-before-action=N`: the process sends itself SIGSTOP right before its Nth action,
//!   before the fence is asked, so that a test can let the lease expire, let another replica
//!   act, and send SIGCONT;
//! - `stop-before-kind=KIND`: SIGSTOP right before the first action of that kind (an
//!   operation's kind, such as `require-serving`), so that a test can change the cluster
//!   between a plan and its step.
//!
//! An action is one fenced write of the operator's record to etcd or one operation on the
//! fleet (a Docker call, a ZooKeeper reconfig, a Mesos or Marathon call).
//!
//! A hand-written hook rather than the `fail` crate: it needs exactly these two actions,
//! process-level signals, and a count shared by every kind of action.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use tracing::error;

/// The environment variable that arms a failpoint.
pub const ENV: &str = "MESOS_OPERATOR_FAILPOINT";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Failpoint {
    KillAfter(u64),
    StopBefore(u64),
    StopBeforeKind(String),
}

fn parse(s: &str) -> Option<Failpoint> {
    let (what, arg) = s.trim().split_once('=')?;
    let (what, arg) = (what.trim(), arg.trim());
    if what == "stop-before-kind" {
        return (!arg.is_empty()).then(|| Failpoint::StopBeforeKind(arg.to_string()));
    }
    let n: u64 = arg.parse().ok().filter(|n| *n > 0)?;
    match what {
        "kill-after-action" => Some(Failpoint::KillAfter(n)),
        "stop-before-action" => Some(Failpoint::StopBefore(n)),
        _ => None,
    }
}

fn armed() -> Option<&'static Failpoint> {
    static ARMED: OnceLock<Option<Failpoint>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var(ENV).ok().as_deref().and_then(parse))
        .as_ref()
}

/// Whether the kind-armed failpoint has fired (it fires once).
static KIND_FIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Actions begun so far.
static BEGUN: AtomicU64 = AtomicU64::new(0);

fn signal_self(signal: rustix::process::Signal) {
    let _ = rustix::process::kill_process(rustix::process::getpid(), signal);
}

/// Call right before an action (before the fence is asked).
pub fn before_action(what: &str) {
    let n = BEGUN.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(Failpoint::StopBeforeKind(kind)) = armed() {
        if kind == what && !KIND_FIRED.swap(true, Ordering::SeqCst) {
            error!(
                action = n,
                what,
                "failpoint: stopping the process (SIGSTOP) before the first action of this kind"
            );
            signal_self(rustix::process::Signal::STOP);
        }
    }
    if armed() == Some(&Failpoint::StopBefore(n)) {
        error!(
            action = n,
            what, "failpoint: stopping the process (SIGSTOP) before this action"
        );
        signal_self(rustix::process::Signal::STOP);
    }
}

/// Call right after an action returned (successfully or not).
pub fn after_action(what: &str) {
    let n = BEGUN.load(Ordering::SeqCst);
    if armed() == Some(&Failpoint::KillAfter(n)) {
        error!(
            action = n,
            what, "failpoint: killing the process (SIGKILL) after this action"
        );
        signal_self(rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failpoints_parse_only_what_they_document() {
        assert_eq!(parse("kill-after-action=3"), Some(Failpoint::KillAfter(3)));
        assert_eq!(
            parse(" stop-before-action = 12 "),
            Some(Failpoint::StopBefore(12))
        );
        assert_eq!(parse("kill-after-action=0"), None);
        assert_eq!(parse("kill-after-action"), None);
        assert_eq!(parse("panic=3"), None);
        assert_eq!(
            parse("stop-before-kind=require-serving"),
            Some(Failpoint::StopBeforeKind("require-serving".into()))
        );
        assert_eq!(parse("stop-before-kind="), None);
    }
}
