//! Reply tables for SORT and SORT_RO, checked against Redis 7.0.15, and a model-based
//! property test (`sort/model.rs`): random lists, sets, weights and SORTs with every option
//! against a model that sorts `Vec`s.

mod common;
#[path = "sort/model.rs"]
mod model;

use common::check;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_DOUBLE: &str = "-ERR One or more scores can't be converted into double";

#[test]
fn errors_come_in_redis_order() {
    check(&[
        ("SORT", "-ERR wrong number of arguments for 'sort' command"),
        (
            "SORT_RO",
            "-ERR wrong number of arguments for 'sort_ro' command",
        ),
        ("SORT nokey", "[]"),
        ("SORT_RO nokey ALPHA DESC LIMIT 0 10", "[]"),
        ("SORT nokey BOGUS", "-ERR syntax error"),
        ("SORT nokey LIMIT", "-ERR syntax error"),
        ("SORT nokey LIMIT 0", "-ERR syntax error"),
        (
            "SORT nokey LIMIT a 1",
            "-ERR value is not an integer or out of range",
        ),
        (
            "SORT nokey LIMIT 0 1.5",
            "-ERR value is not an integer or out of range",
        ),
        ("SORT nokey BY", "-ERR syntax error"),
        ("SORT nokey GET", "-ERR syntax error"),
        ("SORT nokey STORE", "-ERR syntax error"),
        ("SORT_RO nokey STORE dst", "-ERR syntax error"),
        ("SORT nokey BOGUS LIMIT a b", "-ERR syntax error"),
        (
            "SORT nokey LIMIT a b BOGUS",
            "-ERR value is not an integer or out of range",
        ),
        ("SET str v", "+OK"),
        ("SORT str", WRONGTYPE),
        ("SORT_RO str", WRONGTYPE),
        ("SORT str BOGUS", "-ERR syntax error"),
        ("SORT str STORE dst", WRONGTYPE),
        ("HSET hash f v", ":1"),
        ("SORT hash", WRONGTYPE),
        ("EXISTS dst", ":0"),
    ]);
}

