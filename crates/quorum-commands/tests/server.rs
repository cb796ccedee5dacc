//! Reply tables for the keyspace part of Redis's `server` group: DBSIZE, FLUSHDB, FLUSHALL.

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
