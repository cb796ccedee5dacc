//! Reply tables for Redis's `string` group, through the same routing the server uses.

mod common;

use common::check;

#[test]
fn get_and_set() {
    check(&[
        ("GET k", "nil"),
        ("SET k v", "+OK"),
        ("GET k", "$v"),
        ("SET k \"\"", "+OK"),
        ("GET k", "$"),
        ("set K v2", "+OK"),
        ("GET K", "$v2"),
        ("GET", "-ERR wrong number of arguments for 'get' command"),
        (
            "GET a b",
            "-ERR wrong number of arguments for 'get' command",
        ),
        ("SET k", "-ERR wrong number of arguments for 'set' command"),
    ]);
}

#[test]
fn set_conditions_and_get_option() {
    check(&[
        ("SET k v NX", "+OK"),
        ("SET k w NX", "nil"),
        ("SET k w XX", "+OK"),
        ("SET missing w XX", "nil"),
        ("GET k", "$w"),
        ("SET k x GET", "$w"),
        ("SET new x GET", "nil"),
        ("SET k y NX GET", "$x"),
        ("GET k", "$x"),
        ("SET missing2 y XX GET", "nil"),
        ("GET missing2", "nil"),
        ("SET k z nx nx", "nil"),
        ("SET k z get get", "$x"),
    ]);
}

#[test]
fn set_option_conflicts_are_syntax_errors() {
    check(&[
        ("SET k v NX XX", "-ERR syntax error"),
        ("SET k v XX NX", "-ERR syntax error"),
        ("SET k v EX 10 PX 100", "-ERR syntax error"),
        ("SET k v KEEPTTL EX 10", "-ERR syntax error"),
        ("SET k v EX 10 KEEPTTL", "-ERR syntax error"),
        ("SET k v EXAT 10 PXAT 10", "-ERR syntax error"),
        ("SET k v EX", "-ERR syntax error"),
        ("SET k v PERSIST", "-ERR syntax error"),
        ("SET k v FOO", "-ERR syntax error"),
        ("SET k v EX abc NX XX", "-ERR syntax error"),
        (
            "SET k v EX abc",
            "-ERR value is not an integer or out of range",
        ),
        ("SET k v EX 0", "-ERR invalid expire time in 'set' command"),
        ("SET k v EX -1", "-ERR invalid expire time in 'set' command"),
        ("SET k v PX 0", "-ERR invalid expire time in 'set' command"),
        (
            "SET k v EXAT 0",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v EX 9223372036854776",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v PX 9223372036854775807",
            "-ERR invalid expire time in 'set' command",
        ),
        ("SET k v EX 10 EX 20", "+OK"),
        ("TTL k", ":20"),
        ("GET k", "$v"),
    ]);
}

#[test]
fn set_ttl_options() {
    check(&[
        ("@now 1700000000000", ""),
        ("SET k v EX 10", "+OK"),
        ("PTTL k", ":10000"),
        ("SET k v2 KEEPTTL", "+OK"),
        ("PTTL k", ":10000"),
        ("SET k v3", "+OK"),
        ("PTTL k", ":-1"),
        ("SET k v PX 1500", "+OK"),
        ("TTL k", ":2"),
        ("SET k v EXAT 1700000100", "+OK"),
        ("PEXPIRETIME k", ":1700000100000"),
        ("SET k v PXAT 1700000000500", "+OK"),
        ("PTTL k", ":500"),
        ("@now +500", ""),
        ("GET k", "nil"),
        ("SET k v PXAT 1", "+OK"),
        ("EXISTS k", ":0"),
        ("DBSIZE", ":0"),
    ]);
}

#[test]
fn setnx_setex_psetex_getset() {
    check(&[
        ("SETNX k v", ":1"),
        ("SETNX k w", ":0"),
        ("GET k", "$v"),
        ("SETEX k 100 x", "+OK"),
        ("TTL k", ":100"),
        ("GET k", "$x"),
        ("SETEX k 0 x", "-ERR invalid expire time in 'setex' command"),
        (
            "SETEX k -5 x",
            "-ERR invalid expire time in 'setex' command",
        ),
        (
            "SETEX k abc x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "PSETEX k 0 x",
            "-ERR invalid expire time in 'psetex' command",
        ),
        ("PSETEX k 100000 y", "+OK"),
        ("TTL k", ":100"),
        ("GETSET k z", "$y"),
        ("TTL k", ":-1"),
        ("GETSET nokey z", "nil"),
        ("GET nokey", "$z"),
        (
            "SETEX k 10",
            "-ERR wrong number of arguments for 'setex' command",
        ),
    ]);
}

