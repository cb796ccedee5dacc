//! Two replicas that apply the same log — including retried (duplicate) proposals, leader time
//! stamps that go backwards, and a restart from a snapshot midway — hold byte-identical state
//! and give identical replies.

use bytes::Bytes;
use proptest::prelude::*;
use quorum_raft::{Op, Proposal, StateMachine};

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(vec!["a", "b", "c", "n"]);
    prop_oneof![
        (key.clone(), 0u32..100).prop_map(|(k, v)| cmd(&["SET", k, &v.to_string()])),
        (key.clone(), 1u32..5_000).prop_map(|(k, ms)| cmd(&["SET", k, "x", "PX", &ms.to_string()])),
        key.clone().prop_map(|k| cmd(&["INCR", k])),
        key.clone().prop_map(|k| cmd(&["APPEND", k, "z"])),
        key.clone().prop_map(|k| cmd(&["DEL", k])),
        (key.clone(), 1u32..10).prop_map(|(k, s)| cmd(&["EXPIRE", k, &s.to_string()])),
        key.prop_map(|k| Op::Expire {
            db: 0,
            keys: vec![Bytes::from(k)]
        }),
    ]
}

fn cmd(args: &[&str]) -> Op {
    Op::command(
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect(),
    )
}

/// A log of proposals from two proposers; some are repeated later (retries).
fn log_strategy() -> impl Strategy<Value = Vec<Proposal>> {
    prop::collection::vec(
        (
            0u64..2,
            prop::collection::vec(op_strategy(), 1..4),
            0u64..3_000,
            any::<bool>(),
        ),
        1..60,
    )
    .prop_map(|items| {
        let mut seqs = [0u64; 2];
        let mut log: Vec<Proposal> = Vec::new();
        for (proposer, ops, jitter_ms, retry) in items {
            if retry && !log.is_empty() {
                // Re-propose an earlier proposal unchanged, as a retry after a leader change.
                let earlier = log[log.len() / 2].clone();
                log.push(earlier);
                continue;
            }
            let p = proposer as usize;
            seqs[p] += 1;
            log.push(Proposal {
                proposer: proposer + 1,
                seq: seqs[p],
                floor: seqs[p].saturating_sub(3).max(1),
                // Leader clocks differ: time may go backwards between entries.
                time_ms: 1_000_000 + log.len() as u64 * 500 - jitter_ms,
                seed: log.len() as u64,
                maxmemory_bytes: 0,
                ops,
            });
        }
        log
    })
}

proptest! {
    #[test]
    fn replicas_applying_one_log_are_identical(log in log_strategy(), restart_at in 0usize..60) {
        let mut a = StateMachine::default();
        let mut b = StateMachine::default();
        for (i, proposal) in log.iter().enumerate() {
            if i == restart_at {
                // Replica b restarts from its own snapshot.
                b = StateMachine::decode(&b.encode()).expect("own snapshot decodes");
            }
            let reply_a = a.apply_proposal(proposal);
            let reply_b = b.apply_proposal(proposal);
            prop_assert_eq!(reply_a, reply_b);
        }
        prop_assert_eq!(a.encode(), b.encode());
    }

    #[test]
    fn a_retried_proposal_never_applies_twice(ops in prop::collection::vec(op_strategy(), 1..4)) {
        let mut sm = StateMachine::default();
        let first = Proposal { proposer: 9, seq: 1, floor: 1, time_ms: 5_000, seed: 1, maxmemory_bytes: 0, ops: ops.clone() };
        let mut incr = first.clone();
        incr.seq = 2;
        incr.ops = vec![cmd(&["INCR", "counter"])];
        let once = sm.apply_proposal(&incr);
        let state_after_once = sm.encode();
        let again = sm.apply_proposal(&incr);
        prop_assert_eq!(once, again);
        prop_assert_eq!(state_after_once, sm.encode());
        let _ = sm.apply_proposal(&first);
    }
}
