//! [`CommandStats`]: per-command and per-error counters behind `INFO commandstats`,
//! `errorstats` and `latencystats`, counted where a pipeline's replies are produced.
//!
//! One slot per row of the static command table (`quorum_commands::table()`, indexed by the
//! row's position) and per subcommand of the containers Redis 7 counts separately
//! (`cmdstat_client|kill`); each slot is a few relaxed atomics, so counting takes no lock.
//! Error codes are a closed set: the first word of quorum's own error texts, at most
//! [`ERROR_CODES_MAX`] distinct ones, as Redis bounds its errorstats.
//!
//! Not here: INFO's other sections (`info.rs`), the network counters (`traffic.rs`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use parking_lot::Mutex;
use quorum_commands::CommandSpec;
use quorum_resp::{Frame, Request};

use super::latency::LatencyHistogram;

/// The containers whose subcommands Redis 7.0 counts on their own (`cmdstat_config|get`),
/// with the subcommands quorum knows. A container absent from quorum's table is skipped.
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "getname", "help", "id", "info", "kill", "list", "no-evict", "no-touch", "pause",
            "setinfo", "setname", "unblock", "unpause",
        ],
    ),
    (
        "command",
        &["count", "docs", "getkeys", "help", "info", "list"],
    ),
    ("config", &["get", "help", "resetstat", "rewrite", "set"]),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
];

/// Most distinct error codes counted, as Redis's errorstats (further codes are not counted
/// per code; `total_error_replies` still counts them).
const ERROR_CODES_MAX: usize = 128;

/// Error codes Redis counts in `rejected_calls` (the command did not run) rather than in
/// `failed_calls`. Arity errors are recognised by their text.
const REJECTED_CODES: &[&str] = &[
    "OOM",
    "CLUSTERDOWN",
    "READONLY",
    "NOAUTH",
    "LOADING",
    "MISCONF",
    "MASTERDOWN",
    "NOREPLICAS",
    "BUSY",
];

/// Counters of one command (or subcommand).
#[derive(Default)]
struct Slot {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    /// Allocated on the command's first call, so unused commands cost nothing.
    latency: OnceLock<LatencyHistogram>,
}

/// Per-command call counts, times, outcomes and latency histograms, and error counts by code.
pub struct CommandStats {
    /// Slot names: the table's rows, then each counted container's subcommands.
    names: Vec<String>,
    slots: Box<[Slot]>,
    /// For each table row that is a counted container: its first subcommand slot and names.
    containers: Vec<Option<(usize, &'static [&'static str])>>,
    /// EXEC's slot: its reply holds the replies of the commands it ran.
    exec: Option<u32>,
    /// CONFIG SET latency-tracking.
    pub latency_tracking: AtomicBool,
    error_replies: AtomicU64,
    errors: Mutex<Vec<(String, u64)>>,
}

impl Default for CommandStats {
    fn default() -> Self {
        let table = quorum_commands::table();
        let mut names: Vec<String> = table.iter().map(|spec| spec.name.to_string()).collect();
        let mut containers = vec![None; table.len()];
        for (container, subs) in SUBCOMMANDS {
            if let Some(row) = table.iter().position(|spec| spec.name == *container) {
                containers[row] = Some((names.len(), *subs));
                names.extend(subs.iter().map(|sub| format!("{container}|{sub}")));
            }
        }
        let exec = table
            .iter()
            .position(|spec| spec.name == "exec")
            .and_then(|row| u32::try_from(row).ok());
        CommandStats {
            exec,
            slots: names.iter().map(|_| Slot::default()).collect(),
            names,
            containers,
            latency_tracking: AtomicBool::new(true),
            error_replies: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
        }
    }
}

/// A pipeline being counted: which slot each request counts in, and when it started.
pub struct Tally {
    slots: Vec<Option<u32>>,
    started: Instant,
}

impl CommandStats {
    /// Notes the pipeline's commands before it runs (its requests move into dispatch).
    pub fn begin(&self, requests: &[Request]) -> Tally {
        Tally {
            slots: requests.iter().map(|args| self.slot_of(args)).collect(),
            started: Instant::now(),
        }
    }

