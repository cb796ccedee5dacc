//! One RESP connection: a TCP stream with a reusable read buffer, connected with a deadline.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::reply::{parse_reply, Outcome, Parsed};
use super::request::write_command;
use crate::stats::{ERROR_IO, ERROR_PROTOCOL, ERROR_TIMEOUT};

/// Bytes the read buffer grows by when it is full.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Why a connection failed, as the error kind it is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionFailure {
    /// `io`, `timeout` or `protocol`.
    pub kind: &'static str,
    pub detail: String,
}

impl ConnectionFailure {
    pub fn io(detail: impl ToString) -> ConnectionFailure {
        ConnectionFailure {
            kind: ERROR_IO,
            detail: detail.to_string(),
        }
    }

    pub fn timeout(what: &str) -> ConnectionFailure {
        ConnectionFailure {
            kind: ERROR_TIMEOUT,
            detail: format!("{what} timed out"),
        }
    }

    pub fn protocol(detail: impl ToString) -> ConnectionFailure {
        ConnectionFailure {
            kind: ERROR_PROTOCOL,
            detail: detail.to_string(),
        }
    }
}

impl std::fmt::Display for ConnectionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.kind)
    }
}

impl std::error::Error for ConnectionFailure {}

/// An open RESP connection.
#[derive(Debug)]
pub struct RespConnection {
    pub stream: TcpStream,
    /// Bytes received and not yet parsed.
    pub read_buf: BytesMut,
}

impl RespConnection {
    /// Connects to `endpoint` within `timeout`, with Nagle off (requests are written whole).
    pub async fn connect(
        endpoint: &str,
        timeout: Duration,
    ) -> Result<RespConnection, ConnectionFailure> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(endpoint))
            .await
            .map_err(|_| ConnectionFailure::timeout("connect"))?
            .map_err(|e| ConnectionFailure::io(format!("connect to {endpoint}: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| ConnectionFailure::io(format!("TCP_NODELAY on {endpoint}: {e}")))?;
        Ok(RespConnection {
            stream,
            read_buf: BytesMut::with_capacity(READ_CHUNK_BYTES),
        })
    }

    /// Writes all of `bytes` within `timeout`.
    pub async fn write_all(
        &mut self,
        bytes: &[u8],
        timeout: Duration,
    ) -> Result<(), ConnectionFailure> {
        tokio::time::timeout(timeout, self.stream.write_all(bytes))
            .await
            .map_err(|_| ConnectionFailure::timeout("write"))?
            .map_err(ConnectionFailure::io)
    }

    /// Reads more bytes into the buffer; a closed connection is a failure.
    pub async fn read_more(&mut self) -> Result<usize, ConnectionFailure> {
        if self.read_buf.capacity() - self.read_buf.len() < READ_CHUNK_BYTES / 4 {
            self.read_buf.reserve(READ_CHUNK_BYTES);
        }
        match self.stream.read_buf(&mut self.read_buf).await {
            Ok(0) => Err(ConnectionFailure::io("connection closed by the server")),
            Ok(n) => Ok(n),
            Err(e) => Err(ConnectionFailure::io(e)),
        }
    }

    /// Sends `command` and waits (within `timeout`) for its reply; returns the error reply's
    /// first word, if any. For setup commands (READONLY, population), not the measured path.
    pub async fn call(
        &mut self,
        command: &[&[u8]],
        timeout: Duration,
    ) -> Result<Option<String>, ConnectionFailure> {
        let mut request = Vec::new();
        write_command(&mut request, command);
        self.write_all(&request, timeout).await?;
        let mut errors = self.read_replies(1, timeout).await?;
        Ok(errors.pop())
    }

    /// Reads `count` replies within `timeout` in total and returns the first word of every
    /// error reply among them.
    pub async fn read_replies(
        &mut self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<String>, ConnectionFailure> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut errors = Vec::new();
        let mut seen = 0;
        while seen < count {
            match parse_reply(&self.read_buf).map_err(ConnectionFailure::protocol)? {
                Parsed::Reply { len, outcome } => {
                    if let Outcome::Error(word) = outcome {
                        errors.push(String::from_utf8_lossy(word).into_owned());
                    }
                    self.read_buf.advance(len);
                    seen += 1;
                }
                Parsed::Incomplete => {
                    tokio::time::timeout_at(deadline, self.read_more())
                        .await
                        .map_err(|_| ConnectionFailure::timeout("reply"))??;
                }
            }
        }
        Ok(errors)
    }
}
