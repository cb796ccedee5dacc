//! Dispatch: classify each request and send it down the right path.
//!
//! - server/connection commands (PING, HELLO, CLIENT, INFO, ...) run here, on this node;
//! - writes are validated here, then proposed (batched) through the [`Proposer`];
//! - reads wait for the read barrier (unless the connection is READONLY: then only for the one
//!   catch-up a node makes after it starts), then run against the local state machine.
//!
//! Requests of one pipeline execute in order: a read waits for the writes before it, so a
//! connection always reads its own writes, also on a follower.
//!
//! [`Proposer`]: crate::proposer::Proposer

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use quorum_commands::{Kind, ReadContext, WatchedKey};
use quorum_keyspace::Keyspace;
use quorum_raft::Op;
use quorum_resp::{Frame, Protocol, Request};
use quorum_rpc::messages::ReadPoint;
use tokio::sync::oneshot;

use crate::blocking;
use crate::clients::ClientHandle;
use crate::node::{Node, Stats};
use crate::proposer::WriteOutcome;
use crate::server_commands;
use crate::transaction::{self, InMulti, MultiState};

/// Per-connection state.
pub struct Session {
    /// Registry entry (CLIENT LIST, KILL).
    pub client: Arc<ClientHandle>,
    /// RESP2 or RESP3, chosen by HELLO.
    pub protocol: Protocol,
    /// READONLY: serve reads from local state without a read barrier.
    pub readonly: bool,
    /// Log index of this connection's last acknowledged write (WAIT, read-your-writes).
    pub last_write_index: u64,
    /// Set by QUIT: close after replying.
    pub closing: bool,
    /// The SELECTed database.
    pub db: u32,
    /// The open MULTI block, if any.
    pub multi: Option<MultiState>,
    /// Keys WATCHed since the last EXEC, DISCARD or UNWATCH, with the versions seen.
    pub watched: Vec<WatchedKey>,
}

impl Session {
    /// A fresh session for a new connection.
    pub fn new(client: Arc<ClientHandle>) -> Self {
        Session {
            client,
            protocol: Protocol::Resp2,
            readonly: false,
            last_write_index: 0,
            closing: false,
            db: 0,
            multi: None,
            watched: Vec::new(),
        }
    }

    /// CLIENT ID.
    pub fn id(&self) -> u64 {
        self.client.info.lock().id
    }
}

enum Slot {
    Ready(Frame),
    Pending(oneshot::Receiver<WriteOutcome>),
}

/// Executes one pipeline of requests in order and returns one reply per request, each with the
/// protocol it must be encoded in: the connection's protocol right after its command ran (a
/// pipelined HELLO changes the encoding of later replies only, as in Redis).
pub async fn execute_pipeline(
    node: &Node,
    session: &mut Session,
    requests: Vec<Request>,
) -> Vec<(Frame, Protocol)> {
    let mut slots: Vec<Slot> = Vec::with_capacity(requests.len());
    let mut protocols: Vec<Protocol> = Vec::with_capacity(requests.len());
    // A read index obtained for this pipeline covers every read in it: they all arrived before
    // the barrier was requested.
    let mut read_point: Option<ReadPoint> = None;
    if let Some(last) = requests.last() {
        let mut info = session.client.info.lock();
        info.last_active = Instant::now();
        info.last_command = String::from_utf8_lossy(&last[0]).to_ascii_lowercase();
    }

    for args in requests {
        Stats::bump(&node.stats.commands_processed);
        if slots.len() > protocols.len() {
            protocols.push(session.protocol);
        }
        match transaction::route(node, session, &args) {
            InMulti::RunAsUsual => {}
            InMulti::Reply(frame) => {
                slots.push(Slot::Ready(frame));
                continue;
            }
            InMulti::Exec => {
                resolve_pending(session, &mut slots).await;
                let frame = transaction::exec(node, session).await;
                slots.push(Slot::Ready(frame));
                continue;
            }
        }
        let spec = match quorum_commands::validate(&args) {
            Ok(spec) => spec,
            Err(e) => {
                slots.push(Slot::Ready(Frame::Error(e)));
                continue;
            }
        };
        match spec.kind() {
            Kind::Write => {
                if let Err(e) = precheck(node, &args) {
                    slots.push(Slot::Ready(Frame::Error(e)));
                    continue;
                }
                if let Some(Ok(wait)) = quorum_commands::blocking_wait(spec, &args) {
                    // Replies stay in order: the writes before it first, then it waits.
                    resolve_pending(session, &mut slots).await;
                    Stats::bump(&node.stats.writes_proposed);
                    let frame = blocking::serve(node, session, args, &wait).await;
                    slots.push(Slot::Ready(frame));
                    continue;
                }
                Stats::bump(&node.stats.writes_proposed);
                let op = Op::Command {
                    db: session.db,
                    args,
                };
                let outcome = node.proposer.submit(op).await;
                slots.push(Slot::Pending(outcome));
            }
            Kind::Read => {
                resolve_pending(session, &mut slots).await;
                let frame = match read(node, session, &mut read_point, &args).await {
                    Ok(frame) => frame,
                    Err(e) => Frame::Error(e),
                };
                slots.push(Slot::Ready(frame));
            }
            Kind::Server if spec.name == "watch" => {
                // A WATCH sees the connection's own writes: wait until they are applied here.
                resolve_pending(session, &mut slots).await;
                let applied = node
                    .cluster
                    .wait_applied(session.last_write_index, node.request_timeout())
                    .await;
                let frame = match applied {
                    Ok(()) => transaction::watch(node, session, &args[1..]),
                    Err(e) => Frame::Error(e),
                };
                slots.push(Slot::Ready(frame));
            }
            Kind::Server => {
                resolve_pending(session, &mut slots).await;
                let frame = server_commands::execute(node, session, &args).await;
                slots.push(Slot::Ready(frame));
                if session.closing {
                    break;
                }
            }
        }
    }
    if slots.len() > protocols.len() {
        protocols.push(session.protocol);
    }
    debug_assert_eq!(slots.len(), protocols.len());
    resolve_pending(session, &mut slots).await;
    slots
        .into_iter()
        .zip(protocols)
        .map(|(slot, protocol)| match slot {
            Slot::Ready(frame) => (frame, protocol),
            Slot::Pending(_) => unreachable!("all pending writes were resolved"),
        })
        .collect()
}

