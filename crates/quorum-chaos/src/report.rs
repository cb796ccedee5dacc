//! The run's report: a Markdown summary printed at the end and, with `--report DIR`, the
//! files `summary.md`, `history.json`, `check.json` and `timeline.html`.
//!
//! The checker's [`CheckReport`] judges the history; this module adds what only the harness
//! knows (the schedule, liveness after the heal, replica divergence, notes on skipped faults)
//! and decides the exit code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use quorum_check::{CheckReport, History, Operation, Outcome};
use serde::Serialize;

use crate::checks::{Divergence, Liveness, LIVENESS_BOUND};

/// Anomalies printed with their operations; the rest are counted (all are in `check.json`).
const ANOMALIES_SHOWN_MAX: usize = 20;

/// What the harness observed besides the history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFacts {
    /// `chaos` or `verify`.
    pub mode: String,
    /// The command line that reproduces the run.
    pub command: String,
    /// The seed of the schedule and the clients.
    pub seed: u64,
    /// Workload duration in seconds.
    pub duration_s: f64,
    /// Endpoints at the start (`node=addr`).
    pub endpoints: Vec<String>,
    /// The planned schedule, one line per fault.
    pub schedule: Vec<String>,
    /// Faults skipped or failed, and other remarks.
    pub notes: Vec<String>,
    /// Time each node took to serve a write after the final heal.
    pub liveness: Vec<Liveness>,
    /// Digest comparison after the final heal, when the endpoints are quorum nodes.
    pub divergence: Option<Divergence>,
    /// Why the digest comparison could not be made.
    pub divergence_error: Option<String>,
}

