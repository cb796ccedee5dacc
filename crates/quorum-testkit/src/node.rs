//! [`Node`]: one `quorum node` process started by the testkit, and the faults a test can
//! inflict on it (SIGKILL, SIGSTOP/SIGCONT, SIGTERM, wiping its data, restarting it).

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::http;
use crate::wait::poll_until;

/// How long a node gets after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP timeout for probes of a node's status.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Addresses of one node.
#[derive(Debug, Clone, Copy)]
pub struct NodeAddrs {
    /// RESP (`--listen`).
    pub resp: SocketAddr,
    /// gRPC (`--peer-listen`).
    pub peer: SocketAddr,
    /// HTTP (`--http-listen`).
    pub http: SocketAddr,
}

/// One node process and everything needed to start it again.
pub struct Node {
    id: u64,
    addrs: NodeAddrs,
    binary: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// Every flag after `node`, fixed at creation so a restart is the same node.
    args: Vec<String>,
    child: Option<Child>,
    paused: bool,
}

impl Node {
    /// Prepares (does not start) node `id` under `root` with `args` after its own flags.
    pub(crate) fn new(
        binary: &Path,
        root: &Path,
        id: u64,
        addrs: NodeAddrs,
        args: Vec<String>,
    ) -> anyhow::Result<Node> {
        let dir = root.join(format!("node-{id}"));
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let mut all = vec![
            "node".to_string(),
            "--id".to_string(),
            id.to_string(),
            "--data-dir".to_string(),
            data_dir.display().to_string(),
            "--listen".to_string(),
            addrs.resp.to_string(),
            "--peer-listen".to_string(),
            addrs.peer.to_string(),
            "--http-listen".to_string(),
            addrs.http.to_string(),
        ];
        all.extend(args);
        Ok(Node {
            id,
            addrs,
            binary: binary.to_path_buf(),
            data_dir,
            log_path: dir.join("node.log"),
            args: all,
            child: None,
            paused: false,
        })
    }

    /// Starts the process; its stdout and stderr are appended to [`Node::log_path`].
    pub(crate) fn spawn(&mut self) -> anyhow::Result<()> {
        self.spawn_with(&[])
    }

    /// [`Node::spawn`] with `extra` flags after the node's own (for this start only).
    fn spawn_with(&mut self, extra: &[String]) -> anyhow::Result<()> {
        self.spawn_with_env(extra, &[])
    }

