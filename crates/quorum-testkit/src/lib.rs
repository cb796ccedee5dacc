//! quorum-testkit: start real `quorum node` processes for integration tests.
//!
//! A [`Cluster`] picks free loopback ports, gives every node a temporary data directory,
//! starts the processes, and waits (polling with deadlines, never fixed sleeps) until they
//! agree on a leader. Tests then talk to nodes over RESP with the `redis` crate and inflict
//! faults through [`Node`]: `kill9`, `sigstop`/`sigcont`, `stop`, `wipe_data`, `restart`, and
//! through [`disk`] on a stopped node's data directory: a torn last log record, a bit flip or a
//! truncation in its Raft log or newest snapshot.
//!
//! Dropping the cluster kills every process it started. If the test is panicking, the tail of
//! every node's log is printed and the temporary directory is kept (its path is printed), so
//! a failure can be read after the fact. Set `QUORUM_TEST_KEEP=1` to keep it always.
//!
//! ```no_run
//! use std::time::Duration;
//! use quorum_testkit::Cluster;
//!
//! // In an integration test of the `quorum` crate: `env!("CARGO_BIN_EXE_quorum")`.
//! let binary = std::path::Path::new("target/debug/quorum");
//! let mut cluster = Cluster::start(binary, 3).unwrap();
//! let leader = cluster.leader_id().unwrap();
//! let mut conn = cluster.client(leader).unwrap();
//! let _: () = redis::cmd("SET").arg("a").arg(1).query(&mut conn).unwrap();
//! cluster.node_mut(leader).kill9().unwrap();
//! let new_leader = cluster.wait_for_leader(Duration::from_secs(5)).unwrap();
//! assert_ne!(new_leader, leader);
//! cluster.node_mut(leader).restart().unwrap();
//! ```

mod cluster;
pub mod disk;
pub mod http;
mod node;
mod ports;
mod redis_server;
mod wait;

pub use cluster::{leader_from_statuses, Cluster, ClusterBuilder, PeerAddrs};
pub use node::{node_environment, Node, NodeAddrs};
pub use ports::free_addrs;
pub use redis_server::{start_redis_server, which, RedisServer};
pub use wait::poll_until;
