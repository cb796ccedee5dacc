//! Fuzz target: arbitrary bytes, fed to a `RequestDecoder` in arbitrary chunk sizes, must never
//! panic, and must decode to the same requests and error as the same bytes fed in one piece
//! (limits are set far above the input size, so buffer-length checks cannot tell the two
//! apart). Not a test of error texts; see `crates/quorum-resp/tests`.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use quorum_resp::{ProtocolError, Request, RequestDecoder};
use quorum_types::Limits;

/// Feeds `data` in chunks whose sizes come from `sizes` (cycled), draining the decoder after
/// each chunk as a connection does.
fn run(limits: &Limits, data: &[u8], sizes: &[u8]) -> (Vec<Request>, Option<ProtocolError>) {
    let mut decoder = RequestDecoder::new(limits.clone());
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes.get(i % sizes.len().max(1)).map_or(rest.len(), |&s| usize::from(s) + 1);
        i += 1;
        let n = size.min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => {
                    assert!(!request.is_empty(), "empty requests are skipped, never returned");
                    requests.push(request);
                }
                Ok(None) => break,
                Err(e) => return (requests, Some(e)),
            }
        }
    }
    (requests, None)
}

fuzz_target!(|input: &[u8]| {
    // The first bytes choose the chunk sizes; the rest is the stream.
    let (sizes, data) = match input.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n % 16).min(rest.len())),
        None => return,
    };
    let roomy = Limits { inline_bytes_max: 1 << 20, ..Limits::default() };
    let whole = run(&roomy, data, &[]);
    let chunked = run(&roomy, data, sizes);
    // Past 64 KiB the fixed header-line limit could fire in one feeding and not the other.
    if data.len() <= 64 * 1024 {
        assert_eq!(whole, chunked);
    }

    // Tiny limits: every limit check is in reach; only "never panics" is checked.
    let tiny = Limits {
        request_args_max: 3,
        bulk_bytes_max: 5,
        inline_bytes_max: 8,
        ..Limits::default()
    };
    let _ = run(&tiny, data, sizes);
});
