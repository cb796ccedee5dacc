//! [`Proposer`]: turns client writes from every connection into batched Raft proposals.
//!
//! Group commit: one task drains the queue of pending writes into a proposal. While up to
//! `PROPOSALS_IN_FLIGHT_MAX` proposals are being replicated and fsynced, new writes wait in the
//! queue and form the next, larger proposal. Each proposal carries `(proposer, seq, floor)`, and
//! is retried with the same seq after a leader change, so the state machine applies it at most
//! once. On a follower the proposal is forwarded to the leader over gRPC.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use quorum_raft::openraft::error::{ClientWriteError, RaftError};
use quorum_raft::{Op, Proposal, ProposalReply};
use quorum_resp::Frame;
use quorum_rpc::messages::PeerError;
use quorum_types::ErrorReply;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep, timeout_at, Instant};

use crate::cluster::{no_quorum_error, timeout_error, ClusterView, Route};
use crate::seams::Seams;

/// Most proposals replicating at once from one node.
const PROPOSALS_IN_FLIGHT_MAX: usize = 4;
/// Most operations in one proposal.
const PROPOSAL_OPS_MAX: usize = 4096;
/// Most payload bytes in one proposal (one more write may take it past this once). openraft 0.9
/// gives an AppendEntries call one heartbeat interval to complete, so the entries it carries
/// (`max_payload_entries` of them, see `raft_config`) must be small enough to send and fsync
/// well within it, or a lagging follower can never catch up.
const PROPOSAL_BYTES_MAX: usize = 256 * 1024;
/// Most writes queued on one node before connections wait (backpressure).
const QUEUE_DEPTH_MAX: usize = 65_536;
/// First back-off after a failed attempt; doubles up to `RETRY_BACKOFF_MS_MAX`.
const RETRY_BACKOFF_MS_MIN: u64 = 5;
const RETRY_BACKOFF_MS_MAX: u64 = 200;

/// The result of one write: its reply and the log index it was committed at (0 if it failed).
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The reply for the client.
    pub frame: Frame,
    /// The Raft log index of the proposal, for WAIT and read-your-writes.
    pub log_index: u64,
}

struct PendingWrite {
    op: Op,
    reply: oneshot::Sender<WriteOutcome>,
}

/// Handle for submitting writes.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::Sender<PendingWrite>,
}

/// Everything a proposal attempt needs.
struct Shared {
    cluster: Arc<ClusterView>,
    seams: Seams,
    proposer_id: u64,
    request_timeout: Duration,
    unresolved: Mutex<BTreeSet<u64>>,
}

impl Proposer {
    /// Starts the proposer task.
    pub fn start(cluster: Arc<ClusterView>, seams: Seams, request_timeout: Duration) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH_MAX);
        let proposer_id = seams.entropy.next_u64();
        let shared = Arc::new(Shared {
            cluster,
            seams,
            proposer_id,
            request_timeout,
            unresolved: Mutex::new(BTreeSet::new()),
        });
        tokio::spawn(batch_loop(shared, receiver));
        Proposer { queue }
    }

    /// Queues a write; the receiver yields its outcome.
    pub async fn submit(&self, op: Op) -> oneshot::Receiver<WriteOutcome> {
        let (reply, outcome) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) =
            self.queue.send(PendingWrite { op, reply }).await
        {
            let _ = pending.reply.send(WriteOutcome {
                frame: Frame::Error(ErrorReply::from_static("ERR server is shutting down")),
                log_index: 0,
            });
        }
        outcome
    }
}

async fn batch_loop(shared: Arc<Shared>, mut queue: mpsc::Receiver<PendingWrite>) {
    let slots = Arc::new(Semaphore::new(PROPOSALS_IN_FLIGHT_MAX));
    let mut seq: u64 = 0;
    let mut batch: Vec<PendingWrite> = Vec::new();
    while let Some(first) = queue.recv().await {
        // Wait for a slot first: writes that arrive meanwhile join this batch.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch_bytes = first.op.payload_bytes();
        batch.push(first);
        while batch.len() < PROPOSAL_OPS_MAX && batch_bytes < PROPOSAL_BYTES_MAX {
            match queue.try_recv() {
                Ok(write) => {
                    batch_bytes += write.op.payload_bytes();
                    batch.push(write);
                }
                Err(_) => break,
            }
        }
        seq += 1;
        let floor = {
            let mut unresolved = shared.unresolved.lock();
            unresolved.insert(seq);
            *unresolved.first().expect("just inserted")
        };
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.drain(..).map(|w| (w.op, w.reply)).unzip();
        let proposal = Proposal {
            proposer: shared.proposer_id,
            seq,
            floor,
            time_ms: 0,
            seed: 0,
            maxmemory_bytes: 0,
            ops,
        };
        tokio::spawn(propose(shared.clone(), proposal, replies, permit));
    }
}

