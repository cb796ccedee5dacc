//! GEOSEARCH, GEOSEARCHSTORE and the GEORADIUS family, which Redis runs through one
//! function (`georadiusGeneric`): its option grammar and checks in its order, the walk
//! over the nine cells around the centre, the sort by distance and the reply or the stored
//! set.
//!
//! GEORADIUS and GEORADIUSBYMEMBER are writes (their STORE options), answered on apply.
//! A write's precheck parses without the sorted set ([`Source::Unknown`]) up to the first
//! step whose outcome depends on it (reading a member's position): every error before
//! that step is Redis's whatever the set holds, and later ones are left to apply, which
//! refuses what the precheck refuses and then parses again with the set, in Redis's order.
//! So only a source key of another type is reported later than Redis reports it: after
//! the precheck's errors, where Redis answers WRONGTYPE first.
//!
//! Not here: geohash cells and distances (`hash.rs`, `shape.rs`), number texts (`args.rs`).

use bytes::Bytes;
use quorum_keyspace::{Value, ZSetKey, ZSetValue};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::args::{self, coordinate_text, distance_text, long_lat};
use super::hash::{cvttsd2si, decode_score, HashBits};
use super::shape::{self, Extent, Shape};
use super::sort::{compare_ascending, merge_sort, partial_sort};
use crate::parse::{arg, is_keyword, parse_i64};
use crate::typed::get;
use crate::{ReadCx, Reply, WriteCx};

/// Which command of the family (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Radius,
    RadiusRo,
    ByMember,
    ByMemberRo,
    Search,
    SearchStore,
}

impl Form {
    /// Index of the source key.
    fn source_index(self) -> usize {
        if self == Form::SearchStore {
            2
        } else {
            1
        }
    }

    /// Index of the first option.
    fn options_index(self) -> usize {
        match self {
            Form::Radius | Form::RadiusRo => 6,
            Form::ByMember | Form::ByMemberRo => 5,
            Form::Search => 2,
            Form::SearchStore => 3,
        }
    }

    fn geosearch(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }

    /// Whether STORE and STOREDIST `<key>` are options (GEORADIUS, GEORADIUSBYMEMBER).
    fn takes_store_key(self) -> bool {
        matches!(self, Form::Radius | Form::ByMember)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Ascending,
    Descending,
}

/// What the parser knows of the source set.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Nothing: a write's precheck. Parsing stops (successfully) where Redis would read
    /// a member's position, since what follows depends on the set.
    Unknown,
    /// The set, or `None` when the key is absent.
    Known(Option<&'a ZSetValue>),
}

/// A parsed search.
struct Query<'a> {
    shape: Shape,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    sort: Sort,
    /// ANY: stop at `count` matches instead of finding the nearest ones.
    any: bool,
    /// COUNT, or 0 for every match.
    count: i64,
    /// Where to store the result instead of replying it.
    store: Option<&'a Bytes>,
    /// Store distances rather than the members' scores.
    store_dist: bool,
}

/// The position of `member` in `zset` (`longLatFromMember`).
fn member_position(zset: &ZSetValue, member: &[u8]) -> Result<[f64; 2], ErrorReply> {
    zset.score(member)
        .map(decode_score)
        .ok_or_else(|| ErrorReply::from_static("ERR could not decode requested zset member"))
}

