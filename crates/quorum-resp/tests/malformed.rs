//! Exact Redis 7 behaviour on malformed and unusual input: every case of Redis'
//! `tests/unit/protocol.tcl` that concerns request parsing, plus the other protocol errors of
//! `processMultibulkBuffer`/`processInlineBuffer`. Not here: random inputs (see `props.rs`).

mod common;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{feed, feed_whole, req};
use quorum_resp::{ProtocolError, RequestDecoder};
use quorum_types::Limits;

fn err(text: &str) -> Option<ProtocolError> {
    Some(ProtocolError(text.to_string()))
}

/// Asserts that `stream` fails with `text` before producing any request.
fn fails(stream: &[u8], text: &str) {
    let out = feed_whole(stream);
    assert_eq!(
        out.error,
        err(text),
        "stream {:?}",
        String::from_utf8_lossy(stream)
    );
    assert!(out.requests.is_empty());
}

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

#[test]
fn empty_query_is_ignored() {
    let out = feed_whole(&[b"\r\n".as_slice(), PING].concat());
    assert_eq!(out.requests, vec![req(&["PING"])]);
    assert_eq!(out.error, None);
}

#[test]
fn negative_and_zero_multibulk_lengths_are_ignored() {
    for head in [&b"*-10\r\n"[..], b"*0\r\n", b"*-1\r\n"] {
        let out = feed_whole(&[head, PING].concat());
        assert_eq!(out.requests, vec![req(&["PING"])]);
        assert_eq!((out.error, out.leftover), (None, 0));
    }
}

#[test]
fn out_of_range_multibulk_length() {
    fails(b"*3000000000\r\n", "invalid multibulk length");
    let l = limits(|l| l.request_args_max = 4);
    assert_eq!(
        feed(l.clone(), b"*5\r\n", &[]).error,
        err("invalid multibulk length")
    );
    assert_eq!(feed(l, b"*4\r\n", &[]).error, None);
}

#[test]
fn non_number_multibulk_length() {
    for s in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*+1\r\n",
        b"*01\r\n",
        b"*1 \r\n",
        b"*-0\r\n",
    ] {
        fails(s, "invalid multibulk length");
    }
}

#[test]
fn wrong_multibulk_payload_header() {
    fails(
        b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
        "expected '$', got 'f'",
    );
    fails(b"*1\r\nfoo\r\n", "expected '$', got 'f'");
    // The offending byte is printed raw, except line endings, which become spaces.
    fails(b"*1\r\n\r\n", "expected '$', got ' '");
    fails(b"*1\r\n:1\r\n", "expected '$', got ':'");
}

#[test]
fn bad_bulk_lengths() {
    let prefix = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n";
    for len in ["-10", "2000000000", "blabla", "", "-0", "01", "+1"] {
        fails(
            &[&prefix[..], format!("${len}\r\n").as_bytes()].concat(),
            "invalid bulk length",
        );
    }
    let l = limits(|l| l.bulk_bytes_max = 10);
    assert_eq!(
        feed(l.clone(), b"*1\r\n$11\r\n", &[]).error,
        err("invalid bulk length")
    );
    let out = feed(l, b"*1\r\n$10\r\n0123456789\r\n", &[]);
    assert_eq!(out.requests, vec![req(&["0123456789"])]);
}

