//! The INFO command's text: Redis 7.0's sections with Redis's field names wherever quorum has
//! the quantity (so `redis_exporter` and dashboards read it), plus quorum's `raft` section.
//!
//! A field is left out rather than printed with a made-up value when quorum has no such
//! quantity (Lua memory, allocator statistics, replication ids); fields about machinery quorum
//! does not have at all (forks, AOF rewrites, pub/sub, client tracking) print their true
//! value, zero. `crates/quorum/tests/info.rs` holds the list of Redis fields left out.
//! Not here: the counters themselves (`command_stats.rs`, `traffic.rs`, `node.rs`'s `Stats`),
//! and the sections built from Raft's view (`info/raft_sections.rs`).

mod command_stats;
mod latency;
mod process;
mod raft_sections;
mod traffic;

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use quorum_types::{QUORUM_VERSION, REDIS_COMPAT_VERSION};

pub use command_stats::{format_percentile, CommandStats, Tally};
pub use traffic::Traffic;

use crate::node::Node;
use process::bytes_to_human;

/// Every section in Redis 7.0's order, then quorum's; `true` for those plain `INFO` shows.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
    ("raft", true),
];

/// Renders INFO for the requested sections: none or `default` for the default ones, `all` or
/// `everything` for every one, or section names (unknown names are ignored, as in Redis).
pub async fn render(node: &Node, args: &[Bytes]) -> String {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let include = |(section, default): &(&str, bool)| {
        (wanted.is_empty() && *default)
            || wanted.iter().any(|w| {
                w == section || w == "all" || w == "everything" || (w == "default" && *default)
            })
    };
    let raft = raft_sections::RaftView::read(node).await;
    let mut out = String::new();
    for section in SECTIONS.iter().filter(|s| include(s)) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = match section.0 {
            "server" => server(node, &mut out),
            "clients" => clients(node, &mut out),
            "memory" => memory(node, &mut out),
            "persistence" => raft.persistence(node, &mut out),
            "stats" => stats(node, &mut out),
            "replication" => raft.replication(node, &mut out),
            "cpu" => cpu(&mut out),
            "modules" => writeln!(out, "# Modules\r"),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                node.stats.commands.write_commandstats(&mut out)
            }
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                node.stats.commands.write_errorstats(&mut out)
            }
            "latencystats" => {
                out.push_str("# Latencystats\r\n");
                let percentiles = node.stats.settings.latency_percentiles();
                node.stats
                    .commands
                    .write_latencystats(&mut out, &percentiles)
            }
            "cluster" => writeln!(out, "# Cluster\r\ncluster_enabled:0\r"),
            "keyspace" => keyspace(node, &mut out),
            "raft" => raft.raft(node, &mut out),
            _ => Ok(()),
        };
    }
    out
}

/// Writes `name:value\r\n` lines.
fn fields(out: &mut String, lines: &[(&str, String)]) -> std::fmt::Result {
    for (name, value) in lines {
        writeln!(out, "{name}:{value}\r")?;
    }
    Ok(())
}

