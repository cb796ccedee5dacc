//! The RESP side of the benchmark: request encoding, reply parsing, connections, the client
//! loop, and key population.

pub mod client;
pub mod connection;
pub mod populate;
pub mod reply;
pub mod request;
