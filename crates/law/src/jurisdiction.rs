//! State and local rules as versioned data (`reference/jurisdictions.toml`).
//!
//! A rule says what a custodial agency in a jurisdiction may do on an immigration request
//! (hold, notify, transfer, interview access, disclosure, courthouse arrest), from which date,
//! with which exceptions and duties, and cites its source. A jurisdiction with no rule for an
//! action falls back to the federal baseline, and the decision says so.

use jiff::civil::Date;
use serde::Deserialize;
use std::collections::BTreeSet;

/// The whole rule table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdictions {
    pub version: String,
    #[serde(rename = "jurisdiction")]
    pub jurisdictions: Vec<Jurisdiction>,
}

/// One state, city or the federal baseline (`US`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    /// For a city or county made of whole counties: their 5-digit FIPS codes, so that the
    /// place of a location finds it.
    #[serde(default)]
    pub counties: Vec<String>,
    pub forbids_287g: bool,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// The reach of a courthouse rule: courts of these kinds, and how far from them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearCourt {
    pub kinds: Vec<crate::CourtKind>,
    /// Feet from the court facility (0: inside it).
    pub within_feet: f64,
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleEffect {
    Allow,
    Deny,
    Require,
    /// Lawful, with a warning a person must look at.
    Warn,
}

/// One rule, with its citation and the dates it is in force.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub action: String,
    pub effect: RuleEffect,
    #[serde(default)]
    pub applies_if: Vec<String>,
    #[serde(default)]
    pub unless_any: Vec<String>,
    #[serde(default)]
    pub requires_all: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    pub citation: String,
    pub effective_from: Date,
    #[serde(default)]
    pub effective_to: Option<Date>,
    #[serde(default)]
    pub unverified: bool,
    /// For a `require` rule with a statutory deadline: the day by which the duty must be met.
    #[serde(default)]
    pub due_by: Option<Date>,
    /// For a courthouse rule: the rule applies only this near a court of these kinds.
    #[serde(default)]
    pub near_court: Option<NearCourt>,
    pub explanation: String,
}

/// The conditions a request may assert (see the table's header).
pub const CONDITIONS: [&str; 14] = [
    "judicial_warrant",
    "federal_criminal_warrant",
    "judicial_subpoena",
    "ca_7282_5_offense",
    "ca_7282_5_b_charge_with_magistrate_finding",
    "nyc_covered_conviction",
    "terrorist_screening_match",
    "proof_of_citizenship_or_lawful_status",
    "detainer_has_warrant",
    "written_consent",
    "information_public",
    "attending_court",
    "operates_county_jail",
    "state_board_approval",
];

/// When a duty falls on the actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyWhen {
    /// When the act is done (a notice that goes with a notification).
    Acting,
    /// When the request is declined or the act refused.
    Declining,
    /// Whenever the request is answered, either way.
    Answering,
}

/// The duties a rule may carry (`flags`), when each falls, and what each asks of the actor.
pub const DUTIES: [(&str, DutyWhen, &str); 5] = [
    (
        "truth_act_copy_of_request_to_person",
        DutyWhen::Answering,
        "Give the person a copy of the hold, notification or transfer request, and say in writing whether the agency will comply.",
    ),
    (
        "truth_act_notify_person_and_attorney",
        DutyWhen::Acting,
        "Tell the person, and their attorney or a designee, in writing when the agency tells immigration authorities of a release date.",
    ),
    (
        "truth_act_consent_form",
        DutyWhen::Acting,
        "Before the interview, give the person the written consent form: the interview is voluntary, they may decline it or have an attorney present (in the languages the law lists).",
    ),
    (
        "decline_document_report_to_cjc",
        DutyWhen::Declining,
        "Decline the request, document it, and report it to the Oregon Criminal Justice Commission.",
    ),
    ("inform_person_of_detainer", DutyWhen::Acting, "Inform the person that they are held on an immigration detainer."),
];

/// When a duty falls and its sentence (checked at load: every flag is one of [`DUTIES`]).
pub fn duty(id: &str) -> (DutyWhen, &'static str) {
    DUTIES
        .iter()
        .find(|(d, _, _)| *d == id)
        .map(|(_, w, t)| (*w, *t))
        .unwrap_or((DutyWhen::Answering, "A duty the table names."))
}

/// Actions the table may gate.
pub const GATED_ACTIONS: [&str; 8] = [
    "hold_on_detainer",
    "notify_release",
    "transfer_to_ice",
    "grant_interview_access",
    "disclose_personal_info",
    "field_arrest",
    "enter_287g_agreement",
    "terminate_287g_agreement",
];

/// Why the table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("jurisdictions.toml: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("jurisdictions.toml: rule {rule}: {reason}")]
    Invalid { rule: String, reason: String },
}

impl Jurisdictions {
    /// Parses and checks the table: known actions and conditions, unique ids, a `US` entry.
    pub fn parse(text: &str) -> Result<Self, TableError> {
        let t: Jurisdictions = toml::from_str(text)?;
        let mut ids = BTreeSet::new();
        for j in &t.jurisdictions {
            for c in &j.counties {
                let state = c.get(..2).and_then(crate::place::state_postal);
                if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) || state.is_none() {
                    return Err(TableError::Invalid {
                        rule: j.id.clone(),
                        reason: format!("county {c:?} is not a FIPS code"),
                    });
                }
            }
            for r in &j.rules {
                let bad = |reason: String| TableError::Invalid { rule: r.id.clone(), reason };
                if !ids.insert(r.id.clone()) {
                    return Err(bad("duplicate rule id".into()));
                }
                if !GATED_ACTIONS.contains(&r.action.as_str()) {
                    return Err(bad(format!("unknown action {:?}", r.action)));
                }
                let conds = r.applies_if.iter().chain(&r.requires_all).chain(&r.unless_any).flat_map(|c| c.split('+'));
                for c in conds {
                    if !CONDITIONS.contains(&c) {
                        return Err(bad(format!("unknown condition {c:?}")));
                    }
                }
                if let Some(f) = r.flags.iter().find(|f| !DUTIES.iter().any(|(d, _, _)| d == f)) {
                    return Err(bad(format!("unknown duty {f:?}")));
                }
                if r.near_court.as_ref().is_some_and(|n| !(n.within_feet.is_finite() && n.within_feet >= 0.0)) {
                    return Err(bad("near_court.within_feet must be a distance in feet".into()));
                }
                if r.effective_to.is_some_and(|to| to <= r.effective_from) {
                    return Err(bad("effective_to is not after effective_from".into()));
                }
            }
        }
        if !t.jurisdictions.iter().any(|j| j.id == "US") {
            return Err(TableError::Invalid { rule: "-".into(), reason: "no federal baseline (US)".into() });
        }
        Ok(t)
    }

    pub fn get(&self, id: &str) -> Option<&Jurisdiction> {
        self.jurisdictions.iter().find(|j| j.id == id)
    }

    /// Whether the state (or city) forbids its agencies to hold 287(g) agreements.
    pub fn forbids_287g(&self, ids: &[&str]) -> bool {
        ids.iter().filter_map(|id| self.get(id)).any(|j| j.forbids_287g)
    }
}

impl Rule {
    pub fn in_force(&self, on: Date) -> bool {
        self.effective_from <= on && self.effective_to.is_none_or(|to| on < to)
    }
}

/// Whether an alternative like `"a+b"` holds: every part is asserted.
pub fn holds(alternative: &str, asserted: &BTreeSet<String>) -> bool {
    alternative.split('+').all(|c| asserted.contains(c))
}
