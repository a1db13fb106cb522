//! Several `mesos-operator run` replicas against a real etcd: one leads, the others stand
//! by; a leader that resigns (SIGTERM), dies (SIGKILL) or loses etcd is replaced, and
//! losing one member of a three-member etcd changes nothing a user sees.
//!
//! The election's logic is also checked under a paused clock in `src/election/tests.rs`;
//! these tests confirm it on etcd itself, with the timings shortened by flags.

mod common;

use std::time::{Duration, Instant};

use common::operator::{wait_until, Operator, QUICK_ELECTION};
use common::{cli_on, etcd, parts, unique_prefix, EtcdCluster};
use mesos_operator::election::etcd::current_leader;

fn replica(endpoints: &str, prefix: &str, identity: &str, timings: &[&str]) -> Operator {
    let mut args = vec!["--identity", identity];
    args.extend_from_slice(timings);
    Operator::start_with(endpoints, prefix, &args, &[])
}

async fn leader_in_etcd(endpoints: &str, prefix: &str) -> Option<(String, i64)> {
    let opts = mesos_operator::etcd::EtcdOptions {
        endpoints: endpoints.split(',').map(str::to_string).collect(),
        prefix: prefix.to_string(),
        ..Default::default()
    };
    let store = mesos_operator::store::Store::connect(&opts).await.ok()?;
    current_leader(&store.client(), &store.leader_key())
        .await
        .ok()
        .flatten()
        .map(|l| (l.identity, l.term))
}

