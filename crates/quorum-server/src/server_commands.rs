//! Connection and server commands that run on the node that received them and never enter the
//! Raft log: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, READONLY, READWRITE, CLIENT, COMMAND,
//! CONFIG, INFO, TIME, WAIT.

use std::time::{Duration, Instant};

use bytes::Bytes;
use quorum_keyspace::GlobPattern;
use quorum_resp::{Frame, Protocol};
use quorum_types::{ErrorReply, REDIS_COMPAT_VERSION};

use crate::blocking::Unblock;
use crate::clients::format_client_line;
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
        b"client" => client(node, session, &args[1..]),
        b"command" => Ok(quorum_commands::command_introspection(args)),
        b"config" => config(node, &args[1..]),
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

fn client(node: &Node, session: &mut Session, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let Some(sub) = args.first() else {
        return Err(ErrorReply::wrong_arity("client"));
    };
    let sub_lower = sub.to_ascii_lowercase();
    let arity_error = || {
        ErrorReply::new(format!(
            "ERR wrong number of arguments for 'client|{}' command",
            String::from_utf8_lossy(&sub_lower)
        ))
    };
    match (sub_lower.as_slice(), args.len()) {
        (b"id", 1) => Ok(Frame::Integer(session.id() as i64)),
        (b"getname", 1) => {
            let name = session.client.info.lock().name.clone();
            Ok(if name.is_empty() {
                Frame::Null
            } else {
                Frame::bulk(name)
            })
        }
        (b"setname", 2) => {
            validate_client_name(&args[1])?;
            session.client.info.lock().name = String::from_utf8_lossy(&args[1]).into_owned();
            Ok(Frame::ok())
        }
        (b"setinfo", 3) => {
            let value = String::from_utf8_lossy(&args[2]).into_owned();
            if value.chars().any(|c| c == ' ' || c == '\n') {
                return Err(ErrorReply::new(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    String::from_utf8_lossy(&args[1]).to_ascii_lowercase()
                )));
            }
            let mut info = session.client.info.lock();
            if args[1].eq_ignore_ascii_case(b"lib-name") {
                info.lib_name = value;
            } else if args[1].eq_ignore_ascii_case(b"lib-ver") {
                info.lib_ver = value;
            } else {
                return Err(ErrorReply::new(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(&args[1])
                )));
            }
            Ok(Frame::ok())
        }
        (b"info", 1) => {
            let line = format_client_line(&session.client.info.lock(), Instant::now());
            Ok(Frame::Verbatim {
                format: *b"txt",
                text: Bytes::from(format!("{line}\n")),
            })
        }
        (b"list", _) => {
            let now = Instant::now();
            let mut text = String::new();
            let wanted_ids: Option<Vec<u64>> = match args.get(1) {
                Some(opt) if opt.eq_ignore_ascii_case(b"ID") => Some(
                    args[2..]
                        .iter()
                        .map(|a| {
                            parse_i64(a)
                                .map(|n| n as u64)
                                .ok_or_else(ErrorReply::not_integer)
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(opt) if opt.eq_ignore_ascii_case(b"TYPE") => None,
                Some(_) => return Err(ErrorReply::syntax()),
                None => None,
            };
            for info in node.clients.list() {
                if wanted_ids
                    .as_ref()
                    .is_some_and(|ids| !ids.contains(&info.id))
                {
                    continue;
                }
                text.push_str(&format_client_line(&info, now));
                text.push('\n');
            }
            Ok(Frame::Verbatim {
                format: *b"txt",
                text: Bytes::from(text),
            })
        }
        (b"unblock", 2 | 3) => {
            let id = parse_i64(&args[1]).ok_or_else(ErrorReply::not_integer)?;
            let how = match args.get(2) {
                None => Unblock::Timeout,
                Some(word) if word.eq_ignore_ascii_case(b"timeout") => Unblock::Timeout,
                Some(word) if word.eq_ignore_ascii_case(b"error") => Unblock::Error,
                Some(_) => {
                    return Err(ErrorReply::from_static(
                        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                    ))
                }
            };
            let unblocked = u64::try_from(id).is_ok_and(|id| node.blocked.unblock(id, how));
            Ok(Frame::Integer(i64::from(unblocked)))
        }
        (b"kill", 2) => {
            // Old form: CLIENT KILL addr:port
            let addr = String::from_utf8_lossy(&args[1]).into_owned();
            match node.clients.kill(|c| c.addr.to_string() == addr) {
                0 => Err(ErrorReply::from_static("ERR No such client")),
                _ => Ok(Frame::ok()),
            }
        }
        (b"kill", n) if n >= 3 && n % 2 == 1 => {
            let mut filters: Vec<(Vec<u8>, String)> = Vec::new();
            for pair in args[1..].chunks(2) {
                filters.push((
                    pair[0].to_ascii_lowercase(),
                    String::from_utf8_lossy(&pair[1]).into_owned(),
                ));
            }
            for (key, value) in &filters {
                match key.as_slice() {
                    b"id" if parse_i64(value.as_bytes()).is_none() => {
                        return Err(ErrorReply::from_static(
                            "ERR client-id should be greater than 0",
                        ))
                    }
                    b"id" | b"addr" | b"laddr" | b"skipme" | b"type" | b"user" => {}
                    _ => return Err(ErrorReply::syntax()),
                }
            }
            let me = session.id();
            let skip_me = !filters
                .iter()
                .any(|(k, v)| k == b"skipme" && v.eq_ignore_ascii_case("no"));
            let killed = node.clients.kill(|c| {
                if skip_me && c.id == me {
                    return false;
                }
                filters.iter().all(|(k, v)| match k.as_slice() {
                    b"id" => c.id.to_string() == *v,
                    b"addr" => c.addr.to_string() == *v,
                    b"laddr" => c.laddr.to_string() == *v,
                    b"type" => v.eq_ignore_ascii_case("normal"),
                    b"user" => v == "default",
                    _ => true,
                })
            });
            Ok(Frame::Integer(killed as i64))
        }
        (b"no-evict" | b"no-touch", 2) => Ok(Frame::ok()),
        (b"help", 1) => Ok(Frame::Array(
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "INFO",
                "LIST [TYPE normal] [ID id ...]",
                "KILL <ip:port> | KILL <option> <value> [...]",
            ]
            .iter()
            .map(|s| Frame::Simple(s.to_string()))
            .collect(),
        )),
        (
            b"id" | b"getname" | b"setname" | b"setinfo" | b"info" | b"kill" | b"no-evict"
            | b"no-touch" | b"help",
            _,
        ) => Err(arity_error()),
        _ => Err(ErrorReply::unknown_subcommand("CLIENT", sub)),
    }
}

