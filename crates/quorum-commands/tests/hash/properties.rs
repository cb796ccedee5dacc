//! Properties of HSCAN and HRANDFIELD that no reply table can state: a whole scan of a
//! large hash sees every field present throughout, even while fields come and go; random
//! replies are well formed, distinct when they must be, and follow the read's seed.

use std::collections::BTreeSet;

use quorum_resp::Frame;

use crate::common::{render, tokenize, Harness};

/// Runs `line` and returns the reply frame.
pub(crate) fn run(h: &mut Harness, line: &str) -> Frame {
    h.run_args(&tokenize(line))
}

pub(crate) fn bulk_text(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk: {other:?}"),
    }
}

/// A whole HSCAN: every page's items, and how many pages it took.
pub(crate) fn full_scan(
    h: &mut Harness,
    key: &str,
    count: usize,
    mut between: impl FnMut(&mut Harness),
) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let reply = run(h, &format!("HSCAN {key} {cursor} COUNT {count}"));
        let Frame::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        cursor = bulk_text(&parts[0]);
        let Frame::Array(page) = &parts[1] else {
            panic!("{parts:?}")
        };
        for pair in page.chunks(2) {
            items.push((bulk_text(&pair[0]), bulk_text(&pair[1])));
        }
        pages += 1;
        assert!(pages < 10_000, "scan does not end");
        if cursor == "0" {
            return (items, pages);
        }
        between(h);
    }
}

#[test]
fn hscan_pages_a_large_hash_and_never_misses_a_steady_field() {
    let mut h = Harness::default();
    for i in 0..300 {
        h.line(&format!("HSET big f{i} v{i}"));
    }
    let (items, pages) = full_scan(&mut h, "big", 7, |_| {});
    assert!(pages >= 300 / 7);
    let fields: BTreeSet<String> = items.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(fields.len(), 300);
    assert_eq!(items.len(), 300, "no field twice without changes");
    assert!(items.iter().all(|(f, v)| f[1..] == v[1..]));

    // Deleting and adding fields between pages: fields present throughout are all seen.
    let mut step = 0;
    let (items, _) = full_scan(&mut h, "big", 5, |h| {
        step += 1;
        h.line(&format!("HDEL big f{}", step * 2));
        h.line(&format!("HSET big new{step} x"));
    });
    let seen: BTreeSet<String> = items.into_iter().map(|(f, _)| f).collect();
    let deleted: BTreeSet<String> = (1..=step).map(|s| format!("f{}", s * 2)).collect();
    for i in 0..300 {
        let field = format!("f{i}");
        if !deleted.contains(&field) {
            assert!(seen.contains(&field), "missed {field}");
        }
    }
}

#[test]
fn hscan_match_filters_pages_of_a_large_hash() {
    let mut h = Harness::default();
    for i in 0..200 {
        h.line(&format!("HSET big f{i} v{i}"));
    }
    let reply = render(&run(&mut h, "HSCAN big 0 COUNT 1000 MATCH f1?"));
    assert_eq!(reply.matches("$f1").count(), 10, "{reply}");
    assert!(reply.starts_with("[$0, "), "{reply}");
    // A long value makes a small hash page like a Redis hashtable.
    h.line(&format!("HSET long f {}", "x".repeat(65)));
    h.line("HSET long g 1 h 2");
    assert_eq!(
        render(&run(&mut h, "HSCAN long 0 COUNT 1")),
        "[$2, [$h, $2]]"
    );
}

#[test]
fn hrandfield_random_replies_are_well_formed_and_seeded() {
    let mut h = Harness::default();
    for i in 0..50 {
        h.line(&format!("HSET h f{i} v{i}"));
    }
    let fields = |frame: &Frame| -> Vec<String> {
        let Frame::Array(items) = frame else {
            panic!("{frame:?}")
        };
        items.iter().map(bulk_text).collect()
    };
    for count in [1usize, 2, 10, 16, 17, 30, 49, 50] {
        let got = fields(&run(&mut h, &format!("HRANDFIELD h {count}")));
        assert_eq!(got.len(), count);
        let distinct: BTreeSet<&String> = got.iter().collect();
        assert_eq!(
            distinct.len(),
            count,
            "positive counts pick distinct fields"
        );
        let indexes: Vec<usize> = got.iter().map(|f| f[1..].parse().unwrap()).collect();
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "listed in hash order"
        );
    }
    let got = fields(&run(&mut h, "HRANDFIELD h 5 WITHVALUES"));
    assert!(got.chunks(2).all(|p| p[0][1..] == p[1][1..]));
    let got = fields(&run(&mut h, "HRANDFIELD h -200 WITHVALUES"));
    assert_eq!(got.len(), 400);
    assert!(got.chunks(2).all(|p| p[0][1..] == p[1][1..]));
    let distinct: BTreeSet<&String> = got.iter().step_by(2).collect();
    assert!(
        distinct.len() > 1 && distinct.len() < 200,
        "repeats allowed"
    );

    // The same seed gives the same answer; another seed another one.
    let first = run(&mut h, "HRANDFIELD h -20");
    assert_eq!(run(&mut h, "HRANDFIELD h -20"), first);
    h.seed = 43;
    assert_ne!(run(&mut h, "HRANDFIELD h -20"), first);
    let singles: BTreeSet<String> = (0..64)
        .map(|seed| {
            h.seed = seed;
            bulk_text(&run(&mut h, "HRANDFIELD h"))
        })
        .collect();
    assert!(
        singles.len() > 10,
        "HRANDFIELD without count varies with the seed"
    );
}
