//! `quorum node`: the flags of one node, their validation, and running it.
//!
//! Every flag also reads `QUORUM_<FLAG>` and the `--config` TOML file (see
//! [`crate::config_file`]). Validation happens here, before the server starts, so that a
//! mistake in a deployment gives one clear message instead of a half-started node.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use quorum_server::{NodeConfig, RaftTuning};
use quorum_types::{Limits, NodeId};
use serde::Serialize;

use crate::logging::{self, LogFormat};
use crate::shutdown;

/// Flags of `quorum node`. Field names are also the config-file keys.
#[derive(Debug, Clone, Args, Serialize)]
#[command(
    after_help = "Every flag also reads the environment variable shown and the same key \
    (with `_` for `-`) from the --config TOML file. Precedence: flag > environment > file > \
    default."
)]
pub struct NodeArgs {
    /// This node's id: unique in the cluster, stable across restarts.
    #[arg(long, env = "QUORUM_ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<NodeId>,

    /// Directory for the Raft log, vote and snapshots (created if missing).
    #[arg(long, env = "QUORUM_DATA_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,

    /// RESP address that clients connect to.
    #[arg(long, env = "QUORUM_LISTEN", default_value = "127.0.0.1:7001")]
    pub listen: SocketAddr,

    /// gRPC address that other nodes connect to.
    #[arg(long, env = "QUORUM_PEER_LISTEN", default_value = "127.0.0.1:8001")]
    pub peer_listen: SocketAddr,

    /// HTTP address for /healthz, /readyz and the /admin API.
    #[arg(long, env = "QUORUM_HTTP_LISTEN", default_value = "127.0.0.1:9001")]
    pub http_listen: SocketAddr,

    /// Founding members as `id=host:port` (peer addresses), comma-separated. Must list this
    /// node unless --join is given. Only used on first start; later the membership comes from
    /// the data directory.
    #[arg(long, env = "QUORUM_INITIAL_CLUSTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_cluster: Option<String>,

    /// Start without founding a cluster and wait to be added with `quorum cluster add-node`.
    #[arg(long, env = "QUORUM_JOIN")]
    pub join: bool,

    /// How long a client request may wait for a leader or a quorum before it fails with
    /// -TRYAGAIN/-CLUSTERDOWN.
    #[arg(long, env = "QUORUM_REQUEST_TIMEOUT_MS", default_value_t = 5_000)]
    pub request_timeout_ms: u64,

    /// Largest bulk string a client may send.
    #[arg(long, env = "QUORUM_BULK_BYTES_MAX", help_heading = "Client limits", default_value_t = Limits::default().bulk_bytes_max)]
    pub bulk_bytes_max: usize,

    /// Most arguments in one request.
    #[arg(long, env = "QUORUM_REQUEST_ARGS_MAX", help_heading = "Client limits", default_value_t = Limits::default().request_args_max)]
    pub request_args_max: usize,

    /// Largest inline (telnet-style) request line.
    #[arg(long, env = "QUORUM_INLINE_BYTES_MAX", help_heading = "Client limits", default_value_t = Limits::default().inline_bytes_max)]
    pub inline_bytes_max: usize,

    /// Most bytes buffered from one client before a complete request arrives.
    #[arg(long, env = "QUORUM_QUERY_BUFFER_BYTES_MAX", help_heading = "Client limits", default_value_t = Limits::default().query_buffer_bytes_max)]
    pub query_buffer_bytes_max: usize,

    /// Most simultaneously connected clients.
    #[arg(long, env = "QUORUM_CLIENTS_MAX", help_heading = "Client limits", default_value_t = Limits::default().clients_max)]
    pub clients_max: usize,

    /// Most reply bytes queued for one client before it is disconnected.
    #[arg(long, env = "QUORUM_OUTPUT_BUFFER_BYTES_MAX", help_heading = "Client limits", default_value_t = Limits::default().output_buffer_bytes_max)]
    pub output_buffer_bytes_max: usize,

    /// Most argument bytes one MULTI may queue (an EXEC is one log entry).
    #[arg(long, env = "QUORUM_TRANSACTION_BYTES_MAX", help_heading = "Client limits", default_value_t = Limits::default().transaction_bytes_max)]
    pub transaction_bytes_max: usize,

    /// Bytes of data above which commands that may grow memory are refused with -OOM
    /// (Redis's maxmemory with the noeviction policy); 0 = no limit. The leader's value
    /// applies, stamped on every write, so replicas decide alike.
    #[arg(long, env = "QUORUM_MAXMEMORY", default_value_t = 0)]
    pub maxmemory: u64,