fn config(node: &Node, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let Some(sub) = args.first() else {
        return Err(ErrorReply::wrong_arity("config"));
    };
    let sub_lower = sub.to_ascii_lowercase();
    match sub_lower.as_slice() {
        b"get" if args.len() >= 2 => {
            let values = config_values(node);
            let mut pairs = Vec::new();
            for (name, value) in &values {
                let wanted = args[1..]
                    .iter()
                    .any(|p| GlobPattern::new(&p.to_ascii_lowercase()).matches(name.as_bytes()));
                if wanted {
                    pairs.push((Frame::bulk(name.to_string()), Frame::bulk(value.clone())));
                }
            }
            Ok(Frame::Map(pairs))
        }
        b"set" if args.len() >= 3 => Err(ErrorReply::new(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(&args[1])
        ))),
        b"resetstat" if args.len() == 1 => Ok(Frame::ok()),
        b"rewrite" if args.len() == 1 => Err(ErrorReply::from_static(
            "ERR The server is running without a config file",
        )),
        b"get" | b"set" | b"resetstat" | b"rewrite" => Err(ErrorReply::new(format!(
            "ERR wrong number of arguments for 'config|{}' command",
            String::from_utf8_lossy(&sub_lower)
        ))),
        _ => Err(ErrorReply::unknown_subcommand("CONFIG", sub)),
    }
}

/// The configuration parameters CONFIG GET reports (what clients and redis-benchmark ask).
fn config_values(node: &Node) -> Vec<(&'static str, String)> {
    let limits = &node.config.limits;
    vec![
        ("appendfsync", "always".into()),
        ("appendonly", "yes".into()),
        ("bind", node.config.listen.ip().to_string()),
        (
            "client-query-buffer-limit",
            limits.query_buffer_bytes_max.to_string(),
        ),
        ("cluster-enabled", "no".into()),
        ("databases", node.config.databases.to_string()),
        ("dir", node.config.data_dir.display().to_string()),
        ("maxclients", limits.clients_max.to_string()),
        ("maxmemory", node.config.maxmemory_bytes.to_string()),
        ("maxmemory-policy", "noeviction".into()),
        ("port", node.config.listen.port().to_string()),
        ("proto-max-bulk-len", limits.bulk_bytes_max.to_string()),
        ("save", String::new()),
        ("tcp-keepalive", "300".into()),
        ("timeout", "0".into()),
    ]
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
