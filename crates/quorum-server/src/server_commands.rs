//! Connection and server commands that run on the node that received them and never enter the
//! Raft log: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, READONLY, READWRITE, CLIENT, COMMAND,
//! CONFIG, INFO, TIME, WAIT. CLIENT and CONFIG have their own files (`server_commands/`); INFO's
//! text is `info.rs`'s.

mod client_cmd;
mod config_cmd;
mod config_params;

use std::time::Duration;

use bytes::Bytes;
use quorum_resp::{Frame, Protocol};
use quorum_types::{ErrorReply, REDIS_COMPAT_VERSION};

pub use config_params::Settings;

use crate::dispatch::Session;
use crate::info;
use crate::node::Node;

/// Executes a command whose table entry has `Kind::Server`. Arity was checked by the table.
pub async fn execute(node: &Node, session: &mut Session, args: &[Bytes]) -> Frame {
    let name = args[0].to_ascii_lowercase();
    let result = match name.as_slice() {
        b"ping" => match args {
            [_] => Ok(Frame::Simple("PONG".into())),
            [_, message] => Ok(Frame::Bulk(message.clone())),
            _ => Err(ErrorReply::wrong_arity("ping")),
        },
        b"echo" => Ok(Frame::Bulk(args[1].clone())),
        b"hello" => hello(node, session, &args[1..]),
        b"auth" => auth(&args[1..]),
        b"select" => database_index(node, &args[1]).map(|db| {
            session.db = db;
            session.client.info.lock().db = db;
            Frame::ok()
        }),
        b"quit" => {
            session.closing = true;
            Ok(Frame::ok())
        }
        b"reset" => {
            reset(session);
            Ok(Frame::Simple("RESET".into()))
        }
        b"readonly" => {
            set_readonly(session, true);
            Ok(Frame::ok())
        }
        b"readwrite" => {
            set_readonly(session, false);
            Ok(Frame::ok())
        }
        b"client" => client_cmd::client(node, session, &args[1..]),
        b"command" => Ok(quorum_commands::command_introspection(args)),
        b"config" => config_cmd::config(node, &args[1..]),
        b"info" => Ok(Frame::Verbatim {
            format: *b"txt",
            text: Bytes::from(info::render(node, &args[1..]).await),
        }),
        b"time" => {
            let now_ms = node.seams.clock.now_unix_ms();
            let micros = (now_ms % 1000) * 1000;
            Ok(Frame::bulk_array([
                Bytes::from((now_ms / 1000).to_string()),
                Bytes::from(micros.to_string()),
            ]))
        }
        b"wait" => wait(node, session, &args[1..]).await,
        _ => Err(ErrorReply::unknown_command(
            &args[0],
            &args[1..].iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        )),
    };
    result.unwrap_or_else(Frame::Error)
}

fn set_readonly(session: &mut Session, readonly: bool) {
    session.readonly = readonly;
    session.client.info.lock().readonly = readonly;
}

fn reset(session: &mut Session) {
    session.protocol = Protocol::Resp2;
    set_readonly(session, false);
    session.db = 0;
    session.multi = None;
    session.watched.clear();
    let mut info = session.client.info.lock();
    info.name.clear();
    info.resp = 2;
    info.db = 0;
}

/// Client bytes as they may appear in an error line: CR and LF become spaces (Redis's
/// `addReplyErrorFormat` does the same, so a reply never breaks the protocol).
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ")
}

