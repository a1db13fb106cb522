//! Health probes, each with a deadline, as `shared/reference/mesos-marathon-api.md` documents
//! the components: ZooKeeper through a real client (the committed `/zookeeper/config`) and
//! four-letter words (`ruok`, `srvr`, `conf`); Mesos masters, agents and Marathon through
//! their HTTP APIs and ZooKeeper election nodes. A slow component answers `None` / unhealthy
//! at its deadline; it never stalls the rest. Numbers are read as floats (1.x writes `1.0`,
//! 0.22 writes `1`).
//!
//! HTTP goes through `reqwest` (hyper): chunk sizes, header sizes and malformed answers are
//! hyper's to refuse; every body is capped per call ([`BODY_LIMIT`] unless told otherwise,
//! a larger `Content-Length` refused before reading), and a redirect is followed by hand,
//! only to one of the cluster's own masters. The HTTP probes take the cluster's credentials
//! (`spec.httpCredentials`, [`HttpAuth`]) and send them to the address they were given
//! (always one of the cluster's), and across a redirect only to another of its masters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use mesos_operator_core::observed::{
    Maintenance, MasterObservation, ZkConfig, ZkServerObservation,
};
pub use mesos_operator_core::zk_text::{parse_conf, parse_srvr_mode, parse_zk_config, ZkConf};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zookeeper_client as zk;

use crate::http_auth::{self, HttpAuth};

/// Deadline of one probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Largest four-letter-word answer read (`conf` and `srvr` are under 2 KiB).
pub const FOUR_LETTER_LIMIT: u64 = 64 << 10;

/// Sends a four-letter word; `None` when nothing answers in time, or the answer is longer
/// than [`FOUR_LETTER_LIMIT`] (read no further) or not text.
pub async fn four_letter(addr: &str, word: &str) -> Option<String> {
    let f = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(word.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        (&mut s)
            .take(FOUR_LETTER_LIMIT + 1)
            .read_to_end(&mut out)
            .await
            .ok()?;
        if out.len() as u64 > FOUR_LETTER_LIMIT {
            return None;
        }
        String::from_utf8(out).ok()
    };
    tokio::time::timeout(PROBE_TIMEOUT, f).await.ok().flatten()
}

/// What one ZooKeeper server says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkServerProbe {
    /// `ruok`, mode and config version.
    pub observation: ZkServerObservation,
    /// The server id from its `conf` reply.
    pub server_id: Option<u64>,
}

/// One ZooKeeper server: `ruok`, its mode from `srvr`, its id and config version from `conf`.
pub async fn zk_server(addr: &str) -> ZkServerProbe {
    let (ruok, srvr, conf) = tokio::join!(
        four_letter(addr, "ruok"),
        four_letter(addr, "srvr"),
        four_letter(addr, "conf")
    );
    let mode = srvr.as_deref().and_then(parse_srvr_mode);
    let conf = conf.as_deref().map(parse_conf).unwrap_or_default();
    ZkServerProbe {
        observation: ZkServerObservation {
            ok: ruok.as_deref() == Some("imok"),
            mode,
            config_version: conf.config_version,
            server_id: conf.server_id,
        },
        server_id: conf.server_id,
    }
}

/// Connects to the ensemble, with a deadline.
pub async fn zk_connect(connect: &str) -> Option<zk::Client> {
    let c = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .with_connection_timeout(PROBE_TIMEOUT);
    tokio::time::timeout(PROBE_TIMEOUT + Duration::from_secs(1), c.connect(connect))
        .await
        .ok()?
        .ok()
}

/// The committed config and its voters' addresses, read through a real client after a
/// `sync`: the server the session is on has caught up with the leader, so a lagging
/// follower cannot hand out an old config. The sync and the read are sent together (one
/// round trip; a session's requests are answered in order) and both must succeed.
pub async fn zk_committed(
    client: &zk::Client,
    host_of: &BTreeMap<String, String>,
) -> Option<(ZkConfig, BTreeMap<u64, String>)> {
    let sync = client.sync("/zookeeper/config");
    let read = client.get_config();
    let (synced, read) = tokio::time::timeout(PROBE_TIMEOUT, async { tokio::join!(sync, read) })
        .await
        .ok()?;
    synced.ok()?;
    let (data, _) = read.ok()?;
    parse_zk_config(&String::from_utf8_lossy(&data), host_of)
}

