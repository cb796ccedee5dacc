//! `quorum chaos --target redis-sentinel`: the same workload, fault schedule and checker as
//! `quorum chaos`, against Redis made "highly available" the usual way: a primary, replicas
//! and Sentinels that promote a replica when the primary looks down ([`cluster`]). Clients find
//! the primary through the Sentinels, as Sentinel clients do ([`discovery`]).
//!
//! Replication is asynchronous and the primary never waits for a replica, so when a partition
//! isolates the primary with some clients, it keeps acknowledging their writes while the
//! majority side promotes a replica; when the partition heals, the old primary becomes a
//! replica of the new one and drops everything it acknowledged meanwhile (Jepsen measured
//! 56 % of acknowledged writes lost in 2013). The report counts those writes
//! (`CheckReport::lost`), next to the zero of a quorum run.
//!
//! Only the faults that mean the same for Redis are injected: kill (a server; Sentinels stay
//! up), pause and partition (as root). quorum's own faults (membership, snapshots, clocks,
//! disks) are left out of the schedule, with a note.

mod cluster;
mod discovery;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub use discovery::Sentinels;

use crate::checks::{self, Liveness};
use crate::cluster::ClusterControl;
use crate::nemesis::{Nemesis, Shared};
use crate::report::RunFacts;
use crate::schedule::FaultClass;
use crate::workload::Discovery;
use crate::{netns, run, verify, ChaosArgs};
use cluster::RedisSentinelCluster;

/// Key prefix (the deployment is the run's own).
const PREFIX: &str = "chaos:";
/// The fault classes that mean the same for Redis as for quorum.
const SUPPORTED: [FaultClass; 3] = [FaultClass::Kill, FaultClass::Pause, FaultClass::Partition];
/// How long the deployment gets to agree on one primary after the final heal. Sentinel
/// demotes a returning old primary only after it has reported itself as a master for a while
/// (about 8 s plus an INFO period of up to 10 s).
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `quorum chaos --target redis-sentinel`; the exit code (0 valid, 1 anomaly, 2 harness
/// error), as for quorum.
pub fn run_sentinel(args: ChaosArgs) -> anyhow::Result<u8> {
    let seed = run::seed_or_random(args.seed);
    let asked = FaultClass::parse_list(&args.faults)?;
    let unavailable = netns::unavailable();
    let (classes, left_out): (Vec<FaultClass>, Vec<FaultClass>) = asked.iter().partition(|c| {
        SUPPORTED.contains(c) && (**c != FaultClass::Partition || unavailable.is_none())
    });
    let Some((plan, schedule)) = run::plan_or_print(seed, &args, &classes) else {
        return Ok(0);
    };
    if args.nodes < 3 {
        anyhow::bail!("--target redis-sentinel needs --nodes 3 or more (a primary, replicas and a Sentinel majority)");
    }
    let mut notes = Vec::new();
    if let (true, Some(reason)) = (left_out.contains(&FaultClass::Partition), &unavailable) {
        notes.push(format!("partition faults skipped: {reason}"));
    }
    let not_redis: Vec<&str> = left_out
        .iter()
        .filter(|c| !SUPPORTED.contains(c))
        .map(|c| c.name())
        .collect();
    if !not_redis.is_empty() {
        notes.push(format!(
            "{} faults are not injected into Redis (the Redis target injects kill, pause and \
             partition)",
            not_redis.join(", ")
        ));
    }
    let faults_text: Vec<&str> = classes.iter().map(|c| c.name()).collect();
    eprintln!(
        "chaos: target redis-sentinel, seed {seed} (rerun with --seed {seed}), {} Redis servers \
         and Sentinels (down-after-milliseconds {}), faults {}, {} planned",
        args.nodes,
        args.sentinel_down_after_ms,
        faults_text.join(","),
        plan.len()
    );
    for note in &notes {
        eprintln!("chaos: {note}");
    }
    let cluster = RedisSentinelCluster::start(
        args.nodes,
        args.workload.clients,
        args.sentinel_down_after_ms,
        unavailable.is_none(),
    )?;

    let runtime = run::runtime()?;
    runtime.block_on(async move {
        let endpoints = cluster.endpoints();
        let endpoint_names = run::endpoint_names(&endpoints);
        let discovery = Discovery::Sentinel(cluster.sentinels());
        let session =
            run::Session::start_with(&args.workload, PREFIX.into(), seed, endpoints, discovery)?;
        let shared = Arc::new(Shared::default());
        let progress = run::spawn_progress(session.recorder.clone(), shared.clone(), true);
        let interrupt = run::spawn_interrupt(shared.clone());
        let nemesis = Nemesis::new(
            Box::new(cluster),
            session.recorder.clone(),
            shared.clone(),
            session.endpoints.clone(),
            seed,
        );
        let nemesis = run::inject(nemesis, plan, args.duration).await?;
        if shared.abort.load(Ordering::Relaxed) {
            anyhow::bail!("interrupted; the deployment was healed and is being stopped");
        }

        eprintln!("chaos: healed; waiting for the Sentinels and servers to agree on a primary");
        let healed = std::time::Instant::now();
        let (nemesis, converged) = tokio::task::spawn_blocking(move || {
            let converged = nemesis.cluster.wait_for_leader(CONVERGE_TIMEOUT);
            (nemesis, converged)
        })
        .await?;
        let liveness = match converged {
            Ok(primary) => {
                eprintln!(
                    "chaos: one primary (Redis {primary}) after {:?}; final reads",
                    healed.elapsed()
                );
                let endpoint = nemesis
                    .cluster
                    .endpoints()
                    .into_iter()
                    .filter(|e| u64::from(e.node) == primary)
                    .collect::<Vec<_>>();
                checks::liveness(&endpoint, PREFIX).await
            }
            Err(err) => vec![Liveness {
                node: 0,
                ms: None,
                error: Some(format!("{err:#}")),
            }],
        };
        let clients = session.finish().await?;
        progress.abort();
        interrupt.abort();
        let mut facts = RunFacts {
            mode: "chaos --target redis-sentinel".into(),
            command: format!(
                "quorum chaos --target redis-sentinel --duration {}s --nodes {} --clients {} --keys {}{} --faults {} --interval {}ms --sentinel-down-after-ms {} --seed {seed}",
                args.duration.as_secs(),
                args.nodes,
                args.workload.clients,
                args.workload.keys,
                args.workload.flags(),
                faults_text.join(","),
                args.interval.as_millis(),
                args.sentinel_down_after_ms
            ),
            seed,
            duration_s: args.duration.as_secs_f64(),
            endpoints: endpoint_names,
            schedule,
            notes,
            liveness,
            ..RunFacts::default()
        };
        let history = run::history_with_faults(clients, &shared, &mut facts);
        let code = verify::finish(&args.workload, &facts, &history)?;
        // Dropping the deployment stops every process (and removes the namespaces).
        drop(nemesis);
        Ok(code)
    })
}
