//! Model-based property test: random lists, sets, weight keys (`w_<element>`), GET keys
//! (`g_<element>`) and SORT / SORT_RO commands with every option, through the harness and
//! through a model that sorts `Vec`s directly (Rust's float parsing, byte order, a stable
//! sort), must give the same replies; STORE destinations are read back with LRANGE.
//!
//! Where Redis's order is its hash table's (a set of non-integers read with BY nosort, equal
//! ALPHA weights of set members), the model compares as a multiset, or only the length when
//! a LIMIT picks which elements appear.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::prelude::*;
use quorum_resp::Frame;

use super::common::{render, Harness};
use super::{NOT_DOUBLE, WRONGTYPE};

const ELEMENTS: &[&str] = &["1", "2", "10", "-3", "2.5", "07", "", "a", "b", "B"];
const WEIGHTS: &[&str] = &["1", "3", "0.5", "-2", "", "x", "apple"];
const SOURCES: &[&str] = &["l1", "l2", "s1", "str", "dst", "nokey"];

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    List(Vec<String>),
    Set(BTreeSet<String>),
}

type Model = BTreeMap<String, Val>;

/// What the reply must be.
#[derive(Debug)]
enum Expect {
    Exact(String),
    /// These items in any order.
    Unordered(Vec<String>),
    /// An array of this many items.
    Len(usize),
}

/// SORT's options as the generator makes them.
#[derive(Debug, Clone)]
struct Sort {
    readonly: bool,
    key: &'static str,
    by: Option<&'static str>,
    limit: Option<(i64, i64)>,
    gets: Vec<&'static str>,
    desc: bool,
    alpha: bool,
    store: bool,
}

impl Sort {
    fn words(&self) -> Vec<String> {
        let mut w = vec![
            if self.readonly { "SORT_RO" } else { "SORT" }.to_string(),
            self.key.to_string(),
        ];
        if let Some(by) = self.by {
            w.extend(["BY".to_string(), by.to_string()]);
        }
        if let Some((offset, count)) = self.limit {
            w.extend(["LIMIT".to_string(), offset.to_string(), count.to_string()]);
        }
        for get in &self.gets {
            w.extend(["GET".to_string(), get.to_string()]);
        }
        if self.desc {
            w.push("DESC".into());
        }
        if self.alpha {
            w.push("ALPHA".into());
        }
        if self.store {
            w.extend(["STORE".to_string(), "dst".to_string()]);
        }
        w
    }
}

