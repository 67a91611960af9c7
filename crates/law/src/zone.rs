//! The border zone: distance from a point to the external boundary of the United States.
//!
//! 8 CFR 287.1(a)(1): the external boundary is "the land boundaries and the territorial sea of
//! the United States extending 12 nautical miles from the baselines". 287.1(a)(2): a
//! "reasonable distance" is within 100 air miles of it, or a shorter distance fixed for a
//! sector. 8 U.S.C. 1357(a)(3): private lands (not dwellings) may be accessed within 25 miles.
//!
//! Geometry: `reference/geo/us_border_lines_10m.geojson` (Natural Earth 1:10m via world-atlas,
//! see PROVENANCE.md): the Canada land border including the Great Lakes water boundary, the
//! Mexico land border, and the ocean coastlines (lower 48, Alaska, Hawaii, Puerto Rico). Lake
//! Michigan's shore is not an external boundary and is not in the file. Distances are great-
//! circle distances on a sphere of the mean Earth radius, to the nearest boundary segment.
//!
//! Two readings the law leaves open are settings ([`ZoneSettings`]):
//! - whether an "air mile" is a statute mile (default) or a nautical mile (UNVERIFIED which
//!   the regulation means; reference.md §6, stack-notes §4.6);
//! - whether coastal distances are measured from the outer limit of the 12-nautical-mile
//!   territorial sea (default: the regulation's text makes the territorial sea part of the
//!   boundary) or from the coastline (the baseline) itself. The coastline in the data is
//!   Natural Earth's shoreline, an approximation of the legal baseline.

use rstar::primitives::Line;
use rstar::{PointDistance, RTree};
use serde::{Deserialize, Serialize};

/// Mean Earth radius, metres (IUGG).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
pub const STATUTE_MILE_M: f64 = 1_609.344;
pub const NAUTICAL_MILE_M: f64 = 1_852.0;
/// 8 CFR 287.1(a)(1).
pub const TERRITORIAL_SEA_NM: f64 = 12.0;
/// 8 CFR 287.1(a)(2).
pub const REASONABLE_DISTANCE_AIR_MILES: f64 = 100.0;
/// 8 U.S.C. 1357(a)(3): access to private lands, not dwellings.
pub const PRIVATE_LAND_MILES: f64 = 25.0;

/// What an "air mile" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AirMile {
    Statute,
    Nautical,
}

/// Where coastal distances are measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CoastalMeasure {
    /// From the outer limit of the 12-nautical-mile territorial sea.
    TerritorialSeaLimit,
    /// From the coastline (baseline).
    Coastline,
}

/// The readings of 8 CFR 287.1 in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneSettings {
    pub air_mile: AirMile,
    pub coastal_measure: CoastalMeasure,
}

impl Default for ZoneSettings {
    fn default() -> Self {
        ZoneSettings { air_mile: AirMile::Statute, coastal_measure: CoastalMeasure::TerritorialSeaLimit }
    }
}

/// Kinds of boundary line in the geometry file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BoundaryKind {
    LandBorderCanada,
    LandBorderMexico,
    Coastline,
}

/// Which part of the external boundary is nearest, as the settings read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NearestBoundary {
    LandBorderCanada,
    LandBorderMexico,
    /// The outer limit of the territorial sea.
    TerritorialSea,
    /// The coastline itself (the `coastline` measure).
    Coastline,
}

/// What applies at a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneReport {
    /// Great-circle distance to the nearest land border (Canada or Mexico), statute miles.
    pub distance_to_land_border_miles: f64,
    /// Great-circle distance to the nearest coastline, statute miles.
    pub distance_to_coastline_miles: f64,
    /// The point is at sea (within the territorial sea).
    pub at_sea: bool,
    /// The nearest part of the external boundary.
    pub nearest: NearestBoundary,
    /// Distance to the external boundary as the settings read it, statute miles: the nearest
    /// of the land border and the coastal boundary, each measured on its own.
    pub distance_to_boundary_miles: f64,
    /// The reasonable distance in force, statute miles.
    pub reasonable_distance_miles: f64,
    /// Within the reasonable distance: warrantless boarding of vehicles (8 U.S.C.
    /// 1357(a)(3); 8 CFR 287.1(a)(2)).
    pub within_reasonable_distance: bool,
    /// Within 25 miles: access to private lands, not dwellings (8 U.S.C. 1357(a)(3)).
    pub within_private_land_distance: bool,
    pub settings: ZoneSettings,
}

/// Why the geometry could not be read.
#[derive(Debug, thiserror::Error)]
#[error("border geometry: {0}")]
pub struct GeometryError(String);

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Props,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Props {
    kind: String,
}

#[derive(Deserialize)]
struct Geometry {
    coordinates: Vec<Vec<[f64; 2]>>,
}

type Segment = rstar::primitives::GeomWithData<Line<[f64; 3]>, BoundaryKind>;

/// The boundary lines, indexed for nearest-segment queries: the land borders and the
/// coastline apart, because the territorial sea is added to one and not the other before
/// the nearer is taken.
pub struct Boundary {
    land: RTree<Segment>,
    coast: RTree<Segment>,
}

