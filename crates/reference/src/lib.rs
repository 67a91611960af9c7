//! Real public reference data, parsed into events: federal agencies, ICE ERO field offices
//! and their areas of responsibility, Border Patrol sectors, and ICE's published 287(g)
//! agreements (see `reference/PROVENANCE.md`).
//!
//! Pure: it takes file text and returns events, so the CLI decides where files come from
//! (they are compiled in). A bad row is an error naming the file and line, never skipped.

use domain::agency::{Agency, AgencyKind};
use domain::agreement::{Agreement, AgreementKind, AgreementStatus, Model287g};
use domain::{AgencyId, AgreementId, AorCode, Event, StateCode, Timestamp};
use jiff::civil::Date;
use std::collections::BTreeMap;

pub mod stats;

pub const AOR_FIELD_OFFICES_CSV: &str = include_str!("../../../reference/ice_aor_field_offices.csv");
pub const AOR_COVERAGE_CSV: &str = include_str!("../../../reference/ice_areas_of_responsibility.csv");
pub const USBP_SECTORS_CSV: &str = include_str!("../../../reference/usbp_sectors.csv");
pub const AGREEMENTS_287G_CSV: &str =
    include_str!("../../../reference/ice_287g_participating_agencies_2026-05-18am.csv");
/// The day ICE published the 287(g) snapshot above.
pub const AGREEMENTS_287G_SNAPSHOT: &str = "2026-05-18";

/// A bad row in a reference file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {reason}")]
pub struct ReferenceError {
    pub file: &'static str,
    pub line: u64,
    pub reason: String,
}

/// One reference fact to record: what happened, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub valid_at: Timestamp,
    pub event: Event,
}

/// The reference files, as text.
pub struct Sources<'a> {
    pub aor_field_offices: &'a str,
    pub aor_coverage: &'a str,
    pub usbp_sectors: &'a str,
    pub agreements_287g: &'a str,
}

impl Sources<'static> {
    /// The copies in the repository's `reference/` folder.
    pub fn bundled() -> Self {
        Sources {
            aor_field_offices: AOR_FIELD_OFFICES_CSV,
            aor_coverage: AOR_COVERAGE_CSV,
            usbp_sectors: USBP_SECTORS_CSV,
            agreements_287g: AGREEMENTS_287G_CSV,
        }
    }
}

/// Every reference fact, in an order that registers agencies before their agreements.
pub fn load(src: &Sources) -> Result<Vec<Fact>, ReferenceError> {
    let at = day(AGREEMENTS_287G_SNAPSHOT).expect("valid constant");
    let mut facts: Vec<Fact> = federal_agencies()
        .into_iter()
        .map(|a| Fact { valid_at: at, event: Event::AgencyRegistered { agency: a } })
        .collect();
    let coverage = aor_coverage(src.aor_coverage)?;
    for a in field_offices(src.aor_field_offices, &coverage)? {
        facts.push(Fact { valid_at: at, event: Event::AgencyRegistered { agency: a } });
    }
    for a in usbp_sectors(src.usbp_sectors)? {
        facts.push(Fact { valid_at: at, event: Event::AgencyRegistered { agency: a } });
    }
    facts.extend(agreements_287g(src.agreements_287g, at)?);
    Ok(facts)
}

fn id(s: &str) -> AgencyId {
    AgencyId::parse(s).expect("constant ids are valid")
}

/// The national agencies (reference.md §1). Field offices and sectors hang under these.
pub fn federal_agencies() -> Vec<Agency> {
    let a = |i: &str, name: &str, kind| Agency::new(id(i), name, kind);
    vec![
        a("ICE-ERO", "ICE Enforcement and Removal Operations", AgencyKind::IceEro),
        a("ICE-HSI", "ICE Homeland Security Investigations", AgencyKind::IceHsi),
        a("CBP-USBP", "U.S. Border Patrol", AgencyKind::CbpBorderPatrol),
        a("CBP-OFO", "CBP Office of Field Operations", AgencyKind::CbpOfo),
        a("DHS-CRCL", "DHS Office for Civil Rights and Civil Liberties", AgencyKind::Oversight),
        a("DHS-OIG", "DHS Office of Inspector General", AgencyKind::Oversight),
    ]
}

