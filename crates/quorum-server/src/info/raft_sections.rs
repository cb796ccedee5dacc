//! INFO's sections read from Raft: `persistence` and `replication` in Redis's terms (the Raft
//! log is quorum's AOF and its replication stream; offsets are log indexes), and quorum's own
//! `raft` section. Not here: the sections about the process and its clients (`info.rs`).

use std::fmt::Write as _;

use quorum_raft::openraft::ServerState;

use super::fields;
use crate::node::Node;

/// One reading of the node's Raft state, shared by the sections of one INFO.
pub struct RaftView {
    metrics: quorum_raft::RaftMetrics,
    committed: u64,
}

impl RaftView {
    /// Reads the metrics and the commit index.
    pub async fn read(node: &Node) -> RaftView {
        let committed = node
            .cluster
            .raft
            .with_raft_state(|state| state.committed.map_or(0, |id| id.index))
            .await
            .unwrap_or(0);
        RaftView {
            metrics: node.cluster.metrics(),
            committed,
        }
    }

    fn applied(&self) -> u64 {
        self.metrics.last_applied.map_or(0, |id| id.index)
    }

    fn snapshot(&self) -> u64 {
        self.metrics.snapshot.map_or(0, |id| id.index)
    }

    /// `# Persistence`: the Raft log as an always-fsynced AOF that never forks or rewrites.
    pub fn persistence(&self, node: &Node, out: &mut String) -> std::fmt::Result {
        let started_unix = node
            .seams
            .clock
            .now_unix_ms()
            .saturating_sub(node.started.elapsed().as_millis() as u64)
            / 1000;
        writeln!(out, "# Persistence\r")?;
        fields(
            out,
            &[
                ("loading", "0".into()),
                ("async_loading", "0".into()),
                ("current_cow_peak", "0".into()),
                ("current_cow_size", "0".into()),
                ("current_cow_size_age", "0".into()),
                ("current_fork_perc", "0.00".into()),
                ("current_save_keys_processed", "0".into()),
                ("current_save_keys_total", "0".into()),
                // Entries applied since the last Raft snapshot.
                (
                    "rdb_changes_since_last_save",
                    self.applied().saturating_sub(self.snapshot()).to_string(),
                ),
                ("rdb_bgsave_in_progress", "0".into()),
                // Snapshot times are not tracked; like Redis without a save, the start time.
                ("rdb_last_save_time", started_unix.to_string()),
                ("rdb_last_bgsave_status", "ok".into()),
                ("rdb_last_bgsave_time_sec", "-1".into()),
                ("rdb_current_bgsave_time_sec", "-1".into()),
                // Every acknowledged write is in the Raft log, fsynced on a majority.
                ("aof_enabled", "1".into()),
                ("aof_fsync", "always".into()),
                ("aof_rewrite_in_progress", "0".into()),
                ("aof_rewrite_scheduled", "0".into()),
                ("aof_last_rewrite_time_sec", "-1".into()),
                ("aof_current_rewrite_time_sec", "-1".into()),
                ("aof_last_bgrewrite_status", "ok".into()),
                ("aof_rewrites", "0".into()),
                ("aof_rewrites_consecutive_failures", "0".into()),
                // A failed log write stops the node, so a running node's last write succeeded.
                ("aof_last_write_status", "ok".into()),
                ("aof_last_cow_size", "0".into()),
                ("module_fork_in_progress", "0".into()),
                ("module_fork_last_cow_size", "0".into()),
                ("raft_snapshot_index", self.snapshot().to_string()),
            ],
        )
    }

    /// `# Replication`: the leader is the master, followers are replicas.
    pub fn replication(&self, node: &Node, out: &mut String) -> std::fmt::Result {
        let metrics = &self.metrics;
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
            let up = if metrics.current_leader.is_some() {
                "up"
            } else {
                "down"
            };
            fields(
                out,
                &[
                    ("master_host", host.to_string()),
                    ("master_port", port.to_string()),
                    ("master_link_status", up.into()),
                    ("master_sync_in_progress", "0".into()),
                    (
                        "slave_read_repl_offset",
                        metrics.last_log_index.unwrap_or(0).to_string(),
                    ),
                    ("slave_repl_offset", self.applied().to_string()),
                    ("slave_priority", "100".into()),
                    ("slave_read_only", "1".into()),
                    ("replica_announced", "1".into()),
                    ("connected_slaves", "0".into()),
                ],
            )?;
        }
        let purged = metrics.purged.map_or(0, |id| id.index);
        fields(
            out,
            &[
                ("master_failover_state", "no-failover".into()),
                ("master_repl_offset", self.applied().to_string()),
                ("second_repl_offset", "-1".into()),
                // The log kept behind the last purge serves lagging followers.
                ("repl_backlog_active", "1".into()),
                ("repl_backlog_first_byte_offset", (purged + 1).to_string()),
                (
                    "repl_backlog_histlen",
                    metrics
                        .last_log_index
                        .unwrap_or(0)
                        .saturating_sub(purged)
                        .to_string(),
                ),
            ],
        )
    }

    /// `# Raft`: quorum's own view of its group.
    pub fn raft(&self, node: &Node, out: &mut String) -> std::fmt::Result {
        let metrics = &self.metrics;
        let membership = metrics.membership_config.membership();
        let voters: Vec<String> = membership.voter_ids().map(|id| id.to_string()).collect();
        let learners: Vec<String> = membership.learner_ids().map(|id| id.to_string()).collect();
        writeln!(out, "# Raft\r")?;
        fields(
            out,
            &[
                ("raft_node_id", node.cluster.id.to_string()),
                (
                    "raft_leader_id",
                    metrics
                        .current_leader
                        .map_or(-1, |id| id as i64)
                        .to_string(),
                ),
                ("raft_state", format!("{:?}", metrics.state)),
                ("raft_term", metrics.current_term.to_string()),
                (
                    "raft_last_log_index",
                    metrics.last_log_index.unwrap_or(0).to_string(),
                ),
                ("raft_commit_index", self.committed.to_string()),
                ("raft_applied_index", self.applied().to_string()),
                ("raft_snapshot_index", self.snapshot().to_string()),
                (
                    "raft_purged_index",
                    metrics.purged.map_or(0, |id| id.index).to_string(),
                ),
                ("raft_voters", voters.join(",")),
                ("raft_learners", learners.join(",")),
                (
                    "raft_lease_reads",
                    u8::from(node.config.raft.lease_reads).to_string(),
                ),
            ],
        )?;
        if let Some(ms) = metrics.millis_since_quorum_ack {
            writeln!(out, "raft_millis_since_quorum_ack:{ms}\r")?;
        }
        Ok(())
    }
}
