//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP):
//! a client parked on keys until one of them has data, on any node.
//!
//! The pop that serves a waiter is an ordinary write through the log — the blocking command
//! itself, which applies as its non-blocking form — so no element is ever delivered to two
//! clients and an acknowledged pop never comes back after a failover. A proposal that finds
//! nothing (another client took the element first) leaves the waiter parked.
//!
//! Waking: after entries are applied, the [`waker`] takes the keys they changed from the
//! state machine and wakes, per key, the first waiter that is not already awake, in arrival
//! order (Redis serves waiters in arrival order too). A waiter that pops changes the key
//! again, which wakes the next one while data remains; a woken waiter that leaves without
//! popping (timeout, disconnect) passes its wake on. Order holds among the waiters of one
//! node; waiters on different nodes race through the log.
//!
//! A waiter is registered before it first looks at the state, so no change can slip between
//! its look and its wait. Its timeout runs on this node's clock; `0` waits forever — the one
//! client-visible wait without a bound (ARCHITECTURE.md, invariants).
//!
//! Not here: what the commands do (`quorum_commands::list`, `zset`), their timeouts and
//! keys (`quorum_commands::blocking_wait`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use quorum_commands::BlockingWait;
use quorum_raft::Op;
use quorum_resp::Frame;
use quorum_types::ErrorReply;
use tokio::sync::Notify;

use crate::dispatch::Session;
use crate::node::Node;
use crate::proposer::WriteOutcome;

/// How CLIENT UNBLOCK ends a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unblock {
    /// As if the timeout had passed.
    Timeout,
    /// With `-UNBLOCKED`.
    Error,
}

/// One parked client.
struct Waiter {
    client_id: u64,
    wake: Notify,
    /// Woken and not yet back to waiting, or proposing: the waker skips it.
    awake: AtomicBool,
    unblock: Mutex<Option<Unblock>>,
}

type WaitKey = (u32, Bytes);

/// Every client parked on this node, by key.
#[derive(Default)]
pub struct BlockedClients {
    queues: Mutex<HashMap<WaitKey, VecDeque<Arc<Waiter>>>>,
    by_client: Mutex<HashMap<u64, Arc<Waiter>>>,
    count: AtomicUsize,
}

impl BlockedClients {
    /// Clients parked now (INFO `blocked_clients`).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether no client is parked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// CLIENT UNBLOCK: ends `client_id`'s wait; whether it was waiting.
    pub fn unblock(&self, client_id: u64, how: Unblock) -> bool {
        let Some(waiter) = self.by_client.lock().get(&client_id).cloned() else {
            return false;
        };
        *waiter.unblock.lock() = Some(how);
        waiter.wake.notify_one();
        true
    }

