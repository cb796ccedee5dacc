//! No byte string makes RESTORE panic: random payloads (with and without a correct footer)
//! and valid payloads with a few bytes changed (footer recomputed, so the decoder sees
//! them) must be restored or refused with one of RESTORE's errors, and whatever is restored
//! must survive quorum's own DUMP and RESTORE unchanged.

use proptest::prelude::*;

use crate::common::Harness;
use crate::{dump, hex, legacy, redis_dumps, restore, value, with_footer};
use crate::{BAD_DATA, BAD_FOOTER};

/// The replies RESTORE may give to a payload with a correct footer.
fn acceptable(reply: &str) -> bool {
    matches!(reply, "+OK" | BAD_DATA | BAD_FOOTER)
}

/// Restores `payload` into `k` (REPLACE), and when that works, checks that quorum's DUMP of
/// the result restores to an equal value.
fn restore_and_round_trip(h: &mut Harness, payload: &[u8]) -> Result<(), TestCaseError> {
    let reply = restore(h, "k", "0", payload, &["REPLACE"]);
    prop_assert!(acceptable(&reply), "{reply}");
    if reply == "+OK" {
        let again = dump(h, "k").expect("restored");
        prop_assert_eq!(restore(h, "k2", "0", &again, &["REPLACE"]), "+OK");
        prop_assert_eq!(value(h, "k2"), value(h, "k"));
    }
    Ok(())
}

/// Every fixture payload, Redis's and hand-built, and quorum's DUMPs of assorted values.
fn seed_payloads() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = [
        redis_dumps::STR,
        redis_dumps::INT16,
        redis_dumps::LZF,
        redis_dumps::LIST,
        redis_dumps::INTSET,
        redis_dumps::SET,
        redis_dumps::HASH,
        redis_dumps::ZSET,
        legacy::QUICKLIST_V1,
        legacy::ZIPLIST_HASH,
        legacy::ZIPLIST_ZSET,
        legacy::ZIPMAP,
        legacy::PLAIN_LIST,
        legacy::TEXT_SCORES,
        legacy::PLAIN_NODE,
    ]
    .iter()
    .map(|p| hex(p))
    .collect();
    let mut h = Harness::default();
    for line in [
        "RPUSH l a 1 -70000 b",
        "SADD s a b",
        "HSET h f 1",
        "ZADD z 1 a 2.5 b",
    ] {
        h.line(line);
    }
    seeds.extend(
        ["l", "s", "h", "z"]
            .iter()
            .map(|k| dump(&mut h, k).unwrap()),
    );
    seeds
}

/// A change to a payload's body: overwrite, insert or remove a byte, or cut the tail.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutate(body: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *mutation {
        Mutation::Set(i, byte) if !body.is_empty() => {
            let i = at(i, body.len());
            body[i] = byte;
        }
        Mutation::Insert(i, byte) => body.insert(at(i, body.len() + 1), byte),
        Mutation::Remove(i) if !body.is_empty() => {
            body.remove(at(i, body.len()));
        }
        Mutation::Truncate(n) => body.truncate(n),
        _ => {}
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Remove),
        1 => (0usize..64).prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random bodies, with a correct footer (so the decoder sees them) or as they are.
    #[test]
    fn restore_never_panics_on_random_payloads(
        body in proptest::collection::vec(any::<u8>(), 0..200),
        footer in any::<bool>(),
    ) {
        let mut h = Harness::default();
        let payload = if footer { with_footer(&body, 10) } else { body };
        restore_and_round_trip(&mut h, &payload)?;
    }

    /// Valid payloads with a few bytes changed and the footer recomputed.
    #[test]
    fn restore_never_panics_on_mutated_payloads(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seed_payloads();
        let payload = seed.get(&seeds);
        let mut body = payload[..payload.len() - 10].to_vec();
        for m in &mutations {
            mutate(&mut body, m);
        }
        let mut h = Harness::default();
        restore_and_round_trip(&mut h, &with_footer(&body, 10))?;
    }
}
