//! The command table: one [`CommandSpec`] row per command quorum knows, with Redis 7.0's
//! arity, flags, key positions, ACL categories, tips and docs, and the function(s) that run
//! it. Each group module owns its rows (`string::COMMANDS`, `hash::COMMANDS`, ...); this file
//! joins them into one table and looks names up.
//!
//! A row names its handler, so a command without one does not compile, and a row names how
//! to find its keys ([`Keys`]), including the `numkeys` forms, so expiry-on-access,
//! `COMMAND GETKEYS`, WATCH and slot routing all see the same keys.
//!
//! The rows mirror `COMMAND INFO` / `COMMAND DOCS` of Redis 7.0.15, so clients that read
//! the table (redis-py, cluster-aware clients, redis-cli hints) see what they expect.
//!
//! Not here: what a command does (the group modules) or how COMMAND prints the table
//! (`introspection.rs`).

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use quorum_types::ErrorReply;

use crate::parse::string_to_i64;
use crate::{DatabasesCx, ReadCx, Reply, WriteCx};

/// Who executes a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads the keyspace without changing it: [`crate::execute_read`].
    Read,
    /// Changes the keyspace and goes through the Raft log: [`crate::apply_write`].
    Write,
    /// Handled by the server or connection layer (PING, HELLO, CLIENT, ...), not here.
    Server,
}

/// Checks a write's arguments on the node that received it, before it enters the log.
pub type PrecheckFn = fn(&[Bytes]) -> Result<(), ErrorReply>;
/// Applies a logged write on a replica.
pub type ApplyFn = fn(&mut WriteCx<'_>, &[Bytes]) -> Reply;
/// Answers a read.
pub type ReadFn = fn(&ReadCx<'_>, &[Bytes]) -> Reply;
/// Applies a logged write that spans databases (FLUSHALL, SWAPDB, MOVE, COPY).
pub type ApplyAcrossFn = fn(&mut DatabasesCx<'_>, &[Bytes]) -> Reply;
/// Finds the key positions of a command whose keys move (`numkeys` forms, `STORE` options).
pub type KeysFn = fn(&[Bytes]) -> Vec<usize>;

/// What runs a command.
#[derive(Clone, Copy)]
pub enum Handler {
    /// A read: answered from local state after the connection's read barrier.
    Read(ReadFn),
    /// A write: its precheck runs where the client sent it (a syntax error never enters the
    /// log; the apply function parses with the same code and refuses the same way), its
    /// apply runs on every replica.
    Write(PrecheckFn, ApplyFn),
    /// A write that sees every database: like [`Handler::Write`] otherwise.
    WriteAcross(PrecheckFn, ApplyAcrossFn),
    /// Run by the server layer (connection state, cluster state, configuration).
    Server,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handler::Read(_) => "Read",
            Handler::Write(..) => "Write",
            Handler::WriteAcross(..) => "WriteAcross",
            Handler::Server => "Server",
        })
    }
}

/// A write with nothing to check beyond its arity.
pub(crate) fn no_precheck(_args: &[Bytes]) -> Result<(), ErrorReply> {
    Ok(())
}

/// Where a command's keys are: Redis's legacy (first, last, step) triple, which `COMMAND
/// INFO` reports, and for commands flagged `movablekeys` the function that finds them.
#[derive(Debug, Clone, Copy)]
pub struct Keys {
    /// Index of the first key argument (0 when the command takes no keys).
    pub first: i32,
    /// Index of the last key argument; negative counts from the end (-1 = last argument).
    pub last: i32,
    /// Distance between key arguments (2 for MSET's key value pairs).
    pub step: i32,
    /// Finds the keys when they move with the arguments; overrides the triple.
    pub movable: Option<KeysFn>,
}

impl Keys {
    /// No keys.
    pub const NONE: Keys = Keys::range(0, 0, 0);

    /// Keys at first..=last by step.
    pub const fn range(first: i32, last: i32, step: i32) -> Keys {
        Keys {
            first,
            last,
            step,
            movable: None,
        }
    }

