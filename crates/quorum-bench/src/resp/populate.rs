//! Writes every key once before a get or mixed run, so reads hit.

use std::time::Duration;

use anyhow::{bail, Context};

use super::connection::RespConnection;
use super::request::RequestEncoder;
use crate::workload::OpKind;

/// SETs sent per round trip while populating.
pub const POPULATE_BATCH_KEYS: u64 = 1_000;

/// Sets keys `0..keys` through one connection to `endpoint`, `POPULATE_BATCH_KEYS` per round
/// trip, each round trip bounded by `timeout`; any error reply stops with an error.
pub async fn populate(
    endpoint: &str,
    encoder: &RequestEncoder,
    keys: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut conn = RespConnection::connect(endpoint, timeout)
        .await
        .with_context(|| format!("connect to {endpoint} to populate keys"))?;
    let mut batch = Vec::new();
    let mut first = 0;
    while first < keys {
        let last = (first + POPULATE_BATCH_KEYS).min(keys);
        batch.clear();
        for key in first..last {
            encoder.write(&mut batch, OpKind::Set, key);
        }
        conn.write_all(&batch, timeout)
            .await
            .with_context(|| format!("populate keys {first}..{last} on {endpoint}"))?;
        let errors = conn
            .read_replies((last - first) as usize, timeout)
            .await
            .with_context(|| format!("populate keys {first}..{last} on {endpoint}"))?;
        if let Some(kind) = errors.first() {
            bail!(
                "populating keys {first}..{last} on {endpoint}: {} error replies, the first {kind}",
                errors.len()
            );
        }
        first = last;
    }
    Ok(())
}
