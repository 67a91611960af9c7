//! `liaison simulate`: runs a scenario of the capacity simulator and writes its series, report
//! and answers; `--calibrate` regenerates the baseline from FY2019–FY2024 data and prints its fit.

use crate::printer::Printer;
use anyhow::{Context, Result, bail};
use jiff::civil::Date;
use serde_json::json;
use sim::report::{self, Answer};
use sim::{Inputs, Scenario, html};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SimArgs {
    /// A bundled scenario (`baseline-fy2024`, `seeds-2025`) or a scenario file
    /// (`--scenario my.toml`).
    #[arg(long, required_unless_present = "calibrate")]
    pub scenario: Option<String>,
    /// First simulated day, instead of the scenario's (`--from 2025-01-01`).
    #[arg(long)]
    pub from: Option<Date>,
    /// Days to simulate, instead of the scenario's (`--days 365`).
    #[arg(long)]
    pub days: Option<u32>,
    /// The seed: the same seed gives the same output, byte for byte (`--seed 1`).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs with different seeds drawn from --seed; the series get p05 and p95 (`--runs 20`).
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// A what-if: replace a parameter with a constant; repeat for more (`--set beds=100000`).
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// Write monthly.csv, aor_monthly.csv, daily.csv, fit.csv, series.json, summary.txt and
    /// report.html into this directory (`--out sim-out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the what-if runs behind the four answers (faster; the answers are left out)
    /// (`--no-answers`).
    #[arg(long)]
    pub no_answers: bool,
    /// Replay a sample of the first run's actions as real commands through the law engine
    /// into this store (a new one is made with the reference data and the demo's cast)
    /// (`--into sim.db`).
    #[arg(long, conflicts_with = "calibrate")]
    pub into: Option<PathBuf>,
    /// With --into: about how many simulated people to replay (`--people 500`).
    #[arg(long, default_value_t = 200, requires = "into", value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::simfeed::PEOPLE_MAX)))]
    pub people: u32,
    /// Regenerate the baseline from FY2019–FY2024 data, run it and print its fit; with --out,
    /// also write the scenario file (`--calibrate --out docs/sim`).
    #[arg(long, conflicts_with = "scenario")]
    pub calibrate: bool,
}

