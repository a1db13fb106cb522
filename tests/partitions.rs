//! Partitions on the real fleet (issue 22, items 8–10): each test-bed host's components share
//! its network namespace, so packet filters inside one host cut it off from its peers while
//! the operator still reaches it, as a user's network would.
//!
//! A ZooKeeper voter cut off from the other two goes on answering `ruok`/`srvr` with its old
//! mode for up to syncLimit × tickTime; a bump asked for right then must not take either of
//! the two voters that still form the quorum. The independent watcher counts a voter as
//! serving only while its host is not cut off, and fails the test on any moment with fewer
//! than a majority serving. After the cut heals, the cluster converges on its own: the
//! members that dropped out untouched (the agent, whose ZooKeeper session expired; the
//! cut-off server) come back without a person.

mod common;

use std::time::Duration;

use common::fleet::{exclusive, fleet};
use common::operator::{
    apply, events, store_secrets, wait_phase, ClusterGuard, ClusterOpts, Operator, Rules, Watcher,
};
use common::unique_prefix;

const NAME: &str = "part";
const CONVERGE: Duration = Duration::from_secs(420);

type Event = (String, String, String, String);

/// Hosts of `component`'s members replaced (successfully) in `events`, but `except`.
fn replaced<'a>(events: &'a [Event], component: &str, except: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|(kind, host, outcome, c)| {
            c == component && outcome == "ok" && kind.contains("Replace") && host != except
        })
        .map(|(_, host, _, _)| host.as_str())
        .collect()
}

#[test]
fn bumps_during_a_partition_never_take_a_member_of_the_quorum_and_converge_after_it() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![NAME.into()],
    };
    let prefix = unique_prefix("partition");
    store_secrets(&prefix, f);
    let hs: Vec<String> = f.hosts.keys().take(3).cloned().collect();
    let mut opts = ClusterOpts::seed(NAME);
    // Long enough that the bump is not Blocked while the cut lasts.
    opts.health_timeout = "300s".into();
    let mut op = Operator::start(&prefix, &[]);
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, NAME, "Converged", CONVERGE);
    let watcher = Watcher::start(
        f,
        hs.clone(),
        NAME,
        Rules {
            zk_port: 2181,
            masters_floor: true,
        },
    );
    let cut = Cut {
        f,
        watcher: &watcher,
        prefix: &prefix,
        host: &hs[2],
        peers: [hs[0].as_str(), hs[1].as_str()],
    };
    // A ZooKeeper bump asked for 3 s after the third host is cut off from the other two,
    // while the cut-off server still reports its old mode; 45 s for the operator to try
    // (and for the agent's ZooKeeper session there to expire).
    opts.zk_image = "zookeeper:3.8.0-2".into();
    cut.bump_during(&opts.yaml(f), "zookeeper", (3, 45));
    // The masters' side: cut off past its ZooKeeper session, the master on the third host
    // still answers `/health` and its metrics as before, but its replica has left the log's
    // group; a masters bump must not stop either of the two that form the log's quorum.
    opts.master_image = common::operator::emulator_image("mesos-master:1.12.0-rc1");
    cut.bump_during(&opts.yaml(f), "masters", (25, 40));
    watcher.finish();
    assert!(op.stop().is_some());
}

/// One host cut off from its peers with packet filters; the operator still reaches it.
struct Cut<'a> {
    f: &'static common::fleet::Fleet,
    watcher: &'a Watcher,
    prefix: &'a str,
    host: &'a str,
    peers: [&'a str; 2],
}

impl Cut<'_> {
    /// Cuts the host off, stores `document` (a bump of `component`) `secs.0` seconds later,
    /// and checks, `secs.1` seconds after that, that no member of `component` on the
    /// peers' side (the quorum) was replaced; heals the cut, waits for Converged, and
    /// checks that every member of `component` was replaced once in all.
    fn bump_during(&self, document: &str, component: &str, secs: (u64, u64)) {
        let before = events(self.prefix, NAME).len();
        self.watcher.set_cut(self.host, true);
        self.f.partition_from(self.host, &self.peers);
        std::thread::sleep(Duration::from_secs(secs.0));
        apply(self.prefix, document);
        std::thread::sleep(Duration::from_secs(secs.1));
        let during: Vec<Event> = events(self.prefix, NAME)[before..].to_vec();
        eprintln!("steps while {} was cut off: {during:?}", self.host);
        let in_quorum = replaced(&during, component, self.host);
        assert!(
            in_quorum.is_empty(),
            "a {component} member of the quorum was replaced while {} was cut off: {in_quorum:?}",
            self.host
        );
        self.f.heal_from(self.host, &self.peers);
        self.watcher.set_cut(self.host, false);
        let msg = wait_phase(self.prefix, NAME, "Converged", CONVERGE);
        let after: Vec<Event> = events(self.prefix, NAME)[before..].to_vec();
        assert_eq!(
            replaced(&after, component, "").len(),
            3,
            "every {component} member on the new image, once each: {after:?} ({msg})"
        );
    }
}
