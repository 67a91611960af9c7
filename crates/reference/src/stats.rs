//! Published statistics, parsed from the copies in `reference/` (see `reference/PROVENANCE.md`):
//! ICE's monthly detention statistics (FY2019–FY2024), its facility list, Border Patrol
//! encounters by sector and month, and both snapshots of ICE's 287(g) sheet as rows. The
//! simulator is driven and scored by them; the public report publishes them. A bad row is an
//! error naming the file and line; rows are never skipped silently (rows ICE printed in a way
//! that cannot be read, such as a facility whose AOR column holds part of its address or a
//! 287(g) signing date typed `7/72025`, are kept and counted as such).

use crate::{ReferenceError, field, rows, state_code};
use domain::agreement::Model287g;
use jiff::civil::Date;
use std::collections::{BTreeMap, BTreeSet};

pub const ICE_DETENTION_MONTHLY_CSV: &str = include_str!("../../../reference/ice_detention_monthly.csv");
pub const ICE_DETENTION_FACILITIES_CSV: &str = include_str!("../../../reference/ice_detention_facilities.csv");
pub const USBP_ENCOUNTERS_BY_SECTOR_CSV: &str =
    include_str!("../../../reference/cbp_usbp_encounters_monthly_by_sector.csv");
pub const AGREEMENTS_287G_2025_CSV: &str =
    include_str!("../../../reference/ice_287g_participating_agencies_2025-07-18pm.csv");
/// The day ICE published the earlier 287(g) snapshot.
pub const AGREEMENTS_287G_2025_SNAPSHOT: &str = "2025-07-18";

/// One month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

impl Month {
    pub fn of(d: Date) -> Month {
        Month { year: d.year(), month: d.month() }
    }
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        ((1990..=2100).contains(&year) && (1..=12).contains(&month)).then_some(Month { year, month })
    }
    pub fn first_day(self) -> Date {
        Date::new(self.year, self.month, 1).expect("a parsed month")
    }
    pub fn days(self) -> i8 {
        self.first_day().days_in_month()
    }
    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { month: self.month + 1, ..self } }
    }
    /// The US federal fiscal year the month falls in (FY2025 = 2024-10 .. 2025-09).
    pub fn fiscal_year(self) -> i16 {
        if self.month >= 10 { self.year + 1 } else { self.year }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The arresting agency, as ICE's statistics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Agency {
    Cbp,
    Ice,
}

impl Agency {
    pub const ALL: [Agency; 2] = [Agency::Cbp, Agency::Ice];
    pub fn name(self) -> &'static str {
        match self {
            Agency::Cbp => "CBP",
            Agency::Ice => "ICE",
        }
    }
}

/// ICE's criminality classes (FY2020 onward; FY2019's "Non-Criminal" is read as "Other
/// Immigration Violator").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Criminality {
    Convicted,
    Pending,
    Other,
}

impl Criminality {
    pub const ALL: [Criminality; 3] = [Criminality::Convicted, Criminality::Pending, Criminality::Other];
    pub fn name(self) -> &'static str {
        match self {
            Criminality::Convicted => "Convicted Criminal",
            Criminality::Pending => "Pending Criminal Charges",
            Criminality::Other => "Other Immigration Violator",
        }
    }
    fn parse(s: &str) -> Option<Criminality> {
        match s {
            "Convicted Criminal" => Some(Criminality::Convicted),
            "Pending Criminal Charges" => Some(Criminality::Pending),
            "Other Immigration Violator" | "Non-Criminal" => Some(Criminality::Other),
            _ => None,
        }
    }
}

/// Where a figure of ICE's statistics came from: the workbook, its sheet and table title, and
/// the last day of data it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatSource {
    pub file: String,
    pub sheet: String,
    pub table: String,
    pub data_through: String,
}