fn leaders(ops: &[&Operator]) -> usize {
    ops.iter().filter(|o| o.leads()).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_of_three_replicas_leads_and_hands_over_on_sigterm_at_once_and_on_sigkill_after_the_lease(
) {
    let prefix = unique_prefix("election");
    let ep = etcd().endpoint.clone();
    let a = replica(&ep, &prefix, "replica-a", &QUICK_ELECTION);
    wait_until("a leads", Duration::from_secs(15), || a.leads());
    let mut b = replica(&ep, &prefix, "replica-b", &QUICK_ELECTION);
    let mut c = replica(&ep, &prefix, "replica-c", &QUICK_ELECTION);
    wait_until("b and c serve /metrics", Duration::from_secs(15), || {
        b.gauge("mesos_operator_leader").is_some() && c.gauge("mesos_operator_leader").is_some()
    });
    // Standbys stay standbys for several lease periods.
    for _ in 0..20 {
        assert_eq!(leaders(&[&a, &b, &c]), 1);
        assert!(a.leads());
        std::thread::sleep(Duration::from_millis(300));
    }
    let (who, term_a) = leader_in_etcd(&ep, &prefix).await.expect("a leader key");
    assert_eq!(who, "replica-a");
    assert_eq!(a.gauge("mesos_operator_leader_term"), Some(term_a as f64));
    assert_eq!(b.gauge("mesos_operator_leader_term"), Some(0.0));

    // SIGTERM: a resigns and a standby takes over without waiting for the lease.
    let mut a = a;
    let t = Instant::now();
    a.signal("TERM");
    wait_until(
        "a standby leads after SIGTERM",
        Duration::from_secs(3),
        || b.leads() || c.leads(),
    );
    let after_term = t.elapsed();
    assert_eq!(a.stop(), Some(0), "a exits 0 after SIGTERM");
    assert_eq!(leaders(&[&b, &c]), 1);
    let (who, term_2) = leader_in_etcd(&ep, &prefix).await.expect("a leader key");
    assert!(term_2 > term_a, "the term grows: {term_a} then {term_2}");

    // SIGKILL: nothing is released; the last standby waits out the lease, no longer.
    let (dead, survivor) = if who == "replica-b" {
        (&mut b, &c)
    } else {
        (&mut c, &b)
    };
    let t = Instant::now();
    dead.signal("KILL");
    wait_until(
        "the last standby leads after SIGKILL",
        Duration::from_secs(3 + 1 + 3),
        || survivor.leads(),
    );
    let after_kill = t.elapsed();
    let _ = dead.exited();
    assert!(
        after_kill >= Duration::from_secs(2),
        "took over after {after_kill:?}, before the killed leader's lease could expire"
    );
    let (who, term_3) = leader_in_etcd(&ep, &prefix).await.expect("a leader key");
    assert!(term_3 > term_2);
    assert_ne!(who, "replica-a");
    eprintln!(
        "takeover after SIGTERM: {:.0} ms; after SIGKILL (lease 3 s, retry 0.5 s): {:.0} ms",
        after_term.as_secs_f64() * 1000.0,
        after_kill.as_secs_f64() * 1000.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_that_cannot_reach_etcd_stops_leading_within_the_renew_deadline_and_leads_again_after(
) {
    let cluster = EtcdCluster::start(1);
    let ep = cluster.endpoint_list();
    let prefix = unique_prefix("etcd-gone");
    let a = replica(&ep, &prefix, "replica-a", &QUICK_ELECTION);
    wait_until("a leads", Duration::from_secs(15), || a.leads());
    cluster.signal(0, "STOP");
    let t = Instant::now();
    let gone = wait_until("a steps down", Duration::from_secs(5), || !a.leads());
    assert!(
        gone <= Duration::from_millis(2_000 + 1_000),
        "stepped down after {gone:?} (renew deadline 2 s)"
    );
    // Stays a standby while etcd is away.
    while t.elapsed() < Duration::from_secs(8) {
        assert!(!a.leads(), "leads while etcd is unreachable");
        std::thread::sleep(Duration::from_millis(200));
    }
    cluster.signal(0, "CONT");
    let back = wait_until("a leads again", Duration::from_secs(20), || a.leads());
    eprintln!(
        "stepped down {:.0} ms after etcd froze; led again {:.0} ms after it returned",
        gone.as_secs_f64() * 1000.0,
        back.as_secs_f64() * 1000.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_three_member_etcd_losing_a_member_changes_nothing_users_see() {
    let cluster = EtcdCluster::start(3);
    let ep = cluster.endpoint_list();
    let prefix = unique_prefix("etcd-member");
    // Production timings but shorter, so that several leases pass during the test.
    let timings = [
        "--lease-ttl-secs",
        "6",
        "--renew-deadline-secs",
        "4",
        "--election-retry-secs",
        "1",
    ];
    let a = replica(&ep, &prefix, "replica-a", &timings);
    let b = replica(&ep, &prefix, "replica-b", &timings);
    wait_until("one leads", Duration::from_secs(20), || {
        leaders(&[&a, &b]) == 1
    });
    let (who, term) = leader_in_etcd(&ep, &prefix).await.expect("leader key");
    let leader = if who == "replica-a" { &a } else { &b };
    // The member the clients list first is the one they most likely talk to.
    cluster.signal(0, "KILL");
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        assert!(
            leader.leads(),
            "{who} stopped leading after an etcd member died"
        );
        assert_eq!(
            leader.gauge("mesos_operator_leader_term"),
            Some(term as f64),
            "the leadership changed hands"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Users' commands work against the remaining members.
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), b"not-a-real-secret").expect("write");
    let path = file.path().to_string_lossy().into_owned();
    let (code, _, err) = parts(&cli_on(
        &ep,
        &prefix,
        &["secret", "set", "s1", "--from-file", &path],
        "",
    ));
    assert_eq!(code, 0, "secret set with a member down: {err}");
    let (code, out, err) = parts(&cli_on(&ep, &prefix, &["secret", "list"], ""));
    assert_eq!(code, 0, "secret list with a member down: {err}");
    assert!(out.contains("s1"), "{out}");
    assert!(
        !leader.log_text().contains("lost the leadership"),
        "the leader logged a loss of leadership"
    );
    // Its log goes to a file here: plain text, no terminal colour codes.
    let log = leader.log_text();
    assert!(
        log.contains("INFO"),
        "the operator logged nothing: the check below would prove nothing"
    );
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log written to a file"
    );
}

/// A renewal cut short by its caller's deadline has sent its request on the keep-alive
/// stream; etcd's late answer to it must never be read as the answer to the next renewal,
/// or a lease that is gone is taken for renewed and a deposed leader goes on acting.
///
/// On one thread: the connection's task cannot run between the renewal's request and its
/// first poll, so the renewal is always cut before its answer (on a loaded machine with
/// several threads the answer could arrive in that gap, and the renewal completed).
#[tokio::test]
async fn a_renewal_cut_short_never_lends_its_late_answer_to_the_next_one() {
    use mesos_operator::election::etcd::EtcdLeases;
    use mesos_operator::election::LeaseBackend;

    let prefix = unique_prefix("keeper");
    let opts = mesos_operator::etcd::EtcdOptions {
        endpoints: vec![etcd().endpoint.clone()],
        prefix,
        ..Default::default()
    };
    let store = mesos_operator::store::Store::connect(&opts)
        .await
        .expect("etcd");
    let leases = EtcdLeases::new(store.client(), store.leader_key());
    let lease = leases.grant(Duration::from_secs(10)).await.expect("grant");
    assert!(leases.renew(lease, None).await.expect("renew"));
    // Sent, never read: polled once (the request goes out), then dropped as a caller's
    // deadline drops it while the answer is on its way.
    let cut = tokio::select! {
        biased;
        r = leases.renew(lease, None) => Some(r),
        () = std::future::ready(()) => None,
    };
    assert!(cut.is_none(), "the renewal was not cut short: {cut:?}");
    let mut c = store.client();
    c.lease_revoke(lease).await.expect("revoke");
    // The late answer (the lease alive, before the revoke) has arrived by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !leases.renew(lease, None).await.expect("renew"),
        "a revoked lease was taken for renewed on the late answer of a renewal cut short"
    );
}
