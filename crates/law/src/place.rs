//! Where an action happens, established from coordinates rather than taken from the caller.
//!
//! - **County and state**: the U.S. Census Bureau's county outlines (2017 cartographic
//!   boundary files, 1:10,000,000, via `us-atlas` 3.0.1: `reference/geo/us-atlas-3.0.1/`,
//!   see PROVENANCE.md), 3,231 counties and county equivalents of the 50 states, DC and the
//!   territories, each with its 5-digit FIPS code. A point inside an outline is in that county.
//! - **Time zone**: `tzf-rs` (timezone-boundary-builder's polygons, territorial waters
//!   included) names the IANA zone at the point: El Paso is `America/Denver`, the Navajo
//!   Nation keeps daylight time inside Arizona, and so on, with no table of our own.
//! - **Inside the United States**: a point is inside when it lies in a county outline, or,
//!   off the simplified outline (a shoreline, a river border), when the time-zone polygon
//!   it lies in is one of the United States' zones, which reach to the edge of the
//!   territorial sea and stop at the borders with Mexico and Canada. Tijuana is in
//!   `America/Tijuana`; 50 miles off San Diego is `Etc/GMT+8`: both are outside.
//!   Such a point takes the county nearest to it.
//! - **City**: a city in the jurisdiction table that is made of whole counties (New York City:
//!   its five boroughs) is found from the county.
//!
//! Pure: the data is compiled in; building the index is done once per process.

use rstar::{AABB, Envelope, RTree, RTreeObject};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

pub const COUNTIES: &str = include_str!("../../../reference/geo/us-atlas-3.0.1/counties-10m.json");

/// Where an action happens, as Liaison establishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Two-letter postal code of the state, DC or territory.
    pub state: String,
    /// 5-digit FIPS code of the county or county equivalent.
    pub county_fips: String,
    pub county: String,
    /// IANA time zone at the point.
    pub time_zone: String,
    /// Off the county outline (at sea within the territorial sea, or on a shore or river the
    /// simplified outline misses): the county is the nearest one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub off_outline: bool,
}

/// Why a place could not be established.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlaceError {
    #[error("({lat}, {lon}) is not in the United States (time zone there: {zone})")]
    OutsideUs { lat: f64, lon: f64, zone: String },
}

/// State FIPS codes and postal codes (ANSI INCITS 38:2009; Census Bureau).
const STATES: [(&str, &str); 56] = [
    ("01", "AL"),
    ("02", "AK"),
    ("04", "AZ"),
    ("05", "AR"),
    ("06", "CA"),
    ("08", "CO"),
    ("09", "CT"),
    ("10", "DE"),
    ("11", "DC"),
    ("12", "FL"),
    ("13", "GA"),
    ("15", "HI"),
    ("16", "ID"),
    ("17", "IL"),
    ("18", "IN"),
    ("19", "IA"),
    ("20", "KS"),
    ("21", "KY"),
    ("22", "LA"),
    ("23", "ME"),
    ("24", "MD"),
    ("25", "MA"),
    ("26", "MI"),
    ("27", "MN"),
    ("28", "MS"),
    ("29", "MO"),
    ("30", "MT"),
    ("31", "NE"),
    ("32", "NV"),
    ("33", "NH"),
    ("34", "NJ"),
    ("35", "NM"),
    ("36", "NY"),
    ("37", "NC"),
    ("38", "ND"),
    ("39", "OH"),
    ("40", "OK"),
    ("41", "OR"),
    ("42", "PA"),
    ("44", "RI"),
    ("45", "SC"),
    ("46", "SD"),
    ("47", "TN"),
    ("48", "TX"),
    ("49", "UT"),
    ("50", "VT"),
    ("51", "VA"),
    ("53", "WA"),
    ("54", "WV"),
    ("55", "WI"),
    ("56", "WY"),
    ("60", "AS"),
    ("66", "GU"),
    ("69", "MP"),
    ("72", "PR"),
    ("78", "VI"),
];

/// The postal code of a state FIPS code.
pub fn state_postal(fips: &str) -> Option<&'static str> {
    STATES.iter().find(|(f, _)| *f == fips).map(|(_, p)| *p)
}

/// Whether a two-letter code is a US state, DC or territory.
pub fn is_state_code(code: &str) -> bool {
    STATES.iter().any(|(_, p)| *p == code)
}

