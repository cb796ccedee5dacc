//! Reads one RESP reply from the front of a buffer, telling only what the benchmark needs:
//! success, nil, or an error and its first word.
//!
//! It is not a general decoder: it builds no values. Aggregates (arrays, maps, sets, pushes,
//! attributes) are walked with a count of elements still to skip, so nesting needs neither
//! recursion nor allocation; errors inside an aggregate (an EXEC reply) do not make the reply an
//! error. RESP3 types are understood although the benchmark never sends `HELLO 3`. A reply that
//! is not complete yet returns [`Parsed::Incomplete`] and is parsed again from its start when
//! more bytes have arrived: benchmark replies are small, so that costs less than keeping state.

use std::fmt;

/// Largest bulk string accepted (Redis's `proto-max-bulk-len` default).
pub const BULK_BYTES_MAX: usize = 512 * 1024 * 1024;
/// Longest error kind kept (the first word of an error reply).
pub const ERROR_KIND_BYTES_MAX: usize = 32;

/// What a complete reply said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Any non-error, non-nil reply.
    Value,
    /// `$-1`, `*-1` or RESP3 `_`.
    Nil,
    /// An error reply; its first word (`ERR`, `CLUSTERDOWN`...), at most
    /// [`ERROR_KIND_BYTES_MAX`] bytes.
    Error(&'a [u8]),
}

/// The result of looking at the front of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// More bytes are needed.
    Incomplete,
    /// A whole reply of `len` bytes.
    Reply { len: usize, outcome: Outcome<'a> },
}

/// Bytes that are not RESP: the connection cannot be trusted any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// Offset in the buffer where the problem was seen.
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad RESP reply at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ProtocolError {}

/// Parses the reply at the front of `buf`.
pub fn parse_reply(buf: &[u8]) -> Result<Parsed<'_>, ProtocolError> {
    let mut pos = 0;
    // Elements still to read, including the reply itself; u64 so `*<huge>` cannot overflow.
    let mut pending: u64 = 1;
    let mut outcome = None;
    while pending > 0 {
        let Some(&kind) = buf.get(pos) else {
            return Ok(Parsed::Incomplete);
        };
        let Some((line, next)) = line_at(buf, pos + 1)? else {
            return Ok(Parsed::Incomplete);
        };
        // Only the outermost element decides the outcome: it is read when nothing else is
        // pending.
        let outermost = pending == 1 && outcome.is_none();
        let mut this = Outcome::Value;
        match kind {
            b'+' | b':' | b',' | b'#' | b'(' => pos = next,
            b'_' => {
                this = Outcome::Nil;
                pos = next;
            }
            b'-' => {
                this = Outcome::Error(first_word(line));
                pos = next;
            }
            b'$' | b'=' | b'!' => match parse_len(line, pos)? {
                None if kind == b'$' => {
                    this = Outcome::Nil;
                    pos = next;
                }
                None => return Err(protocol_error(pos, "negative length")),
                Some(len) if len > BULK_BYTES_MAX => {
                    return Err(protocol_error(pos, "bulk string longer than 512 MiB"))
                }
                Some(len) => {
                    let end = next + len;
                    if buf.len() < end + 2 {
                        return Ok(Parsed::Incomplete);
                    }
                    if &buf[end..end + 2] != b"\r\n" {
                        return Err(protocol_error(end, "bulk string not followed by CRLF"));
                    }
                    if kind == b'!' {
                        this = Outcome::Error(first_word(&buf[next..end]));
                    }
                    pos = end + 2;
                }
            },
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                match parse_len(line, pos)? {
                    None if kind == b'*' => this = Outcome::Nil,
                    None => return Err(protocol_error(pos, "negative length")),
                    Some(len) => {
                        let per_entry = if matches!(kind, b'%' | b'|') { 2 } else { 1 };
                        pending += len as u64 * per_entry;
                    }
                }
                pos = next;
            }
            _ => return Err(protocol_error(pos, "unknown reply type byte")),
        }
        if kind == b'|' {
            // An attribute annotates the reply after it and is not an element itself.
            continue;
        }
        if outermost {
            outcome = Some(this);
        }
        pending -= 1;
    }
    Ok(Parsed::Reply {
        len: pos,
        outcome: outcome.unwrap_or(Outcome::Value),
    })
}

/// The line starting at `start` (without CRLF) and the offset after its CRLF, or `None` when
/// the CRLF has not arrived.
fn line_at(buf: &[u8], start: usize) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    let rest = buf.get(start..).unwrap_or(&[]);
    let Some(cr) = memchr::memchr(b'\r', rest) else {
        return Ok(None);
    };
    match rest.get(cr + 1) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((&rest[..cr], start + cr + 2))),
        Some(_) => Err(protocol_error(start + cr, "CR not followed by LF")),
    }
}

/// A length field: `None` for `-1`.
fn parse_len(line: &[u8], offset: usize) -> Result<Option<usize>, ProtocolError> {
    let bad = protocol_error(offset, "bad length");
    if line == b"-1" {
        return Ok(None);
    }
    if line.is_empty() || line.len() > 12 {
        return Err(bad);
    }
    let mut len: usize = 0;
    for &digit in line {
        if !digit.is_ascii_digit() {
            return Err(bad);
        }
        len = len * 10 + usize::from(digit - b'0');
    }
    Ok(Some(len))
}

