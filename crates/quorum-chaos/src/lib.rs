//! `quorum chaos` and `quorum verify`: record a history of concurrent client operations,
//! check it with `quorum-check`, and report.
//!
//! `quorum chaos` starts its own cluster of real `quorum node` processes and injects a seeded
//! schedule of faults while clients run ([`chaos`]); `quorum verify` runs the same workload
//! against endpoints someone else runs, without faults ([`verify`]). Both end with a verdict:
//! exit 0 when the history is valid, 1 when an anomaly was found, 2 when the harness itself
//! failed. This crate talks to nodes only over the wire, like any client; it never links the
//! server.

mod call;
mod chaos;
mod checks;
pub mod cluster;
pub mod links;
mod nemesis;
pub mod netns;
mod network;
mod process;
pub mod proxy;
mod queue;
mod recorder;
mod report;
mod resp;
mod run;
mod schedule;
mod sentinel;
mod timeline;
mod verify;
mod workload;

use std::path::PathBuf;

/// How one client call becomes a history operation's outcome (shared with `quorum-sim`).
pub use call::{execute_call, reply_timeout};
pub use chaos::run_chaos;
/// The queue workload's keys (shared with `quorum-sim`).
pub use queue::QueueWorkload;
pub use resp::{CallError, RespConn, Value};
pub use verify::run_verify;

/// Flags of `quorum chaos`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Exit status: 0 when the history is valid, 1 when an anomaly was found \
    (printed with the operations that prove it), 2 when the harness failed. The same --seed \
    gives the same fault schedule (see --print-schedule). As root, partitions run every node in \
    its own network namespace (iptables); otherwise, and for latency and duplication, nodes talk \
    through a fault proxy per link. Wall-clock skew and full disks need root and libfaketime \
    (Debian package faketime)."
)]
pub struct ChaosArgs {
    /// How long the workload runs under faults (e.g. 30s, 5m).
    #[arg(long, default_value = "60s", value_parser = schedule::parse_duration)]
    pub duration: std::time::Duration,

    /// Nodes in the cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,

    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Faults to inject: a comma-separated list of kill, pause, partition, membership,
    /// snapshot, clock, disk, power, latency, duplicate; or all.
    #[arg(long, default_value = "all")]
    pub faults: String,

    /// Time between the starts of two faults (each is healed before the next).
    #[arg(long, default_value = "5s", value_parser = schedule::parse_duration)]
    pub interval: std::time::Duration,

    /// Seed of the fault schedule and the clients' choices (random and printed when absent).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Print the fault schedule of this seed and exit without starting anything.
    #[arg(long)]
    pub print_schedule: bool,

    /// An extra `quorum node` flag for every node (repeatable; use `--node-arg=--flag=value`),
    /// e.g. to compare a run with a feature switched off.
    #[arg(long = "node-arg", allow_hyphen_values = true)]
    pub node_args: Vec<String>,

    /// Snapshot threshold (log entries) of the nodes when snapshot or disk faults are on, so
    /// snapshots and their installation race with everything else (and disk faults find a
    /// snapshot to damage).
    #[arg(long, default_value_t = 50)]
    pub snapshot_logs_since_last: u64,

    /// The system under test: quorum's own cluster, or Redis primary + replicas + Sentinels
    /// (Debian's redis-server and redis-sentinel; --nodes of each) under the same workload
    /// and schedule (kill, pause and partition faults), reporting the acknowledged writes it
    /// loses.
    #[arg(long, value_enum, default_value_t = Target::Quorum)]
    pub target: Target,

    /// Where the nodes run: `netns` (one network namespace per node, iptables partitions;
    /// root), `loopback` (partitions through the link proxies; no root, no wall-clock skew or
    /// full disks), or `auto`: netns when root and a partition, clock or disk fault is asked
    /// for, loopback otherwise.
    #[arg(long, value_enum, default_value_t = ClusterKind::Auto)]
    pub cluster: ClusterKind,