#[test]
fn getdel_and_getex() {
    check(&[
        ("SET k v", "+OK"),
        ("GETDEL k", "$v"),
        ("GETDEL k", "nil"),
        ("EXISTS k", ":0"),
        ("SET k v", "+OK"),
        ("GETEX k", "$v"),
        ("TTL k", ":-1"),
        ("GETEX k EX 100", "$v"),
        ("TTL k", ":100"),
        ("GETEX k PERSIST", "$v"),
        ("TTL k", ":-1"),
        ("GETEX k PX 5000", "$v"),
        ("TTL k", ":5"),
        ("GETEX k EXAT 1", "$v"),
        ("EXISTS k", ":0"),
        ("GETEX missing EX 10", "nil"),
        ("GETEX k NX", "-ERR syntax error"),
        ("GETEX k KEEPTTL", "-ERR syntax error"),
        ("GETEX k EX 10 PERSIST", "-ERR syntax error"),
        ("GETEX k PERSIST EX 10", "-ERR syntax error"),
        ("GETEX k EX 0", "nil"),
        ("GETEX k EX abc", "nil"),
        ("GETEX k EX", "-ERR syntax error"),
        ("SET k v", "+OK"),
        (
            "GETEX k EX 0",
            "-ERR invalid expire time in 'getex' command",
        ),
        (
            "GETEX k EX abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "GETEX k PX 9223372036854775807",
            "-ERR invalid expire time in 'getex' command",
        ),
        ("TTL k", ":-1"),
    ]);
}

#[test]
fn mget_mset_msetnx() {
    check(&[
        ("MSET a 1 b 2", "+OK"),
        ("MGET a b c", "[$1, $2, nil]"),
        (
            "MSET a 1 b",
            "-ERR wrong number of arguments for 'mset' command",
        ),
        (
            "MSET a",
            "-ERR wrong number of arguments for 'mset' command",
        ),
        ("MSETNX a 9 c 3", ":0"),
        ("GET c", "nil"),
        ("MSETNX c 3 d 4", ":1"),
        ("MGET a b c d", "[$1, $2, $3, $4]"),
        (
            "MSETNX x 1 y",
            "-ERR wrong number of arguments for 'msetnx' command",
        ),
        ("MSET a 5 a 6", "+OK"),
        ("GET a", "$6"),
        ("MGET", "-ERR wrong number of arguments for 'mget' command"),
    ]);
}

