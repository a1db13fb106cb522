//! Test hooks that kill or freeze the operator at a chosen action, so that tests can show a
//! crash or a stall at *every* point of a rollout is survived (safety.md, invariants 8, 9).
//!
//! **Only in builds with the `failpoints` feature** (`cargo test --features failpoints`;
//! `make test` and `make test-full` turn it on, `cargo build` and release builds do not).
//! Why: these hooks let whoever sets the operator's environment stop or kill it in the middle
//! of a step. The design survives that (it is what the tests show), but a production binary
//! has no use for such a lever, and a variable left set by mistake should do nothing. So
//! without the feature [`before_action`] and [`after_action`] are empty (inlined away),
//! [`announce`] does nothing, the variable is never read and its name is not in the binary.
//! With the feature, an armed failpoint is logged once at warn, naming it, when `run` starts
//! ([`announce`]) or at the first action, whichever comes first; a value that is not a
//! failpoint is logged at warn too, and ignored.
//!
//! `MESOS_OPERATOR_FAILPOINT` (read once; unset, every hook is an atomic add and a check of a
//! `OnceLock`):
//! - `kill-after-action=N`: the process sends itself SIGKILL right after its Nth action
//!   returned (no destructor, no resignation, nothing flushed: what `kill -9` does);
//! - `stop-before-action=N`: the process sends itself SIGSTOP right before its Nth action,
//!   before the fence is asked, so that a test can let the lease expire, let another replica
//!   act, and send SIGCONT;
//! - `stop-before-kind=KIND`: SIGSTOP right before the first action of that kind (an
//!   operation's kind, such as `require-serving`), so that a test can change the cluster
//!   between a plan and its step;
//! - `freeze-loop-at-round=N`: the reconcile loop stops for good at its Nth round (it awaits
//!   something that never comes) while the rest of the process (the admin server, the
//!   election) goes on: a wedged loop, which the systemd watchdog must catch.
//!
//! An action is one fenced write of the operator's record to etcd or one operation on the
//! fleet (a Docker call, a ZooKeeper reconfig, a Mesos or Marathon call).
//!
//! A hand-written hook rather than the `fail` crate: it needs exactly these two actions,
//! process-level signals, and a count shared by every kind of action. It is compiled out the
//! way the `fail` crate's `failpoints` feature compiles out `fail_point!`: the call sites
//! stay, the functions they call are empty.

/// The environment variable that arms a failpoint (read only with the `failpoints` feature).
pub const ENV: &str = "MESOS_OPERATOR_FAILPOINT";

/// Reads the variable and logs at warn the failpoint it arms, if any. Call once when `run`
/// starts, after logging is set up, so that an armed process says so before it acts. Without
/// the `failpoints` feature it does nothing.
#[inline]
pub fn announce() {
    #[cfg(feature = "failpoints")]
    live::armed();
}

/// Call right before an action (before the fence is asked). Without the `failpoints` feature
/// it does nothing.
#[inline]
pub fn before_action(what: &str) {
    #[cfg(feature = "failpoints")]
    live::before_action(what);
    #[cfg(not(feature = "failpoints"))]
    let _ = what;
}

/// Call right after an action returned (successfully or not). Without the `failpoints`
/// feature it does nothing.
#[inline]
pub fn after_action(what: &str) {
    #[cfg(feature = "failpoints")]
    live::after_action(what);
    #[cfg(not(feature = "failpoints"))]
    let _ = what;
}

/// Call once per round of the reconcile loop. Without the `failpoints` feature it returns
/// at once; with `freeze-loop-at-round=N` armed, the Nth call never returns.
#[inline]
pub async fn loop_round() {
    #[cfg(feature = "failpoints")]
    live::loop_round().await;
}

/// The hooks themselves, in builds with the `failpoints` feature only.
#[cfg(feature = "failpoints")]
mod live {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::OnceLock;

    use tracing::{error, warn};

    use super::ENV;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum Failpoint {
        KillAfter(u64),
        StopBefore(u64),
        StopBeforeKind(String),
        FreezeLoopAt(u64),
    }

