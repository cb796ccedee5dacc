//! Reply tables for Redis's `geo` group, through the same routing the server uses (every
//! expected reply was taken from Redis 7.0.15), and a property test against a model: GEOADD
//! counts and positions, GEODIST, and GEOSEARCH BYRADIUS against a brute-force haversine
//! filter over the stored (decoded) positions.
//!
//! `crates/quorum/tests/parity/geo.redis` replays most of these lines, and more, against
//! Redis itself. Not here: COMMAND INFO rows (`introspection.rs`).

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::{check, render, Harness};
use proptest::prelude::*;
use quorum_resp::Frame;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
const SICILY: &str = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania";
const PALERMO: &str = "[$13.36138933897018433, $38.11555639549629859]";

#[test]
fn geoadd_stores_redis_scores() {
    check(&[
        (SICILY, ":2"),
        ("GEOADD Sicily 13.361389 38.115556 Palermo", ":0"),
        (
            "ZRANGE Sicily 0 -1 WITHSCORES",
            "[$Palermo, $3479099956230698, $Catania, $3479447370796909]",
        ),
        (
            "GEOADD Sicily CH 13.361389 38.115556 Palermo 13.5 38 Palermo 12.5 37.8 Trapani",
            ":2",
        ),
        ("GEOADD Sicily NX 1 1 Palermo 14.2 37.1 Gela", ":1"),
        ("GEOADD Sicily XX 1 1 Nowhere 13.361389 38.115556 Palermo", ":0"),
        ("GEOADD Sicily XX CH 1 1 Nowhere 13.361389 38.115556 Palermo", ":0"),
        ("GEOADD Sicily nx ch ch 14.2 37.1 Gela 15.55 38.19 Messina", ":1"),
        ("ZSCORE Sicily Messina", "$3479616586915276"),
        ("GEOADD Sicily CH 1 2 dup 3 4 dup 5 6 dup", ":3"),
        (
            "GEOPOS Sicily dup",
            "[[$4.99999970197677612, $6.00000055693963219]]",
        ),
        ("GEOADD nokey XX 1 1 a", ":0"),
        ("EXISTS nokey", ":0"),
        // The limits themselves encode past the 52 bits, as in Redis.
        (
            "GEOADD corners 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin",
            ":3",
        ),
        (
            "ZRANGE corners 0 -1 WITHSCORES",
            "[$sw, $0, $origin, $3377699720527872, $ne, $13510798882111488]",
        ),
        (
            "GEOPOS corners ne sw origin",
            "[[$180, $85.0511287799999991], [$-179.99999731779098511, $-85.05112751263942528], [$0.00000268220901489, $0.00000126736058093]]",
        ),
        // Coordinates are read by strtod: hex floats, signs, exponents, subnormals.
        (
            "GEOADD g 0x1p3 0x1.8p1 hex 1E1 +2 exp .5 -.5 frac 4e-320 -0 tiny",
            ":4",
        ),
        (
            "GEOPOS g hex exp",
            "[[$8.00000220537185669, $3.00000091215010656], [$10.00000208616256714, $2.0000001856465488]]",
        ),
    ]);
}