/// ICE's monthly statistics: (metric, month, agency, criminality) → value. `agency` None is
/// ICE's "Total"; `criminality` None is "Total".
#[derive(Debug, Clone, Default)]
pub struct IceStats {
    pub monthly: BTreeMap<(String, Month, Option<Agency>, Option<Criminality>), f64>,
    /// The "FY" column: (metric, fiscal year, agency, criminality) → value.
    pub fiscal: BTreeMap<(String, i16, Option<Agency>, Option<Criminality>), f64>,
    /// (metric, fiscal year) → the workbook table the figures came from.
    pub sources: BTreeMap<(String, i16), StatSource>,
    /// (metric, month) pairs ICE published before the month was over (`month_complete` False).
    pub partial: BTreeSet<(String, Month)>,
}

impl IceStats {
    pub fn month(&self, metric: &str, m: Month, a: Option<Agency>) -> Option<f64> {
        self.monthly.get(&(metric.to_string(), m, a, None)).copied()
    }
    pub fn fy(&self, metric: &str, fy: i16, a: Option<Agency>, c: Option<Criminality>) -> Option<f64> {
        self.fiscal.get(&(metric.to_string(), fy, a, c)).copied()
    }
    pub fn months(&self) -> Vec<Month> {
        let mut v: Vec<Month> = self.monthly.keys().map(|k| k.1).collect();
        v.sort();
        v.dedup();
        v
    }
    /// The bundled copy.
    pub fn bundled() -> Result<IceStats, ReferenceError> {
        ice_stats(ICE_DETENTION_MONTHLY_CSV)
    }
}

fn num(file: &'static str, line: u64, m: &BTreeMap<String, String>, col: &str) -> Result<f64, ReferenceError> {
    let s = m.get(col).map(String::as_str).unwrap_or("");
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| ReferenceError {
        file,
        line,
        reason: format!("{col} {s:?} is not a non-negative number"),
    })
}

/// Parses `ice_detention_monthly.csv`.
pub fn ice_stats(text: &str) -> Result<IceStats, ReferenceError> {
    const F: &str = "ice_detention_monthly.csv";
    let mut s = IceStats::default();
    let need = ["period", "metric", "arresting_agency", "criminality", "value", "fiscal_year"];
    for (line, m) in rows(F, text, &need)? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        let agency = match m["arresting_agency"].as_str() {
            "CBP" => Some(Agency::Cbp),
            "ICE" => Some(Agency::Ice),
            "Total" => None,
            a => return Err(bad(format!("unknown arresting_agency {a:?}"))),
        };
        let crim = match m["criminality"].as_str() {
            "Total" => None,
            c => Some(Criminality::parse(c).ok_or_else(|| bad(format!("unknown criminality {c:?}")))?),
        };
        let value = num(F, line, &m, "value")?;
        let metric = m["metric"].clone();
        let fy: i16 = m["fiscal_year"].parse().map_err(|_| bad("bad fiscal_year".into()))?;
        let text = |k: &str| m.get(k).cloned().unwrap_or_default();
        s.sources.entry((metric.clone(), fy)).or_insert_with(|| StatSource {
            file: text("source_file"),
            sheet: text("sheet"),
            table: text("table_title"),
            data_through: text("data_through"),
        });
        if m["period"] == "FY" {
            s.fiscal.insert((metric, fy, agency, crim), value);
        } else {
            let month = Month::parse(&m["period"]).ok_or_else(|| bad(format!("bad period {:?}", m["period"])))?;
            if text("month_complete") == "False" {
                s.partial.insert((metric.clone(), month));
            }
            s.monthly.insert((metric, month, agency, crim), value);
        }
    }
    Ok(s)
}

/// Border Patrol encounters: month → sector label → count, and each sector's state.
pub struct UsbpEncounters {
    pub by_month: BTreeMap<Month, BTreeMap<String, u32>>,
    pub sector_state: BTreeMap<String, String>,
    pub sector_region: BTreeMap<String, String>,
}

impl UsbpEncounters {
    pub fn bundled() -> Result<UsbpEncounters, ReferenceError> {
        usbp_encounters(USBP_ENCOUNTERS_BY_SECTOR_CSV)
    }
}

