//! Writes benchmark requests as RESP arrays of bulk strings, without allocating per request.
//!
//! Every request of a run has the same shape (`SET key:NNNNNN <value>`), so each command is a
//! precomputed head (`*3\r\n$3\r\nSET\r\n$10\r\nkey:`), the key digits, and a precomputed
//! tail (`\r\n$16\r\n<value>\r\n`): three copies into the batch buffer.

use crate::workload::{KeyFormat, OpKind, KEY_DIGITS_MAX};

/// Key prefix of the string workloads.
pub const KEY_PREFIX: &str = "key:";
/// Key prefix of the task workload's queues.
pub const QUEUE_PREFIX: &str = "queue:";
/// Seconds BRPOP may block. The same connection pushed to the queue just before, so the pop
/// finds an element at once; the timeout only bounds a misbehaving server.
pub const BRPOP_TIMEOUT_SECS: u64 = 1;

/// One command with a key in second position: `head ++ key digits ++ tail`.
#[derive(Debug, Clone)]
struct KeyedCommand {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl KeyedCommand {
    /// `name key extra...` where the key is `prefix` + `format.width` digits.
    fn new(name: &str, prefix: &str, format: KeyFormat, extra: &[&[u8]]) -> KeyedCommand {
        let mut head = Vec::new();
        push_header(&mut head, b'*', 2 + extra.len());
        push_bulk(&mut head, name.as_bytes());
        push_header(&mut head, b'$', prefix.len() + format.width);
        head.extend_from_slice(prefix.as_bytes());
        let mut tail = b"\r\n".to_vec();
        for arg in extra {
            push_bulk(&mut tail, arg);
        }
        KeyedCommand { head, tail }
    }

    fn write(&self, out: &mut Vec<u8>, key_digits: &[u8]) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(key_digits);
        out.extend_from_slice(&self.tail);
    }
}

/// The requests of one run, ready to be copied into a batch.
#[derive(Debug, Clone)]
pub struct RequestEncoder {
    format: KeyFormat,
    set: KeyedCommand,
    get: KeyedCommand,
    incr: KeyedCommand,
    lpush: KeyedCommand,
    brpop: KeyedCommand,
}

impl RequestEncoder {
    /// The encoder for keys of `format` and values `value`.
    pub fn new(format: KeyFormat, value: &[u8]) -> RequestEncoder {
        let brpop_timeout = BRPOP_TIMEOUT_SECS.to_string();
        RequestEncoder {
            format,
            set: KeyedCommand::new("SET", KEY_PREFIX, format, &[value]),
            get: KeyedCommand::new("GET", KEY_PREFIX, format, &[]),
            incr: KeyedCommand::new("INCR", KEY_PREFIX, format, &[]),
            // Streams slot: once quorum has streams, the task workload becomes
            // `XADD queue * f v` + `XREADGROUP GROUP g c COUNT 1 STREAMS queue >` + `XACK`,
            // three replies per operation (see `replies_per_op`).
            lpush: KeyedCommand::new("LPUSH", QUEUE_PREFIX, format, &[value]),
            brpop: KeyedCommand::new("BRPOP", QUEUE_PREFIX, format, &[brpop_timeout.as_bytes()]),
        }
    }

    /// Appends the request(s) of one operation on key `index` to `out`.
    pub fn write(&self, out: &mut Vec<u8>, op: OpKind, index: u64) {
        let mut buf = [0u8; KEY_DIGITS_MAX];
        let digits = self.format.digits(index, &mut buf);
        match op {
            OpKind::Set => self.set.write(out, digits),
            OpKind::Get => self.get.write(out, digits),
            OpKind::Incr => self.incr.write(out, digits),
            OpKind::Task => {
                self.lpush.write(out, digits);
                self.brpop.write(out, digits);
            }
        }
    }
}

/// Replies one operation gets back.
pub fn replies_per_op(op: OpKind) -> u8 {
    match op {
        OpKind::Task => 2,
        OpKind::Set | OpKind::Get | OpKind::Incr => 1,
    }
}

/// Appends a whole command given as arguments (for the rare, non-benchmarked commands:
/// READONLY).
pub fn write_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    push_header(out, b'*', args.len());
    for arg in args {
        push_bulk(out, arg);
    }
}

fn push_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    out.push(kind);
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    push_header(out, b'$', bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(op: OpKind, index: u64) -> String {
        let encoder = RequestEncoder::new(KeyFormat::for_keys(1000), b"abc");
        let mut out = Vec::new();
        encoder.write(&mut out, op, index);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn commands_are_resp_arrays_of_bulk_strings() {
        assert_eq!(
            encoded(OpKind::Set, 42),
            "*3\r\n$3\r\nSET\r\n$10\r\nkey:000042\r\n$3\r\nabc\r\n"
        );
        assert_eq!(
            encoded(OpKind::Get, 7),
            "*2\r\n$3\r\nGET\r\n$10\r\nkey:000007\r\n"
        );
        assert_eq!(
            encoded(OpKind::Incr, 0),
            "*2\r\n$4\r\nINCR\r\n$10\r\nkey:000000\r\n"
        );
        assert_eq!(
            encoded(OpKind::Task, 3),
            "*3\r\n$5\r\nLPUSH\r\n$12\r\nqueue:000003\r\n$3\r\nabc\r\n\
             *3\r\n$5\r\nBRPOP\r\n$12\r\nqueue:000003\r\n$1\r\n1\r\n"
        );
    }

    #[test]
    fn whole_commands_are_encoded_too() {
        let mut out = Vec::new();
        write_command(&mut out, &[b"READONLY"]);
        assert_eq!(out, b"*1\r\n$8\r\nREADONLY\r\n");
    }
}
