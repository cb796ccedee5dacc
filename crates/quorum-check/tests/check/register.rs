//! Hand-made register histories (GET / SET / SET ... GET), valid and invalid.

use quorum_check::{check_with, AnomalyClass, Call, CheckOptions, Outcome, Reply};

use crate::builder::{assert_finds, assert_valid, classes, set, Timeline};

#[test]
fn sequential_writes_and_reads_are_valid() {
    let mut t = Timeline::new();
    t.get(1, "k", None, (0, 1));
    t.set(1, "k", "a", (2, 3));
    t.get(2, "k", Some("a"), (4, 5));
    t.swap(2, "k", "b", Some("a"), (6, 7));
    t.get(1, "k", Some("b"), (8, 9));
    let report = t.check();
    assert_valid(&report);
    assert_eq!(report.stats.keys_checked, 1);
    assert_eq!(report.stats.by_call["get"].ok, 3);
    assert_eq!(report.stats.by_workload["register"].ok, 5);
}

#[test]
fn classic_stale_read_is_found() {
    // b overwrote a before the read began, yet the read returned a.
    let mut t = Timeline::new();
    let a = t.set(1, "k", "a", (0, 1));
    let b = t.set(1, "k", "b", (2, 3));
    let read = t.get(2, "k", Some("a"), (4, 5));
    let text = assert_finds(&t.check(), AnomalyClass::StaleRead, &[read, b, a]);
    assert!(text.contains("had overwritten it"), "{text}");
}

#[test]
fn reading_nil_after_an_acknowledged_write_is_stale() {
    let mut t = Timeline::new();
    let a = t.set(1, "k", "a", (0, 1));
    let read = t.get(2, "k", None, (2, 3));
    assert_finds(&t.check(), AnomalyClass::StaleRead, &[read, a]);
}

#[test]
fn concurrent_reads_are_linearizable_in_one_order_only() {
    // A write spans both reads: one may see nil and the other a, but a read that ends before
    // another begins cannot see the newer value first.
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 100));
    t.get(2, "k", Some("a"), (25, 75));
    t.get(3, "k", None, (30, 60));
    assert_valid(&t.check());

    let mut t = Timeline::new();
    let write = t.set(1, "k", "a", (0, 100));
    let first = t.get(2, "k", Some("a"), (10, 30));
    let second = t.get(3, "k", None, (40, 90));
    let report = t.check();
    assert_eq!(classes(&report), vec![AnomalyClass::NotLinearizable]);
    let text = assert_finds(
        &report,
        AnomalyClass::NotLinearizable,
        &[write, first, second],
    );
    assert!(text.contains("cannot be placed"), "{text}");
}

#[test]
fn lost_update_two_swaps_replace_the_same_value() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    let s1 = t.swap(1, "k", "b", Some("a"), (2, 4));
    let s2 = t.swap(2, "k", "c", Some("a"), (2, 5));
    assert_finds(&t.check(), AnomalyClass::LostWrite, &[s1, s2]);
}

#[test]
fn split_brain_each_writer_sees_only_its_own_write() {
    // Two concurrent writes, then each writer keeps reading its own value: after both
    // writes finished the register holds one value, so alternating reads cannot be ordered.
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 10));
    t.set(2, "k", "b", (0, 10));
    t.get(1, "k", Some("a"), (11, 12));
    t.get(2, "k", Some("b"), (13, 14));
    t.get(1, "k", Some("a"), (15, 16));
    t.get(2, "k", Some("b"), (17, 18));
    let report = t.check();
    assert_eq!(
        classes(&report),
        vec![AnomalyClass::NotLinearizable],
        "{report}"
    );
}

#[test]
fn a_swap_that_returns_its_own_value_was_applied_twice() {
    // Seen from the planted skip-dedup bug: a retried SET .. GET applied again returns the
    // value its first application wrote; the next swap then sees that value too.
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    let twice = t.swap(1, "k", "b", Some("b"), (2, 8));
    let next = t.swap(2, "k", "c", Some("b"), (9, 10));
    let report = t.check();
    assert_finds(&report, AnomalyClass::DuplicateApply, &[twice]);
    assert_eq!(
        classes(&report),
        vec![AnomalyClass::DuplicateApply],
        "no lost update or phantom for {next}: {report}"
    );
}

#[test]
fn swap_returning_a_value_never_written_is_a_phantom() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    let swap = t.swap(2, "k", "b", Some("zzz"), (2, 3));
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[swap]);
}

#[test]
fn reading_a_failed_write_is_a_phantom() {
    let mut t = Timeline::new();
    t.failed(1, "k", set("a"), (0, 1));
    let read = t.get(2, "k", Some("a"), (2, 3));
    let text = assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read]);
    assert!(
        text.contains("no operation that could have succeeded"),
        "{text}"
    );
}

#[test]
fn unknown_writes_may_appear_later_or_never() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.unknown(1, "k", set("x"), 5);
    t.unknown(2, "k", set("never-seen"), 6);
    t.get(3, "k", Some("a"), (20, 21));
    // x is applied long after its client gave up.
    t.get(3, "k", Some("x"), (500, 501));
    t.get(3, "k", Some("x"), (502, 503));
    let report = t.check();
    assert_valid(&report);
    assert_eq!(report.stats.by_call["set"].unknown, 2);
}

