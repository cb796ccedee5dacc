//! Hand-made counter histories (INCR + GET).

use quorum_check::{AnomalyClass, Call};

use crate::builder::{assert_finds, assert_valid, classes, Timeline};

#[test]
fn concurrent_increments_and_reads_are_valid() {
    let mut t = Timeline::new();
    t.get(3, "c", None, (0, 1));
    t.incr(1, "c", 2, (2, 10));
    t.incr(2, "c", 1, (3, 11));
    t.get(3, "c", Some("1"), (4, 9));
    t.unknown(1, "c", Call::Incr, 12);
    t.failed(2, "c", Call::Incr, (12, 13));
    // The unknown INCR may or may not have been applied.
    t.get(3, "c", Some("3"), (20, 21));
    assert_valid(&t.check());
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (2, 10));
    t.unknown(1, "c", Call::Incr, 12);
    t.get(3, "c", Some("1"), (20, 21));
    assert_valid(&t.check());
}

#[test]
fn an_increment_applied_twice_is_a_duplicate_apply() {
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 1));
    t.incr(1, "c", 3, (2, 3));
    let third = t.incr(1, "c", 4, (4, 5));
    t.get(1, "c", Some("4"), (6, 7));
    let report = t.check();
    assert!(
        classes(&report).contains(&AnomalyClass::DuplicateApply),
        "{report}"
    );
    assert!(
        report
            .anomalies
            .iter()
            .any(|a| a.class == AnomalyClass::DuplicateApply
                && (a.ops.contains(&1) || a.ops.contains(&third))),
        "{report}"
    );
    assert!(
        classes(&report).contains(&AnomalyClass::CounterMismatch),
        "{report}"
    );
}

#[test]
fn two_increments_returning_the_same_value_lost_one() {
    let mut t = Timeline::new();
    let a = t.incr(1, "c", 1, (0, 5));
    let b = t.incr(2, "c", 1, (0, 5));
    assert_finds(&t.check(), AnomalyClass::LostWrite, &[a, b]);
}

#[test]
fn a_read_below_the_acknowledged_count_is_a_mismatch() {
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 1));
    let read = t.get(2, "c", Some("0"), (2, 3));
    t.get(2, "c", Some("1"), (4, 5));
    let text = assert_finds(&t.check(), AnomalyClass::CounterMismatch, &[read]);
    assert!(text.contains("a read"), "{text}");
}

#[test]
fn a_final_read_above_acknowledged_plus_unknown_is_a_mismatch() {
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 1));
    t.unknown(1, "c", Call::Incr, 2);
    let read = t.get(2, "c", Some("3"), (200, 201));
    let text = assert_finds(&t.check(), AnomalyClass::CounterMismatch, &[read]);
    assert!(text.contains("the final read"), "{text}");
}

#[test]
fn an_increment_that_misses_acknowledged_ones_lost_them() {
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 1));
    t.incr(1, "c", 2, (2, 3));
    let behind = t.incr(2, "c", 2, (4, 5));
    assert_finds(&t.check(), AnomalyClass::LostWrite, &[behind]);
}

#[test]
fn reads_going_back_in_real_time_are_stale() {
    // Both reads are within the bounds, but the second began after the first saw 2.
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 10));
    t.incr(2, "c", 2, (0, 10));
    let first = t.get(3, "c", Some("2"), (1, 3));
    let second = t.get(4, "c", Some("1"), (4, 6));
    assert_finds(&t.check(), AnomalyClass::StaleRead, &[first, second]);
}

#[test]
fn a_non_integer_read_is_a_phantom() {
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 1));
    let read = t.get(2, "c", Some("one"), (2, 3));
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read]);
}

/// The porcupine cross-check's find (2026-11-30): an INCR that returned 4 while only three
/// increments can precede it, itself included. Four INCRs had been invoked when it completed,
/// so the old bound (INCRs invoked by its completion) allowed it; but the INCR invoked first
/// returned 5, so it came after, and only the INCR that returned 1, the one of unknown
/// outcome and the INCR itself can fill places 1 to 4.
#[test]
fn an_incr_returning_more_than_the_increments_that_can_precede_it_is_a_duplicate_apply() {
    let mut t = Timeline::new();
    t.incr(1, "c", 5, (0, 50));
    t.unknown(2, "c", Call::Incr, 1);
    t.incr(3, "c", 1, (2, 3));
    let four = t.incr(3, "c", 4, (4, 10));
    assert_finds(&t.check(), AnomalyClass::DuplicateApply, &[four]);
    // Reads are bounded the same way: 3 needs two increments besides the one that returned 1.
    let mut t = Timeline::new();
    t.incr(1, "c", 5, (0, 50));
    t.unknown(2, "c", Call::Incr, 1);
    t.incr(3, "c", 1, (2, 3));
    let read = t.get(3, "c", Some("3"), (4, 10));
    assert_finds(&t.check(), AnomalyClass::CounterMismatch, &[read]);
    // With one more INCR of unknown outcome invoked before it, 4 is possible.
    let mut t = Timeline::new();
    t.incr(1, "c", 5, (0, 50));
    t.unknown(2, "c", Call::Incr, 1);
    t.unknown(4, "c", Call::Incr, 2);
    t.incr(3, "c", 1, (2, 3));
    t.incr(3, "c", 4, (4, 10));
    assert_valid(&t.check());
}
