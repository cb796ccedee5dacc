//! Reply tables for Redis's `hash` group, checked against Redis 7.0.15; the properties of
//! its random and scanning replies (`hash/properties.rs`); and the model-based property
//! test against a `BTreeMap` of `BTreeMap`s (`hash/model.rs`).
//!
//! Tables marked `@local` hold quorum-specific replies (the pick limit, `f64` rather than
//! `long double` arithmetic) that Redis answers differently; every other table is Redis's
//! exact answer.

mod common;
#[path = "hash/model.rs"]
mod model;
#[path = "hash/properties.rs"]
mod properties;

use common::{check, tokenize, Harness};
use quorum_resp::Frame;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn set_get_and_count_fields() {
    check(&[
        ("HSET h a 1 b 2 c 3", ":3"),
        ("HSET h a 10 d 4", ":1"),
        ("HSET h a 11 a 12", ":0"),
        ("HGET h a", "$12"),
        ("HGET h zz", "nil"),
        ("HGET nokey a", "nil"),
        ("HSET h \"\" \"\"", ":1"),
        ("HGET h \"\"", "$"),
        ("HMGET h a zz b \"\"", "[$12, nil, $2, $]"),
        ("HMGET nokey a b", "[nil, nil]"),
        ("HLEN h", ":5"),
        ("HLEN nokey", ":0"),
        ("HEXISTS h a", ":1"),
        ("HEXISTS h zz", ":0"),
        ("HEXISTS nokey a", ":0"),
        ("HSTRLEN h a", ":2"),
        ("HSTRLEN h \"\"", ":0"),
        ("HSTRLEN h zz", ":0"),
        ("HSTRLEN nokey a", ":0"),
        ("hset H x y", ":1"),
        ("HGET H x", "$y"),
        ("TYPE h", "+hash"),
    ]);
}

#[test]
fn hsetnx_and_hmset() {
    check(&[
        ("HSETNX h a 1", ":1"),
        ("HSETNX h a 2", ":0"),
        ("HGET h a", "$1"),
        ("HSETNX h b 2", ":1"),
        ("HMSET h a 5 c 6", "+OK"),
        ("HGETALL h", "[$a, $5, $b, $2, $c, $6]"),
        ("HMSET new x 1", "+OK"),
        ("HGET new x", "$1"),
    ]);
}

#[test]
fn hdel_counts_existing_fields_and_drops_the_empty_hash() {
    check(&[
        ("HSET h a 1 b 2 c 3", ":3"),
        ("HDEL h zz", ":0"),
        ("HDEL h a a zz", ":1"),
        ("HDEL nokey a", ":0"),
        ("HLEN h", ":2"),
        ("HDEL h b c", ":2"),
        ("EXISTS h", ":0"),
        ("HLEN h", ":0"),
        ("HGETALL h", "[]"),
    ]);
}

#[test]
fn whole_hash_reads_in_insertion_order() {
    check(&[
        ("HGETALL nokey", "[]"),
        ("HKEYS nokey", "[]"),
        ("HVALS nokey", "[]"),
        ("HSET h b 2 a 1 c 3", ":3"),
        ("HGETALL h", "[$b, $2, $a, $1, $c, $3]"),
        ("HKEYS h", "[$b, $a, $c]"),
        ("HVALS h", "[$2, $1, $3]"),
        ("HSET h b 20", ":0"),
        ("HVALS h", "[$20, $1, $3]"),
        ("HDEL h c", ":1"),
        ("HKEYS h", "[$b, $a]"),
    ]);
}

