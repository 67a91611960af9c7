//! The simulator's tests: the bundled baseline is what calibration produces, the same seed
//! gives the same bytes (whatever the threads), Little's law holds on a steady state, the
//! daily invariants hold under every full-beds policy, what-ifs are checked, and seeds-2025
//! takes its non-policy parameters from the FY2024 calibration.

use sim::law::JailLaw;
use sim::scenario::{Start, WhenFull};
use sim::{Inputs, Scenario, report};
use std::sync::OnceLock;

fn inputs() -> &'static Inputs {
    static I: OnceLock<Inputs> = OnceLock::new();
    I.get_or_init(|| Inputs::bundled().expect("bundled data parse"))
}

fn law() -> &'static law::Law {
    static L: OnceLock<law::Law> = OnceLock::new();
    L.get_or_init(law::Law::bundled)
}

fn runs(sc: &Scenario, seed: u64, n: u32, threads: usize) -> Vec<sim::Run> {
    let jail = JailLaw::new(law(), inputs(), sc.scenario.from, sc.scenario.days);
    sim::run_many(sc, inputs(), &jail, seed, n, threads, &|_| {}).expect("invariants hold")
}

#[test]
fn bundled_baseline_is_what_calibration_produces() {
    let text = sim::calibrate::baseline(law(), inputs());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../simulations/baseline-fy2024.toml");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let bundled = std::fs::read_to_string(path).unwrap();
    assert!(bundled == text, "simulations/baseline-fy2024.toml differs from calibration; rerun with UPDATE_EXPECT=1");
    Scenario::parse(&text).expect("the calibrated baseline parses");
}

