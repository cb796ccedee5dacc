//! One RESP benchmark client: a loop that sends operations (a batch at a time in closed loop,
//! on schedule in open loop), matches replies to operations in order, and records outcomes.
//!
//! The loop never ends the run on a failure: a dead connection fails the operations in flight
//! (counted as `io` / `timeout` / `protocol`), and the client reconnects with back-off until
//! the run's send deadline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Buf;

use super::connection::{ConnectionFailure, RespConnection};
use super::reply::{parse_reply, Outcome, Parsed};
use super::request::{replies_per_op, RequestEncoder};
use crate::control::{Backoff, RunControl, Schedule};
use crate::stats::{Recorder, Tally, ERROR_NIL};
use crate::workload::{OpKind, OpStream};

/// Longest the loop sleeps at once while idle, so a stop is noticed quickly.
const IDLE_SLEEP_MAX: std::time::Duration = std::time::Duration::from_millis(100);

/// An operation sent and not yet fully answered.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    kind: OpKind,
    /// Where its latency is measured from: the batch's send time (closed loop) or the intended
    /// time (open loop).
    stamp: Instant,
    /// When it was actually written, for the reply timeout.
    sent: Instant,
    counted: bool,
    replies_left: u8,
    failed: bool,
}

/// Everything one client needs; consumed by [`RespClient::run`].
pub struct RespClient {
    pub index: usize,
    pub endpoint: String,
    pub readonly: bool,
    pub pipeline: usize,
    pub control: Arc<RunControl>,
    pub recorder: Recorder,
    pub ops: OpStream,
    pub encoder: Arc<RequestEncoder>,
    /// `Some` in open loop.
    pub schedule: Option<Schedule>,
}

impl RespClient {
    /// Runs until the send deadline (or the request budget) and the drain of what is in flight.
    pub async fn run(mut self, mut connection: Option<RespConnection>) {
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(self.pipeline);
        let mut batch: Vec<u8> = Vec::with_capacity(self.pipeline * 64);
        let mut backoff = Backoff::new(self.index as u64);
        loop {
            let Some(conn) = connection.as_mut() else {
                if self.control.should_stop(Instant::now()) {
                    return;
                }
                match self.open().await {
                    Ok(conn) => {
                        backoff.reset();
                        connection = Some(conn);
                    }
                    Err(failure) => {
                        self.count_failure(&failure, 1);
                        let wake = Instant::now() + backoff.next_delay();
                        tokio::time::sleep_until(wake.min(self.control.send_deadline).into()).await;
                    }
                }
                continue;
            };
            let now = Instant::now();
            let stopping = self.control.should_stop(now);
            if !stopping {
                batch.clear();
                self.fill(&mut batch, &mut in_flight, now);
            }
            if stopping && in_flight.is_empty() {
                return;
            }
            if !batch.is_empty() {
                let written = conn.write_all(&batch, self.control.timeout).await;
                batch.clear();
                if let Err(failure) = written {
                    self.fail_connection(&mut connection, &mut in_flight, &failure);
                    continue;
                }
            }
            let result = self.wait(conn, &mut in_flight, stopping).await;
            if let Err(failure) = result {
                self.fail_connection(&mut connection, &mut in_flight, &failure);
            }
        }
    }

    /// Reconnects; an error reply to READONLY is counted and the connection kept.
    async fn open(&self) -> Result<RespConnection, ConnectionFailure> {
        let (conn, readonly_error) =
            open_connection(&self.endpoint, self.readonly, self.control.timeout).await?;
        if let Some(kind) = readonly_error {
            self.recorder.tally.lock().record_error(&kind, 1);
        }
        Ok(conn)
    }

