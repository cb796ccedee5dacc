//! quorum-raft
