//! How one log entry is stored inside raft-engine: a protobuf `BytesValue` whose bytes are the
//! entry's index (8 bytes, big-endian) followed by the caller's payload.
//!
//! raft-engine requires entries to be rust-protobuf 2.x messages and asks the message type for the
//! entry's index (`MessageExt::index`). Reusing a well-known wrapper type avoids generating protobuf
//! code; the index prefix lets `index` read it back without a schema. This is not a format anyone
//! else reads: raft-engine adds the checksums and framing around it.

use bytes::Bytes;
use protobuf::well_known_types::BytesValue;
use raft_engine::MessageExt;

/// Length of the big-endian index prefix in front of each payload.
const INDEX_PREFIX_BYTES: usize = 8;

/// Marker type that tells raft-engine how to find the index of a stored entry.
#[derive(Debug)]
pub(crate) struct EntryCodec;

impl MessageExt for EntryCodec {
    type Entry = BytesValue;

    fn index(e: &BytesValue) -> u64 {
        // Only entries built by `encode` reach raft-engine's write path, so the prefix exists; a
        // short value read back from disk is rejected by `decode` before anyone trusts it.
        debug_assert!(e.value.len() >= INDEX_PREFIX_BYTES);
        prefix_index(&e.value).unwrap_or(0)
    }
}

fn prefix_index(value: &[u8]) -> Option<u64> {
    let prefix: [u8; INDEX_PREFIX_BYTES] = value.get(..INDEX_PREFIX_BYTES)?.try_into().ok()?;
    Some(u64::from_be_bytes(prefix))
}

/// Wraps `(index, payload)` as a message raft-engine can store.
pub(crate) fn encode(index: u64, payload: &[u8]) -> BytesValue {
    let mut value = Vec::with_capacity(INDEX_PREFIX_BYTES + payload.len());
    value.extend_from_slice(&index.to_be_bytes());
    value.extend_from_slice(payload);
    let mut message = BytesValue::new();
    message.value = value;
    message
}

/// Unwraps a stored message; `None` if it is too short to carry an index.
pub(crate) fn decode(message: BytesValue) -> Option<(u64, Bytes)> {
    let index = prefix_index(&message.value)?;
    let payload = Bytes::from(message.value).slice(INDEX_PREFIX_BYTES..);
    Some((index, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protobuf::Message;

    #[test]
    fn round_trips_through_protobuf_bytes() {
        let message = encode(0x0102_0304_0506_0708, b"hello");
        assert_eq!(EntryCodec::index(&message), 0x0102_0304_0506_0708);
        let bytes = message.write_to_bytes().unwrap();
        let parsed = BytesValue::parse_from_bytes(&bytes).unwrap();
        assert_eq!(
            decode(parsed),
            Some((0x0102_0304_0506_0708, Bytes::from_static(b"hello")))
        );
    }

    #[test]
    fn empty_payload_and_short_value() {
        assert_eq!(decode(encode(7, b"")), Some((7, Bytes::new())));
        let mut short = BytesValue::new();
        short.value = vec![1, 2, 3];
        assert_eq!(decode(short), None);
    }
}
