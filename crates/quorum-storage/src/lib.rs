//! Bytes on disk: the multi-group Raft log and snapshot files.
