//! Reply tables for Redis's `set` group, through the same routing the server uses, and a
//! property test against a `BTreeSet` model.
//!
//! quorum's member order is deterministic but not Redis's, so a line prefixed `= ` compares
//! its reply with every array sorted (as the parity file compares it as a set). Random
//! commands are checked by their properties (sizes, membership, what left the set), not by
//! which members a seed happens to pick.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use common::{render, tokenize, Harness};
use proptest::prelude::*;
use quorum_commands::{apply_write_touching, ApplyContext};
use quorum_resp::Frame;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

/// The reply with every array (at every depth) sorted by its rendering.
fn sorted(frame: Frame) -> Frame {
    let sort = |items: Vec<Frame>| {
        let mut items: Vec<Frame> = items.into_iter().map(sorted).collect();
        items.sort_by_key(render);
        items
    };
    match frame {
        Frame::Array(items) | Frame::Set(items) => Frame::Array(sort(items)),
        other => other,
    }
}

/// Runs `line` on `h`: `= cmd` sorts the reply, anything else goes through `Harness::line`.
fn run(h: &mut Harness, line: &str) -> String {
    match line.strip_prefix("= ") {
        Some(cmd) => render(&sorted(h.run_args(&tokenize(cmd)))),
        None => h.line(line),
    }
}

/// `common::check` with `= ` lines compared as sets.
fn check(cases: &[(&str, &str)]) {
    let mut h = Harness::default();
    for (i, (line, expected)) in cases.iter().enumerate() {
        assert_eq!(&run(&mut h, line), expected, "step {i}: {line}");
    }
}

