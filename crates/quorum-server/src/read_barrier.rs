//! [`ReadBarrier`]: makes default-level reads linearizable (Raft ReadIndex), batched.
//!
//! A read may be served from this node's state machine once it has applied everything the
//! leader had committed when the read arrived. The leader proves it still leads by a heartbeat
//! round to a quorum (openraft's `get_read_log_id`); a follower asks the leader for that index
//! over gRPC, then waits for its own apply to reach it. One task runs one confirmation at a
//! time; every read that arrives while a confirmation is in flight shares the next one, so
//! the cost is one quorum round per batch of reads, not per read.
//!
//! # The read lease
//!
//! A confirmation proves more than "leader now": every follower that acknowledged the heartbeat
//! refuses votes for `election_timeout_max` after receiving it and starts no election of its own
//! before that plus an election timeout (openraft 0.9's vote lease). So no other leader can be
//! elected before `sent + election_timeout_max`, where `sent` is no earlier than when the
//! confirmation started. Until `started + read_lease` (0.9 × `election_timeout_min`, see
//! [`crate::RaftTuning::read_lease_duration`]) the leader answers read-index requests without a
//! new quorum round: the read index is the confirmed index (which covers every entry committed
//! by earlier leaders) or this node's applied index if higher (every write acknowledged in this
//! term was applied here before its reply; the state machine's own applied index, which runs
//! ahead of openraft's metrics). While reads keep coming, the lease is renewed in
//! the background once half of it is spent, so reads rarely wait for a round.
//!
//! The lease is dropped when the term, the leader or the membership changes (a new voter set
//! need not intersect the quorum that acknowledged). Two things keep it sound where openraft's
//! own lease does not reach: quorum never transfers leadership (openraft #1749: a transfer
//! target campaigns at once, ignoring the lease), and a restarted node forgets the heartbeat it
//! acknowledged, so it neither votes nor campaigns for `election_timeout_max` after starting
//! ([`crate::RaftTuning::vote_quiet_period`]). Timings must be the same on every node.
//!
//! `--lease-reads false` turns the lease off: one quorum round per batch of reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use quorum_raft::openraft::{ServerState, Vote};
use quorum_raft::SharedStateMachine;
use quorum_types::NodeId;

use quorum_rpc::messages::{PeerError, ReadPoint};
use quorum_types::ErrorReply;
use tokio::sync::{mpsc, oneshot};
// This node's clock (`quorum_raft::runtime`): the lease is measured at `--clock-rate`, like
// openraft's vote lease it rests on.
use quorum_raft::runtime::{sleep, timeout_at, QuorumInstant as Instant};

use crate::cluster::{no_quorum_error, timeout_error, ClusterView, Route};
use crate::seams::Clock;

/// Most reads waiting for a confirmation before connections wait (backpressure).
const WAITERS_MAX: usize = 65_536;

type Waiter = oneshot::Sender<Result<ReadPoint, ErrorReply>>;

/// Handle for waiting on a linearizable read point.
#[derive(Clone)]
pub struct ReadBarrier {
    waiters: mpsc::Sender<Waiter>,
    leader: Arc<LeaderReads>,
    /// Set once a read index was confirmed and applied here since this process started: the
    /// node then holds everything committed before that, including whatever it had applied
    /// before a restart (see [`ReadBarrier::catch_up_once`]).
    caught_up: Arc<AtomicBool>,
}

impl ReadBarrier {
    /// Starts the confirmation task. `lease` is how long a confirmation lets the leader answer
    /// without another quorum round; `None` disables the lease.
    pub fn start(
        cluster: Arc<ClusterView>,
        state: SharedStateMachine,
        request_timeout: Duration,
        lease: Option<Duration>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (waiters, receiver) = mpsc::channel(WAITERS_MAX);
        let leader = Arc::new(LeaderReads {
            cluster,
            state,
            clock,
            lease_duration: lease,
            lease: Mutex::new(None),
            renewing: AtomicBool::new(false),
            leadership_start: Mutex::new(None),
        });
        let caught_up = Arc::new(AtomicBool::new(false));
        tokio::spawn(confirm_loop(
            leader.clone(),
            receiver,
            request_timeout,
            caught_up.clone(),
        ));
        ReadBarrier {
            waiters,
            leader,
            caught_up,
        }
    }

    /// True once this node has applied a confirmed read index since it started.
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// Resolves once this node has applied, since it started, at least the commit index a
    /// confirmed leader had when the first call began: one read-index round, after which it
    /// resolves at once.
    ///
    /// `READONLY` reads wait for it. A node restarted after a power cut replays its log only up
    /// to the commit index it had synced, which can be older than what it applied (and served)
    /// before the cut; everything it applied then was committed, so after this catch-up it
    /// holds at least as much again, and a `READONLY` session never reads older data from it
    /// than before its restart. A node that started with an empty data directory also takes no
    /// part in elections before this (`bootstrap.rs`).
    pub async fn catch_up_once(&self) -> Result<(), ErrorReply> {
        if self.caught_up() {
            return Ok(());
        }
        self.wait().await?;
        self.caught_up.store(true, Ordering::Release);
        Ok(())
    }