fn sort_command() -> impl Strategy<Value = Sort> {
    (
        any::<bool>(),
        prop::sample::select(SOURCES),
        prop::option::of(prop::sample::select(&["w_*", "nosort"][..])),
        prop::option::of((-2i64..6, -2i64..6)),
        prop::collection::vec(prop::sample::select(&["#", "g_*"][..]), 0..3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(readonly, key, by, limit, gets, desc, alpha, store)| Sort {
                readonly,
                key,
                by,
                limit,
                gets,
                desc,
                alpha,
                store: store && !readonly,
            },
        )
}

#[derive(Debug, Clone)]
enum Command {
    Write(Vec<String>),
    Sort(Sort),
}

fn command() -> impl Strategy<Value = Command> {
    let elements = prop::collection::vec(prop::sample::select(ELEMENTS), 1..6);
    let element = prop::sample::select(ELEMENTS);
    let words = |head: &[&str], rest: Vec<&str>| -> Vec<String> {
        head.iter()
            .chain(rest.iter())
            .map(|w| w.to_string())
            .collect()
    };
    prop_oneof![
        (prop::sample::select(&["l1", "l2"][..]), elements.clone())
            .prop_map(move |(k, e)| Command::Write(words(&["RPUSH", k], e))),
        elements.prop_map(move |e| Command::Write(words(&["SADD", "s1"], e))),
        (element.clone(), prop::sample::select(WEIGHTS)).prop_map(|(e, w)| Command::Write(vec![
            "SET".into(),
            format!("w_{e}"),
            w.into()
        ])),
        element
            .clone()
            .prop_map(|e| Command::Write(vec!["DEL".into(), format!("w_{e}")])),
        (element, prop::sample::select(&["A", "B", ""][..]))
            .prop_map(|(e, v)| Command::Write(vec!["SET".into(), format!("g_{e}"), v.into()])),
        prop::sample::select(SOURCES).prop_map(|k| Command::Write(vec!["DEL".into(), k.into()])),
        sort_command().prop_map(Command::Sort),
        sort_command().prop_map(Command::Sort),
        sort_command().prop_map(Command::Sort),
    ]
}

/// Applies a write to the model (its reply is not compared: other tests own those).
fn apply(m: &mut Model, w: &[String]) {
    let key = w[1].clone();
    match w[0].as_str() {
        "RPUSH" => {
            if let Val::List(l) = m.entry(key).or_insert(Val::List(Vec::new())) {
                l.extend(w[2..].iter().cloned());
            }
        }
        "SADD" => {
            if let Val::Set(s) = m.entry(key).or_insert(Val::Set(BTreeSet::new())) {
                s.extend(w[2..].iter().cloned());
            }
        }
        "SET" => drop(m.insert(key, Val::Str(w[2].clone()))),
        _ => drop(m.remove(&key)),
    }
}

fn string_at(m: &Model, key: &str) -> Option<String> {
    match m.get(key) {
        Some(Val::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// C's strtod on the pool's texts: "" is 0, the letters are refused.
fn number(text: &str) -> Option<f64> {
    if text.is_empty() {
        Some(0.0)
    } else {
        text.parse().ok()
    }
}

fn is_integer(text: &str) -> bool {
    text.parse::<i64>().is_ok_and(|n| n.to_string() == text)
}

/// What STORE leaves under `dst`: the list, and whether its order is Redis's hash order
/// (then only the multiset, or with LIMIT the length, is the model's).
type Stored = Option<(Vec<String>, bool)>;

/// The model's SORT: its reply, and what it stores (if STORE).
fn model_sort(m: &Model, s: &Sort) -> (Expect, Stored) {
    let (mut elements, is_set) = match m.get(s.key) {
        None => (Vec::new(), false),
        Some(Val::List(l)) => (l.clone(), false),
        Some(Val::Set(set)) => (set.iter().cloned().collect::<Vec<_>>(), true),
        Some(Val::Str(_)) => return (Expect::Exact(WRONGTYPE.into()), None),
    };
    let (mut by, mut alpha) = (s.by, s.alpha);
    let mut dont_sort = by == Some("nosort");
    if dont_sort && is_set && s.store {
        (dont_sort, alpha, by) = (false, true, None);
    }
    // Whether Redis's order of equal elements is its own hash order.
    let mut ambiguous = false;
    if dont_sort {
        if is_set {
            if elements.iter().all(|e| is_integer(e)) {
                elements.sort_by_key(|e| e.parse::<i64>().unwrap_or(0));
            } else {
                ambiguous = true;
            }
        } else if s.desc {
            elements.reverse();
        }
    } else {
        let weight = |e: &String| match by {
            Some(_) => string_at(m, &format!("w_{e}")),
            None => Some(e.clone()),
        };
        let weights: Vec<Option<String>> = elements.iter().map(weight).collect();
        let mut keyed: Vec<(Option<String>, String)> = weights.into_iter().zip(elements).collect();
        if alpha {
            if by.is_some() {
                let distinct: BTreeSet<&Option<String>> = keyed.iter().map(|(w, _)| w).collect();
                ambiguous = is_set && distinct.len() < keyed.len();
            }
            keyed.sort_by(|(x, a), (y, b)| {
                let ordering = if by.is_some() { x.cmp(y) } else { a.cmp(b) };
                if s.desc {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        } else {
            let mut scored = Vec::new();
            for (w, e) in keyed {
                let score = match w {
                    None => 0.0,
                    Some(text) => match number(&text) {
                        Some(x) => x,
                        None => return (Expect::Exact(NOT_DOUBLE.into()), None),
                    },
                };
                scored.push((score, e));
            }
            scored.sort_by(|(x, a), (y, b)| {
                let ordering = x.partial_cmp(y).expect("no NaN").then_with(|| a.cmp(b));
                if s.desc {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
            keyed = scored.into_iter().map(|(_, e)| (None, e)).collect();
        }
        elements = keyed.into_iter().map(|(_, e)| e).collect();
    }
    let window: Vec<String> = match s.limit {
        None => elements,
        Some((offset, count)) => {
            let skipped = elements.into_iter().skip(offset.max(0) as usize);
            if count < 0 {
                skipped.collect()
            } else {
                skipped.take(count as usize).collect()
            }
        }
    };
    let output: Vec<Option<String>> = if s.gets.is_empty() {
        window.into_iter().map(Some).collect()
    } else {
        window
            .iter()
            .flat_map(|e| {
                s.gets.iter().map(move |g| match *g {
                    "#" => Some(e.clone()),
                    _ => string_at(m, &format!("g_{e}")),
                })
            })
            .collect()
    };
    let rendered: Vec<String> = output
        .iter()
        .map(|o| o.as_ref().map_or("nil".into(), |v| format!("${v}")))
        .collect();
    if s.store {
        let stored: Vec<String> = output.into_iter().map(Option::unwrap_or_default).collect();
        return (
            Expect::Exact(format!(":{}", stored.len())),
            Some((stored, ambiguous)),
        );
    }
    let expect = match (ambiguous, s.limit) {
        (false, _) => Expect::Exact(format!("[{}]", rendered.join(", "))),
        (true, None) => Expect::Unordered(rendered),
        (true, Some(_)) => Expect::Len(rendered.len()),
    };
    (expect, None)
}

fn items(frame: &Frame) -> Vec<String> {
    match frame {
        Frame::Array(items) => items.iter().map(render).collect(),
        other => panic!("not an array: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sort_matches_a_vec_model(commands in prop::collection::vec(command(), 1..50)) {
        let mut model = Model::new();
        let mut h = Harness::default();
        prop_assert_eq!(h.line("SET str v"), "+OK");
        model.insert("str".into(), Val::Str("v".into()));
        for command in &commands {
            let words = match command {
                Command::Write(words) => {
                    apply(&mut model, words);
                    words.clone()
                }
                Command::Sort(sort) => sort.words(),
            };
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.clone())).collect();
            let got = h.run_args(&args);
            let Command::Sort(sort) = command else { continue };
            let (expect, stored) = model_sort(&model, sort);
            match expect {
                Expect::Exact(text) => prop_assert_eq!(render(&got), text, "{:?}", words),
                Expect::Unordered(mut want) => {
                    let mut have = items(&got);
                    have.sort();
                    want.sort();
                    prop_assert_eq!(have, want, "{:?}", words);
                }
                Expect::Len(len) => prop_assert_eq!(items(&got).len(), len, "{:?}", words),
            }
            if let Some((stored, ambiguous)) = stored {
                let reply = h.run_args(&[Bytes::from("LRANGE"), Bytes::from("dst"), Bytes::from("0"), Bytes::from("-1")]);
                let mut have = items(&reply);
                let mut want: Vec<String> = stored.iter().map(|v| format!("${v}")).collect();
                let stored = if !ambiguous {
                    prop_assert_eq!(&have, &want, "{:?}", words);
                    stored
                } else {
                    // Take quorum's order as the model's from here on.
                    let order: Vec<String> = have.iter().map(|v| v[1..].to_string()).collect();
                    if sort.limit.is_none() {
                        have.sort();
                        want.sort();
                        prop_assert_eq!(have, want, "{:?}", words);
                    } else {
                        prop_assert_eq!(have.len(), want.len(), "{:?}", words);
                    }
                    order
                };
                if stored.is_empty() {
                    model.remove("dst");
                } else {
                    model.insert("dst".into(), Val::List(stored));
                }
            }
        }
    }
}
