//! Reply tables for Redis's `generic` group (keys): DEL, UNLINK, EXISTS, TOUCH, TYPE,
//! RENAME, RENAMENX, COPY, KEYS, SCAN, RANDOMKEY.

mod common;

use common::{check, Harness};

#[test]
fn del_unlink_exists_touch_type() {
    check(&[
        ("MSET a 1 b 2 c 3", "+OK"),
        ("EXISTS a b nope a", ":3"),
        ("TOUCH a nope", ":1"),
        ("TYPE a", "+string"),
        ("TYPE nope", "+none"),
        ("DEL a nope a", ":1"),
        ("UNLINK b c", ":2"),
        ("DEL a", ":0"),
        ("EXISTS a", ":0"),
        ("DEL", "-ERR wrong number of arguments for 'del' command"),
        (
            "EXISTS",
            "-ERR wrong number of arguments for 'exists' command",
        ),
        ("TYPE", "-ERR wrong number of arguments for 'type' command"),
    ]);
}

#[test]
fn rename_and_renamenx() {
    check(&[
        ("RENAME nope x", "-ERR no such key"),
        ("RENAMENX nope x", "-ERR no such key"),
        ("SET a 1 EX 100", "+OK"),
        ("RENAME a b", "+OK"),
        ("GET b", "$1"),
        ("TTL b", ":100"),
        ("EXISTS a", ":0"),
        ("RENAME b b", "+OK"),
        ("RENAMENX b b", ":0"),
        ("SET c 3", "+OK"),
        ("RENAMENX b c", ":0"),
        ("RENAMENX b d", ":1"),
        ("SET e 5 EX 50", "+OK"),
        ("RENAME c e", "+OK"),
        ("TTL e", ":-1"),
        ("GET e", "$3"),
        (
            "RENAME x",
            "-ERR wrong number of arguments for 'rename' command",
        ),
    ]);
}

#[test]
fn copy() {
    check(&[
        ("COPY nope x", ":0"),
        ("SET a 1 EX 100", "+OK"),
        ("COPY a b", ":1"),
        ("GET b", "$1"),
        ("TTL b", ":100"),
        ("SET a 2", "+OK"),
        ("COPY a b", ":0"),
        ("COPY a b REPLACE", ":1"),
        ("GET b", "$2"),
        ("TTL b", ":-1"),
        ("COPY a b replace DB 0", ":1"),
        (
            "COPY a a",
            "-ERR source and destination objects are the same",
        ),
        (
            "COPY a a DB 0",
            "-ERR source and destination objects are the same",
        ),
        (
            "COPY a b DB x",
            "-ERR value is not an integer or out of range",
        ),
        ("COPY a b DB", "-ERR syntax error"),
        ("COPY a b FOO", "-ERR syntax error"),
        ("COPY a b DB -1", "-ERR DB index is out of range"),
        (
            "COPY a b DB 9999999999",
            "-ERR value is out of range, value must between -2147483648 and 2147483647",
        ),
    ]);
}

/// quorum has one database: any other index is out of range (Redis with `databases 1`).
#[test]
fn copy_to_another_db_copies_there_and_not_here() {
    check(&[
        ("@local", ""),
        ("SET a 1", "+OK"),
        ("COPY a b DB 1", ":1"),
        ("EXISTS b", ":0"),
        ("COPY a b DB 1", ":0"),
        ("COPY a a DB 1", ":1"),
        ("COPY a b DB 1024", "-ERR DB index is out of range"),
        ("COPY a b DB -1", "-ERR DB index is out of range"),
        (
            "MOVE a 0",
            "-ERR source and destination objects are the same",
        ),
        ("MOVE a 3", ":1"),
        ("EXISTS a", ":0"),
    ]);
}

