//! BITFIELD and BITFIELD_RO (`bitfieldGeneric` in Redis's `bitops.c`): signed (`i1`..`i64`)
//! and unsigned (`u1`..`u63`) integers at any bit offset (`#N` = N times the width), read
//! with GET, written with SET and INCRBY under the overflow policy in force (`OVERFLOW
//! WRAP|SAT|FAIL`, WRAP by default; FAIL replies nil and writes nothing).
//!
//! Every subcommand is parsed before anything runs, so a syntax error changes nothing and
//! the whole grammar is checked on the receiving node. A BITFIELD with a SET or INCRBY
//! creates or zero-pads the string up to the farthest bit it may write, as Redis does, even
//! when every write then fails on overflow.
//!
//! Not here: single-bit commands (`bits.rs`).

use bytes::Bytes;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::{bit_offset, patch_string, Overlay};
use crate::parse::{arg, is_keyword, parse_i64, string_to_i64};
use crate::string::get_string;
use crate::{ReadCx, Reply, WriteCx};

/// What happens when a SET or INCRBY does not fit the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Get,
    Set,
    IncrBy,
}

/// One parsed subcommand.
#[derive(Debug, Clone, Copy)]
struct FieldOp {
    action: Action,
    signed: bool,
    bits: u32,
    offset: u64,
    /// SET's value or INCRBY's increment.
    value: i64,
    overflow: Overflow,
}

/// Every subcommand, and how far the writes among them reach.
struct Ops {
    ops: Vec<FieldOp>,
    /// The last bit a SET or INCRBY may write; `None` when there is none.
    last_written_bit: Option<u64>,
}

fn bad_type() -> ErrorReply {
    ErrorReply::from_static(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
    )
}

/// A field type as `getBitfieldTypeFromArgument`: `i` or `u` (lowercase), then the width.
/// Redis reads the width as a C string, so it ends at the first NUL byte.
fn field_type(arg: &[u8]) -> Result<(bool, u32), ErrorReply> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad_type()),
    };
    let digits = &arg[1..];
    let digits = digits.split(|&b| b == 0).next().unwrap_or(digits);
    let max = if signed { 64 } else { 63 };
    string_to_i64(digits)
        .filter(|bits| (1..=max).contains(bits))
        .map(|bits| (signed, bits as u32))
        .ok_or_else(bad_type)
}

/// Parses every subcommand, in Redis's order of checks.
fn parse(args: &[Bytes]) -> Result<Ops, ErrorReply> {
    let mut ops = Vec::new();
    let mut last_written_bit = None;
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let (sub, remaining) = (&args[j], args.len() - j - 1);
        let action = if is_keyword(sub, "get") && remaining >= 2 {
            Action::Get
        } else if is_keyword(sub, "set") && remaining >= 3 {
            Action::Set
        } else if is_keyword(sub, "incrby") && remaining >= 3 {
            Action::IncrBy
        } else if is_keyword(sub, "overflow") && remaining >= 1 {
            let policy = &args[j + 1];
            overflow = [
                ("wrap", Overflow::Wrap),
                ("sat", Overflow::Sat),
                ("fail", Overflow::Fail),
            ]
            .into_iter()
            .find(|(word, _)| is_keyword(policy, word))
            .map(|(_, o)| o)
            .ok_or_else(|| ErrorReply::from_static("ERR Invalid OVERFLOW type specified"))?;
            j += 2;
            continue;
        } else {
            return Err(ErrorReply::syntax());
        };
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = bit_offset(&args[j + 2], Some(bits))?;
        let mut value = 0;
        if action != Action::Get {
            let last = offset + u64::from(bits) - 1;
            last_written_bit = Some(last_written_bit.map_or(last, |l: u64| l.max(last)));
            value = parse_i64(&args[j + 3])?;
        }
        ops.push(FieldOp {
            action,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if action == Action::Get { 3 } else { 4 };
    }
    Ok(Ops {
        ops,
        last_written_bit,
    })
}

pub(super) fn precheck_bitfield(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args).map(drop)
}

/// BITFIELD key [GET|SET|INCRBY|OVERFLOW ...]: one reply per GET, SET (the old value) and
/// INCRBY (the new value), nil for a write refused by `OVERFLOW FAIL`.
pub(super) fn bitfield(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let Ops {
        ops,
        last_written_bit,
    } = parse(args)?;
    let key = arg(args, 1)?;
    let current = get_string(cx.ks, key, cx.now_ms)?;
    let base = current.map_or(&[][..], |b| &b[..]);
    let mut overlay = Overlay::new(base);
    let Some(last_bit) = last_written_bit else {
        return Ok(Frame::Array(run(&ops, &mut overlay, false).0));
    };
    let len = base.len().max((last_bit >> 3) as usize + 1);
    let grows = current.is_none_or(|b| b.len() < len);
    let (replies, changes) = run(&ops, &mut overlay, grows);
    let written = overlay.written;
    if grows || changes > 0 {
        patch_string(cx.ks, key, len, &written)?;
    }
    Ok(Frame::Array(replies))
}

