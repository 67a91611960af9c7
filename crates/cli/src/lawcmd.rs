//! `liaison policy ...` and `liaison law ...`: the law engine from the command line.

use crate::printer::Printer;
use anyhow::{Context as _, Result};
use clap::{Subcommand, ValueEnum};
use law::scenario::Scenario;
use law::zone::{AirMile, CoastalMeasure, ZoneSettings};
use law::{Law, Sources};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Parse and validate the Cedar schema and policies and the jurisdiction table.
    Validate {
        /// A folder holding schema.cedarschema and authority.cedar; default the compiled-in ones
        /// (`--dir policies`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A jurisdiction table to check instead of the compiled-in one (`--jurisdictions
        /// reference/jurisdictions.toml`).
        #[arg(long)]
        jurisdictions: Option<PathBuf>,
    },
    /// Replay the decision recorded with an event, under the rules in force when it was made.
    Explain {
        /// The store holding the event and the rules in force then (`--db demo.db`).
        #[arg(long)]
        db: PathBuf,
        /// The sequence number of the event whose decision to replay (`--event 3470`).
        #[arg(long)]
        event: u64,
    },
}

#[derive(Subcommand)]
pub enum LawCmd {
    /// Decide every case in scenario files (docs/scenarios.md) and print the decisions as JSON.
    Check {
        /// Scenario files, TOML as in docs/scenarios.md (`scenarios/*.toml`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Distance from a point to the external boundary and which border zones apply.
    Zone {
        /// Latitude, WGS84 degrees (`--lat 32.80`).
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        /// Longitude, WGS84 degrees; west is negative (`--lon -116.95`).
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        /// What an "air mile" is: statute or nautical (`--air-mile nautical`).
        #[arg(long, value_enum, default_value_t = AirMileArg::Statute)]
        air_mile: AirMileArg,
        /// Measure coastal distances from the 12-nm territorial-sea limit or the coastline
        /// (`--coast coastline`).
        #[arg(long, value_enum, default_value_t = CoastArg::TerritorialSeaLimit)]
        coast: CoastArg,
        /// A shorter reasonable distance fixed for the sector, statute miles (`--sector-miles 25`).
        #[arg(long)]
        sector_miles: Option<f64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AirMileArg {
    Statute,
    Nautical,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CoastArg {
    TerritorialSeaLimit,
    Coastline,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn policy(p: &Printer, cmd: PolicyCmd) -> Result<ExitCode> {
    match cmd {
        PolicyCmd::Validate { dir, jurisdictions } => validate(p, dir.as_deref(), jurisdictions.as_deref()),
        PolicyCmd::Explain { db, event } => crate::decisions::explain(p, &db, event),
    }
}

fn validate(p: &Printer, dir: Option<&Path>, table: Option<&Path>) -> Result<ExitCode> {
    let (schema, policies) = match dir {
        Some(d) => (read(&d.join("schema.cedarschema"))?, read(&d.join("authority.cedar"))?),
        None => (law::SCHEMA.to_string(), law::POLICIES.to_string()),
    };
    let jurisdictions = match table {
        Some(f) => read(f)?,
        None => law::JURISDICTIONS.to_string(),
    };
    let src = Sources {
        schema: &schema,
        policies: &policies,
        jurisdictions: &jurisdictions,
        border_lines: law::BORDER_LINES,
    };
    let l = Law::load(&src).context("the law does not validate")?;
    let rules: usize = l.jurisdictions.jurisdictions.iter().map(|j| j.rules.len()).sum();
    let unverified: Vec<&str> = l
        .jurisdictions
        .jurisdictions
        .iter()
        .flat_map(|j| &j.rules)
        .filter(|r| r.unverified)
        .map(|r| r.id.as_str())
        .collect();
    p.emit(
        &format!(
            "valid: {} Cedar policies (strict validation), {} jurisdictions with {rules} rules\nrules hash: {}\nunverified rules: {}",
            l.policies.notes.len(),
            l.jurisdictions.jurisdictions.len(),
            l.rules_hash,
            unverified.join(", ")
        ),
        json!({ "valid": true, "policies": l.policies.notes.len(), "jurisdictions": l.jurisdictions.jurisdictions.len(),
                "rules": rules, "rules_hash": l.rules_hash, "unverified_rules": unverified }),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn law_cmd(p: &Printer, cmd: LawCmd) -> Result<ExitCode> {
    match cmd {
        LawCmd::Check { files } => check(p, &files),
        LawCmd::Zone { lat, lon, air_mile, coast, sector_miles } => zone(p, lat, lon, air_mile, coast, sector_miles),
    }
}

fn check(p: &Printer, files: &[PathBuf]) -> Result<ExitCode> {
    let law = Law::bundled();
    let mut out = Vec::new();
    let (mut failed, mut passed) = (0, 0);
    let mut effects = std::collections::BTreeMap::<String, usize>::new();
    for f in files {
        let s = Scenario::parse(&read(f)?).with_context(|| format!("{}", f.display()))?;
        s.check_facts(&law).with_context(|| format!("{}", f.display()))?;
        for o in s.run(&law) {
            failed += usize::from(o.passed == Some(false));
            passed += usize::from(o.passed == Some(true));
            *effects.entry(Printer::name(&o.decision.effect)).or_default() += 1;
            out.push(json!({ "file": f, "outcome": o }));
        }
    }
    // Decisions are JSON whatever the output mode: they are meant to be read by programs too.
    let text = serde_json::to_string_pretty(&out).expect("json");
    p.emit(&text, json!(out));
    // The summary goes to stderr, so standard output stays one JSON document.
    let by_effect: Vec<String> = effects.iter().map(|(e, n)| format!("{n} {e}")).collect();
    let unchecked = out.len() - passed - failed;
    eprintln!(
        "{} case(s) in {} file(s): {}; {passed} as expected, {failed} not, {unchecked} without an expectation",
        out.len(),
        files.len(),
        if by_effect.is_empty() { "none".to_string() } else { by_effect.join(", ") },
    );
    if failed > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn zone(p: &Printer, lat: f64, lon: f64, air: AirMileArg, coast: CoastArg, sector: Option<f64>) -> Result<ExitCode> {
    domain::LatLon::new(lat, lon).context("bad coordinates")?;
    if sector.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
        anyhow::bail!("--sector-miles must be a positive number of miles");
    }
    let law = Law::bundled();
    let settings = ZoneSettings {
        air_mile: match air {
            AirMileArg::Statute => AirMile::Statute,
            AirMileArg::Nautical => AirMile::Nautical,
        },
        coastal_measure: match coast {
            CoastArg::TerritorialSeaLimit => CoastalMeasure::TerritorialSeaLimit,
            CoastArg::Coastline => CoastalMeasure::Coastline,
        },
    };
    let place = law::place::Places::bundled().locate(lat, lon)?;
    let z = law.zone_with(lat, lon, settings, sector)?;
    let yes = |b: bool| if b { "yes" } else { "no" };
    p.emit(
        &format!(
            "place: {} County, {} ({}), {}{}\ndistance to the land border: {:.1} statute miles; to the coastline: {:.1}\ndistance to the external boundary as read ({}): {:.1} miles (reasonable distance {:.1})\nwarrantless vehicle boarding zone (8 U.S.C. 1357(a)(3); 8 CFR 287.1): {}\nprivate-land access zone, 25 miles (8 U.S.C. 1357(a)(3)): {}",
            place.county,
            place.state,
            place.county_fips,
            place.time_zone,
            if z.at_sea { ", at sea" } else { "" },
            z.distance_to_land_border_miles,
            z.distance_to_coastline_miles,
            Printer::name(&z.nearest),
            z.distance_to_boundary_miles,
            z.reasonable_distance_miles,
            yes(z.within_reasonable_distance),
            yes(z.within_private_land_distance)
        ),
        json!({ "place": place, "zone": z }),
    );
    Ok(ExitCode::SUCCESS)
}
