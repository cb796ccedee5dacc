//! Side by side with Redis: every command line of `tests/parity/*.redis` runs against a real
//! `redis-server` and a real three-node quorum cluster, over raw sockets, and the replies must
//! be byte for byte the same (RESP2).
//!
//! File format: one command per line in redis-cli's quoting (words split on spaces; `"..."`
//! with `\n \r \t \" \\ \xHH` escapes; `'...'`), `#` starts a comment line. A prefix says how
//! to compare when Redis leaves something unspecified:
//! - `= ` array elements in any order, at every level (SMEMBERS, SINTER, SSCAN's page);
//! - `=2 ` its top-level elements in pairs, pairs in any order (HGETALL);
//! - `~ ` only the reply's type and, for arrays, length (random replies: SPOP, HRANDFIELD);
//! - `! ` run on both, compare nothing (avoid: it checks only that quorum answers).
//!
//! Each file starts from `FLUSHALL` on both. Lines go to the quorum nodes in turn, so writes
//! are forwarded by followers and reads are served by every node; a file with a line
//! `@sticky` sends all its lines over one connection (MULTI, SELECT: connection state). A
//! line starting with `@other ` runs over a second connection on both sides (another client
//! changing a WATCHed key), after the prefix that says how to compare it.

mod common;

use std::path::{Path, PathBuf};

use common::Raw;
use quorum_testkit::start_redis_server;

/// How a line's replies are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Compare {
    Exact,
    Unordered,
    UnorderedPairs,
    Shape,
    Nothing,
}

/// One command line of a parity file.
struct Line {
    number: usize,
    text: String,
    compare: Compare,
    args: Vec<Vec<u8>>,
    /// Runs over the second connection.
    other: bool,
}

/// A parsed parity file.
struct ParityFile {
    lines: Vec<Line>,
    /// One connection for every line.
    sticky: bool,
}

fn parity_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "redis"))
        .collect();
    files.sort();
    files
}

fn parse_file(path: &Path) -> ParityFile {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = Vec::new();
    let mut sticky = false;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed == "@sticky" {
            sticky = true;
            continue;
        }
        let (other, trimmed) = match trimmed.strip_prefix("@other ") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed),
        };
        let (compare, command) = [
            ("=2 ", Compare::UnorderedPairs),
            ("= ", Compare::Unordered),
            ("~ ", Compare::Shape),
            ("! ", Compare::Nothing),
        ]
        .into_iter()
        .find_map(|(prefix, compare)| trimmed.strip_prefix(prefix).map(|rest| (compare, rest)))
        .unwrap_or((Compare::Exact, trimmed));
        let args = split_args(command)
            .unwrap_or_else(|e| panic!("{}:{}: {e}: {raw}", path.display(), i + 1));
        assert!(
            !args.is_empty(),
            "{}:{}: empty command",
            path.display(),
            i + 1
        );
        lines.push(Line {
            number: i + 1,
            text: command.to_string(),
            compare,
            args,
            other,
        });
    }
    ParityFile { lines, sticky }
}

/// Splits a line as redis-cli does (`sdssplitargs`).
fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            return Ok(args);
        }
        let mut arg = Vec::new();
        match bytes[i] {
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("unbalanced double quotes".into()),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            let escaped = *bytes.get(i + 1).ok_or("dangling backslash")?;
                            i += 1;
                            match escaped {
                                b'n' => arg.push(b'\n'),
                                b'r' => arg.push(b'\r'),
                                b't' => arg.push(b'\t'),
                                b'x' => {
                                    let hex = line.get(i + 1..i + 3).ok_or("short \\x escape")?;
                                    arg.push(
                                        u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?,
                                    );
                                    i += 2;
                                }
                                other => arg.push(other),
                            }
                        }
                        Some(&b) => arg.push(b),
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("unbalanced single quotes".into()),
                        Some(b'\'') => break,
                        Some(b'\\') if bytes.get(i + 1) == Some(&b'\'') => {
                            arg.push(b'\'');
                            i += 1;
                        }
                        Some(&b) => arg.push(b),
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    arg.push(bytes[i]);
                    i += 1;
                }
            }
        }
        if i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            return Err("closing quote must be followed by a space".into());
        }
        args.push(arg);
    }
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A parsed RESP2 reply, for the comparisons that are not byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    Leaf(String),
    Array(Vec<Reply>),
}

fn parse_reply(text: &str) -> Reply {
    fn parse(lines: &mut std::str::Split<'_, &str>) -> Reply {
        let line = lines.next().unwrap_or_default();
        match line.as_bytes().first() {
            Some(b'*') => match line[1..].parse::<i64>() {
                Ok(n) if n >= 0 => Reply::Array((0..n).map(|_| parse(lines)).collect()),
                _ => Reply::Leaf(line.to_string()),
            },
            Some(b'$') if line != "$-1" => {
                Reply::Leaf(lines.next().unwrap_or_default().to_string())
            }
            _ => Reply::Leaf(line.to_string()),
        }
    }
    parse(&mut text.split("\r\n"))
}

