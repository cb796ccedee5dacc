//! [`TurmoilNet`]: quorum's network seam ([`quorum_rpc::net::Net`]) over turmoil's simulated
//! TCP. Every connect and bind happens inside the simulated host that calls it; turmoil knows
//! which one from the host it is currently running.

use std::io;
use std::net::SocketAddr;

use quorum_rpc::net::{BoxFuture, Conn, Listener, Net};

/// turmoil's TCP as a node's network.
pub struct TurmoilNet;

impl Net for TurmoilNet {
    fn connect(&self, addr: String) -> BoxFuture<'static, io::Result<Conn>> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect(addr.as_str()).await?;
            Ok(Box::new(stream) as Conn)
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
            Ok((Box::new(stream) as Conn, peer))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
