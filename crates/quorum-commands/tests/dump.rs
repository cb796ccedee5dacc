//! DUMP and RESTORE through the same routing the server uses: payloads Redis 7.0.15 wrote
//! (or, for encodings it no longer writes, built by hand and checked on it) restore to the
//! values Redis holds; quorum's own DUMP restores to equal values; errors come in Redis's
//! order; and no byte string makes RESTORE panic (property tests over random and mutated
//! payloads, `dump/properties.rs`). A model-based property test (`dump/model.rs`) runs
//! random sequences of DUMP, RESTORE and the commands that build values against a
//! `BTreeMap` model.
//!
//! Values are compared in the keyspace itself (`Harness::ks`), which sees every element and
//! score exactly; the parity file `crates/quorum/tests/parity/dump.redis` compares replies
//! with a real Redis.

mod common;
#[path = "dump/model.rs"]
mod model;
#[path = "dump/properties.rs"]
mod properties;

use bytes::Bytes;
use common::{render, Harness, START_MS};
use quorum_keyspace::{HashValue, ListValue, SetValue, Value, ZSetValue};
use quorum_resp::Frame;

pub(crate) const BAD_DATA: &str = "-ERR Bad data format";
pub(crate) const BAD_FOOTER: &str = "-ERR DUMP payload version or checksum are wrong";
pub(crate) const BUSY: &str = "-BUSYKEY Target key name already exists.";

/// Payloads from Redis 7.0.15's DUMP, in hex.
pub(crate) mod redis_dumps {
    pub const STR: &str = "000b68656c6c6f20776f726c640a000bfc49b9a6c7a034";
    pub const INT8: &str = "00c0fb0a0049c4c6f4d7263f68";
    pub const INT16: &str = "00c139300a009d94ea2793fc08b9";
    pub const INT32: &str = "00c2ffffff7f0a002c74e59ee02eada1";
    pub const EMPTY: &str = "00000a005d9b5c400f7fa2da";
    pub const LZF: &str = "00c30928016161e01b000161610a00cf092faaae25831d";
    pub const LIST: &str = "120102c3274069126900000007008161020101dfff028001e04678e03c000648f2e0930404f4205d4000028009ff0a00b878c0087a74ef3e";
    pub const INTSET: &str = "0bc320300408000000052003a0000280feff80000001a010002ca00801701140080100000a00667c587d8147e777";
    pub const SET: &str = "02050162c00c000161c3094064016363e057000163630a00a02b46662a6c4649";
    pub const HASH: &str = "1023230000000800816602817602816e020c01800185656d70747906836e656704dffd02ff0a00410bbc29d75a8f87";
    pub const ZSET: &str = "11c3404440571c570000000c00816302842d696e6605816602dff90281640293302e3130e0050014311481610283312e3504816202020181650297312ee00522083031652b33303018ff0a00356c4df49a684813";
    pub const STREAM: &str = "130110000000000000000100000000000000011c1c0000000a00010100010101816102000102010001000101010401ff0101010101000001000a00297d780fd88aa62c";
}

/// Payloads in the encodings Redis 7.0 reads but no longer writes, built by hand and
/// restored on Redis 7.0.15 (the same bytes are in the parity file).
pub(crate) mod legacy {
    pub const QUICKLIST_V1: &str = "0e0211110000000d0000000200000161030162ff11110000000e000000030000f202f302f4ff0a006fd13cc08e311a9e";
    pub const ZIPLIST_HASH: &str =
        "0d161600000013000000040000016603017603016e03f8ff0a007a1413b8ac3b1170";
    pub const ZIPLIST_ZSET: &str = "0c21210000001b000000060000016303042d696e6606016103f20201620303322e35ff0a00b4f90ee3243a5af5";
    pub const ZIPMAP: &str = "090b02016601007601670000ff0a0095cb5e8d560b8069";
    pub const PLAIN_LIST: &str = "01030161c007000a0040225eb62162f9f3";
    pub const TEXT_SCORES: &str = "0302016103312e350162fe0a0005ed076fe4d508ea";
    pub const PLAIN_NODE: &str =
        "12020105616c6f6e65020f0f00000003008161020101dfff02ff0a009436580113d43789";
}