/// Parses `cbp_usbp_encounters_monthly_by_sector.csv`.
pub fn usbp_encounters(text: &str) -> Result<UsbpEncounters, ReferenceError> {
    const F: &str = "cbp_usbp_encounters_monthly_by_sector.csv";
    let mut out =
        UsbpEncounters { by_month: BTreeMap::new(), sector_state: BTreeMap::new(), sector_region: BTreeMap::new() };
    for (line, m) in rows(F, text, &["period", "sector", "quantity"])? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        let month = Month::parse(&m["period"]).ok_or_else(|| bad(format!("bad period {:?}", m["period"])))?;
        let sector = m["sector"].clone();
        let state = sector
            .rsplit_once(", ")
            .map(|(_, st)| st.to_string())
            .filter(|st| st.len() == 2)
            .ok_or_else(|| bad(format!("sector {sector:?} names no state")))?;
        let q = num(F, line, &m, "quantity")?;
        *out.by_month.entry(month).or_default().entry(sector.clone()).or_default() += q as u32;
        if let Some(r) = m.get("region") {
            out.sector_region.insert(sector.clone(), r.clone());
        }
        out.sector_state.insert(sector, state);
    }
    Ok(out)
}

/// One row of ICE's facility list for one fiscal year.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub line: u64,
    pub fiscal_year: i16,
    pub name: String,
    pub city: String,
    pub state: String,
    /// The AOR code; None where ICE printed part of the address in its place.
    pub aor: Option<String>,
    pub kind: String,
    pub adp_total: f64,
    pub alos_days: Option<f64>,
}

/// Parses `ice_detention_facilities.csv`; `aor_codes` are the known AOR codes.
pub fn facilities(text: &str, aor_codes: &[&str]) -> Result<Vec<Facility>, ReferenceError> {
    const F: &str = "ice_detention_facilities.csv";
    let mut out = Vec::new();
    for (line, m) in rows(F, text, &["fiscal_year", "name", "city", "state", "aor", "type_detailed", "adp_total"])? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        let fiscal_year = m["fiscal_year"].parse().map_err(|_| bad("bad fiscal_year".into()))?;
        let aor = Some(m["aor"].clone()).filter(|a| aor_codes.contains(&a.as_str()));
        let alos_days = m.get("alos_days").and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0);
        out.push(Facility {
            line,
            fiscal_year,
            name: field(F, line, &m, "name")?.to_string(),
            city: m["city"].clone(),
            state: m["state"].clone(),
            aor,
            kind: m["type_detailed"].clone(),
            adp_total: num(F, line, &m, "adp_total")?,
            alos_days,
        });
    }
    Ok(out)
}

/// One row of a 287(g) snapshot as ICE printed it, the signing date read where it can be.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementRow {
    pub line: u64,
    /// USPS code.
    pub state: &'static str,
    pub agency: String,
    pub agency_type: String,
    /// The county as printed (`None` for ICE's `#N/A` or an empty cell).
    pub county: Option<String>,
    pub model: Model287g,
    pub signed_text: String,
    pub signed: Option<Date>,
}

/// Parses one 287(g) snapshot. Unknown states or models are errors; a signing date that is
/// not `YYYY-MM-DD` (ICE's typos) is kept as text with `signed: None`.
pub fn agreement_rows(file: &'static str, text: &str) -> Result<Vec<AgreementRow>, ReferenceError> {
    let mut out = Vec::new();
    for (line, m) in rows(file, text, &["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED"])?
    {
        let bad = |reason: String| ReferenceError { file, line, reason };
        let state_name = field(file, line, &m, "STATE")?;
        let state = state_code(state_name).ok_or_else(|| bad(format!("unknown state {state_name:?}")))?;
        let support = field(file, line, &m, "SUPPORT TYPE")?;
        let model = Model287g::parse(support).ok_or_else(|| bad(format!("unknown SUPPORT TYPE {support:?}")))?;
        let signed_text = m["SIGNED"].clone();
        out.push(AgreementRow {
            line,
            state,
            agency: field(file, line, &m, "LAW ENFORCEMENT AGENCY")?.to_string(),
            agency_type: m["TYPE"].clone(),
            county: Some(m["COUNTY"].clone()).filter(|c| !c.is_empty() && c != "#N/A"),
            model,
            signed: signed_text.parse().ok(),
            signed_text,
        });
    }
    Ok(out)
}

