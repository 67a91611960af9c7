//! A report as one offline HTML file (SVG charts beside tables of the same numbers, CSV
//! downloads as data addresses, no script, no CDN), as JSON, and as CSV (one file per table,
//! or every cell in one long table).

use crate::map;
use crate::report::{Cell, Chart, Report, Series, Table};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::fmt::Write as _;

/// The report as pretty JSON, ending in a newline.
pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("a report serializes");
    s.push('\n');
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// One table as CSV: its header, then its rows as shown (withheld cells as `<11` or `c`).
pub fn table_csv(t: &Table) -> String {
    let mut out = t.columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in &t.rows {
        out.push_str(&row.iter().map(|c| csv_field(&c.csv())).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Every cell of every table in one long CSV: `table,row,column,value`.
pub fn long_csv(r: &Report) -> String {
    let mut out = String::from("table,row,column,value\n");
    for s in &r.sections {
        for t in &s.tables {
            for (i, row) in t.rows.iter().enumerate() {
                for (col, cell) in t.columns.iter().zip(row) {
                    let _ = writeln!(out, "{},{},{},{}", t.id, i + 1, csv_field(col), csv_field(&cell.csv()));
                }
            }
        }
    }
    out
}

const PALETTE: [&str; 6] = ["#1f5f99", "#c05a00", "#2e7d32", "#7b3f9e", "#8a6d00", "#b0003a"];
const W: f64 = 720.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 28.0;

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * p).find(|&m| m >= v).unwrap_or(10.0 * p)
}

fn fmt_tick(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1000.0 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn axes(svg: &mut String, max: f64, x_labels: &[(f64, &str)]) {
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = H - BOTTOM - (H - BOTTOM - 10.0) * k as f64 / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{W}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            fmt_tick(v)
        );
    }
    for (x, l) in x_labels {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
            H - 8.0,
            html! { (l) }.into_string()
        );
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        @if series.len() > 1 {
            p.legend { @for (i, s) in series.iter().enumerate() {
                span class={"key s" (i % PALETTE.len())} {} " " (s.name) " "
            } }
        }
    }
}

fn lines_svg(x: &[String], series: &[Series]) -> String {
    let max = nice_max(series.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(0.0, f64::max));
    let n = x.len().max(2) as f64 - 1.0;
    let px = |i: usize| LEFT + (W - LEFT - 10.0) * i as f64 / n;
    let py = |v: f64| H - BOTTOM - (H - BOTTOM - 10.0) * v / max;
    let mut svg = String::new();
    let step = (x.len() / 8).max(1);
    let labels: Vec<(f64, &str)> = x.iter().enumerate().step_by(step).map(|(i, l)| (px(i), l.as_str())).collect();
    axes(&mut svg, max, &labels);
    for (k, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(d, "{}{:.1} {:.1}", if pen { "L" } else { "M" }, px(i), py(*v));
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"><title>{}</title></path>"#,
            PALETTE[k % PALETTE.len()],
            html! { (s.name) }.into_string()
        );
    }
    svg
}

fn bars_svg(labels: &[String], series: &[Series]) -> String {
    let totals: Vec<f64> =
        (0..labels.len()).map(|i| series.iter().filter_map(|s| s.values.get(i).copied().flatten()).sum()).collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let slot = (W - LEFT - 10.0) / labels.len().max(1) as f64;
    let py = |v: f64| (H - BOTTOM - 10.0) * v / max;
    let mut svg = String::new();
    let step = (labels.len() / 12).max(1);
    let xl: Vec<(f64, &str)> =
        labels.iter().enumerate().step_by(step).map(|(i, l)| (LEFT + slot * (i as f64 + 0.5), l.as_str())).collect();
    axes(&mut svg, max, &xl);
    for (i, label) in labels.iter().enumerate() {
        let mut base = 0.0;
        for (k, s) in series.iter().enumerate() {
            let Some(v) = s.values.get(i).copied().flatten() else { continue };
            let h = py(v);
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}, {}: {}</title></rect>"#,
                LEFT + slot * i as f64 + slot * 0.1,
                H - BOTTOM - base - h,
                slot * 0.8,
                h,
                PALETTE[k % PALETTE.len()],
                html! { (label) }.into_string(),
                html! { (s.name) }.into_string(),
                v
            );
            base += h;
        }
    }
    svg
}

/// One chart as an SVG figure (maps through [`map::choropleth`]).
pub fn chart(c: &Chart) -> Markup {
    match c {
        Chart::Lines { title, unit, x, series } => figure(title, unit, series, lines_svg(x, series)),
        Chart::Bars { title, unit, labels, series } => figure(title, unit, series, bars_svg(labels, series)),
        Chart::Map { title, unit, by_county, values } => {
            let per_county = if *by_county {
                values.iter().map(|(k, v)| (k.clone(), *v)).collect()
            } else {
                map::shapes().iter().map(|s| (s.fips.clone(), values.get(s.state).copied().unwrap_or(0))).collect()
            };
            map::choropleth(&per_county, title, unit)
        }
    }
}

