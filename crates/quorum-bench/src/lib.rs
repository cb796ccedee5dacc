//! `quorum bench`: a load generator for Redis-compatible endpoints (quorum, Redis), etcd and
//! NATS JetStream, reporting throughput, latency percentiles, errors by kind and the longest
//! time without an acknowledged reply.
//!
//! It talks to servers only over the wire, like a user. Closed loop (`--clients`,
//! `--pipeline`) and open loop (`--rate`, latency from the intended send time: corrected for
//! coordinated omission) are described on [`BenchArgs`]. The RESP path is hand-written for
//! efficiency (the generator usually shares the machine with the servers it measures): requests
//! are copied from precomputed templates, replies are parsed in place, and nothing is allocated
//! per request. It is not a correctness checker (that is `quorum-check`).
//!
//! Map: `args.rs` (flags, validation), `workload.rs` (which operation, which key),
//! `control.rs` (run clock, open-loop schedule, back-off), `stats.rs` (histograms, errors,
//! gaps), `report.rs` (progress, summary, JSON), `runner.rs` (runtime, progress, stop),
//! `resp/` (RESP client), `lane.rs` (one-request-at-a-time loop for the gRPC/NATS clients),
//! `etcd.rs`, `nats.rs`.

mod args;
mod control;
mod etcd;
mod lane;
mod nats;
mod report;
mod resp;
mod runner;
mod stats;
mod workload;

use std::sync::Arc;

use tokio::task::JoinSet;

pub use args::{BenchArgs, Protocol, Workload};
pub use report::{JsonReport, LatencyReport};

use args::Plan;
use resp::client::{open_connection, RespClient};
use resp::request::RequestEncoder;
use runner::{build_runtime, report_connect_failures, Harness, Measured};
use workload::{value_bytes, KeyFormat, OpStream};

/// Runs `quorum bench`; returns the process exit code: 0 when at least one operation was
/// acknowledged, 1 when none was (errors are measurements, not failures of the tool).
pub fn run(args: BenchArgs) -> anyhow::Result<u8> {
    let plan = Plan::from_args(args)?;
    let runtime = build_runtime(plan.threads)?;
    let measured = runtime.block_on(run_plan(&plan))?;
    let report = JsonReport::new(&plan, &measured.tally, measured.measured, measured.max_gap);
    eprint!("{}", report::human_summary(&report, &measured.tally));
    if plan.json {
        let json = serde_json::to_string(&report)
            .map_err(|e| anyhow::anyhow!("encode the JSON report: {e}"))?;
        println!("{json}");
    }
    Ok(if report.ok > 0 { 0 } else { 1 })
}

async fn run_plan(plan: &Plan) -> anyhow::Result<Measured> {
    match plan.protocol {
        Protocol::Resp => run_resp(plan).await,
        Protocol::Etcd => etcd::run_etcd(plan).await,
        Protocol::Nats => nats::run_nats(plan).await,
    }
}

async fn run_resp(plan: &Plan) -> anyhow::Result<Measured> {
    let encoder = Arc::new(RequestEncoder::new(
        KeyFormat::for_keys(plan.keys),
        &value_bytes(plan.value_size),
    ));
    if plan.populate {
        eprintln!("populating {} keys on {}", plan.keys, plan.endpoints[0]);
        resp::populate::populate(&plan.endpoints[0], &encoder, plan.keys, plan.timeout).await?;
    }
    let mut connecting = JoinSet::new();
    for index in 0..plan.clients {
        let endpoint = plan.endpoint_of(index).to_owned();
        let (readonly, timeout) = (plan.readonly, plan.timeout);
        connecting
            .spawn(async move { (index, open_connection(&endpoint, readonly, timeout).await) });
    }
    let mut connections: Vec<_> = (0..plan.clients).map(|_| None).collect();
    let mut failures = Vec::new();
    while let Some(joined) = connecting.join_next().await {
        let (index, result) = joined.map_err(|e| anyhow::anyhow!("connect task: {e}"))?;
        match result {
            Ok((_, Some(kind))) => anyhow::bail!(
                "{} refused READONLY ({kind}): --readonly needs a server that supports it",
                plan.endpoint_of(index)
            ),
            Ok((connection, None)) => connections[index] = Some(connection),
            Err(failure) => failures.push(failure.to_string()),
        }
    }
    report_connect_failures(&failures, plan.clients);

    let mut harness = Harness::start(plan);
    let mut clients = JoinSet::new();
    for (index, connection) in connections.into_iter().enumerate() {
        let client = RespClient {
            index,
            endpoint: plan.endpoint_of(index).to_owned(),
            readonly: plan.readonly,
            pipeline: plan.pipeline,
            control: harness.control.clone(),
            recorder: harness.recorder(),
            ops: OpStream::new(plan.workload, plan.read_ratio, plan.keys, plan.seed, index),
            encoder: encoder.clone(),
            schedule: plan.rate.map(|rate| {
                control::Schedule::new(harness.control.origin, rate, index, plan.clients)
            }),
        };
        clients.spawn(client.run(connection));
    }
    Ok(harness.finish(clients).await)
}
