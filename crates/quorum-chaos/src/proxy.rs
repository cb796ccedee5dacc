//! A TCP fault proxy for one ordered link between two nodes: the first building block of the
//! in-process fault proxy (docs/STATUS.md, "Next", item 1).
//!
//! Why: partitions today are iptables DROP rules inside network namespaces, so they need root
//! and are skipped otherwise, and `quorum chaos` injects no latency, jitter or reordering at
//! all. In the planned design node i dials peer j through a proxy of its own for the ordered
//! link i → j; the proxy looks j's real peer address up at connect time (so nodes added by the
//! membership fault need no restart) and injects that link's faults. This module is that
//! proxy for one link; it is not wired into `quorum chaos` yet (no node flag, no fault class).
//!
//! One [`LinkProxy`] listens on one address and, for every connection it accepts, opens one
//! upstream connection to the address its target function gives at that moment, then forwards
//! bytes both ways. Each direction is a reader and a writer joined by a bounded queue of
//! chunks; the faults of the link ([`LinkFaults`], shared and changed while connections run)
//! act on that queue:
//!
//! - **hold** (per [`Direction`]): the writer stops forwarding and keeps the bytes, as TCP keeps
//!   retransmitting them during an iptables DROP; on release everything held is delivered in
//!   order. A partition holds both directions, a one-way partition one. Once the queue is full
//!   the reader stops reading, so the sender's socket buffers fill and it blocks, as it would
//!   behind a DROP. Unlike a DROP, the TCP handshake is not held: a dialer's connect always
//!   succeeds at the proxy (the upstream connection is still opened at once), and the data then
//!   waits. End of stream (FIN) is held like data.
//! - **delay ± jitter**: each chunk read is delivered no earlier than its read time + delay ±
//!   a uniform jitter drawn from the link's seeded RNG. Chunks of one connection stay in order
//!   (a chunk due earlier than its predecessor waits for it), so only separate connections
//!   reorder against each other, as TCP streams do. The delay applies to both directions of
//!   every connection of the link, so a round trip through one proxy takes at least twice the
//!   delay (minus jitter).
//! - **reset**: [`LinkFaults::reset_connections`] closes every connection open at that moment
//!   abruptly (RST on both sides); later connections are not affected.
//!
//! Bounds (all named constants below): chunks of at most [`CHUNK_SIZE`] bytes, at most
//! [`MAX_QUEUED_CHUNKS`] queued per direction of a connection (plus one being read and one
//! being written), at most [`MAX_CONNECTIONS`] connections per proxy (more are refused with a
//! RST), delay and jitter capped at [`MAX_DELAY`], upstream connects bounded by
//! [`CONNECT_TIMEOUT`]. An I/O error closes that connection only (both sides, abruptly) and is
//! logged at debug level; nothing here panics on I/O. `tracing` is not a dependency of this
//! crate, so "debug level" is stderr when `QUORUM_CHAOS_PROXY_DEBUG` is set (non-empty, not 0).
//!
//! Lifetime: everything runs as tasks on the caller's tokio runtime: one accept task owning a
//! `JoinSet` with one task per connection. [`LinkProxy::stop`] closes the listener and every
//! connection and waits for their tasks to end; dropping the proxy aborts the accept task,
//! whose `JoinSet` aborts the connection tasks (closing their sockets as the runtime drops
//! them, without waiting).
//!
//! Not done yet: duplication (the design replays a recorded connection's bytes into a fresh
//! upstream connection, so whole gRPC calls arrive twice), bandwidth limits, per-direction
//! delay, and holding the TCP handshake itself.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Largest chunk read from one side at once (the unit that is delayed and queued).
pub const CHUNK_SIZE: usize = 16 * 1024;
/// Chunks queued per direction of one connection; when full the reader stops reading.
pub const MAX_QUEUED_CHUNKS: usize = 64;
/// Connections forwarded at once by one proxy; more are closed with a RST at accept.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest delay, and largest jitter, a link accepts (larger values are capped).
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// How long opening the upstream connection may take before the client's is closed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// Environment variable that turns on this module's debug log on stderr.
const DEBUG_ENV: &str = "QUORUM_CHAOS_PROXY_DEBUG";

/// One direction of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the dialing node (the proxy's client) to the target node.
    ToTarget,
    /// From the target node back to the dialing node.
    FromTarget,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToTarget => 0,
            Direction::FromTarget => 1,
        }
    }
}

