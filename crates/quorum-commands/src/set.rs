//! Redis's `set` group: Sets (SADD SREM SMEMBERS ...).
//!
//! Not here: the value type itself (`quorum_keyspace`), typed access (`typed.rs`).

use crate::table::CommandSpec;

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = &[];
