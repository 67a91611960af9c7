//! From runs to answers: monthly series with their spread across runs (in the metric and
//! agency names of ICE's detention statistics), daily series, the fit against ICE's monthly
//! statistics, the binding constraint with its evidence, and the four planners' questions.

use crate::inputs::{Agency, IceStats, Month};
use crate::model::{Channel, Day, Release, Run};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One monthly value across runs.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub mean: f64,
    pub p05: f64,
    pub p95: f64,
}

/// (period, metric, arresting_agency) → value across runs.
pub type Monthly = BTreeMap<(Month, String, String), Cell>;

fn month_rows(days: &[Day], aors: &[String]) -> BTreeMap<(Month, String, String), f64> {
    let mut out: BTreeMap<(Month, String, String), f64> = BTreeMap::new();
    let mut n_days: BTreeMap<Month, f64> = BTreeMap::new();
    for d in days {
        let m = Month::of(d.date.expect("every simulated day has its date"));
        *n_days.entry(m).or_default() += 1.0;
        let mut add = |metric: &str, agency: &str, v: f64| {
            *out.entry((m, metric.to_string(), agency.to_string())).or_default() += v;
        };
        for a in Agency::ALL {
            add("initial_book_ins", a.name(), d.book_ins[a as usize] as f64);
            add("adp", a.name(), d.population[a as usize] as f64);
        }
        add("initial_book_ins", "Total", d.book_ins.iter().sum::<u32>() as f64);
        add("adp", "Total", d.population.iter().sum::<u32>() as f64);
        for c in Channel::ALL {
            add(&format!("arrests_{}", c.name()), c.agency().name(), d.arrests[c as usize] as f64);
        }
        let ice: u32 = Channel::ALL.iter().filter(|c| c.agency() == Agency::Ice).map(|c| d.arrests[*c as usize]).sum();
        add("arrests", "ICE", ice as f64);
        add(
            "arrests",
            "CBP",
            (d.arrests[Channel::BorderPatrol as usize] + d.arrests[Channel::BpInterior as usize]) as f64,
        );
        add("bp_encounters", "CBP", d.bp_encounters as f64);
        add("handoffs_bp_to_ice", "CBP", d.handoffs_bp_to_ice as f64);
        add("handoffs_over_72h", "CBP", d.handoffs_over_72h as f64);
        add("detainers_issued", "ICE", d.detainers_issued as f64);
        add("detainers_declined", "ICE", d.detainers_declined as f64);
        add("detainers_honored", "ICE", d.detainers_honored as f64);
        add("detainers_picked_up", "ICE", d.detainers_picked_up as f64);
        add("detainers_released_before_pickup", "ICE", d.detainers_released_before_pickup as f64);
        add("removals", "Total", d.removals as f64);
        add("removal_capacity", "Total", d.removal_capacity as f64);
        for r in Release::ALL {
            add(&format!("releases_{}", r.name()), "Total", d.releases[r as usize] as f64);
        }
        add("transfers", "Total", d.transfers as f64);
        add("deferred_arrests", "Total", d.deferred_arrests as f64);
        // Averages over the month's days (divided below).
        add("beds", "Total", d.beds as f64);
        add("removal_queue", "Total", d.removal_queue as f64);
        add("field_officers", "ICE", d.field_officers);
        add("escort_officer_days", "ICE", d.escort_officer_days);
        for (i, a) in aors.iter().enumerate() {
            add("adp_aor", a, d.population_by_aor.get(i).copied().unwrap_or(0) as f64);
        }
    }
    const AVERAGED: [&str; 5] = ["adp", "beds", "removal_queue", "field_officers", "adp_aor"];
    for ((m, metric, _), v) in out.iter_mut() {
        if AVERAGED.contains(&metric.as_str()) {
            *v /= n_days[m];
        }
    }
    out
}

/// The value at quantile `q` of sorted values (linear between neighbours).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let x = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo as f64)
}

