//! `timeline.html`: a self-contained page (inline SVG and CSS, no scripts from elsewhere) with
//! one lane per key, each operation a bar from invocation to completion on its client's row,
//! faults as shaded bands across every lane, and anomalous operations in red. Hovering a bar
//! shows the operation.
//!
//! People would rather look than read: this is for finding where in a run something went
//! wrong, not a precise record (that is `history.json`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use quorum_check::{CheckReport, History, Operation, Outcome};

use crate::report::{describe, RunFacts};

/// Width of the time axis in pixels.
const PLOT_WIDTH_PX: f64 = 1600.0;
/// Left margin for key names.
const LABEL_WIDTH_PX: f64 = 220.0;
/// Height of one client's row inside a lane.
const ROW_HEIGHT_PX: f64 = 3.0;
/// Operations drawn at most, roughly; beyond it acknowledged operations are thinned (every
/// anomalous, failed and unknown operation is always drawn).
const DRAWN_OPS_MAX: usize = 20_000;

/// Renders the page.
pub fn render(facts: &RunFacts, history: &History, check: &CheckReport) -> String {
    let anomalous: BTreeSet<u64> = check
        .anomalies
        .iter()
        .flat_map(|a| a.ops.iter().copied())
        .collect();
    let end_ns = history
        .ops
        .iter()
        .map(|op| op.complete_ns.unwrap_or(op.invoke_ns))
        .chain(history.faults.iter().filter_map(|f| f.end_ns))
        .max()
        .unwrap_or(1)
        .max(1);
    let x = |ns: u64| LABEL_WIDTH_PX + ns as f64 / end_ns as f64 * PLOT_WIDTH_PX;
    let mut lanes: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in &history.ops {
        lanes.entry(op.key.as_str()).or_default().push(op);
    }
    let clients = history.ops.iter().map(|op| op.client).max().unwrap_or(0) as f64 + 1.0;
    let lane_height = (clients * ROW_HEIGHT_PX).max(12.0) + 6.0;
    let top = 30.0;
    let height = top + lane_height * lanes.len() as f64 + 20.0;
    let thin = (history.ops.len() / DRAWN_OPS_MAX).max(1);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{height:.0}">"#,
        LABEL_WIDTH_PX + PLOT_WIDTH_PX + 20.0
    );
    // Time axis: a tick every tenth of the run.
    for i in 0..=10 {
        let ns = end_ns / 10 * i;
        let _ = writeln!(
            svg,
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.0}" class="tick"/><text x="{0:.1}" y="20" class="axis">{2:.1} s</text>"#,
            x(ns),
            height - 20.0,
            ns as f64 / 1e9
        );
    }
    for fault in &history.faults {
        let x0 = x(fault.start_ns);
        let x1 = x(fault.end_ns.unwrap_or(fault.start_ns)).max(x0 + 2.0);
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{top}" width="{:.1}" height="{:.0}" class="fault {}"><title>{} {:.1} s: {}</title></rect>"#,
            x1 - x0,
            height - top - 20.0,
            escape(&fault.class),
            escape(&fault.class),
            fault.start_ns as f64 / 1e9,
            escape(&fault.detail)
        );
    }
    for (lane, (key, ops)) in lanes.iter().enumerate() {
        let y0 = top + lane as f64 * lane_height;
        let _ = writeln!(
            svg,
            r#"<text x="4" y="{:.1}" class="key">{}</text><line x1="{LABEL_WIDTH_PX}" y1="{y0:.1}" x2="{:.0}" y2="{y0:.1}" class="lane"/>"#,
            y0 + lane_height / 2.0 + 4.0,
            escape(key),
            LABEL_WIDTH_PX + PLOT_WIDTH_PX
        );
        for op in ops {
            let bad = anomalous.contains(&op.id);
            if !bad && op.is_ok() && !(op.id as usize).is_multiple_of(thin) {
                continue;
            }
            let class = if bad {
                "anomaly"
            } else {
                match (&op.outcome, &op.call) {
                    (Outcome::Ok { .. }, call) if crate::report::is_read(call) => "read",
                    (Outcome::Ok { .. }, _) => "write",
                    (Outcome::Failed { .. }, _) => "failed",
                    (Outcome::Unknown { .. }, _) => "unknown",
                }
            };
            let x0 = x(op.invoke_ns);
            let x1 = x(op.complete_ns.unwrap_or(op.invoke_ns)).max(x0 + 1.0);
            let y = y0 + 3.0 + f64::from(op.client) * ROW_HEIGHT_PX;
            let h = if bad {
                ROW_HEIGHT_PX + 2.0
            } else {
                ROW_HEIGHT_PX - 0.5
            };
            let _ = writeln!(
                svg,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{h}" class="{class}"><title>{}</title></rect>"#,
                x1 - x0,
                escape(&describe(op))
            );
        }
    }
    svg.push_str("</svg>\n");

    let mut anomalies = String::new();
    for anomaly in &check.anomalies {
        let _ = writeln!(anomalies, "<li>{}</li>", escape(&anomaly.to_string()));
    }
    for (class, text) in facts.harness_anomalies() {
        let _ = writeln!(anomalies, "<li>{}: {}</li>", escape(&class), escape(&text));
    }
    if anomalies.is_empty() {
        anomalies.push_str("<li>none: the history is valid</li>");
    }
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>quorum {mode} timeline, seed {seed}</title>
<style>
body {{ font: 13px sans-serif; margin: 16px; }}
.key, .axis {{ font: 11px monospace; fill: #333; }}
.tick {{ stroke: #eee; }} .lane {{ stroke: #ccc; }}
.read {{ fill: #3a9a5b; }} .write {{ fill: #2f6fb7; }} .failed {{ fill: #bbb; }}
.unknown {{ fill: #f0a030; }} .anomaly {{ fill: #e00000; stroke: #900; }}
.fault {{ fill: #999; opacity: 0.18; }} .fault.kill {{ fill: #c33; }} .fault.pause {{ fill: #c90; }}
.fault.partition {{ fill: #93c; }} .fault.membership {{ fill: #39c; }} .fault.snapshot {{ fill: #3c9; }}
.fault.clock {{ fill: #963; }} .fault.disk {{ fill: #333; }}
.legend span {{ display: inline-block; padding: 0 6px; margin-right: 6px; color: #fff; }}
</style></head><body>
<h1>quorum {mode}: seed {seed}</h1>
<p><code>{command}</code></p>
<p class="legend"><span class="l" style="background:#2f6fb7">acknowledged write</span><span style="background:#3a9a5b">acknowledged read</span><span style="background:#f0a030">unknown</span><span style="background:#bbb">failed</span><span style="background:#e00000">anomaly</span> shaded bands: faults (hover for details)</p>
<h2>Anomalies</h2><ul>{anomalies}</ul>
<div style="overflow-x: auto">{svg}</div>
</body></html>
"#,
        mode = escape(&facts.mode),
        seed = facts.seed,
        command = escape(&facts.command),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
