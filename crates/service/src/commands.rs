//! The write workflows: each request type, who may send it, the legal question it asks and
//! the events it appends.

use crate::decide::{custody_facts, decide_and_keep, get, inputs};
pub use crate::registry::{
    AgreementStatusChange, NewAgreement, NewDesignation, NewOfficer, NewTraining, RegistryCommand,
};
use crate::text;
use crate::{ApiRole, Principal, ServiceError};
use domain::agency::Agency;
use domain::custody::{Handoff, HandoffParty, HandoffStatus};
use domain::detainer::{Detainer, DetainerForm, DetainerStatus, LiftCode, ProbableCauseBasis, Warrant};
use domain::encounter::{AuthorityClaimed, Encounter, MethodCode, SuspicionFactor};
use domain::identity;
use domain::operation::{Operation, OperationStatus, Participation};
use domain::subject::{CitizenshipClaim, CitizenshipEvidence, Subject};
use domain::*;
use jiff::SignedDuration;
use law::{Action, Context, Decision, Law};
use serde::{Deserialize, Serialize};
use store::{Batch, Hash, NewEvent, Pending};
use utoipa::ToSchema;

/// Settings the workflows need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a handoff offer stays open when the request names no window.
    pub handoff_window: SignedDuration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { handoff_window: SignedDuration::from_hours(4) }
    }
}

/// Register a (synthetic) person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    /// Chosen by the server when absent.
    #[serde(default)]
    pub id: Option<SubjectId>,
    #[schema(schema_with = text::names)]
    pub names: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<jiff::civil::Date>,
    #[serde(default)]
    #[schema(example = "A012345678")]
    pub a_number: Option<ANumber>,
    #[serde(default)]
    pub fbi_number: Option<FbiNumber>,
}

/// A claim of citizenship made by or for the subject.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClaim {
    /// ISO 3166 alpha-2 code of the claimed citizenship (`US`).
    pub country: String,
    pub evidence: Vec<CitizenshipEvidence>,
}

/// An encounter, and an arrest when `arrest` is true.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEncounter {
    #[serde(default)]
    pub id: Option<EncounterId>,
    pub subject: SubjectId,
    pub location: LatLon,
    pub method: MethodCode,
    pub authority: AuthorityClaimed,
    #[serde(default)]
    pub suspicion_factors: Vec<SuspicionFactor>,
    pub arrest: bool,
    /// The operation the encounter belongs to, if any.
    #[serde(default)]
    pub operation: Option<OperationId>,
    /// Optional: the law establishes the state, county, city and time zone from `location`.
    /// When given, each must agree with the location (a city id such as `NY-NYC`, or the state
    /// code); a contradiction is refused (422).
    #[serde(default)]
    pub jurisdictions: Vec<String>,
    /// In a jail: processing under a 287(g) jail model (the law asks `process_for_removal`),
    /// or, with `authority: administrative_warrant`, a warrant-service arrest of a person the
    /// jail holds (the law asks `serve_warrant_in_jail`).
    #[serde(default)]
    pub in_jail: bool,
    /// The administrative warrant (I-200 or I-205) an `administrative_warrant` arrest serves.
    #[serde(default)]
    pub warrant: Option<Warrant>,
    /// For a warrantless arrest (`warrantless_arrest_1357a2`): the reason to believe the person
    /// is likely to escape before a warrant can be obtained, which 8 U.S.C. 1357(a)(2)
    /// requires; without it the law refuses the arrest.
    #[serde(default)]
    #[schema(schema_with = text::medium)]
    pub escape_risk: Option<String>,
    #[serde(default)]
    pub at_fixed_checkpoint: bool,
    #[serde(default)]
    pub dwelling: bool,
}

/// A jail booking on a criminal charge, by the booking agency's jail staff.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBooking {
    pub subject: SubjectId,
    pub facility: FacilityId,
    #[schema(schema_with = text::medium)]
    pub charge: String,
}

/// The custodian offers the subject to another agency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandoff {
    #[serde(default)]
    pub id: Option<HandoffId>,
    pub subject: SubjectId,
    pub receiving_agency: AgencyId,
    #[serde(default)]
    pub receiving_facility: Option<FacilityId>,
    /// Seconds the offer stays open (default: the server's handoff window).
    #[serde(default)]
    pub expires_in_seconds: Option<u32>,
    #[serde(default)]
    #[schema(schema_with = text::long)]
    pub note: Option<String>,
}

/// The receiving agency's answer to a handoff offer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "answer", rename_all = "snake_case")]
pub enum HandoffAnswer {
    Accept {
        #[serde(default)]
        facility: Option<FacilityId>,
    },
    Reject {
        #[schema(schema_with = text::long)]
        reason: String,
    },
}

/// A detainer (Form I-247A) or a notification-only request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDetainer {
    #[serde(default)]
    pub id: Option<DetainerId>,
    pub subject: SubjectId,
    pub recipient_agency: AgencyId,
    #[serde(default = "i247a")]
    pub form: DetainerForm,
    /// The accompanying administrative warrant (I-200 or I-205), signed.
    #[serde(default)]
    pub warrant: Option<Warrant>,
    pub probable_cause: Vec<ProbableCauseBasis>,
    #[serde(default)]
    pub transferred_for_proceeding: bool,
    /// Ask only to be told of the release, not to hold.
    #[serde(default)]
    pub notification_only: bool,
}

fn i247a() -> DetainerForm {
    DetainerForm::I247a
}

/// A step in a detainer's life.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "step", rename_all = "snake_case")]
pub enum DetainerUpdate {
    /// The detainer was served on the subject.
    Serve,
    /// The recipient jail answers, as its law requires: `answer` is `honor`, `decline` or
    /// `notify_only` (tell DHS of the release, hold no one). The older form `accepted: true`
    /// means honor (notice only for a notification-only detainer), `false` decline. Every
    /// answer is decided by the law: a mandate state refuses a decline, a state that forbids
    /// holds refuses honoring.
    Answer {
        #[serde(default)]
        answer: Option<domain::detainer::DetainerAnswer>,
        #[serde(default)]
        accepted: Option<bool>,
    },
    /// The subject would otherwise be released now: the hold clock starts.
    ReleaseEligible,
    /// The issuing agency takes the subject into custody.
    AssumeCustody {
        #[serde(default)]
        facility: Option<FacilityId>,
    },
    /// The issuing agency lifts the detainer (NIEM lift code).
    Lift { code: LiftCode },
}

