//! Redis's `hash` group: field access (`fields.rs`: HSET HSETNX HMSET HDEL HGET HMGET
//! HEXISTS HLEN HSTRLEN), whole-hash reads and HSCAN (`iterate.rs`), counters stored in
//! fields (`counter.rs`: HINCRBY HINCRBYFLOAT) and random fields (`randfield.rs`:
//! HRANDFIELD). This file holds the group's rows of the command table.
//!
//! Replies follow Redis 7.0.15, including the order of its checks (arity, then syntax and
//! numbers, then the key's type, then the stored value). Orders are the hash's own
//! (insertion order; a deletion moves the last field into the hole), which is Redis's
//! order for small hashes until a field other than the last is deleted.
//!
//! Not here: the value type itself (`quorum_keyspace::HashValue`), typed access
//! (`typed.rs`), number parsing (`parse.rs`).

mod counter;
mod fields;
mod iterate;
mod randfield;

use crate::table::{command_rows, no_precheck, CommandSpec, Handler, Keys};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "hset", -4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(fields::precheck_hset, fields::hset), "hash", ["@write", "@hash", "@fast"], [], "2.0.0", "Set the string value of a hash field" }
    { "hsetnx", 4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, fields::hsetnx), "hash", ["@write", "@hash", "@fast"], [], "2.0.0", "Set the value of a hash field, only if the field does not exist" }
    { "hmset", -4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(fields::precheck_hmset, fields::hmset), "hash", ["@write", "@hash", "@fast"], [], "2.0.0", "Set multiple hash fields to multiple values" }
    { "hget", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(fields::hget), "hash", ["@read", "@hash", "@fast"], [], "2.0.0", "Get the value of a hash field" }
    { "hmget", -3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(fields::hmget), "hash", ["@read", "@hash", "@fast"], [], "2.0.0", "Get the values of all the given hash fields" }
    { "hdel", -3, ["write", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, fields::hdel), "hash", ["@write", "@hash", "@fast"], [], "2.0.0", "Delete one or more hash fields" }
    { "hexists", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(fields::hexists), "hash", ["@read", "@hash", "@fast"], [], "2.0.0", "Determine if a hash field exists" }
    { "hlen", 2, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(fields::hlen), "hash", ["@read", "@hash", "@fast"], [], "2.0.0", "Get the number of fields in a hash" }
    { "hstrlen", 3, ["readonly", "fast"], Keys::range(1, 1, 1), Handler::Read(fields::hstrlen), "hash", ["@read", "@hash", "@fast"], [], "3.2.0", "Get the length of the value of a hash field" }
    { "hgetall", 2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(iterate::hgetall), "hash", ["@read", "@hash", "@slow"], ["nondeterministic_output_order"], "2.0.0", "Get all the fields and values in a hash" }
    { "hkeys", 2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(iterate::hkeys), "hash", ["@read", "@hash", "@slow"], ["nondeterministic_output_order"], "2.0.0", "Get all the fields in a hash" }
    { "hvals", 2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(iterate::hvals), "hash", ["@read", "@hash", "@slow"], ["nondeterministic_output_order"], "2.0.0", "Get all the values in a hash" }
    { "hscan", -3, ["readonly"], Keys::range(1, 1, 1), Handler::Read(iterate::hscan), "hash", ["@read", "@hash", "@slow"], ["nondeterministic_output"], "2.8.0", "Incrementally iterate hash fields and associated values" }
    { "hincrby", 4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(counter::precheck_hincrby, counter::hincrby), "hash", ["@write", "@hash", "@fast"], [], "2.0.0", "Increment the integer value of a hash field by the given number" }
    { "hincrbyfloat", 4, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(counter::precheck_hincrbyfloat, counter::hincrbyfloat), "hash", ["@write", "@hash", "@fast"], [], "2.6.0", "Increment the float value of a hash field by the given amount" }
    { "hrandfield", -2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(randfield::hrandfield), "hash", ["@read", "@hash", "@slow"], ["nondeterministic_output"], "6.2.0", "Get one or multiple random fields from a hash" }
};
