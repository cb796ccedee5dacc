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
//! testkit's HTTP client and bounded polling.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use quorum_testkit::{http, poll_until};
use serde_json::json;

use crate::cluster::ClusterControl;

/// Ports inside each namespace: every node has its own address, so they can be fixed.
const RESP_PORT: u16 = 7001;
const PEER_PORT: u16 = 8001;
const HTTP_PORT: u16 = 9001;
/// Timeout of one status probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a node gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Namespace name prefix; stale ones (their run's process gone) are removed at start.
const NS_PREFIX: &str = "qchaos-";

/// Distinguishes several clusters started by one process.
static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

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

/// Runs a command, failing with its stderr.
fn sh(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("cannot run {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

struct NsNode {
    id: u64,
    ns: String,
    /// The root-namespace end of the node's veth pair.
    veth: String,
    ip: Ipv4Addr,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// `quorum node` flags, fixed so a restart is the same node.
    args: Vec<String>,
    child: Option<Child>,
    paused: bool,
    /// Where the real data directory waits while the node runs on a small tmpfs.
    small_disk: Option<PathBuf>,
}

impl NsNode {
    fn http(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, HTTP_PORT))
    }

    fn spawn(&mut self, binary: &Path, env: &[(String, String)]) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("cannot open {}", self.log_path.display()))?;
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns])
            .arg(binary)
            .args(&self.args)
            .env_remove("QUORUM_CONFIG")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        // `ip netns exec` enters the namespace and execs the binary: the child is the node.
        self.child = Some(
            command
                .spawn()
                .context("cannot start a node in its namespace")?,
        );
        self.paused = false;
        Ok(())
    }

    fn running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self
            .child
            .as_ref()
            .with_context(|| format!("node {} is not running", self.id))?
            .id();
        kill(Pid::from_raw(i32::try_from(pid)?), signal)
            .with_context(|| format!("kill -{signal} node {}", self.id))
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
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
    tag: String,
    bridge: String,
    subnet: [u8; 2],
    root: Option<tempfile::TempDir>,
    node_args: Vec<String>,
    nodes: BTreeMap<u64, NsNode>,
    members: Vec<u64>,
    /// Namespaces with DROP rules, to flush on heal.
    cut: Vec<String>,
}

impl NetnsCluster {
    /// Creates the bridge and `nodes` namespaces, starts the nodes with test Raft timings and
    /// `extra_args`, and waits for a leader.
    pub fn start(binary: &Path, nodes: usize, extra_args: &[String]) -> anyhow::Result<Self> {
        remove_stale_namespaces();
        let pid = std::process::id();
        let run = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{pid}-{run}");
        // A /24 per run, chosen from the pid so parallel runs (tests) use different ones.
        let subnet = [
            100 + (pid % 100) as u8,
            ((pid / 100 + run * 37) % 250) as u8,
        ];
        let bridge = format!("qc{}br", (pid % 100_000) * 10 + run % 10);
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
        node_args.extend(extra_args.iter().cloned());
        let mut cluster = NetnsCluster {
            binary: binary.to_path_buf(),
            tag,
            bridge,
            subnet,
            root: Some(root),
            node_args,
            nodes: BTreeMap::new(),
            members: Vec::new(),
            cut: Vec::new(),
        };
        let bridge = cluster.bridge.clone();
        let gateway = format!("{}/24", cluster.ip(254));
        sh(&["ip", "link", "add", &bridge, "type", "bridge"])?;
        sh(&["ip", "addr", "add", &gateway, "dev", &bridge])?;
        sh(&["ip", "link", "set", &bridge, "up"])?;
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
        Ipv4Addr::new(10, self.subnet[0], self.subnet[1], host)
    }

    /// Creates node `id`'s namespace and veth, and starts it with `flags`.
    fn create_node(&mut self, id: u64, flags: Vec<String>) -> anyhow::Result<()> {
        let host = u8::try_from(id)
            .ok()
            .filter(|h| *h < 254)
            .context("too many nodes")?;
        let ip = self.ip(host);
        let ns = format!("{NS_PREFIX}{}-{id}", self.tag);
        let veth = format!("{}v{id}", self.bridge.trim_end_matches("br"));
        sh(&["ip", "netns", "add", &ns])?;
        sh(&[
            "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ])?;
        sh(&["ip", "link", "set", &veth, "master", &self.bridge])?;
        sh(&["ip", "link", "set", &veth, "up"])?;
        let cidr = format!("{ip}/24");
        sh(&[
            "ip", "netns", "exec", &ns, "ip", "addr", "add", &cidr, "dev", "eth0",
        ])?;
        sh(&[
            "ip", "netns", "exec", &ns, "ip", "link", "set", "eth0", "up",
        ])?;
        sh(&["ip", "netns", "exec", &ns, "ip", "link", "set", "lo", "up"])?;
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
            veth,
            ip,
            data_dir,
            log_path: dir.join("node.log"),
            args,
            child: None,
            paused: false,
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
            .filter(|n| n.child.is_some() && !n.paused)
            .map(NsNode::http)
            .collect();
        http::post_json_to_any(&targets, path, body)
    }

    fn leader_probe(&self) -> Result<u64, String> {
        // The testkit's rule, over the nodes in namespaces.
        let statuses: Vec<serde_json::Value> = self
            .nodes
            .values()
            .filter(|n| n.child.is_some() && !n.paused)
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

    fn pause(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        node.signal(Signal::SIGSTOP)?;
        node.paused = true;
        Ok(())
    }

    fn resume(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        node.signal(Signal::SIGCONT)?;
        node.paused = false;
        Ok(())
    }

    fn is_running(&mut self, id: u64) -> bool {
        self.nodes.get_mut(&id).is_some_and(NsNode::running)
    }

    fn remove_member(&mut self, id: u64) -> anyhow::Result<()> {
        self.admin_post("/admin/remove-node", &json!({ "id": id }), id)?;
        self.members.retain(|m| *m != id);
        self.node(id)?.kill9();
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
        let source = self.node(from)?.ip.to_string();
        let ns = self.node(to)?.ns.clone();
        sh(&[
            "ip", "netns", "exec", &ns, "iptables", "-A", "INPUT", "-s", &source, "-j", "DROP",
        ])?;
        self.cut.push(ns);
        Ok(())
    }

    fn heal_network(&mut self) -> anyhow::Result<()> {
        for ns in std::mem::take(&mut self.cut) {
            sh(&["ip", "netns", "exec", &ns, "iptables", "-F", "INPUT"])?;
        }
        Ok(())
    }

    fn supports_env(&self) -> bool {
        true
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
            // Deleting the namespace alone leaves the pair alive while sockets in TIME_WAIT
            // keep the namespace around; deleting our end removes both ends at once.
            let _ = sh(&["ip", "link", "del", &node.veth]);
            let _ = sh(&["ip", "netns", "del", &node.ns]);
        }
        let _ = sh(&["ip", "link", "del", &self.bridge]);
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

/// Removes namespaces (and with them their veths) of runs whose process no longer exists,
/// and those runs' bridges.
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let mut parts = rest.split('-');
        let (Some(Ok(pid)), Some(Ok(run))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u32>),
        ) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = sh(&["ip", "netns", "del", name]);
            let bridge = format!("qc{}br", (pid % 100_000) * 10 + run % 10);
            let _ = sh(&["ip", "link", "del", &bridge]);
        }
    }
}
