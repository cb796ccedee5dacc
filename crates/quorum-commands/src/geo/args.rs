//! The geo group's argument helpers and number texts, as `geo.c` and `util.c` have them:
//! floats read by `string2d` (C's `strtod`, whole text, no overflow), coordinates checked
//! against Redis's limits, units, radii and boxes with their exact error texts, and the two
//! ways Redis prints a float here: coordinates as `%.17Lf` without trailing zeros
//! (`addReplyHumanLongDouble`) and distances with four decimals (`fixedpoint_d2string`).
//!
//! Not here: the option grammar of the search commands (`search.rs`).

use bytes::Bytes;
use quorum_types::ErrorReply;

use super::hash::{LAT_MAX, LAT_MIN, LONG_MAX, LONG_MIN};

/// Whether `b` is a C `isspace` character in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Redis's `string2d`: C's `strtod` must read the whole text (no leading blank), and the
/// result must not be NaN nor have overflowed to ±infinity or underflowed to zero. `inf`,
/// `infinity` and hex floats (`0x1p3`) are accepted, as `strtod` accepts them.
pub(super) fn string2d(text: &[u8]) -> Option<f64> {
    let first = *text.first()?;
    if is_c_space(first) {
        return None;
    }
    let (negative, body) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    let value = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        f64::INFINITY
    } else if let [b'0', b'x' | b'X', hex @ ..] = body {
        hex_float(hex)?
    } else {
        decimal_float(body)?
    };
    Some(if negative { -value } else { value })
}

/// Splits `digits[.digits]` + an exponent introduced by `marker`; `None` unless the text
/// is exactly that, with at least one digit and, after a marker, a signed decimal number.
fn split_float(body: &[u8], marker: u8, is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8])> {
    let end = body
        .iter()
        .position(|b| b.eq_ignore_ascii_case(&marker))
        .unwrap_or(body.len());
    let (mantissa, exponent) = body.split_at(end);
    let digits = mantissa.iter().filter(|b| is_digit(b)).count();
    let points = mantissa.iter().filter(|&&b| b == b'.').count();
    if digits == 0 || points > 1 || digits + points != mantissa.len() {
        return None;
    }
    if let [_, rest @ ..] = exponent {
        let unsigned = match rest {
            [b'+' | b'-', more @ ..] => more,
            more => more,
        };
        if unsigned.is_empty() || !unsigned.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    Some((mantissa, exponent))
}

/// A decimal float without its sign; Rust's parser rounds as glibc's `strtod` does.
fn decimal_float(body: &[u8]) -> Option<f64> {
    let (mantissa, _) = split_float(body, b'e', u8::is_ascii_digit)?;
    let value: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
    let nonzero = mantissa.iter().any(|&b| (b'1'..=b'9').contains(&b));
    // strtod's ERANGE on overflow, or on underflow to zero: string2d refuses both.
    (value.is_finite() && (value != 0.0 || !nonzero)).then_some(value)
}

/// Hex digits kept exactly; any further non-zero digit only sets a sticky bit.
const HEX_DIGITS_KEPT: usize = 30;

/// A hex float after `0x`: `h[.h]` and an optional binary exponent `p[+-]d`.
fn hex_float(body: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = split_float(body, b'p', u8::is_ascii_hexdigit)?;
    let mut bits: u128 = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut scale: i64 = 0;
    let mut after_point = false;
    for &b in mantissa {
        if b == b'.' {
            after_point = true;
            continue;
        }
        let digit = u128::from(char::from(b).to_digit(16)?);
        if kept < HEX_DIGITS_KEPT {
            bits = bits << 4 | digit;
            kept += usize::from(bits != 0);
            scale -= if after_point { 4 } else { 0 };
        } else {
            sticky |= digit != 0;
            scale += if after_point { 0 } else { 4 };
        }
    }
    if let [_, rest @ ..] = exponent {
        let (negative, digits) = match rest {
            [b'-', more @ ..] => (true, more),
            [b'+', more @ ..] => (false, more),
            more => (false, more),
        };
        // Beyond ±100000 the result is an overflow or an underflow either way.
        let magnitude = digits
            .iter()
            .fold(0i64, |n, &d| (n * 10 + i64::from(d - b'0')).min(100_000));
        scale += if negative { -magnitude } else { magnitude };
    }
    if bits == 0 {
        return Some(0.0);
    }
    // With 120 bits kept, a sticky lowest bit rounds as the dropped digits would.
    let mut value = (bits | u128::from(sticky)) as f64;
    while scale != 0 {
        let chunk = scale.clamp(-1000, 1000);
        value *= 2f64.powi(chunk as i32);
        scale -= chunk;
    }
    (value.is_finite() && value != 0.0).then_some(value)
}

/// A float argument, or `ERR <message>` (`getDoubleFromObjectOrReply`).
fn float_or(text: &[u8], message: &'static str) -> Result<f64, ErrorReply> {
    string2d(text).ok_or_else(|| ErrorReply::from_static(message))
}

/// `extractLongLatOrReply`: a longitude and a latitude inside Redis's limits.
pub(super) fn long_lat(longitude: &[u8], latitude: &[u8]) -> Result<[f64; 2], ErrorReply> {
    let longitude = float_or(longitude, "ERR value is not a valid float")?;
    let latitude = float_or(latitude, "ERR value is not a valid float")?;
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return Err(ErrorReply::new(format!(
            "ERR invalid longitude,latitude pair {longitude:.6},{latitude:.6}"
        )));
    }
    Ok([longitude, latitude])
}

