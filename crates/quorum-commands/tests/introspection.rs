//! Reply tables for `COMMAND` and its subcommands.

mod common;

use common::{check, Harness};
use quorum_commands::{table, Kind};

#[test]
fn getkeys_and_errors() {
    check(&[
        ("COMMAND GETKEYS mset a 1 b 2", "[$a, $b]"),
        ("COMMAND GETKEYS get k", "[$k]"),
        ("COMMAND GETKEYS set k v EX 10", "[$k]"),
        ("COMMAND GETKEYS del a b c", "[$a, $b, $c]"),
        ("COMMAND GETKEYS copy a b REPLACE", "[$a, $b]"),
        (
            "COMMAND GETKEYS get",
            "-ERR wrong number of arguments for 'command|getkeys' command",
        ),
        (
            "COMMAND GETKEYS set k",
            "-ERR Invalid number of arguments specified for command",
        ),
        ("COMMAND GETKEYS nosuch x", "-ERR Invalid command specified"),
        (
            "COMMAND GETKEYS scan 0",
            "-ERR The command has no key arguments",
        ),
        (
            "COMMAND GETKEYS ping x",
            "-ERR The command has no key arguments",
        ),
        (
            "COMMAND FOO",
            "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.",
        ),
        (
            "COMMAND COUNT x",
            "-ERR wrong number of arguments for 'command|count' command",
        ),
        ("COMMAND LIST x", "-ERR syntax error"),
        ("COMMAND LIST FILTERBY bogus x", "-ERR syntax error"),
        ("COMMAND LIST FILTERBY module x", "[]"),
        ("COMMAND INFO nosuch", "[nil]"),
        ("COMMAND DOCS nosuch", "[]"),
    ]);
}

#[test]
fn info_docs_count_list() {
    let count = table().len();
    check(&[
        ("@local", ""),
        ("COMMAND INFO get", "[[$get, :2, [+readonly, +fast], :1, :1, :1, [+@read, +@string, +@fast], [], [], []]]"),
        ("COMMAND INFO MSET nosuch", "[[$mset, :-3, [+write, +denyoom], :1, :-1, :2, [+@write, +@string, +@slow], [$request_policy:multi_shard, $response_policy:all_succeeded], [], []], nil]"),
        ("COMMAND DOCS get", "[$get, [$summary, $Get the value of a key, $since, $1.0.0, $group, $string]]"),
        ("COMMAND COUNT", &format!(":{count}")),
        ("COMMAND LIST FILTERBY pattern getr*", "[$getrange]"),
        ("COMMAND LIST FILTERBY aclcat hyperloglog", "[$pfadd, $pfcount, $pfmerge]"),
    ]);
    // FILTERBY aclcat lists exactly the rows of that category (the table grows; the
    // categories are checked against Redis by the parity files' COMMAND lines).
    let listed = Harness::default().line("COMMAND LIST FILTERBY aclcat keyspace");
    let expected: Vec<String> = table()
        .iter()
        .filter(|spec| spec.acl_categories.contains(&"@keyspace"))
        .map(|spec| format!("${}", spec.name))
        .collect();
    assert_eq!(listed, format!("[{}]", expected.join(", ")));
    for name in ["del", "expire", "scan", "move", "swapdb", "copy"] {
        assert!(
            expected.contains(&format!("${name}")),
            "{name} is not @keyspace"
        );
    }
}

#[test]
fn whole_table_listings_have_one_entry_per_command() {
    let mut h = Harness::default();
    let count = table().len();
    let info = h.run_args(&common::tokenize("COMMAND"));
    let docs = h.run_args(&common::tokenize("COMMAND DOCS"));
    let list = h.run_args(&common::tokenize("COMMAND LIST"));
    match (info, docs, list) {
        (
            quorum_resp::Frame::Array(info),
            quorum_resp::Frame::Map(docs),
            quorum_resp::Frame::Array(list),
        ) => {
            assert_eq!(info.len(), count);
            assert_eq!(docs.len(), count);
            assert_eq!(list.len(), count);
        }
        other => panic!("unexpected shapes {other:?}"),
    }
    assert!(h.line("COMMAND HELP").starts_with("[+COMMAND <subcommand>"));
}

/// Every read and write row of the table has a handler: a smoke call never reports
/// "not implemented", whatever its arguments.
#[test]
fn every_keyspace_command_has_a_handler() {
    for spec in table().iter().filter(|s| s.kind() != Kind::Server) {
        let argc = spec.arity.unsigned_abs() as usize;
        let mut line = spec.name.to_string();
        for i in 1..argc.max(4) {
            if spec.arity > 0 && i >= argc {
                break;
            }
            line.push_str(&format!(" {i}"));
        }
        let reply = Harness::default().line(&line);
        assert!(!reply.contains("not implemented"), "{line}: {reply}");
    }
}
