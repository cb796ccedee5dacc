//! A TCP fault proxy for one ordered link between two nodes; `links.rs` runs one per ordered
//! link of a chaos run (node i dials peer j through the proxy of link i → j, which looks j's
//! real peer address up at connect time, so nodes added by the membership fault need no
//! restart). It gives `quorum chaos` partitions without root, and its `latency` and
//! `duplicate` faults.
//!
//! One [`LinkProxy`] listens on one address and, for every connection it accepts, opens one
//! upstream connection to the address its target function gives at that moment (from
//! [`ProxyOptions::upstream_source`] when set, so a firewall rule at the target can tell which
//! node the bytes come from), then forwards bytes both ways. Each direction is a reader and a
//! writer joined by a bounded queue of chunks; the faults of the link ([`LinkFaults`], shared
//! and changed while connections run) act on that queue:
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
//! - **duplication**: a connection accepted while [`LinkFaults::set_duplicate`] is on records
//!   the bytes it delivers to the target ([`Direction::ToTarget`], from the first, at most
//!   [`MAX_RECORDED_BYTES`]). When it ends, however it ends (either side closes, an error, a
//!   reset; duplication may have been switched off meanwhile), the proxy replays the
//!   recording once on a fresh upstream connection to `target()`: writes it, reads and
//!   discards the answers until end of stream or [`REPLAY_READ_TIMEOUT`], and closes. The
//!   recording of an HTTP/2 connection starts with its preface, so the replay is a valid
//!   connection of its own and every gRPC call on it arrives at the target a second time.
//!   Only delivered bytes are recorded (bytes still held when a reset ends the connection are
//!   not), and the replay itself is neither held nor delayed: it is a duplicate the network
//!   made, not traffic of the link. A connection that delivered nothing is not replayed.
//!   Typical use: `set_duplicate(true)` and `reset_connections()` (so the connections the
//!   nodes open next are recorded), later `set_duplicate(false)` and `reset_connections()`
//!   (which ends them and so replays them). [`LinkProxy::replays`] counts the replays done.
//!
//! Bounds (all named constants below): chunks of at most [`CHUNK_SIZE`] bytes, at most
//! [`MAX_QUEUED_CHUNKS`] queued per direction of a connection (plus one being read and one
//! being written), at most [`MAX_CONNECTIONS`] connections per proxy (more are refused with a
//! RST), delay and jitter capped at [`MAX_DELAY`], upstream connects bounded by
//! [`CONNECT_TIMEOUT`]; at most [`MAX_RECORDED_BYTES`] recorded per connection and at most
//! [`MAX_REPLAYS_IN_FLIGHT`] replays at once per proxy (a replay due beyond that is skipped
//! and counted by [`LinkProxy::replays_skipped`]), each writing for at most
//! [`REPLAY_WRITE_TIMEOUT`] and reading for at most [`REPLAY_READ_TIMEOUT`] after that. An
//! I/O error closes that connection (or ends that replay) only, abruptly on both sides, and is
//! logged with `tracing::debug!`; nothing here panics on I/O.
//!
//! Lifetime: everything runs as tasks on one tokio runtime (the caller's for
//! [`LinkProxy::start`], the given one for [`LinkProxy::start_on`]): one accept task owning a
//! `JoinSet` with one task per connection and another with one task per replay.
//! [`LinkProxy::stop`] closes the listener, every connection and every replay and waits for
//! their tasks to end (connections it closes are not replayed); dropping the proxy, from any
//! thread, aborts the accept task, whose `JoinSet`s abort the other tasks (closing their
//! sockets as the runtime drops them, without waiting).
//!
//! Not done yet: bandwidth limits, per-direction delay, and holding the TCP handshake itself.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::debug;

/// Largest chunk read from one side at once (the unit that is delayed and queued).
pub const CHUNK_SIZE: usize = 16 * 1024;
/// Chunks queued per direction of one connection; when full the reader stops reading.
pub const MAX_QUEUED_CHUNKS: usize = 64;
/// Connections forwarded at once by one proxy; more are closed with a RST at accept.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest delay, and largest jitter, a link accepts (larger values are capped).
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// How long opening an upstream connection may take (for a connection, before the client's
/// is closed; for a replay, before it is given up).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes recorded for the replay of one duplicated connection; the rest of it is forwarded
/// but not recorded (the replay sends this prefix).
pub const MAX_RECORDED_BYTES: usize = 4 << 20;
/// Replays running at once per proxy; a replay due beyond that is skipped (and counted).
pub const MAX_REPLAYS_IN_FLIGHT: usize = 16;
/// How long a replay writes its recording before it gives up (a target that stopped reading).
pub const REPLAY_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a replay reads (and discards) the target's answers after writing, unless the
/// target closes first.
pub const REPLAY_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

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
    /// Connections accepted now are recorded and replayed when they end.
    duplicate: bool,
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

    /// Turns duplication on or off for connections accepted from now on: while on, each is
    /// recorded and replayed once when it ends (see the module docs). Connections open now
    /// keep what they had: switching off does not cancel the replay of one being recorded.
    pub fn set_duplicate(&self, on: bool) {
        self.state.send_modify(|s| s.duplicate = on);
    }

    /// Whether connections accepted now are duplicated.
    pub fn duplicating(&self) -> bool {
        self.state.borrow().duplicate
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

/// Options of one proxy beyond its target and faults.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyOptions {
    /// The local address upstream connections are made from (port 0), so a firewall rule on the
    /// target's side can tell which node the proxied bytes come from; `None`: the OS chooses.
    pub upstream_source: Option<IpAddr>,
}

