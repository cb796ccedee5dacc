//! Values move between Redis and quorum with DUMP on one side and RESTORE on the other: a
//! real `redis-server` (7.0.15 in CI) and a real three-node quorum cluster, every value type
//! in the encodings Redis picks for small and for large values (integer, LZF and raw
//! strings; listpack and multi-node quicklists; intsets and hash tables; listpack and
//! hash-table hashes; listpack and skiplist sorted sets), both directions, with TTLs.
//! After each RESTORE the value is read back on both sides and must be the same.
//!
//! Not here: the payload edge cases and errors (`tests/parity/dump.redis`, and
//! `quorum-commands/tests/dump.rs`).

mod common;

use quorum_testkit::start_redis_server;
use redis::Connection;

/// One value to move: its key and the commands that build it.
struct Case {
    key: &'static str,
    build: Vec<Vec<Vec<u8>>>,
}

fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

/// A command whose last argument is many arguments (RPUSH k e1 e2 ...).
fn with_items(head: &str, items: impl IntoIterator<Item = String>) -> Vec<Vec<u8>> {
    let mut args = words(head);
    args.extend(items.into_iter().map(String::into_bytes));
    args
}

fn cases() -> Vec<Case> {
    let binary: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let case = |key, build: Vec<Vec<Vec<u8>>>| Case { key, build };
    vec![
        case("str-raw", vec![words("SET str-raw hello")]),
        case("str-int", vec![words("SET str-int -12345")]),
        case("str-i64", vec![words("SET str-i64 9223372036854775807")]),
        case(
            "str-empty",
            vec![vec![b"SET".to_vec(), b"str-empty".to_vec(), Vec::new()]],
        ),
        case(
            "str-lzf",
            vec![with_items("SET str-lzf", ["ab".repeat(500)])],
        ),
        case(
            "str-binary",
            vec![vec![b"SET".to_vec(), b"str-binary".to_vec(), binary]],
        ),
        case(
            "list-small",
            vec![with_items(
                "RPUSH list-small",
                ["a", "1", "-1", "", "300000", "-9223372036854775808"].map(String::from),
            )],
        ),
        case(
            "list-big",
            vec![with_items(
                "RPUSH list-big",
                (0..5000).map(|i| format!("element-{i}-{}", "x".repeat(i % 50))),
            )],
        ),
        case("set-intset", vec![words("SADD set-intset 1 -2 300 70000")]),
        case("set-small", vec![words("SADD set-small a b 12")]),
        case(
            "set-big",
            vec![with_items(
                "SADD set-big",
                (0..2000).map(|i| format!("m{i}")),
            )],
        ),
        case("hash-small", vec![words("HSET hash-small f v n 12 neg -3")]),
        case(
            "hash-big",
            vec![with_items(
                "HSET hash-big",
                (0..600).flat_map(|i| [format!("f{i}"), "v".repeat(i % 100)]),
            )],
        ),
        case(
            "hash-long-value",
            vec![with_items(
                "HSET hash-long-value",
                ["f".to_string(), "w".repeat(200)],
            )],
        ),
        case(
            "zset-small",
            vec![words("ZADD zset-small 1.5 a 2 b -inf c 0.1 d 1e300 e -7 f")],
        ),
        case(
            "zset-big",
            vec![with_items(
                "ZADD zset-big",
                (0..500).flat_map(|i| [format!("{}", f64::from(i) / 3.0), format!("m{i}")]),
            )],
        ),
    ]
}

fn query<T: redis::FromRedisValue>(conn: &mut Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(conn)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

fn run(conn: &mut Connection, args: &[Vec<u8>]) {
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let _: redis::Value = query(conn, &args);
}

/// Everything a client can read of the value under `key`, in a canonical order.
fn contents(conn: &mut Connection, key: &str) -> (String, Vec<Vec<u8>>) {
    let k = key.as_bytes();
    let kind: String = query(conn, &[b"TYPE", k]);
    let mut items: Vec<Vec<u8>> = match kind.as_str() {
        "string" => vec![query(conn, &[b"GET", k])],
        "list" => query(conn, &[b"LRANGE", k, b"0", b"-1"]),
        "set" => query(conn, &[b"SMEMBERS", k]),
        "hash" => query(conn, &[b"HGETALL", k]),
        "zset" => query(conn, &[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]),
        other => panic!("{key} holds a {other}"),
    };
    match kind.as_str() {
        "set" => items.sort(),
        "hash" => {
            let mut pairs: Vec<Vec<Vec<u8>>> = items.chunks(2).map(<[_]>::to_vec).collect();
            pairs.sort();
            items = pairs.concat();
        }
        _ => {}
    }
    (kind, items)
}

/// DUMPs `key` on `from` and RESTOREs it under `key` on `to` (with a TTL, and once more
/// with REPLACE and ABSTTL), then compares what both hold.
fn carry(from: &mut Connection, to: &mut Connection, key: &str, direction: &str) {
    let payload: Option<Vec<u8>> = query(from, &[b"DUMP", key.as_bytes()]);
    let payload = payload.unwrap_or_else(|| panic!("{direction}: DUMP {key} is nil"));
    let reply: String = query(to, &[b"RESTORE", key.as_bytes(), b"600000", &payload]);
    assert_eq!(reply, "OK", "{direction}: RESTORE {key}");
    assert_eq!(contents(from, key), contents(to, key), "{direction}: {key}");
    let ttl: i64 = query(to, &[b"PTTL", key.as_bytes()]);
    assert!(
        (1..=600_000).contains(&ttl),
        "{direction}: PTTL {key} = {ttl}"
    );
    let far = b"4102444800000";
    let reply: String = query(
        to,
        &[
            b"RESTORE",
            key.as_bytes(),
            far,
            &payload,
            b"REPLACE",
            b"ABSTTL",
        ],
    );
    assert_eq!(reply, "OK", "{direction}: RESTORE {key} REPLACE ABSTTL");
    let at: i64 = query(to, &[b"PEXPIRETIME", key.as_bytes()]);
    assert_eq!(at, 4_102_444_800_000, "{direction}: {key}");
    assert_eq!(contents(from, key), contents(to, key), "{direction}: {key}");
}

#[test]
fn every_type_moves_between_redis_and_quorum_both_ways() {
    let redis_server = start_redis_server(&[])
        .expect("start redis-server")
        .expect("redis-server is not installed: ./scripts/test installs Debian's redis-server");
    let cluster = common::cluster(&[]);
    let mut redis_conn = redis_server.client().expect("connect to redis-server");
    let mut nodes: Vec<Connection> = cluster
        .nodes()
        .iter()
        .map(|node| node.client().expect("connect to a node"))
        .collect();

    // Redis -> quorum: each value restored through a different node.
    for (i, case) in cases().iter().enumerate() {
        for command in &case.build {
            run(&mut redis_conn, command);
        }
        let node = &mut nodes[i % 3];
        carry(&mut redis_conn, node, case.key, "redis -> quorum");
    }

    // quorum -> Redis: built in quorum, dumped from another node than the one that built it.
    run(&mut redis_conn, &words("FLUSHALL"));
    run(&mut nodes[0], &words("FLUSHALL"));
    for (i, case) in cases().iter().enumerate() {
        for command in &case.build {
            run(&mut nodes[i % 3], command);
        }
        carry(
            &mut nodes[(i + 1) % 3],
            &mut redis_conn,
            case.key,
            "quorum -> redis",
        );
    }
}
