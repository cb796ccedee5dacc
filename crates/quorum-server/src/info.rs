//! The INFO command's text: Redis's sections plus a `raft` section.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use quorum_raft::openraft::ServerState;
use quorum_types::{QUORUM_VERSION, REDIS_COMPAT_VERSION};

use crate::node::Node;

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "keyspace",
    "raft",
];

/// Renders INFO for the requested sections (`default`, `all`, `everything` or names).
pub async fn render(node: &Node, args: &[Bytes]) -> String {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let include = |section: &str| {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == section || w == "all" || w == "everything" || w == "default")
    };
    let committed = node
        .cluster
        .raft
        .with_raft_state(|state| state.committed.map_or(0, |id| id.index))
        .await
        .unwrap_or(0);
    let metrics = node.cluster.metrics();
    let mut out = String::new();
    for section in DEFAULT_SECTIONS {
        if !include(section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = match *section {
            "server" => server(node, &mut out),
            "clients" => clients(node, &mut out),
            "memory" => memory(node, &mut out),
            "persistence" => persistence(&metrics, &mut out),
            "stats" => stats(node, &mut out),
            "replication" => replication(node, &metrics, &mut out),
            "keyspace" => keyspace(node, &mut out),
            "raft" => raft(node, &metrics, committed, &mut out),
            _ => Ok(()),
        };
    }
    out
}

type Metrics = quorum_raft::RaftMetrics;

fn server(node: &Node, out: &mut String) -> std::fmt::Result {
    let uptime = node.started.elapsed().as_secs();
    writeln!(out, "# Server\r")?;
    writeln!(out, "redis_version:{REDIS_COMPAT_VERSION}\r")?;
    writeln!(out, "quorum_version:{QUORUM_VERSION}\r")?;
    writeln!(out, "redis_mode:standalone\r")?;
    writeln!(
        out,
        "os:{} {}\r",
        std::env::consts::OS,
        std::env::consts::ARCH
    )?;
    writeln!(out, "arch_bits:64\r")?;
    writeln!(out, "process_id:{}\r", std::process::id())?;
    writeln!(out, "tcp_port:{}\r", node.config.listen.port())?;
    writeln!(out, "uptime_in_seconds:{uptime}\r")?;
    writeln!(out, "uptime_in_days:{}\r", uptime / 86_400)
}

fn clients(node: &Node, out: &mut String) -> std::fmt::Result {
    writeln!(out, "# Clients\r")?;
    writeln!(out, "connected_clients:{}\r", node.clients.len())?;
    writeln!(out, "maxclients:{}\r", node.config.limits.clients_max)?;
    writeln!(out, "blocked_clients:{}\r", node.blocked.len())
}

fn memory(node: &Node, out: &mut String) -> std::fmt::Result {
    let used = node.state.read().databases.used_memory_bytes();
    writeln!(out, "# Memory\r")?;
    writeln!(out, "used_memory:{used}\r")?;
    writeln!(
        out,
        "used_memory_human:{:.2}M\r",
        used as f64 / (1024.0 * 1024.0)
    )?;
    writeln!(out, "maxmemory:0\r")?;
    writeln!(out, "maxmemory_policy:noeviction\r")
}

fn persistence(metrics: &Metrics, out: &mut String) -> std::fmt::Result {
    writeln!(out, "# Persistence\r")?;
    writeln!(out, "loading:0\r")?;
    // Every acknowledged write is in the Raft log, fsynced on a majority.
    writeln!(out, "aof_enabled:1\r")?;
    writeln!(out, "aof_fsync:always\r")?;
    writeln!(
        out,
        "raft_snapshot_index:{}\r",
        metrics.snapshot.map_or(0, |id| id.index)
    )
}

