//! The cluster a chaos run controls, behind one trait so faults do not care how nodes run.
//!
//! [`LocalCluster`] is `quorum-testkit`'s [`quorum_testkit::Cluster`] on loopback: kill,
//! pause, restart, wipe and membership changes. [`crate::netns::NetnsCluster`] runs every
//! node in its own network namespace, which adds partitions and per-node environments
//! (libfaketime). All methods block; the fault injector runs on its own thread.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use quorum_testkit::{Cluster, PeerAddrs};

use crate::links::Links;
use crate::workload::Endpoint;

/// What the fault injector needs from a cluster.
pub trait ClusterControl: Send {
    /// Current voters and learners the run added, in id order (removed nodes excluded).
    fn members(&self) -> Vec<u64>;
    /// The RESP address of node `id`.
    fn resp_addr(&self, id: u64) -> SocketAddr;
    /// The leader confirmed by a majority, if any right now.
    fn leader(&self) -> Option<u64>;
    /// Waits for a confirmed leader.
    fn wait_for_leader(&self, timeout: Duration) -> anyhow::Result<u64>;
    /// kill -9 node `id`.
    fn kill9(&mut self, id: u64) -> anyhow::Result<()>;
    /// Starts node `id` again from its data directory; `env` is added to its environment.
    fn restart(&mut self, id: u64, env: &[(String, String)]) -> anyhow::Result<()>;
    /// Starts node `id` again from its data directory with `args` after its own flags, for
    /// this start only (e.g. `--clock-rate 1.05`; a later [`ClusterControl::restart`] drops
    /// them).
    fn restart_with_args(&mut self, _id: u64, _args: &[String]) -> anyhow::Result<()> {
        bail!("this cluster cannot restart a node with extra flags")
    }
    /// SIGSTOP node `id`.
    fn pause(&mut self, id: u64) -> anyhow::Result<()>;
    /// SIGCONT node `id`.
    fn resume(&mut self, id: u64) -> anyhow::Result<()>;
    /// True while node `id`'s process runs (paused counts as running).
    fn is_running(&mut self, id: u64) -> bool;
    /// Removes voter `id` through the admin API and stops its process.
    fn remove_member(&mut self, id: u64) -> anyhow::Result<()>;
    /// Starts a new node and adds it as a voter; returns its id.
    fn add_member(&mut self) -> anyhow::Result<u64>;
    /// Deletes the data directory of stopped node `id`.
    fn wipe(&mut self, id: u64) -> anyhow::Result<()>;
    /// The data directory of quorum node `id` (to damage it while the node is stopped).
    fn data_dir(&self, _id: u64) -> anyhow::Result<PathBuf> {
        bail!("this cluster has no quorum data directories to damage")
    }
    /// Everything node `id` has logged so far, across restarts.
    fn node_log(&self, _id: u64) -> String {
        String::new()
    }
    /// Drops every packet from node `from` to node `to` (one direction), until healed.
    fn drop_link(&mut self, _from: u64, _to: u64) -> anyhow::Result<()> {
        bail!("this cluster cannot partition the network")
    }
    /// Restarts stopped node `id` with its data directory on a tmpfs with only `spare_bytes`
    /// free beyond what it holds now, so the disk fills up under load.
    fn restart_on_small_disk(&mut self, _id: u64, _spare_bytes: u64) -> anyhow::Result<()> {
        bail!("this cluster cannot mount a small disk (run as root for the namespace cluster)")
    }
    /// Moves stopped node `id`'s data back from the small disk (space returns).
    fn restore_disk(&mut self, _id: u64) -> anyhow::Result<()> {
        Ok(())
    }
    /// The fault proxies between the nodes, when the cluster runs them (latency, duplication,
    /// and partitions without root).
    fn links(&mut self) -> Option<&mut Links> {
        None
    }
    /// Removes every network fault.
    fn heal_network(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    /// True when [`ClusterControl::restart`] honours `env` (per-node environments).
    fn supports_env(&self) -> bool {
        false
    }
    /// The last lines of every node's log, for a harness error.
    fn log_tails(&self) -> String;

    /// Every member as a client endpoint.
    fn endpoints(&self) -> Vec<Endpoint> {
        self.members()
            .into_iter()
            .map(|id| Endpoint {
                node: u32::try_from(id).unwrap_or(u32::MAX),
                addr: self.resp_addr(id),
            })
            .collect()
    }
}

/// A testkit cluster on loopback, with a fault proxy on every link between its nodes when
/// asked for.
pub struct LocalCluster {
    cluster: Cluster,
    members: Vec<u64>,
    links: Option<Links>,
}

/// Distinguishes the link addresses of several local clusters of one process.
static LINK_NETS: AtomicU32 = AtomicU32::new(0);
/// Tries of another loopback address when a link port is taken.
const LINK_ADDRESS_TRIES: u32 = 8;

impl LocalCluster {
    /// Starts `nodes` nodes of `binary` with test Raft timings and `extra_args` on each; with
    /// `link_seed`, every node dials its peers through a fault proxy per link ([`Links`],
    /// jitter seeded by it).
    pub fn start(
        binary: &Path,
        nodes: usize,
        extra_args: &[String],
        link_seed: Option<u64>,
    ) -> anyhow::Result<Self> {
        let targets = PeerAddrs::default();
        let links = link_seed
            .map(|seed| loopback_links(nodes, targets.clone(), seed))
            .transpose()?;
        let mut builder = Cluster::builder(binary)
            .nodes(nodes)
            .fast_raft(true)
            .publish_peer_addrs(targets);
        for arg in links.iter().flat_map(Links::node_flag) {
            builder = builder.arg(arg);
        }
        for arg in extra_args {
            builder = builder.arg(arg.clone());
        }
        let cluster = builder.start().context("cannot start the local cluster")?;
        let members = cluster.ids();
        Ok(LocalCluster {
            cluster,
            members,
            links,
        })
    }
}

/// Links for nodes 1..=`nodes` on a loopback address of their own (127.A.B.1: the whole
/// 127/8 is loopback on Linux), so their ports clash with nothing bound to 127.0.0.1.
fn loopback_links(nodes: usize, targets: PeerAddrs, seed: u64) -> anyhow::Result<Links> {
    let pid = std::process::id();
    let mut last_error = None;
    for _ in 0..LINK_ADDRESS_TRIES {
        let net = LINK_NETS.fetch_add(1, Ordering::Relaxed);
        let ip = Ipv4Addr::new(
            127,
            1 + (pid % 250) as u8,
            ((pid / 250 + net * 37) % 256) as u8,
            1,
        );
        let mut links = Links::new(ip.into(), targets.clone(), seed)?;
        match (1..=nodes as u64).try_for_each(|id| links.add_node(id, None)) {
            Ok(()) => return Ok(links),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error
        .unwrap_or_else(|| anyhow::anyhow!("no attempt made"))
        .context("cannot bind the link proxies"))
}

impl ClusterControl for LocalCluster {
    fn members(&self) -> Vec<u64> {
        self.members.clone()
    }

    fn resp_addr(&self, id: u64) -> SocketAddr {
        self.cluster.node(id).resp_addr()
    }

    fn leader(&self) -> Option<u64> {
        self.cluster.leader_id()
    }

    fn wait_for_leader(&self, timeout: Duration) -> anyhow::Result<u64> {
        self.cluster.wait_for_leader(timeout)
    }

    fn kill9(&mut self, id: u64) -> anyhow::Result<()> {
        self.cluster.node_mut(id).kill9()
    }

    fn restart(&mut self, id: u64, env: &[(String, String)]) -> anyhow::Result<()> {
        if !env.is_empty() {
            bail!("the loopback cluster cannot give one node its own environment");
        }
        self.cluster.node_mut(id).restart()
    }

    fn restart_with_args(&mut self, id: u64, args: &[String]) -> anyhow::Result<()> {
        self.cluster.node_mut(id).restart_with_args(args)
    }

    fn pause(&mut self, id: u64) -> anyhow::Result<()> {
        self.cluster.node_mut(id).sigstop()
    }

    fn resume(&mut self, id: u64) -> anyhow::Result<()> {
        self.cluster.node_mut(id).sigcont()
    }

    fn is_running(&mut self, id: u64) -> bool {
        self.cluster.node_mut(id).is_running()
    }

    fn remove_member(&mut self, id: u64) -> anyhow::Result<()> {
        self.cluster.remove_node(id)?;
        self.members.retain(|m| *m != id);
        let node = self.cluster.node_mut(id);
        if node.is_running() {
            node.kill9()?;
        }
        if let Some(links) = &mut self.links {
            links.remove_node(id);
        }
        Ok(())
    }

    fn add_member(&mut self) -> anyhow::Result<u64> {
        if let Some(links) = &mut self.links {
            // The id testkit's add_node gives the new node.
            let next = self
                .cluster
                .nodes()
                .iter()
                .map(|n| n.id())
                .max()
                .unwrap_or(0)
                + 1;
            links.add_node(next, None)?;
        }
        let id = self.cluster.add_node()?;
        self.members.push(id);
        Ok(id)
    }

    fn drop_link(&mut self, from: u64, to: u64) -> anyhow::Result<()> {
        match &mut self.links {
            Some(links) => links.drop_link(from, to),
            None => bail!("this cluster runs without link proxies: it cannot partition"),
        }
    }

    fn heal_network(&mut self) -> anyhow::Result<()> {
        if let Some(links) = &mut self.links {
            links.heal();
        }
        Ok(())
    }

    fn links(&mut self) -> Option<&mut Links> {
        self.links.as_mut()
    }

    fn wipe(&mut self, id: u64) -> anyhow::Result<()> {
        self.cluster.node_mut(id).wipe_data()
    }

    fn data_dir(&self, id: u64) -> anyhow::Result<PathBuf> {
        Ok(self.cluster.node(id).data_dir().to_path_buf())
    }

    fn node_log(&self, id: u64) -> String {
        self.cluster.node(id).log()
    }

    fn log_tails(&self) -> String {
        self.cluster.log_tails()
    }
}