/// Monthly series across runs.
pub fn monthly(runs: &[Run]) -> Monthly {
    let mut all: BTreeMap<(Month, String, String), Vec<f64>> = BTreeMap::new();
    for r in runs {
        for (k, v) in month_rows(&r.days, &r.aors) {
            all.entry(k).or_default().push(v);
        }
    }
    all.into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            (k, Cell { mean, p05: quantile(&v, 0.05), p95: quantile(&v, 0.95) })
        })
        .collect()
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

/// `monthly.csv`: `period,metric,arresting_agency,value` (and `p05,p95` with several runs),
/// in ICE's metric and agency names. Per-AOR rows are left to `aor_monthly.csv`.
pub fn monthly_csv(m: &Monthly, runs: u32) -> String {
    let mut s = String::from(if runs > 1 {
        "period,metric,arresting_agency,value,p05,p95\n"
    } else {
        "period,metric,arresting_agency,value\n"
    });
    for ((p, metric, agency), c) in m {
        if metric == "adp_aor" {
            continue;
        }
        let _ = write!(s, "{p},{metric},{agency},{}", fmt_num(c.mean));
        if runs > 1 {
            let _ = write!(s, ",{},{}", fmt_num(c.p05), fmt_num(c.p95));
        }
        s.push('\n');
    }
    s
}

/// `aor_monthly.csv`: population against beds by area of responsibility.
pub fn aor_csv(m: &Monthly, beds_share: &[(String, f64)]) -> String {
    let mut s = String::from("period,aor,adp,adp_p05,adp_p95,beds\n");
    for ((p, metric, aor), c) in m {
        if metric != "adp_aor" {
            continue;
        }
        let beds = m.get(&(*p, "beds".into(), "Total".into())).map(|b| b.mean).unwrap_or(0.0);
        let share = beds_share.iter().find(|(a, _)| a == aor).map(|x| x.1).unwrap_or(0.0);
        let _ = writeln!(s, "{p},{aor},{:.1},{:.1},{:.1},{:.0}", c.mean, c.p05, c.p95, beds * share);
    }
    s
}

/// `daily.csv`: every day's counts, averaged over the runs.
pub fn daily_csv(runs: &[Run]) -> String {
    let mut s = String::from("date,bp_encounters");
    for c in Channel::ALL {
        let _ = write!(s, ",arrests_{}", c.name());
    }
    s.push_str(",book_ins_cbp,book_ins_ice,handoffs_bp_to_ice,handoffs_over_72h,detainers_issued,detainers_declined,detainers_honored,detainers_picked_up,detainers_released_before_pickup,population_cbp,population_ice,beds,removals,removal_capacity,removal_queue");
    for r in Release::ALL {
        let _ = write!(s, ",releases_{}", r.name());
    }
    s.push_str(",transfers,deferred_arrests,field_officers,escort_officer_days,at_large_capacity,arrest_target\n");
    let n = runs.len() as f64;
    for i in 0..runs[0].days.len() {
        let mean = |f: &dyn Fn(&Day) -> f64| runs.iter().map(|r| f(&r.days[i])).sum::<f64>() / n;
        let _ = write!(s, "{}", runs[0].days[i].date.expect("set"));
        let mut col = |v: f64| {
            let _ = write!(s, ",{}", fmt_num((v * 100.0).round() / 100.0));
        };
        col(mean(&|d| d.bp_encounters as f64));
        for c in Channel::ALL {
            col(mean(&|d| d.arrests[c as usize] as f64));
        }
        col(mean(&|d| d.book_ins[0] as f64));
        col(mean(&|d| d.book_ins[1] as f64));
        col(mean(&|d| d.handoffs_bp_to_ice as f64));
        col(mean(&|d| d.handoffs_over_72h as f64));
        col(mean(&|d| d.detainers_issued as f64));
        col(mean(&|d| d.detainers_declined as f64));
        col(mean(&|d| d.detainers_honored as f64));
        col(mean(&|d| d.detainers_picked_up as f64));
        col(mean(&|d| d.detainers_released_before_pickup as f64));
        col(mean(&|d| d.population[0] as f64));
        col(mean(&|d| d.population[1] as f64));
        col(mean(&|d| d.beds as f64));
        col(mean(&|d| d.removals as f64));
        col(mean(&|d| d.removal_capacity as f64));
        col(mean(&|d| d.removal_queue as f64));
        for r in Release::ALL {
            col(mean(&|d| d.releases[r as usize] as f64));
        }
        col(mean(&|d| d.transfers as f64));
        col(mean(&|d| d.deferred_arrests as f64));
        col(mean(&|d| d.field_officers));
        col(mean(&|d| d.escort_officer_days));
        col(mean(&|d| d.at_large_capacity));
        col(mean(&|d| d.arrest_target));
        s.push('\n');
    }
    s
}