#[test]
fn geoadd_errors_change_nothing() {
    check(&[
        (
            "GEOADD g 180.0000001 0 a",
            "-ERR invalid longitude,latitude pair 180.000000,0.000000",
        ),
        (
            "GEOADD g 0 -85.0511288 a",
            "-ERR invalid longitude,latitude pair 0.000000,-85.051129",
        ),
        (
            "GEOADD g inf 0 a",
            "-ERR invalid longitude,latitude pair inf,0.000000",
        ),
        ("GEOADD g abc 0 a", "-ERR value is not a valid float"),
        ("GEOADD g 1e400 0 a", "-ERR value is not a valid float"),
        ("GEOADD g 1e-400 0 a", "-ERR value is not a valid float"),
        ("GEOADD g \" 1\" 0 a", "-ERR value is not a valid float"),
        ("GEOADD g nan 0 a", "-ERR value is not a valid float"),
        (
            "GEOADD g 1 2 ok 200 0 bad",
            "-ERR invalid longitude,latitude pair 200.000000,0.000000",
        ),
        ("EXISTS g", ":0"),
        (
            "GEOADD g 1 2",
            "-ERR wrong number of arguments for 'geoadd' command",
        ),
        ("GEOADD g NX 1 2", "-ERR syntax error"),
        ("GEOADD g 1 2 a 3", "-ERR syntax error"),
        ("GEOADD g NX XX 1 2 a", "-ERR syntax error"),
        ("GEOADD g GT 1 2 a", "-ERR syntax error"),
        ("GEOADD g GT 1 2", "-ERR value is not a valid float"),
        ("SET str v", "+OK"),
        ("GEOADD str 1 2 a", WRONGTYPE),
        (
            "GEOADD str 200 2 a",
            "-ERR invalid longitude,latitude pair 200.000000,2.000000",
        ),
        ("GEOADD str 1 2 a b", "-ERR syntax error"),
    ]);
}

#[test]
fn geopos_geodist_geohash() {
    check(&[
        (SICILY, ":2"),
        (
            "GEOPOS Sicily Palermo Catania NonExisting",
            &format!("[{PALERMO}, [$15.08726745843887329, $37.50266842333162032], nil*]"),
        ),
        ("GEOPOS Sicily", "[]"),
        ("GEOPOS nokey a b", "[nil*, nil*]"),
        ("GEODIST Sicily Palermo Catania", "$166274.1516"),
        ("GEODIST Sicily Palermo Catania km", "$166.2742"),
        ("GEODIST Sicily Palermo Catania MI", "$103.3182"),
        ("GEODIST Sicily Palermo Catania ft", "$545518.8700"),
        ("GEODIST Sicily Palermo Palermo", "$0.0000"),
        ("GEODIST Sicily Palermo Foo", "nil"),
        ("GEODIST nokey a b", "nil"),
        (
            "GEODIST nokey a b yd",
            "-ERR unsupported unit provided. please use M, KM, FT, MI",
        ),
        (
            "GEODIST Sicily Palermo Catania km extra",
            "-ERR syntax error",
        ),
        (
            "GEOHASH Sicily Palermo Catania NonExisting",
            "[$sqc8b49rny0, $sqdtr74hyu0, nil]",
        ),
        ("GEOHASH nokey a", "[nil]"),
        ("SET str v", "+OK"),
        ("GEOPOS str a", WRONGTYPE),
        ("GEODIST str a b", WRONGTYPE),
        (
            "GEODIST str a b yd",
            "-ERR unsupported unit provided. please use M, KM, FT, MI",
        ),
        ("GEOHASH str a", WRONGTYPE),
        ("GEOADD anti 0 0 a 180 0 b 0.0001 0 c", ":3"),
        ("GEODIST anti a b", "$20020733.6202"),
        ("GEODIST anti a c", "$10.7400"),
    ]);
}

/// Redis decodes any score, including ones GEOADD never writes, through C's conversion of
/// a double to an unsigned 64-bit integer (negative scores wrap, infinities saturate).
#[test]
fn scores_not_written_by_geoadd_decode_as_in_redis() {
    check(&[
        (
            "ZADD odd -1 neg 1.5 frac 1e300 huge inf pinf -inf ninf 9007199254740993 over 0 zero",
            ":7",
        ),
        (
            "GEOPOS odd neg frac huge pinf ninf over zero",
            "[[$180, $85.0511287799999991], [$-179.99999731779098511, $-85.05112497791824921], [$-179.99999731779098511, $-85.05112751263942528], [$-179.99999731779098511, $-85.05112751263942528], [$180, $-85.05112751263942528], [$180, $-85.05112751263942528], [$-179.99999731779098511, $-85.05112751263942528]]",
        ),
        (
            "GEOHASH odd neg frac pinf ninf zero",
            "[$bp05b5048p0, $00bh0hbj210, $00bh0hbj200, $00bh0hbj200, $00bh0hbj200]",
        ),
        ("GEODIST odd neg huge", "$18919844.5891"),
        (
            "GEOSEARCH odd FROMMEMBER ninf BYRADIUS 1 m WITHHASH",
            "[[$over, :9007199254740992]]",
        ),
    ]);
}

