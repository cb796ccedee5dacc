//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (`zunionInterDiffGenericCommand`).
//! Inputs may be sets as well as sorted sets; a set member scores 1.
//!
//! Scores follow Redis to the bit: inputs are taken smallest first (a stable sort by size,
//! as glibc's `qsort` keeps small arrays), a weighted score that is NaN (`inf * 0`) counts
//! as 0 in a union but not in an intersection, and a sum that is NaN (`inf + -inf`) is 0.
//! Results are ordered as Redis's skiplist orders them (score, then member, `-0` equal to
//! `0`), and a stored result keeps `0` for `-0` as small Redis sets do.
//!
//! Redis looks the inputs up (and may answer WRONGTYPE) before it reads WEIGHTS and
//! AGGREGATE; the read forms do too, but the STORE forms check their options first, on the
//! node that received them, so that a syntax error never enters the log.

use std::collections::HashMap;

use bytes::Bytes;
use quorum_keyspace::{Keyspace, SetValue, Value, ZSetValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::score::{parse_score, stored};
use super::{integer, members_reply};
use crate::parse::{arg, is_keyword, parse_i64, string_to_i64};
use crate::{ReadCx, Reply, WriteCx};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// One command of the family: what it computes and which options it takes.
#[derive(Clone, Copy)]
struct Form {
    /// The name Redis's errors give (`c->cmd->fullname`).
    name: &'static str,
    op: Op,
    /// The STORE forms take no WITHSCORES.
    store: bool,
    /// ZINTERCARD takes LIMIT and nothing else.
    cardinality: bool,
}

const fn form(name: &'static str, op: Op, store: bool, cardinality: bool) -> Form {
    Form {
        name,
        op,
        store,
        cardinality,
    }
}

const ZUNION: Form = form("zunion", Op::Union, false, false);
const ZINTER: Form = form("zinter", Op::Inter, false, false);
const ZDIFF: Form = form("zdiff", Op::Diff, false, false);
const ZINTERCARD: Form = form("zintercard", Op::Inter, false, true);
const ZUNIONSTORE: Form = form("zunionstore", Op::Union, true, false);
const ZINTERSTORE: Form = form("zinterstore", Op::Inter, true, false);
const ZDIFFSTORE: Form = form("zdiffstore", Op::Diff, true, false);

/// The parsed options.
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 for none.
    limit: usize,
}

/// An input: a sorted set or a set (absent keys read as empty).
#[derive(Clone, Copy)]
enum Input<'a> {
    Empty,
    Sorted(&'a ZSetValue),
    Plain(&'a SetValue),
}

impl<'a> Input<'a> {
    fn len(self) -> usize {
        match self {
            Input::Empty => 0,
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn items(self) -> Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a> {
        match self {
            Input::Empty => Box::new(std::iter::empty()),
            Input::Sorted(z) => Box::new(z.iter()),
            Input::Plain(s) => Box::new(s.iter().map(|m| (m, 1.0))),
        }
    }

    fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Empty => None,
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.contains(member).then_some(1.0),
        }
    }
}

/// `numkeys` at `args[at]`, checked as Redis does; the keys follow it.
fn numkeys<'a>(args: &'a [Bytes], at: usize, name: &str) -> Result<&'a [Bytes], ErrorReply> {
    let n = parse_i64(&args[at])?;
    if n < 1 {
        return Err(ErrorReply::new(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = at + 1;
    match usize::try_from(n) {
        Ok(n) if n <= args.len() - first => Ok(&args[first..first + n]),
        _ => Err(ErrorReply::syntax()),
    }
}

/// The options after the keys, in Redis's grammar (WEIGHTS needs one weight per key).
fn options(rest: &[Bytes], keys: usize, form: Form) -> Result<Options, ErrorReply> {
    let mut options = Options {
        weights: vec![1.0; keys],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let scored = form.op != Op::Diff && !form.cardinality;
    let mut at = 0;
    while let Some(word) = rest.get(at) {
        let left = rest.len() - at;
        if scored && left > keys && is_keyword(word, "weights") {
            for (weight, text) in options.weights.iter_mut().zip(&rest[at + 1..]) {
                *weight = parse_score(text)
                    .ok_or_else(|| ErrorReply::from_static("ERR weight value is not a float"))?;
            }
            at += 1 + keys;
        } else if scored && left >= 2 && is_keyword(word, "aggregate") {
            let how = &rest[at + 1];
            options.aggregate = match () {
                _ if is_keyword(how, "sum") => Aggregate::Sum,
                _ if is_keyword(how, "min") => Aggregate::Min,
                _ if is_keyword(how, "max") => Aggregate::Max,
                _ => return Err(ErrorReply::syntax()),
            };
            at += 2;
        } else if !form.store && !form.cardinality && is_keyword(word, "withscores") {
            options.withscores = true;
            at += 1;
        } else if form.cardinality && left >= 2 && is_keyword(word, "limit") {
            options.limit = string_to_i64(&rest[at + 1])
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| ErrorReply::from_static("ERR LIMIT can't be negative"))?;
            at += 2;
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok(options)
}

/// The inputs named by `keys`, or `WRONGTYPE` at the first key of another type.
fn inputs<'a>(ks: &'a Keyspace, keys: &[Bytes], now_ms: u64) -> Result<Vec<Input<'a>>, ErrorReply> {
    keys.iter()
        .map(|key| match ks.get(key, now_ms).map(|entry| &entry.value) {
            None => Ok(Input::Empty),
            Some(Value::ZSet(z)) => Ok(Input::Sorted(z)),
            Some(Value::Set(s)) => Ok(Input::Plain(s)),
            Some(_) => Err(ErrorReply::wrong_type()),
        })
        .collect()
}

/// Redis's `zunionInterAggregate`.
fn aggregate(target: f64, value: f64, how: Aggregate) -> f64 {
    match how {
        Aggregate::Sum => {
            let sum = target + value;
            if sum.is_nan() {
                0.0
            } else {
                sum
            }
        }
        Aggregate::Min if value < target => value,
        Aggregate::Max if value > target => value,
        Aggregate::Min | Aggregate::Max => target,
    }
}

/// A weighted score, with Redis's rule that NaN (`inf * 0`) counts as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

/// The result, unordered. ZINTERCARD stops at its LIMIT.
fn compute<'a>(inputs: &[Input<'a>], op: Op, options: &Options) -> Vec<(&'a Bytes, f64)> {
    match op {
        Op::Union => union(inputs, options),
        Op::Inter => inter(inputs, options),
        Op::Diff => diff(inputs),
    }
}