fn figure(title: &str, unit: &str, series: &[Series], svg: String) -> Markup {
    html! {
        figure.chart {
            svg viewBox={"0 0 " (W) " " (H)} role="img" aria-label={(title) " (" (unit) ")"} xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                (PreEscaped(svg))
            }
            figcaption { (title) " (" (unit) "). The table below lists the same numbers." }
            (legend(series))
        }
    }
}

/// A table with its source and a CSV link (`csv_href` gives the address).
pub fn table(t: &Table, csv_href: &str) -> Markup {
    let body = html! {
        div.table-wrap {
            table.dense {
                caption { (t.title) }
                thead { tr { @for c in &t.columns { th scope="col" { (c) } } } }
                tbody { @for row in &t.rows { tr {
                    @for (i, c) in row.iter().enumerate() {
                        @if i == 0 { th scope="row" { (c.shown()) } }
                        @else if matches!(c, Cell::Withheld(_)) { td.withheld { (c.shown()) } }
                        @else if let Cell::Percent(_) = c { td { (c.shown()) "%" } }
                        @else { td { (c.shown()) } }
                    }
                } } }
            }
        }
        p.source { "Source: " (t.source) ". " a href=(csv_href) download={(t.id) ".csv"} { "Download " (t.id) ".csv" } }
    };
    html! {
        @if t.folded { details { summary { (t.title) " (" (t.rows.len()) " rows)" } (body) } } @else { (body) }
    }
}

/// The report's body, for a page frame (`csv_href` gives each table's CSV address).
pub fn body(r: &Report, csv_href: &dyn Fn(&Table) -> String) -> Markup {
    html! {
        section.report-summary {
            h2 { "In brief" }
            ul { @for s in &r.summary { li { (s) } } }
            p.source { "Computed from: " }
            ul.source { @for f in &r.computed_from { li { (f) } } }
        }
        nav.toc aria-label="Sections" { ol {
            @for s in &r.sections { li { a href={"#" (s.id)} { (s.title) } } }
            li { a href="#methodology" { "Methodology" } }
        } }
        @for s in &r.sections {
            section id=(s.id) {
                h2 { (s.title) }
                p { (s.text) }
                @for c in &s.charts { (chart(c)) }
                @for t in &s.tables { (table(t, &csv_href(t))) }
            }
        }
        section #methodology {
            h2 { "Methodology" }
            @for n in &r.methodology { h3 { (n.heading) } p { (n.text) } }
        }
    }
}

/// Percent-encodes for a `data:` address.
fn data_uri(csv: &str) -> String {
    let mut out = String::from("data:text/csv;charset=utf-8,");
    for b in csv.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:0 auto;padding:1rem;color:#111}\
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}table{border-collapse:collapse;font-size:13px}\
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th[scope=row]{text-align:left}caption{text-align:left;font-weight:600}\
.table-wrap{overflow-x:auto;max-width:100%}.source{color:#444;font-size:13px}td.withheld{color:#555;font-style:italic}\
figure{margin:1rem 0}svg{max-width:100%;height:auto}.legend .key{display:inline-block;width:1.2em;border-top:3px solid}\
.key.s0{border-color:#1f5f99}.key.s1{border-color:#c05a00}.key.s2{border-color:#2e7d32}.key.s3{border-color:#7b3f9e}\
.key.s4{border-color:#8a6d00}.key.s5{border-color:#b0003a}\
.map path{stroke:#fff;stroke-width:.2}.q0{fill:#eceff1}.q1{fill:#c6dbef}.q2{fill:#6baed6}.q3{fill:#2171b5}.q4{fill:#08306b}\
.swatch{display:inline-block;width:1em;height:1em;vertical-align:middle}.swatch.q0{background:#eceff1}.swatch.q1{background:#c6dbef}\
.swatch.q2{background:#6baed6}.swatch.q3{background:#2171b5}.swatch.q4{background:#08306b}";

/// The whole report as one HTML file that works offline.
pub fn document(r: &Report) -> String {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (r.title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (r.title) }
                    (body(r, &|t| data_uri(&table_csv(t))))
                }
            }
        }
    };
    doc.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("Rio Grande Valley, TX"), "\"Rio Grande Valley, TX\"");
        assert_eq!(csv_field("say \"c\""), "\"say \"\"c\"\"\"");
        assert_eq!(csv_field("<11"), "<11");
    }

    #[test]
    fn data_addresses_round_trip_the_csv() {
        let csv = "a,b\n\"x, y\",<11\n";
        let uri = data_uri(csv);
        let enc = uri.strip_prefix("data:text/csv;charset=utf-8,").unwrap();
        let mut out = Vec::new();
        let b = enc.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&enc[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        assert_eq!(String::from_utf8(out).unwrap(), csv);
    }
}
