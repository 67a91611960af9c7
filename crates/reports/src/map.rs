//! A US county map drawn on the server as SVG, from the Census county outlines the law
//! already carries (`law::place::Places`). The lower 48 states are drawn on an Albers
//! equal-area conic (standard parallels 29.5° and 45.5°, as the Census and `d3.geoAlbersUsa`
//! use), Alaska and Hawaii on their own conics in insets; territories are left out. Every
//! county is a `<path>` with a `<title>`, and every map is shown beside a table of the same
//! numbers (colour is never the only carrier).

use maud::{Markup, PreEscaped, html};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 600.0;

/// An Albers equal-area conic.
struct Albers {
    n: f64,
    c: f64,
    rho0: f64,
    lon0: f64,
}

impl Albers {
    fn new(p1: f64, p2: f64, lat0: f64, lon0: f64) -> Self {
        let (s1, s2) = (p1.to_radians().sin(), p2.to_radians().sin());
        let n = (s1 + s2) / 2.0;
        let c = p1.to_radians().cos().powi(2) + 2.0 * n * s1;
        let rho0 = (c - 2.0 * n * lat0.to_radians().sin()).sqrt() / n;
        Albers { n, c, rho0, lon0 }
    }

    fn project(&self, lon: f64, lat: f64) -> [f64; 2] {
        let rho = (self.c - 2.0 * self.n * lat.to_radians().sin()).max(0.0).sqrt() / self.n;
        let theta = self.n * (lon - self.lon0).to_radians();
        [rho * theta.sin(), -(self.rho0 - rho * theta.cos())]
    }
}

/// Which region a state is drawn in (lower 48, Alaska, Hawaii), and its projection.
fn region(state: &str) -> Option<(usize, Albers, ())> {
    match state {
        "AK" => Some((1, Albers::new(55.0, 65.0, 50.0, -154.0), ())),
        "HI" => Some((2, Albers::new(8.0, 18.0, 3.0, -157.0), ())),
        "PR" | "VI" | "GU" | "AS" | "MP" => None,
        _ => Some((0, Albers::new(29.5, 45.5, 37.5, -96.0), ())),
    }
}

/// A county's drawn outline.
pub struct Shape {
    pub fips: String,
    pub name: String,
    pub state: &'static str,
    pub path: String,
}

/// Each region's fit into the picture: scale and offsets.
type Fit = [(f64, f64, f64); 3];

fn drawn() -> &'static (Vec<Shape>, Fit) {
    static DRAWN: OnceLock<(Vec<Shape>, Fit)> = OnceLock::new();
    DRAWN.get_or_init(build)
}

/// Every county's path, projected and fitted once per process.
pub fn shapes() -> &'static [Shape] {
    &drawn().0
}

/// Where a point of a state falls on the map, if the state is drawn.
pub fn point(state: &str, lon: f64, lat: f64) -> Option<[f64; 2]> {
    let (r, proj, _) = region(state)?;
    let lon = if state == "AK" && lon > 0.0 { lon - 360.0 } else { lon };
    let q = proj.project(lon, lat);
    let (k, dx, dy) = drawn().1[r];
    Some([q[0] * k + dx, q[1] * k + dy])
}

fn build() -> (Vec<Shape>, Fit) {
    let places = law::place::Places::bundled();
    // Projected rings per county, and each region's bounds.
    let mut projected = Vec::new();
    let mut bounds = [[f64::MAX, f64::MAX, f64::MIN, f64::MIN]; 3];
    for (fips, name, state, rings) in places.outlines() {
        let Some((r, proj, _)) = region(state) else { continue };
        let rings: Vec<Vec<[f64; 2]>> = rings
            .iter()
            .map(|ring| {
                ring.iter()
                    .map(|p| {
                        let lon = if state == "AK" && p[0] > 0.0 { p[0] - 360.0 } else { p[0] };
                        let q = proj.project(lon, p[1]);
                        let b = &mut bounds[r];
                        b[0] = b[0].min(q[0]);
                        b[1] = b[1].min(q[1]);
                        b[2] = b[2].max(q[0]);
                        b[3] = b[3].max(q[1]);
                        q
                    })
                    .collect()
            })
            .collect();
        projected.push((fips.to_string(), name.to_string(), state, r, rings));
    }
    let fit: Fit = std::array::from_fn(|r| {
        let b = bounds[r];
        let [x, y, w, h] = BOXES[r];
        let k = (w / (b[2] - b[0])).min(h / (b[3] - b[1]));
        (k, x - b[0] * k, y - b[1] * k)
    });
    let shapes = projected
        .into_iter()
        .map(|(fips, name, state, r, rings)| {
            let (k, dx, dy) = fit[r];
            let mut path = String::new();
            for ring in rings {
                let mut last: Option<(i64, i64)> = None;
                for (i, q) in ring.iter().enumerate() {
                    // Tenths of a pixel; points that fall on the last one drawn are skipped.
                    let p = ((q[0] * k + dx) * 10.0).round() as i64;
                    let p = (p, ((q[1] * k + dy) * 10.0).round() as i64);
                    if last == Some(p) {
                        continue;
                    }
                    let _ = write!(
                        path,
                        "{}{:.1} {:.1}",
                        if i == 0 { "M" } else { "L" },
                        p.0 as f64 / 10.0,
                        p.1 as f64 / 10.0
                    );
                    last = Some(p);
                }
                path.push('Z');
            }
            Shape { fips, name, state, path }
        })
        .collect();
    (shapes, fit)
}