/// BITFIELD_RO key [GET type offset ...]: the whole command is parsed first, so a bad
/// argument anywhere is reported before a SET or INCRBY is refused.
pub(super) fn bitfield_ro(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    let Ops {
        ops,
        last_written_bit,
    } = parse(args)?;
    if last_written_bit.is_some() {
        return Err(ErrorReply::from_static(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let current = get_string(cx.ks, arg(args, 1)?, cx.now_ms)?;
    let mut overlay = Overlay::new(current.map_or(&[][..], |b| &b[..]));
    Ok(Frame::Array(run(&ops, &mut overlay, false).0))
}

/// Runs the subcommands in order on `bytes`; returns the replies and how many writes
/// changed something (every successful write counts when the string grew, as in Redis).
fn run(ops: &[FieldOp], bytes: &mut Overlay<'_>, grown: bool) -> (Vec<Frame>, usize) {
    let mut replies = Vec::with_capacity(ops.len());
    let mut changes = 0;
    for op in ops {
        let old = read(bytes, op.offset, op.bits);
        if op.action == Action::Get {
            let value = if op.signed {
                sign_extend(old, op.bits)
            } else {
                old as i64
            };
            replies.push(Frame::Integer(value));
            continue;
        }
        let outcome = if op.signed {
            signed_write(sign_extend(old, op.bits), op)
        } else {
            unsigned_write(old, op)
        };
        match outcome {
            Some((new, reply)) => {
                write(bytes, op.offset, op.bits, new);
                replies.push(Frame::Integer(reply));
                if grown || new != old {
                    changes += 1;
                }
            }
            None => replies.push(Frame::Null),
        }
    }
    (replies, changes)
}

/// A signed SET or INCRBY on a field holding `old`: the bits to store (as unsigned) and
/// the reply, or `None` when `OVERFLOW FAIL` refuses it.
fn signed_write(old: i64, op: &FieldOp) -> Option<(u64, i64)> {
    let (new, reply) = if op.action == Action::IncrBy {
        let new = match signed_overflow(old, op.value, op.bits, op.overflow) {
            Some(limit) => limit?,
            None => old.wrapping_add(op.value),
        };
        (new, new)
    } else {
        let new = match signed_overflow(op.value, 0, op.bits, op.overflow) {
            Some(limit) => limit?,
            None => op.value,
        };
        (new, old)
    };
    Some((new as u64 & mask(op.bits), reply))
}

/// The unsigned counterpart of [`signed_write`].
fn unsigned_write(old: u64, op: &FieldOp) -> Option<(u64, i64)> {
    if op.action == Action::IncrBy {
        let new = match unsigned_overflow(old, op.value, op.bits, op.overflow) {
            Some(limit) => limit?,
            None => old.wrapping_add(op.value as u64),
        };
        Some((new, new as i64))
    } else {
        let new = match unsigned_overflow(op.value as u64, 0, op.bits, op.overflow) {
            Some(limit) => limit?,
            None => op.value as u64,
        };
        Some((new, old as i64))
    }
}

/// `checkSignedBitfieldOverflow`: `None` when `value + incr` fits `bits`, otherwise the
/// value to store under the policy (`Some(None)` for FAIL).
fn signed_overflow(value: i64, incr: i64, bits: u32, policy: Overflow) -> Option<Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    // Only read where they cannot have wrapped (Redis's comment says the same).
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let high = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= high;
            } else {
                c &= !high;
            }
        }
        c as i64
    };
    let limit = |saturated: i64| match policy {
        Overflow::Wrap => Some(wrap()),
        Overflow::Sat => Some(saturated),
        Overflow::Fail => None,
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        Some(limit(max))
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(limit(min))
    } else {
        None
    }
}

/// `checkUnsignedBitfieldOverflow`, shaped like [`signed_overflow`]. Widths stop at 63.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, policy: Overflow) -> Option<Option<u64>> {
    let max = mask(bits);
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let limit = |saturated: u64| match policy {
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
        Overflow::Sat => Some(saturated),
        Overflow::Fail => None,
    };
    if value > max || (incr > 0 && incr > max_incr) {
        Some(limit(max))
    } else if incr < 0 && incr < min_incr {
        Some(limit(0))
    } else {
        None
    }
}

/// The low `bits` bits set.
fn mask(bits: u32) -> u64 {
    u64::MAX >> (64 - bits)
}

fn sign_extend(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

/// The `bits`-wide field at bit `offset`, most significant bit first.
fn read(bytes: &Overlay<'_>, offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits)).fold(0, |value, at| {
        let bit = (bytes.byte((at >> 3) as usize) >> (7 - (at & 7))) & 1;
        (value << 1) | u64::from(bit)
    })
}

/// Writes the low `bits` bits of `value` at bit `offset`.
fn write(bytes: &mut Overlay<'_>, offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let at = offset + u64::from(j);
        let (byte, shift) = ((at >> 3) as usize, 7 - (at & 7));
        let bit = ((value >> (bits - 1 - j)) & 1) as u8;
        let b = bytes.byte(byte) & !(1 << shift) | (bit << shift);
        bytes.set_byte(byte, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_types() {
        assert_eq!(field_type(b"i64"), Ok((true, 64)));
        assert_eq!(field_type(b"u63"), Ok((false, 63)));
        assert_eq!(field_type(b"i8\0junk"), Ok((true, 8)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"I8", b"", b"i", b"i+8", b"i08"] {
            assert!(field_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn overflow_policies() {
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(Some(-128)));
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Sat), Some(Some(127)));
        assert_eq!(
            signed_overflow(-128, -1, 8, Overflow::Sat),
            Some(Some(-128))
        );
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Fail), Some(None));
        assert_eq!(signed_overflow(1, 1, 8, Overflow::Fail), None);
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(Some(i64::MIN))
        );
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Wrap), Some(Some(0)));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Sat), Some(Some(0)));
        assert_eq!(
            unsigned_overflow(u64::MAX, 0, 8, Overflow::Sat),
            Some(Some(255))
        );
    }
}
