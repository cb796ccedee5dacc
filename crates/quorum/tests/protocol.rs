//! RESP handling of a real node, over raw TCP so every byte of a reply is checked: malformed
//! frames get Redis's exact `-ERR Protocol error: ...` and a closed connection while other
//! clients carry on; inline commands; a 1,000-command pipeline answered in order (also on a
//! follower, where writes are forwarded); HELLO 3 / RESP3; Redis's texts for unknown commands
//! and wrong arity; the bulk, inline and client limits; QUIT; and CLIENT
//! SETNAME/GETNAME/ID/LIST/KILL.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{cluster, encode, roles, Raw};
use quorum_testkit::poll_until;

const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Sends `input` on a fresh connection and expects exactly `reply` followed by the server
/// closing the connection; meanwhile `bystander` must keep working.
fn expect_error_and_close(
    addr: std::net::SocketAddr,
    bystander: &mut Raw,
    input: &[u8],
    reply: &str,
) {
    let mut raw = Raw::connect(addr);
    raw.send(input);
    let got = raw.read_to_close(CLOSE_WAIT);
    assert_eq!(
        got.as_deref(),
        Some(reply),
        "input {:?}: expected {reply:?} then close",
        String::from_utf8_lossy(input)
    );
    assert_eq!(
        bystander.cmd(&["PING"]),
        "+PONG\r\n",
        "bystander after {input:?}"
    );
}

