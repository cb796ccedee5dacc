//! The RESP2/RESP3 wire format, without I/O.
//!
//! - [`Frame`] is a reply value, independent of protocol version.
//! - [`encode`] writes a frame as RESP2 or RESP3 bytes (RESP2 downgrades maps, sets, doubles…).
//! - [`RequestDecoder`] turns client bytes into requests (multibulk or inline), enforcing
//!   [`quorum_types::Limits`] before anything is allocated, and never panicking on any input.
//!
//! Not here: sockets, buffering policy, command semantics.

mod decoder;
mod encoder;
mod frame;

pub use decoder::{ProtocolError, Request, RequestDecoder};
pub use encoder::encode;
pub use frame::{Frame, Protocol};