/// The faults of one link as they are now.
#[derive(Debug, Clone, Copy, Default)]
struct FaultState {
    /// Per [`Direction::index`]: forwarding stopped, bytes kept.
    hold: [bool; 2],
    delay: Duration,
    jitter: Duration,
    /// Incremented by every [`LinkFaults::reset_connections`].
    resets: u64,
}

/// The faults of one link, shared by its proxy's connections and changed while they run.
#[derive(Debug)]
pub struct LinkFaults {
    state: watch::Sender<FaultState>,
    rng: Mutex<StdRng>,
}

impl LinkFaults {
    /// No faults; jitter is drawn from an RNG seeded with `seed`.
    pub fn new(seed: u64) -> LinkFaults {
        LinkFaults {
            state: watch::Sender::new(FaultState::default()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Holds (stops forwarding and keeps) or releases one direction.
    pub fn set_hold(&self, direction: Direction, hold: bool) {
        self.state.send_modify(|s| s.hold[direction.index()] = hold);
    }

    /// Holds or releases both directions: a partition of this link, or its healing.
    pub fn set_partitioned(&self, partitioned: bool) {
        self.state.send_modify(|s| s.hold = [partitioned; 2]);
    }

    /// Whether `direction` is held.
    pub fn held(&self, direction: Direction) -> bool {
        self.state.borrow().hold[direction.index()]
    }

    /// Delays every chunk read from now on by `delay` ± uniform `jitter` (each capped at
    /// [`MAX_DELAY`]); zero for both turns the delay off.
    pub fn set_delay(&self, delay: Duration, jitter: Duration) {
        self.state.send_modify(|s| {
            s.delay = delay.min(MAX_DELAY);
            s.jitter = jitter.min(MAX_DELAY);
        });
    }

    /// The current delay and jitter.
    pub fn delay(&self) -> (Duration, Duration) {
        let s = self.state.borrow();
        (s.delay, s.jitter)
    }

    /// Closes every connection open now abruptly (RST to both sides); later ones are kept.
    pub fn reset_connections(&self) {
        self.state.send_modify(|s| s.resets += 1);
    }

    /// When a chunk read at `read_at` may be delivered, at the earliest.
    fn due(&self, read_at: Instant) -> Instant {
        let (delay, jitter) = self.delay();
        if jitter.is_zero() {
            return read_at + delay;
        }
        // Both are at most MAX_DELAY, far below i64::MAX nanoseconds.
        let delay = i64::try_from(delay.as_nanos()).unwrap_or(i64::MAX / 2);
        let jitter = i64::try_from(jitter.as_nanos()).unwrap_or(i64::MAX / 2);
        let offset = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .gen_range(-jitter..=jitter);
        let total = u64::try_from(delay + offset).unwrap_or(0);
        read_at + Duration::from_nanos(total)
    }
}

/// Where a new connection goes: the destination's address at connect time, or `None` to
/// refuse (the client's connection is closed).
pub type Target = Arc<dyn Fn() -> Option<SocketAddr> + Send + Sync>;

/// A running proxy for one link; see the module docs.
pub struct LinkProxy {
    local_addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LinkProxy {
    /// Listens on `listen` (port 0 picks a free one) and forwards every accepted connection to
    /// `target()`'s address under `faults`, in tasks on the current tokio runtime.
    pub async fn start(
        listen: SocketAddr,
        target: impl Fn() -> Option<SocketAddr> + Send + Sync + 'static,
        faults: Arc<LinkFaults>,
    ) -> io::Result<LinkProxy> {
        let listener = TcpListener::bind(listen).await?;
        let local_addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(target),
            faults,
            connections.clone(),
            stopped,
        ));
        Ok(LinkProxy {
            local_addr,
            connections,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections being forwarded now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Closes the listener and every connection, and waits until their tasks have ended.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Counts a connection task as running until it ends or is aborted.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Target,
    faults: Arc<LinkFaults>,
    connections: Arc<AtomicUsize>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    if tasks.len() >= MAX_CONNECTIONS {
                        debug(format_args!("{peer}: refused, {MAX_CONNECTIONS} connections open"));
                        close_abruptly(&client);
                        continue;
                    }
                    connections.fetch_add(1, Ordering::Relaxed);
                    let running = Running(connections.clone());
                    let (target, faults) = (target.clone(), faults.clone());
                    tasks.spawn(async move {
                        let _running = running;
                        serve(client, peer, &*target, &faults).await;
                    });
                }
                Err(e) => {
                    debug(format_args!("accept failed: {e}"));
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
        }
    }
    drop(listener);
    tasks.shutdown().await;
}

/// Forwards one accepted connection until both directions end, one fails, or a reset.
async fn serve(
    mut client: TcpStream,
    peer: SocketAddr,
    target: &(dyn Fn() -> Option<SocketAddr> + Send + Sync),
    faults: &LinkFaults,
) {
    let mut resets = faults.state.subscribe();
    let epoch = resets.borrow_and_update().resets;
    let reset = async move {
        if resets.wait_for(|s| s.resets != epoch).await.is_err() {
            // The faults are alive as long as we are; never a reset.
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(reset);

    let Some(addr) = target() else {
        debug(format_args!("{peer}: no target, closing"));
        close_abruptly(&client);
        return;
    };
    let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr));
    let mut upstream = tokio::select! {
        () = &mut reset => {
            close_abruptly(&client);
            return;
        }
        connected = connect => match connected {
            Ok(Ok(upstream)) => upstream,
            Ok(Err(e)) => {
                debug(format_args!("{peer}: cannot connect to {addr}: {e}"));
                close_abruptly(&client);
                return;
            }
            Err(_) => {
                debug(format_args!("{peer}: connecting to {addr} timed out"));
                close_abruptly(&client);
                return;
            }
        },
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);

    let result = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let both = async {
            tokio::try_join!(
                pipe(client_read, upstream_write, faults, Direction::ToTarget),
                pipe(upstream_read, client_write, faults, Direction::FromTarget),
            )
        };
        tokio::select! {
            done = both => done.map(|_| ()),
            () = &mut reset => Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset fault")),
        }
    };
    if let Err(e) = result {
        debug(format_args!("{peer} -> {addr}: closing: {e}"));
        close_abruptly(&client);
        close_abruptly(&upstream);
    }
}

/// One chunk on its way, and when it may be delivered.
struct Chunk {
    due: Instant,
    bytes: Vec<u8>,
}

/// Forwards `from` to `to` in `direction` under `faults` until end of stream (then shuts `to`
/// down for writing) or an error.
async fn pipe(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    faults: &LinkFaults,
    direction: Direction,
) -> io::Result<()> {
    let (queue, mut queued) = mpsc::channel::<Chunk>(MAX_QUEUED_CHUNKS);
    let read = async move {
        let mut buf = vec![0; CHUNK_SIZE];
        loop {
            let n = from.read(&mut buf).await?;
            if n == 0 {
                return Ok(()); // Dropping `queue` lets the writer finish.
            }
            let chunk = Chunk {
                due: faults.due(Instant::now()),
                bytes: buf[..n].to_vec(),
            };
            // Waits while the queue is full: backpressure on the sender.
            if queue.send(chunk).await.is_err() {
                return Ok(()); // The writer failed; its error ends the connection.
            }
        }
    };
    let write = async {
        let mut state = faults.state.subscribe();
        let released = |s: &FaultState| !s.hold[direction.index()];
        while let Some(chunk) = queued.recv().await {
            tokio::time::sleep_until(chunk.due).await;
            wait(&mut state, released).await;
            to.write_all(&chunk.bytes).await?;
        }
        wait(&mut state, released).await;
        to.shutdown().await
    };
    tokio::try_join!(read, write).map(|_| ())
}

/// Waits until the faults satisfy `ready`.
async fn wait(state: &mut watch::Receiver<FaultState>, ready: impl FnMut(&FaultState) -> bool) {
    // An error means the faults were dropped, which the caller's borrow rules out.
    let _ = state.wait_for(ready).await.map(drop);
}

/// Makes dropping `stream` send a RST instead of a FIN.
fn close_abruptly(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Logs at debug level: stderr when [`DEBUG_ENV`] is set.
fn debug(message: std::fmt::Arguments<'_>) {
    static ON: OnceLock<bool> = OnceLock::new();
    let on =
        *ON.get_or_init(|| std::env::var_os(DEBUG_ENV).is_some_and(|v| !v.is_empty() && v != "0"));
    if on {
        eprintln!("chaos proxy: {message}");
    }
}
