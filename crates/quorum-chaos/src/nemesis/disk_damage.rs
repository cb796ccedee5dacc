//! The `disk` fault that damages a stopped follower's files: a torn last log record, a bit flip
//! or a truncation in its Raft log or newest snapshot (`quorum_testkit::disk` does the damage).
//!
//! What must follow: the node either starts (a torn tail is cut, or the damage was harmless)
//! and catches up from its peers, or it refuses to start with an error naming the damaged file
//! or directory. A refused node is replaced as its error says: removed from the membership and
//! a new, empty node added, which rebuilds from its peers. Data it could have served wrongly
//! would show up in the history check and the replica digests; an exit without a clear error
//! is a harness note in the report.
//!
//! Total loss of a follower's data (`DiskLoss`) takes the same path: the node restarted under
//! its old id with an empty data directory must refuse to rejoin (its peers know that id from
//! the data that is gone, see `quorum-server`'s `bootstrap.rs`), and is then replaced by a new
//! member. A node that does not refuse is a harness note: it could vote with amnesia.

use std::time::{Duration, Instant};

use quorum_testkit::disk::{self, CorruptTarget};

use super::Nemesis;
use crate::schedule::{Action, DiskDamage};

/// How long a restarted node gets to say "node started" or to exit.
const STARTUP_WAIT: Duration = Duration::from_secs(15);
/// How long a node that started is watched for a late exit (a bad entry read after start).
const SETTLE_WAIT: Duration = Duration::from_secs(2);
/// Step of both waits.
const POLL_STEP: Duration = Duration::from_millis(100);
/// The most characters of a node's error line kept in the fault's description.
const ERROR_LINE_CHARS_MAX: usize = 400;
/// What a node restarted with a wiped data directory logs when it refuses to rejoin.
const REFUSAL_TEXT: &str = "refuses to rejoin";

/// What a damaged node did when restarted.
enum Outcome {
    /// It started; `cut` says whether recovery reported cutting a torn or corrupt tail.
    Started { cut: bool },
    /// It exited; its error line, if one names a path under its data directory.
    Refused { error: Option<String> },
}

impl Nemesis {
    /// kill -9 `victim`, damage its data directory, restart it, and replace it by a new member
    /// if it refuses to start.
    pub(super) fn damage_disk(
        &mut self,
        action: Action,
        victim: u64,
        damage: DiskDamage,
        seed: u64,
    ) -> anyhow::Result<()> {
        let event = self.start_event(
            action,
            format!("follower {victim}: kill -9, {damage}, restart"),
        );
        self.cluster.kill9(victim)?;
        self.killed.insert(victim);
        let data_dir = self.cluster.data_dir(victim)?;
        let what = match damage {
            DiskDamage::TornTail => disk::tear_last_record(&data_dir, seed)?,
            DiskDamage::Log(how) => disk::corrupt(&data_dir, CorruptTarget::Log, how, seed)?,
            DiskDamage::Snapshot(how) => {
                match disk::corrupt(&data_dir, CorruptTarget::Snapshot, how, seed) {
                    Ok(what) => what,
                    // No snapshot taken yet: the log is the only file to damage.
                    Err(_) => disk::corrupt(&data_dir, CorruptTarget::Log, how, seed)?,
                }
            }
        };
        let log_before = self.cluster.node_log(victim).len();
        self.cluster.restart(victim, &[])?;
        let outcome = self.watch_restart(victim, log_before, &data_dir.display().to_string());
        let detail = match outcome {
            Outcome::Started { cut } => {
                self.killed.remove(&victim);
                format!(
                    "follower {victim}: {what}; it started{} and catches up from its peers",
                    if cut {
                        ", cutting the damaged tail"
                    } else {
                        ""
                    }
                )
            }
            Outcome::Refused { error } => {
                let said = match error {
                    Some(line) => format!("refused to start: {line}"),
                    None => {
                        self.note(format!(
                            "node {victim} exited after {damage} without an error naming a \
                             file under {}",
                            data_dir.display()
                        ));
                        "exited without naming the damaged file".to_string()
                    }
                };
                // As the error says: the data cannot be trusted, so the node leaves and an
                // empty one joins in its place (a wiped node must not vote with amnesia).
                let added = self.replace_member(victim)?;
                format!(
                    "follower {victim}: {what}; {said}; removed, node {added} added in its place"
                )
            }
        };
        self.rename_event(event, detail);
        self.end_event(event);
        Ok(())
    }

