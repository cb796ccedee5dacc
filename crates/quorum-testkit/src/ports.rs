//! Free loopback ports: bind port 0 and release. The OS picks ports that nothing listens on;
//! another process may still grab one before the node binds it, so callers retry a start that
//! fails with "address in use".

use std::net::{SocketAddr, TcpListener};

use anyhow::Context;

/// Returns `n` distinct free loopback addresses. All listeners are held until every port is
/// chosen, so the ports are distinct from one another.
pub fn free_addrs(n: usize) -> anyhow::Result<Vec<SocketAddr>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().context("no local address"))
        .collect()
}