/// A CSV row: its line number and its cells by column name.
type Row = (u64, BTreeMap<String, String>);

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().trim(csv::Trim::None).from_reader(text.as_bytes())
}

fn rows(file: &'static str, text: &str, header: &[&str]) -> Result<Vec<Row>, ReferenceError> {
    let mut r = reader(text);
    let bad = |line, reason: String| ReferenceError { file, line, reason };
    let names: Vec<String> = r
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_matches('"').trim().to_string())
        .collect();
    for h in header {
        if !names.iter().any(|n| n == h) {
            return Err(bad(1, format!("missing column {h:?}")));
        }
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.position().map_or(0, |p| line_at(text, p.byte())), e.to_string()))?;
        let line = rec.position().map_or(0, |p| line_at(text, p.byte()));
        let map =
            names.iter().cloned().zip(rec.iter().map(|v| v.trim().trim_matches('"').trim().to_string())).collect();
        out.push((line, map));
    }
    Ok(out)
}

/// The 1-based line a record starts on. The csv crate's own line count can point at the
/// previous line's terminator, so count from the byte offset.
fn line_at(text: &str, byte: u64) -> u64 {
    let b = text.as_bytes();
    let at = (byte as usize).min(b.len());
    let mut line = b[..at].iter().filter(|c| **c == b'\n').count() as u64 + 1;
    if b.get(at) == Some(&b'\n') {
        line += 1;
    }
    line
}

fn field<'m>(
    file: &'static str,
    line: u64,
    m: &'m BTreeMap<String, String>,
    name: &str,
) -> Result<&'m str, ReferenceError> {
    match m.get(name).map(String::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ReferenceError { file, line, reason: format!("{name} is empty") }),
    }
}

/// ICE AOR coverage: office name -> states or `ST/County` entries.
fn aor_coverage(text: &str) -> Result<BTreeMap<String, Vec<String>>, ReferenceError> {
    const F: &str = "ice_areas_of_responsibility.csv";
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (line, m) in rows(F, text, &["office_name", "state_name", "county_name"])? {
        let office = field(F, line, &m, "office_name")?;
        let state_name = field(F, line, &m, "state_name")?;
        let st = state_code(state_name).ok_or_else(|| ReferenceError {
            file: F,
            line,
            reason: format!("unknown state {state_name:?}"),
        })?;
        let county = m.get("county_name").map(String::as_str).unwrap_or("");
        let entry = if county.is_empty() { st.to_string() } else { format!("{st}/{county}") };
        out.entry(office.to_string()).or_default().push(entry);
    }
    Ok(out)
}

fn field_offices(text: &str, coverage: &BTreeMap<String, Vec<String>>) -> Result<Vec<Agency>, ReferenceError> {
    const F: &str = "ice_aor_field_offices.csv";
    let mut out = Vec::new();
    for (line, m) in rows(F, text, &["aor_code", "field_office", "aor_office_name_deportationdata", "state"])? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        let code = AorCode::parse(field(F, line, &m, "aor_code")?).map_err(|e| bad(e.to_string()))?;
        let office = field(F, line, &m, "aor_office_name_deportationdata")?;
        let cov = coverage
            .get(office)
            .ok_or_else(|| bad(format!("no area of responsibility listed for office {office:?}")))?;
        let agency_id = AgencyId::parse(&format!("ICE-ERO-{code}")).map_err(|e| bad(e.to_string()))?;
        out.push(Agency {
            parent: Some(id("ICE-ERO")),
            state: Some(StateCode::parse(field(F, line, &m, "state")?).map_err(|e| bad(e.to_string()))?),
            ice_aor: Some(code),
            coverage: cov.clone(),
            ..Agency::new(agency_id, format!("ICE ERO {}", field(F, line, &m, "field_office")?), AgencyKind::IceEro)
        });
    }
    Ok(out)
}