#[test]
fn geosearch_shapes_and_options() {
    check(&[
        (
            "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
            ":4",
        ),
        // Without ASC/DESC: the order of the cells searched, then of the scores.
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km", "[$Palermo, $Catania]"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC", "[$Catania, $Palermo]"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km DESC", "[$Palermo, $Catania]"),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH",
            "[[$Catania, $56.4413, :3479447370796909, [$15.08726745843887329, $37.50266842333162032]], [$Palermo, $190.4424, :3479099956230698, [$13.36138933897018433, $38.11555639549629859]], [$edge2, $279.7403, :3481342659049484, [$17.24151045083999634, $38.78813451624225195]], [$edge1, $279.7405, :3479273021651468, [$12.7584877610206604, $38.78813451624225195]]]",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km WITHDIST",
            "[[$Palermo, $0.0000], [$edge1, $91.4007], [$Catania, $166.2742]]",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 124.25 mi WITHDIST ASC",
            "[[$Palermo, $0.0000], [$edge1, $56.7939], [$Catania, $103.3182]]",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 0 m WITHDIST",
            "[[$Palermo, $0.0000]]",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS inf km",
            "[$Palermo, $edge1, $Catania, $edge2]",
        ),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1", "[$Catania]"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY", "[$Palermo]"),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY COUNT 2 DESC WITHDIST",
            "[[$Palermo, $190.4424], [$Catania, $56.4413]]",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 9223372036854775807",
            "[$Catania, $Palermo]",
        ),
        (
            "GEOSEARCH Sicily byradius 200 KM fromlonlat 15 37 withdist desc",
            "[[$Palermo, $190.4424], [$Catania, $56.4413]]",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Catania FROMMEMBER Palermo BYBOX 10 10 km BYBOX 1 1 m",
            "[$Palermo]",
        ),
        ("GEOSEARCH nokey FROMMEMBER a BYRADIUS 1 km", "[]"),
        // Cells wrap around the antimeridian; the poles cannot be reached.
        ("GEOADD world 179.9 0 east -179.9 0 west 0 85.05 north 90 84 north2", ":4"),
        (
            "GEOSEARCH world FROMLONLAT -180 0 BYBOX 100 100 km WITHDIST",
            "[[$west, $11.1227], [$east, $11.1227]]",
        ),
        (
            "GEOSEARCH world FROMLONLAT 0 85.05112878 BYRADIUS 3000 km WITHDIST",
            "[[$north, $0.1256], [$north2, $864.4345]]",
        ),
    ]);
}

