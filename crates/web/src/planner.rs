//! The planner: the capacity simulator (`sim`) in a browser. Choose a scenario, move the
//! what-if sliders, and see the monthly series with their p5–p95 band across runs, the binding
//! constraint with its evidence, and a table of the same numbers. Running changes nothing, so
//! the form is a GET and a plan can be linked to.
//!
//! A run costs CPU, so the page bounds it: at most `RUNS_MAX` runs, one plan at a time on a
//! blocking thread, and the last few plans kept to answer again.

use crate::session::Viewer;
use crate::{PageError, PageResult, shell};
use maud::{PreEscaped, html};
use sim::html::{Line, chart, series};
use sim::report::{self, Constraint, Monthly};
use sim::{Inputs, Scenario};
use std::sync::{Mutex, OnceLock};

/// The most runs one plan may ask for.
const RUNS_MAX: u32 = 10;
/// Plans kept to answer again without running.
const CACHE: usize = 8;

/// The what-ifs offered as sliders: key, label, minimum, maximum, step. The bounds are within
/// the scenario parameter's own (`sim::scenario`), which checks them again.
const SLIDERS: &[(&str, &str, f64, f64, f64)] = &[
    ("ero_officers", "ERO deportation officers", 3_000.0, 20_000.0, 500.0),
    ("arrest_target_per_day", "ICE arrest target per day", 0.0, 5_000.0, 250.0),
    ("beds", "Detention beds", 20_000.0, 150_000.0, 5_000.0),
    ("removal_flights_per_day", "Removal flights per day", 0.0, 30.0, 1.0),
    ("bp_interior_agents", "Border Patrol agents on interior operations", 0.0, 5_000.0, 100.0),
];

const SCENARIOS: &[(&str, &str)] = &[
    ("seeds-2025", "2025–2026: the arrest push, 287(g) growth, interior deployments, more beds"),
    ("baseline-fy2024", "FY2019–FY2024 as it happened (calibration baseline)"),
];

#[derive(serde::Deserialize, Default, Clone)]
pub struct Plan {
    scenario: Option<String>,
    runs: Option<String>,
    ero_officers: Option<String>,
    arrest_target_per_day: Option<String>,
    beds: Option<String>,
    removal_flights_per_day: Option<String>,
    bp_interior_agents: Option<String>,
}

impl Plan {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "ero_officers" => self.ero_officers.as_deref(),
            "arrest_target_per_day" => self.arrest_target_per_day.as_deref(),
            "beds" => self.beds.as_deref(),
            "removal_flights_per_day" => self.removal_flights_per_day.as_deref(),
            "bp_interior_agents" => self.bp_interior_agents.as_deref(),
            _ => None,
        }
        .map(str::trim)
        .filter(|s| !s.is_empty())
    }
}

/// What a plan produced.
struct Outcome {
    key: String,
    scenario: Scenario,
    runs: u32,
    monthly: Monthly,
    constraints: Vec<Constraint>,
}

/// The scenario with the plan's what-ifs, or what is wrong with the plan.
fn scenario(p: &Plan) -> Result<(Scenario, u32, String), String> {
    let name = p.scenario.as_deref().unwrap_or("seeds-2025");
    let mut sc =
        Scenario::bundled(name).ok_or_else(|| format!("scenario {name:?} is not one of the bundled scenarios"))?;
    let runs = match p.runs.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 5,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|r| (1..=RUNS_MAX).contains(r))
            .ok_or_else(|| format!("runs: {s:?} is not a whole number from 1 to {RUNS_MAX}"))?,
    };
    let mut key = format!("{name}|{runs}");
    for (k, label, min, max, _) in SLIDERS {
        if let Some(v) = p.get(k) {
            let x = v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && (*min..=*max).contains(x))
                .ok_or_else(|| format!("{label}: {v:?} is not a number from {min} to {max}"))?;
            sc.set(&format!("{k}={x}")).map_err(|e| e.to_string())?;
            key.push_str(&format!("|{k}={x}"));
        }
    }
    Ok((sc, runs, key))
}

