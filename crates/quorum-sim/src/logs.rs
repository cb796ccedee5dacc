//! Raft's log matching property, checked on the nodes' logs as they are on disk after a run:
//! if two logs hold an entry with the same log id (term, leader, index), they hold the same
//! entries up to it. A sample of metrics cannot show this; the logs themselves can.

use std::collections::BTreeMap;
use std::path::Path;

use quorum_raft::{openraft, TypeConfig, DATA_GROUP};
use quorum_storage::{LogEngine, LogEngineConfig};
use quorum_types::NodeId;

/// One node's log: index → (log id, the stored entry's bytes).
type Log = BTreeMap<u64, (quorum_raft::LogId, Vec<u8>)>;

/// Reads the data group's log of node `id` from `dir` (its `raft-log` directory).
fn read_log(dir: &Path) -> anyhow::Result<Log> {
    let engine = LogEngine::open(dir, LogEngineConfig::default())?;
    let (Some(first), Some(last)) = (
        engine.first_index(DATA_GROUP),
        engine.last_index(DATA_GROUP),
    ) else {
        return Ok(Log::new());
    };
    let mut log = Log::new();
    for (index, bytes) in engine.entries(DATA_GROUP, first, last + 1)? {
        // The log store's own versioned encoding (a header, then bincode).
        let entry: openraft::Entry<TypeConfig> = quorum_raft::decode_entry(&bytes)?;
        anyhow::ensure!(
            entry.log_id.index == index,
            "entry stored at index {index} says it is {}",
            entry.log_id
        );
        log.insert(index, (entry.log_id, bytes.to_vec()));
    }
    Ok(log)
}

/// The violations of log matching between every pair of `nodes`, each given as (id, raft-log
/// directory). An unreadable log is a violation too.
pub fn check_log_matching(nodes: &[(NodeId, std::path::PathBuf)]) -> Vec<String> {
    let mut violations = Vec::new();
    let mut logs = Vec::new();
    for (id, dir) in nodes {
        // On a thread of its own: raft-engine's block cache is per thread and not per engine
        // (see `log_thread.rs`), so reading two logs on one thread can return one's block for
        // the other's.
        let read = std::thread::scope(|scope| scope.spawn(|| read_log(dir)).join());
        let read = read.unwrap_or_else(|_| Err(anyhow::anyhow!("reading the log panicked")));
        match read {
            Ok(log) => logs.push((*id, log)),
            Err(e) => violations.push(format!("node {id}: its log cannot be read: {e:#}")),
        }
    }
    for (i, (a, log_a)) in logs.iter().enumerate() {
        for (b, log_b) in &logs[i + 1..] {
            // The highest index where both hold the same log id: everything up to it must match.
            let Some(agreed) = log_a
                .iter()
                .rev()
                .find(|(index, (id_a, _))| log_b.get(index).is_some_and(|(id_b, _)| id_b == id_a))
                .map(|(index, _)| *index)
            else {
                continue;
            };
            for (index, (id_a, bytes_a)) in log_a.range(..=agreed) {
                if let Some((id_b, bytes_b)) = log_b.get(index) {
                    if id_a != id_b || bytes_a != bytes_b {
                        violations.push(format!(
                            "log matching: nodes {a} and {b} agree on the entry at {agreed} but \
                             differ at {index} ({id_a} vs {id_b})"
                        ));
                        break;
                    }
                }
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

    /// Writes blank entries with the given (index, term) log ids (leader = node 1).
    fn write_log(dir: &Path, ids: &[(u64, u64)]) {
        std::thread::scope(|scope| scope.spawn(|| write_log_here(dir, ids)).join().unwrap());
    }

    fn write_log_here(dir: &Path, ids: &[(u64, u64)]) {
        let engine = LogEngine::open(dir, LogEngineConfig::default()).unwrap();
        let entries: Vec<(u64, Bytes)> = ids
            .iter()
            .map(|&(index, term)| {
                let entry = Entry::<TypeConfig> {
                    log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
                    payload: EntryPayload::Blank,
                };
                (
                    index,
                    Bytes::from(quorum_raft::encode_entry(&entry).unwrap()),
                )
            })
            .collect();
        engine.append(DATA_GROUP, &entries).unwrap();
        engine.sync().unwrap();
    }

    #[test]
    fn logs_that_agree_at_an_entry_must_agree_before_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        write_log(&a, &[(1, 1), (2, 1), (3, 2)]);
        // Same entry at 3, another term at 2: impossible in Raft.
        write_log(&b, &[(1, 1), (2, 2), (3, 2)]);
        // A diverging tail after the agreed prefix is legal (not yet truncated).
        write_log(&c, &[(1, 1), (2, 1), (3, 3)]);
        let found = check_log_matching(&[(1, a.clone()), (2, b.clone())]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("differ at 2"), "{found:?}");
        assert!(check_log_matching(&[(1, a), (3, c)]).is_empty());
    }
}
