//! Law-engine benchmarks: decision latency with every real 287(g) agreement and all
//! jurisdictions loaded, and border-zone query latency. Each prints percentiles and a ratio
//! against a baseline measured in the same run.

use crate::printer::Printer;
use anyhow::Result;
use domain::agency::Agency;
use domain::agreement::{Agreement, AgreementKind};
use domain::officer::{AuthoritySource, Designation, Officer, Role, TrainingRecord};
use domain::{AgreementId, Event, Timestamp};
use law::{Action, Context, Law, Request};
use serde_json::json;
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn percentiles(mut ns: Vec<u64>) -> (f64, f64, f64) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    (at(0.5), at(0.99), ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0)
}

/// One synthetic officer per real agreement, designated under it with current training.
struct Setup {
    agencies: HashMap<String, Agency>,
    agreements: Vec<Agreement>,
    by_id: HashMap<AgreementId, Agreement>,
}

fn setup() -> Result<Setup> {
    let facts = reference::load(&reference::Sources::bundled())?;
    let mut s = Setup { agencies: HashMap::new(), agreements: vec![], by_id: HashMap::new() };
    for f in facts {
        match f.event {
            Event::AgencyRegistered { agency } => _ = s.agencies.insert(agency.id.to_string(), agency),
            Event::AgreementRecorded { agreement } => {
                s.by_id.insert(agreement.id.clone(), agreement.clone());
                s.agreements.push(agreement);
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The agreements an officer's designations name, looked up among all of them.
fn officer_agreements(officer: &Officer, by_id: &HashMap<AgreementId, Agreement>) -> Vec<Agreement> {
    officer
        .designations
        .iter()
        .filter_map(|d| match &d.authority {
            AuthoritySource::Agreement287g { agreement } => by_id.get(agreement).cloned(),
            _ => None,
        })
        .collect()
}

pub fn decisions(p: &Printer, requests: u32) -> Result<ExitCode> {
    let law = Law::bundled();
    let s = setup()?;
    let since: Timestamp = "2025-01-01T00:00:00Z".parse().expect("valid");
    let now: Timestamp = "2026-03-06T17:00:00Z".parse().expect("valid");
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    // Places: random points of the contiguous United States (points elsewhere in its bounding
    // box are drawn again), so that every decision establishes its county, state and zone.
    let places = law::place::Places::bundled();
    let mut points = Vec::with_capacity(requests as usize);
    while points.len() < requests as usize {
        let (lat, lon) = (25.0 + (next(&mut x) % 2400) as f64 / 100.0, -124.0 + (next(&mut x) % 5700) as f64 / 100.0);
        if places.locate(lat, lon).is_ok() {
            points.push(domain::LatLon::new(lat, lon).expect("in range"));
        }
    }
    let mut cases = Vec::with_capacity(requests as usize);
    for point in points {
        let a = &s.agreements[(next(&mut x) % s.agreements.len() as u64) as usize];
        let agency = s.agencies[a.parties[1].as_str()].clone();
        let officer = Officer {
            id: "BENCH-O".to_string().try_into().expect("valid"),
            agency: agency.id.clone(),
            name: "Synthetic".into(),
            role: Role::LocalOfficer,
            designations: vec![Designation {
                authority: AuthoritySource::Agreement287g { agreement: a.id.clone() },
                scope: "-".into(),
                granted_at: since,
                expires_at: None,
            }],
            training: vec![TrainingRecord { course: "-".into(), completed_at: since, valid_until: None }],
        };
        let action = Action::ALL[(next(&mut x) % Action::ALL.len() as u64) as usize];
        let ctx = Context {
            location: Some(point),
            in_jail: next(&mut x).is_multiple_of(2),
            actor_has_custody: Some(true),
            ..Context::default()
        };
        cases.push((officer, agency, action, ctx));
    }
    // The measured path includes looking up the officer's agreements among all 1,843.
    let mut ns = Vec::with_capacity(cases.len());
    let mut allowed = 0;
    for (officer, agency, action, ctx) in &cases {
        let start = Instant::now();
        let agreements: Vec<Agreement> = officer_agreements(officer, &s.by_id);
        let d = law.decide(&Request { officer, agency, agreements: &agreements, action: *action, context: ctx, now });
        ns.push(start.elapsed().as_nanos() as u64);
        allowed += usize::from(d.effect != law::Effect::Deny);
    }
    // Baseline: the Cedar authorizer alone on the same requests (no rules beyond authority).
    let mut base = Vec::with_capacity(cases.len());
    for (officer, agency, action, ctx) in &cases {
        let agreements: Vec<Agreement> = officer_agreements(officer, &s.by_id);
        let req = Request { officer, agency, agreements: &agreements, action: *action, context: ctx, now };
        let start = Instant::now();
        let _ = law.policies.authorize(&req, false);
        base.push(start.elapsed().as_nanos() as u64);
    }
    // LIAISON_BENCH_BY_ACTION=1: each action's percentiles on stderr, to see where a tail comes from.
    if std::env::var("LIAISON_BENCH_BY_ACTION").is_ok() {
        let mut by: std::collections::BTreeMap<&str, (Vec<u64>, Vec<u64>)> = Default::default();
        for (i, (_, _, a, _)) in cases.iter().enumerate() {
            let e = by.entry(a.as_str()).or_default();
            e.0.push(ns[i]);
            e.1.push(base[i]);
        }
        for (a, (f, c)) in by {
            let (f50, f99, _) = percentiles(f);
            let (c50, c99, _) = percentiles(c);
            eprintln!("{a:28} full {f50:6.1} {f99:6.1}  cedar {c50:6.1} {c99:6.1}");
        }
    }
    // The place alone: county, state, city and time zone from the location.
    let mut place = Vec::with_capacity(cases.len());
    for (_, _, _, ctx) in &cases {
        let start = Instant::now();
        let _ = law::place::establish(&law.jurisdictions, ctx);
        place.push(start.elapsed().as_nanos() as u64);
    }
    // The noise floor: a fixed amount of work (SHA-256 of a block sized so that it takes as
    // long as the median decision) timed the same way: its p99 is what this machine adds to
    // the tail of anything that long (timer ticks, the hypervisor taking the CPU).
    let median = percentiles(ns.clone()).0;
    let probe = vec![7u8; 4096];
    let t = Instant::now();
    for _ in 0..200 {
        std::hint::black_box(ledger::entry::leaf_hash(std::hint::black_box(&probe)));
    }
    let per_4k_us = t.elapsed().as_secs_f64() * 1e6 / 200.0;
    let block = vec![7u8; ((median / per_4k_us) * 4096.0).max(64.0) as usize];
    let mut floor = Vec::with_capacity(cases.len());
    for _ in &cases {
        let start = Instant::now();
        std::hint::black_box(ledger::entry::leaf_hash(std::hint::black_box(&block)));
        floor.push(start.elapsed().as_nanos() as u64);
    }
    let models = s.agreements.iter().filter(|a| matches!(a.kind, AgreementKind::Moa287g { .. })).count();
    let (p50, p99, mean) = percentiles(ns);
    let (b50, b99, bmean) = percentiles(base);
    let (l50, l99, lmean) = percentiles(place);
    let (f50, f99, _) = percentiles(floor);
    p.emit(
        &format!(
            "law decisions: {requests} requests over {models} real 287(g) agreements and {} jurisdictions ({allowed} allowed)\n  full decision  p50 {p50:.1} µs  p99 {p99:.1} µs  mean {mean:.1} µs\n  Cedar alone    p50 {b50:.1} µs  p99 {b99:.1} µs  mean {bmean:.1} µs\n  place alone    p50 {l50:.1} µs  p99 {l99:.1} µs  mean {lmean:.1} µs\n  noise floor    p50 {f50:.1} µs  p99 {f99:.1} µs  (fixed work: p99/p50 {:.2})\n  full / Cedar-alone mean: {:.2}\n",
            law.jurisdictions.jurisdictions.len(),
            f99 / f50,
            mean / bmean
        ),
        json!({ "bench": "law", "requests": requests, "agreements": models, "p50_us": p50, "p99_us": p99, "mean_us": mean,
                "cedar_p50_us": b50, "cedar_p99_us": b99, "cedar_mean_us": bmean,
                "place_p50_us": l50, "place_p99_us": l99, "floor_p50_us": f50, "floor_p99_us": f99 }),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn zone(p: &Printer, points: u32) -> Result<ExitCode> {
    let law = Law::bundled();
    let settings = law::zone::ZoneSettings::default();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let pts: Vec<(f64, f64)> = (0..points)
        .map(|_| (25.0 + (next(&mut x) % 2400) as f64 / 100.0, -124.0 + (next(&mut x) % 5700) as f64 / 100.0))
        .collect();
    let mut ns = Vec::with_capacity(pts.len());
    let (mut inside, mut outside_us) = (0, 0);
    for &(lat, lon) in &pts {
        let start = Instant::now();
        let z = law.zone_with(lat, lon, settings, None);
        ns.push(start.elapsed().as_nanos() as u64);
        match z {
            Ok(z) => inside += usize::from(z.within_reasonable_distance),
            Err(_) => outside_us += 1,
        }
    }
    // Baseline: the same nearest-segment answer by scanning every segment (first 500 points).
    let sample = &pts[..pts.len().min(500)];
    let mut scan = Vec::with_capacity(sample.len());
    for &(lat, lon) in sample {
        let start = Instant::now();
        let (m, _) = law.boundary.nearest_by_scan(lat, lon);
        scan.push(start.elapsed().as_nanos() as u64);
        let (fast, _) = law.boundary.nearest(lat, lon);
        anyhow::ensure!((m - fast).abs() < 1e-6, "index and scan disagree at {lat},{lon}");
    }
    let (p50, p99, mean) = percentiles(ns);
    let (s50, s99, smean) = percentiles(scan);
    p.emit(
        &format!(
            "border zone: {points} random points over the contiguous US ({inside} inside 100 miles, {outside_us} outside the US), {} boundary segments\n  place + zone   p50 {p50:.1} µs  p99 {p99:.1} µs  mean {mean:.1} µs\n  full scan      p50 {s50:.1} µs  p99 {s99:.1} µs  mean {smean:.1} µs\n  speed-up vs scan: {:.0}x\n",
            law.boundary.segments(),
            smean / mean
        ),
        json!({ "bench": "zone", "points": points, "p50_us": p50, "p99_us": p99, "mean_us": mean, "scan_mean_us": smean }),
    );
    Ok(ExitCode::SUCCESS)
}
