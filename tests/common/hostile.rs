//! Hostile peers: a tokio TCP server on a loopback address that answers each path with one
//! kind of bad behaviour (an endless body, a chunk size past 64 bits, headers trickled a
//! byte at a time, a redirect elsewhere, forged or garbage JSON, a truncated answer), and a
//! fake ZooKeeper server that serves whatever election nodes a test wants.
//!
//! No Docker: everything listens on 127.0.0.x, so tests can give several "hosts" of a
//! cluster document the same port on different loopback addresses.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes an "endless" body sends at most before it goes quiet (keeping the connection open):
/// far past any body cap, and bounded so a client without a cap cannot take the machine's
/// memory while a test shows that it has none.
pub const ENDLESS_BYTES: usize = 256 << 20;

/// How a path is answered.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A well-formed answer.
    Ok { status: u16, body: String },
    /// 200 with no length, then bytes until [`ENDLESS_BYTES`], then silence.
    EndlessBody,
    /// 200 with a `Content-Length` of a terabyte, then bytes as for [`Reply::EndlessBody`].
    HugeContentLength,
    /// A chunked body whose first chunk size is `ffffffffffffffff`, then the connection closes.
    HugeChunk,
    /// A chunked body of endless small chunks.
    EndlessChunks,
    /// The status line and headers one byte every 100 ms, never finished.
    SlowHeaders,
    /// Header lines without end.
    EndlessHeaders,
    /// 307 to `location`.
    Redirect { location: String },
    /// A `Content-Length` of 1000 and 10 bytes, then the connection closes.
    Truncated,
    /// Bytes that are not HTTP at all.
    NotHttp,
    /// The connection is accepted and nothing is ever said.
    Silent,
}

impl Reply {
    /// 200 with this JSON.
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::Ok {
            status: 200,
            body: body.into(),
        }
    }
}

/// A running hostile HTTP server.
pub struct HostileHttp {
    /// `ip:port`.
    pub addr: String,
}

/// Binds `ip:port` (0 for any port) and serves `routes` (path → reply); other paths get 404.
pub async fn http(ip: &str, port: u16, routes: Vec<(&str, Reply)>) -> HostileHttp {
    let listener = TcpListener::bind((ip, port))
        .await
        .expect("bind hostile server");
    let addr = listener.local_addr().expect("local addr").to_string();
    let routes: Arc<BTreeMap<String, Reply>> = Arc::new(
        routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect(),
    );
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            let routes = routes.clone();
            tokio::spawn(async move {
                let _ = serve(s, &routes).await;
            });
        }
    });
    HostileHttp { addr }
}

/// A port free on every one of `ips` (bound and released on each).
pub fn common_port(ips: &[&str]) -> u16 {
    'again: loop {
        let first = std::net::TcpListener::bind((ips[0], 0)).expect("bind");
        let port = first.local_addr().expect("addr").port();
        let mut held = vec![first];
        for ip in &ips[1..] {
            match std::net::TcpListener::bind((*ip, port)) {
                Ok(l) => held.push(l),
                Err(_) => continue 'again,
            }
        }
        return port;
    }
}

async fn read_request(s: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        let n = s.read(&mut b).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&b[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    Ok(head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string())
}

async fn endless(s: &mut TcpStream, chunked: bool) -> std::io::Result<()> {
    let block = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < ENDLESS_BYTES {
        if chunked {
            s.write_all(format!("{:x}\r\n", block.len()).as_bytes())
                .await?;
            s.write_all(&block).await?;
            s.write_all(b"\r\n").await?;
        } else {
            s.write_all(&block).await?;
        }
        sent += block.len();
    }
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

async fn serve(mut s: TcpStream, routes: &BTreeMap<String, Reply>) -> std::io::Result<()> {
    let path = read_request(&mut s).await?;
    let reply = routes.get(&path).cloned().unwrap_or(Reply::Ok {
        status: 404,
        body: String::new(),
    });
    match reply {
        Reply::Ok { status, body } => {
            s.write_all(
                format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await?;
        }
        Reply::EndlessBody => {
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            )
            .await?;
            endless(&mut s, false).await?;
        }
        Reply::HugeContentLength => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
                .await?;
            endless(&mut s, false).await?;
        }
        Reply::HugeChunk => {
            s.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}\r\n0\r\n\r\n",
            )
            .await?;
        }
        Reply::EndlessChunks => {
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await?;
            endless(&mut s, true).await?;
        }
        Reply::SlowHeaders => {
            for b in b"HTTP/1.1 200 OK\r\nX-Slow: "
                .iter()
                .chain(std::iter::repeat(&b'a'))
            {
                s.write_all(&[*b]).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Reply::EndlessHeaders => {
            s.write_all(b"HTTP/1.1 200 OK\r\n").await?;
            for i in 0u64.. {
                s.write_all(format!("X-H{i}: {}\r\n", "a".repeat(100)).as_bytes())
                    .await?;
            }
        }
        Reply::Redirect { location } => {
            s.write_all(
                format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        }
        Reply::Truncated => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"leader\":")
                .await?;
        }
        Reply::NotHttp => {
            s.write_all(b"\x00\xff\xfe garbage \r\n\r\n\r\n").await?;
        }
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    s.shutdown().await
}

/// A fake ZooKeeper server: sessions are accepted; `getChildren2` and `getData` answer from
/// `nodes` (full path → data; children are the nodes directly below a path). Enough of the
/// protocol for the operator's reading of Mesos' election nodes.
pub async fn zookeeper(ip: &str, port: u16, nodes: Vec<(&str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind((ip, port))
        .await
        .expect("bind fake zookeeper");
    let addr = listener.local_addr().expect("local addr").to_string();
    let nodes: Arc<BTreeMap<String, Vec<u8>>> =
        Arc::new(nodes.into_iter().map(|(p, d)| (p.to_string(), d)).collect());
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            let nodes = nodes.clone();
            tokio::spawn(async move {
                let _ = zk_session(s, &nodes).await;
            });
        }
    });
    addr
}