fn protocol_error(offset: usize, reason: &'static str) -> ProtocolError {
    ProtocolError { offset, reason }
}

fn first_word(text: &[u8]) -> &[u8] {
    let word_end = memchr::memchr(b' ', text).unwrap_or(text.len());
    &text[..word_end.min(ERROR_KIND_BYTES_MAX)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> Outcome<'_> {
        match parse_reply(bytes) {
            Ok(Parsed::Reply { len, outcome }) => {
                assert_eq!(
                    len,
                    bytes.len(),
                    "length of {:?}",
                    String::from_utf8_lossy(bytes)
                );
                outcome
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn simple_replies() {
        for (bytes, expected) in [
            (&b"+OK\r\n"[..], Outcome::Value),
            (b":42\r\n", Outcome::Value),
            (b"$3\r\nabc\r\n", Outcome::Value),
            (b"$0\r\n\r\n", Outcome::Value),
            (b"$-1\r\n", Outcome::Nil),
            (b"*-1\r\n", Outcome::Nil),
            (b"_\r\n", Outcome::Nil),
            (b",3.14\r\n", Outcome::Value),
            (b"#t\r\n", Outcome::Value),
            (b"*0\r\n", Outcome::Value),
        ] {
            assert_eq!(whole(bytes), expected, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn errors_report_their_first_word() {
        assert_eq!(
            whole(b"-ERR unknown command 'LPUSH', with args beginning with: \r\n"),
            Outcome::Error(b"ERR")
        );
        assert_eq!(
            whole(b"-CLUSTERDOWN The cluster is down\r\n"),
            Outcome::Error(b"CLUSTERDOWN")
        );
        assert_eq!(whole(b"-TRYAGAIN\r\n"), Outcome::Error(b"TRYAGAIN"));
        assert_eq!(whole(b"!9\r\nSYNTAX no\r\n"), Outcome::Error(b"SYNTAX"));
        let long = format!("-{} x\r\n", "A".repeat(100));
        assert_eq!(
            whole(long.as_bytes()),
            Outcome::Error(&[b'A'; ERROR_KIND_BYTES_MAX][..])
        );
    }

    #[test]
    fn aggregates_are_skipped_whole_and_inner_errors_do_not_count() {
        assert_eq!(whole(b"*2\r\n$5\r\nqueue\r\n$3\r\nabc\r\n"), Outcome::Value);
        assert_eq!(whole(b"*2\r\n-ERR x\r\n*1\r\n$-1\r\n"), Outcome::Value);
        assert_eq!(whole(b"%1\r\n+k\r\n*2\r\n:1\r\n:2\r\n"), Outcome::Value);
        assert_eq!(whole(b"*1\r\n*1\r\n*1\r\n*0\r\n"), Outcome::Value);
        // An attribute does not decide the outcome of the reply it annotates.
        assert_eq!(whole(b"|1\r\n+key\r\n+val\r\n$-1\r\n"), Outcome::Nil);
        assert_eq!(
            whole(b"|1\r\n+key\r\n+val\r\n-ERR x\r\n"),
            Outcome::Error(b"ERR")
        );
    }

    #[test]
    fn every_strict_prefix_is_incomplete() {
        let replies: [&[u8]; 5] = [
            b"+OK\r\n",
            b"$5\r\nhello\r\n",
            b"*2\r\n$5\r\nqueue\r\n$3\r\nabc\r\n",
            b"-ERR wrong\r\n",
            b"$-1\r\n",
        ];
        for reply in replies {
            for cut in 0..reply.len() {
                assert_eq!(
                    parse_reply(&reply[..cut]),
                    Ok(Parsed::Incomplete),
                    "{:?} cut at {cut}",
                    String::from_utf8_lossy(reply)
                );
            }
        }
    }

    #[test]
    fn only_the_first_reply_is_consumed() {
        let two = b"+OK\r\n:7\r\n";
        assert_eq!(
            parse_reply(two),
            Ok(Parsed::Reply {
                len: 5,
                outcome: Outcome::Value
            })
        );
        assert_eq!(
            parse_reply(&two[5..]),
            Ok(Parsed::Reply {
                len: 4,
                outcome: Outcome::Value
            })
        );
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        for bytes in [
            &b"?what\r\n"[..],
            b"$abc\r\n",
            b"$3\r\nabcde\r\n",
            b"+OK\rX",
            b"*-2\r\n",
            b"=-1\r\n",
            b"$99999999999999\r\n",
        ] {
            assert!(
                parse_reply(bytes).is_err(),
                "{:?} should be refused",
                String::from_utf8_lossy(bytes)
            );
        }
        let too_big = format!("${}\r\n", BULK_BYTES_MAX + 1);
        assert!(parse_reply(too_big.as_bytes()).is_err());
    }

    #[test]
    fn a_huge_aggregate_header_just_waits() {
        assert_eq!(parse_reply(b"*999999999999\r\n"), Ok(Parsed::Incomplete));
    }
}
