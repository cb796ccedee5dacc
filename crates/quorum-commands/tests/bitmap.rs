//! Reply tables for Redis's `bitmap` group (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
//! BITFIELD_RO), recorded from Redis 7.0.15; and a property test of SETBIT, GETBIT,
//! BITCOUNT and BITPOS against a vector of bits (`bitmap/model.rs`).
//!
//! The tables are the sections of `crates/quorum/tests/parity/bitmap.redis`, each run after
//! FLUSHALL on Redis 7.0.15 to record its replies (a section that uses a key from an
//! earlier one creates it first); keep the two in step. Binary values use redis-cli's
//! quoting (`bitmap/escaped.rs`).

mod common;
#[path = "bitmap/escaped.rs"]
mod escaped;
#[path = "bitmap/model.rs"]
mod model;

use escaped::check;
use quorum_commands::{apply_write_touching, ApplyContext};

// ---- Reply tables (recorded from Redis 7.0.15) ---------------------------------------------

/// SETBIT replies the old bit and grows the string with zeros up to the bit (even when the
/// bit is cleared); offsets stop at 2^32 - 1; the offset is checked before the bit.
#[test]
fn setbit_and_getbit() {
    check(&[
        ("SETBIT bm 7 1", ":0"),
        ("GET bm", r#"$\x01"#),
        ("SETBIT bm 7 1", ":1"),
        ("SETBIT bm 7 0", ":1"),
        ("SETBIT bm 100 1", ":0"),
        ("STRLEN bm", ":13"),
        ("GETBIT bm 100", ":1"),
        ("GETBIT bm 99", ":0"),
        ("GETBIT bm 1000000", ":0"),
        ("GETBIT nosuch 5", ":0"),
        ("SETBIT cleared 20 0", ":0"),
        ("GET cleared", r#"$\x00\x00\x00"#),
        (
            "SETBIT bm -1 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm x 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm 4294967296 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm 1 2",
            "-ERR bit is not an integer or out of range",
        ),
        (
            "SETBIT bm 1 -1",
            "-ERR bit is not an integer or out of range",
        ),
        (
            "SETBIT bm 1 x",
            "-ERR bit is not an integer or out of range",
        ),
        (
            "SETBIT bm x x",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "GETBIT bm -1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "GETBIT bm 4294967296",
            "-ERR bit offset is not an integer or out of range",
        ),
        ("GETBIT bm 4294967295", ":0"),
        (
            r#"GETBIT bm " 1""#,
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm 0",
            "-ERR wrong number of arguments for 'setbit' command",
        ),
        (
            "GETBIT bm",
            "-ERR wrong number of arguments for 'getbit' command",
        ),
        (r#"SET str "\x80""#, "+OK"),
        ("GETBIT str 0", ":1"),
        ("SETBIT str 1 1", ":0"),
        ("GET str", r#"$\xc0"#),
        ("SET num 1", "+OK"),
        ("SETBIT num 7 0", ":1"),
        ("GET num", "$0"),
        ("RPUSH list a", ":1"),
        (
            "SETBIT list 0 1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "GETBIT list 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "GETBIT list -1",
            "-ERR bit offset is not an integer or out of range",
        ),
        ("SET ttl a EX 1000", "+OK"),
        ("SETBIT ttl 3 1", ":0"),
        ("PERSIST ttl", ":1"),
    ]);
}

/// BITCOUNT: whole string, BYTE and BIT ranges, negative indexes, clamping; a missing key
/// answers 0 before its arguments are read.
#[test]
fn bitcount() {
    check(&[
        ("RPUSH list a", ":1"),
        ("SET foo foobar", "+OK"),
        ("BITCOUNT foo", ":26"),
        ("BITCOUNT foo 0 0", ":4"),
        ("BITCOUNT foo 1 1", ":6"),
        ("BITCOUNT foo 1 1 BYTE", ":6"),
        ("BITCOUNT foo 5 30 BIT", ":17"),
        ("BITCOUNT foo 5 30 bit", ":17"),
        ("BITCOUNT foo 0 -1", ":26"),
        ("BITCOUNT foo -2 -1", ":7"),
        ("BITCOUNT foo -100 100", ":26"),
        ("BITCOUNT foo 3 1", ":0"),
        ("BITCOUNT foo -1 -2", ":0"),
        ("BITCOUNT foo -1 -2 NOPE", ":0"),
        ("BITCOUNT foo 0 -1 BIT", ":26"),
        ("BITCOUNT foo 1 1 BIT", ":1"),
        ("BITCOUNT foo 7 8 BIT", ":0"),
        ("BITCOUNT foo -5 -1 BIT", ":2"),
        ("BITCOUNT foo 47 47 BIT", ":0"),
        ("BITCOUNT foo 48 100 BIT", ":0"),
        ("BITCOUNT foo 0", "-ERR syntax error"),
        ("BITCOUNT foo 0 1 NOPE", "-ERR syntax error"),
        ("BITCOUNT foo 0 1 BIT extra", "-ERR syntax error"),
        (
            "BITCOUNT foo a 1",
            "-ERR value is not an integer or out of range",
        ),
        (
            "BITCOUNT foo 0 b",
            "-ERR value is not an integer or out of range",
        ),
        ("BITCOUNT nosuch", ":0"),
        ("BITCOUNT nosuch 0", ":0"),
        ("BITCOUNT nosuch a b c d", ":0"),
        (r#"SET empty """#, "+OK"),
        ("BITCOUNT empty", ":0"),
        ("BITCOUNT empty 0 -1", ":0"),
        ("BITCOUNT empty 0 -1 BIT", ":0"),
        (
            "BITCOUNT list",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BITCOUNT",
            "-ERR wrong number of arguments for 'bitcount' command",
        ),
    ]);
}

/// BITPOS: the first set or clear bit; without an end the string counts as zero-padded,
/// with one it does not.
#[test]
fn bitpos() {
    check(&[
        ("RPUSH list a", ":1"),
        (r#"SET empty """#, "+OK"),
        (r#"SET bp "\xff\xf0\x00""#, "+OK"),
        ("BITPOS bp 0", ":12"),
        ("BITPOS bp 1", ":0"),
        (r#"SET bp "\x00\xff\xf0""#, "+OK"),
        ("BITPOS bp 1 0", ":8"),
        ("BITPOS bp 1 2", ":16"),
        ("BITPOS bp 1 2 -1 BYTE", ":16"),
        ("BITPOS bp 1 7 15 BIT", ":8"),
        ("BITPOS bp 1 7 -3 BIT", ":8"),
        ("BITPOS bp 0 1 1", ":-1"),
        ("BITPOS bp 0 2 2 BYTE", ":20"),
        ("BITPOS bp 0 8 11 BIT", ":-1"),
        ("BITPOS bp 0 8 12 BIT", ":-1"),
        ("BITPOS bp 0 20 21 BIT", ":20"),
        ("BITPOS bp 1 20 23 BIT", ":-1"),
        ("BITPOS bp 0 -1 -1 BIT", ":23"),
        ("BITPOS bp 1 3 2", ":-1"),
        ("BITPOS bp 1 100", ":-1"),
        ("BITPOS bp 0 100", ":-1"),
        ("BITPOS bp 1 -100 -50", ":-1"),
        (r#"SET ones "\xff\xff""#, "+OK"),
        ("BITPOS ones 0", ":16"),
        ("BITPOS ones 0 0", ":16"),
        ("BITPOS ones 0 1", ":16"),
        ("BITPOS ones 0 0 -1", ":-1"),
        ("BITPOS ones 0 0 1 BYTE", ":-1"),
        ("BITPOS ones 0 0 15 BIT", ":-1"),
        ("BITPOS ones 0 3 5 BIT", ":-1"),
        ("BITPOS ones 1 3 5 BIT", ":3"),
        (r#"SET zeros "\x00\x00\x00""#, "+OK"),
        ("BITPOS zeros 1", ":-1"),
        ("BITPOS zeros 0", ":0"),
        ("BITPOS zeros 1 1", ":-1"),
        ("BITPOS zeros 0 1 2", ":8"),
        ("BITPOS zeros 1 0 -1 BIT", ":-1"),
        ("BITPOS empty 0", ":-1"),
        ("BITPOS empty 1", ":-1"),
        ("BITPOS empty 0 0", ":-1"),
        ("BITPOS nosuch 0", ":0"),
        ("BITPOS nosuch 1", ":-1"),
        ("BITPOS nosuch 1 a b", ":-1"),
        ("BITPOS nosuch 2", "-ERR The bit argument must be 1 or 0."),
        ("BITPOS bp 2", "-ERR The bit argument must be 1 or 0."),
        ("BITPOS bp -1", "-ERR The bit argument must be 1 or 0."),
        (
            "BITPOS bp x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "BITPOS bp 1 x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "BITPOS bp 1 0 x",
            "-ERR value is not an integer or out of range",
        ),
        ("BITPOS bp 1 0 x NOPE", "-ERR syntax error"),
        ("BITPOS bp 1 0 1 NOPE", "-ERR syntax error"),
        ("BITPOS bp 1 0 1 BIT extra", "-ERR syntax error"),
        (
            "BITPOS list 1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("BITPOS list 3", "-ERR The bit argument must be 1 or 0."),
        (
            "BITPOS bp",
            "-ERR wrong number of arguments for 'bitpos' command",
        ),
    ]);
}

/// BITOP: missing sources are empty strings; the result replaces dest (its type and TTL
/// too); an empty result deletes dest.
#[test]
fn bitop() {
    check(&[
        ("RPUSH list a", ":1"),
        (r#"SET k1 "\xff\x0f""#, "+OK"),
        (r#"SET k2 "\x0f""#, "+OK"),
        ("BITOP AND dest k1 k2", ":2"),
        ("GET dest", r#"$\x0f\x00"#),
        ("BITOP OR dest k1 k2", ":2"),
        ("GET dest", r#"$\xff\x0f"#),
        ("BITOP XOR dest k1 k2", ":2"),
        ("GET dest", r#"$\xf0\x0f"#),
        ("BITOP NOT dest k1", ":2"),
        ("GET dest", r#"$\x00\xf0"#),
        ("BITOP and dest k1 k2 nosuch", ":2"),
        ("GET dest", r#"$\x00\x00"#),
        ("BITOP or dest nosuch k2", ":1"),
        ("GET dest", r#"$\x0f"#),
        ("BITOP XOR dest k1 k1 k2", ":2"),
        ("GET dest", r#"$\x0f\x00"#),
        ("BITOP NOT dest nosuch", ":0"),
        ("EXISTS dest", ":0"),
        ("BITOP AND dest nosuch other", ":0"),
        ("EXISTS dest", ":0"),
        ("BITOP AND k1 k1 k2", ":2"),
        ("GET k1", r#"$\x0f\x00"#),
        (
            "BITOP NOT dest k1 k2",
            "-ERR BITOP NOT must be called with a single source key.",
        ),
        ("BITOP NAND dest k1", "-ERR syntax error"),
        (
            "BITOP AND dest k1 list",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BITOP AND dest",
            "-ERR wrong number of arguments for 'bitop' command",
        ),
        ("SET withttl x EX 1000", "+OK"),
        ("BITOP OR withttl k2", ":1"),
        ("PERSIST withttl", ":0"),
        ("BITOP OR list k2", ":1"),
        ("TYPE list", "+string"),
        ("GET list", r#"$\x0f"#),
        ("RPUSH list2 a", ":1"),
        ("BITOP AND list2 nosuch", ":0"),
        ("EXISTS list2", ":0"),
    ]);
}

/// BITFIELD: GET SET INCRBY under OVERFLOW WRAP|SAT|FAIL, `#N` offsets, the type grammar,
/// and every subcommand parsed before any runs.
#[test]
fn bitfield() {
    check(&[
        ("BITFIELD bf INCRBY i5 100 1 GET u4 0", "[:1, :0]"),
        ("BITFIELD bf SET i8 #0 100 SET i8 #1 200", "[:0, :0]"),
        ("BITFIELD bf GET i8 #0 GET i8 #1 GET u8 8 GET i16 0 GET u16 0", "[:100, :-56, :200, :25800, :25800]"),
        ("BITFIELD bf SET u2 100 3", "[:0]"),
        ("BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1", "[:0, :1]"),
        ("BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1", "[:1, :2]"),
        ("BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1", "[:2, :3]"),
        ("BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1", "[:3, :3]"),
        ("BITFIELD bf OVERFLOW FAIL INCRBY u2 102 1", "[nil]"),
        ("BITFIELD bf overflow fail incrby u2 102 -1 overflow wrap incrby u2 102 -5", "[:2, :1]"),
        ("BITFIELD bf OVERFLOW SAT INCRBY i8 #0 200 INCRBY i8 #0 -300 INCRBY u8 #0 -300", "[:127, :-128, :0]"),
        ("BITFIELD bf OVERFLOW WRAP INCRBY i8 #0 200 INCRBY u8 #0 300", "[:-56, :244]"),
        ("BITFIELD bf SET i64 0 -9223372036854775808 INCRBY i64 0 -1 GET i64 0", "[:-808396133113004032, :9223372036854775807, :9223372036854775807]"),
        ("BITFIELD bf OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -9223372036854775808", "[:9223372036854775807, :9223372036854775807, :-1]"),
        ("BITFIELD bf SET u63 0 -1 GET u63 0 OVERFLOW SAT SET u63 0 -1 GET u63 0", "[:9223372036854775807, :9223372036854775807, :9223372036854775807, :9223372036854775807]"),
        ("BITFIELD bf OVERFLOW FAIL SET u8 0 256 SET i8 0 -129 SET i8 0 127 GET i8 0", "[nil, nil, :-1, :127]"),
        ("BITFIELD bf SET i1 3 -1 GET i1 3 GET u1 3 SET i1 3 1 GET i1 3", "[:-1, :-1, :1, :-1, :-1]"),
        ("BITFIELD bf GET u8 1000 GET i64 64 GET u63 #3", "[:0, :226492416, :0]"),
        ("GET bf", r#"$\x7f\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x0d\x80"#),
        ("BITFIELD fresh OVERFLOW FAIL INCRBY u8 16 300", "[nil]"),
        ("GET fresh", r#"$\x00\x00\x00"#),
        ("BITFIELD fresh SET u8 16 0", "[:0]"),
        ("BITFIELD bf", "[]"),
        ("BITFIELD nosuch GET u8 0", "[:0]"),
        ("EXISTS nosuch", ":0"),
        ("RPUSH wl a", ":1"),
        ("BITFIELD wl GET u8 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("BITFIELD wl SET u8 0 1", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("BITFIELD bf GET u64 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf GET i65 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf GET i0 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf GET I8 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf GET x8 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf GET u8 -1", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf GET u8 #-1", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf GET u8 #", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf GET u8 4294967296", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf GET u8 #536870912", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf GET u8 4294967295", "[:0]"),
        ("BITFIELD bf GET i64 #67108863", "[:0]"),
        ("BITFIELD bf GET i8 #2305843009213693952", "[:127]"),
        ("BITFIELD bf GET i8 #1152921504606846977", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf SET u8 0 x", "-ERR value is not an integer or out of range"),
        ("BITFIELD bf INCRBY u8 0 1.5", "-ERR value is not an integer or out of range"),
        ("BITFIELD bf SET u8 0", "-ERR syntax error"),
        ("BITFIELD bf GET u8", "-ERR syntax error"),
        ("BITFIELD bf OVERFLOW", "-ERR syntax error"),
        ("BITFIELD bf OVERFLOW NOPE", "-ERR Invalid OVERFLOW type specified"),
        ("BITFIELD bf NOPE u8 0", "-ERR syntax error"),
        ("BITFIELD bf GET u8 0 SET u8 0 1 GET u64 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf SET u8 0 1 GET u8 x", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD", "-ERR wrong number of arguments for 'bitfield' command"),
    ]);
}

/// BITFIELD_RO: GET only, refused after the whole command is parsed. BITFIELD keeps the
/// key's TTL.
#[test]
fn bitfield_ro() {
    check(&[
        ("BITFIELD bf SET u8 0 127 SET i16 16 -1", "[:0, :0]"),
        ("RPUSH wl a", ":1"),
        ("BITFIELD_RO bf GET u8 0 GET i16 #1", "[:127, :-1]"),
        ("BITFIELD_RO bf", "[]"),
        ("BITFIELD_RO nosuch GET u8 0", "[:0]"),
        ("BITFIELD_RO bf SET u8 0 1", "-ERR BITFIELD_RO only supports the GET subcommand"),
        ("BITFIELD_RO bf INCRBY u8 0 1 GET u64 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD_RO bf OVERFLOW SAT GET u8 0", "[:127]"),
        ("BITFIELD_RO bf GET u8", "-ERR syntax error"),
        ("BITFIELD_RO wl GET u8 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("BITFIELD_RO", "-ERR wrong number of arguments for 'bitfield_ro' command"),
        ("SET ttl2 a EX 1000", "+OK"),
        ("BITFIELD ttl2 SET u8 8 255", "[:0]"),
        ("PERSIST ttl2", ":1"),
    ]);
}

// ---- quorum-specific properties -------------------------------------------------------------

/// A write that changes nothing leaves the key untouched (a WATCH on it stays valid), as
/// Redis signals the key only when something changed.
#[test]
fn writes_that_change_nothing_touch_nothing() {
    let mut h = common::Harness::default();
    let ctx = ApplyContext {
        now_ms: h.now_ms,
        seed: 7,
    };
    let mut touched = |line: &str| {
        let (_, touched) = apply_write_touching(&mut h.ks, &escaped::args(line), &ctx);
        touched.keys.len()
    };
    assert_eq!(touched("SETBIT k 9 1"), 1);
    assert_eq!(touched("SETBIT k 9 1"), 0);
    assert_eq!(touched("SETBIT k 3 0"), 0);
    assert_eq!(touched("SETBIT k 3 1"), 1);
    assert_eq!(touched("BITFIELD k SET u4 0 1 GET u8 0"), 0);
    assert_eq!(touched("BITFIELD k INCRBY u4 0 0"), 0);
    assert_eq!(touched("BITFIELD k OVERFLOW FAIL INCRBY u4 0 100"), 0);
    assert_eq!(touched("BITFIELD k SET u4 0 2"), 1);
    assert_eq!(touched("BITFIELD k GET u8 100"), 0);
    assert_eq!(touched("BITFIELD k SET u8 100 0"), 1, "grew");
    assert_eq!(touched("BITOP AND none nosuch"), 0);
}

/// The largest offset reads fine; one more is refused before anything is allocated, so no
/// bitmap outgrows 512 MiB through SETBIT.
#[test]
fn offsets_stop_at_512_mib() {
    check(&[
        ("GETBIT k 4294967295", ":0"),
        (
            "SETBIT k 4294967296 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT k 9223372036854775807 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "BITFIELD k SET u8 4294967296 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "BITFIELD k SET i64 #67108864 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        ("BITFIELD_RO k GET i64 4294967295", "[:0]"),
        ("EXISTS k", ":0"),
    ]);
}