/// The members of an array reply, as strings, in reply order.
fn members(frame: &Frame) -> Vec<String> {
    match frame {
        Frame::Array(items) | Frame::Set(items) => items
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("not a member: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn add_remove_and_membership() {
    check(&[
        ("SADD s a b c a", ":3"),
        ("SADD s c d", ":1"),
        ("SADD s a", ":0"),
        ("SADD s \"\"", ":1"),
        ("SCARD s", ":5"),
        ("= SMEMBERS s", "[$, $a, $b, $c, $d]"),
        ("SISMEMBER s a", ":1"),
        ("SISMEMBER s \"\"", ":1"),
        ("SISMEMBER s zz", ":0"),
        ("SISMEMBER nosuch a", ":0"),
        ("SMISMEMBER s a zz d a", "[:1, :0, :1, :1]"),
        ("SMISMEMBER nosuch a b", "[:0, :0]"),
        ("SREM s a zz a", ":1"),
        ("SREM nosuch a", ":0"),
        ("SREM s b c d \"\"", ":4"),
        ("EXISTS s", ":0"),
        ("SCARD s", ":0"),
        ("SMEMBERS s", "[]"),
        ("SADD S x", ":1"),
        ("EXISTS s", ":0"),
        ("TYPE S", "+set"),
    ]);
}

#[test]
fn wrong_type_and_arity() {
    const WRONG_TYPE_LINES: &str = "SADD str a; SREM str a; SMEMBERS str; SISMEMBER str a; \
        SMISMEMBER str a; SCARD str; SPOP str; SPOP str 0; SRANDMEMBER str; SRANDMEMBER str 0; \
        SMOVE str s a; SMOVE s str a; SINTER s str; SINTER nosuch str; SUNION str; \
        SDIFF nosuch str; SINTERSTORE d nosuch str; SUNIONSTORE d s str; SDIFFSTORE d s str; \
        SINTERCARD 2 nosuch str; SSCAN str 0; SSCAN str 0 bogus";
    const ARITY_LINES: &str = "SADD s; SREM s; SMEMBERS; SMEMBERS s t; SISMEMBER s; \
        SMISMEMBER s; SCARD; SPOP; SRANDMEMBER; SMOVE a b; SINTER; SUNION; SDIFF; \
        SINTERSTORE d; SUNIONSTORE d; SDIFFSTORE d; SINTERCARD 1; SSCAN s";
    let mut h = Harness::default();
    assert_eq!(h.line("SET str v"), "+OK");
    assert_eq!(h.line("SADD s a"), ":1");
    for line in WRONG_TYPE_LINES.split("; ") {
        assert_eq!(h.line(line), WRONGTYPE, "{line}");
    }
    for line in ARITY_LINES.split("; ") {
        let name = line.split(' ').next().unwrap_or_default().to_lowercase();
        let expected = format!("-ERR wrong number of arguments for '{name}' command");
        assert_eq!(h.line(line), expected, "{line}");
    }
    assert_eq!(h.line("GET str"), "$v");
    assert_eq!(h.line("SCARD s"), ":1");
}

#[test]
fn smove_follows_redis_order_of_checks() {
    check(&[
        ("SET str v", "+OK"),
        ("SADD src a b", ":2"),
        ("SMOVE nosuch str a", ":0"),
        ("SMOVE src str a", WRONGTYPE),
        ("SMOVE src dst zz", ":0"),
        ("EXISTS dst", ":0"),
        ("SMOVE src dst a", ":1"),
        ("SMEMBERS dst", "[$a]"),
        ("SADD dst b", ":1"),
        ("SMOVE src dst b", ":1"),
        ("EXISTS src", ":0"),
        ("SCARD dst", ":2"),
        ("SMOVE dst dst a", ":1"),
        ("SMOVE dst dst zz", ":0"),
        ("SCARD dst", ":2"),
    ]);
}

#[test]
fn algebra_and_store_forms() {
    check(&[
        ("SADD a 1 2 3 4 x", ":5"),
        ("SADD b 3 4 5 x", ":4"),
        ("SADD c 4 x y", ":3"),
        ("= SINTER a b c", "[$4, $x]"),
        ("= SINTER a", "[$1, $2, $3, $4, $x]"),
        ("SINTER a nosuch b", "[]"),
        ("= SUNION a b c nosuch", "[$1, $2, $3, $4, $5, $x, $y]"),
        ("= SDIFF a b c", "[$1, $2]"),
        ("= SDIFF a nosuch", "[$1, $2, $3, $4, $x]"),
        ("SDIFF nosuch a", "[]"),
        ("SDIFF a a", "[]"),
        ("SET d v", "+OK"),
        ("EXPIRE d 100", ":1"),
        ("SINTERSTORE d a b", ":3"),
        ("TYPE d", "+set"),
        ("TTL d", ":-1"),
        ("= SMEMBERS d", "[$3, $4, $x]"),
        ("SUNIONSTORE d c nosuch", ":3"),
        ("= SMEMBERS d", "[$4, $x, $y]"),
        ("SDIFFSTORE d a b c", ":2"),
        ("= SMEMBERS d", "[$1, $2]"),
        // A destination that is also a source is read before it is replaced.
        ("SUNIONSTORE a a c", ":6"),
        ("SINTERSTORE a a d", ":2"),
        ("= SMEMBERS a", "[$1, $2]"),
        // An empty result deletes the destination, whatever it held.
        ("SINTERSTORE d a nosuch", ":0"),
        ("EXISTS d", ":0"),
        ("SET d v", "+OK"),
        ("SDIFFSTORE d a a", ":0"),
        ("EXISTS d", ":0"),
        ("SUNIONSTORE d nosuch", ":0"),
        ("EXISTS d", ":0"),
    ]);
}

#[test]
fn sintercard_counts_with_limit_and_redis_errors() {
    check(&[
        ("SADD a 1 2 3 4", ":4"),
        ("SADD b 2 3 4 5", ":4"),
        ("SINTERCARD 2 a b", ":3"),
        ("SINTERCARD 1 a", ":4"),
        ("SINTERCARD 2 a b LIMIT 2", ":2"),
        ("SINTERCARD 2 a b limit 0", ":3"),
        ("SINTERCARD 2 a b LIMIT 10", ":3"),
        ("SINTERCARD 2 a b LIMIT 1 LIMIT 0", ":3"),
        ("SINTERCARD 2 a nosuch", ":0"),
        ("SINTERCARD 1 nosuch", ":0"),
        ("SINTERCARD 0 a", "-ERR numkeys should be greater than 0"),
        ("SINTERCARD -1 a", "-ERR numkeys should be greater than 0"),
        ("SINTERCARD x a", "-ERR numkeys should be greater than 0"),
        (
            "SINTERCARD 9223372036854775808 a",
            "-ERR numkeys should be greater than 0",
        ),
        (
            "SINTERCARD 3 a b",
            "-ERR Number of keys can't be greater than number of args",
        ),
        ("SINTERCARD 1 a LIMIT", "-ERR syntax error"),
        ("SINTERCARD 1 a b", "-ERR syntax error"),
        ("SINTERCARD 1 a LIMIT -1", "-ERR LIMIT can't be negative"),
        ("SINTERCARD 1 a LIMIT x", "-ERR LIMIT can't be negative"),
        ("COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1", "[$a, $b]"),
    ]);
}

#[test]
fn spop_and_srandmember_errors_and_empty_forms() {
    check(&[
        ("SADD s a b c", ":3"),
        ("SPOP s -1", "-ERR value is out of range, must be positive"),
        ("SPOP s x", "-ERR value is out of range, must be positive"),
        ("SPOP nosuch -1", "-ERR value is out of range, must be positive"),
        ("SPOP s 1 2", "-ERR syntax error"),
        ("SPOP nosuch", "nil"),
        ("SPOP nosuch 3", "[]"),
        ("SPOP s 0", "[]"),
        ("SRANDMEMBER s x", "-ERR value is not an integer or out of range"),
        ("SRANDMEMBER s 1 2", "-ERR syntax error"),
        ("SRANDMEMBER nosuch 1 2", "-ERR syntax error"),
        (
            "SRANDMEMBER s -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        // quorum's limit on repeats (Redis streams any count).
        (
            "SRANDMEMBER s -1000000000",
            "-ERR value is out of range, value must between -4194304 and 9223372036854775807",
        ),
        ("SRANDMEMBER nosuch", "nil"),
        ("SRANDMEMBER nosuch -5", "[]"),
        ("SRANDMEMBER s 0", "[]"),
        ("= SRANDMEMBER s 3", "[$a, $b, $c]"),
        ("= SRANDMEMBER s 9223372036854775807", "[$a, $b, $c]"),
        ("SCARD s", ":3"),
        ("= SPOP s 1000000000", "[$a, $b, $c]"),
        ("EXISTS s", ":0"),
    ]);
}

/// Seeds decide the picks (same seed, same pick and same state), and over many seeds every
/// member comes up in each form. The model test checks sizes, distinctness and what SPOP
/// leaves.
#[test]
fn random_picks_follow_the_seed_and_reach_every_member() {
    let mut h = Harness::default();
    let all: BTreeSet<String> = (0..20).map(|i| format!("m{i}")).collect();
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_eq!(h.line(&format!("SADD s {}", names.join(" "))), ":20");
    let mut seen: [BTreeSet<String>; 3] = Default::default();
    for seed in 0..200 {
        h.seed = seed;
        for (i, line) in ["SRANDMEMBER s", "SRANDMEMBER s 3", "SRANDMEMBER s -3"]
            .iter()
            .enumerate()
        {
            let reply = h.run_args(&tokenize(line));
            assert_eq!(h.run_args(&tokenize(line)), reply, "{line}, seed {seed}");
            seen[i].extend(match reply {
                Frame::Bulk(b) => vec![String::from_utf8_lossy(&b).into_owned()],
                other => members(&other),
            });
        }
    }
    assert!(seen.iter().all(|found| *found == all), "{seen:?}");
    let mut replica = Harness {
        ks: h.ks.clone(),
        now_ms: h.now_ms,
        seed: 9,
        ..Harness::default()
    };
    h.seed = 9;
    for line in ["SPOP s", "SPOP s 7"] {
        assert_eq!(h.line(line), replica.line(line));
    }
    assert_eq!(common::snapshot(&h.ks), common::snapshot(&replica.ks));
    assert_eq!(h.line("SCARD s"), ":12");
}

#[test]
fn sscan_pages_match_and_errors() {
    let mut h = Harness::default();
    assert_eq!(h.line("SET str v"), "+OK");
    assert_eq!(h.line("SADD s a1 a2 a3 b1 b2 c1 c2"), ":7");
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut pages = 0;
    loop {
        let reply = h.run_args(&tokenize(&format!("SSCAN s {cursor} COUNT 2")));
        let Frame::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        let Frame::Bulk(next) = &parts[0] else {
            panic!("{parts:?}")
        };
        let page = members(&parts[1]);
        assert!(page.len() <= 2);
        seen.extend(page);
        pages += 1;
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
        assert!(pages < 10, "the scan does not end");
    }
    assert_eq!(seen.len(), 7);
    for (line, expected) in [
        ("= SSCAN s 0 MATCH a* COUNT 100", "[$0, [$a1, $a2, $a3]]"),
        ("= SSCAN s 0 match *2 count 100", "[$0, [$a2, $b2, $c2]]"),
        (
            "= SSCAN s 0 MATCH * COUNT 1000",
            "[$0, [$a1, $a2, $a3, $b1, $b2, $c1, $c2]]",
        ),
        ("SSCAN s 0 MATCH zz*", "[$0, []]"),
        ("SSCAN nosuch 0", "[$0, []]"),
        ("SSCAN nosuch 0 bogus options", "[$0, []]"),
        ("SSCAN s x", "-ERR invalid cursor"),
        ("SSCAN s \" 1\"", "-ERR invalid cursor"),
        ("SSCAN s 18446744073709551616", "-ERR invalid cursor"),
        ("SSCAN nosuch x", "-ERR invalid cursor"),
        ("SSCAN s 0 COUNT 0", "-ERR syntax error"),
        ("SSCAN s 0 COUNT -1", "-ERR syntax error"),
        (
            "SSCAN s 0 COUNT x",
            "-ERR value is not an integer or out of range",
        ),
        ("SSCAN s 0 COUNT", "-ERR syntax error"),
        ("SSCAN s 0 MATCH", "-ERR syntax error"),
        ("SSCAN s 0 TYPE set", "-ERR syntax error"),
        ("SSCAN s 0 NOVALUES", "-ERR syntax error"),
    ] {
        assert_eq!(run(&mut h, line), expected, "{line}");
    }
}

#[test]
fn expired_sets_are_absent() {
    check(&[
        ("SADD s a b", ":2"),
        ("SADD t b", ":1"),
        ("PEXPIRE s 100", ":1"),
        ("@now +100", ""),
        ("SCARD s", ":0"),
        ("SMEMBERS s", "[]"),
        ("SRANDMEMBER s", "nil"),
        ("SSCAN s 0", "[$0, []]"),
        ("SINTERCARD 1 s", ":0"),
        ("SMOVE s t a", ":0"),
        ("SUNIONSTORE d s t", ":1"),
        ("SADD s c", ":1"),
        ("TTL s", ":-1"),
        ("SMEMBERS s", "[$c]"),
    ]);
}

#[test]
fn only_changes_touch_keys() {
    let mut h = Harness::default();
    h.line("SADD s a b");
    let ctx = ApplyContext {
        now_ms: h.now_ms,
        seed: 7,
    };
    let mut touched = |line: &str| {
        let (_, touched) = apply_write_touching(&mut h.ks, &tokenize(line), &ctx);
        touched.keys
    };
    assert!(touched("SADD s a").is_empty());
    assert!(touched("SREM s zz").is_empty());
    assert!(touched("SMOVE s t zz").is_empty());
    assert!(touched("SPOP s 0").is_empty());
    assert!(touched("SINTERSTORE d s nosuch").is_empty());
    assert_eq!(touched("SADD s c"), vec![Bytes::from_static(b"s")]);
    assert!(touched("SMOVE s t a").contains(&Bytes::from_static(b"t")));
}

// ---- model-based property test ----

/// A key's value in the model: a set, or the string that `str` holds.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str,
    Set(BTreeSet<String>),
}

type Model = BTreeMap<String, Val>;

const KEYS: &[&str] = &["a", "b", "c", "str"];
const MEMBERS: &[&str] = &["x", "y", "z", "", "1", "10"];

/// The set under `key`: `Ok(None)` when absent, `Err` for the string.
fn set_of<'a>(m: &'a Model, key: &str) -> Result<Option<&'a BTreeSet<String>>, String> {
    match m.get(key) {
        None => Ok(None),
        Some(Val::Set(s)) => Ok(Some(s)),
        Some(Val::Str) => Err(WRONGTYPE.to_string()),
    }
}

