//! Reply tables for Redis's `list` group (non-blocking forms), through the same routing
//! the server uses: pushes, pops and moves here, access by index and value in
//! `list/access.rs`; and a property test against a `VecDeque` model (`list/model.rs`).
//!
//! The tables are the sections of `crates/quorum/tests/parity/list.redis`, each run after
//! FLUSHALL on Redis 7.0.15 to record its replies; keep the two in step.
//!
//! Not here: the blocking forms (BLPOP ...), which the server layer runs.

// A test crate's root resolves modules beside it, so the list tests' own files are named by
// path (`tests/model.rs` is the string model).
#[path = "list/access.rs"]
mod access;
mod common;
#[path = "list/model.rs"]
mod model;

use bytes::Bytes;
use common::{check, tokenize, Harness};
use quorum_commands::{apply_write_touching, ApplyContext};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
const RANK_ZERO: &str = "-ERR RANK can't be zero: use 1 to start from the first match, 2 from \
                         the second ... or use negative to start from the end of the list";

// ---- Reply tables (recorded from Redis 7.0.15) ---------------------------------------------

#[test]
fn lpush_rpush_lpushx_rpushx() {
    check(&[
        ("LPUSH l a", ":1"),
        ("LPUSH l b c", ":3"),
        ("RPUSH l d e", ":5"),
        ("LRANGE l 0 -1", "[$c, $b, $a, $d, $e]"),
        ("LPUSHX l x y", ":7"),
        ("RPUSHX l z", ":8"),
        ("LRANGE l 0 -1", "[$y, $x, $c, $b, $a, $d, $e, $z]"),
        ("LPUSHX nolist a", ":0"),
        ("RPUSHX nolist a b", ":0"),
        ("EXISTS nolist", ":0"),
        ("RPUSH empty \"\"", ":1"),
        ("LRANGE empty 0 -1", "[$]"),
        (
            "LPUSH \"key with space\" \"element with space\" \"quote \\\" inside\"",
            ":2",
        ),
        (
            "LRANGE \"key with space\" 0 -1",
            "[$quote \" inside, $element with space]",
        ),
        ("lpush l lower", ":9"),
        ("LLEN l", ":9"),
        ("SET str v", "+OK"),
        ("LPUSH str a", WRONGTYPE),
        ("RPUSH str a", WRONGTYPE),
        ("LPUSHX str a", WRONGTYPE),
        ("RPUSHX str a", WRONGTYPE),
        ("GET str", "$v"),
        (
            "LPUSH l",
            "-ERR wrong number of arguments for 'lpush' command",
        ),
        (
            "RPUSH",
            "-ERR wrong number of arguments for 'rpush' command",
        ),
        (
            "LPUSHX l",
            "-ERR wrong number of arguments for 'lpushx' command",
        ),
        (
            "RPUSHX l",
            "-ERR wrong number of arguments for 'rpushx' command",
        ),
    ]);
}

#[test]
fn lpop_rpop() {
    check(&[
        ("DEL l str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c d e", ":5"),
        ("LPOP l", "$a"),
        ("RPOP l", "$e"),
        ("LRANGE l 0 -1", "[$b, $c, $d]"),
        ("LPOP l 0", "[]"),
        ("RPOP l 0", "[]"),
        ("LPOP l 1", "[$b]"),
        ("RPOP l 1", "[$d]"),
        ("LPOP l 100", "[$c]"),
        ("EXISTS l", ":0"),
        ("LPOP l", "nil"),
        ("RPOP l", "nil"),
        ("LPOP l 0", "nil*"),
        ("RPOP l 1", "nil*"),
        ("LPOP nolist 5", "nil*"),
        ("RPUSH l a b c", ":3"),
        ("LPOP l -1", "-ERR value is out of range, must be positive"),
        ("RPOP l -1", "-ERR value is out of range, must be positive"),
        ("LPOP l abc", "-ERR value is out of range, must be positive"),
        ("RPOP l 1.5", "-ERR value is out of range, must be positive"),
        (
            "LPOP l 9223372036854775808",
            "-ERR value is out of range, must be positive",
        ),
        ("RPOP l 9223372036854775807", "[$c, $b, $a]"),
        ("EXISTS l", ":0"),
        ("RPUSH l a b c", ":3"),
        ("LPOP l 9223372036854775807", "[$a, $b, $c]"),
        ("LPOP str", WRONGTYPE),
        ("RPOP str", WRONGTYPE),
        ("LPOP str 0", WRONGTYPE),
        ("LPOP str 2", WRONGTYPE),
        (
            "LPOP str -1",
            "-ERR value is out of range, must be positive",
        ),
        (
            "LPOP str abc",
            "-ERR value is out of range, must be positive",
        ),
        (
            "LPOP l 1 2",
            "-ERR wrong number of arguments for 'lpop' command",
        ),
        (
            "RPOP l 1 2",
            "-ERR wrong number of arguments for 'rpop' command",
        ),
        ("LPOP", "-ERR wrong number of arguments for 'lpop' command"),
        ("RPOP", "-ERR wrong number of arguments for 'rpop' command"),
    ]);
}

