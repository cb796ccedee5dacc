//! Property tests of the replication contract: replicas that apply the same log, with the
//! leader's times and seeds, end byte-identical, even when one of them restarts from a
//! snapshot midway; and snapshot encode -> decode -> encode is the identity. The generator
//! mixes every type (strings, hashes, lists and their blocking pops, sets with SPOP's random
//! choices, sorted sets), so type changes and WRONGTYPE paths are covered too.

mod common;

use bytes::Bytes;
use common::snapshot;
use proptest::prelude::*;
use quorum_commands::{apply_expire, apply_write, precheck_write, ApplyContext};
use quorum_keyspace::Keyspace;

const KEYS: &[&str] = &["a", "b", "c", "counter"];
const VALUES: &[&str] = &[
    "x",
    "",
    "10",
    "-3",
    "2.5",
    "hello world",
    "9223372036854775807",
];

/// One logged write: the leader's clock advance and the command.
#[derive(Debug, Clone)]
struct LogEntry {
    advance_ms: u64,
    args: Vec<Bytes>,
}

fn command() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(KEYS);
    let value = prop::sample::select(VALUES);
    let n = -3i64..40;
    (0usize..60, key.clone(), key, value, n).prop_map(|(op, k, k2, v, n)| {
        let s = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let n_s = n.to_string();
        let n = n_s.as_str();
        match op {
            0 => s(&["SET", k, v]),
            1 => s(&["SET", k, v, "PX", n]),
            2 => s(&["SET", k, v, "KEEPTTL", "GET"]),
            3 => s(&["SET", k, v, "NX", "EX", n]),
            4 => s(&["SET", k, v, "XX"]),
            5 => s(&["SETNX", k, v]),
            6 => s(&["PSETEX", k, n, v]),
            7 => s(&["GETSET", k, v]),
            8 => s(&["GETDEL", k]),
            9 => s(&["GETEX", k, "PX", n]),
            10 => s(&["MSET", k, v, k2, n]),
            11 => s(&["MSETNX", k, v, k2, v]),
            12 => s(&["APPEND", k, v]),
            13 => s(&["INCRBY", k, n]),
            14 => s(&["INCRBYFLOAT", k, v]),
            15 => s(&["SETRANGE", k, n, v]),
            16 => s(&["DEL", k, k2]),
            17 => s(&["RENAME", k, k2]),
            18 => s(&["COPY", k, k2, "REPLACE"]),
            19 => s(&["PEXPIRE", k, n, "GT"]),
            20 => s(&["EXPIRE", k, n]),
            21 => s(&["PERSIST", k]),
            22 => s(&["RENAMENX", k, k2]),
            23 => s(&["DECR", k]),
            // Hashes.
            24 => s(&["HSET", k, v, n]),
            25 => s(&["HSET", k, "f", v, "g", n]),
            26 => s(&["HSETNX", k, v, v]),
            27 => s(&["HDEL", k, v, "f"]),
            28 => s(&["HINCRBY", k, "f", n]),
            29 => s(&["HINCRBYFLOAT", k, "g", v]),
            // Lists, with their blocking forms applied as the log applies them.
            30 => s(&["LPUSH", k, v, n]),
            31 => s(&["RPUSH", k, v]),
            32 => s(&["LPOP", k]),
            33 => s(&["RPOP", k, n]),
            34 => s(&["LSET", k, n, v]),
            35 => s(&["LINSERT", k, "BEFORE", v, n]),
            36 => s(&["LREM", k, n, v]),
            37 => s(&["LTRIM", k, n, "-1"]),
            38 => s(&["LMOVE", k, k2, "LEFT", "RIGHT"]),
            39 => s(&["BLMPOP", "0", "2", k, k2, "RIGHT", "COUNT", "2"]),
            40 => s(&["BRPOPLPUSH", k, k2, "0"]),
            // Sets: SPOP draws on the logged seed.
            41 => s(&["SADD", k, v, n]),
            42 => s(&["SREM", k, v]),
            43 => s(&["SPOP", k]),
            44 => s(&["SPOP", k, n]),
            45 => s(&["SMOVE", k, k2, v]),
            46 => s(&["SINTERSTORE", k, k2, k]),
            47 => s(&["SUNIONSTORE", k, k2, k]),
            48 => s(&["SDIFFSTORE", k, k2, k]),
            // Sorted sets.
            49 => s(&["ZADD", k, n, v]),
            50 => s(&["ZADD", k, "GT", "CH", n, v, "1.5", "m"]),
            51 => s(&["ZADD", k, "INCR", n, v]),
            52 => s(&["ZINCRBY", k, v, "m"]),
            53 => s(&["ZREM", k, v, "m"]),
            54 => s(&["ZPOPMIN", k, n]),
            55 => s(&["BZPOPMAX", k, k2, "0"]),
            56 => s(&["ZREMRANGEBYSCORE", k, "-inf", n]),
            57 => s(&[
                "ZUNIONSTORE",
                k,
                "2",
                k,
                k2,
                "WEIGHTS",
                "2",
                n,
                "AGGREGATE",
                "MAX",
            ]),
            58 => s(&["ZRANGESTORE", k2, k, "0", n]),
            _ => s(&["MOVE", k, "1"]),
        }
    })
}

