//! Every limit on untrusted input and on resource growth, in one place.
//!
//! Names carry the unit last (`bulk_bytes_max`). Defaults follow Redis where Redis has the
//! same limit, so that clients see the same behaviour.

use serde::{Deserialize, Serialize};

/// Limits applied to clients and requests. Every field is configurable (see `quorum node --help`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest bulk string a client may send. Redis: `proto-max-bulk-len`, 512 MiB.
    pub bulk_bytes_max: usize,
    /// Most arguments in one multibulk request. Redis caps at 1024*1024*1024; quorum is
    /// stricter because every argument costs an allocation before the command runs.
    pub request_args_max: usize,
    /// Largest inline (telnet-style) request line. Redis: 64 KiB (`PROTO_INLINE_MAX_SIZE`).
    pub inline_bytes_max: usize,
    /// Most bytes buffered from one client before a complete request arrives. Redis:
    /// `client-query-buffer-limit`, 1 GiB; quorum defaults lower.
    pub query_buffer_bytes_max: usize,
    /// Most simultaneously connected clients. Redis: `maxclients`, 10000.
    pub clients_max: usize,
    /// Most reply bytes queued for one client before it is disconnected. Redis' normal-class
    /// `client-output-buffer-limit` is unlimited; quorum caps it so a slow reader cannot
    /// exhaust memory.
    pub output_buffer_bytes_max: usize,
    /// Most argument bytes one MULTI may queue. Redis has no such limit; in quorum an EXEC is
    /// one log entry that every replica holds whole, so it is bounded (64 MiB).
    pub transaction_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bulk_bytes_max: 512 * 1024 * 1024,
            request_args_max: 1024 * 1024,
            inline_bytes_max: 64 * 1024,
            query_buffer_bytes_max: 1024 * 1024 * 1024,
            clients_max: 10_000,
            output_buffer_bytes_max: 256 * 1024 * 1024,
            transaction_bytes_max: 64 * 1024 * 1024,
        }
    }
}
