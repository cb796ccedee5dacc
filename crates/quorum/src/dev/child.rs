//! One `quorum node` child process of `quorum dev`: spawning it with its ports and data
//! directory, relaying its output to `node.log` (and selected lines to stdout), and stopping
//! it with SIGTERM then, after a deadline, SIGKILL.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The addresses and paths of one dev node.
#[derive(Debug, Clone)]
pub struct NodeLayout {
    /// Node id, 1-based.
    pub id: u64,
    /// RESP port.
    pub resp_port: u16,
    /// gRPC peer port.
    pub peer_port: u16,
    /// HTTP port.
    pub http_port: u16,
    /// The node's data directory (also holds `node.log`).
    pub dir: PathBuf,
}

impl NodeLayout {
    /// The HTTP endpoint as `host:port`.
    pub fn http_endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// Where the node's output is appended.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }
}

/// A running (or exited) child.
pub struct NodeProcess {
    /// Where it listens and stores.
    pub layout: NodeLayout,
    child: Child,
    /// Set once the exit has been observed.
    pub exit: Option<ExitStatus>,
}

/// What the child is started with besides its own layout.
pub struct SpawnOptions {
    /// `--initial-cluster` value shared by all nodes.
    pub initial_cluster: String,
    /// Flags forwarded to every node (`--log-format`, `--log-level`, anything after `--`).
    pub extra_args: Vec<String>,
    /// Copy every output line to stdout, not only quorum's own warnings and errors.
    pub verbose: bool,
    /// Set once the cluster has formed: from then on quorum's warnings and errors are copied
    /// to stdout. Before that, peers that are not up yet cause expected noise.
    pub echo_notable: Arc<AtomicBool>,
}

impl NodeProcess {
    /// Starts `quorum node` for `layout` from this very executable.
    pub async fn spawn(layout: NodeLayout, options: &SpawnOptions) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot locate the quorum executable")?;
        std::fs::create_dir_all(&layout.dir)
            .with_context(|| format!("cannot create {}", layout.dir.display()))?;
        let mut log = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(layout.log_path())
            .await
            .with_context(|| format!("cannot open {}", layout.log_path().display()))?;
        log.write_all(format!("--- quorum dev: starting node {} ---\n", layout.id).as_bytes())
            .await?;
        let mut command = Command::new(exe);
        command
            .arg("node")
            .args(["--id", &layout.id.to_string()])
            .arg("--data-dir")
            .arg(&layout.dir)
            .args(["--listen", &format!("127.0.0.1:{}", layout.resp_port)])
            .args(["--peer-listen", &format!("127.0.0.1:{}", layout.peer_port)])
            .args(["--http-listen", &layout.http_endpoint()])
            .args(["--initial-cluster", &options.initial_cluster])
            .args(&options.extra_args)
            // A founding member must not join; an inherited QUORUM_JOIN would contradict it.
            .env_remove("QUORUM_JOIN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Safety net: if `quorum dev` itself fails, its children do not outlive it.
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start node {}", layout.id))?;
        let prefix = format!("[node-{}] ", layout.id);
        if let Some(out) = child.stdout.take() {
            let echo = Echo {
                verbose: options.verbose,
                notable: options.echo_notable.clone(),
            };
            relay(out, log.try_clone().await?, prefix.clone(), echo);
        }
        if let Some(err) = child.stderr.take() {
            let echo = Echo {
                verbose: options.verbose,
                notable: options.echo_notable.clone(),
            };
            relay(err, log, prefix, echo);
        }
        Ok(NodeProcess {
            layout,
            child,
            exit: None,
        })
    }

    /// Records and returns the exit status if the process has exited since the last check.
    pub fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_some() {
            return None;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exit = Some(status);
                Some(status)
            }
            _ => None,
        }
    }

    /// True while the process has not been seen to exit.
    pub fn is_running(&self) -> bool {
        self.exit.is_none()
    }

    /// Sends SIGTERM (a no-op if it already exited).
    pub fn terminate(&mut self) {
        self.signal(Signal::SIGTERM);
    }

    fn signal(&mut self, signal: Signal) {
        if self.exit.is_some() {
            return;
        }
        if let Some(pid) = self.child.id() {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }

    /// Waits up to `deadline` for the exit; then SIGKILLs and reaps. Returns true if the node
    /// stopped by itself (cleanly or not) before the deadline.
    pub async fn wait_or_kill(&mut self, deadline: tokio::time::Instant) -> bool {
        if self.exit.is_some() {
            return true;
        }
        match tokio::time::timeout_at(deadline, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.exit = Some(status);
                true
            }
            _ => {
                self.signal(Signal::SIGKILL);
                let reaped = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
                if let Ok(Ok(status)) = reaped {
                    self.exit = Some(status);
                }
                false
            }
        }
    }

    /// The last `lines` lines of the node's log, for error reports.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.layout.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Which output lines [`relay`] copies to stdout.
struct Echo {
    verbose: bool,
    notable: Arc<AtomicBool>,
}

impl Echo {
    fn wants(&self, line: &str) -> bool {
        if self.verbose || line.contains("panicked") {
            return true;
        }
        // openraft logs every failed heartbeat to a dead peer; `quorum dev` reports dead nodes
        // itself, so repeating those lines would bury everything else.
        let notable =
            (line.contains("WARN") || line.contains("ERROR")) && !line.contains("openraft");
        notable && self.notable.load(Ordering::Relaxed)
    }
}

/// Copies the child's output line by line to its log file, and the lines `echo` wants to our
/// stdout with a `[node-i]` prefix.
fn relay(
    stream: impl AsyncRead + Unpin + Send + 'static,
    mut log: tokio::fs::File,
    prefix: String,
    echo: Echo,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        // Ends when the child closes its output (it exited) or the stream errors.
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = log.write_all(line.as_bytes()).await;
            let _ = log.write_all(b"\n").await;
            if echo.wants(&line) {
                println!("{prefix}{line}");
            }
        }
        let _ = log.flush().await;
    });
}
