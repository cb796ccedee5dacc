//! Reading a DUMP payload: the footer (RDB version, CRC-64) and the RDB encoding of one
//! value, as Redis 7.0's `verifyDumpPayload` and `rdbLoadObject` read them, into a quorum
//! [`Value`].
//!
//! The input is untrusted: every length is checked against the bytes that remain before
//! anything is sized by it, loops run at most once per byte of input (each step consumes
//! at least one), nothing recurses, and decompressed strings are bounded one by one
//! ([`STRING_BYTES_MAX`]) and together ([`DECOMPRESSED_BYTES_MAX`]).
//!
//! Redis reads the value from the whole payload, footer included, and ignores what it does
//! not consume; so does this (a string may run into the footer and Redis accepts it).
//!
//! Where Redis 7.0 (with its default `sanitize-dump-payload no`) accepts a damaged encoded
//! value and would fail later, quorum refuses it now, as Redis does with `sanitize-dump-payload
//! yes`: duplicate members or fields, odd pair counts, bad entries in listpacks and intsets.
//! It also refuses NaN scores in listpack-encoded sorted sets.
//!
//! Not here: writing payloads (`rdb_write.rs`), the command (`mod.rs`).

use std::borrow::Cow;

use bytes::Bytes;
use quorum_keyspace::{HashValue, ListValue, SetValue, Value, ZSetValue};

use super::crc64::crc64;
use super::listpack::{self, Element};
use super::{intset, lzf, ziplist};
use super::{
    CONTAINER_PACKED, CONTAINER_PLAIN, FOOTER_BYTES, RDB_VERSION, TYPE_HASH, TYPE_HASH_LISTPACK,
    TYPE_HASH_ZIPLIST, TYPE_HASH_ZIPMAP, TYPE_LIST, TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2,
    TYPE_LIST_ZIPLIST, TYPE_SET, TYPE_SET_INTSET, TYPE_STRING, TYPE_ZSET, TYPE_ZSET_2,
    TYPE_ZSET_LISTPACK, TYPE_ZSET_ZIPLIST,
};
use crate::string::STRING_BYTES_MAX;

/// Most bytes all the LZF strings of one payload may decompress to. LZF expands up to 88
/// times, so without this a 512 MiB payload could ask every replica for tens of GiB; 1 GiB
/// is Redis's default client query buffer limit, the most a client could have sent the
/// value uncompressed in. (Redis itself has no such bound.)
const DECOMPRESSED_BYTES_MAX: u64 = 1024 * 1024 * 1024;

/// Longest score text Redis's `zzlStrtod` looks at.
const SCORE_TEXT_BYTES_MAX: usize = 127;

/// String encodings after an `11` length prefix (`RDB_ENC_*`).
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// The payload does not hold a value quorum can restore: Redis's "Bad data format".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadFormat;

type Result<T> = std::result::Result<T, BadFormat>;

