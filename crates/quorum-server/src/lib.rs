//! One quorum node: the RESP client listener and its sessions, dispatch of commands to the
//! Raft group (propose, read barrier, or local read), the peer gRPC server and the HTTP port.
//!
//! Not here: the wire format (`quorum-resp`), command semantics (`quorum-commands`), Raft
//! storage and networking glue (`quorum-raft`), command-line parsing (the `quorum` binary).

mod config;

pub use config::{NodeConfig, RaftTuning};

use std::future::Future;

/// Runs one node until `shutdown` resolves, then stops accepting clients, finishes in-flight
/// requests within a bounded time and returns.
pub async fn run_node(config: NodeConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let _ = (config, shutdown);
    anyhow::bail!("run_node: being written")
}