    /// kill -9 `victim`, delete its data directory, restart it under its old id: it must
    /// refuse to rejoin. Then it is replaced like a refused damaged node: removed from the
    /// membership and a new, empty node added.
    pub(super) fn lose_disk(&mut self, action: Action, victim: u64) -> anyhow::Result<()> {
        let event = self.start_event(
            action,
            format!(
                "follower {victim}: kill -9, data directory deleted, restarted under its old id"
            ),
        );
        self.cluster.kill9(victim)?;
        self.killed.insert(victim);
        let data_dir = self.cluster.data_dir(victim)?;
        self.cluster.wipe(victim)?;
        let log_before = self.cluster.node_log(victim).len();
        self.cluster.restart(victim, &[])?;
        let said = match self.wait_refusal(victim, log_before) {
            Some(line) => format!("it refused to rejoin ({line})"),
            None => {
                self.note(format!(
                    "node {victim} was restarted under its old id with its data directory {} \
                     deleted and did not refuse to rejoin within {STARTUP_WAIT:?}: it could \
                     vote with amnesia",
                    data_dir.display()
                ));
                if self.cluster.is_running(victim) {
                    self.cluster.kill9(victim)?;
                }
                "it did NOT refuse to rejoin (killed)".to_string()
            }
        };
        // As the refusal says: remove the member, add a new node in its place.
        let added = self.replace_member(victim)?;
        self.rename_event(
            event,
            format!(
                "follower {victim}: kill -9, data directory deleted, restarted under its old id; \
                 {said}; removed, node {added} added in its place"
            ),
        );
        self.end_event(event);
        Ok(())
    }

    /// Removes stopped node `victim` from the membership and adds a new, empty node in its
    /// place, which rebuilds from its peers; returns the new node's id.
    fn replace_member(&mut self, victim: u64) -> anyhow::Result<u64> {
        self.cluster.remove_member(victim)?;
        self.killed.remove(&victim);
        self.publish_endpoints();
        let added = self.cluster.add_member()?;
        self.publish_endpoints();
        Ok(added)
    }

    /// Waits until `victim` exits; returns its refusal line if it logged one. `None` when it
    /// still runs after [`STARTUP_WAIT`] or exited without refusing.
    fn wait_refusal(&mut self, victim: u64, log_before: usize) -> Option<String> {
        let started = Instant::now();
        let steps_max = STARTUP_WAIT.as_millis() / POLL_STEP.as_millis() + 1;
        for _ in 0..steps_max {
            if !self.cluster.is_running(victim) {
                let log = self.cluster.node_log(victim);
                let new = log.get(log_before.min(log.len())..).unwrap_or_default();
                return new
                    .lines()
                    .find(|l| l.contains(REFUSAL_TEXT))
                    .map(|l| l.chars().take(ERROR_LINE_CHARS_MAX).collect());
            }
            if started.elapsed() >= STARTUP_WAIT {
                break;
            }
            std::thread::sleep(POLL_STEP);
        }
        None
    }

    /// Waits until `victim` logs "node started" (then watches it a little longer) or exits.
    fn watch_restart(&mut self, victim: u64, log_before: usize, data_dir: &str) -> Outcome {
        let new_log = |nemesis: &Nemesis| {
            let log = nemesis.cluster.node_log(victim);
            log.get(log_before.min(log.len())..)
                .unwrap_or_default()
                .to_string()
        };
        let started = Instant::now();
        let mut settle_from = None;
        // Bounded by the clock and by the number of steps.
        let steps_max = (STARTUP_WAIT + SETTLE_WAIT).as_millis() / POLL_STEP.as_millis() + 1;
        for _ in 0..steps_max {
            if !self.cluster.is_running(victim) {
                let log = new_log(self);
                let error = log
                    .lines()
                    .find(|l| l.to_ascii_lowercase().contains("error") && l.contains(data_dir))
                    .map(|l| l.chars().take(ERROR_LINE_CHARS_MAX).collect());
                return Outcome::Refused { error };
            }
            let log = new_log(self);
            if settle_from.is_none() && log.contains("node started") {
                settle_from = Some(Instant::now());
            }
            let settled = settle_from.is_some_and(|at| at.elapsed() >= SETTLE_WAIT);
            if settled || started.elapsed() >= STARTUP_WAIT + SETTLE_WAIT {
                return Outcome::Started {
                    cut: log.contains("recovery cut a torn or corrupt tail"),
                };
            }
            std::thread::sleep(POLL_STEP);
        }
        Outcome::Started { cut: false }
    }
}