    /// Number of databases clients may SELECT (0..N-1), as Redis's `databases`.
    #[arg(long, env = "QUORUM_DATABASES", default_value_t = 16)]
    pub databases: u32,

    /// Raft leader heartbeat period.
    #[arg(long, env = "QUORUM_HEARTBEAT_INTERVAL_MS", help_heading = "Raft", default_value_t = RaftTuning::default().heartbeat_interval_ms)]
    pub heartbeat_interval_ms: u64,

    /// Lower bound of the randomized Raft election timeout.
    #[arg(long, env = "QUORUM_ELECTION_TIMEOUT_MIN_MS", help_heading = "Raft", default_value_t = RaftTuning::default().election_timeout_min_ms)]
    pub election_timeout_min_ms: u64,

    /// Upper bound of the randomized Raft election timeout.
    #[arg(long, env = "QUORUM_ELECTION_TIMEOUT_MAX_MS", help_heading = "Raft", default_value_t = RaftTuning::default().election_timeout_max_ms)]
    pub election_timeout_max_ms: u64,

    /// Take a snapshot after this many log entries were applied since the last one.
    #[arg(long, env = "QUORUM_SNAPSHOT_LOGS_SINCE_LAST", help_heading = "Raft", default_value_t = RaftTuning::default().snapshot_logs_since_last)]
    pub snapshot_logs_since_last: u64,

    /// Log entries kept behind a snapshot, so slightly lagging followers need no snapshot.
    #[arg(long, env = "QUORUM_LOGS_TO_KEEP_AFTER_SNAPSHOT", help_heading = "Raft", default_value_t = RaftTuning::default().logs_to_keep_after_snapshot)]
    pub logs_to_keep_after_snapshot: u64,

    /// Serve linearizable reads under a leader lease (one quorum round per lease period)
    /// instead of one quorum round per batch of reads. Requires the same Raft timings on
    /// every node.
    #[arg(long, env = "QUORUM_LEASE_READS", help_heading = "Raft", default_value_t = RaftTuning::default().lease_reads, action = clap::ArgAction::Set)]
    pub lease_reads: bool,

    /// Test and chaos use only: keep log bytes that were written but not fsynced in this
    /// process's memory, so that `kill -9` loses them as a power cut would (`kill -9` alone
    /// keeps the page cache). Not behind the `chaos-bugs` feature: a power cut is a fault a
    /// correct node must survive, so `quorum chaos --faults power` runs against any build.
    /// Hidden because it only makes sense for a process that is about to be killed.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub emulate_power_loss: bool,

    /// Test and chaos use only: dial peer `j` at `IP:(PORT + 128 * own id + j)` instead of its
    /// membership address, where `quorum chaos` runs a fault proxy for this node's link to `j`
    /// alone (partitions without root, latency, jitter, duplication). Ids of 128 and more are
    /// dialled directly. Hidden because a real deployment has no use for it.
    #[arg(long, hide = true, value_name = "IP:PORT")]
    #[serde(skip)]
    pub peer_link_base: Option<std::net::SocketAddr>,

    /// Test and chaos use only: run this node's monotonic clock (Raft timers, election
    /// timeouts, the read lease, the vote quiet period) `F` times as fast as real time, 0.1 to
    /// 10. The read lease leaves room for about 10 % of drift between nodes, so rates beyond
    /// ±5 % can break linearizable reads (tests use them to show that `quorum chaos` notices);
    /// `quorum chaos --faults clock` stays within ±5 %. Hidden because a real deployment has
    /// no use for it.
    // The last one wins, so a test can restart a node with another rate than its usual flags.
    #[arg(
        long,
        hide = true,
        value_name = "F",
        default_value_t = 1.0,
        overrides_with = "clock_rate"
    )]
    #[serde(skip)]
    pub clock_rate: f64,

    /// Plant a bug for `quorum chaos` to catch (repeatable): ack-before-fsync,
    /// follower-local-reads, skip-dedup, lease-without-clock-bound. Only in builds with the
    /// `chaos-bugs` feature (tests), never in release builds.
    #[cfg(feature = "chaos-bugs")]
    #[arg(long = "chaos-bug", hide = true, value_name = "NAME")]
    #[serde(skip)]
    pub chaos_bugs: Vec<quorum_server::chaos_bugs::ChaosBug>,

    /// Threads that run the node's async tasks (client connections, Raft, replication);
    /// 0 means one per CPU core. Several nodes sharing one machine (as under `quorum dev`)
    /// do better with fewer each: fewer threads means fewer context switches per request.
    #[arg(long, env = "QUORUM_WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,

    /// TOML file with defaults for any of these flags (keys as the flag names).
    #[arg(long, env = "QUORUM_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Validate the configuration, print it as a config file and exit without starting.
    #[arg(long)]
    #[serde(skip)]
    pub print_config: bool,
}