    /// Serves a follower's read-index request on the leader.
    pub async fn serve_read_index(
        &self,
        request_timeout: Duration,
    ) -> Result<ReadPoint, PeerError> {
        let cluster = &self.leader.cluster;
        if !cluster.is_leader() {
            return Err(PeerError::NotLeader {
                leader: cluster.leader(),
            });
        }
        let index = self
            .leader
            .read_index(Instant::now() + request_timeout)
            .await
            .map_err(PeerError::Unavailable)?;
        Ok(self.leader.read_point(index))
    }

    /// Resolves with the read point: the log index this node has applied through, at which a
    /// read that started before this call is linearizable, and the leader's time for expiry.
    pub async fn wait(&self) -> Result<ReadPoint, ErrorReply> {
        // PLANTED BUG (`--chaos-bug follower-local-reads`, etcd 0.4): a follower answers from
        // whatever it has applied, without asking the leader what was committed.
        #[cfg(feature = "chaos-bugs")]
        if quorum_raft::chaos_bugs::planted(quorum_raft::chaos_bugs::ChaosBug::FollowerLocalReads)
            && !self.leader.cluster.is_leader()
        {
            let index = self
                .leader
                .state
                .read()
                .last_applied
                .map_or(0, |id| id.index);
            return Ok(self.leader.read_point(index));
        }
        let (tx, rx) = oneshot::channel();
        if self.waiters.send(tx).await.is_err() {
            return Err(ErrorReply::from_static("ERR server is shutting down"));
        }
        rx.await
            .unwrap_or_else(|_| Err(ErrorReply::from_static("ERR server is shutting down")))
    }
}

