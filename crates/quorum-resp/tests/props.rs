//! Property tests of the request decoder: multibulk round trips, independence from how the
//! stream is split into reads, and robustness on garbage. Not here: exact error texts (see
//! `malformed.rs`) or comparison with another implementation (see `differential.rs`).

mod common;

use bytes::Bytes;
use common::{encode_multibulk, feed, Outcome};
use proptest::prelude::*;
use quorum_resp::Request;
use quorum_types::Limits;

fn arg() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from)
}

fn multibulk_request() -> impl Strategy<Value = Request> {
    prop::collection::vec(arg(), 1..8)
}

/// An inline request from words that need no quoting, and the line that carries it.
fn inline_request() -> impl Strategy<Value = (Request, Vec<u8>)> {
    (
        prop::collection::vec("[a-zA-Z0-9_:.-]{1,12}", 1..5),
        any::<bool>(),
    )
        .prop_map(|(words, crlf)| {
            let mut line = words.join(" ").into_bytes();
            line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            (
                words
                    .into_iter()
                    .map(|w| Bytes::from(w.into_bytes()))
                    .collect(),
                line,
            )
        })
}

/// Several requests of both forms, and the stream that carries them.
fn stream() -> impl Strategy<Value = (Vec<Request>, Vec<u8>)> {
    let one = prop_oneof![
        3 => multibulk_request().prop_map(|r| {
            let mut bytes = Vec::new();
            encode_multibulk(&r, &mut bytes);
            (r, bytes)
        }),
        1 => inline_request(),
    ];
    prop::collection::vec(one, 1..6).prop_map(|items| {
        let mut stream = Vec::new();
        let requests = items
            .into_iter()
            .map(|(r, bytes)| {
                stream.extend(bytes);
                r
            })
            .collect();
        (requests, stream)
    })
}

fn pieces() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..24usize, 0..64)
}

/// Bytes biased towards RESP syntax so that garbage reaches deep parser states.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"*$\r\n0123456789- \"'\\xa".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multibulk_round_trip(request in multibulk_request()) {
        let mut bytes = Vec::new();
        encode_multibulk(&request, &mut bytes);
        let out = feed(Limits::default(), &bytes, &[]);
        prop_assert_eq!(out, Outcome { requests: vec![request], error: None, leftover: 0 });
    }

    #[test]
    fn any_split_gives_the_same_requests((requests, stream) in stream(), sizes in pieces()) {
        let out = feed(Limits::default(), &stream, &sizes);
        prop_assert_eq!(out, Outcome { requests, error: None, leftover: 0 });
    }

    /// Far from the size limits, a stream means the same thing however it is split, garbage
    /// included: same requests, same error.
    #[test]
    fn garbage_is_split_independent(bytes in garbage(), sizes in pieces()) {
        let whole = feed(Limits::default(), &bytes, &[]);
        let split = feed(Limits::default(), &bytes, &sizes);
        prop_assert_eq!(whole.requests, split.requests);
        prop_assert_eq!(whole.error, split.error);
    }

    /// Tiny limits put every limit check in reach; nothing may panic, and every error is one
    /// of Redis' texts.
    #[test]
    fn garbage_never_panics(bytes in garbage(), sizes in pieces()) {
        let limits = Limits {
            request_args_max: 3,
            bulk_bytes_max: 5,
            inline_bytes_max: 8,
            ..Limits::default()
        };
        let out = feed(limits, &bytes, &sizes);
        if let Some(e) = out.error {
            let known = [
                "invalid multibulk length",
                "invalid bulk length",
                "expected '$', got '",
                "unbalanced quotes in request",
                "too big inline request",
                "too big mbulk count string",
                "too big bulk count string",
            ];
            prop_assert!(known.iter().any(|k| e.0.starts_with(k)), "unexpected error {:?}", e);
        }
        for request in &out.requests {
            prop_assert!(!request.is_empty());
            prop_assert!(request.len() <= 3 || bytes[0] != b'*');
        }
    }
}