#[test]
fn incr_family() {
    check(&[
        ("INCR n", ":1"),
        ("INCRBY n 10", ":11"),
        ("DECR n", ":10"),
        ("DECRBY n 20", ":-10"),
        ("GET n", "$-10"),
        ("SET n 9223372036854775806", "+OK"),
        ("INCR n", ":9223372036854775807"),
        ("INCR n", "-ERR increment or decrement would overflow"),
        ("SET n -9223372036854775808", "+OK"),
        ("DECR n", "-ERR increment or decrement would overflow"),
        ("INCRBY n -1", "-ERR increment or decrement would overflow"),
        (
            "DECRBY n -9223372036854775808",
            "-ERR decrement would overflow",
        ),
        ("DECRBY x 9223372036854775807", ":-9223372036854775807"),
        (
            "INCRBY n abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "INCRBY n 1.5",
            "-ERR value is not an integer or out of range",
        ),
        ("SET s abc", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s \" 1\"", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s 01", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s +1", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s 9223372036854775808", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s \"\"", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("INCR", "-ERR wrong number of arguments for 'incr' command"),
    ]);
}

#[test]
fn incr_keeps_ttl() {
    check(&[
        ("SET n 1 EX 100", "+OK"),
        ("INCR n", ":2"),
        ("TTL n", ":100"),
        ("INCRBYFLOAT n 0.5", "$2.5"),
        ("TTL n", ":100"),
        ("APPEND n 0", ":4"),
        ("TTL n", ":100"),
        ("SETRANGE n 0 3", ":4"),
        ("TTL n", ":100"),
    ]);
}

#[test]
fn incrbyfloat() {
    check(&[
        ("INCRBYFLOAT f 10.5", "$10.5"),
        ("INCRBYFLOAT f 0.1", "$10.6"),
        ("INCRBYFLOAT f -5", "$5.6"),
        ("SET f 5.0e3", "+OK"),
        ("INCRBYFLOAT f 2.0e2", "$5200"),
        ("INCRBYFLOAT f -5200", "$0"),
        ("INCRBYFLOAT f 1e20", "$100000000000000000000"),
        ("SET f 3", "+OK"),
        ("INCRBYFLOAT f 1.5", "$4.5"),
        ("INCRBYFLOAT f abc", "-ERR value is not a valid float"),
        ("INCRBYFLOAT f nan", "-ERR value is not a valid float"),
        ("INCRBYFLOAT f \" 1\"", "-ERR value is not a valid float"),
        (
            "INCRBYFLOAT f inf",
            "-ERR increment would produce NaN or Infinity",
        ),
        (
            "INCRBYFLOAT f -inf",
            "-ERR increment would produce NaN or Infinity",
        ),
        ("SET f abc", "+OK"),
        ("INCRBYFLOAT f 1", "-ERR value is not a valid float"),
        ("INCRBYFLOAT g 0.0000001", "$0.0000001"),
        ("INCRBYFLOAT h -0.0", "$0"),
    ]);
}

/// quorum computes in `f64` where Redis uses the platform's `long double`: results beyond
/// f64's range are refused here, and digits past f64's precision differ.
#[test]
fn incrbyfloat_is_f64() {
    check(&[
        ("@local", ""),
        ("SET f 1e308", "+OK"),
        (
            "INCRBYFLOAT f 1e308",
            "-ERR increment would produce NaN or Infinity",
        ),
        ("GET f", "$1e308"),
        ("INCRBYFLOAT g 0.1", "$0.1"),
        ("INCRBYFLOAT g 0.2", "$0.30000000000000004"),
        ("INCRBYFLOAT g 1e-20", "$0.30000000000000004"),
        ("INCRBYFLOAT h 1e-20", "$0"),
    ]);
}

#[test]
fn append_and_strlen() {
    check(&[
        ("STRLEN k", ":0"),
        ("APPEND k hello", ":5"),
        ("APPEND k \" world\"", ":11"),
        ("GET k", "$hello world"),
        ("STRLEN k", ":11"),
        ("APPEND k \"\"", ":11"),
        ("APPEND e \"\"", ":0"),
        ("EXISTS e", ":1"),
    ]);
}

#[test]
fn getrange() {
    check(&[
        ("SET k \"This is a string\"", "+OK"),
        ("GETRANGE k 0 3", "$This"),
        ("GETRANGE k -3 -1", "$ing"),
        ("GETRANGE k 0 -1", "$This is a string"),
        ("GETRANGE k 10 100", "$string"),
        ("GETRANGE k 5 3", "$"),
        ("GETRANGE k -1 -5", "$"),
        ("GETRANGE k -100 2", "$Thi"),
        ("GETRANGE k -100 -50", "$T"),
        ("GETRANGE k 100 200", "$"),
        ("GETRANGE k 0 -100", "$T"),
        ("GETRANGE missing 0 -1", "$"),
        (
            "GETRANGE k a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("GETRANGE k 0 9223372036854775807", "$This is a string"),
        ("GETRANGE k -9223372036854775808 0", "$T"),
        ("SET e \"\"", "+OK"),
        ("GETRANGE e 0 -1", "$"),
    ]);
}

#[test]
fn setrange() {
    check(&[
        ("SET k \"Hello World\"", "+OK"),
        ("SETRANGE k 6 Redis", ":11"),
        ("GET k", "$Hello Redis"),
        ("SETRANGE k 11 !", ":12"),
        ("GET k", "$Hello Redis!"),
        ("SETRANGE new 0 abc", ":3"),
        ("SETRANGE pad 3 x", ":4"),
        ("GETRANGE pad 3 3", "$x"),
        ("STRLEN pad", ":4"),
        ("SETRANGE none 5 \"\"", ":0"),
        ("EXISTS none", ":0"),
        ("SETRANGE k 100 \"\"", ":12"),
        ("SETRANGE k -1 x", "-ERR offset is out of range"),
        (
            "SETRANGE k abc x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "SETRANGE k 536870912 x",
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ),
        (
            "SETRANGE k 536870911 xy",
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ),
        (
            "SETRANGE big 9223372036854775807 x",
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ),
        ("EXISTS big", ":0"),
    ]);
}

#[test]
fn expired_keys_are_absent_to_string_commands() {
    check(&[
        ("@now 1000000", ""),
        ("SET k 5 PX 100", "+OK"),
        ("@now +100", ""),
        ("GET k", "nil"),
        ("INCR k", ":1"),
        ("TTL k", ":-1"),
        ("SET a x PX 10", "+OK"),
        ("@now +10", ""),
        ("APPEND a y", ":1"),
        ("SET b x PX 10", "+OK"),
        ("@now +10", ""),
        ("SETNX b y", ":1"),
        ("SET c x PX 10", "+OK"),
        ("@now +10", ""),
        ("SET c y XX", "nil"),
        ("MSETNX c 1", ":1"),
    ]);
}
