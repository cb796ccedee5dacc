//! [`Cluster`]: a set of [`Node`] processes forming one quorum cluster.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;

use crate::node::{Node, NodeAddrs};
use crate::{http, poll_until, ports};

/// How many times a start is retried when a node could not bind its ports (another process
/// took a "free" port between our probe and the node's bind).
const START_ATTEMPTS_MAX: usize = 3;
/// Lines of each node's log printed when a test fails.
const LOG_TAIL_LINES: usize = 200;

/// Options for starting a [`Cluster`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    binary: PathBuf,
    nodes: usize,
    fast_raft: bool,
    extra_args: Vec<String>,
    leader_timeout: Duration,
    peer_addrs: Option<PeerAddrs>,
}

/// Every node's peer (gRPC) address by id, filled in before each node starts: a fault proxy
/// between nodes looks its destination up here (see [`ClusterBuilder::publish_peer_addrs`]).
pub type PeerAddrs = Arc<RwLock<BTreeMap<u64, SocketAddr>>>;

fn publish(table: &Option<PeerAddrs>, id: u64, addr: SocketAddr) {
    if let Some(table) = table {
        table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, addr);
    }
}

impl ClusterBuilder {
    /// Number of founding nodes (default 3).
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes;
        self
    }

    /// Use faster Raft timings than production (heartbeat 50 ms, elections 250-500 ms),
    /// so failover tests run quickly. On by default.
    pub fn fast_raft(mut self, fast: bool) -> Self {
        self.fast_raft = fast;
        self
    }

    /// An extra `quorum node` flag (and its value, if any) for every node, e.g.
    /// `.arg("--snapshot-logs-since-last").arg("100")`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Writes every node's peer address into `table` before the node starts, also for nodes
    /// added later with [`Cluster::add_node`] and for a start retried on new ports.
    pub fn publish_peer_addrs(mut self, table: PeerAddrs) -> Self {
        self.peer_addrs = Some(table);
        self
    }

    /// How long [`ClusterBuilder::start`] waits for a leader (default 30 s).
    pub fn leader_timeout(mut self, timeout: Duration) -> Self {
        self.leader_timeout = timeout;
        self
    }

    /// Starts the nodes and waits until they agree on a leader.
    pub fn start(self) -> anyhow::Result<Cluster> {
        if self.nodes == 0 {
            bail!("a cluster needs at least one node");
        }
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS_MAX {
            let mut cluster = self.spawn_all()?;
            match cluster.wait_for_leader(self.leader_timeout) {
                // A majority may elect a leader while a node that lost its port to another
                // process (free ports are found, released, then bound by the node) has exited;
                // its clients would then reach the other process's node. Start over.
                Ok(_) if cluster.port_conflict() => {
                    cluster.quiet = true;
                    last_err = Some(anyhow::anyhow!("a node could not bind its port"));
                }
                Ok(_) => return Ok(cluster),
                Err(err) if cluster.port_conflict() => {
                    // Drop kills the processes; try again with new ports and directories.
                    cluster.quiet = true;
                    last_err = Some(err);
                }
                Err(err) => {
                    let logs = cluster.log_tails();
                    cluster.quiet = true;
                    return Err(err.context(format!("cluster did not form; node logs:\n{logs}")));
                }
            }
        }
        Err(last_err
            .unwrap_or_else(|| anyhow::anyhow!("no attempt made"))
            .context("ports kept conflicting"))
    }

    fn node_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.fast_raft {
            for (flag, value) in [
                ("--heartbeat-interval-ms", "50"),
                ("--election-timeout-min-ms", "250"),
                ("--election-timeout-max-ms", "500"),
            ] {
                args.extend([flag.to_string(), value.to_string()]);
            }
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    fn spawn_all(&self) -> anyhow::Result<Cluster> {
        let root = tempfile::Builder::new()
            .prefix("quorum-test-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let addrs = ports::free_addrs(self.nodes * 3)?;
        let addrs: Vec<NodeAddrs> = addrs
            .chunks(3)
            .map(|c| NodeAddrs {
                resp: c[0],
                peer: c[1],
                http: c[2],
            })
            .collect();
        let initial_cluster = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}={}", i + 1, a.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            binary: self.binary.clone(),
            root: Some(root),
            nodes: Vec::with_capacity(self.nodes),
            node_args: self.node_args(),
            quiet: false,
            peer_addrs: self.peer_addrs.clone(),
        };
        for (i, a) in addrs.into_iter().enumerate() {
            publish(&self.peer_addrs, i as u64 + 1, a.peer);
            let mut args = vec!["--initial-cluster".to_string(), initial_cluster.clone()];
            args.extend(cluster.node_args.iter().cloned());
            let mut node = Node::new(&self.binary, cluster.root_path(), i as u64 + 1, a, args)?;
            node.spawn()?;
            cluster.nodes.push(node);
        }
        Ok(cluster)
    }
}