    fn register(&self, waiter: &Arc<Waiter>, keys: &[WaitKey]) {
        let mut queues = self.queues.lock();
        for key in keys {
            queues
                .entry(key.clone())
                .or_default()
                .push_back(waiter.clone());
        }
        self.by_client
            .lock()
            .insert(waiter.client_id, waiter.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn unregister(&self, waiter: &Arc<Waiter>, keys: &[WaitKey]) {
        let mut queues = self.queues.lock();
        for key in keys {
            if let Some(queue) = queues.get_mut(key) {
                queue.retain(|w| !Arc::ptr_eq(w, waiter));
                if queue.is_empty() {
                    queues.remove(key);
                }
            }
        }
        self.by_client.lock().remove(&waiter.client_id);
        self.count.fetch_sub(1, Ordering::Relaxed);
        // A wake it received and will not use goes to the next waiter.
        if waiter.awake.load(Ordering::Acquire) {
            for key in keys {
                wake_first(&mut queues, key);
            }
        }
    }

    /// Wakes, for each changed key, its first waiter not already awake; for "anything may
    /// have changed", the first of every key.
    fn wake(&self, keys: &[(u32, Bytes)], all: bool) {
        let mut queues = self.queues.lock();
        if all {
            let every: Vec<WaitKey> = queues.keys().cloned().collect();
            for key in &every {
                wake_first(&mut queues, key);
            }
            return;
        }
        for key in keys {
            wake_first(&mut queues, key);
        }
    }
}

fn wake_first(queues: &mut HashMap<WaitKey, VecDeque<Arc<Waiter>>>, key: &WaitKey) {
    let Some(queue) = queues.get(key) else {
        return;
    };
    if let Some(waiter) = queue.iter().find(|w| !w.awake.load(Ordering::Acquire)) {
        waiter.awake.store(true, Ordering::Release);
        waiter.wake.notify_one();
    }
}

/// Runs until the node stops: after every apply, wakes the waiters of the keys it changed.
pub async fn waker(node: Arc<Node>, applied: Arc<Notify>) {
    loop {
        applied.notified().await;
        if node.blocked.is_empty() {
            continue;
        }
        let touched = node.state.write().take_touched();
        node.blocked.wake(&touched.keys, touched.all);
    }
}

/// Serves one blocking command: proposes it whenever one of its keys has data, until a
/// proposal pops something (its reply), the timeout passes (a null array), the client
/// goes away, or CLIENT UNBLOCK ends the wait.
pub async fn serve(
    node: &Node,
    session: &mut Session,
    args: Vec<Bytes>,
    wait: &BlockingWait,
) -> Frame {
    let db = session.db;
    let keys: Vec<WaitKey> = wait
        .keys
        .iter()
        .map(|&pos| (db, args[pos].clone()))
        .collect();
    let waiter = Arc::new(Waiter {
        client_id: session.id(),
        wake: Notify::new(),
        awake: AtomicBool::new(true),
        unblock: Mutex::new(None),
    });
    let deadline = wait
        .timeout_ms
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    node.blocked.register(&waiter, &keys);
    let reply = match caught_up(node, session).await {
        Ok(()) => wait_and_pop(node, session, &waiter, &keys, args, deadline).await,
        Err(e) => Frame::Error(e),
    };
    node.blocked.unregister(&waiter, &keys);
    reply
}

/// Brings this node's state up to what a linearizable read would see (and the connection's
/// own writes), so the first look at the keys misses no write acknowledged before the
/// command arrived, whichever node took it. Later looks follow the node's applies.
async fn caught_up(node: &Node, session: &Session) -> Result<(), ErrorReply> {
    let point = node.barrier.wait().await?;
    node.cluster
        .wait_applied(
            point.index.max(session.last_write_index),
            node.request_timeout(),
        )
        .await
}

async fn wait_and_pop(
    node: &Node,
    session: &mut Session,
    waiter: &Waiter,
    keys: &[WaitKey],
    args: Vec<Bytes>,
    deadline: Option<tokio::time::Instant>,
) -> Frame {
    loop {
        if any_key_exists(node, keys) {
            let op = Op::Command {
                db: session.db,
                args: args.clone(),
            };
            let outcome = node
                .proposer
                .submit(op)
                .await
                .await
                .unwrap_or_else(|_| WriteOutcome {
                    frame: Frame::Error(ErrorReply::from_static("ERR server is shutting down")),
                    log_index: 0,
                });
            session.last_write_index = session.last_write_index.max(outcome.log_index);
            if outcome.frame != Frame::NullArray {
                // An element, or an error (WRONGTYPE, no quorum): either is the reply.
                waiter.awake.store(false, Ordering::Release);
                return outcome.frame;
            }
        }
        waiter.awake.store(false, Ordering::Release);
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = waiter.wake.notified() => {}
            () = sleep => return Frame::NullArray,
            () = session.client.gone() => return Frame::NullArray,
        }
        match *waiter.unblock.lock() {
            Some(Unblock::Timeout) => return Frame::NullArray,
            Some(Unblock::Error) => {
                return Frame::Error(ErrorReply::from_static(
                    "UNBLOCKED client unblocked via CLIENT UNBLOCK",
                ))
            }
            None => {}
        }
        waiter.awake.store(true, Ordering::Release);
    }
}

/// Whether any waited-for key holds a value on this node (a hint: the log decides).
fn any_key_exists(node: &Node, keys: &[WaitKey]) -> bool {
    let state = node.state.read();
    let now_ms = node.read_now_ms(state.clock_ms);
    keys.iter().any(|(db, key)| {
        state
            .databases
            .get(*db)
            .is_some_and(|ks| ks.contains(key, now_ms))
    })
}