/// The boxes (x, y, width, height) the lower 48, Alaska and Hawaii are fitted into.
const BOXES: [[f64; 4]; 3] =
    [[0.0, 0.0, WIDTH, HEIGHT - 20.0], [10.0, 440.0, 210.0, 150.0], [230.0, 500.0, 120.0, 90.0]];

/// The FIPS code of a county by state code and name ("TX", "Harris County"), case-insensitive.
pub fn county_fips(state: &str, name: &str) -> Option<&'static str> {
    static INDEX: OnceLock<HashMap<(String, String), String>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        law::place::Places::bundled()
            .outlines()
            .map(|(fips, name, state, _)| ((state.to_string(), name.to_lowercase()), fips.to_string()))
            .collect()
    });
    let name = name.trim().to_lowercase().replacen("saint ", "st. ", 1);
    // The Census outlines name counties without their kind ("Harris"); ICE's sheet with it
    // ("Harris County", "Orleans Parish", "Juneau City and Borough").
    let bare = [" county", " parish", " borough", " city and borough", " census area", " municipality"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    [name.as_str(), bare, &format!("{bare} city")]
        .iter()
        .find_map(|n| index.get(&(state.to_string(), n.to_string())))
        .map(String::as_str)
}

/// Colour classes, lightest to darkest (the stylesheet's `.q0`..`.q4`).
const BUCKETS: usize = 5;

/// A choropleth: each county's value (missing: none), a title and the legend's unit.
pub fn choropleth(values: &HashMap<String, u32>, title: &str, unit: &str) -> Markup {
    let max = values.values().copied().max().unwrap_or(0).max(1);
    let bucket =
        |v: u32| if v == 0 { 0 } else { 1 + ((v - 1) as usize * (BUCKETS - 1) / max as usize).min(BUCKETS - 2) };
    let edges: Vec<String> = (1..BUCKETS).map(|b| format!("{}+", 1 + (b - 1) * max as usize / (BUCKETS - 1))).collect();
    let mut svg = String::with_capacity(400_000);
    for s in shapes() {
        let v = values.get(&s.fips).copied().unwrap_or(0);
        let _ = write!(
            svg,
            r#"<path class="q{}" d="{}"><title>{}, {}: {} {}</title></path>"#,
            bucket(v),
            s.path,
            maud::html! { (s.name) }.into_string(),
            s.state,
            v,
            unit
        );
    }
    html! {
        figure.map {
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                (PreEscaped(svg))
            }
            figcaption {
                (title) ". "
                span.legend aria-hidden="true" {
                    span.swatch.q0 {} " none "
                    @for (i, e) in edges.iter().enumerate() { span class={"swatch q" (i + 1)} {} " " (e) " " }
                }
                "The table beside the map lists the same numbers."
            }
        }
    }
}

/// The map with one point marked (where a case happens), the counties unshaded.
pub fn locator(state: &str, lon: f64, lat: f64, title: &str) -> Markup {
    let mut svg = String::with_capacity(300_000);
    for s in shapes() {
        let _ = write!(svg, r#"<path class="{}" d="{}"/>"#, if s.state == state { "q1" } else { "q0" }, s.path);
    }
    let at = point(state, lon, lat);
    html! {
        figure.map.small {
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                (PreEscaped(svg))
                @if let Some([x, y]) = at { circle.marker cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="7" {} }
            }
            figcaption { (title) }
        }
    }
}

#[cfg(test)]
mod tests {
    /// A point falls inside its county's drawn outline (here: El Cajon in San Diego County).
    #[test]
    fn a_point_is_drawn_inside_its_county() {
        let [x, y] = super::point("CA", -116.96, 32.79).unwrap();
        let sd = super::shapes().iter().find(|s| s.fips == "06073").unwrap();
        let nums: Vec<f64> = sd.path.split(['M', 'L', 'Z', ' ']).filter_map(|t| t.parse().ok()).collect();
        let xs: Vec<f64> = nums.iter().step_by(2).copied().collect();
        let ys: Vec<f64> = nums.iter().skip(1).step_by(2).copied().collect();
        let (x0, x1) = (xs.iter().cloned().fold(f64::MAX, f64::min), xs.iter().cloned().fold(f64::MIN, f64::max));
        let (y0, y1) = (ys.iter().cloned().fold(f64::MAX, f64::min), ys.iter().cloned().fold(f64::MIN, f64::max));
        assert!((x0..=x1).contains(&x) && (y0..=y1).contains(&y), "({x}, {y}) outside [{x0}, {x1}] x [{y0}, {y1}]");
    }
}