#[test]
fn unknown_swap_may_take_effect() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.unknown(2, "k", Call::Swap { value: "y".into() }, 2);
    t.swap(3, "k", "z", Some("y"), (10, 11));
    t.get(3, "k", Some("z"), (12, 13));
    assert_valid(&t.check());
}

#[test]
fn an_unknown_write_seen_before_it_was_invoked_is_a_phantom() {
    let mut t = Timeline::new();
    let read = t.get(1, "k", Some("x"), (1, 2));
    let write = t.unknown(2, "k", set("x"), 5);
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read, write]);
}

#[test]
fn failed_operations_are_ignored() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.failed(2, "k", set("b"), (2, 3));
    t.failed(2, "k", Call::Get, (4, 5));
    t.get(1, "k", Some("a"), (6, 7));
    let report = t.check();
    assert_valid(&report);
    assert_eq!(report.stats.by_call["set"].failed, 1);
}

#[test]
fn the_explanation_points_at_the_earliest_failing_operation() {
    // A long valid stretch, then one read that no order allows: the explanation must name that
    // read and cut the history at its completion, not report the whole history.
    let mut t = Timeline::new();
    for i in 0..20u64 {
        let value = format!("v{i}");
        t.set(1, "k", &value, (10 * i, 10 * i + 2));
        t.get(2, "k", Some(&value), (10 * i + 3, 10 * i + 4));
    }
    // Concurrent with a write of w, a read sees w, and a later read sees v19 again.
    let w = t.set(1, "k", "w", (300, 400));
    let sees_w = t.get(2, "k", Some("w"), (310, 320));
    let back = t.get(3, "k", Some("v19"), (330, 340));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::NotLinearizable, &[sees_w, back, w]);
    assert!(text.contains(&format!("op {back} ")), "{text}");
    assert!(text.contains("up to 0.340000s"), "{text}");
    assert!(!report.anomalies[0].ops.contains(&0), "{text}");
}

#[test]
fn the_search_is_bounded() {
    // Many concurrent writes and reads that cannot all be explained: with a tiny budget the
    // checker gives up and says so instead of searching on.
    let mut t = Timeline::new();
    for i in 0..12u32 {
        t.set(i, "k", &format!("v{i}"), (0, 100));
    }
    for i in 0..12u32 {
        t.get(20 + i, "k", Some(&format!("v{}", (i * 5) % 12)), (1, 99));
    }
    t.get(40, "k", Some("v3"), (101, 102));
    t.get(41, "k", Some("v4"), (103, 104));
    let options = CheckOptions {
        search_steps_min: 50,
        search_steps_per_op: 0,
        ..CheckOptions::default()
    };
    let report = check_with(&t.history(), &options);
    assert_eq!(
        classes(&report),
        vec![AnomalyClass::SearchLimitExceeded],
        "{report}"
    );
    assert!(!report.valid);
}

#[test]
fn a_key_nobody_wrote_must_read_nil() {
    let mut t = Timeline::new();
    t.get(1, "empty", None, (0, 1));
    let read = t.get(1, "ghost", Some("boo"), (0, 1));
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read]);
}

#[test]
fn malformed_operations_and_mixed_keys_are_reported() {
    let mut t = Timeline::new();
    // A key used by two workloads is reported and not checked further.
    t.set(1, "mixed", "a", (0, 1));
    t.incr(1, "mixed", 1, (2, 3));
    // Acknowledged without a completion time, or with a reply of the wrong type: reported,
    // then treated as unknown (so the read of b below is still explained).
    let no_time = t.set(1, "k", "b", (4, 5));
    let wrong_reply = t.add(
        2,
        "k",
        set("c"),
        (4, 5),
        Outcome::Ok {
            reply: Reply::Int { value: 1 },
        },
    );
    t.get(3, "k", Some("b"), (10, 11));
    let mut history = t.history();
    history.ops[no_time as usize].complete_ns = None;
    let report = quorum_check::check(&history);
    assert_eq!(
        classes(&report),
        vec![AnomalyClass::MalformedHistory],
        "{report}"
    );
    assert_eq!(report.anomalies.len(), 3, "{report}");
    assert!(report.anomalies.iter().any(|a| a.key == "mixed"));
    assert!(report.anomalies.iter().any(|a| a.ops == vec![no_time]));
    assert!(report.anomalies.iter().any(|a| a.ops == vec![wrong_reply]));
    assert_eq!(report.stats.by_call["set"].unknown, 2);
}

#[test]
fn concurrent_swaps_chain_in_one_order_only() {
    // Two overlapping swaps: the second returned the first's value, so the first came first
    // and the register ends holding c.
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.swap(1, "k", "b", Some("a"), (2, 10));
    t.swap(2, "k", "c", Some("b"), (3, 11));
    t.get(3, "k", Some("c"), (12, 13));
    assert_valid(&t.check());

    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    let first = t.swap(1, "k", "b", Some("a"), (2, 10));
    let second = t.swap(2, "k", "c", Some("b"), (3, 11));
    let read = t.get(3, "k", Some("b"), (12, 13));
    let report = t.check();
    assert_eq!(
        classes(&report),
        vec![AnomalyClass::NotLinearizable],
        "{report}"
    );
    assert_finds(
        &report,
        AnomalyClass::NotLinearizable,
        &[first, second, read],
    );
}