/// Whether an IANA zone is one the United States keeps (tzdata `zone1970.tab`, country US,
/// and the zones of its territories). A point at sea inside one of these is in US waters.
pub fn is_us_zone(zone: &str) -> bool {
    const EXACT: [&str; 17] = [
        "America/New_York",
        "America/Detroit",
        "America/Chicago",
        "America/Menominee",
        "America/Denver",
        "America/Boise",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "America/Juneau",
        "America/Sitka",
        "America/Metlakatla",
        "America/Yakutat",
        "America/Nome",
        "America/Adak",
        "Pacific/Honolulu",
        "America/Puerto_Rico",
    ];
    const TERRITORIES: [&str; 4] = ["America/St_Thomas", "Pacific/Guam", "Pacific/Saipan", "Pacific/Pago_Pago"];
    EXACT.contains(&zone)
        || TERRITORIES.contains(&zone)
        || zone.starts_with("America/Indiana/")
        || zone.starts_with("America/Kentucky/")
        || zone.starts_with("America/North_Dakota/")
}

struct County {
    fips: String,
    name: String,
    state: &'static str,
    /// Rings (outer and holes), lon/lat; a point is inside when an odd number of rings
    /// surround it.
    rings: Vec<Vec<[f64; 2]>>,
    /// The county's one time zone, when every vertex of its outline lies in it; `None` when
    /// the outline touches two zones (El Paso's neighbours, the split counties of the
    /// Dakotas, Nebraska, Kansas, Oregon, Idaho ...), which are then looked up point by point.
    zone: Option<String>,
}

struct Boxed {
    index: usize,
    bbox: AABB<[f64; 2]>,
}

impl RTreeObject for Boxed {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.bbox
    }
}

impl rstar::PointDistance for Boxed {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        self.bbox.distance_2(p)
    }
    fn contains_point(&self, p: &[f64; 2]) -> bool {
        self.bbox.contains_point(p)
    }
}

type Edge = rstar::primitives::GeomWithData<rstar::primitives::Line<[f64; 3]>, usize>;

