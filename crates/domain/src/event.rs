//! Events: every state change in Liaison, as data.
//!
//! An event says what happened; the ledger's envelope around it says when it happened (valid
//! time), when it was recorded, who recorded it, and which earlier event it corrects. Events
//! are never edited: a correction is a new event whose envelope names the corrected one.

use crate::agency::{Agency, Facility};
use crate::agreement::{Agreement, AgreementStatus};
use crate::custody::Handoff;
use crate::detainer::{Detainer, LiftCode};
use crate::encounter::Encounter;
use crate::identity::IdentityCheck;
use crate::ids::*;
use crate::officer::{Designation, Officer, TrainingRecord};
use crate::operation::{Operation, OperationStatus};
use crate::subject::{CitizenshipClaim, Subject};
use serde::{Deserialize, Serialize};

/// Every kind of state change. The JSON form (`{"type": "...", ...}`) is the ledger's payload
/// and the import/export format, so variants and fields are only ever added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    AgencyRegistered {
        agency: Agency,
    },
    FacilityRegistered {
        facility: Facility,
    },
    OfficerRegistered {
        officer: Officer,
    },
    DesignationGranted {
        officer: OfficerId,
        designation: Designation,
    },
    TrainingRecorded {
        officer: OfficerId,
        training: TrainingRecord,
    },
    SubjectRegistered {
        subject: Subject,
    },
    /// A correction of a subject's identifying details; the envelope names the corrected event.
    SubjectDetailsCorrected {
        subject: SubjectId,
        names: Vec<String>,
        #[serde(default)]
        date_of_birth: Option<jiff::civil::Date>,
    },
    CitizenshipClaimed {
        subject: SubjectId,
        claim: CitizenshipClaim,
    },
    /// The identity and status check run on a booking (see `identity`).
    IdentityChecked {
        subject: SubjectId,
        check: IdentityCheck,
    },
    /// A person verified the subject's latest identity check: the booked person is the
    /// candidate `same_as`, or (absent) none of the candidates.
    IdentityVerified {
        subject: SubjectId,
        official: OfficerId,
        #[serde(default)]
        same_as: Option<SubjectId>,
        basis: String,
    },
    /// A supervisor's determination of the subject's US citizenship claim (reference.md R6).
    CitizenshipDetermined {
        subject: SubjectId,
        us_citizen: bool,
        official: OfficerId,
        basis: String,
    },
    AgreementRecorded {
        agreement: Agreement,
    },
    AgreementStatusChanged {
        agreement: AgreementId,
        status: AgreementStatus,
    },
    /// An encounter; when `encounter.arrest` is true the subject enters the agency's custody.
    EncounterRecorded {
        encounter: Encounter,
    },
    /// A state or local agency booked the subject into its jail on a criminal arrest.
    JailBooked {
        subject: SubjectId,
        agency: AgencyId,
        facility: FacilityId,
        charge: String,
    },
    HandoffOffered {
        handoff: Handoff,
    },
    HandoffAccepted {
        handoff: HandoffId,
        official: OfficerId,
        #[serde(default)]
        facility: Option<FacilityId>,
    },
    HandoffRejected {
        handoff: HandoffId,
        official: OfficerId,
        reason: String,
    },
    HandoffExpired {
        handoff: HandoffId,
    },
    /// An open offer closed because custody moved by another path (a detainer's assumption
    /// of custody, a release); the offer ends as expired, with the reason as its note.
    HandoffSuperseded {
        handoff: HandoffId,
        reason: String,
    },
    /// A supervisor resolved a custody conflict between two records of one person (linked by
    /// an identity verification): the person is held by `custodian`; custody recorded on the
    /// other record ends.
    CustodyConflictResolved {
        subject: SubjectId,
        other: SubjectId,
        custodian: AgencyId,
        official: OfficerId,
        basis: String,
    },
    /// The custodian released the subject. `reason` is a NIEM `im:ReleaseReasonCode` or a
    /// plain description for state and local releases.
    CustodyReleased {
        subject: SubjectId,
        agency: AgencyId,
        reason: String,
        /// The NIEM release reason code (required of ICE and CBP custodians).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<crate::custody::ReleaseReasonCode>,
    },
    DetainerIssued {
        detainer: Detainer,
    },
    /// A copy of the detainer was served on the subject (the I-247A "takes effect" on service).
    DetainerServed {
        detainer: DetainerId,
    },
    DetainerAnswered {
        detainer: DetainerId,
        /// Honored or notify-only (`true`) or declined (`false`).
        accepted: bool,
        official: OfficerId,
        /// The answer itself (absent in events from before answers were kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<crate::detainer::DetainerAnswer>,
    },
    /// The subject would otherwise be released now: the hold clock starts (valid time).
    SubjectReleaseEligible {
        detainer: DetainerId,
    },
    DetainerCustodyAssumed {
        detainer: DetainerId,
        official: OfficerId,
        #[serde(default)]
        facility: Option<FacilityId>,
    },
    DetainerLifted {
        detainer: DetainerId,
        code: LiftCode,
    },
    DetainerExpired {
        detainer: DetainerId,
    },
    OperationPlanned {
        operation: Operation,
    },
    OperationStatusChanged {
        operation: OperationId,
        status: OperationStatus,
    },
    /// The corrected event (named in the envelope) happened at this event's valid time instead.
    ValidTimeCorrected {
        note: String,
    },
    /// Someone read a subject's record: every read is itself logged (who, for which agency,
    /// and what they read).
    SubjectRecordRead {
        subject: SubjectId,
        reader: String,
        agency: AgencyId,
        what: String,
    },
    /// A complaint against recorded events.
    ComplaintFiled {
        complaint: crate::complaint::Complaint,
    },
    /// Oversight gives a complaint to an investigator.
    ComplaintAssigned {
        complaint: ComplaintId,
        assignee: String,
    },
    /// The complaint's outcome, with the reasons.
    ComplaintResolved {
        complaint: ComplaintId,
        outcome: crate::complaint::ComplaintOutcome,
        resolution: String,
    },
}

