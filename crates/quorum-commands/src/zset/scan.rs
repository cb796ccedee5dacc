//! ZSCAN key cursor [MATCH pattern] [COUNT count].
//!
//! A small set (what Redis keeps as a listpack: at most 128 members of at most 64 bytes)
//! comes back whole in one page, in order, with cursor 0 and the score texts a listpack
//! holds (`3`, not `3.0000000000000000`), exactly as Redis answers.
//!
//! A larger set is walked in the order of a fixed hash of each member, and the cursor is
//! the hash to continue from. A page ends after all members of its last hash, so no member
//! is returned twice, and a member present for the whole scan is always returned (Redis's
//! guarantee), whatever is added, removed or rescored meanwhile: unlike rank positions,
//! a member's hash never moves. Nothing indexes members by hash, so a page costs a pass
//! over the set; pages hold at least 1/[`SCAN_PAGES_MAX`] of the set (COUNT is a hint,
//! as in Redis), so that a whole scan costs at most that many passes.
//!
//! Cursors are quorum's own (hashes, not Redis's reversed bucket indexes): a client must
//! only pass back what the previous call returned. Not here: SCAN over keys (`generic.rs`).

use std::collections::BinaryHeap;

use bytes::Bytes;
use quorum_keyspace::ZSetValue;
use quorum_resp::Frame;

use super::score::{listpack_text, reply_text};
use crate::parse::{arg, parse_scan_cursor, parse_scan_options};
use crate::typed::get;
use crate::{ReadCx, Reply};

/// Most members a Redis listpack-encoded set holds (`zset-max-listpack-entries`).
const LISTPACK_MEMBERS_MAX: usize = 128;
/// Longest member a Redis listpack-encoded set holds (`zset-max-listpack-value`).
const LISTPACK_MEMBER_BYTES_MAX: usize = 64;
/// Most pages a scan of a large set takes (each page is one pass over the set).
const SCAN_PAGES_MAX: usize = 64;

/// ZSCAN, in Redis's order of checks: the cursor, then the key (absent: an empty, finished
/// scan, whatever the options), then its type, then the options.
pub(super) fn zscan(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let cursor = parse_scan_cursor(arg(args, 2)?)?;
    let Some(zset) = get::<ZSetValue>(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(page(0, Vec::new()));
    };
    let (count, pattern) = parse_scan_options(args)?;
    let small = is_small(zset);
    let (items, next) = if small {
        (zset.iter().collect(), 0)
    } else {
        hash_page(zset, cursor, count)
    };
    let text = if small { listpack_text } else { reply_text };
    let mut frames = Vec::new();
    for (member, score) in items {
        if pattern.as_ref().is_none_or(|p| p.matches(member)) {
            frames.push(Frame::Bulk(member.clone()));
            frames.push(Frame::Bulk(text(score)));
        }
    }
    Ok(page(next, frames))
}

fn page(cursor: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(items),
    ])
}

/// Whether Redis would hold this set as a listpack (and so scan it in one page).
fn is_small(zset: &ZSetValue) -> bool {
    zset.len() <= LISTPACK_MEMBERS_MAX
        && zset
            .iter()
            .all(|(member, _)| member.len() <= LISTPACK_MEMBER_BYTES_MAX)
}

/// A fixed 64-bit hash of a member (FNV-1a, then SplitMix64's finalizer to spread it), the
/// same on every replica and in every version, since cursors outlive a leader.
fn member_hash(member: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in member {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The members whose hashes are the smallest at or above `cursor` (at least `count`, or
/// 1/`SCAN_PAGES_MAX` of the set, and every member sharing the last hash), in hash order,
/// and the cursor after them (0 when none is left).
fn hash_page(zset: &ZSetValue, cursor: u64, count: usize) -> (Vec<(&Bytes, f64)>, u64) {
    let page = count.max(zset.len().div_ceil(SCAN_PAGES_MAX));
    // The `page` smallest hashes at or above the cursor, largest on top.
    let mut smallest: BinaryHeap<u64> = BinaryHeap::with_capacity(page.min(zset.len()));
    for (member, _) in zset.iter() {
        let hash = member_hash(member);
        if hash < cursor {
            continue;
        }
        if smallest.len() < page {
            smallest.push(hash);
        } else if smallest.peek().is_some_and(|&top| hash < top) {
            smallest.pop();
            smallest.push(hash);
        }
    }
    let Some(&last) = smallest.peek() else {
        return (Vec::new(), 0);
    };
    let mut items = Vec::with_capacity(smallest.len());
    let mut more = false;
    for (member, score) in zset.iter() {
        let hash = member_hash(member);
        if (cursor..=last).contains(&hash) {
            items.push((hash, member, score));
        } else if hash > last {
            more = true;
        }
    }
    items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    // `more` means some hash exceeds `last`, so `last + 1` does not overflow.
    let next = if more { last + 1 } else { 0 };
    (items.into_iter().map(|(_, m, s)| (m, s)).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large set scanned while members come and go: every member present throughout is
    /// returned exactly once, and the scan ends.
    #[test]
    fn hash_pages_never_miss_a_member_present_throughout() {
        let mut zset: ZSetValue = (0..1000)
            .map(|i| (Bytes::from(format!("m{i}")), f64::from(i)))
            .collect();
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        let mut pages: u32 = 0;
        loop {
            let (items, next) = hash_page(&zset, cursor, 10);
            for (member, _) in items {
                *seen.entry(member.clone()).or_insert(0) += 1;
            }
            // Churn: rescore the survivors, drop some, add others.
            pages += 1;
            zset.remove(format!("m{}", 500 + pages).as_bytes());
            zset.insert(Bytes::from(format!("new{pages}")), -1.0);
            zset.insert(Bytes::from("m0"), f64::from(pages) * 1000.0);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert!(pages as usize <= SCAN_PAGES_MAX + 1, "{pages} pages");
        for i in (0..500).chain(600..1000) {
            assert_eq!(seen.get(format!("m{i}").as_bytes()), Some(&1), "m{i}");
        }
    }
}