#[test]
fn seeds_2025_takes_fy2024_values_from_the_baseline() {
    let seeds = Scenario::bundled("seeds-2025").unwrap();
    let base = Scenario::bundled("baseline-fy2024").unwrap();
    let fy2024 = jiff::civil::date(2024, 6, 1);
    let mut checked = 0;
    for (k, p) in &seeds.param {
        if p.source.starts_with("FY2024 calibrated (baseline)") {
            let want = base.p(k).at(fy2024);
            let got = p.at(fy2024);
            assert!(
                (got - want).abs() <= 0.0051 * want.abs().max(1.0),
                "{k}: seeds-2025 has {got}, the FY2024 baseline {want}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} parameters checked");
}

fn short(name: &str, days: u32) -> Scenario {
    let mut sc = Scenario::bundled(name).unwrap();
    sc.window(None, Some(days)).unwrap();
    sc
}

#[test]
fn same_seed_same_bytes_whatever_the_threads() {
    let sc = short("seeds-2025", 120);
    let a = runs(&sc, 7, 3, 1);
    let b = runs(&sc, 7, 3, 2);
    assert_eq!(a, b);
    let (ma, mb) = (report::monthly(&a), report::monthly(&b));
    assert_eq!(report::monthly_csv(&ma, 3), report::monthly_csv(&mb, 3));
    assert_eq!(report::daily_csv(&a), report::daily_csv(&b));
    let c = runs(&sc, 8, 1, 1);
    assert_ne!(a[0].days, c[0].days, "another seed gives another run");
}

/// A steady state: constant Border Patrol arrivals only, ample beds and removal seats, so the
/// mean population L must equal arrivals per day λ times the mean time in detention W.
#[test]
fn littles_law_holds_on_a_steady_state() {
    let mut sc = short("seeds-2025", 900);
    sc.scenario.bp_encounters_from_data = false;
    sc.scenario.start = Start::Empty;
    sc.operations.clear();
    for kv in [
        "bp_encounters_per_month=30000",
        "bp_book_in_share=0.5",
        "ero_officers=0",
        "detainers_per_day=0",
        "jem_arrests_per_agreement_day=0",
        "wso_arrests_per_agreement_day=0",
        "tfm_arrests_per_agreement_day=0",
        "beds=1000000",
        "removal_flights_per_day=100",
        "los_days_cbp_convicted=20",
        "los_days_cbp_pending=20",
        "los_days_cbp_other=20",
        "removal_share=0",
    ] {
        sc.set(kv).unwrap();
    }
    let r = &runs(&sc, 3, 1, 1)[0];
    let steady = &r.days[300..];
    let l = steady.iter().map(|d| d.population.iter().sum::<u32>() as f64).sum::<f64>() / steady.len() as f64;
    let lambda = steady.iter().map(|d| d.book_ins.iter().sum::<u32>() as f64).sum::<f64>() / steady.len() as f64;
    let w = 20.0;
    let err = (l - lambda * w).abs() / (lambda * w);
    assert!(err < 0.05, "L = {l:.0}, λW = {:.0} ({lambda:.1}/day × {w} days): {:.1}% apart", lambda * w, 100.0 * err);
    assert!(lambda > 400.0, "λ = {lambda}");
}

#[test]
fn invariants_hold_when_beds_are_short_under_every_policy() {
    for when in [WhenFull::EarlyRelease, WhenFull::ReleaseNew, WhenFull::Defer, WhenFull::Overflow] {
        let mut sc = short("seeds-2025", 200);
        sc.scenario.when_full = when;
        sc.set("beds=20000").unwrap();
        let r = &runs(&sc, 11, 1, 1)[0];
        let last = r.days.last().unwrap();
        let detained: u32 = last.population.iter().sum();
        let cap =
            (last.beds as f64 * if matches!(when, WhenFull::Overflow | WhenFull::Defer) { 1.1 } else { 1.0 }) as u32;
        // The September 2024 population (~37,000) starts above 20,000 beds; it drains, and
        // new book-ins never exceed the beds.
        assert!(detained <= cap + 50, "{when:?}: {detained} detained in {} beds", last.beds);
        let turned_away: u32 = r.days.iter().map(|d| d.releases[5] + d.releases[4] + d.deferred_arrests).sum();
        assert!(turned_away > 0, "{when:?}: beds never bound");
    }
}

#[test]
fn what_ifs_are_checked() {
    let mut sc = Scenario::bundled("seeds-2025").unwrap();
    assert!(sc.set("beds=-1").unwrap_err().0.contains("outside"));
    assert!(sc.set("bedz=1").unwrap_err().0.contains("not a parameter"));
    assert!(sc.set("beds=lots").unwrap_err().0.contains("not a number"));
    assert!(sc.set("beds").unwrap_err().0.contains("KEY=VALUE"));
    sc.set("beds=100000").unwrap();
    assert_eq!(sc.p("beds").at(jiff::civil::date(2025, 1, 1)), 100_000.0);
    let bad = include_str!("../../../simulations/seeds-2025.toml").replace("[param.beds]", "[param.bedz]");
    assert!(Scenario::parse(&bad).unwrap_err().0.contains("param.beds is missing"));
}

#[test]
fn california_jails_decline_and_texas_jails_must_honor() {
    let jail = JailLaw::new(law(), inputs(), jiff::civil::date(2025, 1, 1), 30);
    let table = jail.table(jiff::civil::date(2025, 1, 15));
    let find = |st: &str| table.iter().find(|(s, _, _)| *s == st).map(|x| x.2.clone()).unwrap();
    assert_eq!(find("CA").answer, sim::law::Answer::Declines);
    assert!(find("CA").citation.contains("7284.6"), "{:?}", find("CA"));
    assert_eq!(find("TX").answer, sim::law::Answer::MustHonor);
    assert_eq!(find("GA").answer, sim::law::Answer::MayHonor);
}

#[test]
fn seeds_2025_writes_the_monthly_series_in_ice_names() {
    let sc = Scenario::bundled("seeds-2025").unwrap();
    let r = runs(&sc, 1, 2, 2);
    let csv = report::monthly_csv(&report::monthly(&r), 2);
    assert!(csv.starts_with("period,metric,arresting_agency,value,p05,p95\n"));
    for agency in ["CBP", "ICE", "Total"] {
        for metric in ["initial_book_ins", "adp"] {
            for period in ["2024-10", "2025-06", "2026-03"] {
                let prefix = format!("{period},{metric},{agency},");
                assert!(csv.lines().any(|l| l.starts_with(&prefix)), "no {prefix}");
            }
        }
    }
}