/// Whether the payload ends with an RDB version Redis 7.0 reads (at most 10) and the
/// CRC-64 of everything before the checksum (`verifyDumpPayload`).
pub(super) fn footer_ok(payload: &[u8]) -> bool {
    let Some(body_len) = payload.len().checked_sub(FOOTER_BYTES) else {
        return false;
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    version <= RDB_VERSION && crc64(&payload[..body_len + 2]) == u64::from_le_bytes(crc)
}

/// The value a payload (footer already checked) encodes.
pub(super) fn read_value(payload: &[u8]) -> Result<Value> {
    let mut r = Reader {
        buf: payload,
        pos: 0,
        lzf_budget: DECOMPRESSED_BYTES_MAX,
    };
    match r.byte()? {
        TYPE_STRING => Ok(Value::Str(r.string()?)),
        TYPE_LIST => r.list(),
        TYPE_SET => r.set(),
        TYPE_ZSET => r.zset(false),
        TYPE_ZSET_2 => r.zset(true),
        TYPE_HASH => r.hash(),
        TYPE_LIST_QUICKLIST => r.quicklist(false),
        TYPE_LIST_QUICKLIST_2 => r.quicklist(true),
        TYPE_HASH_ZIPMAP => {
            let blob = r.blob()?;
            hash_from(ziplist::zipmap_pairs(&blob).ok_or(BadFormat)?.into_iter())
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.blob()?;
            let list: ListValue = ziplist::elements(&blob)
                .ok_or(BadFormat)?
                .into_iter()
                .map(Element::to_bytes)
                .collect();
            non_empty(Value::List(list))
        }
        TYPE_SET_INTSET => {
            let blob = r.blob()?;
            let members = intset::members(&blob).ok_or(BadFormat)?;
            let set: SetValue = members
                .into_iter()
                .map(|n| Bytes::from(n.to_string()))
                .collect();
            Ok(Value::Set(set))
        }
        TYPE_ZSET_ZIPLIST => {
            let blob = r.blob()?;
            zset_from_pairs(&ziplist::elements(&blob).ok_or(BadFormat)?)
        }
        TYPE_ZSET_LISTPACK => {
            let blob = r.blob()?;
            zset_from_pairs(&listpack::elements(&blob).ok_or(BadFormat)?)
        }
        TYPE_HASH_ZIPLIST => {
            let blob = r.blob()?;
            hash_from_pairs(&ziplist::elements(&blob).ok_or(BadFormat)?)
        }
        TYPE_HASH_LISTPACK => {
            let blob = r.blob()?;
            hash_from_pairs(&listpack::elements(&blob).ok_or(BadFormat)?)
        }
        // Modules (6, 7), streams (15, 19: quorum has no streams) and anything Redis 7.0
        // does not know.
        _ => Err(BadFormat),
    }
}

/// A length as `rdbLoadLenByRef` reads it.
enum Length {
    /// A plain length or count.
    Plain(u64),
    /// `11xxxxxx`: a specially encoded string follows (`RDB_ENC_*`).
    Encoded(u8),
}

/// A cursor over the payload.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Decompressed bytes still allowed (see [`DECOMPRESSED_BYTES_MAX`]).
    lzf_budget: u64,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let byte = *self.buf.get(self.pos).ok_or(BadFormat)?;
        self.pos += 1;
        Ok(byte)
    }

    /// The next `n` bytes, if that many remain.
    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| BadFormat)?;
        let end = self.pos.checked_add(n).ok_or(BadFormat)?;
        let bytes = self.buf.get(self.pos..end).ok_or(BadFormat)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    /// `rdbLoadLenByRef`: 6-bit, 14-bit, 32-bit or 64-bit (big-endian) lengths.
    fn length(&mut self) -> Result<Length> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => Length::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.byte()?)),
            3 => Length::Encoded(first & 0x3f),
            _ if first == 0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            _ if first == 0x81 => Length::Plain(u64::from_be_bytes(self.array()?)),
            _ => return Err(BadFormat),
        })
    }

    /// `rdbLoadLen(rdb, NULL)`: a count. Redis ignores the "encoded" marker here and keeps
    /// its 6 bits as the count; so does this.
    fn count(&mut self) -> Result<u64> {
        Ok(match self.length()? {
            Length::Plain(n) => n,
            Length::Encoded(n) => u64::from(n),
        })
    }

    /// `rdbGenericLoadStringObject`: a raw string, an integer written as its decimal text,
    /// or an LZF-compressed string.
    fn blob(&mut self) -> Result<Cow<'a, [u8]>> {
        let decimal = |n: i64| Ok(Cow::Owned(n.to_string().into_bytes()));
        match self.length()? {
            Length::Plain(len) if len <= STRING_BYTES_MAX => Ok(Cow::Borrowed(self.take(len)?)),
            Length::Plain(_) => Err(BadFormat),
            Length::Encoded(ENC_INT8) => decimal(i64::from(i8::from_le_bytes(self.array()?))),
            Length::Encoded(ENC_INT16) => decimal(i64::from(i16::from_le_bytes(self.array()?))),
            Length::Encoded(ENC_INT32) => decimal(i64::from(i32::from_le_bytes(self.array()?))),
            Length::Encoded(ENC_LZF) => {
                let compressed_len = self.count()?;
                let len = self.count()?;
                if len > STRING_BYTES_MAX || len > self.lzf_budget {
                    return Err(BadFormat);
                }
                let compressed = self.take(compressed_len)?;
                let out = lzf::decompress(compressed, len as usize).ok_or(BadFormat)?;
                self.lzf_budget -= len;
                Ok(Cow::Owned(out))
            }
            Length::Encoded(_) => Err(BadFormat),
        }
    }

    fn string(&mut self) -> Result<Bytes> {
        Ok(match self.blob()? {
            Cow::Borrowed(bytes) => Bytes::copy_from_slice(bytes),
            Cow::Owned(bytes) => Bytes::from(bytes),
        })
    }

    /// A count that must not be zero: Redis refuses empty collections ("empty keys").
    fn collection_len(&mut self) -> Result<u64> {
        match self.count()? {
            0 => Err(BadFormat),
            n => Ok(n),
        }
    }

    /// `RDB_TYPE_LIST`: a count, then each element.
    fn list(&mut self) -> Result<Value> {
        let mut list = ListValue::new();
        for _ in 0..self.collection_len()? {
            list.push_back(self.string()?);
        }
        Ok(Value::List(list))
    }

    /// `RDB_TYPE_SET`: a count, then each member; a repeated member is refused.
    fn set(&mut self) -> Result<Value> {
        let mut set = SetValue::new();
        for _ in 0..self.collection_len()? {
            if !set.insert(self.string()?) {
                return Err(BadFormat);
            }
        }
        Ok(Value::Set(set))
    }

    /// `RDB_TYPE_ZSET` (scores as text) and `RDB_TYPE_ZSET_2` (binary doubles); NaN scores
    /// and repeated members are refused.
    fn zset(&mut self, binary_scores: bool) -> Result<Value> {
        let mut zset = ZSetValue::new();
        for _ in 0..self.collection_len()? {
            let member = self.string()?;
            let score = match binary_scores {
                true => f64::from_le_bytes(self.array()?),
                false => self.text_double()?,
            };
            if score.is_nan() || zset.insert(member, score).is_some() {
                return Err(BadFormat);
            }
        }
        Ok(Value::ZSet(zset))
    }

    /// `rdbLoadDoubleValue`: a length byte (253 NaN, 254 +inf, 255 -inf), then text read
    /// with `sscanf("%lg")`.
    fn text_double(&mut self) -> Result<f64> {
        match self.byte()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            len => strtod_prefix(self.take(u64::from(len))?).ok_or(BadFormat),
        }
    }

    /// `RDB_TYPE_HASH`: a count, then field and value strings; a repeated field is refused.
    fn hash(&mut self) -> Result<Value> {
        let mut hash = HashValue::new();
        for _ in 0..self.collection_len()? {
            let field = self.string()?;
            if hash.insert(field, self.string()?).is_some() {
                return Err(BadFormat);
            }
        }
        Ok(Value::Hash(hash))
    }

    /// `RDB_TYPE_LIST_QUICKLIST` (ziplist nodes) and `_2` (each node a container kind, then
    /// a listpack or, for `PLAIN`, one element). Empty nodes are skipped, as Redis does.
    fn quicklist(&mut self, v2: bool) -> Result<Value> {
        let mut list = ListValue::new();
        for _ in 0..self.collection_len()? {
            let container = match v2 {
                true => self.count()?,
                false => CONTAINER_PACKED,
            };
            if container != CONTAINER_PACKED && container != CONTAINER_PLAIN {
                return Err(BadFormat);
            }
            let node = self.blob()?;
            if node.is_empty() {
                return Err(BadFormat);
            }
            if container == CONTAINER_PLAIN {
                list.push_back(Bytes::copy_from_slice(&node));
                continue;
            }
            let elements = match v2 {
                true => listpack::elements(&node),
                false => ziplist::elements(&node),
            };
            for element in elements.ok_or(BadFormat)? {
                list.push_back(element.to_bytes());
            }
        }
        non_empty(Value::List(list))
    }
}

