//! The real public data the simulator is driven and scored by, parsed from the copies in
//! `reference/` (see `reference/PROVENANCE.md`): ICE's monthly detention statistics
//! (FY2019–FY2024), its facility list, Border Patrol encounters by sector and month, ICE's
//! field offices, and ICE's 287(g) agreement list. A bad row is an error naming the file and
//! line; rows are never skipped silently (the facility rows ICE printed with a shifted
//! address are counted and reported, see [`Inputs::facility_rows_unusable`]).

use domain::Event;
use domain::agreement::{AgreementKind, Model287g};
use jiff::civil::Date;
use std::collections::BTreeMap;

pub const ICE_DETENTION_MONTHLY_CSV: &str = include_str!("../../../reference/ice_detention_monthly.csv");
pub const ICE_DETENTION_FACILITIES_CSV: &str = include_str!("../../../reference/ice_detention_facilities.csv");
pub const USBP_ENCOUNTERS_BY_SECTOR_CSV: &str =
    include_str!("../../../reference/cbp_usbp_encounters_monthly_by_sector.csv");

/// A bad row in an input file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {reason}")]
pub struct InputError {
    pub file: &'static str,
    pub line: u64,
    pub reason: String,
}

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

/// ICE's monthly statistics: (metric, month, agency, criminality) → value. `agency` None is
/// ICE's "Total"; `criminality` None is "Total".
#[derive(Debug, Clone, Default)]
pub struct IceStats {
    pub monthly: BTreeMap<(String, Month, Option<Agency>, Option<Criminality>), f64>,
    /// The "FY" column: (metric, fiscal year, agency, criminality) → value.
    pub fiscal: BTreeMap<(String, i16, Option<Agency>, Option<Criminality>), f64>,
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
}

/// One ICE area of responsibility (field office).
#[derive(Debug, Clone)]
pub struct Aor {
    pub code: String,
    /// The states whose facilities ICE's statistics list under this AOR.
    pub states: Vec<String>,
    /// FY2024 average daily population of its listed facilities.
    pub adp_fy2024: f64,
}

/// A 287(g) agreement, as far as the simulator needs it.
#[derive(Debug, Clone)]
pub struct Agreement287g {
    pub state: String,
    pub model: Model287g,
    pub signed_on: Date,
}

/// Everything the simulator reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub ice: IceStats,
    /// Border Patrol encounters: month → sector label → count.
    pub usbp: BTreeMap<Month, BTreeMap<String, u32>>,
    /// Sector label → its state.
    pub sector_state: BTreeMap<String, String>,
    pub aors: Vec<Aor>,
    /// FY2024 facility ADP by state (the weights for detainers and 287(g) placement).
    pub adp_by_state_fy2024: BTreeMap<String, f64>,
    pub agreements: Vec<Agreement287g>,
    /// The date of ICE's 287(g) snapshot the agreements come from.
    pub agreements_snapshot: Date,
    /// Each state's AOR (see [`Inputs::aor_of_state`]).
    pub state_aor: BTreeMap<String, usize>,
    /// FY2024 facility ADP by (state, AOR index).
    pub state_aor_adp: BTreeMap<(String, usize), f64>,
    /// Facility rows whose AOR column holds no AOR code (ICE printed a shifted address).
    pub facility_rows_unusable: u32,
}

impl Inputs {
    /// The bundled copies.
    pub fn bundled() -> Result<Inputs, InputError> {
        let ice = ice_stats(ICE_DETENTION_MONTHLY_CSV)?;
        let (usbp, sector_state) = usbp(USBP_ENCOUNTERS_BY_SECTOR_CSV)?;
        let (aors, adp_by_state_fy2024, state_aor_adp, facility_rows_unusable) =
            aors(reference::AOR_FIELD_OFFICES_CSV, ICE_DETENTION_FACILITIES_CSV)?;
        let agreements = agreements()?;
        let agreements_snapshot = reference::AGREEMENTS_287G_SNAPSHOT.parse().expect("constant date");
        let mut inputs = Inputs {
            ice,
            usbp,
            sector_state,
            aors,
            adp_by_state_fy2024,
            state_aor_adp,
            agreements,
            agreements_snapshot,
            facility_rows_unusable,
            state_aor: BTreeMap::new(),
        };
        let states: Vec<String> = inputs.aors.iter().flat_map(|a| a.states.clone()).collect();
        for st in states {
            if let Some(i) = inputs.find_aor_of_state(&st) {
                inputs.state_aor.insert(st, i);
            }
        }
        Ok(inputs)
    }

    pub fn aor_of_state(&self, state: &str) -> Option<usize> {
        self.state_aor.get(state).copied()
    }

    /// The AOR whose facilities held the most people in the state in FY2024 (the state's
    /// first listed AOR when none did).
    fn find_aor_of_state(&self, state: &str) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, a) in self.aors.iter().enumerate() {
            if a.states.iter().any(|s| s == state) {
                let w = self.state_aor_adp.get(&(state.to_string(), i)).copied().unwrap_or(0.0);
                if best.is_none_or(|(_, bw)| w > bw) {
                    best = Some((i, w));
                }
            }
        }
        best.map(|b| b.0)
    }
}

/// A row: its line number and its cells by column name.
type Row = (u64, BTreeMap<String, String>);