fn put(m: &mut Model, key: &str, set: BTreeSet<String>) {
    if set.is_empty() {
        m.remove(key);
    } else {
        m.insert(key.to_string(), Val::Set(set));
    }
}

fn list<'a>(members: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<String> = members.into_iter().map(|m| format!("${m}")).collect();
    format!("[{}]", items.join(", "))
}

/// The sets under `keys` (absent = empty), or WRONGTYPE.
fn sets(m: &Model, keys: &[String]) -> Result<Vec<BTreeSet<String>>, String> {
    keys.iter()
        .map(|k| Ok(set_of(m, k)?.cloned().unwrap_or_default()))
        .collect()
}

fn algebra(op: &str, sets: Vec<BTreeSet<String>>) -> BTreeSet<String> {
    let mut it = sets.into_iter();
    let first = it.next().unwrap_or_default();
    it.fold(first, |acc, s| match op {
        "INTER" => &acc & &s,
        "UNION" => &acc | &s,
        _ => &acc - &s,
    })
}

/// The model's reply to a deterministic command (arrays sorted), updating the model.
fn model_reply(m: &mut Model, w: &[String]) -> Result<String, String> {
    let one = |n: bool| format!(":{}", i64::from(n));
    Ok(match w[0].as_str() {
        "SADD" | "SREM" => {
            let mut set = set_of(m, &w[1])?.cloned().unwrap_or_default();
            let changed = w[2..]
                .iter()
                .filter(|x| match w[0].as_str() {
                    "SADD" => set.insert((*x).clone()),
                    _ => set.remove(*x),
                })
                .count();
            put(m, &w[1], set);
            format!(":{changed}")
        }
        "SISMEMBER" => one(set_of(m, &w[1])?.is_some_and(|s| s.contains(&w[2]))),
        "SMISMEMBER" => {
            let set = set_of(m, &w[1])?.cloned().unwrap_or_default();
            let items: Vec<String> = w[2..].iter().map(|x| one(set.contains(x))).collect();
            format!("[{}]", items.join(", "))
        }
        "SCARD" => format!(":{}", set_of(m, &w[1])?.map_or(0, BTreeSet::len)),
        "SMEMBERS" => list(set_of(m, &w[1])?.cloned().unwrap_or_default().iter()),
        "SMOVE" => {
            let Some(src) = set_of(m, &w[1])?.cloned() else {
                return Ok(":0".into());
            };
            let dst = set_of(m, &w[2])?.cloned().unwrap_or_default();
            if w[1] == w[2] || !src.contains(&w[3]) {
                return Ok(one(w[1] == w[2] && src.contains(&w[3])));
            }
            let (mut src, mut dst) = (src, dst);
            src.remove(&w[3]);
            put(m, &w[1], src);
            dst.insert(w[3].clone());
            put(m, &w[2], dst);
            ":1".into()
        }
        "SINTER" | "SUNION" | "SDIFF" => list(&algebra(&w[0][1..], sets(m, &w[1..])?)),
        "SINTERSTORE" | "SUNIONSTORE" | "SDIFFSTORE" => {
            let result = algebra(&w[0][1..w[0].len() - 5], sets(m, &w[2..])?);
            let size = result.len();
            put(m, &w[1], result);
            format!(":{size}")
        }
        "SINTERCARD" => {
            let Ok(limit) = w[5].parse::<usize>() else {
                return Ok("-ERR LIMIT can't be negative".into());
            };
            let size = algebra("INTER", sets(m, &w[2..4])?).len();
            format!(":{}", if limit == 0 { size } else { size.min(limit) })
        }
        other => panic!("model lacks {other}"),
    })
}

