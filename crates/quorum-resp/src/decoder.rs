//! TEMPORARY placeholder: the real decoder is being written. Do not commit this file as is.
use bytes::{Bytes, BytesMut};
use quorum_types::Limits;

/// One client request: the command name followed by its arguments.
pub type Request = Vec<Bytes>;

/// A malformed request. `Display` is the exact Redis text (without the leading `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ERR Protocol error: {0}")]
pub struct ProtocolError(pub String);

/// Incremental request decoder.
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: Limits,
}

impl RequestDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder { limits }
    }

    /// Decodes one request from the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        let _ = (&self.limits, buf);
        Ok(None)
    }
}
