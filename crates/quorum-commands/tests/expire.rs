//! Reply tables for TTL commands (Redis's `expire.c`): EXPIRE, PEXPIRE, EXPIREAT,
//! PEXPIREAT with NX/XX/GT/LT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.

mod common;

use common::{check, Harness};
use quorum_commands::apply_expire;

#[test]
fn expire_ttl_persist() {
    check(&[
        ("EXPIRE nope 10", ":0"),
        ("TTL nope", ":-2"),
        ("PTTL nope", ":-2"),
        ("EXPIRETIME nope", ":-2"),
        ("PEXPIRETIME nope", ":-2"),
        ("SET k v", "+OK"),
        ("TTL k", ":-1"),
        ("PTTL k", ":-1"),
        ("EXPIRETIME k", ":-1"),
        ("PEXPIRETIME k", ":-1"),
        ("PERSIST k", ":0"),
        ("EXPIRE k 100", ":1"),
        ("TTL k", ":100"),
        ("PERSIST k", ":1"),
        ("TTL k", ":-1"),
        ("PERSIST nope", ":0"),
        (
            "EXPIRE k abc",
            "-ERR value is not an integer or out of range",
        ),
        ("EXPIRE k 10 FOO", "-ERR Unsupported option FOO"),
        (
            "EXPIRE k 10 NX XX",
            "-ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            "EXPIRE k 10 NX GT",
            "-ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            "EXPIRE k 10 GT LT",
            "-ERR GT and LT options at the same time are not compatible",
        ),
        (
            "EXPIRE k 9223372036854776",
            "-ERR invalid expire time in 'expire' command",
        ),
        (
            "EXPIRE k -9223372036854776",
            "-ERR invalid expire time in 'expire' command",
        ),
        (
            "PEXPIRE k 9223372036854775807",
            "-ERR invalid expire time in 'pexpire' command",
        ),
        (
            "EXPIREAT k 9223372036854776",
            "-ERR invalid expire time in 'expireat' command",
        ),
        (
            "EXPIRE k",
            "-ERR wrong number of arguments for 'expire' command",
        ),
        ("TTL k", ":-1"),
        ("EXPIRE k 0", ":1"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("PEXPIRE k -5", ":1"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("EXPIREAT k 1", ":1"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("PEXPIREAT k -1", ":1"),
        ("EXISTS k", ":0"),
    ]);
}

#[test]
fn expire_conditions() {
    check(&[
        ("SET k v", "+OK"),
        ("EXPIRE k 100 XX", ":0"),
        ("EXPIRE k 100 GT", ":0"),
        ("TTL k", ":-1"),
        ("EXPIRE k 100 LT", ":1"),
        ("TTL k", ":100"),
        ("EXPIRE k 50 NX", ":0"),
        ("EXPIRE k 200 LT", ":0"),
        ("EXPIRE k 50 GT", ":0"),
        ("EXPIRE k 200 GT", ":1"),
        ("TTL k", ":200"),
        ("EXPIRE k 150 XX LT", ":1"),
        ("TTL k", ":150"),
        ("EXPIRE k 150 gt", ":0"),
        ("PERSIST k", ":1"),
        ("EXPIRE k 30 nx", ":1"),
        ("TTL k", ":30"),
        ("EXPIRE nope 10 NX", ":0"),
        ("SET k v", "+OK"),
        ("EXPIRE k -1 GT", ":0"),
        ("EXISTS k", ":1"),
        ("EXPIRE k -1 LT", ":1"),
        ("EXISTS k", ":0"),
    ]);
}

#[test]
fn deadlines_are_absolute_and_follow_the_clock() {
    check(&[
        ("@now 1700000000000", ""),
        ("SET k v", "+OK"),
        ("PEXPIRE k 1500", ":1"),
        ("PTTL k", ":1500"),
        ("TTL k", ":2"),
        ("PEXPIRETIME k", ":1700000001500"),
        ("EXPIRETIME k", ":1700000002"),
        ("@now +499", ""),
        ("TTL k", ":1"),
        ("@now +1000", ""),
        ("PTTL k", ":1"),
        ("TTL k", ":0"),
        ("@now +1", ""),
        ("TTL k", ":-2"),
        ("GET k", "nil"),
        ("SET k v", "+OK"),
        ("EXPIREAT k 1700000010", ":1"),
        ("PEXPIRETIME k", ":1700000010000"),
        ("PEXPIREAT k 1700000020000", ":1"),
        ("EXPIRETIME k", ":1700000020"),
        ("PEXPIREAT k 1700000001500", ":1"),
        ("EXISTS k", ":0"),
    ]);
}

#[test]
fn active_expiry_removes_only_keys_still_expired() {
    let mut h = Harness::default();
    h.line("SET a 1 PX 10");
    h.line("SET b 1 PX 10");
    h.line("SET c 1");
    h.now_ms += 10;
    let listed = h.ks.expired_keys(h.now_ms, 10);
    assert_eq!(listed.len(), 2);
    // The leader listed a and b; before the operation applies, b is rewritten.
    h.line("SET b 2");
    let removed = apply_expire(&mut h.ks, &listed, h.now_ms);
    assert_eq!(removed, 1);
    assert_eq!(h.line("GET b"), "$2");
    assert_eq!(h.ks.len(), 2);
    assert_eq!(h.ks.expires_count(), 0);
}
