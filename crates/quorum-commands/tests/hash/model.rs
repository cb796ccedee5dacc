//! Model-based property test: random sequences of the deterministic hash commands, run
//! through the harness and through a model (key -> field -> value in `BTreeMap`s), must
//! give the same replies (orders the hash decides are compared sorted); afterwards
//! HRANDFIELD and a whole HSCAN must agree with the model's contents.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::prelude::*;
use quorum_resp::Frame;

use crate::common::{render, Harness};
use crate::properties::{bulk_text, full_scan, run};
use crate::WRONGTYPE;

const KEYS: &[&str] = &["a", "b", "s"];
const FIELDS: &[&str] = &["f", "g", "h", ""];
const VALUES: &[&str] = &[
    "v",
    "",
    "0",
    "17",
    "-5",
    "1.5",
    "x y",
    "9223372036854775807",
];
const INT_INCREMENTS: &[&str] = &["1", "-3", "0", "9223372036854775807", "x"];
const FLOAT_INCREMENTS: &[&str] = &["1.5", "-0.25", "2", "0", "x", "inf"];

/// Key -> field -> value; the key `s` holds a string (set up before every case).
type Model = BTreeMap<String, BTreeMap<String, String>>;

fn bulk(v: &str) -> String {
    format!("${v}")
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// Redis's `string2ll` acceptance, as the model sees it.
fn model_i64(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|n| n.to_string() == text)
}

/// The reply the model predicts, rendered like the harness (whole-hash replies sorted).
fn model_reply(m: &mut Model, words: &[&str]) -> String {
    let (cmd, key) = (words[0], words[1]);
    // Argument checks that come before the type.
    match cmd {
        "HINCRBY" if model_i64(words[3]).is_none() => {
            return "-ERR value is not an integer or out of range".into()
        }
        "HINCRBYFLOAT" if words[3] == "x" => return "-ERR value is not a valid float".into(),
        "HINCRBYFLOAT" if words[3] == "inf" => return "-ERR value is NaN or Infinity".into(),
        _ => {}
    }
    if key == "s" {
        return WRONGTYPE.into();
    }
    let hash = m.get(key);
    let field_of = |i: usize| hash.and_then(|h| h.get(words[i])).cloned();
    let reply = match cmd {
        "HSET" | "HMSET" => {
            let h = m.entry(key.to_string()).or_default();
            let added = words[2..]
                .chunks(2)
                .filter(|p| h.insert(p[0].to_string(), p[1].to_string()).is_none())
                .count();
            if cmd == "HSET" {
                format!(":{added}")
            } else {
                "+OK".into()
            }
        }
        "HSETNX" => {
            let h = m.entry(key.to_string()).or_default();
            if h.contains_key(words[2]) {
                ":0".into()
            } else {
                h.insert(words[2].into(), words[3].into());
                ":1".into()
            }
        }
        "HGET" => field_of(2).map_or("nil".into(), |v| bulk(&v)),
        "HMGET" => list((2..words.len()).map(|i| field_of(i).map_or("nil".into(), |v| bulk(&v)))),
        "HEXISTS" => format!(":{}", i64::from(field_of(2).is_some())),
        "HSTRLEN" => format!(":{}", field_of(2).map_or(0, |v| v.len())),
        "HLEN" => format!(":{}", hash.map_or(0, BTreeMap::len)),
        "HKEYS" => list(hash.into_iter().flat_map(|h| h.keys().map(|f| bulk(f)))),
        "HVALS" => {
            let mut values: Vec<String> = hash
                .into_iter()
                .flat_map(|h| h.values().map(|v| bulk(v)))
                .collect();
            values.sort();
            list(values)
        }
        "HGETALL" => list(
            hash.into_iter()
                .flat_map(|h| h.iter().flat_map(|(f, v)| [bulk(f), bulk(v)])),
        ),
        "HDEL" => {
            let removed = match m.get_mut(key) {
                None => 0,
                Some(h) => words[2..]
                    .iter()
                    .filter(|f| h.remove(**f).is_some())
                    .count(),
            };
            format!(":{removed}")
        }
        "HINCRBY" => {
            let by = model_i64(words[3]).expect("checked above");
            let current = match field_of(2) {
                None => Some(0),
                Some(text) => model_i64(&text),
            };
            match current {
                None => "-ERR hash value is not an integer".into(),
                Some(n) => match n.checked_add(by) {
                    None => "-ERR increment or decrement would overflow".into(),
                    Some(next) => {
                        m.entry(key.into())
                            .or_default()
                            .insert(words[2].into(), next.to_string());
                        format!(":{next}")
                    }
                },
            }
        }
        "HINCRBYFLOAT" => {
            let by: f64 = words[3].parse().expect("checked above");
            let current = match field_of(2) {
                None => Some(0.0),
                Some(text) => text.parse::<f64>().ok().filter(|x| x.is_finite()),
            };
            match current {
                None => "-ERR hash value is not a float".into(),
                Some(x) => {
                    // Sums of these increments are exact, so Rust's shortest text is Redis's.
                    let mut text = format!("{}", x + by);
                    if text == "-0" {
                        text = "0".into();
                    }
                    m.entry(key.into())
                        .or_default()
                        .insert(words[2].into(), text.clone());
                    bulk(&text)
                }
            }
        }
        other => panic!("model lacks {other}"),
    };
    m.retain(|_, h| !h.is_empty());
    reply
}

