//! The law engine: one question, one answer.
//!
//! [`Law::decide`] takes an officer (with their agency and the agreements their designations
//! name), an action, the facts of the case and the time, and returns a [`Decision`]: allow,
//! deny, or allow with flags, with every reason's rule id, citation and explanation.
//!
//! - authority by actor: Cedar policies in `policies/` ([`authority`]);
//! - state and local gates: `reference/jurisdictions.toml` ([`jurisdiction`]);
//! - detainer issuance, citizenship safeguard, custody, border zone: [`rules`];
//! - the hold clock and the federal holiday calendar: [`hold`], [`holidays`];
//! - border-zone geometry: [`zone`].
//!
//! Pure: no I/O, no clock. The sources are compiled in and hashed; the hash goes with every
//! decision so a past decision can be replayed against the rules that made it.

pub mod authority;
pub mod hold;
pub mod holidays;
pub mod jurisdiction;
pub mod place;
pub mod rules;
pub mod scenario;
pub mod zone;

use domain::Timestamp;
use domain::agency::Agency;
use domain::agreement::Agreement;
use domain::custody::CustodyBasis;
use domain::detainer::{Detainer, DetainerForm, ProbableCauseBasis, WarrantForm};
use domain::encounter::SuspicionFactor;
use domain::officer::Officer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

pub const SCHEMA: &str = include_str!("../../../policies/schema.cedarschema");
pub const POLICIES: &str = include_str!("../../../policies/authority.cedar");
pub const JURISDICTIONS: &str = include_str!("../../../reference/jurisdictions.toml");
pub const BORDER_LINES: &str = include_str!("../../../reference/geo/us_border_lines_10m.geojson");

/// The legal actions Liaison decides (the Cedar action ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Interrogate,
    FieldStop,
    FieldArrest,
    BoardVehicle,
    AccessPrivateLand,
    InterviewInJail,
    DatabaseCheck,
    IssueDetainer,
    ServeWarrantInJail,
    ProcessForRemoval,
    TakeCustody,
    ProcessingSupport,
    HoldOnDetainer,
    NotifyRelease,
    TransferToIce,
    DisclosePersonalInfo,
    GrantInterviewAccess,
    /// The custodian releases the subject (NIEM book-out): what the release owes an open
    /// detainer, and the authority a federal release code rests on.
    ReleaseFromCustody,
    /// The custodial jail answers a detainer: honor, decline or notify only
    /// (`detainer_answer`).
    AnswerDetainer,
    /// Entering a home (a dwelling and its curtilage) to arrest or search.
    EnterDwelling,
    /// Searching a vehicle (boarding it is `board_vehicle`).
    SearchVehicle,
    /// The officer's agency enters into a 287(g) agreement (8 U.S.C. 1357(g)).
    #[serde(rename = "enter_287g_agreement")]
    Enter287gAgreement,
    /// The officer's agency terminates its 287(g) agreement.
    #[serde(rename = "terminate_287g_agreement")]
    Terminate287gAgreement,
}

impl Action {
    pub const ALL: [Action; 23] = [
        Action::Interrogate,
        Action::FieldStop,
        Action::FieldArrest,
        Action::BoardVehicle,
        Action::AccessPrivateLand,
        Action::InterviewInJail,
        Action::DatabaseCheck,
        Action::IssueDetainer,
        Action::ServeWarrantInJail,
        Action::ProcessForRemoval,
        Action::TakeCustody,
        Action::ProcessingSupport,
        Action::HoldOnDetainer,
        Action::NotifyRelease,
        Action::TransferToIce,
        Action::DisclosePersonalInfo,
        Action::GrantInterviewAccess,
        Action::ReleaseFromCustody,
        Action::AnswerDetainer,
        Action::EnterDwelling,
        Action::SearchVehicle,
        Action::Enter287gAgreement,
        Action::Terminate287gAgreement,
    ];

    /// The action's id: its JSON name and its Cedar action id (a test checks they agree).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Interrogate => "interrogate",
            Action::FieldStop => "field_stop",
            Action::FieldArrest => "field_arrest",
            Action::BoardVehicle => "board_vehicle",
            Action::AccessPrivateLand => "access_private_land",
            Action::InterviewInJail => "interview_in_jail",
            Action::DatabaseCheck => "database_check",
            Action::IssueDetainer => "issue_detainer",
            Action::ServeWarrantInJail => "serve_warrant_in_jail",
            Action::ProcessForRemoval => "process_for_removal",
            Action::TakeCustody => "take_custody",
            Action::ProcessingSupport => "processing_support",
            Action::HoldOnDetainer => "hold_on_detainer",
            Action::NotifyRelease => "notify_release",
            Action::TransferToIce => "transfer_to_ice",
            Action::DisclosePersonalInfo => "disclose_personal_info",
            Action::GrantInterviewAccess => "grant_interview_access",
            Action::ReleaseFromCustody => "release_from_custody",
            Action::AnswerDetainer => "answer_detainer",
            Action::EnterDwelling => "enter_dwelling",
            Action::SearchVehicle => "search_vehicle",
            Action::Enter287gAgreement => "enter_287g_agreement",
            Action::Terminate287gAgreement => "terminate_287g_agreement",
        }
    }
}