    /// Appends the operations to send now to `batch`: a whole batch when nothing is in flight
    /// (closed loop), or every due operation that fits in the window (open loop).
    fn fill(&mut self, batch: &mut Vec<u8>, in_flight: &mut VecDeque<InFlight>, now: Instant) {
        match &mut self.schedule {
            None => {
                if !in_flight.is_empty() {
                    return;
                }
                let counted = self.control.is_counted(now);
                let want = self.pipeline as u64;
                let granted = if counted {
                    self.control.claim(want)
                } else {
                    want
                };
                for _ in 0..granted {
                    let (kind, key) = self.ops.next_op();
                    self.encoder.write(batch, kind, key);
                    in_flight.push_back(in_flight_op(kind, now, now, counted));
                }
            }
            Some(schedule) => {
                let mut tally = None;
                while in_flight.len() < self.pipeline {
                    let due = schedule.next_due();
                    if due > now {
                        break;
                    }
                    let counted = self.control.is_counted(due);
                    if counted && self.control.claim(1) == 0 {
                        break;
                    }
                    schedule.advance();
                    let (kind, key) = self.ops.next_op();
                    self.encoder.write(batch, kind, key);
                    in_flight.push_back(in_flight_op(kind, due, now, counted));
                    if counted {
                        tally
                            .get_or_insert_with(|| self.recorder.tally.lock())
                            .record_send_lag(now - due);
                    }
                }
            }
        }
    }

    /// Waits for replies (bounded by the oldest request's timeout) and records those that
    /// arrive; in open loop also wakes when the next request is due and a slot is free.
    async fn wait(
        &self,
        conn: &mut RespConnection,
        in_flight: &mut VecDeque<InFlight>,
        stopping: bool,
    ) -> Result<(), ConnectionFailure> {
        let now = Instant::now();
        let next_due = match &self.schedule {
            Some(schedule) if !stopping && in_flight.len() < self.pipeline => {
                Some(schedule.next_due().min(now + IDLE_SLEEP_MAX))
            }
            _ => None,
        };
        let Some(oldest) = in_flight.front() else {
            // Open loop, nothing in flight: sleep until the next request is due.
            let wake = next_due.unwrap_or(now + IDLE_SLEEP_MAX);
            tokio::time::sleep_until(wake.into()).await;
            return Ok(());
        };
        let reply_deadline = oldest.sent + self.control.timeout;
        tokio::select! {
            biased;
            read = tokio::time::timeout_at(reply_deadline.into(), conn.read_more()) => {
                read.map_err(|_| ConnectionFailure::timeout("reply"))??;
            }
            _ = tokio::time::sleep_until(next_due.unwrap_or(now).into()), if next_due.is_some() => {
                return Ok(());
            }
        }
        let arrived = Instant::now();
        let mut tally = self.recorder.tally.lock();
        let mut any_ok = false;
        loop {
            let (len, outcome) = match parse_reply(&conn.read_buf) {
                Ok(Parsed::Incomplete) => break,
                Ok(Parsed::Reply { len, outcome }) => (len, outcome),
                Err(e) => return Err(ConnectionFailure::protocol(e)),
            };
            let Some(op) = in_flight.front_mut() else {
                return Err(ConnectionFailure::protocol("a reply to no request"));
            };
            record_reply(&mut tally, op, outcome);
            conn.read_buf.advance(len);
            op.replies_left -= 1;
            if op.replies_left == 0 {
                let done = *op;
                in_flight.pop_front();
                if done.counted && !done.failed {
                    tally.record_ok(arrived.saturating_duration_since(done.stamp));
                    any_ok = true;
                }
            }
        }
        drop(tally);
        if any_ok {
            self.recorder.gaps.acknowledged(arrived);
        }
        Ok(())
    }

    /// Fails every operation in flight with `failure`'s kind and drops the connection.
    fn fail_connection(
        &self,
        connection: &mut Option<RespConnection>,
        in_flight: &mut VecDeque<InFlight>,
        failure: &ConnectionFailure,
    ) {
        let lost = in_flight
            .iter()
            .filter(|op| op.counted && !op.failed)
            .count();
        if lost > 0 {
            self.recorder
                .tally
                .lock()
                .record_error(failure.kind, lost as u64);
        }
        in_flight.clear();
        *connection = None;
    }

    /// Counts a failed connection attempt, if measuring has started.
    fn count_failure(&self, failure: &ConnectionFailure, count: u64) {
        if self.control.is_counted(Instant::now()) {
            self.recorder.tally.lock().record_error(failure.kind, count);
        }
    }
}

