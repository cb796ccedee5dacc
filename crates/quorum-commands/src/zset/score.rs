//! Scores as Redis reads and writes them: C's `strtod` (which Redis calls directly, so hex
//! floats such as `0x1p3`, `infinity` and leading blanks in ranges are all accepted), the
//! stricter `string2d` of ZADD, ZINCRBY and WEIGHTS, and the texts of a score.
//!
//! Not here: range bounds (`range.rs` builds them from [`strtod_whole`]).

use bytes::{Bytes, BytesMut};
use quorum_resp::{encode, Frame, Protocol};
use quorum_types::ErrorReply;

/// A number as `strtod` read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Strtod {
    /// The value (never NaN: every caller refuses NaN, so it is reported as no number).
    pub(super) value: f64,
    /// Whether `strtod` would set `errno = ERANGE`: a finite text that overflowed to an
    /// infinity, or a non-zero text that underflowed to zero.
    pub(super) out_of_range: bool,
}

/// Whether `b` is a C `isspace` character in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads `text` as C's `strtod` does and returns the number only if `strtod` consumes all
/// of it (leading white space allowed). `None` for anything else, NaN included, and for
/// the empty text (the caller decides what an empty text means).
pub(super) fn strtod_whole(text: &[u8]) -> Option<Strtod> {
    let start = text.iter().position(|&b| !is_c_space(b))?;
    let (negative, body) = match &text[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    let parsed = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        Strtod {
            value: f64::INFINITY,
            out_of_range: false,
        }
    } else if let [b'0', b'x' | b'X', hex @ ..] = body {
        hex_float(hex)?
    } else {
        decimal_float(body)?
    };
    Some(Strtod {
        value: if negative {
            -parsed.value
        } else {
            parsed.value
        },
        ..parsed
    })
}

/// A decimal float without sign: digits with an optional point (at least one digit), then
/// an optional exponent. Rust's parser rounds exactly as glibc's does (to nearest).
fn decimal_float(body: &[u8]) -> Option<Strtod> {
    let mantissa_len = body
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .unwrap_or(body.len());
    let (mantissa, exponent) = body.split_at(mantissa_len);
    let mut points = 0;
    let mut digits = 0;
    for &b in mantissa {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return None,
        }
    }
    if digits == 0 || points > 1 {
        return None;
    }
    if let [_, rest @ ..] = exponent {
        let rest = match rest {
            [b'+' | b'-', more @ ..] => more,
            more => more,
        };
        if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let value: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
    let nonzero_text = mantissa.iter().any(|&b| (b'1'..=b'9').contains(&b));
    Some(Strtod {
        value,
        out_of_range: value.is_infinite() || (value == 0.0 && nonzero_text),
    })
}

/// Hex digits kept exactly; more only decide rounding (a "sticky" bit).
const HEX_DIGITS_KEPT: u32 = 16;