/// Parses as `georadiusGeneric`, in its order, stopping at the first error. Without the
/// set ([`Source::Unknown`]) the query may be incomplete: only its errors count.
fn parse<'a>(args: &'a [Bytes], form: Form, source: Source<'_>) -> Result<Query<'a>, ErrorReply> {
    let mut query = Query {
        shape: Shape {
            center: [0.0, 0.0],
            extent: Extent::Circle { radius: 0.0 },
            conversion: 0.0,
        },
        with_dist: false,
        with_hash: false,
        with_coord: false,
        sort: Sort::None,
        any: false,
        count: 0,
        store: None,
        store_dist: false,
    };
    match form {
        Form::Radius | Form::RadiusRo => {
            query.shape.center = long_lat(arg(args, 2)?, arg(args, 3)?)?;
            let (radius, conversion) = args::radius(args.get(4..).unwrap_or_default())?;
            query.shape.extent = Extent::Circle { radius };
            query.shape.conversion = conversion;
        }
        // Without a set Redis reads no radius: the reply is empty whatever it is.
        Form::ByMember | Form::ByMemberRo => match source {
            Source::Unknown => return Ok(query),
            Source::Known(None) => {}
            Source::Known(Some(zset)) => {
                query.shape.center = member_position(zset, arg(args, 2)?)?;
                let (radius, conversion) = args::radius(args.get(3..).unwrap_or_default())?;
                query.shape.extent = Extent::Circle { radius };
                query.shape.conversion = conversion;
            }
        },
        Form::SearchStore => query.store = Some(arg(args, 1)?),
        Form::Search => {}
    }

    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut i = form.options_index();
    while let Some(word) = args.get(i) {
        let left = args.len() - i - 1;
        let is = |name: &str| is_keyword(word, name);
        if is("withdist") {
            query.with_dist = true;
        } else if is("withhash") {
            query.with_hash = true;
        } else if is("withcoord") {
            query.with_coord = true;
        } else if is("any") {
            query.any = true;
        } else if is("asc") {
            query.sort = Sort::Ascending;
        } else if is("desc") {
            query.sort = Sort::Descending;
        } else if is("count") && left >= 1 {
            query.count = parse_i64(&args[i + 1])?;
            if query.count <= 0 {
                return Err(ErrorReply::from_static("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (is("store") || is("storedist")) && left >= 1 && form.takes_store_key() {
            query.store = Some(&args[i + 1]);
            query.store_dist = is("storedist");
            i += 1;
        } else if is("storedist") && form == Form::SearchStore {
            query.store_dist = true;
        } else if is("frommember") && left >= 1 && form.geosearch() && !from_lonlat {
            match source {
                Source::Unknown => return Ok(query),
                Source::Known(None) => {}
                Source::Known(Some(zset)) => {
                    query.shape.center = member_position(zset, &args[i + 1])?;
                }
            }
            from_member = true;
            i += 1;
        } else if is("fromlonlat") && left >= 2 && form.geosearch() && !from_member {
            query.shape.center = long_lat(&args[i + 1], &args[i + 2])?;
            from_lonlat = true;
            i += 2;
        } else if is("byradius") && left >= 2 && form.geosearch() && !by_box {
            let (radius, conversion) = args::radius(&args[i + 1..])?;
            query.shape.extent = Extent::Circle { radius };
            query.shape.conversion = conversion;
            by_radius = true;
            i += 2;
        } else if is("bybox") && left >= 3 && form.geosearch() && !by_radius {
            let (width, height, conversion) = args::box_size(&args[i + 1..])?;
            query.shape.extent = Extent::Box { width, height };
            query.shape.conversion = conversion;
            by_box = true;
            i += 3;
        } else {
            return Err(ErrorReply::syntax());
        }
        i += 1;
    }

    if query.store.is_some() && (query.with_dist || query.with_hash || query.with_coord) {
        let what = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(ErrorReply::new(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if form.geosearch() && !(from_member || from_lonlat) {
        return Err(ErrorReply::new(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if form.geosearch() && !(by_radius || by_box) {
        return Err(ErrorReply::new(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if query.any && query.count == 0 {
        return Err(ErrorReply::from_static(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    Ok(query)
}

/// A member inside the search area.
struct Found {
    member: Bytes,
    score: f64,
    point: [f64; 2],
    /// Metres from the centre.
    dist: f64,
}

/// The members inside the area, cell by cell in Redis's order (`membersOfAllNeighbors`),
/// stopping once `limit` were found (`0`: no limit).
fn collect(zset: &ZSetValue, shape: &Shape, limit: usize) -> Vec<Found> {
    let cells = shape::cells_to_search(shape);
    let enough = |found: &Vec<Found>| limit != 0 && !found.is_empty() && found.len() >= limit;
    let mut found = Vec::new();
    // Index of the cell searched last; 0 (the centre) also means "none", as in Redis.
    let mut last = 0;
    for (i, &cell) in cells.iter().enumerate() {
        // A huge radius makes neighbours repeat: each cell once.
        if cell.is_zero() || (last != 0 && cell == cells[last]) {
            continue;
        }
        if enough(&found) {
            break;
        }
        // The scores of the cell: min <= score < max.
        let min = cell.align52() as f64;
        let max = HashBits {
            bits: cell.bits + 1,
            ..cell
        }
        .align52() as f64;
        for (member, score) in zset.range(ZSetKey::new(min, Bytes::new())..) {
            if score >= max {
                break;
            }
            if let Some((point, dist)) = shape::within(shape, score) {
                found.push(Found {
                    member: member.clone(),
                    score,
                    point,
                    dist,
                });
            }
            if enough(&found) {
                break;
            }
        }
        last = i;
    }
    found
}

/// The matches to answer, in the order Redis answers them.
fn search(zset: &ZSetValue, query: &Query<'_>) -> Vec<Found> {
    let count = usize::try_from(query.count).unwrap_or(usize::MAX);
    let limit = if query.any { count } else { 0 };
    let mut found = collect(zset, &query.shape, limit);
    // COUNT without ANY means the nearest ones.
    let sort = match query.sort {
        Sort::None if count != 0 && !query.any => Sort::Ascending,
        sort => sort,
    };
    let returned = if count == 0 {
        found.len()
    } else {
        found.len().min(count)
    };
    let mut order: Vec<usize> = (0..found.len()).collect();
    let sign = match sort {
        Sort::None => 0,
        Sort::Ascending => 1,
        Sort::Descending => -1,
    };
    if sign != 0 {
        let cmp = |a: usize, b: usize| sign * compare_ascending(found[a].dist, found[b].dist);
        if returned == found.len() {
            merge_sort(&mut order, &cmp);
        } else {
            partial_sort(&mut order, &cmp, 0, returned - 1);
        }
    }
    order.truncate(returned);
    let mut slots: Vec<Option<Found>> = found.drain(..).map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

/// The reply: names, or per match an array of the name and the asked-for details.
fn reply(found: Vec<Found>, query: &Query<'_>) -> Frame {
    let details = [query.with_dist, query.with_hash, query.with_coord];
    let plain = !details.contains(&true);
    let items = found.into_iter().map(|f| {
        if plain {
            return Frame::Bulk(f.member);
        }
        let mut item = vec![Frame::Bulk(f.member)];
        if query.with_dist {
            item.push(Frame::Bulk(distance_text(f.dist / query.shape.conversion)));
        }
        if query.with_hash {
            item.push(Frame::Integer(cvttsd2si(f.score)));
        }
        if query.with_coord {
            let [longitude, latitude] = f.point;
            item.push(Frame::Array(vec![
                Frame::Bulk(coordinate_text(longitude)),
                Frame::Bulk(coordinate_text(latitude)),
            ]));
        }
        Frame::Array(item)
    });
    Frame::Array(items.collect())
}

/// Replaces `destination` (whatever its type, without TTL) by the matches with their
/// scores or distances, or deletes it when there are none; replies how many were stored.
fn store(cx: &mut WriteCx<'_>, destination: &Bytes, found: Vec<Found>, query: &Query<'_>) -> Reply {
    if found.is_empty() {
        cx.ks.remove(destination);
        return Ok(Frame::Integer(0));
    }
    let mut result = ZSetValue::new();
    for f in found {
        let score = if query.store_dist {
            f.dist / query.shape.conversion
        } else {
            f.score
        };
        // Redis asserts here (its server stops); quorum refuses and changes nothing.
        if score.is_nan() {
            return Err(ErrorReply::from_static(
                "ERR resulting score is not a number (NaN)",
            ));
        }
        result.insert(f.member, score);
    }
    let stored = i64::try_from(result.len()).unwrap_or(i64::MAX);
    cx.ks.insert(destination.clone(), Value::ZSet(result), None);
    Ok(Frame::Integer(stored))
}

/// A read form: parse with the set, search, reply.
fn read(cx: &ReadCx<'_>, args: &[Bytes], form: Form) -> Reply {
    let zset = get::<ZSetValue>(cx.ks, arg(args, form.source_index())?, cx.now_ms)?;
    let query = parse(args, form, Source::Known(zset))?;
    Ok(match zset {
        Some(zset) => reply(search(zset, &query), &query),
        None => Frame::Array(Vec::new()),
    })
}

/// A write form: refuse what the precheck refused, then as a read, or store.
fn write(cx: &mut WriteCx<'_>, args: &[Bytes], form: Form) -> Reply {
    parse(args, form, Source::Unknown)?;
    let (query, found) = {
        let zset = get::<ZSetValue>(cx.ks, arg(args, form.source_index())?, cx.now_ms)?;
        let query = parse(args, form, Source::Known(zset))?;
        let found = zset.map(|zset| search(zset, &query));
        (query, found)
    };
    match query.store {
        Some(destination) => store(cx, destination, found.unwrap_or_default(), &query),
        None => Ok(found.map_or(Frame::Array(Vec::new()), |found| reply(found, &query))),
    }
}

/// Keys as Redis 7.0's key specs find them (COMMAND GETKEYS, cluster routing): the source,
/// then the key after the first STORE and the key after the first STOREDIST from `from` on.
/// With STORE given twice the command writes the last one, which Redis does not report
/// either; writing or deleting it needs no lookup first, so nothing depends on it here.
fn keys_after_store_keywords(args: &[Bytes], from: usize) -> Vec<usize> {
    let mut keys = vec![1];
    for keyword in ["store", "storedist"] {
        let found = (from..args.len().saturating_sub(1)).find(|&i| is_keyword(&args[i], keyword));
        keys.extend(found.map(|i| i + 1));
    }
    keys
}

/// GEORADIUS's keys: options start at the sixth argument.
pub(super) fn georadius_keys(args: &[Bytes]) -> Vec<usize> {
    keys_after_store_keywords(args, 6)
}

/// GEORADIUSBYMEMBER's keys: options start at the fifth argument.
pub(super) fn georadiusbymember_keys(args: &[Bytes]) -> Vec<usize> {
    keys_after_store_keywords(args, 5)
}

pub(super) fn precheck_georadius(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args, Form::Radius, Source::Unknown).map(drop)
}

pub(super) fn precheck_georadiusbymember(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args, Form::ByMember, Source::Unknown).map(drop)
}

pub(super) fn precheck_geosearchstore(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse(args, Form::SearchStore, Source::Unknown).map(drop)
}

pub(super) fn georadius(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    write(cx, args, Form::Radius)
}

pub(super) fn georadiusbymember(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    write(cx, args, Form::ByMember)
}

pub(super) fn geosearchstore(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    write(cx, args, Form::SearchStore)
}

pub(super) fn georadius_ro(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, Form::RadiusRo)
}

pub(super) fn georadiusbymember_ro(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, Form::ByMemberRo)
}

pub(super) fn geosearch(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    read(cx, args, Form::Search)
}