#[test]
fn numeric_sort_uses_strtod_and_breaks_ties_by_bytes() {
    check(&[
        (
            r#"RPUSH l 3 1 2 10 -5 0 2.5 1e1 " 4" "" 0x10 inf -inf +7 .5"#,
            ":15",
        ),
        (
            "SORT l",
            "[$-inf, $-5, $, $0, $.5, $1, $2, $2.5, $3, $ 4, $+7, $10, $1e1, $0x10, $inf]",
        ),
        (
            "SORT l DESC",
            "[$inf, $0x10, $1e1, $10, $+7, $ 4, $3, $2.5, $2, $1, $.5, $0, $, $-5, $-inf]",
        ),
        (
            "SORT_RO l desc asc",
            "[$-inf, $-5, $, $0, $.5, $1, $2, $2.5, $3, $ 4, $+7, $10, $1e1, $0x10, $inf]",
        ),
        ("SORT l LIMIT 2 3", "[$, $0, $.5]"),
        ("SORT l LIMIT -5 3", "[$-inf, $-5, $]"),
        (
            "SORT l LIMIT 3 -1",
            "[$0, $.5, $1, $2, $2.5, $3, $ 4, $+7, $10, $1e1, $0x10, $inf]",
        ),
        ("SORT l LIMIT 3 0", "[]"),
        ("SORT l LIMIT 14 5", "[$inf]"),
        ("SORT l LIMIT 15 5", "[]"),
        ("SORT l LIMIT 9223372036854775807 9223372036854775807", "[]"),
        ("SORT l DESC LIMIT 1 2", "[$0x10, $1e1]"),
        ("SORT l LIMIT 0 1 LIMIT 1 1", "[$-5]"),
        (
            "SORT l ALPHA",
            "[$, $ 4, $+7, $-5, $-inf, $.5, $0, $0x10, $1, $10, $1e1, $2, $2.5, $3, $inf]",
        ),
        ("SORT_RO l ALPHA DESC LIMIT 2 4", "[$2.5, $2, $1e1, $10]"),
        (r#"RPUSH dup 1 1.0 01 1 0 -0 0.0 1e0 " 1""#, ":9"),
        ("SORT dup", "[$-0, $0, $0.0, $ 1, $01, $1, $1, $1.0, $1e0]"),
        (
            "SORT dup DESC",
            "[$1e0, $1.0, $1, $1, $01, $ 1, $0.0, $0, $-0]",
        ),
        ("RPUSH bad 1 x 2", ":3"),
        ("SORT bad", NOT_DOUBLE),
        ("SORT_RO bad DESC", NOT_DOUBLE),
        ("SORT bad ALPHA", "[$1, $2, $x]"),
        ("SORT bad STORE dst", NOT_DOUBLE),
        ("EXISTS dst", ":0"),
        ("DEL bad", ":1"),
        ("RPUSH bad 1 1e-310 1e400", ":3"),
        ("SORT bad", NOT_DOUBLE),
        ("DEL bad", ":1"),
        ("RPUSH bad 1 infinity 0x1p3 0X.8 00000.0000e5", ":5"),
        ("SORT bad", "[$00000.0000e5, $0X.8, $1, $0x1p3, $infinity]"),
    ]);
}

#[test]
fn nosort_keeps_the_value_order() {
    check(&[
        ("RPUSH l c a b d", ":4"),
        ("SORT l BY nosort", "[$c, $a, $b, $d]"),
        ("SORT l BY nosort DESC", "[$d, $b, $a, $c]"),
        ("SORT l BY nosort LIMIT 1 2", "[$a, $b]"),
        ("SORT l BY nosort DESC LIMIT 1 2", "[$b, $a]"),
        ("SORT l BY nosort LIMIT 4 1", "[]"),
        ("SORT l BY nosort ALPHA", "[$c, $a, $b, $d]"),
        ("SORT l BY nosort BY w_*", "[$c, $a, $b, $d]"),
        ("SORT l BY w_* BY nosort", "[$c, $a, $b, $d]"),
        ("SORT l BY nosort DESC LIMIT 1 2 STORE out", ":2"),
        ("LRANGE out 0 -1", "[$b, $a]"),
        ("ZADD z 3 c 1 a 2 b 0 d", ":4"),
        ("SORT z BY nosort", "[$d, $a, $b, $c]"),
        ("SORT z BY nosort DESC LIMIT 1 2", "[$b, $a]"),
        ("SORT z ALPHA DESC", "[$d, $c, $b, $a]"),
        ("SORT z", NOT_DOUBLE),
        // An intset iterates in ascending order; DESC does nothing without sorting.
        ("SADD ints 5 3 -2 10 0", ":5"),
        ("SORT ints BY nosort", "[$-2, $0, $3, $5, $10]"),
        ("SORT ints BY nosort DESC", "[$-2, $0, $3, $5, $10]"),
        ("SORT ints BY nosort LIMIT 1 2", "[$0, $3]"),
        // With STORE a set is sorted as text instead.
        ("SORT ints BY nosort STORE out", ":5"),
        ("LRANGE out 0 -1", "[$-2, $0, $10, $3, $5]"),
        ("SADD strs c a b 10 9", ":5"),
        ("SORT strs BY nosort DESC STORE out", ":5"),
        ("LRANGE out 0 -1", "[$c, $b, $a, $9, $10]"),
    ]);
}

#[test]
fn by_and_get_patterns() {
    check(&[
        ("RPUSH l c a b d", ":4"),
        ("MSET w_a 3 w_b 1 w_c 2 w_d 0.5", "+OK"),
        ("SORT l BY w_*", "[$d, $b, $c, $a]"),
        ("SORT l BY w_* DESC LIMIT 0 3", "[$a, $c, $b]"),
        ("SET w_c x", "+OK"),
        ("SORT l BY w_*", NOT_DOUBLE),
        ("SORT l BY w_* ALPHA", "[$d, $b, $a, $c]"),
        ("SET w_c 2", "+OK"),
        ("DEL w_b", ":1"),
        ("SORT l BY w_*", "[$b, $d, $c, $a]"),
        ("SORT l BY *_w", "[$a, $b, $c, $d]"),
        ("HSET wh_a f 30 g z", ":2"),
        ("HSET wh_b f 10 g y", ":2"),
        ("HSET wh_c f 20 g x", ":2"),
        ("HSET wh_d g w", ":1"),
        ("SORT l BY wh_*->f", "[$d, $b, $c, $a]"),
        ("SORT l BY wh_*->g ALPHA DESC", "[$a, $b, $c, $d]"),
        ("SORT l BY wh_*->g", NOT_DOUBLE),
        ("SORT l BY wh_*", "[$a, $b, $c, $d]"),
        ("SORT l BY w_*->f", "[$a, $b, $c, $d]"),
        ("SET w_a-> 9", "+OK"),
        ("SORT l BY w_*->", "[$b, $c, $d, $a]"),
        ("MSET aw_a pear aw_b apple aw_c fig", "+OK"),
        ("SORT l BY aw_* ALPHA", "[$d, $b, $c, $a]"),
        ("SORT l BY aw_* ALPHA LIMIT 1 2", "[$b, $c]"),
        ("MSET o_a A o_b B o_c C", "+OK"),
        ("SORT l ALPHA GET o_*", "[$A, $B, $C, nil]"),
        (
            "SORT l ALPHA GET # GET o_*",
            "[$a, $A, $b, $B, $c, $C, $d, nil]",
        ),
        (
            "SORT l ALPHA GET o_* GET # GET wh_*->f",
            "[$A, $a, $30, $B, $b, $10, $C, $c, $20, nil, $d, nil]",
        ),
        (
            "SORT l BY w_* GET o_* GET #",
            "[$B, $b, nil, $d, $C, $c, $A, $a]",
        ),
        ("SORT l BY nosort GET o_* DESC", "[nil, $B, $A, $C]"),
        ("SORT l ALPHA GET nostar", "[nil, nil, nil, nil]"),
        ("SORT l ALPHA GET #x", "[nil, nil, nil, nil]"),
        (
            "SORT l ALPHA GET wh_*->g GET wh_*->",
            "[$z, nil, $y, nil, $x, nil, $w, nil]",
        ),
        ("SET a direct", "+OK"),
        ("SORT l ALPHA GET *", "[$direct, nil, nil, nil]"),
        ("SORT nokey GET o_*", "[]"),
    ]);
}

#[test]
fn store_replaces_the_destination() {
    check(&[
        ("RPUSH l c a b d", ":4"),
        ("MSET o_a A o_b B o_c C", "+OK"),
        ("SORT l ALPHA GET o_* STORE out", ":4"),
        ("LRANGE out 0 -1", "[$A, $B, $C, $]"),
        ("SET out x EX 100", "+OK"),
        ("SORT l ALPHA DESC STORE out", ":4"),
        ("TTL out", ":-1"),
        ("LRANGE out 0 -1", "[$d, $c, $b, $a]"),
        ("SORT l ALPHA LIMIT 0 0 STORE out", ":0"),
        ("EXISTS out", ":0"),
        ("SET out x", "+OK"),
        ("SORT nokey STORE out", ":0"),
        ("EXISTS out", ":0"),
        ("SORT l ALPHA STORE out1 STORE out2", ":4"),
        ("EXISTS out1", ":0"),
        ("LRANGE out2 0 -1", "[$a, $b, $c, $d]"),
        ("SORT l ALPHA DESC STORE l", ":4"),
        ("LRANGE l 0 -1", "[$d, $c, $b, $a]"),
        ("COMMAND GETKEYS SORT l STORE d GET x STORE e", "[$l, $e]"),
        ("COMMAND GETKEYS SORT l GET store x", "[$l]"),
        ("COMMAND GETKEYS SORT_RO l BY x", "[$l]"),
    ]);
}

#[test]
fn an_expired_destination_or_source_is_absent() {
    check(&[
        ("RPUSH l 2 1", ":2"),
        ("PEXPIRE l 100", ":1"),
        ("SET out x PX 100", "+OK"),
        ("@now +100", ""),
        ("SORT l", "[]"),
        ("SORT l STORE out", ":0"),
        ("EXISTS out", ":0"),
        ("RPUSH l 3 1", ":2"),
        ("SET w_1 5 PX 50", "+OK"),
        ("SORT l BY w_*", "[$3, $1]"),
        ("@now +50", ""),
        ("SORT l BY w_*", "[$1, $3]"),
    ]);
}