#[test]
fn malformed_frames_get_redis_protocol_errors_and_close_only_that_connection() {
    let mut cluster = cluster(&["--request-args-max", "1000", "--inline-bytes-max", "1024"]);
    let (leader, followers) = roles(&mut cluster);
    for id in [leader, followers[0]] {
        let addr = cluster.node(id).resp_addr();
        // Opened before the bad clients, and used between them.
        let mut bystander = Raw::connect(addr);
        assert_eq!(bystander.cmd(&["SET", "k", "v"]), "+OK\r\n");
        let cases: [(&[u8], &str); 7] = [
            (
                b"*1\r\n$x\r\n",
                "-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*abc\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                b"*3000000000\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
            // Above --request-args-max but a valid number.
            (
                b"*1001\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                b"*1\r\nx\r\n",
                "-ERR Protocol error: expected '$', got 'x'\r\n",
            ),
            (
                b"SET a \"hello\r\n",
                "-ERR Protocol error: unbalanced quotes in request\r\n",
            ),
            (
                &[b'a'; 2048],
                "-ERR Protocol error: too big inline request\r\n",
            ),
        ];
        for (input, reply) in cases {
            expect_error_and_close(addr, &mut bystander, input, reply);
        }
        // A good command queued before the bad frame in the same write is still answered.
        let mut raw = Raw::connect(addr);
        raw.send(b"*1\r\n$4\r\nPING\r\n*abc\r\n");
        assert_eq!(
            raw.read_to_close(CLOSE_WAIT).as_deref(),
            Some("+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n")
        );
        assert_eq!(bystander.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    }
}

#[test]
fn inline_commands_work_on_leader_and_follower() {
    let mut cluster = cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    for id in [leader, followers[0]] {
        let mut raw = Raw::connect(cluster.node(id).resp_addr());
        raw.send(b"PING\r\n");
        assert_eq!(raw.reply(), "+PONG\r\n");
        let key = format!("inline-{id}");
        raw.send(format!("SET {key} \"hello world\"\r\n").as_bytes());
        assert_eq!(raw.reply(), "+OK\r\n");
        raw.send(format!("GET {key}\r\n").as_bytes());
        assert_eq!(raw.reply(), "$11\r\nhello world\r\n");
        // Bare LF works, single quotes group, an empty line is ignored (no reply).
        raw.send(b"\r\nECHO 'a b'\nPING\r\n");
        assert_eq!(raw.reply(), "$3\r\na b\r\n");
        assert_eq!(raw.reply(), "+PONG\r\n");
        // Inline and multibulk mixed in one write keep their order.
        raw.send(b"ECHO one\r\n*2\r\n$4\r\nECHO\r\n$3\r\ntwo\r\nECHO three\r\n");
        assert_eq!(raw.reply(), "$3\r\none\r\n");
        assert_eq!(raw.reply(), "$3\r\ntwo\r\n");
        assert_eq!(raw.reply(), "$5\r\nthree\r\n");
    }
}

/// 1,000 mixed SET/GET/INCR in one write; the replies come back complete and in order, and
/// each GET sees the SETs before it on the same connection. Run on the leader and on a
/// follower (where writes are forwarded and reads go through a barrier).
#[test]
fn pipeline_of_a_thousand_commands_is_answered_in_order() {
    let mut cluster = cluster(&[]);
    let (leader, followers) = roles(&mut cluster);
    for id in [leader, followers[0]] {
        let mut raw = Raw::connect(cluster.node(id).resp_addr());
        let mut model: HashMap<String, String> = HashMap::new();
        let mut counter = 0i64;
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 0..1000 {
            match i % 3 {
                0 => {
                    let key = format!("p{id}:{}", i % 7);
                    let value = format!("v{i}");
                    input.extend(encode(&["SET", &key, &value]));
                    expected.push("+OK\r\n".to_string());
                    model.insert(key, value);
                }
                1 => {
                    let key = format!("p{id}:{}", (i * 5) % 7);
                    input.extend(encode(&["GET", &key]));
                    expected.push(match model.get(&key) {
                        Some(v) => format!("${}\r\n{v}\r\n", v.len()),
                        None => "$-1\r\n".to_string(),
                    });
                }
                _ => {
                    counter += 1;
                    input.extend(encode(&["INCR", &format!("p{id}:ctr")]));
                    expected.push(format!(":{counter}\r\n"));
                }
            }
        }
        raw.send(&input);
        for (i, want) in expected.iter().enumerate() {
            let got = raw
                .try_reply()
                .unwrap_or_else(|| panic!("node {id}: only {i} of 1000 replies arrived"));
            assert_eq!(&got, want, "node {id}: reply {i} out of order or wrong");
        }
        // Nothing extra after the 1,000th reply.
        assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    }
}

#[test]
fn hello_3_switches_to_resp3_and_hello_4_is_refused() {
    let cluster = cluster(&[]);
    let mut raw = Raw::connect(cluster.node(1).resp_addr());
    assert_eq!(raw.cmd(&["GET", "missing"]), "$-1\r\n", "RESP2 null");
    let hello = raw.cmd(&["HELLO", "3"]);
    assert!(hello.starts_with('%'), "HELLO 3 is not a map: {hello:?}");
    for field in [
        "$6\r\nserver\r\n",
        "$7\r\nversion\r\n",
        "$5\r\nproto\r\n:3\r\n",
        "$2\r\nid\r\n:",
        "$4\r\nmode\r\n",
        "$4\r\nrole\r\n",
        "$7\r\nmodules\r\n",
    ] {
        assert!(hello.contains(field), "HELLO 3 lacks {field:?}: {hello:?}");
    }
    assert_eq!(raw.cmd(&["GET", "missing"]), "_\r\n", "RESP3 null");
    assert_eq!(
        raw.cmd(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    // A refused HELLO leaves the protocol as it was.
    assert_eq!(raw.cmd(&["GET", "missing"]), "_\r\n");
    let hello = raw.cmd(&["HELLO", "2", "SETNAME", "n2"]);
    assert!(hello.starts_with("*14\r\n"), "HELLO 2 reply: {hello:?}");
    assert!(hello.contains("$5\r\nproto\r\n:2\r\n"), "{hello:?}");
    assert_eq!(raw.cmd(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "$2\r\nn2\r\n");
}

#[test]
fn unknown_command_and_wrong_arity_get_redis_texts() {
    let cluster = cluster(&[]);
    let mut raw = Raw::connect(cluster.node(1).resp_addr());
    assert_eq!(
        raw.cmd(&["FOO", "bar", "baz"]),
        "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"
    );
    assert_eq!(
        raw.cmd(&["foo"]),
        "-ERR unknown command 'foo', with args beginning with: \r\n"
    );
    assert_eq!(
        raw.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["get", "a", "b"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["SET", "a"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["INCR"]),
        "-ERR wrong number of arguments for 'incr' command\r\n"
    );
    // The connection survives command errors.
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn bulk_above_limit_is_a_protocol_error() {
    let cluster = cluster(&["--bulk-bytes-max", "1024"]);
    let addr = cluster.node(1).resp_addr();
    let mut ok = Raw::connect(addr);
    let at_limit = "x".repeat(1024);
    assert_eq!(ok.cmd(&["SET", "big", &at_limit]), "+OK\r\n");
    assert_eq!(
        ok.cmd(&["STRLEN", "big"]),
        ":1024\r\n",
        "a bulk of exactly --bulk-bytes-max is accepted"
    );
    let mut bystander = Raw::connect(addr);
    // Refused on the header alone: the 1025 bytes are never sent.
    expect_error_and_close(
        addr,
        &mut bystander,
        b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1025\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
    );
    assert_eq!(ok.cmd(&["STRLEN", "big"]), ":1024\r\n", "nothing changed");
}

#[test]
fn clients_max_refuses_the_extra_client() {
    let cluster = cluster(&["--clients-max", "2"]);
    let addr = cluster.node(1).resp_addr();
    let mut a = Raw::connect(addr);
    let mut b = Raw::connect(addr);
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(b.cmd(&["PING"]), "+PONG\r\n");
    let mut c = Raw::connect(addr);
    c.send(b"PING\r\n");
    assert_eq!(
        c.read_to_close(CLOSE_WAIT).as_deref(),
        Some("-ERR max number of clients reached\r\n")
    );
    assert_eq!(
        a.cmd(&["PING"]),
        "+PONG\r\n",
        "the admitted clients still work"
    );
    drop(b);
    // The slot frees once the server notices the close.
    poll_until(
        "a new client to be admitted after one left",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || {
            let mut d = Raw::connect(addr);
            d.set_read_timeout(Duration::from_secs(2));
            d.send(b"PING\r\n");
            match d.try_reply() {
                Some(r) if r == "+PONG\r\n" => Ok(Some(())),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .unwrap();
}

#[test]
fn quit_replies_ok_and_closes_without_running_what_follows() {
    let cluster = cluster(&[]);
    let addr = cluster.node(1).resp_addr();
    let mut raw = Raw::connect(addr);
    raw.send(&[encode(&["QUIT"]), encode(&["SET", "after-quit", "1"])].concat());
    assert_eq!(raw.read_to_close(CLOSE_WAIT).as_deref(), Some("+OK\r\n"));
    let mut other = Raw::connect(addr);
    assert_eq!(other.cmd(&["EXISTS", "after-quit"]), ":0\r\n");
}

#[test]
fn client_setname_getname_id_list_kill() {
    let cluster = cluster(&[]);
    let addr = cluster.node(1).resp_addr();
    let mut me = Raw::connect(addr);
    let mut victim = Raw::connect(addr);
    let parse_id = |reply: String| -> u64 {
        reply
            .strip_prefix(':')
            .and_then(|r| r.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("CLIENT ID reply {reply:?}"))
    };
    let my_id = parse_id(me.cmd(&["CLIENT", "ID"]));
    let victim_id = parse_id(victim.cmd(&["CLIENT", "ID"]));
    assert_ne!(my_id, victim_id);

    assert_eq!(me.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(me.cmd(&["CLIENT", "SETNAME", "tester"]), "+OK\r\n");
    assert_eq!(me.cmd(&["CLIENT", "GETNAME"]), "$6\r\ntester\r\n");
    assert_eq!(
        me.cmd(&["CLIENT", "SETNAME", "has space"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(victim.cmd(&["CLIENT", "SETNAME", "victim"]), "+OK\r\n");

    let list = me.cmd(&["CLIENT", "LIST"]);
    let body = list
        .split_once("\r\n")
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("CLIENT LIST reply {list:?}"));
    let line_of = |id: u64| {
        body.lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .unwrap_or_else(|| panic!("CLIENT LIST lacks id={id}: {body:?}"))
            .to_string()
    };
    assert!(line_of(my_id).contains(" name=tester "), "{body:?}");
    assert!(line_of(my_id).contains(" cmd=client"), "{body:?}");
    assert!(line_of(victim_id).contains(" name=victim "), "{body:?}");

    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        ":1\r\n"
    );
    assert_eq!(
        victim.read_to_close(CLOSE_WAIT).as_deref(),
        Some(""),
        "the killed connection is closed"
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        ":0\r\n"
    );
    // Once gone, it leaves CLIENT LIST.
    poll_until(
        "the killed client to leave CLIENT LIST",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || {
            let list = me.cmd(&["CLIENT", "LIST"]);
            if list.contains(&format!("id={victim_id} ")) {
                Err(list)
            } else {
                Ok(Some(()))
            }
        },
    )
    .unwrap();
    assert_eq!(me.cmd(&["PING"]), "+PONG\r\n");
}

/// Each reply of a pipeline is encoded in the protocol in force when its command ran, as in
/// Redis: a HELLO in the middle of one pipelined write changes only the replies after it.
#[test]
fn pipelined_hello_changes_the_protocol_only_for_later_replies() {
    let cluster = cluster(&[]);
    let mut raw = Raw::connect(cluster.node(1).resp_addr());
    raw.send(
        &[
            encode(&["GET", "missing"]),
            encode(&["HELLO", "3"]),
            encode(&["GET", "missing"]),
            encode(&["HELLO", "2"]),
            encode(&["GET", "missing"]),
        ]
        .concat(),
    );
    assert_eq!(raw.reply(), "$-1\r\n", "GET before HELLO 3 is RESP2");
    let hello3 = raw.reply();
    assert!(
        hello3.starts_with("%7\r\n"),
        "HELLO 3 reply is a map: {hello3:?}"
    );
    assert_eq!(
        raw.reply(),
        "_\r\n",
        "GET between HELLO 3 and HELLO 2 is RESP3"
    );
    let hello2 = raw.reply();
    assert!(hello2.starts_with("*14\r\n"), "HELLO 2 reply: {hello2:?}");
    assert_eq!(raw.reply(), "$-1\r\n", "GET after HELLO 2 is RESP2");
}
