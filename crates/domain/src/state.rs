//! Current state as a projection of events, and the one function that applies an event.
//!
//! [`apply`] reads and writes records through the [`Records`] trait, so the same code updates
//! the store's projection tables inside a transaction and rebuilds state in memory from the
//! log. Each record serializes to canonical JSON bytes; a rebuilt projection equals the stored
//! one byte for byte or the store is inconsistent.

use crate::TransitionError;
use crate::agency::{Agency, Facility};
use crate::agreement::Agreement;
use crate::custody::{Custodian, Custody, CustodyBasis, CustodyConflict, CustodyStep, Handoff, HandoffStatus};
use crate::detainer::{Detainer, DetainerStatus, DetainerStep};
use crate::encounter::{AuthorityClaimed, Encounter};
use crate::event::Event;
use crate::identity::{IdentityKey, IdentityVerification, index_keys};
use crate::ids::*;
use crate::involvement::Involvement;
use crate::officer::Officer;
use crate::operation::{Operation, OperationStatus};
use crate::subject::{CitizenshipDetermination, Subject};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of record in the projection, one table row kind each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Agency,
    Facility,
    Officer,
    Subject,
    Agreement,
    Encounter,
    Custody,
    Handoff,
    Detainer,
    Operation,
    /// The identity index: subjects by identifier and by name with date of birth.
    IdentityKey,
    /// The agencies that may know a subject exists (`involvement`).
    Involvement,
    Complaint,
}

impl RecordKind {
    pub const ALL: [RecordKind; 13] = [
        Self::Agency,
        Self::Facility,
        Self::Officer,
        Self::Subject,
        Self::Agreement,
        Self::Encounter,
        Self::Custody,
        Self::Handoff,
        Self::Detainer,
        Self::Operation,
        Self::IdentityKey,
        Self::Involvement,
        Self::Complaint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agency => "agency",
            Self::Facility => "facility",
            Self::Officer => "officer",
            Self::Subject => "subject",
            Self::Agreement => "agreement",
            Self::Encounter => "encounter",
            Self::Custody => "custody",
            Self::Handoff => "handoff",
            Self::Detainer => "detainer",
            Self::Operation => "operation",
            Self::IdentityKey => "identity_key",
            Self::Involvement => "involvement",
            Self::Complaint => "complaint",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A record's key in the projection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub kind: RecordKind,
    pub id: String,
}

impl RecordKey {
    pub fn new(kind: RecordKind, id: impl std::fmt::Display) -> Self {
        RecordKey { kind, id: id.to_string() }
    }
}

/// One record of current state.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Agency(Agency),
    Facility(Facility),
    Officer(Officer),
    Subject(Subject),
    Agreement(Agreement),
    Encounter(Encounter),
    Custody(Custody),
    Handoff(Handoff),
    Detainer(Detainer),
    Operation(Operation),
    IdentityKey(IdentityKey),
    Involvement(Involvement),
    Complaint(crate::complaint::Complaint),
}

impl Record {
    pub fn key(&self) -> RecordKey {
        use RecordKind as K;
        match self {
            Record::Agency(r) => RecordKey::new(K::Agency, &r.id),
            Record::Facility(r) => RecordKey::new(K::Facility, &r.id),
            Record::Officer(r) => RecordKey::new(K::Officer, &r.id),
            Record::Subject(r) => RecordKey::new(K::Subject, &r.id),
            Record::Agreement(r) => RecordKey::new(K::Agreement, &r.id),
            Record::Encounter(r) => RecordKey::new(K::Encounter, &r.id),
            Record::Custody(r) => RecordKey::new(K::Custody, &r.subject),
            Record::Handoff(r) => RecordKey::new(K::Handoff, &r.id),
            Record::Detainer(r) => RecordKey::new(K::Detainer, &r.id),
            Record::Operation(r) => RecordKey::new(K::Operation, &r.id),
            Record::Complaint(r) => RecordKey::new(K::Complaint, &r.id),
            Record::IdentityKey(r) => RecordKey::new(K::IdentityKey, &r.key),
            Record::Involvement(r) => RecordKey::new(K::Involvement, &r.subject),
        }
    }