/// Checks a random command's reply against the model and applies what it popped.
fn check_random(m: &mut Model, w: &[String], got: &Frame) -> Result<(), TestCaseError> {
    let count: i64 = w.get(2).map_or(1, |n| n.parse().unwrap_or(0));
    if w[0] == "SPOP" && count < 0 {
        prop_assert_eq!(render(got), "-ERR value is out of range, must be positive");
        return Ok(());
    }
    let set = match set_of(m, &w[1]) {
        Err(e) => {
            prop_assert_eq!(render(got), e);
            return Ok(());
        }
        Ok(set) => set.cloned().unwrap_or_default(),
    };
    let picked = match (got, w.len()) {
        (Frame::Null, 2) => Vec::new(),
        (Frame::Bulk(b), 2) => vec![String::from_utf8_lossy(b).into_owned()],
        (other, _) => members(other),
    };
    prop_assert!(
        picked.iter().all(|x| set.contains(x)),
        "{:?} from {:?}",
        picked,
        set
    );
    let distinct: BTreeSet<&String> = picked.iter().collect();
    if count < 0 {
        prop_assert_eq!(picked.len() as i64, if set.is_empty() { 0 } else { -count });
    } else {
        prop_assert_eq!(picked.len(), set.len().min(count as usize));
        prop_assert_eq!(distinct.len(), picked.len());
    }
    if w[0] == "SPOP" {
        let left = set.into_iter().filter(|x| !distinct.contains(x)).collect();
        put(m, &w[1], left);
    }
    Ok(())
}