    pub(super) fn parse(s: &str) -> Option<Failpoint> {
        let (what, arg) = s.trim().split_once('=')?;
        let (what, arg) = (what.trim(), arg.trim());
        if what == "stop-before-kind" {
            return (!arg.is_empty()).then(|| Failpoint::StopBeforeKind(arg.to_string()));
        }
        let n: u64 = arg.parse().ok().filter(|n| *n > 0)?;
        match what {
            "kill-after-action" => Some(Failpoint::KillAfter(n)),
            "stop-before-action" => Some(Failpoint::StopBefore(n)),
            "freeze-loop-at-round" => Some(Failpoint::FreezeLoopAt(n)),
            _ => None,
        }
    }

    /// What the operator logs at warn when the variable is set to `value`.
    pub(super) fn warning(value: &str, failpoint: Option<&Failpoint>) -> String {
        let effect = match failpoint {
            None => {
                return format!(
                    "{ENV}={value:?} is not a failpoint (kill-after-action=N, \
                     stop-before-action=N, stop-before-kind=KIND, freeze-loop-at-round=N): ignored"
                )
            }
            Some(Failpoint::KillAfter(n)) => {
                format!("this process will kill itself (SIGKILL) right after its action {n}")
            }
            Some(Failpoint::StopBefore(n)) => {
                format!("this process will stop itself (SIGSTOP) right before its action {n}")
            }
            Some(Failpoint::StopBeforeKind(kind)) => format!(
                "this process will stop itself (SIGSTOP) right before its first {kind} action"
            ),
            Some(Failpoint::FreezeLoopAt(n)) => {
                format!("the reconcile loop will stop for good at its round {n}")
            }
        };
        format!(
            "failpoint armed by {ENV}={}: {effect} (a test hook of a build with the \
             failpoints feature; never run such a build in production)",
            value.trim()
        )
    }

