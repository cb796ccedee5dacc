//! The simulation sweep: many seeds of whole-cluster simulations with crashes, log bit flips,
//! partitions, held messages and membership changes, each judged by Raft's invariants and the
//! history checker;
//! and the proof that one seed replays identically in a fresh process.
//!
//! `QUORUM_SIM_SEEDS` sets how many fixed seeds run (default below); one random seed, printed,
//! runs as well. A failure prints the command that replays it.

use quorum_sim::{SimConfig, SimOutcome};

/// Fixed seeds of the default sweep.
const SEEDS_DEFAULT: u64 = 300;

fn run_seeds(seeds: Vec<u64>) -> Vec<SimOutcome> {
    let work_dir = quorum_sim::default_work_dir();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&seed) = seeds.get(i) else { return };
                let outcome = quorum_sim::run(&SimConfig::seed(seed), &work_dir)
                    .unwrap_or_else(|e| panic!("seed {seed}: harness error: {e:#}"));
                outcomes.lock().unwrap().push(outcome);
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by_key(|o| o.seed);
    outcomes
}

#[test]
fn a_sweep_of_seeded_simulations_finds_no_violation() {
    let fixed: u64 = std::env::var("QUORUM_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEEDS_DEFAULT);
    let random = rand::random::<u64>() >> 1;
    println!(
        "random seed of this sweep: {random} (replay: cargo run -p quorum-sim -- --seed {random})"
    );
    let mut seeds: Vec<u64> = (0..fixed).collect();
    seeds.push(random);
    let started = std::time::Instant::now();
    let outcomes = run_seeds(seeds);
    let invalid: Vec<&SimOutcome> = outcomes.iter().filter(|o| !o.valid()).collect();
    let ok: u64 = outcomes.iter().map(|o| o.ops_ok).sum();
    let faults: usize = outcomes.iter().map(|o| o.faults.len()).sum();
    let sim_s: u64 = outcomes.iter().map(|o| o.sim_ms).sum::<u64>() / 1000;
    // Membership changes: started, and ended with the node a voter again.
    let count_faults = |what: &str| -> usize {
        outcomes
            .iter()
            .flat_map(|o| &o.faults)
            .filter(|f| f.contains(what))
            .count()
    };
    let changes = count_faults("membership change:");
    let readded = count_faults("added back as a voter (");
    // Bit flips of a downed node's synced log, and what the node made of each.
    let flips = count_faults("flipped in its log file");
    let refused = count_faults(" refused: ");
    let flips_started = count_faults("started after the bit flip");
    let seeds_with_flips = outcomes
        .iter()
        .filter(|o| {
            o.faults
                .iter()
                .any(|f| f.contains("flipped in its log file"))
        })
        .count();
    let pops: u64 = outcomes.iter().map(|o| o.queue.pops_acknowledged).sum();
    let pushes: u64 = outcomes.iter().map(|o| o.queue.pushes_acknowledged).sum();
    println!(
        "{} seeds: {} invalid; {ok} acknowledged operations ({pushes} pushes, {pops} pops), \
         {faults} faults ({changes} membership changes, {readded} nodes added back; {flips} log \
         bit flips in {seeds_with_flips} seeds: {refused} refused to start, {flips_started} \
         started), {sim_s} simulated s in {:.1} s",
        outcomes.len(),
        invalid.len(),
        started.elapsed().as_secs_f64()
    );
    for outcome in &invalid {
        println!("seed {} INVALID:", outcome.seed);
        for fault in &outcome.faults {
            println!("  fault {fault}");
        }
        for violation in &outcome.violations {
            println!("  VIOLATION {violation}");
        }
        println!("  replay: {}", outcome.replay_command());
        // A run should not depend on what ran before it in the process (see
        // `seeds_run_after_other_seeds_replay_as_in_fresh_processes`); check that the printed
        // replay reproduces it all the same.
        let (fresh_hash, fresh) = run_fresh(outcome.seed);
        let fresh_violations = fresh["violations"].as_array().map_or(0, Vec::len);
        println!(
            "  in a fresh process: {} violations, trace {}",
            fresh_violations,
            if fresh_hash == outcome.trace_hash {
                "identical"
            } else {
                "different (the replay does not reproduce this run's schedule)"
            }
        );
    }
    assert!(
        invalid.is_empty(),
        "{} of {} seeds found violations",
        invalid.len(),
        outcomes.len()
    );
    // The runs did something: clients were acknowledged and faults were injected.
    assert!(
        ok > 100 * outcomes.len() as u64,
        "only {ok} acknowledged operations"
    );
    assert!(
        faults >= 3 * outcomes.len(),
        "only {faults} faults injected"
    );
    // The queue workload ran: elements pushed and popped.
    assert!(
        pops > 10 * outcomes.len() as u64,
        "only {pushes} pushes and {pops} pops acknowledged"
    );
    assert!(
        seeds_with_flips >= outcomes.len() / 20,
        "only {seeds_with_flips} of {} seeds flipped a bit of a log",
        outcomes.len()
    );
    assert!(
        changes >= outcomes.len() / 5,
        "only {changes} membership changes in {} seeds",
        outcomes.len()
    );
}

/// Runs `seed` in a fresh process: its trace hash and its outcome.
fn run_fresh(seed: u64) -> (u64, serde_json::Value) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quorum-sim"))
        .args(["--seed", &seed.to_string(), "--json"])
        .output()
        .expect("running quorum-sim");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "quorum-sim failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON line");
    (outcome["trace_hash"].as_u64().expect("trace_hash"), outcome)
}