async fn confirm_loop(
    leader: Arc<LeaderReads>,
    mut receiver: mpsc::Receiver<Waiter>,
    request_timeout: Duration,
    caught_up: Arc<AtomicBool>,
) {
    let mut batch = Vec::new();
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        let result = confirm(&leader, request_timeout).await;
        if result.is_ok() {
            caught_up.store(true, Ordering::Release);
        }
        for waiter in batch.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

/// One confirmation: the read index, applied locally.
async fn confirm(
    leader: &Arc<LeaderReads>,
    request_timeout: Duration,
) -> Result<ReadPoint, ErrorReply> {
    let cluster = &*leader.cluster;
    let deadline = Instant::now() + request_timeout;
    let mut backoff_ms = 5;
    let mut saw_leader = false;
    loop {
        let attempt = async {
            match cluster.route() {
                Route::Local => {
                    saw_leader = true;
                    let index = leader.read_index(deadline).await?;
                    Ok(leader.read_point(index))
                }
                Route::Remote(client) => {
                    saw_leader = true;
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    match client.read_index(remaining).await {
                        Ok(Ok(point)) => Ok(point),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Route::NoLeader => Err("no leader".to_string()),
            }
        };
        match cluster
            .until_leader_changes(attempt, deadline.to_tokio())
            .await
        {
            Ok(point) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                cluster.wait_applied(point.index, remaining).await?;
                return Ok(point);
            }
            Err(reason) => {
                if Instant::now() + Duration::from_millis(backoff_ms) >= deadline {
                    tracing::debug!(%reason, "read barrier timed out");
                    return Err(if saw_leader {
                        timeout_error(request_timeout)
                    } else {
                        no_quorum_error(cluster.id)
                    });
                }
                sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(200);
            }
        }
    }
}

/// What the leader knows about its current read lease.
struct ReadLease {
    /// The vote (term and leader) the confirmation was made under.
    vote: Vote<NodeId>,
    /// The membership the confirming quorum belonged to.
    membership_index: Option<u64>,
    /// The confirmed read index.
    floor: u64,
    /// When the confirmation started.
    confirmed_at: Instant,
}

/// The leader side of linearizable reads: quorum confirmations and the lease they grant.
struct LeaderReads {
    cluster: Arc<ClusterView>,
    /// The state machine, for the index it has applied through.
    state: SharedStateMachine,
    /// This node's wall clock, sent with every read point it confirms as leader.
    clock: Arc<dyn Clock>,
    /// `None`: no lease, every read index needs a quorum round.
    lease_duration: Option<Duration>,
    lease: Mutex<Option<ReadLease>>,
    /// A background renewal is in flight.
    renewing: AtomicBool,
    /// The vote this node leads under and its last log index when it was first seen leading.
    leadership_start: Mutex<Option<(Vote<NodeId>, u64)>>,
}

/// The fields of the Raft metrics a lease is bound to.
fn lease_key(cluster: &ClusterView) -> Option<(Vote<NodeId>, Option<u64>)> {
    let metrics = cluster.raft.metrics();
    let metrics = metrics.borrow();
    let leads = metrics.state == ServerState::Leader && metrics.current_leader == Some(cluster.id);
    leads.then(|| {
        (
            metrics.vote,
            metrics.membership_config.log_id().map(|id| id.index),
        )
    })
}

impl LeaderReads {
    /// The read index on the leader: from the lease while it holds, otherwise after a quorum
    /// heartbeat round (which renews the lease).
    /// `index` with this node's wall clock: called on the leader, whose clock stamps every
    /// TTL.
    fn read_point(&self, index: u64) -> ReadPoint {
        ReadPoint {
            index,
            leader_now_ms: self.clock.now_unix_ms(),
        }
    }

    async fn read_index(self: &Arc<Self>, deadline: Instant) -> Result<u64, String> {
        if let Some(index) = self.leased_read_index() {
            return Ok(index);
        }
        self.confirm_round(deadline).await
    }

    /// The read index if the lease is valid now; starts a background renewal once half of the
    /// lease is spent.
    fn leased_read_index(self: &Arc<Self>) -> Option<u64> {
        let duration = self.lease_duration?;
        let key = lease_key(&self.cluster)?;
        let now = Instant::now();
        let floor = {
            let lease = self.lease.lock();
            let lease = lease.as_ref()?;
            let age = now.saturating_duration_since(lease.confirmed_at);
            // PLANTED BUG (`--chaos-bug lease-without-clock-bound`, openraft #1749's stale
            // lease reads): the lease never runs out by time, only by a change this leader has
            // noticed, so a leader paused past the election timeout serves stale reads.
            #[cfg(feature = "chaos-bugs")]
            let age = if quorum_raft::chaos_bugs::planted(
                quorum_raft::chaos_bugs::ChaosBug::LeaseWithoutClockBound,
            ) {
                Duration::ZERO
            } else {
                age
            };
            if (lease.vote, lease.membership_index) != key || age >= duration {
                return None;
            }
            if age >= duration / 2 && !self.renewing.swap(true, Ordering::AcqRel) {
                let leader = self.clone();
                tokio::spawn(async move {
                    let deadline = Instant::now() + duration;
                    if let Err(reason) = leader.confirm_round(deadline).await {
                        tracing::debug!(%reason, "read lease renewal failed");
                    }
                    leader.renewing.store(false, Ordering::Release);
                });
            }
            lease.floor
        };
        // The state machine's own applied index, not openraft's metrics: a write is acknowledged
        // as soon as it is applied, before the metrics report it, so the metrics value can miss
        // acknowledged writes (found by `quorum chaos`: followers served stale reads).
        let applied = self.state.read().last_applied.map_or(0, |id| id.index);
        Some(floor.max(applied))
    }

    /// This node's last log index when it was first seen leading under the current vote; 0 when
    /// it does not lead.
    ///
    /// openraft reads at `max(committed, noop)`, where `noop` is the first entry of the
    /// leader's term. A leader restarted without losing its term (openraft resumes it at once)
    /// keeps that old `noop` and only the committed index it had saved, which may lag: the
    /// entries after it may have been acknowledged before the restart, so a read must wait for
    /// everything the leader held when it resumed (found by `quorum chaos --faults power`: a
    /// stale read right after a power cut of every node).
    fn leadership_start_index(&self, key: Option<(Vote<NodeId>, Option<u64>)>) -> u64 {
        let Some((vote, _)) = key else {
            return 0;
        };
        let mut start = self.leadership_start.lock();
        match *start {
            Some((seen, index)) if seen == vote => index,
            _ => {
                let last = self
                    .cluster
                    .raft
                    .metrics()
                    .borrow()
                    .last_log_index
                    .unwrap_or(0);
                *start = Some((vote, last));
                last
            }
        }
    }

    /// A quorum heartbeat round (openraft's `get_read_log_id`); on success the lease runs from
    /// the moment the round started.
    async fn confirm_round(&self, deadline: Instant) -> Result<u64, String> {
        let started = Instant::now();
        let key_before = lease_key(&self.cluster);
        let index = match timeout_at(deadline, self.cluster.raft.get_read_log_id()).await {
            Err(_) => return Err("timed out confirming leadership".to_string()),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok((read_log_id, _applied))) => read_log_id.map_or(0, |id| id.index),
        };
        let index = index.max(self.leadership_start_index(key_before));
        if self.lease_duration.is_some() {
            if let Some(key) = key_before.filter(|key| Some(*key) == lease_key(&self.cluster)) {
                let mut lease = self.lease.lock();
                // Keep the newest confirmation: renewals may finish out of order.
                if lease.as_ref().is_none_or(|l| l.confirmed_at <= started) {
                    *lease = Some(ReadLease {
                        vote: key.0,
                        membership_index: key.1,
                        floor: index,
                        confirmed_at: started,
                    });
                }
            }
        }
        Ok(index)
    }
}
