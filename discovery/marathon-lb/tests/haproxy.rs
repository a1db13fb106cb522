//! The real HAProxy (Debian's, installed by `scripts/deps.sh`) driven by the bridge's
//! `Haproxy` with configurations derived from Marathon-shaped apps: traffic reaches every
//! healthy task, a configuration `haproxy -c` refuses changes nothing, and reloads under
//! steady traffic refuse no connection (master-worker reload with the listeners handed
//! over). Needs no Marathon and no fleet: the tasks are local HTTP responders.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use marathon_lb::config::{derive, Mode, Settings};
use marathon_lb::haproxy::{Applied, Haproxy, HaproxyError};
use marathon_lb::model::Apps;

/// A local task: answers every request with its id, on its own thread.
fn responder(id: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a task port");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let mut req = Vec::new();
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!("{id}\n");
                let _ = s.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    port
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// One request through HAProxy: the answering task's id, or why not.
fn get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut out = String::new();
    s.read_to_string(&mut out)
        .map_err(|e| format!("read: {e}"))?;
    if !out.starts_with("HTTP/1.1 200") {
        return Err(out.lines().next().unwrap_or("no answer").to_string());
    }
    Ok(out
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or("")
        .trim()
        .to_string())
}

fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        bind_address: "127.0.0.1".into(),
        service_ports: (1024, 65535),
        reserved: vec![],
        stats_port: None,
        admin_socket: Some(dir.join("haproxy.sock").to_string_lossy().into_owned()),
        groups: vec![],
        default_mode: Mode::Http,
        maxconn: 1024,
        hard_stop_after_secs: 5,
    }
}

/// The configuration for one app on `service` with `tasks` (id, port).
fn config(service: u16, tasks: &[(&str, u16)], s: &Settings) -> String {
    let tasks: Vec<String> = tasks
        .iter()
        .map(|(id, p)| {
            format!(r#"{{"id":"{id}","host":"127.0.0.1","ports":[{p}],"state":"TASK_RUNNING","startedAt":"t"}}"#)
        })
        .collect();
    let json = format!(
        r#"{{"apps":[{{"id":"/web","portDefinitions":[{{"port":{service}}}],"tasks":[{}]}}]}}"#,
        tasks.join(",")
    );
    let apps: Apps = serde_json::from_str(&json).unwrap();
    derive(&apps.apps, &BTreeMap::new(), s).text
}

fn haproxy_bin() -> String {
    let bin = std::env::var("MARATHON_LB_HAPROXY").unwrap_or_else(|_| "haproxy".into());
    let ok = std::process::Command::new(&bin)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{bin} not found: run scripts/deps.sh (installs Debian's haproxy)"
    );
    bin
}

fn seen_within(port: u16, want: &BTreeSet<String>, timeout: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let seen: BTreeSet<String> = (0..want.len() * 3).filter_map(|_| get(port).ok()).collect();
        if &seen == want {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < timeout,
            "wanted exactly {want:?} through :{port}, saw {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_reaches_every_task_and_a_refused_configuration_changes_nothing() {
    let bin = haproxy_bin();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    let (a, b, c) = (
        responder("task-a"),
        responder("task-b"),
        responder("task-c"),
    );
    let service = free_port();
    let mut h = Haproxy::new(&bin, dir.path()).unwrap();
    let three = config(service, &[("a", a), ("b", b), ("c", c)], &s);
    assert_eq!(h.apply(&three).await.unwrap(), Applied::Started);
    let all: BTreeSet<String> = ["task-a", "task-b", "task-c"].map(String::from).into();
    tokio::task::spawn_blocking(move || seen_within(service, &all, Duration::from_secs(10)))
        .await
        .unwrap();

    let live = std::fs::read_to_string(h.config_path()).unwrap();
    let err = h
        .apply("global\n    no-such-keyword 1\n")
        .await
        .unwrap_err();
    assert!(
        matches!(err, HaproxyError::Invalid(ref why) if why.contains("no-such-keyword")),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(h.config_path()).unwrap(),
        live,
        "the live file is untouched"
    );
    assert!(h.master_pid().is_some(), "the master still runs");

    let one = config(service, &[("c", c)], &s);
    assert_eq!(h.apply(&one).await.unwrap(), Applied::Reloaded);
    let only_c: BTreeSet<String> = ["task-c".to_string()].into();
    tokio::task::spawn_blocking(move || seen_within(service, &only_c, Duration::from_secs(10)))
        .await
        .unwrap();
    h.stop().await;
    assert!(get(service).is_err(), "stopped: nothing listens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_steady_traffic_refuse_no_connection() {
    let bin = haproxy_bin();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    let (a, b) = (responder("task-a"), responder("task-b"));
    let service = free_port();
    let mut h = Haproxy::new(&bin, dir.path()).unwrap();
    let configs = [
        config(service, &[("a", a), ("b", b)], &s),
        config(service, &[("a", a)], &s),
        config(service, &[("b", b)], &s),
    ];
    h.apply(&configs[0]).await.unwrap();
    let both: BTreeSet<String> = ["task-a", "task-b"].map(String::from).into();
    tokio::task::spawn_blocking(move || seen_within(service, &both, Duration::from_secs(10)))
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let load = {
        let (stop, ok, failed, errors) = (stop.clone(), ok.clone(), failed.clone(), errors.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match get(service) {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        errors.lock().unwrap().push(e);
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        })
    };
    let reloads = 20;
    let t = Instant::now();
    for i in 0..reloads {
        assert_eq!(
            h.apply(&configs[(i + 1) % 3]).await.unwrap(),
            Applied::Reloaded
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "{reloads} reloads in {:.1}s under traffic: {ok} requests answered, {failed} failed",
        t.elapsed().as_secs_f64()
    );
    h.stop().await;
    assert!(ok > 50, "traffic flowed during the reloads: {ok}");
    assert_eq!(
        failed,
        0,
        "no request failed across {reloads} reloads: {:?}",
        errors.lock().unwrap()
    );
}
