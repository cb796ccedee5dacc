//! SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP, with Redis's order of checks (a missing key
//! answers before the range is parsed) and its range arithmetic (`bitcountCommand`,
//! `bitposCommand`: negative indexes, clamping, BIT ranges through edge masks).
//!
//! Not here: BITFIELD (`field.rs`).

use bytes::Bytes;
use quorum_keyspace::Value;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{bit_offset, patch_string, Overlay};
use crate::parse::{arg, is_keyword, parse_i64};
use crate::string::get_string;
use crate::{ReadCx, Reply, WriteCx};

/// `-ERR bit is not an integer or out of range`
fn bad_bit() -> ErrorReply {
    ErrorReply::from_static("ERR bit is not an integer or out of range")
}

/// SETBIT's offset and bit, in Redis's order of checks.
fn setbit_args(args: &[Bytes]) -> Result<(u64, bool), ErrorReply> {
    let offset = bit_offset(arg(args, 2)?, None)?;
    match parse_i64(arg(args, 3)?).map_err(|_| bad_bit())? {
        0 => Ok((offset, false)),
        1 => Ok((offset, true)),
        _ => Err(bad_bit()),
    }
}

pub(super) fn precheck_setbit(args: &[Bytes]) -> Result<(), ErrorReply> {
    setbit_args(args).map(drop)
}

/// The byte holding bit `offset` and that bit's mask in it.
fn locate(offset: u64) -> (usize, u8) {
    ((offset >> 3) as usize, 0x80 >> (offset & 7))
}

/// SETBIT: replies the bit's previous value. The string is created or zero-padded up to
/// the bit even when the bit is cleared; nothing is written when nothing changes.
pub(super) fn setbit(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let (offset, on) = setbit_args(args)?;
    let key = arg(args, 1)?;
    let (byte, mask) = locate(offset);
    let current = get_string(cx.ks, key, cx.now_ms)?;
    let old = current.and_then(|b| b.get(byte)).map_or(0, |b| b & mask);
    let grows = current.is_none_or(|b| b.len() <= byte);
    if grows || (old != 0) != on {
        let len = current.map_or(0, |b| b.len()).max(byte + 1);
        let mut overlay = Overlay::new(current.map_or(&[][..], |b| &b[..]));
        let cur = overlay.byte(byte);
        overlay.set_byte(byte, if on { cur | mask } else { cur & !mask });
        let written = overlay.written;
        patch_string(cx.ks, key, len, &written)?;
    }
    Ok(Frame::Integer(i64::from(old != 0)))
}

