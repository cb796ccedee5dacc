//! `COMMAND` and its subcommands (COUNT, INFO, DOCS, GETKEYS, LIST, HELP), answered from the
//! command table in the shapes Redis 7.0 uses, so redis-cli and client libraries that read
//! the table work.
//!
//! Not here: the table's contents (`table.rs`). Known gaps: key specs and subcommand rows
//! are empty arrays; DOCS gives summary, since and group only; GETKEYSANDFLAGS is absent.

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::is_keyword;
use crate::table::{lookup, table, CommandSpec};

const HELP_LINES: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Answers `COMMAND ...`; `args[0]` is `COMMAND` itself.
pub fn command_introspection(args: &[Bytes]) -> Frame {
    reply(args).unwrap_or_else(Frame::from)
}

fn reply(args: &[Bytes]) -> Result<Frame, ErrorReply> {
    let Some(sub) = args.get(1) else {
        return Ok(Frame::Array(table().iter().map(info).collect()));
    };
    // (name, Redis arity of the subcommand including COMMAND itself)
    let subcommands: [(&str, i32); 6] = [
        ("count", 2),
        ("info", -2),
        ("docs", -2),
        ("getkeys", -4),
        ("list", -2),
        ("help", 2),
    ];
    let Some(&(name, arity)) = subcommands.iter().find(|(n, _)| is_keyword(sub, n)) else {
        return Err(ErrorReply::unknown_subcommand("COMMAND", sub));
    };
    let argc = args.len() as i64;
    let arity = i64::from(arity);
    if (arity > 0 && argc != arity) || argc < -arity {
        return Err(ErrorReply::wrong_arity(&format!("command|{name}")));
    }
    let names = &args[2..];
    match name {
        "count" => Ok(Frame::Integer(table().len() as i64)),
        "info" if names.is_empty() => Ok(Frame::Array(table().iter().map(info).collect())),
        "info" => Ok(Frame::Array(
            names
                .iter()
                .map(|n| lookup(n).map_or(Frame::Null, info))
                .collect(),
        )),
        "docs" if names.is_empty() => Ok(Frame::Map(table().iter().map(docs).collect())),
        "docs" => Ok(Frame::Map(
            names.iter().filter_map(|n| lookup(n)).map(docs).collect(),
        )),
        "getkeys" => getkeys(names),
        "list" => list(names),
        _ => Ok(Frame::Array(
            HELP_LINES
                .iter()
                .map(|l| Frame::Simple((*l).to_string()))
                .collect(),
        )),
    }
}

fn strings(items: &[&str]) -> Frame {
    Frame::Set(
        items
            .iter()
            .map(|s| Frame::Simple((*s).to_string()))
            .collect(),
    )
}

/// One command's `COMMAND INFO` entry: name, arity, flags, first key, last key, step, ACL
/// categories, tips, key specs, subcommands.
fn info(spec: &CommandSpec) -> Frame {
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(spec.arity.into()),
        strings(spec.flags),
        Frame::Integer(spec.keys.first.into()),
        Frame::Integer(spec.keys.last.into()),
        Frame::Integer(spec.keys.step.into()),
        strings(spec.acl_categories),
        Frame::Set(spec.tips.iter().map(|t| Frame::bulk(*t)).collect()),
        Frame::Array(Vec::new()),
        Frame::Array(Vec::new()),
    ])
}

/// One command's `COMMAND DOCS` entry.
fn docs(spec: &CommandSpec) -> (Frame, Frame) {
    let fields = vec![
        (Frame::bulk("summary"), Frame::bulk(spec.summary)),
        (Frame::bulk("since"), Frame::bulk(spec.since)),
        (Frame::bulk("group"), Frame::bulk(spec.group)),
    ];
    (Frame::bulk(spec.name), Frame::Map(fields))
}

fn getkeys(full: &[Bytes]) -> Result<Frame, ErrorReply> {
    let spec = lookup(&full[0]).ok_or(ErrorReply::from_static("ERR Invalid command specified"))?;
    if !spec.arity_ok(full.len()) {
        return Err(ErrorReply::from_static(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys: Vec<Frame> = spec
        .key_positions(full)
        .map(|pos| Frame::Bulk(full[pos].clone()))
        .collect();
    if keys.is_empty() {
        return Err(ErrorReply::from_static(
            "ERR The command has no key arguments",
        ));
    }
    Ok(Frame::Array(keys))
}

fn list(filter: &[Bytes]) -> Result<Frame, ErrorReply> {
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match filter {
        [] => Box::new(|_| true),
        [by, kind, value] if is_keyword(by, "filterby") => {
            let value = value.clone();
            if is_keyword(kind, "pattern") {
                let pattern = quorum_keyspace::GlobPattern::new(&value);
                Box::new(move |s| pattern.matches(s.name.as_bytes()))
            } else if is_keyword(kind, "aclcat") {
                Box::new(move |s| {
                    s.acl_categories
                        .iter()
                        .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(&value))
                })
            } else if is_keyword(kind, "module") {
                // No modules exist, so no command belongs to one.
                Box::new(|_| false)
            } else {
                return Err(ErrorReply::syntax());
            }
        }
        _ => return Err(ErrorReply::syntax()),
    };
    Ok(Frame::bulk_array(
        table().iter().filter(|s| keep(s)).map(|s| s.name),
    ))
}
