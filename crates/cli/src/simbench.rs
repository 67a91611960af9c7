//! Simulator benchmark: one national fiscal year (FY2024, `baseline-fy2024` from 2023-10-01
//! for 366 days) on one thread, at 1×, 4× and 16× the population. Prints people, events and
//! seconds, and each scale's time against the 1× run of the same process. `bench/simpy_model.py`
//! runs the same flows in SimPy and `bench/sim-vs-simpy` compares the two.

use crate::printer::Printer;
use anyhow::{Context, Result};
use serde_json::json;
use sim::{Inputs, Scenario};
use std::process::ExitCode;
use std::time::Instant;

pub fn run(p: &Printer, scales: &[u64], reps: u32, seed: u64) -> Result<ExitCode> {
    let inputs = Inputs::bundled().context("the bundled simulator data")?;
    let law = law::Law::bundled();
    let from: jiff::civil::Date = "2023-10-01".parse().expect("valid date");
    let mut rows = Vec::new();
    let mut base_secs = None;
    for &scale in scales {
        let mut sc = Scenario::bundled("baseline-fy2024").context("the bundled baseline")?;
        sc.window(Some(from), Some(366))?;
        sc.set(&format!("population_scale={scale}"))?;
        // The jail-law table is built once per scenario (one law-engine question per state and
        // month) and timed apart from the run.
        let t = Instant::now();
        let jail = sim::law::JailLaw::new(&law, &inputs, from, 366);
        let law_secs = t.elapsed().as_secs_f64();
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            let r = sim::model::run(&sc, &inputs, &jail, seed, &|_| {})?;
            times.push(t.elapsed().as_secs_f64());
            last = Some(r);
        }
        times.sort_by(f64::total_cmp);
        let secs = times[times.len() / 2];
        let r = last.expect("at least one rep");
        let base = *base_secs.get_or_insert(secs);
        let booked: u64 = r.days.iter().map(|d| u64::from(d.book_ins[0] + d.book_ins[1])).sum();
        let line = format!(
            "{scale:>3}×  people {:>10}  events {:>11}  book-ins {:>9}  {:.3} s (median of {})  {:.1} M events/s  \
             time / 1× {:.2}  (jail-law table {:.3} s)",
            r.people,
            r.events,
            booked,
            secs,
            times.len(),
            r.events as f64 / secs / 1e6,
            secs / base,
            law_secs
        );
        let row = json!({"scale": scale, "people": r.people, "events": r.events, "book_ins": booked,
            "seconds": secs, "seconds_runs": times, "law_table_seconds": law_secs, "time_vs_1x": secs / base});
        if !p.json {
            p.line(&line, serde_json::Value::Null);
        }
        rows.push(row);
    }
    p.emit(
        "the 1× run is one FY2024 national year; `time / 1×` is how run time grows with population",
        json!({"benchmark": "sim", "scenario": "baseline-fy2024", "from": "2023-10-01", "days": 366,
        "seed": seed, "threads": 1, "rows": rows}),
    );
    Ok(ExitCode::SUCCESS)
}
