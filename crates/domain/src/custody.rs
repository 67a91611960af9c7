//! Custody: who holds a subject now, and the two-party handoffs that move custody.
//!
//! A subject has at most one custodian at a time (reference.md R9). Custody starts with an
//! arrest or a jail booking, moves only by a handoff the receiving agency accepts (or by a
//! detainer's assumption of custody), and ends with a recorded release. Field names follow
//! NIEM `j:CustodyTransfer` (releasing/receiving agency, facility, official).

use crate::TransitionError;
use crate::ids::{AgencyId, FacilityId, HandoffId, OfficerId, SubjectId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Why an agency holds the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CustodyBasis {
    /// Immigration arrest (8 U.S.C. 1357(a) or an administrative warrant).
    ImmigrationArrest,
    /// A criminal arrest and jail booking by a state or local agency.
    CriminalArrest,
    /// Received by an accepted handoff.
    Handoff,
    /// Assumed on a detainer (I-247A).
    DetainerAssumed,
}

/// The one agency holding a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Custodian {
    pub agency: AgencyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<FacilityId>,
    pub basis: CustodyBasis,
    pub since: Timestamp,
}

/// A subject's current custody: the projection row that answers "who holds whom".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Custody {
    pub subject: SubjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian: Option<Custodian>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_handoff: Option<HandoffId>,
    /// Another record of the same person is held by another agency: one person, two
    /// custodians, until a handoff, a release or a supervisor's resolution ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<CustodyConflict>,
}

/// A custody conflict as each of the two records shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustodyConflict {
    /// The other record of the same person.
    pub with: SubjectId,
    /// The agency holding the other record.
    pub held_by: AgencyId,
}

/// NIEM `im:ReleaseReasonCode` (reference.md §9): why ICE released a person from detention.
/// The `..LF` / `..LS` variants are the same releases for lack of funds / lack of space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReleaseReasonCode {
    /// Bond posted.
    #[serde(rename = "BOND")]
    Bond,
    #[serde(rename = "BDLF")]
    BondLackOfFunds,
    #[serde(rename = "BDLS")]
    BondLackOfSpace,
    /// Deported or removed.
    #[serde(rename = "DEP")]
    Deported,
    #[serde(rename = "DIED")]
    Died,
    #[serde(rename = "ESC")]
    Escaped,
    /// Order of recognizance.
    #[serde(rename = "OREC")]
    Recognizance,
    #[serde(rename = "ORLF")]
    RecognizanceLackOfFunds,
    #[serde(rename = "ORLS")]
    RecognizanceLackOfSpace,
    /// Order of supervision.
    #[serde(rename = "OSUP")]
    Supervision,
    #[serde(rename = "OSLF")]
    SupervisionLackOfFunds,
    #[serde(rename = "OSLS")]
    SupervisionLackOfSpace,
    #[serde(rename = "PARO")]
    Paroled,
    #[serde(rename = "PALF")]
    ParoledLackOfFunds,
    #[serde(rename = "PALS")]
    ParoledLackOfSpace,
    #[serde(rename = "T")]
    Transferred,
    /// Proceedings terminated.
    #[serde(rename = "TERM")]
    ProceedingsTerminated,
    /// To the U.S. Marshals or another agency.
    #[serde(rename = "USM")]
    UsMarshalsOrOtherAgency,
    #[serde(rename = "VD")]
    VoluntaryDeparture,
    #[serde(rename = "VDLF")]
    VoluntaryDepartureLackOfFunds,
    #[serde(rename = "VDLS")]
    VoluntaryDepartureLackOfSpace,
    /// Withdrawal of the application for admission.
    #[serde(rename = "WITH")]
    Withdrawal,
    #[serde(rename = "WILF")]
    WithdrawalLackOfFunds,
    #[serde(rename = "WILS")]
    WithdrawalLackOfSpace,
    /// Listed in NIEM without a published meaning (reference.md §9 gives none).
    #[serde(rename = "LFND")]
    Lfnd,
    /// Listed in NIEM without a published meaning (reference.md §9 gives none).
    #[serde(rename = "LSPC")]
    Lspc,
}

/// A step in a subject's custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustodyStep {
    /// An arrest or booking puts the subject in `custodian`'s custody.
    Take(Custodian),
    /// The custodian offers the subject to another agency.
    Offer(HandoffId),
    /// An offer ended without a transfer (rejected or expired).
    OfferClosed(HandoffId),
    /// Custody moves to `custodian` (handoff accepted, or detainer custody assumed).
    Transfer { handoff: Option<HandoffId>, custodian: Custodian },
    /// The custodian releases the subject.
    Release { agency: AgencyId },
    /// The custodian arrests the subject it holds on a new basis (an administrative warrant
    /// served in its jail by a 287(g) warrant service officer).
    Rearrest { basis: CustodyBasis, since: Timestamp },
}

impl Custody {
    pub fn none(subject: SubjectId) -> Self {
        Custody { subject, custodian: None, pending_handoff: None, conflict: None }
    }