fn usbp_sectors(text: &str) -> Result<Vec<Agency>, ReferenceError> {
    const F: &str = "usbp_sectors.csv";
    let mut out = Vec::new();
    for (line, m) in rows(F, text, &["sector_name", "state", "region"])? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        let name = field(F, line, &m, "sector_name")?;
        let agency_id = AgencyId::parse(&format!("USBP-{}", slug(name))).map_err(|e| bad(e.to_string()))?;
        out.push(Agency {
            parent: Some(id("CBP-USBP")),
            state: Some(StateCode::parse(field(F, line, &m, "state")?).map_err(|e| bad(e.to_string()))?),
            usbp_sector: Some(name.to_string()),
            ..Agency::new(agency_id, format!("U.S. Border Patrol {name} Sector"), AgencyKind::CbpBorderPatrol)
        });
    }
    Ok(out)
}

/// ICE's 287(g) sheet: one agreement per row; the agency is registered at its first row.
/// ICE's sheet has a few inconsistencies kept as printed (e.g. "Frankin County" on one of
/// Franklin County, AL's rows): the agency takes its first row's county.
fn agreements_287g(text: &str, snapshot: Timestamp) -> Result<Vec<Fact>, ReferenceError> {
    const F: &str = "ice_287g_participating_agencies_2026-05-18am.csv";
    let mut out = Vec::new();
    let mut agencies: BTreeMap<AgencyId, ()> = BTreeMap::new();
    let mut agreements: BTreeMap<AgreementId, u64> = BTreeMap::new();
    for (line, m) in rows(F, text, &["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "SUPPORT TYPE", "SIGNED", "MOA_url"])? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        let state_name = field(F, line, &m, "STATE")?;
        let st = state_code(state_name).ok_or_else(|| bad(format!("unknown state {state_name:?}")))?;
        let name = field(F, line, &m, "LAW ENFORCEMENT AGENCY")?;
        let support = field(F, line, &m, "SUPPORT TYPE")?;
        let model = Model287g::parse(support).ok_or_else(|| bad(format!("unknown SUPPORT TYPE {support:?}")))?;
        let signed_text = field(F, line, &m, "SIGNED")?;
        let signed: Date =
            signed_text.parse().map_err(|_| bad(format!("SIGNED {signed_text:?} is not a YYYY-MM-DD date")))?;
        let agency_id = AgencyId::parse(&format!("{st}-{}", slug(name))).map_err(|e| bad(e.to_string()))?;
        if agencies.insert(agency_id.clone(), ()).is_none() {
            let kind =
                if name.contains("National Guard") { AgencyKind::NationalGuard } else { AgencyKind::StateLocalLe };
            out.push(Fact {
                valid_at: snapshot,
                event: Event::AgencyRegistered {
                    agency: Agency {
                        state: Some(StateCode::parse(st).expect("table codes are valid")),
                        coverage: m
                            .get("COUNTY")
                            .filter(|c| !c.is_empty() && *c != "#N/A")
                            .map(|c| format!("{st}/{c}"))
                            .into_iter()
                            .collect(),
                        ..Agency::new(agency_id.clone(), name, kind)
                    },
                },
            });
        }
        let agreement_id =
            AgreementId::parse(&format!("287G-{agency_id}-{}-{}", model.code(), signed.strftime("%Y%m%d")))
                .map_err(|e| bad(e.to_string()))?;
        if let Some(first) = agreements.insert(agreement_id.clone(), line) {
            return Err(bad(format!("duplicate of the agreement on line {first}")));
        }
        let url = m.get("MOA_url").filter(|u| !u.is_empty()).cloned();
        out.push(Fact {
            valid_at: signed.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| bad(e.to_string()))?.timestamp(),
            event: Event::AgreementRecorded {
                agreement: Agreement {
                    id: agreement_id,
                    kind: AgreementKind::Moa287g { model },
                    parties: vec![id("ICE-ERO"), agency_id],
                    signed_on: signed,
                    status: AgreementStatus::Active,
                    source_url: url,
                },
            },
        });
    }
    Ok(out)
}

fn day(s: &str) -> Option<Timestamp> {
    let d: Date = s.parse().ok()?;
    Some(d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp())
}

