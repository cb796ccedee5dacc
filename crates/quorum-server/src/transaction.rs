//! MULTI / EXEC / DISCARD / WATCH / UNWATCH: a connection's transaction state and how an
//! EXEC becomes one log entry.
//!
//! Between MULTI and EXEC, reads and writes are queued (only the command's existence and
//! arity are checked, as Redis does; `-EXECABORT` follows an error there). EXEC proposes the
//! queued keyspace commands with the WATCHed key versions as one [`Op::Exec`], so every
//! replica applies the block atomically, or, when a watched key changed, not at all (a nil
//! reply). Commands the server itself answers (PING, SELECT, CLIENT ...) are queued too and
//! answered here, in their place, once the log has answered the rest.
//!
//! A WATCH records each key's version as this node has applied it, after the connection's
//! own writes. See `quorum_commands::multi` for why a node that is behind can only cause a
//! spurious abort, never a missed one.
//!
//! Not here: applying the block (`quorum_commands::apply_transaction`).

use bytes::Bytes;
use quorum_commands::{Kind, Transaction, TxCommand, WatchedKey};
use quorum_keyspace::KeyVersion;
use quorum_raft::Op;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::dispatch::Session;
use crate::node::Node;

/// A connection's open MULTI block.
#[derive(Debug, Default)]
pub struct MultiState {
    /// What each queued command is, in order.
    queued: Vec<Queued>,
    /// Keyspace commands for the log, in order.
    logged: Vec<TxCommand>,
    /// Argument bytes queued so far (bounded by `--transaction-bytes-max`).
    bytes: usize,
    /// A command failed to queue: EXEC answers `-EXECABORT`.
    aborted: bool,
    /// The database queued commands run in: SELECT inside MULTI moves the later ones.
    db: u32,
}

#[derive(Debug)]
enum Queued {
    /// The next reply of the logged block.
    Logged,
    /// A command this node answers at EXEC time.
    Local(Vec<Bytes>),
}

/// What a request means for a connection's transaction state.
pub enum InMulti {
    /// Not a transaction matter: run the command as usual.
    RunAsUsual,
    /// Answered right away (QUEUED, or an error about MULTI itself).
    Reply(Frame),
    /// EXEC: run the block.
    Exec,
}

/// Routes `args` when the connection is in MULTI, or handles MULTI/DISCARD/UNWATCH/WATCH's
/// error cases; [`InMulti::RunAsUsual`] for everything that runs as usual.
pub fn route(node: &Node, session: &mut Session, args: &[Bytes]) -> InMulti {
    let name = args[0].to_ascii_lowercase();
    let in_multi = session.multi.is_some();
    match (name.as_slice(), in_multi) {
        (b"multi", false) => {
            session.multi = Some(MultiState {
                db: session.db,
                ..MultiState::default()
            });
            InMulti::Reply(Frame::ok())
        }
        (b"multi", true) => InMulti::Reply(error("ERR MULTI calls can not be nested")),
        (b"exec", false) => InMulti::Reply(error("ERR EXEC without MULTI")),
        (b"discard", false) => InMulti::Reply(error("ERR DISCARD without MULTI")),
        (b"exec", true) => InMulti::Exec,
        (b"discard", true) => {
            session.multi = None;
            session.watched.clear();
            InMulti::Reply(Frame::ok())
        }
        (b"watch", true) => InMulti::Reply(error("ERR WATCH inside MULTI is not allowed")),
        (b"unwatch", false) => {
            session.watched.clear();
            InMulti::Reply(Frame::ok())
        }
        // QUIT and RESET act at once, as in Redis.
        (b"quit" | b"reset", _) | (_, false) => InMulti::RunAsUsual,
        (_, true) => InMulti::Reply(queue(node, session, args)),
    }
}

fn error(text: &'static str) -> Frame {
    Frame::Error(ErrorReply::from_static(text))
}

/// Queues one command: `+QUEUED`, or the error that makes EXEC abort.
fn queue(node: &Node, session: &mut Session, args: &[Bytes]) -> Frame {
    let multi = session.multi.as_mut().expect("queue is called in MULTI");
    let spec = match quorum_commands::validate(args) {
        Ok(spec) => spec,
        Err(e) => {
            multi.aborted = true;
            return Frame::Error(e);
        }
    };
    let bytes: usize = args.iter().map(Bytes::len).sum();
    if multi.bytes + bytes > node.config.limits.transaction_bytes_max {
        multi.aborted = true;
        return Frame::Error(ErrorReply::new(format!(
            "ERR transaction too large: more than {} argument bytes queued (--transaction-bytes-max)",
            node.config.limits.transaction_bytes_max
        )));
    }
    // Queueing grows memory: over `--maxmemory`, Redis refuses every command but EXEC and
    // DISCARD in MULTI. Judged on this node's state; the log decides again at EXEC.
    let limit = node.config.maxmemory_bytes;
    if limit > 0 && node.state.read().databases.used_memory_bytes() as u64 > limit {
        multi.aborted = true;
        return Frame::Error(ErrorReply::from_static(
            "OOM command not allowed when used memory > 'maxmemory'.",
        ));
    }
    multi.bytes += bytes;
    match spec.kind() {
        Kind::Read | Kind::Write => {
            multi.logged.push(TxCommand {
                db: multi.db,
                args: args.to_vec(),
            });
            multi.queued.push(Queued::Logged);
        }
        Kind::Server => {
            if spec.name == "select" {
                if let Ok(db) = crate::server_commands::database_index(node, &args[1]) {
                    multi.db = db;
                }
            }
            multi.queued.push(Queued::Local(args.to_vec()));
        }
    }
    Frame::Simple("QUEUED".into())
}

/// Records the version of each key as this node has it (after the connection's own
/// writes, which the caller waited for).
pub fn watch(node: &Node, session: &mut Session, keys: &[Bytes]) -> Frame {
    let state = node.state.read();
    let now_ms = node.read_now_ms(state.clock_ms);
    let ks = state.databases.get(session.db);
    for key in keys {
        let version = ks.map_or(KeyVersion::Absent(0), |ks| ks.watch_version(key, now_ms));
        session.watched.push(WatchedKey {
            db: session.db,
            key: key.clone(),
            version,
        });
    }
    Frame::ok()
}

/// Runs EXEC: the queued block through the log (one entry), then the locally answered
/// commands in their places. The connection leaves MULTI and forgets its WATCHes.
pub async fn exec(node: &Node, session: &mut Session) -> Frame {
    let multi = session.multi.take().expect("exec is called in MULTI");
    let watched = std::mem::take(&mut session.watched);
    if multi.aborted {
        return error("EXECABORT Transaction discarded because of previous errors.");
    }
    let tx = Transaction {
        watched,
        commands: multi.logged,
    };
    let outcome = node
        .proposer
        .submit(Op::Exec(tx))
        .await
        .await
        .unwrap_or_else(|_| crate::proposer::WriteOutcome {
            frame: error("ERR server is shutting down"),
            log_index: 0,
        });
    session.last_write_index = session.last_write_index.max(outcome.log_index);
    let mut logged = match outcome.frame {
        Frame::Array(replies) => replies.into_iter(),
        // A nil (a WATCHed key changed) or an error (no quorum): the block did not run here.
        other => return other,
    };
    let mut replies = Vec::with_capacity(multi.queued.len());
    for queued in multi.queued {
        let reply = match queued {
            Queued::Logged => logged.next().unwrap_or(Frame::Null),
            Queued::Local(args) => {
                Box::pin(crate::server_commands::execute(node, session, &args)).await
            }
        };
        replies.push(reply);
    }
    Frame::Array(replies)
}