#[test]
fn lmove_rpoplpush() {
    check(&[
        ("DEL l str dst one other src src2", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c", ":3"),
        ("LMOVE l l LEFT RIGHT", "$a"),
        ("LRANGE l 0 -1", "[$b, $c, $a]"),
        ("LMOVE l l RIGHT LEFT", "$a"),
        ("LRANGE l 0 -1", "[$a, $b, $c]"),
        ("LMOVE l l LEFT LEFT", "$a"),
        ("LMOVE l l RIGHT RIGHT", "$c"),
        ("LRANGE l 0 -1", "[$a, $b, $c]"),
        ("RPOPLPUSH l l", "$c"),
        ("LRANGE l 0 -1", "[$c, $a, $b]"),
        ("LMOVE l dst left right", "$c"),
        ("LMOVE l dst right left", "$b"),
        ("LMOVE l dst Left Left", "$a"),
        ("LRANGE dst 0 -1", "[$a, $b, $c]"),
        ("EXISTS l", ":0"),
        ("RPUSH one x", ":1"),
        ("LMOVE one one LEFT RIGHT", "$x"),
        ("RPOPLPUSH one one", "$x"),
        ("LRANGE one 0 -1", "[$x]"),
        ("RPOPLPUSH one other", "$x"),
        ("EXISTS one", ":0"),
        ("LRANGE other 0 -1", "[$x]"),
        ("RPUSH src 1 2 3", ":3"),
        ("RPOPLPUSH src other", "$3"),
        ("RPOPLPUSH src src2", "$2"),
        ("LRANGE other 0 -1", "[$3, $x]"),
        ("LRANGE src2 0 -1", "[$2]"),
        ("LMOVE nolist dst LEFT RIGHT", "nil"),
        ("RPOPLPUSH nolist dst", "nil"),
        ("LMOVE nolist str LEFT RIGHT", "nil"),
        ("RPOPLPUSH nolist str", "nil"),
        ("LMOVE str dst LEFT RIGHT", WRONGTYPE),
        ("LMOVE str str LEFT RIGHT", WRONGTYPE),
        ("RPOPLPUSH str dst", WRONGTYPE),
        ("LMOVE src str LEFT RIGHT", WRONGTYPE),
        ("RPOPLPUSH src str", WRONGTYPE),
        ("LRANGE src 0 -1", "[$1]"),
        ("LMOVE src dst UP RIGHT", "-ERR syntax error"),
        ("LMOVE src dst LEFT DOWN", "-ERR syntax error"),
        ("LMOVE nolist dst UP RIGHT", "-ERR syntax error"),
        ("LMOVE str dst UP RIGHT", "-ERR syntax error"),
        ("LMOVE src dst \"\" LEFT", "-ERR syntax error"),
        (
            "LMOVE src dst LEFT",
            "-ERR wrong number of arguments for 'lmove' command",
        ),
        (
            "LMOVE src dst LEFT RIGHT x",
            "-ERR wrong number of arguments for 'lmove' command",
        ),
        (
            "RPOPLPUSH src",
            "-ERR wrong number of arguments for 'rpoplpush' command",
        ),
        (
            "RPOPLPUSH src dst x",
            "-ERR wrong number of arguments for 'rpoplpush' command",
        ),
        ("LRANGE dst 0 -1", "[$a, $b, $c]"),
    ]);
}

#[test]
fn lmpop() {
    check(&[
        ("DEL l l2 dst str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c d e", ":5"),
        ("RPUSH l2 1 2 3", ":3"),
        ("LMPOP 1 l LEFT", "[$l, [$a]]"),
        ("LMPOP 1 l RIGHT", "[$l, [$e]]"),
        ("LMPOP 1 l left COUNT 2", "[$l, [$b, $c]]"),
        ("LRANGE l 0 -1", "[$d]"),
        ("LMPOP 2 nolist l2 RIGHT COUNT 2", "[$l2, [$3, $2]]"),
        ("LMPOP 2 l l2 LEFT COUNT 100", "[$l, [$d]]"),
        ("EXISTS l", ":0"),
        ("LMPOP 3 nolist l nolist2 LEFT", "nil*"),
        (
            "LMPOP 3 nolist l l2 LEFT COUNT 9223372036854775807",
            "[$l2, [$1]]",
        ),
        ("EXISTS l2", ":0"),
        ("LMPOP 2 nolist l2 LEFT", "nil*"),
        ("RPUSH l a b", ":2"),
        ("LMPOP 2 str l LEFT", WRONGTYPE),
        ("LMPOP 2 l str LEFT", "[$l, [$a]]"),
        ("LMPOP 2 nolist str RIGHT", WRONGTYPE),
        ("LRANGE l 0 -1", "[$b]"),
        ("LMPOP 0 l LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP -1 l LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP abc l LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP 1.5 l LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP 9223372036854775807 l LEFT", "-ERR syntax error"),
        (
            "LMPOP 9223372036854775808 l LEFT",
            "-ERR numkeys should be greater than 0",
        ),
        ("LMPOP 2 l LEFT", "-ERR syntax error"),
        ("LMPOP 3 l str LEFT", "-ERR syntax error"),
        ("LMPOP 1 l UP", "-ERR syntax error"),
        (
            "LMPOP 1 l LEFT COUNT 0",
            "-ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 l LEFT COUNT -1",
            "-ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 l LEFT COUNT abc",
            "-ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 l LEFT COUNT 9223372036854775808",
            "-ERR count should be greater than 0",
        ),
        ("LMPOP 1 l LEFT COUNT 1 COUNT 1", "-ERR syntax error"),
        ("LMPOP 1 l LEFT COUNT", "-ERR syntax error"),
        ("LMPOP 1 l LEFT FOO", "-ERR syntax error"),
        ("LMPOP 1 l LEFT FOO 1", "-ERR syntax error"),
        (
            "LMPOP 0 l UP COUNT 0",
            "-ERR numkeys should be greater than 0",
        ),
        ("LMPOP 1 l UP COUNT 0", "-ERR syntax error"),
        (
            "LMPOP 1 str LEFT COUNT 0",
            "-ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 nolist LEFT COUNT -5",
            "-ERR count should be greater than 0",
        ),
        ("LMPOP 2 l LEFT COUNT 1", "-ERR syntax error"),
        (
            "LMPOP 1 l",
            "-ERR wrong number of arguments for 'lmpop' command",
        ),
        (
            "LMPOP 1",
            "-ERR wrong number of arguments for 'lmpop' command",
        ),
        (
            "LMPOP",
            "-ERR wrong number of arguments for 'lmpop' command",
        ),
        ("LRANGE l 0 -1", "[$b]"),
    ]);
}

#[test]
fn command_getkeys_finds_the_keys() {
    check(&[
        ("COMMAND GETKEYS LMPOP 2 a b LEFT COUNT 3", "[$a, $b]"),
        ("COMMAND GETKEYS LMOVE a b LEFT RIGHT", "[$a, $b]"),
        ("COMMAND GETKEYS RPOPLPUSH a b", "[$a, $b]"),
    ]);
}

/// Commands that find nothing to change leave no key touched (no WATCH fails, no blocked
/// client wakes), as Redis signals a key only when it changed it; commands that change a
/// key touch it.
#[test]
fn only_changes_touch_keys() {
    let mut h = Harness::default();
    for line in ["RPUSH l a b c", "SET str v"] {
        h.line(line);
    }
    let ctx = ApplyContext {
        now_ms: h.now_ms,
        seed: h.seed,
    };
    let untouched = [
        "LPOP l 0",
        "RPOP nolist 3",
        "LINSERT l BEFORE zz x",
        "LREM l 0 zz",
        "LPUSHX nolist a",
        "LTRIM nolist 0 1",
        "LMOVE nolist l LEFT RIGHT",
        "LMOVE l str LEFT RIGHT",
        "LSET l 9 x",
        "LMPOP 2 nolist str LEFT",
    ];
    for line in untouched {
        let (_, touched) = apply_write_touching(&mut h.ks, &tokenize(line), &ctx);
        assert!(touched.is_empty(), "{line} touched {touched:?}");
    }
    let touching = [
        ("LTRIM l 0 -1", vec!["l"]),
        ("LSET l 0 A", vec!["l"]),
        ("LMOVE l dst LEFT RIGHT", vec!["l", "dst"]),
        ("LMOVE dst dst LEFT RIGHT", vec!["dst"]),
        ("LMPOP 2 nolist l RIGHT COUNT 5", vec!["l"]),
    ];
    for (line, keys) in touching {
        let (_, touched) = apply_write_touching(&mut h.ks, &tokenize(line), &ctx);
        let keys: Vec<Bytes> = keys.into_iter().map(Bytes::from).collect();
        assert_eq!(touched.keys, keys, "{line}");
    }
}

/// Memory is charged per element and returns exactly to what it was once the elements are
/// gone, whatever path removed them.
#[test]
fn memory_returns_to_empty() {
    let mut h = Harness::default();
    let empty = h.ks.used_memory_bytes();
    for line in [
        "RPUSH l a b c d e f a",
        "LINSERT l AFTER c xyz",
        "LSET l 0 longer-element",
        "LREM l 0 a",
        "LTRIM l 1 -1",
        "LMOVE l m LEFT RIGHT",
        "RPOPLPUSH m l",
        "LPOP l 2",
        "LMPOP 1 l RIGHT COUNT 100",
    ] {
        h.line(line);
    }
    assert_eq!(h.line("EXISTS l m"), ":0");
    assert_eq!(h.ks.used_memory_bytes(), empty);
}
