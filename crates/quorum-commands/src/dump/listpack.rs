//! Listpacks, Redis 7's compact sequence encoding (`listpack.c`): reading one from a DUMP
//! payload, with every check of `lpValidateIntegrity` in deep mode, and writing one for
//! DUMP's list nodes.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown), entries, 0xFF.
//! An entry is an encoding byte (7-bit uint, 13/16/24/32/64-bit int, 6/12/32-bit string
//! length), the data, then its own size written backwards ("backlen").
//!
//! Not here: what the elements mean (pairs for hashes and sorted sets: `rdb_read.rs`).

use bytes::Bytes;

use crate::parse::string_to_i64;

/// Header: total bytes (4) and element count (2).
const HEADER_BYTES: usize = 6;
/// The terminator byte.
const EOF: u8 = 0xff;
/// The element count that means "count them".
const COUNT_UNKNOWN: usize = 65535;

/// One element of a listpack or ziplist: bytes, or an integer the encoding stored as such.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Element<'a> {
    /// A string element.
    Str(&'a [u8]),
    /// An integer element (Redis reads it back as its decimal text).
    Int(i64),
}

impl Element<'_> {
    /// The element as Redis returns it: the bytes, or the integer's decimal text.
    pub(super) fn to_bytes(self) -> Bytes {
        match self {
            Element::Str(s) => Bytes::copy_from_slice(s),
            Element::Int(n) => Bytes::from(n.to_string()),
        }
    }
}

/// Every element of the listpack `lp`, or `None` when it is malformed in any way
/// `lpValidateIntegrity(lp, size, deep = 1)` would refuse.
pub(super) fn elements(lp: &[u8]) -> Option<Vec<Element<'_>>> {
    if lp.len() < HEADER_BYTES + 1 {
        return None;
    }
    let total = u32::from_le_bytes(lp[0..4].try_into().ok()?) as usize;
    if total != lp.len() || lp[lp.len() - 1] != EOF {
        return None;
    }
    let count = usize::from(u16::from_le_bytes([lp[4], lp[5]]));
    let end = lp.len() - 1;
    let mut out = Vec::new();
    let mut p = HEADER_BYTES;
    while lp[p] != EOF {
        let (element, size) = entry(&lp[p..end])?;
        let backlen_bytes = backlen_size(size);
        let next = p.checked_add(size)?.checked_add(backlen_bytes)?;
        // The entry and its backlen end at or before the terminator.
        if next > end {
            return None;
        }
        if decode_backlen(&lp[..next]).checked_add(backlen_bytes as u64)
            != Some((size + backlen_bytes) as u64)
        {
            return None;
        }
        out.push(element);
        p = next;
    }
    if p != end || (count != COUNT_UNKNOWN && count != out.len()) {
        return None;
    }
    Some(out)
}

/// Decodes the entry at the start of `rest` (which stops before the terminator): the
/// element and the size of its encoding byte(s) and data (without the backlen).
fn entry(rest: &[u8]) -> Option<(Element<'_>, usize)> {
    let first = *rest.first()?;
    let int = |n: usize| -> Option<i64> {
        let bytes = rest.get(1..1 + n)?;
        let mut value = 0i64;
        for (i, b) in bytes.iter().enumerate() {
            value |= i64::from(*b) << (8 * i);
        }
        // Sign-extend from n bytes.
        let shift = 64 - 8 * n as u32;
        Some((value << shift) >> shift)
    };
    let string = |header: usize, len: usize| -> Option<(Element<'_>, usize)> {
        let data = rest.get(header..header.checked_add(len)?)?;
        Some((Element::Str(data), header + len))
    };
    match first {
        0x00..=0x7f => Some((Element::Int(i64::from(first)), 1)),
        0x80..=0xbf => string(1, usize::from(first & 0x3f)),
        0xc0..=0xdf => {
            let second = *rest.get(1)?;
            let raw = (i64::from(first & 0x1f) << 8) | i64::from(second);
            // 13-bit two's complement.
            let value = if raw >= 1 << 12 { raw - (1 << 13) } else { raw };
            Some((Element::Int(value), 2))
        }
        0xe0..=0xef => {
            let second = *rest.get(1)?;
            string(2, (usize::from(first & 0x0f) << 8) | usize::from(second))
        }
        0xf0 => {
            let len = u32::from_le_bytes(rest.get(1..5)?.try_into().ok()?);
            string(5, len as usize)
        }
        0xf1 => Some((Element::Int(int(2)?), 3)),
        0xf2 => Some((Element::Int(int(3)?), 4)),
        0xf3 => Some((Element::Int(int(4)?), 5)),
        0xf4 => Some((Element::Int(int(8)?), 9)),
        _ => None,
    }
}