impl RunFacts {
    /// Problems of the run that are not in the history: nodes that did not serve after the
    /// heal, replicas whose state differs. Each counts as an anomaly for the exit code.
    pub fn harness_anomalies(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for live in &self.liveness {
            if live.ms.is_none() {
                found.push((
                    "liveness".to_string(),
                    format!(
                        "node {} did not acknowledge a write within {} s of the final heal: {}",
                        live.node,
                        LIVENESS_BOUND.as_secs(),
                        live.error.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
        if let Some(d) = self.divergence.as_ref().filter(|d| d.diverged) {
            let digests: Vec<String> = d
                .digests
                .iter()
                .map(|(node, digest)| format!("node {node} {digest}"))
                .collect();
            found.push((
                "replica divergence".to_string(),
                format!(
                    "at applied index {} the keyspace digests differ: {}",
                    d.applied_index,
                    digests.join(", ")
                ),
            ));
        }
        if let Some(error) = &self.divergence_error {
            found.push(("replica divergence".to_string(), error.clone()));
        }
        found
    }

    /// 0 valid, 1 anomaly.
    pub fn exit_code(&self, check: &CheckReport) -> u8 {
        u8::from(!check.valid || !self.harness_anomalies().is_empty())
    }
}

/// The Markdown summary.
pub fn summary(facts: &RunFacts, history: &History, check: &CheckReport) -> String {
    let mut md = String::new();
    let verdict = if facts.exit_code(check) == 0 {
        "VALID"
    } else {
        "ANOMALIES FOUND"
    };
    let _ = writeln!(md, "# quorum {}: {verdict}\n", facts.mode);
    let _ = writeln!(md, "Command: `{}`  ", facts.command);
    let _ = writeln!(
        md,
        "Seed {}, {:.0} s of workload, endpoints {}\n",
        facts.seed,
        facts.duration_s,
        facts.endpoints.join(", ")
    );

    let _ = writeln!(md, "## Operations\n");
    let _ = writeln!(md, "| call | ok | failed | unknown | total |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    let mut total = quorum_check::OutcomeCounts::default();
    for (call, counts) in &check.stats.by_call {
        let _ = writeln!(
            md,
            "| {call} | {} | {} | {} | {} |",
            counts.ok,
            counts.failed,
            counts.unknown,
            counts.total()
        );
        total.ok += counts.ok;
        total.failed += counts.failed;
        total.unknown += counts.unknown;
    }
    let _ = writeln!(
        md,
        "| **all** | **{}** | **{}** | **{}** | **{}** |\n",
        total.ok,
        total.failed,
        total.unknown,
        total.total()
    );
    md.push_str(&lost_writes(history, check));
    md.push_str(&queues(check));

    let _ = writeln!(md, "## Faults\n");
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in &history.faults {
        *by_class.entry(fault.class.as_str()).or_default() += 1;
    }
    if by_class.is_empty() {
        let _ = writeln!(md, "None injected.\n");
    } else {
        let classes: Vec<String> = by_class.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(md, "Injected: {}\n", classes.join(", "));
        let _ = writeln!(
            md,
            "| start (s) | class | what | lasted (ms) | longest gap between acknowledged writes (ms) | ... between surviving acknowledged APPENDs (ms) |"
        );
        let _ = writeln!(md, "|---:|---|---|---:|---:|---:|");
        let acks = write_acks(history);
        let surviving = surviving_appends(history, check);
        let ms = |gap: Option<u64>| gap.map_or("-".into(), |g| format!("{}", g / 1_000_000));
        for (i, fault) in history.faults.iter().enumerate() {
            let next = history.faults.get(i + 1).map(|f| f.start_ns);
            let lasted = fault.end_ns.map_or("-".into(), |e| {
                format!("{}", (e - fault.start_ns) / 1_000_000)
            });
            let gap = longest_gap(&acks, fault.start_ns, fault.end_ns, next);
            let kept = longest_gap(&surviving, fault.start_ns, fault.end_ns, next);
            let _ = writeln!(
                md,
                "| {:.1} | {} | {} | {lasted} | {} | {} |",
                fault.start_ns as f64 / 1e9,
                fault.class,
                fault.detail.replace('|', "/"),
                ms(gap),
                ms(kept)
            );
        }
        let _ = writeln!(md);
    }
    for note in &facts.notes {
        let _ = writeln!(md, "- note: {note}");
    }
    if !facts.notes.is_empty() {
        let _ = writeln!(md);
    }

    let _ = writeln!(md, "## Anomalies\n");
    let mut anomalies: BTreeMap<String, usize> = BTreeMap::new();
    for anomaly in &check.anomalies {
        *anomalies
            .entry(anomaly.class.name().to_string())
            .or_default() += 1;
    }
    let harness = facts.harness_anomalies();
    for (class, _) in &harness {
        *anomalies.entry(class.clone()).or_default() += 1;
    }
    if anomalies.is_empty() {
        let _ = writeln!(md, "None: the history is valid.\n");
    } else {
        let _ = writeln!(md, "| class | count |\n|---|---:|");
        for (class, n) in &anomalies {
            let _ = writeln!(md, "| {class} | {n} |");
        }
        let _ = writeln!(md);
        md.push_str(&anomaly_details(history, check, &harness));
    }

    let _ = writeln!(md, "## Recovery\n");
    for live in &facts.liveness {
        match live.ms {
            Some(ms) => {
                let _ = writeln!(
                    md,
                    "- node {}: write acknowledged {ms} ms after the heal",
                    live.node
                );
            }
            None => {
                let _ = writeln!(md, "- node {}: **no write acknowledged**", live.node);
            }
        }
    }
    match (&facts.divergence, &facts.divergence_error) {
        (Some(d), _) => {
            let _ = writeln!(
                md,
                "- replicas at applied index {}: digests {}",
                d.applied_index,
                if d.diverged { "**differ**" } else { "match" }
            );
        }
        (None, Some(e)) => {
            let _ = writeln!(md, "- replica digests: not compared: {e}");
        }
        (None, None) => {
            let _ = writeln!(
                md,
                "- replica digests: not compared (endpoints are not quorum nodes)"
            );
        }
    }
    let ro = &check.readonly;
    let _ = writeln!(
        md,
        "\n## READONLY reads\n\n{} reads, {} stale; versions behind max {} (p99 {}); ms behind max {:.1} (p99 {:.1}); sessions monotonic: {}/{}\n",
        ro.reads,
        ro.stale_reads,
        ro.max_versions_behind,
        ro.p99_versions_behind,
        ro.max_ms_behind,
        ro.p99_ms_behind,
        ro.sessions.iter().filter(|s| s.monotonic).count(),
        ro.sessions.len()
    );
    if !facts.schedule.is_empty() {
        let _ = writeln!(md, "## Schedule (seed {})\n", facts.seed);
        for line in &facts.schedule {
            let _ = writeln!(md, "- {line}");
        }
    }
    md
}

/// Every anomaly with the operations that prove it, one line per operation.
pub fn anomaly_details(
    history: &History,
    check: &CheckReport,
    harness: &[(String, String)],
) -> String {
    let by_id: BTreeMap<u64, &Operation> = history.ops.iter().map(|op| (op.id, op)).collect();
    let mut out = String::new();
    for anomaly in check.anomalies.iter().take(ANOMALIES_SHOWN_MAX) {
        let _ = writeln!(out, "- {anomaly}");
        for id in &anomaly.ops {
            if let Some(op) = by_id.get(id) {
                let _ = writeln!(out, "    - {}", describe(op));
            }
        }
    }
    if check.anomalies.len() > ANOMALIES_SHOWN_MAX {
        let _ = writeln!(
            out,
            "- ... and {} more (all in check.json)",
            check.anomalies.len() - ANOMALIES_SHOWN_MAX
        );
    }
    for (class, text) in harness {
        let _ = writeln!(out, "- {class}: {text}");
    }
    out.push('\n');
    out
}

/// One operation on one line: id, client, node, call, outcome and times.
pub fn describe(op: &Operation) -> String {
    let outcome = match &op.outcome {
        Outcome::Ok { reply } => format!("ok {}", serde_json::to_string(reply).unwrap_or_default()),
        Outcome::Failed { error } => format!("failed: {error}"),
        Outcome::Unknown { error } => format!("unknown: {error}"),
    };
    format!(
        "op {} client {} node {} {:?} {} {} [{:.3} s .. {}] {outcome}",
        op.id,
        op.client,
        op.node,
        op.consistency,
        op.key,
        serde_json::to_string(&op.call).unwrap_or_default(),
        op.invoke_ns as f64 / 1e9,
        op.complete_ns
            .map_or("-".into(), |c| format!("{:.3} s", c as f64 / 1e9)),
    )
}

/// The lost-writes section: how many acknowledged APPENDs and INCRs the final state lacks, and
/// the failover gap a client whose writes must survive saw.
fn lost_writes(history: &History, check: &CheckReport) -> String {
    let lost = &check.lost;
    let mut md = String::from("## Acknowledged writes lost\n\n");
    let _ = writeln!(
        md,
        "**{} of {} acknowledged writes lost ({:.1} %)**: APPENDs {} of {} (exact), INCRs at \
         least {} of {} (missing from the final state after the heal).\n",
        lost.lost(),
        lost.acknowledged(),
        lost.fraction() * 100.0,
        lost.appends_lost,
        lost.appends_acknowledged,
        lost.increments_lost,
        lost.increments_acknowledged
    );
    if lost.keys_without_final_read > 0 {
        let _ = writeln!(
            md,
            "- {} keys had no acknowledged final read and are not counted\n",
            lost.keys_without_final_read
        );
    }
    let surviving = surviving_appends(history, check);
    let gaps = history.faults.iter().enumerate().filter_map(|(i, fault)| {
        let next = history.faults.get(i + 1).map(|f| f.start_ns);
        longest_gap(&surviving, fault.start_ns, fault.end_ns, next).map(|gap| (gap, fault))
    });
    if let Some((gap, fault)) = gaps.max_by_key(|(gap, _)| *gap) {
        let _ = writeln!(
            md,
            "Failover gap: **{} ms** without an acknowledged APPEND that survived (around the {} \
             fault at {:.1} s).\n",
            gap / 1_000_000,
            fault.class,
            fault.start_ns as f64 / 1e9
        );
    }
    md
}

/// The queue workload's figures, when it ran.
fn queues(check: &CheckReport) -> String {
    let q = &check.queue;
    if q.queues == 0 {
        return String::new();
    }
    let mut md = String::from("## Queues\n\n");
    let _ = writeln!(
        md,
        "{} pushes acknowledged ({} unknown); {} pops and moves acknowledged with an element, {} \
         found nothing, {} pops and {} moves unknown; {} elements removed from processing \
         lists; {} left in the lists at the final reads.\n",
        q.pushes_acknowledged,
        q.pushes_unknown,
        q.pops_acknowledged,
        q.pops_empty,
        q.pops_unknown,
        q.moves_unknown,
        q.removes_acknowledged,
        q.remaining
    );
    let _ = writeln!(
        md,
        "**{} elements lost, {} doubled, {} phantom.** {} acknowledged elements were neither \
         delivered nor left at the end; a pop with an unknown outcome may have taken one each, \
         so only the missing elements beyond those pops (per queue) count as lost.\n",
        q.lost, q.doubled, q.phantoms, q.missing
    );
    if q.queues_without_final_read > 0 {
        let _ = writeln!(
            md,
            "- {} queues had no acknowledged final read and were not judged for losses\n",
            q.queues_without_final_read
        );
    }
    md
}

/// Completion times of acknowledged APPENDs whose token the final state holds, sorted: the
/// writes a client could rely on (acknowledgements of lost writes hide a failover's gap).
fn surviving_appends(history: &History, check: &CheckReport) -> Vec<u64> {
    let lost = &check.lost.lost_append_ops;
    let mut acks: Vec<u64> = history
        .ops
        .iter()
        .filter(|op| op.is_ok() && matches!(op.call, quorum_check::Call::Append { .. }))
        .filter(|op| lost.binary_search(&op.id).is_err())
        .filter_map(|op| op.complete_ns)
        .collect();
    acks.sort_unstable();
    acks
}

/// Calls drawn and counted as reads: GET and the queue workload's final read. (A pop that
/// found nothing still went through the log, so it counts as a write.)
pub fn is_read(call: &quorum_check::Call) -> bool {
    matches!(
        call,
        quorum_check::Call::Get | quorum_check::Call::Range { .. }
    )
}

/// Completion times of acknowledged writes, sorted.
fn write_acks(history: &History) -> Vec<u64> {
    let mut acks: Vec<u64> = history
        .ops
        .iter()
        .filter(|op| op.is_ok() && !is_read(&op.call))
        .filter_map(|op| op.complete_ns)
        .collect();
    acks.sort_unstable();
    acks
}

/// The longest time between two consecutive acknowledged writes, over the gaps that overlap
/// the fault (from its start until it healed, or until the next fault started).
fn longest_gap(acks: &[u64], start: u64, end: Option<u64>, next: Option<u64>) -> Option<u64> {
    let until = end
        .unwrap_or(start)
        .max(start)
        .min(next.unwrap_or(u64::MAX));
    let first = acks.partition_point(|t| *t < start).saturating_sub(1);
    let mut longest = None;
    for pair in acks[first..].windows(2) {
        if pair[0] > until {
            break;
        }
        if pair[1] >= start {
            longest = longest.max(Some(pair[1] - pair[0]));
        }
    }
    longest
}

/// Writes the four report files into `dir` (created if missing).
pub fn write(
    dir: &Path,
    facts: &RunFacts,
    history: &History,
    check: &CheckReport,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let files = [
        ("summary.md", summary(facts, history, check)),
        ("history.json", serde_json::to_string(history)?),
        ("check.json", serde_json::to_string_pretty(check)?),
        ("run.json", serde_json::to_string_pretty(facts)?),
        (
            "timeline.html",
            crate::timeline::render(facts, history, check),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_is_measured_around_the_fault() {
        let ms = 1_000_000;
        let acks = [0, 10 * ms, 20 * ms, 500 * ms, 510 * ms, 900 * ms];
        // The fault lasts from 15 to 100 ms: the gap 20..500 overlaps it.
        assert_eq!(
            longest_gap(&acks, 15 * ms, Some(100 * ms), None),
            Some(480 * ms)
        );
        // An instantaneous fault at 600 ms sits in the gap 510..900.
        assert_eq!(longest_gap(&acks, 600 * ms, None, None), Some(390 * ms));
        assert_eq!(longest_gap(&[], 1, None, None), None);
    }
}
