//! The flags of `quorum bench` ([`BenchArgs`]) and their validated form ([`Plan`]).
//!
//! Every limit a flag is checked against is a named constant here, unit last. Nothing in this
//! file touches the network.

use std::time::Duration;

use anyhow::{bail, ensure, Context};

/// Most client connections (or etcd/NATS client connections) one run opens.
pub const CLIENTS_MAX: usize = 10_000;
/// Most requests a client keeps in flight (`--pipeline`).
pub const PIPELINE_MAX: usize = 4_096;
/// Largest value written (`--value-size`): well under Redis's 512 MiB bulk limit, and large
/// enough for any benchmark this machine can run.
pub const VALUE_SIZE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Largest key space: keys are `key:NNNNNN`, at most 10 digits.
pub const KEYS_MAX: u64 = 10_000_000_000;
/// Longest run when only `--requests` bounds it, so a dead endpoint cannot keep the run alive
/// forever.
pub const REQUESTS_RUN_SECS_MAX: f64 = 3_600.0;
/// Run length when neither `--duration` nor `--requests` is given.
pub const DURATION_SECS_DEFAULT: f64 = 10.0;

/// Wire protocol spoken to the endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Redis's RESP2 over TCP (quorum, Redis, any Redis-compatible server).
    Resp,
    /// etcd's v3 gRPC KV API (Put, Range).
    Etcd,
    /// NATS JetStream publish-with-ack.
    Nats,
}

impl Protocol {
    /// The name used on the command line and in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Resp => "resp",
            Protocol::Etcd => "etcd",
            Protocol::Nats => "nats",
        }
    }
}

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `SET key value` (etcd Put, NATS publish).
    Set,
    /// `GET key` (etcd Range); keys are written first unless `--no-populate`.
    Get,
    /// `INCR key`.
    Incr,
    /// GETs with probability `--read-ratio`, SETs otherwise.
    Mixed,
    /// A queue round trip, `LPUSH queue value` + `BRPOP queue`, as one operation.
    //
    // Both are pipelined on one connection; the operation fails at its first error reply (a
    // server without lists answers `ERR unknown command`, reported under `ERR`). Once quorum
    // has streams this becomes `XADD` + `XREADGROUP` + `XACK` (see `resp/request.rs`).
    Task,
}

impl Workload {
    /// The name used on the command line and in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Set => "set",
            Workload::Get => "get",
            Workload::Incr => "incr",
            Workload::Mixed => "mixed",
            Workload::Task => "task",
        }
    }

    /// Whether reads of this workload should find their keys (and so keys are written first).
    pub fn reads_keys(self) -> bool {
        matches!(self, Workload::Get | Workload::Mixed)
    }
}

/// Flags of `quorum bench`.
///
/// Closed loop (default): each of `--clients` connections sends `--pipeline` requests, reads
/// their replies, and repeats; a request's latency runs from the send of its batch to its reply.
///
/// Open loop (`--rate R`): requests are due on a fixed schedule, R per second in total, spread
/// evenly over the clients; each client keeps at most `--pipeline` requests in flight and sends
/// every request that is due as soon as a slot is free. Latency runs from the request's
/// *intended* send time, not from when it was actually sent, so a server stall delays and
/// counts every request that should have been sent during it (the correction for coordinated
/// omission, as in wrk2). Sleeping until a due time uses tokio's timer (1 ms granularity), so
/// open-loop latencies include up to about 1 ms of the generator's own lateness; the human
/// summary reports that send lag separately. Each client (for etcd and NATS, each of the
/// `clients × pipeline` lanes) keeps the pace only while its window is not full, so give it
/// `clients × pipeline ≥ rate × latency`; otherwise the send lag grows and shows in latency.
///
/// Errors are counted by kind: the first word of an error reply (`ERR`, `CLUSTERDOWN`,
/// `TRYAGAIN`; for etcd the gRPC status code, for NATS the publish error kind), `io` for a
/// request lost with its connection and for a failed connection attempt, `timeout` for a wait
/// longer than `--timeout-ms`. Latency is recorded for acknowledged operations only. A failed
/// connection is re-opened with a back-off of 5 to 100 ms; nothing but the deadline, the
/// request budget or Ctrl-C ends the run.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Endpoints to load, HOST:PORT, comma-separated; clients are spread round-robin.
    #[arg(long, value_delimiter = ',', required = true)]
    pub endpoints: Vec<String>,
    /// Wire protocol.
    #[arg(long, value_enum, default_value = "resp")]
    pub protocol: Protocol,
    /// What each request does.
    #[arg(long, value_enum, default_value = "set")]
    pub workload: Workload,
    /// Client connections.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Requests per batch (closed loop), or most requests in flight per client (open loop,
    /// etcd, NATS).
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Open loop: total requests per second, on a fixed schedule.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Share of GETs in the mixed workload.
    #[arg(long, default_value_t = 0.9)]
    pub read_ratio: f64,
    /// Number of distinct keys, chosen uniformly at random (`key:000042`).
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// Bytes per written value.
    #[arg(long, default_value_t = 16)]
    pub value_size: usize,
    /// Seconds to measure (default 10 unless --requests is given).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Requests to measure, in total (the run also stops after --duration if given, else after
    /// an hour).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Seconds of load before measuring starts (not counted).
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Send READONLY on each connection first (read from followers).
    #[arg(long)]
    pub readonly: bool,
    /// Do not write the keys before a get or mixed run.
    #[arg(long)]
    pub no_populate: bool,
    /// Seed of the key and operation choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Bound on every wait: connect, a write, a reply.
    #[arg(long, default_value_t = 5_000)]
    pub timeout_ms: u64,
    /// Print one JSON object with the results on stdout.
    #[arg(long)]
    pub json: bool,
    /// Runtime worker threads of the generator (1 = a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// etcd: serializable (local, possibly stale) reads instead of linearizable ones.
    #[arg(long)]
    pub serializable: bool,
    /// NATS: the JetStream stream to publish to; subjects are `<stream>.<key>`.
    #[arg(long, default_value = "QUORUM_BENCH")]
    pub nats_stream: String,
    /// NATS: create the stream (subjects `<stream>.>`, file storage) if it does not exist.
    #[arg(long)]
    pub nats_create_stream: bool,
    /// NATS: replicas of a stream created with --nats-create-stream.
    #[arg(long, default_value_t = 1)]
    pub nats_replicas: usize,
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopRule {
    /// Measured seconds after which no new request is sent.
    pub duration_s: f64,
    /// Counted requests after which no new request is sent.
    pub requests: Option<u64>,
}