/// The leading master's `ip:port` per the lowest `json.info_` election node under `path`.
pub async fn mesos_leader_from_zk(client: &zk::Client, path: &str) -> Option<String> {
    let (children, _) = tokio::time::timeout(PROBE_TIMEOUT, client.get_children(path))
        .await
        .ok()?
        .ok()?;
    let node = children
        .iter()
        .filter(|n| n.starts_with("json.info_"))
        .filter_map(|n| n.rsplit('_').next()?.parse::<u64>().ok().map(|s| (s, n)))
        .min()?
        .1
        .clone();
    let (data, _) = tokio::time::timeout(PROBE_TIMEOUT, client.get_data(&format!("{path}/{node}")))
        .await
        .ok()?
        .ok()?;
    let v: Value = serde_json::from_slice(&data).ok()?;
    Some(format!(
        "{}:{}",
        v["address"]["ip"].as_str()?,
        v["address"]["port"].as_u64()?
    ))
}

/// The `ip:port` of every replica in the masters' replicated-log group: the children of
/// `<path>/log_replicas`, each an ephemeral node whose data is the replica's process id
/// (`log-replica(1)@10.0.0.2:5050`, mesos@1.11.0 src/log/network.hpp, `ZooKeeperNetwork`
/// over `zookeeper::Group`). A replica cut off from ZooKeeper past its session is not here.
/// `None` when the group could not be read.
pub async fn log_group(client: &zk::Client, path: &str) -> Option<BTreeSet<String>> {
    let dir = format!("{path}/log_replicas");
    let (children, _) = tokio::time::timeout(PROBE_TIMEOUT, client.get_children(&dir))
        .await
        .ok()?
        .ok()?;
    let reads = children.iter().map(|n| {
        let node = format!("{dir}/{n}");
        async move {
            let (data, _) = tokio::time::timeout(PROBE_TIMEOUT, client.get_data(&node))
                .await
                .ok()?
                .ok()?;
            replica_addr(&String::from_utf8_lossy(&data))
        }
    });
    // A node gone between the list and its read left the group: it is simply not counted.
    Some(
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .flatten()
            .collect(),
    )
}

/// `ip:port` of a replica's process id, `log-replica(1)@ip:port`.
fn replica_addr(pid: &str) -> Option<String> {
    let (name, addr) = pid.trim().split_once('@')?;
    (name.starts_with("log-replica(") && addr.contains(':')).then(|| addr.to_string())
}

/// Largest body a probe reads unless told otherwise: health, version, metrics and
/// maintenance answers are a few KiB.
pub const BODY_LIMIT: usize = 4 << 20;
/// Largest `/master/state` read: it lists every agent and framework of the cluster.
pub const STATE_BODY_LIMIT: usize = 8 << 20;

/// Why an HTTP probe got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Nothing complete within the deadline (a silent peer, headers or a body trickled).
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// Connection refused or reset, or an answer that is not HTTP.
    #[error("{0}")]
    Transport(String),
    /// The body is (or says it is) larger than the caller's cap.
    #[error("the answer's body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The HTTP client could not be set up.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// An HTTP answer: its status, its `Location` if any, and its body (up to the caller's cap).
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// The `Location` header, when it is text.
    pub location: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The probes' client: no redirects followed (a 307 is a fact the caller weighs), no proxy
/// from the environment, one request per connection (a restarted component never meets a
/// pooled connection of its predecessor). Deadlines are per call.
fn client() -> Result<&'static reqwest::Client, HttpError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .pool_max_idle_per_host(0)
                .http1_only()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| HttpError::Client(e.clone()))
}