/// Runs `quorum node`.
pub fn run(args: NodeArgs, log_format: LogFormat, log_level: Option<&str>) -> anyhow::Result<()> {
    let config = args.validate()?;
    if args.print_config {
        print!("{}", args.to_toml()?);
        return Ok(());
    }
    logging::init(log_format, log_level);
    #[cfg(feature = "chaos-bugs")]
    for bug in &args.chaos_bugs {
        tracing::warn!(%bug, "PLANTED BUG: this node is broken on purpose (--chaos-bug)");
        quorum_server::chaos_bugs::plant(*bug);
    }
    // Before the runtime and every Raft timer: instants taken earlier run on another time line.
    if args.clock_rate != 1.0 {
        tracing::warn!(
            rate = args.clock_rate,
            "this node's monotonic clock runs at {}x real time (--clock-rate)",
            args.clock_rate
        );
        quorum_server::set_clock_rate(args.clock_rate).map_err(anyhow::Error::msg)?;
    }
    if let Some(base) = args.peer_link_base {
        tracing::warn!(%base, "peer connections go through per-link fault proxies (--peer-link-base)");
        quorum_server::dial_peers_through_links(config.id, base);
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.worker_threads > 0 {
        runtime.worker_threads(args.worker_threads);
    }
    let runtime = runtime
        .enable_all()
        .thread_name("quorum-node")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        tracing::info!(
            id = config.id,
            listen = %config.listen,
            peer_listen = %config.peer_listen,
            http_listen = %config.http_listen,
            data_dir = %config.data_dir.display(),
            "starting quorum node {}",
            quorum_types::QUORUM_VERSION
        );
        let result = quorum_server::run_node(config, shutdown::signal()).await;
        match &result {
            Ok(()) => tracing::info!("node stopped"),
            Err(err) => tracing::error!("node failed: {err:#}"),
        }
        result
    })
}