/// One month's simulated value against ICE's published one.
#[derive(Debug, Clone, Serialize)]
pub struct FitRow {
    pub period: String,
    pub metric: String,
    pub arresting_agency: String,
    pub observed: f64,
    pub simulated: f64,
    /// (simulated − observed) / observed, in percent.
    pub error_pct: f64,
}

/// The fit over the months both the run and ICE's statistics cover, for initial book-ins and
/// ADP by arresting agency, with the mean absolute percentage error per series.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub rows: Vec<FitRow>,
    /// (metric, agency) → mean absolute percentage error.
    pub mape: BTreeMap<String, f64>,
}

pub fn fit(m: &Monthly, ice: &IceStats) -> Fit {
    let mut rows = Vec::new();
    let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for ((p, metric, agency), c) in m {
        if metric != "initial_book_ins" && metric != "adp" {
            continue;
        }
        let a = match agency.as_str() {
            "CBP" => Some(Agency::Cbp),
            "ICE" => Some(Agency::Ice),
            _ => None,
        };
        let Some(obs) = ice.month(metric, *p, a) else { continue };
        if obs <= 0.0 {
            continue;
        }
        let err = (c.mean - obs) / obs * 100.0;
        let e = sums.entry(format!("{metric} {agency}")).or_default();
        e.0 += err.abs();
        e.1 += 1;
        rows.push(FitRow {
            period: p.to_string(),
            metric: metric.clone(),
            arresting_agency: agency.clone(),
            observed: obs,
            simulated: c.mean,
            error_pct: err,
        });
    }
    Fit { rows, mape: sums.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect() }
}

pub fn fit_csv(f: &Fit) -> String {
    let mut s = String::from("period,metric,arresting_agency,observed,simulated,error_pct\n");
    for r in &f.rows {
        let _ = writeln!(
            s,
            "{},{},{},{:.1},{:.1},{:.1}",
            r.period, r.metric, r.arresting_agency, r.observed, r.simulated, r.error_pct
        );
    }
    s
}

/// A constraint's load over the last 90 days of a run (1.0 = fully used).
#[derive(Debug, Clone, Serialize)]
pub struct Constraint {
    pub name: &'static str,
    pub load: f64,
    pub evidence: String,
}

/// Averages of a window of days across runs.
fn window_mean(runs: &[Run], last: usize, f: &dyn Fn(&Day) -> f64) -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for r in runs {
        for d in r.days.iter().rev().take(last) {
            sum += f(d);
            n += 1.0;
        }
    }
    if n == 0.0 { 0.0 } else { sum / n }
}

pub fn ice_arrests(d: &Day) -> f64 {
    Channel::ALL.iter().filter(|c| c.agency() == Agency::Ice).map(|c| d.arrests[*c as usize] as f64).sum()
}

