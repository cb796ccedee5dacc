//! Hand-made queue histories (RPUSH/LPUSH, pops, LMOVE + LREM, the final atomic LRANGE),
//! including what a retried proposal applied twice (the planted `skip-dedup`) leaves behind.

use quorum_check::{AnomalyClass, Call, History, ListEnd, OpId, Outcome, Reply};

use crate::builder::{assert_finds, assert_valid, classes, Timeline};

const Q: &str = "q";
const Q2: &str = "q2";
const P: &str = "q:processing:9";

fn ok(reply: Reply) -> Outcome {
    Outcome::Ok { reply }
}

fn push_call(element: &str, end: ListEnd) -> Call {
    Call::Push {
        element: element.to_string(),
        end,
    }
}

fn rpush(t: &mut Timeline, client: u32, q: &str, element: &str, span: (u64, u64)) -> OpId {
    let call = push_call(element, ListEnd::Tail);
    t.add(client, q, call, span, ok(Reply::Int { value: 1 }))
}

fn lpush(t: &mut Timeline, client: u32, element: &str, span: (u64, u64)) -> OpId {
    let call = push_call(element, ListEnd::Head);
    t.add(client, Q, call, span, ok(Reply::Int { value: 1 }))
}

fn popped(element: Option<&str>) -> Outcome {
    ok(Reply::Value {
        value: element.map(str::to_string),
    })
}

/// `LPOP` (`block_ms` `None`) or `BLPOP` from the head of `q`.
fn pop(
    t: &mut Timeline,
    client: u32,
    q: &str,
    block_ms: Option<u64>,
    element: Option<&str>,
    span: (u64, u64),
) -> OpId {
    let call = Call::Pop {
        end: ListEnd::Head,
        block_ms,
    };
    t.add(client, q, call, span, popped(element))
}

fn brpop(t: &mut Timeline, client: u32, element: Option<&str>, span: (u64, u64)) -> OpId {
    let call = Call::Pop {
        end: ListEnd::Tail,
        block_ms: Some(200),
    };
    t.add(client, Q, call, span, popped(element))
}

fn move_call(block_ms: Option<u64>) -> Call {
    Call::Move {
        to: P.to_string(),
        block_ms,
    }
}

fn lmove(t: &mut Timeline, client: u32, element: Option<&str>, span: (u64, u64)) -> OpId {
    t.add(client, Q, move_call(None), span, popped(element))
}

fn lrem(t: &mut Timeline, client: u32, element: &str, removed: i64, span: (u64, u64)) -> OpId {
    let call = Call::Remove {
        element: element.to_string(),
    };
    t.add(client, P, call, span, ok(Reply::Int { value: removed }))
}

/// The final read of `Q` and `P`.
fn range(t: &mut Timeline, queue: &[&str], processing: &[&str], span: (u64, u64)) -> OpId {
    let call = Call::Range {
        with: vec![P.to_string()],
    };
    let list = |l: &[&str]| l.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let lists = vec![list(queue), list(processing)];
    t.add(0, Q, call, span, ok(Reply::Lists { lists }))
}

