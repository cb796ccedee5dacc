//! Hand-made list-append histories.

use quorum_check::AnomalyClass;

use crate::builder::{append_call, assert_finds, assert_valid, classes, Timeline};

#[test]
fn concurrent_appends_read_in_one_order_are_valid() {
    let mut t = Timeline::new();
    t.get(3, "l", None, (0, 1));
    t.append(1, "l", "a,", 2, (2, 10));
    t.append(2, "l", "b,", 4, (3, 11));
    t.get(3, "l", Some("a,"), (4, 6));
    t.get(3, "l", Some("a,b,"), (12, 13));
    let report = t.check();
    assert_valid(&report);
    assert_eq!(report.stats.by_workload["list_append"].ok, 5);
}

#[test]
fn a_token_twice_in_a_read_is_a_duplicate_apply() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    let read = t.get(2, "l", Some("a,a,"), (2, 3));
    assert_finds(&t.check(), AnomalyClass::DuplicateApply, &[read]);
}

#[test]
fn a_token_nobody_sent_is_a_phantom() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    let read = t.get(2, "l", Some("a,zz,"), (2, 3));
    let text = assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read]);
    assert!(text.contains("no APPEND sent"), "{text}");
}

#[test]
fn a_token_read_before_its_append_was_invoked_is_a_phantom() {
    let mut t = Timeline::new();
    let read = t.get(2, "l", Some("a,"), (0, 1));
    let append = t.unknown(1, "l", append_call("a,"), 5);
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read, append]);
}

#[test]
fn unknown_appends_may_appear_later_but_failed_ones_never() {
    let mut t = Timeline::new();
    t.unknown(1, "l", append_call("a,"), 0);
    t.get(2, "l", None, (200, 201));
    t.get(2, "l", Some("a,"), (300, 301));
    assert_valid(&t.check());

    let mut t = Timeline::new();
    t.failed(1, "l", append_call("a,"), (0, 1));
    let read = t.get(2, "l", Some("a,"), (2, 3));
    let text = assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read]);
    assert!(text.contains("failed"), "{text}");
}

#[test]
fn a_read_missing_an_acknowledged_append_is_stale() {
    let mut t = Timeline::new();
    let append = t.append(1, "l", "a,", 2, (0, 1));
    let stale = t.get(2, "l", None, (2, 3));
    t.get(2, "l", Some("a,"), (4, 5));
    let report = t.check();
    assert_eq!(classes(&report), vec![AnomalyClass::StaleRead], "{report}");
    assert_finds(&report, AnomalyClass::StaleRead, &[append, stale]);
}

#[test]
fn the_final_read_missing_an_acknowledged_append_is_a_lost_write() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    let b = t.append(1, "l", "b,", 4, (2, 3));
    t.get(2, "l", Some("a,b,"), (4, 5));
    let c = t.append(1, "l", "c,", 6, (6, 7));
    let last = t.get(2, "l", Some("a,"), (8, 9));
    let report = t.check();
    assert_eq!(classes(&report), vec![AnomalyClass::LostWrite], "{report}");
    assert_finds(&report, AnomalyClass::LostWrite, &[b, last]);
    let _ = c;

    // A final read that diverges from the order is still checked for what it misses.
    let mut t = Timeline::new();
    let a = t.append(1, "l", "a,", 2, (0, 1));
    t.append(1, "l", "b,", 4, (2, 3));
    t.get(2, "l", Some("a,b,"), (4, 5));
    t.append(1, "l", "c,", 6, (6, 7));
    let last = t.get(2, "l", Some("b,"), (8, 9));
    let report = t.check();
    assert_finds(&report, AnomalyClass::NotLinearizable, &[last]);
    let text = assert_finds(&report, AnomalyClass::LostWrite, &[a, last]);
    assert!(text.contains("misses 2 APPEND(s)"), "{text}");
}

#[test]
fn split_brain_each_writer_sees_only_its_own_appends() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 10));
    t.append(2, "l", "b,", 2, (0, 10));
    let r1 = t.get(1, "l", Some("a,"), (11, 12));
    let r2 = t.get(2, "l", Some("b,"), (11, 12));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::NotLinearizable, &[r1, r2]);
    assert!(text.contains("is not a prefix of"), "{text}");
}

#[test]
fn an_append_length_that_disagrees_with_the_order_is_reordering() {
    let mut t = Timeline::new();
    let a = t.append(1, "l", "a,", 2, (0, 1));
    t.append(1, "l", "b,", 4, (2, 3));
    t.get(2, "l", Some("b,a,"), (4, 5));
    let report = t.check();
    let text = assert_finds(&report, AnomalyClass::NotLinearizable, &[a]);
    assert!(text.contains("returned length 2"), "{text}");
}

#[test]
fn an_append_acknowledged_at_a_length_the_list_passed_without_it_was_lost() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    let lost = t.append(2, "l", "bb,", 5, (0, 2));
    t.append(1, "l", "c,", 4, (2, 3));
    t.append(1, "l", "d,", 6, (3, 4));
    // The read is concurrent with bb, so the read rules alone cannot tell; the length can.
    let read = t.get(3, "l", Some("a,c,d,"), (1, 5));
    let report = t.check();
    assert_eq!(classes(&report), vec![AnomalyClass::LostWrite], "{report}");
    assert_finds(&report, AnomalyClass::LostWrite, &[lost, read]);
}

#[test]
fn a_read_shorter_than_one_that_ended_before_it_is_stale() {
    // b's outcome is unknown, so only the earlier read proves it had been applied.
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    t.unknown(1, "l", append_call("b,"), 2);
    let long = t.get(2, "l", Some("a,b,"), (10, 11));
    let short = t.get(3, "l", Some("a,"), (12, 13));
    t.get(3, "l", Some("a,b,"), (14, 15));
    let report = t.check();
    assert_eq!(classes(&report), vec![AnomalyClass::StaleRead], "{report}");
    assert_finds(&report, AnomalyClass::StaleRead, &[long, short]);
}