/// An operation or deployment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperation {
    #[serde(default)]
    pub id: Option<OperationId>,
    #[schema(schema_with = text::short)]
    pub name: String,
    #[schema(schema_with = text::short)]
    pub city: String,
    #[schema(example = "IL")]
    pub state: StateCode,
    #[schema(value_type = String, format = Date)]
    pub starts_on: jiff::civil::Date,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<jiff::civil::Date>,
    pub participants: Vec<Participation>,
}

/// A person's verification of the subject's latest identity check: the booked person is the
/// candidate `same_as`, or (absent) none of the candidates.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVerification {
    #[serde(default)]
    pub same_as: Option<SubjectId>,
    /// What the verification rests on (documents seen, records compared).
    #[schema(schema_with = text::long)]
    pub basis: String,
}

/// A supervisor's determination of the subject's US citizenship claim.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDetermination {
    pub us_citizen: bool,
    /// What the determination rests on (documents examined, records checked).
    #[schema(schema_with = text::long)]
    pub basis: String,
}

/// The custodian releases the subject (NIEM book-out).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelease {
    /// The NIEM `im:ReleaseReasonCode` (`BOND`, `OREC`, `OSUP`, `PARO`, `DEP`, `T`, `USM`, …);
    /// required of ICE and CBP custodians.
    #[serde(default)]
    pub code: Option<domain::custody::ReleaseReasonCode>,
    /// Why, in words (for state and local releases: charges dismissed, bail, sentence served).
    #[schema(schema_with = text::long)]
    pub reason: String,
}

/// A supervisor's resolution of a custody conflict: two records of one person (linked by a
/// "same as" identity verification) held by two agencies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResolution {
    /// The agency that holds the person: one of the two custodians. Custody recorded on the
    /// other record ends.
    pub custodian: AgencyId,
    /// What the resolution rests on (where the person was found, records compared).
    #[schema(schema_with = text::long)]
    pub basis: String,
}

/// A new status for an operation: `active` or `concluded`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationStatusChange {
    pub status: OperationStatus,
}

/// Every write request.
#[derive(Debug, Clone)]
pub enum Command {
    RegisterSubject(NewSubject),
    ClaimCitizenship {
        subject: SubjectId,
        claim: NewClaim,
    },
    RecordEncounter(NewEncounter),
    BookIntoJail(NewBooking),
    OfferHandoff(NewHandoff),
    AnswerHandoff {
        handoff: HandoffId,
        answer: HandoffAnswer,
    },
    /// The custodian releases the subject; an open handoff offer closes with it.
    Release {
        subject: SubjectId,
        release: NewRelease,
    },
    /// A supervisor of one of the two custodians says who holds a person with two records.
    ResolveCustodyConflict {
        subject: SubjectId,
        resolution: NewResolution,
    },
    /// The server closes an offer nobody answered in time.
    ExpireHandoff {
        handoff: HandoffId,
    },
    IssueDetainer(NewDetainer),
    UpdateDetainer {
        detainer: DetainerId,
        update: DetainerUpdate,
    },
    PlanOperation(NewOperation),
    ChangeOperationStatus {
        operation: OperationId,
        change: OperationStatusChange,
    },
    VerifyIdentity {
        subject: SubjectId,
        verification: NewVerification,
    },
    DetermineCitizenship {
        subject: SubjectId,
        determination: NewDetermination,
    },
    /// The server ends a hold whose clock ran out with no assumption of custody.
    ExpireDetainer {
        detainer: DetainerId,
    },
    /// The 287(g) registry: officers, designations, training, agreements.
    Registry(RegistryCommand),
    /// Complaints against recorded events (`complaints.rs`).
    Complaint(crate::complaints::ComplaintCommand),
    /// Reads of subjects' records, logged before the records are returned (one event each).
    LogRead {
        subjects: Vec<SubjectId>,
        what: String,
    },
}

impl Command {
    /// The record it creates, when the request names it: the writer looks these up for a
    /// whole group at once (each is new, so no cache knows it; on PostgreSQL a lookup per
    /// command would be a round trip each).
    pub fn creates(&self) -> Option<domain::RecordKey> {
        use domain::{RecordKey, RecordKind};
        match self {
            Command::RegisterSubject(n) => n.id.as_ref().map(|id| RecordKey::new(RecordKind::Subject, id)),
            Command::RecordEncounter(n) => n.id.as_ref().map(|id| RecordKey::new(RecordKind::Encounter, id)),
            Command::OfferHandoff(n) => n.id.as_ref().map(|id| RecordKey::new(RecordKind::Handoff, id)),
            Command::IssueDetainer(n) => n.id.as_ref().map(|id| RecordKey::new(RecordKind::Detainer, id)),
            Command::PlanOperation(n) => n.id.as_ref().map(|id| RecordKey::new(RecordKind::Operation, id)),
            Command::Complaint(crate::complaints::ComplaintCommand::File(n)) => {
                n.id.as_ref().map(|id| RecordKey::new(RecordKind::Complaint, id))
            }
            _ => None,
        }
    }