#[test]
fn wrong_type_for_every_command() {
    check(&[
        ("SET s v", "+OK"),
        ("HSET s a 1", WRONGTYPE),
        ("HSETNX s a 1", WRONGTYPE),
        ("HMSET s a 1", WRONGTYPE),
        ("HGET s a", WRONGTYPE),
        ("HMGET s a", WRONGTYPE),
        ("HDEL s a", WRONGTYPE),
        ("HEXISTS s a", WRONGTYPE),
        ("HLEN s", WRONGTYPE),
        ("HSTRLEN s a", WRONGTYPE),
        ("HGETALL s", WRONGTYPE),
        ("HKEYS s", WRONGTYPE),
        ("HVALS s", WRONGTYPE),
        ("HINCRBY s a 1", WRONGTYPE),
        ("HINCRBYFLOAT s a 1", WRONGTYPE),
        ("HRANDFIELD s", WRONGTYPE),
        ("HRANDFIELD s 1", WRONGTYPE),
        ("HRANDFIELD s 0", WRONGTYPE),
        ("HRANDFIELD s -1 WITHVALUES", WRONGTYPE),
        ("HSCAN s 0", WRONGTYPE),
        ("HSCAN s 0 COUNT 0", WRONGTYPE),
        ("GET s", "$v"),
        // Checked before the type, as Redis does.
        (
            "HINCRBY s a x",
            "-ERR value is not an integer or out of range",
        ),
        ("HINCRBYFLOAT s a x", "-ERR value is not a valid float"),
        ("HINCRBYFLOAT s a inf", "-ERR value is NaN or Infinity"),
        (
            "HRANDFIELD s x",
            "-ERR value is not an integer or out of range",
        ),
        ("HRANDFIELD s 1 foo", "-ERR syntax error"),
        ("HSCAN s x", "-ERR invalid cursor"),
        (
            "HSET s a",
            "-ERR wrong number of arguments for 'hset' command",
        ),
    ]);
}

#[test]
fn arity_errors() {
    check(&[
        (
            "HSET h",
            "-ERR wrong number of arguments for 'hset' command",
        ),
        (
            "HSET h a",
            "-ERR wrong number of arguments for 'hset' command",
        ),
        (
            "HSET h a 1 b",
            "-ERR wrong number of arguments for 'hset' command",
        ),
        (
            "HMSET h a 1 b",
            "-ERR wrong number of arguments for 'hmset' command",
        ),
        (
            "HSETNX h a",
            "-ERR wrong number of arguments for 'hsetnx' command",
        ),
        (
            "HSETNX h a 1 2",
            "-ERR wrong number of arguments for 'hsetnx' command",
        ),
        (
            "HGET h",
            "-ERR wrong number of arguments for 'hget' command",
        ),
        (
            "HGET h a b",
            "-ERR wrong number of arguments for 'hget' command",
        ),
        (
            "HMGET h",
            "-ERR wrong number of arguments for 'hmget' command",
        ),
        (
            "HDEL h",
            "-ERR wrong number of arguments for 'hdel' command",
        ),
        (
            "HEXISTS h",
            "-ERR wrong number of arguments for 'hexists' command",
        ),
        ("HLEN", "-ERR wrong number of arguments for 'hlen' command"),
        (
            "HLEN h a",
            "-ERR wrong number of arguments for 'hlen' command",
        ),
        (
            "HSTRLEN h",
            "-ERR wrong number of arguments for 'hstrlen' command",
        ),
        (
            "HGETALL",
            "-ERR wrong number of arguments for 'hgetall' command",
        ),
        (
            "HKEYS h a",
            "-ERR wrong number of arguments for 'hkeys' command",
        ),
        (
            "HVALS",
            "-ERR wrong number of arguments for 'hvals' command",
        ),
        (
            "HINCRBY h a",
            "-ERR wrong number of arguments for 'hincrby' command",
        ),
        (
            "HINCRBYFLOAT h a 1 2",
            "-ERR wrong number of arguments for 'hincrbyfloat' command",
        ),
        (
            "HRANDFIELD",
            "-ERR wrong number of arguments for 'hrandfield' command",
        ),
        (
            "HSCAN h",
            "-ERR wrong number of arguments for 'hscan' command",
        ),
        ("EXISTS h", ":0"),
    ]);
}

#[test]
fn hincrby() {
    check(&[
        ("HINCRBY h n 5", ":5"),
        ("HINCRBY h n -7", ":-2"),
        ("HGET h n", "$-2"),
        (
            "HINCRBY h n x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HINCRBY h n 1.0",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HINCRBY h n 99999999999999999999",
            "-ERR value is not an integer or out of range",
        ),
        (
            "HSET h s abc sp \" 1\" e \"\" f 1.5 big 9223372036854775807",
            ":5",
        ),
        ("HINCRBY h s 1", "-ERR hash value is not an integer"),
        ("HINCRBY h sp 1", "-ERR hash value is not an integer"),
        ("HINCRBY h e 1", "-ERR hash value is not an integer"),
        ("HINCRBY h f 1", "-ERR hash value is not an integer"),
        (
            "HINCRBY h big 1",
            "-ERR increment or decrement would overflow",
        ),
        ("HINCRBY h big 0", ":9223372036854775807"),
        ("HINCRBY h big -9223372036854775808", ":-1"),
        (
            "HINCRBY h min -9223372036854775808",
            ":-9223372036854775808",
        ),
        (
            "HINCRBY h min -1",
            "-ERR increment or decrement would overflow",
        ),
        ("HGET h min", "$-9223372036854775808"),
        ("HINCRBY fresh n 0", ":0"),
        ("HGETALL fresh", "[$n, $0]"),
    ]);
}

