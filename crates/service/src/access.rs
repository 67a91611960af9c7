//! The one visibility question: may this principal know this record exists?
//!
//! Every read, search, write and error path asks [`may_know`] (or [`visible`]) before it
//! reveals anything, and a record the principal may not know is "not found" (HTTP 404) with
//! the same body as a record that does not exist, never "forbidden".
//!
//! - Oversight may know every record (and reads everything, writes nothing).
//! - A subject (and the custody, encounters and history that hang on it): its current
//!   custodian, and the agencies involved in its case (`domain::involvement`: the registrant,
//!   a detainer's two agencies, a handoff's two parties, the custodian of another record of
//!   the same person that conflicts with it, and for ICE and CBP components their encounters,
//!   bookings and releases; every ICE component once a booking identity check matched or was
//!   ambiguous). Links between records of one person are shown only to readers who may know
//!   both records ([`hide_unknown_links`]).
//! - A handoff: its releasing and receiving agencies. A detainer: its issuing and recipient
//!   agencies. An operation: its participating agencies.
//! - The registry (agencies, facilities, officers, agreements) is public to every principal.

use crate::{Principal, ServiceError};
use domain::{AgencyId, Event, Record, RecordKey, RecordKind, SubjectId, SubjectRef};
use store::{Batch, Store, StoreError};

/// Reads records of current state: a store handle, or a write transaction's batch.
pub trait Lookup {
    fn lookup(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError>;
}

impl Lookup for dyn Batch + '_ {
    fn lookup(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.record(key)
    }
}

impl Lookup for dyn Store + '_ {
    fn lookup(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.record(key)
    }
}

/// Whether `p` may know that `record` exists.
pub fn may_know(l: &mut (impl Lookup + ?Sized), p: &Principal, record: &Record) -> Result<bool, ServiceError> {
    if p.is_oversight() {
        return Ok(true);
    }
    let me = &p.agency;
    Ok(match record {
        Record::Agency(_) | Record::Facility(_) | Record::Officer(_) | Record::Agreement(_) => true,
        Record::Subject(s) => may_know_subject(l, p, s.id.as_str())?,
        Record::Custody(c) => may_know_subject(l, p, c.subject.as_str())?,
        Record::Involvement(i) => may_know_subject(l, p, i.subject.as_str())?,
        Record::Encounter(e) => &e.agency == me || may_know_subject(l, p, e.subject.as_str())?,
        Record::Handoff(h) => &h.releasing.agency == me || &h.receiving.agency == me,
        Record::Detainer(d) => &d.issuing_agency == me || &d.recipient_agency == me,
        Record::Operation(o) => o.participants.iter().any(|x| &x.agency == me),
        Record::Complaint(c) => &c.agency == me,
        // The identity index names subjects; it is never served.
        Record::IdentityKey(_) => false,
    })
}

/// Whether `p` may know that subject `id` exists (whether or not it does).
pub fn may_know_subject(l: &mut (impl Lookup + ?Sized), p: &Principal, id: &str) -> Result<bool, ServiceError> {
    if p.is_oversight() {
        return Ok(true);
    }
    if let Some(Record::Custody(c)) = l.lookup(&RecordKey::new(RecordKind::Custody, id))?
        && c.custodian.is_some_and(|c| c.agency == p.agency)
    {
        return Ok(true);
    }
    let Some(Record::Involvement(inv)) = l.lookup(&RecordKey::new(RecordKind::Involvement, id))? else {
        return Ok(false);
    };
    let ice = is_ice(l, &p.agency)?;
    Ok(inv.includes(&p.agency, ice))
}

fn is_ice(l: &mut (impl Lookup + ?Sized), agency: &AgencyId) -> Result<bool, ServiceError> {
    use domain::agency::AgencyKind;
    Ok(match l.lookup(&RecordKey::new(RecordKind::Agency, agency))? {
        Some(Record::Agency(a)) => matches!(a.kind, AgencyKind::IceEro | AgencyKind::IceHsi),
        _ => false,
    })
}

/// The record of `kind` named `id`, if it exists and `p` may know it does; "not found"
/// otherwise, with the same answer in both cases.
pub fn visible(
    l: &mut (impl Lookup + ?Sized),
    p: &Principal,
    kind: RecordKind,
    id: &str,
) -> Result<Record, ServiceError> {
    match l.lookup(&RecordKey::new(kind, id))? {
        Some(r) if may_know(l, p, &r)? => Ok(r),
        _ => Err(ServiceError::not_found(kind_name(kind), id)),
    }
}