    /// Its free-text fields, each with its limit in characters, checked in one place by
    /// [`execute`] (see [`text::check`]).
    fn texts(&self) -> Vec<(&'static str, &str, usize)> {
        let mut t: Vec<(&'static str, &str, usize)> = Vec::new();
        match self {
            Command::RegisterSubject(n) => t.extend(n.names.iter().map(|x| ("names", x.as_str(), text::SHORT))),
            Command::BookIntoJail(n) => t.push(("charge", &n.charge, text::MEDIUM)),
            Command::RecordEncounter(n) => t.extend(n.escape_risk.as_deref().map(|x| ("escape_risk", x, text::MEDIUM))),
            Command::Release { release: r, .. } => t.push(("reason", &r.reason, text::LONG)),
            Command::ResolveCustodyConflict { resolution: r, .. } => t.push(("basis", &r.basis, text::LONG)),
            Command::OfferHandoff(n) => t.extend(n.note.as_deref().map(|x| ("note", x, text::LONG))),
            Command::AnswerHandoff { answer: HandoffAnswer::Reject { reason }, .. } => {
                t.push(("reason", reason, text::LONG))
            }
            Command::VerifyIdentity { verification: v, .. } => t.push(("basis", &v.basis, text::LONG)),
            Command::DetermineCitizenship { determination: d, .. } => t.push(("basis", &d.basis, text::LONG)),
            Command::PlanOperation(n) => {
                t.extend([("name", n.name.as_str(), text::SHORT), ("city", n.city.as_str(), text::SHORT)])
            }
            Command::Registry(r) => t.extend(r.texts()),
            Command::Complaint(c) => t.extend(c.texts()),
            _ => {}
        }
        t
    }

    /// Who may send it.
    pub fn roles(&self) -> &'static [ApiRole] {
        use ApiRole::*;
        match self {
            Command::RegisterSubject(_) | Command::ClaimCitizenship { .. } => {
                &[FieldOfficer, Supervisor, JailStaff, Officer287g]
            }
            Command::RecordEncounter(_) => &[FieldOfficer, Supervisor, Officer287g],
            Command::BookIntoJail(_) => &[JailStaff],
            Command::OfferHandoff(_) | Command::AnswerHandoff { .. } | Command::Release { .. } => {
                &[FieldOfficer, Supervisor, JailStaff, Officer287g]
            }
            Command::ExpireHandoff { .. } | Command::ExpireDetainer { .. } => &[],
            Command::VerifyIdentity { .. } => &[Supervisor, JailStaff, Officer287g],
            Command::DetermineCitizenship { .. }
            | Command::ChangeOperationStatus { .. }
            | Command::ResolveCustodyConflict { .. } => &[Supervisor],
            Command::Registry(_) => &[Administrator],
            Command::IssueDetainer(_) => &[FieldOfficer, Supervisor],
            Command::UpdateDetainer { update, .. } => match update {
                DetainerUpdate::Answer { .. } | DetainerUpdate::ReleaseEligible => &[JailStaff, Officer287g],
                _ => &[FieldOfficer, Supervisor],
            },
            Command::PlanOperation(_) => &[Supervisor],
            Command::Complaint(crate::complaints::ComplaintCommand::File(_)) => {
                &[FieldOfficer, Supervisor, JailStaff, Officer287g, Oversight, Administrator]
            }
            // Oversight reads everything and writes nothing but its own handling of complaints.
            Command::Complaint(_) => &[Oversight],
            Command::LogRead { .. } => &[FieldOfficer, Supervisor, JailStaff, Officer287g, Oversight, Administrator],
        }
    }
}

/// What a command did: where its events landed, the events, and the law's decision.
#[derive(Debug, Clone)]
pub struct Done {
    pub pending: Pending,
    /// The events appended (empty for a replayed request: read them from the log).
    pub events: Vec<Event>,
    pub decision: Option<Decision>,
}

/// The server itself, for commands no person sends (expiring offers and holds).
pub fn system_principal() -> Principal {
    Principal { id: "liaison".into(), agency: AgencyId::parse("LIAISON").expect("valid"), officer: None, roles: vec![] }
}

/// One command as the writer runs it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    pub command: &'a Command,
    /// The idempotency key (scoped to the principal) and the hash of the request it answers.
    pub key: Option<(&'a str, Hash)>,
    /// Issued by the server itself; see [`execute`].
    pub as_system: bool,
}

/// Runs one command inside a batch. A request under an idempotency key that was already
/// answered returns the first answer's place in the log and appends nothing. `as_system` is
/// true only for commands the server itself issues (expiring offers); it skips the role check,
/// and no caller can claim it, whatever its principal is called.
pub fn execute(
    b: &mut dyn Batch,
    law: &Law,
    settings: &Settings,
    req: &Request,
    now: Timestamp,
) -> Result<Done, ServiceError> {
    let Request { principal: p, key, .. } = *req;
    if let Some((k, h)) = key
        && let Some(pending) = b.find_command(k, &h)?
    {
        return Ok(Done { pending, events: vec![], decision: None });
    }
    let (events, decision) = checked_plan(b, law, settings, req, now)?;
    let actor = p.officer.as_ref().map_or(p.id.clone(), |o| o.to_string());
    let recorded = decision.as_ref().map(|(_, v)| v.clone());
    let new: Vec<NewEvent> = events
        .iter()
        .enumerate()
        .map(|(i, e)| NewEvent {
            valid_at: now,
            actor: actor.clone(),
            corrects: None,
            event: e.clone(),
            // The decision is about the command's act, its last event (earlier ones close what
            // the act supersedes, such as an open handoff offer).
            decision: if i + 1 == events.len() { recorded.clone() } else { None },
        })
        .collect();
    let pending = b.command(&new, key)?;
    Ok(Done { pending, events, decision: decision.map(|(d, _)| d) })
}

/// What a command would do now, without doing it: the same checks and the same law's
/// decision as [`execute`], and nothing appended (the web forms' "check with the law"). A
/// refusal is the same error `execute` would give, with the law's decision when the law
/// refused.
pub fn preview(
    b: &mut dyn Batch,
    law: &Law,
    settings: &Settings,
    req: &Request,
    now: Timestamp,
) -> Result<Option<Decision>, ServiceError> {
    Ok(checked_plan(b, law, settings, req, now)?.1.map(|(d, _)| d))
}

/// The checks every command passes before it is planned (roles, text limits, a new record's
/// id), then its plan.
fn checked_plan(
    b: &mut dyn Batch,
    law: &Law,
    settings: &Settings,
    req: &Request,
    now: Timestamp,
) -> Result<Planned, ServiceError> {
    let Request { principal: p, command: cmd, as_system, .. } = *req;
    if !as_system && !p.has_any(cmd.roles()) {
        let need: Vec<&str> = cmd.roles().iter().map(|r| r.as_str()).collect();
        return Err(ServiceError::forbidden(format!("this request needs one of the roles: {}", need.join(", "))));
    }
    for (field, v, max) in cmd.texts() {
        text::check(field, v, max)?;
    }
    // A new record's id that is taken: "already exists" only to a caller who may know the
    // taken record exists; to anyone else the same "not found" as any invisible record.
    if let Some(key) = cmd.creates()
        && let Some(existing) = b.record(&key)?
    {
        let kind = crate::access::kind_name(key.kind);
        return Err(if crate::access::may_know(b, p, &existing)? {
            ServiceError::new(409, "already_exists", format!("{kind} {:?} already exists", key.id))
        } else {
            ServiceError::not_found(kind, &key.id)
        });
    }
    plan(b, law, settings, p, cmd, now)
}