#[test]
fn geosearch_errors_in_redis_order() {
    check(&[
        ("GEOADD Sicily 13.361389 38.115556 Palermo", ":1"),
        ("SET str v", "+OK"),
        ("GEOSEARCH str FROMLONLAT 0 0 BYRADIUS 1 yd", WRONGTYPE),
        (
            "GEOSEARCH nokey FROMMEMBER a BYRADIUS -1 km",
            "-ERR radius cannot be negative",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Foo BYRADIUS -1 km",
            "-ERR could not decode requested zset member",
        ),
        (
            "GEOSEARCH Sicily BYRADIUS -1 km FROMMEMBER Foo",
            "-ERR radius cannot be negative",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 1 2 BYRADIUS 1 km",
            "-ERR syntax error",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 km BYBOX 1 1 km",
            "-ERR syntax error",
        ),
        (
            "GEOSEARCH Sicily BYRADIUS 1 km WITHDIST",
            "-ERR wrong number of arguments for 'geosearch' command",
        ),
        (
            "GEOSEARCH Sicily BYRADIUS 1 km WITHDIST WITHHASH",
            "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
        ),
        (
            "geoSearch Sicily FROMLONLAT 1 2 WITHDIST WITHHASH",
            "-ERR exactly one of BYRADIUS and BYBOX can be specified for geoSearch",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1",
            "-ERR syntax error",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 km ANY",
            "-ERR the ANY argument requires COUNT argument",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 km COUNT 0",
            "-ERR COUNT must be > 0",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 km COUNT abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 km COUNT",
            "-ERR syntax error",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 km STOREDIST",
            "-ERR syntax error",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 2 90 BYRADIUS 1 km",
            "-ERR invalid longitude,latitude pair 2.000000,90.000000",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS x km",
            "-ERR need numeric radius",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1e400 km",
            "-ERR need numeric radius",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYRADIUS 1 yd",
            "-ERR unsupported unit provided. please use M, KM, FT, MI",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYBOX 1 x km",
            "-ERR need numeric height",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 1 2 BYBOX -1 1 km",
            "-ERR height or width cannot be negative",
        ),
    ]);
}

#[test]
fn geosearchstore_replaces_or_deletes_the_destination() {
    check(&[
        (
            "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1",
            ":3",
        ),
        ("GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km", ":2"),
        (
            "ZRANGE dst 0 -1 WITHSCORES",
            "[$Palermo, $3479099956230698, $Catania, $3479447370796909]",
        ),
        (
            "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST DESC COUNT 1",
            ":1",
        ),
        ("ZRANGE dst 0 -1 WITHSCORES", "[$Palermo, $190.44242984775784]"),
        ("GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1 m", ":0"),
        ("EXISTS dst", ":0"),
        ("SET dst v", "+OK"),
        ("EXPIRE dst 1000", ":1"),
        (
            "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY",
            ":1",
        ),
        ("TYPE dst", "+zset"),
        ("TTL dst", ":-1"),
        ("GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 200 km", ":0"),
        ("EXISTS dst", ":0"),
        (
            "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
            "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        (
            "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
            "-ERR syntax error",
        ),
        (
            "GEOSEARCHSTORE dst Sicily FROMMEMBER Foo BYRADIUS 200 km",
            "-ERR could not decode requested zset member",
        ),
        ("SET str v", "+OK"),
        ("GEOSEARCHSTORE dst str FROMLONLAT 15 37 BYRADIUS 200 km", WRONGTYPE),
        (
            "GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 10 km",
            ":1",
        ),
        ("ZRANGE Sicily 0 -1", "[$Palermo]"),
    ]);
}

