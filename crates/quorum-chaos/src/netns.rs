//! A cluster whose nodes each run in their own network namespace, so the network between them
//! can be cut with iptables, and each node can get its own environment (libfaketime).
//!
//! Layout of one run (names carry the run's process id and a counter, so parallel runs never
//! collide): a bridge `qcNNNNNbr` in the root namespace with address `10.A.B.254/24`; per node a
//! namespace `qchaos-PID-N-ID` holding one end of a veth pair (address `10.A.B.ID`), the other
//! end on the bridge. Clients stay in the root namespace and reach every node over the bridge,
//! so a partition between nodes leaves clients on both sides, like real clients of a split
//! cluster. A partition is a set of `iptables -A INPUT -s FROM -j DROP` rules inside the
//! receiving node's namespace.
//!
//! Everything is removed on drop (also when unwinding from a panic); namespaces left by a run
//! that was killed outright are removed by the next run once their process is gone. The
//! testkit's `Cluster` binds loopback only, hence this small process manager; it reuses the
//! testkit's HTTP client and bounded polling. The plumbing (`network.rs`: bridge, namespaces,
//! DROP rules; `process.rs`: one killable, pausable child) also serves the Redis Sentinel
//! cluster of `--target redis-sentinel` (`sentinel/cluster.rs`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use nix::sys::signal::Signal;
use quorum_testkit::{http, poll_until, PeerAddrs};
use serde_json::json;

use crate::cluster::ClusterControl;
use crate::links::Links;
use crate::network::{in_namespace, sh, Network};
use crate::process::Process;

/// Ports inside each namespace: every node has its own address, so they can be fixed.
const RESP_PORT: u16 = 7001;
const PEER_PORT: u16 = 8001;
const HTTP_PORT: u16 = 9001;
/// Timeout of one status probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a node gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The bridge's host number in the run's /24 (the root namespace; the link proxies listen
/// there).
const BRIDGE_HOST: u8 = 254;
/// Node `id`'s proxied connections come from host `LINK_SOURCE_FIRST + id` of the run's /24,
/// in the root namespace, so that iptables rules can tell them apart.
const LINK_SOURCE_FIRST: u64 = 128;

/// The host number of node `id`'s link source address (node ids stay below it).
fn link_source_host(id: u64) -> anyhow::Result<u8> {
    u8::try_from(LINK_SOURCE_FIRST + id)
        .ok()
        .filter(|h| *h < BRIDGE_HOST && id < LINK_SOURCE_FIRST)
        .with_context(|| format!("node {id}: too many nodes for link proxies"))
}

/// Why the network-namespace cluster cannot be used here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("network namespaces need root".into());
    }
    for tool in [["ip", "-V"], ["iptables", "--version"]] {
        let ok = Command::new(tool[0])
            .arg(tool[1])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!(
                "`{}` is not installed (Debian: iproute2, iptables)",
                tool[0]
            ));
        }
    }
    None
}

struct NsNode {
    id: u64,
    ns: String,
    ip: Ipv4Addr,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// `quorum node` flags, fixed so a restart is the same node.
    args: Vec<String>,
    process: Process,
    /// Where the real data directory waits while the node runs on a small tmpfs.
    small_disk: Option<PathBuf>,
}

impl NsNode {
    fn http(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, HTTP_PORT))
    }

    fn spawn(&mut self, binary: &Path, env: &[(String, String)]) -> anyhow::Result<()> {
        self.spawn_with(binary, env, &[])
    }

    /// [`NsNode::spawn`] with `extra` flags after the node's own, for this start only.
    fn spawn_with(
        &mut self,
        binary: &Path,
        env: &[(String, String)],
        extra: &[String],
    ) -> anyhow::Result<()> {
        let mut command = in_namespace(&self.ns, binary);
        command.args(&self.args).args(extra);
        quorum_testkit::node_environment(&mut command);
        for (k, v) in env {
            command.env(k, v);
        }
        self.process
            .start(command, &self.log_path)
            .with_context(|| format!("cannot start node {} in its namespace", self.id))
    }

    fn running(&mut self) -> bool {
        self.process.running()
    }

    fn signal(&mut self, signal: Signal) -> anyhow::Result<()> {
        self.process
            .signal(signal)
            .with_context(|| format!("node {}", self.id))
    }

    fn kill9(&mut self) {
        self.process.kill9();
    }

    fn status(&self) -> Option<serde_json::Value> {
        let response = http::get(self.http(), "/admin/status", PROBE_TIMEOUT).ok()?;
        response
            .is_success()
            .then(|| response.json().ok())
            .flatten()
    }
}

