//! GEOADD: Redis parses its options and every coordinate, then runs ZADD with each point's
//! 52-bit geohash as the score (`geoaddCommand` calls `zaddCommand`). quorum does the same
//! without building a ZADD: the same checks in the same order (options, argument count,
//! NX with XX, each coordinate, then the key's type), the same counts.
//!
//! The command is planned against the current set and applied only when it changes
//! something, so a GEOADD that adds and moves nothing does not touch the key (Redis
//! signals a modified key only then).
//!
//! Not here: the geohash itself (`hash.rs`).

use std::collections::HashMap;

use bytes::Bytes;
use quorum_keyspace::ZSetValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::args::long_lat;
use super::hash::score_of;
use crate::parse::{arg, is_keyword};
use crate::typed::{get, upsert};
use crate::{Reply, WriteCx};

/// GEOADD's options and points, parsed.
struct Request<'a> {
    nx: bool,
    xx: bool,
    ch: bool,
    /// `(score, member)` in argument order.
    points: Vec<(f64, &'a Bytes)>,
}

/// Parses in `geoaddCommand`'s order: option words (NX, XX, CH, in any order and number),
/// a multiple of three remaining arguments and not both NX and XX, then each coordinate.
fn parse(args: &[Bytes]) -> Result<Request<'_>, ErrorReply> {
    let mut request = Request {
        nx: false,
        xx: false,
        ch: false,
        points: Vec::new(),
    };
    let mut at = 2;
    while let Some(word) = args.get(at) {
        if is_keyword(word, "nx") {
            request.nx = true;
        } else if is_keyword(word, "xx") {
            request.xx = true;
        } else if is_keyword(word, "ch") {
            request.ch = true;
        } else {
            break;
        }
        at += 1;
    }
    let triples = args.get(at..).unwrap_or_default();
    if triples.len() % 3 != 0 || (request.xx && request.nx) {
        return Err(ErrorReply::syntax());
    }
    for triple in triples.chunks_exact(3) {
        let [longitude, latitude] = long_lat(&triple[0], &triple[1])?;
        // Inside Redis's limits (checked above), a point always encodes.
        let score = score_of(longitude, latitude).ok_or_else(ErrorReply::syntax)?;
        request.points.push((score as f64, &triple[2]));
    }
    Ok(request)
}

pub(super) fn precheck_geoadd(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args).map(drop)
}

/// GEOADD: the number of members added, plus those moved with CH (ZADD's reply).
pub(super) fn geoadd(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let request = parse(args)?;
    let key = arg(args, 1)?;
    let zset = get::<ZSetValue>(cx.ks, key, cx.now_ms)?;
    // Each point against the set as the earlier points of this command left it.
    let mut planned: HashMap<&Bytes, f64> = HashMap::new();
    let mut writes = Vec::new();
    let (mut added, mut moved) = (0i64, 0i64);
    for &(score, member) in &request.points {
        let current = planned
            .get(member)
            .copied()
            .or_else(|| zset.and_then(|z| z.score(member)));
        match current {
            Some(_) if request.nx => continue,
            Some(old) if old == score => continue,
            Some(_) => moved += 1,
            None if request.xx => continue,
            None => added += 1,
        }
        planned.insert(member, score);
        writes.push((member.clone(), score));
    }
    if !writes.is_empty() {
        upsert::<ZSetValue, _>(cx.ks, key, |z| {
            for (member, score) in writes {
                z.insert(member, score);
            }
        })?;
    }
    Ok(Frame::Integer(if request.ch {
        added + moved
    } else {
        added
    }))
}