/// Renders a reply, sorting what the hash's order decides (HGETALL by pair, HKEYS, HVALS).
fn normalized(cmd: &str, frame: &Frame) -> String {
    let sorted = |mut items: Vec<String>| {
        items.sort();
        list(items)
    };
    match (cmd, frame) {
        ("HGETALL", Frame::Map(pairs)) => {
            let mut pairs: Vec<(String, String)> =
                pairs.iter().map(|(f, v)| (render(f), render(v))).collect();
            pairs.sort();
            list(pairs.into_iter().flat_map(|(f, v)| [f, v]))
        }
        ("HKEYS" | "HVALS", Frame::Array(items)) => sorted(items.iter().map(render).collect()),
        _ => render(frame),
    }
}

fn command() -> impl Strategy<Value = Vec<&'static str>> {
    let key = prop::sample::select(KEYS);
    let field = prop::sample::select(FIELDS);
    let value = prop::sample::select(VALUES);
    let int = prop::sample::select(INT_INCREMENTS);
    let float = prop::sample::select(FLOAT_INCREMENTS);
    (
        0usize..16,
        key,
        field.clone(),
        field,
        value.clone(),
        value,
        int,
        float,
    )
        .prop_map(|(op, k, f, f2, v, v2, int, float)| match op {
            0 => vec!["HSET", k, f, v],
            1 => vec!["HSET", k, f, v, f2, v2],
            2 => vec!["HSETNX", k, f, v],
            3 => vec!["HMSET", k, f, v],
            4 => vec!["HGET", k, f],
            5 => vec!["HMGET", k, f, f2],
            6 => vec!["HDEL", k, f],
            7 => vec!["HDEL", k, f, f2],
            8 => vec!["HEXISTS", k, f],
            9 => vec!["HLEN", k],
            10 => vec!["HSTRLEN", k, f],
            11 => vec!["HKEYS", k],
            12 => vec!["HVALS", k],
            13 => vec!["HGETALL", k],
            14 => vec!["HINCRBY", k, f, int],
            _ => vec!["HINCRBYFLOAT", k, f, float],
        })
}

/// HRANDFIELD and a whole HSCAN agree with the model's contents.
fn check_random_and_scan(
    h: &mut Harness,
    m: &Model,
    key: &str,
    seed: u64,
) -> Result<(), TestCaseError> {
    let Some(hash) = m.get(key) else {
        prop_assert_eq!(render(&run(h, &format!("HRANDFIELD {key}"))), "nil");
        prop_assert_eq!(render(&run(h, &format!("HSCAN {key} 0"))), "[$0, []]");
        return Ok(());
    };
    h.seed = seed;
    let single = bulk_text(&run(h, &format!("HRANDFIELD {key}")));
    prop_assert!(hash.contains_key(&single));
    for count in [-3i64, 1, 2, 5] {
        let Frame::Array(items) = run(h, &format!("HRANDFIELD {key} {count} WITHVALUES")) else {
            return Err(TestCaseError::fail("not an array"));
        };
        let expected = if count < 0 {
            count.unsigned_abs() as usize
        } else {
            (count as usize).min(hash.len())
        };
        prop_assert_eq!(items.len(), 2 * expected);
        let mut seen = BTreeSet::new();
        for pair in items.chunks(2) {
            let (f, v) = (bulk_text(&pair[0]), bulk_text(&pair[1]));
            prop_assert_eq!(hash.get(&f), Some(&v));
            prop_assert!(
                seen.insert(f) || count < 0,
                "a positive count repeats a field"
            );
        }
    }
    let (items, _) = full_scan(h, key, 1, |_| {});
    let scanned: BTreeMap<String, String> = items.into_iter().collect();
    prop_assert_eq!(&scanned, hash);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hash_commands_match_a_model(commands in prop::collection::vec(command(), 1..60), seed in any::<u64>()) {
        let mut model = Model::new();
        let mut h = Harness::default();
        h.line("SET s v");
        for words in &commands {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
            let got = normalized(words[0], &h.run_args(&args));
            let expected = model_reply(&mut model, words);
            prop_assert_eq!(got, expected, "{:?}", words);
        }
        for key in ["a", "b"] {
            check_random_and_scan(&mut h, &model, key, seed)?;
        }
        prop_assert_eq!(h.ks.len(), model.len() + 1);
    }
}