/// `GET http://{addr}{path}`: connection, headers and body all within `timeout`, the body
/// refused as soon as it (or its `Content-Length`) passes `limit` bytes; `read_body: false`
/// reads only the status and headers. `auth` goes with the request: `addr` must be one of
/// the cluster's own.
pub async fn http_get(
    addr: &str,
    path: &str,
    limit: usize,
    timeout: Duration,
    read_body: bool,
    auth: Option<&HttpAuth>,
) -> Result<HttpAnswer, HttpError> {
    let url = format!("http://{addr}{path}");
    let fut = async {
        let mut r = http_auth::with_auth(client()?.get(&url), auth)
            .send()
            .await
            .map_err(|e| HttpError::Transport(format!("GET {url}: {e}")))?;
        let status = r.status().as_u16();
        if status == 401 {
            http_auth::warn_unauthorized(&format!("GET {url}"), auth);
        }
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = if read_body {
            read_capped(&mut r, limit, &url).await?
        } else {
            Vec::new()
        };
        Ok(HttpAnswer {
            status,
            location,
            body,
        })
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

/// The body of `r`, refused as soon as it (or its `Content-Length`) passes `limit` bytes, so
/// an endless or huge answer costs at most `limit` bytes of memory. The caller bounds the
/// time.
pub async fn read_capped(
    r: &mut reqwest::Response,
    limit: usize,
    url: &str,
) -> Result<Vec<u8>, HttpError> {
    let declared = r.content_length().or_else(|| {
        r.headers()
            .get(reqwest::header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    });
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::BodyTooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| HttpError::Transport(format!("{url}: {e}")))?
    {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(HttpError::BodyTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// GET and parse JSON, with a body cap; `None` on any failure or non-200.
pub async fn get_json_capped(
    addr: &str,
    path: &str,
    limit: usize,
    auth: Option<&HttpAuth>,
) -> Option<Value> {
    let r = http_get(addr, path, limit, PROBE_TIMEOUT, true, auth)
        .await
        .ok()?;
    if r.status != 200 {
        return None;
    }
    serde_json::from_slice(&r.body).ok()
}

/// GET and parse JSON (body up to [`BODY_LIMIT`]); on failure the status that was not 200,
/// if any answer came (a 401 means credentials are missing or wrong, worth saying).
pub async fn get_json_or_status(
    addr: &str,
    path: &str,
    auth: Option<&HttpAuth>,
) -> Result<Value, Option<u16>> {
    let r = http_get(addr, path, BODY_LIMIT, PROBE_TIMEOUT, true, auth)
        .await
        .map_err(|_| None)?;
    if r.status != 200 {
        return Err(Some(r.status));
    }
    serde_json::from_slice(&r.body).map_err(|_| None)
}

/// GET and parse JSON (body up to [`BODY_LIMIT`]); `None` on any failure or non-200.
pub async fn get_json(addr: &str, path: &str, auth: Option<&HttpAuth>) -> Option<Value> {
    get_json_capped(addr, path, BODY_LIMIT, auth).await
}

/// Where a redirect from `from` points, as `host:port`, if that is one of `allowed`
/// (the cluster's own masters); anything else is no answer.
pub fn redirect_target(from: &str, location: &str, allowed: &BTreeSet<String>) -> Option<String> {
    let base = reqwest::Url::parse(&format!("http://{from}/master/state")).ok()?;
    let to = base.join(location).ok()?;
    if to.scheme() != "http" {
        return None;
    }
    let target = format!("{}:{}", to.host_str()?, to.port_or_known_default()?);
    allowed.contains(&target).then_some(target)
}

/// `/master/state` from any master: a non-leader's 307 is followed once, and only to one of
/// `allowed` (the cluster's masters, `address:port`; its Location is protocol-relative,
/// `//host:port/master/state`); a 503 ("No leader elected") is `None`, and a 404 falls back
/// to 0.22's `/master/state.json`. Returns the state and the address it came from. `auth`
/// goes to `addr` and to a redirect's target, which is one of `allowed` or not asked.
pub async fn master_state(
    addr: &str,
    allowed: &BTreeSet<String>,
    auth: Option<&HttpAuth>,
) -> Option<(String, Value)> {
    let mut target = addr.to_string();
    for _ in 0..2 {
        let r = http_get(
            &target,
            "/master/state",
            STATE_BODY_LIMIT,
            PROBE_TIMEOUT,
            true,
            auth,
        )
        .await
        .ok()?;
        match r.status {
            200 => return serde_json::from_slice(&r.body).ok().map(|v| (target, v)),
            307 => target = redirect_target(&target, r.location.as_deref()?, allowed)?,
            404 => {
                return get_json_capped(&target, "/master/state.json", STATE_BODY_LIMIT, auth)
                    .await
                    .map(|v| (target, v))
            }
            _ => return None,
        }
    }
    None
}

/// The HTTP status of a GET, if any answer came (the body is not read).
pub async fn status_of(addr: &str, path: &str, auth: Option<&HttpAuth>) -> Option<u16> {
    http_get(addr, path, 0, PROBE_TIMEOUT, false, auth)
        .await
        .ok()
        .map(|r| r.status)
}

/// One Mesos master: `/health`, its metrics (elected, log recovered) and version; `None`
/// when `/health` does not answer at all. The observation and the executor's last look
/// before a stop read a master the same way. `/health` and `/version` never ask for
/// credentials; `/metrics/snapshot` does with `--authenticate_http_readonly` (it is in the
/// master's readonly realm: mesos@1.11.0:src/master/main.cpp passes
/// READONLY_HTTP_AUTHENTICATION_REALM to `process::initialize`).
pub async fn master(addr: &str, auth: Option<&HttpAuth>) -> Option<MasterObservation> {
    let (health, metrics, version) = tokio::join!(
        status_of(addr, "/health", None),
        get_json(addr, "/metrics/snapshot", auth),
        get_json(addr, "/version", None)
    );
    let metric = |name: &str| metrics.as_ref().is_some_and(|v| num(&v[name]) == 1.0);
    Some(MasterObservation {
        healthy: health? == 200,
        elected: metric("master/elected"),
        recovered: metric("registrar/log/recovered"),
        version: version.and_then(|v| v["version"].as_str().map(str::to_string)),
        in_log_group: None,
    })
}

/// A number, whether written `1` or `1.0`.
pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Maintenance state by machine hostname or ip, from `/master/maintenance/status`.
pub fn parse_maintenance(v: &Value) -> Vec<(String, String, Maintenance)> {
    let mut out = Vec::new();
    for m in v["draining_machines"].as_array().into_iter().flatten() {
        out.push((
            m["id"]["hostname"].as_str().unwrap_or_default().to_string(),
            m["id"]["ip"].as_str().unwrap_or_default().to_string(),
            Maintenance::Draining,
        ));
    }
    for m in v["down_machines"].as_array().into_iter().flatten() {
        out.push((
            m["hostname"].as_str().unwrap_or_default().to_string(),
            m["ip"].as_str().unwrap_or_default().to_string(),
            Maintenance::Down,
        ));
    }
    out
}

/// The start (seconds since the epoch) of the window that lists each machine, by machine
/// hostname and ip, from `/master/maintenance/schedule`.
pub fn parse_windows(v: &Value) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for w in v["windows"].as_array().into_iter().flatten() {
        let Some(nanos) = w["unavailability"]["start"]["nanoseconds"].as_i64() else {
            continue;
        };
        let start = u64::try_from(nanos).unwrap_or(0) / 1_000_000_000;
        for m in w["machine_ids"].as_array().into_iter().flatten() {
            out.push((
                m["hostname"].as_str().unwrap_or_default().to_string(),
                m["ip"].as_str().unwrap_or_default().to_string(),
                start,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_read_from_its_process_id_and_anything_else_is_not() {
        assert_eq!(
            replica_addr("log-replica(1)@10.0.0.2:5050").as_deref(),
            Some("10.0.0.2:5050")
        );
        assert_eq!(replica_addr("master@10.0.0.2:5050"), None);
        assert_eq!(replica_addr("log-replica(1)@10.0.0.2"), None);
        assert_eq!(replica_addr("garbage"), None);
    }

    #[test]
    fn zookeeper_config_is_read_with_hex_version_and_host_names() {
        let hosts = BTreeMap::from([("10.0.0.1".to_string(), "host1".to_string())]);
        let (c, addresses) = parse_zk_config(
            "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.4=10.0.0.9:2888:3888:participant;0.0.0.0:2181\nserver.5=10.0.0.7:2888:3888:observer;0.0.0.0:2181\nversion=10000000a",
            &hosts,
        )
        .unwrap();
        assert_eq!(c.version, 0x1_0000_000a);
        assert_eq!(
            c.voters,
            BTreeMap::from([(1, "host1".to_string()), (4, "10.0.0.9".to_string())])
        );
        // Every voter's address, named by a host or not; observers are not voters.
        assert_eq!(
            addresses,
            BTreeMap::from([(1, "10.0.0.1".to_string()), (4, "10.0.0.9".to_string())])
        );
    }

    /// `conf` as ZooKeeper 3.8.0 (the test bed's image) answered it: server 7, alone.
    const CONF_3_8: &str = "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/lib/zookeeper/data/version-2\ndataDirSize=522\ndataLogDir=/var/lib/zookeeper/data/version-2\ndataLogSize=522\ntickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=7\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \nserver.7=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000000";

    #[test]
    fn conf_gives_the_server_id_and_config_version() {
        assert_eq!(
            parse_conf(CONF_3_8),
            ZkConf {
                server_id: Some(7),
                config_version: Some(0x1_0000_0000),
            }
        );
        // Right after a reconfig the version line may be missing for a moment; the id is
        // still read. Lines may end in CRLF.
        let partial = CONF_3_8
            .lines()
            .filter(|l| !l.starts_with("version="))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(
            parse_conf(&partial),
            ZkConf {
                server_id: Some(7),
                config_version: None,
            }
        );
        assert_eq!(parse_conf(""), ZkConf::default());
        // A reply that is not a number is not an id.
        assert_eq!(parse_conf("serverId=x\n").server_id, None);
    }

    /// A ZooKeeper server that lags behind its leader: it serves the stale config to a
    /// session until the session syncs (then the fresh one), or fails the sync with
    /// `sync_error`. Speaks just enough of the protocol (connect, ping, sync, getData).
    fn lagging_zookeeper(stale: &str, fresh: &str, sync_error: i32) -> String {
        use std::io::{Read, Write};
        fn frame(s: &mut std::net::TcpStream) -> Option<Vec<u8>> {
            let mut len = [0u8; 4];
            s.read_exact(&mut len).ok()?;
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            s.read_exact(&mut body).ok()?;
            Some(body)
        }
        fn send(s: &mut std::net::TcpStream, body: &[u8]) {
            let _ = s.write_all(&(body.len() as u32).to_be_bytes());
            let _ = s.write_all(body);
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stale, fresh) = (stale.to_string(), fresh.to_string());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { continue };
                let (stale, fresh) = (stale.clone(), fresh.clone());
                std::thread::spawn(move || {
                    if frame(&mut s).is_none() {
                        return;
                    }
                    // protocol 0, timeout 10 s, session 1, a 16-byte password, not read-only.
                    let mut r = Vec::new();
                    r.extend(0i32.to_be_bytes());
                    r.extend(10_000i32.to_be_bytes());
                    r.extend(1i64.to_be_bytes());
                    r.extend(16i32.to_be_bytes());
                    r.extend([7u8; 16]);
                    r.push(0);
                    send(&mut s, &r);
                    let mut synced = false;
                    while let Some(req) = frame(&mut s) {
                        let xid = i32::from_be_bytes([req[0], req[1], req[2], req[3]]);
                        let op = i32::from_be_bytes([req[4], req[5], req[6], req[7]]);
                        let reply = |err: i32| {
                            let mut r = Vec::new();
                            r.extend(xid.to_be_bytes());
                            r.extend(0x1_0000_0005i64.to_be_bytes());
                            r.extend(err.to_be_bytes());
                            r
                        };
                        match op {
                            // sync: echoes the path (the rest of the request).
                            9 if sync_error == 0 => {
                                synced = true;
                                let mut r = reply(0);
                                r.extend(&req[8..]);
                                send(&mut s, &r);
                            }
                            9 => send(&mut s, &reply(sync_error)),
                            // getData: the config this server has, and a stat.
                            4 => {
                                let data = if synced { &fresh } else { &stale };
                                let mut r = reply(0);
                                r.extend((data.len() as i32).to_be_bytes());
                                r.extend(data.as_bytes());
                                r.extend([0u8; 32]); // czxid, mzxid, ctime, mtime
                                r.extend([0u8; 12]); // version, cversion, aversion
                                r.extend([0u8; 8]); // ephemeralOwner
                                r.extend((data.len() as i32).to_be_bytes());
                                r.extend([0u8; 12]); // numChildren, pzxid
                                send(&mut s, &r);
                            }
                            // close session: answered, then the connection ends.
                            -11 => {
                                send(&mut s, &reply(0));
                                return;
                            }
                            // ping and anything else: an empty answer.
                            _ => send(&mut s, &reply(0)),
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn the_committed_config_is_read_after_a_sync() {
        let stale = "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000001";
        let fresh = "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.2=10.0.0.2:2888:3888:participant;0.0.0.0:2181\nversion=100000004";
        let hosts = BTreeMap::from([("10.0.0.1".to_string(), "host1".to_string())]);
        // A server behind its leader hands out the old config unless the session syncs.
        let addr = lagging_zookeeper(stale, fresh, 0);
        let client = zk_connect(&addr).await.unwrap();
        let (c, addresses) = zk_committed(&client, &hosts).await.unwrap();
        assert_eq!(c.version, 0x1_0000_0004);
        assert_eq!(addresses.len(), 2);
        // A sync that fails gives no config rather than one that may be old.
        let addr = lagging_zookeeper(stale, fresh, -4);
        let client = zk_connect(&addr).await.unwrap();
        assert_eq!(zk_committed(&client, &hosts).await, None);
    }

    /// One answer per connection; each request's head is kept (lowercased).
    async fn answering(
        answer: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        let answer = std::sync::Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let (keep, answer) = (keep.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                    let out = answer(&head);
                    keep.lock().unwrap().push(head);
                    let _ = s.write_all(out.as_bytes()).await;
                });
            }
        });
        (addr, seen)
    }

    /// Issue 23: `/master/state` carries the credentials to the master asked and across a
    /// redirect to another of the cluster's masters; a master that demands them and gets
    /// none is no answer.
    #[tokio::test]
    async fn the_state_read_carries_the_credentials_to_the_cluster_s_masters_only() {
        let auth = HttpAuth::from_secret(&crate::secrets::Secret::new(
            "mesos-http",
            b"ops:pw".to_vec(),
        ))
        .unwrap();
        let (leader, leader_seen) = answering(|head| {
            if head.contains("\r\nauthorization: basic b3bzonb3\r\n") {
                let body = r#"{"leader":"master@x"}"#;
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"mesos-master-readonly\"\r\nContent-Length: 0\r\n\r\n".into()
            }
        })
        .await;
        let to = leader.clone();
        let (follower, _) = answering(move |_| {
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: //{to}/master/state\r\nContent-Length: 0\r\n\r\n")
        })
        .await;
        let cluster: BTreeSet<String> = [leader.clone(), follower.clone()].into();
        let (from, state) = master_state(&follower, &cluster, Some(&auth))
            .await
            .unwrap();
        assert_eq!(from, leader);
        assert_eq!(state["leader"], "master@x");
        assert_eq!(master_state(&follower, &cluster, None).await, None);
        let heads = leader_seen.lock().unwrap().clone();
        assert_eq!(heads.len(), 2, "{heads:?}");
        assert!(heads[0].contains("authorization: basic b3bzonb3"));
        assert!(!heads[1].contains("authorization"));
        // A redirect out of the cluster is not followed: the trap never hears the request.
        let (trap, trapped) =
            answering(|_| "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".into()).await;
        let (liar, _) = answering(move |_| {
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: //{trap}/master/state\r\nContent-Length: 0\r\n\r\n")
        })
        .await;
        let only_liar: BTreeSet<String> = [liar.clone()].into();
        assert_eq!(master_state(&liar, &only_liar, Some(&auth)).await, None);
        assert!(trapped.lock().unwrap().is_empty());
    }

    #[test]
    fn numbers_parse_from_both_eras() {
        let v: Value = serde_json::from_str("{\"a\":1,\"b\":1.0}").unwrap();
        assert_eq!(num(&v["a"]), 1.0);
        assert_eq!(num(&v["b"]), 1.0);
    }

    #[test]
    fn maintenance_windows_are_read_by_their_start() {
        let v = serde_json::json!({"windows": [
            {"machine_ids": [{"hostname": "a1", "ip": "10.0.0.1"}, {"hostname": "a2"}],
             "unavailability": {"start": {"nanoseconds": 1_700_000_123_456_789_000i64}}},
            {"machine_ids": [{"ip": "10.0.0.3"}], "unavailability": {}}
        ]});
        assert_eq!(
            parse_windows(&v),
            vec![
                ("a1".into(), "10.0.0.1".into(), 1_700_000_123),
                ("a2".into(), String::new(), 1_700_000_123)
            ]
        );
        assert!(parse_windows(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn maintenance_status_shape() {
        let v: Value = serde_json::from_str(r#"{"draining_machines":[{"id":{"hostname":"a1","ip":"10.0.0.21"},"statuses":[]}],"down_machines":[{"hostname":"a2","ip":"10.0.0.22"}]}"#).unwrap();
        let m = parse_maintenance(&v);
        assert_eq!(
            m[0],
            ("a1".into(), "10.0.0.21".into(), Maintenance::Draining)
        );
        assert_eq!(m[1], ("a2".into(), "10.0.0.22".into(), Maintenance::Down));
    }
}
