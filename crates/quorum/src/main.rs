//! The `quorum` binary: one executable for every role.
//!
//! - `quorum node` runs one node of a real deployment ([`node_cmd`]).
//! - `quorum dev` starts a local cluster of `quorum node` child processes ([`dev`]).
//! - `quorum cluster ...` talks to a node's HTTP admin API ([`cluster_cmd`]).
//! - `quorum bench` drives load and reports latency (`quorum-bench`).
//! - `quorum chaos` / `quorum verify` check histories under faults (`quorum-chaos`).
//!
//! This crate only parses, validates and wires; everything a node does lives in
//! `quorum-server`.

mod cluster_cmd;
mod config_file;
mod dev;
mod http;
mod logging;
mod node_cmd;
mod shutdown;

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a node allocates and frees small buffers per command
/// (arguments, replies, log entries), and profiles of the leader under load showed glibc's
/// malloc/free/consolidate taking about a quarter of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{FromArgMatches, Parser, Subcommand};

/// quorum: a distributed, Redis-compatible data store.
#[derive(Debug, Parser)]
#[command(name = "quorum", version, propagate_version = true)]
pub struct Cli {
    /// Log output format: `text` (readable) or `json` (one object per line).
    #[arg(
        long,
        global = true,
        env = "QUORUM_LOG_FORMAT",
        default_value = "text",
        help_heading = "Logging"
    )]
    pub log_format: logging::LogFormat,

    /// Log filter, e.g. `info` or `quorum_server=debug,info`. When not given, `RUST_LOG` is
    /// used, and when that is unset too, `info` with openraft's own lines at warn and its
    /// per-retry replication lines off (`info` shows them all).
    #[arg(
        long,
        global = true,
        env = "QUORUM_LOG_LEVEL",
        help_heading = "Logging"
    )]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one node of a cluster.
    Node(Box<node_cmd::NodeArgs>),
    /// Start a local cluster of `quorum node` processes for development.
    Dev(dev::DevArgs),
    /// Administer a running cluster through a node's HTTP admin API.
    #[command(subcommand)]
    Cluster(cluster_cmd::ClusterCommand),
    /// Drive load at Redis-compatible endpoints (or etcd, NATS) and report latency.
    Bench(quorum_bench::BenchArgs),
    /// Start a local cluster, inject faults under a workload, and check the history.
    Chaos(quorum_chaos::ChaosArgs),
    /// Run the checked workload against existing endpoints (no faults).
    Verify(quorum_chaos::VerifyArgs),
}

fn main() -> ExitCode {
    // The optional config file supplies defaults, so it must be read before clap resolves
    // flags and environment variables over it (precedence: flag > env > file > built-in).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = match config_file::command_with_file_defaults(&args) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let matches = command.get_matches_from(&args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let log_level = cli.log_level.clone();
    let log_format = cli.log_format;
    let result = match cli.command {
        Command::Node(args) => node_cmd::run(*args, log_format, log_level.as_deref()),
        Command::Dev(args) => {
            logging::init(log_format, log_level.as_deref());
            dev::run(args, log_format, log_level)
        }
        Command::Cluster(cmd) => cluster_cmd::run(cmd),
        Command::Bench(args) => return exit_code(quorum_bench::run(args)),
        Command::Chaos(args) => {
            logging::init(log_format, log_level.as_deref());
            return exit_code(quorum_chaos::run_chaos(args));
        }
        Command::Verify(args) => {
            logging::init(log_format, log_level.as_deref());
            return exit_code(quorum_chaos::run_verify(args));
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Maps a subcommand that decides its own exit code (bench, chaos, verify) to the process's:
/// an error before a verdict is a harness error, exit 2.
fn exit_code(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
