//! Proof that the simulation's queue workload catches a retried proposal applied twice (the
//! planted `skip-dedup`): a push retried after a leader change and applied again leaves an
//! element twice in its queue, and some seed of a small sweep must report a doubled or lost
//! element. Its own test binary, because a planted bug is switched on for the whole process.
#![cfg(feature = "chaos-bugs")]

use quorum_server::chaos_bugs::{plant, ChaosBug};
use quorum_sim::SimConfig;

/// Seeds tried before giving up (seed 0 caught it when this was written, 2026-12-06; about one
/// seed in ten does).
const SEEDS_MAX: u64 = 40;

#[test]
fn the_simulation_catches_doubled_queue_elements_without_deduplication() {
    plant(ChaosBug::SkipDedup);
    let work_dir = quorum_sim::default_work_dir();
    for seed in 0..SEEDS_MAX {
        let outcome = quorum_sim::run(&SimConfig::seed(seed), &work_dir).unwrap();
        let q = &outcome.queue;
        if q.doubled + q.lost + q.phantoms > 0 {
            assert!(!outcome.valid(), "{outcome:?}");
            println!("seed {seed} caught the planted bug on the queues: {q:?}");
            for violation in &outcome.violations {
                println!("  {violation}");
            }
            return;
        }
    }
    panic!("no seed of 0..{SEEDS_MAX} caught the planted skip-dedup bug on the queues");
}
