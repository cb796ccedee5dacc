//! `quorum bench`: a load generator (under construction in this session).

/// Flags of `quorum bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `quorum bench`; returns the process exit code.
pub fn run(_args: BenchArgs) -> anyhow::Result<u8> {
    anyhow::bail!("quorum bench is under construction")
}
