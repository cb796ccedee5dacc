//! A blocking HTTP/1.1 client for the node's HTTP port, small on purpose (see the binary's
//! `http.rs` for the same reasoning): one request per connection, bounded in time and size.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};

/// Largest response accepted.
const RESPONSE_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Status code and body of a response.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body text (chunked encoding removed).
    pub body: String,
}

impl Response {
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_str(&self.body).with_context(|| format!("invalid JSON: {}", self.body))
    }
}

/// `GET http://{addr}{path}`; `timeout` bounds connecting and each read and write.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> anyhow::Result<Response> {
    request(addr, "GET", path, "", timeout)
}

/// `POST http://{addr}{path}` with a JSON body.
pub fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> anyhow::Result<Response> {
    request(addr, "POST", path, &body.to_string(), timeout)
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let what = format!("{method} http://{addr}{path}");
    let mut stream = TcpStream::connect_timeout(&addr, timeout).with_context(|| what.clone())?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .with_context(|| what.clone())?;
    stream
        .write_all(body.as_bytes())
        .with_context(|| what.clone())?;
    let mut raw = Vec::new();
    stream
        .take(RESPONSE_BYTES_MAX)
        .read_to_end(&mut raw)
        .with_context(|| what.clone())?;
    parse_response(&raw).with_context(|| what)
}

fn parse_response(raw: &[u8]) -> anyhow::Result<Response> {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!("malformed HTTP response (no end of headers)");
    };
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("malformed status line `{status_line}`"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut rest = &raw[split + 4..];
    if !chunked {
        return Ok(Response {
            status,
            body: String::from_utf8_lossy(rest).into_owned(),
        });
    }
    let mut body = Vec::new();
    // Each round consumes one chunk header, so this ends within rest.len() rounds.
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            bail!("truncated chunked body");
        };
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        if rest.len() < size + 2 {
            bail!("truncated chunked body");
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// POSTs `body` to `path` on the first of `targets` that accepts it, trying them in turn and
/// retrying transient failures until 60 s pass (admin requests during elections and faults).
pub fn post_json_to_any(
    targets: &[SocketAddr],
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    if targets.is_empty() {
        bail!("no running node to send {path} to");
    }
    let mut round = 0usize;
    crate::poll_until(
        path,
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let addr = targets[round % targets.len()];
            round += 1;
            match post_json(addr, path, body, Duration::from_secs(30)) {
                Ok(r) if r.is_success() => Ok(Some(())),
                Ok(r) => Err(format!("{addr}: HTTP {}: {}", r.status, r.body)),
                Err(err) => Err(format!("{err:#}")),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_responses() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "{}"));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, "{}");
        assert!(parse_response(b"garbage").is_err());
    }
}
