//! The on-disk encoding of a Raft log entry, with a format version so that a log written by
//! an older quorum still loads.
//!
//! ```text
//! version 2 and later:  "QE" | version u8 | 0 0 0 0 | 0xFF | bincode(Entry)
//! version 1 (legacy):   bincode(Entry) with the version-1 Proposal (no seed, database 0)
//! ```
//!
//! A version-1 record starts with the entry's term as a little-endian u64, whose eighth byte
//! is 0 for any term below 2^56; a header ends in 0xFF, so the two cannot be confused.
//! Decoding treats the bytes as untrusted: a bad record is an error, never a panic.
//!
//! Not here: the network encoding of entries (`quorum-rpc` sends the current types; nodes of
//! one cluster run one version), snapshots (`state_machine.rs`).

use bytes::Bytes;
use openraft::{Entry, EntryPayload, Membership};
use serde::Deserialize;

use crate::proposal::{Op, Proposal};
use crate::{LogId, Node, TypeConfig};

/// The entry format this build writes.
pub const ENTRY_FORMAT_VERSION: u8 = 2;
const HEADER: [u8; 8] = [b'Q', b'E', ENTRY_FORMAT_VERSION, 0, 0, 0, 0, 0xFF];

/// Encodes an entry in the current format.
pub fn encode_entry(entry: &Entry<TypeConfig>) -> Result<Vec<u8>, bincode::Error> {
    let body = bincode::serialize(entry)?;
    let mut out = Vec::with_capacity(HEADER.len() + body.len());
    out.extend_from_slice(&HEADER);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes an entry written by this or an older version.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry<TypeConfig>, bincode::Error> {
    match bytes {
        [b'Q', b'E', version, 0, 0, 0, 0, 0xFF, body @ ..] => match *version {
            ENTRY_FORMAT_VERSION => bincode::deserialize(body),
            other => Err(Box::new(bincode::ErrorKind::Custom(format!(
                "log entry format version {other} is not one this build reads (it reads 1 and {ENTRY_FORMAT_VERSION})"
            )))),
        },
        _ => bincode::deserialize::<EntryV1>(bytes).map(EntryV1::upgrade),
    }
}

/// A version-1 entry: the same layout as `openraft::Entry`, with the proposal of then.
#[derive(Deserialize)]
struct EntryV1 {
    log_id: LogId,
    payload: PayloadV1,
}

/// `openraft::EntryPayload` with the version-1 proposal (same variants, same order).
#[derive(Deserialize)]
enum PayloadV1 {
    Blank,
    Normal(ProposalV1),
    Membership(Membership<quorum_types::NodeId, Node>),
}

/// The version-1 proposal: no seed (no command made random choices then).
#[derive(Deserialize)]
struct ProposalV1 {
    proposer: u64,
    seq: u64,
    floor: u64,
    time_ms: u64,
    ops: Vec<OpV1>,
}

/// A version-1 operation: there was only database 0.
#[derive(Deserialize)]
enum OpV1 {
    Command(Vec<Bytes>),
    Expire(Vec<Bytes>),
}

impl OpV1 {
    fn upgrade(self) -> Op {
        match self {
            OpV1::Command(args) => Op::Command { db: 0, args },
            OpV1::Expire(keys) => Op::Expire { db: 0, keys },
        }
    }
}

impl EntryV1 {
    fn upgrade(self) -> Entry<TypeConfig> {
        let payload = match self.payload {
            PayloadV1::Blank => EntryPayload::Blank,
            PayloadV1::Membership(m) => EntryPayload::Membership(m),
            PayloadV1::Normal(p) => EntryPayload::Normal(Proposal {
                // Any fixed function of the entry works: version-1 commands never drew on it.
                seed: p.proposer ^ p.seq,
                // Version 1 had no memory limit.
                maxmemory_bytes: 0,
                proposer: p.proposer,
                seq: p.seq,
                floor: p.floor,
                time_ms: p.time_ms,
                ops: p.ops.into_iter().map(OpV1::upgrade).collect(),
            }),
        };
        Entry {
            log_id: self.log_id,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    #[test]
    fn round_trip_and_refusals() {
        let entry = Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(3, 1), 9),
            payload: EntryPayload::Normal(Proposal {
                proposer: 1,
                seq: 2,
                floor: 1,
                time_ms: 5,
                seed: 77,
                maxmemory_bytes: 0,
                ops: vec![Op::command(vec![Bytes::from_static(b"SPOP")])],
            }),
        };
        let bytes = encode_entry(&entry).unwrap();
        assert_eq!(decode_entry(&bytes).unwrap(), entry);
        let mut future = bytes.clone();
        future[2] = 9;
        assert!(decode_entry(&future)
            .unwrap_err()
            .to_string()
            .contains("version 9"));
        for cut in 0..bytes.len() {
            assert!(decode_entry(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