#[test]
fn georadius_family() {
    check(&[
        (SICILY, ":2"),
        (
            "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH",
            &format!("[[$Palermo, $190.4424, :3479099956230698, {PALERMO}], [$Catania, $56.4413, :3479447370796909, [$15.08726745843887329, $37.50266842333162032]]]"),
        ),
        ("GEORADIUS Sicily 15 37 200 km COUNT 1 ANY", "[$Palermo]"),
        // The last STORE or STOREDIST wins.
        ("GEORADIUS Sicily 15 37 200 km STORE a STOREDIST dst COUNT 1", ":1"),
        // The harness prints doubles shortest; clients get %.17g, 56.441257870158204.
        ("ZRANGE dst 0 -1 WITHSCORES", "[$Catania, $56.4412578701582]"),
        ("EXISTS a", ":0"),
        ("GEORADIUS Sicily 15 37 200 km STORE dst", ":2"),
        (
            "ZRANGE dst 0 -1 WITHSCORES",
            "[$Palermo, $3479099956230698, $Catania, $3479447370796909]",
        ),
        ("GEORADIUS nokey 15 37 200 km STORE dst", ":0"),
        ("EXISTS dst", ":0"),
        ("GEORADIUS nokey 15 37 -1 km", "-ERR radius cannot be negative"),
        (
            "GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST",
            "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        ("GEORADIUS Sicily 15 37 200 km FROMMEMBER Palermo", "-ERR syntax error"),
        ("GEORADIUS Sicily 15 37 200 km STORE", "-ERR syntax error"),
        (
            "GEORADIUS_RO Sicily 15 37 200 km COUNT 1 DESC WITHCOORD",
            &format!("[[$Palermo, {PALERMO}]]"),
        ),
        ("GEORADIUS_RO Sicily 15 37 200 km STORE dst", "-ERR syntax error"),
        (
            "GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST ASC",
            "[[$Palermo, $0.0000], [$Catania, $166.2742]]",
        ),
        ("GEORADIUSBYMEMBER Sicily Palermo 200 km STOREDIST dst", ":2"),
        ("ZRANGE dst 0 -1 WITHSCORES", "[$Palermo, $0, $Catania, $166.27415156960032]"),
        // A missing member is reported before anything after it...
        (
            "GEORADIUSBYMEMBER Sicily Foo -200 yd COUNT 0",
            "-ERR could not decode requested zset member",
        ),
        ("GEORADIUSBYMEMBER Sicily Palermo -200 km", "-ERR radius cannot be negative"),
        // ...and without a set the radius is not even read.
        ("GEORADIUSBYMEMBER nokey Palermo -200 yd", "[]"),
        ("GEORADIUSBYMEMBER nokey Palermo -200 yd STORE dst", ":0"),
        ("EXISTS dst", ":0"),
        ("GEORADIUSBYMEMBER nokey Palermo 200 km COUNT 0", "-ERR COUNT must be > 0"),
        ("GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STORE dst", "-ERR syntax error"),
        ("GEORADIUSBYMEMBER_RO nokey Foo -1 yd", "[]"),
        ("SET str v", "+OK"),
        ("GEORADIUS str 15 37 200 km", WRONGTYPE),
        ("GEORADIUS_RO str 15 37 200 km", WRONGTYPE),
        ("GEORADIUSBYMEMBER_RO str Foo 200 km", WRONGTYPE),
    ]);
}

/// Where quorum knowingly differs from Redis: a write form's arguments are checked before
/// the source key's type (Redis answers WRONGTYPE first). Not in the parity file.
#[test]
fn write_forms_check_arguments_before_the_source_type() {
    check(&[
        ("@local", ""),
        ("SET str v", "+OK"),
        (
            "GEORADIUS str 15 37 200 km COUNT 0",
            "-ERR COUNT must be > 0",
        ),
        ("GEORADIUS_RO str 15 37 200 km COUNT 0", WRONGTYPE),
        (
            "GEOSEARCHSTORE dst str FROMLONLAT 1 2 BYRADIUS 1 yd",
            "-ERR unsupported unit provided. please use M, KM, FT, MI",
        ),
        // After a member lookup the rest depends on the set: apply reads it as Redis does.
        ("GEORADIUSBYMEMBER str m 200 yd", WRONGTYPE),
        (
            "GEOSEARCHSTORE dst str FROMMEMBER m BYRADIUS 1 yd",
            WRONGTYPE,
        ),
    ]);
}

/// Equal distances: all results are sorted by glibc's merge sort (stable), the first COUNT
/// of more by Redis's `pqsort` (not stable).
#[test]
fn equal_distances_order_as_in_redis() {
    check(&[
        (
            "GEOADD few 1 1 a 1 1 b 1 1 c 1 1 d 1 1 e 1 1 f 1 1 g 1 1 h 1.001 1 i",
            ":9",
        ),
        (
            "GEOSEARCH few FROMLONLAT 1 1 BYRADIUS 1 km ASC",
            "[$a, $b, $c, $d, $e, $f, $g, $h, $i]",
        ),
        (
            "GEOSEARCH few FROMLONLAT 1 1 BYRADIUS 1 km DESC",
            "[$i, $a, $b, $c, $d, $e, $f, $g, $h]",
        ),
        (
            "GEOSEARCH few FROMLONLAT 1 1 BYRADIUS 1 km COUNT 2",
            "[$a, $b]",
        ),
        (
            "GEOSEARCH few FROMLONLAT 1 1 BYRADIUS 1 km COUNT 8 DESC",
            "[$i, $b, $c, $d, $a, $f, $g, $h]",
        ),
        (
            "GEOSEARCH few FROMLONLAT 1.001 1 BYRADIUS 1 km COUNT 5",
            "[$i, $b, $c, $d, $a]",
        ),
    ]);
}

/// Redis's cell estimate can leave out a point well inside a large radius near the poles;
/// quorum searches the same cells, so it misses the same point.
#[test]
fn redis_cells_can_miss_points_near_the_poles() {
    check(&[
        ("GEOADD pk -1.9380413991782715 79.66797520982577 m0", ":1"),
        (
            "GEOSEARCH pk FROMLONLAT 0 79.66797520982577 BYRADIUS 1244072.724367036 m",
            "[]",
        ),
        (
            "GEOSEARCH pk FROMLONLAT 0 79.66797520982577 BYRADIUS 1000000 m WITHDIST",
            "[[$m0, $38659.6115]]",
        ),
        // A point on the east limit encodes past the 52 bits: found only from there.
        ("GEOADD pk 180 0 east", ":1"),
        ("GEOSEARCH pk FROMLONLAT 178.5 0 BYRADIUS 200 km", "[]"),
        (
            "GEOSEARCH pk FROMLONLAT 180 0 BYRADIUS 10 km WITHDIST",
            "[[$east, $0.0001]]",
        ),
    ]);
}

#[test]
fn key_finders_match_redis_key_specs() {
    check(&[
        ("COMMAND GETKEYS georadius k 1 2 3 m", "[$k]"),
        ("COMMAND GETKEYS georadius k 1 2 3 m STORE d", "[$k, $d]"),
        (
            "COMMAND GETKEYS georadius k 1 2 3 m STORE d STOREDIST e COUNT 1",
            "[$k, $d, $e]",
        ),
        (
            "COMMAND GETKEYS georadiusbymember k m 3 m STOREDIST d",
            "[$k, $d]",
        ),
        (
            "COMMAND GETKEYS geosearchstore d k FROMLONLAT 1 2 BYRADIUS 3 m",
            "[$d, $k]",
        ),
        ("COMMAND GETKEYS geoadd k 1 2 m", "[$k]"),
    ]);
}

// --- Property test against a model ---------------------------------------------------------

/// Redis's latitude limit.
const LAT_LIMIT: f64 = 85.05112878;

/// The score Redis stores, computed independently of the implementation: the cell indexes
/// of 26 bits per coordinate, interleaved with the longitude on the odd bits.
fn model_score(lon: f64, lat: f64) -> f64 {
    let cells = f64::from(1u32 << 26);
    let lat_index = ((lat + LAT_LIMIT) / (2.0 * LAT_LIMIT) * cells) as u64;
    let lon_index = ((lon + 180.0) / 360.0 * cells) as u64;
    let mut bits = 0u64;
    for i in 0..27 {
        bits |= ((lat_index >> i) & 1) << (2 * i);
        bits |= ((lon_index >> i) & 1) << (2 * i + 1);
    }
    bits as f64
}

/// The haversine distance in metres on Redis's sphere.
fn haversine(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_372_797.560856;
    let (lat1, lat2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (lon2 - lon1).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        option: &'static str,
        points: Vec<(usize, f64, f64)>,
    },
    Remove(usize),
    Position(usize),
    Distance(usize, usize),
    Search {
        lon: f64,
        lat: f64,
        radius: f64,
        unit: (&'static str, f64),
    },
}

/// Points near an anchor (so searches find something), with the odd one anywhere.
fn point(anchor: (f64, f64)) -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        4 => (-2.0..2.0f64, -2.0..2.0f64).prop_map(move |(dx, dy)| {
            ((anchor.0 + dx).clamp(-180.0, 180.0), (anchor.1 + dy).clamp(-LAT_LIMIT, LAT_LIMIT))
        }),
        1 => (-180.0..=180.0f64, -LAT_LIMIT..=LAT_LIMIT),
    ]
}

