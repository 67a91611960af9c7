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

/// What applies at a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneReport {
    /// Great-circle distance to the nearest boundary line, statute miles.
    pub distance_to_line_miles: f64,
    pub nearest: BoundaryKind,
    /// Distance to the external boundary as the settings read it, statute miles.
    pub distance_to_boundary_miles: f64,
    /// The reasonable distance in force, statute miles.
    pub reasonable_distance_miles: f64,
    /// Within the reasonable distance: warrantless boarding and search of vehicles
    /// (8 U.S.C. 1357(a)(3); 8 CFR 287.1(a)(2)).
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

/// The boundary lines, indexed for nearest-segment queries.
pub struct Boundary {
    tree: RTree<Segment>,
}

fn unit(lat: f64, lon: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

impl Boundary {
    /// Reads the GeoJSON boundary lines (a FeatureCollection of MultiLineStrings whose
    /// `properties.kind` is `land_border_canada`, `land_border_mexico`, `coastline` or
    /// `coastline_pr`).
    pub fn from_geojson(text: &str) -> Result<Self, GeometryError> {
        let c: Collection = serde_json::from_str(text).map_err(|e| GeometryError(e.to_string()))?;
        let mut segments = Vec::new();
        for f in c.features {
            let kind = match f.properties.kind.as_str() {
                "land_border_canada" => BoundaryKind::LandBorderCanada,
                "land_border_mexico" => BoundaryKind::LandBorderMexico,
                "coastline" | "coastline_pr" => BoundaryKind::Coastline,
                other => return Err(GeometryError(format!("unknown boundary kind {other:?}"))),
            };
            for line in f.geometry.coordinates {
                for w in line.windows(2) {
                    let (a, b) = (unit(w[0][1], w[0][0]), unit(w[1][1], w[1][0]));
                    segments.push(Segment::new(Line::new(a, b), kind));
                }
            }
        }
        if segments.is_empty() {
            return Err(GeometryError("no boundary segments".into()));
        }
        Ok(Boundary { tree: RTree::bulk_load(segments) })
    }

    /// Nearest boundary line and the great-circle distance to it, in metres. Segments are
    /// chords between unit vectors; for segments of a few kilometres the chord lies within
    /// millimetres of the arc, so the nearest chord is the nearest arc.
    pub fn nearest(&self, lat: f64, lon: f64) -> (f64, BoundaryKind) {
        let p = unit(lat, lon);
        let seg = self.tree.nearest_neighbor(p).expect("tree is not empty");
        let chord = seg.geom().distance_2(&p).sqrt();
        (2.0 * EARTH_RADIUS_M * (chord / 2.0).min(1.0).asin(), seg.data)
    }

    /// Number of boundary segments.
    pub fn segments(&self) -> usize {
        self.tree.size()
    }

    /// The same answer as [`Boundary::nearest`] by scanning every segment (a benchmark and
    /// test baseline).
    pub fn nearest_by_scan(&self, lat: f64, lon: f64) -> (f64, BoundaryKind) {
        let p = unit(lat, lon);
        let best = self
            .tree
            .iter()
            .map(|s| (s.geom().distance_2(&p), s.data))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("tree is not empty");
        (2.0 * EARTH_RADIUS_M * (best.0.sqrt() / 2.0).min(1.0).asin(), best.1)
    }

    /// What the border-zone rules say at a point.
    pub fn report(&self, lat: f64, lon: f64, settings: ZoneSettings, sector_distance_miles: Option<f64>) -> ZoneReport {
        let (m, nearest) = self.nearest(lat, lon);
        let line_miles = m / STATUTE_MILE_M;
        let sea = match (nearest, settings.coastal_measure) {
            (BoundaryKind::Coastline, CoastalMeasure::TerritorialSeaLimit) => {
                TERRITORIAL_SEA_NM * NAUTICAL_MILE_M / STATUTE_MILE_M
            }
            _ => 0.0,
        };
        let air_mile = match settings.air_mile {
            AirMile::Statute => 1.0,
            AirMile::Nautical => NAUTICAL_MILE_M / STATUTE_MILE_M,
        };
        let reasonable = (REASONABLE_DISTANCE_AIR_MILES * air_mile).min(sector_distance_miles.unwrap_or(f64::INFINITY));
        let to_boundary = line_miles + sea;
        ZoneReport {
            distance_to_line_miles: line_miles,
            nearest,
            distance_to_boundary_miles: to_boundary,
            reasonable_distance_miles: reasonable,
            within_reasonable_distance: to_boundary <= reasonable,
            within_private_land_distance: to_boundary <= PRIVATE_LAND_MILES,
            settings,
        }
    }
}
