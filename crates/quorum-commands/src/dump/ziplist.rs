//! The encodings of payloads from Redis before 7.0, read only: ziplists (`ziplist.c`, lists,
//! hashes and sorted sets up to 6.2, and quicklist v1 nodes) and zipmaps (`zipmap.c`,
//! hashes up to 2.4). Checked as Redis 7.0 checks them when it loads one, which is always
//! in deep mode.
//!
//! Ziplist: total bytes (u32 LE), offset of the last entry (u32 LE), count (u16 LE, 65535 =
//! unknown), entries, 0xFF. An entry is the previous entry's size (1 byte, or 0xFE and a
//! u32 LE), an encoding (6/14/32-bit string length, 8/16/24/32/64-bit int, or a 4-bit
//! immediate 0..=12), then the data.
//!
//! Not here: writing (Redis 7.0 accepts the newer encodings quorum writes).

use super::listpack::Element;

/// Header: total bytes, tail offset, count.
const HEADER_BYTES: usize = 10;
/// The terminator byte.
const END: u8 = 0xff;
/// The first byte of a 5-byte previous-entry size.
const BIG_PREVLEN: u8 = 0xfe;
/// The count that means "count them".
const COUNT_UNKNOWN: usize = 65535;

/// Every element of the ziplist `zl`, or `None` when `ziplistValidateIntegrity(deep = 1)`
/// would refuse it.
pub(super) fn elements(zl: &[u8]) -> Option<Vec<Element<'_>>> {
    if zl.len() < HEADER_BYTES + 1 {
        return None;
    }
    let total = u32::from_le_bytes(zl[0..4].try_into().ok()?) as usize;
    let tail = u32::from_le_bytes(zl[4..8].try_into().ok()?) as usize;
    let count = usize::from(u16::from_le_bytes([zl[8], zl[9]]));
    let last = zl.len() - 1;
    if total != zl.len() || zl[last] != END || tail > last {
        return None;
    }
    let mut out = Vec::new();
    let mut p = HEADER_BYTES;
    let mut prev_size = 0;
    let mut prev_start = None;
    while zl[p] != END {
        let (element, size, prevlen) = entry(&zl[p..last])?;
        if prevlen != prev_size {
            return None;
        }
        out.push(element);
        prev_start = Some(p);
        prev_size = size;
        p += size;
    }
    if p != last || prev_start.is_some_and(|start| start != tail) {
        return None;
    }
    if count != COUNT_UNKNOWN && count != out.len() {
        return None;
    }
    Some(out)
}

/// Decodes the entry at the start of `rest` (which stops before the terminator): the
/// element, the entry's whole size, and the previous entry's size it records.
fn entry(rest: &[u8]) -> Option<(Element<'_>, usize, usize)> {
    let (prevlen, mut p) = match *rest.first()? {
        BIG_PREVLEN => {
            let bytes = rest.get(1..5)?;
            (u32::from_le_bytes(bytes.try_into().ok()?) as usize, 5)
        }
        small => (usize::from(small), 1),
    };
    let encoding = *rest.get(p)?;
    let int = |at: usize, n: usize| -> Option<i64> {
        let bytes = rest.get(at..at + n)?;
        let mut value = 0i64;
        for (i, b) in bytes.iter().enumerate() {
            value |= i64::from(*b) << (8 * i);
        }
        let shift = 64 - 8 * n as u32;
        Some((value << shift) >> shift)
    };
    let (element, end) = match encoding {
        0x00..=0x3f => string(rest, p + 1, usize::from(encoding & 0x3f))?,
        0x40..=0x7f => {
            let second = *rest.get(p + 1)?;
            string(
                rest,
                p + 2,
                (usize::from(encoding & 0x3f) << 8) | usize::from(second),
            )?
        }
        0x80..=0xbf => {
            // Redis masks a string encoding to its top two bits: all of these are 32-bit.
            let len = u32::from_be_bytes(rest.get(p + 1..p + 5)?.try_into().ok()?);
            string(rest, p + 5, len as usize)?
        }
        0xc0 => (Element::Int(int(p + 1, 2)?), p + 3),
        0xd0 => (Element::Int(int(p + 1, 4)?), p + 5),
        0xe0 => (Element::Int(int(p + 1, 8)?), p + 9),
        0xf0 => (Element::Int(int(p + 1, 3)?), p + 4),
        0xfe => (Element::Int(int(p + 1, 1)?), p + 2),
        0xf1..=0xfd => (Element::Int(i64::from(encoding & 0x0f) - 1), p + 1),
        _ => return None,
    };
    p = end;
    Some((element, p, prevlen))
}

/// A string element of `len` bytes at `at`, and where the entry ends.
fn string(rest: &[u8], at: usize, len: usize) -> Option<(Element<'_>, usize)> {
    let end = at.checked_add(len)?;
    Some((Element::Str(rest.get(at..end)?), end))
}