/// Connects to `endpoint` and, with `readonly`, sends READONLY; returns the connection and the
/// first word of READONLY's error reply, if it had one.
pub async fn open_connection(
    endpoint: &str,
    readonly: bool,
    timeout: std::time::Duration,
) -> Result<(RespConnection, Option<String>), ConnectionFailure> {
    let mut conn = RespConnection::connect(endpoint, timeout).await?;
    let readonly_error = if readonly {
        conn.call(&[b"READONLY"], timeout).await?
    } else {
        None
    };
    Ok((conn, readonly_error))
}

fn in_flight_op(kind: OpKind, stamp: Instant, sent: Instant, counted: bool) -> InFlight {
    InFlight {
        kind,
        stamp,
        sent,
        counted,
        replies_left: replies_per_op(kind),
        failed: false,
    }
}

/// Records what one reply says about its operation: an operation fails at its first error
/// reply (counted once, by kind); a BRPOP that returns nil fails as `nil`; a GET miss is a
/// success counted in `nil`.
fn record_reply(tally: &mut Tally, op: &mut InFlight, outcome: Outcome<'_>) {
    if op.failed {
        return;
    }
    let is_pop = op.kind == OpKind::Task && op.replies_left == 1;
    match outcome {
        Outcome::Value => {}
        Outcome::Nil if is_pop => {
            op.failed = true;
            if op.counted {
                tally.record_error(ERROR_NIL, 1);
            }
        }
        Outcome::Nil => {
            if op.counted {
                tally.nil += 1;
            }
        }
        Outcome::Error(word) => {
            op.failed = true;
            if op.counted {
                tally.record_error_reply(word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::args::plan_from_flags;
    use crate::runner::Harness;
    use crate::workload::{value_bytes, KeyFormat};

    /// Reads requests (counted by their `*3\r\n` header: keys and values are digits and `x`)
    /// and answers each with `reply`, split in two writes to exercise partial frames. Returns
    /// when the peer closes, or after `close_after` requests if given.
    async fn serve(stream: &mut TcpStream, reply: &[u8], close_after: Option<usize>) {
        let mut seen = Vec::new();
        let mut answered = 0;
        let mut buf = [0u8; 4096];
        loop {
            let Ok(n) = stream.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            let requests = seen.windows(4).filter(|w| w == b"*3\r\n").count();
            while answered < requests {
                if close_after == Some(answered) {
                    return;
                }
                let (head, tail) = reply.split_at(2);
                let _ = stream.write_all(head).await;
                let _ = stream.write_all(tail).await;
                answered += 1;
            }
        }
    }

    /// A server that answers the first request with TRYAGAIN and then drops the connection
    /// without answering the second: the client counts both, reconnects, and finishes its
    /// budget on the new connection.
    #[tokio::test]
    async fn error_replies_and_dropped_connections_are_counted_and_the_client_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            serve(&mut first, b"-TRYAGAIN later\r\n", Some(1)).await;
            drop(first);
            let (mut second, _) = listener.accept().await.unwrap();
            serve(&mut second, b"+OK\r\n", None).await;
        });
        let plan = plan_from_flags(&[
            "--endpoints",
            &addr,
            "--clients",
            "1",
            "--requests",
            "20",
            "--timeout-ms",
            "2000",
        ])
        .unwrap();
        let mut harness = Harness::start(&plan);
        let client = RespClient {
            index: 0,
            endpoint: addr,
            readonly: false,
            pipeline: 1,
            control: harness.control.clone(),
            recorder: harness.recorder(),
            ops: OpStream::new(plan.workload, None, plan.keys, plan.seed, 0),
            encoder: Arc::new(RequestEncoder::new(
                KeyFormat::for_keys(plan.keys),
                &value_bytes(plan.value_size),
            )),
            schedule: None,
        };
        let mut clients = tokio::task::JoinSet::new();
        clients.spawn(client.run(None));
        let measured =
            tokio::time::timeout(std::time::Duration::from_secs(20), harness.finish(clients))
                .await
                .expect("the run ends within its timeouts");
        let tally = measured.tally;
        assert_eq!(tally.ok, 18, "{tally:?}");
        assert_eq!(tally.errors.get("TRYAGAIN"), Some(&1), "{:?}", tally.errors);
        assert_eq!(tally.errors.get("io"), Some(&1), "{:?}", tally.errors);
        assert_eq!(tally.latency_us.len(), 18);
        server.abort();
    }
}
