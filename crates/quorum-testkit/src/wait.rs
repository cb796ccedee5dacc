//! Bounded polling: every wait in the testkit goes through [`poll_until`], so no loop can spin
//! forever and no test sleeps for a fixed time hoping something happened.

use std::time::{Duration, Instant};

/// Calls `check` every `interval` until it returns `Some`, or fails after `timeout` with the
/// last reason `check` gave (via `Err`). The number of rounds is bounded by
/// `timeout / interval + 1` as well as by the clock.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: impl FnMut() -> Result<Option<T>, String>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    let rounds_max = timeout.as_millis() / interval.as_millis().max(1) + 1;
    let mut last = String::from("not checked yet");
    for _ in 0..=rounds_max {
        match check() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(reason) => last = reason,
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(interval);
    }
    anyhow::bail!("timed out after {timeout:?} waiting for {what}; last: {last}")
}
