//! Model-based property test: random sequences of value-building commands, DEL, DUMP and
//! RESTORE (with and without REPLACE, relative and past absolute TTLs), run through the
//! harness and through a model (key -> value and deadline in `BTreeMap`s), must agree on
//! every reply kind and leave the same values and deadlines.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::prelude::*;
use quorum_keyspace::Value;

use crate::common::{render, tokenize, Harness, START_MS};
use crate::{dump, restore, BUSY};

/// A value as the model holds it.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    ZSet(BTreeMap<Vec<u8>, f64>),
}

impl Model {
    fn of(value: &Value) -> Model {
        match value {
            Value::Str(s) => Model::Str(s.to_vec()),
            Value::List(l) => Model::List(l.iter().map(|e| e.to_vec()).collect()),
            Value::Set(s) => Model::Set(s.iter().map(|e| e.to_vec()).collect()),
            Value::Hash(h) => {
                Model::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
            }
            Value::ZSet(z) => Model::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize, &'static str),
    RPush(usize, Vec<&'static str>),
    SAdd(usize, Vec<&'static str>),
    HSet(usize, &'static str, &'static str),
    ZAdd(usize, &'static str, &'static str),
    Del(usize),
    Dump(usize),
    /// RESTORE key with the last DUMP's payload: REPLACE?, relative TTL (0 = none) or a
    /// past ABSTTL.
    Restore(usize, bool, Ttl),
}

#[derive(Debug, Clone, Copy)]
enum Ttl {
    None,
    Relative,
    Past,
}

const KEYS: &[&str] = &["a", "b", "c"];
const ELEMENTS: &[&str] = &["x", "", "1", "-70000", "hello world", "9223372036854775807"];
const SCORES: &[&str] = &["0", "1.5", "-inf", "-2"];
const TTL_MS: u64 = 60_000;

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let element = prop::sample::select(ELEMENTS);
    let elements = proptest::collection::vec(element.clone(), 1..4);
    let ttl = prop_oneof![Just(Ttl::None), Just(Ttl::Relative), Just(Ttl::Past)];
    prop_oneof![
        1 => (key.clone(), element.clone()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (key.clone(), elements.clone()).prop_map(|(k, v)| Op::RPush(k, v)),
        1 => (key.clone(), elements).prop_map(|(k, v)| Op::SAdd(k, v)),
        1 => (key.clone(), element.clone(), element.clone())
            .prop_map(|(k, f, v)| Op::HSet(k, f, v)),
        1 => (key.clone(), prop::sample::select(SCORES), element)
            .prop_map(|(k, s, m)| Op::ZAdd(k, s, m)),
        1 => key.clone().prop_map(Op::Del),
        3 => key.clone().prop_map(Op::Dump),
        3 => (key, any::<bool>(), ttl).prop_map(|(k, r, t)| Op::Restore(k, r, t)),
    ]
}

/// Key -> (value, deadline).
type State = BTreeMap<&'static str, (Model, Option<u64>)>;

/// Applies a value-building op to the model: the predicted reply (only its kind matters
/// to the harness comparison below: error or not).
fn model_build(state: &mut State, op: &Op) -> Result<(), ()> {
    let score = |s: &str| {
        if s == "-inf" {
            f64::NEG_INFINITY
        } else {
            s.parse::<f64>().unwrap()
        }
    };
    let bytes = |s: &str| s.as_bytes().to_vec();
    match op {
        Op::Set(k, v) => {
            state.insert(KEYS[*k], (Model::Str(bytes(v)), None));
        }
        Op::RPush(k, vs) => match state
            .entry(KEYS[*k])
            .or_insert((Model::List(Vec::new()), None))
        {
            (Model::List(l), _) => l.extend(vs.iter().map(|v| bytes(v))),
            _ => return Err(()),
        },
        Op::SAdd(k, vs) => match state
            .entry(KEYS[*k])
            .or_insert((Model::Set(BTreeSet::new()), None))
        {
            (Model::Set(s), _) => s.extend(vs.iter().map(|v| bytes(v))),
            _ => return Err(()),
        },
        Op::HSet(k, f, v) => match state
            .entry(KEYS[*k])
            .or_insert((Model::Hash(BTreeMap::new()), None))
        {
            (Model::Hash(h), _) => {
                h.insert(bytes(f), bytes(v));
            }
            _ => return Err(()),
        },
        Op::ZAdd(k, s, m) => match state
            .entry(KEYS[*k])
            .or_insert((Model::ZSet(BTreeMap::new()), None))
        {
            (Model::ZSet(z), _) => {
                z.insert(bytes(m), score(s));
            }
            _ => return Err(()),
        },
        _ => unreachable!("not a building op"),
    }
    Ok(())
}

fn build_args(op: &Op) -> Vec<Bytes> {
    let line = match op {
        Op::Set(k, v) => format!("SET {} \"{v}\"", KEYS[*k]),
        Op::RPush(k, vs) => format!("RPUSH {} {}", KEYS[*k], quoted(vs)),
        Op::SAdd(k, vs) => format!("SADD {} {}", KEYS[*k], quoted(vs)),
        Op::HSet(k, f, v) => format!("HSET {} \"{f}\" \"{v}\"", KEYS[*k]),
        Op::ZAdd(k, s, m) => format!("ZADD {} {s} \"{m}\"", KEYS[*k]),
        Op::Del(k) => format!("DEL {}", KEYS[*k]),
        _ => unreachable!("not a text op"),
    };
    tokenize(&line)
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dump_and_restore_match_a_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut h = Harness::default();
        let mut state = State::new();
        // The last DUMP: its payload and the value the model expects it to carry.
        let mut clipboard: Option<(Vec<u8>, Model)> = None;
        for op in &ops {
            match op {
                Op::Dump(k) => {
                    let got = dump(&mut h, KEYS[*k]);
                    let want = state.get(KEYS[*k]).map(|(m, _)| m.clone());
                    prop_assert_eq!(got.is_some(), want.is_some());
                    if let (Some(payload), Some(model)) = (got, want) {
                        clipboard = Some((payload, model));
                    }
                }
                Op::Restore(k, replace, ttl) => {
                    let Some((payload, model)) = clipboard.clone() else { continue };
                    let key = KEYS[*k];
                    let (ttl_arg, mut options) = match ttl {
                        Ttl::None => ("0".to_string(), vec![]),
                        Ttl::Relative => (TTL_MS.to_string(), vec![]),
                        Ttl::Past => ((START_MS - 1).to_string(), vec!["ABSTTL"]),
                    };
                    if *replace {
                        options.push("REPLACE");
                    }
                    let reply = restore(&mut h, key, &ttl_arg, &payload, &options);
                    if !replace && state.contains_key(key) {
                        prop_assert_eq!(reply, BUSY);
                        continue;
                    }
                    prop_assert_eq!(reply, "+OK");
                    state.remove(key);
                    match ttl {
                        Ttl::None => { state.insert(key, (model, None)); }
                        Ttl::Relative => { state.insert(key, (model, Some(START_MS + TTL_MS))); }
                        Ttl::Past => {}
                    }
                }
                Op::Del(k) => {
                    let reply = render(&h.run_args(&build_args(op)));
                    let existed = state.remove(KEYS[*k]).is_some();
                    prop_assert_eq!(reply, format!(":{}", i64::from(existed)));
                }
                building => {
                    let reply = render(&h.run_args(&build_args(building)));
                    let expected_error = model_build(&mut state, building).is_err();
                    prop_assert_eq!(reply.starts_with("-WRONGTYPE"), expected_error, "{}", reply);
                }
            }
            for key in KEYS {
                let got = h.ks.get(key.as_bytes(), h.now_ms).map(|e| (Model::of(&e.value), e.expires_at_ms));
                prop_assert_eq!(got.as_ref(), state.get(key), "key {} after {:?}", key, op);
            }
        }
    }
}
