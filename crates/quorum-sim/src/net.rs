//! [`TurmoilNet`]: quorum's network seam ([`quorum_rpc::net::Net`]) over turmoil's simulated
//! TCP. Every connect and bind happens inside the simulated host that calls it; turmoil knows
//! which one from the host it is currently running.
//!
//! A crash closes the host's connections in the order they were opened ([`crashing`]).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use quorum_rpc::net::{BoxFuture, Conn, Listener, Net};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// turmoil's TCP as a node's network.
pub struct TurmoilNet;

impl Net for TurmoilNet {
    fn connect(&self, addr: String) -> BoxFuture<'static, io::Result<Conn>> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect(addr.as_str()).await?;
            Ok(Box::new(SimStream::register(stream)) as Conn)
        })
    }

    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let listener = turmoil::net::TcpListener::bind(addr).await?;
            Ok(Box::new(TurmoilListener(listener)) as Box<dyn Listener>)
        })
    }
}

struct TurmoilListener(turmoil::net::TcpListener);

impl Listener for TurmoilListener {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Conn, SocketAddr)>> {
        Box::pin(async move {
            let (stream, peer) = self.0.accept().await?;
            Ok((Box::new(SimStream::register(stream)) as Conn, peer))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

// Why a crash closes connections in the order they were opened.
//
// turmoil's `Sim::crash` drops the host's tokio runtime, and with it every task and the
// connections they own. Each dropped `TcpStream` sends its peer a FIN (or a RST with unread
// data), and every message sent draws its latency from the simulation's seeded RNG. The
// runtime drops its tasks list by list, the list chosen by task id, and task ids come from a
// process-wide counter: the order of those FINs, and so every draw of the RNG after them,
// depended on how many tasks the process had made before (other seeds run earlier in the
// process, or concurrently on other threads).
//
// A real power cut sends nothing, so the more faithful fix would be to forget the streams
// instead. turmoil 0.7.2 cannot express that soundly: a host's sockets and binds are removed
// only by those drops (the crash clears nothing), so a forgotten listener keeps its port
// bound and the restarted node fails to bind it, and a forgotten stream stays in the host's
// socket table with its receiver alive, so the peer's segments are buffered there, never
// answered by a RST, and the peer learns of the dead connection only from its own timeouts,
// or never (a false liveness failure, as turmoil's dropped segments were before). Dropping
// the streams ourselves in a fixed order before `sim.crash` is not possible either: their
// drops must run inside the crashing host's turmoil context, which only `sim.crash` enters.
//
// So: while the driver crashes a host ([`crashing`]), the first of its connections to be
// dropped closes all of that host's open connections, oldest first, and the ones dropped
// after it find theirs already closed. The peers still get their FIN or RST at the moment
// of the crash, as before; only the order is now the simulation's own. Listeners send
// nothing when dropped, so their order does not matter.

/// A connection the seam handed out: `None` once closed by a crash.
type Slot = Mutex<Option<turmoil::net::TcpStream>>;

thread_local! {
    /// The open connections of this thread's simulation (one simulation per thread at a
    /// time), by the order they were opened, with their host's address.
    static OPEN: RefCell<BTreeMap<u64, (IpAddr, Weak<Slot>)>> =
        const { RefCell::new(BTreeMap::new()) };
    /// Numbers the connections of this thread in the order they are opened.
    static OPENED: Cell<u64> = const { Cell::new(0) };
    /// True while the driver crashes a host.
    static CRASHING: Cell<bool> = const { Cell::new(false) };
}

/// Forgets the connections a previous simulation on this thread left behind (after a panic).
pub fn reset() {
    OPEN.with(|open| open.borrow_mut().clear());
}

/// Runs `crash` (the driver's `sim.crash` of one host) so that the host's connections close
/// in the order they were opened.
pub fn crashing<T>(crash: impl FnOnce() -> T) -> T {
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            CRASHING.with(|c| c.set(false));
        }
    }
    CRASHING.with(|c| c.set(true));
    let _done = Done;
    crash()
}

/// A turmoil stream the seam handed out, registered in [`OPEN`].
struct SimStream {
    id: u64,
    host: IpAddr,
    stream: Arc<Slot>,
}

impl SimStream {
    fn register(stream: turmoil::net::TcpStream) -> SimStream {
        let host = stream
            .local_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let id = OPENED.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        let stream = Arc::new(Mutex::new(Some(stream)));
        OPEN.with(|open| {
            open.borrow_mut()
                .insert(id, (host, Arc::downgrade(&stream)))
        });
        SimStream { id, host, stream }
    }

    fn poll_with<T>(
        &self,
        f: impl FnOnce(Pin<&mut turmoil::net::TcpStream>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let mut stream = self.stream.lock().expect("simulated stream");
        match stream.as_mut() {
            Some(stream) => f(Pin::new(stream)),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        let crashing = CRASHING.with(Cell::get);
        // Taken out of the registry first, closed after: the registry is not borrowed while
        // turmoil's drops run.
        let closing: Vec<Arc<Slot>> = OPEN.with(|open| {
            let mut open = open.borrow_mut();
            if !crashing {
                open.remove(&self.id);
                return Vec::new();
            }
            // The first of the crashing host's connections to drop takes them all (itself
            // among them), in the order they were opened.
            let ids: Vec<u64> = open
                .iter()
                .filter(|(_, (host, _))| *host == self.host)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| open.remove(&id).and_then(|(_, stream)| stream.upgrade()))
                .collect()
        });
        for stream in closing {
            let stream = stream.lock().expect("simulated stream").take();
            drop(stream);
        }
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.poll_with(|stream| stream.poll_read(cx, buf))
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_with(|stream| stream.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_with(|stream| stream.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_with(|stream| stream.poll_shutdown(cx))
    }
}
