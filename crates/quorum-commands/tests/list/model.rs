//! Property test: random sequences of list commands, through the harness, against a
//! `BTreeMap` of `VecDeque`s written for clarity rather than speed. Every reply and the
//! final contents must agree. `s` holds a string, so WRONGTYPE paths are exercised too.
//!
//! Not here: error texts for malformed arguments (the tables in `list.rs` cover them; the
//! generator only makes well-formed commands) and RANK's wrapping at i64::MIN.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use proptest::prelude::*;

use super::common::{render, Harness};
use super::WRONGTYPE;

/// Keys the generator names: three lists and `s`, which holds a string.
const KEYS: &[&str] = &["a", "b", "c", "a", "b", "s"];
const ELEMENTS: &[&str] = &["x", "y", "z", ""];

type Model = BTreeMap<String, VecDeque<String>>;

fn bulk(element: &str) -> String {
    format!("${element}")
}

fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// A Redis index as a position in a list of `len` elements, if it is inside.
fn position(len: usize, index: i64) -> Option<usize> {
    let len = len as i128;
    let index = i128::from(index);
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// The positions LRANGE and LTRIM select.
fn selection(len: usize, start: i64, stop: i64) -> std::ops::Range<usize> {
    let len = len as i128;
    let resolve = |i: i64| {
        let i = i128::from(i);
        if i < 0 {
            len + i
        } else {
            i
        }
    };
    let start = resolve(start).max(0);
    let stop = resolve(stop).min(len - 1);
    if start > stop {
        0..0
    } else {
        start as usize..stop as usize + 1
    }
}

/// Positions of the list walked from the head (`false`) or the tail (`true`).
fn walk_order(len: usize, from_tail: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if from_tail {
        order.reverse();
    }
    order
}

fn pop(list: &mut VecDeque<String>, left: bool) -> Option<String> {
    if left {
        list.pop_front()
    } else {
        list.pop_back()
    }
}

fn drop_if_empty(m: &mut Model, key: &str) {
    if m.get(key).is_some_and(VecDeque::is_empty) {
        m.remove(key);
    }
}

/// The reply the model predicts, rendered as the harness renders it.
fn model_reply(m: &mut Model, w: &[String]) -> String {
    let key = w[1].as_str();
    let is_string = |k: &str| k == "s";
    let int = |i: usize| w[i].parse::<i64>().expect("generated number");
    match w[0].as_str() {
        "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" if is_string(key) => WRONGTYPE.into(),
        "LPUSHX" | "RPUSHX" if !m.contains_key(key) => ":0".into(),
        "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" => {
            let list = m.entry(key.to_string()).or_default();
            for element in &w[2..] {
                if w[0].starts_with('L') {
                    list.push_front(element.clone());
                } else {
                    list.push_back(element.clone());
                }
            }
            format!(":{}", list.len())
        }
        "LMOVE" | "RPOPLPUSH" => {
            let dst = w[2].as_str();
            let (left_out, left_in) = match w.len() {
                5 => (w[3] == "LEFT", w[4] == "LEFT"),
                _ => (false, true),
            };
            if is_string(key) {
                return WRONGTYPE.into();
            }
            if !m.contains_key(key) {
                return "nil".into();
            }
            if is_string(dst) {
                return WRONGTYPE.into();
            }
            let element = pop(m.get_mut(key).expect("checked"), left_out).expect("non-empty");
            drop_if_empty(m, key);
            let target = m.entry(dst.to_string()).or_default();
            if left_in {
                target.push_front(element.clone());
            } else {
                target.push_back(element.clone());
            }
            bulk(&element)
        }
        "LMPOP" => {
            let left = w[4] == "LEFT";
            let count = if w.len() == 7 { int(6) as usize } else { 1 };
            for k in &w[2..4] {
                if is_string(k) {
                    return WRONGTYPE.into();
                }
                let Some(list) = m.get_mut(k.as_str()) else {
                    continue;
                };
                let taken = count.min(list.len());
                let popped: Vec<String> = (0..taken).filter_map(|_| pop(list, left)).collect();
                drop_if_empty(m, k);
                return array([bulk(k), array(popped.iter().map(|e| bulk(e)))]);
            }
            "nil*".into()
        }
        _ if is_string(key) => WRONGTYPE.into(),
        "LPOP" | "RPOP" => {
            let left = w[0] == "LPOP";
            let count = (w.len() == 3).then(|| int(2) as usize);
            let Some(list) = m.get_mut(key) else {
                return if count.is_some() { "nil*" } else { "nil" }.into();
            };
            let reply = match count {
                None => bulk(&pop(list, left).expect("non-empty")),
                Some(n) => {
                    let taken = n.min(list.len());
                    array((0..taken).filter_map(|_| pop(list, left)).map(|e| bulk(&e)))
                }
            };
            drop_if_empty(m, key);
            reply
        }
        "LLEN" => format!(":{}", m.get(key).map_or(0, VecDeque::len)),
        "LRANGE" => {
            let list = m.get(key).cloned().unwrap_or_default();
            let range = selection(list.len(), int(2), int(3));
            array(range.map(|i| bulk(&list[i])))
        }
        "LINDEX" => {
            let Some(list) = m.get(key) else {
                return "nil".into();
            };
            position(list.len(), int(2)).map_or("nil".into(), |i| bulk(&list[i]))
        }
        "LSET" => {
            let Some(list) = m.get_mut(key) else {
                return "-ERR no such key".into();
            };
            match position(list.len(), int(2)) {
                Some(i) => {
                    list[i] = w[3].clone();
                    "+OK".into()
                }
                None => "-ERR index out of range".into(),
            }
        }
        "LINSERT" => {
            let Some(list) = m.get_mut(key) else {
                return ":0".into();
            };
            let Some(at) = list.iter().position(|e| *e == w[3]) else {
                return ":-1".into();
            };
            let at = if w[2] == "BEFORE" { at } else { at + 1 };
            list.insert(at, w[4].clone());
            format!(":{}", list.len())
        }
        "LREM" => {
            let Some(list) = m.get_mut(key) else {
                return ":0".into();
            };
            let count = int(2);
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let doomed: Vec<usize> = walk_order(list.len(), count < 0)
                .into_iter()
                .filter(|&i| list[i] == w[3])
                .take(limit)
                .collect();
            let kept: VecDeque<String> = list
                .iter()
                .enumerate()
                .filter(|(i, _)| !doomed.contains(i))
                .map(|(_, e)| e.clone())
                .collect();
            *list = kept;
            drop_if_empty(m, key);
            format!(":{}", doomed.len())
        }
        "LTRIM" => {
            if let Some(list) = m.get_mut(key) {
                let range = selection(list.len(), int(2), int(3));
                *list = range.map(|i| list[i].clone()).collect();
                drop_if_empty(m, key);
            }
            "+OK".into()
        }
        "LPOS" => {
            let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
            for option in w[3..].chunks(2) {
                match option[0].as_str() {
                    "RANK" => rank = option[1].parse().expect("generated"),
                    "COUNT" => count = Some(option[1].parse::<usize>().expect("generated")),
                    _ => maxlen = option[1].parse().expect("generated"),
                }
            }
            let Some(list) = m.get(key) else {
                return if count.is_some() { "[]" } else { "nil" }.into();
            };
            let mut order = walk_order(list.len(), rank < 0);
            if maxlen > 0 {
                order.truncate(maxlen);
            }
            let matches = order
                .into_iter()
                .filter(|&i| list[i] == w[2])
                .skip(rank.unsigned_abs() as usize - 1);
            match count {
                None => matches
                    .into_iter()
                    .next()
                    .map_or("nil".into(), |i| format!(":{i}")),
                Some(0) => array(matches.map(|i| format!(":{i}"))),
                Some(n) => array(matches.take(n).map(|i| format!(":{i}"))),
            }
        }
        other => panic!("the model lacks {other}"),
    }
}

fn command() -> impl Strategy<Value = Vec<String>> {
    let key = || prop::sample::select(KEYS);
    let element = || prop::sample::select(ELEMENTS);
    let index = || prop_oneof![8 => -5i64..6, 1 => Just(i64::MAX), 1 => Just(i64::MIN)];
    let side = || prop::sample::select(&["LEFT", "RIGHT"][..]);
    let lpos_options = (
        prop::option::of(prop_oneof![-3i64..0, 1i64..4]),
        prop::option::of(0u8..4),
        prop::option::of(0u8..6),
    );
    prop_oneof![
        (key(), element(), element()).prop_map(|(k, e, f)| vec![
            "LPUSH".into(),
            k.into(),
            e.into(),
            f.into()
        ]),
        (key(), element()).prop_map(|(k, e)| vec!["RPUSH".into(), k.into(), e.into()]),
        (key(), element()).prop_map(|(k, e)| vec!["LPUSHX".into(), k.into(), e.into()]),
        (key(), element(), element()).prop_map(|(k, e, f)| vec![
            "RPUSHX".into(),
            k.into(),
            e.into(),
            f.into()
        ]),
        key().prop_map(|k| vec!["LPOP".into(), k.into()]),
        (key(), prop_oneof![0i64..4, Just(i64::MAX)]).prop_map(|(k, n)| vec![
            "RPOP".into(),
            k.into(),
            n.to_string()
        ]),
        key().prop_map(|k| vec!["LLEN".into(), k.into()]),
        (key(), index(), index()).prop_map(|(k, i, j)| vec![
            "LRANGE".into(),
            k.into(),
            i.to_string(),
            j.to_string()
        ]),
        (key(), index()).prop_map(|(k, i)| vec!["LINDEX".into(), k.into(), i.to_string()]),
        (key(), index(), element()).prop_map(|(k, i, e)| vec![
            "LSET".into(),
            k.into(),
            i.to_string(),
            e.into()
        ]),
        (
            key(),
            prop::sample::select(&["BEFORE", "AFTER"][..]),
            element(),
            element()
        )
            .prop_map(|(k, at, p, e)| vec![
                "LINSERT".into(),
                k.into(),
                at.into(),
                p.into(),
                e.into()
            ]),
        (key(), -3i64..4, element()).prop_map(|(k, n, e)| vec![
            "LREM".into(),
            k.into(),
            n.to_string(),
            e.into()
        ]),
        (key(), index(), index()).prop_map(|(k, i, j)| vec![
            "LTRIM".into(),
            k.into(),
            i.to_string(),
            j.to_string()
        ]),
        (key(), element(), lpos_options).prop_map(|(k, e, (rank, count, maxlen))| {
            let mut words: Vec<String> = vec!["LPOS".into(), k.into(), e.into()];
            for (name, value) in [
                ("RANK", rank),
                ("COUNT", count.map(i64::from)),
                ("MAXLEN", maxlen.map(i64::from)),
            ] {
                if let Some(value) = value {
                    words.extend([name.to_string(), value.to_string()]);
                }
            }
            words
        }),
        (key(), key(), side(), side()).prop_map(|(k, d, f, t)| vec![
            "LMOVE".into(),
            k.into(),
            d.into(),
            f.into(),
            t.into()
        ]),
        (key(), key()).prop_map(|(k, d)| vec!["RPOPLPUSH".into(), k.into(), d.into()]),
        (key(), key(), side(), prop::option::of(1u8..4)).prop_map(|(k, k2, s, n)| {
            let mut words: Vec<String> =
                vec!["LMPOP".into(), "2".into(), k.into(), k2.into(), s.into()];
            if let Some(n) = n {
                words.extend(["COUNT".to_string(), n.to_string()]);
            }
            words
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn list_commands_match_a_vecdeque_model(commands in prop::collection::vec(command(), 1..80)) {
        let mut model = Model::new();
        let mut h = Harness::default();
        h.line("SET s v");
        for words in &commands {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.clone())).collect();
            let got = render(&h.run_args(&args));
            let expected = model_reply(&mut model, words);
            prop_assert_eq!(got, expected, "{:?}", words);
        }
        for key in ["a", "b", "c"] {
            let expected = array(model.get(key).into_iter().flatten().map(|e| bulk(e)));
            prop_assert_eq!(h.line(&format!("LRANGE {key} 0 -1")), expected);
        }
        prop_assert_eq!(h.line("GET s"), "$v");
        prop_assert_eq!(h.ks.len(), model.len() + 1);
    }
}
