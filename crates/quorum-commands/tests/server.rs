//! Reply tables for the keyspace part of Redis's `server` group: DBSIZE, FLUSHDB, FLUSHALL,
//! DEBUG DIGEST.

mod common;

use common::check;

#[test]
fn dbsize_and_flush() {
    check(&[
        ("DBSIZE", ":0"),
        ("MSET a 1 b 2", "+OK"),
        ("DBSIZE", ":2"),
        ("FLUSHDB", "+OK"),
        ("DBSIZE", ":0"),
        ("SET a 1 EX 10", "+OK"),
        ("FLUSHALL ASYNC", "+OK"),
        ("DBSIZE", ":0"),
        ("FLUSHALL sync", "+OK"),
        ("FLUSHDB FOO", "-ERR syntax error"),
        ("FLUSHDB ASYNC SYNC", "-ERR syntax error"),
        (
            "DBSIZE x",
            "-ERR wrong number of arguments for 'dbsize' command",
        ),
    ]);
}

#[test]
fn unknown_commands() {
    check(&[
        (
            "FOO",
            "-ERR unknown command 'FOO', with args beginning with: ",
        ),
        (
            "foo a b",
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' ",
        ),
    ]);
}

/// Checked against redis-server 7.0.15 with `enable-debug-command yes` (digests of non-empty
/// keyspaces differ from Redis's by design; the keyspace crate tests what they must satisfy).
#[test]
fn debug_digest() {
    let zeros = format!("+{}", "0".repeat(40));
    check(&[
        ("DEBUG DIGEST", zeros.as_str()),
        ("DEBUG DIGEST-VALUE", "[]"),
        ("DEBUG DIGEST-VALUE missing", &format!("[{zeros}]")),
        (
            "DEBUG foo",
            "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.",
        ),
        (
            "DEBUG DIGEST x",
            "-ERR unknown subcommand or wrong number of arguments for 'DIGEST'. Try DEBUG HELP.",
        ),
        (
            "DEBUG",
            "-ERR wrong number of arguments for 'debug' command",
        ),
    ]);
}