fn server(node: &Node, out: &mut String) -> std::fmt::Result {
    let uptime = node.started.elapsed().as_secs();
    let now_ms = node.seams.clock.now_unix_ms();
    let run_id = node.stats.run_id.get_or_init(|| {
        (0..3)
            .map(|_| format!("{:016x}", node.seams.entropy.next_u64()))
            .collect::<String>()[..40]
            .to_string()
    });
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let multiplexing = if cfg!(target_os = "linux") {
        "epoll"
    } else {
        "kqueue"
    };
    writeln!(out, "# Server\r")?;
    fields(
        out,
        &[
            ("redis_version", REDIS_COMPAT_VERSION.to_string()),
            ("quorum_version", QUORUM_VERSION.to_string()),
            ("redis_git_sha1", "00000000".into()),
            ("redis_git_dirty", "0".into()),
            ("redis_build_id", "0".into()),
            ("redis_mode", "standalone".into()),
            ("os", process::os_name()),
            ("arch_bits", (usize::BITS).to_string()),
            // std's Instant reads CLOCK_MONOTONIC, as Redis's POSIX clock does.
            ("monotonic_clock", "POSIX clock_gettime".into()),
            ("multiplexing_api", multiplexing.into()),
            ("atomicvar_api", "c11-builtin".into()),
            // What Redis prints when it was not built by GCC.
            ("gcc_version", "0.0.0".into()),
            ("process_id", std::process::id().to_string()),
            ("process_supervised", "no".into()),
            ("run_id", run_id.clone()),
            ("tcp_port", node.config.listen.port().to_string()),
            ("server_time_usec", (now_ms * 1000).to_string()),
            ("uptime_in_seconds", uptime.to_string()),
            ("uptime_in_days", (uptime / 86_400).to_string()),
            // Active expiry runs every 100 ms (`expiry.rs`): Redis's 10 Hz cron.
            ("hz", "10".into()),
            ("configured_hz", "10".into()),
            ("lru_clock", ((now_ms / 1000) & ((1 << 24) - 1)).to_string()),
            ("executable", executable),
            ("config_file", String::new()),
            ("io_threads_active", "0".into()),
        ],
    )
}

fn clients(node: &Node, out: &mut String) -> std::fmt::Result {
    let rates = node.stats.traffic.rates();
    writeln!(out, "# Clients\r")?;
    fields(
        out,
        &[
            ("connected_clients", node.clients.len().to_string()),
            ("cluster_connections", "0".into()),
            ("maxclients", node.config.limits.clients_max.to_string()),
            (
                "client_recent_max_input_buffer",
                rates.input_buffer_max.to_string(),
            ),
            (
                "client_recent_max_output_buffer",
                rates.output_buffer_max.to_string(),
            ),
            ("blocked_clients", node.blocked.len().to_string()),
            ("tracking_clients", "0".into()),
        ],
    )
}

fn memory(node: &Node, out: &mut String) -> std::fmt::Result {
    let used = node.state.read().databases.used_memory_bytes() as u64;
    let peak_counter = &node.stats.used_memory_peak_bytes;
    let peak = peak_counter.fetch_max(used, Ordering::Relaxed).max(used);
    let rss = process::rss_bytes().unwrap_or(0);
    let system = process::system_memory_bytes().unwrap_or(0);
    let maxmemory = node.config.maxmemory_bytes;
    // quorum's used_memory is its data accounting (what --maxmemory limits), not the
    // allocator's total, so the ratio reads high on small data sets, as Redis's does.
    let fragmentation = if used == 0 {
        0.0
    } else {
        rss as f64 / used as f64
    };
    writeln!(out, "# Memory\r")?;
    fields(
        out,
        &[
            ("used_memory", used.to_string()),
            ("used_memory_human", bytes_to_human(used)),
            ("used_memory_rss", rss.to_string()),
            ("used_memory_rss_human", bytes_to_human(rss)),
            ("used_memory_peak", peak.to_string()),
            ("used_memory_peak_human", bytes_to_human(peak)),
            (
                "used_memory_peak_perc",
                format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
            ),
            ("total_system_memory", system.to_string()),
            ("total_system_memory_human", bytes_to_human(system)),
            ("maxmemory", maxmemory.to_string()),
            ("maxmemory_human", bytes_to_human(maxmemory)),
            ("maxmemory_policy", "noeviction".into()),
            ("mem_fragmentation_ratio", format!("{fragmentation:.2}")),
            (
                "mem_fragmentation_bytes",
                (rss as i128 - used as i128).to_string(),
            ),
            ("active_defrag_running", "0".into()),
        ],
    )
}