    /// The armed failpoint, read from the environment on the first call, which logs it.
    pub(super) fn armed() -> Option<&'static Failpoint> {
        static ARMED: OnceLock<Option<Failpoint>> = OnceLock::new();
        ARMED
            .get_or_init(|| {
                let value = std::env::var(ENV).ok()?;
                let failpoint = parse(&value);
                warn!("{}", warning(&value, failpoint.as_ref()));
                failpoint
            })
            .as_ref()
    }

    /// Whether the kind-armed failpoint has fired (it fires once).
    static KIND_FIRED: AtomicBool = AtomicBool::new(false);

    /// Actions begun so far.
    static BEGUN: AtomicU64 = AtomicU64::new(0);

    fn signal_self(signal: rustix::process::Signal) {
        let _ = rustix::process::kill_process(rustix::process::getpid(), signal);
    }

    pub(super) fn before_action(what: &str) {
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

    /// Rounds of the reconcile loop so far.
    static ROUNDS: AtomicU64 = AtomicU64::new(0);

    pub(super) async fn loop_round() {
        let n = ROUNDS.fetch_add(1, Ordering::SeqCst) + 1;
        if armed() == Some(&Failpoint::FreezeLoopAt(n)) {
            error!(
                round = n,
                "failpoint: the reconcile loop stops here for good (the process goes on)"
            );
            std::future::pending::<()>().await;
        }
    }

    pub(super) fn after_action(what: &str) {
        let n = BEGUN.load(Ordering::SeqCst);
        if armed() == Some(&Failpoint::KillAfter(n)) {
            error!(
                action = n,
                what, "failpoint: killing the process (SIGKILL) after this action"
            );
            signal_self(rustix::process::Signal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Output};

    use super::*;

    /// Set in the process [`in_a_child`] starts.
    const CHILD: &str = "MESOS_OPERATOR_FAILPOINT_TEST_CHILD";
    /// What the child prints when every hook returned.
    const RETURNED: &str = "child: the hooks returned";

    /// Runs [`child_runs_the_hooks`] alone in a new process of this test binary, with the
    /// variable set to `failpoint` (or unset): the variable is read once per process, and a
    /// live hook kills the process it runs in, so each case needs a process of its own.
    fn in_a_child(failpoint: Option<&str>) -> Output {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut cmd = Command::new(exe);
        cmd.args([
            "--exact",
            "failpoint::tests::child_runs_the_hooks",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1");
        match failpoint {
            Some(f) => cmd.env(ENV, f),
            None => cmd.env_remove(ENV),
        };
        cmd.output().expect("the child test process")
    }

    /// In the child only (a no-op otherwise): logs to stderr, announces, and runs one action's
    /// hooks, as `run` and an action do.
    #[test]
    fn child_runs_the_hooks() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .without_time()
            .with_ansi(false)
            .try_init();
        announce();
        before_action("record");
        after_action("record");
        println!("{RETURNED}");
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// Without the feature, a failpoint that would kill the process at its first action (were
    /// the hooks live) leaves it running and logs nothing.
    #[cfg(not(feature = "failpoints"))]
    #[test]
    fn without_the_feature_the_variable_is_ignored() {
        let out = in_a_child(Some("kill-after-action=1"));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(
            out.status.success() && stdout.contains(RETURNED),
            "the child did not return from the hooks: {:?}\n{stdout}\n{stderr}",
            out.status
        );
        assert!(!stderr.contains("failpoint"), "{stderr}");
    }

    /// With the feature, an armed failpoint is logged once at warn, naming it, then fires.
    #[cfg(feature = "failpoints")]
    #[test]
    fn with_the_feature_an_armed_failpoint_is_logged_once_and_fires() {
        use std::os::unix::process::ExitStatusExt;
        let out = in_a_child(Some("kill-after-action=1"));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.signal(),
            Some(9),
            "not killed by its failpoint: {:?}\n{stdout}\n{stderr}",
            out.status
        );
        assert!(!stdout.contains(RETURNED), "{stdout}");
        let armed: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("failpoint armed"))
            .collect();
        assert_eq!(armed.len(), 1, "{stderr}");
        assert!(
            armed[0].contains("WARN")
                && armed[0].contains("MESOS_OPERATOR_FAILPOINT=kill-after-action=1"),
            "{stderr}"
        );
    }

    /// With the feature, an unset variable arms nothing and logs nothing; a value that is
    /// not a failpoint is logged and ignored.
    #[cfg(feature = "failpoints")]
    #[test]
    fn with_the_feature_unset_or_invalid_arms_nothing() {
        let out = in_a_child(None);
        assert!(out.status.success() && text(&out.stdout).contains(RETURNED));
        assert!(!text(&out.stderr).contains("failpoint"));

        let out = in_a_child(Some("kill-after-action=first"));
        let stderr = text(&out.stderr);
        assert!(out.status.success() && text(&out.stdout).contains(RETURNED));
        assert!(
            stderr.contains("WARN") && stderr.contains("is not a failpoint"),
            "{stderr}"
        );
    }

    #[cfg(feature = "failpoints")]
    #[test]
    fn failpoints_parse_only_what_they_document() {
        use live::{parse, Failpoint};
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
        assert_eq!(
            parse("freeze-loop-at-round=5"),
            Some(Failpoint::FreezeLoopAt(5))
        );
        assert_eq!(parse("freeze-loop-at-round=0"), None);
    }

    #[cfg(feature = "failpoints")]
    #[test]
    fn the_warning_names_the_failpoint_and_what_it_does() {
        use live::{parse, warning};
        let w = warning(
            " stop-before-kind=pull",
            parse("stop-before-kind=pull").as_ref(),
        );
        assert!(
            w.contains("MESOS_OPERATOR_FAILPOINT=stop-before-kind=pull"),
            "{w}"
        );
        assert!(
            w.contains("SIGSTOP") && w.contains("first pull action"),
            "{w}"
        );
        let w = warning(
            "stop-before-action=4",
            parse("stop-before-action=4").as_ref(),
        );
        assert!(w.contains("before its action 4"), "{w}");
    }
}