#[test]
fn one_seed_replays_identically_in_a_fresh_process() {
    let (first, outcome) = run_fresh(7);
    let (second, _) = run_fresh(7);
    assert!(outcome["ops_ok"].as_u64().unwrap() > 100, "{outcome}");
    assert!(
        outcome["queue"]["pops_acknowledged"].as_u64().unwrap() > 10,
        "{outcome}"
    );
    assert_eq!(
        first, second,
        "two runs of seed 7 in fresh processes differ: the simulation is not deterministic"
    );
    // And in this process, after other simulations ran in it (first runs can differ).
    let again = quorum_sim::run(&SimConfig::seed(7), &quorum_sim::default_work_dir()).unwrap();
    assert_eq!(
        again.trace_hash, first,
        "seed 7 in-process differs from a fresh process"
    );
}

/// Seeds run one after another in one process replay as they do in fresh processes: what ran
/// before in the process does not change a run. Before a crash closed its connections in the
/// order they were opened (`net.rs`), tokio's task ids, counted per process, chose that order:
/// this test failed at seed 3 run after seed 2; seeds 16 and 19 differed after seeds 0..16
/// and 0..19 in one process.
#[test]
fn seeds_run_after_other_seeds_replay_as_in_fresh_processes() {
    let work_dir = quorum_sim::default_work_dir();
    for seed in [2, 3, 16, 19] {
        let in_process = quorum_sim::run(&SimConfig::seed(seed), &work_dir)
            .unwrap_or_else(|e| panic!("seed {seed}: harness error: {e:#}"));
        let (fresh, _) = run_fresh(seed);
        assert_eq!(
            in_process.trace_hash, fresh,
            "seed {seed} run after other seeds in this process differs from a fresh process"
        );
    }
}

/// A log bit flip of a downed node has two outcomes: the node refuses to start (the flip is in
/// records it had synced) or starts (the flip fell in its torn tail). The first seed from 100 up
/// that shows each, run in this process, replays identically in a fresh process. The seeds are
/// searched rather than fixed because any change to node code moves the schedule's outcomes
/// (a fixed seed 152 lost its started flip when a logging task was added, 2026-12-01); about
/// one seed in five shows each outcome, so the search runs a few seeds.
#[test]
fn seeds_with_refused_and_started_log_bit_flips_replay_identically_in_a_fresh_process() {
    const SEARCHED: std::ops::Range<u64> = 100..160;
    let work_dir = quorum_sim::default_work_dir();
    let mut refused = None;
    let mut started = None;
    for seed in SEARCHED {
        let outcome = quorum_sim::run(&SimConfig::seed(seed), &work_dir)
            .unwrap_or_else(|e| panic!("seed {seed}: harness error: {e:#}"));
        let has = |needle: &str| outcome.faults.iter().any(|f| f.contains(needle));
        if refused.is_none() && has(" refused: ") {
            refused = Some((seed, outcome.trace_hash));
        }
        if started.is_none() && has("started after the bit flip") {
            started = Some((seed, outcome.trace_hash));
        }
        if refused.is_some() && started.is_some() {
            break;
        }
    }
    for (what, found) in [("refused to start", refused), ("started", started)] {
        let (seed, in_process) = found.unwrap_or_else(|| {
            panic!("no seed in {SEARCHED:?} has a node that {what} after a log bit flip")
        });
        let (fresh, _) = run_fresh(seed);
        assert_eq!(
            in_process, fresh,
            "seed {seed} (a node {what} after a log bit flip) differs in a fresh process"
        );
    }
}