fn unit(lat: f64, lon: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

/// The county outlines and the time-zone finder.
pub struct Places {
    counties: Vec<County>,
    tree: RTree<Boxed>,
    /// Every outline edge as a chord between unit vectors, for the county nearest a point off
    /// the outlines.
    edges: RTree<Edge>,
    zones: tzf_rs::DefaultFinder,
}

#[derive(Deserialize)]
struct Topology {
    transform: Transform,
    objects: Objects,
    arcs: Vec<Vec<[i64; 2]>>,
}

#[derive(Deserialize)]
struct Transform {
    scale: [f64; 2],
    translate: [f64; 2],
}

#[derive(Deserialize)]
struct Objects {
    counties: Collection,
}

#[derive(Deserialize)]
struct Collection {
    geometries: Vec<TopoGeometry>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum TopoGeometry {
    Polygon { id: String, properties: Props, arcs: Vec<Vec<i64>> },
    MultiPolygon { id: String, properties: Props, arcs: Vec<Vec<Vec<i64>>> },
}

#[derive(Deserialize)]
struct Props {
    name: String,
}

/// Why the county outlines could not be read.
#[derive(Debug, thiserror::Error)]
#[error("county outlines: {0}")]
pub struct OutlineError(String);

/// TopoJSON arcs are delta-encoded quantized positions (TopoJSON specification §2.1.3);
/// decode them once to lon/lat.
fn decode_arcs(t: &Topology) -> Vec<Vec<[f64; 2]>> {
    t.arcs
        .iter()
        .map(|arc| {
            let (mut x, mut y) = (0i64, 0i64);
            arc.iter()
                .map(|d| {
                    x += d[0];
                    y += d[1];
                    [
                        x as f64 * t.transform.scale[0] + t.transform.translate[0],
                        y as f64 * t.transform.scale[1] + t.transform.translate[1],
                    ]
                })
                .collect()
        })
        .collect()
}

/// A ring from its arc indexes; a negative index `i` is arc `!i` reversed (§2.2.2.2).
fn ring(arcs: &[Vec<[f64; 2]>], refs: &[i64]) -> Result<Vec<[f64; 2]>, OutlineError> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    for &r in refs {
        let (i, reversed) = if r < 0 { (!r, true) } else { (r, false) };
        let arc = usize::try_from(i).ok().and_then(|i| arcs.get(i)).ok_or_else(|| OutlineError(format!("arc {r}")))?;
        let mut pts = arc.clone();
        if reversed {
            pts.reverse();
        }
        if !out.is_empty() {
            pts.remove(0);
        }
        out.extend(pts);
    }
    Ok(out)
}

impl Places {
    /// Reads the county outlines (TopoJSON, `objects.counties`) and loads the time zones.
    pub fn load(counties_topojson: &str) -> Result<Places, OutlineError> {
        let t: Topology = serde_json::from_str(counties_topojson).map_err(|e| OutlineError(e.to_string()))?;
        let arcs = decode_arcs(&t);
        let mut counties = Vec::with_capacity(t.objects.counties.geometries.len());
        for g in &t.objects.counties.geometries {
            let (id, name, polys): (&str, &str, Vec<&Vec<Vec<i64>>>) = match g {
                TopoGeometry::Polygon { id, properties, arcs } => (id, &properties.name, vec![arcs]),
                TopoGeometry::MultiPolygon { id, properties, arcs } => (id, &properties.name, arcs.iter().collect()),
            };
            let state = id
                .get(..2)
                .and_then(state_postal)
                .ok_or_else(|| OutlineError(format!("county {id}: unknown state FIPS")))?;
            let mut rings = Vec::new();
            for p in polys {
                for r in p {
                    rings.push(ring(&arcs, r)?);
                }
            }
            counties.push(County { fips: id.to_string(), name: name.to_string(), state, rings, zone: None });
        }
        let zones = tzf_rs::DefaultFinder::new();
        for c in &mut counties {
            let mut seen: Option<&str> = None;
            let mut one = true;
            for p in c.rings.iter().flatten() {
                let z = zones.get_tz_name(p[0], p[1]);
                match seen {
                    None => seen = Some(z),
                    Some(s) if s != z => {
                        one = false;
                        break;
                    }
                    _ => {}
                }
            }
            c.zone = seen.filter(|_| one).filter(|z| is_us_zone(z)).map(str::to_string);
        }
        let boxes = counties
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let pts = c.rings.iter().flatten().copied();
                Boxed { index, bbox: AABB::from_points(pts.collect::<Vec<_>>().iter()) }
            })
            .collect();
        let edges = counties
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.rings.iter().flat_map(move |r| {
                    r.windows(2).map(move |w| {
                        Edge::new(rstar::primitives::Line::new(unit(w[0][1], w[0][0]), unit(w[1][1], w[1][0])), i)
                    })
                })
            })
            .collect();
        Ok(Places { counties, tree: RTree::bulk_load(boxes), edges: RTree::bulk_load(edges), zones })
    }

    /// The places of the bundled data, built once per process.
    pub fn bundled() -> &'static Places {
        static PLACES: OnceLock<Places> = OnceLock::new();
        PLACES.get_or_init(|| Places::load(COUNTIES).expect("the bundled county outlines are valid (checked by tests)"))
    }

    /// The IANA zone at a point (an `Etc/GMT±N` zone at sea beyond any territorial sea).
    pub fn time_zone(&self, lat: f64, lon: f64) -> &str {
        self.zones.get_tz_name(lon, lat)
    }

    /// Where a point is: county, state and time zone, or an error outside the United States.
    pub fn locate(&self, lat: f64, lon: f64) -> Result<Place, PlaceError> {
        let p = [lon, lat];
        let inside = self
            .tree
            .locate_all_at_point(p)
            .map(|b| &self.counties[b.index])
            .find(|c| c.rings.iter().filter(|r| ring_contains(r, p)).count() % 2 == 1);
        let (county, off_outline, zone) = match inside {
            // A county wholly in one zone needs no lookup of the point's zone.
            Some(c) => (c, false, c.zone.as_deref().unwrap_or_else(|| self.time_zone(lat, lon))),
            None => {
                let zone = self.time_zone(lat, lon);
                if !is_us_zone(zone) {
                    return Err(PlaceError::OutsideUs { lat, lon, zone: zone.to_string() });
                }
                (self.nearest_county(p), true, zone)
            }
        };
        Ok(Place {
            state: county.state.to_string(),
            county_fips: county.fips.clone(),
            county: county.name.clone(),
            time_zone: zone.to_string(),
            off_outline,
        })
    }

    /// Counties whose outline touches more than one time zone (their points are looked up
    /// one by one).
    pub fn split_zone_counties(&self) -> Vec<&str> {
        self.counties.iter().filter(|c| c.zone.is_none()).map(|c| c.fips.as_str()).collect()
    }

    /// The county whose outline is nearest to `p` (for points just off the outlines).
    fn nearest_county(&self, p: [f64; 2]) -> &County {
        let edge = self.edges.nearest_neighbor(unit(p[1], p[0])).expect("the outlines have edges (checked at load)");
        &self.counties[edge.data]
    }

    /// The county with a FIPS code.
    pub fn county(&self, fips: &str) -> Option<(&str, &'static str)> {
        self.counties.iter().find(|c| c.fips == fips).map(|c| (c.name.as_str(), c.state))
    }

    /// Every county's FIPS code, name, state and outline rings (`[lon, lat]` points), for
    /// drawing maps.
    pub fn outlines(&self) -> impl Iterator<Item = (&str, &str, &'static str, &[Vec<[f64; 2]>])> {
        self.counties.iter().map(|c| (c.fips.as_str(), c.name.as_str(), c.state, c.rings.as_slice()))
    }

    /// Number of counties and county equivalents.
    pub fn counties(&self) -> usize {
        self.counties.len()
    }
}