/// Bytes `lpEncodeBacklen` uses for an entry of `size` bytes (thresholds as in Redis).
fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// `lpEncodeBacklen`: the size written so that it reads backwards from the entry's end.
fn encode_backlen(size: usize, out: &mut Vec<u8>) {
    let n = backlen_size(size);
    // The first byte holds the highest 7-bit group without the continuation bit; the
    // following bytes hold lower groups with it set, the last byte the lowest.
    for i in (0..n).rev() {
        let group = ((size >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

/// `lpDecodeBacklen` on the bytes that end at `upto.len()`: reads 7-bit groups backwards
/// while the continuation bit is set, at most 5 of them.
fn decode_backlen(upto: &[u8]) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    for &byte in upto.iter().rev() {
        value |= u64::from(byte & 127) << shift;
        if byte & 128 == 0 {
            return value;
        }
        shift += 7;
        if shift > 28 {
            return u64::MAX;
        }
    }
    u64::MAX
}

/// Builds a listpack element by element, encoding integers as `lpAppend` does.
#[derive(Debug)]
pub(super) struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Writer {
    /// An empty listpack.
    pub(super) fn new() -> Self {
        Writer {
            buf: vec![0; HEADER_BYTES],
            count: 0,
        }
    }

    /// Bytes the listpack would have if finished now.
    pub(super) fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Number of elements.
    pub(super) fn count(&self) -> usize {
        self.count
    }

    /// Bytes `element` would add.
    pub(super) fn entry_bytes(element: &[u8]) -> usize {
        let size = match string_to_i64(element) {
            Some(n) => int_size(n),
            None => string_header(element.len()) + element.len(),
        };
        size + backlen_size(size)
    }

    /// Appends `element` (integers in their smallest integer encoding, as Redis does).
    pub(super) fn push(&mut self, element: &[u8]) {
        let start = self.buf.len();
        match string_to_i64(element) {
            Some(n) => self.push_int(n),
            None => {
                let len = element.len();
                match len {
                    0..=63 => self.buf.push(0x80 | len as u8),
                    64..=4095 => self
                        .buf
                        .extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]),
                    _ => {
                        self.buf.push(0xf0);
                        let len = u32::try_from(len).expect("elements are at most 512 MiB");
                        self.buf.extend_from_slice(&len.to_le_bytes());
                    }
                }
                self.buf.extend_from_slice(element);
            }
        }
        let size = self.buf.len() - start;
        encode_backlen(size, &mut self.buf);
        self.count += 1;
    }

    fn push_int(&mut self, n: i64) {
        let le = n.to_le_bytes();
        match n {
            0..=127 => self.buf.push(n as u8),
            -4096..=4095 => {
                let raw = (n & 0x1fff) as u16;
                self.buf
                    .extend_from_slice(&[0xc0 | (raw >> 8) as u8, raw as u8]);
            }
            -32768..=32767 => {
                self.buf.push(0xf1);
                self.buf.extend_from_slice(&le[..2]);
            }
            -8_388_608..=8_388_607 => {
                self.buf.push(0xf2);
                self.buf.extend_from_slice(&le[..3]);
            }
            -2_147_483_648..=2_147_483_647 => {
                self.buf.push(0xf3);
                self.buf.extend_from_slice(&le[..4]);
            }
            _ => {
                self.buf.push(0xf4);
                self.buf.extend_from_slice(&le);
            }
        }
    }

    /// The finished listpack: header filled in, terminator appended.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = u32::try_from(self.buf.len()).expect("list nodes are split well below 4 GiB");
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count.min(COUNT_UNKNOWN)).unwrap_or(u16::MAX);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Encoded size of an integer entry (without backlen).
fn int_size(n: i64) -> usize {
    match n {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

/// Bytes of a string entry's encoding header.
fn string_header(len: usize) -> usize {
    match len {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_listpacks_read_back_with_every_encoding() {
        let long = vec![b'x'; 70_000];
        let items: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"-32768",
            b"32767",
            b"8388607",
            b"-8388608",
            b"2147483647",
            b"-2147483648",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"",
            b"a",
            b"01",
            b"-0",
            b"1.5",
            &[b'y'; 63],
            &[b'y'; 64],
            &[b'z'; 4095],
            &[b'z'; 4096],
            &long,
        ];
        let mut w = Writer::new();
        for item in &items {
            let before = w.bytes();
            w.push(item);
            assert_eq!(w.bytes() - before, Writer::entry_bytes(item));
        }
        let lp = w.finish();
        let back: Vec<Bytes> = elements(&lp)
            .unwrap()
            .into_iter()
            .map(Element::to_bytes)
            .collect();
        let want: Vec<Bytes> = items.iter().map(|i| Bytes::copy_from_slice(i)).collect();
        assert_eq!(back, want);
        assert!(matches!(elements(&lp).unwrap()[0], Element::Int(0)));
        assert!(matches!(elements(&lp).unwrap()[16], Element::Str(b"01")));
    }

    #[test]
    fn reads_what_redis_wrote_and_refuses_damage() {
        // Redis 7.0.15's listpack for RPUSH l a 1 -1 (from a DUMP).
        let lp = b"\x0f\x00\x00\x00\x03\x00\x81a\x02\x01\x01\xdf\xff\x02\xff";
        let got = elements(lp).unwrap();
        assert_eq!(
            got,
            vec![Element::Str(b"a"), Element::Int(1), Element::Int(-1)]
        );
        let mut bad = lp.to_vec();
        bad[4] = 2; // wrong count
        assert!(elements(&bad).is_none());
        let mut bad = lp.to_vec();
        bad[8] = 3; // wrong backlen
        assert!(elements(&bad).is_none());
        let mut bad = lp.to_vec();
        bad[0] = 16; // wrong total
        assert!(elements(&bad).is_none());
        let mut bad = lp.to_vec();
        bad[6] = 0xf5; // invalid encoding
        assert!(elements(&bad).is_none());
        assert!(elements(b"\x07\x00\x00\x00\x00\x00\xff")
            .unwrap()
            .is_empty());
        assert!(elements(b"\x07\x00\x00\x00\x01\x00\xff").is_none());
    }
}
