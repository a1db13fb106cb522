//! Following Marathon's event stream (`/v2/events`, server-sent events) across leader
//! changes, without trusting it: marathon-lb's subscription was lost silently and only its
//! 5-minute refetch remained (marathon-lb #230, #238), it stuck to the first listed
//! Marathon (#448, #279, #535) and did not follow a standby's redirect (#594).
//!
//! Here every listed Marathon is tried in turn (the last that worked first), redirects are
//! followed ([`crate::marathon`]), and the stream is watched: Marathon's stream carries a
//! heartbeat while quiet, so no byte for `--event-idle-secs` counts as a lost stream, as
//! does its end or an error. Each attachment asks for a full refetch (what happened while
//! detached is not replayed); each relevant event asks for an update. A lost stream is
//! opened again after 0.25 s, doubling to 5 s while attempts keep failing.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::marathon::Marathons;
use crate::metrics::{EventType, Metrics};

/// What the follower asks of the updater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The stream (re)attached: read everything again.
    Attached,
    /// An event that may change routes.
    Event,
}

/// The event types that may change what is routed (others are counted, not acted on).
pub const RELEVANT: &[&str] = &[
    "status_update_event",
    "instance_changed_event",
    "health_status_changed_event",
    "instance_health_changed_event",
    "failed_health_check_event",
    "api_post_event",
    "app_terminated_event",
    "deployment_info",
    "deployment_success",
    "deployment_failed",
    "deployment_step_success",
    "deployment_step_failure",
];

/// Why one stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// No instance could be reached or none answered 200.
    Connect(String),
    /// Nothing arrived for the idle limit (not even a heartbeat).
    Silent,
    /// The server ended the stream.
    Ended,
    /// The connection failed mid-stream.
    Transport(String),
}

impl Lost {
    /// A bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Lost::Connect(_) => "connect",
            Lost::Silent => "silent",
            Lost::Ended => "ended",
            Lost::Transport(_) => "transport",
        }
    }
}

/// The type label for an event: itself when known, else `other` (bounded cardinality).
pub fn type_label(kind: &str) -> String {
    if RELEVANT.contains(&kind)
        || matches!(
            kind,
            "event_stream_attached" | "event_stream_detached" | "framework_message_event"
        )
    {
        kind.to_string()
    } else {
        "other".to_string()
    }
}

/// The byte stream's error: transport or silence.
#[derive(Debug)]
enum Read {
    Silent,
    Transport(String),
}

impl std::fmt::Display for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Read::Silent => write!(f, "silent"),
            Read::Transport(e) => write!(f, "{e}"),
        }
    }
}

/// Reads one stream until it is lost, sending wakes. `Ok` is never returned: the loop
/// ends with why.
async fn follow_one(
    marathons: &Marathons,
    idle: Duration,
    wake: &mpsc::Sender<Wake>,
    metrics: &Metrics,
    attached: &mut bool,
) -> Lost {
    let mut failures = Vec::new();
    let mut opened = None;
    for (i, base) in marathons.in_order() {
        match marathons.open_events(i).await {
            Ok(s) => {
                marathons.prefer(i);
                opened = Some(s);
                break;
            }
            Err(e) => failures.push(format!("{base}: {e}")),
        }
    }
    let Some(stream) = opened else {
        return Lost::Connect(failures.join("; "));
    };
    metrics.stream_redirects.inc_by(stream.redirects as u64);
    tracing::info!(url = %stream.url, redirects = stream.redirects, "event stream open");
    // Silence is loss: each chunk must come within `idle`.
    let bytes = futures_util::stream::unfold(
        Some(stream.response.bytes_stream()),
        move |body| async move {
            let mut body = body?;
            match tokio::time::timeout(idle, body.next()).await {
                Err(_) => Some((Err(Read::Silent), None)),
                Ok(None) => None,
                Ok(Some(Err(e))) => Some((Err(Read::Transport(e.to_string())), None)),
                Ok(Some(Ok(b))) => Some((Ok(b), Some(body))),
            }
        },
    );
    let mut events = Box::pin(bytes.eventsource());
    while let Some(next) = events.next().await {
        let ev = match next {
            Ok(ev) => ev,
            Err(eventsource_stream::EventStreamError::Transport(Read::Silent)) => {
                return Lost::Silent
            }
            Err(e) => return Lost::Transport(e.to_string()),
        };
        let kind = if ev.event.is_empty() || ev.event == "message" {
            // Marathon names each event; an unnamed one carries its type in the data.
            serde_json::from_str::<serde_json::Value>(&ev.data)
                .ok()
                .and_then(|v| v["eventType"].as_str().map(str::to_string))
                .unwrap_or_default()
        } else {
            ev.event.clone()
        };
        if kind.is_empty() {
            continue;
        }
        metrics
            .events
            .get_or_create(&EventType {
                r#type: type_label(&kind),
            })
            .inc();
        let what = if kind == "event_stream_attached" {
            *attached = true;
            metrics.stream_up.set(1);
            Some(Wake::Attached)
        } else if RELEVANT.contains(&kind.as_str()) {
            Some(Wake::Event)
        } else {
            None
        };
        if let Some(w) = what {
            // A full channel already holds a wake that covers this one.
            let _ = wake.try_send(w);
        }
    }
    Lost::Ended
}

