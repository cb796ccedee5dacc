//! [`ErrorReply`]: an error a client sees, with Redis's exact text.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An error reply as the client sees it, without the leading `-` and trailing CRLF.
///
/// The first word is the error code (`ERR`, `WRONGTYPE`, `TRYAGAIN`, ...), as in Redis.
/// Constructors exist for every text quorum shares with Redis so the strings live in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply(Cow<'static, str>);

impl ErrorReply {
    /// An error with a fixed text.
    pub const fn from_static(text: &'static str) -> Self {
        ErrorReply(Cow::Borrowed(text))
    }

    /// An error with a computed text. The text must start with an error code such as `ERR`.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        debug_assert!(!text.contains('\r') && !text.contains('\n'));
        ErrorReply(Cow::Owned(text))
    }

    /// The text without the leading `-`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `-ERR syntax error`
    pub const fn syntax() -> Self {
        Self::from_static("ERR syntax error")
    }

    /// `-WRONGTYPE Operation against a key holding the wrong kind of value`
    pub const fn wrong_type() -> Self {
        Self::from_static("WRONGTYPE Operation against a key holding the wrong kind of value")
    }

    /// `-ERR value is not an integer or out of range`
    pub const fn not_integer() -> Self {
        Self::from_static("ERR value is not an integer or out of range")
    }

    /// `-ERR value is not a valid float`
    pub const fn not_float() -> Self {
        Self::from_static("ERR value is not a valid float")
    }

    /// `-ERR increment or decrement would overflow`
    pub const fn overflow() -> Self {
        Self::from_static("ERR increment or decrement would overflow")
    }

    /// `-ERR decrement would overflow` (DECRBY with the smallest 64-bit integer).
    pub const fn decrement_overflow() -> Self {
        Self::from_static("ERR decrement would overflow")
    }

    /// `-ERR no such key`
    pub const fn no_such_key() -> Self {
        Self::from_static("ERR no such key")
    }

    /// `-ERR invalid expire time in 'set' command` (the command name lowercased).
    pub fn invalid_expire_time(command: &str) -> Self {
        Self::new(format!(
            "ERR invalid expire time in '{}' command",
            command.to_ascii_lowercase()
        ))
    }

    /// `-ERR string exceeds maximum allowed size (proto-max-bulk-len)`
    pub const fn string_too_long() -> Self {
        Self::from_static("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    }

    /// `-ERR offset is out of range`
    pub const fn offset_out_of_range() -> Self {
        Self::from_static("ERR offset is out of range")
    }

    /// `-ERR increment would produce NaN or Infinity`
    pub const fn nan_or_infinity() -> Self {
        Self::from_static("ERR increment would produce NaN or Infinity")
    }

    /// `-ERR wrong number of arguments for 'get' command` (the name as the client sent it,
    /// lowercased, as Redis 7 does).
    pub fn wrong_arity(command: &str) -> Self {
        Self::new(format!(
            "ERR wrong number of arguments for '{}' command",
            command.to_ascii_lowercase()
        ))
    }

    /// `-ERR unknown command 'FOO', with args beginning with: 'a' 'b' ` (note the trailing
    /// space after each argument, exactly as Redis prints it).
    pub fn unknown_command(name: &[u8], args: &[&[u8]]) -> Self {
        // Mirrors server.c: arguments are appended while the argument list is under 128 bytes,
        // each cut to what is left of those 128.
        let mut shown_args = String::new();
        for arg in args {
            if shown_args.len() >= 128 {
                break;
            }
            let room = 128 - shown_args.len();
            shown_args.push('\'');
            shown_args.push_str(&sanitize(arg, room));
            shown_args.push_str("' ");
        }
        Self::new(format!(
            "ERR unknown command '{}', with args beginning with: {shown_args}",
            sanitize(name, 128)
        ))
    }

    /// `-ERR unknown subcommand 'x'. Try CLIENT HELP.`
    pub fn unknown_subcommand(command: &str, sub: &[u8]) -> Self {
        Self::new(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            sanitize(sub, 128),
            command.to_ascii_uppercase()
        ))
    }

    /// `-ERR unknown subcommand or wrong number of arguments for 'x'. Try DEBUG HELP.`: the
    /// older form Redis 7.0 still uses for DEBUG.
    pub fn unknown_subcommand_or_arity(command: &str, sub: &[u8]) -> Self {
        Self::new(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            sanitize(sub, 128),
            command.to_ascii_uppercase()
        ))
    }

    /// `-TRYAGAIN ...`: the cluster cannot serve the request now; retrying later may succeed.
    pub fn try_again(reason: impl fmt::Display) -> Self {
        Self::new(format!("TRYAGAIN {reason}"))
    }

    /// `-CLUSTERDOWN ...`: this node cannot reach a majority of the cluster.
    pub fn cluster_down(reason: impl fmt::Display) -> Self {
        Self::new(format!("CLUSTERDOWN {reason}"))
    }
}

/// Makes client bytes safe to embed in an error line: no CR/LF, at most `max` bytes shown.
fn sanitize(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    String::from_utf8_lossy(shown)
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ErrorReply {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_matches_redis_text() {
        let e = ErrorReply::unknown_command(b"FOO", &[b"a"]);
        assert_eq!(
            e.as_str(),
            "ERR unknown command 'FOO', with args beginning with: 'a' "
        );
        let e = ErrorReply::unknown_command(b"foo", &[]);
        assert_eq!(
            e.as_str(),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }

    #[test]
    fn wrong_arity_lowercases() {
        assert_eq!(
            ErrorReply::wrong_arity("GET").as_str(),
            "ERR wrong number of arguments for 'get' command"
        );
    }
}
