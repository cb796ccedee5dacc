//! Property test against a reference model: a `BTreeMap` of byte strings, for the string
//! commands without TTLs. Every reply and the final contents must agree.

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::{render, Harness};
use proptest::prelude::*;

const KEYS: &[&str] = &["a", "b", "c"];
const VALUES: &[&str] = &["v", "", "0", "17", "-5", "x y", "99999999999999999999"];

type Model = BTreeMap<String, String>;

/// The reply the model predicts, rendered like the harness renders.
fn model_reply(m: &mut Model, words: &[String]) -> String {
    let w = |i: usize| words[i].clone();
    let int_op = |m: &mut Model, key: String, by: i64| {
        let current = m.get(&key).cloned().unwrap_or_else(|| "0".into());
        match current.parse::<i64>() {
            Ok(n) if n.to_string() == current => match n.checked_add(by) {
                Some(next) => {
                    m.insert(key, next.to_string());
                    format!(":{next}")
                }
                None => "-ERR increment or decrement would overflow".into(),
            },
            _ => "-ERR value is not an integer or out of range".into(),
        }
    };
    match words[0].as_str() {
        "SET" => {
            m.insert(w(1), w(2));
            "+OK".into()
        }
        "GET" => m.get(&w(1)).map_or("nil".into(), |v| format!("${v}")),
        "DEL" => format!(":{}", i64::from(m.remove(&w(1)).is_some())),
        "EXISTS" => format!(":{}", i64::from(m.contains_key(&w(1)))),
        "APPEND" => {
            let v = m.entry(w(1)).or_default();
            v.push_str(&w(2));
            format!(":{}", v.len())
        }
        "STRLEN" => format!(":{}", m.get(&w(1)).map_or(0, |v| v.len())),
        "INCR" => int_op(m, w(1), 1),
        "DECR" => int_op(m, w(1), -1),
        "GETDEL" => m.remove(&w(1)).map_or("nil".into(), |v| format!("${v}")),
        "SETNX" => match m.entry(w(1)) {
            std::collections::btree_map::Entry::Occupied(_) => ":0".into(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(w(2));
                ":1".into()
            }
        },
        "GETSET" => m
            .insert(w(1), w(2))
            .map_or("nil".into(), |v| format!("${v}")),
        "MSET" => {
            m.insert(w(1), w(2));
            m.insert(w(3), w(4));
            "+OK".into()
        }
        other => panic!("model lacks {other}"),
    }
}

fn command() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(KEYS);
    let value = prop::sample::select(VALUES);
    (0usize..12, key.clone(), key, value.clone(), value).prop_map(|(op, k, k2, v, v2)| {
        let words: Vec<&str> = match op {
            0 => vec!["SET", k, v],
            1 => vec!["GET", k],
            2 => vec!["DEL", k],
            3 => vec!["EXISTS", k],
            4 => vec!["APPEND", k, v],
            5 => vec!["STRLEN", k],
            6 => vec!["INCR", k],
            7 => vec!["DECR", k],
            8 => vec!["GETDEL", k],
            9 => vec!["SETNX", k, v],
            10 => vec!["GETSET", k, v],
            _ => vec!["MSET", k, v, k2, v2],
        };
        words.into_iter().map(String::from).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn string_commands_match_a_btreemap(commands in prop::collection::vec(command(), 1..60)) {
        let mut model = Model::new();
        let mut h = Harness::default();
        for words in &commands {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.clone())).collect();
            let got = render(&h.run_args(&args));
            let expected = model_reply(&mut model, words);
            prop_assert_eq!(got, expected, "{:?}", words);
        }
        for (key, value) in &model {
            let got = render(&h.run_args(&[Bytes::from_static(b"GET"), Bytes::from(key.clone())]));
            prop_assert_eq!(got, format!("${value}"));
        }
        prop_assert_eq!(h.ks.len(), model.len());
    }
}