    /// [`Node::spawn_with`] plus environment variables for this start only.
    fn spawn_with_env(&mut self, extra: &[String], env: &[(&str, &str)]) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("node {} is already running", self.id);
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("cannot open {}", self.log_path.display()))?;
        writeln!(log, "--- testkit: starting node {} ---", self.id)?;
        let mut command = Command::new(&self.binary);
        command.args(&self.args).args(extra);
        node_environment(&mut command);
        let child = command
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// The node id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The RESP address clients connect to.
    pub fn resp_addr(&self) -> SocketAddr {
        self.addrs.resp
    }

    /// The HTTP address (`/healthz`, `/readyz`, `/admin/...`).
    pub fn http_addr(&self) -> SocketAddr {
        self.addrs.http
    }

    /// The gRPC peer address (what `--initial-cluster` and add-node name).
    pub fn peer_addr(&self) -> SocketAddr {
        self.addrs.peer
    }

    /// The node's `--data-dir`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the node's output goes (kept across restarts).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The node's whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// True if the process exited because it could not bind an address (another process took
    /// a port between the harness finding it free and the node binding it).
    pub fn lost_its_port(&mut self) -> bool {
        !self.is_running() && {
            let log = self.log().to_ascii_lowercase();
            log.contains("address already in use") || log.contains("addrinuse")
        }
    }

    /// The OS process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True if the process was started and has not been seen to exit.
    pub fn is_running(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            _ => {
                self.child = None;
                false
            }
        }
    }

    /// True if the process is running and stopped with [`Node::sigstop`].
    pub fn is_paused(&self) -> bool {
        self.paused && self.child.is_some()
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let Some(pid) = self.pid() else {
            bail!("node {} is not running", self.id);
        };
        let pid = Pid::from_raw(i32::try_from(pid)?);
        kill(pid, signal).with_context(|| format!("kill -{signal} node {}", self.id))
    }

    /// `kill -9`: the process dies without any chance to flush or say goodbye.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("node {} is not running", self.id);
        };
        let _ = child.kill();
        child
            .wait()
            .with_context(|| format!("reaping node {}", self.id))?;
        self.paused = false;
        Ok(())
    }

    /// SIGSTOP: the process freezes (like a long GC pause or a VM stall) but keeps its sockets.
    pub fn sigstop(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)?;
        self.paused = true;
        Ok(())
    }

    /// SIGCONT: resumes a process frozen by [`Node::sigstop`].
    pub fn sigcont(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)?;
        self.paused = false;
        Ok(())
    }

    /// Graceful stop: SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status.
    pub fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        if self.paused {
            // A stopped process cannot act on SIGTERM until it runs again.
            self.sigcont()?;
        }
        self.signal(Signal::SIGTERM)?;
        let Some(mut child) = self.child.take() else {
            bail!("node {} is not running", self.id);
        };
        let waited = poll_until(
            &format!("node {} to exit after SIGTERM", self.id),
            STOP_TIMEOUT,
            Duration::from_millis(20),
            || match child.try_wait() {
                Ok(Some(status)) => Ok(Some(status)),
                Ok(None) => Ok(None),
                Err(err) => Err(err.to_string()),
            },
        );
        match waited {
            Ok(status) => Ok(status),
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(err.context(format!("node {} was killed with SIGKILL", self.id)))
            }
        }
    }

    /// Waits up to `timeout` for the process to exit by itself (e.g. refusing to start) and
    /// returns its exit status; fails if it is still running then.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let id = self.id;
        let Some(child) = self.child.as_mut() else {
            bail!("node {id} is not running");
        };
        let status = poll_until(
            &format!("node {id} to exit by itself"),
            timeout,
            Duration::from_millis(50),
            || match child.try_wait() {
                Ok(Some(status)) => Ok(Some(status)),
                Ok(None) => Err("still running".to_string()),
                Err(err) => Err(err.to_string()),
            },
        )?;
        self.child = None;
        self.paused = false;
        Ok(status)
    }

    /// Starts the node again with the same id, addresses, flags and data directory.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("node {} is still running; stop or kill it first", self.id);
        }
        self.spawn()
    }

    /// [`Node::restart`] with `extra` flags after the node's own, for this start only (a later
    /// [`Node::restart`] drops them), e.g. `--clock-rate 1.05` for a while.
    pub fn restart_with_args(&mut self, extra: &[String]) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("node {} is still running; stop or kill it first", self.id);
        }
        self.spawn_with(extra)
    }

    /// [`Node::restart`] with environment variables for this start only, e.g. libfaketime's
    /// `LD_PRELOAD` and `FAKETIME` to run the node with its wall clock hours off.
    pub fn restart_with_env(&mut self, env: &[(&str, &str)]) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("node {} is still running; stop or kill it first", self.id);
        }
        self.spawn_with_env(&[], env)
    }

    /// Deletes the node's data directory (the node must not be running), e.g. to test that a
    /// wiped follower is restored by snapshot on restart.
    pub fn wipe_data(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!(
                "node {} is running; stop or kill it before wiping its data",
                self.id
            );
        }
        std::fs::remove_dir_all(&self.data_dir)
            .with_context(|| format!("cannot remove {}", self.data_dir.display()))?;
        std::fs::create_dir_all(&self.data_dir)?;
        Ok(())
    }

    /// `GET /admin/status` as JSON.
    pub fn status(&self) -> anyhow::Result<serde_json::Value> {
        let response = http::get(self.addrs.http, "/admin/status", PROBE_TIMEOUT)?;
        if !response.is_success() {
            bail!("/admin/status: HTTP {}: {}", response.status, response.body);
        }
        response.json()
    }

    /// Waits until `/healthz` answers 200, failing early if the process exits.
    pub fn wait_serving(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let addr = self.addrs.http;
        let id = self.id;
        // An exit ends the wait at once (`Some(Err)`); `Err` only means "not yet".
        let outcome = poll_until(
            &format!("node {id} to serve /healthz"),
            timeout,
            Duration::from_millis(50),
            || {
                if !self.is_running() {
                    return Ok(Some(Err(format!(
                        "node {id} exited after {:?}",
                        started.elapsed()
                    ))));
                }
                match http::get(addr, "/healthz", PROBE_TIMEOUT) {
                    Ok(r) if r.is_success() => Ok(Some(Ok(()))),
                    Ok(r) => Err(format!("HTTP {}", r.status)),
                    Err(err) => Err(format!("{err:#}")),
                }
            },
        )?;
        outcome.map_err(anyhow::Error::msg)
    }

    /// A blocking Redis connection with 10 s read/write timeouts (no test hangs on a reply).
    pub fn client(&self) -> anyhow::Result<redis::Connection> {
        let client = redis::Client::open(format!("redis://{}/", self.addrs.resp))?;
        let conn = client.get_connection_with_timeout(Duration::from_secs(5))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(conn)
    }

    /// A multiplexed async Redis connection (tokio) with connect and response timeouts.
    pub async fn async_client(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(format!("redis://{}/", self.addrs.resp))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        Ok(client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    /// Ends the process at once, ignoring errors: used by `Drop`, so never panics.
    pub(crate) fn kill_quietly(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_quietly();
    }
}

/// The environment every harness gives a `quorum node` process: the test's own environment
/// must not change the node's configuration (`QUORUM_CONFIG`), and its log level follows
/// `RUST_LOG`, by default openraft's election and replication steps (kept for diagnosing a
/// failed test) without its line per API call (one per heartbeat).
pub fn node_environment(command: &mut Command) {
    command.env_remove("QUORUM_CONFIG").env(
        "RUST_LOG",
        std::env::var("RUST_LOG").unwrap_or_else(|_| "info,openraft::core::raft_core=warn".into()),
    );
}