    /// Sentinel's down-after-milliseconds with --target redis-sentinel: how long the primary
    /// must look down before the Sentinels fail over.
    #[arg(long, default_value_t = 1_000)]
    pub sentinel_down_after_ms: u64,
}

/// What `quorum chaos` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// A quorum cluster the run starts.
    Quorum,
    /// Redis with asynchronous replicas, failed over by Sentinel.
    RedisSentinel,
}

/// Where `quorum chaos` runs its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterKind {
    /// Network namespaces when they are needed and available, loopback otherwise.
    Auto,
    /// Every node on 127.0.0.1 (any user).
    Loopback,
    /// Every node in its own network namespace (root).
    Netns,
}

/// Flags of `quorum verify`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "verify writes only keys under its own prefix \
    (`quorum-verify:<run id>:`), unique to each run, so it never reads or changes existing data; \
    it deletes its keys at the end. Exit status: 0 valid, 1 anomaly, 2 harness error.")]
pub struct VerifyArgs {
    /// Endpoints to test: HOST:PORT, comma-separated (nodes of one cluster, or one server).
    #[arg(long, value_delimiter = ',', required = true)]
    pub endpoints: Vec<String>,

    /// How long the workload runs (e.g. 30s, 5m).
    #[arg(long, default_value = "30s", value_parser = schedule::parse_duration)]
    pub duration: std::time::Duration,

    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Seed of the clients' choices (random and printed when absent).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Workload flags shared by `chaos` and `verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    /// Concurrent clients, each with its own connection, spread over the nodes.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,

    /// How many of the clients connect with READONLY and only read (stale reads allowed,
    /// reported separately); default: one in five.
    #[arg(long)]
    pub readonly_clients: Option<usize>,

    /// Keys per workload (list-append, register, counter).
    #[arg(long, default_value_t = 5)]
    pub keys: usize,

    /// A request with no reply within this many milliseconds is recorded as unknown.
    #[arg(long, default_value_t = 2_000)]
    pub op_timeout_ms: u64,

    /// A client whose request failed or timed out reconnects to the same node instead of
    /// moving to the next, as clients pinned to one server do: a partitioned or paused node
    /// keeps its clients (a node refusing connections is still left).
    #[arg(long)]
    pub sticky_clients: bool,

    /// Add the expiry workload: `SET k v PX ttl` (TTLs of 0.3, 1 and 3 s) with unique values,
    /// read by `GET` and `PTTL`, checked so that no value outlives its TTL and none vanishes
    /// before it (within 25 ms). Shows expiry bugs under clock faults.
    #[arg(long)]
    pub expiry: bool,

    /// Add the queue workload, on clients of its own besides --clients: producers RPUSH (and
    /// some LPUSH) unique elements to two lists; consumers take them with BLPOP, BRPOP, LPOP,
    /// or LMOVE/BLMOVE into a processing list followed by LREM; the run ends with an atomic
    /// LRANGE of every queue and processing list. Checked so that no acknowledged element is
    /// lost (beyond what pops with an unknown outcome can explain), doubled or invented, and
    /// that pops from the head keep each producer's order.
    #[arg(long)]
    pub queue: bool,

    /// Producer clients of the queue workload (with --queue).
    #[arg(long, default_value_t = 2)]
    pub queue_producers: usize,

    /// Consumer clients of the queue workload (with --queue).
    #[arg(long, default_value_t = 3)]
    pub queue_consumers: usize,

    /// Write summary.md, history.json, check.json and timeline.html into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

impl WorkloadArgs {
    /// The workload flags besides clients and keys, as a command line repeats them (empty, or
    /// starting with a space).
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if self.expiry {
            flags.push_str(" --expiry");
        }
        if self.queue {
            flags.push_str(&format!(
                " --queue --queue-producers {} --queue-consumers {}",
                self.queue_producers, self.queue_consumers
            ));
        }
        flags
    }
}