fn log() -> impl Strategy<Value = Vec<LogEntry>> {
    prop::collection::vec(
        (0u64..30, command()).prop_map(|(advance_ms, words)| LogEntry {
            advance_ms,
            args: words.into_iter().map(Bytes::from).collect(),
        }),
        1..80,
    )
}

/// Applies `entries` the way a replica does: leader-decided times, and an active-expiry
/// operation listed by the leader every few entries.
fn replay(ks: &mut Keyspace, entries: &[LogEntry], mut now_ms: u64) -> (u64, Vec<String>) {
    let mut replies = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        now_ms += entry.advance_ms;
        if i % 5 == 4 {
            let expired = ks.expired_keys(now_ms, 2);
            apply_expire(ks, &expired, now_ms);
        }
        // The receiving node refuses what precheck refuses; such writes never reach the log.
        if precheck_write(&entry.args).is_err() {
            continue;
        }
        let reply = apply_write(
            ks,
            &entry.args,
            &ApplyContext {
                now_ms,
                seed: i as u64,
            },
        );
        replies.push(format!("{reply:?}"));
    }
    (now_ms, replies)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn replicas_applying_one_log_are_byte_identical(entries in log(), cut in 0usize..80) {
        let start = common::START_MS;
        let mut one = Keyspace::new();
        let (_, replies_one) = replay(&mut one, &entries, start);

        // The second replica restarts from a snapshot after `cut` entries.
        let cut = cut.min(entries.len());
        let mut two = Keyspace::new();
        let (now, mut replies_two) = replay(&mut two, &entries[..cut], start);
        let bytes = snapshot(&two);
        let mut two = Keyspace::decode_snapshot(&bytes).unwrap();
        prop_assert_eq!(snapshot(&two), bytes);
        // Replay the rest with the same entry indexes (active expiry every 5th entry).
        let mut now_ms = now;
        for (i, entry) in entries.iter().enumerate().skip(cut) {
            now_ms += entry.advance_ms;
            if i % 5 == 4 {
                let expired = two.expired_keys(now_ms, 2);
                apply_expire(&mut two, &expired, now_ms);
            }
            if precheck_write(&entry.args).is_err() {
                continue;
            }
            let reply = apply_write(&mut two, &entry.args, &ApplyContext { now_ms, seed: i as u64 });
            replies_two.push(format!("{reply:?}"));
        }

        prop_assert_eq!(replies_one, replies_two);
        prop_assert_eq!(snapshot(&one), snapshot(&two));
        prop_assert_eq!(one.used_memory_bytes(), two.used_memory_bytes());
        prop_assert_eq!(one.expires_count(), two.expires_count());
    }

    #[test]
    fn snapshot_round_trip_is_identity(entries in log()) {
        let mut ks = Keyspace::new();
        replay(&mut ks, &entries, common::START_MS);
        let bytes = snapshot(&ks);
        let decoded = Keyspace::decode_snapshot(&bytes).unwrap();
        prop_assert_eq!(snapshot(&decoded), bytes);
        prop_assert_eq!(decoded.len(), ks.len());
        prop_assert_eq!(decoded.expires_count(), ks.expires_count());
    }

    #[test]
    fn garbage_snapshots_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Keyspace::decode_snapshot(&bytes);
    }
}
