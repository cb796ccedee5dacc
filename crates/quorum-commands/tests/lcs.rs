//! Reply tables for LCS, checked against Redis 7.0.15, and a model-based property test:
//! random strings written with SET/APPEND/DEL, and LCS with every option against a model
//! that is Redis's `lcsCommand` transcribed directly (the full table of lengths), so the
//! one-bit table quorum keeps must give the very same subsequence and ranges.

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::{check, render, Harness};
use proptest::prelude::*;

#[test]
fn errors() {
    check(&[
        ("LCS", "-ERR wrong number of arguments for 'lcs' command"),
        ("LCS a", "-ERR wrong number of arguments for 'lcs' command"),
        ("MSET a ohmytext b mynewtext", "+OK"),
        ("LCS a b BOGUS", "-ERR syntax error"),
        (
            "LCS a b LEN IDX",
            "-ERR If you want both the length and indexes, please just use IDX.",
        ),
        ("LCS a b MINMATCHLEN", "-ERR syntax error"),
        (
            "LCS a b MINMATCHLEN x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LCS a b MINMATCHLEN 99999999999999999999",
            "-ERR value is not an integer or out of range",
        ),
        ("RPUSH list x", ":1"),
        (
            "LCS a list",
            "-ERR The specified keys must contain string values",
        ),
        // The type is checked before the options.
        (
            "LCS list a BOGUS",
            "-ERR The specified keys must contain string values",
        ),
        (
            "LCS nokey list LEN IDX",
            "-ERR The specified keys must contain string values",
        ),
    ]);
}

#[test]
fn documentation_examples() {
    check(&[
        ("MSET a ohmytext b mynewtext", "+OK"),
        ("LCS a b", "$mytext"),
        ("LCS a b LEN", ":6"),
        (
            "LCS a b IDX",
            "[$matches, [[[:4, :7], [:5, :8]], [[:2, :3], [:0, :1]]], $len, :6]",
        ),
        (
            "LCS a b IDX MINMATCHLEN 4",
            "[$matches, [[[:4, :7], [:5, :8]]], $len, :6]",
        ),
        (
            "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN",
            "[$matches, [[[:4, :7], [:5, :8], :4]], $len, :6]",
        ),
        (
            "LCS a b idx minmatchlen -3 withmatchlen",
            "[$matches, [[[:4, :7], [:5, :8], :4], [[:2, :3], [:0, :1], :2]], $len, :6]",
        ),
        ("LCS a b IDX MINMATCHLEN 100", "[$matches, [], $len, :6]"),
        ("LCS a b WITHMATCHLEN MINMATCHLEN 4", "$mytext"),
        ("LCS a b LEN WITHMATCHLEN", ":6"),
        (
            "LCS b a IDX WITHMATCHLEN",
            "[$matches, [[[:5, :8], [:4, :7], :4], [[:0, :1], [:2, :3], :2]], $len, :6]",
        ),
        (
            "LCS a a IDX WITHMATCHLEN",
            "[$matches, [[[:0, :7], [:0, :7], :8]], $len, :8]",
        ),
        ("LCS a nokey", "$"),
        ("LCS nokey nokey IDX", "[$matches, [], $len, :0]"),
    ]);
}

#[test]
fn more_shapes() {
    check(&[
        ("MSET c abc d xyz e a f aaaa i \"hello world\" j \"world hello\" k 12345 l 2468", "+OK"),
        ("LCS c d IDX", "[$matches, [], $len, :0]"),
        ("LCS e f IDX WITHMATCHLEN", "[$matches, [[[:0, :0], [:3, :3], :1]], $len, :1]"),
        ("LCS f e IDX WITHMATCHLEN", "[$matches, [[[:3, :3], [:0, :0], :1]], $len, :1]"),
        ("LCS i j IDX WITHMATCHLEN", "[$matches, [[[:6, :10], [:0, :4], :5]], $len, :5]"),
        ("LCS j i IDX MINMATCHLEN 2 WITHMATCHLEN", "[$matches, [[[:6, :9], [:0, :3], :4]], $len, :5]"),
        ("LCS k l", "$24"),
        ("LCS k l IDX", "[$matches, [[[:3, :3], [:1, :1]], [[:1, :1], [:0, :0]]], $len, :2]"),
        ("MSET m \"the quick brown fox jumps over the lazy dog\" n \"a quick brown dog jumps over the lazy fox\"", "+OK"),
        ("LCS m n", "$ quick brown o jumps over the lazy o"),
        ("LCS m n IDX MINMATCHLEN 5", "[$matches, [[[:19, :39], [:17, :37]], [[:3, :15], [:1, :13]]], $len, :36]"),
    ]);
}

