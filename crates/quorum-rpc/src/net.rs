//! The network seam: how a node opens and accepts connections, to its peers and for clients.
//!
//! A real node uses the operating system's TCP (tokio). A deterministic simulation
//! (`quorum-sim`, over turmoil) installs its own [`Net`] once per process with [`simulate`];
//! from then on every peer channel ([`crate::connect`]), the peer gRPC server
//! ([`crate::serve`]) and the client listener of `quorum-server` go through it. One process is
//! either a node or a simulation, so the switch is process-wide, like
//! `quorum_raft::blocking::run_inline`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A boxed future, as the object-safe [`Net`] returns them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A byte stream to or from another host.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// One connection of a simulated network.
pub type Conn = Box<dyn Stream>;

/// A bound listening socket of a simulated network.
pub trait Listener: Send + 'static {
    /// The next incoming connection and its peer address.
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Conn, SocketAddr)>>;
    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A network other than the operating system's.
pub trait Net: Send + Sync + 'static {
    /// Opens a connection to `addr` ("host:port").
    fn connect(&self, addr: String) -> BoxFuture<'static, io::Result<Conn>>;
    /// Binds a listener on `addr`.
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn Listener>>>;
}

static SIMULATED: OnceLock<Arc<dyn Net>> = OnceLock::new();

/// Routes every connection of this process through `net` from now on. Only the first call
/// takes effect; it returns false if another network was installed before.
pub fn simulate(net: Arc<dyn Net>) -> bool {
    SIMULATED.set(net).is_ok()
}

/// The simulated network, if [`simulate`] installed one.
pub fn simulated() -> Option<&'static Arc<dyn Net>> {
    SIMULATED.get()
}

/// A connection accepted by the peer gRPC server on a simulated network (tonic needs its
/// `Connected` trait on what it serves).
pub(crate) struct Accepted(pub(crate) Conn);

impl tonic::transport::server::Connected for Accepted {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Accepted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// tonic's connector for peer channels over a simulated network: connects to one fixed
/// address, whatever URI the channel asks for.
#[derive(Clone)]
pub(crate) struct SimConnector {
    pub(crate) net: Arc<dyn Net>,
    pub(crate) addr: String,
}

impl tonic::codegen::Service<tonic::codegen::http::Uri> for SimConnector {
    type Response = hyper_util::rt::TokioIo<Conn>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<Self::Response>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: tonic::codegen::http::Uri) -> Self::Future {
        let connecting = self.net.connect(self.addr.clone());
        Box::pin(async move { Ok(hyper_util::rt::TokioIo::new(connecting.await?)) })
    }
}
