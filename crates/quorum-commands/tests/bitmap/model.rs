//! Property test: random SETBITs, GETBITs, BITCOUNTs and BITPOSes, through the harness,
//! against a vector of bits written from the commands' documented meaning (a range is a
//! set of bits; "not found" is -1, or for a 0 without an end the first bit after the
//! string), independent of Redis's byte-and-mask arithmetic that the implementation ports.
//!
//! Not here: error texts (the tables in `bitmap.rs`), BITOP and BITFIELD (tables).

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::common::{render, Harness};
use crate::escaped::args;

/// Each key's bits; a string of n bytes has 8n bits.
type Model = BTreeMap<&'static str, Vec<bool>>;

#[derive(Debug, Clone)]
enum Cmd {
    SetBit(&'static str, usize, bool),
    /// `BITFIELD key SET u8 #n 255`: a byte of ones, so that searches for a 0 that find
    /// none are common.
    Fill(&'static str, usize),
    GetBit(&'static str, usize),
    /// BITCOUNT key [start end [unit]]; the unit is `Some(true)` for BIT.
    Count(&'static str, Option<(i64, i64, Option<bool>)>),
    /// BITPOS key bit [start [end [unit]]].
    Pos(&'static str, bool, Option<i64>, Option<i64>, Option<bool>),
}

impl Cmd {
    fn line(&self) -> String {
        let unit = |u: &Option<bool>| match u {
            None => "",
            Some(true) => " BIT",
            Some(false) => " BYTE",
        };
        match self {
            Cmd::SetBit(k, off, on) => format!("SETBIT {k} {off} {}", u8::from(*on)),
            Cmd::Fill(k, byte) => format!("BITFIELD {k} SET u8 #{byte} 255"),
            Cmd::GetBit(k, off) => format!("GETBIT {k} {off}"),
            Cmd::Count(k, None) => format!("BITCOUNT {k}"),
            Cmd::Count(k, Some((s, e, u))) => format!("BITCOUNT {k} {s} {e}{}", unit(u)),
            Cmd::Pos(k, b, s, e, u) => {
                let mut line = format!("BITPOS {k} {}", u8::from(*b));
                if let Some(s) = s {
                    line += &format!(" {s}");
                }
                if let Some(e) = e {
                    line += &format!(" {e}{}", unit(u));
                }
                line
            }
        }
    }
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let key = prop::sample::select(vec!["a", "b", "a"]);
    let index = prop_oneof![-30i64..30, -250i64..250];
    let unit = prop::option::of(any::<bool>());
    prop_oneof![
        // Mostly ones over a short string too, so runs of ones (a search for 0 that
        // finds none) happen often.
        3 => (key.clone(), prop_oneof![0usize..24, 0usize..200], prop::bool::weighted(0.8))
            .prop_map(|(k, o, b)| Cmd::SetBit(k, o, b)),
        1 => (key.clone(), 0usize..26).prop_map(|(k, b)| Cmd::Fill(k, b)),
        1 => (key.clone(), 0usize..220).prop_map(|(k, o)| Cmd::GetBit(k, o)),
        2 => (key.clone(), prop::option::of((index.clone(), index.clone(), unit.clone())))
            .prop_map(|(k, r)| Cmd::Count(k, r)),
        3 => (key, any::<bool>(), prop::option::of(index.clone()), prop::option::of(index), unit)
            .prop_map(|(k, b, s, e, u)| {
                // An end needs a start; a unit needs an end.
                let e = s.and(e);
                Cmd::Pos(k, b, s, e, e.and(u))
            }),
    ]
}

/// A range in units of `len` resolved as Redis resolves it: negative counts from the end,
/// then both ends clamped. `None` when empty.
fn resolve(len: i64, start: i64, end: i64) -> Option<(i64, i64)> {
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { (len + end).max(0) } else { end }.min(len - 1);
    (start <= end).then_some((start, end))
}

/// The bits a range covers, given its unit.
fn bit_range(bits: &[bool], start: i64, end: i64, is_bit: bool) -> Option<(usize, usize)> {
    let len = bits.len() as i64;
    let (s, e) = if is_bit {
        resolve(len, start, end)?
    } else {
        let (s, e) = resolve(len / 8, start, end)?;
        (s * 8, e * 8 + 7)
    };
    Some((s as usize, e as usize))
}

fn model_reply(model: &mut Model, cmd: &Cmd) -> String {
    if let Cmd::Fill(k, byte) = cmd {
        let bits = model.entry(k).or_default();
        if bits.len() < (byte + 1) * 8 {
            bits.resize((byte + 1) * 8, false);
        }
        let old = bits[byte * 8..(byte + 1) * 8]
            .iter()
            .fold(0, |acc, &b| acc * 2 + u8::from(b));
        bits[byte * 8..(byte + 1) * 8].fill(true);
        return format!("[:{old}]");
    }
    format!(":{}", model_integer(model, cmd))
}

fn model_integer(model: &mut Model, cmd: &Cmd) -> i64 {
    match cmd {
        Cmd::Fill(..) => unreachable!("answered by model_reply"),
        Cmd::SetBit(k, off, on) => {
            let bits = model.entry(k).or_default();
            if bits.len() <= *off {
                bits.resize((off / 8 + 1) * 8, false);
            }
            i64::from(std::mem::replace(&mut bits[*off], *on))
        }
        Cmd::GetBit(k, off) => {
            let bit = model.get(k).and_then(|bits| bits.get(*off).copied());
            i64::from(bit.unwrap_or(false))
        }
        Cmd::Count(k, range) => {
            let Some(bits) = model.get(k) else { return 0 };
            let covered = match range {
                None => Some((0, bits.len().wrapping_sub(1))).filter(|_| !bits.is_empty()),
                Some((s, e, _)) if *s < 0 && *e < 0 && s > e => None,
                Some((s, e, unit)) => bit_range(bits, *s, *e, *unit == Some(true)),
            };
            covered.map_or(0, |(s, e)| {
                bits[s..=e].iter().filter(|&&b| b).count() as i64
            })
        }
        Cmd::Pos(k, bit, start, end, unit) => {
            let Some(bits) = model.get(k) else {
                return if *bit { -1 } else { 0 };
            };
            let range = match start {
                None if bits.is_empty() => None,
                None => Some((0, bits.len() - 1)),
                Some(s) => bit_range(bits, *s, end.unwrap_or(-1), *unit == Some(true)),
            };
            let Some((s, e)) = range else { return -1 };
            match (s..=e).find(|&i| bits[i] == *bit) {
                Some(i) => i as i64,
                // Without an end, the string continues with zeros.
                None if !*bit && end.is_none() => e as i64 + 1,
                None => -1,
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bit_commands_match_a_bit_vector(commands in prop::collection::vec(cmd(), 1..60)) {
        let mut model = Model::new();
        let mut h = Harness::default();
        for cmd in &commands {
            let line = cmd.line();
            let got = render(&h.run_args(&args(&line)));
            let expected = model_reply(&mut model, cmd);
            prop_assert_eq!(got, expected, "{}", line);
        }
        for (key, bits) in &model {
            let got = render(&h.run_args(&args(&format!("STRLEN {key}"))));
            prop_assert_eq!(got, format!(":{}", bits.len() / 8));
        }
    }
}