fn parse_i64(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

fn hello(node: &Node, session: &mut Session, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let mut protocol = session.protocol;
    let mut name = None;
    if let Some(version) = args.first() {
        protocol = match parse_i64(version) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => {
                return Err(ErrorReply::from_static(
                    "NOPROTO unsupported protocol version",
                ))
            }
            None => {
                return Err(ErrorReply::from_static(
                    "ERR Protocol version is not an integer or out of range",
                ))
            }
        };
        let mut rest = &args[1..];
        while let Some(option) = rest.first() {
            if option.eq_ignore_ascii_case(b"AUTH") && rest.len() >= 3 {
                auth(&rest[1..3])?;
                rest = &rest[3..];
            } else if option.eq_ignore_ascii_case(b"SETNAME") && rest.len() >= 2 {
                validate_client_name(&rest[1])?;
                name = Some(String::from_utf8_lossy(&rest[1]).into_owned());
                rest = &rest[2..];
            } else {
                return Err(ErrorReply::new(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(option)
                )));
            }
        }
    }
    session.protocol = protocol;
    let id = {
        let mut info = session.client.info.lock();
        info.resp = if protocol == Protocol::Resp3 { 3 } else { 2 };
        if let Some(name) = name {
            info.name = name;
        }
        info.id
    };
    let role = if node.cluster.is_leader() {
        "master"
    } else {
        "replica"
    };
    Ok(Frame::Map(vec![
        (Frame::bulk("server"), Frame::bulk("redis")),
        (Frame::bulk("version"), Frame::bulk(REDIS_COMPAT_VERSION)),
        (
            Frame::bulk("proto"),
            Frame::Integer(if protocol == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (Frame::bulk("id"), Frame::Integer(id as i64)),
        (Frame::bulk("mode"), Frame::bulk("standalone")),
        (Frame::bulk("role"), Frame::bulk(role)),
        (Frame::bulk("modules"), Frame::Array(Vec::new())),
    ]))
}

/// AUTH [username] password. quorum has no users or passwords yet (that is the security
/// milestone); it answers exactly as Redis does with the default `nopass` user.
fn auth(args: &[Bytes]) -> Result<Frame, ErrorReply> {
    match args {
        [_password] => Err(ErrorReply::from_static(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        )),
        [user, _password] if user.as_ref() == b"default" => Ok(Frame::ok()),
        [_, _] => Err(ErrorReply::from_static(
            "WRONGPASS invalid username-password pair or user is disabled.",
        )),
        _ => Err(ErrorReply::syntax()),
    }
}

/// A database number a client names (SELECT), checked against `--databases` with Redis's
/// texts.
pub(crate) fn database_index(node: &Node, db: &[u8]) -> Result<u32, ErrorReply> {
    let db = parse_i64(db).ok_or_else(ErrorReply::not_integer)?;
    u32::try_from(db)
        .ok()
        .filter(|&db| db < node.config.databases)
        .ok_or_else(|| ErrorReply::from_static("ERR DB index is out of range"))
}

fn validate_client_name(name: &[u8]) -> Result<(), ErrorReply> {
    if name.iter().any(|&b| b <= b' ' || b > b'~') {
        return Err(ErrorReply::from_static(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// WAIT numreplicas timeout: how many other nodes hold this connection's last write.
///
/// On the leader this counts followers whose log matches up to the write. On a follower the
/// write was acknowledged only after a majority stored it, so at least `majority - 1` other
/// nodes hold it; that lower bound is what a follower reports.
async fn wait(node: &Node, session: &Session, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let wanted = parse_i64(&args[0]).ok_or_else(ErrorReply::not_integer)?;
    let timeout_ms = parse_i64(&args[1]).ok_or_else(ErrorReply::not_integer)?;
    if timeout_ms < 0 {
        return Err(ErrorReply::from_static("ERR timeout is negative"));
    }
    // WAIT 0 blocks forever in Redis; quorum bounds every wait by the request timeout.
    let limit = if timeout_ms == 0 {
        node.request_timeout()
    } else {
        Duration::from_millis(timeout_ms as u64).min(node.request_timeout())
    };
    let deadline = tokio::time::Instant::now() + limit;
    let target = session.last_write_index;
    loop {
        let held = replicas_holding(node, target);
        if held >= wanted || tokio::time::Instant::now() >= deadline {
            return Ok(Frame::Integer(held));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn replicas_holding(node: &Node, index: u64) -> i64 {
    let metrics = node.cluster.metrics();
    if let Some(replication) = &metrics.replication {
        return replication
            .iter()
            .filter(|(id, matched)| {
                **id != node.cluster.id && matched.map_or(0, |m| m.index) >= index
            })
            .count() as i64;
    }
    let voters = metrics.membership_config.membership().voter_ids().count() as i64;
    voters / 2
}