#[test]
fn hincrbyfloat() {
    check(&[
        ("HINCRBYFLOAT h f 10.5", "$10.5"),
        ("HINCRBYFLOAT h f 0.1", "$10.6"),
        ("HINCRBYFLOAT h f -10.6", "$0"),
        ("HINCRBYFLOAT h f 5.0e3", "$5000"),
        ("HINCRBYFLOAT h f 1e-20", "$5000"),
        ("HINCRBYFLOAT h f -5000.25", "$-0.25"),
        ("HINCRBYFLOAT h f x", "-ERR value is not a valid float"),
        ("HINCRBYFLOAT h f \" 1\"", "-ERR value is not a valid float"),
        ("HINCRBYFLOAT h f \"\"", "-ERR value is not a valid float"),
        ("HINCRBYFLOAT h f nan", "-ERR value is not a valid float"),
        ("HINCRBYFLOAT h f inf", "-ERR value is NaN or Infinity"),
        ("HINCRBYFLOAT h f -inf", "-ERR value is NaN or Infinity"),
        ("HSET h i 3 s abc sp \" 1\" e \"\"", ":4"),
        ("HINCRBYFLOAT h i 1.5", "$4.5"),
        ("HINCRBYFLOAT h s 1", "-ERR hash value is not a float"),
        ("HINCRBYFLOAT h sp 1", "-ERR hash value is not a float"),
        ("HINCRBYFLOAT h e 1", "-ERR hash value is not a float"),
        ("HINCRBYFLOAT h sp inf", "-ERR value is NaN or Infinity"),
        ("HINCRBY h i 1", "-ERR hash value is not an integer"),
        ("HINCRBYFLOAT h g 3.0e0", "$3"),
        ("HINCRBY h g 1", ":4"),
        ("HGET h g", "$4"),
    ]);
}

/// Redis computes in `long double`, where 2 * 1.7976931348623157e308 is still finite.
#[test]
fn hincrbyfloat_refuses_an_infinite_result() {
    let e308 = format!("$1{}", "0".repeat(308));
    check(&[
        ("@local", ""),
        ("HINCRBYFLOAT h f 1e308", e308.as_str()),
        (
            "HINCRBYFLOAT h f 1e308",
            "-ERR increment would produce NaN or Infinity",
        ),
        ("HGET h f", e308.as_str()),
        ("HINCRBYFLOAT h g 1e309", "-ERR value is NaN or Infinity"),
        ("HSET h inf inf", ":1"),
        (
            "HINCRBYFLOAT h inf 1",
            "-ERR increment would produce NaN or Infinity",
        ),
        ("HGET h inf", "$inf"),
    ]);
}

#[test]
fn hrandfield_deterministic_cases() {
    check(&[
        ("HRANDFIELD nokey", "nil"),
        ("HRANDFIELD nokey 3", "[]"),
        ("HRANDFIELD nokey -3 WITHVALUES", "[]"),
        ("HRANDFIELD nokey 0", "[]"),
        ("HSET h a 1 b 2 c 3", ":3"),
        ("HRANDFIELD h 0", "[]"),
        ("HRANDFIELD h 0 WITHVALUES", "[]"),
        ("HRANDFIELD h 3", "[$a, $b, $c]"),
        ("HRANDFIELD h 100 WITHVALUES", "[$a, $1, $b, $2, $c, $3]"),
        ("HRANDFIELD h 100 withvalues", "[$a, $1, $b, $2, $c, $3]"),
        ("HRANDFIELD h 9223372036854775807", "[$a, $b, $c]"),
        (
            "HRANDFIELD h 4611686018427387903 WITHVALUES",
            "[$a, $1, $b, $2, $c, $3]",
        ),
        ("HSET one only v", ":1"),
        ("HRANDFIELD one", "$only"),
        ("HRANDFIELD one -3", "[$only, $only, $only]"),
        ("HRANDFIELD one -2 WITHVALUES", "[$only, $v, $only, $v]"),
        ("HRANDFIELD one 1 WITHVALUES", "[$only, $v]"),
    ]);
}

