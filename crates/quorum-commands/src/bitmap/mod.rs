//! Redis's `bitmap` group (`bitops.c`): strings addressed bit by bit. Bit 0 is the most
//! significant bit of the first byte; a string is zero-padded on the right as far as a
//! write reaches.
//!
//! - this file: the rows of the command table, bit-offset parsing, and how SETBIT and
//!   BITFIELD change a string in place ([`patch_string`]);
//! - `bits.rs`: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP;
//! - `field.rs`: BITFIELD and BITFIELD_RO.
//!
//! Offsets are bounded as Redis bounds them: a bit offset whose byte would be at or past
//! [`STRING_BYTES_MAX`] (512 MiB, Redis's `proto-max-bulk-len`) is refused before anything is
//! allocated, so SETBIT never builds a string longer than 512 MiB.
//!
//! Not here: byte-range string commands (SETRANGE, GETRANGE: `string/range.rs`).

mod bits;
mod field;

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use quorum_keyspace::{Keyspace, Value};
use quorum_types::ErrorReply;

use crate::parse::string_to_i64;
use crate::string::STRING_BYTES_MAX;
use crate::table::{command_rows, CommandSpec, Handler, Keys};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "setbit", 4, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(bits::precheck_setbit, bits::setbit), "bitmap", ["@write", "@bitmap", "@slow"], [], "2.2.0", "Sets or clears the bit at offset in the string value stored at key" }
    { "getbit", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(bits::getbit), "bitmap", ["@read", "@bitmap", "@fast"], [], "2.2.0", "Returns the bit value at offset in the string value stored at key" }
    { "bitcount", -2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(bits::bitcount), "bitmap", ["@read", "@bitmap", "@slow"], [], "2.6.0", "Count set bits in a string" }
    { "bitpos", -3, ["readonly"], Keys::range(1, 1, 1), Handler::Read(bits::bitpos), "bitmap", ["@read", "@bitmap", "@slow"], [], "2.8.7", "Find first bit set or clear in a string" }
    { "bitop", -4, ["write", "denyoom"], Keys::range(2, -1, 1), Handler::Write(bits::precheck_bitop, bits::bitop), "bitmap", ["@write", "@bitmap", "@slow"], [], "2.6.0", "Perform bitwise operations between strings" }
    { "bitfield", -2, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(field::precheck_bitfield, field::bitfield), "bitmap", ["@write", "@bitmap", "@slow"], [], "3.2.0", "Perform arbitrary bitfield integer operations on strings" }
    { "bitfield_ro", -2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(field::bitfield_ro), "bitmap", ["@read", "@bitmap", "@fast"], [], "6.0.0", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD" }
};

/// `-ERR bit offset is not an integer or out of range`
fn bad_offset() -> ErrorReply {
    ErrorReply::from_static("ERR bit offset is not an integer or out of range")
}

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`: a non-negative integer whose
/// byte lies below 512 MiB. With `width` (BITFIELD), `#N` means `N * width`; the product
/// wraps as Redis's does (a wrapped negative product is refused, a wrapped positive one is
/// an ordinary offset).
fn bit_offset(arg: &[u8], width: Option<u32>) -> Result<u64, ErrorReply> {
    let hashed = width.filter(|_| arg.first() == Some(&b'#'));
    let digits = if hashed.is_some() { &arg[1..] } else { arg };
    let mut offset = string_to_i64(digits).ok_or_else(bad_offset)?;
    if let Some(width) = hashed {
        offset = offset.wrapping_mul(i64::from(width));
    }
    match u64::try_from(offset) {
        Ok(offset) if offset >> 3 < STRING_BYTES_MAX => Ok(offset),
        _ => Err(bad_offset()),
    }
}

/// Bytes of a string, read past its end as zeros, with writes kept aside: commands compute
/// on it first and change the keyspace only when something changed, so a write that
/// changes nothing leaves the key untouched (WATCH stays valid, as in Redis).
struct Overlay<'a> {
    base: &'a [u8],
    written: BTreeMap<usize, u8>,
}

impl<'a> Overlay<'a> {
    fn new(base: &'a [u8]) -> Self {
        Overlay {
            base,
            written: BTreeMap::new(),
        }
    }

    fn byte(&self, at: usize) -> u8 {
        match self.written.get(&at) {
            Some(&b) => b,
            None => self.base.get(at).copied().unwrap_or(0),
        }
    }

    fn set_byte(&mut self, at: usize, value: u8) {
        self.written.insert(at, value);
    }
}

/// Stores the string under `key` grown with zeros to at least `len` bytes and with
/// `written` bytes replaced (`len` covers them), creating the key when it does not exist
/// and keeping its deadline when it does. Edits the bytes in place when the keyspace holds
/// the only reference, so a SETBIT on a large bitmap does not copy it.
fn patch_string(
    ks: &mut Keyspace,
    key: &Bytes,
    len: usize,
    written: &BTreeMap<usize, u8>,
) -> Result<(), ErrorReply> {
    debug_assert!(
        written.keys().all(|&at| at < len),
        "a write past the length"
    );
    let apply = |mut buf: BytesMut| {
        if buf.len() < len {
            buf.resize(len, 0);
        }
        for (&at, &b) in written {
            buf[at] = b;
        }
        buf.freeze()
    };
    match ks.get_including_expired(key).map(|e| &e.value) {
        None => {
            let bytes = apply(BytesMut::zeroed(len));
            ks.insert(key.clone(), Value::Str(bytes), None);
            Ok(())
        }
        Some(Value::Str(_)) => {
            ks.update_value(key, |value| {
                if let Value::Str(bytes) = value {
                    let buf = std::mem::take(bytes)
                        .try_into_mut()
                        .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
                    *bytes = apply(buf);
                }
            });
            Ok(())
        }
        Some(_) => Err(ErrorReply::wrong_type()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_bounded_like_redis() {
        assert_eq!(bit_offset(b"0", None), Ok(0));
        assert_eq!(bit_offset(b"4294967295", None), Ok(4_294_967_295));
        assert!(bit_offset(b"4294967296", None).is_err());
        assert!(bit_offset(b"-1", None).is_err());
        assert!(bit_offset(b"#1", None).is_err());
        assert_eq!(bit_offset(b"#3", Some(8)), Ok(24));
        assert!(bit_offset(b"#-1", Some(8)).is_err());
        assert!(bit_offset(b"#", Some(8)).is_err());
        // 2^61 * 8 wraps to 0, and Redis accepts it.
        assert_eq!(bit_offset(b"#2305843009213693952", Some(8)), Ok(0));
        assert!(bit_offset(b"#1152921504606846977", Some(8)).is_err());
    }
}