fn unit(lat: f64, lon: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

/// Great-circle metres from a squared chord between unit vectors.
fn arc_metres(chord_2: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (chord_2.sqrt() / 2.0).min(1.0).asin()
}

fn nearest_in(tree: &RTree<Segment>, p: [f64; 3]) -> (f64, BoundaryKind) {
    let seg = tree.nearest_neighbor(p).expect("trees are not empty (checked at load)");
    (arc_metres(seg.geom().distance_2(&p)), seg.data)
}

impl Boundary {
    /// Reads the GeoJSON boundary lines (a FeatureCollection of MultiLineStrings whose
    /// `properties.kind` is `land_border_canada`, `land_border_mexico`, `coastline` or
    /// `coastline_pr`).
    pub fn from_geojson(text: &str) -> Result<Self, GeometryError> {
        let c: Collection = serde_json::from_str(text).map_err(|e| GeometryError(e.to_string()))?;
        let (mut land, mut coast) = (Vec::new(), Vec::new());
        for f in c.features {
            let kind = match f.properties.kind.as_str() {
                "land_border_canada" => BoundaryKind::LandBorderCanada,
                "land_border_mexico" => BoundaryKind::LandBorderMexico,
                "coastline" | "coastline_pr" => BoundaryKind::Coastline,
                other => return Err(GeometryError(format!("unknown boundary kind {other:?}"))),
            };
            let into = if kind == BoundaryKind::Coastline { &mut coast } else { &mut land };
            for line in f.geometry.coordinates {
                for w in line.windows(2) {
                    let (a, b) = (unit(w[0][1], w[0][0]), unit(w[1][1], w[1][0]));
                    into.push(Segment::new(Line::new(a, b), kind));
                }
            }
        }
        if land.is_empty() || coast.is_empty() {
            return Err(GeometryError("the land border and the coastline both need segments".into()));
        }
        Ok(Boundary { land: RTree::bulk_load(land), coast: RTree::bulk_load(coast) })
    }

    /// Nearest boundary line of any kind and the great-circle distance to it, in metres.
    /// Segments are chords between unit vectors; for segments of a few kilometres the chord
    /// lies within millimetres of the arc, so the nearest chord is the nearest arc.
    pub fn nearest(&self, lat: f64, lon: f64) -> (f64, BoundaryKind) {
        let p = unit(lat, lon);
        let (l, c) = (nearest_in(&self.land, p), nearest_in(&self.coast, p));
        if l.0 <= c.0 { l } else { c }
    }

    /// Number of boundary segments.
    pub fn segments(&self) -> usize {
        self.land.size() + self.coast.size()
    }

    /// The same answer as [`Boundary::nearest`] by scanning every segment (a benchmark and
    /// test baseline).
    pub fn nearest_by_scan(&self, lat: f64, lon: f64) -> (f64, BoundaryKind) {
        let p = unit(lat, lon);
        let best = self
            .land
            .iter()
            .chain(self.coast.iter())
            .map(|s| (s.geom().distance_2(&p), s.data))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("trees are not empty");
        (arc_metres(best.0), best.1)
    }

    /// What the border-zone rules say at a point. `off_outline`: the point lies off the
    /// county outlines ([`crate::place::Place::off_outline`]); within the territorial sea's
    /// breadth of the coast it is taken to be at sea, farther out on inland water (the Great
    /// Lakes) it is measured as land.
    ///
    /// 8 CFR 287.1(a)(1) makes the boundary "the land boundaries and the territorial sea ...
    /// extending 12 nautical miles from the baselines". With the territorial-sea reading, the
    /// coastal part of the boundary is the sea's outer limit: an inland point is the distance
    /// to the coast plus 12 nautical miles from it (any path to the sea's limit crosses the
    /// coast), a point at sea 12 nautical miles less its distance from the coast. The land
    /// border has no such offset. The boundary's distance is the nearer of the two, taken
    /// after the offset: taking the nearest line first and adding the sea afterwards put El
    /// Cajon, CA (coast 13 miles, Mexico 17.6) at 26.9 miles.
    pub fn report(
        &self,
        lat: f64,
        lon: f64,
        off_outline: bool,
        settings: ZoneSettings,
        sector_distance_miles: Option<f64>,
    ) -> ZoneReport {
        let p = unit(lat, lon);
        let (land_m, land_kind) = nearest_in(&self.land, p);
        let (coast_m, _) = nearest_in(&self.coast, p);
        let (land, coast) = (land_m / STATUTE_MILE_M, coast_m / STATUTE_MILE_M);
        let sea = TERRITORIAL_SEA_NM * NAUTICAL_MILE_M / STATUTE_MILE_M;
        let at_sea = off_outline && coast < sea;
        let (coastal, coastal_kind) = match (settings.coastal_measure, at_sea) {
            (CoastalMeasure::TerritorialSeaLimit, false) => (coast + sea, NearestBoundary::TerritorialSea),
            (CoastalMeasure::TerritorialSeaLimit, true) => ((sea - coast).max(0.0), NearestBoundary::TerritorialSea),
            (CoastalMeasure::Coastline, _) => (coast, NearestBoundary::Coastline),
        };
        let (to_boundary, nearest) = if land <= coastal {
            let k = match land_kind {
                BoundaryKind::LandBorderCanada => NearestBoundary::LandBorderCanada,
                _ => NearestBoundary::LandBorderMexico,
            };
            (land, k)
        } else {
            (coastal, coastal_kind)
        };
        let air_mile = match settings.air_mile {
            AirMile::Statute => 1.0,
            AirMile::Nautical => NAUTICAL_MILE_M / STATUTE_MILE_M,
        };
        let reasonable = (REASONABLE_DISTANCE_AIR_MILES * air_mile).min(sector_distance_miles.unwrap_or(f64::INFINITY));
        ZoneReport {
            distance_to_land_border_miles: land,
            distance_to_coastline_miles: coast,
            at_sea,
            nearest,
            distance_to_boundary_miles: to_boundary,
            reasonable_distance_miles: reasonable,
            within_reasonable_distance: to_boundary <= reasonable,
            within_private_land_distance: to_boundary <= PRIVATE_LAND_MILES,
            settings,
        }
    }
}
