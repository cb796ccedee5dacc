//! Reply tables (recorded from Redis 7.0.15) for access by index and by value: LLEN,
//! LRANGE, LINDEX, LSET, LTRIM, LINSERT, LREM, LPOS.
//!
//! Not here: pushes, pops and moves (`list.rs`).

use super::common::check;
use super::{RANK_ZERO, WRONGTYPE};

#[test]
fn llen() {
    check(&[
        ("DEL l str", ":0"),
        ("RPUSH l a b c d e f g h i", ":9"),
        ("SET str v", "+OK"),
        ("LLEN l", ":9"),
        ("LLEN nolist", ":0"),
        ("LLEN str", WRONGTYPE),
        ("LLEN", "-ERR wrong number of arguments for 'llen' command"),
        (
            "LLEN l extra",
            "-ERR wrong number of arguments for 'llen' command",
        ),
    ]);
}

#[test]
fn lrange() {
    check(&[
        ("DEL l str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c d e f g", ":7"),
        ("LRANGE l 0 -1", "[$a, $b, $c, $d, $e, $f, $g]"),
        ("LRANGE l 0 0", "[$a]"),
        ("LRANGE l -1 -1", "[$g]"),
        ("LRANGE l -2 -1", "[$f, $g]"),
        ("LRANGE l 2 4", "[$c, $d, $e]"),
        ("LRANGE l -100 1", "[$a, $b]"),
        ("LRANGE l -100 -50", "[]"),
        ("LRANGE l 5 2", "[]"),
        ("LRANGE l 6 100", "[$g]"),
        ("LRANGE l 7 100", "[]"),
        ("LRANGE l 0 -7", "[$a]"),
        ("LRANGE l 0 -8", "[]"),
        (
            "LRANGE l -9223372036854775808 9223372036854775807",
            "[$a, $b, $c, $d, $e, $f, $g]",
        ),
        ("LRANGE l 9223372036854775807 -9223372036854775808", "[]"),
        ("LRANGE nolist 0 -1", "[]"),
        (
            "LRANGE nolist a b",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l a 1",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l 0 b",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l 01 2",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l +1 2",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l \" 1\" 2",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l 1.5 2",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l 0 9223372036854775808",
            "-ERR value is not an integer or out of range",
        ),
        ("LRANGE str 0 -1", WRONGTYPE),
        (
            "LRANGE str a b",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l 0",
            "-ERR wrong number of arguments for 'lrange' command",
        ),
        (
            "LRANGE l 0 1 2",
            "-ERR wrong number of arguments for 'lrange' command",
        ),
    ]);
}

#[test]
fn lindex() {
    check(&[
        ("DEL l str", ":0"),
        ("RPUSH l a b c d e f g", ":7"),
        ("SET str v", "+OK"),
        ("LINDEX l 0", "$a"),
        ("LINDEX l 6", "$g"),
        ("LINDEX l 7", "nil"),
        ("LINDEX l -1", "$g"),
        ("LINDEX l -7", "$a"),
        ("LINDEX l -8", "nil"),
        ("LINDEX l 9223372036854775807", "nil"),
        ("LINDEX l -9223372036854775808", "nil"),
        (
            "LINDEX l abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LINDEX l 9223372036854775808",
            "-ERR value is not an integer or out of range",
        ),
        ("LINDEX nolist 0", "nil"),
        ("LINDEX nolist abc", "nil"),
        ("LINDEX str 0", WRONGTYPE),
        ("LINDEX str abc", WRONGTYPE),
        (
            "LINDEX l",
            "-ERR wrong number of arguments for 'lindex' command",
        ),
        (
            "LINDEX l 0 1",
            "-ERR wrong number of arguments for 'lindex' command",
        ),
    ]);
}

#[test]
fn lset() {
    check(&[
        ("DEL l str", ":0"),
        ("RPUSH l a b c d e f g", ":7"),
        ("SET str v", "+OK"),
        ("LSET l 0 A", "+OK"),
        ("LSET l -1 G", "+OK"),
        ("LSET l 3 \"middle one\"", "+OK"),
        ("LRANGE l 0 -1", "[$A, $b, $c, $middle one, $e, $f, $G]"),
        ("LSET l 7 x", "-ERR index out of range"),
        ("LSET l -8 x", "-ERR index out of range"),
        ("LSET l 9223372036854775807 x", "-ERR index out of range"),
        ("LSET l -9223372036854775808 x", "-ERR index out of range"),
        (
            "LSET l abc x",
            "-ERR value is not an integer or out of range",
        ),
        ("LSET nolist 0 x", "-ERR no such key"),
        ("LSET nolist abc x", "-ERR no such key"),
        ("LSET str 0 x", WRONGTYPE),
        ("LSET str abc x", WRONGTYPE),
        ("EXISTS nolist", ":0"),
        (
            "LSET l 0",
            "-ERR wrong number of arguments for 'lset' command",
        ),
        (
            "LSET l 0 x y",
            "-ERR wrong number of arguments for 'lset' command",
        ),
        ("LRANGE l 0 -1", "[$A, $b, $c, $middle one, $e, $f, $G]"),
    ]);
}