#[test]
fn hrandfield_errors() {
    check(&[
        ("HSET h a 1", ":1"),
        ("HRANDFIELD h x", "-ERR value is not an integer or out of range"),
        ("HRANDFIELD h 1.5", "-ERR value is not an integer or out of range"),
        ("HRANDFIELD h x foo", "-ERR value is not an integer or out of range"),
        ("HRANDFIELD h 1 foo", "-ERR syntax error"),
        ("HRANDFIELD h 1 WITHVALUES foo", "-ERR syntax error"),
        ("HRANDFIELD nokey 1 foo", "-ERR syntax error"),
        (
            "HRANDFIELD h -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        ("HRANDFIELD h 9223372036854775807 WITHVALUES", "-ERR value is out of range"),
        ("HRANDFIELD h 4611686018427387904 WITHVALUES", "-ERR value is out of range"),
        ("HRANDFIELD h -4611686018427387904 WITHVALUES", "-ERR value is out of range"),
        ("HRANDFIELD nokey -4611686018427387904 WITHVALUES", "-ERR value is out of range"),
    ]);
}

/// Redis streams any negative count; quorum builds replies in memory and caps the picks.
#[test]
fn hrandfield_caps_negative_counts() {
    check(&[
        ("@local", ""),
        ("HSET h a 1", ":1"),
        ("HRANDFIELD h -1048577", "-ERR value is out of range"),
        (
            "HRANDFIELD h -4611686018427387903 WITHVALUES",
            "-ERR value is out of range",
        ),
        (
            "HRANDFIELD h -9223372036854775807",
            "-ERR value is out of range",
        ),
        // A missing key answers before the count matters, as in Redis.
        ("HRANDFIELD nokey -9223372036854775807", "[]"),
    ]);
    let mut h = Harness::default();
    h.line("HSET h a 1");
    match h.run_args(&tokenize("HRANDFIELD h -1048576")) {
        Frame::Array(items) => assert_eq!(items.len(), 1 << 20),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hscan_small_hash_comes_whole() {
    check(&[
        ("HSCAN nokey 0", "[$0, []]"),
        ("HSCAN nokey 0 COUNT 0", "[$0, []]"),
        ("HSCAN nokey 0 FOO", "[$0, []]"),
        ("HSCAN nokey x", "-ERR invalid cursor"),
        ("HSET h a 1 b 2 c 3 bb 4", ":4"),
        ("HSCAN h 0", "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]"),
        (
            "HSCAN h 0 COUNT 1",
            "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]",
        ),
        ("HSCAN h 12345", "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]"),
        ("HSCAN h 0 MATCH b*", "[$0, [$b, $2, $bb, $4]]"),
        (
            "HSCAN h 0 match b* count 5 MATCH *",
            "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]",
        ),
        ("HSCAN h 0 MATCH zz*", "[$0, []]"),
        ("HSCAN h +0", "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]"),
        ("HSCAN h -1", "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]"),
        (
            "HSCAN h 18446744073709551615",
            "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]",
        ),
        ("HSCAN h \"\"", "[$0, [$a, $1, $b, $2, $c, $3, $bb, $4]]"),
        ("HSCAN h 18446744073709551616", "-ERR invalid cursor"),
        ("HSCAN h \" 1\"", "-ERR invalid cursor"),
        ("HSCAN h 1x", "-ERR invalid cursor"),
        ("HSCAN h -", "-ERR invalid cursor"),
        ("HSCAN h 0 COUNT 0", "-ERR syntax error"),
        ("HSCAN h 0 COUNT -1", "-ERR syntax error"),
        (
            "HSCAN h 0 COUNT x",
            "-ERR value is not an integer or out of range",
        ),
        ("HSCAN h 0 COUNT", "-ERR syntax error"),
        ("HSCAN h 0 MATCH", "-ERR syntax error"),
        ("HSCAN h 0 TYPE string", "-ERR syntax error"),
        ("HSCAN h 0 NOVALUES", "-ERR syntax error"),
        ("HSCAN h 0 FOO bar", "-ERR syntax error"),
    ]);
}

#[test]
fn writes_on_an_expired_hash_start_over() {
    check(&[
        ("HSET h a 1 b 2", ":2"),
        ("PEXPIRE h 100", ":1"),
        ("HINCRBY h a 1", ":2"),
        ("PTTL h", ":100"),
        ("@now +100", ""),
        ("HGET h a", "nil"),
        ("HLEN h", ":0"),
        ("HINCRBY h a 1", ":1"),
        ("HGETALL h", "[$a, $1]"),
        ("PTTL h", ":-1"),
    ]);
}