    /// Counts the replies of a pipeline started with [`CommandStats::begin`]. The pipeline's
    /// time is shared evenly among its commands: requests decoded from one read run together,
    /// and one command's share is what a client sending them one by one would have waited.
    pub fn finish(&self, tally: Tally, frames: &[(Frame, quorum_resp::Protocol)]) {
        let count = frames.len().max(1) as u64;
        let nanos = u64::try_from(tally.started.elapsed().as_nanos()).unwrap_or(u64::MAX) / count;
        let tracking = self.latency_tracking.load(Ordering::Relaxed);
        for (i, (frame, _)) in frames.iter().enumerate() {
            let error = match frame {
                Frame::Error(e) => Some(e.as_str()),
                _ => None,
            };
            if let Some(text) = error {
                self.count_error(text);
            }
            let Some(&Some(index)) = tally.slots.get(i) else {
                continue;
            };
            // Redis counts the errors of the commands an EXEC ran too.
            if let (true, Frame::Array(replies)) = (Some(index) == self.exec, frame) {
                for reply in replies {
                    if let Frame::Error(e) = reply {
                        self.count_error(e.as_str());
                    }
                }
            }
            let slot = &self.slots[index as usize];
            if error.is_some_and(is_rejection) {
                slot.rejected.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            slot.calls.fetch_add(1, Ordering::Relaxed);
            slot.usec.fetch_add(nanos / 1000, Ordering::Relaxed);
            if error.is_some() {
                slot.failed.fetch_add(1, Ordering::Relaxed);
            }
            if tracking {
                slot.latency
                    .get_or_init(LatencyHistogram::default)
                    .record(nanos);
            }
        }
    }

    /// Error replies sent since start or the last reset.
    pub fn error_replies(&self) -> u64 {
        self.error_replies.load(Ordering::Relaxed)
    }

    /// Forgets every count (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for slot in self.slots.iter() {
            slot.calls.store(0, Ordering::Relaxed);
            slot.usec.store(0, Ordering::Relaxed);
            slot.rejected.store(0, Ordering::Relaxed);
            slot.failed.store(0, Ordering::Relaxed);
            if let Some(h) = slot.latency.get() {
                h.reset();
            }
        }
        self.error_replies.store(0, Ordering::Relaxed);
        self.errors.lock().clear();
    }

    /// The slot a request counts in: its table row, or its subcommand's slot for a counted
    /// container. `None` for unknown commands and subcommands, which Redis does not count.
    fn slot_of(&self, args: &[bytes::Bytes]) -> Option<u32> {
        let spec = quorum_commands::lookup(args.first()?)?;
        let row = table_row(spec)?;
        let slot = match self.containers[row] {
            None => row,
            // No subcommand: an arity error, counted on the container as Redis does.
            Some(_) if args.len() < 2 => row,
            Some((first, subs)) => {
                first
                    + subs
                        .iter()
                        .position(|s| args[1].eq_ignore_ascii_case(s.as_bytes()))?
            }
        };
        u32::try_from(slot).ok()
    }

    fn count_error(&self, text: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let code = text.split(' ').next().unwrap_or(text);
        let mut errors = self.errors.lock();
        if let Some(entry) = errors.iter_mut().find(|(c, _)| c == code) {
            entry.1 += 1;
        } else if errors.len() < ERROR_CODES_MAX {
            errors.push((code.to_string(), 1));
        }
    }

    /// The `# Commandstats` lines, in table order.
    pub fn write_commandstats(&self, out: &mut String) -> std::fmt::Result {
        for (name, slot) in self.names.iter().zip(self.slots.iter()) {
            let calls = slot.calls.load(Ordering::Relaxed);
            let rejected = slot.rejected.load(Ordering::Relaxed);
            let failed = slot.failed.load(Ordering::Relaxed);
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let usec = slot.usec.load(Ordering::Relaxed);
            let per_call = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            writeln!(
                out,
                "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per_call:.2},\
                 rejected_calls={rejected},failed_calls={failed}\r"
            )?;
        }
        Ok(())
    }

    /// The `# Errorstats` lines, by code as Redis sorts them.
    pub fn write_errorstats(&self, out: &mut String) -> std::fmt::Result {
        let mut errors = self.errors.lock().clone();
        errors.sort();
        for (code, count) in errors {
            writeln!(out, "errorstat_{code}:count={count}\r")?;
        }
        Ok(())
    }

    /// The `# Latencystats` lines for `percentiles` (CONFIG latency-tracking-info-percentiles).
    pub fn write_latencystats(&self, out: &mut String, percentiles: &[f64]) -> std::fmt::Result {
        for (name, slot) in self.names.iter().zip(self.slots.iter()) {
            let Some(values) = slot.latency.get().and_then(|h| h.percentiles(percentiles)) else {
                continue;
            };
            write!(out, "latency_percentiles_usec_{name}:")?;
            for (i, (p, nanos)) in percentiles.iter().zip(values).enumerate() {
                let sep = if i == 0 { "" } else { "," };
                write!(
                    out,
                    "{sep}p{}={:.3}",
                    format_percentile(*p),
                    nanos as f64 / 1000.0
                )?;
            }
            out.push_str("\r\n");
        }
        Ok(())
    }
}

