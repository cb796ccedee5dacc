//! One quorum node: the RESP client listener and its sessions, dispatch of commands to the
//! Raft group (propose, read barrier, or local read), the peer gRPC server and the HTTP port.
//!
//! Not here: the wire format (`quorum-resp`), command semantics (`quorum-commands`), Raft
//! storage and state-machine glue (`quorum-raft`), the peer protocol (`quorum-rpc`),
//! command-line parsing (the `quorum` binary).

mod blocking;
mod bootstrap;
mod clients;
mod cluster;
mod config;
mod connection;
mod dispatch;
mod expiry;
mod http;
mod info;
mod membership;
mod node;
mod peer_handler;
mod proposer;
mod read_barrier;
pub mod seams;
mod server_commands;
mod transaction;

pub use config::{NodeConfig, RaftTuning};
/// The most databases a node can hold (`--databases` is at most this).
pub use quorum_keyspace::DATABASES_MAX;
/// Planted bugs (`quorum node --chaos-bug NAME`), only with the `chaos-bugs` feature.
#[cfg(feature = "chaos-bugs")]
pub use quorum_raft::chaos_bugs;
/// This process's monotonic clock rate (`quorum node --clock-rate`), set once before the node
/// starts; see `quorum_raft::runtime`.
pub use quorum_raft::runtime::{clock_rate, set_clock_rate, CLOCK_RATES};
/// Redirects this process's peer connections through per-link fault-proxy addresses
/// (`quorum node --peer-link-base`, for `quorum chaos`).
pub use quorum_rpc::{dial_peers_through_links, LINK_IDS};

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use quorum_raft::openraft::{Config as RaftConfig, ServerState, SnapshotPolicy};
use quorum_raft::{LogStore, Raft, StateMachineStore, DATA_GROUP};
use quorum_rpc::PeerNetwork;
use quorum_storage::{
    LogEngine, LogEngineConfig, MultiGroupLog, PowerLossFileSystem, SnapshotStore, StorageError,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cluster::ClusterView;
use crate::node::{Node, Stats};
use crate::proposer::Proposer;
use crate::read_barrier::ReadBarrier;
use crate::seams::Seams;

/// How often obsolete Raft log files are deleted.
const LOG_RECLAIM_INTERVAL_MS: u64 = 10_000;

/// How long shutdown waits for connections and Raft to stop before returning anyway.
const SHUTDOWN_GRACE_MS: u64 = 3_000;

/// Runs one node until `shutdown` resolves, then stops accepting clients, closes connections,
/// stops Raft and returns.
pub async fn run_node(
    config: NodeConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    run_node_with_seams(config, Seams::default(), shutdown).await
}

/// [`run_node`] with explicit clock and randomness (for simulation and tests).
pub async fn run_node_with_seams(
    config: NodeConfig,
    seams: Seams,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let raft_config = raft_config(&config)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;

    // Bind every port before starting Raft, so a port conflict fails fast and clearly.
    let client_listener = ClientListener::bind(config.listen)
        .await
        .with_context(|| format!("binding client address {}", config.listen))?;
    // The HTTP admin port (health, metrics, membership) is not simulated: under a simulated
    // network the harness drives membership through RESP and Raft only.
    let http_listener = match quorum_rpc::net::simulated() {
        Some(_) => None,
        None => Some(
            TcpListener::bind(config.http_listen)
                .await
                .with_context(|| format!("binding HTTP address {}", config.http_listen))?,
        ),
    };

    let log_dir = config.data_dir.join("raft-log");
    let file_system = seams.log_file_system.clone().or_else(|| {
        config.emulate_power_loss.then(|| {
            tracing::warn!("power-loss emulation: unsynced log writes die with this process");
            Arc::new(PowerLossFileSystem::new())
        })
    });
    let engine = match seams.log_host.clone() {
        Some(host) => host.open(Box::new(move || open_log(&log_dir, file_system))),
        None => quorum_raft::blocking::unblock(move || open_log(&log_dir, file_system)).await?,
    }
    .context("opening the Raft log")?;
    let snapshots = SnapshotStore::open(&config.data_dir.join("snapshots"))
        .context("opening the snapshot directory")?;
    let sm_store = StateMachineStore::open(snapshots).context("loading the latest snapshot")?;
    let log_store =
        LogStore::new(engine.clone(), DATA_GROUP).limit_purge_to(sm_store.durable_snapshot_index());
    log_store
        .verify_committed_entries_present()
        .context("checking the Raft log")?;
    let state = sm_store.shared();
    let applied = sm_store.applied_signal();

    let raft = Raft::new(
        config.id,
        Arc::new(raft_config),
        PeerNetwork::default(),
        log_store,
        sm_store,
    )
    .await
    .context("starting Raft")?;
    // First start: founders bootstrap; a node whose data is gone refuses to rejoin under its
    // old id (see `bootstrap.rs`).
    let incarnations = bootstrap::bootstrap(&config, &raft, &*seams.entropy).await?;

    if let Some(observe) = &seams.raft_observer {
        observe(&raft);
    }

    let request_timeout = Duration::from_millis(config.request_timeout_ms);
    let cluster = Arc::new(ClusterView::new(
        config.id,
        raft.clone(),
        config.maxmemory_bytes,
    ));
    let node = Arc::new(Node {
        proposer: Proposer::start(cluster.clone(), seams.clone(), request_timeout),
        barrier: ReadBarrier::start(
            cluster.clone(),
            state.clone(),
            request_timeout,
            config
                .raft
                .lease_reads
                .then(|| config.raft.read_lease_duration()),
            seams.clock.clone(),
        ),
        cluster,
        state,
        clients: Default::default(),
        blocked: Default::default(),
        stats: Stats::default(),
        seams,
        started: tokio::time::Instant::now(),
        incarnations,
        config,
    });

    // A restarted node forgot the heartbeats it acknowledged: it stays out of elections until
    // any read lease that relied on it has run out (see `RaftTuning::vote_quiet_period`).
    let quiet = node.config.raft.vote_quiet_period();
    let elect_raft = raft.clone();
    tokio::spawn(async move {
        // On this node's clock (`--clock-rate`), like the lease it must outlast.
        quorum_raft::runtime::sleep(quiet).await;
        elect_raft.runtime_config().elect(true);
        tracing::debug!(?quiet, "vote quiet period over: elections enabled");
    });

    tokio::spawn(log_role_changes(raft.clone()));
    tokio::spawn(send_heartbeats(
        raft.clone(),
        Duration::from_millis(node.config.raft.heartbeat_interval_ms),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let peer_serve = quorum_rpc::serve(
        node.config.peer_listen,
        raft.clone(),
        Arc::new(peer_handler::NodePeerHandler(node.clone())),
        stopped(stop_rx.clone()),
    );
    let peer_addr = node.config.peer_listen;
    let mut peer_server = tokio::spawn(async move {
        if let Err(e) = peer_serve.await {
            tracing::error!(addr = %peer_addr, error = %e, "peer gRPC server failed");
        }
    });
    let http_server = http_listener.map(|listener| {
        tokio::spawn(http::serve(
            listener,
            node.clone(),
            stopped(stop_rx.clone()),
        ))
    });
    let expiry = tokio::spawn(expiry::run(node.clone()));
    let waker = tokio::spawn(blocking::waker(node.clone(), applied));
    let reclaimer = tokio::spawn(reclaim_log_space(engine.clone()));
    let acceptor = tokio::spawn(accept_loop(
        client_listener,
        node.clone(),
        stopped(stop_rx.clone()),
    ));

    let mut rejoin_watch = tokio::spawn(bootstrap::watch(node.clone()));

    tracing::info!(
        id = node.config.id,
        clients = %node.config.listen,
        peers = %node.config.peer_listen,
        http = %node.config.http_listen,
        "node started"
    );

    let mut raft_metrics = raft.metrics();
    let raft_failed = async move {
        let failed = raft_metrics
            .wait_for(|m| m.running_state.is_err())
            .await
            .map(|m| format!("{:?}", m.running_state))
            .unwrap_or_else(|_| "Raft stopped".to_string());
        failed
    };

    tokio::select! {
        () = shutdown => tracing::info!("shutting down"),
        reason = raft_failed => {
            // A node whose Raft core died must not keep answering as if it were healthy
            // (it would report a stale role and refuse every write): stop, loudly, and let the
            // supervisor restart it from its data.
            tracing::error!(%reason, "Raft core stopped; shutting the node down");
            let _ = stop_tx.send(true);
            node.clients.kill_all();
            anyhow::bail!("Raft core stopped: {reason}");
        }
        Ok(refused) = &mut rejoin_watch => {
            // A peer knows this node's id from a data directory that is gone.
            tracing::error!("{refused:#}");
            let _ = stop_tx.send(true);
            node.clients.kill_all();
            let grace = Duration::from_millis(SHUTDOWN_GRACE_MS);
            let _ = tokio::time::timeout(grace, raft.shutdown()).await;
            return Err(refused);
        }
        _ = &mut peer_server => {
            let _ = raft.shutdown().await;
            anyhow::bail!("the peer gRPC server on {peer_addr} stopped (is the port in use?)");
        }
    }

    let _ = stop_tx.send(true);
    rejoin_watch.abort();
    acceptor.abort();
    expiry.abort();
    waker.abort();
    reclaimer.abort();
    node.clients.kill_all();
    let grace = Duration::from_millis(SHUTDOWN_GRACE_MS);
    if tokio::time::timeout(grace, raft.shutdown()).await.is_err() {
        tracing::warn!("Raft did not stop within the grace period");
    }
    if let Some(http_server) = http_server {
        let _ = tokio::time::timeout(grace, http_server).await;
    }
    let _ = tokio::time::timeout(grace, peer_server).await;
    // Make sure everything appended is on disk before the process exits.
    let _ = quorum_raft::blocking::unblock(move || engine.sync()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the Raft log on the real disk, or on `file_system` ([`PowerLossFileSystem`], where
/// a crash loses what was never fsynced).
fn open_log(
    dir: &Path,
    file_system: Option<Arc<PowerLossFileSystem>>,
) -> Result<Arc<dyn MultiGroupLog>, StorageError> {
    let config = LogEngineConfig::default();
    Ok(match file_system {
        Some(file_system) => Arc::new(LogEngine::open_with_file_system(dir, config, file_system)?),
        None => Arc::new(LogEngine::open(dir, config)?),
    })
}

/// raft-engine never deletes obsolete log files by itself: purge them now and then.
async fn reclaim_log_space(engine: Arc<dyn MultiGroupLog>) {
    let mut tick = tokio::time::interval(Duration::from_millis(LOG_RECLAIM_INTERVAL_MS));
    loop {
        tick.tick().await;
        let engine = engine.clone();
        if let Ok(Err(e)) = quorum_raft::blocking::unblock(move || engine.reclaim_space()).await {
            tracing::warn!(error = %e, "reclaiming Raft log space failed");
        }
    }
}

/// The client port: a real TCP listener, or one on the simulated network
/// ([`quorum_rpc::net`]).
enum ClientListener {
    Tcp(TcpListener),
    Simulated(Box<dyn quorum_rpc::net::Listener>),
}

impl ClientListener {
    async fn bind(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        Ok(match quorum_rpc::net::simulated() {
            Some(net) => ClientListener::Simulated(net.bind(addr).await?),
            None => ClientListener::Tcp(TcpListener::bind(addr).await?),
        })
    }
}

async fn accept_loop(
    mut listener: ClientListener,
    node: Arc<Node>,
    stopped: impl Future<Output = ()>,
) {
    tokio::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            () = &mut stopped => return,
            accepted = accept(&mut listener) => accepted,
        };
        let (socket, addr, laddr) = match accepted {
            Ok((socket, addr, laddr)) => (socket, addr, laddr.unwrap_or(node.config.listen)),
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(client) = node
            .clients
            .register(addr, laddr, node.config.limits.clients_max)
        else {
            tokio::spawn(async move {
                let mut socket = socket;
                let _ = socket
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        };
        match socket {
            Accepted::Tcp(socket) => {
                let _ = socket.set_nodelay(true);
                tokio::spawn(connection::serve_connection(node.clone(), socket, client));
            }
            Accepted::Simulated(socket) => {
                tokio::spawn(connection::serve_connection(node.clone(), socket, client));
            }
        }
    }
}

/// An accepted client connection; each kind is served by its own instance of the connection
/// loop, so the real one stays a plain `TcpStream`.
enum Accepted {
    Tcp(tokio::net::TcpStream),
    Simulated(quorum_rpc::net::Conn),
}

impl Accepted {
    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt as _;
        match self {
            Accepted::Tcp(socket) => socket.write_all(bytes).await,
            Accepted::Simulated(socket) => socket.write_all(bytes).await,
        }
    }
}

/// The next connection: (socket, peer address, local address if the socket knows it).
async fn accept(
    listener: &mut ClientListener,
) -> std::io::Result<(Accepted, std::net::SocketAddr, Option<std::net::SocketAddr>)> {
    match listener {
        ClientListener::Tcp(listener) => {
            let (socket, addr) = listener.accept().await?;
            let laddr = socket.local_addr().ok();
            Ok((Accepted::Tcp(socket), addr, laddr))
        }
        ClientListener::Simulated(listener) => {
            let (socket, addr) = listener.accept().await?;
            let laddr = listener.local_addr().ok();
            Ok((Accepted::Simulated(socket), addr, laddr))
        }
    }
}

/// Logs this node's role, term and leader whenever one of them changes, for the life of the
/// node: the operator's view of elections (openraft's own lines are below the default log
/// filter).
async fn log_role_changes(raft: Raft) {
    let mut metrics = raft.metrics();
    let mut logged = None;
    loop {
        let now = {
            let m = metrics.borrow_and_update();
            (m.state, m.current_term, m.current_leader)
        };
        if logged != Some(now) {
            let (state, term, leader) = now;
            tracing::info!(?state, term, ?leader, "raft role");
            logged = Some(now);
        }
        if metrics.changed().await.is_err() {
            return; // Raft shut down.
        }
    }
}

/// Sends a heartbeat to every follower every `interval` while this node leads, for the life
/// of the node (openraft's own heartbeats are off; see `RaftTuning::rpc_timeout_ms`). Runs on
/// this node's clock (`--clock-rate`), like openraft's timers.
async fn send_heartbeats(raft: Raft, interval: Duration) {
    let mut metrics = raft.metrics();
    loop {
        // Idle until this node leads (bounded by every change of the metrics).
        let leading = metrics
            .wait_for(|m| m.state == ServerState::Leader)
            .await
            .is_ok();
        if !leading {
            return; // Raft shut down.
        }
        quorum_raft::runtime::sleep(interval).await;
        if raft.metrics().borrow().state == ServerState::Leader
            && raft.trigger().heartbeat().await.is_err()
        {
            return; // Raft shut down.
        }
    }
}

fn raft_config(config: &NodeConfig) -> anyhow::Result<RaftConfig> {
    let tuning = &config.raft;
    let raft_config = RaftConfig {
        cluster_name: "quorum".to_string(),
        // openraft's interval is its RPC timeout too; the heartbeats themselves are sent by
        // `send_heartbeats` every `heartbeat_interval_ms` (see `RaftTuning::rpc_timeout_ms`).
        heartbeat_interval: tuning.rpc_timeout_ms(),
        enable_heartbeat: false,
        election_timeout_min: tuning.election_timeout_min_ms,
        election_timeout_max: tuning.election_timeout_max_ms,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(tuning.snapshot_logs_since_last),
        max_in_snapshot_log_to_keep: tuning.logs_to_keep_after_snapshot,
        install_snapshot_timeout: 10_000,
        // openraft 0.9 times an AppendEntries call out after its heartbeat interval. With up
        // to 1000 entries per call, a follower far behind got calls too big to finish in time
        // and never caught up (it kept campaigning instead). Entries are whole proposals
        // (bounded by `PROPOSAL_BYTES_MAX`), so 16 per call is at most a few MiB.
        max_payload_entries: 16,
        // Enabled after the vote quiet period (see `RaftTuning::vote_quiet_period`).
        enable_elect: false,
        ..Default::default()
    };
    raft_config
        .validate()
        .context("invalid Raft settings (heartbeat must be below the election timeout)")
}