fn load(name: &str) -> Result<Scenario> {
    if let Some(s) = Scenario::bundled(name) {
        return Ok(s);
    }
    let path = Path::new(name);
    if !path.exists() {
        let names: Vec<&str> = sim::scenario::BUNDLED.iter().map(|(n, _)| *n).collect();
        bail!("scenario {name:?} is neither a bundled scenario ({}) nor a file", names.join(", "));
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Scenario::parse(&text).with_context(|| format!("scenario {}", path.display()))
}

/// The outputs of one simulation, in memory.
pub struct Outputs {
    /// The first run, for `--into`.
    pub first: sim::Run,
    pub files: Vec<(&'static str, String)>,
    pub summary: serde_json::Value,
    pub human: String,
}

/// Runs a scenario with its what-ifs and renders every output. Shared with the web planner.
pub fn simulate(
    sc: &Scenario,
    seed: u64,
    runs: u32,
    answers: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outputs> {
    if runs == 0 || runs > sim::scenario::RUNS_MAX {
        bail!("--runs {runs} is not in 1..={}", sim::scenario::RUNS_MAX);
    }
    let inputs = Inputs::bundled().context("the bundled simulator data")?;
    let law = law::Law::bundled();
    let jail = sim::law::JailLaw::new(&law, &inputs, sc.scenario.from, sc.scenario.days);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let base = sim::run_many(sc, &inputs, &jail, seed, runs, threads, progress)?;
    let mut variants = BTreeMap::new();
    if answers {
        for (name, sets) in report::VARIANTS {
            let mut v = sc.clone();
            for kv in sets {
                v.set(kv)?;
            }
            variants.insert(name, sim::run_many(&v, &inputs, &jail, seed, runs, threads, &|_| {})?);
        }
    }
    let monthly = report::monthly(&base);
    let fit = report::fit(&monthly, &inputs.ice);
    let constraints = report::constraints(&base);
    let ans: Vec<Answer> = if answers { report::answers(&base, &variants) } else { Vec::new() };
    let last = sc.scenario.from.checked_add(jiff::Span::new().days(i64::from(sc.scenario.days) - 1))?;
    let jail_table: Vec<(String, String, String, String)> = jail
        .table(last)
        .into_iter()
        .map(|(st, w, r)| {
            (
                st.to_string(),
                format!("{:.1}%", 100.0 * w),
                r.answer.name().to_string(),
                format!("{} — {}", r.rule_id, r.citation),
            )
        })
        .collect();
    let people = base.iter().map(|r| r.people).sum::<u64>() / u64::from(runs);
    let events = base.iter().map(|r| r.events).sum::<u64>() / u64::from(runs);
    let total_adp: f64 = inputs.aors.iter().map(|a| a.adp_fy2024).sum();
    let shares: Vec<(String, f64)> = inputs.aors.iter().map(|a| (a.code.clone(), a.adp_fy2024 / total_adp)).collect();
    let page = html::page(&html::Page {
        scenario: sc,
        seed,
        runs,
        monthly: &monthly,
        ice: &inputs.ice,
        answers: &ans,
        constraints: &constraints,
        fit: &fit,
        people,
        events,
        jail_table: &jail_table,
    });
    let mut human = format!(
        "scenario {} from {} for {} days, seed {seed}, {runs} run(s): {people} people, {events} events per run\n",
        sc.scenario.name, sc.scenario.from, sc.scenario.days
    );
    if let Some(c) = constraints.first() {
        human.push_str(&format!("binding constraint: {} ({:.0}% used): {}\n", c.name, 100.0 * c.load, c.evidence));
    }
    for (k, v) in &fit.mape {
        human.push_str(&format!("fit {k}: mean absolute error {v:.1}% per month\n"));
    }
    for a in &ans {
        human.push_str(&format!("\n{}\n  {}\n", a.question, a.answer));
    }
    let series: Vec<serde_json::Value> = monthly
        .iter()
        .map(|((p, m, a), c)| json!({"period": p.to_string(), "metric": m, "arresting_agency": a, "value": c.mean, "p05": c.p05, "p95": c.p95}))
        .collect();
    let summary = json!({
        "scenario": sc.scenario.name,
        "from": sc.scenario.from.to_string(),
        "days": sc.scenario.days,
        "seed": seed,
        "runs": runs,
        "people_per_run": people,
        "events_per_run": events,
        "constraints": constraints,
        "fit_mape_pct": fit.mape,
        "answers": ans,
    });
    let mut series_doc = summary.clone();
    series_doc["monthly"] = json!(series);
    let files = vec![
        ("monthly.csv", report::monthly_csv(&monthly, runs)),
        ("aor_monthly.csv", report::aor_csv(&monthly, &shares)),
        ("daily.csv", report::daily_csv(&base)),
        ("fit.csv", report::fit_csv(&fit)),
        ("series.json", serde_json::to_string_pretty(&series_doc)? + "\n"),
        ("summary.txt", human.clone()),
        ("report.html", page),
    ];
    let first = base.into_iter().next().expect("at least one run");
    Ok(Outputs { first, files, summary, human })
}

pub(crate) fn write_all(dir: &Path, files: &[(impl AsRef<str>, String)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in files {
        // Written whole to a temporary name and renamed: no half-written file survives a crash.
        let name = name.as_ref();
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming {}", path.display()))?;
    }
    Ok(())
}

pub fn run(p: &Printer, a: SimArgs) -> Result<ExitCode> {
    let mut sc = if a.calibrate {
        let inputs = Inputs::bundled().context("the bundled simulator data")?;
        let text = sim::calibrate::baseline(&law::Law::bundled(), &inputs);
        if let Some(dir) = &a.out {
            write_all(dir, &[("baseline-fy2024.toml", text.clone())])?;
        }
        Scenario::parse(&text).context("the calibrated baseline")?
    } else {
        load(a.scenario.as_deref().expect("clap requires --scenario without --calibrate"))?
    };
    sc.window(a.from, a.days)?;
    for kv in &a.sets {
        sc.set(kv)?;
    }
    let days_total = u64::from(sc.scenario.days) * u64::from(a.runs);
    let bar = p.progress(days_total, "simulating");
    let out = simulate(&sc, a.seed, a.runs, !a.no_answers && !a.calibrate, &|n| bar.set_position(n.min(days_total)))?;
    bar.finish_and_clear();
    if let Some(dir) = &a.out {
        write_all(dir, &out.files)?;
    }
    let mut human = out.human;
    let mut summary = out.summary;
    if let Some(dir) = &a.out {
        human.push_str(&format!("\nwrote {} files to {}\n", out.files.len(), dir.display()));
    }
    if let Some(db) = &a.into {
        let fed = crate::commands::with_demo_store(db, &mut |store| {
            let bar = p.progress(0, "replaying through the law engine");
            let fed = crate::simfeed::feed(store, &out.first, a.people, a.seed, &|i, n| {
                bar.set_length(n);
                bar.set_position(i)
            });
            bar.finish_and_clear();
            fed
        })?;
        human.push_str(&format!("\ninto {}:\n{}", db.display(), crate::simfeed::render(&fed)));
        summary["into"] = json!({"db": db.display().to_string(), "replayed": fed});
    }
    p.emit(&human, summary);
    Ok(ExitCode::SUCCESS)
}
