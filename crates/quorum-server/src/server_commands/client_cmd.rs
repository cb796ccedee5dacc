//! CLIENT and its subcommands, with Redis 7.0's arities, filters and error texts. Clients are
//! this node's: CLIENT LIST and KILL see the connections of the node that receives them.
//!
//! Every quorum client is a `normal` client of the `default` user (peers speak gRPC, not RESP,
//! and there is no pub/sub yet), so the `master`, `replica` and `pubsub` types match nobody.
//! Not here: the registry itself (`clients.rs`).

use std::time::Instant;

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{parse_i64, printable, validate_client_name};
use crate::blocking::Unblock;
use crate::clients::{format_client_line, ClientInfo};
use crate::dispatch::Session;
use crate::node::Node;

/// Redis 7's subcommand arities (negative: at least), counting `CLIENT` and the subcommand.
const ARITIES: &[(&str, i64)] = &[
    ("getname", 2),
    ("help", 2),
    ("id", 2),
    ("info", 2),
    ("kill", -3),
    ("list", -2),
    ("no-evict", 3),
    ("no-touch", 3),
    ("pause", -3),
    ("setinfo", 4),
    ("setname", 3),
    ("unblock", -3),
    ("unpause", 2),
];

/// CLIENT <subcommand> ...; `args` follow the word CLIENT.
pub fn client(node: &Node, session: &mut Session, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let Some(sub) = args.first() else {
        return Err(ErrorReply::wrong_arity("client"));
    };
    let sub_lower = String::from_utf8_lossy(sub).to_ascii_lowercase();
    let Some(&(_, arity)) = ARITIES.iter().find(|(name, _)| *name == sub_lower) else {
        return Err(ErrorReply::unknown_subcommand("CLIENT", sub));
    };
    let argc = args.len() as i64 + 1;
    if (arity >= 0 && argc != arity) || argc < -arity {
        return Err(ErrorReply::new(format!(
            "ERR wrong number of arguments for 'client|{sub_lower}' command"
        )));
    }
    // Behind the table's arity, PAUSE and UNBLOCK check their own maximum, with the older
    // error text that names the subcommand as the client wrote it.
    if matches!(sub_lower.as_str(), "pause" | "unblock") && args.len() > 3 {
        return Err(ErrorReply::unknown_subcommand_or_arity("CLIENT", sub));
    }
    let on_off = |word: &[u8]| {
        if word.eq_ignore_ascii_case(b"on") || word.eq_ignore_ascii_case(b"off") {
            Ok(Frame::ok())
        } else {
            Err(ErrorReply::syntax())
        }
    };
    match sub_lower.as_str() {
        "id" => Ok(Frame::Integer(session.id() as i64)),
        "getname" => {
            let name = session.client.info.lock().name.clone();
            Ok(if name.is_empty() {
                Frame::Null
            } else {
                Frame::bulk(name)
            })
        }
        "setname" => {
            validate_client_name(&args[1])?;
            session.client.info.lock().name = String::from_utf8_lossy(&args[1]).into_owned();
            Ok(Frame::ok())
        }
        "setinfo" => set_info(session, &args[1], &args[2]),
        "info" => {
            let line = format_client_line(&session.client.info.lock(), Instant::now());
            Ok(verbatim(format!("{line}\n")))
        }
        "list" => list(node, &args[1..]),
        "kill" => kill(node, session, &args[1..]),
        "unblock" => unblock(node, &args[1..]),
        // Eviction of clients and LRU touches do not exist in quorum: both are no-ops.
        // NO-TOUCH is Redis 7.2's; quorum takes it as it takes 7.2's SETINFO.
        "no-evict" | "no-touch" => on_off(&args[1]),
        "pause" => pause(&args[1..]),
        // Nothing is ever paused.
        "unpause" => Ok(Frame::ok()),
        _ => Ok(help()),
    }
}

fn verbatim(text: String) -> Frame {
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    }
}

fn set_info(session: &Session, attribute: &[u8], value: &[u8]) -> Result<Frame, ErrorReply> {
    let value = String::from_utf8_lossy(value).into_owned();
    if value.chars().any(|c| c == ' ' || c == '\n') {
        return Err(ErrorReply::new(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            printable(attribute).to_ascii_lowercase()
        )));
    }
    let mut info = session.client.info.lock();
    if attribute.eq_ignore_ascii_case(b"lib-name") {
        info.lib_name = value;
    } else if attribute.eq_ignore_ascii_case(b"lib-ver") {
        info.lib_ver = value;
    } else {
        return Err(ErrorReply::new(format!(
            "ERR Unrecognized option '{}'",
            printable(attribute)
        )));
    }
    Ok(Frame::ok())
}

/// A client type as Redis names them; `Ok(true)` for `normal`, the only type quorum has.
fn client_type_is_normal(name: &[u8]) -> Result<bool, ErrorReply> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Ok(true),
        b"master" | b"replica" | b"slave" | b"pubsub" => Ok(false),
        _ => Err(ErrorReply::new(format!(
            "ERR Unknown client type '{}'",
            printable(name)
        ))),
    }
}