#[test]
fn linsert() {
    check(&[
        ("DEL l str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c b", ":4"),
        ("LINSERT l BEFORE b x", ":5"),
        ("LINSERT l after b y", ":6"),
        ("LRANGE l 0 -1", "[$a, $x, $b, $y, $c, $b]"),
        ("LINSERT l BeFoRe a first", ":7"),
        ("LINSERT l AFTER b2 nothere", ":-1"),
        ("LINSERT l AFTER c last", ":8"),
        ("LINSERT l AFTER last \"\"", ":9"),
        (
            "LRANGE l 0 -1",
            "[$first, $a, $x, $b, $y, $c, $last, $, $b]",
        ),
        ("LINSERT l middle a x", "-ERR syntax error"),
        ("LINSERT nolist before a x", ":0"),
        ("LINSERT nolist middle a x", "-ERR syntax error"),
        ("EXISTS nolist", ":0"),
        ("LINSERT str before a x", WRONGTYPE),
        ("LINSERT str middle a x", "-ERR syntax error"),
        (
            "LINSERT l before a",
            "-ERR wrong number of arguments for 'linsert' command",
        ),
        (
            "LINSERT l before a x y",
            "-ERR wrong number of arguments for 'linsert' command",
        ),
    ]);
}

#[test]
fn lrem() {
    check(&[
        ("DEL l str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b a c a b a", ":7"),
        ("LREM l 2 a", ":2"),
        ("LRANGE l 0 -1", "[$b, $c, $a, $b, $a]"),
        ("LREM l -1 a", ":1"),
        ("LRANGE l 0 -1", "[$b, $c, $a, $b]"),
        ("LREM l 0 b", ":2"),
        ("LRANGE l 0 -1", "[$c, $a]"),
        ("LREM l 0 zzz", ":0"),
        ("LREM l 100 a", ":1"),
        ("LRANGE l 0 -1", "[$c]"),
        ("LREM l -100 c", ":1"),
        ("EXISTS l", ":0"),
        ("RPUSH l x y x y x", ":5"),
        ("LREM l -2 x", ":2"),
        ("LRANGE l 0 -1", "[$x, $y, $y]"),
        ("LREM l -9223372036854775808 y", ":2"),
        ("LRANGE l 0 -1", "[$x]"),
        ("LREM l 9223372036854775807 x", ":1"),
        ("EXISTS l", ":0"),
        ("LREM nolist 0 a", ":0"),
        (
            "LREM nolist abc a",
            "-ERR value is not an integer or out of range",
        ),
        ("LREM str 0 a", WRONGTYPE),
        (
            "LREM str abc a",
            "-ERR value is not an integer or out of range",
        ),
        ("RPUSH l a", ":1"),
        (
            "LREM l abc a",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LREM l 9223372036854775808 a",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LREM l 1.0 a",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LREM l 0",
            "-ERR wrong number of arguments for 'lrem' command",
        ),
        (
            "LREM l 0 a b",
            "-ERR wrong number of arguments for 'lrem' command",
        ),
        ("LRANGE l 0 -1", "[$a]"),
    ]);
}

