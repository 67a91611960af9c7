//! Scenario files: every parameter of the model, each with the source it comes from.
//!
//! A parameter is a constant (`value`) or a schedule (`points`: dates and values, held from
//! each date to the next, or interpolated with `interpolate = "linear"`). Every parameter the
//! model reads must be present, every key must be one the model knows, and every value must be
//! inside the parameter's bounds; a what-if (`--set beds=100000`) replaces a parameter with a
//! constant after the same checks. See `docs/simulator.md`.

use jiff::civil::Date;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The bundled scenarios, by name.
pub const BUNDLED: [(&str, &str); 2] = [
    ("baseline-fy2024", include_str!("../../../simulations/baseline-fy2024.toml")),
    ("seeds-2025", include_str!("../../../simulations/seeds-2025.toml")),
];

/// The longest run the simulator accepts, in days (about 30 years).
pub const DAYS_MAX: u32 = 11_000;
/// The most runs of one scenario.
pub const RUNS_MAX: u32 = 1_000;

/// A parameter the model reads, with its bounds and what it means.
pub struct Key {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
    pub doc: &'static str,
}

macro_rules! keys {
    ($($name:ident: $min:expr, $max:expr, $doc:expr;)*) => {
        /// Every parameter, in the order the report lists them.
        pub const KEYS: &[Key] = &[$(Key { name: stringify!($name), min: $min, max: $max, doc: $doc }),*];
        /// A parameter by its place in [`KEYS`] (the model reads a day's values by it).
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum K { $($name),* }
    };
}

keys! {
    population_scale: 0.01, 100.0, "every flow and capacity multiplied by this (1: the nation; the benchmark scales it)";
    bp_encounters_per_month: 0.0, 2.0e6, "Border Patrol encounters nationwide per month (months the sector data do not cover)";
    bp_book_in_share: 0.0, 1.0, "share of Border Patrol apprehensions handed to ICE and booked into detention";
    bp_custody_hours_mean: 1.0, 720.0, "mean hours in Border Patrol custody before ICE takes the person";
    ero_officers: 0.0, 100_000.0, "ICE ERO deportation officers";
    field_share: 0.0, 1.0, "share of ERO officers on arrest teams (the rest: docket, detention, removal)";
    at_large_per_officer_day: 0.0, 5.0, "at-large arrests per field officer per day (the pace of the regime)";
    at_large_max_per_officer_day: 0.0, 5.0, "most at-large arrests per field officer per day (capacity under a push)";
    arrest_target_per_day: 0.0, 100_000.0, "ICE arrests per day that leadership demands (0: none)";
    weekend_factor: 0.0, 1.0, "arrests on a Saturday or Sunday as a share of a weekday's";
    detainers_per_day: 0.0, 100_000.0, "I-247A detainers ICE lodges with jails per day";
    honor_share_discretionary: 0.0, 1.0, "share of detainers honored where state law leaves it to the jail";
    pickup_share: 0.0, 1.0, "share of held or notified detainer subjects ICE takes into custody";
    jail_days_mean: 0.1, 365.0, "mean days from a detainer to the jail's release of the person";
    officer_days_per_pickup: 0.0, 10.0, "officer-days a jail pickup takes";
    jem_arrests_per_agreement_day: 0.0, 50.0, "arrests per day per Jail Enforcement Model agreement";
    wso_arrests_per_agreement_day: 0.0, 50.0, "arrests per day per Warrant Service Officer agreement";
    tfm_arrests_per_agreement_day: 0.0, 50.0, "arrests per day per Task Force Model agreement";
    bp_interior_agents: 0.0, 50_000.0, "Border Patrol agents detailed to interior operations (spread over the active ones)";
    bp_interior_per_agent_day: 0.0, 10.0, "arrests per detailed Border Patrol agent per day";
    ice_book_in_share: 0.0, 1.0, "share of ICE arrests booked into detention (the rest released at arrest)";
    beds: 0.0, 1.0e6, "ICE detention beds nationwide";
    overflow_share: 0.0, 1.0, "population above beds tolerated when when_full = overflow";
    los_sigma: 0.1, 3.0, "spread (log-normal sigma) of the length of stay";
    los_days_cbp_convicted: 0.1, 1000.0, "mean stay, CBP arrests, convicted";
    los_days_cbp_pending: 0.1, 1000.0, "mean stay, CBP arrests, pending charges";
    los_days_cbp_other: 0.1, 1000.0, "mean stay, CBP arrests, other immigration violators";
    los_days_ice_convicted: 0.1, 1000.0, "mean stay, ICE arrests, convicted";
    los_days_ice_pending: 0.1, 1000.0, "mean stay, ICE arrests, pending charges";
    los_days_ice_other: 0.1, 1000.0, "mean stay, ICE arrests, other immigration violators";
    convicted_share_cbp: 0.0, 1.0, "share of CBP book-ins with a conviction";
    pending_share_cbp: 0.0, 1.0, "share of CBP book-ins with pending charges";
    convicted_share_ice: 0.0, 1.0, "share of ICE book-ins with a conviction";
    pending_share_ice: 0.0, 1.0, "share of ICE book-ins with pending charges";
    removal_share: 0.0, 1.0, "share of book-outs that are removals (the rest are releases)";
    release_bond: 0.0, 1.0, "weight of bond among releases";
    release_recognizance: 0.0, 1.0, "weight of release on recognizance";
    release_supervision: 0.0, 1.0, "weight of order of supervision";
    release_parole: 0.0, 1.0, "weight of parole";
    removal_flights_per_day: 0.0, 500.0, "removal flights per day";
    seats_per_flight: 1.0, 400.0, "seats per removal flight";
    land_removals_per_day: 0.0, 20_000.0, "removals over land per day";
    escort_officer_days_per_flight: 0.0, 100.0, "ERO officer-days each removal flight takes";
    escort_officer_days_per_transfer: 0.0, 10.0, "ERO officer-days each transfer between AORs takes";
}

pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// What happens to a new arrival when every bed is taken (after a transfer to another AOR
/// with room was tried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Detain anyway, up to beds × (1 + overflow_share); then release the new arrival.
    Overflow,
    /// Release someone already detained (not awaiting removal) to make room.
    EarlyRelease,
    /// Release the new arrival (not booked in).
    ReleaseNew,
    /// Defer discretionary arrests (at-large, 287(g) task force, Border Patrol interior) to
    /// the beds free that morning; arrivals that cannot wait overflow.
    Defer,
}

/// Where the initial detained population comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// ICE's ADP by arresting agency and criminality for the month before `from` (or the
    /// first month the data have).
    Data,
    /// Nobody detained.
    Empty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub source: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub points: Vec<(Date, f64)>,
    #[serde(default)]
    pub interpolate: Interpolate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolate {
    #[default]
    Step,
    Linear,
}

impl Param {
    /// The value in force on `d`.
    pub fn at(&self, d: Date) -> f64 {
        if let Some(v) = self.value {
            return v;
        }
        let i = self.points.partition_point(|(p, _)| *p <= d);
        match (i, self.interpolate) {
            (0, _) => self.points[0].1,
            (i, _) if i == self.points.len() => self.points[i - 1].1,
            (i, Interpolate::Step) => self.points[i - 1].1,
            (i, Interpolate::Linear) => {
                let ((d0, v0), (d1, v1)) = (self.points[i - 1], self.points[i]);
                let span = (d1 - d0).get_days() as f64;
                let t = (d - d0).get_days() as f64 / span;
                v0 + (v1 - v0) * t
            }
        }
    }
}

/// A Border Patrol interior deployment (reference.md §10 item 4: keep deployments as data).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub name: String,
    pub city: String,
    pub state: String,
    pub start: Date,
    pub end: Date,
    pub agents: u32,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    pub description: String,
    pub from: Date,
    pub days: u32,
    pub when_full: WhenFull,
    pub start: Start,
    /// Use the Border Patrol sector data for the months they cover.
    pub bp_encounters_from_data: bool,
    /// Months whose ICE statistics the scenario was calibrated on (`YYYY-MM` bounds), if any:
    /// the report prints the fit over them.
    #[serde(default)]
    pub calibrated_on: Option<(String, String)>,
}

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub scenario: Meta,
    pub param: BTreeMap<String, Param>,
    #[serde(default, rename = "operation")]
    pub operations: Vec<Operation>,
}