async fn frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await?;
    Ok(body)
}

async fn send(s: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    s.write_all(&(body.len() as u32).to_be_bytes()).await?;
    s.write_all(body).await
}

fn path_of(req: &[u8]) -> String {
    let len = i32::from_be_bytes([req[8], req[9], req[10], req[11]]) as usize;
    String::from_utf8_lossy(&req[12..12 + len]).into_owned()
}

fn stat(data_len: usize, children: usize) -> Vec<u8> {
    let mut r = vec![0u8; 32]; // czxid, mzxid, ctime, mtime
    r.extend([0u8; 12]); // version, cversion, aversion
    r.extend([0u8; 8]); // ephemeralOwner
    r.extend((data_len as i32).to_be_bytes());
    r.extend((children as i32).to_be_bytes());
    r.extend([0u8; 8]); // pzxid
    r
}

async fn zk_session(mut s: TcpStream, nodes: &BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    frame(&mut s).await?;
    let mut r = Vec::new();
    r.extend(0i32.to_be_bytes());
    r.extend(10_000i32.to_be_bytes());
    r.extend(1i64.to_be_bytes());
    r.extend(16i32.to_be_bytes());
    r.extend([7u8; 16]);
    r.push(0);
    send(&mut s, &r).await?;
    loop {
        let req = frame(&mut s).await?;
        let xid = i32::from_be_bytes([req[0], req[1], req[2], req[3]]);
        let op = i32::from_be_bytes([req[4], req[5], req[6], req[7]]);
        let reply = |err: i32| {
            let mut r = Vec::new();
            r.extend(xid.to_be_bytes());
            r.extend(5i64.to_be_bytes());
            r.extend(err.to_be_bytes());
            r
        };
        match op {
            // getChildren2
            12 => {
                let path = path_of(&req);
                let prefix = format!("{}/", path.trim_end_matches('/'));
                let children: Vec<&str> = nodes
                    .keys()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .filter(|c| !c.contains('/'))
                    .collect();
                let mut r = reply(0);
                r.extend((children.len() as i32).to_be_bytes());
                for c in &children {
                    r.extend((c.len() as i32).to_be_bytes());
                    r.extend(c.as_bytes());
                }
                r.extend(stat(0, children.len()));
                send(&mut s, &r).await?;
            }
            // getData
            4 => match nodes.get(&path_of(&req)) {
                Some(data) => {
                    let mut r = reply(0);
                    r.extend((data.len() as i32).to_be_bytes());
                    r.extend(data);
                    r.extend(stat(data.len(), 0));
                    send(&mut s, &r).await?;
                }
                None => send(&mut s, &reply(-101)).await?,
            },
            -11 => {
                send(&mut s, &reply(0)).await?;
                return Ok(());
            }
            _ => send(&mut s, &reply(0)).await?,
        }
    }
}

/// A server that, whatever it is sent, answers with bytes without end (up to
/// [`ENDLESS_BYTES`]): a four-letter word's hostile peer.
pub async fn raw_endless(ip: &str) -> String {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind raw server");
    let addr = listener.local_addr().expect("local addr").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = endless(&mut s, false).await;
            });
        }
    });
    addr
}
