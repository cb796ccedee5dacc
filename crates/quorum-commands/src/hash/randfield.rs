//! HRANDFIELD key [count [WITHVALUES]]: random fields, drawn from the read's seed
//! (`DeterministicRng::new(cx.random_seed)`), never from a clock or a global generator.
//!
//! Like Redis 7.0: without a count, one field (nil for a missing key); a positive count
//! gives that many distinct fields (the whole hash when it is no larger), listed in the
//! hash's order; a negative count gives that many independent picks, repeats allowed, in
//! pick order. WITHVALUES interleaves values (flat, as RESP2 shows it).
//!
//! One limit Redis lacks: a negative count may ask for at most
//! [`RANDOM_PICKS_MAX`] picks, because the reply is built in memory before it is sent.
//!
//! Not here: the generator (`random.rs`).

use std::collections::BTreeSet;

use bytes::Bytes;
use quorum_keyspace::HashValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, string_to_i64};
use crate::random::DeterministicRng;
use crate::typed::get;
use crate::{ReadCx, Reply};

/// Most picks a negative count may ask for. Redis has no bound (HRANDFIELD k -4e18 makes
/// it stream until memory runs out); quorum builds the reply in memory first, so it refuses
/// beyond this with Redis's text for a count out of range. 2^20 picks of one byte already
/// make a 7 MiB reply; with values, twice the frames.
const RANDOM_PICKS_MAX: u64 = 1 << 20;

/// Redis's `HRANDFIELD_SUB_STRATEGY_MUL`: when the count is more than a third of the hash,
/// sampling walks the whole hash instead of drawing until enough distinct fields came up.
const SUB_STRATEGY_MUL: usize = 3;

pub(super) fn hrandfield(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let mut rng = DeterministicRng::new(cx.random_seed);
    if args.len() == 2 {
        let Some(hash) = get::<HashValue>(cx.ks, key, cx.now_ms)? else {
            return Ok(Frame::Null);
        };
        let index = rng.below(hash.len());
        return Ok(Frame::optional_bulk(
            hash.get_index(index).map(|(f, _)| f.clone()),
        ));
    }
    let (count, with_values) = parse_count(args)?;
    let Some(hash) = get::<HashValue>(cx.ks, key, cx.now_ms)? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let indexes = if count < 0 {
        let picks = count.unsigned_abs();
        if picks > RANDOM_PICKS_MAX {
            return Err(out_of_range());
        }
        (0..picks).map(|_| rng.below(hash.len())).collect()
    } else {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        distinct_indexes(&mut rng, hash.len(), count)
    };
    let mut items = Vec::with_capacity(indexes.len() * if with_values { 2 } else { 1 });
    for (field, value) in indexes.into_iter().filter_map(|i| hash.get_index(i)) {
        items.push(Frame::Bulk(field.clone()));
        if with_values {
            items.push(Frame::Bulk(value.clone()));
        }
    }
    Ok(Frame::Array(items))
}

/// `ERR value is out of range`: Redis's text when WITHVALUES would double a count past
/// what a `long` holds, reused for counts beyond [`RANDOM_PICKS_MAX`].
fn out_of_range() -> ErrorReply {
    ErrorReply::from_static("ERR value is out of range")
}

/// The count and WITHVALUES, checked as Redis does before it looks at the key: the count is
/// an integer in `-i64::MAX..=i64::MAX`; then the only option is WITHVALUES; with it, the
/// count must stay within half that range (its reply holds twice as many elements).
fn parse_count(args: &[Bytes]) -> Result<(i64, bool), ErrorReply> {
    let count = string_to_i64(arg(args, 2)?).ok_or_else(ErrorReply::not_integer)?;
    if count == i64::MIN {
        return Err(ErrorReply::from_static(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ));
    }
    let with_values = match args.get(3) {
        None => false,
        Some(word) if args.len() == 4 && is_keyword(word, "withvalues") => true,
        Some(_) => return Err(ErrorReply::syntax()),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(out_of_range());
    }
    Ok((count, with_values))
}

/// `count` distinct indexes below `len`, ascending (all of them when `count >= len`).
///
/// Near the whole hash, one pass of selection sampling (each index is kept with probability
/// needed / left); for a small share, draws until enough distinct ones came up, which is
/// expected O(count) since at most a third are already taken.
fn distinct_indexes(rng: &mut DeterministicRng, len: usize, count: usize) -> Vec<usize> {
    if count >= len {
        return (0..len).collect();
    }
    if count.saturating_mul(SUB_STRATEGY_MUL) > len {
        let mut needed = count;
        let mut kept = Vec::with_capacity(count);
        for index in 0..len {
            if needed == 0 {
                break;
            }
            if rng.below(len - index) < needed {
                kept.push(index);
                needed -= 1;
            }
        }
        return kept;
    }
    let mut picked = BTreeSet::new();
    while picked.len() < count {
        picked.insert(rng.below(len));
    }
    picked.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_indexes_are_distinct_sorted_and_in_range() {
        let mut rng = DeterministicRng::new(9);
        for len in 1..40 {
            for count in 0..=len + 1 {
                let got = distinct_indexes(&mut rng, len, count);
                assert_eq!(got.len(), count.min(len), "len {len} count {count}");
                assert!(got.windows(2).all(|w| w[0] < w[1]));
                assert!(got.iter().all(|&i| i < len));
            }
        }
    }
}