#[test]
fn ltrim() {
    check(&[
        ("DEL l str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c d e f g", ":7"),
        ("LTRIM l 1 -2", "+OK"),
        ("LRANGE l 0 -1", "[$b, $c, $d, $e, $f]"),
        ("LTRIM l -3 100", "+OK"),
        ("LRANGE l 0 -1", "[$d, $e, $f]"),
        ("LTRIM l 0 0", "+OK"),
        ("LRANGE l 0 -1", "[$d]"),
        ("LTRIM l -9223372036854775808 9223372036854775807", "+OK"),
        ("LRANGE l 0 -1", "[$d]"),
        ("LTRIM l 1 0", "+OK"),
        ("EXISTS l", ":0"),
        ("RPUSH l a b c", ":3"),
        ("LTRIM l 5 10", "+OK"),
        ("EXISTS l", ":0"),
        ("RPUSH l a b c", ":3"),
        ("LTRIM l 0 -4", "+OK"),
        ("EXISTS l", ":0"),
        ("RPUSH l a b c", ":3"),
        ("LTRIM l 2 1", "+OK"),
        ("EXISTS l", ":0"),
        ("LTRIM nolist 0 1", "+OK"),
        (
            "LTRIM nolist a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("EXISTS nolist", ":0"),
        ("LTRIM str 0 1", WRONGTYPE),
        (
            "LTRIM str a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("RPUSH l a b c", ":3"),
        (
            "LTRIM l a 1",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LTRIM l 0 b",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LTRIM l 0 9223372036854775808",
            "-ERR value is not an integer or out of range",
        ),
        ("LRANGE l 0 -1", "[$a, $b, $c]"),
        (
            "LTRIM l 0",
            "-ERR wrong number of arguments for 'ltrim' command",
        ),
        (
            "LTRIM l 0 1 2",
            "-ERR wrong number of arguments for 'ltrim' command",
        ),
    ]);
}

#[test]
fn lpos() {
    check(&[
        ("DEL l str", ":0"),
        ("SET str v", "+OK"),
        ("RPUSH l a b c a b c a", ":7"),
        ("LPOS l a", ":0"),
        ("LPOS l c", ":2"),
        ("LPOS l z", "nil"),
        ("LPOS l a RANK 1", ":0"),
        ("LPOS l a RANK 2", ":3"),
        ("LPOS l a RANK 3", ":6"),
        ("LPOS l a RANK 4", "nil"),
        ("LPOS l a RANK -1", ":6"),
        ("LPOS l a RANK -2", ":3"),
        ("LPOS l a RANK -3", ":0"),
        ("LPOS l a RANK -4", "nil"),
        ("LPOS l a COUNT 0", "[:0, :3, :6]"),
        ("LPOS l a COUNT 1", "[:0]"),
        ("LPOS l a COUNT 2", "[:0, :3]"),
        ("LPOS l a COUNT 100", "[:0, :3, :6]"),
        ("LPOS l z COUNT 0", "[]"),
        ("LPOS l a RANK 2 COUNT 0", "[:3, :6]"),
        ("LPOS l a RANK 2 COUNT 1", "[:3]"),
        ("LPOS l a RANK -2 COUNT 0", "[:3, :0]"),
        ("LPOS l a RANK -1 COUNT 2", "[:6, :3]"),
        ("LPOS l a COUNT 0 MAXLEN 4", "[:0, :3]"),
        ("LPOS l a COUNT 0 MAXLEN 3", "[:0]"),
        ("LPOS l a MAXLEN 1", ":0"),
        ("LPOS l b MAXLEN 1", "nil"),
        ("LPOS l c MAXLEN 2", "nil"),
        ("LPOS l c MAXLEN 2 COUNT 5", "[]"),
        ("LPOS l a RANK -1 MAXLEN 1", ":6"),
        ("LPOS l a RANK -1 MAXLEN 2 COUNT 0", "[:6]"),
        ("LPOS l a RANK -2 MAXLEN 4 COUNT 0", "[:3]"),
        ("LPOS l a MAXLEN 0 COUNT 0", "[:0, :3, :6]"),
        ("LPOS l a RANK 2 RANK 3", ":6"),
        ("LPOS l a COUNT 1 COUNT 2", "[:0, :3]"),
        ("LPOS l a maxlen 3 rank -1 count 0", "[:6]"),
        ("LPOS l a RANK 9223372036854775807", "nil"),
        ("LPOS l a RANK -9223372036854775807", "nil"),
        ("LPOS l a RANK 9223372036854775807 COUNT 0", "[]"),
        ("LPOS l a RANK -9223372036854775808", ":6"),
        ("LPOS l b RANK -9223372036854775808", ":4"),
        ("LPOS l a RANK -9223372036854775808 COUNT 1", "[:6, :3, :0]"),
        ("LPOS l a RANK -9223372036854775808 COUNT 0", "[:6, :3, :0]"),
        ("LPOS l a RANK -9223372036854775808 MAXLEN 3", ":6"),
        ("LPOS l a RANK 0", RANK_ZERO),
        (
            "LPOS l a RANK abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LPOS l a RANK 9223372036854775808",
            "-ERR value is not an integer or out of range",
        ),
        ("LPOS l a COUNT -1", "-ERR COUNT can't be negative"),
        ("LPOS l a COUNT abc", "-ERR COUNT can't be negative"),
        ("LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative"),
        ("LPOS l a MAXLEN abc", "-ERR MAXLEN can't be negative"),
        ("LPOS l a FOO", "-ERR syntax error"),
        ("LPOS l a RANK", "-ERR syntax error"),
        ("LPOS l a COUNT", "-ERR syntax error"),
        ("LPOS l a MAXLEN", "-ERR syntax error"),
        ("LPOS l a RANK 0 FOO", RANK_ZERO),
        ("LPOS l a FOO RANK 0", "-ERR syntax error"),
        ("LPOS l a COUNT -1 RANK 0", "-ERR COUNT can't be negative"),
        ("LPOS l a RANK 0 COUNT -1", RANK_ZERO),
        ("LPOS nolist a", "nil"),
        ("LPOS nolist a COUNT 0", "[]"),
        ("LPOS nolist a COUNT 1 RANK -1", "[]"),
        ("LPOS nolist a RANK 0", RANK_ZERO),
        ("LPOS str a", WRONGTYPE),
        ("LPOS str a COUNT 1", WRONGTYPE),
        ("LPOS str a RANK 0", RANK_ZERO),
        (
            "LPOS l",
            "-ERR wrong number of arguments for 'lpos' command",
        ),
    ]);
}
