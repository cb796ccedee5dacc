//! `READONLY` reads: staleness is measured, not judged; going back in time within a session
//! and values nobody wrote are anomalies.

use quorum_check::{AnomalyClass, Call};

use crate::builder::{assert_finds, assert_valid, Timeline};

#[test]
fn a_stale_register_read_is_measured_not_reported() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.set(1, "k", "b", (2, 3));
    t.set(1, "k", "c", (4, 5));
    t.get_ro(7, "k", Some("a"), (10, 11));
    t.get_ro(7, "k", Some("c"), (12, 13));
    let report = t.check();
    assert_valid(&report);
    let ro = &report.readonly;
    assert_eq!(ro.reads, 2);
    assert_eq!(ro.stale_reads, 1);
    assert_eq!(ro.max_versions_behind, 2);
    // b completed at 3 ms and the read began at 10 ms.
    assert_eq!(ro.max_ms_behind, 7.0);
    assert_eq!(ro.sessions.len(), 1);
    assert!(ro.sessions[0].monotonic);
    let text = report.explain();
    assert!(
        text.contains("READONLY: 2 reads, 1 stale; behind at most 2 versions"),
        "{text}"
    );
    assert!(text.contains("1/1 sessions monotonic"), "{text}");
    assert!(
        text.contains("register: 5 ok, 0 failed, 0 unknown"),
        "{text}"
    );
}

#[test]
fn a_register_session_going_back_in_time_is_non_monotonic() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.set(1, "k", "b", (2, 3));
    let newer = t.get_ro(7, "k", Some("b"), (10, 11));
    let older = t.get_ro(7, "k", Some("a"), (12, 13));
    // Another client may well read an older value: sessions are per client.
    t.get_ro(8, "k", Some("a"), (14, 15));
    let report = t.check();
    assert_finds(&report, AnomalyClass::NonMonotonicRead, &[newer, older]);
    let sessions = &report.readonly.sessions;
    assert_eq!(sessions.iter().filter(|s| !s.monotonic).count(), 1);
    assert_eq!(report.anomalies.len(), 1, "{report}");
}

/// A session is a client on one node: moving to another node (after a connection error, say)
/// starts a new one, since that node may lag behind the one the client left (seen in `quorum
/// chaos` with a clock fault restarting the node a READONLY client was on).
#[test]
fn a_client_moving_to_a_lagging_node_starts_a_new_session() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    t.set(1, "k", "b", (2, 3));
    let on_one = t.get_ro(7, "k", Some("b"), (10, 11));
    let on_other = t.get_ro(7, "k", Some("a"), (12, 13));
    t.ops_mut()[on_other as usize].node = t.ops_mut()[on_one as usize].node + 1;
    assert_valid(&t.check());
    // Back on the first node, the older value is going back in time.
    let back = t.get_ro(7, "k", Some("a"), (14, 15));
    assert_finds(&t.check(), AnomalyClass::NonMonotonicRead, &[on_one, back]);
}

#[test]
fn a_readonly_read_of_a_value_nobody_wrote_is_a_phantom() {
    let mut t = Timeline::new();
    t.set(1, "k", "a", (0, 1));
    let read = t.get_ro(7, "k", Some("zzz"), (2, 3));
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[read]);
}

#[test]
fn list_readonly_reads_are_measured_and_must_be_monotonic() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    t.append(1, "l", "b,", 4, (2, 3));
    t.get_ro(7, "l", Some("a,"), (10, 11));
    assert_valid(&t.check());
    assert_eq!(t.check().readonly.max_versions_behind, 1);
    let back = t.get_ro(7, "l", None, (12, 13));
    assert_finds(&t.check(), AnomalyClass::NonMonotonicRead, &[back]);
}

#[test]
fn counter_readonly_reads_are_measured_bounded_and_monotonic() {
    let mut t = Timeline::new();
    t.incr(1, "c", 1, (0, 1));
    t.incr(1, "c", 2, (2, 3));
    t.get_ro(7, "c", Some("1"), (10, 11));
    let report = t.check();
    assert_valid(&report);
    assert_eq!(report.readonly.max_versions_behind, 1);
    assert_eq!(report.readonly.max_ms_behind, 7.0);
    let back = t.get_ro(7, "c", Some("0"), (12, 13));
    assert_finds(&t.check(), AnomalyClass::NonMonotonicRead, &[back]);
    let future = t.get_ro(8, "c", Some("5"), (14, 15));
    assert_finds(&t.check(), AnomalyClass::PhantomWrite, &[future]);
    t.unknown(1, "c", Call::Incr, 16);
    assert!(!t.check().valid);
}