fn stats(node: &Node, out: &mut String) -> std::fmt::Result {
    let s = &node.stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    writeln!(out, "# Stats\r")?;
    writeln!(
        out,
        "total_connections_received:{}\r",
        load(&node.clients.connections_received)
    )?;
    writeln!(
        out,
        "total_commands_processed:{}\r",
        load(&s.commands_processed)
    )?;
    writeln!(
        out,
        "rejected_connections:{}\r",
        load(&node.clients.connections_rejected)
    )?;
    writeln!(out, "total_error_replies:{}\r", load(&s.error_replies))?;
    writeln!(out, "total_protocol_errors:{}\r", load(&s.protocol_errors))?;
    writeln!(out, "writes_proposed:{}\r", load(&s.writes_proposed))?;
    writeln!(out, "reads_linearizable:{}\r", load(&s.reads_linearizable))?;
    writeln!(out, "reads_local:{}\r", load(&s.reads_local))
}

fn replication(node: &Node, metrics: &Metrics, out: &mut String) -> std::fmt::Result {
    let leader = metrics.state == ServerState::Leader;
    let membership = metrics.membership_config.membership();
    writeln!(out, "# Replication\r")?;
    writeln!(out, "role:{}\r", if leader { "master" } else { "slave" })?;
    if leader {
        let replication = metrics.replication.clone().unwrap_or_default();
        let followers: Vec<_> = replication
            .iter()
            .filter(|(id, _)| **id != node.cluster.id)
            .collect();
        writeln!(out, "connected_slaves:{}\r", followers.len())?;
        for (i, (id, matched)) in followers.iter().enumerate() {
            let addr = membership.get_node(id).map_or("", |n| n.addr.as_str());
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "0"));
            writeln!(
                out,
                "slave{i}:ip={host},port={port},state=online,offset={},lag=0,node_id={id}\r",
                matched.map_or(0, |m| m.index)
            )?;
        }
    } else {
        let leader_addr = metrics
            .current_leader
            .and_then(|id| membership.get_node(&id))
            .map_or(String::new(), |n| n.addr.clone());
        let (host, port) = leader_addr.rsplit_once(':').unwrap_or(("", "0"));
        writeln!(out, "master_host:{host}\r")?;
        writeln!(out, "master_port:{port}\r")?;
        let up = if metrics.current_leader.is_some() {
            "up"
        } else {
            "down"
        };
        writeln!(out, "master_link_status:{up}\r")?;
        writeln!(out, "slave_read_only:1\r")?;
        writeln!(out, "connected_slaves:0\r")?;
    }
    writeln!(
        out,
        "master_repl_offset:{}\r",
        metrics.last_applied.map_or(0, |id| id.index)
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

fn raft(node: &Node, metrics: &Metrics, committed: u64, out: &mut String) -> std::fmt::Result {
    let membership = metrics.membership_config.membership();
    let voters: Vec<String> = membership.voter_ids().map(|id| id.to_string()).collect();
    let learners: Vec<String> = membership.learner_ids().map(|id| id.to_string()).collect();
    writeln!(out, "# Raft\r")?;
    writeln!(out, "raft_node_id:{}\r", node.cluster.id)?;
    writeln!(
        out,
        "raft_leader_id:{}\r",
        metrics.current_leader.map_or(-1, |id| id as i64)
    )?;
    writeln!(out, "raft_state:{:?}\r", metrics.state)?;
    writeln!(out, "raft_term:{}\r", metrics.current_term)?;
    writeln!(
        out,
        "raft_last_log_index:{}\r",
        metrics.last_log_index.unwrap_or(0)
    )?;
    writeln!(out, "raft_commit_index:{committed}\r")?;
    writeln!(
        out,
        "raft_applied_index:{}\r",
        metrics.last_applied.map_or(0, |id| id.index)
    )?;
    writeln!(
        out,
        "raft_snapshot_index:{}\r",
        metrics.snapshot.map_or(0, |id| id.index)
    )?;
    writeln!(
        out,
        "raft_purged_index:{}\r",
        metrics.purged.map_or(0, |id| id.index)
    )?;
    writeln!(out, "raft_voters:{}\r", voters.join(","))?;
    writeln!(out, "raft_learners:{}\r", learners.join(","))?;
    writeln!(
        out,
        "raft_lease_reads:{}\r",
        u8::from(node.config.raft.lease_reads)
    )?;
    if let Some(ms) = metrics.millis_since_quorum_ack {
        writeln!(out, "raft_millis_since_quorum_ack:{ms}\r")?;
    }
    Ok(())
}
