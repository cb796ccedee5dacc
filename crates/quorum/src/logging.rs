//! Logging through `tracing-subscriber`: readable text by default, JSON lines on request.
//!
//! Logs go to stderr so that command output on stdout (`cluster status`, `--print-config`)
//! stays machine-readable.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event (colored when stderr is a terminal).
    Text,
    /// One JSON object per event, for log shippers.
    Json,
}

impl LogFormat {
    /// The flag value that selects this format.
    pub fn as_flag(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The filter when neither `--log-level` nor `RUST_LOG` gives one. openraft logs its engine's
/// steps at info (a line per heartbeat on the leader, a dozen per election), and while a peer
/// is down, four warn or error lines per replication retry (every 500 ms) plus an error per
/// leadership-confirming round and per vote request. quorum logs what an operator needs of
/// these itself: role, term and leader changes (`quorum_server`'s `log_role_changes`), a peer
/// becoming unreachable and reachable again (`quorum_rpc::reachability`), and the error that
/// stops a Raft core (`node failed: ...`). openraft's other warnings stay; `RUST_LOG=info`
/// shows all of its lines again.
pub const DEFAULT_FILTER: &str = "info,openraft=warn,openraft::replication=off,\
     openraft::engine::handler::replication_handler=off,openraft::core::raft_core=off";

/// Installs the global subscriber. Filter: `level` (from `--log-level`), else `RUST_LOG`,
/// else [`DEFAULT_FILTER`].
pub fn init(format: LogFormat, level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::try_new(level).unwrap_or_else(|err| {
            eprintln!("warning: ignoring invalid --log-level `{level}`: {err}");
            EnvFilter::new(DEFAULT_FILTER)
        }),
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` because tests or a second call must not panic over an installed subscriber.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_parses_with_every_directive() {
        assert!(
            !DEFAULT_FILTER.contains(char::is_whitespace),
            "{DEFAULT_FILTER:?}"
        );
        let filter = EnvFilter::try_new(DEFAULT_FILTER).expect("the default filter parses");
        let shown = filter.to_string();
        for directive in DEFAULT_FILTER.split(',') {
            assert!(
                shown.contains(directive),
                "{directive} missing from {shown}"
            );
        }
    }
}