/// Even-odd ray casting: whether a horizontal ray from `p` crosses the ring an odd number of
/// times.
fn ring_contains(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// Where a decision applies, as established from the facts.
#[derive(Debug, Clone)]
pub struct Where {
    /// The place at the case's location, when a location was given.
    pub place: Option<Place>,
    /// Jurisdiction ids, most local first, each followed by its parents (`NY-NYC`, `NY`).
    pub jurisdictions: Vec<String>,
    /// The IANA zone the hold clock counts days in.
    pub time_zone: jiff::tz::TimeZone,
    pub time_zone_name: String,
    /// The zone is the state's main one (no location and no zone were given) and the state
    /// keeps more than one: the local zone may differ.
    pub time_zone_assumed: bool,
}

/// Why the facts of a case cannot be read as given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FactError {
    #[error(transparent)]
    Place(#[from] PlaceError),
    #[error(
        "jurisdiction {0:?} is not a US state or territory code (two capitals, e.g. \"TX\") nor a jurisdiction in reference/jurisdictions.toml"
    )]
    UnknownJurisdiction(String),
    #[error("time_zone {0:?} is not an IANA time zone name (e.g. \"America/Chicago\")")]
    UnknownTimeZone(String),
    #[error("jurisdiction {stated:?} contradicts the location, which is in {county} County, {state} ({fips})")]
    JurisdictionContradictsPlace { stated: String, state: String, county: String, fips: String },
    #[error("time_zone {stated:?} contradicts the location, whose time zone is {actual}")]
    TimeZoneContradictsPlace { stated: String, actual: String },
    #[error("jurisdictions name more than one state ({0}); give the location instead")]
    SeveralStates(String),
    #[error("{0}")]
    OutOfRange(String),
}

/// The years the law can reason about: a time outside them is an error, not a guess.
const YEARS: std::ops::RangeInclusive<i16> = 1900..=2200;

/// Refuses numbers and times the law cannot read: a courthouse distance that is not a
/// distance, a sector distance that does not shorten the 100 miles, a time outside 1900-2200.
pub fn check_bounds(now: jiff::Timestamp, ctx: &crate::Context) -> Result<(), FactError> {
    let bad = |m: String| Err(FactError::OutOfRange(m));
    if let Some(c) = ctx.courthouse
        && !(c.distance_feet.is_finite() && (0.0..=100_000_000.0).contains(&c.distance_feet))
    {
        return bad(format!("courthouse.distance_feet {} is not a distance in feet", c.distance_feet));
    }
    if let Some(m) = ctx.sector_distance_miles
        && !(m.is_finite() && m > 0.0 && m <= crate::zone::REASONABLE_DISTANCE_AIR_MILES)
    {
        return bad(format!(
            "sector_distance_miles {m} is not a distance that shortens the 100 miles of 8 CFR 287.1(a)(2)"
        ));
    }
    let times =
        [Some(now), ctx.custody.as_ref().map(|c| c.since), ctx.detainer.as_ref().and_then(|d| d.release_eligible_at)];
    for t in times.into_iter().flatten() {
        let year = t.to_zoned(jiff::tz::TimeZone::UTC).year();
        if !YEARS.contains(&year) {
            return bad(format!(
                "the time {t} is outside the years {}-{} the law can reason about",
                YEARS.start(),
                YEARS.end()
            ));
        }
    }
    Ok(())
}

/// States (and territories) that keep more than one time zone, or whose zone differs in
/// part (the Navajo Nation in Arizona observes daylight time): a hold clock counted in the
/// state's main zone may be wrong there without a location.
const SPLIT_ZONE_STATES: [&str; 14] =
    ["AK", "AZ", "FL", "ID", "IN", "KS", "KY", "MI", "ND", "NE", "OR", "SD", "TN", "TX"];

