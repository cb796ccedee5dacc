//! Whole-hash reads: HGETALL, HKEYS, HVALS, and HSCAN's pages.
//!
//! HSCAN walks with `HashValue::scan` (from the last index down, so a field present for the
//! whole scan is never missed) and lists each page in the hash's order. A hash small enough
//! that Redis would keep it as a listpack comes back whole in one page with cursor 0,
//! whatever the cursor and COUNT, as Redis does.
//!
//! Not here: the cursor walk itself (`quorum_keyspace`), the keyspace SCAN (`generic.rs`).

use bytes::Bytes;
use quorum_keyspace::HashValue;
use quorum_resp::Frame;

use crate::parse::{arg, parse_scan_cursor, parse_scan_options};
use crate::typed::get;
use crate::{ReadCx, Reply};

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
