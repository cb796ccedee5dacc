//! Redis's `hyperloglog` group: PFADD, PFCOUNT, PFMERGE over HyperLogLog values stored as
//! strings in Redis's own representation (`sketch.rs`), so values move between Redis and
//! quorum with GET and SET and count the same on both.
//!
//! One deliberate difference: PFCOUNT of a single key is a read here. Redis writes the
//! estimate it computes into the value's header (a cache: the last 8 header bytes) and
//! propagates that as a write; quorum computes the estimate again instead (the reply is the
//! same) and never writes from a read. So after a PFCOUNT the bytes GET returns may differ
//! from Redis's in those cache bytes only: Redis then has the estimate with the top bit
//! clear, quorum keeps the stale mark (and later PFADDs keep whatever cache bytes each had).
//! A cache that is valid in the stored bytes (a value copied from Redis) is answered as is,
//! as Redis does.
//!
//! PFDEBUG and PFSELFTEST (Redis's internal debugging commands) are not provided.
//!
//! Not here: the representation and the estimator (`sketch.rs`, `sparse.rs`).

mod sketch;
mod sparse;

use bytes::Bytes;
use quorum_keyspace::Keyspace;
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use crate::parse::arg;
use crate::string::{get_string, store_keep_ttl};
use crate::table::{command_rows, no_precheck, CommandSpec, Handler, Keys};
use crate::{ReadCx, Reply, WriteCx};
use sketch::{Corrupt, REGISTERS};

/// This group's rows of the command table.
pub(crate) static COMMANDS: &[CommandSpec] = command_rows! {
    { "pfadd", -2, ["write", "denyoom", "fast"], Keys::range(1, 1, 1), Handler::Write(no_precheck, pfadd), "hyperloglog", ["@write", "@hyperloglog", "@fast"], [], "2.8.9", "Adds the specified elements to the specified HyperLogLog." }
    { "pfcount", -2, ["readonly"], Keys::range(1, -1, 1), Handler::Read(pfcount), "hyperloglog", ["@read", "@hyperloglog", "@slow"], [], "2.8.9", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)." }
    { "pfmerge", -2, ["write", "denyoom"], Keys::range(1, -1, 1), Handler::Write(no_precheck, pfmerge), "hyperloglog", ["@write", "@hyperloglog", "@slow"], [], "2.8.9", "Merge N different HyperLogLogs into a single one." }
};

/// A string that is not an HLL: `-WRONGTYPE Key is not a valid HyperLogLog string value.`
fn not_hll() -> ErrorReply {
    ErrorReply::from_static("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

/// An HLL whose sparse opcodes do not add up: `-INVALIDOBJ Corrupted HLL object detected`.
fn corrupt(_: Corrupt) -> ErrorReply {
    ErrorReply::from_static("INVALIDOBJ Corrupted HLL object detected")
}

/// The HLL under `key`: `None` when absent, `WRONGTYPE` for another type or a string that
/// is not an HLL.
fn get_hll<'a>(ks: &'a Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'a Bytes>, ErrorReply> {
    match get_string(ks, key, now_ms)? {
        Some(bytes) if !sketch::is_hll(bytes) => Err(not_hll()),
        found => Ok(found),
    }
}

/// PFADD key [element ...]: 1 when a register changed or the key was created, else 0.
///
/// A corrupted value fails at the first element that reaches the damage; the elements
/// before it stay added, as in Redis (which edits the value in place as it goes).
pub(crate) fn pfadd(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let (mut hll, created) = match get_hll(cx.ks, key, cx.now_ms)? {
        None => (sparse::new(), true),
        Some(bytes) => (bytes.to_vec(), false),
    };
    let mut updated = created;
    let mut failure = None;
    for element in &args[2..] {
        match sketch::add(&mut hll, element) {
            Ok(changed) => updated |= changed,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        let unchanged = get_string(cx.ks, key, cx.now_ms)?.is_some_and(|b| b[..] == hll[..]);
        if !unchanged {
            store_keep_ttl(cx.ks, key, hll.into());
        }
        return Err(corrupt(e));
    }
    if updated {
        sketch::invalidate_cache(&mut hll);
        store_keep_ttl(cx.ks, key, hll.into());
    }
    Ok(Frame::Integer(i64::from(updated)))
}

/// The registers of the union of `keys` (missing keys are empty HLLs), and whether any of
/// them is dense.
fn union(
    ks: &Keyspace,
    keys: &[Bytes],
    now_ms: u64,
) -> Result<(Box<[u8; REGISTERS]>, bool), ErrorReply> {
    let mut max = Box::new([0u8; REGISTERS]);
    let mut any_dense = false;
    for key in keys {
        if let Some(hll) = get_hll(ks, key, now_ms)? {
            any_dense |= sketch::is_dense(hll);
            sketch::merge_into(&mut max, hll).map_err(corrupt)?;
        }
    }
    Ok((max, any_dense))
}

/// PFCOUNT key [key ...]: the estimate for one key (its cached value when the header holds
/// a valid one), or for the union of several, computed without writing anything.
pub(crate) fn pfcount(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    if args.len() > 2 {
        let (max, _) = union(cx.ks, &args[1..], cx.now_ms)?;
        let estimate = sketch::estimate(&sketch::raw_histogram(&max));
        return Ok(Frame::Integer(estimate as i64));
    }
    let Some(hll) = get_hll(cx.ks, arg(args, 1)?, cx.now_ms)? else {
        return Ok(Frame::Integer(0));
    };
    // Redis would store a computed estimate in the header here; see the module doc.
    let estimate = match sketch::cached_cardinality(hll) {
        Some(cached) => cached,
        None => sketch::estimate(&sketch::histogram(hll).map_err(corrupt)?),
    };
    Ok(Frame::Integer(estimate as i64))
}

/// PFMERGE dest [source ...]: `dest` becomes the union of itself and the sources; it is
/// created when absent, and becomes dense when any input is.
pub(crate) fn pfmerge(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let dest = arg(args, 1)?;
    let (max, any_dense) = union(cx.ks, &args[1..], cx.now_ms)?;
    let mut hll = match get_hll(cx.ks, dest, cx.now_ms)? {
        Some(bytes) => bytes.to_vec(),
        None => sparse::new(),
    };
    if any_dense {
        sparse::to_dense(&mut hll).map_err(corrupt)?;
    }
    sketch::raise_all(&mut hll, &max);
    store_keep_ttl(cx.ks, dest, hll.into());
    Ok(Frame::ok())
}