/// Follows the stream for the life of the process.
pub async fn follow(
    marathons: std::sync::Arc<Marathons>,
    idle: Duration,
    wake: mpsc::Sender<Wake>,
    metrics: std::sync::Arc<Metrics>,
) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let mut attached = false;
        let lost = follow_one(&marathons, idle, &wake, &metrics, &mut attached).await;
        metrics.stream_up.set(0);
        Metrics::by_reason(&metrics.stream_losses, lost.reason());
        tracing::warn!(reason = lost.reason(), detail = ?lost, "event stream lost; opening it again");
        if attached {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        if !attached {
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    /// A fake pair: a standby that redirects `/v2/events` to the leader, and a leader
    /// that sends `event_stream_attached`, one heartbeat, a status update and a deployment
    /// event, then falls silent without closing.
    async fn fake_marathons() -> (String, String) {
        let leader = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let leader_addr = leader.local_addr().unwrap().to_string();
        let app = axum::Router::new().route(
            "/v2/events",
            axum::routing::get(|| async {
                let chunks = futures_util::stream::iter([
                    "event: event_stream_attached\ndata: {\"eventType\":\"event_stream_attached\"}\n\n",
                    "\n",
                    "event: status_update_event\ndata: {\"eventType\":\"status_update_event\"}\n\n",
                    "event: deployment_success\ndata: {}\n\n",
                    "event: something_new\ndata: {}\n\n",
                ])
                .map(|c| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(c)))
                .chain(futures_util::stream::pending());
                axum::body::Body::from_stream(chunks).into_response()
            }),
        );
        tokio::spawn(async move { axum::serve(leader, app).await });
        let standby = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let standby_addr = standby.local_addr().unwrap().to_string();
        let to = format!("http://{leader_addr}/v2/events");
        let app = axum::Router::new().route(
            "/v2/events",
            axum::routing::get(move || {
                let to = to.clone();
                async move { (axum::http::StatusCode::FOUND, [("location", to)]).into_response() }
            }),
        );
        tokio::spawn(async move { axum::serve(standby, app).await });
        (standby_addr, leader_addr)
    }

    #[tokio::test]
    async fn a_redirect_is_followed_events_wake_the_updater_and_silence_is_a_loss() {
        let (standby, _leader) = fake_marathons().await;
        // The first listed Marathon is down; the second is a standby.
        let m = Marathons::new(
            &["http://127.0.0.1:1".into(), format!("http://{standby}")],
            None,
        )
        .unwrap();
        let metrics = Metrics::default();
        let (tx, mut rx) = mpsc::channel(16);
        let mut attached = false;
        let t = std::time::Instant::now();
        let lost = follow_one(&m, Duration::from_millis(700), &tx, &metrics, &mut attached).await;
        assert_eq!(lost, Lost::Silent);
        assert!(
            t.elapsed() >= Duration::from_millis(700),
            "silence was waited for"
        );
        assert!(attached);
        assert_eq!(metrics.stream_redirects.get(), 1);
        let mut wakes = Vec::new();
        while let Ok(w) = rx.try_recv() {
            wakes.push(w);
        }
        assert_eq!(wakes, [Wake::Attached, Wake::Event, Wake::Event]);
        assert_eq!(
            m.in_order()[0].1.as_str(),
            format!("http://{standby}/"),
            "the standby that answered is tried first next time"
        );
        let other = metrics
            .events
            .get_or_create(&EventType {
                r#type: "other".into(),
            })
            .get();
        assert_eq!(other, 1, "an unknown event type is counted as other");
    }

    /// Marathon with `--http_credentials`: the standby and the leader both ask (401
    /// without them); the bridge sends them to every hop, the redirect's target included.
    #[tokio::test]
    async fn credentials_go_along_to_the_leader_a_standby_redirects_to() {
        use axum::http::{HeaderMap, StatusCode};
        const AUTH: &str = "Basic b3BzOnMzY3JldA=="; // ops:s3cret
        let ok = |h: &HeaderMap| h.get("authorization").is_some_and(|v| v == AUTH);
        let leader = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let leader_addr = leader.local_addr().unwrap().to_string();
        let app = axum::Router::new().route(
            "/v2/events",
            axum::routing::get(move |h: HeaderMap| async move {
                if !ok(&h) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                let attached = "event: event_stream_attached\ndata: {}\n\n";
                axum::body::Body::from_stream(futures_util::stream::iter([Ok::<
                    _,
                    std::convert::Infallible,
                >(
                    axum::body::Bytes::from(attached),
                )]))
                .into_response()
            }),
        );
        tokio::spawn(async move { axum::serve(leader, app).await });
        let standby = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let standby_addr = standby.local_addr().unwrap().to_string();
        let to = format!("http://{leader_addr}/v2/events");
        let app = axum::Router::new().route(
            "/v2/events",
            axum::routing::get(move |h: HeaderMap| {
                let to = to.clone();
                async move {
                    if !ok(&h) {
                        return StatusCode::UNAUTHORIZED.into_response();
                    }
                    (StatusCode::FOUND, [("location", to)]).into_response()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(standby, app).await });
        let url = format!("http://{standby_addr}");
        let (tx, mut rx) = mpsc::channel(4);
        let mut attached = false;
        let without = Marathons::new(std::slice::from_ref(&url), None).unwrap();
        let lost = follow_one(
            &without,
            Duration::from_secs(1),
            &tx,
            &Metrics::default(),
            &mut attached,
        )
        .await;
        assert!(
            matches!(&lost, Lost::Connect(why) if why.contains("401")),
            "{lost:?}"
        );
        let creds = crate::marathon::Credentials::parse("ops:s3cret").unwrap();
        let with = Marathons::new(&[url], Some(creds)).unwrap();
        let lost = follow_one(
            &with,
            Duration::from_secs(1),
            &tx,
            &Metrics::default(),
            &mut attached,
        )
        .await;
        assert_eq!(
            lost,
            Lost::Ended,
            "attached at the leader, which then ended the stream"
        );
        assert!(attached);
        assert_eq!(rx.try_recv().ok(), Some(Wake::Attached));
    }

    #[tokio::test]
    async fn no_marathon_answering_is_a_connect_loss_naming_each() {
        let m = Marathons::new(&["http://127.0.0.1:1".into()], None).unwrap();
        let (tx, _rx) = mpsc::channel(1);
        let mut attached = false;
        let lost = follow_one(
            &m,
            Duration::from_secs(1),
            &tx,
            &Metrics::default(),
            &mut attached,
        )
        .await;
        assert!(
            matches!(&lost, Lost::Connect(why) if why.contains("127.0.0.1:1")),
            "{lost:?}"
        );
        assert!(!attached);
    }

    #[test]
    fn event_type_labels_are_bounded() {
        assert_eq!(type_label("status_update_event"), "status_update_event");
        assert_eq!(type_label("event_stream_attached"), "event_stream_attached");
        assert_eq!(type_label("pod_created_event_or_anything_new"), "other");
        assert_eq!(Lost::Silent.reason(), "silent");
        assert_eq!(Lost::Connect("x".into()).reason(), "connect");
    }
}