#[test]
fn a_queue_that_delivers_every_element_once_is_valid() {
    let mut t = Timeline::new();
    // Client 1 produces; client 2 pops with BLPOP, BRPOP and LPOP; client 3 moves and removes.
    rpush(&mut t, 1, Q, "a", (0, 1));
    rpush(&mut t, 1, Q, "b", (2, 3));
    lpush(&mut t, 1, "c", (4, 5));
    pop(&mut t, 2, Q, Some(200), Some("c"), (6, 7));
    lmove(&mut t, 3, Some("a"), (8, 9));
    brpop(&mut t, 2, Some("b"), (10, 11));
    lrem(&mut t, 3, "a", 1, (12, 13));
    // Empty pops: a timed-out BLPOP and an LPOP with nothing queued.
    pop(&mut t, 2, Q, Some(200), None, (14, 214));
    pop(&mut t, 2, Q, None, None, (215, 216));
    // An unknown push may show up once, or never.
    t.unknown(1, Q, push_call("d", ListEnd::Tail), 220);
    t.unknown(1, Q, push_call("e", ListEnd::Tail), 230);
    // A failed one never.
    t.failed(1, Q, push_call("f", ListEnd::Tail), (240, 241));
    // One moved element still being processed, one still queued.
    rpush(&mut t, 1, Q, "g", (250, 251));
    rpush(&mut t, 1, Q, "h", (252, 253));
    lmove(&mut t, 3, Some("g"), (254, 255));
    range(&mut t, &["d", "h"], &["g"], (300, 301));
    let report = t.check();
    assert_valid(&report);
    let q = &report.queue;
    assert_eq!(
        (q.queues, q.pushes_acknowledged, q.pushes_unknown),
        (1, 5, 2)
    );
    assert_eq!((q.pops_acknowledged, q.pops_empty, q.remaining), (4, 2, 3));
    assert_eq!((q.missing, q.lost, q.doubled, q.phantoms), (0, 0, 0, 0));
    assert_eq!(report.stats.keys_by_workload.get("queue"), Some(&2));
    assert!(report.to_string().contains("queues: 5 pushes acknowledged"));
}

/// A retried push applied twice (the planted `skip-dedup`) makes two copies of one element.
#[test]
fn an_element_popped_twice_or_popped_and_still_queued_is_doubled() {
    let mut t = Timeline::new();
    let push = rpush(&mut t, 1, Q, "a", (0, 1));
    let first = pop(&mut t, 2, Q, Some(200), Some("a"), (2, 3));
    let second = pop(&mut t, 3, Q, None, Some("a"), (4, 5));
    range(&mut t, &[], &[], (10, 11));
    let text = assert_finds(
        &t.check(),
        AnomalyClass::DuplicateApply,
        &[push, first, second],
    );
    assert!(text.contains("pushed once"), "{text}");

    let mut t = Timeline::new();
    let push = rpush(&mut t, 1, Q, "a", (0, 1));
    let taken = pop(&mut t, 2, Q, None, Some("a"), (2, 3));
    let read = range(&mut t, &["a"], &[], (10, 11));
    assert_finds(
        &t.check(),
        AnomalyClass::DuplicateApply,
        &[push, taken, read],
    );

    // An unknown push may appear once, not twice; a moved copy and a queued one are two.
    let mut t = Timeline::new();
    t.unknown(1, Q, push_call("a", ListEnd::Tail), 0);
    let moved = lmove(&mut t, 2, Some("a"), (2, 3));
    let read = range(&mut t, &["a"], &["a"], (10, 11));
    let report = t.check();
    assert_finds(&report, AnomalyClass::DuplicateApply, &[moved, read]);
    assert_eq!(report.queue.doubled, 1);
}

#[test]
fn an_acknowledged_element_missing_at_the_end_is_lost_beyond_the_unknown_pops() {
    let mut t = Timeline::new();
    let a = rpush(&mut t, 1, Q, "a", (0, 1));
    let b = rpush(&mut t, 1, Q, "b", (2, 3));
    rpush(&mut t, 1, Q, "c", (4, 5));
    pop(&mut t, 2, Q, None, Some("c"), (6, 7));
    let read = range(&mut t, &[], &[], (10, 11));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::LostWrite, &[a, b, read]);
    assert!(
        text.contains("only 0 pops had an unknown outcome"),
        "{text}"
    );
    assert_eq!((report.queue.missing, report.queue.lost), (2, 2));

    // One pop with an unknown outcome may have taken one of them: one is still lost.
    let mut t = Timeline::new();
    rpush(&mut t, 1, Q, "a", (0, 1));
    rpush(&mut t, 1, Q, "b", (2, 3));
    t.unknown(
        2,
        Q,
        Call::Pop {
            end: ListEnd::Head,
            block_ms: Some(200),
        },
        4,
    );
    range(&mut t, &[], &[], (10, 11));
    let report = t.check();
    assert_eq!(classes(&report), vec![AnomalyClass::LostWrite]);
    assert_eq!((report.queue.missing, report.queue.lost), (2, 1));
    assert!(report.to_string().contains("at least 1 lost"), "{report}");

    // Two unknown pops explain both; an unknown move explains nothing, an unknown LREM its own.
    let mut t = Timeline::new();
    rpush(&mut t, 1, Q, "a", (0, 1));
    rpush(&mut t, 1, Q, "b", (2, 3));
    t.unknown(
        2,
        Q,
        Call::Pop {
            end: ListEnd::Head,
            block_ms: None,
        },
        4,
    );
    t.unknown(
        2,
        Q,
        Call::Pop {
            end: ListEnd::Tail,
            block_ms: None,
        },
        6,
    );
    range(&mut t, &[], &[], (10, 11));
    assert_valid(&t.check());
}

