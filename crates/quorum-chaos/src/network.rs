//! The network of a namespace cluster: one bridge per run in the root namespace, one network
//! namespace per host wired to it by a veth pair, and iptables DROP rules inside namespaces
//! for partitions. Shared by the quorum cluster ([`crate::netns::NetnsCluster`]) and the Redis
//! Sentinel cluster (`sentinel/cluster.rs`); see `netns.rs` for the layout and naming.
//!
//! Everything is removed on drop; what a run killed outright left behind is removed by the
//! next run once its process is gone.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Context};

/// Namespace name prefix; stale ones (their run's process gone) are removed at start.
const NS_PREFIX: &str = "qchaos-";

/// Distinguishes several networks created by one process.
static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs a command, failing with its stderr.
pub(crate) fn sh(args: &[&str]) -> anyhow::Result<()> {
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

/// A command that runs `program` inside namespace `ns` (`ip netns exec` enters the namespace
/// and execs the program, so the child is the program itself).
pub(crate) fn in_namespace(ns: &str, program: &Path) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", ns]).arg(program);
    command
}

/// The bridge of one run, the namespaces wired to it and the DROP rules between them; all
/// removed on drop. Host `id` lives in its own namespace at address [`Network::ip`]`(id)`.
pub(crate) struct Network {
    tag: String,
    bridge: String,
    subnet: [u8; 2],
    /// Per host: its namespace and the root-namespace end of its veth pair.
    hosts: BTreeMap<u64, (String, String)>,
    /// Namespaces with DROP rules, to flush on heal.
    cut: Vec<String>,
}

impl Network {
    /// Creates the run's bridge, after removing what runs whose process is gone left behind.
    pub(crate) fn create() -> anyhow::Result<Network> {
        remove_stale_namespaces();
        let pid = std::process::id();
        let run = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
        let net = Network {
            tag: format!("{pid}-{run}"),
            bridge: bridge_name(pid, run),
            // A /24 per run, chosen from the pid so parallel runs (tests) use different ones.
            subnet: [
                100 + (pid % 100) as u8,
                ((pid / 100 + run * 37) % 250) as u8,
            ],
            hosts: BTreeMap::new(),
            cut: Vec::new(),
        };
        let gateway = format!("{}/24", net.ip(254));
        sh(&["ip", "link", "add", &net.bridge, "type", "bridge"])?;
        // A bridge takes the lowest MAC address of its ports unless it was given one, so a
        // node added later (the membership and disk faults) could change it; every namespace's
        // ARP entry for the root namespace's addresses (the bridge, the link proxies' sources)
        // then pointed nowhere until it expired, ~30 s in which proxied links and clients
        // stalled. Locally administered, from the run's subnet.
        let mac = format!("02:71:63:{:02x}:{:02x}:fe", net.subnet[0], net.subnet[1]);
        sh(&["ip", "link", "set", "dev", &net.bridge, "address", &mac])?;
        sh(&["ip", "addr", "add", &gateway, "dev", &net.bridge])?;
        sh(&["ip", "link", "set", &net.bridge, "up"])?;
        Ok(net)
    }

    /// Address `host` of the run's /24 (254 is the bridge's, in the root namespace).
    pub(crate) fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet[0], self.subnet[1], host)
    }

    /// Creates host `id`'s namespace with a veth on the bridge; returns its name and address.
    pub(crate) fn add_namespace(&mut self, id: u64) -> anyhow::Result<(String, Ipv4Addr)> {
        let host = u8::try_from(id)
            .ok()
            .filter(|h| *h < 254)
            .context("too many nodes")?;
        let ip = self.ip(host);
        let ns = format!("{NS_PREFIX}{}-{id}", self.tag);
        let veth = format!("{}v{id}", self.bridge.trim_end_matches("br"));
        sh(&["ip", "netns", "add", &ns])?;
        self.hosts.insert(id, (ns.clone(), veth.clone()));
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
        Ok((ns, ip))
    }

    /// Gives the root namespace address `ip(host)` as well, so that a client socket bound to
    /// it can be told apart from other clients by the namespaces' DROP rules.
    pub(crate) fn add_root_address(&self, host: u8) -> anyhow::Result<Ipv4Addr> {
        let ip = self.ip(host);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            &self.bridge,
        ])?;
        Ok(ip)
    }

    /// Drops every packet from `source` that arrives in host `to`'s namespace, until healed.
    pub(crate) fn drop_from(&mut self, source: Ipv4Addr, to: u64) -> anyhow::Result<()> {
        let (ns, _) = self
            .hosts
            .get(&to)
            .with_context(|| format!("no namespace for host {to}"))?;
        let source = source.to_string();
        sh(&[
            "ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-s", &source, "-j", "DROP",
        ])?;
        self.cut.push(ns.clone());
        Ok(())
    }

    /// Removes every DROP rule.
    pub(crate) fn heal(&mut self) -> anyhow::Result<()> {
        for ns in std::mem::take(&mut self.cut) {
            sh(&["ip", "netns", "exec", &ns, "iptables", "-F", "INPUT"])?;
        }
        Ok(())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for (ns, veth) in self.hosts.values() {
            // Deleting the namespace alone leaves the pair alive while sockets in TIME_WAIT
            // keep the namespace around; deleting our end removes both ends at once.
            let _ = sh(&["ip", "link", "del", veth]);
            let _ = sh(&["ip", "netns", "del", ns]);
        }
        let _ = sh(&["ip", "link", "del", &self.bridge]);
    }
}

/// The bridge of run `run` of process `pid`.
fn bridge_name(pid: u32, run: u32) -> String {
    format!("qc{}br", (pid % 100_000) * 10 + run % 10)
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
            let _ = sh(&["ip", "link", "del", &bridge_name(pid, run)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac_of(device: &str) -> String {
        std::fs::read_to_string(format!("/sys/class/net/{device}/address"))
            .unwrap_or_else(|e| panic!("{device}: {e}"))
            .trim()
            .to_string()
    }

    /// Without a fixed address the bridge took the MAC of its first veth, then the lowest of
    /// them, so adding a node could change it (and stall every namespace's traffic to the
    /// root namespace until their ARP entries expired). Checked: without the fix this fails
    /// at the first namespace.
    #[test]
    fn the_bridge_keeps_its_address_as_namespaces_are_added() {
        if let Some(reason) = crate::netns::unavailable() {
            eprintln!("skipped: {reason}");
            return;
        }
        let mut net = Network::create().unwrap();
        let before = mac_of(&net.bridge);
        for id in 1..=10 {
            net.add_namespace(id).unwrap();
            assert_eq!(mac_of(&net.bridge), before, "after adding namespace {id}");
        }
    }
}