async fn propose(
    shared: Arc<Shared>,
    proposal: Proposal,
    replies: Vec<oneshot::Sender<WriteOutcome>>,
    _permit: OwnedSemaphorePermit,
) {
    let seq = proposal.seq;
    let outcome = propose_with_retries(&shared, proposal).await;
    shared.unresolved.lock().remove(&seq);
    match outcome {
        Ok((log_index, reply)) => {
            debug_assert_eq!(reply.frames.len(), replies.len());
            for (frame, tx) in reply.frames.into_iter().zip(replies) {
                let _ = tx.send(WriteOutcome { frame, log_index });
            }
        }
        Err(error) => {
            for tx in replies {
                let _ = tx.send(WriteOutcome {
                    frame: Frame::Error(error.clone()),
                    log_index: 0,
                });
            }
        }
    }
}

/// Proposes (or forwards) until it succeeds or the request timeout passes.
async fn propose_with_retries(
    shared: &Shared,
    proposal: Proposal,
) -> Result<(u64, ProposalReply), ErrorReply> {
    let deadline = Instant::now() + shared.request_timeout;
    let mut backoff_ms = RETRY_BACKOFF_MS_MIN;
    let mut saw_leader = false;
    loop {
        let attempt = async {
            match shared.cluster.route() {
                Route::Local => {
                    saw_leader = true;
                    propose_locally(shared, proposal.clone(), deadline).await
                }
                Route::Remote(client) => {
                    saw_leader = true;
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    match client.forward(&proposal, remaining).await {
                        Ok(Ok(result)) => Ok(result),
                        Ok(Err(PeerError::Refused(reason))) => Err(Refusal::Final(reason)),
                        Ok(Err(e)) => Err(Refusal::Retry(e.to_string())),
                        Err(e) => Err(Refusal::Retry(e.to_string())),
                    }
                }
                Route::NoLeader => Err(Refusal::Retry("no leader".to_string())),
            }
        };
        let attempt = shared.cluster.until_leader_changes(attempt, deadline).await;
        match attempt {
            Ok(result) => return Ok(result),
            Err(Refusal::Final(reason)) => return Err(ErrorReply::new(format!("ERR {reason}"))),
            Err(Refusal::Retry(reason)) => {
                if Instant::now() + Duration::from_millis(backoff_ms) >= deadline {
                    tracing::debug!(seq = proposal.seq, %reason, "proposal timed out");
                    return Err(if saw_leader {
                        timeout_error(shared.request_timeout)
                    } else {
                        no_quorum_error(shared.cluster.id)
                    });
                }
                tracing::trace!(seq = proposal.seq, %reason, backoff_ms, "retrying proposal");
                sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(RETRY_BACKOFF_MS_MAX);
            }
        }
    }
}

/// Why an attempt failed.
pub(crate) enum Refusal {
    /// Try again (another leader, no quorum yet, transport error).
    Retry(String),
    /// Give up and tell the client.
    Final(String),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal::Retry(reason)
    }
}

/// Stamps a proposal with what only the leader decides: the time of its writes, the seed
/// of their random choices and the memory limit they obey. Every proposal is stamped here,
/// whether it came from this node or was forwarded.
pub(crate) fn stamp_on_leader(cluster: &ClusterView, seams: &Seams, proposal: &mut Proposal) {
    proposal.time_ms = seams.clock.now_unix_ms();
    proposal.seed = seams.entropy.next_u64();
    proposal.maxmemory_bytes = cluster.maxmemory_bytes;
}

/// Proposes on this node, which believes it leads. The leader stamps the proposal here.
pub(crate) async fn propose_locally_stamped(
    cluster: &ClusterView,
    seams: &Seams,
    mut proposal: Proposal,
    deadline: Instant,
) -> Result<(u64, ProposalReply), String> {
    stamp_on_leader(cluster, seams, &mut proposal);
    match timeout_at(deadline, cluster.raft.client_write(proposal)).await {
        Err(_) => Err("timed out waiting for commit".to_string()),
        Ok(Ok(response)) => Ok((response.log_id.index, response.data)),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
            Err(format!("leadership moved to {:?}", f.leader_id))
        }
        Ok(Err(e)) => Err(e.to_string()),
    }
}

async fn propose_locally(
    shared: &Shared,
    proposal: Proposal,
    deadline: Instant,
) -> Result<(u64, ProposalReply), Refusal> {
    propose_locally_stamped(&shared.cluster, &shared.seams, proposal, deadline)
        .await
        .map_err(Refusal::Retry)
}
