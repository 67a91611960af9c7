//! Calibration: the `baseline-fy2024` scenario derived from FY2019–FY2024 data only.
//!
//! Per fiscal year, from ICE's statistics and Border Patrol's encounters: the share of
//! apprehensions booked into ICE detention, ICE's arrest pace (split by channel with the
//! documented FY2024 at-large share), the detainers that pace implies under each state's law,
//! the mean stay by arresting agency and criminality, the criminality mix of book-ins, and a
//! bed count that never binds (the baseline reproduces what happened; the what-ifs bind).
//! The bundled `simulations/baseline-fy2024.toml` is exactly this function's output (a test
//! checks it), so anyone can rerun the calibration: `liaison simulate --calibrate`.

use crate::inputs::{Agency, Criminality, Inputs, Month};
use crate::law::{Answer, JailLaw};
use domain::agreement::Model287g;
use jiff::civil::Date;
use std::fmt::Write;

const FIRST_FY: i16 = 2019;
const LAST_FY: i16 = 2024;

/// Documented figures the calibration rests on (calibration.md; reference.md §10).
const AT_LARGE_SHARE: f64 = 0.293; // FY2024: 33,243 of 113,431 administrative arrests [V-doc A.3]
const ICE_BOOK_IN_SHARE: f64 = 90_615.0 / 113_431.0; // FY2024 ICE book-ins / administrative arrests [V-data, V-doc]
const G287_SHARE: f64 = 0.06; // 287(g)'s share of ICE arrests, FY2018 (TRAC) [S A.3]
const DETAINERS_FY2024_PER_DAY: f64 = 380.0; // Jan 20 – Feb 17, 2024 (TRAC) [S A.12]
const HONOR_DISCRETIONARY: f64 = 0.96; // refusals 2–4% of I-247As (FY2016–2017) [S A.12]
const ERO_OFFICERS: f64 = 6000.0; // "about 6,000 deportation officers" [S reference.md §10.1]
const FIELD_SHARE: f64 = 0.5; // [U] assumption

fn fy_start(fy: i16) -> Date {
    Date::new(fy - 1, 10, 1).expect("valid")
}

fn fy_days(fy: i16) -> f64 {
    (fy_start(fy + 1) - fy_start(fy)).get_days() as f64
}

/// 287(g) agreements in force at the middle of the fiscal year, by model, from ICE's list
/// (agreements that ended before the 2026 snapshot are not in it: an undercount for early
/// years, noted in docs/simulator.md).
fn agreements_mid(inputs: &Inputs, fy: i16) -> (f64, f64, f64) {
    let mid = Date::new(fy, 4, 1).expect("valid");
    let count = |m: Model287g| inputs.agreements.iter().filter(|a| a.model == m && a.signed_on <= mid).count() as f64;
    (count(Model287g::JailEnforcementModel), count(Model287g::WarrantServiceOfficer), count(Model287g::TaskForceModel))
}

/// The share of detainers honored in a fiscal year under each state's law.
fn honored_share(jail: &JailLaw, fy: i16) -> f64 {
    let d = Date::new(fy, 4, 1).expect("valid");
    jail.table(d)
        .iter()
        .map(|(_, w, r)| {
            w * match r.answer {
                Answer::Declines => 0.0,
                Answer::MustHonor => 1.0,
                Answer::MayHonor => HONOR_DISCRETIONARY,
            }
        })
        .sum()
}

struct Fy {
    fy: i16,
    /// (month, CBP book-ins / Border Patrol encounters) for each month of the year.
    bp_share: Vec<(Month, f64)>,
    at_large_pace: f64,
    detainers: f64,
    beds: f64,
    los: [[f64; 3]; 2],
    convicted: [f64; 2],
    pending: [f64; 2],
}

