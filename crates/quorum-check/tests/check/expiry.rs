//! Hand-made expiry histories (SET PX, GET, PTTL), including the history a planted expiry bug
//! produces.

use quorum_check::expiry::EXPIRY_TOLERANCE_MS;
use quorum_check::{AnomalyClass, Call, History, OpId, Outcome, Reply};

use crate::builder::{assert_finds, assert_valid, classes, Timeline};

const TOL: u64 = EXPIRY_TOLERANCE_MS;

fn set_px(t: &mut Timeline, client: u32, value: &str, ttl_ms: u64, span: (u64, u64)) -> OpId {
    let call = Call::SetPx {
        value: value.to_string(),
        ttl_ms,
    };
    t.add(client, "e", call, span, Outcome::Ok { reply: Reply::Ok })
}

fn pttl(t: &mut Timeline, client: u32, answer: i64, span: (u64, u64)) -> OpId {
    let reply = Reply::Int { value: answer };
    t.add(client, "e", Call::Pttl, span, Outcome::Ok { reply })
}

#[test]
fn values_that_live_exactly_their_ttl_are_valid() {
    let mut t = Timeline::new();
    t.get(2, "e", None, (0, 1));
    set_px(&mut t, 1, "a", 1000, (10, 15));
    t.get(2, "e", Some("a"), (100, 105));
    // The deadline lies in 1010..=1015: PTTL at 200..205 says 805..815.
    pttl(&mut t, 3, 810, (200, 205));
    // Just inside the tolerance on either side of the deadline.
    t.get(2, "e", Some("a"), (1015 + TOL - 1, 1015 + TOL + 5));
    t.get(3, "e", None, (1010 - TOL + 1, 1010 - TOL + 5));
    t.get(2, "e", None, (1100, 1105));
    pttl(&mut t, 3, -2, (1200, 1201));
    // A long TTL overwritten by a short one: the key may vanish before the long one ends.
    set_px(&mut t, 1, "b", 3000, (2000, 2005));
    set_px(&mut t, 2, "c", 300, (2100, 2105));
    t.get(3, "e", None, (2500, 2505));
    // An unknown write may take effect at any time after it was sent, and then live its TTL.
    t.unknown(
        1,
        "e",
        Call::SetPx {
            value: "d".into(),
            ttl_ms: 1000,
        },
        4000,
    );
    t.get(2, "e", Some("d"), (6000, 6001));
    // A failed write never takes effect.
    t.failed(
        2,
        "e",
        Call::SetPx {
            value: "f".into(),
            ttl_ms: 1000,
        },
        (7000, 7001),
    );
    t.get(3, "e", None, (7100, 7101));
    let report = t.check();
    assert_valid(&report);
    assert_eq!(report.stats.keys_by_workload.get("expiry"), Some(&1));
}

/// What a node whose expiry clock runs late produces (the planted expiry bug: deadlines
/// computed from a wall clock 2 s behind): values and TTLs outlive their deadline.
#[test]
fn a_planted_late_expiry_is_read_after_expiry() {
    let mut t = Timeline::new();
    let w = set_px(&mut t, 1, "a", 1000, (0, 2));
    // 1 s left according to a clock that is 2 s behind, where 500 ms were possible.
    let ttl = pttl(&mut t, 2, 1500, (500, 501));
    let late = t.get(3, "e", Some("a"), (1500, 1502));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::ReadAfterExpiry, &[w, late]);
    assert_finds(&report, AnomalyClass::ReadAfterExpiry, &[ttl]);
    assert!(text.contains("TTL ran out"), "{text}");
    assert_eq!(classes(&report), vec![AnomalyClass::ReadAfterExpiry]);

    // PTTL -1: the key lost its TTL.
    let mut t = Timeline::new();
    set_px(&mut t, 1, "a", 1000, (0, 2));
    let forever = pttl(&mut t, 2, -1, (10, 11));
    assert_finds(&t.check(), AnomalyClass::ReadAfterExpiry, &[forever]);
}

/// What a node whose clock runs ahead produces: keys vanish before their TTL.
#[test]
fn a_key_gone_before_its_ttl_expired_early() {
    let mut t = Timeline::new();
    let w = set_px(&mut t, 1, "a", 3000, (0, 5));
    let gone = t.get(2, "e", None, (1000, 1005));
    let gone_ttl = pttl(&mut t, 3, -2, (1100, 1101));
    let short = pttl(&mut t, 3, 200, (1200, 1201));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::ExpiredEarly, &[w, gone]);
    assert_finds(&report, AnomalyClass::ExpiredEarly, &[w, gone_ttl]);
    assert_finds(&report, AnomalyClass::ExpiredEarly, &[short]);
    assert!(text.contains("cannot have expired"), "{text}");
    assert_eq!(classes(&report), vec![AnomalyClass::ExpiredEarly]);
}

#[test]
fn a_value_overwritten_before_the_read_is_stale_and_unwritten_values_are_phantoms() {
    let mut t = Timeline::new();
    let old = set_px(&mut t, 1, "a", 3000, (0, 5));
    let new = set_px(&mut t, 2, "b", 3000, (10, 15));
    let stale = t.get(3, "e", Some("a"), (20, 25));
    assert_finds(&t.check(), AnomalyClass::StaleRead, &[old, new, stale]);

    let mut t = Timeline::new();
    let failed = t.failed(
        1,
        "e",
        Call::SetPx {
            value: "x".into(),
            ttl_ms: 1000,
        },
        (0, 1),
    );
    let ghost = t.get(2, "e", Some("x"), (5, 6));
    let never = t.get(2, "e", Some("y"), (7, 8));
    let report = t.check();
    assert_finds(&report, AnomalyClass::PhantomWrite, &[failed, ghost]);
    assert_finds(&report, AnomalyClass::PhantomWrite, &[never]);

    // A value read before its write was sent.
    let mut t = Timeline::new();
    let early = t.get(2, "e", Some("z"), (0, 1));
    let w = set_px(&mut t, 1, "z", 1000, (5, 6));
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[w, early]);
}

#[test]
fn concurrent_writes_may_be_read_in_either_order() {
    let mut t = Timeline::new();
    set_px(&mut t, 1, "a", 3000, (0, 50));
    set_px(&mut t, 2, "b", 3000, (10, 40));
    t.get(3, "e", Some("a"), (60, 61));
    t.get(3, "e", Some("a"), (70, 71));
    // Either write may have been applied first: the TTL fits both.
    pttl(&mut t, 4, 2940, (60, 61));
    assert_valid(&t.check());
}

#[test]
fn the_new_calls_round_trip_through_json() {
    let mut t = Timeline::new();
    set_px(&mut t, 1, "a", 300, (0, 1));
    pttl(&mut t, 2, 250, (2, 3));
    let history = t.history();
    let json = serde_json::to_string(&history).unwrap();
    assert!(json.contains(r#""f":"set_px""#), "{json}");
    assert!(json.contains(r#""f":"pttl""#), "{json}");
    let back: History = serde_json::from_str(&json).unwrap();
    assert_eq!(back, history);
}

/// Expiry calls on a key of another workload are reported, not checked.
#[test]
fn expiry_calls_on_a_register_key_are_malformed() {
    let mut t = Timeline::new();
    t.set(1, "e", "a", (0, 1));
    pttl(&mut t, 2, -1, (2, 3));
    assert_eq!(classes(&t.check()), vec![AnomalyClass::MalformedHistory]);
}
