//! quorum-rpc
