//! Reply tables over binary values: command lines in redis-cli's quoting (`"\xff\x00"`,
//! `\"`, `\\`) and bulk replies rendered with every byte outside printable ASCII as `\xHH`,
//! so a table reads like the parity file it mirrors. Used by the bitmap and hyperloglog
//! tests (the shared `common::tokenize` has no `\x` escapes).
//!
//! Not here: routing (that is `common::Harness`).

use bytes::Bytes;
use quorum_resp::Frame;

use crate::common::{render, Harness};

/// Splits a command line: words separated by spaces, `"..."` with `\xHH`, `\"` and `\\`.
pub fn args(line: &str) -> Vec<Bytes> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let mut word = Vec::new();
        if bytes[i] == b'"' {
            i += 1;
            while bytes[i] != b'"' {
                if bytes[i] == b'\\' && bytes[i + 1] == b'x' {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                    word.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                } else if bytes[i] == b'\\' {
                    word.push(bytes[i + 1]);
                    i += 2;
                } else {
                    word.push(bytes[i]);
                    i += 1;
                }
            }
            i += 1;
        } else {
            while i < bytes.len() && bytes[i] != b' ' {
                word.push(bytes[i]);
                i += 1;
            }
        }
        out.push(Bytes::from(word));
    }
    out
}

/// A bulk string with bytes outside printable ASCII (and `\`) as `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\\' => "\\x5c".to_string(),
            0x20..=0x7e => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// Renders like `common::render`, with bulk strings escaped.
pub fn show(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(b) => format!("${}", escape(b)),
        Frame::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        other => render(other),
    }
}

/// Runs one line on `h` and renders its reply.
pub fn run(h: &mut Harness, line: &str) -> String {
    show(&h.run_args(&args(line)))
}

/// Runs each `(line, expected)` on a fresh harness.
pub fn check(cases: &[(&str, &str)]) {
    let mut h = Harness::default();
    for (i, (line, expected)) in cases.iter().enumerate() {
        assert_eq!(&run(&mut h, line), expected, "step {i}: {line}");
    }
}
