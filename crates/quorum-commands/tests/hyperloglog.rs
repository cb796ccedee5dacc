//! Reply tables for Redis's `hyperloglog` group (PFADD PFCOUNT PFMERGE), recorded from Redis
//! 7.0.15, including the stored bytes (GET) of sparse and dense values; and the estimator's
//! accuracy (`hyperloglog/accuracy.rs`): exact for small sets but for elements sharing a
//! register, within Redis's documented error on large ones, equal to Redis's for the same
//! elements.
//!
//! The tables are the sections of `crates/quorum/tests/parity/hyperloglog.redis` (each run
//! after FLUSHALL on Redis 7.0.15; a section that uses a key from an earlier one creates
//! it first); keep the two in step. Dense values (12 KiB) are compared by an FNV-1a digest
//! of Redis's bytes. GET of an HLL is compared only before any PFCOUNT of that key: Redis
//! writes its estimate into the value's cache bytes, quorum's PFCOUNT is a read.

#[path = "hyperloglog/accuracy.rs"]
mod accuracy;
mod common;
#[path = "bitmap/escaped.rs"]
mod escaped;

use common::Harness;
use escaped::{args, check, run};
use quorum_resp::Frame;

/// The value under `key` (GET).
pub(crate) fn get(h: &mut Harness, key: &str) -> Vec<u8> {
    match h.run_args(&args(&format!("GET {key}"))) {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("GET {key}: {other:?}"),
    }
}

