//! LCS: the longest common subsequence of two strings, as Redis 7.0's `lcsCommand` finds it
//! (the same dynamic-programming table and the same walk back through it, so the same
//! subsequence and the same match ranges when several are equally long).
//!
//! Redis keeps the whole table of lengths (4 bytes a cell) and refuses when it would exceed
//! `proto-max-bulk-len`; quorum refuses at the same size, but the walk back only needs, per
//! cell, which neighbour holds the longer length, so it keeps one bit a cell (at most 16 MB
//! where Redis allocates up to 512 MB) and two rows of lengths.
//!
//! Not here: substring (contiguous) matching; Redis has none either.

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::STRING_BYTES_MAX;
use crate::parse::{is_keyword, parse_i64, Args};
use crate::{ReadCx, Reply};

/// Bytes a cell of Redis's table takes (`uint32_t`): the refusal threshold is in its units.
const REDIS_CELL_BYTES: u64 = 4;

/// What the options ask for.
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

fn parse_options(args: &[Bytes]) -> Result<LcsOptions, ErrorReply> {
    let mut opts = LcsOptions {
        len: false,
        idx: false,
        with_match_len: false,
        min_match_len: 0,
    };
    let mut rest = Args::new(args, 3);
    while let Some(opt) = rest.next() {
        if is_keyword(opt, "idx") {
            opts.idx = true;
        } else if is_keyword(opt, "len") {
            opts.len = true;
        } else if is_keyword(opt, "withmatchlen") {
            opts.with_match_len = true;
        } else if is_keyword(opt, "minmatchlen") && rest.remaining() > 0 {
            // Negative means no minimum.
            opts.min_match_len = u64::try_from(parse_i64(rest.value()?)?).unwrap_or(0);
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    if opts.len && opts.idx {
        return Err(ErrorReply::from_static(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(opts)
}

/// The string under `key` ("" when absent); Redis's own text for another type.
fn string_or_empty<'a>(cx: &'a ReadCx<'_>, key: &[u8]) -> Result<&'a [u8], ErrorReply> {
    match cx.ks.get(key, cx.now_ms) {
        None => Ok(&[]),
        Some(entry) => entry.value.as_str().map(|b| &b[..]).ok_or_else(|| {
            ErrorReply::from_static("ERR The specified keys must contain string values")
        }),
    }
}

pub(crate) fn lcs(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    // Redis looks both keys up before it reads the options.
    let a = string_or_empty(cx, &args[1]);
    let b = string_or_empty(cx, &args[2]);
    let (a, b) = (a?, b?);
    let opts = parse_options(args)?;
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells * REDIS_CELL_BYTES > STRING_BYTES_MAX {
        return Err(ErrorReply::from_static(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let table = Table::build(a, b);
    let walk = table.walk_back(a, b, &opts);
    Ok(if opts.idx {
        Frame::Map(vec![
            (Frame::bulk("matches"), Frame::Array(walk.ranges)),
            (Frame::bulk("len"), Frame::Integer(i64::from(table.len))),
        ])
    } else if opts.len {
        Frame::Integer(i64::from(table.len))
    } else {
        Frame::Bulk(Bytes::from(walk.subsequence))
    })
}

/// The LCS table reduced to what the walk back reads: per cell (i, j) whether
/// `LCS(i-1, j) > LCS(i, j-1)`, one bit each, and the length of the whole LCS.
struct Table {
    up_longer: Vec<u64>,
    columns: usize,
    len: u32,
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Table {
        let columns = b.len() + 1;
        let cells = (a.len() + 1) * columns;
        let mut up_longer = vec![0u64; cells.div_ceil(64)];
        // Row i-1 and row i of Redis's LCS(i, j).
        let mut above = vec![0u32; columns];
        let mut row = vec![0u32; columns];
        for i in 1..=a.len() {
            row[0] = 0;
            for j in 1..columns {
                row[j] = if a[i - 1] == b[j - 1] {
                    above[j - 1] + 1
                } else {
                    let (up, left) = (above[j], row[j - 1]);
                    if up > left {
                        let cell = i * columns + j;
                        up_longer[cell / 64] |= 1 << (cell % 64);
                    }
                    up.max(left)
                };
            }
            std::mem::swap(&mut above, &mut row);
        }
        // After the last swap, `above` holds row a.len() (row 0 when `a` is empty).
        Table {
            up_longer,
            columns,
            len: above[columns - 1],
        }
    }

    fn up_longer(&self, i: usize, j: usize) -> bool {
        let cell = i * self.columns + j;
        self.up_longer[cell / 64] & (1 << (cell % 64)) != 0
    }

    /// Redis's walk from (alen, blen) back to an edge: the subsequence, built from its end,
    /// and the ranges of contiguous matches in the order they are met (last first).
    fn walk_back(&self, a: &[u8], b: &[u8], opts: &LcsOptions) -> Walk {
        let mut walk = Walk {
            subsequence: Vec::new(),
            ranges: Vec::new(),
        };
        if opts.len && !opts.idx {
            // Only the length, which the table already has.
            return walk;
        }
        walk.subsequence = vec![0; self.len as usize];
        let (mut i, mut j, mut idx) = (a.len(), b.len(), self.len as usize);
        // `None` while no range is open (Redis marks it with arange_start == alen).
        let mut range: Option<Range> = None;
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                walk.subsequence[idx - 1] = a[i - 1];
                match &mut range {
                    None => range = Some(Range::at(i - 1, j - 1)),
                    Some(r) if r.a_start == i && r.b_start == j => {
                        r.a_start -= 1;
                        r.b_start -= 1;
                    }
                    // Not reachable from Redis's table, kept as Redis has it: the open range
                    // is emitted and this match starts none.
                    Some(_) => emit = true,
                }
                if let Some(r) = &range {
                    emit |= r.a_start == 0 || r.b_start == 0;
                }
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.up_longer(i, j) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = range.is_some();
            }
            if emit {
                if let Some(r) = range.take() {
                    let match_len = (r.a_end - r.a_start + 1) as u64;
                    if opts.idx && match_len >= opts.min_match_len {
                        walk.ranges.push(r.frame(opts.with_match_len, match_len));
                    }
                }
            }
        }
        walk
    }
}

/// What the walk back produces.
struct Walk {
    subsequence: Vec<u8>,
    ranges: Vec<Frame>,
}

/// A run of contiguous matches: positions in `a` and in `b`, both ends included.
struct Range {
    a_start: usize,
    a_end: usize,
    b_start: usize,
    b_end: usize,
}

impl Range {
    fn at(a: usize, b: usize) -> Range {
        Range {
            a_start: a,
            a_end: a,
            b_start: b,
            b_end: b,
        }
    }

    /// `[[a_start, a_end], [b_start, b_end]]`, with the match length when asked.
    fn frame(&self, with_match_len: bool, match_len: u64) -> Frame {
        let pair = |start: usize, end: usize| {
            Frame::Array(vec![
                Frame::Integer(start as i64),
                Frame::Integer(end as i64),
            ])
        };
        let mut items = vec![
            pair(self.a_start, self.a_end),
            pair(self.b_start, self.b_end),
        ];
        if with_match_len {
            items.push(Frame::Integer(match_len as i64));
        }
        Frame::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis's full table, for comparison with the one-bit table.
    fn full_table_len(a: &[u8], b: &[u8]) -> u32 {
        let mut t = vec![vec![0u32; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }

    #[test]
    fn table_length_matches_the_full_table() {
        let words: &[&[u8]] = &[b"", b"a", b"ohmytext", b"mynewtext", b"abcabcabc", b"cba"];
        for a in words {
            for b in words {
                assert_eq!(Table::build(a, b).len, full_table_len(a, b));
            }
        }
    }
}