impl Event {
    /// The event's type name as it appears in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::AgencyRegistered { .. } => "agency_registered",
            Event::FacilityRegistered { .. } => "facility_registered",
            Event::OfficerRegistered { .. } => "officer_registered",
            Event::DesignationGranted { .. } => "designation_granted",
            Event::TrainingRecorded { .. } => "training_recorded",
            Event::SubjectRegistered { .. } => "subject_registered",
            Event::SubjectDetailsCorrected { .. } => "subject_details_corrected",
            Event::CitizenshipClaimed { .. } => "citizenship_claimed",
            Event::IdentityChecked { .. } => "identity_checked",
            Event::IdentityVerified { .. } => "identity_verified",
            Event::CitizenshipDetermined { .. } => "citizenship_determined",
            Event::AgreementRecorded { .. } => "agreement_recorded",
            Event::AgreementStatusChanged { .. } => "agreement_status_changed",
            Event::EncounterRecorded { .. } => "encounter_recorded",
            Event::JailBooked { .. } => "jail_booked",
            Event::HandoffOffered { .. } => "handoff_offered",
            Event::HandoffAccepted { .. } => "handoff_accepted",
            Event::HandoffRejected { .. } => "handoff_rejected",
            Event::HandoffExpired { .. } => "handoff_expired",
            Event::HandoffSuperseded { .. } => "handoff_superseded",
            Event::CustodyReleased { .. } => "custody_released",
            Event::CustodyConflictResolved { .. } => "custody_conflict_resolved",
            Event::DetainerIssued { .. } => "detainer_issued",
            Event::DetainerServed { .. } => "detainer_served",
            Event::DetainerAnswered { .. } => "detainer_answered",
            Event::SubjectReleaseEligible { .. } => "subject_release_eligible",
            Event::DetainerCustodyAssumed { .. } => "detainer_custody_assumed",
            Event::DetainerLifted { .. } => "detainer_lifted",
            Event::DetainerExpired { .. } => "detainer_expired",
            Event::OperationPlanned { .. } => "operation_planned",
            Event::OperationStatusChanged { .. } => "operation_status_changed",
            Event::ValidTimeCorrected { .. } => "valid_time_corrected",
            Event::SubjectRecordRead { .. } => "subject_record_read",
            Event::ComplaintFiled { .. } => "complaint_filed",
            Event::ComplaintAssigned { .. } => "complaint_assigned",
            Event::ComplaintResolved { .. } => "complaint_resolved",
        }
    }

    /// How the event names the subject it concerns: directly, or through the handoff or
    /// detainer it acts on (whose subject an earlier event named). Resolved, this is the
    /// subject [`crate::apply`] reports; a correction that names none concerns the subject of
    /// the event it corrects. Lets a verifier check the log's subject index without replaying
    /// state.
    pub fn subject_ref(&self) -> SubjectRef<'_> {
        use SubjectRef as R;
        match self {
            Event::AgencyRegistered { .. }
            | Event::FacilityRegistered { .. }
            | Event::OfficerRegistered { .. }
            | Event::DesignationGranted { .. }
            | Event::TrainingRecorded { .. }
            | Event::AgreementRecorded { .. }
            | Event::AgreementStatusChanged { .. }
            | Event::OperationPlanned { .. }
            | Event::OperationStatusChanged { .. }
            | Event::ComplaintFiled { .. }
            | Event::ComplaintAssigned { .. }
            | Event::ComplaintResolved { .. }
            | Event::ValidTimeCorrected { .. } => R::None,
            Event::SubjectRegistered { subject } => R::Subject(&subject.id),
            Event::EncounterRecorded { encounter } => R::Subject(&encounter.subject),
            Event::HandoffOffered { handoff } => R::Subject(&handoff.subject),
            Event::DetainerIssued { detainer } => R::Subject(&detainer.subject),
            Event::SubjectDetailsCorrected { subject, .. }
            | Event::CitizenshipClaimed { subject, .. }
            | Event::IdentityChecked { subject, .. }
            | Event::IdentityVerified { subject, .. }
            | Event::CitizenshipDetermined { subject, .. }
            | Event::JailBooked { subject, .. }
            | Event::CustodyConflictResolved { subject, .. }
            | Event::CustodyReleased { subject, .. }
            | Event::SubjectRecordRead { subject, .. } => R::Subject(subject),
            Event::HandoffAccepted { handoff, .. }
            | Event::HandoffRejected { handoff, .. }
            | Event::HandoffExpired { handoff }
            | Event::HandoffSuperseded { handoff, .. } => R::Handoff(handoff),
            Event::DetainerServed { detainer }
            | Event::DetainerAnswered { detainer, .. }
            | Event::SubjectReleaseEligible { detainer }
            | Event::DetainerCustodyAssumed { detainer, .. }
            | Event::DetainerLifted { detainer, .. }
            | Event::DetainerExpired { detainer } => R::Detainer(detainer),
        }
    }

    /// Whether this event is a correction and so must name the event it corrects.
    pub fn is_correction(&self) -> bool {
        matches!(self, Event::ValidTimeCorrected { .. } | Event::SubjectDetailsCorrected { .. })
    }
}