fn op(anchor: (f64, f64)) -> impl Strategy<Value = Op> {
    let members = 0..12usize;
    let units = prop::sample::select(vec![
        ("m", 1.0),
        ("km", 1000.0),
        ("mi", 1609.34),
        ("ft", 0.3048),
    ]);
    prop_oneof![
        4 => (
            prop::sample::select(vec!["", "NX", "XX", "CH", "XX CH"]),
            prop::collection::vec((members.clone(), point(anchor)), 1..6),
        )
            .prop_map(|(option, points)| Op::Add {
                option,
                points: points.into_iter().map(|(m, (lon, lat))| (m, lon, lat)).collect(),
            }),
        1 => members.clone().prop_map(Op::Remove),
        1 => members.clone().prop_map(Op::Position),
        1 => (members.clone(), members).prop_map(|(a, b)| Op::Distance(a, b)),
        // Radii up to 1000 km: beyond, Redis's nine cells can miss points near the poles
        // (see `redis_cells_can_miss_points_near_the_poles`), and quorum's miss them too.
        3 => (point(anchor), 0.0..6.0f64, units).prop_map(|((lon, lat), exponent, unit)| {
            Op::Search { lon, lat, radius: 10f64.powf(exponent) / unit.1, unit }
        }),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    (-180.0..=180.0f64, -85.0..=85.0f64)
        .prop_flat_map(|anchor| prop::collection::vec(op(anchor), 1..40))
}

fn run(h: &mut Harness, line: String) -> Frame {
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|w| Bytes::from(w.to_string()))
        .collect();
    h.run_args(&args)
}