fn stats(node: &Node, out: &mut String) -> std::fmt::Result {
    let s = &node.stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed).to_string();
    let rates = s.traffic.rates();
    let [input, output, reads, writes] = s.traffic.totals();
    writeln!(out, "# Stats\r")?;
    fields(
        out,
        &[
            (
                "total_connections_received",
                load(&node.clients.connections_received),
            ),
            ("total_commands_processed", load(&s.commands_processed)),
            ("instantaneous_ops_per_sec", rates.ops_per_sec.to_string()),
            ("total_net_input_bytes", input.to_string()),
            ("total_net_output_bytes", output.to_string()),
            (
                "instantaneous_input_kbps",
                format!("{:.2}", rates.input_kbps),
            ),
            (
                "instantaneous_output_kbps",
                format!("{:.2}", rates.output_kbps),
            ),
            (
                "rejected_connections",
                load(&node.clients.connections_rejected),
            ),
            // Expired keys are removed by Op::Expire entries and by writes, both applied in
            // the state machine (quorum-raft), which counts neither yet.
            ("expired_keys", "0".into()),
            // noeviction: nothing is ever evicted.
            ("evicted_keys", "0".into()),
            ("evicted_clients", "0".into()),
            ("total_eviction_exceeded_time", "0".into()),
            ("current_eviction_exceeded_time", "0".into()),
            // Lookups happen in quorum-commands' pure read and write paths, which have no
            // counters; counting them needs a hook there.
            ("keyspace_hits", "0".into()),
            ("keyspace_misses", "0".into()),
            ("pubsub_channels", "0".into()),
            ("pubsub_patterns", "0".into()),
            ("pubsubshard_channels", "0".into()),
            ("latest_fork_usec", "0".into()),
            ("total_forks", "0".into()),
            ("migrate_cached_sockets", "0".into()),
            ("slave_expires_tracked_keys", "0".into()),
            ("active_defrag_hits", "0".into()),
            ("active_defrag_misses", "0".into()),
            ("active_defrag_key_hits", "0".into()),
            ("active_defrag_key_misses", "0".into()),
            ("total_active_defrag_time", "0".into()),
            ("current_active_defrag_time", "0".into()),
            ("tracking_total_keys", "0".into()),
            ("tracking_total_items", "0".into()),
            ("tracking_total_prefixes", "0".into()),
            ("unexpected_error_replies", "0".into()),
            (
                "total_error_replies",
                s.commands.error_replies().to_string(),
            ),
            ("total_reads_processed", reads.to_string()),
            ("total_writes_processed", writes.to_string()),
            ("io_threaded_reads_processed", "0".into()),
            ("io_threaded_writes_processed", "0".into()),
            ("total_protocol_errors", load(&s.protocol_errors)),
            ("writes_proposed", load(&s.writes_proposed)),
            ("reads_linearizable", load(&s.reads_linearizable)),
            ("reads_local", load(&s.reads_local)),
        ],
    )
}

fn cpu(out: &mut String) -> std::fmt::Result {
    let cpu = process::cpu_seconds().unwrap_or_default();
    writeln!(out, "# CPU\r")?;
    fields(
        out,
        &[
            ("used_cpu_sys", format!("{:.6}", cpu.sys)),
            ("used_cpu_user", format!("{:.6}", cpu.user)),
            ("used_cpu_sys_children", format!("{:.6}", cpu.sys_children)),
            (
                "used_cpu_user_children",
                format!("{:.6}", cpu.user_children),
            ),
        ],
    )
}

fn keyspace(node: &Node, out: &mut String) -> std::fmt::Result {
    let counts: Vec<(u32, usize, usize)> = {
        let state = node.state.read();
        state
            .databases
            .iter()
            .filter(|(_, ks)| !ks.is_empty())
            .map(|(db, ks)| (db, ks.len(), ks.expires_count()))
            .collect()
    };
    writeln!(out, "# Keyspace\r")?;
    for (db, keys, expires) in counts {
        writeln!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r")?;
    }
    Ok(())
}
