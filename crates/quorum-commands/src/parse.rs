//! Argument parsing shared by every command: a cursor over the arguments and number parsing
//! with Redis's exact acceptance rules (`string2ll`, `string2ld` in `util.c`) and error texts.
//!
//! Both `precheck_write` (on the node that received the command) and `apply_write` (on every
//! replica) parse through these functions, so they cannot disagree on what is valid.
//!
//! Not here: command-specific option grammars (they live next to their commands).

use bytes::Bytes;
use quorum_keyspace::GlobPattern;
use quorum_types::ErrorReply;

/// A cursor over a command's arguments (after the name and any fixed leading arguments).
pub(crate) struct Args<'a> {
    args: &'a [Bytes],
    pos: usize,
}

impl<'a> Args<'a> {
    /// A cursor over `args` starting at index `start`.
    pub(crate) fn new(args: &'a [Bytes], start: usize) -> Self {
        Args {
            args,
            pos: start.min(args.len()),
        }
    }

    /// The next argument, if any.
    pub(crate) fn next(&mut self) -> Option<&'a Bytes> {
        let arg = self.args.get(self.pos)?;
        self.pos += 1;
        Some(arg)
    }

    /// The next argument, or `ERR syntax error` when there is none (an option missing its
    /// value, as Redis reports it).
    pub(crate) fn value(&mut self) -> Result<&'a Bytes, ErrorReply> {
        self.next().ok_or_else(ErrorReply::syntax)
    }

    /// How many arguments remain.
    pub(crate) fn remaining(&self) -> usize {
        self.args.len() - self.pos
    }
}

/// Whether `arg` equals the ASCII keyword `word` (case-insensitive, as Redis's `strcasecmp`).
pub(crate) fn is_keyword(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The argument at `index`; handlers call this only for positions their arity guarantees,
/// and an out-of-range index is a syntax error rather than a panic.
pub(crate) fn arg(args: &[Bytes], index: usize) -> Result<&Bytes, ErrorReply> {
    args.get(index).ok_or_else(ErrorReply::syntax)
}

/// Parses a SCAN-family cursor as Redis's `strtoul`-based `parseScanCursorOrReply`: digits
/// with an optional sign (a `-` wraps, as in C), nothing else, no overflow; an empty cursor is
/// 0. One parser for SCAN, HSCAN, SSCAN and ZSCAN.
pub(crate) fn parse_scan_cursor(bytes: &[u8]) -> Result<u64, ErrorReply> {
    let invalid = || ErrorReply::from_static("ERR invalid cursor");
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return if bytes.is_empty() {
            Ok(0)
        } else {
            Err(invalid())
        };
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(invalid());
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// HSCAN/SSCAN/ZSCAN's options from `args[3..]`, as Redis's `scanGenericCommand` reads
/// them: COUNT (an integer >= 1; a smaller one is a syntax error) and MATCH, each followed
/// by its value, in any order, the last one winning. TYPE belongs to the keyspace SCAN only,
/// so it is a syntax error here. COUNT defaults to Redis's 10.
pub(crate) fn parse_scan_options(
    args: &[Bytes],
) -> Result<(usize, Option<GlobPattern>), ErrorReply> {
    let mut count = 10;
    let mut pattern = None;
    let mut options = Args::new(args, 3);
    while let Some(word) = options.next() {
        if options.remaining() == 0 {
            return Err(ErrorReply::syntax());
        }
        let value = options.value()?;
        if is_keyword(word, "count") {
            count = usize::try_from(parse_i64(value)?)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(ErrorReply::syntax)?;
        } else if is_keyword(word, "match") {
            pattern = Some(GlobPattern::new(value)).filter(|p| !p.matches_everything());
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok((count, pattern))
}

/// Parses a signed 64-bit integer exactly as Redis's `string2ll`: optional `-`, no `+`, no
/// leading zeros, no spaces, no overflow. Returns `None` when it is not one.
pub(crate) fn string_to_i64(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    // Accumulate as a negative number so that i64::MIN fits.
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Parses an integer argument or fails with `ERR value is not an integer or out of range`.
pub(crate) fn parse_i64(bytes: &[u8]) -> Result<i64, ErrorReply> {
    string_to_i64(bytes).ok_or_else(ErrorReply::not_integer)
}

/// Longest text Redis's `string2ld` accepts (`MAX_LONG_DOUBLE_CHARS`).
const FLOAT_TEXT_BYTES_MAX: usize = 5 * 1024;

/// Parses a float as Redis's `string2ld` accepts it: the whole text, no leading space,
/// `inf` allowed, `nan` refused. Returns `None` when it is not one.
///
/// Redis parses into a C `long double`; quorum uses `f64`, so magnitudes beyond ~1.8e308
/// become infinite here (and are then refused by the callers that forbid infinity).
pub(crate) fn string_to_f64(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() || bytes.len() >= FLOAT_TEXT_BYTES_MAX || bytes[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// Parses a float argument or fails with `ERR value is not a valid float`.
pub(crate) fn parse_f64(bytes: &[u8]) -> Result<f64, ErrorReply> {
    string_to_f64(bytes).ok_or_else(ErrorReply::not_float)
}

/// Formats a float the way INCRBYFLOAT stores it (Redis's `ld2string` in human mode:
/// fixed notation, at most 17 decimals, no trailing zeros, `-0` as `0`).
///
/// Starts from the shortest text that round-trips the `f64`, so that 10.5 + 0.1 prints as
/// `10.6` as it does in Redis, and rounds to 17 decimals only when that text is longer.
pub(crate) fn format_float_human(value: f64) -> String {
    debug_assert!(value.is_finite());
    let shortest = format!("{value}");
    let decimals = shortest.split_once('.').map_or(0, |(_, frac)| frac.len());
    let mut text = if decimals > 17 {
        format!("{value:.17}")
    } else {
        shortest
    };
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(parse_scan_cursor(b""), Ok(0));
        assert_eq!(parse_scan_cursor(b"+7"), Ok(7));
        assert_eq!(parse_scan_cursor(b"-1"), Ok(u64::MAX));
        assert!(parse_scan_cursor(b" 1").is_err());
        assert!(parse_scan_cursor(b"-").is_err());
        assert!(parse_scan_cursor(b"18446744073709551616").is_err());
    }

    use super::*;

    #[test]
    fn string_to_i64_matches_string2ll() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("12a", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("-9223372036854775808", Some(i64::MIN)),
            ("-9223372036854775809", None),
            ("-42", Some(-42)),
        ];
        for (text, expected) in cases {
            assert_eq!(string_to_i64(text.as_bytes()), *expected, "{text:?}");
        }
    }

    #[test]
    fn floats_parse_and_format_like_redis() {
        assert_eq!(string_to_f64(b"1.5"), Some(1.5));
        assert_eq!(string_to_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(string_to_f64(b"nan"), None);
        assert_eq!(string_to_f64(b" 1"), None);
        assert_eq!(string_to_f64(b"1e"), None);
        assert_eq!(string_to_f64(b""), None);
        assert_eq!(format_float_human(10.5 + 0.1), "10.6");
        assert_eq!(format_float_human(3.0), "3");
        assert_eq!(format_float_human(-0.0), "0");
        assert_eq!(format_float_human(1e21), "1000000000000000000000");
        assert_eq!(format_float_human(1e-7), "0.0000001");
        assert_eq!(format_float_human(1e-20), "0");
        assert_eq!(format_float_human(5.0e3 + 200.15), "5200.15");
    }
}
