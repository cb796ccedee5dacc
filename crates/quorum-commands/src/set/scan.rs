//! SSCAN key cursor [MATCH pattern] [COUNT count].
//!
//! Cursors walk the set from its end towards position 0 (`SetValue::scan`), so a member
//! present for the whole scan is returned at least once, whatever is added or removed
//! meanwhile. Cursor values are quorum's own (positions, not Redis's reversed hash-bucket
//! indexes): a client must only pass back what the previous call returned.
//!
//! Not here: SCAN over keys (`generic.rs`).

use bytes::Bytes;
use quorum_keyspace::{GlobPattern, SetValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, parse_i64, parse_scan_cursor, Args};
use crate::typed::get;
use crate::{ReadCx, Reply};

/// Members per page when COUNT is not given (Redis's default).
const SSCAN_COUNT_DEFAULT: usize = 10;

/// SSCAN, in Redis's order of checks: the cursor, then the key (absent: an empty, finished
/// scan, whatever the options), then its type, then the options.
pub(super) fn sscan(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let cursor = parse_scan_cursor(arg(args, 2)?)?;
    let Some(set) = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(page(0, Vec::new()));
    };
    let mut count = SSCAN_COUNT_DEFAULT;
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
    let (members, next) = set.scan(cursor, count);
    let members = members
        .into_iter()
        .filter(|m| pattern.as_ref().is_none_or(|p| p.matches(m)))
        .map(|m| Frame::Bulk(m.clone()))
        .collect();
    Ok(page(next, members))
}

fn page(cursor: u64, members: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(members),
    ])
}
