//! Whole-hash reads: HGETALL, HKEYS, HVALS, and HSCAN's pages.
//!
//! HSCAN walks with `HashValue::scan` (from the last index down, so a field present for the
//! whole scan is never missed) and lists each page in the hash's order. A hash small enough
//! that Redis would keep it as a listpack comes back whole in one page with cursor 0,
//! whatever the cursor and COUNT, as Redis does.
//!
//! Not here: the cursor walk itself (`quorum_keyspace`), the keyspace SCAN (`generic.rs`).

use bytes::Bytes;
use quorum_keyspace::{GlobPattern, HashValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::{arg, is_keyword, parse_i64, parse_scan_cursor, Args};
use crate::typed::get;
use crate::{ReadCx, Reply};

/// HSCAN's page size when COUNT is not given (Redis's default).
const SCAN_COUNT_DEFAULT: usize = 10;

/// Redis's default `hash-max-listpack-entries`: up to this many fields a hash is a listpack,
/// which HSCAN returns whole.
const LISTPACK_ENTRIES_MAX: usize = 128;

/// Redis's default `hash-max-listpack-value`: a longer field or value makes a hash a
/// hashtable, which HSCAN returns by pages.
const LISTPACK_VALUE_BYTES_MAX: usize = 64;

/// HGETALL: field, value, ... (a map in RESP3, a flat array in RESP2).
pub(super) fn hgetall(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let pairs = hash.map_or_else(Vec::new, |h| {
        h.iter()
            .map(|(f, v)| (Frame::Bulk(f.clone()), Frame::Bulk(v.clone())))
            .collect()
    });
    Ok(Frame::Map(pairs))
}

pub(super) fn hkeys(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(Frame::bulk_array(
        hash.into_iter()
            .flat_map(|h| h.iter().map(|(f, _)| f.clone())),
    ))
}

pub(super) fn hvals(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let hash = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)?;
    Ok(Frame::bulk_array(
        hash.into_iter()
            .flat_map(|h| h.iter().map(|(_, v)| v.clone())),
    ))
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]: `[next cursor, [field, value, ...]]`.
///
/// Redis checks the cursor first, then the key (a missing key answers an empty page without
/// looking at the options), then the options.
pub(super) fn hscan(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let cursor = parse_scan_cursor(arg(args, 2)?)?;
    let Some(hash) = get::<HashValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (count, pattern) = parse_scan_options(args)?;
    let (cursor, count) = if is_listpack_sized(hash) {
        (0, hash.len())
    } else {
        (cursor, count)
    };
    let (mut page, next) = hash.scan(cursor, count);
    page.reverse();
    let items = page
        .into_iter()
        .filter(|(field, _)| pattern.as_ref().is_none_or(|p| p.matches(field)))
        .flat_map(|(field, value)| [Frame::Bulk(field.clone()), Frame::Bulk(value.clone())])
        .collect();
    Ok(scan_reply(next, items))
}

fn scan_reply(cursor: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(items),
    ])
}

/// Whether Redis (default configuration) would hold this hash as a listpack. Redis never
/// turns a hashtable back into a listpack, so a hash that was once larger pages in Redis
/// and comes back whole here.
fn is_listpack_sized(hash: &HashValue) -> bool {
    hash.len() <= LISTPACK_ENTRIES_MAX
        && hash.iter().all(|(f, v)| {
            f.len() <= LISTPACK_VALUE_BYTES_MAX && v.len() <= LISTPACK_VALUE_BYTES_MAX
        })
}

/// HSCAN's options, as Redis's `scanGenericCommand` reads them: COUNT (an integer >= 1, a
/// smaller one is a syntax error) and MATCH, each followed by its value, in any order, the
/// last one winning. TYPE is the keyspace SCAN's only, so a syntax error here.
fn parse_scan_options(args: &[Bytes]) -> Result<(usize, Option<GlobPattern>), ErrorReply> {
    let mut count = SCAN_COUNT_DEFAULT;
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
