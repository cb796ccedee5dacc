//! Planted bugs (`chaos-bugs` feature only): switches that make a node misbehave the way real
//! systems once shipped, so that `quorum chaos` can prove it catches each one.
//!
//! This module is the switchboard, not the bugs: each bug is a small branch marked
//! `PLANTED BUG` at the one place it lives (`log_store.rs`, `state_machine.rs`,
//! `quorum-server`'s `read_barrier.rs`). The switches are process-wide because one process is
//! one node and the binary sets them once, before the node starts (`quorum node --chaos-bug
//! NAME`); threading them through every constructor would spread test-only parameters over
//! production signatures. Release builds never enable the feature, so none of this exists there.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// One planted bug, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaosBug {
    /// Report log entries flushed before they are fsynced and fsync only once a second
    /// (NATS JetStream 2.12 acknowledged writes it had not fsynced). Lost by a power cut.
    AckBeforeFsync,
    /// Answer default-level reads on a follower from its local state, without asking the
    /// leader for a read index (etcd 0.4 served such stale reads).
    FollowerLocalReads,
    /// Apply a retried proposal again instead of returning its cached replies, so a retried
    /// INCR or APPEND takes effect twice.
    SkipDedup,
    /// Keep serving reads from the leader lease however long ago the quorum confirmed it: a
    /// leader that was paused past the election timeout serves stale reads when it wakes
    /// (the stale lease reads of openraft #1749).
    LeaseWithoutClockBound,
}

impl ChaosBug {
    /// Every planted bug.
    pub const ALL: [ChaosBug; 4] = [
        ChaosBug::AckBeforeFsync,
        ChaosBug::FollowerLocalReads,
        ChaosBug::SkipDedup,
        ChaosBug::LeaseWithoutClockBound,
    ];

    /// The name used by `--chaos-bug`.
    pub fn name(self) -> &'static str {
        match self {
            ChaosBug::AckBeforeFsync => "ack-before-fsync",
            ChaosBug::FollowerLocalReads => "follower-local-reads",
            ChaosBug::SkipDedup => "skip-dedup",
            ChaosBug::LeaseWithoutClockBound => "lease-without-clock-bound",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for ChaosBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChaosBug {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ChaosBug::ALL
            .into_iter()
            .find(|bug| bug.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = ChaosBug::ALL.iter().map(|b| b.name()).collect();
                format!(
                    "unknown chaos bug {text:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The planted bugs of this process, one bit each.
static PLANTED: AtomicU8 = AtomicU8::new(0);

/// Turns `bug` on for the rest of the process.
pub fn plant(bug: ChaosBug) {
    PLANTED.fetch_or(bug.bit(), Ordering::Relaxed);
}

/// True when `bug` was planted.
pub fn planted(bug: ChaosBug) -> bool {
    PLANTED.load(Ordering::Relaxed) & bug.bit() != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_bits_are_distinct() {
        let mut bits = 0;
        for bug in ChaosBug::ALL {
            assert_eq!(bug.name().parse::<ChaosBug>(), Ok(bug));
            assert_eq!(bits & bug.bit(), 0);
            bits |= bug.bit();
        }
        assert!("ack-after-fsync".parse::<ChaosBug>().is_err());
    }
}