fn command() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(KEYS);
    let member = || prop::sample::select(MEMBERS);
    (
        0usize..19,
        key(),
        key(),
        key(),
        member(),
        member(),
        -4i64..5,
    )
        .prop_map(|(op, k, k2, k3, x, y, n)| {
            let n = n.to_string();
            let words: Vec<&str> = match op {
                0 | 1 => vec!["SADD", k, x, y],
                2 => vec!["SREM", k, x, y],
                3 => vec!["SISMEMBER", k, x],
                4 => vec!["SMISMEMBER", k, x, y],
                5 => vec!["SCARD", k],
                6 => vec!["SMEMBERS", k],
                7 => vec!["SMOVE", k, k2, x],
                8 => vec!["SINTER", k, k2],
                9 => vec!["SUNION", k, k2, k3],
                10 => vec!["SDIFF", k, k2],
                11 => vec!["SINTERSTORE", k, k2, k3],
                12 => vec!["SUNIONSTORE", k, k2, k3],
                13 => vec!["SDIFFSTORE", k, k2, k3],
                14 => vec!["SINTERCARD", "2", k, k2, "LIMIT", &n],
                15 => vec!["SPOP", k],
                16 => vec!["SPOP", k, &n],
                17 => vec!["SRANDMEMBER", k, &n],
                _ => vec!["SRANDMEMBER", k],
            };
            words.into_iter().map(String::from).collect()
        })
}

