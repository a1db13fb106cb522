//! Hostile peers (issue 13): whatever a container answers over HTTP or puts in ZooKeeper,
//! the probes finish within their deadline, read a bounded amount, never panic, and never
//! believe a leader that is not one of the cluster's own hosts and ports. No Docker: every
//! peer is a server of `common/hostile.rs` on a loopback address.

#[path = "common/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use hostile::Reply;
use mesos_operator::probe;

/// A probe's deadline, plus scheduling slack.
const WITHIN: Duration = Duration::from_millis(probe::PROBE_TIMEOUT.as_millis() as u64 + 1000);

async fn one(reply: Reply) -> String {
    hostile::http("127.0.0.1", 0, vec![("/x", reply)])
        .await
        .addr
}

#[tokio::test]
async fn every_bad_answer_is_no_answer_within_the_deadline() {
    for reply in [
        Reply::HugeChunk,
        Reply::EndlessBody,
        Reply::HugeContentLength,
        Reply::EndlessChunks,
        Reply::SlowHeaders,
        Reply::EndlessHeaders,
        Reply::Truncated,
        Reply::NotHttp,
        Reply::Silent,
        Reply::json("{\"not json"),
    ] {
        let addr = one(reply.clone()).await;
        let t = Instant::now();
        let got = probe::get_json(&addr, "/x").await;
        assert_eq!(got, None, "{reply:?}");
        assert!(t.elapsed() < WITHIN, "{reply:?} took {:?}", t.elapsed());
    }
}

#[tokio::test]
async fn a_body_past_the_cap_fails_at_once_not_at_the_deadline() {
    for reply in [
        Reply::EndlessBody,
        Reply::HugeContentLength,
        Reply::EndlessChunks,
    ] {
        let addr = one(reply.clone()).await;
        let t = Instant::now();
        assert_eq!(probe::get_json(&addr, "/x").await, None);
        let took = t.elapsed();
        eprintln!("{reply:?}: no answer after {took:?}");
        assert!(took < Duration::from_secs(1), "{reply:?} took {took:?}");
    }
}

#[tokio::test]
async fn a_redirect_out_of_the_cluster_is_not_followed() {
    let elsewhere = hostile::http(
        "127.0.0.1",
        0,
        vec![(
            "/master/state",
            Reply::json("{\"leader\":\"master@127.0.0.1:1\"}"),
        )],
    )
    .await;
    let master = hostile::http(
        "127.0.0.1",
        0,
        vec![(
            "/master/state",
            Reply::Redirect {
                location: format!("//{}/master/state", elsewhere.addr),
            },
        )],
    )
    .await;
    let cluster = std::collections::BTreeSet::from([master.addr.clone()]);
    assert_eq!(probe::master_state(&master.addr, &cluster).await, None);
    // The same redirect to one of the cluster's masters is followed.
    let cluster = std::collections::BTreeSet::from([master.addr.clone(), elsewhere.addr.clone()]);
    let (from, _) = probe::master_state(&master.addr, &cluster).await.unwrap();
    assert_eq!(from, elsewhere.addr);
    // Same address, another port, or another scheme: not the cluster's master.
    for location in [
        format!("http://{}/master/state", elsewhere.addr),
        format!("https://{}/master/state", master.addr),
        "//127.0.0.1:1/master/state".to_string(),
        "//user@127.0.0.2:5050/x".to_string(),
        "http://[::1]:5050/master/state".to_string(),
        "ftp://127.0.0.1/".to_string(),
    ] {
        let only_master = std::collections::BTreeSet::from([master.addr.clone()]);
        assert_eq!(
            probe::redirect_target(&master.addr, &location, &only_master),
            None,
            "{location}"
        );
    }
    // A relative Location stays on the master that sent it.
    let only_master = std::collections::BTreeSet::from([master.addr.clone()]);
    assert_eq!(
        probe::redirect_target(&master.addr, "not a url \u{0}", &only_master),
        Some(master.addr.clone())
    );
}

#[tokio::test]
async fn each_bad_answer_fails_for_its_own_reason() {
    use probe::HttpError;
    let limit = 1 << 20;
    for (reply, want) in [
        (Reply::HugeContentLength, "cap"),
        (Reply::EndlessBody, "cap"),
        (Reply::EndlessChunks, "cap"),
        (Reply::HugeChunk, "transport"),
        (Reply::EndlessHeaders, "transport"),
        (Reply::NotHttp, "transport"),
        (Reply::Truncated, "transport"),
        (Reply::SlowHeaders, "timeout"),
        (Reply::Silent, "timeout"),
    ] {
        let addr = one(reply.clone()).await;
        let t = Instant::now();
        let got = probe::http_get(&addr, "/x", limit, Duration::from_millis(1500), true).await;
        let took = t.elapsed();
        let kind = match &got {
            Err(HttpError::BodyTooLarge { limit: l }) if *l == limit => "cap",
            Err(HttpError::Transport(_)) => "transport",
            Err(HttpError::Timeout(_)) => "timeout",
            _ => "other",
        };
        assert_eq!(kind, want, "{reply:?}: {got:?}");
        let bound = if want == "timeout" { 2500 } else { 1000 };
        assert!(
            took < Duration::from_millis(bound),
            "{reply:?} took {took:?}"
        );
    }
    // A body within the cap is read whole; one byte over is refused.
    let body = "x".repeat(1000);
    let addr = one(Reply::json(body.clone())).await;
    let r = probe::http_get(&addr, "/x", 1000, Duration::from_secs(2), true)
        .await
        .unwrap();
    assert_eq!(r.body.len(), 1000);
    assert!(matches!(
        probe::http_get(&addr, "/x", 999, Duration::from_secs(2), true).await,
        Err(HttpError::BodyTooLarge { limit: 999 })
    ));
}
