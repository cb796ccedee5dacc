//! Search areas and distances (Redis's `geohash_helper.c` and `geoWithinShape` of `geo.c`):
//! the circle or box a search covers, the nine geohash cells that cover it, and the
//! haversine distance on a sphere of radius 6372797.560856 m.
//!
//! Ported operation by operation from the C code (same formulas, same order of `f64`
//! operations, the same libm functions), so which points are found and the distances
//! replied are Redis's to the bit.
//!
//! Not here: the geohash bit arithmetic (`hash.rs`), walking a sorted set (`search.rs`).

use super::hash::{self, HashBits, LAT_RANGE, LONG_RANGE};

/// Degrees to radians (`D_R`, `M_PI / 180.0`).
const D_R: f64 = std::f64::consts::PI / 180.0;
/// The Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub(super) const EARTH_RADIUS_IN_METERS: f64 = 6_372_797.560_856;
/// Half the Earth's circumference in Web Mercator metres.
const MERCATOR_MAX: f64 = 20_037_726.37;

fn deg_rad(angle: f64) -> f64 {
    angle * D_R
}

fn rad_deg(angle: f64) -> f64 {
    angle / D_R
}

/// What a search covers around its centre, in the unit the client chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Extent {
    /// BYRADIUS (and the GEORADIUS forms).
    Circle { radius: f64 },
    /// BYBOX: the box's full width and height.
    Box { width: f64, height: f64 },
}

/// Redis's `GeoShape`: a centre (longitude, latitude), an extent, and the metres per unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Shape {
    pub(super) center: [f64; 2],
    pub(super) extent: Extent,
    pub(super) conversion: f64,
}

/// `geohashEstimateStepsByRadius`: the cell size whose nine cells cover the radius.
fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range_meters = range_meters;
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    // Wider cells towards the poles.
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// `geohashBoundingBox`: `[min_lon, min_lat, max_lon, max_lat]` of the shape.
fn bounding_box(shape: &Shape) -> [f64; 4] {
    let [longitude, latitude] = shape.center;
    let (height, width) = match shape.extent {
        Extent::Circle { radius } => (shape.conversion * radius, shape.conversion * radius),
        Extent::Box { width, height } => (
            shape.conversion * (height / 2.0),
            shape.conversion * (width / 2.0),
        ),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    // The box is wider on the side nearer the equator.
    let long_delta = if latitude < 0.0 {
        long_delta_bottom
    } else {
        long_delta_top
    };
    [
        longitude - long_delta,
        latitude - lat_delta,
        longitude + long_delta,
        latitude + lat_delta,
    ]
}

/// `geohashCalculateAreasByShapeWGS84`: the cells to search, in the order Redis searches
/// them (centre, N, S, E, W, NE, NW, SE, SW); cells that cannot hold a match are zero.
pub(super) fn cells_to_search(shape: &Shape) -> [HashBits; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let [longitude, latitude] = shape.center;
    let radius_meters = match shape.extent {
        Extent::Circle { radius } => radius,
        Extent::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps(radius_meters, latitude);
    // The centre always encodes: it was checked against Redis's limits or decoded (and
    // clamped) from a score. Were it not to, nothing would be searched.
    let cell_at = |steps| hash::encode_wgs84(longitude, latitude, steps);
    let Some(mut center) = cell_at(steps) else {
        return [HashBits::default(); 9];
    };
    let mut around = hash::neighbours(center);

    // When the area reaches past the neighbouring cells, one step coarser covers it.
    let area_of = |cell| hash::decode(LONG_RANGE, LAT_RANGE, cell);
    let too_small = match (
        area_of(around.north),
        area_of(around.south),
        area_of(around.east),
        area_of(around.west),
    ) {
        (Some(north), Some(south), Some(east), Some(west)) => {
            north.latitude.max < max_lat
                || south.latitude.min > min_lat
                || east.longitude.max < max_lon
                || west.longitude.min > min_lon
        }
        _ => false,
    };
    if steps > 1 && too_small {
        steps -= 1;
        let Some(coarser) = cell_at(steps) else {
            return [HashBits::default(); 9];
        };
        center = coarser;
        around = hash::neighbours(center);
    }

    // Leave out the neighbours the area does not reach.
    if steps >= 2 {
        if let Some(area) = area_of(center) {
            let none = HashBits::default();
            if area.latitude.min < min_lat {
                (around.south, around.south_west, around.south_east) = (none, none, none);
            }
            if area.latitude.max > max_lat {
                (around.north, around.north_east, around.north_west) = (none, none, none);
            }
            if area.longitude.min < min_lon {
                (around.west, around.south_west, around.north_west) = (none, none, none);
            }
            if area.longitude.max > max_lon {
                (around.east, around.south_east, around.north_east) = (none, none, none);
            }
        }
    }
    [
        center,
        around.north,
        around.south,
        around.east,
        around.west,
        around.north_east,
        around.north_west,
        around.south_east,
        around.south_west,
    ]
}

/// `geohashGetLatDistance`: the distance along a meridian.
fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// `geohashGetDistance`: the haversine great-circle distance in metres.
pub(super) fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// `geoWithinShape`: the point a score stands for and its distance from the centre in
/// metres, when it lies inside the shape.
pub(super) fn within(shape: &Shape, score: f64) -> Option<([f64; 2], f64)> {
    let point = hash::decode_score(score);
    let [x1, y1] = shape.center;
    let [x2, y2] = point;
    match shape.extent {
        Extent::Circle { radius } => {
            let dist = distance(x1, y1, x2, y2);
            // Redis tests `dist > radius` to leave a point out, so a NaN distance is kept.
            let outside = dist > radius * shape.conversion;
            (!outside).then_some((point, dist))
        }
        Extent::Box { width, height } => {
            // geohashGetDistanceIfInRectangle: the latitude condition first (cheaper).
            if lat_distance(y2, y1) > height * shape.conversion / 2.0 {
                return None;
            }
            if distance(x2, y2, x1, y2) > width * shape.conversion / 2.0 {
                return None;
            }
            Some((point, distance(x1, y1, x2, y2)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_matches_redis() {
        // GEODIST Sicily Palermo Catania (Redis's documentation): 166274.1516 m.
        let [lon1, lat1] = hash::decode_score(3_479_099_956_230_698.0);
        let [lon2, lat2] = hash::decode_score(3_479_447_370_796_909.0);
        let d = distance(lon1, lat1, lon2, lat2);
        assert_eq!(format!("{d:.4}"), "166274.1516");
    }

    #[test]
    fn steps_shrink_with_radius_and_towards_the_poles() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(f64::INFINITY, 0.0), 1);
        assert!(estimate_steps(1000.0, 0.0) > estimate_steps(100_000.0, 0.0));
        assert_eq!(
            estimate_steps(1000.0, 0.0),
            estimate_steps(1000.0, 81.0) + 2
        );
    }
}