/// Who holds the subject, as far as the decision needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyFacts {
    pub agency: domain::AgencyId,
    #[serde(default)]
    pub agency_is_border_patrol: bool,
    pub basis: CustodyBasis,
    pub since: Timestamp,
}

/// What the law needs to know about a detainer (from a recorded `Detainer`, or written
/// directly in a scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetainerFacts {
    #[serde(default = "default_form")]
    pub form: DetainerForm,
    pub recipient_agency: domain::AgencyId,
    #[serde(default)]
    pub warrant: Option<WarrantForm>,
    #[serde(default)]
    pub probable_cause: Vec<ProbableCauseBasis>,
    #[serde(default)]
    pub transferred_for_proceeding: bool,
    #[serde(default)]
    pub notification_only: bool,
    #[serde(default)]
    pub release_eligible_at: Option<Timestamp>,
}

fn default_form() -> DetainerForm {
    DetainerForm::I247a
}

impl From<&Detainer> for DetainerFacts {
    fn from(d: &Detainer) -> Self {
        DetainerFacts {
            form: d.form,
            recipient_agency: d.recipient_agency.clone(),
            warrant: d.warrant.as_ref().map(|w| w.form),
            probable_cause: d.probable_cause.clone(),
            transferred_for_proceeding: d.transferred_for_proceeding,
            notification_only: d.notification_only,
            release_eligible_at: d.release_eligible_at,
        }
    }
}

/// The facts of the case at the moment of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Jurisdiction ids where the action happens: a state (`CA`) and optionally a city
    /// (`NY-NYC`). For custodial actions, where the custodial agency is.
    #[serde(default)]
    pub jurisdictions: Vec<String>,
    #[serde(default)]
    pub in_jail: bool,
    #[serde(default)]
    pub custody: Option<CustodyFacts>,
    /// A claim or evidence of US citizenship awaiting a supervisor's determination.
    #[serde(default)]
    pub citizenship_claim_pending: bool,
    /// A supervisor determined that the subject is a US citizen.
    #[serde(default)]
    pub us_citizen_determined: bool,
    /// The subject's identity check was ambiguous and no person has verified it.
    #[serde(default)]
    pub identity_unverified: bool,
    #[serde(default)]
    pub detainer: Option<DetainerFacts>,
    /// Where a field action happens.
    #[serde(default)]
    pub location: Option<domain::LatLon>,
    #[serde(default)]
    pub at_fixed_checkpoint: bool,
    #[serde(default)]
    pub dwelling: bool,
    #[serde(default)]
    pub suspicion_factors: Vec<SuspicionFactor>,
    /// Shorter reasonable distance fixed for the sector, statute miles (8 CFR 287.1(a)(2)).
    #[serde(default)]
    pub sector_distance_miles: Option<f64>,
    /// Conditions asserted for the state-law gate (see `reference/jurisdictions.toml`).
    #[serde(default)]
    pub conditions: BTreeSet<String>,
    /// IANA time zone of the custodial facility, for the hold clock (default from the state).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The agency the actor belongs to holds the subject.
    #[serde(default)]
    pub actor_has_custody: Option<bool>,
    /// The custodian has offered the subject to the actor's agency (an open handoff offer,
    /// or a detainer the custodian honors): custody may move.
    #[serde(default)]
    pub custody_offered: bool,
    /// For a release: its NIEM `im:ReleaseReasonCode`, when given.
    #[serde(default)]
    pub release_code: Option<domain::custody::ReleaseReasonCode>,
    /// For `answer_detainer`: the jail's answer.
    #[serde(default)]
    pub detainer_answer: Option<domain::detainer::DetainerAnswer>,
    /// The warrant a field action relies on, if any.
    #[serde(default)]
    pub warrant: Option<FieldWarrant>,
    /// For a warrantless arrest: the recorded reason to believe the person is likely to escape
    /// before a warrant can be obtained (8 U.S.C. 1357(a)(2); 8 CFR 287.8(c)(2)(ii)).
    #[serde(default)]
    pub escape_risk: Option<String>,
    /// Voluntary consent was given (to enter a home, or to search a vehicle).
    #[serde(default)]
    pub consent: bool,
    /// Probable cause for a vehicle search is recorded.
    #[serde(default)]
    pub probable_cause: bool,
    /// A court nearby, for the courthouse-arrest rules.
    #[serde(default)]
    pub courthouse: Option<Courthouse>,
}