/// A hex float after `0x`: hex digits with an optional point (at least one digit), then
/// an optional binary exponent `p[+-]digits`, rounded to nearest, ties to even.
fn hex_float(body: &[u8]) -> Option<Strtod> {
    let mantissa_len = body
        .iter()
        .position(|&b| b == b'p' || b == b'P')
        .unwrap_or(body.len());
    let (mantissa, exponent) = body.split_at(mantissa_len);
    let mut bits: u64 = 0;
    let mut kept = 0u32;
    let mut sticky = false;
    let mut scale: i64 = 0; // value = bits * 2^scale (before the exponent)
    let mut seen_point = false;
    let mut digits = 0;
    for &b in mantissa {
        if b == b'.' {
            if seen_point {
                return None;
            }
            seen_point = true;
            continue;
        }
        let d = u64::from(char::from(b).to_digit(16)?);
        digits += 1;
        if kept < HEX_DIGITS_KEPT && (bits != 0 || d != 0) {
            bits = bits << 4 | d;
            kept += 1;
            if seen_point {
                scale -= 4;
            }
        } else if bits == 0 && d == 0 {
            if seen_point {
                scale -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                scale += 4;
            }
        }
    }
    if digits == 0 {
        return None;
    }
    if let [_, rest @ ..] = exponent {
        let (negative, digits) = match rest {
            [b'-', more @ ..] => (true, more),
            [b'+', more @ ..] => (false, more),
            more => (false, more),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Saturate: anything beyond ±100000 is an overflow or underflow either way.
        let magnitude = digits
            .iter()
            .fold(0i64, |n, &d| (n * 10 + i64::from(d - b'0')).min(100_000));
        scale += if negative { -magnitude } else { magnitude };
    }
    Some(round_binary(bits, sticky, scale))
}

/// `bits * 2^scale` (plus a sticky fraction below `bits`) rounded to an `f64`.
fn round_binary(bits: u64, sticky: bool, scale: i64) -> Strtod {
    if bits == 0 {
        return Strtod {
            value: 0.0,
            out_of_range: false,
        };
    }
    let shift = bits.leading_zeros();
    let m = bits << shift; // top bit set: value = m * 2^(top - 63)
    let top = scale - i64::from(shift) + 63; // value in [2^top, 2^(top+1))
    if top > 1023 {
        return Strtod {
            value: f64::INFINITY,
            out_of_range: true,
        };
    }
    // Significant bits the result keeps: 53 when normal, fewer when subnormal.
    let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep <= 0 {
        // Below half the smallest subnormal (or exactly half with keep == 0, where the
        // tie goes to the even neighbour, zero, unless something lies below).
        let up = keep == 0 && (m > 1 << 63 || (m == 1 << 63 && sticky));
        return Strtod {
            value: if up { f64::from_bits(1) } else { 0.0 },
            out_of_range: true,
        };
    }
    let drop = 64 - keep as u32;
    let mut q = m >> drop;
    let rest = m & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rest > half || (rest == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    let value = if keep == 53 {
        let (q, top) = if q == 1 << 53 {
            (q >> 1, top + 1)
        } else {
            (q, top)
        };
        if top > 1023 {
            return Strtod {
                value: f64::INFINITY,
                out_of_range: true,
            };
        }
        f64::from_bits(((top + 1023) as u64) << 52 | (q & ((1 << 52) - 1)))
    } else {
        // Subnormal: the unit is 2^-1074, so q is the bit pattern (a carry into bit 52
        // is exactly the smallest normal number).
        f64::from_bits(q)
    };
    Strtod {
        value,
        out_of_range: value == 0.0,
    }
}

/// Parses a score as Redis's `getDoubleFromObject` (`string2d`): all of the text, no
/// leading blank, no NaN, and no overflow to infinity or underflow to zero.
pub(super) fn parse_score(text: &[u8]) -> Option<f64> {
    if text.first().is_none_or(|&b| is_c_space(b)) {
        return None;
    }
    let parsed = strtod_whole(text)?;
    let lost = parsed.out_of_range && (parsed.value.is_infinite() || parsed.value == 0.0);
    (!lost).then_some(parsed.value)
}

/// A score argument (ZADD, ZINCRBY) or `ERR value is not a valid float`.
pub(super) fn score_arg(text: &[u8]) -> Result<f64, ErrorReply> {
    parse_score(text).ok_or_else(ErrorReply::not_float)
}

/// The score a sorted set stores for a computed one. Redis's small sets (listpacks) store
/// `-0` as `0`, and quorum stores every set that way, so that `-0` never orders apart
/// from `0` (Redis orders them as equal, `f64::total_cmp` would not).
pub(super) fn stored(score: f64) -> f64 {
    score + 0.0
}

/// The text `addReplyDouble` sends for a score (C's `%.17g`, `inf`, `-inf`): quorum-resp's
/// encoding of [`Frame::Double`] in RESP2, taken out of its bulk string so that the format
/// lives in one place.
pub(super) fn reply_text(score: f64) -> Bytes {
    let mut out = BytesMut::new();
    encode(&Frame::Double(score), Protocol::Resp2, &mut out);
    let start = out.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
    let end = out.len().saturating_sub(2).max(start);
    out.freeze().slice(start..end)
}

/// The text a small (listpack) sorted set stores for a score, which ZSCAN returns:
/// Redis's `d2string`: integers in ±2^62 without exponent or point, else `%.17g`.
pub(super) fn listpack_text(score: f64) -> Bytes {
    const INTEGER_TEXT_MAX: f64 = 4_611_686_018_427_387_904.0; // (LLONG_MAX / 2) as a double
    if score == 0.0 {
        return Bytes::from_static(if score.is_sign_negative() {
            b"-0"
        } else {
            b"0"
        });
    }
    if score.is_finite() && score.abs() <= INTEGER_TEXT_MAX && score.fract() == 0.0 {
        return Bytes::from((score as i64).to_string());
    }
    reply_text(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Option<f64> {
        strtod_whole(text.as_bytes()).map(|p| p.value)
    }

    #[test]
    fn strtod_reads_what_glibc_reads() {
        assert_eq!(whole("1.5"), Some(1.5));
        assert_eq!(whole(" \t1"), Some(1.0));
        assert_eq!(whole("1 "), None);
        assert_eq!(whole("-INF"), Some(f64::NEG_INFINITY));
        assert_eq!(whole("+Infinity"), Some(f64::INFINITY));
        assert_eq!(whole("infinit"), None);
        assert_eq!(whole("nan"), None);
        assert_eq!(whole("1."), Some(1.0));
        assert_eq!(whole(".5e1"), Some(5.0));
        assert_eq!(whole("."), None);
        assert_eq!(whole("1e"), None);
        assert_eq!(whole("1e+"), None);
        assert_eq!(whole(""), None);
        assert_eq!(whole("  "), None);
        assert_eq!(whole("0x10"), Some(16.0));
        assert_eq!(whole("0x1p-2"), Some(0.25));
        assert_eq!(whole("-0x.8"), Some(-0.5));
        assert_eq!(whole("0x"), None);
        assert_eq!(whole("0x1.fffffffffffff8p0"), Some(2.0));
        assert_eq!(whole("0x1.fffffffffffff7p0"), Some(2.0 - f64::EPSILON));
        assert_eq!(whole("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(whole("0x1p-1075"), Some(0.0));
        assert_eq!(whole("0x1.0000000000001p-1075"), Some(f64::from_bits(1)));
        assert_eq!(whole("0x1p1024"), Some(f64::INFINITY));
        assert_eq!(whole("0x123456789abcdef0123p0"), Some(5.373003642731685e21));
        assert_eq!(whole("1e500"), Some(f64::INFINITY));
    }

    #[test]
    fn scores_parse_like_string2d() {
        assert_eq!(parse_score(b"1e500"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"4e-320"), Some(4e-320));
        assert_eq!(parse_score(b"0e-400"), Some(0.0));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"1\0"), None);
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
    }

    #[test]
    fn texts_of_a_score() {
        assert_eq!(reply_text(1.1), "1.1000000000000001");
        assert_eq!(reply_text(f64::NEG_INFINITY), "-inf");
        assert_eq!(listpack_text(123456789012345678.0), "123456789012345680");
        assert_eq!(listpack_text(4611686018427387904.0), "4611686018427387904");
        assert_eq!(
            listpack_text(9223372036854775808.0),
            "9.2233720368547758e+18"
        );
        assert_eq!(listpack_text(-3.0), "-3");
        assert_eq!(listpack_text(0.5), "0.5");
        assert_eq!(listpack_text(-0.0), "-0");
        assert_eq!(stored(-0.0).to_bits(), 0);
    }
}