pub(crate) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// CRC-64/Jones, bit by bit (independent of the crate's table-driven one).
pub(crate) fn crc64(bytes: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &byte in bytes {
        crc ^= u64::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// `body` with an RDB version and a correct checksum after it.
pub(crate) fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

pub(crate) fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Runs RESTORE key ttl payload options... and renders the reply.
pub(crate) fn restore(
    h: &mut Harness,
    key: &str,
    ttl: &str,
    payload: &[u8],
    options: &[&str],
) -> String {
    let mut args = vec![
        b("RESTORE"),
        b(key),
        b(ttl),
        Bytes::copy_from_slice(payload),
    ];
    args.extend(options.iter().map(|o| b(o)));
    render(&h.run_args(&args))
}

pub(crate) fn dump(h: &mut Harness, key: &str) -> Option<Vec<u8>> {
    match h.run_args(&[b("DUMP"), b(key)]) {
        Frame::Bulk(payload) => Some(payload.to_vec()),
        Frame::Null => None,
        other => panic!("DUMP replied {other:?}"),
    }
}

/// The live value under `key`.
pub(crate) fn value(h: &Harness, key: &str) -> Option<Value> {
    h.ks.get(key.as_bytes(), h.now_ms).map(|e| e.value.clone())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| b(s)).collect::<ListValue>())
}

fn set(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|s| b(s)).collect::<SetValue>())
}

fn hash(pairs: &[(&str, &str)]) -> Value {
    Value::Hash(
        pairs
            .iter()
            .map(|(f, v)| (b(f), b(v)))
            .collect::<HashValue>(),
    )
}

fn zset(pairs: &[(&str, f64)]) -> Value {
    Value::ZSet(pairs.iter().map(|(m, s)| (b(m), *s)).collect::<ZSetValue>())
}

#[test]
fn payloads_redis_wrote_restore_to_the_values_redis_holds() {
    let c = "c".repeat(100);
    let x = "x".repeat(70);
    let cases: Vec<(&str, Value)> = vec![
        (redis_dumps::STR, Value::Str(b("hello world"))),
        (redis_dumps::INT8, Value::Str(b("-5"))),
        (redis_dumps::INT16, Value::Str(b("12345"))),
        (redis_dumps::INT32, Value::Str(b("2147483647"))),
        (redis_dumps::EMPTY, Value::Str(Bytes::new())),
        (redis_dumps::LZF, Value::Str(b(&"a".repeat(40)))),
        (
            redis_dumps::LIST,
            list(&["a", "1", "-1", "", &x, "300000", "-9223372036854775808"]),
        ),
        (
            redis_dumps::INTSET,
            set(&["1", "-2", "300", "70000", "-9223372036854775808"]),
        ),
        (redis_dumps::SET, set(&["a", "b", "", "12", &c])),
        (
            redis_dumps::HASH,
            hash(&[("f", "v"), ("n", "12"), ("", "empty"), ("neg", "-3")]),
        ),
        (
            redis_dumps::ZSET,
            zset(&[
                ("a", 1.5),
                ("b", 2.0),
                ("c", f64::NEG_INFINITY),
                ("d", 0.1),
                ("e", 1e300),
                ("f", -7.0),
            ]),
        ),
        (legacy::QUICKLIST_V1, list(&["a", "b", "1", "2", "3"])),
        (legacy::ZIPLIST_HASH, hash(&[("f", "v"), ("n", "7")])),
        (
            legacy::ZIPLIST_ZSET,
            zset(&[("a", 1.0), ("b", 2.5), ("c", f64::NEG_INFINITY)]),
        ),
        (legacy::ZIPMAP, hash(&[("f", "v"), ("g", "")])),
        (legacy::PLAIN_LIST, list(&["a", "7", ""])),
        (
            legacy::TEXT_SCORES,
            zset(&[("a", 1.5), ("b", f64::INFINITY)]),
        ),
        (legacy::PLAIN_NODE, list(&["alone", "a", "1", "-1"])),
    ];
    let mut h = Harness::default();
    for (i, (payload, want)) in cases.into_iter().enumerate() {
        let key = format!("k{i}");
        assert_eq!(
            restore(&mut h, &key, "0", &hex(payload), &[]),
            "+OK",
            "{payload}"
        );
        assert_eq!(value(&h, &key), Some(want), "{payload}");
        // And quorum's DUMP of it restores to the same value.
        let again = dump(&mut h, &key).unwrap();
        assert_eq!(
            restore(&mut h, &format!("copy{i}"), "0", &again, &[]),
            "+OK"
        );
        assert_eq!(value(&h, &format!("copy{i}")), value(&h, &key));
    }
}

