//! Redis's geohash (`geohash.c`): interleaving a longitude and a latitude into the bits of
//! one integer, decoding it back to the centre of its cell, and the eight neighbouring cells.
//! The arithmetic follows the C code operation by operation (same `f64` operations in the
//! same order, same integer wrap-arounds), so scores and decoded coordinates are bit for bit
//! Redis's.
//!
//! A sorted set member's score is its 52-bit hash (26 steps of longitude and latitude bits)
//! over Redis's own latitude range (±85.05112878, the Web Mercator limits), not the
//! standard geohash's ±90 (GEOHASH re-encodes over that one).
//!
//! Not here: distances and the cells covering a search area (`shape.rs`).

/// Bits of precision per coordinate in a stored score: 26 × 2 = 52 bits.
pub(super) const STEP_MAX: u8 = 26;

/// Coordinates Redis accepts (EPSG:900913 / EPSG:3785): the poles cannot be encoded.
pub(super) const LONG_MIN: f64 = -180.0;
pub(super) const LONG_MAX: f64 = 180.0;
pub(super) const LAT_MIN: f64 = -85.05112878;
pub(super) const LAT_MAX: f64 = 85.05112878;

/// An interval of degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Range {
    pub(super) min: f64,
    pub(super) max: f64,
}

/// The longitude range of every hash.
pub(super) const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
/// The latitude range of the scores Redis stores.
pub(super) const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A hash of `step` bits per coordinate; `bits == 0 && step == 0` is "no cell" (Redis's
/// `GZERO`, used for the neighbours a search leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct HashBits {
    pub(super) bits: u64,
    pub(super) step: u8,
}

impl HashBits {
    /// Redis's `HASHISZERO`.
    pub(super) fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash shifted to 52 bits (`geohashAlign52Bits`): the smallest score in its cell.
    pub(super) fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// A cell: the hash and the degrees it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Area {
    pub(super) longitude: Range,
    pub(super) latitude: Range,
}

/// The eight cells around a hash, as `geohashNeighbors` computes them (wrapping around at
/// the edges of the map, in latitude too).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Neighbours {
    pub(super) north: HashBits,
    pub(super) east: HashBits,
    pub(super) west: HashBits,
    pub(super) south: HashBits,
    pub(super) north_east: HashBits,
    pub(super) south_east: HashBits,
    pub(super) north_west: HashBits,
    pub(super) south_west: HashBits,
}

/// Interleaves the low 32 bits of `x` (even bits) and `y` (odd bits).
fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of [`interleave64`]: even bits in the low half, odd bits in the high half.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
        0x0000_0000_FFFF_FFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// `geohashEncode`: the cell of `step` bits per coordinate holding the point, or `None`
/// when the point lies outside Redis's limits or the ranges (the C function's `0`).
pub(super) fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    let outside = |value: f64, min: f64, max: f64| value > max || value < min;
    if outside(longitude, LONG_MIN, LONG_MAX)
        || outside(latitude, LAT_MIN, LAT_MAX)
        || outside(latitude, lat_range.min, lat_range.max)
        || outside(longitude, long_range.min, long_range.max)
    {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * cells;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * cells;
    // C converts the offsets to `uint32_t` arguments; they lie in [0, 2^step].
    Some(HashBits {
        bits: interleave64(to_u32(lat_offset), to_u32(long_offset)),
        step,
    })
}

/// C's `double` to `uint32_t` on x86-64 (`cvttsd2si` to 64 bits, low half kept).
fn to_u32(value: f64) -> u32 {
    cvttsd2si(value) as u32
}

/// [`encode`] over Redis's own ranges: the cell of a stored score.
pub(super) fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// `geohashDecode`: the degrees a cell covers (`None` for "no cell").
pub(super) fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let separated = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = separated as u32;
    let ilono = (separated >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    let at = |min: f64, index: u32, scale: f64| min + (f64::from(index) / cells) * scale;
    Some(Area {
        latitude: Range {
            min: at(lat_range.min, ilato, lat_scale),
            max: at(lat_range.min, ilato.wrapping_add(1), lat_scale),
        },
        longitude: Range {
            min: at(long_range.min, ilono, long_scale),
            max: at(long_range.min, ilono.wrapping_add(1), long_scale),
        },
    })
}