/// A write's checks on the receiving node: its syntax, and the database numbers it names
/// against this node's `--databases`.
fn precheck(node: &Node, args: &[Bytes]) -> Result<(), quorum_types::ErrorReply> {
    quorum_commands::precheck_write(args)?;
    if quorum_commands::database_arguments(args)
        .iter()
        .any(|&db| db >= node.config.databases)
    {
        return Err(quorum_types::ErrorReply::from_static(
            "ERR DB index is out of range",
        ));
    }
    Ok(())
}

/// Waits for every queued write's outcome, in order.
async fn resolve_pending(session: &mut Session, slots: &mut [Slot]) {
    for slot in slots.iter_mut() {
        if let Slot::Pending(rx) = slot {
            let outcome = rx.await.unwrap_or_else(|_| WriteOutcome {
                frame: Frame::Error(quorum_types::ErrorReply::from_static(
                    "ERR server is shutting down",
                )),
                log_index: 0,
            });
            session.last_write_index = session.last_write_index.max(outcome.log_index);
            *slot = Slot::Ready(outcome.frame);
        }
    }
}

async fn read(
    node: &Node,
    session: &Session,
    read_point: &mut Option<ReadPoint>,
    args: &[Bytes],
) -> Result<Frame, quorum_types::ErrorReply> {
    let mut must_apply = session.last_write_index;
    // Expiry is judged at the leader's time for linearizable reads: this node's wall clock may
    // be hours ahead (it would hide live keys) or behind. READONLY reads use this node's clock.
    let mut leader_now_ms = None;
    if session.readonly {
        Stats::bump(&node.stats.reads_local);
        // Once per process: a restarted node first catches up with the leader's commit index,
        // so a READONLY session never reads older data than before the restart.
        node.barrier.catch_up_once().await?;
    } else {
        Stats::bump(&node.stats.reads_linearizable);
        let point = match *read_point {
            Some(point) => point,
            None => {
                let point = node.barrier.wait().await?;
                *read_point = Some(point);
                point
            }
        };
        must_apply = must_apply.max(point.index);
        leader_now_ms = Some(point.leader_now_ms);
    }
    node.cluster
        .wait_applied(must_apply, node.request_timeout())
        .await?;
    let random_seed = node.seams.entropy.next_u64();
    let state = node.state.read();
    let ctx = ReadContext {
        now_ms: match leader_now_ms {
            Some(leader_now_ms) => leader_now_ms.max(state.clock_ms),
            None => node.read_now_ms(state.clock_ms),
        },
        random_seed,
    };
    Ok(match state.databases.get(session.db) {
        Some(ks) => quorum_commands::execute_read(ks, args, &ctx),
        None => quorum_commands::execute_read(&Keyspace::new(), args, &ctx),
    })
}