#[test]
fn unbalanced_quotes() {
    let out = feed_whole(b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n");
    assert_eq!(out.error, err("unbalanced quotes in request"));
    assert!(out.requests.is_empty());
    fails(b"get \"abc\r\n", "unbalanced quotes in request");
    fails(b"get 'abc'x\n", "unbalanced quotes in request");
}

/// Redis' "protocol desync regression" tests: garbage without line ends must end in a protocol
/// error once it passes 64 KiB, not be buffered for ever.
#[test]
fn protocol_desync_regression() {
    for (seq, text) in [
        (&b"\x00"[..], "too big inline request"),
        (b"*\x00", "too big mbulk count string"),
        (b"$\x00", "too big inline request"),
    ] {
        let mut stream = seq.to_vec();
        stream.extend(b"payload".repeat(10_000));
        let out = feed(Limits::default(), &stream, &[1024; 100]);
        assert_eq!(out.error, err(text), "seq {seq:?}");
    }
}

#[test]
fn too_big_header_lines() {
    let big = b"1".repeat(64 * 1024);
    fails(&[&b"*"[..], &big].concat(), "too big mbulk count string");
    fails(
        &[&b"*1\r\n$"[..], &big].concat(),
        "too big bulk count string",
    );
    // Exactly 64 KiB without `\r` still waits, as in Redis (the check is strictly greater).
    let out = feed_whole(&[&b"*"[..], &big[1..]].concat());
    assert_eq!((out.error, out.requests.len()), (None, 0));
}

#[test]
fn too_big_inline_request() {
    let l = limits(|l| l.inline_bytes_max = 100);
    assert_eq!(
        feed(l.clone(), &b"a".repeat(101), &[]).error,
        err("too big inline request")
    );
    assert_eq!(feed(l.clone(), &b"a".repeat(100), &[]).error, None);
    // Redis only checks the length while no newline has arrived: a longer complete line in one
    // read is accepted.
    let line = [b"a".repeat(150), b"\n".to_vec()].concat();
    assert_eq!(feed(l, &line, &[]).requests.len(), 1);
}

#[test]
fn inline_requests() {
    let out = feed_whole(b"PING\nset \"a b\" 'c d'\r\n\n  \t\r\nget \"\\x41\\n\"\r\n");
    assert_eq!(out.error, None);
    assert_eq!(
        out.requests,
        vec![
            req(&["PING"]),
            req(&["set", "a b", "c d"]),
            req(&["get", "A\n"])
        ]
    );
}

#[test]
fn redis_leniencies_are_kept() {
    // Redis skips the byte after a header's `\r` and the two bytes after bulk data unread.
    let out = feed_whole(b"*2\rX$3\rYfooAB$3\r\nbarCD");
    assert_eq!(out.requests, vec![req(&["foo", "bar"])]);
    assert_eq!((out.error, out.leftover), (None, 0));
}

#[test]
fn errors_are_sticky_and_display_the_redis_text() {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*x\r\n*1\r\n$4\r\nPING\r\n"[..]);
    let first = decoder.decode(&mut buf).unwrap_err();
    assert_eq!(
        first.to_string(),
        "ERR Protocol error: invalid multibulk length"
    );
    assert_eq!(decoder.decode(&mut buf), Err(first));
}

#[test]
fn unauthenticated_limits() {
    let run = |stream: &[u8]| {
        let mut decoder = RequestDecoder::new(Limits::default());
        decoder.set_auth_required(true);
        let mut buf = BytesMut::from(stream);
        decoder.decode(&mut buf)
    };
    assert_eq!(
        run(b"*11\r\n"),
        Err(ProtocolError("unauthenticated multibulk length".into()))
    );
    assert_eq!(
        run(b"*1\r\n$16385\r\n"),
        Err(ProtocolError("unauthenticated bulk length".into()))
    );
    assert_eq!(run(b"*10\r\n$16384\r\n"), Ok(None));
}

#[test]
fn claimed_lengths_do_not_allocate() {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*1000000\r\n$3\r\nabc\r\n$500000000\r\nxy"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(
        buf.capacity() <= 2 * 1024 * 1024,
        "capacity {}",
        buf.capacity()
    );
    assert_eq!(decoder.pending_bytes_hint(), 500_000_002);
    assert_eq!(decoder.held_bytes(), 3);
    assert!(decoder.in_request());
}

#[test]
fn bulk_arguments_are_zero_copy() {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let request = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(request[1].as_ptr() as usize, base + 17);
}

/// Each byte of a long line is scanned once, however the line is split: a quadratic decoder
/// would take minutes here.
#[test]
fn long_lines_in_tiny_reads_stay_linear() {
    let l = limits(|l| l.inline_bytes_max = 1 << 20);
    let line = [b"x".repeat(256 * 1024), b"\r\n".to_vec()].concat();
    let start = Instant::now();
    let out = feed(l, &line, &[1; 300 * 1024]);
    assert_eq!(out.requests.len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );

    let big = 4 * 1024 * 1024;
    let mut stream = format!("*1\r\n${big}\r\n").into_bytes();
    stream.extend(std::iter::repeat_n(b'v', big));
    stream.extend(b"\r\n");
    let out = feed(Limits::default(), &stream, &[7; 1 << 20]);
    assert_eq!(out.requests[0][0].len(), big);
}