/// The row of `spec` in `quorum_commands::table()`: `lookup` hands out references into that
/// slice, so the row is the reference's offset in it.
fn table_row(spec: &'static CommandSpec) -> Option<usize> {
    let table = quorum_commands::table();
    let size = std::mem::size_of::<CommandSpec>();
    let offset = (spec as *const CommandSpec as usize).checked_sub(table.as_ptr() as usize)?;
    let row = offset / size;
    (row < table.len() && std::ptr::eq(&table[row], spec)).then_some(row)
}

/// Whether an error means the command was refused before it ran (Redis's `rejected_calls`).
fn is_rejection(text: &str) -> bool {
    let code = text.split(' ').next().unwrap_or(text);
    REJECTED_CODES.contains(&code) || text.starts_with("ERR wrong number of arguments")
}

/// A percentile as Redis names it in INFO and CONFIG (`%f` with trailing zeros trimmed:
/// `50`, `99.9`).
pub fn format_percentile(p: f64) -> String {
    let text = format!("{p:.6}");
    let text = text.trim_end_matches('0');
    text.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use quorum_resp::Protocol;
    use quorum_types::ErrorReply;

    fn request(words: &[&str]) -> Request {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    #[test]
    fn counts_calls_failures_rejections_and_error_codes() {
        let stats = CommandStats::default();
        let requests = vec![
            request(&["GET", "k"]),
            request(&["lpush", "k", "v"]),
            request(&["get"]),
            request(&["CONFIG", "get", "x"]),
            request(&["nosuch"]),
            request(&["client", "nosuch"]),
        ];
        let tally = stats.begin(&requests);
        let err = |t: &'static str| (Frame::Error(ErrorReply::from_static(t)), Protocol::Resp2);
        let frames = vec![
            (Frame::Null, Protocol::Resp2),
            err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            err("ERR wrong number of arguments for 'get' command"),
            (Frame::Map(Vec::new()), Protocol::Resp2),
            err("ERR unknown command 'nosuch', with args beginning with: "),
            err("ERR unknown subcommand 'nosuch'. Try CLIENT HELP."),
        ];
        stats.finish(tally, &frames);
        let mut out = String::new();
        stats.write_commandstats(&mut out).unwrap();
        assert!(out.contains("cmdstat_get:calls=1,"), "{out}");
        assert!(out.contains("rejected_calls=1,failed_calls=0"), "{out}");
        assert!(out.contains("cmdstat_lpush:calls=1,"), "{out}");
        assert!(out.contains("rejected_calls=0,failed_calls=1"), "{out}");
        assert!(out.contains("cmdstat_config|get:calls=1,"), "{out}");
        assert_eq!(out.lines().count(), 3, "{out}");
        let mut errors = String::new();
        stats.write_errorstats(&mut errors).unwrap();
        assert_eq!(
            errors,
            "errorstat_ERR:count=3\r\nerrorstat_WRONGTYPE:count=1\r\n"
        );
        assert_eq!(stats.error_replies(), 4);
        let mut latency = String::new();
        stats
            .write_latencystats(&mut latency, &[50.0, 99.0, 99.9])
            .unwrap();
        assert!(
            latency.starts_with("latency_percentiles_usec_get:p50="),
            "{latency}"
        );
        assert!(latency.contains(",p99=") && latency.contains(",p99.9="));
        stats.reset();
        let mut out = String::new();
        stats.write_commandstats(&mut out).unwrap();
        stats.write_errorstats(&mut out).unwrap();
        stats.write_latencystats(&mut out, &[50.0]).unwrap();
        assert_eq!(out, "");
    }

    #[test]
    fn percentiles_are_named_as_redis_names_them() {
        assert_eq!(format_percentile(50.0), "50");
        assert_eq!(format_percentile(99.9), "99.9");
        assert_eq!(format_percentile(0.0), "0");
        assert_eq!(format_percentile(12.345), "12.345");
    }
}
