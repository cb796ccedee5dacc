//! [`RedisServer`]: a real `redis-server` on a free loopback port, for tests that run the
//! same commands against Redis and quorum, or drive Redis as a peer. Killed on drop.
//!
//! Not here: Redis with replicas or Sentinel (`quorum-chaos`'s `sentinel/` starts those).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::poll_until;

/// A running `redis-server` (no persistence), killed on drop.
pub struct RedisServer {
    child: Child,
    addr: String,
}

impl RedisServer {
    /// `host:port` it listens on.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A `redis` crate connection to it.
    pub fn client(&self) -> anyhow::Result<redis::Connection> {
        let client = redis::Client::open(format!("redis://{}/", self.addr))?;
        Ok(client.get_connection_with_timeout(Duration::from_secs(10))?)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where an executable is on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Starts a `redis-server` on a free loopback port and waits until it answers. `Ok(None)`
/// when Redis is not installed (the test command installs it; callers decide whether its
/// absence is a skip or a failure). The port is found free, released, then bound by Redis:
/// when another process took it in between, Redis exits, so that attempt starts over on
/// another port.
pub fn start_redis_server(extra_args: &[&str]) -> anyhow::Result<Option<RedisServer>> {
    let Some(binary) = which("redis-server") else {
        return Ok(None);
    };
    for _attempt in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra_args)
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("spawn {}", binary.display()))?;
        let mut server = RedisServer {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let answered = poll_until(
            "redis-server to answer",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
                    return Ok(Some(Err(format!("redis-server exited: {status}"))));
                }
                let mut conn = server.client().map_err(|e| e.to_string())?;
                redis::cmd("PING")
                    .query::<String>(&mut conn)
                    .map(|_| Some(Ok(())))
                    .map_err(|e| e.to_string())
            },
        )?;
        // Still running after it answered: the port is its own.
        if answered.is_ok() && matches!(server.child.try_wait(), Ok(None)) {
            return Ok(Some(server));
        }
    }
    bail!("redis-server did not start on any of 3 free ports")
}
