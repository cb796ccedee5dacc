//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP, with Redis 7.0's replies and error texts.
//! CONFIG acts on the node that receives it (Redis's CONFIG is per server too); nothing here
//! enters the Raft log. Not here: the parameter table (`config_params.rs`).

use bytes::Bytes;
use quorum_keyspace::GlobPattern;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::config_params::{self, Access, Entry, PARAMS};
use super::printable;
use crate::node::Node;

/// CONFIG <subcommand> ...; `args` follow the word CONFIG.
pub fn config(node: &Node, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let Some(sub) = args.first() else {
        return Err(ErrorReply::wrong_arity("config"));
    };
    let sub_lower = sub.to_ascii_lowercase();
    // Redis 7's subcommand arities: get -3, set -4, the others 2.
    let arity_ok = match sub_lower.as_slice() {
        b"get" => args.len() >= 2,
        b"set" => args.len() >= 3,
        b"resetstat" | b"rewrite" | b"help" => args.len() == 1,
        _ => return Err(ErrorReply::unknown_subcommand("CONFIG", sub)),
    };
    if !arity_ok {
        return Err(ErrorReply::new(format!(
            "ERR wrong number of arguments for 'config|{}' command",
            String::from_utf8_lossy(&sub_lower)
        )));
    }
    match sub_lower.as_slice() {
        b"get" => Ok(get(node, &args[1..])),
        b"set" => set(node, &args[1..]),
        b"resetstat" => {
            node.stats.reset(&node.clients);
            Ok(Frame::ok())
        }
        b"rewrite" => Err(ErrorReply::from_static(
            "ERR The server is running without a config file",
        )),
        _ => Ok(help()),
    }
}

/// CONFIG GET pattern...: a name without glob characters is looked up and reported as the
/// client wrote it; a pattern matches every name and alias; each parameter is reported once
/// per name, as Redis 7.0 does.
fn get(node: &Node, patterns: &[Bytes]) -> Frame {
    let mut matches: Vec<(String, Entry)> = Vec::new();
    let seen = |matches: &[(String, Entry)], name: &[u8]| {
        matches
            .iter()
            .any(|(m, _)| m.as_bytes().eq_ignore_ascii_case(name))
    };
    for pattern in patterns {
        if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            if seen(&matches, pattern) {
                continue;
            }
            if let Some(entry) = config_params::lookup(pattern) {
                matches.push((String::from_utf8_lossy(pattern).into_owned(), entry));
            }
            continue;
        }
        let glob = GlobPattern::new(&pattern.to_ascii_lowercase());
        for entry in config_params::entries() {
            if !seen(&matches, entry.name.as_bytes()) && glob.matches(entry.name.as_bytes()) {
                matches.push((entry.name.to_string(), entry));
            }
        }
    }
    Frame::Map(
        matches
            .into_iter()
            .map(|(name, entry)| {
                let value = node.stats.settings.get(node, entry.param);
                (Frame::bulk(name), Frame::bulk(value))
            })
            .collect(),
    )
}

/// CONFIG SET name value [name value ...]: every pair is checked before any is applied, with
/// Redis's order of errors (unknown name, immutable or protected, duplicate, then each value).
fn set(node: &Node, args: &[Bytes]) -> Result<Frame, ErrorReply> {
    if args.len() % 2 == 1 {
        return Err(ErrorReply::syntax());
    }
    let mut entries: Vec<Entry> = Vec::new();
    for pair in args.chunks(2) {
        let Some(entry) = config_params::lookup(&pair[0]) else {
            return Err(ErrorReply::new(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                printable(&pair[0])
            )));
        };
        let refusal = match PARAMS[entry.param].access {
            Access::Immutable(_) => Some("can't set immutable config"),
            Access::Protected(_) => Some("can't set protected config"),
            _ if entries.contains(&entry) => Some("duplicate parameter"),
            _ => None,
        };
        if let Some(reason) = refusal {
            return Err(failed(&printable(&pair[0]), reason));
        }
        entries.push(entry);
    }
    let mut changes: Vec<(usize, String)> = Vec::new();
    for (entry, pair) in entries.iter().zip(args.chunks(2)) {
        let param = &PARAMS[entry.param];
        let value = config_params::normalize(param.syntax, &pair[1])
            .map_err(|reason| failed(entry.name, &reason))?;
        if let Access::Fixed(current, reason) = param.access {
            if value != current(node) {
                return Err(failed(entry.name, reason));
            }
            continue;
        }
        changes.push((entry.param, value));
    }
    node.stats.settings.set(&changes);
    for (param, value) in &changes {
        if PARAMS[*param].name == "latency-tracking" {
            node.stats
                .commands
                .latency_tracking
                .store(value == "yes", std::sync::atomic::Ordering::Relaxed);
        }
    }
    Ok(Frame::ok())
}

fn failed(name: &str, reason: &str) -> ErrorReply {
    ErrorReply::new(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    ))
}

fn help() -> Frame {
    Frame::Array(
        [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ]
        .iter()
        .map(|s| Frame::Simple(s.to_string()))
        .collect(),
    )
}
