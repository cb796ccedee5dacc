//! Test harness shared by the reply tests: routes a command line the way the server does
//! (validate, then precheck + apply for writes, execute for reads, introspection for
//! COMMAND) and renders replies as text, so tests read as tables of `(command, reply)`.
//!
//! Rendering follows RESP2 (maps flattened, sets as arrays, doubles as bulk strings), which
//! lets `scripts/diff-against-redis.py` replay the same tables against a real Redis.
//! Not here: property tests (`determinism.rs`, `model.rs`).

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use bytes::Bytes;
use quorum_commands::{
    apply_write, apply_write_in, command_introspection, execute_read, precheck_write, validate,
    ApplyContext, Kind, ReadContext,
};
use quorum_keyspace::{Databases, Keyspace};
use quorum_resp::Frame;

/// The clock every table starts at (unix ms), so tables can use absolute deadlines.
pub const START_MS: u64 = 1_700_000_000_000;

/// One simulated replica with a clock the table controls. Tables run in database 0 (`ks`);
/// the other databases (MOVE, COPY ... DB, SWAPDB) are kept in `other_dbs`.
pub struct Harness {
    pub ks: Keyspace,
    pub other_dbs: Databases,
    pub now_ms: u64,
    pub seed: u64,
}

impl Default for Harness {
    fn default() -> Self {
        Harness {
            ks: Keyspace::new(),
            other_dbs: Databases::new(),
            now_ms: START_MS,
            seed: 42,
        }
    }
}

impl Harness {
    /// Runs one command given as separate arguments.
    pub fn run_args(&mut self, args: &[Bytes]) -> Frame {
        let spec = match validate(args) {
            Ok(spec) => spec,
            Err(e) => return Frame::Error(e),
        };
        match spec.kind() {
            Kind::Write => {
                if let Err(e) = precheck_write(args) {
                    // apply_write parses with the same code: it must refuse the same way
                    // and change nothing.
                    let mut copy = self.ks.clone();
                    let applied = apply_write(&mut copy, args, &self.ctx());
                    assert_eq!(
                        applied,
                        Frame::Error(e.clone()),
                        "apply disagrees with precheck"
                    );
                    assert_eq!(
                        snapshot(&copy),
                        snapshot(&self.ks),
                        "refused write changed state"
                    );
                    return Frame::Error(e);
                }
                let ctx = self.ctx();
                // Database 0 joins the others for the duration of the write.
                std::mem::swap(self.other_dbs.get_mut(0), &mut self.ks);
                let (frame, _) = apply_write_in(&mut self.other_dbs, 0, args, &ctx);
                std::mem::swap(self.other_dbs.get_mut(0), &mut self.ks);
                frame
            }
            Kind::Read => {
                let ctx = ReadContext {
                    now_ms: self.now_ms,
                    random_seed: self.seed,
                };
                let before = snapshot(&self.ks);
                let reply = execute_read(&self.ks, args, &ctx);
                assert_eq!(before, snapshot(&self.ks));
                reply
            }
            Kind::Server if spec.name == "command" => command_introspection(args),
            Kind::Server => panic!("{} is handled by the server", spec.name),
        }
    }

    fn ctx(&self) -> ApplyContext {
        ApplyContext {
            now_ms: self.now_ms,
            seed: self.seed,
        }
    }

    /// Runs one line: a command, or a directive `@now MS` (absolute, or `+MS` relative) or
    /// `@local` (a marker for the Redis diff script: "do not compare this table").
    pub fn line(&mut self, line: &str) -> String {
        if let Some(directive) = line.strip_prefix('@') {
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["now", t] if t.starts_with('+') => self.now_ms += t[1..].parse::<u64>().unwrap(),
                ["now", t] => self.now_ms = t.parse().unwrap(),
                ["local"] => {}
                _ => panic!("unknown directive {line}"),
            }
            return String::new();
        }
        render(&self.run_args(&tokenize(line)))
    }
}

/// Runs each `(line, expected)` on a fresh harness and compares rendered replies.
pub fn check(cases: &[(&str, &str)]) {
    let mut h = Harness::default();
    for (i, (line, expected)) in cases.iter().enumerate() {
        let got = h.line(line);
        assert_eq!(&got, expected, "step {i}: {line}");
    }
}

/// Splits a command line on spaces; `"..."` quotes (with `\"` and `\\`) allow spaces and
/// empty arguments.
pub fn tokenize(line: &str) -> Vec<Bytes> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut arg = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => arg.push(chars.next().unwrap()),
                    c => arg.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(Bytes::from(arg));
    }
    args
}

/// Renders a reply as RESP2 would show it: `+OK`, `-ERR ...`, `:1`, `$bulk`, `nil`,
/// `nil*` (null array), `[a, b]`.
pub fn render(frame: &Frame) -> String {
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    match frame {
        Frame::Simple(s) => format!("+{s}"),
        Frame::Error(e) => format!("-{e}"),
        Frame::Integer(n) => format!(":{n}"),
        Frame::Bulk(b) => format!("${}", String::from_utf8_lossy(b)),
        Frame::Null => "nil".to_string(),
        Frame::NullArray => "nil*".to_string(),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            list(items.iter().map(render).collect())
        }
        Frame::Map(pairs) => list(
            pairs
                .iter()
                .flat_map(|(k, v)| [render(k), render(v)])
                .collect(),
        ),
        Frame::Double(d) => format!("${d}"),
        Frame::Boolean(b) => format!(":{}", i64::from(*b)),
        Frame::Verbatim { text, .. } => format!("${}", String::from_utf8_lossy(text)),
    }
}

/// The keyspace's snapshot bytes (its whole observable state).
pub fn snapshot(ks: &Keyspace) -> Vec<u8> {
    let mut out = Vec::new();
    ks.encode_snapshot(&mut out);
    out
}