/// The time zone of most of a state (for a case with no location and no zone).
pub fn state_time_zone(state: &str) -> Option<&'static str> {
    Some(match state {
        "CT" | "DE" | "DC" | "FL" | "GA" | "IN" | "ME" | "MD" | "MA" | "MI" | "NH" | "NJ" | "NY" | "NC" | "OH"
        | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" | "KY" => "America/New_York",
        "AL" | "AR" | "IL" | "IA" | "KS" | "LA" | "MN" | "MS" | "MO" | "NE" | "ND" | "OK" | "SD" | "TN" | "TX"
        | "WI" => "America/Chicago",
        "CO" | "ID" | "MT" | "NM" | "UT" | "WY" => "America/Denver",
        "AZ" => "America/Phoenix",
        "CA" | "NV" | "OR" | "WA" => "America/Los_Angeles",
        "AK" => "America/Anchorage",
        "HI" => "Pacific/Honolulu",
        "PR" => "America/Puerto_Rico",
        "VI" => "America/St_Thomas",
        "GU" | "MP" => "Pacific/Guam",
        "AS" => "Pacific/Pago_Pago",
        _ => return None,
    })
}

/// Establishes where a case happens: from its location when it has one (stated
/// jurisdictions and zone must agree with it), otherwise from the stated jurisdictions,
/// each of which must be a state code or an entry of the table.
pub fn establish(table: &crate::jurisdiction::Jurisdictions, ctx: &crate::Context) -> Result<Where, FactError> {
    for j in &ctx.jurisdictions {
        if table.get(j).is_none() && !is_state_code(j) {
            return Err(FactError::UnknownJurisdiction(j.clone()));
        }
    }
    let stated_zone = match &ctx.time_zone {
        Some(n) => Some(
            jiff::tz::TimeZone::get(n).map(|tz| (tz, n.clone())).map_err(|_| FactError::UnknownTimeZone(n.clone()))?,
        ),
        None => None,
    };
    let chain = |ids: &mut Vec<String>, id: &str| {
        let mut cur = Some(id.to_string());
        while let Some(c) = cur {
            if !ids.contains(&c) {
                ids.push(c.clone());
            }
            cur = table.get(&c).and_then(|j| j.parent.clone());
        }
    };
    let state_of = |id: &str| -> Option<String> {
        let mut cur = id.to_string();
        for _ in 0..8 {
            if is_state_code(&cur) {
                return Some(cur);
            }
            cur = table.get(&cur)?.parent.clone()?;
        }
        None
    };
    if let Some(loc) = ctx.location {
        let place = Places::bundled().locate(loc.lat(), loc.lon())?;
        let mut ids = Vec::new();
        // Cities made of whole counties come from the county.
        for j in table.jurisdictions.iter().filter(|j| j.counties.contains(&place.county_fips)) {
            chain(&mut ids, &j.id);
        }
        for stated in &ctx.jurisdictions {
            let fits = ids.contains(stated)
                || *stated == place.state
                || (table.get(stated).is_some_and(|j| j.counties.is_empty())
                    && state_of(stated).as_deref() == Some(place.state.as_str()));
            if !fits {
                return Err(FactError::JurisdictionContradictsPlace {
                    stated: stated.clone(),
                    state: place.state.clone(),
                    county: place.county.clone(),
                    fips: place.county_fips.clone(),
                });
            }
            if *stated != place.state {
                chain(&mut ids, stated);
            }
        }
        chain(&mut ids, &place.state);
        if let Some((_, name)) = &stated_zone
            && *name != place.time_zone
        {
            return Err(FactError::TimeZoneContradictsPlace { stated: name.clone(), actual: place.time_zone.clone() });
        }
        let tz = jiff::tz::TimeZone::get(&place.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        return Ok(Where {
            time_zone: tz,
            time_zone_name: place.time_zone.clone(),
            time_zone_assumed: false,
            jurisdictions: ids,
            place: Some(place),
        });
    }
    let mut ids = Vec::new();
    for stated in &ctx.jurisdictions {
        chain(&mut ids, stated);
    }
    let states: Vec<String> = ids.iter().filter(|i| is_state_code(i)).cloned().collect();
    if states.len() > 1 {
        return Err(FactError::SeveralStates(states.join(", ")));
    }
    let (time_zone, time_zone_name, time_zone_assumed) = match (stated_zone, states.first()) {
        (Some((tz, name)), _) => (tz, name, false),
        (None, Some(s)) => {
            let name = state_time_zone(s).unwrap_or("UTC");
            let tz = jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC);
            (tz, name.to_string(), SPLIT_ZONE_STATES.contains(&s.as_str()))
        }
        (None, None) => (jiff::tz::TimeZone::UTC, "UTC".to_string(), true),
    };
    Ok(Where { place: None, jurisdictions: ids, time_zone, time_zone_name, time_zone_assumed })
}
