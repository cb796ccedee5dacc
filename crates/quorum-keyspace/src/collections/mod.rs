//! The collection values — [`HashValue`], [`ListValue`], [`SetValue`], [`ZSetValue`] — each
//! a container that keeps its own memory charge up to date on every change (O(1) per write,
//! a deterministic function of contents).
//!
//! Orders are deterministic functions of the operations applied: hashes and sets keep
//! insertion order with swap-removal (`indexmap`), so two replicas that applied the same log,
//! or one that loaded the other's snapshot, iterate, scan and pick random elements alike.
//!
//! Not here: command semantics (`quorum-commands`), encoding (`snapshot.rs`, `digest.rs`).

mod hash;
mod list;
mod set;
mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use zset::{ZSetKey, ZSetValue};

/// One page of a collection scan (HSCAN, SSCAN): the indexes to visit, highest first, and
/// the cursor to continue from (0 when the scan is complete).
///
/// Index-ordered collections scan from their end towards index 0: swap-removal only ever
/// moves the last element down and insertion appends, so an element present for the whole
/// scan stays below the cursor once the cursor has passed above it and is never missed
/// (Redis's SCAN guarantee); an element may be returned twice.
pub(crate) fn scan_page(len: usize, cursor: u64, count: usize) -> (Vec<usize>, u64) {
    if len == 0 {
        return (Vec::new(), 0);
    }
    // Cursor 0 starts at the top; cursor c > 0 continues at index c - 1.
    let start = match cursor {
        0 => len - 1,
        c => usize::try_from(c - 1).unwrap_or(usize::MAX).min(len - 1),
    };
    let count = count.max(1);
    let lowest = start.saturating_sub(count - 1);
    let indexes: Vec<usize> = (lowest..=start).rev().collect();
    (indexes, lowest as u64)
}

#[cfg(test)]
mod tests {
    use super::scan_page;

    #[test]
    fn scan_pages_walk_down_to_zero() {
        assert_eq!(scan_page(0, 0, 10), (vec![], 0));
        assert_eq!(scan_page(3, 0, 10), (vec![2, 1, 0], 0));
        assert_eq!(scan_page(5, 0, 2), (vec![4, 3], 3));
        assert_eq!(scan_page(5, 3, 2), (vec![2, 1], 1));
        assert_eq!(scan_page(5, 1, 2), (vec![0], 0));
        // The collection shrank below the cursor: continue at its top.
        assert_eq!(scan_page(2, 9, 1), (vec![1], 1));
    }
}