/// What a proxy's tasks share with each other and with its [`LinkProxy`].
struct Shared {
    target: Target,
    faults: Arc<LinkFaults>,
    options: ProxyOptions,
    /// Connection tasks running.
    connections: AtomicUsize,
    /// Replays that delivered their whole recording.
    replays: AtomicU64,
    /// Replays skipped because [`MAX_REPLAYS_IN_FLIGHT`] were running.
    replays_skipped: AtomicU64,
}

/// A running proxy for one link; see the module docs.
pub struct LinkProxy {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LinkProxy {
    /// Listens on `listen` (port 0 picks a free one) and forwards every accepted connection to
    /// `target()`'s address under `faults`, in tasks on the current tokio runtime, with the
    /// default [`ProxyOptions`].
    pub async fn start(
        listen: SocketAddr,
        target: impl Fn() -> Option<SocketAddr> + Send + Sync + 'static,
        faults: Arc<LinkFaults>,
    ) -> io::Result<LinkProxy> {
        LinkProxy::start_on(
            &Handle::current(),
            listen,
            ProxyOptions::default(),
            target,
            faults,
        )
    }

    /// Like [`LinkProxy::start`] from outside the runtime: binds `listen` now (std, blocking)
    /// and spawns the proxy's tasks on `runtime`. Callable from any thread, also one that is
    /// itself inside another tokio runtime (it must not use block_on; use `runtime.enter()`,
    /// std TcpListener bind + set_nonblocking(true) + tokio::net::TcpListener::from_std).
    pub fn start_on(
        runtime: &Handle,
        listen: SocketAddr,
        options: ProxyOptions,
        target: impl Fn() -> Option<SocketAddr> + Send + Sync + 'static,
        faults: Arc<LinkFaults>,
    ) -> io::Result<LinkProxy> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        // Registers the socket with `runtime`'s reactor, not that of a runtime this thread
        // may be running in.
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            target: Arc::new(target),
            faults,
            options,
            connections: AtomicUsize::new(0),
            replays: AtomicU64::new(0),
            replays_skipped: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let task = runtime.spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(LinkProxy {
            local_addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections being forwarded now (replays not included).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Replays done so far: duplicated connections whose whole recording was written to a
    /// fresh upstream connection. Counted here rather than on [`LinkFaults`] because a replay
    /// belongs to the proxy that runs it.
    pub fn replays(&self) -> u64 {
        self.shared.replays.load(Ordering::Relaxed)
    }

    /// Replays not made because [`MAX_REPLAYS_IN_FLIGHT`] were running when they were due.
    pub fn replays_skipped(&self) -> u64 {
        self.shared.replays_skipped.load(Ordering::Relaxed)
    }

    /// Closes the listener, every connection and every replay, and waits until their tasks
    /// have ended.
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
        // Abort only: it needs no runtime context, so any thread may drop a proxy.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Counts a connection task as running until it ends or is aborted.
struct Running(Arc<Shared>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    // Connection tasks end with the recording to replay, if any.
    let mut tasks = JoinSet::<Option<Vec<u8>>>::new();
    let mut replays = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(Some(recording)) = joined {
                    if replays.len() >= MAX_REPLAYS_IN_FLIGHT {
                        debug!("replay skipped, {MAX_REPLAYS_IN_FLIGHT} in flight");
                        shared.replays_skipped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        replays.spawn(replay(shared.clone(), recording));
                    }
                }
            }
            Some(_) = replays.join_next(), if !replays.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    if tasks.len() >= MAX_CONNECTIONS {
                        debug!("{peer}: refused, {MAX_CONNECTIONS} connections open");
                        close_abruptly(&client);
                        continue;
                    }
                    // Read together, so a connection that escapes a reset made right after
                    // `set_duplicate(true)` is recorded.
                    let (epoch, duplicate) = {
                        let s = shared.faults.state.borrow();
                        (s.resets, s.duplicate)
                    };
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    let running = Running(shared.clone());
                    tasks.spawn(async move {
                        let mut recording = duplicate.then(Recording::default);
                        serve(client, peer, &running.0, epoch, recording.as_mut()).await;
                        recording.map(|r| r.bytes).filter(|bytes| !bytes.is_empty())
                    });
                }
                Err(e) => {
                    debug!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
        }
    }
    drop(listener);
    tasks.shutdown().await;
    replays.shutdown().await;
}

/// The bytes a duplicated connection delivered to its target, for its replay.
#[derive(Default)]
struct Recording {
    bytes: Vec<u8>,
}

impl Recording {
    /// Appends what of `delivered` still fits under [`MAX_RECORDED_BYTES`].
    fn record(&mut self, delivered: &[u8]) {
        let room = MAX_RECORDED_BYTES.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(&delivered[..delivered.len().min(room)]);
    }
}

/// Opens an upstream connection to `addr` from `options`' source, within [`CONNECT_TIMEOUT`].
async fn connect_upstream(addr: SocketAddr, options: ProxyOptions) -> io::Result<TcpStream> {
    let connect = async {
        let stream = match options.upstream_source {
            None => TcpStream::connect(addr).await?,
            Some(source) => {
                let socket = match source {
                    IpAddr::V4(_) => TcpSocket::new_v4()?,
                    IpAddr::V6(_) => TcpSocket::new_v6()?,
                };
                socket.bind(SocketAddr::new(source, 0))?;
                socket.set_nodelay(true)?;
                socket.connect(addr).await?
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(stream)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))
}

/// Forwards one accepted connection until both directions end, one fails, or a reset after
/// `epoch`; records what it delivers to the target into `recording`, if given.
async fn serve(
    mut client: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    epoch: u64,
    recording: Option<&mut Recording>,
) {
    let faults = &*shared.faults;
    let mut resets = faults.state.subscribe();
    let reset = async move {
        if resets.wait_for(|s| s.resets != epoch).await.is_err() {
            // The faults are alive as long as we are; never a reset.
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(reset);

    let Some(addr) = (shared.target)() else {
        debug!("{peer}: no target, closing");
        close_abruptly(&client);
        return;
    };
    let mut upstream = tokio::select! {
        () = &mut reset => {
            close_abruptly(&client);
            return;
        }
        connected = connect_upstream(addr, shared.options) => match connected {
            Ok(upstream) => upstream,
            Err(e) => {
                debug!("{peer}: cannot connect to {addr}: {e}");
                close_abruptly(&client);
                return;
            }
        },
    };
    let _ = client.set_nodelay(true);

    let result = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let both = async {
            tokio::try_join!(
                pipe(
                    client_read,
                    upstream_write,
                    faults,
                    Direction::ToTarget,
                    recording
                ),
                pipe(
                    upstream_read,
                    client_write,
                    faults,
                    Direction::FromTarget,
                    None
                ),
            )
        };
        tokio::select! {
            done = both => done.map(|_| ()),
            () = &mut reset => Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset fault")),
        }
    };
    if let Err(e) = result {
        debug!("{peer} -> {addr}: closing: {e}");
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
/// down for writing) or an error; appends every chunk delivered to `recording`, if given.
async fn pipe(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    faults: &LinkFaults,
    direction: Direction,
    mut recording: Option<&mut Recording>,
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
            if let Some(recording) = recording.as_deref_mut() {
                recording.record(&chunk.bytes);
            }
        }
        wait(&mut state, released).await;
        to.shutdown().await
    };
    tokio::try_join!(read, write).map(|_| ())
}

/// Replays `recording` once on a fresh upstream connection to the target (see the module
/// docs); counts it in `shared.replays` once all of it is written.
async fn replay(shared: Arc<Shared>, recording: Vec<u8>) {
    let Some(addr) = (shared.target)() else {
        debug!("replay: no target");
        return;
    };
    let mut stream = match connect_upstream(addr, shared.options).await {
        Ok(stream) => stream,
        Err(e) => {
            debug!("replay: cannot connect to {addr}: {e}");
            return;
        }
    };
    let (mut read_half, mut write_half) = stream.split();
    let write = async {
        tokio::time::timeout(REPLAY_WRITE_TIMEOUT, write_half.write_all(&recording))
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")))
    };
    tokio::pin!(write);
    // Answers are read while writing too: a target that answers before it has read
    // everything would otherwise block on us while we block on it.
    let mut buf = vec![0; CHUNK_SIZE];
    let mut reading = true;
    let mut read_until: Option<Instant> = None;
    loop {
        let read_time_over = async move {
            match read_until {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            written = &mut write, if read_until.is_none() => match written {
                Ok(()) => {
                    shared.replays.fetch_add(1, Ordering::Relaxed);
                    read_until = Some(Instant::now() + REPLAY_READ_TIMEOUT);
                    if !reading {
                        break;
                    }
                }
                Err(e) => {
                    debug!("replay to {addr}: {e}");
                    break;
                }
            },
            read = read_half.read(&mut buf), if reading => {
                if matches!(read, Ok(0) | Err(_)) {
                    reading = false;
                    if read_until.is_some() {
                        break;
                    }
                }
            }
            () = read_time_over => break,
        }
    }
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
