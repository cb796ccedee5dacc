//! [`RequestDecoder`]: turns the bytes a client sends into requests, incrementally and with
//! Redis 7's exact protocol errors.
//!
//! Two request forms, chosen by the first byte of each request as Redis does:
//! - multibulk (`*N\r\n$len\r\n<bytes>\r\n...`), what every client library sends;
//! - inline (anything else): one line split like `sdssplitargs`, see `decoder/inline.rs`.
//!
//! Parse state survives between calls, so a large bulk arriving in many small reads is looked
//! at once per read, not re-parsed from the start (no O(n^2)). Completed arguments are moved
//! out of the caller's buffer as they arrive (zero-copy `split_to(..).freeze()`);
//! [`RequestDecoder::held_bytes`] reports how much the decoder holds so the connection can
//! count it against the query-buffer limit, which it (not the decoder) enforces.
//!
//! Not here: sockets, the query-buffer limit, command lookup, RESP3 input types (Redis accepts
//! only multibulk and inline requests too).

use bytes::{Buf, Bytes, BytesMut};
use quorum_types::Limits;

mod inline;

use inline::split_args;

/// One client request: the command name followed by its arguments.
pub type Request = Vec<Bytes>;

/// A malformed request. `Display` is the exact Redis text (without the leading `-`); after it
/// the connection replies once and closes, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ERR Protocol error: {0}")]
pub struct ProtocolError(pub String);

/// Longest `*N` or `$N` header line Redis waits for before giving up (`PROTO_INLINE_MAX_SIZE`).
/// Fixed, unlike the inline limit: a real header is at most 21 bytes.
const HEADER_LINE_BYTES_MAX: usize = 64 * 1024;

/// Most bytes reserved in the caller's buffer ahead of a large bulk: the length is the client's
/// claim, so memory is committed as bytes actually arrive, not on its word.
const BULK_RESERVE_BYTES_MAX: usize = 1024 * 1024;

/// Most argument slots reserved ahead of a `*N` header, for the same reason (Redis: 1024).
const ARGS_RESERVE_MAX: usize = 1024;

/// Redis' `authRequired` thresholds: an unauthenticated client may not announce more arguments
/// or longer bulks than this.
const UNAUTH_ARGS_MAX: i64 = 10;
const UNAUTH_BULK_BYTES_MAX: usize = 16 * 1024;

/// Where the decoder is inside the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests.
    Idle,
    /// Looking for the `\n` of an inline line.
    Inline,
    /// Looking for the `\r` that ends the `*N` line.
    Count,
    /// Looking for the `\r` that ends a `$len` line; `remaining` bulks are still expected.
    BulkHeader,
    /// Waiting for `len` bytes of bulk data plus the two bytes of its line ending.
    BulkData { len: usize },
}

/// Incremental request decoder: one per connection.
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: Limits,
    auth_required: bool,
    state: State,
    /// Bytes at the front of the buffer already known not to hold the terminator being
    /// searched for, so each byte of a line is scanned once however it is split across reads.
    scanned: usize,
    /// Bulks still expected in the current multibulk request.
    remaining: usize,
    /// Arguments of the current multibulk request received so far.
    args: Request,
    /// Sum of the lengths of `args`.
    args_bytes: usize,
    /// The first error, returned again on every later call: the stream is unusable after it.
    failed: Option<ProtocolError>,
}