impl NodeArgs {
    /// Checks everything that can be checked without starting, and builds the [`NodeConfig`].
    pub fn validate(&self) -> anyhow::Result<NodeConfig> {
        let Some(id) = self.id else {
            bail!("missing node id: pass --id N (or QUORUM_ID, or `id` in the config file)");
        };
        if id == 0 {
            bail!("--id must be at least 1 (0 is reserved)");
        }
        let Some(data_dir) = self.data_dir.clone() else {
            bail!("missing data directory: pass --data-dir DIR (or QUORUM_DATA_DIR, or `data_dir` in the config file)");
        };
        let initial_cluster_text = self.initial_cluster.as_deref().unwrap_or("");
        let initial_cluster = parse_initial_cluster(initial_cluster_text)?;
        let listed = initial_cluster.iter().any(|(member, _)| *member == id);
        match (listed, self.join) {
            (true, true) => bail!(
                "node {id} is listed in --initial-cluster but --join was given: a founding member \
                 does not join; drop one of them"
            ),
            (false, false) if initial_cluster.is_empty() => bail!(
                "pass --initial-cluster 1=host:port,2=host:port,... to found a cluster, or --join \
                 to wait to be added with `quorum cluster add-node`"
            ),
            (false, false) => bail!(
                "node {id} is not in --initial-cluster ({}); add it, or pass --join to wait to be \
                 added with `quorum cluster add-node`",
                initial_cluster_text
            ),
            _ => {}
        }
        let addrs = [
            ("--listen", self.listen),
            ("--peer-listen", self.peer_listen),
            ("--http-listen", self.http_listen),
        ];
        for (i, (name_a, a)) in addrs.iter().enumerate() {
            for (name_b, b) in &addrs[i + 1..] {
                if a == b && a.port() != 0 {
                    bail!("{name_a} and {name_b} are both {a}; each needs its own address");
                }
            }
        }
        if !quorum_server::CLOCK_RATES.contains(&self.clock_rate) {
            bail!(
                "--clock-rate {} is outside {}..={} (how fast this node's monotonic clock runs \
                 relative to real time)",
                self.clock_rate,
                quorum_server::CLOCK_RATES.start(),
                quorum_server::CLOCK_RATES.end()
            );
        }
        let limits = Limits {
            bulk_bytes_max: positive("--bulk-bytes-max", self.bulk_bytes_max)?,
            request_args_max: positive("--request-args-max", self.request_args_max)?,
            inline_bytes_max: positive("--inline-bytes-max", self.inline_bytes_max)?,
            query_buffer_bytes_max: positive(
                "--query-buffer-bytes-max",
                self.query_buffer_bytes_max,
            )?,
            clients_max: positive("--clients-max", self.clients_max)?,
            output_buffer_bytes_max: positive(
                "--output-buffer-bytes-max",
                self.output_buffer_bytes_max,
            )?,
            transaction_bytes_max: positive("--transaction-bytes-max", self.transaction_bytes_max)?,
        };
        if !(1..=quorum_server::DATABASES_MAX).contains(&self.databases) {
            bail!(
                "--databases {} is outside 1..={}",
                self.databases,
                quorum_server::DATABASES_MAX
            );
        }
        let raft = RaftTuning {
            heartbeat_interval_ms: positive("--heartbeat-interval-ms", self.heartbeat_interval_ms)?,
            election_timeout_min_ms: self.election_timeout_min_ms,
            election_timeout_max_ms: self.election_timeout_max_ms,
            snapshot_logs_since_last: positive(
                "--snapshot-logs-since-last",
                self.snapshot_logs_since_last,
            )?,
            logs_to_keep_after_snapshot: self.logs_to_keep_after_snapshot,
            lease_reads: self.lease_reads,
        };
        // A heartbeat slower than the election timeout makes followers start elections
        // against a healthy leader.
        if raft.election_timeout_min_ms <= raft.heartbeat_interval_ms {
            bail!(
                "--election-timeout-min-ms ({}) must be greater than --heartbeat-interval-ms ({})",
                raft.election_timeout_min_ms,
                raft.heartbeat_interval_ms
            );
        }
        if raft.election_timeout_max_ms <= raft.election_timeout_min_ms {
            bail!(
                "--election-timeout-max-ms ({}) must be greater than --election-timeout-min-ms ({})",
                raft.election_timeout_max_ms,
                raft.election_timeout_min_ms
            );
        }
        Ok(NodeConfig {
            id,
            data_dir,
            listen: self.listen,
            peer_listen: self.peer_listen,
            http_listen: self.http_listen,
            initial_cluster,
            limits,
            raft,
            request_timeout_ms: positive("--request-timeout-ms", self.request_timeout_ms)?,
            emulate_power_loss: self.emulate_power_loss,
            databases: self.databases,
            maxmemory_bytes: self.maxmemory,
        })
    }

    /// The resolved flags as a config file that `--config` accepts.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string(self).context("cannot render the configuration as TOML")
    }
}

/// Parses `1=host:port,2=host:port`; ids unique, addresses `host:port`, peers distinct.
pub fn parse_initial_cluster(text: &str) -> anyhow::Result<Vec<(NodeId, String)>> {
    let mut members = Vec::new();
    let mut ids = BTreeSet::new();
    let mut addrs = BTreeSet::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((id, addr)) = part.split_once('=') else {
            bail!("--initial-cluster entry `{part}` is not `id=host:port`");
        };
        let id: NodeId = id
            .trim()
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .with_context(|| {
                format!("--initial-cluster entry `{part}`: the id must be a positive integer")
            })?;
        let addr = addr.trim();
        check_host_port(addr).with_context(|| format!("--initial-cluster entry `{part}`"))?;
        if !ids.insert(id) {
            bail!("--initial-cluster lists node id {id} twice");
        }
        if !addrs.insert(addr.to_string()) {
            bail!("--initial-cluster lists address {addr} twice");
        }
        members.push((id, addr.to_string()));
    }
    Ok(members)
}

/// Accepts `ip:port` and `hostname:port` (resolved later by the server, so DNS names work).
fn check_host_port(addr: &str) -> anyhow::Result<()> {
    if addr.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        bail!("address `{addr}` has no port (expected host:port)");
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid_host {
        bail!("address `{addr}` has an invalid host");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => bail!("address `{addr}` has an invalid port"),
    }
}

fn positive<T: PartialEq + Default + Copy>(flag: &str, value: T) -> anyhow::Result<T> {
    if value == T::default() {
        bail!("{flag} must be greater than 0");
    }
    Ok(value)
}
