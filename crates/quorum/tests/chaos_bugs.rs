//! Proof that `quorum chaos` can fail: each bug planted with `quorum node --chaos-bug NAME`
//! (the `chaos-bugs` feature, never in release builds) must be reported as the anomaly it
//! causes, with exit status 1, by a short seeded run of the real binary; and the same run
//! without the bug must be valid, so it is the bug that is caught, not the faults.
//!
//! Seeds, intervals and fault classes are chosen so that each bug shows within seconds (each
//! was checked over repeated runs); every run is bounded by [`RUN_TIMEOUT`].

use std::process::Output;
use std::time::Duration;

mod common;

use common::process::{quorum_bounded, read_classes, reports_any, show};

/// Upper bound of one `quorum chaos` run (the issue asks for each bug to be caught within two
/// minutes; the runs below take well under one).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// One seeded `quorum chaos` run.
#[derive(Clone, Copy)]
struct Run<'a> {
    /// The planted bug (`None`: a correct node).
    bug: Option<&'a str>,
    faults: &'a str,
    seed: &'a str,
    interval: &'a str,
    duration: &'a str,
    /// More `quorum chaos` flags.
    extra: &'a [&'a str],
}

/// What a read that could not have happened is reported as: a stale read on a list-append key,
/// a non-linearizable history on a register, a read outside the possible counts on a counter.
const STALE_READ_CLASSES: &[&str] = &["stale_read", "not_linearizable", "counter_mismatch"];
/// What a request applied twice shows as. An APPEND, an INCR or a swap that returns its own
/// value is recognisably a duplicate; a SET applied again after newer writes only shows as a
/// register going back (a lost update, a stale or non-linearizable read). Seen in CI: seed 2
/// once gave `phantom_write` + `lost_write` for a twice-applied swap, which the checker now
/// names `duplicate_apply`.
const DUPLICATE_APPLY_CLASSES: &[&str] = &[
    "duplicate_apply",
    "counter_mismatch",
    "lost_write",
    "stale_read",
    "not_linearizable",
];

/// A finished run: its output and the anomaly classes of its report.
struct Outcome {
    output: Output,
    classes: Vec<String>,
}

impl Run<'_> {
    fn run(&self) -> Outcome {
        let report = tempfile::tempdir().unwrap();
        self.run_into(report.path())
    }

    /// [`Run::run`], writing the report into `root/report`.
    fn run_into(&self, root: &std::path::Path) -> Outcome {
        let dir = root.join("report");
        let bug_arg = self.bug.map(|bug| format!("--node-arg=--chaos-bug={bug}"));
        let mut args = vec![
            "chaos",
            "--duration",
            self.duration,
            "--interval",
            self.interval,
            "--faults",
            self.faults,
            "--seed",
            self.seed,
            "--report",
            dir.to_str().unwrap(),
        ];
        args.extend(bug_arg.as_deref());
        args.extend(self.extra);
        let (output, _pid) = quorum_bounded(&args, RUN_TIMEOUT);
        let classes = read_classes(&dir.join("check.json"), &output);
        Outcome { output, classes }
    }

    /// Runs the same schedule on correct nodes and asserts a valid history in which at least
    /// one fault of `class` was injected, so that it is the bug that is caught, not the faults.
    fn assert_valid_with_faults(&self, class: &str) {
        let report = tempfile::tempdir().unwrap();
        let outcome = Run { bug: None, ..*self }.run_into(report.path());
        assert_eq!(
            outcome.output.status.code(),
            Some(0),
            "{}",
            show(&outcome.output)
        );
        assert!(outcome.classes.is_empty(), "{:?}", outcome.classes);
        let summary = std::fs::read_to_string(report.path().join("report/summary.md")).unwrap();
        assert!(
            summary.contains(&format!("| {class} |")),
            "no {class} fault injected\n{summary}"
        );
    }

    /// [`Run::assert_caught_as`] for a bug whose catch depends on timing: the same seeded run
    /// up to `rounds` times (each bounded by [`RUN_TIMEOUT`], all within the two minutes the
    /// issue allows); passes at the first round that reports one of `expected`.
    fn assert_caught_within(&self, rounds: usize, expected: &[&str]) {
        let mut missed = Vec::new();
        for round in 1..=rounds {
            let outcome = self.run();
            if reports_any(&outcome.output, &outcome.classes, expected) {
                eprintln!("caught in round {round}");
                return;
            }
            missed.push(show(&outcome.output));
        }
        panic!(
            "{:?} was not caught as any of {expected:?} in {rounds} rounds; the last:\n{}",
            self.bug,
            missed.last().map_or("", String::as_str)
        );
    }

    /// Runs with the bug planted and asserts exit 1 with one of `expected` among the
    /// anomaly classes.
    fn assert_caught_as(&self, expected: &[&str]) {
        let outcome = self.run();
        assert_eq!(
            outcome.output.status.code(),
            Some(1),
            "{:?} was not caught\n{}",
            self.bug,
            show(&outcome.output)
        );
        assert!(
            outcome
                .classes
                .iter()
                .any(|c| expected.contains(&c.as_str())),
            "{:?} was reported as {:?}, not as any of {expected:?}\n{}",
            self.bug,
            outcome.classes,
            show(&outcome.output)
        );
    }
}

