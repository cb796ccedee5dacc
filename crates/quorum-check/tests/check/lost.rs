//! Counting lost acknowledged writes (`CheckReport::lost`): the figure `quorum chaos --target
//! redis-sentinel` reports, exact for APPENDs and a lower bound for INCRs.

use quorum_check::{Call, LostWrites};

use crate::builder::Timeline;

#[test]
fn a_failover_that_drops_a_suffix_counts_each_lost_write() {
    let mut t = Timeline::new();
    // The old primary acknowledged a, b, c; the new one had only a, then took d.
    t.append(1, "l", "a,", 2, (0, 1));
    let b = t.append(1, "l", "b,", 4, (2, 3));
    let c = t.append(2, "l", "c,", 6, (4, 5));
    t.append(3, "l", "d,", 4, (10, 11));
    t.get(1, "l", Some("a,d,"), (20, 21));
    // Counter: the old primary returned 1..=4, the new one (at 2) returned 3 and 4 again.
    for (value, at) in [(1, 0), (2, 2), (3, 4), (4, 6), (3, 10), (4, 12)] {
        t.incr(1, "c", value, (at, at + 1));
    }
    t.unknown(2, "c", Call::Incr, 14);
    t.get(1, "c", Some("5"), (20, 21));
    let lost = t.check().lost;
    assert_eq!(
        lost,
        LostWrites {
            appends_acknowledged: 4,
            appends_lost: 2,
            increments_acknowledged: 6,
            // Acknowledged values 1..=4 appear once each in the surviving history: two lost,
            // although the final value 5 (the unknown INCR applied) is only one short of 6.
            increments_lost: 2,
            keys_without_final_read: 0,
            lost_append_ops: vec![b, c],
        }
    );
    assert_eq!(lost.lost(), 4);
    assert!((lost.fraction() - 0.4).abs() < 1e-9);
}

#[test]
fn a_valid_history_loses_nothing_and_keys_without_a_final_read_are_not_counted() {
    let mut t = Timeline::new();
    t.append(1, "l", "a,", 2, (0, 1));
    t.get(2, "l", Some("a,"), (2, 3));
    t.incr(1, "c", 1, (0, 1));
    t.incr(2, "c", 2, (0, 2));
    t.get(1, "c", Some("2"), (3, 4));
    t.append(1, "unread", "x,", 2, (0, 1));
    let report = t.check();
    assert!(report.valid, "{report}");
    assert_eq!(report.lost.lost(), 0);
    assert_eq!(report.lost.acknowledged(), 3);
    assert_eq!(report.lost.keys_without_final_read, 1);
}