/// The validated flags.
#[derive(Debug, Clone)]
pub struct Plan {
    pub protocol: Protocol,
    pub workload: Workload,
    pub endpoints: Vec<String>,
    pub clients: usize,
    pub pipeline: usize,
    pub rate: Option<f64>,
    /// Share of reads, for the mixed workload only.
    pub read_ratio: Option<f64>,
    pub keys: u64,
    pub value_size: usize,
    pub stop: StopRule,
    pub warmup: Duration,
    pub readonly: bool,
    pub populate: bool,
    pub seed: u64,
    pub timeout: Duration,
    pub json: bool,
    pub threads: usize,
    pub serializable: bool,
    pub nats_stream: String,
    pub nats_create_stream: bool,
    pub nats_replicas: usize,
}

impl Plan {
    /// Checks the flags against each other and against the limits above.
    pub fn from_args(args: BenchArgs) -> anyhow::Result<Plan> {
        ensure!(
            !args.endpoints.is_empty(),
            "--endpoints: at least one HOST:PORT"
        );
        for endpoint in &args.endpoints {
            let (host, port) = endpoint
                .rsplit_once(':')
                .with_context(|| format!("--endpoints: {endpoint:?} is not HOST:PORT"))?;
            ensure!(!host.is_empty(), "--endpoints: {endpoint:?} has no host");
            port.parse::<u16>()
                .with_context(|| format!("--endpoints: {endpoint:?} has no valid port"))?;
        }
        ensure!(
            (1..=CLIENTS_MAX).contains(&args.clients),
            "--clients must be 1..={CLIENTS_MAX}"
        );
        ensure!(
            (1..=PIPELINE_MAX).contains(&args.pipeline),
            "--pipeline must be 1..={PIPELINE_MAX}"
        );
        if let Some(rate) = args.rate {
            ensure!(
                rate.is_finite() && rate > 0.0,
                "--rate must be a positive number of requests per second"
            );
        }
        ensure!(
            (0.0..=1.0).contains(&args.read_ratio),
            "--read-ratio must be between 0 and 1"
        );
        ensure!(
            (1..=KEYS_MAX).contains(&args.keys),
            "--keys must be 1..={KEYS_MAX}"
        );
        ensure!(
            args.value_size <= VALUE_SIZE_BYTES_MAX,
            "--value-size must be at most {VALUE_SIZE_BYTES_MAX} bytes"
        );
        ensure!(
            args.warmup.is_finite() && args.warmup >= 0.0 && args.warmup <= REQUESTS_RUN_SECS_MAX,
            "--warmup must be 0..={REQUESTS_RUN_SECS_MAX} seconds"
        );
        ensure!(
            (1..=600_000).contains(&args.timeout_ms),
            "--timeout-ms must be 1..=600000"
        );
        ensure!((1..=64).contains(&args.threads), "--threads must be 1..=64");
        let stop = stop_rule(args.duration, args.requests)?;
        check_protocol_supports(args.protocol, args.workload)?;
        if args.protocol == Protocol::Nats {
            ensure!(
                !args.nats_stream.is_empty() && !args.nats_stream.contains(['.', '*', '>', ' ']),
                "--nats-stream must be a stream name without '.', '*', '>' or spaces"
            );
            ensure!(
                (1..=5).contains(&args.nats_replicas),
                "--nats-replicas must be 1..=5"
            );
        }
        Ok(Plan {
            protocol: args.protocol,
            workload: args.workload,
            endpoints: args.endpoints,
            clients: args.clients,
            pipeline: args.pipeline,
            rate: args.rate,
            read_ratio: (args.workload == Workload::Mixed).then_some(args.read_ratio),
            keys: args.keys,
            value_size: args.value_size,
            stop,
            warmup: Duration::from_secs_f64(args.warmup),
            readonly: args.readonly,
            populate: args.workload.reads_keys() && !args.no_populate,
            seed: args.seed,
            timeout: Duration::from_millis(args.timeout_ms),
            json: args.json,
            threads: args.threads,
            serializable: args.serializable,
            nats_stream: args.nats_stream,
            nats_create_stream: args.nats_create_stream,
            nats_replicas: args.nats_replicas,
        })
    }