/// Nodes in network namespaces on one bridge; see the module docs.
pub struct NetnsCluster {
    binary: PathBuf,
    root: Option<tempfile::TempDir>,
    node_args: Vec<String>,
    nodes: BTreeMap<u64, NsNode>,
    members: Vec<u64>,
    /// The fault proxies between the nodes, when asked for (`links.rs`).
    links: Option<Links>,
    targets: PeerAddrs,
    /// Declared after `nodes`: the namespaces go once the nodes in them are stopped.
    net: Network,
}

impl NetnsCluster {
    /// Creates the bridge and `nodes` namespaces, starts the nodes with test Raft timings and
    /// `extra_args`, and waits for a leader. With `link_seed`, every node dials its peers
    /// through a fault proxy per link in the root namespace ([`Links`], jitter seeded by it).
    pub fn start(
        binary: &Path,
        nodes: usize,
        extra_args: &[String],
        link_seed: Option<u64>,
    ) -> anyhow::Result<Self> {
        let net = Network::create()?;
        let targets = PeerAddrs::default();
        let links = link_seed
            .map(|seed| Links::new(net.ip(BRIDGE_HOST).into(), targets.clone(), seed))
            .transpose()?;
        let root = tempfile::Builder::new()
            .prefix("quorum-chaos-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let mut node_args = vec![
            "--heartbeat-interval-ms".to_string(),
            "50".into(),
            "--election-timeout-min-ms".into(),
            "250".into(),
            "--election-timeout-max-ms".into(),
            "500".into(),
        ];
        node_args.extend(links.iter().flat_map(Links::node_flag));
        node_args.extend(extra_args.iter().cloned());
        let mut cluster = NetnsCluster {
            binary: binary.to_path_buf(),
            root: Some(root),
            node_args,
            nodes: BTreeMap::new(),
            members: Vec::new(),
            links,
            targets,
            net,
        };
        let ids: Vec<u64> = (1..=nodes as u64).collect();
        let initial: Vec<String> = ids
            .iter()
            .map(|id| format!("{id}={}:{PEER_PORT}", cluster.ip(*id as u8)))
            .collect();
        for id in &ids {
            let flags = vec!["--initial-cluster".to_string(), initial.join(",")];
            cluster.create_node(*id, flags)?;
        }
        cluster.members = ids;
        cluster.wait_for_leader(START_TIMEOUT).map_err(|e| {
            e.context(format!(
                "cluster did not form; logs:\n{}",
                cluster.log_tails()
            ))
        })?;
        Ok(cluster)
    }

    fn ip(&self, host: u8) -> Ipv4Addr {
        self.net.ip(host)
    }

    /// Creates node `id`'s namespace and veth, and starts it with `flags`.
    fn create_node(&mut self, id: u64, flags: Vec<String>) -> anyhow::Result<()> {
        let (ns, ip) = self.net.add_namespace(id)?;
        if let Some(links) = &mut self.links {
            let alias = self.net.add_root_address(link_source_host(id)?)?;
            self.targets
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, SocketAddr::V4(SocketAddrV4::new(ip, PEER_PORT)));
            links.add_node(id, Some(alias.into()))?;
        }
        let dir = self
            .root
            .as_ref()
            .context("cluster already dropped")?
            .path()
            .join(format!("node-{id}"));
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let mut args = vec![
            "node".to_string(),
            "--id".into(),
            id.to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--listen".into(),
            format!("{ip}:{RESP_PORT}"),
            "--peer-listen".into(),
            format!("{ip}:{PEER_PORT}"),
            "--http-listen".into(),
            format!("{ip}:{HTTP_PORT}"),
        ];
        args.extend(flags);
        args.extend(self.node_args.iter().cloned());
        let mut node = NsNode {
            id,
            ns,
            ip,
            data_dir,
            log_path: dir.join("node.log"),
            args,
            process: Process::default(),
            small_disk: None,
        };
        node.spawn(&self.binary, &[])?;
        self.nodes.insert(id, node);
        Ok(())
    }

    fn node(&mut self, id: u64) -> anyhow::Result<&mut NsNode> {
        self.nodes
            .get_mut(&id)
            .with_context(|| format!("no node {id}"))
    }

    /// POSTs an admin request to any running member other than `avoid`, retrying for 60 s.
    fn admin_post(&self, path: &str, body: &serde_json::Value, avoid: u64) -> anyhow::Result<()> {
        let targets: Vec<SocketAddr> = self
            .members
            .iter()
            .filter(|id| **id != avoid)
            .filter_map(|id| self.nodes.get(id))
            .filter(|n| n.process.is_up())
            .map(NsNode::http)
            .collect();
        http::post_json_to_any(&targets, path, body)
    }

    fn leader_probe(&self) -> Result<u64, String> {
        // The testkit's rule, over the nodes in namespaces.
        let statuses: Vec<serde_json::Value> = self
            .nodes
            .values()
            .filter(|n| n.process.is_up())
            .filter_map(NsNode::status)
            .collect();
        quorum_testkit::leader_from_statuses(&statuses, self.members.len())
    }
}