/// The subject `id`, if `p` may know it exists.
pub fn visible_subject(
    l: &mut (impl Lookup + ?Sized),
    p: &Principal,
    id: &str,
) -> Result<domain::subject::Subject, ServiceError> {
    match visible(l, p, RecordKind::Subject, id)? {
        Record::Subject(s) => Ok(s),
        _ => unreachable!("a subject key holds a subject"),
    }
}

/// Whether `p` may know every record `event` concerns: its subject, the other subjects it
/// names (identity-check candidates, a "same as" link, the other record of a custody
/// conflict), and the operation of an operation's events. Registry events concern only
/// public records. A valid-time correction may concern anyone, so only oversight sees it.
pub fn may_know_event(l: &mut (impl Lookup + ?Sized), p: &Principal, event: &Event) -> Result<bool, ServiceError> {
    if p.is_oversight() {
        return Ok(true);
    }
    let op = match event {
        Event::ValidTimeCorrected { .. } => return Ok(false),
        Event::ComplaintFiled { complaint } => return Ok(complaint.agency == p.agency),
        Event::ComplaintAssigned { complaint, .. } | Event::ComplaintResolved { complaint, .. } => {
            return Ok(visible(l, p, RecordKind::Complaint, complaint.as_str()).is_ok());
        }
        Event::OperationPlanned { operation } => Some(operation.id.as_str()),
        Event::OperationStatusChanged { operation, .. } => Some(operation.as_str()),
        Event::EncounterRecorded { encounter } => encounter.operation.as_ref().map(|o| o.as_str()),
        _ => None,
    };
    if let Some(op) = op
        && visible(l, p, RecordKind::Operation, op).is_err()
    {
        return Ok(false);
    }
    let others: Vec<&SubjectId> = match event {
        Event::IdentityChecked { check, .. } => check.candidates.iter().map(|c| &c.subject).collect(),
        Event::IdentityVerified { same_as, .. } => same_as.iter().collect(),
        Event::CustodyConflictResolved { other, .. } => vec![other],
        _ => vec![],
    };
    for s in others {
        if !may_know_subject(l, p, s.as_str())? {
            return Ok(false);
        }
    }
    match event_subject(l, event)? {
        Some(s) => may_know_subject(l, p, s.as_str()),
        None => Ok(true),
    }
}

/// What `p` may see of a subject's links to other records of the same person: the links and
/// the custody conflict are cut to the records `p` may know exist.
pub fn hide_unknown_links(
    l: &mut (impl Lookup + ?Sized),
    p: &Principal,
    subject: &mut domain::subject::Subject,
    custody: Option<&mut domain::custody::Custody>,
) -> Result<(), ServiceError> {
    let mut known = Vec::with_capacity(subject.same_person.len());
    for s in std::mem::take(&mut subject.same_person) {
        if may_know_subject(l, p, s.as_str())? {
            known.push(s);
        }
    }
    subject.same_person = known;
    if let Some(c) = custody
        && let Some(conflict) = &c.conflict
        && !may_know_subject(l, p, conflict.with.as_str())?
    {
        c.conflict = None;
    }
    Ok(())
}

/// The subject an event concerns, if any: named in the event, or the subject of the handoff
/// or detainer it names (which never changes).
pub fn event_subject(l: &mut (impl Lookup + ?Sized), event: &Event) -> Result<Option<SubjectId>, ServiceError> {
    fn via(l: &mut (impl Lookup + ?Sized), kind: RecordKind, id: &str) -> Result<Option<SubjectId>, ServiceError> {
        Ok(match l.lookup(&RecordKey::new(kind, id))? {
            Some(Record::Handoff(h)) => Some(h.subject),
            Some(Record::Detainer(d)) => Some(d.subject),
            _ => None,
        })
    }
    match event.subject_ref() {
        SubjectRef::None => Ok(None),
        SubjectRef::Subject(s) => Ok(Some(s.clone())),
        SubjectRef::Handoff(h) => via(l, RecordKind::Handoff, h.as_str()),
        SubjectRef::Detainer(d) => via(l, RecordKind::Detainer, d.as_str()),
    }
}

/// The name of a kind of record in a "not found" answer.
pub fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::IdentityKey => "identity key",
        k => k.as_str(),
    }
}