/// A warrant a field action relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FieldWarrant {
    /// Administrative: Warrant for Arrest of Alien (8 CFR 236.1(b), 287.5(e)(2)).
    #[serde(rename = "I-200")]
    I200,
    /// Administrative: Warrant of Removal/Deportation (8 CFR 241.2).
    #[serde(rename = "I-205")]
    I205,
    /// Signed by a judge.
    #[serde(rename = "judicial")]
    Judicial,
}

/// What kind of court.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CourtKind {
    /// A state, county or city court.
    StateOrLocal,
    /// A federal immigration court (EOIR).
    FederalImmigration,
    /// Another federal court.
    Federal,
}

/// A court near the action, and how far from it the action happens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Courthouse {
    pub kind: CourtKind,
    /// Feet from the court facility; 0 inside it.
    pub distance_feet: f64,
}

impl Context {
    pub(crate) fn actor_agency_has_custody(&self) -> bool {
        self.actor_has_custody.unwrap_or(false)
    }
}

/// One question for the law.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub officer: &'a Officer,
    pub agency: &'a Agency,
    /// The agreements the officer's designations name (others are ignored).
    pub agreements: &'a [Agreement],
    pub action: Action,
    pub context: &'a Context,
    pub now: Timestamp,
}

/// The answer's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
    AllowWithFlags,
}

/// What a reason does to the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    Permit,
    Deny,
    Flag,
    Note,
}

/// One reason, with its rule and citation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    pub kind: ReasonKind,
    pub rule_id: String,
    pub citation: String,
    pub explanation: String,
}

impl Reason {
    pub fn new(kind: ReasonKind, rule_id: &str, citation: &str, explanation: &str) -> Self {
        Reason { kind, rule_id: rule_id.into(), citation: citation.into(), explanation: explanation.into() }
    }
}

/// A duty the action carries: what the actor must do, under which rule, and by when where
/// the law sets a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Obligation {
    pub rule_id: String,
    pub citation: String,
    pub duty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
}

/// The decision, with its reasons, the hold clock and border zone where they apply, and the
/// hash of the rules that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// Whether the action is lawful: `allow_with_flags` when it is, with warnings a person
    /// must look at (legal risk, an unverified rule that decided the case, a hold past its
    /// limit). Duties do not flag a decision: they are `obligations`.
    pub effect: Effect,
    pub reasons: Vec<Reason>,
    /// What the actor must do: notices, copies, reports, a release by a deadline.
    pub obligations: Vec<Obligation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<hold::HoldClock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<zone::ZoneReport>,
    /// Where the action happens, established from its location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<place::Place>,
    pub rules_hash: String,
}

impl Decision {
    /// The rule ids of the reasons of a kind.
    pub fn rule_ids(&self, kind: ReasonKind) -> Vec<&str> {
        self.reasons.iter().filter(|r| r.kind == kind).map(|r| r.rule_id.as_str()).collect()
    }
}

/// Why the law's sources could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LawError {
    #[error(transparent)]
    Policy(#[from] authority::PolicyError),
    #[error(transparent)]
    Table(#[from] jurisdiction::TableError),
    #[error(transparent)]
    Geometry(#[from] zone::GeometryError),
}

/// The loaded law: policies, jurisdiction table, border geometry and settings.
pub struct Law {
    pub policies: authority::Policies,
    pub jurisdictions: jurisdiction::Jurisdictions,
    pub boundary: zone::Boundary,
    pub zone_settings: zone::ZoneSettings,
    pub rules_hash: String,
}

/// The texts the law is built from.
pub struct Sources<'a> {
    pub schema: &'a str,
    pub policies: &'a str,
    pub jurisdictions: &'a str,
    pub border_lines: &'a str,
}

impl Sources<'static> {
    pub fn bundled() -> Self {
        Sources { schema: SCHEMA, policies: POLICIES, jurisdictions: JURISDICTIONS, border_lines: BORDER_LINES }
    }
}

impl Law {
    pub fn load(src: &Sources) -> Result<Law, LawError> {
        Ok(Law {
            policies: authority::Policies::load(src.schema, src.policies)?,
            jurisdictions: jurisdiction::Jurisdictions::parse(src.jurisdictions)?,
            boundary: zone::Boundary::from_geojson(src.border_lines)?,
            zone_settings: zone::ZoneSettings::default(),
            rules_hash: rules_hash(src),
        })
    }