    /// Canonical bytes: serde_json of the record, fields in declaration order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let r = match self {
            Record::Agency(r) => serde_json::to_vec(r),
            Record::Facility(r) => serde_json::to_vec(r),
            Record::Officer(r) => serde_json::to_vec(r),
            Record::Subject(r) => serde_json::to_vec(r),
            Record::Agreement(r) => serde_json::to_vec(r),
            Record::Encounter(r) => serde_json::to_vec(r),
            Record::Custody(r) => serde_json::to_vec(r),
            Record::Handoff(r) => serde_json::to_vec(r),
            Record::Detainer(r) => serde_json::to_vec(r),
            Record::Operation(r) => serde_json::to_vec(r),
            Record::IdentityKey(r) => serde_json::to_vec(r),
            Record::Involvement(r) => serde_json::to_vec(r),
            Record::Complaint(r) => serde_json::to_vec(r),
        };
        r.expect("records serialize: they hold no maps with non-string keys")
    }

    pub fn from_bytes(kind: RecordKind, bytes: &[u8]) -> Result<Record, serde_json::Error> {
        use RecordKind as K;
        Ok(match kind {
            K::Agency => Record::Agency(serde_json::from_slice(bytes)?),
            K::Facility => Record::Facility(serde_json::from_slice(bytes)?),
            K::Officer => Record::Officer(serde_json::from_slice(bytes)?),
            K::Subject => Record::Subject(serde_json::from_slice(bytes)?),
            K::Agreement => Record::Agreement(serde_json::from_slice(bytes)?),
            K::Encounter => Record::Encounter(serde_json::from_slice(bytes)?),
            K::Custody => Record::Custody(serde_json::from_slice(bytes)?),
            K::Handoff => Record::Handoff(serde_json::from_slice(bytes)?),
            K::Detainer => Record::Detainer(serde_json::from_slice(bytes)?),
            K::Operation => Record::Operation(serde_json::from_slice(bytes)?),
            K::IdentityKey => Record::IdentityKey(serde_json::from_slice(bytes)?),
            K::Involvement => Record::Involvement(serde_json::from_slice(bytes)?),
            K::Complaint => Record::Complaint(serde_json::from_slice(bytes)?),
        })
    }
}

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("unknown {kind} {id:?}")]
    Unknown { kind: &'static str, id: String },
    #[error("{kind} {id:?} already exists")]
    Duplicate { kind: &'static str, id: String },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    Invalid(String),
    #[error("reading current state: {0}")]
    Storage(String),
}

/// Read and write access to current state. Implemented by the store (inside a transaction)
/// and by [`MemoryRecords`] (rebuilds and tests).
pub trait Records {
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>, ApplyError>;
    fn put(&mut self, record: Record);
}

/// Current state in memory, ordered by key.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MemoryRecords {
    pub map: BTreeMap<RecordKey, Record>,
}

impl Records for MemoryRecords {
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>, ApplyError> {
        Ok(self.map.get(key).cloned())
    }
    fn put(&mut self, record: Record) {
        self.map.insert(record.key(), record);
    }
}

/// What applying an event needs from its envelope.
#[derive(Debug, Clone, Copy)]
pub struct EventTime {
    /// When it happened.
    pub valid_at: Timestamp,
}

/// What applying an event tells the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The subject the event concerns, if any (indexes the log by subject).
    pub subject: Option<SubjectId>,
}

macro_rules! getter {
    ($fn:ident, $kind:ident, $ty:ty, $id:ty, $name:literal) => {
        fn $fn(r: &mut dyn Records, id: &$id) -> Result<$ty, ApplyError> {
            match r.get(&RecordKey::new(RecordKind::$kind, id))? {
                Some(Record::$kind(x)) => Ok(x),
                _ => Err(ApplyError::Unknown { kind: $name, id: id.to_string() }),
            }
        }
    };
}
getter!(agency, Agency, Agency, AgencyId, "agency");
getter!(facility, Facility, Facility, FacilityId, "facility");
getter!(officer, Officer, Officer, OfficerId, "officer");
getter!(subject, Subject, Subject, SubjectId, "subject");
getter!(agreement, Agreement, Agreement, AgreementId, "agreement");
getter!(handoff, Handoff, Handoff, HandoffId, "handoff");
getter!(detainer, Detainer, Detainer, DetainerId, "detainer");
getter!(operation, Operation, Operation, OperationId, "operation");
getter!(complaint, Complaint, crate::complaint::Complaint, ComplaintId, "complaint");

