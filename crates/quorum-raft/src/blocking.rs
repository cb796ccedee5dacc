//! The blocking-work seam: where a node runs disk work that must stay off the async threads
//! (snapshot encoding and fsync, opening the log, group-commit fsyncs).
//!
//! A real node hands it to tokio's blocking pool ([`unblock`]) and to the log's sync thread
//! ([`crate::LogStore`]). Under a deterministic simulation (`quorum-sim`, turmoil) other OS
//! threads would finish in real time, between the simulator's steps, and make the schedule
//! depend on the machine; [`run_inline`] switches the whole process to doing that work on the
//! calling thread instead, in program order. One process is either a node or a simulation,
//! so the switch is process-wide and set once before any node starts.

use std::sync::atomic::{AtomicBool, Ordering};

static INLINE: AtomicBool = AtomicBool::new(false);

/// Runs all blocking work of this process on the calling thread from now on (simulation only).
pub fn run_inline() {
    INLINE.store(true, Ordering::SeqCst);
}

/// Whether blocking work runs on the calling thread ([`run_inline`]).
pub fn is_inline() -> bool {
    INLINE.load(Ordering::Relaxed)
}

/// Blocking work that did not finish: it panicked, or the runtime shut down under it.
#[derive(Debug, thiserror::Error)]
#[error("blocking task failed: {0}")]
pub struct BlockingError(String);

/// Runs `work` on tokio's blocking pool, or on this thread under [`run_inline`].
pub async fn unblock<T, F>(work: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if is_inline() {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlockingError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unblock_returns_the_work_result_on_the_pool() {
        let main = std::thread::current().id();
        let ran_on = unblock(|| std::thread::current().id()).await.unwrap();
        assert_ne!(ran_on, main, "the pool runs work on another thread");
    }
}
