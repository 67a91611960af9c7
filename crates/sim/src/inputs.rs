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
        let (aors, adp_by_state_fy2024, state_aor_adp, facility_rows_unusable) = aors()?;
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

type Aors = (Vec<Aor>, BTreeMap<String, f64>, BTreeMap<(String, usize), f64>, u32);

/// The AORs with their FY2024 facility populations, by AOR and by state; and how many FY2024
/// facility rows name no AOR.
fn aors() -> Result<Aors, InputError> {
    let mut out: Vec<Aor> = reference::stats::aor_offices()?
        .into_iter()
        .map(|o| Aor { code: o.code, states: o.facility_states, adp_fy2024: 0.0 })
        .collect();
    let codes: Vec<&str> = out.iter().map(|a| a.code.as_str()).collect();
    let facilities = reference::stats::facilities(ICE_DETENTION_FACILITIES_CSV, &codes)?;
    let mut by_state = BTreeMap::new();
    let mut state_aor = BTreeMap::new();
    let mut unusable = 0;
    for f in facilities.iter().filter(|f| f.fiscal_year == 2024) {
        let Some(i) = out.iter().position(|a| Some(&a.code) == f.aor.as_ref()) else {
            unusable += 1;
            continue;
        };
        out[i].adp_fy2024 += f.adp_total;
        *by_state.entry(f.state.clone()).or_insert(0.0) += f.adp_total;
        *state_aor.entry((f.state.clone(), i)).or_insert(0.0) += f.adp_total;
    }
    Ok((out, by_state, state_aor, unusable))
}

fn agreements() -> Result<Vec<Agreement287g>, InputError> {
    let facts = reference::load(&reference::Sources::bundled())?;
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
