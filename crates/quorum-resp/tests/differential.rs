//! Differential test: on well-formed multibulk streams, and on every prefix of them, the
//! decoder must agree with the `redis-protocol` crate (6.x) used as an oracle. Not here:
//! malformed input, where the two differ on purpose (the oracle has no inline commands, no
//! limits and other error texts).

mod common;

use bytes::Bytes;
use common::{encode_multibulk, feed};
use proptest::prelude::*;
use quorum_resp::Request;
use quorum_types::Limits;
use redis_protocol::resp2::{decode::decode, types::OwnedFrame};

/// Everything the oracle decodes from `stream` as requests: arrays of bulk strings, skipping
/// empty and null arrays as Redis does. Stops at the first incomplete frame.
fn oracle(stream: &[u8]) -> Vec<Request> {
    let mut requests = Vec::new();
    let mut at = 0;
    while let Some((frame, used)) = decode(&stream[at..]).expect("well-formed input") {
        at += used;
        match frame {
            OwnedFrame::Array(items) if items.is_empty() => {}
            OwnedFrame::Null => {}
            OwnedFrame::Array(items) => requests.push(
                items
                    .into_iter()
                    .map(|item| match item {
                        OwnedFrame::BulkString(b) => Bytes::from(b),
                        other => panic!("oracle returned {other:?}"),
                    })
                    .collect(),
            ),
            other => panic!("oracle returned {other:?}"),
        }
    }
    requests
}

/// A well-formed stream: non-empty requests, with the occasional `*0` or `*-1` between them.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let arg = prop::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from);
    let item = prop_oneof![
        8 => prop::collection::vec(arg, 1..10).prop_map(|r| {
            let mut bytes = Vec::new();
            encode_multibulk(&r, &mut bytes);
            bytes
        }),
        1 => Just(b"*0\r\n".to_vec()),
        1 => Just(b"*-1\r\n".to_vec()),
    ];
    prop::collection::vec(item, 1..8).prop_map(|items| items.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn agrees_with_redis_protocol(stream in stream(), cut in any::<prop::sample::Index>()) {
        let out = feed(Limits::default(), &stream, &[]);
        prop_assert_eq!(out.error, None);
        prop_assert_eq!(out.leftover, 0);
        prop_assert_eq!(&out.requests, &oracle(&stream));

        // A cut anywhere: both see the same complete requests and wait for the rest.
        let prefix = &stream[..cut.index(stream.len() + 1)];
        let out = feed(Limits::default(), prefix, &[]);
        prop_assert_eq!(out.error, None);
        prop_assert_eq!(out.requests, oracle(prefix));
    }
}

#[test]
fn oracle_sees_requests() {
    let mut stream = Vec::new();
    encode_multibulk(
        &[Bytes::from_static(b"SET"), Bytes::from_static(b"k\r\n")],
        &mut stream,
    );
    assert_eq!(oracle(&stream).len(), 1);
    assert_eq!(
        feed(Limits::default(), &stream, &[]).requests,
        oracle(&stream)
    );
}
