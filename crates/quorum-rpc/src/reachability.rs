//! [`PeerReachability`]: what the operator reads when a peer stops answering. One warning when
//! a peer becomes unreachable, a reminder once a minute while it stays so, and one line when it
//! answers again; openraft's own replication lines (four per retry, every 500 ms) are below the
//! default log filter (`quorum/src/logging.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use quorum_types::NodeId;
// tokio's clock, so a simulated node's lines follow simulated time.
use tokio::time::Instant;

/// How often a peer that stays unreachable is mentioned again.
pub const REMINDER_INTERVAL: Duration = Duration::from_secs(60);

/// The peers this node's Raft calls could not reach, shared by every connection of one node.
#[derive(Default)]
pub struct PeerReachability {
    /// Peers currently unreachable, so that a call that succeeds skips the lock when none is.
    down_count: AtomicUsize,
    down: Mutex<HashMap<NodeId, Down>>,
}

/// An unreachable peer.
struct Down {
    since: Instant,
    mentioned: Instant,
}

/// What [`PeerReachability::failed`] or [`PeerReachability::answered`] logged, for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// Nothing (no change, or a reminder not yet due).
    Nothing,
    /// The peer became unreachable.
    Unreachable,
    /// The peer is still unreachable ([`REMINDER_INTERVAL`] since the last line).
    StillUnreachable,
    /// The peer answered again.
    Reachable,
}

impl PeerReachability {
    /// A call to `peer` failed to reach it (connection refused, reset, timed out opening).
    pub fn failed(&self, peer: NodeId, error: &dyn std::fmt::Display) -> Logged {
        self.failed_at(peer, error, Instant::now())
    }

    fn failed_at(&self, peer: NodeId, error: &dyn std::fmt::Display, now: Instant) -> Logged {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        match down.get_mut(&peer) {
            None => {
                down.insert(
                    peer,
                    Down {
                        since: now,
                        mentioned: now,
                    },
                );
                self.down_count.fetch_add(1, Ordering::Release);
                tracing::warn!(
                    peer,
                    %error,
                    "peer unreachable; Raft keeps retrying (logged again when it answers, and \
                     once a minute until then)"
                );
                Logged::Unreachable
            }
            Some(state) if now.duration_since(state.mentioned) >= REMINDER_INTERVAL => {
                state.mentioned = now;
                let down_for = now.duration_since(state.since);
                tracing::warn!(peer, ?down_for, %error, "peer still unreachable");
                Logged::StillUnreachable
            }
            Some(_) => Logged::Nothing,
        }
    }

    /// A call to `peer` got an answer (any answer: a remote error is still an answer).
    #[inline]
    pub fn answered(&self, peer: NodeId) -> Logged {
        if self.down_count.load(Ordering::Acquire) == 0 {
            return Logged::Nothing;
        }
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = down.remove(&peer) else {
            return Logged::Nothing;
        };
        self.down_count.fetch_sub(1, Ordering::Release);
        let down_for = Instant::now().duration_since(state.since);
        tracing::info!(peer, ?down_for, "peer reachable again");
        Logged::Reachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_down_peer_is_logged_once_then_once_a_minute_then_when_it_answers() {
        let peers = PeerReachability::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(peers.answered(2), Logged::Nothing);
        assert_eq!(peers.failed_at(2, &"refused", at(0)), Logged::Unreachable);
        // Retries every 500 ms for a minute: silent.
        for retry in 1..120 {
            assert_eq!(
                peers.failed_at(2, &"refused", at(retry * 500)),
                Logged::Nothing
            );
        }
        assert_eq!(
            peers.failed_at(2, &"refused", at(60_000)),
            Logged::StillUnreachable
        );
        assert_eq!(peers.failed_at(2, &"refused", at(60_500)), Logged::Nothing);
        // Another peer is its own story.
        assert_eq!(
            peers.failed_at(3, &"reset", at(61_000)),
            Logged::Unreachable
        );
        assert_eq!(peers.answered(2), Logged::Reachable);
        assert_eq!(peers.answered(2), Logged::Nothing);
        assert_eq!(peers.answered(3), Logged::Reachable);
        // Down again later: a fresh warning.
        assert_eq!(
            peers.failed_at(2, &"refused", at(70_000)),
            Logged::Unreachable
        );
    }
}
