//! Log entries written by older versions still load: `fixtures/log-entries-v1.bin` holds
//! entries encoded by quorum before the entry format had a version (written with that
//! code, length-prefixed with a u32 each), and they must decode to what was written then.

use bytes::Bytes;
use openraft::EntryPayload;
use quorum_raft::{decode_entry, encode_entry, Op};

fn fixture_entries(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    out
}

#[test]
fn version_1_entries_decode_and_reencode_in_the_current_format() {
    let bytes = include_bytes!("fixtures/log-entries-v1.bin");
    let entries = fixture_entries(bytes);
    assert_eq!(entries.len(), 2);

    let blank = decode_entry(entries[0]).unwrap();
    assert_eq!((blank.log_id.leader_id.term, blank.log_id.index), (1, 1));
    assert!(matches!(blank.payload, EntryPayload::Blank));

    let normal = decode_entry(entries[1]).unwrap();
    assert_eq!((normal.log_id.leader_id.term, normal.log_id.index), (2, 7));
    let EntryPayload::Normal(proposal) = &normal.payload else {
        panic!("expected a normal entry, got {:?}", normal.payload);
    };
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    assert_eq!(proposal.proposer, 0xdead_beef_0102_0304);
    assert_eq!((proposal.seq, proposal.floor), (5, 3));
    assert_eq!(proposal.time_ms, 1_700_000_000_123);
    assert_eq!(
        proposal.ops,
        vec![
            Op::Command {
                db: 0,
                args: vec![b("SET"), b("k"), b("v")]
            },
            Op::Expire {
                db: 0,
                keys: vec![b("gone")]
            },
            Op::Command {
                db: 0,
                args: vec![b("INCR"), b("n")]
            },
        ]
    );

    // Written again, an old entry takes the current format and reads back the same.
    let again = encode_entry(&normal).unwrap();
    assert_ne!(&again[..], entries[1]);
    assert_eq!(decode_entry(&again).unwrap(), normal);
}