/// The four constraints with their load and evidence, most loaded first.
pub fn constraints(runs: &[Run]) -> Vec<Constraint> {
    const W: usize = 90;
    let at_large = window_mean(runs, W, &|d| d.arrests[Channel::IceAtLarge as usize] as f64);
    let cap = window_mean(runs, W, &|d| d.at_large_capacity);
    let target = window_mean(runs, W, &|d| d.arrest_target);
    let arrests = window_mean(runs, W, &ice_arrests);
    let pop = window_mean(runs, W, &|d| d.population.iter().sum::<u32>() as f64);
    let beds = window_mean(runs, W, &|d| d.beds as f64);
    let full_days = window_mean(runs, W, &|d| {
        if d.population.iter().sum::<u32>() as f64 >= 0.98 * d.beds as f64 { 1.0 } else { 0.0 }
    });
    let no_bed = window_mean(runs, W, &|d| {
        (d.releases[Release::CapacityNoBed as usize] + d.releases[Release::CapacityEarly as usize] + d.deferred_arrests)
            as f64
    });
    let removals = window_mean(runs, W, &|d| d.removals as f64);
    let rcap = window_mean(runs, W, &|d| d.removal_capacity as f64);
    let queue = window_mean(runs, W, &|d| d.removal_queue as f64);
    let escort = window_mean(runs, W, &|d| d.escort_officer_days);
    let field = window_mean(runs, W, &|d| d.field_officers);
    let mut v = vec![
        Constraint {
            name: "arrest capacity",
            load: if cap > 0.0 { at_large / cap } else { 0.0 },
            evidence: format!(
                "ICE arrests {arrests:.0}/day against a target of {target:.0}/day; at-large arrests {at_large:.0}/day of an officer capacity of {cap:.0}/day ({field:.0} officers on arrest teams)"
            ),
        },
        Constraint {
            name: "beds",
            load: if beds > 0.0 { pop / beds } else { 0.0 },
            evidence: format!(
                "{pop:.0} detained in {beds:.0} beds ({:.0}%); full on {:.0}% of days; {no_bed:.0}/day released, deferred or turned away for want of a bed",
                100.0 * pop / beds.max(1.0),
                100.0 * full_days
            ),
        },
        Constraint {
            name: "removal capacity",
            load: if rcap > 0.0 { removals / rcap } else { 0.0 },
            evidence: format!(
                "{removals:.0} removals/day of a capacity of {rcap:.0}/day; {queue:.0} waiting for a seat on average"
            ),
        },
        Constraint {
            name: "transport",
            load: if field + escort > 0.0 { escort / (field + escort) } else { 0.0 },
            evidence: format!(
                "{escort:.0} officer-days/day escorting flights and transfers, against {field:.0} on arrest teams"
            ),
        },
    ];
    v.sort_by(|a, b| b.load.total_cmp(&a.load));
    v
}

/// An answer to one of the planners' questions.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub question: &'static str,
    pub answer: String,
}

/// The variants the answers need, each a set of what-ifs on the scenario.
pub const VARIANTS: [(&str, &[&str]); 5] = [
    ("target_3000", &["arrest_target_per_day=3000"]),
    ("no_bp_interior", &["bp_interior_agents=0"]),
    ("beds_50000", &["beds=50000"]),
    ("beds_100000", &["beds=100000"]),
    ("flights_12", &["removal_flights_per_day=12"]),
];

fn per_year(runs: &[Run], f: &dyn Fn(&Day) -> f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs
        .iter()
        .map(|r| r.days.iter().rev().take(365).map(f).sum::<f64>() * 365.0 / r.days.len().min(365) as f64)
        .collect();
    v.sort_by(f64::total_cmp);
    (v.iter().sum::<f64>() / v.len() as f64, quantile(&v, 0.05), quantile(&v, 0.95))
}

fn per_day(runs: &[Run], f: &dyn Fn(&Day) -> f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs.iter().map(|r| window_mean(std::slice::from_ref(r), 90, f)).collect();
    v.sort_by(f64::total_cmp);
    (v.iter().sum::<f64>() / v.len() as f64, quantile(&v, 0.05), quantile(&v, 0.95))
}

fn range((m, lo, hi): (f64, f64, f64)) -> String {
    format!("{m:.0} (p5–p95 {lo:.0}–{hi:.0})")
}

