//! Redis's `geo` group (`geo.c`, `geohash.c`, `geohash_helper.c`): points stored in a
//! sorted set, exactly as Redis stores them (the score is the point's 52-bit interleaved
//! geohash), so ZRANGE, ZSCORE and the rest of the sorted-set group see the same set.
//!
//! - this file: the rows of the command table;
//! - `add.rs`: GEOADD;
//! - `point.rs`: GEOPOS, GEODIST, GEOHASH;
//! - `search.rs`: GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their `_RO`
//!   forms: options, the walk over the nine cells around the centre, replies and STORE;
//! - `hash.rs`: geohash encoding, decoding and neighbours;
//! - `shape.rs`: the cells covering a circle or a box, haversine distances;
//! - `sort.rs`: glibc's `qsort` and Redis's `pqsort`, so equal distances order as in Redis;
//! - `args.rs`: coordinates, radii, units, and the texts of coordinates and distances.
//!
//! Where quorum knowingly answers otherwise than Redis 7.0.15 (each explained where it is
//! decided):
//! - RESP3: coordinates (GEOPOS, WITHCOORD) are bulk strings, Redis's RESP2 shape; Redis 7.0
//!   sends them as RESP3 doubles with the same text, which a [`quorum_resp::Frame`] cannot
//!   carry (`Frame::Double` prints `%.17g`).
//! - GEORADIUS, GEORADIUSBYMEMBER and GEOSEARCHSTORE (writes) check the arguments that do
//!   not depend on the source set before its type (`search.rs`); Redis answers WRONGTYPE
//!   first when both are wrong.
//! - STOREDIST of a NaN distance (nearly antipodal points): Redis's server asserts and
//!   stops; quorum refuses the command.
//!
//! Not here: the sorted-set value (`quorum_keyspace::ZSetValue`), typed access (`typed.rs`).

mod add;
mod args;
mod hash;
mod point;
mod search;
mod shape;
mod sort;

use crate::table::{command_rows, CommandSpec, Handler, Keys};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "geoadd", -5, ["write", "denyoom"], Keys::range(1, 1, 1), Handler::Write(add::precheck_geoadd, add::geoadd), "geo", ["@write", "@geo", "@slow"], [], "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set" }
    { "geopos", -2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(point::geopos), "geo", ["@read", "@geo", "@slow"], [], "3.2.0", "Returns longitude and latitude of members of a geospatial index" }
    { "geodist", -4, ["readonly"], Keys::range(1, 1, 1), Handler::Read(point::geodist), "geo", ["@read", "@geo", "@slow"], [], "3.2.0", "Returns the distance between two members of a geospatial index" }
    { "geohash", -2, ["readonly"], Keys::range(1, 1, 1), Handler::Read(point::geohash), "geo", ["@read", "@geo", "@slow"], [], "3.2.0", "Returns members of a geospatial index as standard geohash strings" }
    { "geosearch", -7, ["readonly"], Keys::range(1, 1, 1), Handler::Read(search::geosearch), "geo", ["@read", "@geo", "@slow"], [], "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle." }
    { "geosearchstore", -8, ["write", "denyoom"], Keys::range(1, 2, 1), Handler::Write(search::precheck_geosearchstore, search::geosearchstore), "geo", ["@write", "@geo", "@slow"], [], "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key." }
    { "georadius", -6, ["write", "denyoom", "movablekeys"], Keys::movable(1, 1, 1, search::georadius_keys), Handler::Write(search::precheck_georadius, search::georadius), "geo", ["@write", "@geo", "@slow"], [], "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point" }
    { "georadius_ro", -6, ["readonly"], Keys::range(1, 1, 1), Handler::Read(search::georadius_ro), "geo", ["@read", "@geo", "@slow"], [], "3.2.10", "A read-only variant for GEORADIUS" }
    { "georadiusbymember", -5, ["write", "denyoom", "movablekeys"], Keys::movable(1, 1, 1, search::georadiusbymember_keys), Handler::Write(search::precheck_georadiusbymember, search::georadiusbymember), "geo", ["@write", "@geo", "@slow"], [], "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member" }
    { "georadiusbymember_ro", -5, ["readonly"], Keys::range(1, 1, 1), Handler::Read(search::georadiusbymember_ro), "geo", ["@read", "@geo", "@slow"], [], "3.2.10", "A read-only variant for GEORADIUSBYMEMBER" }
};
