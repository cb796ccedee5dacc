//! `quorum verify`: the chaos workload and checker against endpoints someone else runs, with
//! no faults (it cannot inject any), under a key prefix unique to the run.

use std::net::ToSocketAddrs;

use anyhow::Context;

use crate::report::{self, RunFacts};
use crate::workload::Endpoint;
use crate::{checks, run, VerifyArgs};

/// Runs `quorum verify`; returns the process exit code (0 valid, 1 anomaly, 2 harness error).
pub fn run_verify(args: VerifyArgs) -> anyhow::Result<u8> {
    let seed = run::seed_or_random(args.seed);
    let mut endpoints = Vec::new();
    for (i, text) in args.endpoints.iter().enumerate() {
        let addr = text
            .to_socket_addrs()
            .with_context(|| format!("invalid endpoint {text:?}: expected HOST:PORT"))?
            .next()
            .with_context(|| format!("endpoint {text:?} resolves to no address"))?;
        endpoints.push(Endpoint {
            node: i as u32,
            addr,
        });
    }
    // Unique per run, so two runs (or existing data) never share a key.
    let prefix = format!("quorum-verify:{seed}-{}:", std::process::id());
    eprintln!(
        "verify: seed {seed}, {} endpoints, {} clients, keys under {prefix}",
        endpoints.len(),
        args.workload.clients
    );
    let runtime = run::runtime()?;
    runtime.block_on(async {
        let session = run::Session::start(&args.workload, prefix.clone(), seed, endpoints.clone())?;
        let shared = std::sync::Arc::new(crate::nemesis::Shared::default());
        let progress = run::spawn_progress(session.recorder.clone(), shared.clone(), false);
        let interrupt = run::spawn_interrupt(shared.clone());
        let deadline = tokio::time::Instant::now() + args.duration;
        while tokio::time::Instant::now() < deadline
            && !shared.abort.load(std::sync::atomic::Ordering::Relaxed)
        {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let workload = session.workload.clone();
        let clients = session.finish().await?;
        progress.abort();
        interrupt.abort();
        if shared.abort.load(std::sync::atomic::Ordering::Relaxed) {
            anyhow::bail!("interrupted before the run finished");
        }
        let mut facts = RunFacts {
            mode: "verify".into(),
            command: format!(
                "quorum verify --endpoints {} --duration {}s --clients {} --keys {}{} --seed {seed}",
                args.endpoints.join(","),
                args.duration.as_secs(),
                args.workload.clients,
                args.workload.keys,
                args.workload.flags()
            ),
            seed,
            duration_s: args.duration.as_secs_f64(),
            endpoints: args.endpoints.clone(),
            ..RunFacts::default()
        };
        match checks::divergence(&endpoints).await {
            Ok(d) => facts.divergence = d,
            Err(e) => facts.divergence_error = Some(format!("{e:#}")),
        }
        let mut keys = workload.all_keys();
        keys.extend(workload.queue_keys());
        cleanup(&endpoints, &keys, &prefix).await;
        let history = run::history(clients, Vec::new());
        finish(&args.workload, &facts, &history)
    })
}

/// Deletes the run's keys (best effort: a failure leaves only prefixed keys behind).
async fn cleanup(endpoints: &[Endpoint], keys: &[String], prefix: &str) {
    let Some(endpoint) = endpoints.first() else {
        return;
    };
    let Ok(mut conn) =
        crate::resp::RespConn::connect(endpoint.addr, std::time::Duration::from_secs(2)).await
    else {
        eprintln!("verify: could not delete the keys under {prefix}");
        return;
    };
    for key in keys {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            conn.call(&[b"DEL", key.as_bytes()]),
        )
        .await;
    }
}

/// Checks the history, prints the summary and anomalies, writes the report; the exit code.
pub fn finish(
    args: &crate::WorkloadArgs,
    facts: &RunFacts,
    history: &quorum_check::History,
) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let check = quorum_check::check(history);
    eprintln!(
        "checked {} operations over {} keys in {:.2?}",
        history.ops.len(),
        check.stats.keys_checked,
        started.elapsed()
    );
    let q = &check.queue;
    if q.queues > 0 {
        eprintln!(
            "queues: {} pushes acknowledged, {} pops acknowledged ({} unknown), {} left; {} lost, \
             {} doubled, {} phantom",
            q.pushes_acknowledged,
            q.pops_acknowledged,
            q.pops_unknown,
            q.remaining,
            q.lost,
            q.doubled,
            q.phantoms
        );
    }
    let summary = report::summary(facts, history, &check);
    println!("{summary}");
    if let Some(dir) = &args.report {
        report::write(dir, facts, history, &check)?;
        eprintln!("report written to {}", dir.display());
    }
    Ok(facts.exit_code(&check))
}