/// GETBIT: the offset is checked before the key.
pub(super) fn getbit(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let offset = bit_offset(arg(args, 2)?, None)?;
    let (byte, mask) = locate(offset);
    let current = get_string(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let bit = current.and_then(|b| b.get(byte)).map_or(0, |b| b & mask);
    Ok(Frame::Integer(i64::from(bit != 0)))
}

/// An optional `BYTE|BIT` unit: whether it says BIT.
fn unit_is_bit(word: Option<&Bytes>) -> Result<bool, ErrorReply> {
    match word {
        None => Ok(false),
        Some(w) if is_keyword(w, "bit") => Ok(true),
        Some(w) if is_keyword(w, "byte") => Ok(false),
        Some(_) => Err(ErrorReply::syntax()),
    }
}

/// A range resolved to bytes `start..=end` of the string (empty when `start > end`), with
/// the masks of the bits before the range in its first byte and after it in its last.
struct ByteRange {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Redis's range arithmetic shared by BITCOUNT and BITPOS: negative indexes count from the
/// end, both ends are clamped to the string, and a BIT range becomes a byte range plus
/// edge masks.
fn resolve(len: usize, mut start: i64, mut end: i64, is_bit: bool) -> ByteRange {
    let total = if is_bit { len as i64 * 8 } else { len as i64 };
    if start < 0 {
        start = (total + start).max(0);
    }
    if end < 0 {
        end = (total + end).max(0);
    }
    end = end.min(total - 1);
    let (mut first_mask, mut last_mask) = (0, 0);
    if is_bit && start <= end {
        first_mask = !(0xffu8 >> (start & 7));
        last_mask = 0x7fu8 >> (end & 7);
        start >>= 3;
        end >>= 3;
    }
    ByteRange {
        start,
        end,
        first_mask,
        last_mask,
    }
}

fn popcount(bytes: &[u8]) -> i64 {
    bytes.iter().map(|b| i64::from(b.count_ones())).sum()
}

/// BITCOUNT key [start end [BYTE|BIT]]. A missing key is 0 whatever the arguments; an
/// inverted negative range is 0 before the unit is read.
pub(super) fn bitcount(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let Some(bytes) = get_string(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Integer(0));
    };
    let range = match args.len() {
        2 => resolve(bytes.len(), 0, -1, false),
        4 | 5 => {
            let start = parse_i64(arg(args, 2)?)?;
            let end = parse_i64(arg(args, 3)?)?;
            if start < 0 && end < 0 && start > end {
                return Ok(Frame::Integer(0));
            }
            resolve(bytes.len(), start, end, unit_is_bit(args.get(4))?)
        }
        _ => return Err(ErrorReply::syntax()),
    };
    if range.start > range.end {
        return Ok(Frame::Integer(0));
    }
    let (start, end) = (range.start as usize, range.end as usize);
    let count = popcount(&bytes[start..=end])
        - popcount(&[
            bytes[start] & range.first_mask,
            bytes[end] & range.last_mask,
        ]);
    Ok(Frame::Integer(count))
}

/// `redisBitpos`: the position of the first `bit` in `bytes`; when there is none, -1 for
/// a 1 and `8 * len` for a 0 (the string is taken as zero-padded on the right).
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0x00 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(at) => {
            let b = if bit { bytes[at] } else { !bytes[at] };
            at as i64 * 8 + i64::from(b.leading_zeros())
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// BITPOS key bit [start [end [BYTE|BIT]]]: the bit is checked first, then a missing key
/// answers (-1 for a 1, 0 for a 0), then the range. Without an end the string counts as
/// zero-padded (a search for 0 in all-ones finds the bit after the end); with one, it does
/// not (-1).
pub(super) fn bitpos(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let bit = match parse_i64(arg(args, 2)?)? {
        0 => false,
        1 => true,
        _ => {
            return Err(ErrorReply::from_static(
                "ERR The bit argument must be 1 or 0.",
            ))
        }
    };
    let Some(bytes) = get_string(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Integer(if bit { -1 } else { 0 }));
    };
    let (range, end_given) = match args.len() {
        3 => (resolve(bytes.len(), 0, -1, false), false),
        4..=6 => {
            let start = parse_i64(arg(args, 3)?)?;
            let is_bit = unit_is_bit(args.get(5))?;
            let end = match args.get(4) {
                Some(end) => parse_i64(end)?,
                None => -1,
            };
            (resolve(bytes.len(), start, end, is_bit), args.len() >= 5)
        }
        _ => return Err(ErrorReply::syntax()),
    };
    Ok(Frame::Integer(search(bytes, bit, &range, end_given)))
}

/// The search of `bitposCommand` over a resolved range: the masked first byte, the whole
/// bytes between, the masked last byte, each step ending early when it finds the bit.
fn search(bytes: &[u8], bit: bool, range: &ByteRange, end_given: bool) -> i64 {
    if range.start > range.end {
        return -1;
    }
    let (mut start, end) = (range.start as usize, range.end as usize);
    let (first_mask, last_mask) = (range.first_mask, range.last_mask);
    // Masked bits read as the opposite of what is searched for.
    let masked = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let mut remaining = end - start + 1;
    let pos = 'found: {
        if first_mask != 0 {
            let mut b = masked(bytes[start], first_mask);
            if last_mask != 0 && remaining == 1 {
                b = masked(b, last_mask);
            }
            let pos = first_bit(&[b], bit);
            if remaining == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            remaining -= 1;
        }
        let whole = remaining - usize::from(last_mask != 0);
        if whole > 0 {
            let pos = first_bit(&bytes[start..start + whole], bit);
            if remaining == whole || (pos != -1 && pos != whole as i64 * 8) {
                break 'found pos;
            }
            start += whole;
            remaining -= whole;
        }
        first_bit(&[masked(bytes[end], last_mask)], bit)
    };
    if end_given && !bit && pos == remaining as i64 * 8 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + start as i64 * 8
    }
}

/// BITOP's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop_op(args: &[Bytes]) -> Result<BitOp, ErrorReply> {
    let name = arg(args, 1)?;
    let op = [
        ("and", BitOp::And),
        ("or", BitOp::Or),
        ("xor", BitOp::Xor),
        ("not", BitOp::Not),
    ]
    .into_iter()
    .find(|(word, _)| is_keyword(name, word))
    .map(|(_, op)| op)
    .ok_or_else(ErrorReply::syntax)?;
    if op == BitOp::Not && args.len() != 4 {
        return Err(ErrorReply::from_static(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    Ok(op)
}

pub(super) fn precheck_bitop(args: &[Bytes]) -> Result<(), ErrorReply> {
    bitop_op(args).map(drop)
}

/// BITOP op dest key...: missing sources are empty strings, shorter ones are zero-padded
/// to the longest; the result replaces `dest` (whatever its type, without a deadline), and
/// an empty result deletes it. Replies the result's length.
pub(super) fn bitop(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let op = bitop_op(args)?;
    let dest = arg(args, 2)?;
    let mut sources = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        sources.push(
            get_string(cx.ks, key, cx.now_ms)?
                .cloned()
                .unwrap_or_default(),
        );
    }
    let len = sources.iter().map(Bytes::len).max().unwrap_or(0);
    if len == 0 {
        cx.ks.remove(dest);
        return Ok(Frame::Integer(0));
    }
    let byte = |source: &Bytes, at: usize| source.get(at).copied().unwrap_or(0);
    let result: Vec<u8> = (0..len)
        .map(|at| {
            let first = byte(&sources[0], at);
            let rest = sources[1..].iter().map(|s| byte(s, at));
            match op {
                BitOp::And => rest.fold(first, |acc, b| acc & b),
                BitOp::Or => rest.fold(first, |acc, b| acc | b),
                BitOp::Xor => rest.fold(first, |acc, b| acc ^ b),
                BitOp::Not => !first,
            }
        })
        .collect();
    cx.ks.insert(dest.clone(), Value::Str(result.into()), None);
    Ok(Frame::Integer(len as i64))
}