fn custody(r: &mut dyn Records, s: &SubjectId) -> Result<Custody, ApplyError> {
    match r.get(&RecordKey::new(RecordKind::Custody, s))? {
        Some(Record::Custody(c)) => Ok(c),
        _ => Ok(Custody::none(s.clone())),
    }
}

fn insert_new(r: &mut dyn Records, record: Record, kind: &'static str) -> Result<(), ApplyError> {
    let key = record.key();
    if r.get(&key)?.is_some() {
        return Err(ApplyError::Duplicate { kind, id: key.id });
    }
    r.put(record);
    Ok(())
}

fn invalid(msg: impl Into<String>) -> ApplyError {
    ApplyError::Invalid(msg.into())
}

/// Applies one event to current state. On error nothing the caller must keep was written:
/// callers apply a command's events to an overlay and discard it on error.
pub fn apply(r: &mut dyn Records, event: &Event, t: EventTime) -> Result<Applied, ApplyError> {
    let applied = change(r, event, t)?;
    if let Some(s) = &applied.subject {
        involve(r, s, event)?;
        reconcile(r, s)?;
    }
    Ok(applied)
}

/// Keeps the custody conflicts of a person's linked records true after any event about one of
/// them: each record's conflict is derived from its own links (the first linked record held
/// by another agency), and each custodian becomes involved in the record it conflicts with
/// (it must be able to see it). Records with no links cost one read.
fn reconcile(r: &mut dyn Records, s: &SubjectId) -> Result<(), ApplyError> {
    let links = same_person(r, s)?;
    if links.is_empty() {
        return Ok(());
    }
    for id in std::iter::once(s).chain(&links) {
        let conflict = conflict_of(r, id)?;
        if let Some((mine, c)) = &conflict {
            update_involvement(r, &c.with, |inv| {
                inv.add(mine);
            })?;
        }
        let conflict = conflict.map(|(_, c)| c);
        let mut c = custody(r, id)?;
        if c.conflict != conflict {
            c.conflict = conflict;
            r.put(Record::Custody(c));
        }
    }
    Ok(())
}

/// The records linked to `s` as the same person.
fn same_person(r: &mut dyn Records, s: &SubjectId) -> Result<Vec<SubjectId>, ApplyError> {
    Ok(match r.get(&RecordKey::new(RecordKind::Subject, s))? {
        Some(Record::Subject(subj)) => subj.same_person,
        _ => vec![],
    })
}

/// `s`'s custodian and custody conflict: the first record linked to it that another agency
/// holds while `s` is held.
fn conflict_of(r: &mut dyn Records, s: &SubjectId) -> Result<Option<(AgencyId, CustodyConflict)>, ApplyError> {
    let Some(mine) = custody(r, s)?.custodian.map(|c| c.agency) else { return Ok(None) };
    for other in same_person(r, s)? {
        if let Some(theirs) = custody(r, &other)?.custodian.map(|c| c.agency)
            && theirs != mine
        {
            return Ok(Some((mine, CustodyConflict { with: other, held_by: theirs })));
        }
    }
    Ok(None)
}

/// Reads `s`'s involvement record (a new one if none), lets `f` change it, and writes it
/// back if it changed.
fn update_involvement(r: &mut dyn Records, s: &SubjectId, f: impl FnOnce(&mut Involvement)) -> Result<(), ApplyError> {
    let mut inv = match r.get(&RecordKey::new(RecordKind::Involvement, s))? {
        Some(Record::Involvement(i)) => i,
        _ => Involvement::new(s.clone()),
    };
    let before = inv.clone();
    f(&mut inv);
    if inv != before {
        r.put(Record::Involvement(inv));
    }
    Ok(())
}