impl ClusterControl for NetnsCluster {
    fn members(&self) -> Vec<u64> {
        self.members.clone()
    }

    fn resp_addr(&self, id: u64) -> SocketAddr {
        let ip = self.nodes.get(&id).map_or(Ipv4Addr::UNSPECIFIED, |n| n.ip);
        SocketAddr::V4(SocketAddrV4::new(ip, RESP_PORT))
    }

    fn leader(&self) -> Option<u64> {
        self.leader_probe().ok()
    }

    fn wait_for_leader(&self, timeout: Duration) -> anyhow::Result<u64> {
        poll_until("a leader", timeout, Duration::from_millis(50), || {
            self.leader_probe().map(Some)
        })
    }

    fn kill9(&mut self, id: u64) -> anyhow::Result<()> {
        self.node(id)?.kill9();
        Ok(())
    }

    fn restart(&mut self, id: u64, env: &[(String, String)]) -> anyhow::Result<()> {
        let binary = self.binary.clone();
        let node = self.node(id)?;
        if node.running() {
            bail!("node {id} is still running");
        }
        node.spawn(&binary, env)
    }

    fn restart_with_args(&mut self, id: u64, args: &[String]) -> anyhow::Result<()> {
        let binary = self.binary.clone();
        let node = self.node(id)?;
        if node.running() {
            bail!("node {id} is still running");
        }
        node.spawn_with(&binary, &[], args)
    }

    fn pause(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        node.signal(Signal::SIGSTOP)
    }

    fn resume(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        node.signal(Signal::SIGCONT)
    }

    fn is_running(&mut self, id: u64) -> bool {
        self.nodes.get_mut(&id).is_some_and(NsNode::running)
    }

    fn remove_member(&mut self, id: u64) -> anyhow::Result<()> {
        self.admin_post("/admin/remove-node", &json!({ "id": id }), id)?;
        self.members.retain(|m| *m != id);
        self.node(id)?.kill9();
        if let Some(links) = &mut self.links {
            links.remove_node(id);
        }
        Ok(())
    }

    fn add_member(&mut self) -> anyhow::Result<u64> {
        let id = self.nodes.keys().max().copied().unwrap_or(0) + 1;
        self.create_node(id, vec!["--join".to_string()])?;
        let http_addr = self.node(id)?.http();
        poll_until(
            &format!("node {id} to serve /healthz"),
            START_TIMEOUT,
            Duration::from_millis(50),
            || match http::get(http_addr, "/healthz", PROBE_TIMEOUT) {
                Ok(r) if r.is_success() => Ok(Some(())),
                Ok(r) => Err(format!("HTTP {}", r.status)),
                Err(err) => Err(format!("{err:#}")),
            },
        )?;
        let peer = format!("{}:{PEER_PORT}", self.ip(id as u8));
        self.admin_post("/admin/add-node", &json!({ "id": id, "addr": peer }), id)?;
        self.members.push(id);
        Ok(id)
    }

    fn wipe(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        if node.running() {
            bail!("node {id} is running; stop it before wiping its data");
        }
        std::fs::remove_dir_all(&node.data_dir)
            .with_context(|| format!("cannot remove {}", node.data_dir.display()))?;
        std::fs::create_dir_all(&node.data_dir)?;
        Ok(())
    }