/// The four questions, answered from the base runs and the variants (by name).
pub fn answers(base: &[Run], variants: &BTreeMap<&str, Vec<Run>>) -> Vec<Answer> {
    let v = |name: &str| variants.get(name).map(Vec::as_slice).unwrap_or(base);
    let t = v("target_3000");
    let c = constraints(t);
    let officers = per_day(t, &|d| d.field_officers).0;
    let cap = per_day(t, &|d| d.at_large_capacity).0;
    let other = per_day(t, &ice_arrests).0 - per_day(t, &|d| d.arrests[Channel::IceAtLarge as usize] as f64).0;
    let per_officer = if officers > 0.0 { cap / officers } else { 0.0 };
    let needed = if per_officer > 0.0 { ((3000.0 - other) / per_officer).max(0.0) } else { f64::INFINITY };
    let arrests_t = per_day(t, &ice_arrests);
    let q1 = format!(
        "{} With a target of 3,000 a day, ICE makes {} arrests a day over the last 90 days. The binding constraint is {} ({}). At the scenario's most productive pace ({per_officer:.2} at-large arrests per officer-day) 3,000 a day would take about {needed:.0} officers on arrest teams, against {officers:.0}.",
        if arrests_t.0 >= 2900.0 { "Yes." } else { "No." },
        range(arrests_t),
        c[0].name,
        c[0].evidence
    );
    let with = per_day(base, &|d| d.arrests[Channel::BpInterior as usize] as f64);
    let without = per_day(v("no_bp_interior"), &ice_arrests);
    let all_with = per_day(base, &|d| ice_arrests(d) + d.arrests[Channel::BpInterior as usize] as f64);
    let q2 = format!(
        "Border Patrol agents detailed to interior operations add {} arrests a day over the last 90 days (days without an active operation count as zero); interior arrests by ICE and Border Patrol together are {} a day with them and {} without. Beds are shared: where detention is full, their arrests displace others (see the beds answer).",
        range(with),
        range(all_with),
        range(without)
    );
    let b50 = v("beds_50000");
    let b100 = v("beds_100000");
    let adp = |r: &[Run]| per_day(r, &|d| d.population.iter().sum::<u32>() as f64);
    let cap_rel = |r: &[Run]| {
        per_year(r, &|d| {
            (d.releases[Release::CapacityNoBed as usize]
                + d.releases[Release::CapacityEarly as usize]
                + d.deferred_arrests) as f64
        })
    };
    let rem = |r: &[Run]| per_year(r, &|d| d.removals as f64);
    let q3 = format!(
        "At 50,000 beds: ADP {}, {} a year released, deferred or turned away for want of a bed, {} removals a year. At 100,000 beds: ADP {}, {} a year for want of a bed, {} removals a year. Beds bind only while arrests and stays fill them; past that, removals are limited by flights (see the next answer).",
        range(adp(b50)),
        range(cap_rel(b50)),
        range(rem(b50)),
        range(adp(b100)),
        range(cap_rel(b100)),
        range(rem(b100))
    );
    let base_c = constraints(base);
    let r = rem(base);
    let r12 = rem(v("flights_12"));
    let q4 = format!(
        "The scenario removes {} people a year (last 365 days, annualized): {:.0}% of 600,000 and {:.0}% of 1,000,000. The binding constraint is {} ({}). With 12 removal flights a day: {} a year.",
        range(r),
        100.0 * r.0 / 600_000.0,
        100.0 * r.0 / 1_000_000.0,
        base_c[0].name,
        base_c[0].evidence,
        range(r12)
    );
    vec![
        Answer {
            question: "Can ICE reach 3,000 arrests a day with about 6,000–6,500 deportation officers?",
            answer: q1,
        },
        Answer {
            question: "Do Border Patrol agents deployed to interior cities add arrests, or only headlines?",
            answer: q2,
        },
        Answer { question: "What happens as detention grows from 50,000 toward 100,000 beds?", answer: q3 },
        Answer {
            question: "How far are 600,000 removals a year from a 1 million goal, and what is the limit: arrests, beds, transport or removal flights?",
            answer: q4,
        },
    ]
}
