//! `quorum chaos`: start a cluster, run the workload while the fault injector follows the
//! seeded schedule, heal, check liveness and replica divergence, check the history, report.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cluster::{ClusterControl, LocalCluster};
use crate::nemesis::{Nemesis, Shared};
use crate::report::RunFacts;
use crate::schedule::FaultClass;
use crate::{checks, netns, run, verify, ChaosArgs, ClusterKind, Target};

/// Key prefix of chaos runs (the cluster is the run's own, so any prefix is safe).
const PREFIX: &str = "chaos:";

/// Runs `quorum chaos`; returns the process exit code (0 valid, 1 anomaly, 2 harness error).
pub fn run_chaos(args: ChaosArgs) -> anyhow::Result<u8> {
    if args.target == Target::RedisSentinel {
        return crate::sentinel::run_sentinel(args);
    }
    let seed = run::seed_or_random(args.seed);
    let classes = FaultClass::parse_list(&args.faults)?;
    let Some((plan, schedule)) = run::plan_or_print(seed, &args, &classes) else {
        return Ok(0);
    };
    if args.nodes == 0 {
        anyhow::bail!("--nodes must be at least 1");
    }
    let faults_text: Vec<&str> = classes.iter().map(|c| c.name()).collect();
    eprintln!(
        "chaos: seed {seed} (rerun with --seed {seed}), {} nodes, faults {}, {} planned",
        args.nodes,
        faults_text.join(","),
        plan.len()
    );

    let mut notes = Vec::new();
    let mut node_args = Vec::new();
    // Disk faults damage the newest snapshot too, so there must be snapshots to damage.
    if classes.contains(&FaultClass::Snapshot) || classes.contains(&FaultClass::Disk) {
        node_args.extend([
            "--snapshot-logs-since-last".to_string(),
            args.snapshot_logs_since_last.to_string(),
            "--logs-to-keep-after-snapshot".to_string(),
            "10".to_string(),
        ]);
    }
    if classes.contains(&FaultClass::Power) {
        // kill -9 keeps the page cache; this makes it lose what was never fsynced.
        node_args.push("--emulate-power-loss".to_string());
    }
    node_args.extend(args.node_args.iter().cloned());
    let binary = std::env::current_exe().context("cannot find the quorum binary")?;
    let wants_netns = classes.iter().any(|c| {
        matches!(
            c,
            FaultClass::Partition | FaultClass::Clock | FaultClass::Disk
        )
    });
    let netns = match (args.cluster, netns::unavailable()) {
        (ClusterKind::Netns, Some(reason)) => anyhow::bail!("--cluster netns: {reason}"),
        (ClusterKind::Netns, None) => true,
        (ClusterKind::Loopback, _) => false,
        (ClusterKind::Auto, reason) => {
            if let (true, Some(reason)) = (wants_netns, &reason) {
                let note = format!(
                    "partitions go through the link proxies; wall-clock and disk-full faults skipped: {reason}"
                );
                eprintln!("chaos: {note}");
                notes.push(note);
            }
            wants_netns && reason.is_none()
        }
    };
    // The link proxies: for latency and duplication, and for partitions on loopback.
    let wants_links = classes.iter().any(|c| match c {
        FaultClass::Latency | FaultClass::Duplicate => true,
        FaultClass::Partition => !netns,
        _ => false,
    });
    let link_seed = wants_links.then_some(seed);
    let cluster: Box<dyn ClusterControl> = if netns {
        Box::new(netns::NetnsCluster::start(
            &binary, args.nodes, &node_args, link_seed,
        )?)
    } else {
        Box::new(LocalCluster::start(
            &binary, args.nodes, &node_args, link_seed,
        )?)
    };

    let runtime = run::runtime()?;
    runtime.block_on(async move {
        let endpoints = cluster.endpoints();
        let endpoint_names = run::endpoint_names(&endpoints);
        let session = run::Session::start(&args.workload, PREFIX.into(), seed, endpoints)?;
        let shared = Arc::new(Shared::default());
        let progress = run::spawn_progress(session.recorder.clone(), shared.clone(), true);
        let interrupt = run::spawn_interrupt(shared.clone());

        let nemesis = Nemesis::new(
            cluster,
            session.recorder.clone(),
            shared.clone(),
            session.endpoints.clone(),
            seed,
        );
        let duration = args.duration;
        let nemesis = run::inject(nemesis, plan, duration).await?;
        if shared.abort.load(Ordering::Relaxed) {
            anyhow::bail!("interrupted; the cluster was healed and is being stopped");
        }

        // Liveness first, while the clients still run: a node that cannot serve writes
        // after the heal is the failure, whatever the clients see.
        let final_endpoints = nemesis.cluster.endpoints();
        eprintln!("chaos: healed; checking that every node serves a write");
        let phase = std::time::Instant::now();
        let liveness = checks::liveness(&final_endpoints, PREFIX).await;
        eprintln!("chaos: liveness checked in {:?}; final reads", phase.elapsed());
        let phase = std::time::Instant::now();
        let workload = session.workload.clone();
        let clients = session.finish().await?;
        progress.abort();
        interrupt.abort();
        eprintln!(
            "chaos: final reads done in {:?}; comparing replica digests",
            phase.elapsed()
        );
        let phase = std::time::Instant::now();
        let mut facts = RunFacts {
            mode: "chaos".into(),
            command: format!(
                "quorum chaos --duration {}s --nodes {} --clients {} --keys {}{} --faults {} --interval {}ms --seed {seed}",
                duration.as_secs(),
                args.nodes,
                args.workload.clients,
                args.workload.keys,
                args.workload.flags(),
                faults_text.join(","),
                args.interval.as_millis()
            ),
            seed,
            duration_s: duration.as_secs_f64(),
            endpoints: endpoint_names,
            schedule,
            notes,
            liveness,
            ..RunFacts::default()
        };
        match checks::divergence(&final_endpoints).await {
            Ok(d) => facts.divergence = d,
            Err(e) => facts.divergence_error = Some(format!("{e:#}")),
        }
        drop(workload);
        eprintln!("chaos: digests compared in {:?}; checking the history", phase.elapsed());
        let history = run::history_with_faults(clients, &shared, &mut facts);
        let code = verify::finish(&args.workload, &facts, &history)?;
        if code != 0 {
            eprintln!("chaos: node logs (tails):\n{}", tail(&nemesis.cluster.log_tails(), 40));
        }
        // Dropping the cluster stops every node (and removes namespaces).
        drop(nemesis);
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(code)
    })
}

/// The end of the node logs, bounded to `lines * 5` lines so a failure stays readable.
fn tail(logs: &str, lines: usize) -> String {
    let all: Vec<&str> = logs.lines().collect();
    all[all.len().saturating_sub(lines * 5)..].join("\n")
}
