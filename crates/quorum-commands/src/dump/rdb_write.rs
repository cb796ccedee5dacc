//! Writing a DUMP payload: one value in an RDB encoding Redis 7.0's RESTORE accepts, then
//! the RDB version (10, little-endian) and the CRC-64 of everything before it.
//!
//! The simplest encodings Redis still reads, not the compact ones it would pick itself:
//! strings raw (integers up to 32 bits in Redis's integer form, never LZF), lists as
//! quicklist v2 with listpack nodes of about 8 KiB (Redis's default `list-max-listpack-size
//! -2`), sets as plain member lists, sorted sets with binary scores (`RDB_TYPE_ZSET_2`),
//! hashes as plain field/value lists. Redis converts them to its compact forms on RESTORE
//! when they are small enough, as when it loads them from an RDB file.
//!
//! Not here: reading (`rdb_read.rs`).

use quorum_keyspace::{ListValue, Value};

use super::crc64::crc64;
use super::listpack;
use super::{
    CONTAINER_PACKED, CONTAINER_PLAIN, RDB_VERSION, TYPE_HASH, TYPE_LIST_QUICKLIST_2, TYPE_SET,
    TYPE_STRING, TYPE_ZSET_2,
};
use crate::parse::string_to_i64;

/// Listpack bytes at which a list node is closed (Redis's default node size).
const NODE_BYTES_MAX: usize = 8 * 1024;
/// Elements at least this large get a node of their own, unencoded (`PLAIN`), as Redis's
/// `packed_threshold` (1 GiB) does.
const PLAIN_ELEMENT_BYTES_MIN: usize = 1024 * 1024 * 1024;

/// The DUMP payload of `value`.
pub(super) fn payload(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Value::Str(s) => {
            out.push(TYPE_STRING);
            write_string(&mut out, s);
        }
        Value::List(list) => {
            out.push(TYPE_LIST_QUICKLIST_2);
            write_quicklist(&mut out, list);
        }
        Value::Set(set) => {
            out.push(TYPE_SET);
            write_len(&mut out, set.len() as u64);
            for member in set.iter() {
                write_string(&mut out, member);
            }
        }
        Value::ZSet(zset) => {
            out.push(TYPE_ZSET_2);
            write_len(&mut out, zset.len() as u64);
            for (member, score) in zset.iter() {
                write_string(&mut out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
        Value::Hash(hash) => {
            out.push(TYPE_HASH);
            write_len(&mut out, hash.len() as u64);
            for (field, value) in hash.iter() {
                write_string(&mut out, field);
                write_string(&mut out, value);
            }
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `rdbSaveLen`: 6-bit, 14-bit, or 32/64-bit big-endian after a marker byte.
fn write_len(out: &mut Vec<u8>, len: u64) {
    match len {
        0..=63 => out.push(len as u8),
        64..=16383 => out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]),
        _ => match u32::try_from(len) {
            Ok(len) => {
                out.push(0x80);
                out.extend_from_slice(&len.to_be_bytes());
            }
            Err(_) => {
                out.push(0x81);
                out.extend_from_slice(&len.to_be_bytes());
            }
        },
    }
}

/// `rdbSaveRawString` without compression: an integer that fits 32 bits in its encoded
/// form (as Redis writes short numbers), anything else as length and bytes.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = string_to_i64(s) {
            if let Ok(n) = i8::try_from(n) {
                out.push(0xc0);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
            if let Ok(n) = i16::try_from(n) {
                out.push(0xc1);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
            if let Ok(n) = i32::try_from(n) {
                out.push(0xc2);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A list as quicklist v2: the node count, then each node's container kind and listpack
/// (or, for a huge element, the element itself).
fn write_quicklist(out: &mut Vec<u8>, list: &ListValue) {
    let mut nodes: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut node = listpack::Writer::new();
    for element in list.iter() {
        if element.len() >= PLAIN_ELEMENT_BYTES_MIN {
            if node.count() > 0 {
                let full = std::mem::replace(&mut node, listpack::Writer::new());
                nodes.push((CONTAINER_PACKED, full.finish()));
            }
            nodes.push((CONTAINER_PLAIN, element.to_vec()));
            continue;
        }
        let grows_to = node.bytes() + listpack::Writer::entry_bytes(element);
        if node.count() > 0 && grows_to > NODE_BYTES_MAX {
            let full = std::mem::replace(&mut node, listpack::Writer::new());
            nodes.push((CONTAINER_PACKED, full.finish()));
        }
        node.push(element);
    }
    if node.count() > 0 {
        nodes.push((CONTAINER_PACKED, node.finish()));
    }
    write_len(out, nodes.len() as u64);
    for (container, bytes) in nodes {
        write_len(out, container);
        write_len(out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use quorum_keyspace::{HashValue, SetValue, ZSetValue};

    use super::*;
    use crate::dump::rdb_read::{footer_ok, read_value};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn strings_are_written_as_redis_writes_them() {
        // Byte for byte what Redis 7.0.15's DUMP gives for these.
        assert_eq!(
            payload(&Value::Str(b("hello"))),
            b"\x00\x05hello\n\x00cr\xdfve4 \n"
        );
        assert_eq!(
            payload(&Value::Str(b("12345"))),
            b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9"
        );
        assert_eq!(
            payload(&Value::Str(b("-9223372036854775808"))),
            b"\x00\x14-9223372036854775808\n\x00\xed\xe2\xb9V\xebp\x9e\x81"
        );
    }

    #[test]
    fn every_type_reads_back_equal() {
        let big: ListValue = (0..5000)
            .map(|i| Bytes::from(format!("element-{i}")))
            .collect();
        let values = [
            Value::Str(Bytes::new()),
            Value::Str(Bytes::from(vec![7u8; 100_000])),
            Value::Str(b("2147483648")),
            Value::Str(b("-128")),
            Value::List([b("a"), b("1"), b(""), b("-99999")].into_iter().collect()),
            Value::List(big),
            Value::Set([b("x"), b("2"), b("")].into_iter().collect::<SetValue>()),
            Value::ZSet(
                [(b("m"), 1.5), (b("n"), f64::NEG_INFINITY), (b("o"), -0.0)]
                    .into_iter()
                    .collect::<ZSetValue>(),
            ),
            Value::Hash(
                [(b("f"), b("v")), (b(""), b("12"))]
                    .into_iter()
                    .collect::<HashValue>(),
            ),
        ];
        for value in values {
            let bytes = payload(&value);
            assert!(footer_ok(&bytes));
            assert_eq!(read_value(&bytes), Ok(value));
        }
    }

    #[test]
    fn long_lists_split_into_nodes_of_about_8_kib() {
        let list: ListValue = (0..3000).map(|i| Bytes::from(format!("{i:08}x"))).collect();
        let bytes = payload(&Value::List(list));
        assert_eq!(bytes[0], TYPE_LIST_QUICKLIST_2);
        // 3000 entries of 12 bytes: 36 KB in 5 nodes.
        assert_eq!(bytes[1], 5);
    }
}
