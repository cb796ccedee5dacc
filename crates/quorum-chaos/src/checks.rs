//! Checks that need the live cluster rather than the history: liveness after the final heal
//! (every node serves a write within a bound) and replica divergence (every node's keyspace
//! digest matches once all applied the same log index).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use serde::Serialize;

use crate::resp::{RespConn, Value};
use crate::workload::Endpoint;

/// How long each node gets to serve a write after the final heal.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(30);
/// How long the replicas get to reach the same applied index.
const CONVERGENCE_WAIT: Duration = Duration::from_secs(30);
/// Timeout of each request these checks make.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between polls.
const POLL_STEP: Duration = Duration::from_millis(100);

/// How long one node took to serve a write after the heal.
#[derive(Debug, Clone, Serialize)]
pub struct Liveness {
    /// The node (endpoint) written to.
    pub node: u32,
    /// Time to the first acknowledged write; `None` when it did not come within the bound.
    pub ms: Option<u64>,
    /// The last error, when it never succeeded.
    pub error: Option<String>,
}

/// Writes `{prefix}liveness:{node}` on every endpoint until each acknowledges or the bound
/// passes. The key is outside the checked workload.
pub async fn liveness(endpoints: &[Endpoint], prefix: &str) -> Vec<Liveness> {
    let mut results = Vec::new();
    for endpoint in endpoints {
        let started = Instant::now();
        let key = format!("{prefix}liveness:{}", endpoint.node);
        let mut last_error = String::from("not tried");
        let mut ms = None;
        let rounds_max = LIVENESS_BOUND.as_millis() / POLL_STEP.as_millis() + 1;
        for _ in 0..rounds_max {
            match call(endpoint, &[b"SET", key.as_bytes(), b"alive"], false).await {
                Ok(Value::Status(s)) if s == "OK" => {
                    ms = Some(started.elapsed().as_millis() as u64);
                    break;
                }
                Ok(other) => last_error = format!("{other:?}"),
                Err(err) => last_error = format!("{err:#}"),
            }
            if started.elapsed() >= LIVENESS_BOUND {
                break;
            }
            tokio::time::sleep(POLL_STEP).await;
        }
        results.push(Liveness {
            node: endpoint.node,
            ms,
            error: ms.is_none().then_some(last_error),
        });
    }
    results
}

/// The result of the replica divergence check.
#[derive(Debug, Clone, Serialize)]
pub struct Divergence {
    /// The log index every node had applied when the digests were taken.
    pub applied_index: u64,
    /// `DEBUG DIGEST` per node.
    pub digests: Vec<(u32, String)>,
    /// True when the digests differ.
    pub diverged: bool,
}

/// Waits until every endpoint reports the same `raft_applied_index` (twice in a row, around
/// the digests), then compares `DEBUG DIGEST`. `Ok(None)` when an endpoint is not a quorum
/// node (no `# Raft` section in INFO), so there is nothing to compare.
pub async fn divergence(endpoints: &[Endpoint]) -> anyhow::Result<Option<Divergence>> {
    let started = Instant::now();
    let mut last = String::new();
    let rounds_max = CONVERGENCE_WAIT.as_millis() / POLL_STEP.as_millis() + 1;
    for _ in 0..rounds_max {
        match applied_indexes(endpoints).await {
            Ok(None) => return Ok(None),
            Ok(Some(before)) if before.windows(2).all(|w| w[0] == w[1]) => {
                let mut digests = Vec::new();
                for endpoint in endpoints {
                    let digest = call(endpoint, &[b"DEBUG", b"DIGEST"], true)
                        .await?
                        .text()
                        .ok_or_else(|| anyhow!("node {}: DEBUG DIGEST: no text", endpoint.node))?;
                    digests.push((endpoint.node, digest));
                }
                if applied_indexes(endpoints).await? == Some(before.clone()) {
                    let diverged = digests.windows(2).any(|w| w[0].1 != w[1].1);
                    return Ok(Some(Divergence {
                        applied_index: before[0],
                        digests,
                        diverged,
                    }));
                }
                last = "the applied index moved while digests were taken".into();
            }
            Ok(Some(indexes)) => last = format!("applied indexes differ: {indexes:?}"),
            Err(err) => last = format!("{err:#}"),
        }
        if started.elapsed() >= CONVERGENCE_WAIT {
            break;
        }
        tokio::time::sleep(POLL_STEP).await;
    }
    bail!("replicas did not converge within {CONVERGENCE_WAIT:?}: {last}")
}

async fn applied_indexes(endpoints: &[Endpoint]) -> anyhow::Result<Option<Vec<u64>>> {
    let mut indexes = Vec::new();
    for endpoint in endpoints {
        let info = call(endpoint, &[b"INFO", b"raft"], true)
            .await?
            .text()
            .ok_or_else(|| anyhow!("node {}: INFO raft: no text", endpoint.node))?;
        let Some(index) = info
            .lines()
            .find_map(|l| l.strip_prefix("raft_applied_index:"))
        else {
            return Ok(None);
        };
        indexes.push(index.trim().parse()?);
    }
    Ok(Some(indexes))
}

/// One request on a fresh connection; `readonly` sends READONLY first so the node answers
/// from its own state.
async fn call(endpoint: &Endpoint, args: &[&[u8]], readonly: bool) -> anyhow::Result<Value> {
    let work = async {
        let mut conn = RespConn::connect(endpoint.addr, REQUEST_TIMEOUT).await?;
        if readonly {
            conn.call(&[b"READONLY"])
                .await
                .map_err(|e| anyhow!("READONLY: {e}"))?;
        }
        conn.call(args).await.map_err(|e| anyhow!("{e}"))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT * 2, work).await {
        Ok(result) => result.map_err(|e| e.context(format!("node {}", endpoint.node))),
        Err(_) => bail!(
            "node {}: no reply within {:?}",
            endpoint.node,
            REQUEST_TIMEOUT * 2
        ),
    }
}
