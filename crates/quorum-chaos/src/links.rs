//! The fault proxies between the nodes of a chaos run: one [`LinkProxy`] per ordered link
//! i → j, so that faults act on each link alone.
//!
//! Membership addresses are shared by every node, so only the dialer can tell its links
//! apart: every node runs with `quorum node --peer-link-base IP:BASE` and dials peer j at
//! `IP:(BASE + 128 i + j)` (`quorum_rpc::dial_peers_through_links`), where the proxy of link
//! i → j listens. The proxy looks j's real peer address up in a table at connect time
//! ([`PeerAddrs`], filled before each node starts), so nodes added by the membership fault need
//! no restart. Clients still connect to the nodes directly.
//!
//! What the links give `quorum chaos`: partitions without root (a dropped link holds its bytes,
//! see `proxy.rs`), latency with jitter (connections reorder against each other), and
//! duplication (a connection's bytes replayed into a fresh one). In the network-namespace
//! cluster the proxies run in the root namespace and connect upstream from an address of the
//! dialing node's own ([`Links::add_node`]'s `upstream_source`), so the iptables partitions
//! still cut proxied traffic.
//!
//! The proxies run on a runtime of their own (two threads), so the fault injector's blocking
//! thread can start them while the workload's runtime runs the clients.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::Context;
use quorum_testkit::PeerAddrs;

use crate::proxy::{Direction, LinkFaults, LinkProxy, ProxyOptions};

/// Node ids below this have link addresses (`quorum_rpc::LINK_IDS`, mirrored here because this
/// crate never links the server).
pub const LINK_IDS: u64 = 128;
/// The first link port: node i's links to j use `BASE_PORT + LINK_IDS * i + j`, all below the
/// Linux ephemeral range (32768 and up), where the operating system picks client ports.
pub const BASE_PORT: u16 = 16_384;

/// One ordered link: its proxy and its faults.
struct Link {
    /// Dropping it stops the proxy.
    proxy: LinkProxy,
    faults: Arc<LinkFaults>,
}

/// The proxies of every ordered link between the nodes of one run.
pub struct Links {
    runtime: Option<tokio::runtime::Runtime>,
    listen_ip: IpAddr,
    targets: PeerAddrs,
    /// Per node: the address its upstream connections come from (`None`: any).
    nodes: BTreeMap<u64, Option<IpAddr>>,
    links: BTreeMap<(u64, u64), Link>,
    seed: u64,
    /// Links whose faults are not the default right now, for [`Links::heal`].
    faulty: BTreeSet<(u64, u64)>,
}