/// Records which agencies the event involves in the subject's case (see `involvement`).
fn involve(r: &mut dyn Records, s: &SubjectId, event: &Event) -> Result<(), ApplyError> {
    use crate::identity::MatchResult;
    // Any agency: the registrant, a detainer's two agencies, a handoff's two parties (who may
    // read the handoff, so may know whom it moves).
    let (any, federal): (Vec<&AgencyId>, Vec<&AgencyId>) = match event {
        Event::SubjectRegistered { subject } => (subject.registered_by.iter().collect(), vec![]),
        Event::DetainerIssued { detainer: d } => (vec![&d.issuing_agency, &d.recipient_agency], vec![]),
        Event::EncounterRecorded { encounter } => (vec![], vec![&encounter.agency]),
        Event::HandoffOffered { handoff: h } => (vec![&h.releasing.agency, &h.receiving.agency], vec![]),
        Event::CustodyReleased { agency, .. } | Event::JailBooked { agency, .. } => (vec![], vec![agency]),
        _ => (vec![], vec![]),
    };
    let notify = matches!(event, Event::IdentityChecked { check, .. } if check.result != MatchResult::NoMatch);
    let detainer = match event {
        Event::DetainerIssued { detainer: d } => Some(d.id.clone()),
        _ => None,
    };
    if any.is_empty() && federal.is_empty() && !notify {
        return Ok(());
    }
    let mut add = vec![];
    for a in any {
        agency(r, a)?;
        add.push(a);
    }
    for a in federal {
        if agency(r, a)?.kind.is_federal_immigration() {
            add.push(a);
        }
    }
    update_involvement(r, s, |inv| {
        add.into_iter().for_each(|a| {
            inv.add(a);
        });
        inv.ice_notified |= notify;
        if let Some(d) = detainer.filter(|d| !inv.detainers.contains(d)) {
            inv.detainers.push(d);
        }
    })
}

