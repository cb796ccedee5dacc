//! The command table: one [`CommandSpec`] row per command quorum knows, with Redis 7.0's
//! arity, flags, key positions, ACL categories, tips and docs, plus lookup and validation.
//!
//! The rows mirror `COMMAND INFO` / `COMMAND DOCS` of Redis 7.0.15, so clients that read
//! the table (redis-py, cluster-aware clients, redis-cli hints) see what they expect.
//!
//! Not here: what a command does (the group modules) or how COMMAND prints the table
//! (`introspection.rs`).

use bytes::Bytes;
use quorum_types::ErrorReply;

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

/// One row of the command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Lowercase command name.
    pub name: &'static str,
    /// Redis's arity: the exact argument count including the name, or, when negative, the
    /// minimum count.
    pub arity: i32,
    /// Redis `COMMAND` flags such as `write`, `readonly`, `fast`, `denyoom`.
    pub flags: &'static [&'static str],
    /// Index of the first key argument (0 when the command takes no keys).
    pub first_key: i32,
    /// Index of the last key argument; negative counts from the end (-1 = last argument).
    pub last_key: i32,
    /// Distance between key arguments (2 for MSET's key value pairs).
    pub step: i32,
    /// Who executes it.
    pub kind: Kind,
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

impl CommandSpec {
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

    /// Positions of the key arguments in `args` (which include the name), from the
    /// first/last/step triple. Positions past the end are left out, so this never panics on
    /// a short argument list.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc_i = i64::try_from(argc).unwrap_or(i64::MAX);
        let first = i64::from(self.first_key);
        let last = match i64::from(self.last_key) {
            l if l < 0 => argc_i + l,
            l => l,
        };
        let step = usize::try_from(self.step.max(1)).unwrap_or(1);
        let range = if first > 0 && last >= first {
            (first as usize)..((last as usize + 1).min(argc))
        } else {
            0..0
        };
        range.step_by(step)
    }
}

/// Every command quorum knows, in a fixed order.
pub fn table() -> &'static [CommandSpec] {
    TABLE
}

/// The row for `name`, matched case-insensitively without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    TABLE
        .iter()
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))
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

/// Builds the static table from compact rows (one line per command keeps the table
/// reviewable against `COMMAND INFO` output).
macro_rules! command_table {
    ($({ $name:literal, $arity:literal, [$($flag:literal),*], ($first:literal, $last:literal, $step:literal),
         $kind:ident, $group:literal, [$($acl:literal),*], [$($tip:literal),*], $since:literal, $summary:literal })*) => {
        static TABLE: &[CommandSpec] = &[$(CommandSpec {
            name: $name,
            arity: $arity,
            flags: &[$($flag),*],
            first_key: $first,
            last_key: $last,
            step: $step,
            kind: Kind::$kind,
            group: $group,
            acl_categories: &[$($acl),*],
            tips: &[$($tip),*],
            since: $since,
            summary: $summary,
        }),*];
    };
}

