//! The report page: one HTML file with inline SVG charts (no script, no CDN), each chart
//! beside a table of the same numbers, the answers to the planners' questions, the binding
//! constraint with its evidence, the fit against ICE's statistics, and every parameter with
//! its source.

use crate::inputs::{IceStats, Month};
use crate::report::{Answer, Constraint, Fit, Monthly};
use crate::scenario::Scenario;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One series of a chart: name, colour, and (month, mean, p05, p95).
pub struct Line<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(Month, f64, f64, f64)>,
    /// Drawn dashed (observed data).
    pub dashed: bool,
}

/// A line chart with p5–p95 bands, as SVG.
pub fn chart(title: &str, unit: &str, lines: &[Line]) -> String {
    let (w, h, left, bottom) = (720.0, 260.0, 64.0, 28.0);
    let months: Vec<Month> = {
        let mut m: Vec<Month> = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).collect();
        m.sort();
        m.dedup();
        m
    };
    let max = lines.iter().flat_map(|l| l.points.iter().map(|p| p.3.max(p.1))).fold(0.0, f64::max).max(1.0);
    let x = |m: Month| {
        let i = months.iter().position(|x| *x == m).unwrap_or(0) as f64;
        left + i * (w - left - 10.0) / (months.len().max(2) - 1) as f64
    };
    let y = |v: f64| (h - bottom) - v / max * (h - bottom - 10.0);
    let mut s = format!(
        r#"<figure><svg viewBox="0 0 {w} {h}" role="img" aria-labelledby="t-{id}"><title id="t-{id}">{t}</title>"#,
        id = esc(&title.replace(' ', "-")),
        t = esc(title)
    );
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            w - 10.0,
            left - 4.0,
            y(v) + 4.0,
            human(v),
            yy = y(v)
        );
    }
    for (i, m) in months.iter().enumerate() {
        if m.month == 10 || i == 0 {
            let _ =
                write!(s, r#"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle">{m}</text>"#, x(*m), h - 8.0);
        }
    }
    for l in lines {
        if l.points.iter().any(|p| p.2 != p.3) {
            let mut d = String::new();
            for p in &l.points {
                let _ = write!(d, "{}{:.1},{:.1} ", if d.is_empty() { "M" } else { "L" }, x(p.0), y(p.3));
            }
            for p in l.points.iter().rev() {
                let _ = write!(d, "L{:.1},{:.1} ", x(p.0), y(p.2));
            }
            let _ = write!(s, r#"<path d="{d}Z" fill="{}" opacity="0.18"/>"#, l.colour);
        }
        let mut d = String::new();
        for p in &l.points {
            let _ = write!(d, "{}{:.1},{:.1} ", if d.is_empty() { "M" } else { "L" }, x(p.0), y(p.1));
        }
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"{}/>"#,
            l.colour,
            if l.dashed { r#" stroke-dasharray="5 4""# } else { "" }
        );
    }
    s.push_str("</svg><figcaption>");
    for l in lines {
        let _ = write!(s, r#"<span class="key"><span style="background:{}"></span>{}</span> "#, l.colour, esc(l.name));
    }
    let _ = write!(s, "({}; shaded: p5–p95 across runs)</figcaption>", esc(unit));
    // The same numbers as a table.
    s.push_str("<details><summary>Table</summary><table><thead><tr><th>Month</th>");
    for l in lines {
        let _ = write!(s, "<th>{}</th>", esc(l.name));
    }
    s.push_str("</tr></thead><tbody>");
    for m in &months {
        let _ = write!(s, "<tr><td>{m}</td>");
        for l in lines {
            match l.points.iter().find(|p| p.0 == *m) {
                Some(p) if p.2 != p.3 => {
                    let _ = write!(s, "<td>{:.0} ({:.0}–{:.0})</td>", p.1, p.2, p.3);
                }
                Some(p) => {
                    let _ = write!(s, "<td>{:.0}</td>", p.1);
                }
                None => s.push_str("<td></td>"),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></details></figure>");
    s
}

fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// The series of one (metric, agency) from the runs.
pub fn series(m: &Monthly, metric: &str, agency: &str) -> Vec<(Month, f64, f64, f64)> {
    m.iter()
        .filter(|((_, me, a), _)| me == metric && a == agency)
        .map(|((p, _, _), c)| (*p, c.mean, c.p05, c.p95))
        .collect()
}

/// ICE's published series for the months the run covers.
pub fn observed(
    ice: &IceStats,
    m: &Monthly,
    metric: &str,
    agency: Option<crate::inputs::Agency>,
) -> Vec<(Month, f64, f64, f64)> {
    let mut months: Vec<Month> = m.keys().map(|k| k.0).collect();
    months.dedup();
    months.into_iter().filter_map(|p| ice.month(metric, p, agency).map(|v| (p, v, v, v))).collect()
}

pub struct Page<'a> {
    pub scenario: &'a Scenario,
    pub seed: u64,
    pub runs: u32,
    pub monthly: &'a Monthly,
    pub ice: &'a IceStats,
    pub answers: &'a [Answer],
    pub constraints: &'a [Constraint],
    pub fit: &'a Fit,
    pub people: u64,
    pub events: u64,
    pub jail_table: &'a [(String, String, String, String)],
}

pub const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1b1b1b}h1{font-size:1.6rem}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f1f1f1}td:first-child,th:first-child{text-align:left}figure{margin:1rem 0}svg{width:100%;height:auto}.key{display:inline-block;margin-right:1em}.key span{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}.binding{background:#fff4e5;border-left:4px solid #b85c00;padding:.5rem 1rem}dt{font-weight:600}";

/// The whole page.
pub fn page(p: &Page) -> String {
    let sc = p.scenario;
    let m = p.monthly;
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Liaison simulation: {name}</title><style>{STYLE}</style></head><body><main>",
        name = esc(&sc.scenario.name)
    );
    let _ = write!(
        s,
        "<h1>Simulation: {}</h1><p>{}</p><p>From {} for {} days; seed {}, {} run(s); {} people and {} events per run on average. Synthetic people; real public reference data.</p>",
        esc(&sc.scenario.name),
        esc(&sc.scenario.description),
        sc.scenario.from,
        sc.scenario.days,
        p.seed,
        p.runs,
        p.people,
        p.events
    );
    s.push_str("<h2>Answers</h2><dl>");
    for a in p.answers {
        let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(a.question), esc(&a.answer));
    }
    s.push_str("</dl>");
    if let Some(c) = p.constraints.first() {
        let _ = write!(
            s,
            "<h2>Binding constraint</h2><p class=\"binding\"><strong>{}</strong> ({:.0}% used over the last 90 days): {}</p><table><thead><tr><th>Constraint</th><th>Load</th><th>Evidence</th></tr></thead><tbody>",
            esc(c.name),
            100.0 * c.load,
            esc(&c.evidence)
        );
        for c in p.constraints {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{:.0}%</td><td style=\"text-align:left\">{}</td></tr>",
                esc(c.name),
                100.0 * c.load,
                esc(&c.evidence)
            );
        }
        s.push_str("</tbody></table>");
    }
    use crate::inputs::Agency;
    s.push_str("<h2>Initial book-ins by arresting agency</h2>");
    s.push_str(&chart(
        "Initial book-ins per month",
        "book-ins per month; dashed: ICE's published figures",
        &[
            Line {
                name: "CBP (simulated)",
                colour: "#b85c00",
                points: series(m, "initial_book_ins", "CBP"),
                dashed: false,
            },
            Line {
                name: "ICE (simulated)",
                colour: "#005ea2",
                points: series(m, "initial_book_ins", "ICE"),
                dashed: false,
            },
            Line {
                name: "CBP (ICE statistics)",
                colour: "#7a3d00",
                points: observed(p.ice, m, "initial_book_ins", Some(Agency::Cbp)),
                dashed: true,
            },
            Line {
                name: "ICE (ICE statistics)",
                colour: "#002d4d",
                points: observed(p.ice, m, "initial_book_ins", Some(Agency::Ice)),
                dashed: true,
            },
        ],
    ));
    s.push_str("<h2>Detained population against beds</h2>");
    s.push_str(&chart(
        "Average daily population",
        "average daily population; dashed: ICE's published figures",
        &[
            Line { name: "CBP arrests (simulated)", colour: "#b85c00", points: series(m, "adp", "CBP"), dashed: false },
            Line { name: "ICE arrests (simulated)", colour: "#005ea2", points: series(m, "adp", "ICE"), dashed: false },
            Line { name: "Total (simulated)", colour: "#1b1b1b", points: series(m, "adp", "Total"), dashed: false },
            Line { name: "Beds", colour: "#008817", points: series(m, "beds", "Total"), dashed: false },
            Line {
                name: "Total (ICE statistics)",
                colour: "#555",
                points: observed(p.ice, m, "adp", None),
                dashed: true,
            },
        ],
    ));
    s.push_str("<h2>Arrests by channel</h2>");
    let colours = ["#b85c00", "#e5a000", "#005ea2", "#73b3e7", "#4d8055", "#8e6fb5", "#c05f93"];
    let lines: Vec<Line> = crate::model::Channel::ALL
        .iter()
        .zip(colours)
        .map(|(c, col)| Line {
            name: c.name(),
            colour: col,
            points: series(m, &format!("arrests_{}", c.name()), c.agency().name()),
            dashed: false,
        })
        .collect();
    s.push_str(&chart("Arrests per month by channel", "arrests per month", &lines));
    s.push_str("<h2>Removals, releases and detainers</h2>");
    s.push_str(&chart(
        "Exits per month",
        "people per month",
        &[
            Line { name: "Removals", colour: "#005ea2", points: series(m, "removals", "Total"), dashed: false },
            Line {
                name: "Removal capacity",
                colour: "#73b3e7",
                points: series(m, "removal_capacity", "Total"),
                dashed: true,
            },
            Line { name: "Paroled", colour: "#b85c00", points: series(m, "releases_paroled", "Total"), dashed: false },
            Line {
                name: "Released for want of a bed",
                colour: "#b50909",
                points: series(m, "releases_capacity_no_bed", "Total"),
                dashed: false,
            },
            Line {
                name: "Detainers declined",
                colour: "#8e6fb5",
                points: series(m, "detainers_declined", "ICE"),
                dashed: false,
            },
            Line {
                name: "Border Patrol to ICE handoffs",
                colour: "#4d8055",
                points: series(m, "handoffs_bp_to_ice", "CBP"),
                dashed: false,
            },
        ],
    ));
    if !p.fit.rows.is_empty() {
        s.push_str("<h2>Fit against ICE's monthly statistics</h2><p>Mean absolute percentage error per series, over the months both cover:</p><table><thead><tr><th>Series</th><th>MAPE</th></tr></thead><tbody>");
        for (k, v) in &p.fit.mape {
            let _ = write!(s, "<tr><td>{}</td><td>{v:.1}%</td></tr>", esc(k));
        }
        s.push_str("</tbody></table><p>Per month: <code>fit.csv</code>.</p>");
    }
    s.push_str("<h2>The law the jails answered under</h2><p>A county jail's answer to an I-247A with an I-200 warrant, decided by the law engine on the run's last day; detainers are spread over states by their share of ICE's FY2024 detained population.</p><table><thead><tr><th>State</th><th>Share</th><th>Answer</th><th>Rule and citation</th></tr></thead><tbody>");
    for (st, w, a, r) in p.jail_table {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(st),
            esc(w),
            esc(a),
            esc(r)
        );
    }
    s.push_str("</tbody></table><h2>Parameters and their sources</h2><table><thead><tr><th>Parameter</th><th>Value</th><th>Source</th></tr></thead><tbody>");
    for (k, prm) in &sc.param {
        let v = match prm.value {
            Some(v) => format!("{v}"),
            None => prm.points.iter().map(|(d, v)| format!("{d}: {v}")).collect::<Vec<_>>().join("; "),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(k),
            esc(&v),
            esc(&prm.source)
        );
    }
    s.push_str("</tbody></table>");
    if !sc.operations.is_empty() {
        s.push_str("<h2>Border Patrol interior operations</h2><table><thead><tr><th>Operation</th><th>City</th><th>From</th><th>To</th><th>Agents</th><th>Source</th></tr></thead><tbody>");
        for o in &sc.operations {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}, {}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(&o.name),
                esc(&o.city),
                esc(&o.state),
                o.start,
                o.end,
                o.agents,
                esc(&o.source)
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("<h2>What this cannot show</h2><p>The model is calibrated on FY2019–FY2024 national aggregates; it does not know individual cases, and its 2025–2026 regime is driven by documented policy parameters only (each with its source above), never fitted to 2025–2026 outcomes. Parameters tagged [U] are assumptions. Detainers are spread over states by a proxy (detained population), since no detainer counts by state ship with the project. See docs/simulator.md.</p></main></body></html>\n");
    s
}