impl Links {
    /// Proxies listening on `listen_ip`, forwarding to the addresses in `targets`; `seed`
    /// seeds each link's jitter. No links until [`Links::add_node`].
    pub fn new(listen_ip: IpAddr, targets: PeerAddrs, seed: u64) -> anyhow::Result<Links> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quorum-chaos-links")
            .enable_all()
            .build()
            .context("cannot start the link proxies' runtime")?;
        Ok(Links {
            runtime: Some(runtime),
            listen_ip,
            targets,
            nodes: BTreeMap::new(),
            links: BTreeMap::new(),
            seed,
            faulty: BTreeSet::new(),
        })
    }

    /// The `quorum node` flag and value that make a node dial through these links.
    pub fn node_flag(&self) -> [String; 2] {
        [
            "--peer-link-base".to_string(),
            SocketAddr::new(self.listen_ip, BASE_PORT).to_string(),
        ]
    }

    /// Where node `from` dials node `to`.
    pub fn link_addr(&self, from: u64, to: u64) -> anyhow::Result<SocketAddr> {
        anyhow::ensure!(
            from < LINK_IDS && to < LINK_IDS,
            "node ids of {LINK_IDS} and more have no link address"
        );
        let port = u64::from(BASE_PORT) + LINK_IDS * from + to;
        let port = u16::try_from(port).context("link port beyond 65535")?;
        Ok(SocketAddr::new(self.listen_ip, port))
    }

    /// Starts the proxies of every link between node `id` and the nodes added before, both
    /// ways. Call before node `id` starts. `upstream_source`: the address proxied connections
    /// dialled by `id` come from.
    pub fn add_node(&mut self, id: u64, upstream_source: Option<IpAddr>) -> anyhow::Result<()> {
        let others: Vec<u64> = self.nodes.keys().copied().filter(|n| *n != id).collect();
        self.nodes.insert(id, upstream_source);
        for other in others {
            self.start_link(id, other)?;
            self.start_link(other, id)?;
        }
        Ok(())
    }

    /// Stops the proxies of every link to and from node `id` (removed from the cluster).
    pub fn remove_node(&mut self, id: u64) {
        self.nodes.remove(&id);
        self.links.retain(|(from, to), _| *from != id && *to != id);
        self.faulty.retain(|(from, to)| *from != id && *to != id);
    }

    fn start_link(&mut self, from: u64, to: u64) -> anyhow::Result<()> {
        if self.links.contains_key(&(from, to)) {
            return Ok(());
        }
        let listen = self.link_addr(from, to)?;
        let runtime = self.runtime.as_ref().context("links already stopped")?;
        let targets = self.targets.clone();
        let target = move || {
            targets
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&to)
                .copied()
        };
        let faults = Arc::new(LinkFaults::new(self.seed ^ (from << 32) ^ to ^ 0x6c696e6b));
        let options = ProxyOptions {
            upstream_source: self.nodes.get(&from).copied().flatten(),
        };
        let proxy = LinkProxy::start_on(runtime.handle(), listen, options, target, faults.clone())
            .with_context(|| {
                format!("cannot start the proxy of link {from} -> {to} on {listen}")
            })?;
        self.links.insert((from, to), Link { proxy, faults });
        Ok(())
    }

    fn faults(&mut self, from: u64, to: u64) -> anyhow::Result<Arc<LinkFaults>> {
        let link = self
            .links
            .get(&(from, to))
            .with_context(|| format!("no link {from} -> {to}"))?;
        self.faulty.insert((from, to));
        Ok(link.faults.clone())
    }

    /// Stops the bytes from `from` to `to` (until [`Links::heal`]): the link from → to holds
    /// what its dialer sends, the link to → from what its target answers. TCP keeps
    /// retransmitting behind an iptables DROP too; here the bytes wait in the proxy.
    pub fn drop_link(&mut self, from: u64, to: u64) -> anyhow::Result<()> {
        self.faults(from, to)?.set_hold(Direction::ToTarget, true);
        self.faults(to, from)?.set_hold(Direction::FromTarget, true);
        Ok(())
    }

    /// Delays both directions of every link between `a` and `b` by `delay` ± `jitter`.
    pub fn delay_between(
        &mut self,
        a: u64,
        b: u64,
        delay: Duration,
        jitter: Duration,
    ) -> anyhow::Result<()> {
        self.faults(a, b)?.set_delay(delay, jitter);
        self.faults(b, a)?.set_delay(delay, jitter);
        Ok(())
    }

    /// Closes every connection open now on the links between `a` and `b` abruptly (both
    /// ways); later connections are not affected.
    pub fn reset_between(&self, a: u64, b: u64) -> anyhow::Result<()> {
        for key in [(a, b), (b, a)] {
            let link = self
                .links
                .get(&key)
                .with_context(|| format!("no link {} -> {}", key.0, key.1))?;
            link.faults.reset_connections();
        }
        Ok(())
    }

    /// Records the connections node `from` opens to node `to` from now on, to replay each
    /// once when it ends; open connections are reset so that fresh ones get recorded.
    pub fn duplicate(&mut self, from: u64, to: u64) -> anyhow::Result<()> {
        let faults = self.faults(from, to)?;
        faults.set_duplicate(true);
        faults.reset_connections();
        Ok(())
    }

    /// Connections replayed so far on the links `pairs` (see [`Links::duplicate`]).
    pub fn replays(&self, pairs: &[(u64, u64)]) -> u64 {
        pairs
            .iter()
            .filter_map(|key| self.links.get(key))
            .map(|link| link.proxy.replays())
            .sum()
    }

    /// Removes every fault. Links that duplicated reset their connections, which replays
    /// what they recorded.
    pub fn heal(&mut self) {
        for key in std::mem::take(&mut self.faulty) {
            if let Some(link) = self.links.get(&key) {
                let faults = &link.faults;
                faults.set_partitioned(false);
                faults.set_delay(Duration::ZERO, Duration::ZERO);
                if faults.duplicating() {
                    faults.set_duplicate(false);
                    faults.reset_connections();
                }
            }
        }
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        // Dropping the proxies aborts their tasks; the runtime must not block here, which may
        // be inside another runtime's task.
        self.links.clear();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
