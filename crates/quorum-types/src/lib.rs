//! Vocabulary shared by every quorum crate: node ids, the [`Limits`] every untrusted input is
//! checked against, and [`ErrorReply`], the one type whose `Display` is Redis's exact error text.
//!
//! This crate has no I/O, no async runtime and no clock: it is the bottom layer.

mod error;
mod limits;

pub use error::ErrorReply;
pub use limits::Limits;

/// Identifies one quorum node (one process) in a cluster. Stable across restarts.
pub type NodeId = u64;

/// Milliseconds since the Unix epoch, as decided by a Raft leader and written into the log.
pub type UnixMillis = u64;

/// The `redis_version` quorum reports to clients so that feature-detecting libraries
/// treat it as Redis 7.0 (the command set quorum follows).
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// quorum's own version.
pub const QUORUM_VERSION: &str = env!("CARGO_PKG_VERSION");
