//! Helpers shared by the decoder's integration tests: feeding a byte stream to a decoder in
//! chosen pieces and collecting what comes out. Not a test by itself.

#![allow(dead_code)] // each test file uses a different subset

use bytes::{Bytes, BytesMut};
use quorum_resp::{ProtocolError, Request, RequestDecoder};
use quorum_types::Limits;

/// What a decoder made of a whole stream: every request, then the error that stopped it, if
/// any, and how many bytes were left unconsumed in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub requests: Vec<Request>,
    pub error: Option<ProtocolError>,
    pub leftover: usize,
}

/// Feeds `stream` to a fresh decoder in pieces of the given sizes (the rest in one piece),
/// calling `decode` until it needs more after every piece, as a connection does.
pub fn feed(limits: Limits, stream: &[u8], pieces: &[usize]) -> Outcome {
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let mut rest = stream;
    let mut sizes = pieces.iter().copied();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => break,
                Err(error) => {
                    return Outcome {
                        requests,
                        error: Some(error),
                        leftover: buf.len(),
                    };
                }
            }
        }
    }
    Outcome {
        requests,
        error: None,
        leftover: buf.len(),
    }
}

/// Feeds `stream` in one piece with default limits.
pub fn feed_whole(stream: &[u8]) -> Outcome {
    feed(Limits::default(), stream, &[])
}

/// Encodes `request` as a RESP multibulk array, as client libraries send it.
pub fn encode_multibulk(request: &[Bytes], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", request.len()).as_bytes());
    for arg in request {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A request from string arguments.
pub fn req(args: &[&str]) -> Request {
    args.iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}
