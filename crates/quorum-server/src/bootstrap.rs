//! Bootstrap, and why a node whose data is gone never rejoins under its old id.
//!
//! Every data directory gets a random *incarnation* when it is created empty (the file
//! `incarnation`). Once a node is a member, it introduces itself to every peer (the `Introduce`
//! peer call), and each peer remembers `id -> incarnation` on its own disk
//! (`known-incarnations`). A node that starts with no Raft state therefore asks its
//! `--initial-cluster` peers first: if one of them remembers another incarnation of its id, its
//! data was lost (wiped disk, new machine) and it refuses to start, naming the remedy: remove
//! the member and add a new node with a new id, which catches up from its peers (what etcd
//! does: a member whose data directory is gone is removed and re-added, never restarted). A
//! node that joined with `--join` has no peer list to ask; it introduces itself as soon as
//! the leader's log made it a member, and stops with the same error when refused.
//!
//! Peers that are unreachable or know nothing of this id mean a first start: the founders
//! bootstrap as before (they start concurrently; a founder that already initialized knows
//! nothing of the others until they introduce themselves, so none is refused).
//!
//! The check can be blind: the only peers that remember the old incarnation may be down, or
//! the node may have lost its disk within the second after its first start, before any peer
//! recorded it. So a node that started with no Raft state into a cluster that already runs
//! (every `--join` node, and a founder whose peers report a leader) also grants no vote until
//! it has applied a confirmed leader's read index once (`ReadBarrier::catch_up_once`): with
//! an empty log it would vote for any candidate, including one missing entries it had itself
//! acknowledged before it lost them. Before bootstrapping, a founder serves no peer calls at
//! all (the peer server starts afterwards), so no vote or AppendEntries can reach it earlier.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use parking_lot::Mutex;
use quorum_raft::Raft;
use quorum_rpc::messages::{IntroduceReply, IntroduceRequest, IntroduceResult};
use quorum_rpc::PeerClient;
use quorum_types::NodeId;

use crate::config::NodeConfig;
use crate::membership;
use crate::node::Node;
use crate::read_barrier::ReadBarrier;
use crate::seams::Entropy;

/// This data directory's incarnation: a random `u64`, written when the directory had none.
const INCARNATION_FILE: &str = "incarnation";
/// The incarnation of every node id this node has been introduced to, one `id incarnation`
/// line each.
const KNOWN_FILE: &str = "known-incarnations";
/// How long the start-up question to one peer may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(2_000);
/// How often a member retries introducing itself to peers that have not answered yet.
const INTRODUCE_INTERVAL: Duration = Duration::from_millis(1_000);
/// Timeout of one introduction once running.
const INTRODUCE_TIMEOUT: Duration = Duration::from_millis(2_000);
/// Pause between two catch-up attempts of a node that withholds its vote.
const CATCH_UP_RETRY: Duration = Duration::from_millis(200);

/// What this node knows about incarnations: its own, and the ones peers introduced.
pub struct Incarnations {
    /// This node's incarnation.
    pub own: u64,
    /// Started with no Raft state into a cluster that already runs: no vote until caught up.
    withhold_votes: bool,
    known: Mutex<BTreeMap<NodeId, u64>>,
    known_path: PathBuf,
}

impl Incarnations {
    /// Whether this node may grant votes as far as rejoining is concerned: always, unless it
    /// started empty into a running cluster and has not caught up with a leader yet.
    pub fn votes_allowed(&self, barrier: &ReadBarrier) -> bool {
        !self.withhold_votes || barrier.caught_up()
    }

    /// Answers a peer's introduction: the incarnation remembered for its id, after recording
    /// the one it brings if asked to and none was known.
    pub fn introduce(&self, request: &IntroduceRequest) -> anyhow::Result<Option<u64>> {
        let mut known = self.known.lock();
        if let Some(incarnation) = known.get(&request.id) {
            return Ok(Some(*incarnation));
        }
        if !request.record {
            return Ok(None);
        }
        known.insert(request.id, request.incarnation);
        // Rare (once per node id) and small: written and fsynced under the lock, so two
        // introductions cannot both record.
        if let Err(e) = write_known(&self.known_path, &known) {
            known.remove(&request.id);
            return Err(e);
        }
        tracing::info!(
            node = request.id,
            incarnation = request.incarnation,
            "recorded a peer's incarnation"
        );
        Ok(Some(request.incarnation))
    }
}

