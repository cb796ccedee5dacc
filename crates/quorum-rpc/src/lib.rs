//! Node-to-node gRPC (tonic): the `Peer` service defined in `proto/peer.proto`, openraft's
//! network over it ([`PeerNetwork`]), the server side ([`PeerService`]) and the application
//! messages nodes exchange besides Raft's own ([`messages`]).
//!
//! This is the only crate that names a protobuf or tonic type. The channel to a peer is built
//! in one place ([`connect`]); [`net`] is the seam through which a simulated network replaces
//! the operating system's.

// openraft's `RPCError` is large and is the error type its network trait requires; it only
// travels on error paths.
#![allow(clippy::result_large_err)]

pub mod messages;
pub mod net;
mod network;
pub mod reachability;
mod service;

pub use network::{connect, dial_peers_through_links, PeerClient, PeerNetwork, LINK_IDS};
pub use service::{serve, PeerHandler, ServeError};

/// Code generated from `proto/peer.proto`.
#[allow(clippy::all, missing_docs)] // generated code
pub mod proto {
    tonic::include_proto!("quorum.peer.v1");
}

/// Largest message one node accepts from another. Raft batches (openraft's
/// `max_payload_entries`) and snapshot chunks (`snapshot_max_chunk_size`) stay far below it;
/// it exists so a confused or hostile peer cannot make a node allocate without bound.
pub const PEER_MESSAGE_BYTES_MAX: usize = 256 * 1024 * 1024;