fn records<'a>(
    file: &'static str,
    text: &'a str,
    need: &[&str],
) -> Result<impl Iterator<Item = Result<Row, InputError>> + 'a, InputError> {
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| InputError { file, line: 1, reason: e.to_string() })?
        .iter()
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    for n in need {
        if !header.iter().any(|h| h == n) {
            return Err(InputError { file, line: 1, reason: format!("no column {n:?}") });
        }
    }
    Ok(r.into_records().map(move |rec| {
        let rec = rec.map_err(|e| InputError {
            file,
            line: e.position().map(|p| p.line()).unwrap_or(0),
            reason: e.to_string(),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        Ok((line, header.iter().cloned().zip(rec.iter().map(str::to_string)).collect()))
    }))
}

fn num(file: &'static str, line: u64, m: &BTreeMap<String, String>, col: &str) -> Result<f64, InputError> {
    let s = m.get(col).map(String::as_str).unwrap_or("");
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| InputError {
        file,
        line,
        reason: format!("{col} {s:?} is not a non-negative number"),
    })
}

fn ice_stats(text: &str) -> Result<IceStats, InputError> {
    const F: &str = "ice_detention_monthly.csv";
    let mut s = IceStats::default();
    for row in records(F, text, &["period", "metric", "arresting_agency", "criminality", "value", "fiscal_year"])? {
        let (line, m) = row?;
        let bad = |reason: String| InputError { file: F, line, reason };
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
        if m["period"] == "FY" {
            let fy: i16 = m["fiscal_year"].parse().map_err(|_| bad("bad fiscal_year".into()))?;
            s.fiscal.insert((metric, fy, agency, crim), value);
        } else {
            let month = Month::parse(&m["period"]).ok_or_else(|| bad(format!("bad period {:?}", m["period"])))?;
            s.monthly.insert((metric, month, agency, crim), value);
        }
    }
    Ok(s)
}

type Usbp = (BTreeMap<Month, BTreeMap<String, u32>>, BTreeMap<String, String>);

fn usbp(text: &str) -> Result<Usbp, InputError> {
    const F: &str = "cbp_usbp_encounters_monthly_by_sector.csv";
    let mut by_month: BTreeMap<Month, BTreeMap<String, u32>> = BTreeMap::new();
    let mut states = BTreeMap::new();
    for row in records(F, text, &["period", "sector", "quantity"])? {
        let (line, m) = row?;
        let bad = |reason: String| InputError { file: F, line, reason };
        let month = Month::parse(&m["period"]).ok_or_else(|| bad(format!("bad period {:?}", m["period"])))?;
        let sector = m["sector"].clone();
        let state = sector
            .rsplit_once(", ")
            .map(|(_, st)| st.to_string())
            .filter(|st| st.len() == 2)
            .ok_or_else(|| bad(format!("sector {sector:?} names no state")))?;
        let q = num(F, line, &m, "quantity")?;
        *by_month.entry(month).or_default().entry(sector.clone()).or_default() += q as u32;
        states.insert(sector, state);
    }
    Ok((by_month, states))
}

type Aors = (Vec<Aor>, BTreeMap<String, f64>, BTreeMap<(String, usize), f64>, u32);

fn aors(offices: &str, facilities: &str) -> Result<Aors, InputError> {
    const F: &str = "ice_aor_field_offices.csv";
    let mut out = Vec::new();
    for row in records(F, offices, &["aor_code", "facility_states_in_ice_stats_fy19_fy26"])? {
        let (_, m) = row?;
        let states = m["facility_states_in_ice_stats_fy19_fy26"].split(',').map(|s| s.trim().to_string()).collect();
        out.push(Aor { code: m["aor_code"].clone(), states, adp_fy2024: 0.0 });
    }
    const G: &str = "ice_detention_facilities.csv";
    let mut by_state = BTreeMap::new();
    let mut state_aor = BTreeMap::new();
    let mut unusable = 0;
    for row in records(G, facilities, &["fiscal_year", "aor", "state", "adp_total"])? {
        let (line, m) = row?;
        if m["fiscal_year"] != "2024" {
            continue;
        }
        let Some(i) = out.iter().position(|a| a.code == m["aor"]) else {
            unusable += 1;
            continue;
        };
        let adp = num(G, line, &m, "adp_total")?;
        out[i].adp_fy2024 += adp;
        *by_state.entry(m["state"].clone()).or_insert(0.0) += adp;
        *state_aor.entry((m["state"].clone(), i)).or_insert(0.0) += adp;
    }
    Ok((out, by_state, state_aor, unusable))
}

fn agreements() -> Result<Vec<Agreement287g>, InputError> {
    let facts = reference::load(&reference::Sources::bundled()).map_err(|e| InputError {
        file: e.file,
        line: e.line,
        reason: e.reason,
    })?;
    Ok(facts
        .into_iter()
        .filter_map(|f| match f.event {
            Event::AgreementRecorded { agreement } => match agreement.kind {
                AgreementKind::Moa287g { model } => Some(Agreement287g {
                    state: agreement.parties.get(1).map(|a| a.as_str()[..2].to_string()).unwrap_or_default(),
                    model,
                    signed_on: agreement.signed_on,
                }),
                _ => None,
            },
            _ => None,
        })
        .collect())
}