/// Every member an SSCAN from 0 to 0 returns, with COUNT 2 so it takes several pages.
fn scan_all(h: &mut Harness, key: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    for _ in 0..MEMBERS.len() + 2 {
        let reply = h.run_args(&tokenize(&format!("SSCAN {key} {cursor} COUNT 2")));
        let Frame::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        seen.extend(members(&parts[1]));
        cursor = render(&parts[0])[1..].to_string();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0", "scan of {key} did not finish");
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn set_commands_match_a_btreeset_model(
        commands in prop::collection::vec(command(), 1..60),
        seeds in prop::collection::vec(any::<u64>(), 60),
    ) {
        let mut model = Model::new();
        model.insert("str".into(), Val::Str);
        let mut h = Harness::default();
        prop_assert_eq!(h.line("SET str v"), "+OK");
        for (words, seed) in commands.iter().zip(seeds) {
            h.seed = seed;
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.clone())).collect();
            let got = h.run_args(&args);
            if matches!(words[0].as_str(), "SPOP" | "SRANDMEMBER") {
                check_random(&mut model, words, &got)?;
                continue;
            }
            let expected = model_reply(&mut model, words).unwrap_or_else(|e| e);
            let unordered = matches!(words[0].as_str(), "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF");
            let got = if unordered { sorted(got) } else { got };
            prop_assert_eq!(render(&got), expected, "{:?}", words);
        }
        for key in KEYS {
            match model.get(*key) {
                Some(Val::Str) => prop_assert_eq!(h.line(&format!("TYPE {key}")), "+string"),
                Some(Val::Set(set)) => prop_assert_eq!(&scan_all(&mut h, key), set),
                None => prop_assert_eq!(h.line(&format!("EXISTS {key}")), ":0"),
            }
        }
        prop_assert_eq!(h.ks.len(), model.len());
    }
}
