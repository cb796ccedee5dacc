//! SSCAN key cursor [MATCH pattern] [COUNT count].
//!
//! Cursors walk the set from its end towards position 0 (`SetValue::scan`), so a member
//! present for the whole scan is returned at least once, whatever is added or removed
//! meanwhile. Cursor values are quorum's own (positions, not Redis's reversed hash-bucket
//! indexes): a client must only pass back what the previous call returned.
//!
//! Not here: SCAN over keys (`generic.rs`).

use bytes::Bytes;
use quorum_keyspace::SetValue;
use quorum_resp::Frame;

use crate::parse::{arg, parse_scan_cursor, parse_scan_options};
use crate::typed::get;
use crate::{ReadCx, Reply};

/// SSCAN, in Redis's order of checks: the cursor, then the key (absent: an empty, finished
/// scan, whatever the options), then its type, then the options.
pub(super) fn sscan(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let cursor = parse_scan_cursor(arg(args, 2)?)?;
    let Some(set) = get::<SetValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(page(0, Vec::new()));
    };
    let (count, pattern) = parse_scan_options(args)?;
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
