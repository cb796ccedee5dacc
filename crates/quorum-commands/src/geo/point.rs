//! The per-member reads: GEOPOS, GEODIST and GEOHASH (`geo.c`). Every score decodes to a
//! position, also one GEOADD did not write, exactly as Redis decodes it.
//!
//! Not here: GEOADD (`add.rs`), searches (`search.rs`).

use bytes::Bytes;
use quorum_keyspace::ZSetValue;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::args::{coordinate_text, distance_text, unit};
use super::hash::{self, decode_score, Range, STEP_MAX};
use super::shape::distance;
use crate::parse::arg;
use crate::typed::get;
use crate::{ReadCx, Reply};

/// GEOPOS: `[longitude, latitude]` per member, a null array for a missing one.
pub(super) fn geopos(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let positions = args.get(2..).unwrap_or_default().iter().map(|member| {
        match zset.and_then(|z| z.score(member)) {
            None => Frame::NullArray,
            Some(score) => {
                let [longitude, latitude] = decode_score(score);
                Frame::Array(vec![
                    Frame::Bulk(coordinate_text(longitude)),
                    Frame::Bulk(coordinate_text(latitude)),
                ])
            }
        }
    });
    Ok(Frame::Array(positions.collect()))
}

/// GEODIST: the distance between two members in the unit asked (metres by default), nil
/// when the key or either member is missing. The unit is checked first, as in Redis.
pub(super) fn geodist(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let meters_per_unit = match args.len() {
        5 => unit(&args[4])?,
        len if len > 5 => return Err(ErrorReply::syntax()),
        _ => 1.0,
    };
    let Some(zset) = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Null);
    };
    let (Some(first), Some(second)) = (zset.score(arg(args, 2)?), zset.score(arg(args, 3)?)) else {
        return Ok(Frame::Null);
    };
    let [lon1, lat1] = decode_score(first);
    let [lon2, lat2] = decode_score(second);
    let meters = distance(lon1, lat1, lon2, lat2);
    Ok(Frame::Bulk(distance_text(meters / meters_per_unit)))
}

/// The standard geohash alphabet (base 32 without a, i, l, o).
const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The 11-character standard geohash of a stored score: decoded, then re-encoded over the
/// standard latitude range ±90 (Redis stores over ±85.05112878); the 11th character stands
/// for bits Redis does not have and is always `0`.
fn standard_geohash(score: f64) -> Bytes {
    let [longitude, latitude] = decode_score(score);
    let long_range = Range {
        min: -180.0,
        max: 180.0,
    };
    let lat_range = Range {
        min: -90.0,
        max: 90.0,
    };
    // A decoded position is inside the limits, so it always encodes.
    let bits = hash::encode(long_range, lat_range, longitude, latitude, STEP_MAX)
        .unwrap_or_default()
        .bits;
    let text: Vec<u8> = (0..11)
        .map(|i| {
            let index = if i == 10 {
                0
            } else {
                (bits >> (52 - (i + 1) * 5)) & 0x1f
            };
            ALPHABET[index as usize]
        })
        .collect();
    Bytes::from(text)
}

/// GEOHASH: the standard geohash per member, nil for a missing one.
pub(super) fn geohash(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let hashes = args.get(2..).unwrap_or_default().iter().map(|member| {
        zset.and_then(|z| z.score(member))
            .map_or(Frame::Null, |score| Frame::Bulk(standard_geohash(score)))
    });
    Ok(Frame::Array(hashes.collect()))
}