/// FNV-1a (64 bits) of the value under `key`.
pub(crate) fn digest(h: &mut Harness, key: &str) -> u64 {
    get(h, key).iter().fold(0xcbf2_9ce4_8422_2325, |d, &b| {
        (d ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Adds `e{from}` .. `e{to - 1}` to `key`, 250 per PFADD.
pub(crate) fn add_range(h: &mut Harness, key: &str, from: usize, to: usize) {
    for start in (from..to).step_by(250) {
        let elements: Vec<String> = (start..to.min(start + 250))
            .map(|i| format!("e{i}"))
            .collect();
        assert_eq!(run(h, &format!("PFADD {key} {}", elements.join(" "))), ":1");
    }
}

pub(crate) fn count(h: &mut Harness, keys: &str) -> i64 {
    match h.run_args(&args(&format!("PFCOUNT {keys}"))) {
        Frame::Integer(n) => n,
        other => panic!("PFCOUNT {keys}: {other:?}"),
    }
}

/// The keys `h1` and `h3` of the parity file.
const SMALL_KEYS: &[(&str, &str)] = &[
    ("PFADD h1 a b c", ":1"),
    ("PFADD h1 d", ":1"),
    (
        r#"PFADD h3 "" "\x00\xff" 1234567 "a longer element of several words""#,
        ":1",
    ),
];

// ---- Reply tables (recorded from Redis 7.0.15) ---------------------------------------------

/// PFADD creates a sparse HLL (1 when a register changed or the key is new); PFCOUNT of one
/// key, of several (their union), of none that exist.
#[test]
fn pfadd_and_pfcount() {
    check(&[
        ("PFADD h1 a b c", ":1"),
        (
            "GET h1",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"#,
        ),
        ("PFADD h1 a b c", ":0"),
        ("PFADD h1 d", ":1"),
        (
            "GET h1",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x5c{\x80Dv\x80P\xb1\x84K\xfb\x80BZ"#,
        ),
        ("PFADD h2", ":1"),
        (
            "GET h2",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"#,
        ),
        ("PFADD h2", ":0"),
        (
            r#"PFADD h3 "" "\x00\xff" 1234567 "a longer element of several words""#,
            ":1",
        ),
        (
            "GET h3",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80D\xa9\x84J\xb5\x80G\xcf\x84Q#\x88W\xa7"#,
        ),
        ("PFCOUNT h1", ":4"),
        ("PFCOUNT h2", ":0"),
        ("PFCOUNT h3", ":4"),
        ("PFCOUNT nosuch", ":0"),
        ("PFCOUNT h1 h3 nosuch", ":8"),
        ("PFCOUNT h1 h1", ":4"),
        ("PFCOUNT nosuch other", ":0"),
        (
            "PFADD",
            "-ERR wrong number of arguments for 'pfadd' command",
        ),
        (
            "PFCOUNT",
            "-ERR wrong number of arguments for 'pfcount' command",
        ),
    ]);
}

/// Small adds split the sparse opcodes (ZERO, XZERO, VAL) and merge equal neighbours.
#[test]
fn sparse_opcodes_split_and_merge() {
    let mut h = Harness::default();
    for (line, expected) in [
        ("PFADD small s0_0", ":1"),
        ("PFADD small s1_0 s1_1 s1_2 s1_3 s1_4 s1_5 s1_6 s1_7", ":1"),
        ("PFADD small s2_0 s2_1 s2_2 s2_3", ":1"),
        (
            "PFADD small s3_0 s3_1 s3_2 s3_3 s3_4 s3_5 s3_6 s3_7 s3_8 s3_9 s3_10",
            ":1",
        ),
        ("PFADD small s4_0 s4_1 s4_2 s4_3 s4_4 s4_5 s4_6", ":1"),
        ("PFADD small s5_0 s5_1 s5_2", ":1"),
        (
            "PFADD small s6_0 s6_1 s6_2 s6_3 s6_4 s6_5 s6_6 s6_7 s6_8 s6_9",
            ":1",
        ),
        ("PFADD small s7_0 s7_1 s7_2 s7_3 s7_4 s7_5", ":1"),
        ("PFADD small s8_0 s8_1", ":1"),
        (
            "PFADD small s9_0 s9_1 s9_2 s9_3 s9_4 s9_5 s9_6 s9_7 s9_8",
            ":1",
        ),
        ("PFADD small s10_0 s10_1 s10_2 s10_3 s10_4", ":1"),
        ("PFADD small s11_0", ":1"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
    assert_eq!(get(&mut h, "small").len(), 201);
    assert_eq!(digest(&mut h, "small"), 0x219d_c10b_ce42_6b3b);
}

/// A growing sparse value is edited in place, then turns dense when it would pass
/// `hll-sparse-max-bytes` (3000): the bytes are Redis's at every step.
#[test]
fn growing_turns_dense_past_3000_bytes() {
    let mut h = Harness::default();
    add_range(&mut h, "big", 0, 750);
    assert_eq!(run(&mut h, "STRLEN big"), ":1482");
    assert_eq!(digest(&mut h, "big"), 0x9ab1_ab60_6701_ce33);
    add_range(&mut h, "big", 750, 1500);
    assert_eq!(run(&mut h, "STRLEN big"), ":2719");
    assert_eq!(digest(&mut h, "big"), 0xd67e_e50b_81f2_a28c);
    add_range(&mut h, "big", 1500, 2000);
    assert_eq!(run(&mut h, "STRLEN big"), ":12304");
    assert_eq!(digest(&mut h, "big"), 0x1b55_76fa_1f6b_8092);
    assert_eq!(run(&mut h, "PFADD big e1 e2 e3"), ":0");
    assert_eq!(run(&mut h, "PFADD big new1 new2"), ":1");
    assert_eq!(digest(&mut h, "big"), 0x04e0_6a63_e31c_596a);
    for (line, expected) in SMALL_KEYS {
        assert_eq!(run(&mut h, line), *expected);
    }
    assert_eq!(run(&mut h, "PFCOUNT big"), ":2002");
    assert_eq!(run(&mut h, "PFCOUNT big h1 h3"), ":2010");
}

/// PFMERGE: dest becomes the union of itself and the sources; it is created when absent,
/// turns dense when any input is dense, and keeps its TTL.
#[test]
fn pfmerge() {
    let mut h = Harness::default();
    for (line, expected) in SMALL_KEYS {
        assert_eq!(run(&mut h, line), *expected);
    }
    add_range(&mut h, "big", 0, 2000);
    assert_eq!(run(&mut h, "PFADD big new1 new2"), ":1");
    for i in 0..12 {
        let elements: Vec<String> = (0..i * 7 % 11 + 1).map(|j| format!("s{i}_{j}")).collect();
        assert_eq!(
            run(&mut h, &format!("PFADD small {}", elements.join(" "))),
            ":1"
        );
    }
    for (line, expected) in [
        ("PFMERGE m1 h1 h3", "+OK"),
        (
            "GET m1",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80D\xa9\x84J\xb5\x80G\xcf\x84EH\x80Dv\x80Ga\x88IN\x84K\xfb\x80BZ"#,
        ),
        ("PFMERGE m2 h1 big", "+OK"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
    assert_eq!(digest(&mut h, "m2"), 0x942f_b3dd_78d9_6a2d);
    for (line, expected) in [
        ("PFMERGE m3", "+OK"),
        (
            "GET m3",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"#,
        ),
        ("PFMERGE m4 nosuch", "+OK"),
        (
            "GET m4",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"#,
        ),
        ("PFMERGE small h1 h3", "+OK"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
    assert_eq!(digest(&mut h, "small"), 0x20f5_b101_787f_ca19);
    for (line, expected) in [
        ("PFCOUNT small", ":75"),
        ("PFMERGE big h1", "+OK"),
        ("STRLEN big", ":12304"),
        ("PFCOUNT m1", ":8"),
        ("PFCOUNT m2", ":2007"),
        ("PFCOUNT m3", ":0"),
        ("PFCOUNT m1 m2", ":2010"),
        ("SET t1 x", "+OK"),
        ("DEL t1", ":1"),
        ("PFADD t1 a", ":1"),
        ("EXPIRE t1 1000", ":1"),
        ("PFMERGE t1 h3", "+OK"),
        ("PFADD t1 zz", ":1"),
        ("PERSIST t1", ":1"),
        (
            "PFMERGE",
            "-ERR wrong number of arguments for 'pfmerge' command",
        ),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
}

/// Strings that are not HLLs, other types, a valid cache answered as is, and corrupted
/// sparse values (detected when a command reaches the damage, as in Redis).
#[test]
fn values_that_are_not_hlls() {
    check(&[
        SMALL_KEYS[0],
        SMALL_KEYS[1],
        ("SET s notanhll", "+OK"),
        (
            "PFADD s a",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFCOUNT s",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFCOUNT h1 s",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFMERGE s h1",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFMERGE h1 s",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        ("RPUSH l a", ":1"),
        (
            "PFADD l a",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "PFCOUNT l",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "PFCOUNT h1 l",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "PFMERGE l h1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "PFMERGE dst l",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("EXISTS dst", ":0"),
        ("SET short HYLL", "+OK"),
        (
            "PFCOUNT short",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            r#"SET badenc "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff""#,
            "+OK",
        ),
        (
            "PFADD badenc a",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            r#"SET badmagic "HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff""#,
            "+OK",
        ),
        (
            "PFCOUNT badmagic",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            r#"SET cached "HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x7f\xff""#,
            "+OK",
        ),
        ("PFCOUNT cached", ":5"),
        ("PFCOUNT cached cached", ":0"),
        ("PFADD cached a", ":1"),
        (
            "GET cached",
            r#"$HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x80q\xa6\x84NW"#,
        ),
        ("PFCOUNT cached", ":1"),
        ("PFADD tail a b c", ":1"),
        ("APPEND tail hello", ":32"),
        ("PFCOUNT tail", "-INVALIDOBJ Corrupted HLL object detected"),
        (
            "PFCOUNT tail h1",
            "-INVALIDOBJ Corrupted HLL object detected",
        ),
        (
            "PFMERGE dst tail",
            "-INVALIDOBJ Corrupted HLL object detected",
        ),
        ("PFADD tail d e f", ":1"),
        (
            "GET tail",
            r#"$HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80Fm\x80V\x0c\x80Dv\x80P\xb1\x84I\x8c\x80Bm\x80BZhello"#,
        ),
        (
            r#"SET cut "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f""#,
            "+OK",
        ),
        ("PFADD cut a", ":1"),
        ("PFCOUNT cut", "-INVALIDOBJ Corrupted HLL object detected"),
        (
            "PFMERGE dst cut",
            "-INVALIDOBJ Corrupted HLL object detected",
        ),
        (
            r#"SET nobody "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80""#,
            "+OK",
        ),
        (
            "PFADD nobody a",
            "-INVALIDOBJ Corrupted HLL object detected",
        ),
        (
            "PFCOUNT nobody",
            "-INVALIDOBJ Corrupted HLL object detected",
        ),
    ]);
}

/// Dense values built by hand (SETRANGE): all registers zero with a valid cache, then
/// PFADD and PFMERGE on them; a register of 40, above what a sparse opcode can hold, merged
/// into a sparse destination.
#[test]
fn dense_values_built_by_hand() {
    let mut h = Harness::default();
    for (line, expected) in SMALL_KEYS {
        assert_eq!(run(&mut h, line), *expected);
    }
    for (line, expected) in [
        ("SET dense HYLL", "+OK"),
        (r#"SETRANGE dense 12303 "\x00""#, ":12304"),
        ("PFCOUNT dense", ":0"),
        ("PFADD dense a b c", ":1"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
    assert_eq!(digest(&mut h, "dense"), 0xdf4a_4aa5_8d68_bf22);
    assert_eq!(run(&mut h, "PFMERGE fromdense h1 dense"), "+OK");
    assert_eq!(digest(&mut h, "fromdense"), 0x9e03_38e8_65d7_a5ed);
    for (line, expected) in [
        ("APPEND dense x", ":12305"),
        (
            "PFADD dense a",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFCOUNT dense",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        ("SET hi HYLL", "+OK"),
        (r#"SETRANGE hi 12303 "\x00""#, ":12304"),
        (r#"SETRANGE hi 16 "\x00\x0a""#, ":12304"),
        (r#"SETRANGE hi 15 "\x80""#, ":12304"),
        ("PFADD sp x y", ":1"),
        ("PFMERGE sp hi", "+OK"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
    assert_eq!(digest(&mut h, "sp"), 0x0197_9a18_b6a3_1f85);
    for (line, expected) in [
        ("STRLEN sp", ":12304"),
        ("PFCOUNT hi", ":1"),
        ("PFCOUNT sp", ":3"),
        ("PFCOUNT hi h1 h3", ":9"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
}
