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

use reference::stats::{ICE_DETENTION_FACILITIES_CSV, ICE_DETENTION_MONTHLY_CSV, USBP_ENCOUNTERS_BY_SECTOR_CSV};

/// A bad row in an input file.
pub type InputError = reference::ReferenceError;

pub use reference::stats::{Agency, Criminality, IceStats, Month};

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
        let ice = reference::stats::ice_stats(ICE_DETENTION_MONTHLY_CSV)?;
        let enc = reference::stats::usbp_encounters(USBP_ENCOUNTERS_BY_SECTOR_CSV)?;
        let (usbp, sector_state) = (enc.by_month, enc.sector_state);
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