pub(crate) type Planned = (Vec<Event>, Option<(Decision, serde_json::Value)>);

pub(crate) fn officer_of(p: &Principal) -> Result<&str, ServiceError> {
    p.officer.as_ref().map(|o| o.as_str()).ok_or_else(|| {
        ServiceError::forbidden("this request is an officer's act; a service account cannot make it".to_string())
    })
}

pub(crate) fn agency(b: &mut dyn Batch, id: &AgencyId) -> Result<Agency, ServiceError> {
    match get(b, RecordKind::Agency, id.as_str())? {
        Some(Record::Agency(a)) => Ok(a),
        _ => Err(ServiceError::not_found("agency", id.as_str())),
    }
}

fn detainer(b: &mut dyn Batch, id: &DetainerId) -> Result<Detainer, ServiceError> {
    match get(b, RecordKind::Detainer, id.as_str())? {
        Some(Record::Detainer(d)) => Ok(d),
        _ => Err(ServiceError::not_found("detainer", id.as_str())),
    }
}

fn subject(b: &mut dyn Batch, id: &SubjectId) -> Result<Subject, ServiceError> {
    match get(b, RecordKind::Subject, id.as_str())? {
        Some(Record::Subject(s)) => Ok(s),
        _ => Err(ServiceError::not_found("subject", id.as_str())),
    }
}

/// The event that closes the subject's open handoff offer, if any, because custody is moving
/// by another path (`reason` says which).
fn close_open_offer(b: &mut dyn Batch, subject: &SubjectId, reason: String) -> Result<Vec<Event>, ServiceError> {
    Ok(match get(b, RecordKind::Custody, subject.as_str())? {
        Some(Record::Custody(c)) => {
            c.pending_handoff.map(|handoff| Event::HandoffSuperseded { handoff, reason }).into_iter().collect()
        }
        _ => vec![],
    })
}

fn visible_subject(b: &mut dyn Batch, p: &Principal, id: &SubjectId) -> Result<Subject, ServiceError> {
    crate::access::visible_subject(b, p, id.as_str())
}

/// An administrative warrant must be signed, before `now`, by an officer who held the power
/// to issue that form when signing: 8 CFR 287.5(e)(2) for an I-200, 8 CFR 241.2(a)(1) for an
/// I-205 (reference.md, forms table). Only ICE and CBP officers hold those powers. A
/// detainer's warrant is signed within the issuing agency (or its parent or a sub-unit).
fn check_warrant(
    b: &mut dyn Batch,
    w: &Warrant,
    issuing: Option<&AgencyId>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    use domain::detainer::WarrantForm;
    use domain::officer::AuthoritySource;
    let bad = |why: String| Err(ServiceError::invalid(format!("warrant signed by {}: {why}", w.signed_by)));
    if w.signed_at > now {
        return bad(format!("signed_at {} is in the future", w.signed_at));
    }
    let Some(Record::Officer(o)) = get(b, RecordKind::Officer, w.signed_by.as_str())? else {
        return bad("no such officer".into());
    };
    let signer_agency = agency(b, &o.agency)?;
    if !signer_agency.kind.is_federal_immigration() {
        return bad(format!("the signer is an officer of {}, not of ICE or CBP", o.agency));
    }
    if let Some(issuing) = issuing {
        let related = &o.agency == issuing
            || signer_agency.parent.as_ref() == Some(issuing)
            || agency(b, issuing)?.parent.as_ref() == Some(&o.agency);
        if !related {
            return bad(format!("the signer is an officer of {}, not of the issuing agency {issuing}", o.agency));
        }
    }
    let (power, cite) = match w.form {
        WarrantForm::I200 => (AuthoritySource::Cfr287_5, "8 CFR 287.5(e)(2)"),
        WarrantForm::I205 => (AuthoritySource::Cfr241_2, "8 CFR 241.2(a)(1)"),
    };
    let held = o.designations.iter().any(|d| {
        d.authority == power && d.granted_at <= w.signed_at && d.expires_at.is_none_or(|end| w.signed_at < end)
    });
    if !held {
        return bad(format!("the signer held no {cite} designation when signing at {}", w.signed_at));
    }
    Ok(())
}

fn state_of(a: &Agency) -> Vec<String> {
    a.state.iter().map(|s| s.to_string()).collect()
}

/// Where a custodial act on `subject` by `agency` happens, for the law: the location of the
/// facility where `agency` holds the subject, when it has one (the law then establishes the
/// county, state, city and time zone from it), else the agency's state.
fn custodial_where(
    b: &mut dyn Batch,
    agency: &Agency,
    subject: &SubjectId,
) -> Result<(Vec<String>, Option<LatLon>), ServiceError> {
    if let Some(Record::Custody(c)) = get(b, RecordKind::Custody, subject.as_str())?
        && let Some(held) = c.custodian.filter(|h| h.agency == agency.id)
        && let Some(f) = held.facility
        && let Some(Record::Facility(f)) = get(b, RecordKind::Facility, f.as_str())?
        && let Some(at) = f.location
    {
        return Ok((vec![], Some(at)));
    }
    Ok((state_of(agency), None))
}