/// The zipmap's end marker.
const ZIPMAP_END: u8 = 0xff;
/// A zipmap length byte saying "a u32 LE follows"; in the header, "count unknown".
const ZIPMAP_BIGLEN: u8 = 254;

/// The (field, value) pairs of the zipmap `zm`, or `None` when
/// `zipmapValidateIntegrity(deep = 1)` would refuse it (it also refuses an empty zipmap).
pub(super) fn zipmap_pairs(zm: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 || zm[zm.len() - 1] != ZIPMAP_END {
        return None;
    }
    let last = zm.len() - 1;
    // A position past the last byte is out of range (Redis's OUT_OF_RANGE).
    let within = |p: usize| (p <= last).then_some(p);
    let length = |p: usize| -> Option<(usize, usize)> {
        match zm[p] {
            b if b < ZIPMAP_BIGLEN => Some((usize::from(b), 1)),
            _ => {
                let bytes = zm.get(p + 1..p + 5)?;
                Some((u32::from_le_bytes(bytes.try_into().ok()?) as usize, 5))
            }
        }
    };
    let mut pairs = Vec::new();
    let mut p = 1;
    while zm[p] != ZIPMAP_END {
        let (field_len, size) = length(p)?;
        let field_at = within(p + size)?;
        let value_len_at = within(field_at.checked_add(field_len)?)?;
        let (value_len, size) = length(value_len_at)?;
        let free_at = within(value_len_at + size)?;
        let free = usize::from(zm[free_at]);
        let value_at = free_at + 1;
        let next = within(value_at.checked_add(value_len)?.checked_add(free)?)?;
        pairs.push((
            &zm[field_at..field_at + field_len],
            &zm[value_at..value_at + value_len],
        ));
        p = next;
    }
    let header = zm[0];
    if pairs.is_empty() || (header != ZIPMAP_BIGLEN && usize::from(header) != pairs.len()) {
        return None;
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist of `entries` (each already encoded, without its prevlen).
    pub(crate) fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER_BYTES;
        for e in entries {
            tail = HEADER_BYTES + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(BIG_PREVLEN);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let total = HEADER_BYTES + body.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    #[test]
    fn reads_every_ziplist_encoding() {
        let long = [&[0x40u8, 100][..], &[b'q'; 100]].concat();
        let huge = [&[0x80u8, 0, 0, 1, 0][..], &[b'h'; 256]].concat();
        let zl = ziplist(&[
            b"\x01a",
            &long,
            &huge,
            b"\xc0\x00\x80",
            b"\xd0\xff\xff\xff\x7f",
            b"\xe0\x00\x00\x00\x00\x00\x00\x00\x80",
            b"\xf0\xff\xff\xff",
            b"\xfe\x80",
            b"\xf1",
            b"\xfd",
            b"\x00",
        ]);
        let got = elements(&zl).unwrap();
        assert_eq!(got[0], Element::Str(b"a"));
        assert_eq!(got[1], Element::Str(&[b'q'; 100]));
        assert_eq!(got[2], Element::Str(&[b'h'; 256]));
        let ints: Vec<Element> = got[3..10].to_vec();
        assert_eq!(
            ints,
            [-32768, i64::from(i32::MAX), i64::MIN, -1, -128, 0, 12].map(Element::Int)
        );
        assert_eq!(got[10], Element::Str(b""));
        // The 262-byte entry makes the next one's prevlen take 5 bytes.
        assert_eq!(zl[HEADER_BYTES + 3 + 103 + 262], BIG_PREVLEN);
    }

    #[test]
    fn refuses_damaged_ziplists() {
        let zl = ziplist(&[b"\x01a", b"\x01b"]);
        assert_eq!(elements(&zl).unwrap().len(), 2);
        for (at, byte) in [
            (0, 0),
            (4, 10),
            (8, 3),
            (10, 1),
            (13, 0),
            (13, 9),
            (14, 0xc1),
        ] {
            let mut bad = zl.clone();
            bad[at] = byte;
            assert!(elements(&bad).is_none(), "byte {at} = {byte}");
        }
        assert!(elements(&ziplist(&[])).unwrap().is_empty());
        assert!(elements(&zl[..zl.len() - 1]).is_none());
    }

    #[test]
    fn reads_zipmaps() {
        // {"f": "vv", "g": ""} with one free byte after "vv".
        let zm = b"\x02\x01f\x02\x01vvX\x01g\x00\x00\xff";
        let pairs = zipmap_pairs(zm).unwrap();
        assert_eq!(pairs, vec![(&b"f"[..], &b"vv"[..]), (&b"g"[..], &b""[..])]);
        assert!(zipmap_pairs(b"\x00\xff").is_none());
        assert!(zipmap_pairs(b"\x03\x01f\x02\x01vvX\x01g\x00\x00\xff").is_none());
        assert!(zipmap_pairs(b"\x01\x01f\x09\x00vv\xff").is_none());
        assert!(zipmap_pairs(b"\xfe\x01f\x00\x00\xff").is_some());
    }
}