    /// Keys found by `find`; the triple is what Redis reports in `COMMAND INFO`.
    pub const fn movable(first: i32, last: i32, step: i32, find: KeysFn) -> Keys {
        Keys {
            first,
            last,
            step,
            movable: Some(find),
        }
    }
}

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lowercase command name.
    pub name: &'static str,
    /// Redis's arity: the exact argument count including the name, or, when negative, the
    /// minimum count.
    pub arity: i32,
    /// Redis `COMMAND` flags such as `write`, `readonly`, `fast`, `denyoom`.
    pub flags: &'static [&'static str],
    /// Where the keys are.
    pub keys: Keys,
    /// What runs it.
    pub handler: Handler,
    /// Redis's command group (`string`, `generic`, `server`, `connection`, ...).
    pub group: &'static str,
    /// ACL categories as `COMMAND INFO` lists them (`@read`, `@string`, `@fast`, ...).
    pub acl_categories: &'static [&'static str],
    /// Command tips for cluster clients (`request_policy:all_shards`, ...).
    pub tips: &'static [&'static str],
    /// The Redis version that introduced the command.
    pub since: &'static str,
    /// One-line summary, as `COMMAND DOCS` gives it.
    pub summary: &'static str,
}

/// Key positions: a stepped range, or the list a movable-keys function found.
pub enum KeyPositions {
    /// Fixed positions.
    Range(std::iter::StepBy<std::ops::Range<usize>>),
    /// Positions found by a [`KeysFn`].
    List(std::vec::IntoIter<usize>),
}

impl Iterator for KeyPositions {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Range(r) => r.next(),
            KeyPositions::List(l) => l.next(),
        }
    }
}

impl CommandSpec {
    /// Who executes it.
    pub fn kind(&self) -> Kind {
        match self.handler {
            Handler::Read(_) => Kind::Read,
            Handler::Write(..) | Handler::WriteAcross(..) => Kind::Write,
            Handler::Server => Kind::Server,
        }
    }

    /// Whether `argc` (arguments including the name) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Positions of the key arguments in `args` (which include the name). Positions past
    /// the end are left out, so this never panics on a short or malformed argument list.
    pub fn key_positions(&self, args: &[Bytes]) -> KeyPositions {
        if let Some(find) = self.keys.movable {
            let mut found = find(args);
            found.retain(|&pos| pos < args.len());
            return KeyPositions::List(found.into_iter());
        }
        let argc = args.len();
        let argc_i = i64::try_from(argc).unwrap_or(i64::MAX);
        let first = i64::from(self.keys.first);
        let last = match i64::from(self.keys.last) {
            l if l < 0 => argc_i + l,
            l => l,
        };
        let step = usize::try_from(self.keys.step.max(1)).unwrap_or(1);
        let range = if first > 0 && last >= first {
            (first as usize)..((last as usize + 1).min(argc))
        } else {
            0..0
        };
        KeyPositions::Range(range.step_by(step))
    }

    /// Whether the command writes (Redis's `write` flag).
    pub fn is_write(&self) -> bool {
        self.kind() == Kind::Write
    }
}

/// Keys of the `numkeys` forms: a count at `args[AT]`, then that many keys (LMPOP 2 a b,
/// SINTERCARD, ZUNION, EVAL's numkeys at 2). A count that is not a non-negative integer
/// finds no keys (the command then refuses it itself).
pub(crate) fn numkeys_at<const AT: usize>(args: &[Bytes]) -> Vec<usize> {
    let Some(count) = args
        .get(AT)
        .and_then(|n| string_to_i64(n))
        .and_then(|n| usize::try_from(n).ok())
    else {
        return Vec::new();
    };
    let end = (AT + 1).saturating_add(count).min(args.len());
    (AT + 1..end).collect()
}

/// Keys of `DST numkeys key...` (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE): the destination,
/// then the numkeys form at index 2.
pub(crate) fn destination_then_numkeys(args: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(numkeys_at::<2>(args));
    keys
}

/// Every group's rows, joined once.
fn rows() -> &'static [CommandSpec] {
    static ROWS: OnceLock<Vec<CommandSpec>> = OnceLock::new();
    ROWS.get_or_init(|| {
        crate::GROUPS
            .iter()
            .flat_map(|group| group.iter().copied())
            .collect()
    })
}

/// Every command quorum knows, in a fixed order.
pub fn table() -> &'static [CommandSpec] {
    rows()
}

/// Longest command name, for the lowercase buffer of [`lookup`].
const NAME_BYTES_MAX: usize = 32;

