//! [`ClientRegistry`]: the connected clients, for CLIENT LIST/KILL, INFO and `clients_max`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What CLIENT LIST shows about one connection; updated by the connection as it runs.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// CLIENT SETNAME.
    pub name: String,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: String,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: String,
    /// Protocol version (2 or 3).
    pub resp: u8,
    /// READONLY mode.
    pub readonly: bool,
    /// SELECTed database.
    pub db: u32,
    /// Last command name, lowercase.
    pub last_command: String,
    /// When the connection was accepted.
    pub connected_at: Instant,
    /// When the last command arrived.
    pub last_active: Instant,
}

/// One registered client: its info and a way to disconnect it.
pub struct ClientHandle {
    /// Shown by CLIENT LIST.
    pub info: Mutex<ClientInfo>,
    /// Notified by CLIENT KILL.
    pub kill: Notify,
    /// The client disconnected or was killed (see [`ClientHandle::gone`]).
    gone_flag: AtomicBool,
    gone_notify: Notify,
}

impl ClientHandle {
    /// Records that the client is gone (its socket closed, or CLIENT KILL), ending any
    /// blocking wait of its connection.
    pub fn mark_gone(&self) {
        self.gone_flag.store(true, Ordering::Release);
        self.gone_notify.notify_waiters();
    }

    /// Whether the client is gone.
    pub fn is_gone(&self) -> bool {
        self.gone_flag.load(Ordering::Acquire)
    }

    /// Completes once the client is gone.
    pub async fn gone(&self) {
        loop {
            let notified = self.gone_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.gone_flag.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// All connected clients of this node.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    /// Connections accepted since start.
    pub connections_received: AtomicU64,
    /// Connections refused because of `clients_max`.
    pub connections_rejected: AtomicU64,
}

impl ClientRegistry {
    /// Registers a new connection unless `max` clients are already connected.
    pub fn register(
        &self,
        addr: SocketAddr,
        laddr: SocketAddr,
        max: usize,
    ) -> Option<Arc<ClientHandle>> {
        self.connections_received.fetch_add(1, Ordering::Relaxed);
        let mut clients = self.clients.lock();
        if clients.len() >= max {
            self.connections_rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let handle = Arc::new(ClientHandle {
            info: Mutex::new(ClientInfo {
                id,
                addr,
                laddr,
                name: String::new(),
                lib_name: String::new(),
                lib_ver: String::new(),
                resp: 2,
                readonly: false,
                db: 0,
                last_command: "NULL".to_string(),
                connected_at: now,
                last_active: now,
            }),
            kill: Notify::new(),
            gone_flag: AtomicBool::new(false),
            gone_notify: Notify::new(),
        });
        clients.insert(id, handle.clone());
        Some(handle)
    }

    /// Removes a connection that closed.
    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Snapshot of every client's info, by id.
    pub fn list(&self) -> Vec<ClientInfo> {
        let handles: Vec<_> = self.clients.lock().values().cloned().collect();
        handles.iter().map(|h| h.info.lock().clone()).collect()
    }

    /// Disconnects clients matching `filter`; returns how many.
    pub fn kill(&self, filter: impl Fn(&ClientInfo) -> bool) -> usize {
        let handles: Vec<_> = self.clients.lock().values().cloned().collect();
        let mut killed = 0;
        for handle in handles {
            if filter(&handle.info.lock()) {
                handle.kill.notify_one();
                handle.mark_gone();
                killed += 1;
            }
        }
        killed
    }

    /// Zeroes the connection counters (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        self.connections_received.store(0, Ordering::Relaxed);
        self.connections_rejected.store(0, Ordering::Relaxed);
    }

    /// Disconnects every client (shutdown).
    pub fn kill_all(&self) {
        self.kill(|_| true);
    }
}

/// Formats one CLIENT LIST / CLIENT INFO line as Redis 7 does.
pub fn format_client_line(info: &ClientInfo, now: Instant) -> String {
    let flags = if info.readonly { "r" } else { "N" };
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={flags} db={} sub=0 psub=0 ssub=0 \
         multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 \
         tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.laddr,
        info.name,
        now.duration_since(info.connected_at).as_secs(),
        now.duration_since(info.last_active).as_secs(),
        info.db,
        info.last_command,
        info.resp,
        info.lib_name,
        info.lib_ver,
    )
}