/// CLIENT LIST [TYPE type | ID id...]: with IDs, one line per ID given that is connected,
/// in the order given.
fn list(node: &Node, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let clients = node.clients.list();
    let now = Instant::now();
    let lines: Vec<&ClientInfo> = match args {
        [] => clients.iter().collect(),
        [option, kind] if option.eq_ignore_ascii_case(b"type") => {
            if client_type_is_normal(kind)? {
                clients.iter().collect()
            } else {
                Vec::new()
            }
        }
        [option, ids @ ..] if !ids.is_empty() && option.eq_ignore_ascii_case(b"id") => {
            let mut lines = Vec::new();
            for id in ids {
                let id = parse_i64(id)
                    .ok_or_else(|| ErrorReply::from_static("ERR Invalid client ID"))?;
                lines.extend(clients.iter().filter(|c| c.id as i64 == id));
            }
            lines
        }
        _ => return Err(ErrorReply::syntax()),
    };
    let mut text = String::new();
    for info in lines {
        text.push_str(&format_client_line(info, now));
        text.push('\n');
    }
    Ok(verbatim(text))
}

/// The filters of CLIENT KILL's new form; unset ones match every client, and a filter given
/// twice keeps its last value, as in Redis.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    /// `Some(false)`: a type no quorum client has.
    normal: Option<bool>,
    skip_me: bool,
}

/// CLIENT KILL addr:port (replies OK or an error, and may kill the caller) or
/// CLIENT KILL <filter> <value> ... (replies the number killed; SKIPME yes by default).
fn kill(node: &Node, session: &mut Session, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let me = session.id();
    let (filter, old_form) = match args {
        [addr] => (
            KillFilter {
                addr: Some(String::from_utf8_lossy(addr).into_owned()),
                ..KillFilter::default()
            },
            true,
        ),
        _ => (parse_kill_filter(args)?, false),
    };
    let matches = |c: &ClientInfo| {
        filter.id.is_none_or(|id| c.id == id)
            && filter
                .addr
                .as_ref()
                .is_none_or(|a| c.addr.to_string() == *a)
            && filter
                .laddr
                .as_ref()
                .is_none_or(|a| c.laddr.to_string() == *a)
            && filter.normal.unwrap_or(true)
    };
    let mut killed = node.clients.kill(|c| c.id != me && matches(c));
    // The caller is closed after its reply is written, not before (Redis's
    // CLOSE_AFTER_REPLY).
    if !filter.skip_me && matches(&session.client.info.lock()) {
        session.closing = true;
        killed += 1;
    }
    if !old_form {
        return Ok(Frame::Integer(killed as i64));
    }
    match killed {
        0 => Err(ErrorReply::from_static("ERR No such client")),
        _ => Ok(Frame::ok()),
    }
}

/// Parses `<option> <value>` pairs in order, failing on the first bad one as Redis does.
fn parse_kill_filter(args: &[Bytes]) -> Result<KillFilter, ErrorReply> {
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut rest = args;
    while let Some(option) = rest.first() {
        let Some(value) = rest.get(1) else {
            return Err(ErrorReply::syntax());
        };
        match option.to_ascii_lowercase().as_slice() {
            b"id" => {
                let id = parse_i64(value).filter(|&id| id >= 1).ok_or_else(|| {
                    ErrorReply::from_static("ERR client-id should be greater than 0")
                })?;
                filter.id = Some(id as u64);
            }
            b"type" => filter.normal = Some(client_type_is_normal(value)?),
            b"addr" => filter.addr = Some(String::from_utf8_lossy(value).into_owned()),
            b"laddr" => filter.laddr = Some(String::from_utf8_lossy(value).into_owned()),
            // Every client is the default user's; ACL users do not exist yet.
            b"user" if value.as_ref() == b"default" => {}
            b"user" => {
                return Err(ErrorReply::new(format!(
                    "ERR No such user '{}'",
                    printable(value)
                )))
            }
            b"skipme" if value.eq_ignore_ascii_case(b"yes") => filter.skip_me = true,
            b"skipme" if value.eq_ignore_ascii_case(b"no") => filter.skip_me = false,
            _ => return Err(ErrorReply::syntax()),
        }
        rest = &rest[2..];
    }
    Ok(filter)
}

fn unblock(node: &Node, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let how = match args.get(1) {
        None => Unblock::Timeout,
        Some(word) if word.eq_ignore_ascii_case(b"timeout") => Unblock::Timeout,
        Some(word) if word.eq_ignore_ascii_case(b"error") => Unblock::Error,
        Some(_) => {
            return Err(ErrorReply::from_static(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = parse_i64(&args[0]).ok_or_else(ErrorReply::not_integer)?;
    let unblocked = u64::try_from(id).is_ok_and(|id| node.blocked.unblock(id, how));
    Ok(Frame::Integer(i64::from(unblocked)))
}

/// CLIENT PAUSE timeout [WRITE|ALL]: its arguments are checked as Redis checks them, then it
/// is refused: pausing this node's clients would not pause the writes the other nodes take,
/// which is what a client pausing writes counts on.
fn pause(args: &[Bytes]) -> Result<Frame, ErrorReply> {
    if let Some(mode) = args.get(1) {
        if !mode.eq_ignore_ascii_case(b"write") && !mode.eq_ignore_ascii_case(b"all") {
            return Err(ErrorReply::from_static(
                "ERR CLIENT PAUSE mode must be WRITE or ALL",
            ));
        }
    }
    let timeout = parse_i64(&args[0])
        .ok_or_else(|| ErrorReply::from_static("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(ErrorReply::from_static("ERR timeout is negative"));
    }
    Err(ErrorReply::from_static(
        "ERR CLIENT PAUSE is not supported: quorum cannot pause the writes other nodes accept",
    ))
}

fn help() -> Frame {
    Frame::Array(
        [
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Set library name or version of the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ]
        .iter()
        .map(|s| Frame::Simple(s.to_string()))
        .collect(),
    )
}
