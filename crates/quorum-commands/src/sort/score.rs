//! The numeric weight of a SORT element: what C's `strtod` makes of its text, as Redis 7.0's
//! `sortCommandGeneric` accepts it (the whole text up to a NUL byte converted, no overflow or
//! underflow `ERANGE`, not NaN). That is wider than the float syntax of the other commands
//! (`parse::string_to_f64`): leading white space, hexadecimal floats (`0x1p3`), `infinity`,
//! and the empty string (0).
//!
//! glibc signals underflow when the result is tiny (below 2^-1022 once rounded to 53 bits)
//! and inexact. That is exact here for hexadecimal text; for decimal text quorum treats every
//! subnormal or flushed-to-zero result as underflow, and a result that rounds to 2^-1022 as
//! none, so two kinds of contrived inputs get the other answer: a decimal within 2^-1076
//! below 2^-1022, and the complete (hundreds of digits) expansion of a subnormal.
//!
//! Not here: the ordering of weights (`order.rs`).

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes a C string function sees: up to the first NUL.
pub(super) fn c_str(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn starts_with_ignore_case(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word)
}

/// The weight of `bytes`, or `None` when Redis replies "One or more scores can't be
/// converted into double".
pub(super) fn sort_score(bytes: &[u8]) -> Option<f64> {
    let text = c_str(bytes);
    if text.is_empty() {
        // strtod converts nothing and stops at the terminating NUL: accepted as 0.
        return Some(0.0);
    }
    let mut pos = text.iter().take_while(|&&b| is_c_space(b)).count();
    let negative = match text.get(pos) {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    let rest = &text[pos..];
    let magnitude = if starts_with_ignore_case(rest, b"inf") {
        let used = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        (used == rest.len()).then_some(f64::INFINITY)?
    } else if starts_with_ignore_case(rest, b"nan") {
        // NaN is refused, and so is anything after it.
        return None;
    } else if is_hex_start(rest) {
        hexadecimal(&rest[2..])?
    } else {
        decimal(rest)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// `0x` followed by a hex digit, or by a point and a hex digit.
fn is_hex_start(text: &[u8]) -> bool {
    match text {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => true,
        [b'0', b'x' | b'X', b'.', d, ..] => d.is_ascii_hexdigit(),
        _ => false,
    }
}

/// Length of the run of bytes at the start of `text` that satisfy `pred`.
fn run_len(text: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    text.iter().take_while(|&&b| pred(b)).count()
}

/// Length of an exponent `<marker>[+-]digits` at the start of `text`, 0 when there is none
/// (strtod then stops before the marker).
fn exponent_len(text: &[u8], marker: u8) -> usize {
    match text {
        [m, rest @ ..] if m.eq_ignore_ascii_case(&marker) => {
            let sign = usize::from(matches!(rest.first(), Some(b'+' | b'-')));
            let digits = run_len(&rest[sign..], |b| b.is_ascii_digit());
            if digits == 0 {
                0
            } else {
                1 + sign + digits
            }
        }
        _ => 0,
    }
}

/// An unsigned decimal that must make up all of `text`.
fn decimal(text: &[u8]) -> Option<f64> {
    let int_digits = run_len(text, |b| b.is_ascii_digit());
    let (point, frac_digits) = if text.get(int_digits) == Some(&b'.') {
        (1, run_len(&text[int_digits + 1..], |b| b.is_ascii_digit()))
    } else {
        (0, 0)
    };
    if int_digits + frac_digits == 0 {
        // No digit at all: nothing converted.
        return None;
    }
    let mantissa_len = int_digits + point + frac_digits;
    let len = mantissa_len + exponent_len(&text[mantissa_len..], b'e');
    if len != text.len() {
        return None;
    }
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    let nonzero = text[..mantissa_len]
        .iter()
        .any(|b| (b'1'..=b'9').contains(b));
    let underflow = nonzero && value < f64::MIN_POSITIVE;
    (value.is_finite() && !underflow).then_some(value)
}

/// Significant bits kept from a hexadecimal mantissa; the rest only count as "inexact".
const HEX_MANTISSA_BITS_MAX: u32 = 120;

/// A hexadecimal float after its `0x`, which must make up all of `text`, rounded as glibc
/// rounds it (to nearest, ties to even), with its overflow and underflow refusals.
fn hexadecimal(text: &[u8]) -> Option<f64> {
    let mut mantissa: u128 = 0;
    let mut exponent: i64 = 0;
    let mut sticky = false;
    let mut pos = 0;
    let mut after_point = false;
    while let Some(&byte) = text.get(pos) {
        if byte == b'.' && !after_point {
            after_point = true;
        } else if let Some(digit) = char::from(byte).to_digit(16) {
            if mantissa >> HEX_MANTISSA_BITS_MAX == 0 {
                mantissa = mantissa << 4 | u128::from(digit);
                exponent -= i64::from(after_point) * 4;
            } else {
                sticky |= digit != 0;
                exponent += i64::from(!after_point) * 4;
            }
        } else {
            break;
        }
        pos += 1;
    }
    let exp_len = exponent_len(&text[pos..], b'p');
    if pos + exp_len != text.len() {
        return None;
    }
    if exp_len > 0 {
        exponent = exponent.saturating_add(binary_exponent(&text[pos + 1..]));
    }
    if mantissa == 0 {
        return Some(0.0);
    }
    to_f64(mantissa, exponent, sticky)
}

/// The decimal exponent after `p`, saturated far beyond any that changes the result.
fn binary_exponent(text: &[u8]) -> i64 {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// `mantissa` shifted right by `drop` bits, rounded to nearest, ties to even; `sticky` says
/// nonzero bits lie below the mantissa. Also whether the result is inexact.
fn round_shift(mantissa: u128, drop: u32, sticky: bool) -> (u128, bool) {
    if drop == 0 {
        return (mantissa, sticky);
    }
    if drop > 128 {
        return (0, true);
    }
    let (kept, rest, half) = if drop == 128 {
        (0, mantissa, 1u128 << 127)
    } else {
        (
            mantissa >> drop,
            mantissa & ((1 << drop) - 1),
            1 << (drop - 1),
        )
    };
    let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    (kept + u128::from(up), rest != 0 || sticky)
}

/// The `f64` nearest `mantissa * 2^exponent` (+ a sticky fraction), or `None` for glibc's
/// `ERANGE`: overflow, or a tiny result that is inexact.
fn to_f64(mantissa: u128, exponent: i64, sticky: bool) -> Option<f64> {
    debug_assert!(mantissa != 0);
    let bits = i64::from(128 - mantissa.leading_zeros());
    let top = exponent + bits - 1; // value in [2^top, 2^(top + 1))
                                   // Rounded to 53 bits with an unbounded exponent: glibc's "tiny" test.
    let (rounded53, _) = if bits > 53 {
        round_shift(mantissa, (bits - 53) as u32, sticky)
    } else {
        (mantissa << (53 - bits), false)
    };
    let top53 = top + i64::from(rounded53 >> 53 != 0);
    if top >= -1022 {
        if top > 1023 {
            return None;
        }
        // The exponent field is top + 1023; adding the 53-bit mantissa (leading 1 included)
        // to (top + 1022) << 52 sets it, and a carry of the rounding moves it up by one.
        let raw = (((top + 1022) as u64) << 52) + rounded53 as u64;
        return (raw < 0x7ff << 52).then(|| f64::from_bits(raw));
    }
    // Subnormal: units of 2^-1074.
    let shift = exponent + 1074;
    let (kept, inexact) = if shift >= 0 {
        (mantissa << shift, sticky)
    } else {
        round_shift(mantissa, u32::try_from(-shift).unwrap_or(u32::MAX), sticky)
    };
    if top53 < -1022 && inexact {
        return None;
    }
    Some(f64::from_bits(kept as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_glibc_strtod_accepts() {
        // Expected values from glibc 2.36's strtod.
        let cases: &[(&[u8], Option<f64>)] = &[
            (b"", Some(0.0)),
            (b"3", Some(3.0)),
            (b" 4", Some(4.0)),
            (b"\t\n\x0b\x0c\r-4", Some(-4.0)),
            (b"+3", Some(3.0)),
            (b".5", Some(0.5)),
            (b"5.", Some(5.0)),
            (b"1e2", Some(100.0)),
            (b"1e+5", Some(1e5)),
            (b"5e-0", Some(5.0)),
            (b"00000.0000e5", Some(0.0)),
            (b"0e99999999999999999999", Some(0.0)),
            (b"12\0abc", Some(12.0)),
            (b"\0abc", Some(0.0)),
            (b"inf", Some(f64::INFINITY)),
            (b"-INF", Some(f64::NEG_INFINITY)),
            (b"Infinity", Some(f64::INFINITY)),
            (b"0x10", Some(16.0)),
            (b"0x1p3", Some(8.0)),
            (b"0x.8", Some(0.5)),
            (b"-0X1.8p1", Some(-3.0)),
            (b"0x1P-1074", Some(f64::from_bits(1))),
            (b"0x0.0000000000001p-1022", Some(f64::from_bits(1))),
            (b"0x1p-1022", Some(f64::MIN_POSITIVE)),
            (b"0x1.ffffffffffffffp-1023", Some(f64::MIN_POSITIVE)),
            (b"0x1.00000000000001p0", Some(1.0)),
            (
                b"0x10000000000000000000000000000000001",
                Some(2f64.powi(136)),
            ),
            (b"0x1.fffffffffffff7ffp1023", Some(f64::MAX)),
            (b"0x0p99999999999999999999", Some(0.0)),
            (b"1.7976931348623158e308", Some(f64::MAX)),
            (b"2.2250738585072014e-308", Some(f64::MIN_POSITIVE)),
            (b"2.2250738585072013e-308", Some(f64::MIN_POSITIVE)),
        ];
        for (text, expected) in cases {
            assert_eq!(
                sort_score(text),
                *expected,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn refuses_what_redis_refuses() {
        let cases: &[&[u8]] = &[
            b"  ",
            b"-",
            b"abc",
            b"5 ",
            b"1e",
            b"1e+",
            b"0x",
            b"0x1g",
            b"0x.p1",
            b"0x1.p",
            b"0x1p+",
            b"nan",
            b"-nan",
            b"nan(123)",
            b"infinit",
            b"1_000",
            b"1e400",
            b"1e-400",
            b"1e-310",
            b"1e-320",
            b"4.9e-324",
            b"2.2250738585072011e-308",
            b"1.7976931348623159e308",
            b"1e99999999999999999999",
            b"1e-99999999999999999999",
            b"0x1p1024",
            b"0x1.fffffffffffff8p1023",
            b"0x1.fffffffffffffp-1023",
            b"0x1p-1075",
        ];
        for text in cases {
            assert_eq!(
                sort_score(text),
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