fn change(r: &mut dyn Records, event: &Event, t: EventTime) -> Result<Applied, ApplyError> {
    match event {
        Event::AgencyRegistered { agency: a } => {
            if let Some(p) = &a.parent {
                agency(r, p)?;
            }
            insert_new(r, Record::Agency(a.clone()), "agency")?;
            Ok(Applied::default())
        }
        Event::FacilityRegistered { facility: f } => {
            agency(r, &f.agency)?;
            insert_new(r, Record::Facility(f.clone()), "facility")?;
            Ok(Applied::default())
        }
        Event::OfficerRegistered { officer: o } => {
            agency(r, &o.agency)?;
            insert_new(r, Record::Officer(o.clone()), "officer")?;
            Ok(Applied::default())
        }
        Event::DesignationGranted { officer: id, designation } => {
            let mut o = officer(r, id)?;
            o.designations.push(designation.clone());
            r.put(Record::Officer(o));
            Ok(Applied::default())
        }
        Event::TrainingRecorded { officer: id, training } => {
            let mut o = officer(r, id)?;
            o.training.push(training.clone());
            r.put(Record::Officer(o));
            Ok(Applied::default())
        }
        Event::SubjectRegistered { subject: s } => {
            if s.names.is_empty() {
                return Err(invalid(format!("subject {} has no name", s.id)));
            }
            if !s.citizenship_determinations.is_empty() || s.identity_check.is_some() {
                return Err(invalid(format!("subject {} must start without determinations or checks", s.id)));
            }
            insert_new(r, Record::Subject(s.clone()), "subject")?;
            index(r, s, true)?;
            Ok(Applied { subject: Some(s.id.clone()) })
        }
        Event::SubjectDetailsCorrected { subject: id, names, date_of_birth } => {
            let mut s = subject(r, id)?;
            if names.is_empty() {
                return Err(invalid(format!("correction of subject {id} leaves no name")));
            }
            index(r, &s, false)?;
            s.names = names.clone();
            s.date_of_birth = *date_of_birth;
            index(r, &s, true)?;
            r.put(Record::Subject(s));
            Ok(Applied { subject: Some(id.clone()) })
        }
        Event::IdentityChecked { subject: id, check } => {
            let mut s = subject(r, id)?;
            agency(r, &check.agency)?;
            if check.verification.is_some() {
                return Err(invalid("an identity check must be recorded before its verification"));
            }
            s.identity_check = Some(check.clone());
            r.put(Record::Subject(s));
            Ok(Applied { subject: Some(id.clone()) })
        }
        Event::IdentityVerified { subject: id, official, same_as, basis } => {
            let mut s = subject(r, id)?;
            officer(r, official)?;
            if basis.trim().is_empty() {
                return Err(invalid("an identity verification needs its basis"));
            }
            let Some(check) = s.identity_check.as_mut() else {
                return Err(invalid(format!("subject {id} has no identity check to verify")));
            };
            if check.verification.is_some() {
                return Err(invalid(format!("the identity check of subject {id} is already verified")));
            }
            if let Some(other) = same_as
                && !check.candidates.iter().any(|c| &c.subject == other)
            {
                return Err(invalid(format!("subject {other} is not a candidate of the identity check of {id}")));
            }
            check.verification = Some(IdentityVerification {
                official: official.clone(),
                same_as: same_as.clone(),
                basis: basis.clone(),
                verified_at: t.valid_at,
            });
            // "Same as" links the two records into one person, both ways.
            if let Some(other) = same_as
                && other != id
            {
                let mut o = subject(r, other)?;
                if !o.same_person.contains(id) {
                    o.same_person.push(id.clone());
                    r.put(Record::Subject(o));
                }
                if !s.same_person.contains(other) {
                    s.same_person.push(other.clone());
                }
            }
            r.put(Record::Subject(s));
            Ok(Applied { subject: Some(id.clone()) })
        }
        Event::CitizenshipDetermined { subject: id, us_citizen, official, basis } => {
            let mut s = subject(r, id)?;
            officer(r, official)?;
            if !s.citizenship_claims.iter().any(|c| c.is_us()) {
                return Err(invalid(format!("subject {id} has no US citizenship claim to determine")));
            }
            if basis.trim().is_empty() {
                return Err(invalid("a citizenship determination needs its basis"));
            }
            s.citizenship_determinations.push(CitizenshipDetermination {
                us_citizen: *us_citizen,
                official: official.clone(),
                basis: basis.clone(),
                determined_at: t.valid_at,
            });
            r.put(Record::Subject(s));
            Ok(Applied { subject: Some(id.clone()) })
        }
        Event::CitizenshipClaimed { subject: id, claim } => {
            let mut s = subject(r, id)?;
            s.citizenship_claims.push(claim.clone());
            r.put(Record::Subject(s));
            Ok(Applied { subject: Some(id.clone()) })
        }
        Event::AgreementRecorded { agreement: a } => {
            for p in &a.parties {
                agency(r, p)?;
            }
            insert_new(r, Record::Agreement(a.clone()), "agreement")?;
            Ok(Applied::default())
        }
        Event::AgreementStatusChanged { agreement: id, status } => {
            let mut a = agreement(r, id)?;
            a.status = a.status.transition(id, *status)?;
            r.put(Record::Agreement(a));
            Ok(Applied::default())
        }
        Event::EncounterRecorded { encounter: e } => apply_encounter(r, e, t),
        Event::JailBooked { subject: s, agency: a, facility: f, charge } => {
            subject(r, s)?;
            agency(r, a)?;
            belongs_to(&facility(r, f)?, a)?;
            if charge.trim().is_empty() {
                return Err(invalid("a jail booking needs the criminal charge"));
            }
            let c = custody(r, s)?.transition(CustodyStep::Take(Custodian {
                agency: a.clone(),
                facility: Some(f.clone()),
                basis: CustodyBasis::CriminalArrest,
                since: t.valid_at,
            }))?;
            r.put(Record::Custody(c));
            Ok(Applied { subject: Some(s.clone()) })
        }
        Event::HandoffOffered { handoff: h } => apply_offer(r, h),
        Event::HandoffAccepted { handoff: id, official, facility: fac } => {
            let mut h = handoff(r, id)?;
            let o = officer(r, official)?;
            if o.agency != h.receiving.agency {
                return Err(invalid(format!(
                    "officer {official} is not of the receiving agency {}",
                    h.receiving.agency
                )));
            }
            if let Some(f) = fac {
                belongs_to(&facility(r, f)?, &h.receiving.agency)?;
            }
            h.status = h.status.transition(id, HandoffStatus::Accepted)?;
            h.answered_at = Some(t.valid_at);
            h.receiving.official = Some(official.clone());
            if fac.is_some() {
                h.receiving.facility = fac.clone();
            }
            let c = custody(r, &h.subject)?.transition(CustodyStep::Transfer {
                handoff: Some(id.clone()),
                custodian: Custodian {
                    agency: h.receiving.agency.clone(),
                    facility: h.receiving.facility.clone(),
                    basis: CustodyBasis::Handoff,
                    since: t.valid_at,
                },
            })?;
            let s = h.subject.clone();
            r.put(Record::Custody(c));
            r.put(Record::Handoff(h));
            Ok(Applied { subject: Some(s) })
        }
        Event::HandoffRejected { handoff: id, official, reason } => {
            let mut h = handoff(r, id)?;
            if officer(r, official)?.agency != h.receiving.agency {
                return Err(invalid(format!(
                    "officer {official} is not of the receiving agency {}",
                    h.receiving.agency
                )));
            }
            close_offer(r, &mut h, HandoffStatus::Rejected, t)?;
            h.note = Some(reason.clone());
            let s = h.subject.clone();
            r.put(Record::Handoff(h));
            Ok(Applied { subject: Some(s) })
        }
        Event::HandoffExpired { handoff: id } => {
            let mut h = handoff(r, id)?;
            if t.valid_at < h.expires_at {
                return Err(invalid(format!("handoff {id} does not expire until {}", h.expires_at)));
            }
            close_offer(r, &mut h, HandoffStatus::Expired, t)?;
            let s = h.subject.clone();
            r.put(Record::Handoff(h));
            Ok(Applied { subject: Some(s) })
        }
        Event::HandoffSuperseded { handoff: id, reason } => {
            let mut h = handoff(r, id)?;
            if reason.trim().is_empty() {
                return Err(invalid("a superseded offer needs its reason"));
            }
            close_offer(r, &mut h, HandoffStatus::Expired, t)?;
            h.note = Some(reason.clone());
            let s = h.subject.clone();
            r.put(Record::Handoff(h));
            Ok(Applied { subject: Some(s) })
        }
        Event::CustodyConflictResolved { subject: s, other, custodian, official, basis } => {
            if basis.trim().is_empty() {
                return Err(invalid("a resolution needs its basis"));
            }
            officer(r, official)?;
            if !subject(r, s)?.same_person.contains(other) {
                return Err(invalid(format!("subjects {s} and {other} are not linked as one person")));
            }
            let mut found = false;
            for id in [s, other] {
                let c = custody(r, id)?;
                match c.custodian.as_ref().map(|h| h.agency.clone()) {
                    Some(a) if &a == custodian => found = true,
                    // Custody recorded on the other record of the person ends.
                    Some(a) => r.put(Record::Custody(c.transition(CustodyStep::Release { agency: a })?)),
                    None => {}
                }
            }
            if !found {
                return Err(invalid(format!("neither record of the person is held by {custodian}")));
            }
            Ok(Applied { subject: Some(s.clone()) })
        }
        Event::CustodyReleased { subject: s, agency: a, reason, .. } => {
            if reason.trim().is_empty() {
                return Err(invalid("a release needs its reason"));
            }
            let c = custody(r, s)?.transition(CustodyStep::Release { agency: a.clone() })?;
            r.put(Record::Custody(c));
            Ok(Applied { subject: Some(s.clone()) })
        }
        Event::DetainerIssued { detainer: d } => apply_detainer_issued(r, d),
        Event::DetainerServed { detainer: id } => {
            let mut d = detainer(r, id)?;
            if d.served_on_subject_at.is_some() {
                return Err(invalid(format!("detainer {id} was already served on the subject")));
            }
            d.served_on_subject_at = Some(t.valid_at);
            let s = d.subject.clone();
            r.put(Record::Detainer(d));
            Ok(Applied { subject: Some(s) })
        }
        Event::DetainerAnswered { detainer: id, accepted, official, answer } => {
            let mut d = detainer(r, id)?;
            if officer(r, official)?.agency != d.recipient_agency {
                return Err(invalid(format!(
                    "officer {official} is not of the recipient agency {}",
                    d.recipient_agency
                )));
            }
            if answer.is_some_and(|a| (a == crate::detainer::DetainerAnswer::Decline) == *accepted) {
                return Err(invalid(format!("detainer {id}: answer {answer:?} contradicts accepted = {accepted}")));
            }
            d.status = d.status.transition(id, DetainerStep::Answer { accepted: *accepted })?;
            d.answer = *answer;

            put_detainer(r, d)
        }
        Event::SubjectReleaseEligible { detainer: id } => {
            let mut d = detainer(r, id)?;
            d.status = d.status.transition(id, DetainerStep::ReleaseEligible)?;
            d.release_eligible_at = Some(t.valid_at);
            put_detainer(r, d)
        }
        Event::DetainerCustodyAssumed { detainer: id, official, facility: fac } => {
            let mut d = detainer(r, id)?;
            if officer(r, official)?.agency != d.issuing_agency {
                return Err(invalid(format!("officer {official} is not of the issuing agency {}", d.issuing_agency)));
            }
            if let Some(f) = fac {
                belongs_to(&facility(r, f)?, &d.issuing_agency)?;
            }
            d.status = d.status.transition(id, DetainerStep::AssumeCustody)?;
            let c = custody(r, &d.subject)?;
            if c.custodian.as_ref().map(|c| &c.agency) != Some(&d.recipient_agency) {
                return Err(invalid(format!("subject {} is not in the custody of {}", d.subject, d.recipient_agency)));
            }
            let c = c.transition(CustodyStep::Transfer {
                handoff: None,
                custodian: Custodian {
                    agency: d.issuing_agency.clone(),
                    facility: fac.clone(),
                    basis: CustodyBasis::DetainerAssumed,
                    since: t.valid_at,
                },
            })?;
            r.put(Record::Custody(c));
            put_detainer(r, d)
        }
        Event::DetainerLifted { detainer: id, code } => {
            let mut d = detainer(r, id)?;
            d.status = d.status.transition(id, DetainerStep::Lift)?;
            d.lift_code = Some(*code);
            put_detainer(r, d)
        }
        Event::DetainerExpired { detainer: id } => {
            let mut d = detainer(r, id)?;
            d.status = d.status.transition(id, DetainerStep::Expire)?;
            put_detainer(r, d)
        }
        Event::OperationPlanned { operation: o } => {
            if o.status != OperationStatus::Planned || o.encounters != 0 || o.arrests != 0 {
                return Err(invalid(format!("operation {} must start planned, with nothing recorded", o.id)));
            }
            for p in &o.participants {
                agency(r, &p.agency)?;
            }
            insert_new(r, Record::Operation(o.clone()), "operation")?;
            Ok(Applied::default())
        }
        Event::OperationStatusChanged { operation: id, status } => {
            let mut o = operation(r, id)?;
            o.status = o.status.transition(id, *status)?;
            r.put(Record::Operation(o));
            Ok(Applied::default())
        }
        // A valid-time correction changes how history reads, not current state.
        Event::ValidTimeCorrected { .. } => Ok(Applied::default()),
        Event::ComplaintFiled { complaint: c } => {
            if c.events.is_empty() || c.events.len() > crate::complaint::COMPLAINT_EVENTS_MAX {
                return Err(invalid("a complaint names from 1 to 50 events"));
            }
            if c.text.trim().is_empty() || c.status != crate::complaint::ComplaintStatus::Filed {
                return Err(invalid("a complaint is filed with its text and status filed"));
            }
            agency(r, &c.agency)?;
            insert_new(r, Record::Complaint(c.clone()), "complaint")?;
            Ok(Applied::default())
        }
        Event::ComplaintAssigned { complaint: id, assignee } => {
            let mut c = complaint(r, id)?;
            if assignee.trim().is_empty() {
                return Err(invalid("a complaint is assigned to someone"));
            }
            c.status = c.status.transition(id, crate::complaint::ComplaintStatus::Assigned)?;
            c.assignee = Some(assignee.clone());
            r.put(Record::Complaint(c));
            Ok(Applied::default())
        }
        Event::ComplaintResolved { complaint: id, outcome, resolution } => {
            let mut c = complaint(r, id)?;
            if resolution.trim().is_empty() {
                return Err(invalid("a resolution gives its reasons"));
            }
            c.status = c.status.transition(id, crate::complaint::ComplaintStatus::Resolved)?;
            c.outcome = Some(*outcome);
            c.resolution = Some(resolution.clone());
            r.put(Record::Complaint(c));
            Ok(Applied::default())
        }
        Event::SubjectRecordRead { subject: id, agency: a, reader, .. } => {
            subject(r, id)?;
            agency(r, a)?;
            if reader.trim().is_empty() {
                return Err(invalid("a logged read must name its reader"));
            }
            Ok(Applied { subject: Some(id.clone()) })
        }
    }
}

