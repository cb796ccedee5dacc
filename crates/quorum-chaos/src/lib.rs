//! `quorum chaos` and `quorum verify` (under construction in this session).

/// Flags of `quorum chaos`.
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {}

/// Flags of `quorum verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

/// Runs `quorum chaos`; returns the process exit code (0 valid, 1 anomaly, 2 harness error).
pub fn run_chaos(_args: ChaosArgs) -> anyhow::Result<u8> {
    anyhow::bail!("quorum chaos is under construction")
}

/// Runs `quorum verify`; returns the process exit code (0 valid, 1 anomaly, 2 harness error).
pub fn run_verify(_args: VerifyArgs) -> anyhow::Result<u8> {
    anyhow::bail!("quorum verify is under construction")
}
