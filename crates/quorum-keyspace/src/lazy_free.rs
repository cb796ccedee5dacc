//! Freeing large values off the apply path, as Redis's lazyfree does: a DEL, an overwrite or
//! a FLUSHALL of a collection with millions of elements would otherwise spend its time in
//! `free` on the thread that applies the log, long enough to delay heartbeats and cost a
//! leader its lease.
//!
//! [`free_later`] hands ownership to one background thread through a bounded channel. It
//! changes no state any command can observe (memory accounting already forgot the value), so
//! replicas stay deterministic. When the channel is full or the thread cannot start, the
//! value is dropped right there, as before.
//!
//! Not here: deciding what is large (the callers: collections, `Keyspace::clear`).

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;

/// Collections with more elements than this are freed in the background (Redis's
/// `LAZYFREE_THRESHOLD`).
pub(crate) const LAZY_FREE_ELEMENTS_MIN: usize = 64;

/// Values waiting for the freeing thread; beyond this, callers free inline.
const QUEUE_DEPTH_MAX: usize = 1024;

type Garbage = Box<dyn Send>;

fn freer() -> Option<&'static SyncSender<Garbage>> {
    static SENDER: OnceLock<Option<SyncSender<Garbage>>> = OnceLock::new();
    SENDER
        .get_or_init(|| {
            let (tx, rx) = sync_channel::<Garbage>(QUEUE_DEPTH_MAX);
            std::thread::Builder::new()
                .name("quorum-lazyfree".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Drops `value` on the freeing thread (or here, when that is not possible).
pub(crate) fn free_later<T: Send + 'static>(value: T) {
    let Some(tx) = freer() else {
        return;
    };
    match tx.try_send(Box::new(value)) {
        Ok(()) => {}
        Err(TrySendError::Full(garbage) | TrySendError::Disconnected(garbage)) => drop(garbage),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::free_later;

    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn values_handed_over_are_freed_soon() {
        let dropped = Arc::new(AtomicBool::new(false));
        free_later(Flag(dropped.clone()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !dropped.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "never freed");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