/// Files `s` under its identity keys (`add`) or takes it out of them.
fn index(r: &mut dyn Records, s: &Subject, add: bool) -> Result<(), ApplyError> {
    for key in index_keys(s) {
        let mut entry = match r.get(&RecordKey::new(RecordKind::IdentityKey, &key))? {
            Some(Record::IdentityKey(e)) => e,
            _ => IdentityKey { key, subjects: vec![] },
        };
        entry.subjects.retain(|x| x != &s.id);
        if add {
            entry.subjects.push(s.id.clone());
        }
        r.put(Record::IdentityKey(entry));
    }
    Ok(())
}

fn belongs_to(f: &Facility, a: &AgencyId) -> Result<(), ApplyError> {
    if &f.agency != a {
        return Err(invalid(format!("facility {} belongs to {}, not {a}", f.id, f.agency)));
    }
    Ok(())
}

fn apply_encounter(r: &mut dyn Records, e: &Encounter, t: EventTime) -> Result<Applied, ApplyError> {
    subject(r, &e.subject)?;
    agency(r, &e.agency)?;
    if officer(r, &e.officer)?.agency != e.agency {
        return Err(invalid(format!("officer {} is not of agency {}", e.officer, e.agency)));
    }
    if let Some(op) = &e.operation {
        let mut o = operation(r, op)?;
        if o.status != OperationStatus::Active {
            return Err(invalid(format!("operation {op} is not active")));
        }
        o.encounters += 1;
        o.arrests += u32::from(e.arrest);
        r.put(Record::Operation(o));
    }
    if e.authority == AuthorityClaimed::AdministrativeWarrant && e.warrant.is_none() {
        return Err(invalid(format!("encounter {} claims an administrative warrant but names none", e.id)));
    }
    insert_new(r, Record::Encounter(e.clone()), "encounter")?;
    if e.arrest {
        let basis = match e.authority {
            AuthorityClaimed::StateCriminalArrest | AuthorityClaimed::JudicialWarrant => CustodyBasis::CriminalArrest,
            _ => CustodyBasis::ImmigrationArrest,
        };
        let c = custody(r, &e.subject)?;
        // An arrest of someone the agency already holds (a warrant served in its jail) changes
        // the basis of its custody; anyone else's arrest takes the subject into custody.
        let step = match &c.custodian {
            Some(held) if held.agency == e.agency => CustodyStep::Rearrest { basis, since: t.valid_at },
            _ => CustodyStep::Take(Custodian { agency: e.agency.clone(), facility: None, basis, since: t.valid_at }),
        };
        r.put(Record::Custody(c.transition(step)?));
    }
    Ok(Applied { subject: Some(e.subject.clone()) })
}