/// Both bundled 287(g) snapshots, earlier first, with their dates.
pub fn agreement_snapshots() -> Result<[(&'static str, Vec<AgreementRow>); 2], ReferenceError> {
    Ok([
        (
            AGREEMENTS_287G_2025_SNAPSHOT,
            agreement_rows("ice_287g_participating_agencies_2025-07-18pm.csv", AGREEMENTS_287G_2025_CSV)?,
        ),
        (
            crate::AGREEMENTS_287G_SNAPSHOT,
            agreement_rows("ice_287g_participating_agencies_2026-05-18am.csv", crate::AGREEMENTS_287G_CSV)?,
        ),
    ])
}

pub const ICE_BOOK_OUTS_BY_REASON_CSV: &str = include_str!("../../../reference/ice_final_book_outs_by_reason.csv");

/// ICE's final book-outs by release reason per fiscal year (transcribed, see PROVENANCE.md).
#[derive(Debug, Clone, PartialEq)]
pub struct BookOuts {
    pub fiscal_year: i16,
    pub reason: String,
    pub value: u64,
    pub source: String,
}

pub fn book_outs(text: &str) -> Result<Vec<BookOuts>, ReferenceError> {
    const F: &str = "ice_final_book_outs_by_reason.csv";
    let mut out = Vec::new();
    for (line, m) in rows(F, text, &["fiscal_year", "release_reason", "value", "source"])? {
        let bad = |reason: String| ReferenceError { file: F, line, reason };
        out.push(BookOuts {
            fiscal_year: m["fiscal_year"].parse().map_err(|_| bad("bad fiscal_year".into()))?,
            reason: field(F, line, &m, "release_reason")?.to_string(),
            value: m["value"].parse().map_err(|_| bad(format!("value {:?} is not a count", m["value"])))?,
            source: field(F, line, &m, "source")?.to_string(),
        });
    }
    Ok(out)
}

/// An ICE field office: its AOR code, its name, and the states whose facilities ICE's
/// statistics list under it.
#[derive(Debug, Clone, PartialEq)]
pub struct AorOffice {
    pub code: String,
    pub field_office: String,
    pub facility_states: Vec<String>,
}

/// ICE's field offices, from `ice_aor_field_offices.csv`.
pub fn aor_offices() -> Result<Vec<AorOffice>, ReferenceError> {
    const F: &str = "ice_aor_field_offices.csv";
    rows(F, crate::AOR_FIELD_OFFICES_CSV, &["aor_code", "field_office", "facility_states_in_ice_stats_fy19_fy26"])?
        .into_iter()
        .map(|(line, m)| {
            Ok(AorOffice {
                code: field(F, line, &m, "aor_code")?.to_string(),
                field_office: field(F, line, &m, "field_office")?.to_string(),
                facility_states: m["facility_states_in_ice_stats_fy19_fy26"]
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_snapshots_parse_with_their_typos_kept() {
        let [(_, old), (_, new)] = agreement_snapshots().unwrap();
        assert_eq!((old.len(), new.len()), (832, 1843));
        let typos: Vec<&str> = old.iter().filter(|r| r.signed.is_none()).map(|r| r.signed_text.as_str()).collect();
        assert!(typos.contains(&"7/72025") && typos.contains(&"05/082025"), "{typos:?}");
        assert!(new.iter().all(|r| r.signed.is_some()));
    }

    #[test]
    fn a_bad_row_names_its_file_and_line() {
        let text = "fiscal_year,period,metric,arresting_agency,criminality,value\n2019,2018-10,adp,FBI,Total,3\n";
        let e = ice_stats(text).unwrap_err();
        assert_eq!((e.file, e.line), ("ice_detention_monthly.csv", 2));
        assert!(e.reason.contains("FBI"), "{e}");
    }

    #[test]
    fn sources_and_partial_months_are_kept() {
        let s = IceStats::bundled().unwrap();
        let src = &s.sources[&("initial_book_ins".to_string(), 2024)];
        assert!(src.file.contains("FY24") || src.file.contains("FY2024"), "{src:?}");
        assert!(!src.table.is_empty());
        let september_2021 = Month::parse("2021-09").unwrap();
        assert!(s.partial.contains(&("initial_book_ins".to_string(), september_2021)));
    }
}
