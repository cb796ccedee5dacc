//! Writes [`Frame`]s as RESP2 or RESP3 bytes.
//!
//! RESP2 has no map, set, double, boolean, verbatim or push types; they are sent the way
//! Redis 7 sends them to a RESP2 client.

use bytes::{BufMut, BytesMut};

use crate::frame::{Frame, Protocol};

/// Appends `frame`, encoded for `protocol`, to `out`.
pub fn encode(frame: &Frame, protocol: Protocol, out: &mut BytesMut) {
    let resp3 = protocol == Protocol::Resp3;
    match frame {
        Frame::Simple(s) => line(out, b'+', s.as_bytes()),
        Frame::Error(e) => line(out, b'-', e.as_str().as_bytes()),
        Frame::Integer(n) => int_line(out, b':', *n),
        Frame::Bulk(b) => bulk(out, b'$', b),
        Frame::Null | Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Array(items) => aggregate(out, b'*', items, protocol),
        Frame::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, protocol),
        Frame::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, protocol),
        Frame::Map(pairs) => {
            if resp3 {
                int_line(out, b'%', pairs.len() as i64);
            } else {
                int_line(out, b'*', 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode(k, protocol, out);
                encode(v, protocol, out);
            }
        }
        Frame::Double(d) => {
            let text = format_double(*d);
            if resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, b'$', text.as_bytes());
            }
        }
        Frame::Boolean(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Frame::Boolean(b) => int_line(out, b':', i64::from(*b)),
        Frame::Verbatim { format, text } => {
            if resp3 {
                int_line(out, b'=', (text.len() + 4) as i64);
                out.put_slice(format);
                out.put_u8(b':');
                out.put_slice(text);
                out.put_slice(b"\r\n");
            } else {
                bulk(out, b'$', text);
            }
        }
    }
}

/// Formats a double as Redis 7.0's `addReplyDouble` does, in RESP2 and RESP3 alike: `inf`
/// and `-inf` spelled out, everything else C's `"%.17g"` (so `1.1` is `1.1000000000000001`,
/// which clients parse back to the same double).
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format_g17(d)
    }
}

/// Significant digits of `%.17g`: enough for every `f64` to read back exactly.
const G17_DIGITS: i32 = 17;

/// C's `printf("%.17g", d)` for a finite `d`, as glibc prints it: 17 significant digits,
/// correctly rounded (ties to even); fixed notation when the decimal exponent is in
/// `-4..17`, else `d.ddde+XX` with at least two exponent digits; trailing zeros and a
/// trailing point dropped; `-0` for negative zero.
fn format_g17(d: f64) -> String {
    // Rust's `{:.16e}` is exact and rounds ties to even, like glibc: the 17 digits and the
    // exponent are the ones `%.17e` would print, which `%g` then lays out.
    let scientific = format!("{:.16e}", d.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(24);
    if d.is_sign_negative() {
        out.push('-');
    }
    if (-4..G17_DIGITS).contains(&exponent) {
        if exponent >= 0 {
            let (integer, fraction) = digits.split_at(exponent as usize + 1);
            out.push_str(integer);
            push_fraction(&mut out, fraction);
        } else {
            out.push('0');
            let zeros = "0".repeat((-exponent - 1) as usize);
            push_fraction(&mut out, &(zeros + &digits));
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        push_fraction(&mut out, rest);
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        out.push_str(&format!("{:02}", exponent.unsigned_abs()));
    }
    out
}

/// Appends `.fraction` without its trailing zeros, or nothing when only zeros remain.
fn push_fraction(out: &mut String, fraction: &str) {
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
}

fn line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut buf = itoa_buf(n);
    line(out, prefix, buf.as_bytes_mut());
}

fn bulk(out: &mut BytesMut, prefix: u8, data: &[u8]) {
    int_line(out, prefix, data.len() as i64);
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, prefix: u8, items: &[Frame], protocol: Protocol) {
    int_line(out, prefix, items.len() as i64);
    for item in items {
        encode(item, protocol, out);
    }
}

/// A small stack buffer holding the decimal text of an integer (no heap allocation).
struct IntText {
    buf: [u8; 20],
    start: usize,
}

impl IntText {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(n: i64) -> IntText {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        pos -= 1;
        buf[pos] = b'-';
    }
    IntText { buf, start: pos }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_types::ErrorReply;

    fn enc(f: &Frame, p: Protocol) -> String {
        let mut out = BytesMut::new();
        encode(f, p, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn resp2_downgrades() {
        let map = Frame::Map(vec![(Frame::bulk("a"), Frame::Integer(1))]);
        assert_eq!(enc(&map, Protocol::Resp2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&map, Protocol::Resp3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&Frame::Null, Protocol::Resp2), "$-1\r\n");
        assert_eq!(enc(&Frame::NullArray, Protocol::Resp2), "*-1\r\n");
        assert_eq!(enc(&Frame::Null, Protocol::Resp3), "_\r\n");
        assert_eq!(enc(&Frame::Double(1.5), Protocol::Resp2), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Frame::Double(1.5), Protocol::Resp3), ",1.5\r\n");
        assert_eq!(enc(&Frame::Boolean(true), Protocol::Resp2), ":1\r\n");
        assert_eq!(
            enc(&Frame::Integer(i64::MIN), Protocol::Resp2),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(
            enc(&Frame::Error(ErrorReply::syntax()), Protocol::Resp2),
            "-ERR syntax error\r\n"
        );
    }

    #[test]
    fn doubles_are_sent_as_redis_7_0_sends_them() {
        assert_eq!(
            enc(&Frame::Double(1.1), Protocol::Resp2),
            "$18\r\n1.1000000000000001\r\n"
        );
        assert_eq!(
            enc(&Frame::Double(1.1), Protocol::Resp3),
            ",1.1000000000000001\r\n"
        );
        assert_eq!(
            enc(&Frame::Double(f64::INFINITY), Protocol::Resp2),
            "$3\r\ninf\r\n"
        );
        assert_eq!(
            enc(&Frame::Double(f64::NEG_INFINITY), Protocol::Resp3),
            ",-inf\r\n"
        );
        assert_eq!(enc(&Frame::Double(f64::NAN), Protocol::Resp3), ",nan\r\n");
    }

    /// Expected texts from glibc's `printf("%.17g")`.
    #[test]
    fn g17_matches_c_printf() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.10000000000000001"),
            (1e21, "1e+21"),
            (1e-5, "1.0000000000000001e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-0.0, "-0"),
            (0.0, "0"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (1.5, "1.5"),
            (-2.0, "-2"),
            (100000.0, "100000"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012344999999999999"),
            (1.1, "1.1000000000000001"),
            (1.0 / 3.0, "0.33333333333333331"),
            (-2.5e-8, "-2.4999999999999999e-08"),
            (2f64.powi(-25), "2.9802322387695312e-08"), // a tie at the 17th digit: to even
            (1e23, "9.9999999999999992e+22"),
            (99999999999999999.0, "1e+17"),
            (4.35, "4.3499999999999996"),
        ];
        for &(value, text) in cases {
            assert_eq!(format_g17(value), text, "{value:e}");
        }
    }
}
