//! The shutdown signal: a future that resolves on Ctrl-C (SIGINT) or SIGTERM.

use tokio::signal::unix::{self, SignalKind};

/// Resolves when the process receives SIGINT or SIGTERM. If a handler cannot be installed
/// the other still works; if neither can, the future never resolves (the process then stops
/// the default way, by being killed).
pub async fn signal() {
    let mut term = unix::signal(SignalKind::terminate()).ok();
    let mut int = unix::signal(SignalKind::interrupt()).ok();
    let term_recv = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let int_recv = async {
        match int.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term_recv => tracing::info!("received SIGTERM, shutting down"),
        _ = int_recv => tracing::info!("received SIGINT, shutting down"),
    }
}