    /// The endpoint client number `client` connects to (round-robin).
    pub fn endpoint_of(&self, client: usize) -> &str {
        &self.endpoints[client % self.endpoints.len()]
    }
}

fn stop_rule(duration: Option<f64>, requests: Option<u64>) -> anyhow::Result<StopRule> {
    if let Some(duration) = duration {
        ensure!(
            duration.is_finite() && duration > 0.0 && duration <= REQUESTS_RUN_SECS_MAX * 24.0,
            "--duration must be a positive number of seconds (at most a day)"
        );
    }
    if let Some(requests) = requests {
        ensure!(requests > 0, "--requests must be positive");
    }
    let duration_s = match (duration, requests) {
        (Some(duration), _) => duration,
        (None, Some(_)) => REQUESTS_RUN_SECS_MAX,
        (None, None) => DURATION_SECS_DEFAULT,
    };
    Ok(StopRule {
        duration_s,
        requests,
    })
}

fn check_protocol_supports(protocol: Protocol, workload: Workload) -> anyhow::Result<()> {
    match (protocol, workload) {
        (Protocol::Resp, _) => Ok(()),
        (Protocol::Etcd, Workload::Set | Workload::Get | Workload::Mixed) => Ok(()),
        (Protocol::Nats, Workload::Set) => Ok(()),
        (Protocol::Etcd, _) => bail!(
            "--protocol etcd supports --workload set, get and mixed (Put and Range), not {}",
            workload.name()
        ),
        (Protocol::Nats, _) => bail!(
            "--protocol nats supports only --workload set (JetStream publish with ack), not {}",
            workload.name()
        ),
    }
}

/// Parses `flags` (without the subcommand name) into a plan, as the binary would.
#[cfg(test)]
pub fn plan_from_flags(flags: &[&str]) -> anyhow::Result<Plan> {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    let cli = Cli::try_parse_from(std::iter::once("bench").chain(flags.iter().copied()))?;
    Plan::from_args(cli.bench)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(flags: &[&str]) -> anyhow::Result<Plan> {
        plan_from_flags(flags)
    }

    #[test]
    fn defaults_give_a_ten_second_closed_loop_set_run() {
        let plan = plan(&["--endpoints", "127.0.0.1:7001,127.0.0.1:7002"]).unwrap();
        assert_eq!(plan.workload, Workload::Set);
        assert_eq!(plan.stop.duration_s, DURATION_SECS_DEFAULT);
        assert_eq!(plan.read_ratio, None);
        assert!(!plan.populate);
        assert_eq!(plan.endpoint_of(3), "127.0.0.1:7002");
    }

    #[test]
    fn get_populates_unless_told_not_to() {
        assert!(
            plan(&["--endpoints", "h:1", "--workload", "get"])
                .unwrap()
                .populate
        );
        let no = plan(&["--endpoints", "h:1", "--workload", "get", "--no-populate"]).unwrap();
        assert!(!no.populate);
    }

    #[test]
    fn requests_alone_are_capped_in_time() {
        let plan = plan(&["--endpoints", "h:1", "--requests", "100"]).unwrap();
        assert_eq!(plan.stop.requests, Some(100));
        assert_eq!(plan.stop.duration_s, REQUESTS_RUN_SECS_MAX);
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        for (flags, expected) in [
            (&["--endpoints", "nohost"][..], "--endpoints"),
            (&["--endpoints", "h:99999"][..], "--endpoints"),
            (&["--endpoints", "h:1", "--clients", "0"][..], "--clients"),
            (&["--endpoints", "h:1", "--rate", "0"][..], "--rate"),
            (
                &["--endpoints", "h:1", "--read-ratio", "1.5"][..],
                "--read-ratio",
            ),
            (
                &[
                    "--endpoints",
                    "h:1",
                    "--protocol",
                    "nats",
                    "--workload",
                    "get",
                ][..],
                "--protocol nats",
            ),
            (
                &[
                    "--endpoints",
                    "h:1",
                    "--protocol",
                    "etcd",
                    "--workload",
                    "task",
                ][..],
                "--protocol etcd",
            ),
        ] {
            let err = plan(flags).unwrap_err().to_string();
            assert!(err.contains(expected), "{flags:?}: {err}");
        }
    }
}
