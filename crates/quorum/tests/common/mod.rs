//! Helpers shared by the integration tests: starting a cluster with test timings, a raw RESP
//! connection that returns replies byte for byte (so tests can compare Redis's exact texts),
//! small `redis` crate conveniences, and (in [`load`]) the write load and acknowledged-write
//! checks of the failover, durability and membership tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use quorum_testkit::{poll_until, Cluster};

pub mod load;
pub mod process;

pub const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");

/// Bound on any single reply in these tests: long enough for a loaded 2-core machine, short
/// enough that a hang fails the test rather than stalling the suite.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A three-node cluster with fast Raft timings and `args` added to every node.
pub fn cluster(args: &[&str]) -> Cluster {
    let mut builder = Cluster::builder(Path::new(QUORUM)).nodes(3).fast_raft(true);
    for arg in args {
        builder = builder.arg(*arg);
    }
    builder.start().expect("start a 3-node cluster")
}

/// The leader and the two followers, leader first.
pub fn roles(cluster: &mut Cluster) -> (u64, Vec<u64>) {
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let followers = cluster
        .ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    (leader, followers)
}

/// A plain TCP connection speaking RESP by hand.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(REPLY_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to node");
    }

    /// Sends one command as a RESP array of bulk strings.
    pub fn send_cmd(&mut self, args: &[&str]) {
        self.send(&encode(args));
    }

    /// Sends one command and returns its reply, raw.
    pub fn cmd(&mut self, args: &[&str]) -> String {
        self.send_cmd(args);
        self.reply()
    }

    /// Reads bytes until `pred` says the buffer holds what is needed; false on EOF/timeout.
    fn fill(&mut self, mut pred: impl FnMut(&[u8]) -> bool) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        // Bounded by the socket's read timeout per round and by EOF.
        while !pred(&self.buf) {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// The next complete reply (RESP2 or RESP3) as raw text, including its CRLFs.
    pub fn reply(&mut self) -> String {
        self.try_reply().unwrap_or_else(|| {
            panic!(
                "no complete reply within {REPLY_TIMEOUT:?}; buffered: {:?}",
                String::from_utf8_lossy(&self.buf)
            )
        })
    }

    /// The next complete reply, or `None` if the connection closed or timed out first.
    pub fn try_reply(&mut self) -> Option<String> {
        let mut len = None;
        self.fill(|buf| {
            len = frame_len(buf);
            len.is_some()
        });
        let len = len?;
        let frame: Vec<u8> = self.buf.drain(..len).collect();
        Some(String::from_utf8_lossy(&frame).into_owned())
    }

    /// Everything the server sends until it closes the connection; `None` if it is still open
    /// after `timeout`.
    pub fn read_to_close(&mut self, timeout: Duration) -> Option<String> {
        self.set_read_timeout(timeout);
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 64 * 1024];
        while Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    let all = std::mem::take(&mut self.buf);
                    return Some(String::from_utf8_lossy(&all).into_owned());
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A reset after the reply also means the server closed.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    let all = std::mem::take(&mut self.buf);
                    return Some(String::from_utf8_lossy(&all).into_owned());
                }
                Err(_) => return None,
            }
        }
        None
    }
}

/// Encodes a command as Redis clients do: an array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the first complete RESP2/RESP3 frame in `buf`, or `None` if more bytes are needed.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let head = *buf.first()?;
    let rest = &buf[1..line_end];
    let after_line = line_end + 2;
    let number = || -> i64 {
        std::str::from_utf8(rest)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad length line {:?}", String::from_utf8_lossy(rest)))
    };
    match head {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after_line),
        b'$' | b'!' | b'=' => {
            let n = number();
            if n < 0 {
                return Some(after_line);
            }
            let end = after_line + n as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = number();
            if n < 0 {
                return Some(after_line);
            }
            let children = if matches!(head, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut at = after_line;
            for _ in 0..children {
                at += frame_len(&buf[at..])?;
            }
            // An attribute precedes the reply it annotates.
            if head == b'|' {
                at += frame_len(&buf[at..])?;
            }
            Some(at)
        }
        _ => panic!(
            "not a RESP reply: {:?}",
            String::from_utf8_lossy(&buf[..line_end])
        ),
    }
}

/// `INFO section` parsed into `field -> value`.
pub fn info(conn: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query(conn)
        .unwrap_or_else(|e| panic!("INFO {section}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// `GET key` as an optional string.
pub fn get(conn: &mut redis::Connection, key: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("GET").arg(key).query(conn)
}

/// `SET key value`, panicking on anything but OK.
pub fn set(conn: &mut redis::Connection, key: &str, value: &str) {
    let reply: String = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query(conn)
        .unwrap_or_else(|e| panic!("SET {key}: {e}"));
    assert_eq!(reply, "OK");
}

/// A connection to `id` that has sent READONLY (reads from local state).
pub fn readonly_client(cluster: &Cluster, id: u64) -> redis::Connection {
    let mut conn = cluster.client(id).expect("connect");
    let ok: String = redis::cmd("READONLY").query(&mut conn).expect("READONLY");
    assert_eq!(ok, "OK");
    conn
}

/// Polls `GET key` on `conn` until it returns `want`.
pub fn wait_value(conn: &mut redis::Connection, key: &str, want: Option<&str>, what: &str) {
    poll_until(
        what,
        Duration::from_secs(5),
        Duration::from_millis(20),
        || match get(conn, key) {
            Ok(v) if v.as_deref() == want => Ok(Some(())),
            Ok(v) => Err(format!("GET {key} = {v:?}")),
            Err(e) => Err(format!("GET {key}: {e}")),
        },
    )
    .unwrap();
}
