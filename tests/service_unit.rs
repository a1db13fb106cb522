//! The systemd unit (ops/systemd/mesos-operator.service) and the `Type=notify` protocol the
//! operator speaks under it: the unit verifies clean and keeps its sandbox; the operator
//! says READY=1 once etcd answers, feeds the watchdog from its reconcile loop, says
//! STOPPING=1 on SIGTERM; and when the loop freezes, the pings stop (systemd then restarts
//! it) although the rest of the process still runs. The notify socket is the test's own.
//! Needs etcd only, no fleet.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::operator::Operator;
use common::{etcd, repo_path, unique_prefix};

const UNIT: &str = "ops/systemd/mesos-operator.service";

fn systemd_analyze(args: &[&str]) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .output()
        .expect("systemd-analyze (Debian's systemd; scripts/deps.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `systemd-analyze verify` finds nothing to say about the unit (its ExecStart pointed at
/// this build's binary: verify checks that the program exists), and the sandbox keeps its
/// `systemd-analyze security` exposure at or below 1.5 (1.1 when written; loosening a
/// setting raises it).
#[test]
fn the_unit_verifies_clean_and_keeps_its_sandbox() {
    let unit = std::fs::read_to_string(repo_path(UNIT)).expect("the unit file");
    assert!(unit.contains("ExecStart=/usr/local/bin/mesos-operator run"));
    let dir = tempfile::tempdir().expect("tmp");
    let here = dir.path().join("mesos-operator.service");
    std::fs::write(
        &here,
        unit.replace(
            "/usr/local/bin/mesos-operator",
            env!("CARGO_BIN_EXE_mesos-operator"),
        ),
    )
    .expect("write the unit");
    let here = here.to_string_lossy().into_owned();
    // The man page it names is installed with the binary, not here: checked in ops/man.
    let (ok, text) = systemd_analyze(&["verify", "--man=no", &here]);
    assert!(ok && text.trim().is_empty(), "verify: {text}");
    assert!(repo_path("ops/man/mesos-operator-run.1").is_file());
    let (_, text) = systemd_analyze(&["security", "--offline=yes", &here]);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for mesos-operator.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    assert!(score <= 1.5, "exposure {score} (was 1.1):\n{text}");
}

/// The test's end of `NOTIFY_SOCKET`.
struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl NotifySocket {
    fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        NotifySocket {
            socket,
            path,
            _dir: dir,
        }
    }

    /// The next message, if one comes within `wait`.
    fn next(&self, wait: Duration) -> Option<String> {
        self.socket
            .set_read_timeout(Some(wait))
            .expect("read timeout");
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// `WATCHDOG_USEC` in the tests: the operator pings at least every quarter of it.
const WATCHDOG: Duration = Duration::from_secs(2);

fn start(prefix: &str, socket: &NotifySocket, failpoint: Option<&str>) -> Operator {
    let usec = WATCHDOG.as_micros().to_string();
    let path = socket.path.to_string_lossy().into_owned();
    let mut env = vec![
        ("NOTIFY_SOCKET", path.as_str()),
        ("WATCHDOG_USEC", usec.as_str()),
    ];
    if let Some(f) = failpoint {
        env.push(("MESOS_OPERATOR_FAILPOINT", f));
    }
    Operator::start_with(&etcd().endpoint, prefix, &[], &env)
}

/// Reads messages until READY=1 and `pings` WATCHDOG=1 have come; returns the longest gap
/// between two pings. Panics after 30 s.
fn ready_and_pinging(socket: &NotifySocket, pings: usize) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut ready, mut seen, mut last, mut longest) = (false, 0, None::<Instant>, Duration::ZERO);
    while !(ready && seen >= pings) {
        assert!(
            Instant::now() < deadline,
            "READY=1 {ready}, {seen} pings in 30 s"
        );
        let Some(m) = socket.next(Duration::from_secs(1)) else {
            continue;
        };
        if m.lines().any(|l| l == "READY=1") {
            ready = true;
            assert!(m.contains("STATUS="), "{m}");
        }
        if m.lines().any(|l| l == "WATCHDOG=1") {
            let now = Instant::now();
            if let Some(l) = last {
                longest = longest.max(now - l);
            }
            last = Some(now);
            seen += 1;
        }
    }
    longest
}

/// A running operator says READY=1, pings the watchdog well within its interval, and says
/// STOPPING=1 when told to stop (then exits 0).
#[test]
fn the_operator_says_ready_feeds_the_watchdog_and_says_stopping() {
    let socket = NotifySocket::bind();
    let mut op = start(&unique_prefix("notify"), &socket, None);
    let longest = ready_and_pinging(&socket, 5);
    assert!(
        longest < WATCHDOG,
        "pings {longest:?} apart: systemd would restart a healthy operator"
    );
    op.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no STOPPING=1 after SIGTERM");
        if socket
            .next(Duration::from_secs(1))
            .is_some_and(|m| m.lines().any(|l| l == "STOPPING=1"))
        {
            break;
        }
    }
    // Exits by itself (a second signal would exit at once, with 130).
    common::operator::wait_until("the operator's exit", Duration::from_secs(30), || {
        op.exited().is_some()
    });
    assert_eq!(op.stop(), Some(0), "{}", op.log_text());
}

/// The pings come from the reconcile loop itself: when the loop freezes (a failpoint makes
/// it await for ever at its 8th round), they stop, although the process still runs and
/// serves /healthz. A timer task would have kept pinging, and systemd would never restart a
/// wedged operator.
#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs failpoints: cargo test --features failpoints (make test turns it on)"
)]
fn the_watchdog_starves_when_the_reconcile_loop_freezes() {
    let socket = NotifySocket::bind();
    let mut op = start(
        &unique_prefix("frozen"),
        &socket,
        Some("freeze-loop-at-round=8"),
    );
    ready_and_pinging(&socket, 2);
    // Pings until the freeze, then none for three watchdog intervals.
    let deadline = Instant::now() + Duration::from_secs(60);
    while socket.next(WATCHDOG * 3).is_some() {
        assert!(
            Instant::now() < deadline,
            "the pings never stopped:\n{}",
            op.log_text()
        );
    }
    assert!(
        op.log_text()
            .contains("the reconcile loop stops here for good"),
        "silent without the freeze:\n{}",
        op.log_text()
    );
    assert!(op.exited().is_none(), "the process is gone, not wedged");
    assert_eq!(op.admin_get("/healthz").0, 200, "the process still serves");
    // A frozen loop does not see SIGTERM either: what systemd does after WatchdogSec.
    op.signal("KILL");
    let _ = op.stop();
}
