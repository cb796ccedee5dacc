//! ZRANDMEMBER: random members of a sorted set, drawn from the read's seed
//! (`DeterministicRng::new(cx.random_seed)`), so the answer is a function of the seed.
//!
//! As in Redis, a count at least the set's size returns the whole set, highest score first
//! (Redis's set iterators start at the tail), a smaller positive count returns that many
//! distinct members, and a negative count returns that many members that may repeat, up
//! to [`ZRANDMEMBER_REPEATS_MAX`] (Redis has no such cap: it streams its reply).
//!
//! Not here: which members a seed picks beyond "uniform over the set": Redis's picks
//! differ (its generator and order differ), only the distribution is alike.

use std::collections::HashMap;

use bytes::Bytes;
use quorum_keyspace::ZSetValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::members_reply;
use crate::parse::{arg, is_keyword, parse_i64};
use crate::random::DeterministicRng;
use crate::typed::get;
use crate::{ReadCx, Reply};

/// Most members a negative ZRANDMEMBER count may ask for. quorum builds the whole reply
/// (about 40 bytes a member, twice with scores, before encoding) before sending it; 4 Mi
/// members keep that under the default 256 MiB client output limit. The same cap as
/// SRANDMEMBER's.
pub(crate) const ZRANDMEMBER_REPEATS_MAX: u64 = 4 * 1024 * 1024;

/// The parsed count form: `count` members, distinct unless `repeat`.
struct Count {
    count: u64,
    repeat: bool,
    withscores: bool,
}

/// Parses `[count [WITHSCORES]]` in Redis's order: the count's range, the words after it,
/// then WITHSCORES's narrower range (Redis doubles the count for the reply's length).
fn parse_count(args: &[Bytes]) -> Result<Option<Count>, ErrorReply> {
    let Some(count) = args.get(2) else {
        return Ok(None);
    };
    let n = parse_i64(count)?;
    if n == i64::MIN {
        return Err(ErrorReply::from_static(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match &args[3..] {
        [] => false,
        [word] if is_keyword(word, "withscores") => true,
        _ => return Err(ErrorReply::syntax()),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(ErrorReply::from_static("ERR value is out of range"));
    }
    let count = n.unsigned_abs();
    if n < 0 && count > ZRANDMEMBER_REPEATS_MAX {
        return Err(ErrorReply::new(format!(
            "ERR value is out of range, value must between -{ZRANDMEMBER_REPEATS_MAX} and 9223372036854775807"
        )));
    }
    Ok(Some(Count {
        count,
        repeat: n < 0,
        withscores,
    }))
}

pub(super) fn zrandmember(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let request = parse_count(args)?;
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let mut rng = DeterministicRng::new(cx.random_seed);
    let Some(zset) = zset else {
        return Ok(match request {
            None => Frame::Null,
            Some(_) => Frame::Array(Vec::new()),
        });
    };
    let len = zset.len();
    let Some(Count {
        count,
        repeat,
        withscores,
    }) = request
    else {
        let member = zset.iter().nth(rng.below(len)).map(|(m, _)| m.clone());
        return Ok(Frame::optional_bulk(member));
    };
    if count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    if !repeat && count >= len as u64 {
        return Ok(members_reply(zset.iter().rev(), withscores));
    }
    let all: Vec<(&Bytes, f64)> = zset.iter().collect();
    let picked: Vec<(&Bytes, f64)> = if repeat {
        (0..count).map(|_| all[rng.below(len)]).collect()
    } else {
        distinct(&all, count as usize, &mut rng)
    };
    Ok(members_reply(picked, withscores))
}

/// `count` distinct items (`count < items.len()`) in random order: the first `count` steps
/// of a Fisher-Yates shuffle, with the swapped positions kept in a map rather than in a
/// shuffled copy of the items.
fn distinct<'a>(
    items: &[(&'a Bytes, f64)],
    count: usize,
    rng: &mut DeterministicRng,
) -> Vec<(&'a Bytes, f64)> {
    let len = items.len();
    let mut swapped: HashMap<usize, usize> = HashMap::with_capacity(count);
    let mut picked = Vec::with_capacity(count);
    for i in 0..count {
        let j = i + rng.below(len - i);
        let at_j = swapped.get(&j).copied().unwrap_or(j);
        let at_i = swapped.get(&i).copied().unwrap_or(i);
        swapped.insert(j, at_i);
        picked.push(items[at_j]);
    }
    picked
}