/// Why a scenario cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

impl Scenario {
    /// A bundled scenario by name, or the text of a scenario file.
    pub fn bundled(name: &str) -> Option<Scenario> {
        BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, t)| Scenario::parse(t).expect("bundled scenarios parse"))
    }

    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), ScenarioError> {
        let m = &self.scenario;
        if m.days == 0 || m.days > DAYS_MAX {
            return Err(ScenarioError(format!("scenario.days {} is not in 1..={DAYS_MAX}", m.days)));
        }
        for k in KEYS {
            if !self.param.contains_key(k.name) {
                return Err(ScenarioError(format!("param.{} is missing ({})", k.name, k.doc)));
            }
        }
        for (name, p) in &self.param {
            let k = key(name).ok_or_else(|| {
                ScenarioError(format!("param.{name} is not a parameter the model knows (see docs/simulator.md)"))
            })?;
            if p.source.trim().is_empty() {
                return Err(ScenarioError(format!("param.{name} names no source")));
            }
            match (p.value, p.points.is_empty()) {
                (Some(_), false) => return Err(ScenarioError(format!("param.{name} has both value and points"))),
                (None, true) => return Err(ScenarioError(format!("param.{name} has neither value nor points"))),
                _ => {}
            }
            for v in p.value.iter().chain(p.points.iter().map(|(_, v)| v)) {
                check_bound(k, *v).map_err(|e| ScenarioError(format!("param.{e}")))?;
            }
            if p.points.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(ScenarioError(format!("param.{name}: points must be in increasing date order")));
            }
        }
        for o in &self.operations {
            if o.end < o.start {
                return Err(ScenarioError(format!("operation {:?} ends before it starts", o.name)));
            }
            if o.state.len() != 2 || !o.state.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ScenarioError(format!("operation {:?}: state {:?} is not a state code", o.name, o.state)));
            }
        }
        Ok(())
    }

    /// A what-if: `KEY=VALUE` replaces the parameter with a constant for the whole run.
    pub fn set(&mut self, kv: &str) -> Result<(), ScenarioError> {
        let (k, v) = kv.split_once('=').ok_or_else(|| ScenarioError(format!("--set {kv:?}: expected KEY=VALUE")))?;
        let key = key(k.trim()).ok_or_else(|| {
            ScenarioError(format!(
                "--set {k}: not a parameter; known: {}",
                KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let v: f64 = v.trim().parse().map_err(|_| ScenarioError(format!("--set {k}: {v:?} is not a number")))?;
        check_bound(key, v).map_err(|e| ScenarioError(format!("--set {e}")))?;
        self.param.insert(
            key.name.to_string(),
            Param {
                source: format!("what-if: --set {}={v}", key.name),
                value: Some(v),
                points: vec![],
                interpolate: Interpolate::Step,
            },
        );
        Ok(())
    }

    /// Runs from another first day or for another number of days.
    pub fn window(&mut self, from: Option<Date>, days: Option<u32>) -> Result<(), ScenarioError> {
        if let Some(f) = from {
            self.scenario.from = f;
        }
        if let Some(d) = days {
            if d == 0 || d > DAYS_MAX {
                return Err(ScenarioError(format!("--days {d} is not in 1..={DAYS_MAX}")));
            }
            self.scenario.days = d;
        }
        Ok(())
    }

    /// Every parameter's value on `d`, in [`KEYS`] order (index by [`K`]).
    pub fn values_at(&self, d: Date) -> Vec<f64> {
        KEYS.iter().map(|k| self.p(k.name).at(d)).collect()
    }

    pub fn p(&self, name: &str) -> &Param {
        self.param.get(name).expect("checked: every key is present")
    }
}

fn check_bound(k: &Key, v: f64) -> Result<(), String> {
    if !v.is_finite() || v < k.min || v > k.max {
        return Err(format!("{} = {v} is outside {}..={} ({})", k.name, k.min, k.max, k.doc));
    }
    Ok(())
}
