//! How a client of the Redis Sentinel target finds the primary: the way Sentinel clients
//! (redis-py's `Sentinel`, Jedis's `JedisSentinelPool`) do it. Ask a Sentinel
//! `SENTINEL get-master-addr-by-name`, falling back to the next Sentinel when one does not
//! answer; connect to the address it names; and after any error (a timeout, a closed
//! connection, `-READONLY You can't write against a read only replica`) ask again. Between
//! errors the client keeps its connection and never re-checks, as real clients do, which is
//! why a client that stays with an isolated primary keeps being acknowledged.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::resp::{RespConn, Value};
use crate::workload::Endpoint;

/// How long a client waits for one Sentinel before trying the next: a Sentinel answers from
/// memory, and waiting longer for an unreachable one only delays the fallback.
const SENTINEL_TIMEOUT: Duration = Duration::from_millis(500);

/// The Sentinels of one run, as its clients see them.
#[derive(Debug, Clone)]
pub struct Sentinels {
    /// The name the Sentinels monitor the primary under.
    pub master_name: String,
    /// Sentinel addresses; Sentinel `i` runs on host `i + 1`.
    pub sentinels: Vec<SocketAddr>,
    /// The Redis servers, to record which one a client talks to.
    pub servers: Vec<Endpoint>,
    /// The source address of each client (namespace mode), so partitions can place clients on
    /// one side; empty on loopback.
    pub sources: Vec<IpAddr>,
}

/// The host (index into the hosts, 0-based) a client lives next to: it asks that host's
/// Sentinel first and is cut off with that host by a partition.
pub fn home(client: u32, hosts: usize) -> usize {
    client as usize % hosts.max(1)
}

impl Sentinels {
    /// The source address client `client` connects from, if clients have their own.
    pub fn source(&self, client: u32) -> Option<IpAddr> {
        self.sources.get(client as usize).copied()
    }

    /// Asks the Sentinels, home first, for the primary; the first answer wins.
    pub async fn primary(&self, client: u32) -> anyhow::Result<Endpoint> {
        let n = self.sentinels.len();
        let first = home(client, n);
        let mut errors = Vec::new();
        for k in 0..n {
            let sentinel = self.sentinels[(first + k) % n];
            match self.ask(sentinel, client).await {
                Ok(endpoint) => return Ok(endpoint),
                Err(err) => errors.push(format!("{sentinel}: {err:#}")),
            }
        }
        bail!("no Sentinel named the primary: {}", errors.join("; "))
    }

    async fn ask(&self, sentinel: SocketAddr, client: u32) -> anyhow::Result<Endpoint> {
        let request = async {
            let mut conn =
                RespConn::connect_from(sentinel, self.source(client), SENTINEL_TIMEOUT).await?;
            let args: [&[u8]; 3] = [
                b"SENTINEL",
                b"get-master-addr-by-name",
                self.master_name.as_bytes(),
            ];
            conn.call(&args).await.map_err(|e| anyhow!("{e}"))
        };
        let reply = tokio::time::timeout(SENTINEL_TIMEOUT, request)
            .await
            .map_err(|_| anyhow!("no answer within {SENTINEL_TIMEOUT:?}"))??;
        let addr = primary_addr(&reply)?;
        Ok(self
            .servers
            .iter()
            .find(|server| server.addr == addr)
            .copied()
            .unwrap_or(Endpoint {
                node: u32::MAX,
                addr,
            }))
    }
}

/// The address in a `get-master-addr-by-name` reply (`[host, port]`).
fn primary_addr(reply: &Value) -> anyhow::Result<SocketAddr> {
    let Value::Array(Some(items)) = reply else {
        bail!("the Sentinel knows no primary: {reply:?}");
    };
    let [host, port] = items.as_slice() else {
        bail!("unexpected reply {reply:?}");
    };
    let (Some(host), Some(port)) = (host.text(), port.text()) else {
        bail!("unexpected reply {reply:?}");
    };
    format!("{host}:{port}")
        .parse()
        .with_context(|| format!("the Sentinel named {host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_address_is_read_from_the_reply() {
        let reply = Value::Array(Some(vec![
            Value::Bulk(Some(b"10.1.2.3".to_vec())),
            Value::Bulk(Some(b"6379".to_vec())),
        ]));
        assert_eq!(
            primary_addr(&reply).unwrap(),
            "10.1.2.3:6379".parse().unwrap()
        );
        assert!(primary_addr(&Value::Array(None)).is_err());
        assert!(primary_addr(&Value::Error("ERR".into())).is_err());
    }
}