/// The most recent detainer on `subject` addressed to `recipient` that is still open (issued,
/// accepted or holding): what a release by that agency must answer to.
fn open_detainer(
    b: &mut dyn Batch,
    subject: &SubjectId,
    recipient: &AgencyId,
) -> Result<Option<Detainer>, ServiceError> {
    let ids = match get(b, RecordKind::Involvement, subject.as_str())? {
        Some(Record::Involvement(i)) => i.detainers,
        _ => vec![],
    };
    for id in ids.iter().rev() {
        let d = detainer(b, id)?;
        let open = matches!(d.status, DetainerStatus::Issued | DetainerStatus::Accepted | DetainerStatus::Holding);
        if open && &d.recipient_agency == recipient {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// The facts of a hold by the recipient jail on detainer `d`, as if the subject were
/// release-eligible at `now`.
fn hold_context(b: &mut dyn Batch, d: &Detainer, recipient: &Agency, now: Timestamp) -> Result<Context, ServiceError> {
    let mut facts: law::DetainerFacts = d.into();
    facts.release_eligible_at = Some(now);
    let s = subject(b, &d.subject)?;
    let (jurisdictions, location) = custodial_where(b, recipient, &d.subject)?;
    Ok(Context {
        jurisdictions,
        location,
        in_jail: true,
        actor_has_custody: Some(true),
        custody: custody_facts(b, d.subject.as_str())?,
        detainer: Some(facts),
        citizenship_claim_pending: s.citizenship_claim_pending(),
        us_citizen_determined: s.determined_us_citizen(),
        ..Context::default()
    })
}

/// The known subjects that share an identity key with `s`, at most [`CANDIDATE_READS_MAX`]
/// (the check scores them all and keeps the best). Keys come identifiers first (`a:`, `f:`,
/// then surnames `s:`), and the order is kept, so the cap never drops an identifier match
/// for a surname one; only when more than that many people share a surname and a date of
/// birth can a full-name match be among those left unread.
fn identity_candidates(b: &mut dyn Batch, s: &Subject) -> Result<Vec<Subject>, ServiceError> {
    let mut ids: Vec<SubjectId> = Vec::new();
    for key in identity::index_keys(s) {
        if let Some(Record::IdentityKey(k)) = get(b, RecordKind::IdentityKey, &key)? {
            for id in k.subjects {
                if id != s.id && !ids.contains(&id) && ids.len() < CANDIDATE_READS_MAX {
                    ids.push(id);
                }
            }
        }
    }
    ids.iter().map(|id| subject(b, id)).collect()
}

/// Most known subjects an identity check reads.
const CANDIDATE_READS_MAX: usize = 100;

fn conflict(message: String) -> ServiceError {
    ServiceError::new(409, "invalid_transition", message)
}

fn decide(
    b: &mut dyn Batch,
    law: &Law,
    officer: &str,
    action: Action,
    context: Context,
    now: Timestamp,
) -> Result<Option<(Decision, serde_json::Value)>, ServiceError> {
    let i = inputs(b, officer, action, context, now)?;
    decide_and_keep(b, law, i).map(Some)
}

fn plan(
    b: &mut dyn Batch,
    law: &Law,
    settings: &Settings,
    p: &Principal,
    cmd: &Command,
    now: Timestamp,
) -> Result<Planned, ServiceError> {
    Ok(match cmd {
        Command::RegisterSubject(n) => {
            let id = n.id.clone().ok_or_else(|| ServiceError::invalid("the subject needs an id"))?;
            if n.names.iter().all(|s| s.trim().is_empty()) {
                return Err(ServiceError::invalid("a subject needs at least one name"));
            }
            if n.names.len() > text::NAMES_MAX {
                return Err(ServiceError::invalid(format!("a subject has at most {} names", text::NAMES_MAX)));
            }
            if let Some(dob) = n.date_of_birth {
                let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
                if dob > today || dob < jiff::civil::date(1900, 1, 1) {
                    return Err(ServiceError::invalid(format!(
                        "date_of_birth {dob} must be between 1900-01-01 and today ({today})"
                    )));
                }
            }
            let s = Subject {
                date_of_birth: n.date_of_birth,
                a_number: n.a_number.clone(),
                fbi_number: n.fbi_number.clone(),
                registered_by: Some(p.agency.clone()),
                ..Subject::new(id, n.names.clone())
            };
            (vec![Event::SubjectRegistered { subject: s }], None)
        }
        Command::ClaimCitizenship { subject: s, claim } => {
            visible_subject(b, p, s)?;
            if claim.country.len() != 2 || !claim.country.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(ServiceError::invalid(format!(
                    "country {:?} must be an ISO 3166 alpha-2 code such as US",
                    claim.country
                )));
            }
            let claim =
                CitizenshipClaim { country: claim.country.clone(), evidence: claim.evidence.clone(), claimed_at: now };
            (vec![Event::CitizenshipClaimed { subject: s.clone(), claim }], None)
        }
        Command::RecordEncounter(n) => {
            let officer = officer_of(p)?;
            let id = n.id.clone().ok_or_else(|| ServiceError::invalid("the encounter needs an id"))?;
            let s = visible_subject(b, p, &n.subject)?;
            if let Some(op) = &n.operation {
                // Only a participating agency attaches encounters to an operation.
                crate::access::visible(b, p, RecordKind::Operation, op.as_str())?;
            }
            let on_warrant = n.authority == AuthorityClaimed::AdministrativeWarrant;
            match &n.warrant {
                None if on_warrant => {
                    return Err(ServiceError::invalid(
                        "an arrest on an administrative warrant needs the warrant (form I-200 or I-205, signed_by, signed_at)",
                    ));
                }
                Some(w) => check_warrant(b, w, None, now)?,
                None => {}
            }
            if n.in_jail {
                // 287(g) jail processing and warrant service happen only in the officer's own
                // jail, to a person that jail holds.
                let held_here = custody_facts(b, n.subject.as_str())?.is_some_and(|c| c.agency == p.agency);
                if !held_here {
                    return Err(conflict(format!(
                        "subject {} is not held by {}; processing in jail is only of people in your own agency's jail",
                        n.subject, p.agency
                    )));
                }
            }
            let action = match (n.in_jail, on_warrant, n.arrest) {
                (true, true, _) => Action::ServeWarrantInJail,
                (true, false, _) => Action::ProcessForRemoval,
                (false, _, true) => Action::FieldArrest,
                (false, _, false) => Action::FieldStop,
            };
            let warrant = match (n.authority, &n.warrant) {
                (AuthorityClaimed::JudicialWarrant, _) => Some(law::FieldWarrant::Judicial),
                (_, Some(w)) if w.form == domain::detainer::WarrantForm::I205 => Some(law::FieldWarrant::I205),
                (_, Some(_)) => Some(law::FieldWarrant::I200),
                (_, None) => None,
            };
            let ctx = Context {
                jurisdictions: n.jurisdictions.clone(),
                in_jail: n.in_jail,
                location: Some(n.location),
                warrant,
                escape_risk: n.escape_risk.clone(),
                suspicion_factors: n.suspicion_factors.clone(),
                at_fixed_checkpoint: n.at_fixed_checkpoint,
                dwelling: n.dwelling,
                citizenship_claim_pending: s.citizenship_claim_pending(),
                custody: custody_facts(b, n.subject.as_str())?,
                ..Context::default()
            };
            let decision = decide(b, law, officer, action, ctx, now)?;
            let e = Encounter {
                warrant: n.warrant.clone(),
                id,
                subject: n.subject.clone(),
                agency: p.agency.clone(),
                officer: OfficerId::parse(officer).expect("an officer id"),
                location: n.location,
                method: n.method,
                authority: n.authority,
                suspicion_factors: n.suspicion_factors.clone(),
                arrest: n.arrest,
                operation: n.operation.clone(),
                escape_risk: n.escape_risk.clone(),
            };
            (vec![Event::EncounterRecorded { encounter: e }], decision)
        }
        Command::BookIntoJail(n) => {
            let s = visible_subject(b, p, &n.subject)?;
            let known = identity_candidates(b, &s)?;
            let check = identity::check(&s, &known, p.agency.clone(), now);
            let booked = Event::JailBooked {
                subject: n.subject.clone(),
                agency: p.agency.clone(),
                facility: n.facility.clone(),
                charge: n.charge.clone(),
            };
            (vec![booked, Event::IdentityChecked { subject: n.subject.clone(), check }], None)
        }
        Command::VerifyIdentity { subject: id, verification: v } => {
            let official = OfficerId::parse(officer_of(p)?).expect("an officer id");
            let s = visible_subject(b, p, id)?;
            match &s.identity_check {
                None => return Err(conflict(format!("subject {id} has no identity check to verify"))),
                Some(c) if c.verification.is_some() => {
                    return Err(conflict(format!("the identity check of subject {id} is already verified")));
                }
                Some(_) => {}
            }
            if v.basis.trim().is_empty() {
                return Err(ServiceError::invalid("a verification needs its basis (what was compared or seen)"));
            }
            let e = Event::IdentityVerified {
                subject: id.clone(),
                official,
                same_as: v.same_as.clone(),
                basis: v.basis.clone(),
            };
            (vec![e], None)
        }
        Command::DetermineCitizenship { subject: id, determination: d } => {
            let official = OfficerId::parse(officer_of(p)?).expect("an officer id");
            // Any supervisor who sees the proof may find that the subject is a US citizen; only
            // DHS (ICE or CBP) may find that a claimant is not one.
            if !d.us_citizen && !agency(b, &p.agency)?.kind.is_federal_immigration() {
                return Err(ServiceError::forbidden(
                    "only a supervisor of ICE or CBP may determine that a claimant is not a US citizen (reference.md R6)",
                ));
            }
            let s = visible_subject(b, p, id)?;
            if !s.citizenship_claims.iter().any(|c| c.is_us()) {
                return Err(conflict(format!("subject {id} has no US citizenship claim to determine")));
            }
            if d.basis.trim().is_empty() {
                return Err(ServiceError::invalid(
                    "a determination needs its basis (documents examined, records checked)",
                ));
            }
            let e = Event::CitizenshipDetermined {
                subject: id.clone(),
                us_citizen: d.us_citizen,
                official,
                basis: d.basis.clone(),
            };
            (vec![e], None)
        }
        Command::OfferHandoff(n) => {
            let id = n.id.clone().ok_or_else(|| ServiceError::invalid("the handoff needs an id"))?;
            visible_subject(b, p, &n.subject)?;
            let releasing = agency(b, &p.agency)?;
            let receiving = agency(b, &n.receiving_agency)?;
            // A state or local custodian handing a person to ICE or CBP is the act state law
            // gates (transfer); a federal-to-federal transfer is not gated by the law engine.
            let decision = if !releasing.kind.is_federal_immigration() && receiving.kind.is_federal_immigration() {
                let (jurisdictions, location) = custodial_where(b, &releasing, &n.subject)?;
                let ctx = Context {
                    jurisdictions,
                    location,
                    in_jail: true,
                    actor_has_custody: Some(true),
                    custody: custody_facts(b, n.subject.as_str())?,
                    ..Context::default()
                };
                decide(b, law, officer_of(p)?, Action::TransferToIce, ctx, now)?
            } else {
                None
            };
            let window = n
                .expires_in_seconds
                .map(|m| SignedDuration::from_secs(i64::from(m)))
                .unwrap_or(settings.handoff_window);
            if window <= SignedDuration::ZERO {
                return Err(ServiceError::invalid("expires_in_seconds must be at least 1"));
            }
            let h = Handoff {
                id,
                subject: n.subject.clone(),
                releasing: HandoffParty { agency: p.agency.clone(), facility: None, official: p.officer.clone() },
                receiving: HandoffParty {
                    agency: n.receiving_agency.clone(),
                    facility: n.receiving_facility.clone(),
                    official: None,
                },
                offered_at: now,
                expires_at: now + window,
                status: HandoffStatus::Offered,
                answered_at: None,
                note: n.note.clone(),
            };
            (vec![Event::HandoffOffered { handoff: h }], decision)
        }
        Command::AnswerHandoff { handoff, answer } => {
            let Record::Handoff(h) = crate::access::visible(b, p, RecordKind::Handoff, handoff.as_str())? else {
                unreachable!("a handoff key holds a handoff")
            };
            if h.receiving.agency != p.agency {
                return Err(ServiceError::forbidden(format!(
                    "only the receiving agency {} answers handoff {handoff}",
                    h.receiving.agency
                )));
            }
            if h.status != HandoffStatus::Offered {
                let status = serde_json::to_value(h.status).expect("json");
                return Err(conflict(format!(
                    "handoff {handoff} is {}; only an open offer can be answered",
                    status.as_str().unwrap_or("")
                )));
            }
            let official = OfficerId::parse(officer_of(p)?).expect("an officer id");
            match answer {
                HandoffAnswer::Accept { facility } => {
                    let ctx = Context {
                        custody: custody_facts(b, h.subject.as_str())?,
                        custody_offered: h.status == HandoffStatus::Offered,
                        ..Context::default()
                    };
                    let decision = decide(b, law, official.as_str(), Action::TakeCustody, ctx, now)?;
                    let e = Event::HandoffAccepted { handoff: handoff.clone(), official, facility: facility.clone() };
                    (vec![e], decision)
                }
                HandoffAnswer::Reject { reason } => {
                    if reason.trim().is_empty() {
                        return Err(ServiceError::invalid("a rejection needs a reason"));
                    }
                    (vec![Event::HandoffRejected { handoff: handoff.clone(), official, reason: reason.clone() }], None)
                }
            }
        }
        Command::ExpireHandoff { handoff } => (vec![Event::HandoffExpired { handoff: handoff.clone() }], None),
        Command::Release { subject: id, release: r } => {
            visible_subject(b, p, id)?;
            let held_by_me = custody_facts(b, id.as_str())?.is_some_and(|c| c.agency == p.agency);
            if !held_by_me {
                return Err(conflict(format!(
                    "subject {id} is not in the custody of {}; only the custodian releases",
                    p.agency
                )));
            }
            if r.reason.trim().is_empty() {
                return Err(ServiceError::invalid("a release needs its reason"));
            }
            if r.code.is_none() && agency(b, &p.agency)?.kind.is_federal_immigration() {
                return Err(ServiceError::invalid(
                    "an ICE or CBP release needs its NIEM release reason code (code: BOND, OREC, OSUP, PARO, DEP, T, USM, ...)",
                ));
            }
            let releasing = agency(b, &p.agency)?;
            let s = subject(b, id)?;
            let (jurisdictions, location) = custodial_where(b, &releasing, id)?;
            let ctx = Context {
                jurisdictions,
                location,
                in_jail: !releasing.kind.is_federal_immigration(),
                actor_has_custody: Some(true),
                custody: custody_facts(b, id.as_str())?,
                detainer: open_detainer(b, id, &p.agency)?.as_ref().map(law::DetainerFacts::from),
                citizenship_claim_pending: s.citizenship_claim_pending(),
                us_citizen_determined: s.determined_us_citizen(),
                release_code: r.code,
                ..Context::default()
            };
            let decision = decide(b, law, officer_of(p)?, Action::ReleaseFromCustody, ctx, now)?;
            let mut events = close_open_offer(b, id, format!("the subject was released by {}", p.agency))?;
            events.push(Event::CustodyReleased {
                subject: id.clone(),
                agency: p.agency.clone(),
                reason: r.reason.clone(),
                code: r.code,
            });
            (events, decision)
        }
        Command::ResolveCustodyConflict { subject: id, resolution: r } => {
            let official = OfficerId::parse(officer_of(p)?).expect("an officer id");
            visible_subject(b, p, id)?;
            let Some(Record::Custody(c)) = get(b, RecordKind::Custody, id.as_str())? else {
                return Err(conflict(format!("subject {id} has no custody conflict")));
            };
            let (Some(held), Some(clash)) = (c.custodian.as_ref(), c.conflict.as_ref()) else {
                return Err(conflict(format!("subject {id} has no custody conflict")));
            };
            let parties = [&held.agency, &clash.held_by];
            if !parties.contains(&&p.agency) {
                return Err(ServiceError::forbidden(format!(
                    "only a supervisor of {} or {} resolves this conflict",
                    held.agency, clash.held_by
                )));
            }
            if !parties.contains(&&r.custodian) {
                return Err(ServiceError::invalid(format!(
                    "the custodian must be {} or {}, the two agencies holding the person",
                    held.agency, clash.held_by
                )));
            }
            if r.basis.trim().is_empty() {
                return Err(ServiceError::invalid("a resolution needs its basis"));
            }
            let reason = format!("custody conflict resolved: the person is held by {}", r.custodian);
            let mut events = vec![];
            for s in [id, &clash.with] {
                let held_here = custody_facts(b, s.as_str())?.is_some_and(|c| c.agency != r.custodian);
                if held_here {
                    events.extend(close_open_offer(b, s, reason.clone())?);
                }
            }
            events.push(Event::CustodyConflictResolved {
                subject: id.clone(),
                other: clash.with.clone(),
                custodian: r.custodian.clone(),
                official,
                basis: r.basis.clone(),
            });
            (events, None)
        }
        Command::IssueDetainer(n) => {
            let officer = officer_of(p)?;
            let id = n.id.clone().ok_or_else(|| ServiceError::invalid("the detainer needs an id"))?;
            let s = visible_subject(b, p, &n.subject)?;
            let recipient = agency(b, &n.recipient_agency)?;
            if let Some(w) = &n.warrant {
                check_warrant(b, w, Some(&p.agency), now)?;
            }
            let d = Detainer {
                id,
                subject: n.subject.clone(),
                form: n.form,
                issuing_agency: p.agency.clone(),
                issuing_officer: OfficerId::parse(officer).expect("an officer id"),
                recipient_agency: n.recipient_agency.clone(),
                warrant: n.warrant.clone(),
                probable_cause: n.probable_cause.clone(),
                transferred_for_proceeding: n.transferred_for_proceeding,
                notification_only: n.notification_only,
                issued_at: now,
                served_on_subject_at: None,
                release_eligible_at: None,
                status: DetainerStatus::Issued,
                lift_code: None,
                answer: None,
            };
            let (jurisdictions, location) = custodial_where(b, &recipient, &n.subject)?;
            let ctx = Context {
                jurisdictions,
                location,
                custody: custody_facts(b, n.subject.as_str())?,
                citizenship_claim_pending: s.citizenship_claim_pending(),
                us_citizen_determined: s.determined_us_citizen(),
                identity_unverified: s.identity_unverified(),
                detainer: Some((&d).into()),
                ..Context::default()
            };
            let decision = decide(b, law, officer, Action::IssueDetainer, ctx, now)?;
            (vec![Event::DetainerIssued { detainer: d }], decision)
        }
        Command::UpdateDetainer { detainer: id, update } => {
            let Record::Detainer(d) = crate::access::visible(b, p, RecordKind::Detainer, id.as_str())? else {
                unreachable!("a detainer key holds a detainer")
            };
            let issuing = d.issuing_agency == p.agency;
            let recipient = d.recipient_agency == p.agency;
            let (ok, is_hold) = match update {
                DetainerUpdate::Answer { .. } | DetainerUpdate::ReleaseEligible => (recipient, true),
                _ => (issuing, false),
            };
            if !(ok || issuing || recipient) {
                return Err(ServiceError::not_found("detainer", id.as_str()));
            }
            if !ok {
                let side = if is_hold { "the recipient agency" } else { "the issuing agency" };
                return Err(ServiceError::forbidden(format!("only {side} may take this step on detainer {id}")));
            }
            let recipient_agency = agency(b, &d.recipient_agency)?;
            match update {
                DetainerUpdate::Serve => (vec![Event::DetainerServed { detainer: id.clone() }], None),
                DetainerUpdate::Answer { answer, accepted } => {
                    use domain::detainer::DetainerAnswer as A;
                    let official = OfficerId::parse(officer_of(p)?).expect("an officer id");
                    let answer = match (answer, accepted) {
                        (Some(a), None) => *a,
                        (None, Some(true)) if d.notification_only => A::NotifyOnly,
                        (None, Some(true)) => A::Honor,
                        (None, Some(false)) => A::Decline,
                        _ => {
                            return Err(ServiceError::invalid(
                                "an answer gives either answer (honor, decline, notify_only) or accepted (true, false)",
                            ));
                        }
                    };
                    // Honoring is a promise to hold (or notify) at release: the law is asked
                    // now, so that a jail whose law forbids the hold cannot promise it, and one
                    // whose law mandates it cannot decline. The hold itself is decided again
                    // when the subject is actually release-eligible; the clock runs only from
                    // a recorded release-eligible time.
                    let mut ctx = hold_context(b, &d, &recipient_agency, now)?;
                    ctx.detainer_answer = Some(answer);
                    if let Some(facts) = ctx.detainer.as_mut() {
                        facts.release_eligible_at = d.release_eligible_at;
                    }
                    let decision = decide(b, law, official.as_str(), Action::AnswerDetainer, ctx, now)?;
                    let e = Event::DetainerAnswered {
                        detainer: id.clone(),
                        accepted: answer != A::Decline,
                        official,
                        answer: Some(answer),
                    };
                    (vec![e], decision)
                }
                DetainerUpdate::ReleaseEligible => {
                    let ctx = hold_context(b, &d, &recipient_agency, now)?;
                    // A jail that answered notice only holds no one: its release-eligible step
                    // is the notice.
                    let action = if d.answer == Some(domain::detainer::DetainerAnswer::NotifyOnly) {
                        Action::NotifyRelease
                    } else {
                        Action::HoldOnDetainer
                    };
                    let decision = decide(b, law, officer_of(p)?, action, ctx, now)?;
                    (vec![Event::SubjectReleaseEligible { detainer: id.clone() }], decision)
                }
                DetainerUpdate::AssumeCustody { facility } => {
                    let official = OfficerId::parse(officer_of(p)?).expect("an officer id");
                    let ctx = Context {
                        custody: custody_facts(b, d.subject.as_str())?,
                        custody_offered: true,
                        ..Context::default()
                    };
                    let decision = decide(b, law, official.as_str(), Action::TakeCustody, ctx, now)?;
                    let why = format!("custody moved to {} on detainer {id}", d.issuing_agency);
                    let mut events = close_open_offer(b, &d.subject, why)?;
                    events.push(Event::DetainerCustodyAssumed {
                        detainer: id.clone(),
                        official,
                        facility: facility.clone(),
                    });
                    (events, decision)
                }
                DetainerUpdate::Lift { code } => {
                    (vec![Event::DetainerLifted { detainer: id.clone(), code: *code }], None)
                }
            }
        }
        Command::PlanOperation(n) => {
            let id = n.id.clone().ok_or_else(|| ServiceError::invalid("the operation needs an id"))?;
            if !n.participants.iter().any(|x| x.agency == p.agency) {
                return Err(ServiceError::invalid(format!(
                    "an operation is planned by one of its participants: list {} among the participants",
                    p.agency
                )));
            }
            if n.ends_on.is_some_and(|end| end < n.starts_on) {
                return Err(ServiceError::invalid("ends_on is before starts_on"));
            }
            let o = Operation {
                id,
                name: n.name.clone(),
                city: n.city.clone(),
                state: n.state.clone(),
                starts_on: n.starts_on,
                ends_on: n.ends_on,
                participants: n.participants.clone(),
                status: OperationStatus::Planned,
                encounters: 0,
                arrests: 0,
            };
            (vec![Event::OperationPlanned { operation: o }], None)
        }
        Command::ChangeOperationStatus { operation: id, change } => {
            crate::access::visible(b, p, RecordKind::Operation, id.as_str())?;
            (vec![Event::OperationStatusChanged { operation: id.clone(), status: change.status }], None)
        }
        Command::ExpireDetainer { detainer: id } => {
            let d = detainer(b, id)?;
            let tz = crate::views::hold_time_zone(&d, &mut |k| b.record(k))?;
            let deadline = crate::views::DetainerView::new(d.clone(), &tz).hold.map(|h| h.deadline);
            match deadline {
                Some(t) if now > t => {}
                Some(t) => return Err(conflict(format!("the hold on detainer {id} runs until {t}"))),
                None => return Err(conflict(format!("detainer {id} has no hold clock running"))),
            }
            (vec![Event::DetainerExpired { detainer: id.clone() }], None)
        }
        Command::Registry(r) => crate::registry::plan(b, law, p, r, now)?,
        Command::Complaint(c) => crate::complaints::plan(b, p, c, now)?,
        Command::LogRead { subjects, what } => {
            for s in subjects {
                visible_subject(b, p, s)?;
            }
            let read = |s: &SubjectId| Event::SubjectRecordRead {
                subject: s.clone(),
                reader: p.id.clone(),
                agency: p.agency.clone(),
                what: what.clone(),
            };
            (subjects.iter().map(read).collect(), None)
        }
    })
}
