//! A lean RESP2 client: one request at a time on one TCP connection.
//!
//! The recorder needs to know exactly whether a request left the process, which a pooled or
//! multiplexed client hides (it reconnects and retries on its own). This client never retries:
//! [`RespConn::call`] fails only after writing started
//! ([`CallError::AfterSend`]); connecting is a separate step, and the caller decides what that means for the history.
//! It is not a general Redis client: no RESP3, no pub/sub, no pipelining.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

/// Largest bulk reply accepted: list-append values grow, but a chaos run stays far below this.
const BULK_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most elements in an array reply (only server commands return arrays here).
const ARRAY_LEN_MAX: usize = 1 << 20;
/// Deepest nesting of arrays accepted.
const DEPTH_MAX: usize = 8;

/// A reply value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+text`.
    Status(String),
    /// `-text`: an error reply (the request was answered).
    Error(String),
    /// `:n`.
    Int(i64),
    /// `$n` bulk string, `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*n` array, `None` for `*-1`.
    Array(Option<Vec<Value>>),
}

impl Value {
    /// The bulk or status text, lossily decoded (for INFO and DEBUG DIGEST).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Status(s) => Some(s.clone()),
            Value::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Why a call produced no reply. Connection failures happen in [`RespConn::connect`], before
/// anything is sent; once `call` starts writing, any failure may follow an effect.
#[derive(Debug)]
pub enum CallError {
    /// The request was (perhaps partly) written and no complete reply came back.
    AfterSend(anyhow::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::AfterSend(e) => write!(f, "{e:#}"),
        }
    }
}

/// One connection to one endpoint (a TCP stream, or any byte stream: a simulator's).
pub struct RespConn<S = TcpStream> {
    stream: BufReader<S>,
}

impl RespConn<TcpStream> {
    /// Connects within `timeout`.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> anyhow::Result<RespConn> {
        RespConn::connect_from(addr, None, timeout).await
    }

    /// Connects within `timeout` from local address `source` when given (a client on one side
    /// of a partition is told apart by its address).
    pub async fn connect_from(
        addr: SocketAddr,
        source: Option<IpAddr>,
        timeout: Duration,
    ) -> anyhow::Result<RespConn> {
        let connect = async {
            let socket = match addr {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            if let Some(source) = source {
                socket.bind(SocketAddr::new(source, 0))?;
            }
            socket.connect(addr).await
        };
        let stream = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| anyhow!("connect to {addr}: timed out after {timeout:?}"))?
            .with_context(|| match source {
                Some(source) => format!("connect to {addr} from {source}"),
                None => format!("connect to {addr}"),
            })?;
        stream.set_nodelay(true)?;
        Ok(RespConn {
            stream: BufReader::new(stream),
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> RespConn<S> {
    /// A client over an already connected stream.
    pub fn over(stream: S) -> RespConn<S> {
        RespConn {
            stream: BufReader::new(stream),
        }
    }

    /// Sends one request and reads its reply. No timeout here: the caller bounds the whole
    /// call (and drops the connection when it gives up, since a late reply would be misread).
    pub async fn call(&mut self, args: &[&[u8]]) -> Result<Value, CallError> {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            buf.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            buf.extend_from_slice(arg);
            buf.extend_from_slice(b"\r\n");
        }
        // A write error may come after some bytes reached the server, so it counts as sent.
        self.stream
            .get_mut()
            .write_all(&buf)
            .await
            .map_err(|e| CallError::AfterSend(anyhow!(e).context("write")))?;
        read_value(&mut self.stream, 0)
            .await
            .map_err(|e| CallError::AfterSend(e.context("read reply")))
    }
}

async fn read_line<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> anyhow::Result<String> {
    let mut line = Vec::new();
    // Lines are headers (type byte + number) or status/error texts: bounded by the server.
    let n = (&mut *stream)
        .take(BULK_BYTES_MAX as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        bail!("connection closed by the server");
    }
    if !line.ends_with(b"\r\n") {
        bail!("connection closed in the middle of a reply");
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn read_value<S: AsyncRead + Unpin + Send>(
    stream: &mut BufReader<S>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Value>> + Send + '_>> {
    Box::pin(async move {
        if depth > DEPTH_MAX {
            bail!("reply nested deeper than {DEPTH_MAX}");
        }
        let line = read_line(stream).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        match kind {
            "+" => Ok(Value::Status(rest.to_string())),
            "-" => Ok(Value::Error(rest.to_string())),
            ":" => Ok(Value::Int(
                rest.parse()
                    .with_context(|| format!("bad integer {rest:?}"))?,
            )),
            "$" => {
                let len: i64 = rest
                    .parse()
                    .with_context(|| format!("bad length {rest:?}"))?;
                if len < 0 {
                    return Ok(Value::Bulk(None));
                }
                let len = usize::try_from(len)?;
                if len > BULK_BYTES_MAX {
                    bail!("bulk reply of {len} bytes exceeds {BULK_BYTES_MAX}");
                }
                let mut data = vec![0; len + 2];
                stream.read_exact(&mut data).await?;
                data.truncate(len);
                Ok(Value::Bulk(Some(data)))
            }
            "*" => {
                let len: i64 = rest
                    .parse()
                    .with_context(|| format!("bad length {rest:?}"))?;
                if len < 0 {
                    return Ok(Value::Array(None));
                }
                let len = usize::try_from(len)?;
                if len > ARRAY_LEN_MAX {
                    bail!("array reply of {len} elements exceeds {ARRAY_LEN_MAX}");
                }
                let mut items = Vec::with_capacity(len.min(1024));
                for _ in 0..len {
                    items.push(read_value(stream, depth + 1).await?);
                }
                Ok(Value::Array(Some(items)))
            }
            _ => bail!("unexpected reply line {line:?}"),
        }
    })
}