#[test]
fn an_element_handed_to_a_consumer_must_be_removed_or_still_processing() {
    let mut t = Timeline::new();
    let push = rpush(&mut t, 1, Q, "a", (0, 1));
    let moved = lmove(&mut t, 2, Some("a"), (2, 3));
    // Unknown pops cannot have taken it: pops never touch processing lists.
    t.unknown(
        3,
        Q,
        Call::Pop {
            end: ListEnd::Head,
            block_ms: None,
        },
        4,
    );
    let read = range(&mut t, &[], &[], (10, 11));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::LostWrite, &[push, moved, read]);
    assert!(text.contains("handed to a consumer"), "{text}");
    assert_eq!(report.queue.lost, 1);

    // An LREM with an unknown outcome explains it.
    let mut t = Timeline::new();
    rpush(&mut t, 1, Q, "a", (0, 1));
    lmove(&mut t, 2, Some("a"), (2, 3));
    t.unknown(
        2,
        P,
        Call::Remove {
            element: "a".into(),
        },
        4,
    );
    range(&mut t, &[], &[], (10, 11));
    assert_valid(&t.check());
}

#[test]
fn elements_nobody_pushed_are_phantoms() {
    let mut t = Timeline::new();
    let ghost = pop(&mut t, 2, Q, None, Some("x"), (0, 1));
    let failed = t.failed(1, Q, push_call("y", ListEnd::Tail), (2, 3));
    let from_failed = pop(&mut t, 2, Q, None, Some("y"), (4, 5));
    // Popped before it was pushed.
    let early = pop(&mut t, 2, Q, None, Some("z"), (6, 7));
    let late_push = rpush(&mut t, 1, Q, "z", (8, 9));
    // Pushed to one queue, popped from another.
    let other = rpush(&mut t, 1, Q2, "w", (10, 11));
    let crossed = pop(&mut t, 2, Q, None, Some("w"), (12, 13));
    let report = t.check();
    assert_finds(&report, AnomalyClass::PhantomWrite, &[ghost]);
    assert_finds(&report, AnomalyClass::PhantomWrite, &[failed, from_failed]);
    assert_finds(&report, AnomalyClass::PhantomWrite, &[late_push, early]);
    let text = assert_finds(&report, AnomalyClass::PhantomWrite, &[other, crossed]);
    assert!(text.contains("another queue"), "{text}");
    assert_eq!(report.queue.phantoms, 4);
}

