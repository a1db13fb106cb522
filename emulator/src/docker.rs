//! A minimal Docker Engine API client over the mounted socket (`/var/run/docker.sock`), as
//! the Mesos Docker containerizer talks to the engine: create, start, inspect, stop, remove
//! and list containers, pull an image. One request per connection, every call bounded by a
//! timeout, chunked bodies decoded.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The socket the operator mounts into the agent's container.
pub const SOCKET: &str = "/var/run/docker.sock";

/// An answer from the engine.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_string()
    }
}

/// One request to the engine, bounded by `timeout`.
pub async fn call(
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Answer, String> {
    let fut = async {
        let mut s = tokio::net::UnixStream::connect(SOCKET)
            .await
            .map_err(|e| format!("connect {SOCKET}: {e}"))?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Length: {}\r\n",
            payload.len()
        );
        if body.is_some() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str("\r\n");
        req.push_str(&payload);
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        parse(&buf)
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("docker {method} {path}: timed out"))?
}

fn parse(buf: &[u8]) -> Result<Answer, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("docker: no header end")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("docker: no status")?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let raw = &buf[end + 4..];
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Ok(Answer { status, body })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..nl]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        raw = &raw[nl + 2..];
        if size == 0 || raw.len() < size {
            out.extend_from_slice(&raw[..size.min(raw.len())]);
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether the engine has `image` locally; pulls it if not.
pub async fn ensure_image(image: &str) -> Result<(), String> {
    let have = call(
        "GET",
        &format!("/images/{}/json", encode(image)),
        None,
        Duration::from_secs(10),
    )
    .await?;
    if have.ok() {
        return Ok(());
    }
    let (name, tag) = match image.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (image, "latest"),
    };
    let r = call(
        "POST",
        &format!(
            "/images/create?fromImage={}&tag={}",
            encode(name),
            encode(tag)
        ),
        None,
        Duration::from_secs(120),
    )
    .await?;
    // The pull streams progress; an error shows up as an `error` line in a 200 answer.
    let text = r.text();
    if !r.ok() || text.contains("\"error\"") {
        return Err(format!("Failed to pull image {image}: {text}"));
    }
    Ok(())
}

/// `docker inspect` of a container: `None` when it does not exist.
pub async fn inspect(name: &str) -> Result<Option<Value>, String> {
    let r = call(
        "GET",
        &format!("/containers/{}/json", encode(name)),
        None,
        Duration::from_secs(10),
    )
    .await?;
    match r.status {
        200 => Ok(Some(r.json())),
        404 => Ok(None),
        s => Err(format!("inspect {name}: {s} {}", r.text())),
    }
}

/// Containers (running or not) whose name starts with `prefix`, as `docker ps -a` lists
/// them for the Docker containerizer's recovery (`docker->ps(true, "mesos-")`). The
/// engine's `name` filter matches anywhere in the name, so the prefix is checked here.
pub async fn list_named(prefix: &str) -> Result<Vec<Value>, String> {
    let filters = serde_json::json!({"name": [prefix]}).to_string();
    let r = call(
        "GET",
        &format!("/containers/json?all=1&filters={}", encode(&filters)),
        None,
        Duration::from_secs(10),
    )
    .await?;
    if !r.ok() {
        return Err(format!("list containers: {} {}", r.status, r.text()));
    }
    Ok(r.json()
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| name_of(c).starts_with(prefix))
        .cloned()
        .collect())
}

/// A listed container's name, without the engine's leading `/`.
pub fn name_of(c: &Value) -> &str {
    c["Names"][0]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
}

/// Creates and starts a container named `name` from `spec` (the engine's create body).
pub async fn run(name: &str, spec: &Value) -> Result<(), String> {
    let r = call(
        "POST",
        &format!("/containers/create?name={}", encode(name)),
        Some(spec),
        Duration::from_secs(30),
    )
    .await?;
    if !r.ok() && r.status != 409 {
        return Err(format!("create {name}: {} {}", r.status, r.text()));
    }
    let r = call(
        "POST",
        &format!("/containers/{}/start", encode(name)),
        None,
        Duration::from_secs(30),
    )
    .await?;
    if !r.ok() && r.status != 304 {
        return Err(format!("start {name}: {} {}", r.status, r.text()));
    }
    Ok(())
}

/// Stops (SIGTERM, then SIGKILL after `grace`) and removes a container; a missing one counts
/// as removed.
pub async fn stop_and_remove(name: &str, grace: Duration) -> Result<(), String> {
    let secs = grace.as_secs();
    let r = call(
        "POST",
        &format!("/containers/{}/stop?t={secs}", encode(name)),
        None,
        grace + Duration::from_secs(15),
    )
    .await?;
    if !r.ok() && r.status != 304 && r.status != 404 {
        return Err(format!("stop {name}: {} {}", r.status, r.text()));
    }
    let r = call(
        "DELETE",
        &format!("/containers/{}?force=1&v=1", encode(name)),
        None,
        Duration::from_secs(30),
    )
    .await?;
    if !r.ok() && r.status != 404 {
        return Err(format!("remove {name}: {} {}", r.status, r.text()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_answers_are_decoded() {
        let a = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.json(), serde_json::json!([1, 2]));
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