    /// The one transition function for custody. It never leaves two custodians and never
    /// drops a custodian except by a recorded release.
    pub fn transition(&self, step: CustodyStep) -> Result<Custody, TransitionError> {
        let refuse = |attempted, reason| TransitionError {
            entity: "custody of subject",
            id: self.subject.to_string(),
            from: self.describe(),
            attempted,
            reason,
        };
        let mut next = self.clone();
        match step {
            CustodyStep::Take(c) => {
                if self.custodian.is_some() {
                    return Err(refuse(
                        "take into custody",
                        "the subject is already in custody; custody moves only by handoff",
                    ));
                }
                next.custodian = Some(c);
            }
            CustodyStep::Offer(h) => {
                if self.custodian.is_none() {
                    return Err(refuse("offer a handoff", "nobody holds the subject"));
                }
                if self.pending_handoff.is_some() {
                    return Err(refuse("offer a handoff", "another handoff offer is still open"));
                }
                next.pending_handoff = Some(h);
            }
            CustodyStep::OfferClosed(h) => {
                if self.pending_handoff.as_ref() != Some(&h) {
                    return Err(refuse("close a handoff offer", "that offer is not the open one"));
                }
                next.pending_handoff = None;
            }
            CustodyStep::Transfer { handoff, custodian } => {
                if self.custodian.is_none() {
                    return Err(refuse("transfer custody", "nobody holds the subject"));
                }
                if handoff.is_some() && self.pending_handoff != handoff {
                    return Err(refuse("accept a handoff", "that offer is not the open one"));
                }
                // Custody moving by another path (a detainer) must close the open offer
                // first, or the offer would stay open forever with nobody able to answer it.
                if handoff.is_none() && self.pending_handoff.is_some() {
                    return Err(refuse("transfer custody", "a handoff offer is open; close it first"));
                }
                next.pending_handoff = None;
                next.custodian = Some(custodian);
            }
            CustodyStep::Rearrest { basis, since } => {
                let Some(c) = next.custodian.as_mut() else {
                    return Err(refuse("arrest on a new basis", "nobody holds the subject"));
                };
                c.basis = basis;
                c.since = since;
            }
            CustodyStep::Release { agency } => {
                match &self.custodian {
                    None => return Err(refuse("release", "nobody holds the subject")),
                    Some(c) if c.agency != agency => {
                        return Err(refuse("release", "only the custodian can release the subject"));
                    }
                    Some(_) => {}
                }
                if self.pending_handoff.is_some() {
                    return Err(refuse("release", "a handoff offer is open; let it be rejected or expire first"));
                }
                next.custodian = None;
            }
        }
        Ok(next)
    }

    fn describe(&self) -> String {
        match &self.custodian {
            None => "not in custody".to_string(),
            Some(c) => format!("in custody of {}", c.agency),
        }
    }
}

/// One side of a handoff (NIEM `j:CustodyTransferReleasing…` / `…Receiving…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandoffParty {
    pub agency: AgencyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<FacilityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official: Option<OfficerId>,
}

/// Lifecycle of a handoff: offered → accepted | rejected | expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HandoffStatus {
    Offered,
    Accepted,
    Rejected,
    Expired,
}

impl HandoffStatus {
    /// The one transition function for handoffs: only an open offer can be answered.
    pub fn transition(self, id: &HandoffId, to: HandoffStatus) -> Result<Self, TransitionError> {
        match (self, to) {
            (Self::Offered, Self::Accepted | Self::Rejected | Self::Expired) => Ok(to),
            (Self::Offered, Self::Offered) => Err(TransitionError {
                entity: "handoff",
                id: id.to_string(),
                from: "offered".into(),
                attempted: "offer again",
                reason: "the offer is already open",
            }),
            (from, _) => Err(TransitionError {
                entity: "handoff",
                id: id.to_string(),
                from: format!("{from:?}").to_lowercase(),
                attempted: "answer",
                reason: "the offer was already answered or expired",
            }),
        }
    }
}

/// A two-party custody handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    pub id: HandoffId,
    pub subject: SubjectId,
    pub releasing: HandoffParty,
    pub receiving: HandoffParty,
    pub offered_at: Timestamp,
    /// An unanswered offer expires at this time.
    pub expires_at: Timestamp,
    pub status: HandoffStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custodian(a: &str) -> Custodian {
        Custodian {
            agency: AgencyId::parse(a).unwrap(),
            facility: None,
            basis: CustodyBasis::ImmigrationArrest,
            since: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn second_take_is_refused_with_a_reason() {
        let c = Custody::none(SubjectId::parse("S1").unwrap());
        let c = c.transition(CustodyStep::Take(custodian("USBP"))).unwrap();
        let e = c.transition(CustodyStep::Take(custodian("ICE-ERO"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "custody of subject S1: cannot take into custody while in custody of USBP: the subject is already in custody; custody moves only by handoff"
        );
    }

    #[test]
    fn answered_handoff_cannot_be_answered_again() {
        let id = HandoffId::parse("H1").unwrap();
        let s = HandoffStatus::Offered.transition(&id, HandoffStatus::Rejected).unwrap();
        assert!(s.transition(&id, HandoffStatus::Accepted).is_err());
    }
}