#[test]
fn keys_with_patterns() {
    check(&[
        ("@local", ""),
        (
            "MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 other 6",
            "+OK",
        ),
        ("KEYS h?llo", "[$hello, $hxllo, $hallo]"),
        ("KEYS h*llo", "[$hello, $hxllo, $hllo, $heeeello, $hallo]"),
        ("KEYS h[ae]llo", "[$hello, $hallo]"),
        ("KEYS h[^e]llo", "[$hxllo, $hallo]"),
        ("KEYS h[a-b]llo", "[$hallo]"),
        ("KEYS nomatch*", "[]"),
        ("SET gone x PX 1", "+OK"),
        ("@now +1", ""),
        ("KEYS gone", "[]"),
    ]);
}

#[test]
fn scan_errors() {
    check(&[
        ("SCAN abc", "-ERR invalid cursor"),
        ("SCAN \" 1\"", "-ERR invalid cursor"),
        ("SCAN 0 COUNT 0", "-ERR syntax error"),
        ("SCAN 0 COUNT -1", "-ERR syntax error"),
        (
            "SCAN 0 COUNT x",
            "-ERR value is not an integer or out of range",
        ),
        ("SCAN 0 COUNT", "-ERR syntax error"),
        ("SCAN 0 MATCH", "-ERR syntax error"),
        ("SCAN 0 FOO bar", "-ERR syntax error"),
        ("SCAN 0", "[$0, []]"),
        ("SCAN \"\"", "[$0, []]"),
        ("SCAN 0 TYPE string", "[$0, []]"),
        ("SCAN", "-ERR wrong number of arguments for 'scan' command"),
    ]);
}

#[test]
fn scan_filters_by_match_and_type_and_skips_expired() {
    check(&[
        ("@local", ""),
        ("MSET k1 a k2 b other c", "+OK"),
        ("SET dead x PX 5", "+OK"),
        ("@now +5", ""),
        ("SCAN 0 MATCH k*", "[$0, [$k1, $k2]]"),
        ("SCAN 0 TYPE string MATCH o*", "[$0, [$other]]"),
        ("SCAN 0 TYPE list", "[$0, []]"),
        ("SCAN 0 COUNT 100", "[$0, [$k1, $k2, $other]]"),
    ]);
}

#[test]
fn scan_pages_cover_every_key_once() {
    let mut h = Harness::default();
    for i in 0..500 {
        assert_eq!(h.line(&format!("SET key:{i} v")), "+OK");
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = h.line(&format!("SCAN {cursor} COUNT 20"));
        calls += 1;
        let (head, keys) = reply.split_once(", [").unwrap();
        cursor = head.trim_start_matches("[$").to_string();
        for key in keys
            .trim_end_matches("]]")
            .split(", ")
            .filter(|k| !k.is_empty())
        {
            assert!(seen.insert(key.to_string()), "{key} returned twice");
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert_eq!(calls, 25);
}

#[test]
fn randomkey() {
    check(&[
        ("@local", ""),
        ("RANDOMKEY", "nil"),
        ("SET only v", "+OK"),
        ("RANDOMKEY", "$only"),
        ("SET dead v PX 1", "+OK"),
        ("DEL only", ":1"),
        ("@now +1", ""),
        ("RANDOMKEY", "nil"),
        (
            "RANDOMKEY x",
            "-ERR wrong number of arguments for 'randomkey' command",
        ),
    ]);
}

#[test]
fn writes_remove_expired_keys_they_name() {
    let mut h = Harness::default();
    h.line("SET a 1 PX 10");
    h.line("SET b 1 PX 10");
    h.now_ms += 10;
    assert_eq!(h.ks.len(), 2);
    assert_eq!(h.line("DEL a"), ":0");
    assert_eq!(
        h.ks.len(),
        1,
        "DEL removed the expired key without counting it"
    );
    assert_eq!(h.line("RENAME b c"), "-ERR no such key");
    assert_eq!(
        h.ks.len(),
        0,
        "a failed write still removed the expired key it named"
    );
}
