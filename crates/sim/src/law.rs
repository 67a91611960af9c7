//! The jail's answer to a detainer, from the law engine itself.
//!
//! For each state where detainers are lodged and each month of the run, the simulator poses
//! the case `liaison law check` would be given (a county jail's staff asked to hold a person
//! on an I-247A with an I-200 warrant) and reads the decision: refused (the jail declines),
//! permitted under a rule that requires it (the jail must honor), or permitted (the jail may,
//! and honors at the scenario's discretionary rate). So a change in `reference/jurisdictions.toml`
//! changes the simulation the same day it changes a decision.

use crate::inputs::{Inputs, Month};
use jiff::civil::Date;
use law::jurisdiction::RuleEffect;
use law::{Effect, Law};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Declines,
    MayHonor,
    MustHonor,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Answer::Declines => "declines (state law forbids the hold)",
            Answer::MayHonor => "may honor (the jail's discretion)",
            Answer::MustHonor => "must honor (state law requires it)",
        }
    }
}

/// One state's answer in one month, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    pub answer: Answer,
    pub rule_id: String,
    pub citation: String,
}

/// Every state's answer for every month of a run, and where detainers go.
#[derive(Debug, Clone)]
pub struct JailLaw {
    /// States, with the cumulative weight of detainers lodged there and the state's AOR.
    states: Vec<(String, f64, usize)>,
    first: Month,
    /// rulings[month index][state index]
    rulings: Vec<Vec<Ruling>>,
}

impl JailLaw {
    /// Decides for every month from `from` through `days` later. Detainers are spread over
    /// the states by each state's share of ICE's FY2024 detained population (a proxy: ICE
    /// publishes no detainer counts by state in the data the project ships).
    pub fn new(law: &Law, inputs: &Inputs, from: Date, days: u32) -> JailLaw {
        let total: f64 = inputs.adp_by_state_fy2024.values().sum();
        let mut acc = 0.0;
        let mut states = Vec::new();
        for (st, w) in &inputs.adp_by_state_fy2024 {
            if st.len() != 2 || *w <= 0.0 {
                continue;
            }
            acc += w / total;
            states.push((st.clone(), acc, inputs.aor_of_state(st).unwrap_or(0)));
        }
        let first = Month::of(from);
        let last = Month::of(from.checked_add(jiff::Span::new().days(days)).unwrap_or(from));
        let mut rulings = Vec::new();
        let mut m = first;
        while m <= last {
            let day = m.first_day().max(from);
            let mut baseline: Option<Ruling> = None;
            let row = states
                .iter()
                .map(|(st, _, _)| {
                    if law.jurisdictions.get(st).is_some() {
                        decide(law, st, day)
                    } else {
                        baseline.get_or_insert_with(|| decide(law, st, day)).clone()
                    }
                })
                .collect();
            rulings.push(row);
            m = m.next();
        }
        JailLaw { states, first, rulings }
    }

    /// A state for a detainer, from a uniform draw: (state index, its AOR).
    pub fn pick_state(&self, u: f64) -> (usize, usize) {
        let i = self.states.partition_point(|(_, acc, _)| *acc <= u).min(self.states.len() - 1);
        (i, self.states[i].2)
    }

    pub fn answer(&self, state: usize, d: Date) -> Answer {
        self.ruling(state, d).answer
    }

    fn ruling(&self, state: usize, d: Date) -> &Ruling {
        let mut i = 0;
        let mut m = self.first;
        let target = Month::of(d);
        while m < target && i + 1 < self.rulings.len() {
            m = m.next();
            i += 1;
        }
        &self.rulings[i][state]
    }

    /// Each state's ruling on a day, for the report.
    pub fn table(&self, d: Date) -> Vec<(&str, f64, &Ruling)> {
        let mut prev = 0.0;
        self.states
            .iter()
            .enumerate()
            .map(|(i, (st, acc, _))| {
                let w = acc - prev;
                prev = *acc;
                (st.as_str(), w, self.ruling(i, d))
            })
            .collect()
    }
}

fn decide(law: &Law, state: &str, day: Date) -> Ruling {
    let text = format!(
        r#"[agency]
id = "{state}-SIMULATED-COUNTY-JAIL"
name = "Simulated county jail"
kind = "state_local_le"
state = "{state}"

[officer]
id = "O-SIM-1"
agency = "{state}-SIMULATED-COUNTY-JAIL"
name = "Synthetic jail staff"
role = "jail_staff"

[[case]]
name = "hold on an I-247A with an I-200"
now = "{day}T12:00:00Z"
action = "hold_on_detainer"
[case.context]
jurisdictions = ["{state}"]
actor_has_custody = true
in_jail = true
custody = {{ agency = "{state}-SIMULATED-COUNTY-JAIL", basis = "criminal_arrest", since = "{day}T00:00:00Z" }}
detainer = {{ recipient_agency = "{state}-SIMULATED-COUNTY-JAIL", warrant = "I-200", probable_cause = ["final_order_of_removal"], release_eligible_at = "{day}T12:00:00Z" }}
"#
    );
    let scenario = law::scenario::Scenario::parse(&text).expect("the simulated jail case is well formed");
    let outcome = scenario.run(law).pop().expect("one case");
    let d = outcome.decision;
    let required: BTreeMap<&str, RuleEffect> = law
        .jurisdictions
        .get(state)
        .map(|j| j.rules.iter().map(|r| (r.id.as_str(), r.effect)).collect())
        .unwrap_or_default();
    let must = d.reasons.iter().find(|r| required.get(r.rule_id.as_str()) == Some(&RuleEffect::Require));
    let deciding = match d.effect {
        Effect::Deny => d.reasons.iter().find(|r| r.kind == law::ReasonKind::Deny),
        _ => must.or_else(|| d.reasons.iter().find(|r| r.kind == law::ReasonKind::Permit)),
    };
    let answer = match (d.effect, must) {
        (Effect::Deny, _) => Answer::Declines,
        (_, Some(_)) => Answer::MustHonor,
        _ => Answer::MayHonor,
    };
    Ruling {
        answer,
        rule_id: deciding.map(|r| r.rule_id.clone()).unwrap_or_default(),
        citation: deciding.map(|r| r.citation.clone()).unwrap_or_default(),
    }
}