/// The calibrated scenario, as TOML text, and the pickup share it derived.
pub fn baseline(law: &law::Law, inputs: &Inputs) -> String {
    let from = fy_start(FIRST_FY);
    let days = (fy_start(LAST_FY + 1) - from).get_days() as u32;
    let jail = JailLaw::new(law, inputs, from, days);
    let ice = &inputs.ice;
    // 287(g) productivity: the FY2018 share of FY2024's arrests over the JEM and WSO
    // agreements in force mid-FY2024.
    let arrests_2024 =
        ice.fy("initial_book_ins", 2024, Some(Agency::Ice), None).unwrap_or(0.0) / fy_days(2024) / ICE_BOOK_IN_SHARE;
    let (jem24, wso24, _) = agreements_mid(inputs, 2024);
    let per_agreement = G287_SHARE * arrests_2024 / (jem24 + wso24).max(1.0);
    // Pickup share: FY2024's custodial arrests over its documented detainers.
    let custodial_2024 = arrests_2024 * (1.0 - AT_LARGE_SHARE) - per_agreement * (jem24 + wso24);
    let pickup = (custodial_2024 / (DETAINERS_FY2024_PER_DAY * honored_share(&jail, 2024))).min(1.0);
    let mut years = Vec::new();
    for fy in FIRST_FY..=LAST_FY {
        let months: Vec<Month> = (0..12)
            .scan(Month::of(fy_start(fy)), |m, _| {
                let cur = *m;
                *m = m.next();
                Some(cur)
            })
            .collect();
        let bp_share = months
            .iter()
            .map(|m| {
                let encounters: f64 = inputs.usbp.get(m).map(|s| s.values().map(|q| *q as f64).sum()).unwrap_or(0.0);
                let cbp = ice.month("initial_book_ins", *m, Some(Agency::Cbp)).unwrap_or(0.0);
                (*m, round3((cbp / encounters.max(1.0)).min(1.0)))
            })
            .collect();
        let ice_bi = ice.fy("initial_book_ins", fy, Some(Agency::Ice), None).unwrap_or(0.0);
        let arrests = ice_bi / fy_days(fy) / ICE_BOOK_IN_SHARE;
        let (jem, wso, _) = agreements_mid(inputs, fy);
        let g287 = per_agreement * (jem + wso);
        let custodial = (arrests * (1.0 - AT_LARGE_SHARE) - g287).max(0.0);
        let max_adp = months.iter().filter_map(|m| ice.month("adp", *m, None)).fold(0.0, f64::max);
        let mut los = [[0.0; 3]; 2];
        let mut convicted = [0.0; 2];
        let mut pending = [0.0; 2];
        for a in Agency::ALL {
            let mut flow = [0.0; 3];
            for c in Criminality::ALL {
                let alos = ice
                    .fy("alos_days", fy, Some(a), Some(c))
                    .or_else(|| ice.fy("alos_days", fy, Some(a), None))
                    .unwrap_or(30.0);
                los[a as usize][c as usize] = (alos * 10.0).round() / 10.0;
                let adp = ice.fy("adp", fy, Some(a), Some(c)).unwrap_or(0.0);
                flow[c as usize] = adp / alos.max(0.1);
            }
            let total: f64 = flow.iter().sum::<f64>().max(1e-9);
            convicted[a as usize] = round3(flow[0] / total);
            pending[a as usize] = round3(flow[1] / total);
        }
        years.push(Fy {
            fy,
            bp_share,
            at_large_pace: round4(arrests * AT_LARGE_SHARE / (ERO_OFFICERS * FIELD_SHARE)),
            detainers: (custodial / (pickup * honored_share(&jail, fy)).max(1e-9)).round(),
            beds: (max_adp * 1.15 / 100.0).round() * 100.0,
            los,
            convicted,
            pending,
        });
    }
    render(from, days, pickup, per_agreement, &years)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
fn round4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

fn render(from: Date, days: u32, pickup: f64, per_agreement: f64, years: &[Fy]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"# GENERATED by `liaison simulate --calibrate` (crates/sim/src/calibrate.rs) from FY2019–FY2024
# data only: ICE's detention statistics (reference/ice_detention_monthly.csv), Border Patrol
# encounters by sector (reference/cbp_usbp_encounters_monthly_by_sector.csv), ICE's 287(g) list
# and the law engine's answers. Do not edit by hand: change the calibration and regenerate.
# Tags as in calibration.md: [V-data] computed from public data, [V-doc] read in a primary
# source, [S] secondary, [U] unverified or assumed.

[scenario]
name = "baseline-fy2024"
description = "FY2019–FY2024 as it happened: Border Patrol encounters from the sector data, ICE's arrest pace, stays and criminality mix calibrated per fiscal year."
from = "{from}"
days = {days}
when_full = "overflow"
start = "data"
bp_encounters_from_data = true
calibrated_on = ["2018-10", "2024-09"]
"#
    );
    let fy_points = |f: &dyn Fn(&Fy) -> f64| -> String {
        years.iter().map(|y| format!("[\"{}\", {}]", fy_start(y.fy), f(y))).collect::<Vec<_>>().join(", ")
    };
    let mut param = |name: &str, source: &str, body: String| {
        let _ = write!(s, "\n[param.{name}]\nsource = {source:?}\n{body}\n");
    };
    let value = |v: f64| format!("value = {v}");
    let points = |p: String| format!("points = [{p}]");
    param("population_scale", "1: the nation (the benchmark scales it)", value(1.0));
    param("bp_encounters_per_month", "unused: the sector data cover every month of the baseline", value(0.0));
    // Per month: how many apprehensions ICE could take followed its beds and policy (Title 42,
    // the June 2024 proclamation) more than the border's flow, and nothing in the data says which.
    let monthly: Vec<String> =
        years.iter().flat_map(|y| y.bp_share.iter().map(|(m, v)| format!("[\"{}\", {v}]", m.first_day()))).collect();
    param(
        "bp_book_in_share",
        "[V-data] CBP initial book-ins (ICE statistics) / Border Patrol encounters (OHSS sectors), per month",
        points(monthly.join(", ")),
    );
    param("bp_custody_hours_mean", "[U] assumption, under CBP's 72-hour standard (TEDS 2015 §4.1)", value(48.0));
    param("ero_officers", "[S] about 6,000 deportation officers (reference.md §10 item 1)", value(ERO_OFFICERS));
    param("field_share", "[U] assumption: half of ERO officers on arrest teams", value(FIELD_SHARE));
    param(
        "at_large_per_officer_day",
        "[V-data] ICE book-ins per day / (FY2024 book-ins per administrative arrest [V-doc]) × 29.3% at-large (FY2024 annual report [V-doc]) / field officers, per fiscal year",
        points(fy_points(&|y| y.at_large_pace)),
    );
    param("at_large_max_per_officer_day", "not binding in the baseline (no arrest target)", value(1.0));
    param("arrest_target_per_day", "none in FY2019–FY2024", value(0.0));
    param("weekend_factor", "[U] assumption: weekend arrests at a third of a weekday's", value(0.35));
    param(
        "detainers_per_day",
        "[V-data] custodial arrests per day (ICE arrests less at-large and 287(g)) / (honored share under state law × pickup share), per fiscal year",
        points(fy_points(&|y| y.detainers)),
    );
    param(
        "honor_share_discretionary",
        "[S] refusals 2–4% of I-247As, FY2016–2017 (calibration.md A.12)",
        value(HONOR_DISCRETIONARY),
    );
    param(
        "pickup_share",
        "[S/V-data] FY2024 custodial arrests / (380 detainers a day, TRAC Jan–Feb 2024 (A.12) × honored share); FY2016: ICE took custody after fewer than 40%",
        value(round3(pickup)),
    );
    param("jail_days_mean", "[U] assumption: a month from detainer to the jail's release", value(30.0));
    param("officer_days_per_pickup", "[U] assumption", value(0.25));
    param(
        "jem_arrests_per_agreement_day",
        "[S/V-data] 6% of ICE arrests via 287(g) (FY2018, TRAC, A.3) × FY2024 arrests / JEM and WSO agreements in force mid-FY2024 (ICE list)",
        value(round4(per_agreement)),
    );
    param("wso_arrests_per_agreement_day", "as jem_arrests_per_agreement_day", value(round4(per_agreement)));
    param(
        "tfm_arrests_per_agreement_day",
        "[S] ~3,100 Florida 287(g) arrests (FDLE, late 2025, A.3) over >300 Florida task-force agencies and ~8 months",
        value(0.043),
    );
    param("bp_interior_agents", "no interior deployments in FY2019–FY2024", value(0.0));
    param(
        "bp_interior_per_agent_day",
        "[S/U] Chicago, Operation Midway Blitz: >3,200 arrests in ~68 days (reference.md §10 item 4) by ~200 agents [U]",
        value(0.23),
    );
    param(
        "ice_book_in_share",
        "[V-data/V-doc] FY2024: 90,615 ICE book-ins / 113,431 administrative arrests",
        value(round3(ICE_BOOK_IN_SHARE)),
    );
    param(
        "beds",
        "[V-data] 115% of the fiscal year's highest monthly ADP, so that beds never bind in the baseline",
        points(fy_points(&|y| y.beds)),
    );
    param("overflow_share", "[S] April 2025: ~42,000 held vs 38,521 beds on paper (109%, A.10)", value(0.1));
    param("los_sigma", "[U] assumption: log-normal stays, sigma 0.9", value(0.9));
    for a in Agency::ALL {
        for c in Criminality::ALL {
            let key = format!(
                "los_days_{}_{}",
                a.name().to_lowercase(),
                match c {
                    Criminality::Convicted => "convicted",
                    Criminality::Pending => "pending",
                    Criminality::Other => "other",
                }
            );
            param(
                &key,
                "[V-data] ICE average length of stay by arresting agency and criminality, FY column",
                points(fy_points(&|y| y.los[a as usize][c as usize])),
            );
        }
    }
    for a in Agency::ALL {
        let n = a.name().to_lowercase();
        param(
            &format!("convicted_share_{n}"),
            "[V-data] book-in flow by criminality = ADP / ALOS, per fiscal year",
            points(fy_points(&|y| y.convicted[a as usize])),
        );
        param(
            &format!("pending_share_{n}"),
            "[V-data] book-in flow by criminality = ADP / ALOS, per fiscal year",
            points(fy_points(&|y| y.pending[a as usize])),
        );
    }
    param("removal_share", "[V-data] FY2024: 1 − 106,490 releases / 268,480 final book-outs (A.5)", value(0.603));
    param("release_bond", "[V-data] FY2024 bonded out 11,394 (A.5)", value(11394.0 / 106_490.0));
    param("release_recognizance", "[V-data] FY2024 order of recognizance 26,546 (A.5)", value(26546.0 / 106_490.0));
    param("release_supervision", "[V-data] FY2024 order of supervision 7,930 (A.5)", value(7930.0 / 106_490.0));
    param("release_parole", "[V-data] FY2024 paroled 60,620 (A.5)", value(60620.0 / 106_490.0));
    param(
        "removal_flights_per_day",
        "[S] 4.8 removal flights a day, June 2024 (Witness at the Border, A.11)",
        value(4.8),
    );
    param("seats_per_flight", "[U] 100–135 seats per charter (A.11)", value(135.0));
    param("land_removals_per_day", "[U] assumption: land removals to Mexico", value(400.0));
    param("escort_officer_days_per_flight", "[U] assumption", value(10.0));
    param("escort_officer_days_per_transfer", "[U] assumption", value(0.5));
    s
}
