//! Who may know a subject exists.
//!
//! Oversight sees every subject. A state or local agency sees the subjects in its custody and
//! those named in detainers sent to it or by it. ICE and CBP components see their own cases:
//! subjects they hold, encountered, exchanged in a handoff, or named in a detainer; and, as
//! under the IDENT/IAFIS interoperability of Secure Communities (reference.md §5: a booking
//! whose fingerprints match "notifies ICE"), subjects whose booking identity check matched a
//! known subject or was ambiguous. Everyone else gets "not found" (HTTP 404), so that a
//! refusal does not reveal that the record exists.

use crate::Principal;
use domain::agency::AgencyKind;
use domain::identity::MatchResult;
use domain::{AgencyId, Event};
use ledger::Entry;

/// Whether `p`, of an agency of `kind`, may see the subject whose logged entries are
/// `entries` and whose custodian is `custodian`.
pub fn may_see_subject(
    p: &Principal,
    kind: Option<AgencyKind>,
    custodian: Option<&AgencyId>,
    entries: &[Entry<Event>],
) -> bool {
    if p.is_oversight() || custodian == Some(&p.agency) {
        return true;
    }
    let me = &p.agency;
    let actor = p.officer.as_ref().map_or(p.id.as_str(), |o| o.as_str());
    let federal = kind.is_some_and(AgencyKind::is_federal_immigration);
    entries.iter().any(|e| match &e.event {
        Event::DetainerIssued { detainer: d } => &d.issuing_agency == me || &d.recipient_agency == me,
        _ if !federal => false,
        Event::SubjectRegistered { .. } => e.actor == actor,
        Event::EncounterRecorded { encounter } => &encounter.agency == me,
        Event::HandoffOffered { handoff: h } => &h.releasing.agency == me || &h.receiving.agency == me,
        Event::CustodyReleased { agency, .. } | Event::JailBooked { agency, .. } => agency == me,
        Event::IdentityChecked { check, .. } => check.result != MatchResult::NoMatch,
        _ => false,
    })
}
