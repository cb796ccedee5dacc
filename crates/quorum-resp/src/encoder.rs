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

/// Formats a double the way Redis does for RESP3 (`inf`, `-inf`, `nan`, shortest round-trip).
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{d}")
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
}