    fn restart_on_small_disk(&mut self, id: u64, spare_bytes: u64) -> anyhow::Result<()> {
        let binary = self.binary.clone();
        let node = self.node(id)?;
        if node.running() || node.small_disk.is_some() {
            bail!("node {id} is running or already on a small disk");
        }
        let data = node.data_dir.display().to_string();
        let backup = node.data_dir.with_extension("full-disk-backup");
        std::fs::rename(&node.data_dir, &backup)
            .with_context(|| format!("cannot move {data} aside"))?;
        std::fs::create_dir_all(&node.data_dir)?;
        // Copy onto a roomy tmpfs first, then shrink it to what the copy occupies plus the
        // spare: preallocated log files take fewer blocks after a sparse copy than their size.
        sh(&["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", &data])?;
        node.small_disk = Some(backup.clone());
        // Sparse: the zero tail of a preallocated log file must not be paid for up front.
        sh(&[
            "cp",
            "-a",
            "--sparse=always",
            &format!("{}/.", backup.display()),
            &data,
        ])?;
        let df = Command::new("df")
            .args(["-B1", "--output=used", &data])
            .output()?;
        let used: u64 = String::from_utf8_lossy(&df.stdout)
            .lines()
            .nth(1)
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("cannot measure {data}"))?;
        let size = format!("remount,size={}", used + spare_bytes);
        sh(&["mount", "-o", &size, &data])?;
        node.spawn(&binary, &[])
    }

    fn restore_disk(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        let Some(backup) = node.small_disk.take() else {
            return Ok(());
        };
        node.kill9();
        // What the node wrote on the small disk is kept: space returns, nothing is rolled back.
        let data = node.data_dir.display().to_string();
        std::fs::remove_dir_all(&backup)?;
        std::fs::create_dir_all(&backup)?;
        sh(&[
            "cp",
            "-a",
            &format!("{data}/."),
            &backup.display().to_string(),
        ])?;
        sh(&["umount", &data])?;
        std::fs::remove_dir(&node.data_dir)?;
        std::fs::rename(&backup, &node.data_dir)?;
        Ok(())
    }

    fn drop_link(&mut self, from: u64, to: u64) -> anyhow::Result<()> {
        let source = self.node(from)?.ip;
        self.net.drop_from(source, to)?;
        if self.links.is_some() {
            // What the proxies forward for `from` comes from its link source address.
            let alias = self.ip(link_source_host(from)?);
            self.net.drop_from(alias, to)?;
        }
        Ok(())
    }

    fn links(&mut self) -> Option<&mut Links> {
        self.links.as_mut()
    }

    fn heal_network(&mut self) -> anyhow::Result<()> {
        if let Some(links) = &mut self.links {
            links.heal();
        }
        self.net.heal()
    }

    fn supports_env(&self) -> bool {
        true
    }

    fn data_dir(&self, id: u64) -> anyhow::Result<PathBuf> {
        let node = self
            .nodes
            .get(&id)
            .with_context(|| format!("no node {id}"))?;
        Ok(node.data_dir.clone())
    }

    fn node_log(&self, id: u64) -> String {
        self.nodes
            .get(&id)
            .and_then(|node| std::fs::read_to_string(&node.log_path).ok())
            .unwrap_or_default()
    }

    fn log_tails(&self) -> String {
        let mut out = String::new();
        for node in self.nodes.values() {
            let log = std::fs::read_to_string(&node.log_path).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(60)..];
            out.push_str(&format!(
                "===== node {} ({}) =====\n{}\n",
                node.id,
                node.log_path.display(),
                tail.join("\n")
            ));
        }
        out
    }
}

impl Drop for NetnsCluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            node.kill9();
            if node.small_disk.is_some() {
                let _ = sh(&["umount", "-l", &node.data_dir.display().to_string()]);
            }
        }
        let keep = std::thread::panicking()
            || std::env::var_os("QUORUM_TEST_KEEP").is_some_and(|v| v != "0");
        if keep {
            if let Some(root) = self.root.take() {
                eprintln!(
                    "chaos: node data and logs kept in {}",
                    root.keep().display()
                );
            }
        }
    }
}