/// [`decode`] over Redis's own ranges.
pub(super) fn decode_wgs84(hash: HashBits) -> Option<Area> {
    decode(LONG_RANGE, LAT_RANGE, hash)
}

/// The point a stored score stands for (`decodeGeohash`): the centre of its cell, clamped
/// to Redis's limits. Any score decodes (Redis converts it to an integer as C does), so a
/// sorted set not written by GEOADD still has "positions".
pub(super) fn decode_score(score: f64) -> [f64; 2] {
    let hash = HashBits {
        bits: double_to_u64(score),
        step: STEP_MAX,
    };
    let area = decode_wgs84(hash).expect("a step-26 hash is never the zero cell");
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [longitude, latitude]
}

/// The score GEOADD stores for a point inside Redis's limits.
pub(super) fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(HashBits::align52)
}

/// Moves a hash one cell east (`d > 0`) or west (`geohash_move_x`).
fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let width = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> width;
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> width;
    hash.bits = x | y;
}

/// Moves a hash one cell north (`d > 0`) or south (`geohash_move_y`).
fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let width = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> width;
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555_5555_5555_5555u64 >> width;
    hash.bits = x | y;
}

/// `geohashNeighbors`.
pub(super) fn neighbours(hash: HashBits) -> Neighbours {
    let moved = |dx: i8, dy: i8| {
        let mut cell = hash;
        move_x(&mut cell, dx);
        move_y(&mut cell, dy);
        cell
    };
    Neighbours {
        east: moved(1, 0),
        west: moved(-1, 0),
        south: moved(0, -1),
        north: moved(0, 1),
        north_west: moved(-1, 1),
        north_east: moved(1, 1),
        south_east: moved(1, -1),
        south_west: moved(-1, -1),
    }
}

/// x86-64's `cvttsd2si` (C's `double` to `long long`): truncation toward zero, and the
/// "integer indefinite" `i64::MIN` for NaN and values out of range.
pub(super) fn cvttsd2si(value: f64) -> i64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if value.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&value) {
        i64::MIN
    } else {
        value as i64
    }
}

/// C's `(uint64_t)` of a `double` as GCC compiles it on x86-64: below 2^63 through the
/// signed conversion (negative scores wrap), from 2^63 on by subtracting 2^63 first.
/// Redis casts stored scores this way before decoding them.
pub(super) fn double_to_u64(value: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if value >= TWO_POW_63 {
        (cvttsd2si(value - TWO_POW_63) as u64) ^ (1 << 63)
    } else {
        cvttsd2si(value) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ff_ffff, 0x155_5555),
            (u32::MAX, 7),
        ] {
            assert_eq!(
                deinterleave64(interleave64(x, y)),
                u64::from(x) | u64::from(y) << 32
            );
        }
    }

    #[test]
    fn scores_and_positions_match_redis() {
        // From Redis 7.0.15: GEOADD k 13.361389 38.115556 Palermo, then ZSCORE and GEOPOS.
        let score = score_of(13.361389, 38.115556).unwrap();
        assert_eq!(score, 3_479_099_956_230_698);
        let [lon, lat] = decode_score(score as f64);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        // The corners are encoded past the 52 bits, as in Redis.
        assert_eq!(score_of(180.0, LAT_MAX), Some(13_510_798_882_111_488));
        assert_eq!(score_of(180.1, 0.0), None);
    }

    #[test]
    fn c_casts_follow_x86_64() {
        assert_eq!(double_to_u64(-1.0), u64::MAX);
        assert_eq!(double_to_u64(f64::INFINITY), 0);
        assert_eq!(double_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(double_to_u64(1.9), 1);
        assert_eq!(double_to_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(cvttsd2si(-2.5), -2);
        assert_eq!(cvttsd2si(f64::NAN), i64::MIN);
    }

    #[test]
    fn neighbours_wrap_around() {
        let hash = encode_wgs84(179.9, 0.0, 2).unwrap();
        let n = neighbours(hash);
        let east = decode_wgs84(n.east).unwrap();
        assert_eq!(east.longitude.min, -180.0);
        let north_of_top = neighbours(encode_wgs84(0.0, 85.0, 2).unwrap()).north;
        assert_eq!(decode_wgs84(north_of_top).unwrap().latitude.min, LAT_MIN);
    }
}