fn apply_offer(r: &mut dyn Records, h: &Handoff) -> Result<Applied, ApplyError> {
    if h.status != HandoffStatus::Offered || h.answered_at.is_some() {
        return Err(invalid(format!("handoff {} must start as an open offer", h.id)));
    }
    if h.expires_at <= h.offered_at {
        return Err(invalid(format!("handoff {} expires before it is offered", h.id)));
    }
    agency(r, &h.receiving.agency)?;
    if h.releasing.agency == h.receiving.agency {
        return Err(invalid("a handoff needs two different agencies"));
    }
    let c = custody(r, &h.subject)?;
    if c.custodian.as_ref().map(|c| &c.agency) != Some(&h.releasing.agency) {
        return Err(invalid(format!("subject {} is not in the custody of {}", h.subject, h.releasing.agency)));
    }
    let c = c.transition(CustodyStep::Offer(h.id.clone()))?;
    insert_new(r, Record::Handoff(h.clone()), "handoff")?;
    r.put(Record::Custody(c));
    Ok(Applied { subject: Some(h.subject.clone()) })
}

fn close_offer(r: &mut dyn Records, h: &mut Handoff, to: HandoffStatus, t: EventTime) -> Result<(), ApplyError> {
    h.status = h.status.transition(&h.id, to)?;
    h.answered_at = Some(t.valid_at);
    let c = custody(r, &h.subject)?.transition(CustodyStep::OfferClosed(h.id.clone()))?;
    r.put(Record::Custody(c));
    Ok(())
}

fn apply_detainer_issued(r: &mut dyn Records, d: &Detainer) -> Result<Applied, ApplyError> {
    subject(r, &d.subject)?;
    agency(r, &d.recipient_agency)?;
    if officer(r, &d.issuing_officer)?.agency != d.issuing_agency {
        return Err(invalid(format!("officer {} is not of agency {}", d.issuing_officer, d.issuing_agency)));
    }
    if d.status != DetainerStatus::Issued || d.lift_code.is_some() || d.release_eligible_at.is_some() {
        return Err(invalid(format!("detainer {} must start as issued", d.id)));
    }
    insert_new(r, Record::Detainer(d.clone()), "detainer")?;
    Ok(Applied { subject: Some(d.subject.clone()) })
}

fn put_detainer(r: &mut dyn Records, d: Detainer) -> Result<Applied, ApplyError> {
    let s = d.subject.clone();
    r.put(Record::Detainer(d));
    Ok(Applied { subject: Some(s) })
}