/// How an event names its subject (see [`Event::subject_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRef<'a> {
    None,
    Subject(&'a SubjectId),
    Handoff(&'a HandoffId),
    Detainer(&'a DetainerId),
}

/// An event's type and the fields that name its subject, read from its JSON without decoding
/// the whole event (what `verify` needs of each of millions of entries). [`Peek::subject_ref`]
/// must agree with [`Event::subject_ref`]: tested here over the demo's and the workload's
/// events, and against the subject index the store derives by applying each event, by the
/// `verify` that ends every API workflow test (which covers the other kinds).
#[derive(Debug, serde::Deserialize)]
pub struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    subject: Option<IdOrRecord<'a>>,
    #[serde(default, borrow)]
    handoff: Option<IdOrRecord<'a>>,
    #[serde(default, borrow)]
    detainer: Option<IdOrRecord<'a>>,
    #[serde(default, borrow)]
    encounter: Option<Named<'a>>,
}

/// A field that is either a record's id or the record itself.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum IdOrRecord<'a> {
    #[serde(borrow)]
    Id(std::borrow::Cow<'a, str>),
    #[serde(borrow)]
    Record(Named<'a>),
}

/// The id and subject of an embedded record (other fields skipped).
#[derive(Debug, serde::Deserialize)]
struct Named<'a> {
    #[serde(default, borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    subject: Option<std::borrow::Cow<'a, str>>,
}

/// [`SubjectRef`] with borrowed strings, from a [`Peek`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeekedRef<'p> {
    None,
    Subject(&'p str),
    Handoff(&'p str),
    Detainer(&'p str),
}

impl<'a> Peek<'a> {
    /// How the event names its subject (see [`Event::subject_ref`]); `None` when a field the
    /// kind needs is missing.
    pub fn subject_ref(&self) -> Option<PeekedRef<'_>> {
        fn id<'f>(f: &'f Option<IdOrRecord<'_>>) -> Option<&'f str> {
            match f {
                Some(IdOrRecord::Id(s)) => Some(s.as_ref()),
                _ => None,
            }
        }
        fn embedded<'f>(f: &'f Option<IdOrRecord<'_>>) -> Option<&'f str> {
            match f {
                Some(IdOrRecord::Record(n)) => n.subject.as_deref(),
                _ => None,
            }
        }
        Some(match self.kind.as_ref() {
            "agency_registered"
            | "facility_registered"
            | "officer_registered"
            | "designation_granted"
            | "training_recorded"
            | "agreement_recorded"
            | "agreement_status_changed"
            | "operation_planned"
            | "operation_status_changed"
            | "complaint_filed"
            | "complaint_assigned"
            | "complaint_resolved"
            | "valid_time_corrected" => PeekedRef::None,
            "subject_registered" => match &self.subject {
                Some(IdOrRecord::Record(n)) => PeekedRef::Subject(n.id.as_deref()?),
                _ => return None,
            },
            "encounter_recorded" => PeekedRef::Subject(self.encounter.as_ref()?.subject.as_deref()?),
            "handoff_offered" => PeekedRef::Subject(embedded(&self.handoff)?),
            "detainer_issued" => PeekedRef::Subject(embedded(&self.detainer)?),
            "subject_details_corrected"
            | "citizenship_claimed"
            | "identity_checked"
            | "identity_verified"
            | "citizenship_determined"
            | "jail_booked"
            | "custody_conflict_resolved"
            | "custody_released"
            | "subject_record_read" => PeekedRef::Subject(id(&self.subject)?),
            "handoff_accepted" | "handoff_rejected" | "handoff_expired" | "handoff_superseded" => {
                PeekedRef::Handoff(id(&self.handoff)?)
            }
            "detainer_served"
            | "detainer_answered"
            | "subject_release_eligible"
            | "detainer_custody_assumed"
            | "detainer_lifted"
            | "detainer_expired" => PeekedRef::Detainer(id(&self.detainer)?),
            _ => return None,
        })
    }

    /// The id of the handoff or detainer this event creates, with its subject.
    pub fn created(&self) -> Option<(&str, &str)> {
        let rec = match self.kind.as_ref() {
            "handoff_offered" => &self.handoff,
            "detainer_issued" => &self.detainer,
            _ => return None,
        };
        match rec {
            Some(IdOrRecord::Record(n)) => Some((n.id.as_deref()?, n.subject.as_deref()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod peek_tests {
    use super::*;

    fn resolve<'a>(r: SubjectRef<'a>) -> PeekedRef<'a> {
        match r {
            SubjectRef::None => PeekedRef::None,
            SubjectRef::Subject(s) => PeekedRef::Subject(s.as_str()),
            SubjectRef::Handoff(h) => PeekedRef::Handoff(h.as_str()),
            SubjectRef::Detainer(d) => PeekedRef::Detainer(d.as_str()),
        }
    }

    #[test]
    fn a_peek_names_the_subject_as_the_decoded_event_does() {
        let t0: jiff::Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
        let mut events: Vec<Event> =
            crate::demo::scenario(t0).into_iter().flat_map(|c| c.events).map(|e| e.1).collect();
        events.extend(crate::workload::setup());
        events.extend((0..50).flat_map(|i| crate::workload::subject_events(i, t0)).map(|e| e.1));
        let mut kinds = std::collections::BTreeSet::new();
        for e in &events {
            let json = serde_json::to_string(e).unwrap();
            let peek: Peek = serde_json::from_str(&json).unwrap();
            assert_eq!(peek.kind, e.type_name());
            assert_eq!(peek.subject_ref(), Some(resolve(e.subject_ref())), "{json}");
            match e {
                Event::HandoffOffered { handoff } => {
                    assert_eq!(peek.created(), Some((handoff.id.as_str(), handoff.subject.as_str())))
                }
                Event::DetainerIssued { detainer } => {
                    assert_eq!(peek.created(), Some((detainer.id.as_str(), detainer.subject.as_str())))
                }
                _ => assert_eq!(peek.created(), None),
            }
            kinds.insert(e.type_name());
        }
        eprintln!("kinds covered: {kinds:?}");
    }
}