/// The row for `name`, matched case-insensitively without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static BY_NAME: OnceLock<HashMap<&'static [u8], &'static CommandSpec>> = OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| {
        rows()
            .iter()
            .map(|spec| (spec.name.as_bytes(), spec))
            .collect()
    });
    if name.len() > NAME_BYTES_MAX {
        return None;
    }
    let mut lower = [0u8; NAME_BYTES_MAX];
    let lower = &mut lower[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    by_name.get(&*lower).copied()
}

/// The row for `args[0]` when the command exists and the argument count fits its arity,
/// or Redis's exact unknown-command / wrong-arity error. Subcommand containers (CLIENT,
/// COMMAND, CONFIG) only get their container arity checked here.
pub fn validate(args: &[Bytes]) -> Result<&'static CommandSpec, ErrorReply> {
    let Some(name) = args.first() else {
        return Err(ErrorReply::unknown_command(b"", &[]));
    };
    let Some(spec) = lookup(name) else {
        let rest: Vec<&[u8]> = args[1..].iter().map(|a| a.as_ref()).collect();
        return Err(ErrorReply::unknown_command(name, &rest));
    };
    if !spec.arity_ok(args.len()) {
        return Err(ErrorReply::wrong_arity(spec.name));
    }
    Ok(spec)
}

/// Builds a group's rows from compact lines (one line per command keeps the table
/// reviewable against `COMMAND INFO` output):
/// `{ name, arity, [flags], keys, handler, group, [acl], [tips], since, summary }`.
macro_rules! command_rows {
    (@row { $name:literal, $arity:literal, [$($flag:literal),*], $keys:expr, $handler:expr,
         $group:literal, [$($acl:literal),*], [$($tip:literal),*], $since:literal, $summary:literal }) => {
        $crate::table::CommandSpec {
            name: $name,
            arity: $arity,
            flags: &[$($flag),*],
            keys: $keys,
            handler: $handler,
            group: $group,
            acl_categories: &[$($acl),*],
            tips: &[$($tip),*],
            since: $since,
            summary: $summary,
        }
    };
    ($($row:tt)*) => {
        &[$(command_rows!(@row $row)),*]
    };
}
pub(crate) use command_rows;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn lookup_is_case_insensitive_and_names_are_unique_lowercase() {
        assert_eq!(lookup(b"GeT").map(|s| s.name), Some("get"));
        assert!(lookup(b"nosuch").is_none());
        for (i, spec) in table().iter().enumerate() {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(
                table()[..i].iter().all(|other| other.name != spec.name),
                "{}",
                spec.name
            );
            let writes = spec.flags.contains(&"write");
            assert_eq!(writes, spec.kind() == Kind::Write, "{}", spec.name);
        }
    }

    #[test]
    fn validate_gives_redis_errors() {
        assert_eq!(validate(&args(&["get", "k"])).unwrap().name, "get");
        assert_eq!(
            validate(&args(&["GET"])).unwrap_err().as_str(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            validate(&args(&["foo", "a", "b"])).unwrap_err().as_str(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert!(validate(&args(&["mset", "a", "1", "b"])).is_ok());
        assert!(validate(&args(&["mset", "a"])).is_err());
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let keys = |words: &[&str]| {
            let spec = lookup(words[0].as_bytes()).unwrap();
            spec.key_positions(&args(words)).collect::<Vec<_>>()
        };
        assert_eq!(keys(&["mset", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(keys(&["del", "a", "b", "c"]), vec![1, 2, 3]);
        assert_eq!(keys(&["copy", "a", "b", "REPLACE"]), vec![1, 2]);
        assert_eq!(keys(&["ping"]), Vec::<usize>::new());
        let a = args(&["lmpop", "2", "a", "b", "LEFT"]);
        assert_eq!(numkeys_at::<1>(&a), vec![2, 3]);
        let a = args(&["zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2"]);
        assert_eq!(destination_then_numkeys(&a), vec![1, 3, 4]);
        // A count that is not a number, negative, or larger than what follows.
        assert!(numkeys_at::<1>(&args(&["lmpop", "x", "a"])).is_empty());
        assert!(numkeys_at::<1>(&args(&["lmpop", "-1", "a"])).is_empty());
        assert_eq!(numkeys_at::<1>(&args(&["lmpop", "9", "a"])), vec![2]);
        assert_eq!(keys(&["get"]), Vec::<usize>::new());
    }
}