/// Refuses an empty collection (Redis's "empty keys").
fn non_empty(value: Value) -> Result<Value> {
    match value.is_empty_collection() {
        true => Err(BadFormat),
        false => Ok(value),
    }
}

/// Elements taken two by two; an odd count is refused.
fn pairs<'e, 'a>(
    elements: &'e [Element<'a>],
) -> Result<impl Iterator<Item = (Element<'a>, Element<'a>)> + 'e> {
    if !elements.len().is_multiple_of(2) {
        return Err(BadFormat);
    }
    Ok(elements.chunks_exact(2).map(|pair| (pair[0], pair[1])))
}

/// A hash from field, value, field, value... elements.
fn hash_from_pairs(elements: &[Element<'_>]) -> Result<Value> {
    let mut hash = HashValue::new();
    for (field, value) in pairs(elements)? {
        if hash.insert(field.to_bytes(), value.to_bytes()).is_some() {
            return Err(BadFormat);
        }
    }
    non_empty(Value::Hash(hash))
}

/// A hash from a zipmap's pairs.
fn hash_from<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Result<Value> {
    let mut hash = HashValue::new();
    for (field, value) in pairs {
        let (field, value) = (Bytes::copy_from_slice(field), Bytes::copy_from_slice(value));
        if hash.insert(field, value).is_some() {
            return Err(BadFormat);
        }
    }
    non_empty(Value::Hash(hash))
}

/// A sorted set from member, score, member, score... elements. Scores are read as Redis's
/// `zzlGetScore` reads them: integers as they are, text with `strtod` (0 when it is not a
/// number); NaN is refused.
fn zset_from_pairs(elements: &[Element<'_>]) -> Result<Value> {
    let mut zset = ZSetValue::new();
    for (member, score) in pairs(elements)? {
        let score = match score {
            Element::Int(n) => n as f64,
            Element::Str(text) => {
                strtod_prefix(&text[..text.len().min(SCORE_TEXT_BYTES_MAX)]).unwrap_or(0.0)
            }
        };
        if score.is_nan() || zset.insert(member.to_bytes(), score).is_some() {
            return Err(BadFormat);
        }
    }
    non_empty(Value::ZSet(zset))
}

/// C's `strtod` on `text`: skips leading white space and reads the longest prefix that is a
/// decimal number, `inf`, `infinity` or `nan` (any case, optional sign). `None` when no
/// prefix is a number. Hexadecimal floats, which Redis never writes, read as their `0`.
fn strtod_prefix(text: &[u8]) -> Option<f64> {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let start = i;
    let negative = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let word = |w: &[u8]| {
        text.get(i..i + w.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(w))
    };
    if word(b"inf") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if word(b"nan") {
        return Some(f64::NAN);
    }
    let mut digits = 0;
    while at(i).is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    let mantissa_end = i;
    let mut end = mantissa_end;
    if matches!(at(i), b'e' | b'E') {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            end = j;
        }
    }
    // Rust's parser wants a digit after the point ("1." and "1.e5" are C numbers).
    let mut number = String::from_utf8_lossy(&text[start..mantissa_end]).into_owned();
    if number.ends_with('.') {
        number.push('0');
    }
    number.push_str(&String::from_utf8_lossy(&text[mantissa_end..end]));
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::strtod_prefix;

    #[test]
    fn strtod_reads_the_longest_number_prefix() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1.5", Some(1.5)),
            ("  -2", Some(-2.0)),
            ("+3e2x", Some(300.0)),
            ("1.", Some(1.0)),
            ("1.e1", Some(10.0)),
            (".5", Some(0.5)),
            ("5e", Some(5.0)),
            ("5e+", Some(5.0)),
            ("-inf", Some(f64::NEG_INFINITY)),
            ("Infinity", Some(f64::INFINITY)),
            ("1e400", Some(f64::INFINITY)),
            ("abc", None),
            ("", None),
            (".", None),
            ("-", None),
            ("0x10", Some(0.0)),
        ];
        for (text, want) in cases {
            assert_eq!(strtod_prefix(text.as_bytes()), *want, "{text}");
        }
        assert!(strtod_prefix(b"nan").unwrap().is_nan());
    }
}