/// Uppercase id slug: letters and digits, runs of anything else become one `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().filter(|c| *c != '\'' && *c != '\u{2019}') {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// USPS code for a state or territory name (case-insensitive, surrounding spaces ignored).
pub fn state_code(name: &str) -> Option<&'static str> {
    const STATES: [(&str, &str); 56] = [
        ("ALABAMA", "AL"),
        ("ALASKA", "AK"),
        ("ARIZONA", "AZ"),
        ("ARKANSAS", "AR"),
        ("CALIFORNIA", "CA"),
        ("COLORADO", "CO"),
        ("CONNECTICUT", "CT"),
        ("DELAWARE", "DE"),
        ("DISTRICT OF COLUMBIA", "DC"),
        ("FLORIDA", "FL"),
        ("GEORGIA", "GA"),
        ("HAWAII", "HI"),
        ("IDAHO", "ID"),
        ("ILLINOIS", "IL"),
        ("INDIANA", "IN"),
        ("IOWA", "IA"),
        ("KANSAS", "KS"),
        ("KENTUCKY", "KY"),
        ("LOUISIANA", "LA"),
        ("MAINE", "ME"),
        ("MARYLAND", "MD"),
        ("MASSACHUSETTS", "MA"),
        ("MICHIGAN", "MI"),
        ("MINNESOTA", "MN"),
        ("MISSISSIPPI", "MS"),
        ("MISSOURI", "MO"),
        ("MONTANA", "MT"),
        ("NEBRASKA", "NE"),
        ("NEVADA", "NV"),
        ("NEW HAMPSHIRE", "NH"),
        ("NEW JERSEY", "NJ"),
        ("NEW MEXICO", "NM"),
        ("NEW YORK", "NY"),
        ("NORTH CAROLINA", "NC"),
        ("NORTH DAKOTA", "ND"),
        ("OHIO", "OH"),
        ("OKLAHOMA", "OK"),
        ("OREGON", "OR"),
        ("PENNSYLVANIA", "PA"),
        ("RHODE ISLAND", "RI"),
        ("SOUTH CAROLINA", "SC"),
        ("SOUTH DAKOTA", "SD"),
        ("TENNESSEE", "TN"),
        ("TEXAS", "TX"),
        ("UTAH", "UT"),
        ("VERMONT", "VT"),
        ("VIRGINIA", "VA"),
        ("WASHINGTON", "WA"),
        ("WEST VIRGINIA", "WV"),
        ("WISCONSIN", "WI"),
        ("WYOMING", "WY"),
        ("PUERTO RICO", "PR"),
        ("GUAM", "GU"),
        ("UNITED STATES VIRGIN ISLANDS", "VI"),
        ("AMERICAN SAMOA", "AS"),
        ("NORTHERN MARIANA ISLANDS", "MP"),
    ];
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("COMMONWEALTH OF THE ").unwrap_or(&n);
    STATES.iter().find(|(s, _)| *s == n).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_reference_data_loads_completely() {
        let facts = load(&Sources::bundled()).unwrap();
        let agreements = facts.iter().filter(|f| matches!(f.event, Event::AgreementRecorded { .. })).count();
        assert_eq!(agreements, 1843, "every row of ICE's sheet becomes an agreement");
        let field_offices = facts
            .iter()
            .filter(|f| matches!(&f.event, Event::AgencyRegistered { agency } if agency.ice_aor.is_some()))
            .count();
        assert_eq!(field_offices, 25);
    }

    #[test]
    fn a_bad_row_names_its_file_and_line() {
        let mut src = Sources::bundled();
        let broken = AGREEMENTS_287G_CSV.replacen("Task Force Model,2025-09-22", "Task Force Model,22/09/2025", 1);
        src.agreements_287g = &broken;
        let err = load(&src).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ice_287g_participating_agencies_2026-05-18am.csv line 2: SIGNED \"22/09/2025\" is not a YYYY-MM-DD date"
        );
        let broken = AGREEMENTS_287G_CSV.replacen("Warrant Service Officer", "Warrant Service Officr", 1);
        src.agreements_287g = &broken;
        assert_eq!(load(&src).unwrap_err().line, 3);
    }
}