#[test]
fn a_head_pop_that_overtakes_an_earlier_tail_push_breaks_fifo() {
    let mut t = Timeline::new();
    let a = rpush(&mut t, 1, Q, "a", (0, 1));
    let b = rpush(&mut t, 1, Q, "b", (2, 3));
    let overtaking = pop(&mut t, 2, Q, Some(200), Some("b"), (4, 5));
    let late = pop(&mut t, 3, Q, None, Some("a"), (6, 7));
    range(&mut t, &[], &[], (10, 11));
    let report = t.check();
    assert_finds(
        &report,
        AnomalyClass::FifoViolation,
        &[a, b, overtaking, late],
    );
    assert_eq!(classes(&report), vec![AnomalyClass::FifoViolation]);

    // Concurrent pops may return the two in either order; a tail pop takes the newer one;
    // an element pushed to the head goes ahead; different producers are not compared.
    let mut t = Timeline::new();
    rpush(&mut t, 1, Q, "a", (0, 1));
    rpush(&mut t, 1, Q, "b", (2, 3));
    pop(&mut t, 2, Q, None, Some("b"), (4, 8));
    pop(&mut t, 3, Q, None, Some("a"), (5, 7));
    rpush(&mut t, 1, Q, "c", (10, 11));
    rpush(&mut t, 1, Q, "d", (12, 13));
    brpop(&mut t, 2, Some("d"), (14, 15));
    lpush(&mut t, 4, "e", (16, 17));
    pop(&mut t, 2, Q, None, Some("e"), (18, 19));
    lmove(&mut t, 2, Some("c"), (20, 21));
    lrem(&mut t, 2, "c", 1, (22, 23));
    range(&mut t, &[], &[], (30, 31));
    assert_valid(&t.check());
}

#[test]
fn an_empty_pop_while_an_element_was_queued_is_stale() {
    let mut t = Timeline::new();
    let a = rpush(&mut t, 1, Q, "a", (0, 1));
    let empty = pop(&mut t, 2, Q, None, None, (2, 3));
    let empty_move = lmove(&mut t, 2, None, (4, 5));
    // A blocking pop that timed out is not judged (a node behind may let it time out).
    pop(&mut t, 3, Q, Some(200), None, (2, 202));
    let read = range(&mut t, &["a"], &[], (300, 301));
    let report = t.check();
    assert_finds(&report, AnomalyClass::StaleRead, &[a, empty, read]);
    assert_finds(&report, AnomalyClass::StaleRead, &[a, empty_move, read]);
    assert_eq!(classes(&report), vec![AnomalyClass::StaleRead]);
}

#[test]
fn a_final_read_that_misses_a_processing_list_cannot_judge_losses() {
    let mut t = Timeline::new();
    rpush(&mut t, 1, Q, "a", (0, 1));
    lmove(&mut t, 2, Some("a"), (2, 3));
    let call = Call::Range { with: Vec::new() };
    let lists = vec![Vec::new()];
    let read = t.add(0, Q, call, (10, 11), ok(Reply::Lists { lists }));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::MalformedHistory, &[read]);
    assert!(text.contains("does not read"), "{text}");
    assert_eq!(classes(&report), vec![AnomalyClass::MalformedHistory]);

    // A reply with the wrong number of lists is malformed too.
    let mut t = Timeline::new();
    let call = Call::Range {
        with: vec![P.to_string()],
    };
    let lists = vec![Vec::new()];
    let read = t.add(0, Q, call, (10, 11), ok(Reply::Lists { lists }));
    assert_finds(&t.check(), AnomalyClass::MalformedHistory, &[read]);
}

#[test]
fn the_queue_calls_round_trip_through_json() {
    let mut t = Timeline::new();
    rpush(&mut t, 1, Q, "a", (0, 1));
    pop(&mut t, 2, Q, Some(250), Some("a"), (2, 3));
    pop(&mut t, 2, Q, None, None, (4, 5));
    lmove(&mut t, 2, None, (6, 7));
    lrem(&mut t, 2, "a", 0, (8, 9));
    range(&mut t, &[], &[], (10, 11));
    let history = t.history();
    let json = serde_json::to_string(&history).unwrap();
    for text in [
        r#""f":"push""#,
        r#""end":"tail""#,
        r#""block_ms":250"#,
        r#""r":"lists""#,
    ] {
        assert!(json.contains(text), "{text} in {json}");
    }
    let back: History = serde_json::from_str(&json).unwrap();
    assert_eq!(back, history);
}