/// Power cuts of a majority and of every node, with unsynced log writes lost
/// (`--emulate-power-loss`): caught within the first cut. No READONLY readers: every client
/// writes, so more acknowledged writes are at stake (READONLY sessions under power cuts are
/// `chaos.rs`'s `power_cuts_keep_readonly_sessions_monotonic`).
const POWER_CUTS: Run<'static> = Run {
    bug: Some("ack-before-fsync"),
    faults: "power",
    seed: "1",
    interval: "3s",
    duration: "12s",
    extra: &["--readonly-clients", "0"],
};

#[test]
fn acknowledging_before_fsync_is_reported_as_lost_writes_after_a_power_cut() {
    POWER_CUTS.assert_caught_as(&["lost_write"]);
}

#[test]
fn the_same_power_cuts_without_the_planted_bug_lose_nothing() {
    POWER_CUTS.assert_valid_with_faults("power");
}

#[test]
fn follower_local_reads_are_reported_as_stale_reads() {
    // No fault needed: a follower is always a little behind the leader.
    Run {
        bug: Some("follower-local-reads"),
        faults: "none",
        seed: "1",
        interval: "5s",
        duration: "8s",
        extra: &[],
    }
    .assert_caught_as(STALE_READ_CLASSES);
}

#[test]
fn skipped_dedup_is_reported_as_duplicate_apply() {
    // Killing or pausing the leader makes proposers retry proposals that were already
    // replicated; without deduplication each such retry applies again.
    Run {
        bug: Some("skip-dedup"),
        faults: "kill,pause",
        seed: "2",
        interval: "2s",
        // Two leader kills and two long pauses; no majority kill, whose recovery can take
        // long on a loaded machine and is not what this test is about.
        duration: "10s",
        extra: &[],
    }
    // Whether a retried proposal had already been replicated is a race: a fresh-clone CI run
    // once saw none in a round (2026-11-30). Three rounds of ~15 s stay within two minutes.
    .assert_caught_within(3, DUPLICATE_APPLY_CLASSES);
}

#[test]
fn a_lease_without_clock_bound_is_reported_as_stale_reads() {
    // A leader paused past the election timeout wakes up still trusting its lease and answers
    // the reads that queued up meanwhile from its old state before it hears of the new leader.
    // Sticky clients with a short timeout keep sending requests to the paused node, so some of
    // those reads were sent after the new leader had acknowledged writes.
    Run {
        bug: Some("lease-without-clock-bound"),
        faults: "pause",
        seed: "6",
        interval: "2s",
        duration: "16s",
        extra: &["--sticky-clients", "--op-timeout-ms", "500"],
    }
    .assert_caught_as(STALE_READ_CLASSES);
}

