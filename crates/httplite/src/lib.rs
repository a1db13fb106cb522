//! A minimal HTTP/1.1 client: one request per connection (`Connection: close`), bounded by a
//! deadline, chunked bodies decoded. Enough for the JSON and text endpoints of Mesos and
//! Marathon; no TLS, no redirects followed automatically (a 307 from a non-leading master is
//! a fact the caller wants to see).

#![forbid(unsafe_code)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response read by [`request`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, lowercased names.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request with `Connection: close`, bounded by `timeout`.
pub async fn request(
    method: &str,
    host_port: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(host_port)
            .await
            .map_err(|e| e.to_string())?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(body).await.map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        parse_response(&buf)
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| "timed out".to_string())?
}

fn parse_response(buf: &[u8]) -> Result<HttpResponse, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        // A size past the buffer (up to `ffffffffffffffff`) ends the body, never overflows.
        let Some(end) = (i + 2).checked_add(n) else {
            break;
        };
        if n == 0 || b.len() < end {
            break;
        }
        out.extend_from_slice(&b[i + 2..end]);
        b = &b[end.saturating_add(2).min(b.len())..];
    }
    out
}

/// `GET path` on `host_port`.
pub async fn get(host_port: &str, path: &str, timeout: Duration) -> Result<HttpResponse, String> {
    request("GET", host_port, path, &[], &[], timeout).await
}

impl HttpResponse {
    /// A header's value (names are lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_size_past_64_bits_ends_the_body() {
        assert_eq!(dechunk(b"ffffffffffffffff\r\n{}\r\n0\r\n\r\n"), b"");
        assert_eq!(dechunk(b"2\r\n{}\r\n0\r\n\r\n"), b"{}");
    }
}
