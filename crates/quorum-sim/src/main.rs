//! `quorum-sim`: runs seeded deterministic simulations of a quorum cluster and reports
//! violations. `cargo run -p quorum-sim -- --seed 42` replays one seed; `--seeds 0..200`
//! sweeps many. Exit 0 when every run is valid, 1 when one is not, 2 on a harness error.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use quorum_sim::{SimConfig, SimOutcome};

/// Deterministic simulation of a quorum cluster under turmoil.
#[derive(Debug, Parser)]
#[command(name = "quorum-sim")]
struct Args {
    /// One seed to run (replay).
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// A range of seeds, START..END (END excluded).
    #[arg(long)]
    seeds: Option<String>,
    /// Simulated seconds of workload per seed.
    #[arg(long, default_value_t = 12)]
    seconds: u64,
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Run without faults (message latency only).
    #[arg(long)]
    no_faults: bool,
    /// Print each outcome as one JSON line.
    #[arg(long)]
    json: bool,
    /// Parent directory of the nodes' data (default: /dev/shm when it exists, else the
    /// system temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let seeds = match (&args.seed, &args.seeds) {
        (Some(seed), _) => *seed..*seed + 1,
        (None, Some(range)) => match parse_range(range) {
            Some(range) => range,
            None => {
                eprintln!("quorum-sim: --seeds wants START..END, got {range:?}");
                std::process::exit(2);
            }
        },
        (None, None) => 0..1,
    };
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(quorum_sim::default_work_dir);
    let mut failed = 0;
    for seed in seeds {
        let config = SimConfig {
            nodes: args.nodes,
            duration: Duration::from_secs(args.seconds),
            faults: !args.no_faults,
            ..SimConfig::seed(seed)
        };
        match quorum_sim::run(&config, &work_dir) {
            Ok(outcome) => {
                if !outcome.valid() {
                    failed += 1;
                }
                print(&outcome, args.json);
            }
            Err(e) => {
                eprintln!("quorum-sim: seed {seed}: harness error: {e:#}");
                std::process::exit(2);
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn parse_range(text: &str) -> Option<std::ops::Range<u64>> {
    let (start, end) = text.split_once("..")?;
    Some(start.trim().parse().ok()?..end.trim().parse().ok()?)
}

fn print(outcome: &SimOutcome, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(outcome).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
        return;
    }
    println!(
        "seed {}: {} — {} ok, {} failed, {} unknown ops ({} pushes, {} pops acknowledged); {} \
         faults, {} leaders; {} simulated ms in {} ms; trace {:016x}",
        outcome.seed,
        if outcome.valid() { "valid" } else { "INVALID" },
        outcome.ops_ok,
        outcome.ops_failed,
        outcome.ops_unknown,
        outcome.queue.pushes_acknowledged,
        outcome.queue.pops_acknowledged,
        outcome.faults.len(),
        outcome.leaders,
        outcome.sim_ms,
        outcome.wall_ms,
        outcome.trace_hash
    );
    if !outcome.valid() {
        for fault in &outcome.faults {
            println!("  fault {fault}");
        }
        for violation in &outcome.violations {
            println!("  VIOLATION {violation}");
        }
        println!("  replay: {}", outcome.replay_command());
    }
}