/// Partitions through the link proxies (`--cluster loopback`, no root needed): a leader cut
/// off from its followers keeps its clients (sticky, with a short timeout) and, without the
/// clock bound on its lease, answers their reads from its old state after the majority has
/// elected a new leader and acknowledged writes.
const PROXY_PARTITIONS: Run<'static> = Run {
    bug: Some("lease-without-clock-bound"),
    faults: "partition",
    seed: "2",
    interval: "2s",
    duration: "16s",
    extra: &[
        "--cluster",
        "loopback",
        "--sticky-clients",
        "--op-timeout-ms",
        "500",
    ],
};

#[test]
fn a_lease_without_clock_bound_is_reported_as_stale_reads_behind_proxy_partitions() {
    PROXY_PARTITIONS.assert_caught_as(STALE_READ_CLASSES);
}

#[test]
fn the_same_proxy_partitions_without_the_planted_bug_are_valid() {
    PROXY_PARTITIONS.assert_valid_with_faults("partition");
}

/// Connections recorded by the link proxies and replayed once each into fresh connections:
/// the followers' forwarded writes reach the leader twice, and without request-id
/// deduplication the second copy applies again.
const DUPLICATED_CONNECTIONS: Run<'static> = Run {
    bug: Some("skip-dedup"),
    faults: "duplicate",
    seed: "1",
    interval: "3s",
    duration: "15s",
    extra: &["--cluster", "loopback"],
};

#[test]
fn skipped_dedup_is_reported_as_duplicate_apply_when_connections_are_replayed() {
    DUPLICATED_CONNECTIONS.assert_caught_as(DUPLICATE_APPLY_CLASSES);
}

#[test]
fn the_same_replayed_connections_without_the_planted_bug_are_valid() {
    DUPLICATED_CONNECTIONS.assert_valid_with_faults("duplicate");
}

/// The queue workload (`--queue`, the string workloads cut down to one client) catches a
/// retried proposal applied twice: a push applied twice is an element popped twice, or popped
/// and still queued (`duplicate_apply`); an LREM or pop applied twice takes an element nobody
/// received (`lost_write`). Only anomalies on the queues count here. The same schedule on
/// correct nodes must be valid.
#[test]
fn skipped_dedup_is_reported_as_doubled_or_lost_queue_elements() {
    let run = Run {
        bug: Some("skip-dedup"),
        faults: "kill,pause",
        seed: "2",
        interval: "2s",
        duration: "10s",
        extra: &["--queue", "--clients", "1", "--readonly-clients", "0"],
    };
    // Whether a retried proposal had been replicated is a race (see the test above): up to
    // three rounds.
    let mut missed = Vec::new();
    for round in 1..=3 {
        let report = tempfile::tempdir().unwrap();
        let outcome = run.run_into(report.path());
        let check = std::fs::read_to_string(report.path().join("report/check.json"));
        let check: serde_json::Value =
            serde_json::from_str(&check.unwrap_or_default()).unwrap_or_default();
        let on_queues = check["anomalies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["key"].as_str().is_some_and(|k| k.contains(":queue:")))
            .any(|a| a["class"] == "duplicate_apply" || a["class"] == "lost_write");
        if on_queues {
            assert_eq!(
                outcome.output.status.code(),
                Some(1),
                "{}",
                show(&outcome.output)
            );
            eprintln!(
                "caught on the queues in round {round}: {:?}",
                check["queue"]
            );
            run.assert_valid_with_faults("kill");
            return;
        }
        missed.push(show(&outcome.output));
    }
    panic!(
        "skip-dedup was not caught on the queues in 3 rounds; the last:\n{}",
        missed.last().map_or("", String::as_str)
    );
}
