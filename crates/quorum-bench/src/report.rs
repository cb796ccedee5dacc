//! What a run prints: the progress line once per second and the final summary on stderr, and
//! with `--json` one JSON object on stdout ([`JsonReport`], whose field names other tools read:
//! do not rename them).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::args::Plan;
use crate::stats::Tally;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyReport {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

/// The `--json` output, one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonReport {
    pub tool: &'static str,
    pub version: &'static str,
    pub protocol: &'static str,
    pub endpoints: Vec<String>,
    pub workload: &'static str,
    pub clients: usize,
    pub pipeline: usize,
    pub rate: Option<f64>,
    pub value_size: usize,
    pub keys: u64,
    pub read_ratio: Option<f64>,
    /// Measured seconds: from the end of warmup to the last reply.
    pub duration_s: f64,
    /// Operations acknowledged in the measured period.
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// `ok / duration_s`.
    pub throughput: f64,
    pub latency_us: LatencyReport,
    /// Longest time with no acknowledged reply from any client, ms.
    pub max_gap_ms: f64,
}

impl JsonReport {
    /// The report of a run of `plan` that measured `tally` over `measured`.
    pub fn new(plan: &Plan, tally: &Tally, measured: Duration, max_gap: Duration) -> JsonReport {
        let seconds = measured.as_secs_f64();
        let throughput = if seconds > 0.0 {
            tally.ok as f64 / seconds
        } else {
            0.0
        };
        JsonReport {
            tool: "quorum-bench",
            version: env!("CARGO_PKG_VERSION"),
            protocol: plan.protocol.name(),
            endpoints: plan.endpoints.clone(),
            workload: plan.workload.name(),
            clients: plan.clients,
            pipeline: plan.pipeline,
            rate: plan.rate,
            value_size: plan.value_size,
            keys: plan.keys,
            read_ratio: plan.read_ratio,
            duration_s: round(seconds, 3),
            ok: tally.ok,
            errors: tally.errors.clone(),
            throughput: round(throughput, 1),
            latency_us: latency_report(tally),
            max_gap_ms: round(max_gap.as_secs_f64() * 1000.0, 3),
        }
    }
}

fn latency_report(tally: &Tally) -> LatencyReport {
    let h = &tally.latency_us;
    if h.is_empty() {
        return LatencyReport {
            p50: 0,
            p90: 0,
            p99: 0,
            p999: 0,
            max: 0,
            mean: 0.0,
        };
    }
    LatencyReport {
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        mean: round(h.mean(), 1),
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The final human summary (several lines).
pub fn human_summary(report: &JsonReport, tally: &Tally) -> String {
    let mode = match report.rate {
        Some(rate) => format!("open loop at {rate} req/s"),
        None => "closed loop".to_owned(),
    };
    let mut text = format!(
        "quorum bench: {} over {} to {}, {} clients, pipeline {}, {mode}, {:.2} s measured\n",
        report.workload,
        report.protocol,
        report.endpoints.join(","),
        report.clients,
        report.pipeline,
        report.duration_s,
    );
    let _ = writeln!(
        text,
        "  ok {} ({:.1}/s), errors {}",
        report.ok,
        report.throughput,
        errors_text(&report.errors)
    );
    let l = &report.latency_us;
    let _ = writeln!(
        text,
        "  latency µs: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.1}",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    );
    let _ = writeln!(
        text,
        "  longest time without an acknowledged reply: {:.1} ms",
        report.max_gap_ms
    );
    if tally.nil > 0 {
        let _ = writeln!(text, "  nil replies (GET misses): {}", tally.nil);
    }
    let lag = &tally.send_lag_us;
    if report.rate.is_some() && !lag.is_empty() {
        let _ = writeln!(
            text,
            "  open-loop send lag µs (included in latency): p50 {}  p99 {}  max {}",
            lag.value_at_quantile(0.5),
            lag.value_at_quantile(0.99),
            lag.max()
        );
    }
    text
}

/// One progress line: elapsed seconds, throughput over the last interval, p99 so far, errors.
pub fn progress_line(
    elapsed: Duration,
    warming_up: bool,
    interval_ok: u64,
    interval: Duration,
    tally: &Tally,
) -> String {
    let rate = interval_ok as f64 / interval.as_secs_f64().max(1e-9);
    let phase = if warming_up { " (warmup)" } else { "" };
    let p99 = if tally.latency_us.is_empty() {
        "-".to_owned()
    } else {
        tally.latency_us.value_at_quantile(0.99).to_string()
    };
    format!(
        "[{:6.1}s]{phase} {rate:10.0} ops/s  p99 {p99} µs  errors {}",
        elapsed.as_secs_f64(),
        errors_text(&tally.errors)
    )
}

fn errors_text(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "none".to_owned();
    }
    errors
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_exactly_the_documented_shape() {
        let report = JsonReport {
            tool: "quorum-bench",
            version: "0.1.0",
            protocol: "resp",
            endpoints: vec!["127.0.0.1:7001".into()],
            workload: "set",
            clients: 50,
            pipeline: 1,
            rate: None,
            value_size: 16,
            keys: 100_000,
            read_ratio: None,
            duration_s: 10.02,
            ok: 200_000,
            errors: [("CLUSTERDOWN".to_owned(), 3), ("io".to_owned(), 1)].into(),
            throughput: 19960.1,
            latency_us: LatencyReport {
                p50: 812,
                p90: 1500,
                p99: 2100,
                p999: 5000,
                max: 12000,
                mean: 900.2,
            },
            max_gap_ms: 3.1,
        };
        let expected = r#"{"tool":"quorum-bench","version":"0.1.0","protocol":"resp","endpoints":["127.0.0.1:7001"],"workload":"set","clients":50,"pipeline":1,"rate":null,"value_size":16,"keys":100000,"read_ratio":null,"duration_s":10.02,"ok":200000,"errors":{"CLUSTERDOWN":3,"io":1},"throughput":19960.1,"latency_us":{"p50":812,"p90":1500,"p99":2100,"p999":5000,"max":12000,"mean":900.2},"max_gap_ms":3.1}"#;
        assert_eq!(serde_json::to_string(&report).unwrap(), expected);
    }

    #[test]
    fn an_empty_run_reports_zeros_not_garbage() {
        let tally = Tally::new();
        let latency = latency_report(&tally);
        assert_eq!(latency.max, 0);
        assert_eq!(latency.mean, 0.0);
        let line = progress_line(
            Duration::from_secs(1),
            true,
            0,
            Duration::from_secs(1),
            &tally,
        );
        assert!(
            line.contains("warmup") && line.contains("errors none"),
            "{line}"
        );
    }
}