/// Real `quorum node` processes on loopback, with temporary data directories.
pub struct Cluster {
    binary: PathBuf,
    root: Option<tempfile::TempDir>,
    nodes: Vec<Node>,
    node_args: Vec<String>,
    /// Set when the cluster is discarded on purpose (a retried start): no log dump on drop.
    quiet: bool,
    peer_addrs: Option<PeerAddrs>,
}

impl Cluster {
    /// Starts `nodes` nodes of `binary` (use `env!("CARGO_BIN_EXE_quorum")`) with test
    /// timings and waits for a leader.
    pub fn start(binary: &Path, nodes: usize) -> anyhow::Result<Cluster> {
        Cluster::builder(binary).nodes(nodes).start()
    }

    /// A builder for non-default options.
    pub fn builder(binary: &Path) -> ClusterBuilder {
        ClusterBuilder {
            binary: binary.to_path_buf(),
            nodes: 3,
            fast_raft: true,
            extra_args: Vec::new(),
            leader_timeout: Duration::from_secs(30),
            peer_addrs: None,
        }
    }

    fn root_path(&self) -> &Path {
        self.root
            .as_ref()
            .map_or(Path::new("/nonexistent"), |r| r.path())
    }

    /// Every node, including stopped and removed ones, in id order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node ids in order.
    pub fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(Node::id).collect()
    }

    /// The node with this id. Panics on an unknown id (a bug in the test).
    pub fn node(&self, id: u64) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.id() == id)
            .unwrap_or_else(|| panic!("no node {id} in this cluster"))
    }

    /// The node with this id, for faults and restarts. Panics on an unknown id.
    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id() == id)
            .unwrap_or_else(|| panic!("no node {id} in this cluster"))
    }

    /// A blocking Redis connection to node `id`.
    pub fn client(&self, id: u64) -> anyhow::Result<redis::Connection> {
        self.node(id).client()
    }

    /// A multiplexed async Redis connection to node `id`.
    pub async fn async_client(&self, id: u64) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        self.node(id).async_client().await
    }

    /// The leader, if one is known right now: a node that says it leads, confirmed by a
    /// majority of the voters (so a deposed leader that has not noticed yet is not reported).
    pub fn leader_id(&self) -> Option<u64> {
        self.leader_probe().ok()
    }

    fn leader_probe(&self) -> Result<u64, String> {
        let mut statuses = Vec::new();
        // A node that exited on its own simply fails to answer; paused nodes are skipped
        // because they cannot answer within the probe timeout.
        for node in &self.nodes {
            if node.pid().is_some() && !node.is_paused() {
                if let Ok(status) = node.status() {
                    statuses.push(status);
                }
            }
        }
        leader_from_statuses(&statuses, self.nodes.len())
    }

    /// Waits until [`Cluster::leader_id`] knows a leader.
    pub fn wait_for_leader(&self, timeout: Duration) -> anyhow::Result<u64> {
        poll_until("a leader", timeout, Duration::from_millis(50), || {
            self.leader_probe().map(Some)
        })
    }

    /// Starts one more node (without `--initial-cluster`, with `--join`) and adds it through
    /// the admin API; returns once it is a voter. Returns its id.
    pub fn add_node(&mut self) -> anyhow::Result<u64> {
        let id = self.nodes.iter().map(Node::id).max().unwrap_or(0) + 1;
        let mut args = vec!["--join".to_string()];
        args.extend(self.node_args.iter().cloned());
        let mut attempt = 0;
        // Free ports are found, released, then bound by the node: another process can take
        // one in between (as in `ClusterBuilder::start`). Nothing knows the node yet, so a node
        // that could not bind starts over with new ports and an empty directory.
        let (node, addrs) = loop {
            attempt += 1;
            let a = ports::free_addrs(3)?;
            let addrs = NodeAddrs {
                resp: a[0],
                peer: a[1],
                http: a[2],
            };
            publish(&self.peer_addrs, id, addrs.peer);
            let mut node = Node::new(&self.binary, self.root_path(), id, addrs, args.clone())?;
            node.spawn()?;
            let serving = node.wait_serving(Duration::from_secs(30));
            if serving.is_ok() && node.is_running() {
                break (node, addrs);
            }
            let lost_port = node.lost_its_port();
            let log = node.log();
            node.kill_quietly();
            if !lost_port || attempt >= START_ATTEMPTS_MAX {
                let why = serving
                    .err()
                    .map_or("it exited".to_string(), |e| format!("{e:#}"));
                bail!("node {id} did not start ({why}); its log:\n{log}");
            }
            let dir = self.root_path().join(format!("node-{id}"));
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        };
        self.nodes.push(node);
        let body = json!({ "id": id, "addr": addrs.peer.to_string() });
        self.admin_post("/admin/add-node", &body, Some(id))?;
        Ok(id)
    }

    /// Removes node `id` from the membership through the admin API of another node. The
    /// process keeps running; stop it with `node_mut(id).stop()` when the test wants that.
    pub fn remove_node(&mut self, id: u64) -> anyhow::Result<()> {
        self.admin_post("/admin/remove-node", &json!({ "id": id }), Some(id))
    }

    /// POSTs to the first running node other than `avoid` that accepts it, retrying other
    /// nodes and transient failures until 60 s pass.
    fn admin_post(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        avoid: Option<u64>,
    ) -> anyhow::Result<()> {
        let targets: Vec<_> = self
            .nodes
            .iter_mut()
            .filter(|n| Some(n.id()) != avoid)
            .filter_map(|n| (n.is_running() && !n.is_paused()).then(|| n.http_addr()))
            .collect();
        http::post_json_to_any(&targets, path, body)
    }

    /// True if some node exited because it could not bind an address.
    fn port_conflict(&mut self) -> bool {
        self.nodes.iter_mut().any(Node::lost_its_port)
    }

    /// The last lines of every node's log, with headers.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let log = node.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            out.push_str(&format!(
                "===== node {} ({}), last {} lines =====\n{}\n",
                node.id(),
                node.log_path().display(),
                tail.len(),
                tail.join("\n")
            ));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in self.nodes.iter_mut() {
            node.kill_quietly();
        }
        let failing = std::thread::panicking() && !self.quiet;
        let keep = failing || std::env::var_os("QUORUM_TEST_KEEP").is_some_and(|v| v != "0");
        if failing {
            eprintln!("{}", self.log_tails());
        }
        if keep {
            if let Some(root) = self.root.take() {
                eprintln!(
                    "quorum-testkit: node data and logs kept in {}",
                    root.keep().display()
                );
            }
        }
    }
}

/// The leader among `statuses` (each node's `/admin/status` JSON): the highest-term node that
/// says it leads, confirmed by a majority of the voters it lists (`voters_if_unlisted` when it
/// lists none). A deposed leader that has not noticed yet is not reported.
pub fn leader_from_statuses(
    statuses: &[serde_json::Value],
    voters_if_unlisted: usize,
) -> Result<u64, String> {
    let leader = statuses
        .iter()
        .filter(|s| s["role"].as_str() == Some("leader"))
        .max_by_key(|s| s["term"].as_u64().unwrap_or(0))
        .ok_or_else(|| format!("no node says it leads ({} answered)", statuses.len()))?;
    let id = leader["id"].as_u64().ok_or("leader status without id")?;
    let voters = leader["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["voter"].as_bool() == Some(true))
                .count()
        })
        .filter(|n| *n > 0)
        .unwrap_or(voters_if_unlisted);
    let agreeing = statuses
        .iter()
        .filter(|s| s["leader_id"].as_u64() == Some(id))
        .count();
    if agreeing > voters / 2 {
        Ok(id)
    } else {
        Err(format!(
            "node {id} leads but only {agreeing} of {voters} voters agree"
        ))
    }
}
