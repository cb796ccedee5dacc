//! Proof that the simulation can fail: with a planted bug that acknowledges log writes before
//! they are fsynced (NATS JetStream 2.12), power cuts of a majority lose acknowledged writes,
//! and some seed of a small sweep must say so. Its own test binary, because a planted bug is
//! switched on for the whole process.
#![cfg(feature = "chaos-bugs")]

use quorum_server::chaos_bugs::{plant, ChaosBug};
use quorum_sim::SimConfig;

/// Seeds tried before giving up: enough for several power cuts of a majority.
const SEEDS_MAX: u64 = 40;

#[test]
fn the_simulation_catches_acknowledgement_before_fsync() {
    plant(ChaosBug::AckBeforeFsync);
    let work_dir = quorum_sim::default_work_dir();
    for seed in 0..SEEDS_MAX {
        let outcome = quorum_sim::run(&SimConfig::seed(seed), &work_dir).unwrap();
        if !outcome.valid() {
            println!("seed {seed} caught the planted bug:");
            for violation in &outcome.violations {
                println!("  {violation}");
            }
            return;
        }
    }
    panic!("no seed of 0..{SEEDS_MAX} caught the planted ack-before-fsync bug");
}