// Rows copied from Redis 7.0.15's COMMAND INFO and COMMAND DOCS; kind is quorum's.
command_table! {
    { "ping", -1, ["fast"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], ["request_policy:all_shards", "response_policy:all_succeeded"], "1.0.0", "Ping the server" }
    { "echo", 2, ["loading", "stale", "fast"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Echo the given string" }
    { "hello", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], [], "6.0.0", "Handshake with Redis" }
    { "auth", -2, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Authenticate to the server" }
    { "select", 2, ["loading", "stale", "fast"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Change the selected database for the current connection" }
    { "quit", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Close the connection" }
    { "reset", 1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], (0, 0, 0), Server, "connection", ["@fast", "@connection"], [], "6.2.0", "Reset the connection" }
    { "client", -2, [], (0, 0, 0), Server, "connection", ["@slow"], [], "2.4.0", "A container for client connection commands" }
    { "command", -1, ["loading", "stale"], (0, 0, 0), Server, "server", ["@slow", "@connection"], ["nondeterministic_output_order"], "2.8.13", "Get array of Redis command details" }
    { "config", -2, [], (0, 0, 0), Server, "server", ["@slow"], [], "2.0.0", "A container for server configuration commands" }
    { "info", -1, ["loading", "stale"], (0, 0, 0), Server, "server", ["@slow", "@dangerous"], ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], "1.0.0", "Get information and statistics about the server" }
    { "time", 1, ["loading", "stale", "fast"], (0, 0, 0), Server, "server", ["@fast"], ["nondeterministic_output"], "2.6.0", "Return the current server time" }
    { "wait", 3, ["noscript"], (0, 0, 0), Server, "generic", ["@slow", "@connection"], ["request_policy:all_shards", "response_policy:agg_min"], "3.0.0", "Wait for the synchronous replication of all the write commands sent in the context of the current connection" }
    { "readonly", 1, ["loading", "stale", "fast"], (0, 0, 0), Server, "cluster", ["@fast", "@connection"], [], "3.0.0", "Enables read queries for a connection to a cluster replica node" }
    { "readwrite", 1, ["loading", "stale", "fast"], (0, 0, 0), Server, "cluster", ["@fast", "@connection"], [], "3.0.0", "Disables read queries for a connection to a cluster replica node" }
    { "debug", -2, ["admin", "noscript", "loading", "stale"], (0, 0, 0), Read, "server", ["@admin", "@slow", "@dangerous"], [], "1.0.0", "A container for debugging commands" }
    { "dbsize", 1, ["readonly", "fast"], (0, 0, 0), Read, "server", ["@keyspace", "@read", "@fast"], ["request_policy:all_shards", "response_policy:agg_sum"], "1.0.0", "Return the number of keys in the selected database" }
    { "flushdb", -1, ["write"], (0, 0, 0), Write, "server", ["@keyspace", "@write", "@slow", "@dangerous"], ["request_policy:all_shards", "response_policy:all_succeeded"], "1.0.0", "Remove all keys from the current database" }
    { "flushall", -1, ["write"], (0, 0, 0), Write, "server", ["@keyspace", "@write", "@slow", "@dangerous"], ["request_policy:all_shards", "response_policy:all_succeeded"], "1.0.0", "Remove all keys from all databases" }
    { "get", 2, ["readonly", "fast"], (1, 1, 1), Read, "string", ["@read", "@string", "@fast"], [], "1.0.0", "Get the value of a key" }
    { "set", -3, ["write", "denyoom"], (1, 1, 1), Write, "string", ["@write", "@string", "@slow"], [], "1.0.0", "Set the string value of a key" }
    { "setnx", 3, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "1.0.0", "Set the value of a key, only if the key does not exist" }
    { "setex", 4, ["write", "denyoom"], (1, 1, 1), Write, "string", ["@write", "@string", "@slow"], [], "2.0.0", "Set the value and expiration of a key" }
    { "psetex", 4, ["write", "denyoom"], (1, 1, 1), Write, "string", ["@write", "@string", "@slow"], [], "2.6.0", "Set the value and expiration in milliseconds of a key" }
    { "getset", 3, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "1.0.0", "Set the string value of a key and return its old value" }
    { "getdel", 2, ["write", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "6.2.0", "Get the value of a key and delete the key" }
    { "getex", -2, ["write", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "6.2.0", "Get the value of a key and optionally set its expiration" }
    { "mget", -2, ["readonly", "fast"], (1, -1, 1), Read, "string", ["@read", "@string", "@fast"], ["request_policy:multi_shard"], "1.0.0", "Get the values of all the given keys" }
    { "mset", -3, ["write", "denyoom"], (1, -1, 2), Write, "string", ["@write", "@string", "@slow"], ["request_policy:multi_shard", "response_policy:all_succeeded"], "1.0.1", "Set multiple keys to multiple values" }
    { "msetnx", -3, ["write", "denyoom"], (1, -1, 2), Write, "string", ["@write", "@string", "@slow"], ["request_policy:multi_shard", "response_policy:agg_min"], "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist" }
    { "append", 3, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "2.0.0", "Append a value to a key" }
    { "strlen", 2, ["readonly", "fast"], (1, 1, 1), Read, "string", ["@read", "@string", "@fast"], [], "2.2.0", "Get the length of the value stored in a key" }
    { "incr", 2, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "1.0.0", "Increment the integer value of a key by one" }
    { "decr", 2, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "1.0.0", "Decrement the integer value of a key by one" }
    { "incrby", 3, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "1.0.0", "Increment the integer value of a key by the given amount" }
    { "decrby", 3, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "1.0.0", "Decrement the integer value of a key by the given number" }
    { "incrbyfloat", 3, ["write", "denyoom", "fast"], (1, 1, 1), Write, "string", ["@write", "@string", "@fast"], [], "2.6.0", "Increment the float value of a key by the given amount" }
    { "getrange", 4, ["readonly"], (1, 1, 1), Read, "string", ["@read", "@string", "@slow"], [], "2.4.0", "Get a substring of the string stored at a key" }
    { "setrange", 4, ["write", "denyoom"], (1, 1, 1), Write, "string", ["@write", "@string", "@slow"], [], "2.2.0", "Overwrite part of a string at key starting at the specified offset" }
    { "del", -2, ["write"], (1, -1, 1), Write, "generic", ["@keyspace", "@write", "@slow"], ["request_policy:multi_shard", "response_policy:agg_sum"], "1.0.0", "Delete a key" }
    { "unlink", -2, ["write", "fast"], (1, -1, 1), Write, "generic", ["@keyspace", "@write", "@fast"], ["request_policy:multi_shard", "response_policy:agg_sum"], "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking." }
    { "exists", -2, ["readonly", "fast"], (1, -1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], ["request_policy:multi_shard", "response_policy:agg_sum"], "1.0.0", "Determine if a key exists" }
    { "touch", -2, ["readonly", "fast"], (1, -1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], ["request_policy:multi_shard", "response_policy:agg_sum"], "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified." }
    { "type", 2, ["readonly", "fast"], (1, 1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], [], "1.0.0", "Determine the type stored at key" }
    { "rename", 3, ["write"], (1, 2, 1), Write, "generic", ["@keyspace", "@write", "@slow"], [], "1.0.0", "Rename a key" }
    { "renamenx", 3, ["write", "fast"], (1, 2, 1), Write, "generic", ["@keyspace", "@write", "@fast"], [], "1.0.0", "Rename a key, only if the new key does not exist" }
    { "copy", -3, ["write", "denyoom"], (1, 2, 1), Write, "generic", ["@keyspace", "@write", "@slow"], [], "6.2.0", "Copy a key" }
    { "keys", 2, ["readonly"], (0, 0, 0), Read, "generic", ["@keyspace", "@read", "@slow", "@dangerous"], ["request_policy:all_shards", "nondeterministic_output_order"], "1.0.0", "Find all keys matching the given pattern" }
    { "scan", -2, ["readonly"], (0, 0, 0), Read, "generic", ["@keyspace", "@read", "@slow"], ["nondeterministic_output", "request_policy:special"], "2.8.0", "Incrementally iterate the keys space" }
    { "randomkey", 1, ["readonly"], (0, 0, 0), Read, "generic", ["@keyspace", "@read", "@slow"], ["request_policy:all_shards", "nondeterministic_output"], "1.0.0", "Return a random key from the keyspace" }
    { "expire", -3, ["write", "fast"], (1, 1, 1), Write, "generic", ["@keyspace", "@write", "@fast"], [], "1.0.0", "Set a key's time to live in seconds" }
    { "pexpire", -3, ["write", "fast"], (1, 1, 1), Write, "generic", ["@keyspace", "@write", "@fast"], [], "2.6.0", "Set a key's time to live in milliseconds" }
    { "expireat", -3, ["write", "fast"], (1, 1, 1), Write, "generic", ["@keyspace", "@write", "@fast"], [], "1.2.0", "Set the expiration for a key as a UNIX timestamp" }
    { "pexpireat", -3, ["write", "fast"], (1, 1, 1), Write, "generic", ["@keyspace", "@write", "@fast"], [], "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds" }
    { "ttl", 2, ["readonly", "fast"], (1, 1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], ["nondeterministic_output"], "1.0.0", "Get the time to live for a key in seconds" }
    { "pttl", 2, ["readonly", "fast"], (1, 1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], ["nondeterministic_output"], "2.6.0", "Get the time to live for a key in milliseconds" }
    { "expiretime", 2, ["readonly", "fast"], (1, 1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], [], "7.0.0", "Get the expiration Unix timestamp for a key" }
    { "pexpiretime", 2, ["readonly", "fast"], (1, 1, 1), Read, "generic", ["@keyspace", "@read", "@fast"], [], "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds" }
    { "persist", 2, ["write", "fast"], (1, 1, 1), Write, "generic", ["@keyspace", "@write", "@fast"], [], "2.2.0", "Remove the expiration from a key" }
}

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
            assert_eq!(writes, spec.kind == Kind::Write, "{}", spec.name);
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
            spec.key_positions(words.len()).collect::<Vec<_>>()
        };
        assert_eq!(keys(&["mset", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(keys(&["del", "a", "b", "c"]), vec![1, 2, 3]);
        assert_eq!(keys(&["copy", "a", "b", "REPLACE"]), vec![1, 2]);
        assert_eq!(keys(&["ping"]), Vec::<usize>::new());
        assert_eq!(keys(&["get"]), Vec::<usize>::new());
    }
}