impl RequestDecoder {
    /// A decoder enforcing `limits` (`request_args_max`, `bulk_bytes_max`, `inline_bytes_max`).
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            auth_required: false,
            state: State::Idle,
            scanned: 0,
            remaining: 0,
            args: Vec::new(),
            args_bytes: 0,
            failed: None,
        }
    }

    /// Makes the decoder reject what Redis rejects from a client that has not authenticated
    /// yet: more than 10 arguments (`unauthenticated multibulk length`) or a bulk longer than
    /// 16 KiB (`unauthenticated bulk length`). Off by default; the connection turns it on while
    /// a password is required and off after `AUTH` succeeds.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Bytes of a partly received request that the decoder has already taken out of the
    /// caller's buffer. The connection adds them to the buffer's length when it enforces the
    /// query-buffer limit.
    pub fn held_bytes(&self) -> usize {
        self.args_bytes
    }

    /// How many bytes the front of the buffer must hold before the next call can finish the
    /// bulk being received, or 0 when unknown. Lets the connection size its reads.
    pub fn pending_bytes_hint(&self) -> usize {
        match self.state {
            State::BulkData { len } => len.saturating_add(2),
            _ => 0,
        }
    }

    /// Whether a request has been started but not finished (bytes were consumed or are being
    /// scanned). A connection closing now would cut a request in half.
    pub fn in_request(&self) -> bool {
        self.state != State::Idle
    }

    /// Decodes one request from the front of `buf`, consuming its bytes. `Ok(None)` means more
    /// bytes are needed; everything already consumed is remembered for the next call. Empty
    /// inline lines and `*0`/negative counts are consumed and skipped, as in Redis.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.step_until_request(buf);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            self.args = Vec::new();
            self.args_bytes = 0;
        }
        result
    }

    fn step_until_request(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        loop {
            match self.state {
                State::Idle => match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => self.state = State::Count,
                    Some(_) => self.state = State::Inline,
                },
                State::Inline => match self.inline(buf)? {
                    Step::NeedMore => return Ok(None),
                    Step::Continue => {}
                    Step::Done(request) => return Ok(Some(request)),
                },
                State::Count => {
                    let Some(line) = self.header_line(buf, "too big mbulk count string")? else {
                        return Ok(None);
                    };
                    let count = parse_ll(line.get(1..).unwrap_or_default())
                        .filter(|&n| {
                            n <= i64::try_from(self.limits.request_args_max).unwrap_or(i64::MAX)
                        })
                        .ok_or_else(|| protocol_error("invalid multibulk length"))?;
                    if self.auth_required && count > UNAUTH_ARGS_MAX {
                        return Err(protocol_error("unauthenticated multibulk length"));
                    }
                    match usize::try_from(count) {
                        Ok(count) if count > 0 => {
                            self.remaining = count;
                            self.args = Vec::with_capacity(count.min(ARGS_RESERVE_MAX));
                            self.args_bytes = 0;
                            self.state = State::BulkHeader;
                        }
                        // `*0` and negative counts are accepted and mean nothing.
                        _ => self.state = State::Idle,
                    }
                }
                State::BulkHeader => {
                    let Some(line) = self.header_line(buf, "too big bulk count string")? else {
                        return Ok(None);
                    };
                    // An empty line means the buffer started with the `\r` itself.
                    let first = line.first().copied().unwrap_or(b'\r');
                    if first != b'$' {
                        return Err(protocol_error(&format!(
                            "expected '$', got '{}'",
                            reply_char(first)
                        )));
                    }
                    let len = parse_ll(&line[1..])
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= self.limits.bulk_bytes_max)
                        .ok_or_else(|| protocol_error("invalid bulk length"))?;
                    if self.auth_required && len > UNAUTH_BULK_BYTES_MAX {
                        return Err(protocol_error("unauthenticated bulk length"));
                    }
                    self.state = State::BulkData { len };
                }
                State::BulkData { len } => {
                    let needed = len.saturating_add(2);
                    if buf.len() < needed {
                        // Room for what is missing, capped: the length is only a claim.
                        buf.reserve((needed - buf.len()).min(BULK_RESERVE_BYTES_MAX));
                        return Ok(None);
                    }
                    let arg = buf.split_to(len).freeze();
                    // Redis skips the two bytes after the data without looking at them.
                    buf.advance(2);
                    self.args_bytes += arg.len();
                    self.args.push(arg);
                    self.remaining -= 1;
                    if self.remaining == 0 {
                        self.state = State::Idle;
                        self.args_bytes = 0;
                        return Ok(Some(std::mem::take(&mut self.args)));
                    }
                    self.state = State::BulkHeader;
                }
            }
        }
    }

    /// Takes one `*N` / `$len` line off the front of `buf`, returning it without its line
    /// ending. Like Redis, the line ends at the first `\r`, and the byte after that `\r` is
    /// skipped whatever it is; a buffer without `\r` is an error once it exceeds
    /// [`HEADER_LINE_BYTES_MAX`].
    fn header_line(
        &mut self,
        buf: &mut BytesMut,
        too_big: &str,
    ) -> Result<Option<Bytes>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        let Some(cr) = buf[from..]
            .iter()
            .position(|&b| b == b'\r')
            .map(|i| from + i)
        else {
            if buf.len() > HEADER_LINE_BYTES_MAX {
                return Err(protocol_error(too_big));
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        if cr + 1 >= buf.len() {
            // The `\r` is the last byte: wait for the one after it.
            self.scanned = cr;
            return Ok(None);
        }
        self.scanned = 0;
        let line = buf.split_to(cr).freeze();
        buf.advance(2);
        Ok(Some(line))
    }

    /// Handles the inline line at the front of `buf`.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let from = self.scanned.min(buf.len());
        let Some(lf) = buf[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| from + i)
        else {
            if buf.len() > self.limits.inline_bytes_max {
                return Err(protocol_error("too big inline request"));
            }
            self.scanned = buf.len();
            return Ok(Step::NeedMore);
        };
        self.scanned = 0;
        self.state = State::Idle;
        let mut line = buf.split_to(lf + 1).freeze();
        line.truncate(lf);
        if line.last() == Some(&b'\r') {
            line.truncate(lf - 1);
        }
        let args = split_args(&line).map_err(|_| protocol_error("unbalanced quotes in request"))?;
        Ok(if args.is_empty() {
            Step::Continue
        } else {
            Step::Done(args)
        })
    }
}

/// Outcome of one parsing step that may or may not finish a request.
enum Step {
    NeedMore,
    Continue,
    Done(Request),
}

fn protocol_error(text: &str) -> ProtocolError {
    ProtocolError(text.to_string())
}

/// The offending byte as Redis prints it with `%c`: raw, except that `\r` and `\n` become spaces
/// (they would break the reply line). Bytes above 0x7f become the Latin-1 character, the
/// closest a `String` can hold.
fn reply_char(b: u8) -> char {
    match b {
        b'\r' | b'\n' => ' ',
        _ => char::from(b),
    }
}

/// Redis' `string2ll`: an optional `-`, then `0` alone or digits without a leading zero, no
/// blanks, no `+`, fewer than 21 bytes, within `i64`.
pub(crate) fn parse_ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ll;

    #[test]
    fn parse_ll_matches_string2ll() {
        for (s, want) in [
            ("0", Some(0)),
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("123", Some(123)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("", None),
            ("-", None),
            ("-0", None),
            ("00", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("1a", None),
            ("0000000000000000000001", None),
            ("18446744073709551616", None),
        ] {
            assert_eq!(parse_ll(s.as_bytes()), want, "input {s:?}");
        }
    }
}
