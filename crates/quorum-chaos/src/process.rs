//! One child process that a fault injector kills, pauses and restarts: a quorum node in a
//! namespace, a Redis server, a Sentinel.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// One child process that the fault injector kills, pauses and restarts (a node, a Redis
/// server, a Sentinel). Killed on drop only through its owner, which knows the order.
#[derive(Debug, Default)]
pub(crate) struct Process {
    child: Option<Child>,
    paused: bool,
}

impl Process {
    /// Starts `command` with stdin closed and stdout and stderr appended to `log_path`.
    pub(crate) fn start(&mut self, mut command: Command, log_path: &Path) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(
            command
                .spawn()
                .with_context(|| format!("cannot start {command:?}"))?,
        );
        self.paused = false;
        Ok(())
    }

    /// True while the process runs (paused counts as running); reaps it when it has exited.
    pub(crate) fn running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// Started and not paused (it may have exited since: probes then fail on their own).
    pub(crate) fn is_up(&self) -> bool {
        self.child.is_some() && !self.paused
    }

    /// Sends `signal`; SIGSTOP and SIGCONT also mark the process paused or not.
    pub(crate) fn signal(&mut self, signal: Signal) -> anyhow::Result<()> {
        let pid = self.child.as_ref().context("not running")?.id();
        kill(Pid::from_raw(i32::try_from(pid)?), signal)
            .with_context(|| format!("kill -{signal} {pid}"))?;
        match signal {
            Signal::SIGSTOP => self.paused = true,
            Signal::SIGCONT => self.paused = false,
            _ => {}
        }
        Ok(())
    }

    /// kill -9 and reap.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }
}