fn same(compare: Compare, redis: &str, quorum: &str) -> bool {
    match compare {
        Compare::Exact => redis == quorum,
        Compare::Nothing => true,
        Compare::Shape => {
            let kind = |s: &str| s.as_bytes().first().copied();
            let len = |s: &str| match parse_reply(s) {
                Reply::Array(items) => Some(items.len()),
                Reply::Leaf(_) => None,
            };
            kind(redis) == kind(quorum) && len(redis) == len(quorum)
        }
        Compare::Unordered | Compare::UnorderedPairs => {
            let canonical = |s: &str| match parse_reply(s) {
                Reply::Array(items) if compare == Compare::UnorderedPairs => {
                    let mut pairs: Vec<Vec<Reply>> =
                        items.chunks(2).map(|pair| pair.to_vec()).collect();
                    pairs.sort();
                    format!("{pairs:?}")
                }
                items @ Reply::Array(_) => format!("{:?}", sorted_deep(items)),
                leaf => format!("{leaf:?}"),
            };
            canonical(redis) == canonical(quorum)
        }
    }
}

/// The reply with every array's elements sorted, recursively.
fn sorted_deep(reply: Reply) -> Reply {
    match reply {
        Reply::Array(items) => {
            let mut items: Vec<Reply> = items.into_iter().map(sorted_deep).collect();
            items.sort();
            Reply::Array(items)
        }
        leaf => leaf,
    }
}

fn show(reply: &str) -> String {
    reply.escape_debug().to_string()
}

#[test]
fn every_parity_file_replies_as_redis_does() {
    let files = parity_files();
    assert!(!files.is_empty(), "no tests/parity/*.redis files");
    let redis = start_redis_server(&[])
        .expect("start redis-server")
        .expect("redis-server is not installed: ./scripts/test installs Debian's redis-server");
    let cluster = common::cluster(&[]);
    let nodes = cluster.nodes().len();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        // Fresh connections per file: connection state (SELECT, MULTI) never leaks.
        let mut redis_conns = [(); 2].map(|_| Raw::connect(redis.addr().parse().unwrap()));
        let mut quorum_conns: Vec<Raw> = cluster
            .nodes()
            .iter()
            .map(|node| Raw::connect(node.resp_addr()))
            .collect();
        let mut quorum_other = Raw::connect(cluster.nodes()[(index + 1) % nodes].resp_addr());
        let flush = [b"FLUSHALL".to_vec()];
        redis_conns[0].send(&encode(&flush));
        assert_eq!(redis_conns[0].reply(), "+OK\r\n");
        quorum_conns[0].send(&encode(&flush));
        assert_eq!(quorum_conns[0].reply(), "+OK\r\n");
        let parsed = parse_file(file);
        for (i, line) in parsed.lines.iter().enumerate() {
            let request = encode(&line.args);
            let redis_conn = &mut redis_conns[usize::from(line.other)];
            redis_conn.send(&request);
            let expected = redis_conn.reply();
            let conn = match (line.other, parsed.sticky) {
                (true, _) => &mut quorum_other,
                (false, true) => &mut quorum_conns[index % nodes],
                (false, false) => &mut quorum_conns[i % nodes],
            };
            conn.send(&request);
            let got = conn.reply();
            compared += 1;
            if !same(line.compare, &expected, &got) {
                mismatches.push(format!(
                    "{name}:{}: {}\n    redis:  {}\n    quorum: {}",
                    line.number,
                    line.text,
                    show(&expected),
                    show(&got)
                ));
            }
        }
    }

    eprintln!("compared {compared} replies from {} files", files.len());
    assert!(
        mismatches.is_empty(),
        "{} of {compared} replies differ from Redis:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn parity_lines_split_as_redis_cli_splits_them() {
    let split = |s: &str| split_args(s).unwrap();
    assert_eq!(
        split("SET k v"),
        vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]
    );
    assert_eq!(
        split(r#"SET "a b" "" "#)[1..],
        [b"a b".to_vec(), Vec::new()]
    );
    assert_eq!(
        split(r#"SET "\x00\"\n" 'it\'s'"#)[1..],
        [b"\0\"\n".to_vec(), b"it's".to_vec()]
    );
    assert!(split_args(r#"SET "open"#).is_err());
    assert!(same(
        Compare::Unordered,
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        "*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    ));
    assert!(!same(
        Compare::Unordered,
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        "*2\r\n$1\r\nb\r\n$1\r\nb\r\n"
    ));
    assert!(same(
        Compare::Shape,
        "*1\r\n$1\r\na\r\n",
        "*1\r\n$1\r\nz\r\n"
    ));
    assert!(!same(
        Compare::Shape,
        "*1\r\n$1\r\na\r\n",
        "*2\r\n$1\r\nz\r\n$1\r\nz\r\n"
    ));
    let pairs = |a: &str, b: &str| same(Compare::UnorderedPairs, a, b);
    assert!(pairs(
        "*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n",
        "*4\r\n$1\r\ng\r\n$1\r\n2\r\n$1\r\nf\r\n$1\r\n1\r\n"
    ));
    assert!(!pairs(
        "*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n",
        "*4\r\n$1\r\nf\r\n$1\r\n2\r\n$1\r\ng\r\n$1\r\n1\r\n"
    ));
}