/// Sorts a result as Redis's skiplist holds it: score, then member; `-0` equal to `0`.
fn sort(result: &mut [(&Bytes, f64)]) {
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
}

/// Inputs with their weights, smallest first (stable among equals).
fn by_size<'a>(inputs: &[Input<'a>], weights: &[f64]) -> Vec<(Input<'a>, f64)> {
    let mut sized: Vec<_> = inputs
        .iter()
        .copied()
        .zip(weights.iter().copied())
        .collect();
    sized.sort_by_key(|(input, _)| input.len());
    sized
}

fn union<'a>(inputs: &[Input<'a>], options: &Options) -> Vec<(&'a Bytes, f64)> {
    // Members are distinct, so the map's order is gone once the caller sorts.
    let mut scores: HashMap<&'a Bytes, f64> = HashMap::new();
    for (input, weight) in by_size(inputs, &options.weights) {
        for (member, score) in input.items() {
            let value = weighted(score, weight);
            scores
                .entry(member)
                .and_modify(|total| *total = aggregate(*total, value, options.aggregate))
                .or_insert(value);
        }
    }
    scores.into_iter().collect()
}

fn inter<'a>(inputs: &[Input<'a>], options: &Options) -> Vec<(&'a Bytes, f64)> {
    let sized = by_size(inputs, &options.weights);
    let Some(&(smallest, first_weight)) = sized.first() else {
        return Vec::new();
    };
    let mut result = Vec::new();
    'members: for (member, score) in smallest.items() {
        let mut total = weighted(score, first_weight);
        for &(other, weight) in &sized[1..] {
            let Some(value) = other.score(member) else {
                continue 'members;
            };
            // Not `weighted`: Redis lets a NaN through here, and SUM turns it into 0.
            total = aggregate(total, value * weight, options.aggregate);
        }
        result.push((member, total));
        if options.limit != 0 && result.len() >= options.limit {
            break;
        }
    }
    result
}

fn diff<'a>(inputs: &[Input<'a>]) -> Vec<(&'a Bytes, f64)> {
    let Some((first, others)) = inputs.split_first() else {
        return Vec::new();
    };
    first
        .items()
        .filter(|(member, _)| others.iter().all(|other| other.score(member).is_none()))
        .collect()
}

/// The read forms, in Redis's order: numkeys, the inputs' types, then the options.
fn read(cx: &ReadCx<'_>, args: &[Bytes], form: Form) -> Reply {
    let keys = numkeys(args, 1, form.name)?;
    let inputs = inputs(cx.ks, keys, cx.now_ms)?;
    let options = options(&args[2 + keys.len()..], keys.len(), form)?;
    let mut result = compute(&inputs, form.op, &options);
    if form.cardinality {
        return Ok(integer(result.len()));
    }
    sort(&mut result);
    Ok(members_reply(result, options.withscores))
}

pub(super) fn zunion(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, ZUNION)
}

pub(super) fn zinter(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, ZINTER)
}

pub(super) fn zdiff(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, ZDIFF)
}

pub(super) fn zintercard(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, ZINTERCARD)
}

/// The STORE forms' keys and options: `destination numkeys key... [options]`.
fn parse_store(args: &[Bytes], form: Form) -> Result<(&[Bytes], Options), ErrorReply> {
    let keys = numkeys(args, 2, form.name)?;
    let options = options(&args[3 + keys.len()..], keys.len(), form)?;
    Ok((keys, options))
}

pub(super) fn precheck_zunionstore(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_store(args, ZUNIONSTORE).map(drop)
}

pub(super) fn precheck_zinterstore(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_store(args, ZINTERSTORE).map(drop)
}

pub(super) fn precheck_zdiffstore(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_store(args, ZDIFFSTORE).map(drop)
}

pub(super) fn zunionstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    store(cx, args, ZUNIONSTORE)
}

pub(super) fn zinterstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    store(cx, args, ZINTERSTORE)
}

pub(super) fn zdiffstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    store(cx, args, ZDIFFSTORE)
}

/// Replaces the destination (whatever its type, without TTL) by the result, or deletes it
/// when the result is empty.
fn store(cx: &mut WriteCx<'_>, args: &[Bytes], form: Form) -> Reply {
    let (keys, options) = parse_store(args, form)?;
    let inputs = inputs(cx.ks, keys, cx.now_ms)?;
    let result: ZSetValue = compute(&inputs, form.op, &options)
        .into_iter()
        .map(|(member, score)| (member.clone(), stored(score)))
        .collect();
    let destination = arg(args, 1)?;
    if result.is_empty() {
        cx.ks.remove(destination);
        return Ok(Frame::Integer(0));
    }
    let len = integer(result.len());
    cx.ks.insert(destination.clone(), Value::ZSet(result), None);
    Ok(len)
}
