//! `quorum dev`: a local cluster of real `quorum node` child processes.
//!
//! Node i (1-based) serves RESP on `base+i-1`, gRPC on `base+100+i-1` and HTTP on
//! `base+200+i-1`, and keeps its data and `node.log` in `DATA_DIR/node-i`. The layout is
//! recorded in `DATA_DIR/dev.toml` so that a second run resumes the same cluster (Raft
//! membership stores peer addresses, so the ports must not change between runs).
//!
//! The supervisor never restarts a node: a dead node is reported and the rest keep serving,
//! which is the behaviour a user wants to observe when they kill one.

mod child;
mod watch;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::logging::LogFormat;
use child::{NodeLayout, NodeProcess, SpawnOptions};

/// Flags of `quorum dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Number of nodes.
    #[arg(long, env = "QUORUM_DEV_NODES", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=99))]
    pub nodes: u16,
    /// First RESP port; peers use base+100.., HTTP base+200...
    #[arg(long, env = "QUORUM_DEV_BASE_PORT", default_value_t = 7001)]
    pub base_port: u16,
    /// Directory holding every node's data (`node-1`, `node-2`, ...).
    #[arg(long, env = "QUORUM_DEV_DATA_DIR", default_value = "./data/dev")]
    pub data_dir: PathBuf,
    /// How long to wait for the cluster to elect a leader before giving up.
    #[arg(long, env = "QUORUM_DEV_READY_TIMEOUT_MS", default_value_t = 30_000)]
    pub ready_timeout_ms: u64,
    /// Copy every node log line to stdout (by default only quorum's warnings and errors,
    /// once the cluster has formed).
    #[arg(long)]
    pub verbose: bool,
    /// Extra `quorum node` flags for every node, after `--` (e.g. `-- --clients-max 100`).
    #[arg(last = true)]
    pub node_args: Vec<String>,
}

/// What `DATA_DIR/dev.toml` records about the cluster living there.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DevState {
    nodes: u16,
    base_port: u16,
}

/// Runs `quorum dev` until Ctrl-C/SIGTERM (or until every node is gone).
pub fn run(args: DevArgs, log_format: LogFormat, log_level: Option<String>) -> anyhow::Result<()> {
    let top_port = u32::from(args.base_port) + 200 + u32::from(args.nodes) - 1;
    if args.base_port == 0 || top_port > u32::from(u16::MAX) {
        bail!(
            "--base-port {} leaves no room for {} nodes (needs ports up to base+200+nodes-1 <= 65535)",
            args.base_port,
            args.nodes
        );
    }
    let resumed = check_state(&args)?;
    let layouts: Vec<NodeLayout> = (1..=args.nodes)
        .map(|i| NodeLayout {
            id: u64::from(i),
            resp_port: args.base_port + i - 1,
            peer_port: args.base_port + 100 + i - 1,
            http_port: args.base_port + 200 + i - 1,
            dir: args.data_dir.join(format!("node-{i}")),
        })
        .collect();
    let initial_cluster = layouts
        .iter()
        .map(|l| format!("{}=127.0.0.1:{}", l.id, l.peer_port))
        .collect::<Vec<_>>()
        .join(",");
    let mut extra_args = vec!["--log-format".to_string(), log_format.as_flag().to_string()];
    if let Some(level) = log_level {
        extra_args.extend(["--log-level".to_string(), level]);
    }
    extra_args.extend(args.node_args.iter().cloned());
    let threads_given = args
        .node_args
        .iter()
        .any(|a| a.starts_with("--worker-threads"))
        || std::env::var_os("QUORUM_WORKER_THREADS").is_some();
    if !threads_given {
        // The nodes share this machine's cores: a node with a runtime thread per core would
        // multiply threads and context switches (measured: linearizable GET +20 % at -c 50
        // on 2 cores with one thread per node).
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_node = (cores / usize::from(args.nodes)).max(1);
        extra_args.extend(["--worker-threads".to_string(), per_node.to_string()]);
    }
    let options = SpawnOptions {
        initial_cluster,
        extra_args,
        verbose: args.verbose,
        echo_notable: Arc::new(AtomicBool::new(false)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        println!(
            "quorum dev: {} {} node(s) in {}",
            if resumed { "resuming" } else { "starting" },
            args.nodes,
            args.data_dir.display()
        );
        let mut nodes = Vec::with_capacity(layouts.len());
        for layout in layouts {
            match NodeProcess::spawn(layout, &options).await {
                Ok(node) => nodes.push(node),
                Err(err) => {
                    watch::stop_all(&mut nodes).await;
                    return Err(err);
                }
            }
        }
        let result =
            watch::supervise(&mut nodes, args.ready_timeout_ms, &options.echo_notable).await;
        watch::stop_all(&mut nodes).await;
        result
    })
}

/// Creates the data directory and `dev.toml`, or checks that an existing one matches.
/// Returns true when resuming an earlier run.
fn check_state(args: &DevArgs) -> anyhow::Result<bool> {
    let path = args.data_dir.join("dev.toml");
    let wanted = DevState {
        nodes: args.nodes,
        base_port: args.base_port,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let found: DevState = toml::from_str(&text).with_context(|| {
                format!(
                    "{} is damaged; remove {}",
                    path.display(),
                    args.data_dir.display()
                )
            })?;
            if found != wanted {
                bail!(
                    "{} holds a cluster made with --nodes {} --base-port {}; run with those, or \
                     remove the directory to start afresh",
                    args.data_dir.display(),
                    found.nodes,
                    found.base_port
                );
            }
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&args.data_dir)
                .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
            std::fs::write(&path, toml::to_string(&wanted)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(false)
        }
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}