fn bulk_f64(frame: &Frame) -> f64 {
    match frame {
        Frame::Bulk(b) => std::str::from_utf8(b).unwrap().parse().unwrap(),
        other => panic!("not a bulk string: {}", render(other)),
    }
}

/// The stored position of `member`, read back with GEOPOS.
fn position(h: &mut Harness, member: usize) -> Option<(f64, f64)> {
    match run(h, format!("GEOPOS k m{member}")) {
        Frame::Array(items) => match &items[0] {
            Frame::Array(pair) => Some((bulk_f64(&pair[0]), bulk_f64(&pair[1]))),
            Frame::NullArray => None,
            other => panic!("GEOPOS item {}", render(other)),
        },
        other => panic!("GEOPOS {}", render(&other)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// GEOADD's counts and scores follow a model (member -> score); positions round-trip
    /// within a cell; GEODIST is the haversine distance of the stored positions; GEOSEARCH
    /// BYRADIUS finds exactly the members a brute-force haversine filter over the stored
    /// positions keeps (but for distances within 1e-9 of the radius), nearest first.
    #[test]
    fn geo_commands_follow_the_model(ops in ops()) {
        let mut h = Harness::default();
        let mut model: BTreeMap<usize, (f64, (f64, f64))> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Add { option, points } => {
                    let (nx, xx, ch) = (option.contains("NX"), option.contains("XX"), option.contains("CH"));
                    let mut counted = 0;
                    for &(m, lon, lat) in &points {
                        let score = model_score(lon, lat);
                        match model.get(&m) {
                            Some(_) if nx => {}
                            Some(&(old, _)) if old == score => {}
                            Some(_) => {
                                counted += i64::from(ch);
                                model.insert(m, (score, (lon, lat)));
                            }
                            None if xx => {}
                            None => {
                                counted += 1;
                                model.insert(m, (score, (lon, lat)));
                            }
                        }
                    }
                    let words: Vec<String> = points
                        .iter()
                        .map(|(m, lon, lat)| format!("{lon} {lat} m{m}"))
                        .collect();
                    let line = format!("GEOADD k {option} {}", words.join(" ")).replace("  ", " ");
                    prop_assert_eq!(run(&mut h, line), Frame::Integer(counted));
                }
                Op::Remove(m) => {
                    let removed = i64::from(model.remove(&m).is_some());
                    prop_assert_eq!(run(&mut h, format!("ZREM k m{m}")), Frame::Integer(removed));
                }
                Op::Position(m) => {
                    let got = position(&mut h, m);
                    match (model.get(&m), got) {
                        (None, None) => {}
                        (Some(&(score, (lon, lat))), Some((glon, glat))) => {
                            // A cell is 360 / 2^26 degrees wide: ~5.4e-6.
                            prop_assert!((lon - glon).abs() < 6e-6 && (lat - glat).abs() < 6e-6);
                            prop_assert_eq!(
                                run(&mut h, format!("ZSCORE k m{m}")),
                                Frame::Double(score)
                            );
                        }
                        (expected, got) => prop_assert!(false, "m{m}: {expected:?} vs {got:?}"),
                    }
                }
                Op::Distance(a, b) => {
                    let reply = run(&mut h, format!("GEODIST k m{a} m{b}"));
                    if model.contains_key(&a) && model.contains_key(&b) {
                        let (pa, pb) = (position(&mut h, a).unwrap(), position(&mut h, b).unwrap());
                        let expected = haversine(pa.0, pa.1, pb.0, pb.1);
                        prop_assert!((bulk_f64(&reply) - expected).abs() <= 1e-4 + expected * 1e-9);
                    } else {
                        prop_assert_eq!(reply, Frame::Null);
                    }
                }
                Op::Search { lon, lat, radius, unit } => {
                    let (unit, meters_per_unit) = unit;
                    let reply = run(
                        &mut h,
                        format!("GEOSEARCH k FROMLONLAT {lon} {lat} BYRADIUS {radius} {unit} WITHDIST ASC"),
                    );
                    let Frame::Array(items) = reply else {
                        return Err(TestCaseError::fail(format!("GEOSEARCH {}", render(&reply))));
                    };
                    let found: Vec<(String, f64)> = items
                        .iter()
                        .map(|item| match item {
                            Frame::Array(pair) => (render(&pair[0])[1..].to_string(), bulk_f64(&pair[1])),
                            other => panic!("item {}", render(other)),
                        })
                        .collect();
                    let limit = radius * meters_per_unit;
                    // Points on the east or north limit (180, 85.05112878) encode past the
                    // 52 bits, outside every cell: Redis's searches never find them, nor
                    // do quorum's.
                    let in_cells: Vec<usize> = model
                        .iter()
                        .filter(|(_, &(score, _))| score < (1u64 << 52) as f64)
                        .map(|(&m, _)| m)
                        .collect();
                    for m in in_cells {
                        let (plon, plat) = position(&mut h, m).unwrap();
                        let d = haversine(lon, lat, plon, plat);
                        if (d - limit).abs() <= 1e-9 * limit {
                            continue;
                        }
                        let name = format!("m{m}");
                        let hit = found.iter().find(|(n, _)| *n == name);
                        prop_assert_eq!(hit.is_some(), d <= limit, "m{} at {} m, radius {} m", m, d, limit);
                        if let Some((_, reported)) = hit {
                            prop_assert!((reported * meters_per_unit - d).abs() <= 1e-4 * meters_per_unit + d * 1e-9);
                        }
                    }
                    prop_assert!(found.windows(2).all(|w| w[0].1 <= w[1].1), "not nearest first");
                }
            }
        }
    }
}