/// The error a node stops with when its id is known under another incarnation.
fn refusal(config: &NodeConfig, peer: NodeId, known: u64, own: u64) -> anyhow::Error {
    let id = config.id;
    anyhow::anyhow!(
        "node {id} refuses to rejoin: its data directory {dir} holds no Raft state of the \
         cluster (new or wiped: incarnation {own:016x}), but node {peer} knows node {id} as \
         incarnation {known:016x}, so its log and vote are lost and it could vote with amnesia. \
         Remove it with `quorum cluster remove-node --id {id}`, then start a node with a new \
         id, an empty data directory and --join, and add it with `quorum cluster add-node --id \
         NEW_ID --addr PEER_ADDR`",
        dir = config.data_dir.display(),
    )
}

/// Opens this node's incarnation and the peers' (creating them on an empty data directory),
/// and on first start bootstraps the cluster if this node is a founder. Refuses to start when a
/// peer knows this node's id under another incarnation.
pub async fn bootstrap(
    config: &NodeConfig,
    raft: &Raft,
    entropy: &dyn Entropy,
) -> anyhow::Result<Arc<Incarnations>> {
    let own = load_or_create_incarnation(&config.data_dir, entropy)?;
    let known_path = config.data_dir.join(KNOWN_FILE);
    let known = read_known(&known_path)?;
    let founding = config
        .initial_cluster
        .iter()
        .any(|(id, _)| *id == config.id);
    let mut withhold_votes = false;
    if !raft.is_initialized().await? {
        let answers = probe(config, own).await;
        for (peer, answer) in &answers {
            if let Some(known) = answer.known_incarnation.filter(|k| *k != own) {
                return Err(refusal(config, *peer, known, own));
            }
        }
        let running = answers.iter().any(|(_, a)| a.leader.is_some());
        withhold_votes = !founding || running;
        if founding {
            tracing::info!(members = ?config.initial_cluster, "bootstrapping a new cluster");
            if let Err(e) = raft
                .initialize(membership::initial_members(&config.initial_cluster))
                .await
            {
                // Another founder may have initialized us first; that is fine.
                tracing::info!(error = %e, "cluster already initialized");
            }
        } else {
            tracing::info!(
                "not a founding member: waiting to be added with `quorum cluster add-node`"
            );
        }
        if withhold_votes {
            tracing::info!(
                "started without Raft state into a running cluster: no vote until caught up \
                 with the leader"
            );
        }
    }
    Ok(Arc::new(Incarnations {
        own,
        withhold_votes,
        known: Mutex::new(known),
        known_path,
    }))
}

/// Asks every other `--initial-cluster` peer, concurrently, what it knows of this node's id.
/// Peers that do not answer in time are left out.
async fn probe(config: &NodeConfig, own: u64) -> Vec<(NodeId, IntroduceReply)> {
    let request = IntroduceRequest {
        id: config.id,
        incarnation: own,
        record: false,
    };
    let mut calls = tokio::task::JoinSet::new();
    for (peer, addr) in config
        .initial_cluster
        .iter()
        .filter(|(p, _)| *p != config.id)
    {
        let (peer, addr, request) = (*peer, addr.clone(), request.clone());
        calls.spawn(async move { (peer, ask(peer, &addr, &request, PROBE_TIMEOUT).await) });
    }
    let mut answers = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined {
            Ok((peer, Ok(answer))) => answers.push((peer, answer)),
            Ok((peer, Err(reason))) => {
                tracing::debug!(peer, %reason, "peer did not answer the start-up introduction");
            }
            Err(_) => {}
        }
    }
    answers
}

