//! Scenarios: cases written as data that anyone can pose to the law (docs/scenarios.md).
//!
//! A scenario file names one agency, one officer and the agreements the officer's
//! designations refer to, then any number of `[[case]]`s: an action, the time, the facts
//! (`context`) and, optionally, what the decision is expected to be.

use crate::{Action, Context, Decision, Effect, Law, Request};
use domain::Timestamp;
use domain::agency::Agency;
use domain::agreement::Agreement;
use domain::officer::Officer;
use serde::{Deserialize, Serialize};

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub agency: Agency,
    pub officer: Officer,
    #[serde(default)]
    pub agreements: Vec<Agreement>,
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

/// One question and, optionally, its expected answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub now: Timestamp,
    pub action: Action,
    #[serde(default)]
    pub context: Context,
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// The expected effect, rule ids that must appear among the reasons, rule ids that must
/// appear among the obligations, and text that must appear in some reason's or obligation's
/// citation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub effect: Effect,
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(default)]
    pub obligations: Vec<String>,
    #[serde(default)]
    pub citations: Vec<String>,
    /// The time zone the place is in (a case with a location).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The hold deadline that applies.
    #[serde(default)]
    pub hold_deadline: Option<Timestamp>,
}

/// A case's decision and whether it met its expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub case: String,
    pub action: Action,
    pub decision: Decision,
    /// `None` when the case states no expectation.
    pub passed: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// Why a scenario file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

impl Scenario {
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError(e.to_string()))?;
        if s.officer.agency != s.agency.id {
            return Err(ScenarioError(format!(
                "officer {} belongs to {}, not to the scenario's agency {}",
                s.officer.id, s.officer.agency, s.agency.id
            )));
        }
        if s.cases.is_empty() {
            return Err(ScenarioError("a scenario needs at least one [[case]]".into()));
        }
        Ok(s)
    }

    /// Refuses facts the law would otherwise read wrongly without a word: a jurisdiction that
    /// is neither in the table nor a US state or territory code (`"Tx"`, `"ZZ"` would fall back
    /// to the federal baseline), a time zone that is not an IANA name (it would become UTC),
    /// and jurisdictions or a zone that contradict the case's location.
    pub fn check_facts(&self, law: &Law) -> Result<(), ScenarioError> {
        for c in &self.cases {
            crate::place::check_bounds(c.now, &c.context)
                .and_then(|()| crate::place::establish(&law.jurisdictions, &c.context))
                .map_err(|e| ScenarioError(format!("case {:?}: {e}", c.name)))?;
        }
        Ok(())
    }

    /// Decides every case.
    pub fn run(&self, law: &Law) -> Vec<Outcome> {
        self.cases
            .iter()
            .map(|c| {
                let req = Request {
                    officer: &self.officer,
                    agency: &self.agency,
                    agreements: &self.agreements,
                    action: c.action,
                    context: &c.context,
                    now: c.now,
                };
                let decision = law.decide(&req);
                let failures = c.expect.as_ref().map(|e| check(e, &decision)).unwrap_or_default();
                Outcome {
                    case: c.name.clone(),
                    action: c.action,
                    passed: c.expect.as_ref().map(|_| failures.is_empty()),
                    failures,
                    decision,
                }
            })
            .collect()
    }
}

fn check(e: &Expect, d: &Decision) -> Vec<String> {
    let mut f = Vec::new();
    if e.effect != d.effect {
        f.push(format!("effect {:?}, expected {:?}", d.effect, e.effect));
    }
    for r in &e.rules {
        if !d.reasons.iter().any(|x| &x.rule_id == r) {
            f.push(format!("no reason with rule {r}"));
        }
    }
    if let Some(tz) = &e.time_zone {
        let got = d.place.as_ref().map(|p| p.time_zone.as_str());
        if got != Some(tz.as_str()) {
            f.push(format!("time zone {got:?}, expected {tz}"));
        }
    }
    if let Some(t) = e.hold_deadline {
        let got = d.hold.as_ref().map(|h| h.deadline);
        if got != Some(t) {
            f.push(format!("hold deadline {got:?}, expected {t}"));
        }
    }
    for o in &e.obligations {
        if !d.obligations.iter().any(|x| &x.rule_id == o) {
            f.push(format!("no obligation with rule {o}"));
        }
    }
    for c in &e.citations {
        let cites = d.reasons.iter().map(|x| &x.citation).chain(d.obligations.iter().map(|x| &x.citation));
        if !cites.into_iter().any(|x| x.contains(c.as_str())) {
            f.push(format!("no citation containing {c:?}"));
        }
    }
    f
}
