//! The queue workload (`--queue`): lists used as work queues, the way applications use Redis
//! lists, so that a lost or doubled element shows.
//!
//! Producers `RPUSH` unique elements (one push in ten is an `LPUSH`) to one of [`QUEUES`]
//! queues. Consumers pop with `BLPOP` (most), `BRPOP` and `LPOP`, or take an element the
//! reliable way: `LMOVE`/`BLMOVE` from the queue's head into their own processing list, then
//! `LREM` of that element once "processed" (one attempt: an element whose `LREM` failed stays
//! in the processing list, where the final read finds it). At the end each queue client reads
//! every queue with all its processing lists in one `MULTI`/`EXEC`, so that an element moved
//! by a late operation is seen exactly once. `quorum_check`'s queue checker judges the history.
//!
//! Bounded: a producer that sees a queue longer than [`QUEUE_LENGTH_MAX`] pauses, a consumer
//! that finds a queue empty without blocking pauses, and blocking pops wait at most
//! [`BLOCK_MS`] (the client waits that long on top of its `--op-timeout-ms`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use quorum_check::{Call, ListEnd, Reply};
use rand::Rng;

use crate::recorder::Recorder;
use crate::workload::{Client, Endpoints, Workload};

/// Queues of the workload: few, so that consumers contend for their elements.
pub const QUEUES: usize = 2;
/// A producer that pushed onto a queue this long pauses for [`FULL_PAUSE`], so the queues (and
/// the final reads) stay small when consumers fall behind.
const QUEUE_LENGTH_MAX: i64 = 200;
const FULL_PAUSE: Duration = Duration::from_millis(50);
/// Pause after a non-blocking pop found nothing, so empty queues are not polled in a busy loop.
const EMPTY_PAUSE: Duration = Duration::from_millis(20);
/// Timeouts of the blocking pops: short, so that consumers also move between queues and see
/// timeouts, and a blocking pop stays well inside a fault interval.
const BLOCK_MS: [u64; 3] = [100, 250, 500];

/// The queues and who consumes from them.
#[derive(Debug, Clone)]
pub struct QueueWorkload {
    /// The consumers' client ids: each has a processing list per queue.
    pub consumers: Vec<u32>,
}

impl QueueWorkload {
    /// The key of queue `q`.
    pub fn queue_key(prefix: &str, q: usize) -> String {
        format!("{prefix}queue:{q}")
    }

    /// The processing list of `consumer` for queue `q`.
    pub fn processing_key(prefix: &str, q: usize, consumer: u32) -> String {
        format!("{prefix}queue:{q}:processing:{consumer}")
    }

    /// Every processing list of queue `q`.
    fn processing_keys(&self, prefix: &str, q: usize) -> Vec<String> {
        self.consumers
            .iter()
            .map(|&c| Self::processing_key(prefix, q, c))
            .collect()
    }

    /// Every key: queues and processing lists.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        (0..QUEUES)
            .flat_map(|q| {
                std::iter::once(Self::queue_key(prefix, q)).chain(self.processing_keys(prefix, q))
            })
            .collect()
    }
}

/// A producer: pushes unique elements until `stop` is set.
pub(crate) async fn produce(
    client: &mut Client,
    workload: &Workload,
    endpoints: &Endpoints,
    recorder: &Recorder,
    stop: &AtomicBool,
) {
    let mut rng = client.rng(workload);
    while !stop.load(Ordering::Relaxed) {
        client.seq += 1;
        let key = QueueWorkload::queue_key(&workload.prefix, rng.gen_range(0..QUEUES));
        let end = if rng.gen_bool(0.1) {
            ListEnd::Head
        } else {
            ListEnd::Tail
        };
        let element = format!("e{}-{}", client.id, client.seq);
        let call = Call::Push { element, end };
        let reply = client
            .execute(workload, endpoints, recorder, &key, call)
            .await;
        if matches!(reply, Some(Reply::Int { value }) if value > QUEUE_LENGTH_MAX) {
            tokio::time::sleep(FULL_PAUSE).await;
        }
    }
}

/// A consumer: pops (or moves, then removes) until `stop` is set.
pub(crate) async fn consume(
    client: &mut Client,
    workload: &Workload,
    endpoints: &Endpoints,
    recorder: &Recorder,
    stop: &AtomicBool,
) {
    let mut rng = client.rng(workload);
    while !stop.load(Ordering::Relaxed) {
        let q = rng.gen_range(0..QUEUES);
        let key = QueueWorkload::queue_key(&workload.prefix, q);
        let processing = QueueWorkload::processing_key(&workload.prefix, q, client.id);
        let block_ms = Some(BLOCK_MS[rng.gen_range(0..BLOCK_MS.len())]);
        let (call, moves) = match rng.gen_range(0..20) {
            0..=7 => (pop(ListEnd::Head, block_ms), false),
            8..=10 => (pop(ListEnd::Tail, block_ms), false),
            11..=13 => (pop(ListEnd::Head, None), false),
            14..=16 => (take(processing.clone(), block_ms), true),
            _ => (take(processing.clone(), None), true),
        };
        let blocking = matches!(
            call,
            Call::Pop {
                block_ms: Some(_),
                ..
            } | Call::Move {
                block_ms: Some(_),
                ..
            }
        );
        let reply = client
            .execute(workload, endpoints, recorder, &key, call)
            .await;
        match reply {
            // Processed: done with it (once; a failure leaves it in the processing list).
            Some(Reply::Value {
                value: Some(element),
            }) if moves => {
                let call = Call::Remove { element };
                client
                    .execute(workload, endpoints, recorder, &processing, call)
                    .await;
            }
            Some(Reply::Value { value: None }) if !blocking => {
                tokio::time::sleep(EMPTY_PAUSE).await;
            }
            _ => {}
        }
    }
}

fn pop(end: ListEnd, block_ms: Option<u64>) -> Call {
    Call::Pop { end, block_ms }
}

fn take(to: String, block_ms: Option<u64>) -> Call {
    Call::Move { to, block_ms }
}

/// Reads every queue with its processing lists, atomically, retrying each until it succeeds
/// (bounded in attempts and by `deadline`).
pub(crate) async fn final_reads(
    client: &mut Client,
    workload: &Workload,
    endpoints: &Endpoints,
    recorder: &Recorder,
    deadline: tokio::time::Instant,
) {
    let Some(queues) = &workload.queue else {
        return;
    };
    for q in 0..QUEUES {
        let key = QueueWorkload::queue_key(&workload.prefix, q);
        let with = queues.processing_keys(&workload.prefix, q);
        let call = Call::Range { with };
        client
            .final_read(workload, endpoints, recorder, &key, call, deadline)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_has_a_processing_list_per_consumer() {
        let plan = QueueWorkload {
            consumers: vec![7, 8],
        };
        let keys = plan.keys("p:");
        assert_eq!(keys.len(), QUEUES * 3);
        assert_eq!(keys[0], "p:queue:0");
        assert_eq!(keys[1], "p:queue:0:processing:7");
        assert!(keys.contains(&"p:queue:1:processing:8".to_string()));
    }
}
