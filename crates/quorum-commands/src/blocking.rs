//! What the server needs to park a client on a blocking command (BLPOP, BLMOVE, BZPOPMIN,
//! ...): how long it may wait and which keys can wake it. The commands themselves apply as
//! their non-blocking forms (see `list/blocking.rs`, `zset/`): a null array means "nothing
//! yet", and the server proposes the command again when a key it waits for changes.
//!
//! Not here: the waiting itself (`quorum-server`'s `blocking.rs`).

use bytes::Bytes;
use quorum_types::ErrorReply;

use crate::parse::{is_keyword, string_to_f64};
use crate::table::CommandSpec;

/// Parses a blocking timeout in seconds (fractions allowed) into milliseconds, as Redis
/// 7.0's `getTimeoutFromObjectOrReply`: `None` for 0 (wait forever), rounded up to whole
/// milliseconds, and Redis's texts for what it refuses. A value too large for a signed 64-bit
/// millisecond count wraps negative in Redis 7.0 and is refused as negative here too.
pub fn parse_timeout(arg: &[u8]) -> Result<Option<u64>, ErrorReply> {
    let seconds = string_to_f64(arg)
        .filter(|s| !s.is_nan())
        .ok_or_else(|| ErrorReply::from_static("ERR timeout is not a float or out of range"))?;
    let ms = (seconds * 1000.0).ceil();
    if !(0.0..9.223_372_036_854_775e18).contains(&ms) {
        return Err(ErrorReply::from_static("ERR timeout is negative"));
    }
    Ok(match ms as u64 {
        0 => None,
        ms => Some(ms),
    })
}

/// How a blocking command waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingWait {
    /// How long, in milliseconds; `None` waits forever.
    pub timeout_ms: Option<u64>,
    /// Positions of the keys whose change may let it proceed.
    pub keys: Vec<usize>,
}

/// For a blocking command, how it waits; `None` for other commands.
pub fn blocking_wait(
    spec: &CommandSpec,
    args: &[Bytes],
) -> Option<Result<BlockingWait, ErrorReply>> {
    if !spec.flags.contains(&"blocking") {
        return None;
    }
    let timeout_at = match spec.name {
        "blmpop" | "bzmpop" => 1,
        "blmove" => 5,
        "brpoplpush" => 3,
        _ => args.len().checked_sub(1)?,
    };
    // The moves wait on their source only; the rest on every key they name.
    let keys: Vec<usize> = if is_keyword(&args[0], "blmove") || is_keyword(&args[0], "brpoplpush") {
        vec![1]
    } else {
        spec.key_positions(args).collect()
    };
    let timeout = args
        .get(timeout_at)
        .ok_or_else(ErrorReply::syntax)
        .and_then(|arg| parse_timeout(arg));
    Some(timeout.map(|timeout_ms| BlockingWait { timeout_ms, keys }))
}

#[cfg(test)]
mod tests {
    use super::parse_timeout;

    #[test]
    fn timeouts_parse_as_redis_7_0_parses_them() {
        assert_eq!(parse_timeout(b"0"), Ok(None));
        assert_eq!(parse_timeout(b"0.0001"), Ok(Some(1)));
        assert_eq!(parse_timeout(b"1.5"), Ok(Some(1500)));
        assert_eq!(parse_timeout(b"2"), Ok(Some(2000)));
        let negative = "ERR timeout is negative";
        assert_eq!(parse_timeout(b"-1").unwrap_err().as_str(), negative);
        assert_eq!(parse_timeout(b"1e20").unwrap_err().as_str(), negative);
        let not_float = "ERR timeout is not a float or out of range";
        assert_eq!(parse_timeout(b"abc").unwrap_err().as_str(), not_float);
        assert_eq!(parse_timeout(b"").unwrap_err().as_str(), not_float);
    }
}