fn inputs() -> Result<&'static (Inputs, law::Law), String> {
    static INPUTS: OnceLock<Result<(Inputs, law::Law), String>> = OnceLock::new();
    INPUTS
        .get_or_init(|| Inputs::bundled().map(|i| (i, law::Law::bundled())).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs a plan, or answers it from the cache. One plan runs at a time.
fn run(sc: Scenario, runs: u32, key: String) -> Result<std::sync::Arc<Outcome>, String> {
    static LOCK: Mutex<Vec<std::sync::Arc<Outcome>>> = Mutex::new(Vec::new());
    let mut cache = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(o) = cache.iter().find(|o| o.key == key) {
        return Ok(o.clone());
    }
    let (inputs, law) = inputs()?;
    let jail = sim::law::JailLaw::new(law, inputs, sc.scenario.from, sc.scenario.days);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let base = sim::run_many(&sc, inputs, &jail, 1, runs, threads, &|_| {}).map_err(|e| e.to_string())?;
    let monthly = report::monthly(&base);
    let constraints = report::constraints(&base);
    let o = std::sync::Arc::new(Outcome { key, scenario: sc, runs, monthly, constraints });
    if cache.len() >= CACHE {
        cache.remove(0);
    }
    cache.push(o.clone());
    Ok(o)
}

pub async fn planner(v: Viewer, axum::extract::Query(p): axum::extract::Query<Plan>) -> PageResult {
    let asked = p.scenario.is_some();
    let result = if asked {
        match scenario(&p) {
            Ok((sc, runs, key)) => Some(
                tokio::task::spawn_blocking(move || run(sc, runs, key))
                    .await
                    .map_err(|e| PageError::new(500, "Something went wrong", e.to_string()).for_viewer(&v))?,
            ),
            Err(e) => Some(Err(e)),
        }
    } else {
        None
    };
    let chosen = p.scenario.clone().unwrap_or_else(|| "seeds-2025".into());
    let defaults = Scenario::bundled(&chosen).or_else(|| Scenario::bundled("seeds-2025"));
    let current = |k: &str| -> f64 {
        p.get(k).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            defaults
                .as_ref()
                .map(|sc| sc.p(k).at(sc.scenario.from + jiff::Span::new().days(sc.scenario.days as i64 - 1)))
                .unwrap_or(0.0)
        })
    };
    Ok(shell::page(
        Some(&v),
        "Planner",
        "/planner",
        html! {
            p.intro { "The capacity simulator on the same rules as the rest of Liaison: a person-level model of arrests, handoffs, detainers under each state's law, detention and removal, calibrated on ICE's FY2019–FY2024 statistics. Move a what-if and run; each run draws different people, and the band shows the 5th to 95th percentile across runs. Synthetic people only." }
            form.record method="get" action="/planner" {
                div.grid {
                    div.field { label for="scenario" { "Scenario" }
                        select #scenario name="scenario" { @for (k, l) in SCENARIOS { option value=(k) selected[chosen == *k] { (l) } } } }
                    div.field { label for="runs" { "Runs (1–" (RUNS_MAX) ")" }
                        input #runs name="runs" type="number" min="1" max=(RUNS_MAX) value=(p.runs.clone().unwrap_or_else(|| "5".into())); }
                    @for (k, label, min, max, step) in SLIDERS {
                        div.field {
                            label for=(k) { (label) ": " output #{(k) "-value"} for=(k) { (format!("{:.0}", current(k))) } }
                            input #(k) name=(k) type="range" min=(min) max=(max) step=(step) value=(current(k)) data-output={(k) "-value"};
                        }
                    }
                }
                div.buttons { button type="submit" { "Run the plan" } }
            }
            @match &result {
                None => {}
                Some(Err(e)) => div.notice.error role="alert" { p { strong { "The plan cannot run: " } (e) } },
                Some(Ok(o)) => (outcome(o)),
            }
        },
    ))
}

fn outcome(o: &Outcome) -> maud::Markup {
    let m = &o.monthly;
    let lines = |metric: &str| -> Vec<Line<'static>> {
        [("CBP", "#b85c00"), ("ICE", "#1f5fa8"), ("Total", "#333")]
            .into_iter()
            .map(|(a, colour)| Line { name: a, colour, points: series(m, metric, a), dashed: false })
            .collect()
    };
    let adp = series(m, "adp", "Total");
    let book_ins = series(m, "initial_book_ins", "Total");
    html! {
        h2 { "Binding constraint" }
        @if let Some(c) = o.constraints.first() {
            p.notice #binding { strong { (c.name) } " (" (format!("{:.0}%", 100.0 * c.load)) " used over the last 90 days): " (c.evidence) }
        }
        table {
            caption { "Every constraint, by how much of it the plan uses" }
            thead { tr { th scope="col" { "Constraint" } th scope="col" { "Load" } th scope="col" { "Evidence" } } }
            tbody { @for c in &o.constraints { tr { td { (c.name) } td { (format!("{:.0}%", 100.0 * c.load)) } td { (c.evidence) } } } }
        }
        h2 { "Series" }
        p.muted { (o.scenario.scenario.name) " from " (o.scenario.scenario.from) " for " (o.scenario.scenario.days) " days, " (o.runs) " run(s). Lines are the mean across runs; bands are p5–p95." }
        (PreEscaped(chart("Detained population (ADP) by arresting agency", "people", &lines("adp"))))
        (PreEscaped(chart("Initial book-ins by arresting agency", "per month", &lines("initial_book_ins"))))
        table #planner-table {
            caption { "The same numbers: total ADP and initial book-ins per month (mean, p5–p95)" }
            thead { tr { th scope="col" { "Month" } th scope="col" { "ADP" } th scope="col" { "ADP p5–p95" } th scope="col" { "Book-ins" } th scope="col" { "Book-ins p5–p95" } } }
            tbody {
                @for ((month, a, a5, a95), (_, b, b5, b95)) in adp.iter().zip(&book_ins) {
                    tr {
                        th scope="row" { (month.to_string()) }
                        td { (format!("{a:.0}")) } td { (format!("{a5:.0}–{a95:.0}")) }
                        td { (format!("{b:.0}")) } td { (format!("{b5:.0}–{b95:.0}")) }
                    }
                }
            }
        }
        p { "For every series, the answers to the planners' questions and the fit against ICE's statistics, run " code { "liaison simulate --scenario " (o.scenario.scenario.name) " --runs " (o.runs) " --out DIR" } "." }
    }
}
