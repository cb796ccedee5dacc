//! Rows of the commands that the server layer runs because they act on the connection or
//! the cluster rather than the keyspace: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET,
//! CLIENT, READONLY, READWRITE, WAIT. Their behaviour lives in `quorum-server`'s
//! `server_commands.rs`.
//!
//! Not here: any keyspace access.

use crate::table::{command_rows, CommandSpec, Handler, Keys};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "ping", -1, ["fast"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], ["request_policy:all_shards", "response_policy:all_succeeded"], "1.0.0", "Ping the server" }
    { "echo", 2, ["loading", "stale", "fast"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Echo the given string" }
    { "hello", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], [], "6.0.0", "Handshake with Redis" }
    { "auth", -2, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Authenticate to the server" }
    { "select", 2, ["loading", "stale", "fast"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Change the selected database for the current connection" }
    { "quit", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], [], "1.0.0", "Close the connection" }
    { "reset", 1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], Keys::NONE, Handler::Server, "connection", ["@fast", "@connection"], [], "6.2.0", "Reset the connection" }
    { "client", -2, [], Keys::NONE, Handler::Server, "connection", ["@slow"], [], "2.4.0", "A container for client connection commands" }
    { "readonly", 1, ["loading", "stale", "fast"], Keys::NONE, Handler::Server, "cluster", ["@fast", "@connection"], [], "3.0.0", "Enables read queries for a connection to a cluster replica node" }
    { "readwrite", 1, ["loading", "stale", "fast"], Keys::NONE, Handler::Server, "cluster", ["@fast", "@connection"], [], "3.0.0", "Disables read queries for a connection to a cluster replica node" }
    { "wait", 3, ["noscript"], Keys::NONE, Handler::Server, "generic", ["@slow", "@connection"], ["request_policy:all_shards", "response_policy:agg_min"], "3.0.0", "Wait for the synchronous replication of all the write commands sent in the context of the current connection" }
};