/// `extractUnitOrReply`: metres per unit.
pub(super) fn unit(text: &[u8]) -> Result<f64, ErrorReply> {
    let units = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    units
        .iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name.as_bytes()))
        .map(|&(_, meters)| meters)
        .ok_or_else(|| {
            ErrorReply::from_static("ERR unsupported unit provided. please use M, KM, FT, MI")
        })
}

/// `extractDistanceOrReply`: `<radius> <unit>` as (radius, metres per unit).
pub(super) fn radius(args: &[Bytes]) -> Result<(f64, f64), ErrorReply> {
    let [radius, unit_text, ..] = args else {
        return Err(ErrorReply::syntax());
    };
    let radius = float_or(radius, "ERR need numeric radius")?;
    if radius < 0.0 {
        return Err(ErrorReply::from_static("ERR radius cannot be negative"));
    }
    Ok((radius, unit(unit_text)?))
}

/// `extractBoxOrReply`: `<width> <height> <unit>` as (width, height, metres per unit).
pub(super) fn box_size(args: &[Bytes]) -> Result<(f64, f64, f64), ErrorReply> {
    let [width, height, unit_text, ..] = args else {
        return Err(ErrorReply::syntax());
    };
    let width = float_or(width, "ERR need numeric width")?;
    let height = float_or(height, "ERR need numeric height")?;
    if height < 0.0 || width < 0.0 {
        return Err(ErrorReply::from_static(
            "ERR height or width cannot be negative",
        ));
    }
    Ok((width, height, unit(unit_text)?))
}

/// A coordinate as `addReplyHumanLongDouble` prints it in RESP2: `%.17Lf` of the exact
/// value, trailing zeros and a trailing point removed, `-0` as `0`. (Rust's fixed
/// precision formatting is exact and rounds ties to even, as glibc does.)
pub(super) fn coordinate_text(value: f64) -> Bytes {
    let mut text = format!("{value:.17}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".to_string();
    }
    Bytes::from(text)
}

/// A distance as `fixedpoint_d2string(d, 4)`: `llrint(d * 10^4)` (x86-64's `llrint`
/// answers `i64::MIN` for NaN and out-of-range values) printed with four decimals.
pub(super) fn distance_text(value: f64) -> Bytes {
    if value == 0.0 {
        return Bytes::from_static(b"0.0000");
    }
    let scaled = (value * 10_000.0).round_ties_even();
    let fixed = if scaled.is_nan()
        || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&scaled)
    {
        i64::MIN
    } else {
        scaled as i64
    };
    let sign = if fixed < 0 { "-" } else { "" };
    let magnitude = fixed.unsigned_abs();
    Bytes::from(format!(
        "{sign}{}.{:04}",
        magnitude / 10_000,
        magnitude % 10_000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2d_reads_as_strtod() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1.5", Some(1.5)),
            ("-.5", Some(-0.5)),
            ("5.", Some(5.0)),
            ("+1e2", Some(100.0)),
            ("inf", Some(f64::INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("0x1p3", Some(8.0)),
            ("0X1.8P1", Some(3.0)),
            ("0x.8", Some(0.5)),
            ("0x10", Some(16.0)),
            ("1e400", None),
            ("1e-400", None),
            ("0e-400", Some(0.0)),
            ("4e-320", Some(4e-320)),
            ("0x1p-2000", None),
            ("0x1p5000", None),
            ("nan", None),
            ("", None),
            (" 1", None),
            ("1 ", None),
            ("1e", None),
            ("0x", None),
            ("0x1p", None),
            (".", None),
            ("1..2", None),
            ("infinit", None),
            ("1_0", None),
        ];
        for (text, expected) in cases {
            assert_eq!(string2d(text.as_bytes()), *expected, "{text:?}");
        }
    }

    #[test]
    fn floats_print_as_redis_does() {
        assert_eq!(coordinate_text(13.361389338970184), "13.36138933897018433");
        assert_eq!(coordinate_text(0.5), "0.5");
        assert_eq!(coordinate_text(-1e-30), "0");
        assert_eq!(coordinate_text(180.0), "180");
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(distance_text(0.00004), "0.0000");
        // llrint rounds the tie 0.5 to even, as glibc on this machine printed.
        assert_eq!(distance_text(0.00005), "0.0000");
        assert_eq!(distance_text(0.00025), "0.0002");
        assert_eq!(distance_text(1.00005), "1.0001");
        assert_eq!(distance_text(-0.01), "-0.0100");
        assert_eq!(distance_text(f64::NAN), "-922337203685477.5808");
    }
}