#[test]
fn the_table_is_bounded_like_redis() {
    // (len(a) + 1) * (len(b) + 1) cells of 4 bytes may not exceed 512 MB.
    let refusal = "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
    check(&[
        ("SETRANGE big1 11583 x", ":11584"),
        ("SETRANGE big3 11584 x", ":11585"),
        ("LCS big1 big3 LEN", refusal),
        ("LCS big3 big1", refusal),
        ("LCS big3 nokey", "$"),
        ("LCS big1 big1 LEN", ":11584"),
    ]);
}

/// Redis 7.0's `lcsCommand`, transcribed with its full table, rendered like the harness.
fn redis_lcs(a: &[u8], b: &[u8], idx: bool, len_only: bool, min: u64, with_len: bool) -> String {
    let (alen, blen) = (a.len(), b.len());
    let mut t = vec![vec![0u32; blen + 1]; alen + 1];
    for i in 1..=alen {
        for j in 1..=blen {
            t[i][j] = if a[i - 1] == b[j - 1] {
                t[i - 1][j - 1] + 1
            } else {
                t[i - 1][j].max(t[i][j - 1])
            };
        }
    }
    let total = t[alen][blen];
    if len_only && !idx {
        return format!(":{total}");
    }
    let mut result = vec![0u8; total as usize];
    let mut matches = Vec::new();
    let (mut i, mut j, mut k) = (alen, blen, total as usize);
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0, 0, 0);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[k - 1] = a[i - 1];
            if a_start == alen {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if t[i - 1][j] > t[i][j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        let match_len = a_end.wrapping_sub(a_start).wrapping_add(1) as u64;
        if emit {
            if min == 0 || match_len >= min {
                let mut m = format!("[[:{a_start}, :{a_end}], [:{b_start}, :{b_end}]");
                if with_len {
                    m += &format!(", :{match_len}");
                }
                matches.push(m + "]");
            }
            a_start = alen;
        }
    }
    if idx {
        format!("[$matches, [{}], $len, :{total}]", matches.join(", "))
    } else {
        format!("${}", String::from_utf8_lossy(&result))
    }
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&["a", "b", "c", "ab", "\0"][..]),
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

#[derive(Debug, Clone)]
enum Command {
    Set(usize, String),
    Append(usize, String),
    Del(usize),
    Lcs(usize, usize, bool, bool, i64, bool),
}

const KEYS: &[&str] = &["x", "y", "z"];

fn command() -> impl Strategy<Value = Command> {
    let key = 0..KEYS.len();
    prop_oneof![
        (key.clone(), text()).prop_map(|(k, t)| Command::Set(k, t)),
        (key.clone(), text()).prop_map(|(k, t)| Command::Append(k, t)),
        key.clone().prop_map(Command::Del),
        (
            key.clone(),
            key,
            any::<bool>(),
            any::<bool>(),
            -1i64..5,
            any::<bool>()
        )
            .prop_map(|(a, b, idx, len, min, w)| Command::Lcs(a, b, idx, len, min, w)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lcs_matches_redis_full_table(commands in prop::collection::vec(command(), 1..30)) {
        let mut model: BTreeMap<usize, String> = BTreeMap::new();
        let mut h = Harness::default();
        for command in &commands {
            let words: Vec<String> = match command {
                Command::Set(k, t) => {
                    model.insert(*k, t.clone());
                    vec!["SET".into(), KEYS[*k].into(), t.clone()]
                }
                Command::Append(k, t) => {
                    model.entry(*k).or_default().push_str(t);
                    vec!["APPEND".into(), KEYS[*k].into(), t.clone()]
                }
                Command::Del(k) => {
                    model.remove(k);
                    vec!["DEL".into(), KEYS[*k].into()]
                }
                Command::Lcs(a, b, idx, len, min, with_len) => {
                    let mut w = vec!["LCS".to_string(), KEYS[*a].into(), KEYS[*b].into()];
                    if *idx { w.push("IDX".into()); }
                    if *len { w.push("LEN".into()); }
                    if *min >= 0 { w.extend(["MINMATCHLEN".into(), min.to_string()]); }
                    if *with_len { w.push("WITHMATCHLEN".into()); }
                    w
                }
            };
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.clone())).collect();
            let got = render(&h.run_args(&args));
            if let Command::Lcs(a, b, idx, len, min, with_len) = command {
                let expected = if *idx && *len {
                    "-ERR If you want both the length and indexes, please just use IDX.".to_string()
                } else {
                    let text = |k: &usize| model.get(k).cloned().unwrap_or_default();
                    let (ta, tb) = (text(a), text(b));
                    redis_lcs(ta.as_bytes(), tb.as_bytes(), *idx, *len, (*min).max(0) as u64, *with_len)
                };
                prop_assert_eq!(got, expected, "{:?}", words);
            }
        }
    }
}