async fn ask(
    peer: NodeId,
    addr: &str,
    request: &IntroduceRequest,
    timeout: Duration,
) -> Result<IntroduceReply, String> {
    let client = PeerClient::new(peer, addr).map_err(|e| e.to_string())?;
    match client.introduce(request, timeout).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs for the life of the node: introduces it to every member of its membership (new members
/// too, as they are added) until each has answered, and lets a node that withholds its vote catch
/// up. Returns only when a peer knows this node's id under another incarnation: the node must
/// stop with that error.
pub async fn watch(node: Arc<Node>) -> anyhow::Error {
    let catch_up = async {
        if node.incarnations.withhold_votes {
            // Bounded per attempt by the request timeout; repeated until it succeeds.
            while node.barrier.catch_up_once().await.is_err() {
                tokio::time::sleep(CATCH_UP_RETRY).await;
            }
            tracing::info!("caught up with the leader: votes enabled");
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        error = introduce(&node) => error,
        () = catch_up => unreachable!("pending never resolves"),
    }
}

async fn introduce(node: &Node) -> anyhow::Error {
    let own = node.incarnations.own;
    let id = node.config.id;
    let mut answered: BTreeSet<NodeId> = BTreeSet::new();
    let mut tick = tokio::time::interval(INTRODUCE_INTERVAL);
    loop {
        tick.tick().await;
        let metrics = node.cluster.metrics();
        let membership = metrics.membership_config.membership();
        // A node waiting to be added has nothing to introduce yet.
        if !membership.nodes().any(|(member, _)| *member == id) {
            continue;
        }
        let peers: BTreeMap<NodeId, String> = membership
            .nodes()
            .map(|(member, n)| (*member, n.addr.clone()))
            .collect();
        let request = IntroduceRequest {
            id,
            incarnation: own,
            record: true,
        };
        let mut calls = tokio::task::JoinSet::new();
        for (peer, addr) in peers
            .into_iter()
            .filter(|(peer, _)| *peer != id && !answered.contains(peer))
        {
            let request = request.clone();
            calls.spawn(async move { (peer, ask(peer, &addr, &request, INTRODUCE_TIMEOUT).await) });
        }
        while let Some(joined) = calls.join_next().await {
            let Ok((peer, answer)) = joined else { continue };
            match answer {
                Ok(answer) => match answer.known_incarnation {
                    Some(known) if known != own => {
                        return refusal(&node.config, peer, known, own);
                    }
                    _ => {
                        answered.insert(peer);
                    }
                },
                Err(reason) => tracing::debug!(peer, %reason, "introduction not answered"),
            }
        }
    }
}

/// The peer side of an introduction.
pub fn answer(node: &Node, request: &IntroduceRequest) -> IntroduceResult {
    let known = node
        .incarnations
        .introduce(request)
        .map_err(|e| quorum_rpc::messages::PeerError::Unavailable(format!("{e:#}")))?;
    let metrics = node.cluster.metrics();
    let initialized = metrics
        .membership_config
        .membership()
        .nodes()
        .next()
        .is_some();
    Ok(IntroduceReply {
        known_incarnation: known,
        initialized,
        leader: metrics.current_leader,
    })
}

fn load_or_create_incarnation(data_dir: &Path, entropy: &dyn Entropy) -> anyhow::Result<u64> {
    let path = data_dir.join(INCARNATION_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => u64::from_str_radix(text.trim(), 16)
            .with_context(|| format!("{} is not a hexadecimal number", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let own = entropy.next_u64();
            write_durably(&path, format!("{own:016x}\n").as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(own)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn read_known(path: &Path) -> anyhow::Result<BTreeMap<NodeId, u64>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let parsed = line.split_once(' ').and_then(|(id, incarnation)| {
                Some((
                    id.parse().ok()?,
                    u64::from_str_radix(incarnation.trim(), 16).ok()?,
                ))
            });
            parsed.with_context(|| format!("{}: bad line {line:?}", path.display()))
        })
        .collect()
}

fn write_known(path: &Path, known: &BTreeMap<NodeId, u64>) -> anyhow::Result<()> {
    let text: String = known
        .iter()
        .map(|(id, incarnation)| format!("{id} {incarnation:016x}\n"))
        .collect();
    write_durably(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Writes a small file so that a crash leaves either the old or the new content: a temporary
/// file, fsynced, renamed over `path`, directory fsynced.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