#[test]
fn quorum_dumps_restore_to_equal_values() {
    let mut h = Harness::default();
    let long = "y".repeat(20_000);
    for line in [
        "SET s hello",
        "SET n 2147483648",
        "SET m -129",
        "RPUSH l a 1 \"\" -32769 b",
        "SADD st x 2 \"\"",
        "HSET h f v \"\" 12",
        "ZADD z 1.5 m -inf n 0 o 1e300 p",
    ] {
        h.line(line);
    }
    h.run_args(&[b("SET"), b("big"), b(&long)]);
    for i in 0..3000 {
        h.run_args(&[b("RPUSH"), b("bl"), Bytes::from(format!("element-{i}"))]);
        h.run_args(&[b("SADD"), b("bs"), Bytes::from(format!("{i}"))]);
        h.run_args(&[
            b("HSET"),
            b("bh"),
            Bytes::from(format!("f{i}")),
            b(&"v".repeat(i % 90)),
        ]);
        h.run_args(&[
            b("ZADD"),
            b("bz"),
            Bytes::from(format!("{}", i as f64 / 7.0)),
            Bytes::from(format!("m{i}")),
        ]);
    }
    for key in [
        "s", "n", "m", "big", "l", "st", "h", "z", "bl", "bs", "bh", "bz",
    ] {
        let payload = dump(&mut h, key).unwrap();
        assert_eq!(&payload[payload.len() - 10..payload.len() - 8], &[10, 0]);
        assert_eq!(
            restore(&mut h, &format!("{key}-copy"), "0", &payload, &[]),
            "+OK"
        );
        assert_eq!(value(&h, &format!("{key}-copy")), value(&h, key), "{key}");
    }
    assert_eq!(dump(&mut h, "nosuch"), None);
    assert_eq!(
        h.line("DUMP"),
        "-ERR wrong number of arguments for 'dump' command"
    );
    assert_eq!(
        h.line("RESTORE k 0"),
        "-ERR wrong number of arguments for 'restore' command"
    );
}

#[test]
fn ttls_are_relative_or_absolute_and_past_deadlines_restore_nothing() {
    let mut h = Harness::default();
    let p = hex(redis_dumps::STR);
    let deadline =
        |h: &Harness, key: &str| h.ks.get(key.as_bytes(), h.now_ms).map(|e| e.expires_at_ms);
    assert_eq!(restore(&mut h, "rel", "1500", &p, &[]), "+OK");
    assert_eq!(deadline(&h, "rel"), Some(Some(START_MS + 1500)));
    let at = (START_MS + 10).to_string();
    assert_eq!(restore(&mut h, "abs", &at, &p, &["ABSTTL"]), "+OK");
    assert_eq!(deadline(&h, "abs"), Some(Some(START_MS + 10)));
    assert_eq!(restore(&mut h, "none", "0", &p, &["absttl"]), "+OK");
    assert_eq!(deadline(&h, "none"), Some(None));
    // A deadline at or before now: OK, nothing stored; REPLACE has removed the old value.
    let now = START_MS.to_string();
    assert_eq!(restore(&mut h, "past", &now, &p, &["ABSTTL"]), "+OK");
    assert_eq!(value(&h, "past"), None);
    h.line("SET old v");
    assert_eq!(
        restore(&mut h, "old", "1", &p, &["ABSTTL", "REPLACE"]),
        "+OK"
    );
    assert_eq!(value(&h, "old"), None);
    // A relative TTL that overflows wraps into the past, as in Redis.
    assert_eq!(
        restore(&mut h, "wrap", &i64::MAX.to_string(), &p, &[]),
        "+OK"
    );
    assert_eq!(value(&h, "wrap"), None);
    // REPLACE drops the old deadline; IDLETIME and FREQ are accepted and change nothing.
    h.line("SET t v EX 100");
    assert_eq!(
        restore(&mut h, "t", "0", &p, &["REPLACE", "IDLETIME", "5"]),
        "+OK"
    );
    assert_eq!(deadline(&h, "t"), Some(None));
    assert_eq!(restore(&mut h, "f", "0", &p, &["FREQ", "255"]), "+OK");
    assert_eq!(h.line("GET f"), "$hello world");
}