    pub fn bundled() -> Law {
        Law::load(&Sources::bundled()).expect("the bundled law sources are valid (checked by tests)")
    }

    /// The border zone at a point in the United States; a point outside is an error.
    pub fn zone(
        &self,
        lat: f64,
        lon: f64,
        sector_distance_miles: Option<f64>,
    ) -> Result<zone::ZoneReport, place::PlaceError> {
        self.zone_with(lat, lon, self.zone_settings, sector_distance_miles)
    }

    /// [`Law::zone`] under other readings of 8 CFR 287.1.
    pub fn zone_with(
        &self,
        lat: f64,
        lon: f64,
        settings: zone::ZoneSettings,
        sector_distance_miles: Option<f64>,
    ) -> Result<zone::ZoneReport, place::PlaceError> {
        let p = place::Places::bundled().locate(lat, lon)?;
        Ok(self.boundary.report(lat, lon, p.off_outline, settings, sector_distance_miles))
    }

    /// Decides one request.
    pub fn decide(&self, req: &Request) -> Decision {
        rules::decide(self, req)
    }
}

/// Everything a decision was made from, owned, so it can be recorded and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    pub officer: Officer,
    pub agency: Agency,
    #[serde(default)]
    pub agreements: Vec<Agreement>,
    pub action: Action,
    pub context: Context,
    pub now: Timestamp,
}

/// A decision as recorded with its event: the inputs, the outcome, and the rules' hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedDecision {
    pub rules_hash: String,
    pub effect: Effect,
    pub rule_ids: Vec<String>,
    pub citations: Vec<String>,
    /// The rule ids of the duties the action carried (absent in decisions recorded before
    /// duties were kept apart from warnings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obligations: Vec<String>,
    /// The rule ids of the warnings (flags) the decision raised, kept apart so reports can
    /// count warnings by rule (absent in decisions recorded before they were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The rule ids that denied the action (a refusal is recorded too; see `service`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denials: Vec<String>,
    pub inputs: Inputs,
}

/// The rule ids of a decision's reasons of one kind.
fn of_kind(d: &Decision, kind: ReasonKind) -> Vec<String> {
    d.reasons.iter().filter(|r| r.kind == kind).map(|r| r.rule_id.clone()).collect()
}

/// The hash that names a version of the law: SHA-256 over its sources, each preceded by its
/// length. Decisions quote it; the store keeps the sources under it.
pub fn rules_hash(src: &Sources) -> String {
    let mut h = Sha256::new();
    for part in [src.schema, src.policies, src.jurisdictions, src.border_lines] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The rules hash of sources as a store keeps them (JSON of [`OwnedSources`]), for `verify`.
pub fn kept_rules_hash(kept: &str) -> Result<String, String> {
    let sources: OwnedSources = serde_json::from_str(kept).map_err(|e| e.to_string())?;
    Ok(rules_hash(&sources.as_sources()))
}

/// The law's sources as kept beside a log, keyed by their hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnedSources {
    pub schema: String,
    pub policies: String,
    pub jurisdictions: String,
    pub border_lines: String,
}

impl OwnedSources {
    pub fn bundled() -> Self {
        OwnedSources {
            schema: SCHEMA.into(),
            policies: POLICIES.into(),
            jurisdictions: JURISDICTIONS.into(),
            border_lines: BORDER_LINES.into(),
        }
    }

    pub fn as_sources(&self) -> Sources<'_> {
        Sources {
            schema: &self.schema,
            policies: &self.policies,
            jurisdictions: &self.jurisdictions,
            border_lines: &self.border_lines,
        }
    }
}

impl Law {
    /// Decides from owned inputs.
    pub fn decide_inputs(&self, i: &Inputs) -> Decision {
        self.decide(&Request {
            officer: &i.officer,
            agency: &i.agency,
            agreements: &i.agreements,
            action: i.action,
            context: &i.context,
            now: i.now,
        })
    }

    /// Decides and packages the decision for the ledger.
    pub fn record(&self, inputs: Inputs) -> (Decision, RecordedDecision) {
        let d = self.decide_inputs(&inputs);
        let rec = RecordedDecision {
            rules_hash: d.rules_hash.clone(),
            effect: d.effect,
            rule_ids: d.reasons.iter().map(|r| r.rule_id.clone()).collect(),
            citations: d.reasons.iter().map(|r| r.citation.clone()).collect(),
            obligations: d.obligations.iter().map(|o| o.rule_id.clone()).collect(),
            flags: of_kind(&d, ReasonKind::Flag),
            denials: of_kind(&d, ReasonKind::Deny),
            inputs,
        };
        (d, rec)
    }
}