#[test]
fn errors_come_in_redis_order() {
    let mut h = Harness::default();
    let p = hex(redis_dumps::STR);
    h.line("SET busy v");
    // Options first, then BUSYKEY, then the TTL, then the payload.
    assert_eq!(
        restore(&mut h, "busy", "0", &p, &["FOO"]),
        "-ERR syntax error"
    );
    assert_eq!(restore(&mut h, "busy", "-1", b"junk", &[]), BUSY);
    assert_eq!(restore(&mut h, "busy", "x", b"junk", &[]), BUSY);
    assert_eq!(
        restore(&mut h, "busy", "-1", b"junk", &["REPLACE"]),
        "-ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        restore(&mut h, "busy", "0", b"junk", &["REPLACE"]),
        BAD_FOOTER
    );
    assert_eq!(h.line("GET busy"), "$v");
    let cases: &[(&[&str], &str)] = &[
        (&["IDLETIME"], "-ERR syntax error"),
        (&["FREQ"], "-ERR syntax error"),
        (
            &["IDLETIME", "-1"],
            "-ERR Invalid IDLETIME value, must be >= 0",
        ),
        (
            &["IDLETIME", "x"],
            "-ERR value is not an integer or out of range",
        ),
        (
            &["FREQ", "256"],
            "-ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (
            &["FREQ", "-1"],
            "-ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (&["FREQ", "1", "IDLETIME", "1"], "-ERR syntax error"),
        (&["IDLETIME", "1", "FREQ", "1"], "-ERR syntax error"),
    ];
    for (options, want) in cases {
        assert_eq!(
            restore(&mut h, "new", "0", &p, options),
            *want,
            "{options:?}"
        );
    }
    assert_eq!(
        restore(&mut h, "new", "-1", &p, &[]),
        "-ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        restore(&mut h, "new", "1.5", &p, &[]),
        "-ERR value is not an integer or out of range"
    );
    let mut bad_crc = p.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let body = &p[..p.len() - 10];
    for payload in [&b""[..], b"short", &bad_crc, &with_footer(body, 11)] {
        assert_eq!(restore(&mut h, "new", "0", payload, &[]), BAD_FOOTER);
    }
    assert_eq!(
        restore(&mut h, "new", "0", &with_footer(body, 9), &[]),
        "+OK"
    );
    assert_eq!(value(&h, "new"), Some(Value::Str(b("hello world"))));
}

#[test]
fn bad_data_is_refused_including_what_redis_checks_only_when_sanitizing() {
    let mut h = Harness::default();
    let bodies: &[&[u8]] = &[
        b"\x08\x01a",                                     // not a value type
        b"\x14\x01a",                                     // a set listpack: Redis 7.2
        b"\x07\x81\x00\x00\x00\x00\x00\x00\x00\x01",      // a module value
        b"\x02\x03\x01a\x01b",                            // truncated
        b"\x02\x02\x01a\x01a",                            // repeated member
        b"\x12\x00",                                      // empty list
        b"\x00\x82abc",                                   // bad length encoding
        b"\x00\xc4abc",                                   // bad string encoding
        b"\x00\xc3\x02\x05\x00\x41",                      // LZF shorter than stated
        b"\x12\x01\x03\x01a",                             // bad quicklist container
        b"\x12\x01\x02\x00",                              // empty quicklist node
        b"\x05\x01\x01a\x00\x00\x00\x00\x00\x00\xf8\x7f", // NaN score
        b"\x03\x01\x01a\xfd",                             // NaN text score
        // Refused by Redis only with sanitize-dump-payload yes; quorum always checks:
        b"\x04\x02\x01f\x01v\x01f\x01w", // repeated hash field
        b"\x10\x0a\x0a\x00\x00\x00\x01\x00\x81a\x02\xff", // odd hash listpack
        b"\x12\x01\x02\x0f\x0f\x00\x00\x00\x03\x00\x81a\x03\x01\x01\xdf\xff\x02\xff", // bad backlen
        b"\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00", // intset out of order
        b"\x11\x0f\x0f\x00\x00\x00\x02\x00\x81a\x02\x83nan\x04\xff", // NaN listpack score
    ];
    for body in bodies {
        let payload = with_footer(body, 10);
        assert_eq!(
            restore(&mut h, "k", "0", &payload, &[]),
            BAD_DATA,
            "{body:?}"
        );
        assert_eq!(
            restore(&mut h, "k", "0", &payload, &["REPLACE"]),
            BAD_DATA,
            "{body:?}"
        );
    }
    // Streams: quorum has none.
    assert_eq!(
        restore(&mut h, "k", "0", &hex(redis_dumps::STREAM), &[]),
        BAD_DATA
    );
    assert_eq!(value(&h, "k"), None);
}

#[test]
fn reads_run_into_the_footer_as_in_redis() {
    let mut h = Harness::default();
    // A 5-byte string of which 4 bytes are the footer; an LZF string stated empty.
    assert_eq!(
        restore(&mut h, "a", "0", &hex("0005610a007154251ba7db4ad1"), &[]),
        "+OK"
    );
    assert_eq!(
        value(&h, "a"),
        Some(Value::Str(Bytes::from_static(b"a\n\x00qT")))
    );
    assert_eq!(
        restore(
            &mut h,
            "b",
            "0",
            &hex("00c3020000410a00fc51715e29b901d1"),
            &[]
        ),
        "+OK"
    );
    assert_eq!(value(&h, "b"), Some(Value::Str(Bytes::new())));
}
